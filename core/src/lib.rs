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
//! - [`transport`]: the one transport over it: [`transport::TransportError`] (embedded in
//!   [`error::ClientError`] and [`authenticator::AuthenticatorError`]) and answer decoding.
//! - [`timestamp`]: [`Timestamp`], the moments records and states carry (a platform date in
//!   the bindings).
//! - [`vault`]: the authenticator's TOTP/HOTP accounts over a `SecureStore`.
//! - [`authenticator`]: the authenticator app: push accounts (enrollment, number-matching
//!   approvals signed by the device key) beside the vault's code accounts, encrypted backups.
//! - [`client`], [`signin`], [`session`]: the sign-in client: an [`client::AuthClient`] per server,
//!   the [`signin::SignIn`] state machine, and the [`session::Session`] it ends in; every failure
//!   is an [`error::ClientError`].
//!
//! The core does no FFI and owns no runtime; the bindings crate adds both. Under the optional
//! `uniffi` feature its plain data (states, records, enums) derives uniffi's traits, so the
//! bindings export them without mirrors (docs/bindings.md).

mod api;
mod app;
pub mod authenticator;
pub mod backup;
pub mod client;
pub mod device_keys;
pub mod device_protocol;
pub mod error;
pub mod http;
pub mod otp;
mod sensitive;
pub mod session;
pub mod signin;
pub mod store;
pub mod timestamp;
pub mod transport;
pub mod vault;

pub use client::{AuthClient, ClientConfig};
pub use error::ClientError;
pub use timestamp::Timestamp;
pub use transport::TransportError;

pub(crate) use authcore_protocol::echo;

// The `uniffi` feature (enabled by the bindings crate, authcore-ffi) derives uniffi's traits on
// the plain records, enums and custom types above; the bindings export them as they are.
#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!();
