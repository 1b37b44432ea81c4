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
    /// A method of a newer server this version does not know: not offered. Never sent.
    #[serde(other)]
    Unknown,
}

/// A second factor of `choose_second_factor`.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SecondFactor {
    Push,
    Totp,
    BackupCode,
    /// A code by text message to the account's verified phone number.
    Sms,
    /// A phone call that reads the code to the account's verified phone number.
    Voice,
    /// A factor of a newer server this version does not know: not offered. Never sent.
    #[serde(other)]
    Unknown,
}

impl SecondFactor {
    /// The name on the wire (also the `method` that chooses it).
    pub fn as_str(self) -> &'static str {
        match self {
            SecondFactor::Push => "push",
            SecondFactor::Totp => "totp",
            SecondFactor::BackupCode => "backup_code",
            SecondFactor::Sms => "sms",
            SecondFactor::Voice => "voice",
            SecondFactor::Unknown => "unknown",
        }
    }
}

/// The `method` parameter of `POST /v1/authorize-challenge`: a sign-in method, a second factor,
/// the code to resend, or the answer to the enrollment prompt.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Password,
    EmailCode,
    SmsCode,
    Federated,
    Sso,
    /// Phone sign-in on the first request, the push second factor later (again: a new push).
    Push,
    Totp,
    BackupCode,
    /// Resends the device-verification code.
    VerifyDevice,
    /// "Skip for now" at the enrollment prompt.
    SkipEnrollment,
    /// Starts an enrollment inside the sign-in.
    EnrollAuthenticator,
    /// The `sms` second factor (again: resends the text).
    Sms,
    /// The `voice` second factor (again: calls again).
    Voice,
    /// A method this version does not know.
    #[serde(other)]
    Unknown,
}

impl Method {
    /// Every method a client may send, in the order of docs/protocol.md.
    pub const ALL: [Method; 13] = [
        Method::Password,
        Method::EmailCode,
        Method::SmsCode,
        Method::Federated,
        Method::Sso,
        Method::Push,
        Method::Totp,
        Method::BackupCode,
        Method::VerifyDevice,
        Method::SkipEnrollment,
        Method::EnrollAuthenticator,
        Method::Sms,
        Method::Voice,
    ];

    /// The value of the `method` parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Password => "password",
            Method::EmailCode => "email_code",
            Method::SmsCode => "sms_code",
            Method::Federated => "federated",
            Method::Sso => "sso",
            Method::Push => "push",
            Method::Totp => "totp",
            Method::BackupCode => "backup_code",
            Method::VerifyDevice => "verify_device",
            Method::SkipEnrollment => "skip_enrollment",
            Method::EnrollAuthenticator => "enroll_authenticator",
            Method::Sms => "sms",
            Method::Voice => "voice",
            Method::Unknown => "unknown",
        }
    }

    /// The method named `value`, if a client may send it.
    pub fn parse(value: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.as_str() == value)
    }
}

/// The form parameters of `POST /v1/authorize-challenge` (docs/protocol.md, "Native sign-in"),
/// each name written once.
pub mod param {
    pub const CLIENT_ID: &str = "client_id";
    pub const IDENTIFIER: &str = "identifier";
    pub const CODE_CHALLENGE: &str = "code_challenge";
    pub const CODE_CHALLENGE_METHOD: &str = "code_challenge_method";
    pub const DEVICE_TOKEN: &str = "device_token";
    pub const ACR_VALUES: &str = "acr_values";
    pub const AUTH_SESSION: &str = "auth_session";
    pub const METHOD: &str = "method";
    pub const WAIT: &str = "wait";
    pub const PASSWORD: &str = "password";
    pub const CODE: &str = "code";
    /// First request only: the OAuth scopes asked for (`crate::oidc::scope`); `openid` makes
    /// the token endpoint return an ID token.
    pub const SCOPE: &str = "scope";
    /// First request only: the OpenID Connect `nonce`, returned in the ID token.
    pub const NONCE: &str = "nonce";
}

/// The only `code_challenge_method`: PKCE S256.
pub const CODE_CHALLENGE_S256: &str = "S256";
/// The only `acr_values`: a step-up sign-in with a second factor (RFC 9470).
pub const ACR_MFA: &str = "mfa";

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
        /// With `sms` or `voice`: the number they reach, masked (`+X XXX-XXX-XX63`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        phone_hint: Option<String>,
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
    /// What a client reads when `type` names a step this version does not know (a newer
    /// server's) or a known step comes without its fields: `kind` is the `type`. Never sent.
    #[serde(untagged)]
    Unknown {
        #[serde(rename = "type")]
        kind: String,
    },
}

/// Where a code was sent.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
    /// A phone call that reads the code.
    Voice,
    /// A channel of a newer server this version does not know, by name. Never sent.
    #[serde(untagged)]
    Unknown(String),
}

/// `email_code`, `sms_code` (also the code step of the `sms` and `voice` second factors, with
/// `channel` `sms` or `voice`), `verify_device`.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_newer_server_adds_reads_as_unknown() {
        let factors: Vec<SecondFactor> =
            serde_json::from_str(r#"["totp", "webauthn", "backup_code"]"#).unwrap();
        assert_eq!(
            factors,
            [
                SecondFactor::Totp,
                SecondFactor::Unknown,
                SecondFactor::BackupCode
            ]
        );
        let method: LoginMethod = serde_json::from_str(r#"{"type": "passkey"}"#).unwrap();
        assert_eq!(method, LoginMethod::Unknown);
        let step: Next = serde_json::from_str(r#"{"type": "teleport", "to": "mars"}"#).unwrap();
        assert_eq!(
            step,
            Next::Unknown {
                kind: "teleport".into()
            }
        );
        let channel: Channel = serde_json::from_str(r#""pigeon""#).unwrap();
        assert_eq!(channel, Channel::Unknown("pigeon".into()));
        // A step without its `type` is no step at all.
        assert!(serde_json::from_str::<Next>("{}").is_err());
    }

    #[test]
    fn known_steps_and_methods_read_as_themselves() {
        let step: Next = serde_json::from_str(r#"{"type": "totp", "length": 6}"#).unwrap();
        assert_eq!(step, Next::Totp { length: 6 });
        let channel: Channel = serde_json::from_str(r#""sms""#).unwrap();
        assert_eq!(channel, Channel::Sms);
        let channel: Channel = serde_json::from_str(r#""voice""#).unwrap();
        assert_eq!(channel, Channel::Voice);
        let step: Next = serde_json::from_str(
            r#"{"type": "choose_second_factor", "factors": ["totp", "sms", "voice"], "phone_hint": "+X XXX-XXX-XX01"}"#,
        )
        .unwrap();
        assert_eq!(
            step,
            Next::ChooseSecondFactor {
                factors: vec![SecondFactor::Totp, SecondFactor::Sms, SecondFactor::Voice],
                phone_hint: Some("+X XXX-XXX-XX01".into()),
            }
        );
        for method in Method::ALL {
            let json = serde_json::to_string(&method).unwrap();
            assert_eq!(json, format!("\"{}\"", method.as_str()));
            assert_eq!(Method::parse(method.as_str()), Some(method));
        }
        assert_eq!(Method::parse("unknown"), None);
    }
}
