//! The authcore wire vocabulary (docs/protocol.md), written once: every request and answer the
//! server sends and the clients read is a serde type here, every endpoint path a constant of
//! [`paths`], every `error` value an [`ErrorCode`]. No I/O and no async: plain types and
//! functions, so the server serializes them, the core and the harness deserialize them, and
//! `tests/golden.rs` holds them to the examples of docs/protocol.md.
//!
//! - [`paths`]: the endpoint paths.
//! - [`error`]: the error body and its [`ErrorCode`].
//! - [`signin`]: login-method selection and `/v1/authorize-challenge` (the `next` step).
//! - [`tokens`]: `/v1/token`, `/v1/revoke`, logout.
//! - [`discovery`]: the discovery document (`/.well-known/openid-configuration`).
//! - [`oidc`]: OpenID Connect: scopes, ID-token claims, userinfo claims, the JWK set, logout.
//! - [`account`]: the `/v1/me/*` answers, userinfo, password recovery.
//! - [`admin`]: organisation roles and the admin API (`/v1/admin/...`).
//! - [`credentials`]: app passwords and the API security token (`grant_type=password`).
//! - [`devices`]: authenticator enrollment, activation, device challenges and decisions.
//! - [`delivery`]: the SMS webhook's body and the `--dev` outbox.
//! - [`device`]: the enroll link, activation codes and the canonical messages a device signs.

pub mod account;
pub mod admin;
pub mod credentials;
pub mod delivery;
pub mod device;
pub mod devices;
pub mod discovery;
pub mod error;
pub mod oidc;
pub mod paths;
pub mod signin;
pub mod tokens;

pub use error::{ErrorBody, ErrorCode};

/// `Debug` for answers that carry a secret (a code, token, number or password): the type's
/// name only, so a logged value never shows one.
macro_rules! redacted_debug {
    ($($ty:ident),* $(,)?) => {$(
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty)).finish_non_exhaustive()
            }
        }
    )*};
}
pub(crate) use redacted_debug;

/// Shortens a user-supplied value before it is echoed in an error, so a pasted blob cannot flood
/// a screen or a log line.
#[doc(hidden)]
pub fn echo(value: &str) -> String {
    const MAX: usize = 32;
    if value.chars().count() <= MAX {
        value.to_owned()
    } else {
        let mut short: String = value.chars().take(MAX).collect();
        short.push('…');
        short
    }
}
