//! [`Sensitive`]: a value a screen shows but logs must not.

use zeroize::Zeroizing;

/// A value the screen shows but logs must not (an activation code, a QR payload carrying one).
#[derive(Clone, PartialEq, Eq)]
pub struct Sensitive(Zeroizing<String>);

impl Sensitive {
    pub fn new(value: String) -> Self {
        Sensitive(Zeroizing::new(value))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}
