//! The storage boundary for authenticator devices, enrollment and push requests (schema version
//! 2). [`super::Store`] includes [`DeviceStore`] and [`PushStore`]; each method is one atomic
//! operation.

use async_trait::async_trait;

use super::{SignInEvent, StoreResult};

/// A registered authenticator device.
#[derive(Debug, Clone)]
pub struct Device {
    /// The public device id, `dv_…`.
    pub id: String,
    pub user_id: i64,
    /// P-256 SubjectPublicKeyInfo, DER.
    pub public_key: Vec<u8>,
    pub display_name: String,
    pub platform: String,
    pub has_push_token: bool,
    /// The phone says its key needs the user (biometrics, PIN) to sign.
    pub user_verification: bool,
    /// Its platform attestation verified at activation (migration 5).
    pub attested: bool,
    /// The device protocol version its app last spoke (migration 8; 1: before number matching).
    pub protocol_version: u32,
    /// `pending` until its test approval is approved, then `active`.
    pub state: String,
    pub created_at: u64,
    pub activated_at: Option<u64>,
    pub last_seen_at: Option<u64>,
}

impl Device {
    pub fn is_active(&self) -> bool {
        self.state == "active"
    }
}

/// Where a device is woken: its platform and OS push token (never logged).
#[derive(Debug, Clone)]
pub struct PushTarget {
    pub device_id: String,
    pub platform: String,
    pub push_token: Option<crate::secrets::SecretString>,
}

#[derive(Debug, Clone)]
pub struct NewDevice {
    pub id: String,
    pub public_key: Vec<u8>,
    pub display_name: String,
    pub platform: String,
    pub push_token: Option<String>,
    /// The device protocol version of the activating app.
    pub protocol_version: u32,
    pub user_verification: bool,
    /// The activation carried an attestation that verified.
    pub attested: bool,
}

#[derive(Debug, Clone)]
pub struct NewEnrollment {
    pub user_id: i64,
    /// HMAC of the normalised activation code.
    pub code_hash: Vec<u8>,
    /// Set when the enrollment runs inside a sign-in (older ones of that sign-in die).
    pub auth_session_id: Option<i64>,
    pub now: u64,
    pub expires_at: u64,
}

#[derive(Debug, Clone)]
pub struct Enrollment {
    pub id: i64,
    pub user_id: i64,
    pub auth_session_id: Option<i64>,
    pub created_at: u64,
    pub expires_at: u64,
    pub used_at: Option<u64>,
    pub device_id: Option<String>,
    pub test_request_id: Option<i64>,
    pub completed_at: Option<u64>,
    pub failed_at: Option<u64>,
}

/// A push request to create. `number` and `choices` are picked by `pick` inside the store's
/// transaction, given the numbers of the user's other pending requests (so two concurrent
/// sign-ins never show the same number).
#[derive(Debug, Clone)]
pub struct NewPushRequest {
    pub user_id: Option<i64>,
    pub auth_session_id: Option<i64>,
    /// `sign_in` or `test`.
    pub kind: String,
    pub device_id: Option<String>,
    pub require_uv: bool,
    pub app_name: String,
    pub ip: String,
    pub user_agent: String,
    pub location: Option<String>,
    pub created_at: u64,
    pub expires_at: u64,
}

/// Picks `(number, choices)` avoiding the numbers given.
pub type NumberPicker = Box<dyn FnOnce(&[String]) -> (String, Option<Vec<String>>) + Send>;

#[derive(Debug, Clone)]
pub struct PushRequest {
    pub id: i64,
    pub user_id: Option<i64>,
    pub auth_session_id: Option<i64>,
    pub kind: String,
    pub device_id: Option<String>,
    pub require_uv: bool,
    pub number: String,
    pub choices: Option<Vec<String>>,
    pub app_name: String,
    pub ip: String,
    pub user_agent: String,
    pub location: Option<String>,
    pub created_at: u64,
    pub expires_at: u64,
    pub answered_at: Option<u64>,
    pub answered_by: Option<String>,
    /// `approved`, `denied`, `number_mismatch`, `fraud`.
    pub result: Option<String>,
}

impl PushRequest {
    pub fn is_pending(&self, now: u64) -> bool {
        self.result.is_none() && self.expires_at > now
    }
}

/// Limits checked when a sign-in push is created.
#[derive(Debug, Clone, Copy)]
pub struct PushLimits {
    pub max_outstanding: u32,
    pub window_s: u64,
}

#[derive(Debug, PartialEq, Eq)]
pub enum PushRefusal {
    /// The user reported fraud; no pushes until `until`.
    Blocked { until: u64 },
    /// Too many unapproved pushes in the window.
    Capped { retry_after: u64 },
}

#[derive(Debug, Clone)]
pub struct Activation {
    pub code_hash: Vec<u8>,
    pub now: u64,
    pub device: NewDevice,
    /// The test approval; `user_id`, `device_id` are filled in by the store.
    pub test: NewPushRequest,
}

#[derive(Debug, Clone)]
pub struct Activated {
    pub device_id: String,
    pub user_id: i64,
    pub enrollment_id: i64,
    pub test_request_id: i64,
    pub test_number: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum ActivationError {
    /// No such code (or it belongs to an enrollment that was replaced).
    Unknown,
    Used,
    Expired,
}

/// A device's answer to a push request.
#[derive(Debug, Clone)]
pub struct PushAnswer {
    pub request_id: i64,
    pub device_id: String,
    /// `approved`, `denied`, `number_mismatch`, `fraud`.
    pub result: String,
    pub now: u64,
    pub signature: Vec<u8>,
    /// With `fraud`: block pushes to the user until then.
    pub block_until: Option<u64>,
    /// A history entry written in the same transaction.
    pub event: Option<SignInEvent>,
    /// A security event (and its mail) written in the same transaction: a test approval that
    /// adds the device to the account.
    pub security: Option<super::security::Noted>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum AnswerError {
    AlreadyAnswered,
    Expired,
}

#[async_trait]
pub trait DeviceStore: Send + Sync + 'static {
    /// A new enrollment; for a sign-in, the previous enrollments of that sign-in die.
    async fn create_enrollment(&self, enrollment: NewEnrollment) -> StoreResult<i64>;
    async fn enrollment(&self, id: i64) -> StoreResult<Option<Enrollment>>;
    /// The newest enrollment started inside a sign-in.
    async fn session_enrollment(&self, auth_session_id: i64) -> StoreResult<Option<Enrollment>>;
    /// Uses an activation code: registers the device as pending and creates its test approval.
    async fn activate_device(
        &self,
        activation: Activation,
        pick: NumberPicker,
    ) -> StoreResult<Result<Activated, ActivationError>>;

    /// A registered (not removed) device.
    async fn device(&self, id: &str) -> StoreResult<Option<Device>>;
    /// Records a nonce of a signed request; false when the device used it before. Expired
    /// nonces of the device are dropped in the same transaction, which also records the device
    /// as seen `now`, speaking `protocol_version`.
    async fn use_device_nonce(
        &self,
        device_id: &str,
        nonce: &str,
        expires_at: u64,
        now: u64,
        protocol_version: u32,
    ) -> StoreResult<bool>;
    /// The user's devices (pending and active), oldest first.
    async fn devices(&self, user_id: i64) -> StoreResult<Vec<Device>>;
    /// Whether the user has an active device (one registered with user verification when
    /// `require_uv`).
    async fn has_active_device(&self, user_id: i64, require_uv: bool) -> StoreResult<bool>;
    /// Whether the user has an active device whose app can show a number-matching request
    /// (protocol version at least `min_version`).
    async fn has_number_matching_device(&self, user_id: i64, min_version: u32)
        -> StoreResult<bool>;
    /// Whether the user has an active device that may answer passwordless (phone sign-in)
    /// pushes: registered with user verification and, when `require_attestation`, attested.
    async fn has_passwordless_device(
        &self,
        user_id: i64,
        require_attestation: bool,
    ) -> StoreResult<bool>;
    /// Renames a device or replaces its push token (`Some(None)` clears it); false if unknown.
    async fn update_device(
        &self,
        user_id: i64,
        device_id: &str,
        display_name: Option<String>,
        push_token: Option<Option<String>>,
    ) -> StoreResult<bool>;

    /// The devices to wake for a new request: `device_id` alone (a test approval, pending) or
    /// else the user's active devices, oldest first.
    async fn push_targets(
        &self,
        user_id: i64,
        device_id: Option<&str>,
    ) -> StoreResult<Vec<PushTarget>>;
    /// Clears the device's push token if it is still `push_token` (the push service no longer
    /// knows it; a token the phone registered since is kept); false if it changed or is gone.
    async fn clear_push_token(&self, device_id: &str, push_token: &str) -> StoreResult<bool>;

    /// "Skip for now" used so far by the user.
    async fn enrollment_skips(&self, user_id: i64) -> StoreResult<u32>;
    /// Whether the user skipped enrollment in this sign-in.
    async fn enrollment_skipped(&self, auth_session_id: i64) -> StoreResult<bool>;
    /// Counts one skip for this sign-in; `None` when no skip is left (nothing changes).
    async fn skip_enrollment(
        &self,
        user_id: i64,
        auth_session_id: i64,
        max_skips: u32,
    ) -> StoreResult<Option<u32>>;
}

/// Push requests: created within their caps, looked up, listed for a device, answered once.
#[async_trait]
pub trait PushStore: Send + Sync + 'static {
    /// Creates a push request unless pushes to the user are blocked or capped (sign-in pushes of
    /// known users only; the limits do not apply to `user_id: None`). Passwordless pushes
    /// ([`PushStore::create_passwordless_push_request`]) are not counted toward this cap.
    async fn create_push_request(
        &self,
        request: NewPushRequest,
        limits: PushLimits,
        pick: NumberPicker,
    ) -> StoreResult<Result<PushRequest, PushRefusal>>;
    /// Creates the push request of an unauthenticated phone sign-in (passwordless) within its
    /// own budget: at most `budget.max_outstanding` unapproved ones per `budget.window_s` for the
    /// identifier `key`, counted alike whether an account exists (`user_id: None`) or not. These
    /// never count toward the user's cap of [`PushStore::create_push_request`], so they cannot
    /// block a push after a correct password. A fraud block of a known user still applies.
    async fn create_passwordless_push_request(
        &self,
        request: NewPushRequest,
        key: &str,
        budget: PushLimits,
        pick: NumberPicker,
    ) -> StoreResult<Result<PushRequest, PushRefusal>>;
    async fn push_request(&self, id: i64) -> StoreResult<Option<PushRequest>>;
    /// The newest sign-in push request of an auth session.
    async fn session_push_request(&self, auth_session_id: i64) -> StoreResult<Option<PushRequest>>;
    /// Pending, unexpired requests `device` may answer, oldest first; passwordless
    /// (`require_uv`) requests only when `passwordless` (the device may answer them).
    async fn pending_push_requests(
        &self,
        device: &Device,
        passwordless: bool,
        now: u64,
    ) -> StoreResult<Vec<PushRequest>>;
    /// Answers a pending request once. A test approval also activates (approved) or removes
    /// (anything else) its device and completes or fails its enrollment.
    async fn answer_push_request(&self, answer: PushAnswer)
        -> StoreResult<Result<(), AnswerError>>;
}
