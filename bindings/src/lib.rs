//! authcore-ffi: the uniffi bindings of authcore (proc-macros only), the one cdylib/staticlib of
//! the workspace. Thin handle objects over the core, one per thing an app holds:
//!
//! - [`client::AuthClient`]: one identity server; hands out [`signin::SignInFlow`]s and restores
//!   the saved [`client::Session`].
//! - [`signin::SignInFlow`]: the sign-in state machine, one async method per gesture, its state
//!   mirrored as [`signin::SignInState`] and pushed to a foreign [`signin::SignInListener`].
//! - [`authenticator::Authenticator`]: the authenticator app (push and code accounts, approvals).
//!
//! The apps implement the platform traits of [`platform`] (`SecureStore`, `DeviceKeys`,
//! `UserVerification`) and optionally a [`logging::Logger`]. Errors cross as the small enums of
//! [`errors`]. Every async method runs on the runtime this crate owns ([`runtime`]); cancelling
//! the Kotlin coroutine or Swift task drops the Rust future and stops the work.
//!
//! The core's plain records and enums (methods, second factors, accounts, approval requests,
//! session history...) cross as the core defines them: its optional `uniffi` feature, enabled
//! here, derives uniffi's traits on them (CONVENTIONS.md 1). What is defined here is what cannot
//! be plain core data: handles, the runtime, platform traits, errors and the values holding them.

#[cfg(target_os = "android")]
mod android_trust;
pub mod authenticator;
pub mod client;
pub mod errors;
pub mod logging;
pub mod platform;
pub mod runtime;
pub mod signin;

uniffi::setup_scaffolding!("authcore_ffi");
