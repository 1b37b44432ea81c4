//! What the screen shows: [`SignInState`] and the values it carries, already formatted.

use authcore_protocol::signin::Method;

use crate::error::ClientError;
pub use crate::sensitive::Sensitive;
use crate::session::Session;
use crate::timestamp::Timestamp;

/// What the screen shows now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInState {
    /// "Sign in": an email or phone field.
    EnterIdentifier,
    /// The organisation signs in on its own domain; the flow continues there (shown while it
    /// switches, then the methods that host offers).
    UseSignInHost {
        host: String,
    },
    ChooseMethod {
        identifier: String,
        /// The organisation's display name, when the domain belongs to one.
        organization: Option<String>,
        methods: Vec<SignInMethod>,
    },
    EnterPassword {
        identifier: String,
    },
    /// "Enter the code sent to a***@acme.example".
    EnterCode {
        purpose: CodePurpose,
        channel: CodeChannel,
        destination_hint: String,
        length: u32,
        expires_at: Timestamp,
        /// Seconds (from when this state was entered) before "Resend code" is allowed.
        resend_after: u64,
    },
    ChooseSecondFactor {
        options: Vec<SecondFactorOption>,
    },
    EnterTotp {
        length: u32,
    },
    EnterBackupCode {
        remaining: u32,
    },
    /// "Approve the sign-in on your phone": the number the user enters there. Call
    /// `wait_for_phone()` while it is shown.
    ApprovePush {
        number: String,
        expires_at: Timestamp,
    },
    /// "Protect your account": the organisation requires an authenticator app; "Skip for now
    /// (N times left)" unless `mandatory`.
    EnrollAuthenticator {
        skips_left: u32,
        mandatory: bool,
    },
    /// The QR code to scan with the authenticator, and for "Can't scan image?" the activation
    /// code (in groups) and the server URL to type. Call `wait_for_phone()` while it is shown.
    ActivateAuthenticator {
        qr_payload: Sensitive,
        activation_code: Sensitive,
        server_url: String,
        label: String,
        expires_at: Timestamp,
    },
    /// "Approve the test notification": the number to enter on the new authenticator.
    ApproveTestPush {
        number: String,
        expires_at: Timestamp,
    },
    /// Password recovery: the code was typed; now the new password.
    ChooseNewPassword {
        identifier: String,
    },
    /// Federated and SSO methods continue in the system browser. `url` is filled by servers that
    /// offer the browser flow (a later protocol version); without it the app explains the method
    /// is not available natively.
    OpenBrowser {
        method: SignInMethod,
        url: Option<String>,
    },
    Done {
        session: Session,
    },
    /// The flow cannot continue (e.g. the sign-in expired on the server); `start` again.
    Failed {
        reason: ClientError,
    },
}

impl SignInState {
    /// The variant's name, for logs (no data).
    pub fn name(&self) -> &'static str {
        match self {
            SignInState::EnterIdentifier => "EnterIdentifier",
            SignInState::UseSignInHost { .. } => "UseSignInHost",
            SignInState::ChooseMethod { .. } => "ChooseMethod",
            SignInState::EnterPassword { .. } => "EnterPassword",
            SignInState::EnterCode { .. } => "EnterCode",
            SignInState::ChooseSecondFactor { .. } => "ChooseSecondFactor",
            SignInState::EnterTotp { .. } => "EnterTotp",
            SignInState::EnterBackupCode { .. } => "EnterBackupCode",
            SignInState::ApprovePush { .. } => "ApprovePush",
            SignInState::EnrollAuthenticator { .. } => "EnrollAuthenticator",
            SignInState::ActivateAuthenticator { .. } => "ActivateAuthenticator",
            SignInState::ApproveTestPush { .. } => "ApproveTestPush",
            SignInState::ChooseNewPassword { .. } => "ChooseNewPassword",
            SignInState::OpenBrowser { .. } => "OpenBrowser",
            SignInState::Done { .. } => "Done",
            SignInState::Failed { .. } => "Failed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum MethodKind {
    Password,
    /// A code by email instead of a password.
    EmailCode,
    /// A code by SMS instead of a password.
    SmsCode,
    /// Google, Microsoft...: the system browser.
    Federated,
    /// Enterprise single sign-on: the system browser.
    Sso,
    /// "Sign in with your phone": approve a number on the authenticator, no password.
    Push,
}

impl MethodKind {
    /// The `method` that chooses it.
    pub(crate) fn wire(self) -> Method {
        match self {
            MethodKind::Password => Method::Password,
            MethodKind::EmailCode => Method::EmailCode,
            MethodKind::SmsCode => Method::SmsCode,
            MethodKind::Federated => Method::Federated,
            MethodKind::Sso => Method::Sso,
            MethodKind::Push => Method::Push,
        }
    }
}

/// One entry of the method list, ready to show.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SignInMethod {
    pub kind: MethodKind,
    /// "Password", "Email a code to a***@acme.example", "Google", "Globex SSO".
    pub display_name: String,
    /// For code methods: where the code goes, masked.
    pub destination_hint: Option<String>,
    /// For browser methods: the provider id (`google`, `globex-okta`).
    pub provider: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum CodePurpose {
    /// The code instead of a password.
    SignIn,
    /// "Confirm it's you": the device is not recognised.
    VerifyDevice,
    PasswordReset,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum CodeChannel {
    Email,
    Sms,
    /// A phone call reads the code (the `voice` second factor).
    Voice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum SecondFactor {
    /// Approve a request on the authenticator app.
    Push,
    Totp,
    BackupCode,
    /// A code texted to the account's verified phone number.
    Sms,
    /// A call that reads a code to the account's verified phone number.
    Voice,
}

impl SecondFactor {
    /// The `method` that chooses it.
    pub(crate) fn wire(self) -> Method {
        match self {
            SecondFactor::Push => Method::Push,
            SecondFactor::Totp => Method::Totp,
            SecondFactor::BackupCode => Method::BackupCode,
            SecondFactor::Sms => Method::Sms,
            SecondFactor::Voice => Method::Voice,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SecondFactorOption {
    pub kind: SecondFactor,
    /// "Authenticator app code", "Backup code", "Text a code to +X XXX-XXX-XX63", "Call
    /// +X XXX-XXX-XX63".
    pub display_name: String,
}
