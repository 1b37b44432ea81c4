//! The errors Kotlin and Swift see: one small enum per domain (CONVENTIONS.md 4). Each variant is
//! something a screen can act on; the core's errors convert here, in one place. Kotlin gets an
//! exception subclass per variant (`ClientException.WrongCredential(attemptsLeft)`), Swift an
//! error case. No variant carries a dependency's text or a secret.

use authcore::authenticator::AuthenticatorError as CoreAuthenticatorError;
use authcore::backup::BackupError;
use authcore::device_keys::KeyError;
use authcore::vault::VaultError;
use authcore::ClientError as CoreClientError;
use authcore::TransportError;

/// Everything that talks to the identity server: the client, sign-in, sessions. Its text (Kotlin
/// `message` and `toString()`, Swift `description`) is the `#[error]` sentence of each variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[uniffi::export(Display)]
pub enum ClientError {
    #[error("the network failed")]
    Network { retryable: bool },
    #[error("the server did not answer in time")]
    Timeout,
    #[error("the server's certificate is not trusted")]
    Untrusted,
    #[error("refusing plain http to {host}: only https is allowed outside loopback")]
    InsecureUrl { host: String },
    #[error("`{url}` is not a valid server URL")]
    InvalidUrl { url: String },
    #[error("the extra root certificate is not a valid PEM certificate")]
    InvalidRootCertificate,
    #[error("the server answered with status {status}")]
    Server { status: u16 },
    /// The answer does not follow the protocol; `what` names the part (core text, no secrets).
    #[error("the server's answer is not valid: {what}")]
    Protocol { what: String },
    #[error("this app is not registered with the server (unknown client_id)")]
    InvalidClient,
    /// Wrong password or code; the screen stays. `attempts_left` when the server tells.
    #[error("that is not correct")]
    WrongCredential { attempts_left: Option<u32> },
    #[error("the code expired; ask for a new one")]
    Expired,
    /// `limit` names the limit reached when the server says which; the text is the core's.
    #[error("{}", authcore::error::rate_limited_text(*.retry_after_seconds, .limit.as_ref()))]
    RateLimited {
        retry_after_seconds: u64,
        limit: Option<authcore::error::RateLimit>,
    },
    #[error("the account is locked; try again in {retry_after_seconds} s")]
    Locked { retry_after_seconds: u64 },
    #[error("the request was denied on your phone")]
    PushDenied { fraud_reported: bool },
    #[error("the number entered on the phone did not match")]
    NumberMismatch,
    #[error("sign-in requests to your phone are paused for {retry_after_seconds} s")]
    PushBlocked { retry_after_seconds: u64 },
    #[error("your organisation requires an authenticator app")]
    EnrollmentRequired,
    /// Every phone of the user runs an authenticator app too old to show the sign-in number:
    /// the sign-in stays where it was, and another second factor still works.
    #[error("the authenticator app on your phone must be updated to show sign-in numbers; update it, or choose another way to sign in")]
    PhoneAppTooOld,
    #[error("this sign-in expired; start again")]
    SignInExpired,
    #[error("the session ended; sign in again")]
    SessionEnded,
    /// A security change (an authenticator, TOTP, backup codes, removing a device or factor, the
    /// password) needs a sign-in with a second factor in the last `max_age_seconds`: call
    /// `Session.stepUp()`, finish that sign-in and retry with the session it ends in.
    #[error("confirm it's you: sign in again with a second factor to make this change")]
    StepUpRequired { max_age_seconds: u64 },
    #[error("the new password is not allowed: {reason}")]
    WeakPassword { reason: String },
    /// Refused before sending (empty field, wrong code length) or by the server as malformed.
    #[error("{what}")]
    InvalidInput { what: String },
    /// The gesture does not apply to the current state.
    #[error("`{action}` is not possible at {state}")]
    InvalidAction { action: String, state: String },
    /// `cancel()` stopped the action.
    #[error("cancelled")]
    Cancelled,
    /// The app's secure store failed; nothing was lost.
    #[error("the secure store is unavailable")]
    StorageUnavailable,
}

impl From<CoreClientError> for ClientError {
    fn from(error: CoreClientError) -> Self {
        use CoreClientError as E;
        match error {
            E::Network { retryable } => ClientError::Network { retryable },
            E::Timeout => ClientError::Timeout,
            E::Untrusted => ClientError::Untrusted,
            E::InsecureUrl { host } => ClientError::InsecureUrl { host },
            E::InvalidUrl { url } => ClientError::InvalidUrl { url },
            E::InvalidRootCertificate => ClientError::InvalidRootCertificate,
            E::Server { status } => ClientError::Server { status },
            E::Protocol { what } => ClientError::Protocol { what },
            E::InvalidClient => ClientError::InvalidClient,
            E::WrongCredential { attempts_left } => ClientError::WrongCredential { attempts_left },
            E::Expired => ClientError::Expired,
            E::RateLimited { retry_after, limit } => ClientError::RateLimited {
                retry_after_seconds: retry_after,
                limit,
            },
            E::Locked { retry_after } => ClientError::Locked {
                retry_after_seconds: retry_after,
            },
            E::PushDenied { fraud_reported } => ClientError::PushDenied { fraud_reported },
            E::NumberMismatch => ClientError::NumberMismatch,
            E::PushBlocked { retry_after } => ClientError::PushBlocked {
                retry_after_seconds: retry_after,
            },
            E::EnrollmentRequired => ClientError::EnrollmentRequired,
            E::PhoneAppTooOld => ClientError::PhoneAppTooOld,
            E::SignInExpired => ClientError::SignInExpired,
            E::SessionEnded => ClientError::SessionEnded,
            E::StepUpRequired { max_age_s } => ClientError::StepUpRequired {
                max_age_seconds: max_age_s,
            },
            E::WeakPassword { reason } => ClientError::WeakPassword { reason },
            E::InvalidInput { what } => ClientError::InvalidInput { what },
            E::InvalidAction { action, state } => ClientError::InvalidAction {
                action: action.into(),
                state: state.into(),
            },
            E::Cancelled => ClientError::Cancelled,
            E::Storage(_) => ClientError::StorageUnavailable,
        }
    }
}

/// Everything the authenticator does: enrollment, approvals, code accounts, backups. Its text is
/// the `#[error]` sentence, as for [`ClientError`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[uniffi::export(Display)]
pub enum AuthenticatorError {
    #[error("the network failed")]
    Network { retryable: bool },
    #[error("the server did not answer in time")]
    Timeout,
    #[error("the server's certificate is not trusted")]
    Untrusted,
    #[error("refusing plain http to {host}: only https is allowed outside loopback")]
    InsecureUrl { host: String },
    #[error("`{url}` is not a valid server URL")]
    InvalidUrl { url: String },
    #[error("the server answered with status {status}")]
    Server { status: u16 },
    #[error("the server's answer is not valid: {what}")]
    Protocol { what: String },
    /// Not an authenticator QR code (or a malformed one, a bad activation code format, an empty
    /// name); `what` says which, in the core's words.
    #[error("{what}")]
    InvalidQr { what: String },
    /// Unknown, used or replaced activation code: ask for a new QR code.
    #[error("the activation code is not valid; ask for a new QR code")]
    InvalidActivationCode,
    #[error("it expired")]
    Expired,
    #[error("this request was already answered")]
    AlreadyAnswered,
    #[error("this request no longer exists")]
    UnknownRequest,
    #[error("this phone was removed from the account")]
    DeviceRemoved,
    #[error("the number did not match; the sign-in was denied")]
    NumberMismatch,
    /// The number typed is not `length` digits (or not one of the choices); nothing was sent.
    #[error("enter the {length}-digit number shown on the sign-in screen")]
    InvalidNumber { length: u32 },
    #[error("too many requests; try again in {retry_after_seconds} s")]
    RateLimited { retry_after_seconds: u64 },
    /// The biometric / PIN check failed or was cancelled; nothing was sent.
    #[error("you were not verified; nothing was sent")]
    UserNotVerified,
    #[error("no such account")]
    UnknownAccount,
    /// The server needs a newer version of this app ("No numbers in your app? Update it").
    #[error("this app must be updated to approve sign-ins; update it from the app store")]
    UpgradeRequired,
    /// "Next code" asked of a time-based account.
    #[error("this account shows time-based codes")]
    NotHotp,
    #[error("the order must name every account exactly once")]
    InvalidOrder,
    /// The platform key store refused (key missing or invalidated, hardware unavailable).
    #[error("the device key is unavailable")]
    DeviceKeyUnavailable,
    #[error("the backup passphrase is too short")]
    WeakPassphrase,
    #[error("the passphrase is wrong or the backup was altered")]
    WrongPassphrase,
    /// Not an authcore backup, made by a newer version, or unreadable.
    #[error("this backup cannot be read")]
    InvalidBackup,
    /// The backup's header asks for more key-derivation work (argon2id memory in KiB, passes)
    /// than a phone allows (256 MiB, 10 passes): refused before any work, never opened.
    #[error("this backup asks for more work than this phone allows to open it")]
    BackupTooCostly { memory_kib: u32, passes: u32 },
    #[error("the secure store is unavailable")]
    StorageUnavailable,
    /// The stored accounts decrypt but do not parse (a newer format); never silently replaced.
    #[error("the stored accounts are unreadable")]
    StorageUnreadable,
    /// The `AuthenticatorConfig` is not usable (e.g. a `resolve` entry that is not an IP).
    #[error("{what}")]
    InvalidConfig { what: String },
}

impl From<CoreAuthenticatorError> for AuthenticatorError {
    fn from(error: CoreAuthenticatorError) -> Self {
        use AuthenticatorError as Ffi;
        use CoreAuthenticatorError as E;
        match error {
            E::Transport(transport) => transport.into(),
            E::InvalidQr { what } => Ffi::InvalidQr { what },
            E::InvalidActivationCode => Ffi::InvalidActivationCode,
            E::Expired => Ffi::Expired,
            E::AlreadyAnswered => Ffi::AlreadyAnswered,
            E::UnknownRequest => Ffi::UnknownRequest,
            E::DeviceRemoved => Ffi::DeviceRemoved,
            E::NumberMismatch => Ffi::NumberMismatch,
            E::InvalidNumber { length } => Ffi::InvalidNumber { length },
            E::RateLimited { retry_after } => Ffi::RateLimited {
                retry_after_seconds: retry_after,
            },
            E::UserNotVerified => Ffi::UserNotVerified,
            E::UnknownAccount => Ffi::UnknownAccount,
            E::UpgradeRequired => Ffi::UpgradeRequired,
            E::Key(KeyError::Store(_)) | E::Storage(_) => Ffi::StorageUnavailable,
            E::Key(_) => Ffi::DeviceKeyUnavailable,
            E::Vault(vault) => vault.into(),
        }
    }
}

/// The transport's failures under the names Kotlin and Swift already know
/// (`AuthenticatorException.Network`, …).
impl From<TransportError> for AuthenticatorError {
    fn from(error: TransportError) -> Self {
        use AuthenticatorError as Ffi;
        match error {
            TransportError::Network { retryable } => Ffi::Network { retryable },
            TransportError::Timeout => Ffi::Timeout,
            // A bad extra root certificate leaves no server trusted, as it always did here.
            TransportError::Untrusted | TransportError::InvalidRootCertificate => Ffi::Untrusted,
            TransportError::InsecureUrl { host } => Ffi::InsecureUrl { host },
            TransportError::InvalidUrl { url } => Ffi::InvalidUrl { url },
            TransportError::Server { status } => Ffi::Server { status },
            TransportError::Protocol { what } => Ffi::Protocol { what },
        }
    }
}

impl From<VaultError> for AuthenticatorError {
    fn from(error: VaultError) -> Self {
        use AuthenticatorError as Ffi;
        match error {
            VaultError::Store(_) => Ffi::StorageUnavailable,
            VaultError::UnknownAccount => Ffi::UnknownAccount,
            VaultError::NotHotp => Ffi::NotHotp,
            VaultError::UnsupportedQr => Ffi::InvalidQr {
                what: "this QR code is not an authenticator code".into(),
            },
            error @ (VaultError::InvalidUri(_) | VaultError::InvalidExport(_)) => Ffi::InvalidQr {
                what: error.to_string(),
            },
            VaultError::Backup(BackupError::WeakPassphrase) => Ffi::WeakPassphrase,
            VaultError::Backup(BackupError::WrongPassphrase) => Ffi::WrongPassphrase,
            VaultError::Backup(BackupError::ExcessiveCost { memory_kib, passes }) => {
                Ffi::BackupTooCostly { memory_kib, passes }
            }
            VaultError::Backup(
                BackupError::NotABackup | BackupError::Unsupported | BackupError::Unreadable,
            ) => Ffi::InvalidBackup,
            VaultError::InvalidOrder => Ffi::InvalidOrder,
            VaultError::Unreadable => Ffi::StorageUnreadable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_keep_their_numbers_under_explicit_names() {
        assert_eq!(
            ClientError::from(CoreClientError::WrongCredential {
                attempts_left: Some(4)
            }),
            ClientError::WrongCredential {
                attempts_left: Some(4)
            }
        );
        assert_eq!(
            ClientError::from(CoreClientError::RateLimited {
                retry_after: 30,
                limit: None
            }),
            ClientError::RateLimited {
                retry_after_seconds: 30,
                limit: None
            }
        );
        assert_eq!(
            AuthenticatorError::from(CoreAuthenticatorError::RateLimited { retry_after: 9 }),
            AuthenticatorError::RateLimited {
                retry_after_seconds: 9
            }
        );
    }

    #[test]
    fn the_authenticators_transport_errors_keep_their_names() {
        let from = |t| AuthenticatorError::from(CoreAuthenticatorError::Transport(t));
        assert_eq!(
            from(TransportError::Network { retryable: true }),
            AuthenticatorError::Network { retryable: true }
        );
        assert_eq!(
            from(TransportError::Server { status: 503 }),
            AuthenticatorError::Server { status: 503 }
        );
        assert_eq!(
            from(TransportError::InvalidRootCertificate),
            AuthenticatorError::Untrusted
        );
        let protocol = from(TransportError::Protocol {
            what: "truncated JSON".into(),
        });
        assert_eq!(
            protocol.to_string(),
            "the server's answer is not valid: truncated JSON"
        );
    }

    #[test]
    fn a_refused_security_change_says_to_confirm_it_is_you() {
        let error = ClientError::from(CoreClientError::StepUpRequired { max_age_s: 600 });
        assert_eq!(
            error,
            ClientError::StepUpRequired {
                max_age_seconds: 600
            }
        );
        assert_eq!(
            error.to_string(),
            "confirm it's you: sign in again with a second factor to make this change"
        );
    }

    #[test]
    fn storage_failures_carry_no_path() {
        let corrupt = authcore::store::StoreError::Corrupt {
            moved_to: "/data/user/0/app/files/store.bin.corrupt".into(),
        };
        let error = ClientError::from(CoreClientError::Storage(corrupt.clone()));
        assert_eq!(error, ClientError::StorageUnavailable);
        assert!(!format!("{error:?} {error}").contains("/data"));
        assert_eq!(
            AuthenticatorError::from(CoreAuthenticatorError::Key(KeyError::Store(corrupt))),
            AuthenticatorError::StorageUnavailable
        );
    }

    #[test]
    fn backup_errors_say_what_to_do() {
        assert_eq!(
            AuthenticatorError::from(VaultError::Backup(BackupError::WrongPassphrase)),
            AuthenticatorError::WrongPassphrase
        );
        assert_eq!(
            AuthenticatorError::from(VaultError::Backup(BackupError::NotABackup)),
            AuthenticatorError::InvalidBackup
        );
        let costly = AuthenticatorError::from(VaultError::Backup(BackupError::ExcessiveCost {
            memory_kib: 4 * 1024 * 1024,
            passes: 3,
        }));
        assert_eq!(
            costly,
            AuthenticatorError::BackupTooCostly {
                memory_kib: 4 * 1024 * 1024,
                passes: 3
            }
        );
        assert_eq!(
            costly.to_string(),
            "this backup asks for more work than this phone allows to open it"
        );
    }
}
