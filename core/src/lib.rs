//! authcore: the core of a mobile sign-in and authenticator library.
//!
//! Modules are nouns of the domain (CONVENTIONS.md 12). Today:
//! - [`otp`]: HOTP/TOTP codes, verification with replay protection, `otpauth://` URIs and
//!   Google Authenticator export (`otpauth-migration://`) import and export.
//! - [`store`]: the `SecureStore` platform trait and its encrypted-file default.
//! - [`device_keys`]: the `DeviceKeys` platform trait and its software P-256 default.
//! - [`device_protocol`]: the enrollment link, activation codes and the signed device messages
//!   the server and the authenticator share.
//! - [`http`]: the one HTTP client (TLS policy, pins, timeouts, retries).
//! - [`vault`]: the authenticator's TOTP/HOTP accounts over a `SecureStore`.
//!
//! The core does no FFI and owns no runtime; the bindings crate adds both.

pub mod device_keys;
pub mod device_protocol;
pub mod http;
pub mod otp;
pub mod store;
pub mod vault;

/// Shortens a user-supplied value before it is echoed in an error, so a pasted blob cannot flood
/// a screen or a log line.
pub(crate) fn echo(value: &str) -> String {
    const MAX: usize = 32;
    if value.chars().count() <= MAX {
        value.to_owned()
    } else {
        let mut short: String = value.chars().take(MAX).collect();
        short.push('…');
        short
    }
}
