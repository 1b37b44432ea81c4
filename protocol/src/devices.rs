//! Authenticator devices (docs/protocol.md, "Authenticator devices and push approval"):
//! enrollment when signed in, activation, the device list, and the signed device API's
//! challenges and decisions.

use serde::{Deserialize, Serialize};

use crate::signin::EnrollmentCode;

/// `POST /v1/me/authenticators` (`201`): the QR code and the typed code of a new enrollment.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrollmentStarted {
    pub enrollment_id: String,
    #[serde(flatten)]
    pub code: EnrollmentCode,
    pub expires_at: u64,
    pub status: EnrollmentStatus,
}

/// Where an enrollment stands.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EnrollmentStatus {
    WaitingForDevice,
    ApproveTest,
    Completed,
    Failed,
    Expired,
    /// A status of a newer server this version does not know. Never sent.
    #[serde(other)]
    Unknown,
}

impl EnrollmentStatus {
    /// The name on the wire (also the `status=` a screen long-polls with).
    pub fn as_str(self) -> &'static str {
        match self {
            EnrollmentStatus::WaitingForDevice => "waiting_for_device",
            EnrollmentStatus::ApproveTest => "approve_test",
            EnrollmentStatus::Completed => "completed",
            EnrollmentStatus::Failed => "failed",
            EnrollmentStatus::Expired => "expired",
            EnrollmentStatus::Unknown => "unknown",
        }
    }
}

/// The query of the long-polls `GET /v1/me/authenticators/{id}` and `GET /v1/devices/challenges`
/// (names: [`crate::paths::query`]), as text: the server checks `wait` (seconds, at most 30)
/// and `status` (an [`EnrollmentStatus`], default `waiting_for_device`) itself.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WaitQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<String>,
    /// The status the screen shows: the wait lasts while it is still this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

impl WaitQuery {
    /// `?wait=N[&status=S]`, or nothing when neither is set (the values need no escaping).
    pub fn to_query(&self) -> String {
        use crate::paths::query;
        let pairs: Vec<String> = [(query::WAIT, &self.wait), (query::STATUS, &self.status)]
            .into_iter()
            .filter_map(|(name, value)| value.as_ref().map(|v| format!("{name}={v}")))
            .collect();
        if pairs.is_empty() {
            String::new()
        } else {
            format!("?{}", pairs.join("&"))
        }
    }
}

/// `GET /v1/me/authenticators/{enrollment_id}`: the enrollment screen's view.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Enrollment {
    pub enrollment_id: String,
    pub expires_at: u64,
    /// Null until a device activated.
    pub device_id: Option<String>,
    pub status: EnrollmentStatus,
    /// `approve_test`: the number to show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<TestApproval>,
    /// `failed`: `denied`, `number_mismatch`, `fraud_reported`, `expired` or `replaced`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TestApproval {
    pub request_id: String,
    pub number: String,
    pub expires_at: u64,
}

/// `POST /v1/devices/activate` body (signed by the key being registered). `A` is how the
/// `attestation` is read: an [`Attestation`], or the raw JSON for a server that answers a
/// malformed one on its own (`invalid_attestation` rather than `invalid_request`).
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(bound(deserialize = "A: Deserialize<'de>", serialize = "A: Serialize"))]
pub struct ActivateRequest<A = Attestation> {
    pub activation_code: String,
    /// base64url SPKI DER of the P-256 key.
    pub public_key: String,
    pub display_name: String,
    pub platform: String,
    #[serde(default)]
    pub push_token: Option<String>,
    #[serde(default)]
    pub user_verification: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<A>,
}

impl<A> std::fmt::Debug for ActivateRequest<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActivateRequest").finish_non_exhaustive()
    }
}

/// The `attestation` of an activation: the platform's proof of the key.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "format", deny_unknown_fields)]
pub enum Attestation {
    /// The Keystore certificate chain of the device key, leaf first, each base64url DER.
    #[serde(rename = "android-key")]
    AndroidKey { certificates: Vec<String> },
    /// `DCAppAttestService.attestKey`'s object (base64url CBOR) and the App Attest key id.
    #[serde(rename = "apple-appattest")]
    AppleAppAttest { object: String, key_id: String },
}

/// `201` of `/v1/devices/activate`: the device is pending until its test approval.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Activated {
    pub device_id: String,
    pub enrollment_id: String,
    pub test_request_id: String,
    /// Always `approve_test`.
    pub status: EnrollmentStatus,
    /// The attestation verified.
    pub attested: bool,
    /// Phone sign-in (without a password) will reach this device.
    pub passwordless: bool,
    pub account: ActivatedAccount,
}

/// The account a device joined, for the authenticator's list.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivatedAccount {
    pub name: Option<String>,
    pub label: Option<String>,
    pub server_url: String,
}

/// `POST /v1/devices/push-token` body (signed): the OS push token that wakes this device, or
/// `null` to stop pushes (the device long-polls).
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushTokenUpdate {
    /// At most 4096 characters; `null` or empty clears it.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub push_token: Option<String>,
}

impl std::fmt::Debug for PushTokenUpdate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushTokenUpdate")
            .field("push_token", &self.push_token.as_ref().map(|_| "…"))
            .finish()
    }
}

/// `POST /v1/devices/push-token` answer.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushTokenUpdated {
    pub device_id: String,
    /// The server now has a push token for this device.
    pub push_enabled: bool,
}

/// `GET /v1/me/devices`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Devices {
    pub devices: Vec<DeviceView>,
}

/// One device of the user (`GET`, `PATCH`, `POST …/confirm` of `/v1/me/devices/{id}` too).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceView {
    pub device_id: String,
    pub display_name: String,
    pub platform: String,
    pub user_verification: bool,
    pub attested: bool,
    pub push_enabled: bool,
    /// `pending`, `active` or `suspended`.
    pub state: String,
    pub created_at: u64,
    pub activated_at: Option<u64>,
    pub last_seen_at: Option<u64>,
}

/// `PATCH /v1/me/devices/{id}` body: what to change; an absent field stays as it is.
#[derive(Serialize, Deserialize, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DevicePatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// `Some(None)` (`null`) clears the push token; `None` (absent) leaves it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub push_token: Option<Option<String>>,
}

/// A field that is present, even as `null`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// `GET /v1/devices/challenges` (signed): the requests this device may answer, oldest first.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Challenges {
    pub challenges: Vec<Challenge>,
    /// Absent from older servers: the phone's clock stands in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_time: Option<u64>,
}

/// A push request as the phone sees it (never the number in `enter` mode). The phone reads it
/// leniently: a field an older server leaves out takes its default, and the core refuses only a
/// challenge without its number shape (`number_length` in `enter` mode, `choices` in `choose`).
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Challenge {
    pub request_id: String,
    /// `sign_in` or `test`.
    pub kind: String,
    pub mode: ChallengeMode,
    #[serde(default)]
    pub number_length: Option<u32>,
    /// `choose` mode: three distinct numbers, one right; null in `enter` mode.
    #[serde(default)]
    pub choices: Option<Vec<String>>,
    #[serde(default)]
    pub context: ChallengeContext,
    #[serde(default)]
    pub created_at: Option<u64>,
    pub expires_at: u64,
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChallengeMode {
    /// The user types the number the sign-in screen shows.
    Enter,
    /// The user picks it among `choices`.
    Choose,
    /// A mode this version does not know: the phone asks for the number to be typed.
    #[serde(other)]
    Unknown,
}

/// Who asked: shown on the phone.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChallengeContext {
    #[serde(default)]
    pub app: Option<String>,
    #[serde(default)]
    pub ip: Option<String>,
    #[serde(default)]
    pub user_agent: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub time: Option<u64>,
}

/// `POST /v1/devices/challenges/{request_id}` body (signed).
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecisionRequest {
    /// `approve`, `deny` or `report_fraud` ([`crate::device::Decision`]).
    pub decision: String,
    /// With `approve`: the number entered or chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// base64url DER signature over the canonical decision message.
    pub signature: String,
}

/// The answer to a decision.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecisionAnswer {
    pub request_id: String,
    pub result: DecisionResult,
    /// `fraud_reported`: pushes to the user are blocked until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pushes_blocked_until: Option<u64>,
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DecisionResult {
    Approved,
    Denied,
    FraudReported,
}

/// What `[push_sender] type = "webhook"` POSTs to wake a device: no number, no secret.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Wake {
    pub device_id: String,
    pub request_id: String,
}

crate::redacted_debug!(TestApproval, Challenge, DecisionRequest, DevicePatch);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_query_names_its_parameters_once() {
        assert_eq!(WaitQuery::default().to_query(), "");
        let query = WaitQuery {
            wait: Some("25".into()),
            status: Some(EnrollmentStatus::ApproveTest.as_str().into()),
        };
        assert_eq!(query.to_query(), "?wait=25&status=approve_test");
        let wait_only = WaitQuery {
            wait: Some("30".into()),
            status: None,
        };
        assert_eq!(wait_only.to_query(), "?wait=30");
    }
}
