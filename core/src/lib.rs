//! authcore: the core of a mobile sign-in and authenticator library.
//!
//! Modules are nouns of the domain (CONVENTIONS.md 12). Today:
//! - [`otp`]: HOTP/TOTP codes, verification with replay protection, `otpauth://` URIs and
//!   Google Authenticator export (`otpauth-migration://`) import and export.
//! - [`store`]: the `SecureStore` platform trait and its encrypted-file default.
//!
//! The core does no FFI and owns no runtime; the bindings crate adds both.

pub mod otp;
pub mod store;
