//! One-time passwords: HOTP (RFC 4226), TOTP (RFC 6238), the Key URI format (`otpauth://`) and the
//! Google Authenticator export format (`otpauth-migration://`).
//!
//! ```
//! use authcore::otp::{uri, ClockOffset};
//!
//! let parsed = uri::parse("otpauth://totp/Acme:alice@acme.example?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Acme").unwrap();
//! let totp = parsed.account.totp().unwrap();
//! let code = totp.code(59, ClockOffset::ZERO);
//! assert_eq!(code.code.as_str(), "287082");
//! assert_eq!(code.seconds_left, 1);
//! ```

mod code;
mod label;
pub mod migration;
mod secret;
pub mod uri;

pub use code::{
    Algorithm, ClockOffset, Code, Digits, Hotp, Period, ReplayGuard, Totp, TotpCode, VerifyError,
};
pub use secret::{Secret, SecretError};

/// Whether an account counts time steps or events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum OtpKind {
    /// Time-based: a new code every `period`.
    Totp { period: Period },
    /// Counter-based: the code for `counter` is the next one to show.
    Hotp { counter: u64 },
}

/// A third-party OTP account as an authenticator app holds it. Every field is valid by
/// construction: [`Digits`] and [`Period`] only hold supported values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtpAccount {
    /// Who issued the account ("Acme"), when known.
    pub issuer: Option<String>,
    /// The account name within the issuer ("alice@acme.example").
    pub account: String,
    pub secret: Secret,
    pub algorithm: Algorithm,
    pub digits: Digits,
    pub kind: OtpKind,
    /// The issuer's logo URL from the `image` parameter, kept as given.
    pub image: Option<String>,
}

impl OtpAccount {
    /// The TOTP generator for a time-based account, `None` for HOTP.
    pub fn totp(&self) -> Option<Totp> {
        match self.kind {
            OtpKind::Totp { period } => Some(Totp::new(
                self.secret.clone(),
                self.algorithm,
                self.digits,
                period,
            )),
            OtpKind::Hotp { .. } => None,
        }
    }

    /// The HOTP generator for a counter-based account, with the counter of the next code.
    pub fn hotp(&self) -> Option<(Hotp, u64)> {
        match self.kind {
            OtpKind::Hotp { counter } => Some((
                Hotp::new(self.secret.clone(), self.algorithm, self.digits),
                counter,
            )),
            OtpKind::Totp { .. } => None,
        }
    }
}

/// Something accepted but worth telling the user or the app about.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum OtpWarning {
    /// The secret is shorter than the 128 bits RFC 4226 asks for; accepted, not rejected.
    WeakSecret { bits: u32 },
    /// The label's issuer prefix and the `issuer` parameter differ; the parameter was used.
    IssuerMismatch { label: String, parameter: String },
}

impl OtpWarning {
    /// A stable machine-readable name (`weak_secret`, `issuer_mismatch`).
    pub fn kind(&self) -> &'static str {
        match self {
            OtpWarning::WeakSecret { .. } => "weak_secret",
            OtpWarning::IssuerMismatch { .. } => "issuer_mismatch",
        }
    }
}

impl std::fmt::Display for OtpWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OtpWarning::WeakSecret { bits } => write!(
                f,
                "the secret is only {bits} bits; {} or more is recommended",
                Secret::RECOMMENDED_BITS
            ),
            OtpWarning::IssuerMismatch { label, parameter } => write!(
                f,
                "the label names issuer `{label}` but the issuer parameter says `{parameter}`; using `{parameter}`"
            ),
        }
    }
}

/// The warnings every freshly read account gets checked for.
fn secret_warnings(secret: &Secret) -> Option<OtpWarning> {
    (secret.bits() < Secret::RECOMMENDED_BITS).then(|| OtpWarning::WeakSecret {
        bits: u32::try_from(secret.bits()).unwrap_or(u32::MAX),
    })
}

/// A parameter of an OTP account, as errors name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parameter {
    Secret,
    Issuer,
    Algorithm,
    Digits,
    Period,
    Counter,
    Image,
    Type,
}

impl Parameter {
    pub fn name(self) -> &'static str {
        match self {
            Parameter::Secret => "secret",
            Parameter::Issuer => "issuer",
            Parameter::Algorithm => "algorithm",
            Parameter::Digits => "digits",
            Parameter::Period => "period",
            Parameter::Counter => "counter",
            Parameter::Image => "image",
            Parameter::Type => "type",
        }
    }

    /// What a supported value looks like, for error messages.
    pub fn expected(self) -> &'static str {
        match self {
            Parameter::Algorithm => "SHA1, SHA256 or SHA512",
            Parameter::Digits => "6, 7 or 8",
            Parameter::Period => "whole seconds from 1 to 3600",
            Parameter::Counter => "a whole number from 0 to 18446744073709551615",
            Parameter::Type => "totp or hotp",
            Parameter::Secret => "base32 (A-Z, 2-7)",
            Parameter::Issuer | Parameter::Image => "text",
        }
    }
}

impl std::fmt::Display for Parameter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
