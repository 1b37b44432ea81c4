//! Login-method selection (`POST /v1/login/methods`) and the native sign-in
//! (`POST /v1/authorize-challenge`): the methods offered, the `next` step of an
//! `insufficient_authorization` answer, and the authorization code that ends it.

use serde::{Deserialize, Serialize};

/// `POST /v1/login/methods` body.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginMethodsRequest {
    pub identifier: String,
}

/// `POST /v1/login/methods` answer.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginMethods {
    pub identifier: String,
    pub identifier_type: IdentifierType,
    /// Null for domains without an organisation and for phones.
    pub organization: Option<Organization>,
    pub methods: Vec<LoginMethod>,
    /// The organisation's own sign-in domain when it requires one; null otherwise.
    pub sign_in_host: Option<String>,
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum IdentifierType {
    Email,
    Phone,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Organization {
    pub name: String,
    pub domain: String,
}

/// One method of `methods`, in the organisation's order.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LoginMethod {
    Password,
    /// A code instead of a password; `destination_hint` is `n***@domain`.
    EmailCode {
        destination_hint: String,
    },
    /// Phone identifiers only; `destination_hint` is `+*******0101`.
    SmsCode {
        destination_hint: String,
    },
    /// Browser sign-in (Google, …).
    Federated {
        provider: String,
        display_name: String,
    },
    /// Enterprise browser sign-in.
    Sso {
        provider: String,
        display_name: String,
    },
    /// Phone sign-in (passwordless), listed last.
    Push,
}

/// A second factor of `choose_second_factor`.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SecondFactor {
    Push,
    Totp,
    BackupCode,
}

impl SecondFactor {
    /// The name on the wire (also the `method` that chooses it).
    pub fn as_str(self) -> &'static str {
        match self {
            SecondFactor::Push => "push",
            SecondFactor::Totp => "totp",
            SecondFactor::BackupCode => "backup_code",
        }
    }
}

/// The `next` step of an `insufficient_authorization` answer: what the client shows.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Next {
    /// The password field.
    Password,
    /// "Enter the code sent to a***@acme.example".
    EmailCode(CodeStep),
    SmsCode(CodeStep),
    /// "Confirm it's you": a code by email because the device is not recognised.
    VerifyDevice(CodeStep),
    ChooseSecondFactor {
        factors: Vec<SecondFactor>,
    },
    /// The authenticator code field.
    Totp {
        length: u32,
    },
    BackupCode {
        remaining: u32,
    },
    /// "Approve the sign-in on your phone: enter 22".
    Push(PushStep),
    /// "Protect your account", with "Skip for now" unless `mandatory`.
    EnrollAuthenticator {
        skips_left: u32,
        mandatory: bool,
    },
    /// The QR code and "Can't scan image?".
    ActivateAuthenticator(ActivateStep),
    /// "Approve the test notification: enter 37".
    ApproveTestPush(PushStep),
}

/// Where a code was sent.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
}

/// `email_code`, `sms_code`, `verify_device`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CodeStep {
    pub channel: Channel,
    pub destination_hint: String,
    pub length: u32,
    pub expires_at: u64,
    /// Seconds until `method` may resend the code.
    pub resend_after: u64,
}

/// `push` and `approve_test_push`: the number to show while the phone decides.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushStep {
    pub request_id: String,
    pub number: String,
    pub expires_at: u64,
    /// Seconds between polls.
    pub interval: u64,
}

/// `activate_authenticator`: the first answer carries the code ([`EnrollmentCode`]), later ones
/// only the id, the expiry and the poll interval.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivateStep {
    pub enrollment_id: String,
    /// Not in the schema: an absent flattened code would read as `null` there (its fields come
    /// with the first answer only).
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub code: Option<EnrollmentCode>,
    pub expires_at: u64,
    pub interval: u64,
}

/// What a screen shows to enroll a phone: the QR code's link and the typed code.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrollmentCode {
    pub qr_payload: String,
    pub activation_code: String,
    pub server_url: String,
    pub label: String,
}

/// `200` of `/v1/authorize-challenge`: the sign-in is complete.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthorizationCode {
    pub authorization_code: String,
}

crate::redacted_debug!(PushStep, EnrollmentCode, AuthorizationCode);
