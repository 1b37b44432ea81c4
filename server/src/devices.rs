//! Authenticator devices: enrollment (`/v1/me/authenticators`), activation with proof of
//! possession, the signed device API (challenges long-poll and decisions) and the user's device
//! list. The canonical messages and signature checks are `authcore::device_protocol`.

use authcore_protocol::ErrorCode;
use std::time::Duration;

use authcore::device_protocol::{
    self as protocol, ActivationCode, Decision, EnrollLink, RequestParts,
};
use authcore_protocol::account::Removed;
use authcore_protocol::devices::{
    Activated, ActivatedAccount, Challenges, DecisionAnswer, DecisionResult, DeviceView, Devices,
    Enrollment as EnrollmentView, EnrollmentStarted, EnrollmentStatus, TestApproval,
};
use authcore_protocol::signin::EnrollmentCode;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Bearer, Caller, MAX_BODY};
use crate::push::{self, wait_param, wait_until};
use crate::secrets::{constant_time_eq, random_bytes};
use crate::security::{self, Change, Origin};
use crate::step_up::{stepped_up, SteppedUp};
use crate::store::{
    Activation, ActivationError, AnswerError, Device, Enrollment, EnrollmentRefusal, NewDevice,
    NewEnrollment, NewPushRequest, PushAnswer, PushRequest, SignInEvent, User,
};
use crate::tokens::session_of;
use crate::AppState;

fn unknown_device() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        ErrorCode::UnknownDevice,
        "this device is not registered or was removed; enroll it again",
    )
}

fn invalid_signature() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        ErrorCode::InvalidSignature,
        "the request signature does not verify with this device's key",
    )
}

fn unknown_request() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::UnknownRequest,
        "no such push request for this device",
    )
}

/// The HMAC under which an activation code is stored and looked up.
pub(crate) fn activation_hash(app: &AppState, code: &ActivationCode) -> Vec<u8> {
    app.hasher.hash("activation", code.expose())
}

/// What the authenticator lists the account as: `Globex: carol@globex.example`.
fn account_label(app: &AppState, user: &User) -> String {
    let issuer = user
        .email
        .split_once('@')
        .and_then(|(_, domain)| app.config.org_for_domain(domain))
        .map_or_else(|| app.config.totp.issuer.clone(), |o| o.name.clone());
    format!("{issuer}: {}", user.email)
}

/// Starts an enrollment: what a screen shows (QR, typed code).
pub(crate) async fn start_enrollment(
    app: &AppState,
    user: &User,
    auth_session_id: Option<i64>,
) -> ApiResult<EnrollmentStarted> {
    let now = app.clock.now();
    let code = ActivationCode::generate();
    let expires_at = now + app.config.push.activation_ttl_s;
    let created = app
        .store
        .create_enrollment_capped(
            NewEnrollment {
                user_id: user.id,
                code_hash: activation_hash(app, &code),
                auth_session_id,
                now,
                expires_at,
            },
            app.config.security.max_pending_enrollments,
        )
        .await?;
    let id =
        match created {
            Ok(id) => id,
            Err(EnrollmentRefusal::Capped { retry_after }) => return Err(ApiError::slow_down(
                retry_after,
                "too many enrollments are waiting for a device; use one or wait until one expires",
            )),
        };
    let label = account_label(app, user);
    let link = EnrollLink {
        server_url: app.issuer.clone(),
        activation_code: code,
        label: Some(label.clone()),
    };
    Ok(EnrollmentStarted {
        enrollment_id: id.to_string(),
        code: EnrollmentCode {
            qr_payload: link.to_uri(),
            activation_code: link.activation_code.grouped(),
            server_url: app.issuer.clone(),
            label,
        },
        expires_at,
        status: EnrollmentStatus::WaitingForDevice,
    })
}

async fn bearer_user(app: &AppState, bearer: &Bearer) -> ApiResult<User> {
    let session = session_of(app, bearer).await?;
    app.store
        .user(session.user_id)
        .await?
        .ok_or_else(ApiError::invalid_token)
}

/// `POST /v1/me/authenticators` (Bearer)
pub async fn new_authenticator(
    State(app): State<AppState>,
    bearer: Bearer,
) -> ApiResult<impl IntoResponse> {
    let SteppedUp { user, .. } = stepped_up(&app, &bearer).await?;
    let started = start_enrollment(&app, &user, None).await?;
    Ok((
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, "no-store")],
        Json(started),
    ))
}

/// Where an enrollment stands, for a screen.
pub(crate) enum EnrollmentState {
    WaitingForDevice,
    ApproveTest(Box<PushRequest>),
    Completed,
    Failed(&'static str),
    Expired,
}

pub(crate) async fn enrollment_state(
    app: &AppState,
    enrollment: &Enrollment,
) -> ApiResult<EnrollmentState> {
    let now = app.clock.now();
    if enrollment.completed_at.is_some() {
        return Ok(EnrollmentState::Completed);
    }
    let test = match enrollment.test_request_id {
        Some(id) => app.store.push_request(id).await?,
        None => None,
    };
    if enrollment.failed_at.is_some() || test.as_ref().is_some_and(|t| t.result.is_some()) {
        let reason = match test.as_ref().and_then(|t| t.result.as_deref()) {
            Some("number_mismatch") => "number_mismatch",
            Some("fraud") => "fraud_reported",
            Some(_) => "denied",
            None => "replaced",
        };
        return Ok(EnrollmentState::Failed(reason));
    }
    match test {
        Some(test) if test.expires_at <= now => Ok(EnrollmentState::Failed("expired")),
        Some(test) => Ok(EnrollmentState::ApproveTest(Box::new(test))),
        None if enrollment.expires_at <= now => Ok(EnrollmentState::Expired),
        None => Ok(EnrollmentState::WaitingForDevice),
    }
}

/// Waits (up to `wait`) while the enrollment is still in the state the screen shows: `known` is
/// `waiting_for_device` or `approve_test`. Any other state answers at once.
pub(crate) async fn wait_for_enrollment(
    app: &AppState,
    enrollment: Enrollment,
    wait: Duration,
    known: &str,
) -> ApiResult<(Enrollment, EnrollmentState)> {
    let mut enrollment = enrollment;
    let mut state = enrollment_state(app, &enrollment).await?;
    if wait.is_zero() {
        return Ok((enrollment, state));
    }
    if matches!(state, EnrollmentState::WaitingForDevice) && known == "waiting_for_device" {
        let id = enrollment.id;
        let wait = wait.min(Duration::from_secs(
            enrollment.expires_at.saturating_sub(app.clock.now()),
        ));
        enrollment = wait_until(
            app.hub.enrollment(id),
            wait,
            || async {
                app.store
                    .enrollment(id)
                    .await?
                    .ok_or_else(|| ApiError::invalid_request("no such enrollment"))
            },
            |e| e.used_at.is_some() || e.failed_at.is_some(),
        )
        .await?;
        state = enrollment_state(app, &enrollment).await?;
    } else if let (EnrollmentState::ApproveTest(test), "approve_test") = (&state, known) {
        let id = test.id;
        let wait = push::wait_for_request(app, test, wait);
        let _ = wait_until(
            app.hub.request(id),
            wait,
            || async { Ok(app.store.push_request(id).await?) },
            |r| r.as_ref().map_or(true, |r| r.result.is_some()),
        )
        .await?;
        if let Some(fresh) = app.store.enrollment(enrollment.id).await? {
            enrollment = fresh;
        }
        state = enrollment_state(app, &enrollment).await?;
    }
    Ok((enrollment, state))
}

#[derive(Deserialize)]
pub struct WaitQuery {
    wait: Option<String>,
    /// The status the screen shows; `wait` waits while it is still this one.
    status: Option<String>,
}

/// `GET /v1/me/authenticators/{id}?wait=N` (Bearer)
pub async fn authenticator_status(
    State(app): State<AppState>,
    bearer: Bearer,
    Path(id): Path<String>,
    Query(query): Query<WaitQuery>,
) -> ApiResult<Json<EnrollmentView>> {
    let user = bearer_user(&app, &bearer).await?;
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "no such enrollment",
        )
    };
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let enrollment = app
        .store
        .enrollment(id)
        .await?
        .filter(|e| e.user_id == user.id)
        .ok_or_else(not_found)?;
    let wait = wait_param(&app, query.wait.as_deref())?;
    let known = query.status.as_deref().unwrap_or("waiting_for_device");
    let (enrollment, state) = wait_for_enrollment(&app, enrollment, wait, known).await?;
    let mut view = EnrollmentView {
        enrollment_id: enrollment.id.to_string(),
        expires_at: enrollment.expires_at,
        device_id: enrollment.device_id,
        status: EnrollmentStatus::WaitingForDevice,
        test: None,
        reason: None,
    };
    match state {
        EnrollmentState::WaitingForDevice => {}
        EnrollmentState::ApproveTest(test) => {
            view.status = EnrollmentStatus::ApproveTest;
            view.test = Some(TestApproval {
                request_id: test.id.to_string(),
                number: test.number,
                expires_at: test.expires_at,
            });
        }
        EnrollmentState::Completed => view.status = EnrollmentStatus::Completed,
        EnrollmentState::Failed(reason) => {
            view.status = EnrollmentStatus::Failed;
            view.reason = Some(reason.to_owned());
        }
        EnrollmentState::Expired => view.status = EnrollmentStatus::Expired,
    }
    Ok(Json(view))
}

/// A device API request as received: what its signature covers.
pub struct DeviceCall {
    method: String,
    target: String,
    headers: HeaderMap,
    body: axum::body::Bytes,
}

impl<S: Send + Sync> FromRequest<S> for DeviceCall {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let method = req.method().as_str().to_owned();
        let target = req
            .uri()
            .path_and_query()
            .map_or_else(|| req.uri().path().to_owned(), |p| p.as_str().to_owned());
        let headers = req.headers().clone();
        let too_large = || {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::InvalidRequest,
                format!("the body is larger than {MAX_BODY} bytes"),
            )
        };
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > MAX_BODY as u64) {
            return Err(too_large());
        }
        let body = axum::body::to_bytes(req.into_body(), MAX_BODY)
            .await
            .map_err(|_| too_large())?;
        if !body.is_empty() {
            let json = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(';').next())
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
            if !json {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    ErrorCode::InvalidRequest,
                    "the body must be application/json",
                ));
            }
        }
        Ok(DeviceCall {
            method,
            target,
            headers,
            body,
        })
    }
}

impl DeviceCall {
    fn header(&self, name: &str) -> ApiResult<&str> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                // `authcore-device-id` -> `Authcore-Device-Id`, as the protocol spells it.
                let shown: Vec<String> = name
                    .split('-')
                    .map(|part| {
                        let mut chars = part.chars();
                        chars.next().map_or_else(String::new, |first| {
                            first.to_ascii_uppercase().to_string() + chars.as_str()
                        })
                    })
                    .collect();
                ApiError::invalid_request(format!("the {} header is required", shown.join("-")))
            })
    }

    fn json<T: serde::de::DeserializeOwned>(&self) -> ApiResult<T> {
        serde_json::from_slice(&self.body).map_err(|e| {
            let what = match e.classify() {
                serde_json::error::Category::Data => "a field is missing or has the wrong type",
                _ => "the body is not valid JSON",
            };
            ApiError::invalid_request(format!("{what} (line {}, column {})", e.line(), e.column()))
        })
    }

    /// Checks the timestamp window and the signature with `public_key`; returns the timestamp
    /// and the nonce.
    fn verify(
        &self,
        app: &AppState,
        device_id: &str,
        public_key: &[u8],
    ) -> ApiResult<(u64, String)> {
        let timestamp: u64 = self
            .header(protocol::HEADER_TIMESTAMP)?
            .parse()
            .map_err(|_| {
                ApiError::invalid_request("the Authcore-Timestamp header must be unix seconds")
            })?;
        let nonce = self.header(protocol::HEADER_NONCE)?;
        if !protocol::valid_nonce(nonce) {
            return Err(ApiError::invalid_request(
                "the Authcore-Nonce header must be 16 to 64 characters of A-Z a-z 0-9 - _",
            ));
        }
        let signature = data_encoding::BASE64URL_NOPAD
            .decode(self.header(protocol::HEADER_SIGNATURE)?.as_bytes())
            .map_err(|_| {
                ApiError::invalid_request("the Authcore-Signature header must be base64url")
            })?;
        let now = app.clock.now();
        if timestamp.abs_diff(now) > protocol::MAX_CLOCK_SKEW_S {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::StaleRequest,
                "the request time is more than 5 minutes from the server's; check the phone's clock",
            )
            .server_time(now));
        }
        let message = protocol::request_message(&RequestParts {
            method: &self.method,
            path_and_query: &self.target,
            body: &self.body,
            timestamp,
            nonce,
            device_id,
        })
        .map_err(|e| ApiError::invalid_request(e.to_string()))?;
        protocol::verify_p256(public_key, &message, &signature).map_err(|_| invalid_signature())?;
        Ok((timestamp, nonce.to_owned()))
    }

    /// The registered device that signed this request (timestamp, signature and a fresh nonce).
    async fn authenticate(&self, app: &AppState) -> ApiResult<(Device, u64)> {
        let device_id = self.header(protocol::HEADER_DEVICE_ID)?;
        if !protocol::valid_id(device_id) {
            return Err(unknown_device());
        }
        let device = app
            .store
            .device(device_id)
            .await?
            .ok_or_else(unknown_device)?;
        let (timestamp, nonce) = self.verify(app, &device.id, &device.public_key)?;
        let now = app.clock.now();
        let keep_until = timestamp.max(now) + protocol::MAX_CLOCK_SKEW_S + 1;
        if !app
            .store
            .use_device_nonce(&device.id, &nonce, keep_until, now)
            .await?
        {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::ReplayedRequest,
                "this request was already received (its nonce was used before)",
            ));
        }
        Ok((device, timestamp))
    }
}

#[derive(Deserialize)]
struct ActivateRequest {
    activation_code: crate::secrets::SecretString,
    public_key: String,
    display_name: String,
    platform: String,
    #[serde(default)]
    push_token: Option<String>,
    #[serde(default)]
    user_verification: bool,
    /// The platform's proof of the key ([`crate::attestation::Attestation`]), read separately
    /// so that a malformed one answers `invalid_attestation`.
    #[serde(default)]
    attestation: Option<Value>,
}

/// Whether `device` may answer passwordless (phone sign-in) pushes: registered with user
/// verification and, under `push.require_attestation`, with an attestation that verified.
pub(crate) fn passwordless(app: &AppState, user_verification: bool, attested: bool) -> bool {
    user_verification && (attested || !app.config.push.require_attestation)
}

/// Checks the activation's attestation, if any: `Ok(true)` when one verified; `Ok(false)`
/// without one, or when no trust is configured for its format.
fn check_attestation(
    app: &AppState,
    attestation: Option<Value>,
    code: &ActivationCode,
    public_key: &[u8],
) -> ApiResult<bool> {
    let Some(value) = attestation.filter(|v| !v.is_null()) else {
        return Ok(false);
    };
    let attestation: crate::attestation::Attestation =
        serde_json::from_value(value).map_err(|_| {
            ApiError::invalid_attestation(
                "attestation must be {\"format\":\"android-key\",\"certificates\":[...]} or \
                 {\"format\":\"apple-appattest\",\"object\":\"...\",\"key_id\":\"...\"}",
            )
        })?;
    if !app.attestation.can_verify(&attestation) {
        tracing::info!("attestation not evaluated: no trust configured for its format");
        return Ok(false);
    }
    let challenge = protocol::attestation_challenge(code);
    app.attestation
        .verify(&attestation, &challenge, public_key)
        .map_err(|e| ApiError::invalid_attestation(&e.0))?;
    Ok(true)
}

fn new_device_id() -> String {
    format!(
        "dv_{}",
        data_encoding::BASE64URL_NOPAD.encode(&random_bytes(16))
    )
}

/// `POST /v1/devices/activate`: signed by the new key itself (no device id yet).
pub async fn activate(
    State(app): State<AppState>,
    caller: Caller,
    call: DeviceCall,
) -> ApiResult<impl IntoResponse> {
    let request: ActivateRequest = call.json()?;
    let code = ActivationCode::parse(request.activation_code.expose()).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidActivationCode,
            e.to_string(),
        )
    })?;
    let public_key = data_encoding::BASE64URL_NOPAD
        .decode(request.public_key.trim_end_matches('=').as_bytes())
        .ok()
        .filter(|k| authcore::device_keys::p256_point(k).is_some())
        .ok_or_else(|| {
            ApiError::invalid_request(
                "public_key must be a P-256 SubjectPublicKeyInfo (DER) in base64url",
            )
        })?;
    let display_name = request.display_name.trim().to_owned();
    if display_name.is_empty()
        || display_name.chars().count() > 64
        || display_name.chars().any(char::is_control)
    {
        return Err(ApiError::invalid_request(
            "display_name must be 1 to 64 printable characters",
        ));
    }
    let platform = request.platform.trim().to_ascii_lowercase();
    if platform.is_empty()
        || platform.len() > 32
        || !platform
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(ApiError::invalid_request(
            "platform must be 1 to 32 characters of a-z 0-9 - _ (android, ios, ...)",
        ));
    }
    let push_token = request.push_token.filter(|t| !t.is_empty());
    if push_token.as_ref().is_some_and(|t| t.len() > 4096) {
        return Err(ApiError::invalid_request(
            "push_token must be at most 4096 characters",
        ));
    }
    // Proof of possession: the request is signed by the key being registered.
    call.verify(&app, "", &public_key)?;
    // Checked before the code is used: a failed attestation leaves the enrollment waiting.
    let attested = check_attestation(&app, request.attestation, &code, &public_key)?;
    let user_verification = request.user_verification;
    let now = app.clock.now();
    let device_id = new_device_id();
    let push_config = &app.config.push;
    let activated = app
        .store
        .activate_device(
            Activation {
                code_hash: activation_hash(&app, &code),
                now,
                device: NewDevice {
                    id: device_id.clone(),
                    public_key,
                    display_name,
                    platform,
                    push_token,
                    user_verification,
                    attested,
                },
                test: NewPushRequest {
                    user_id: None,
                    auth_session_id: None,
                    kind: "test".into(),
                    device_id: None,
                    require_uv: false,
                    app_name: "Test approval".into(),
                    // The phone being enrolled: the history shows where it joined from.
                    ip: caller.ip.clone(),
                    user_agent: push::describe_user_agent(&caller.user_agent),
                    location: None,
                    created_at: now,
                    expires_at: now + push_config.ttl_s,
                },
            },
            push::number_picker(push_config.number_length, push_config.number_mode),
        )
        .await?;
    let activated =
        match activated {
            Ok(a) => a,
            Err(ActivationError::Expired) => {
                return Err(ApiError::expired(
                    "the activation code expired; start the enrollment again for a new one",
                ))
            }
            Err(ActivationError::Unknown | ActivationError::Used) => return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidActivationCode,
                "the activation code is not valid or was already used; start the enrollment again",
            )),
        };
    app.hub.enrollment(activated.enrollment_id).notify_waiters();
    push::deliver(
        &app,
        activated.user_id,
        activated.test_request_id,
        Some(activated.device_id.clone()),
    );
    let user = app.store.user(activated.user_id).await?;
    Ok((
        StatusCode::CREATED,
        Json(Activated {
            device_id: activated.device_id,
            enrollment_id: activated.enrollment_id.to_string(),
            test_request_id: activated.test_request_id.to_string(),
            status: EnrollmentStatus::ApproveTest,
            attested,
            // Whether phone sign-in will reach this device: the app can tell the user.
            passwordless: passwordless(&app, user_verification, attested),
            account: ActivatedAccount {
                name: user.as_ref().map(|u| u.email.clone()),
                label: user.as_ref().map(|u| account_label(&app, u)),
                server_url: app.issuer.clone(),
            },
        }),
    ))
}

/// `GET /v1/devices/challenges?wait=N` (signed): the pending requests this device may answer,
/// waiting up to `wait` seconds for one to arrive.
pub async fn challenges(
    State(app): State<AppState>,
    call: DeviceCall,
) -> ApiResult<Json<Challenges>> {
    let wait = call.target.split_once('?').map(|(_, q)| q).and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "wait")
            .map(|(_, v)| v.into_owned())
    });
    let wait = wait_param(&app, wait.as_deref())?;
    let (device, _) = call.authenticate(&app).await?;
    let pending = wait_until(
        app.hub.user(device.user_id),
        wait,
        || async {
            Ok(app
                .store
                .pending_push_requests(
                    &device,
                    passwordless(&app, device.user_verification, device.attested),
                    app.clock.now(),
                )
                .await?)
        },
        |pending| !pending.is_empty(),
    )
    .await;
    let pending = pending?;
    Ok(Json(Challenges {
        challenges: pending.iter().map(push::challenge).collect(),
        server_time: app.clock.now(),
    }))
}

#[derive(Deserialize)]
struct DecisionRequest {
    decision: String,
    #[serde(default)]
    number: Option<String>,
    signature: String,
}

/// `POST /v1/devices/challenges/{id}` (signed): approve with the number, deny, or report fraud.
pub async fn decide(
    State(app): State<AppState>,
    Path(id): Path<String>,
    call: DeviceCall,
) -> ApiResult<Json<DecisionAnswer>> {
    let (device, timestamp) = call.authenticate(&app).await?;
    let body: DecisionRequest = call.json()?;
    let decision = Decision::parse(&body.decision).ok_or_else(|| {
        ApiError::invalid_request("decision must be approve, deny or report_fraud")
    })?;
    let number = match decision {
        Decision::Approve => body
            .number
            .map(|n| n.trim().to_owned())
            .filter(|n| (2..=8).contains(&n.len()) && n.chars().all(|c| c.is_ascii_digit()))
            .ok_or_else(|| {
                ApiError::invalid_request("approving needs the number shown on the sign-in screen")
            })?,
        Decision::Deny | Decision::ReportFraud => String::new(),
    };
    let request_id: i64 = id.parse().map_err(|_| unknown_request())?;
    let request = app
        .store
        .push_request(request_id)
        .await?
        .filter(|r| r.user_id == Some(device.user_id))
        .filter(|r| match &r.device_id {
            Some(only) => *only == device.id,
            None => {
                device.is_active()
                    && (!r.require_uv
                        || passwordless(&app, device.user_verification, device.attested))
            }
        })
        .ok_or_else(unknown_request)?;
    let signature = data_encoding::BASE64URL_NOPAD
        .decode(body.signature.trim_end_matches('=').as_bytes())
        .map_err(|_| ApiError::invalid_request("signature must be base64url"))?;
    let message = protocol::decision_message(&id, decision, &number, timestamp, &device.id)
        .map_err(|e| ApiError::invalid_request(e.to_string()))?;
    protocol::verify_p256(&device.public_key, &message, &signature)
        .map_err(|_| invalid_signature())?;
    let now = app.clock.now();
    if request.result.is_some() {
        return Err(already_answered());
    }
    if request.expires_at <= now {
        return Err(push::push_expired());
    }
    let result = match decision {
        Decision::Approve if constant_time_eq(number.as_bytes(), request.number.as_bytes()) => {
            "approved"
        }
        Decision::Approve => "number_mismatch",
        Decision::Deny => "denied",
        Decision::ReportFraud => "fraud",
    };
    let history = match result {
        "number_mismatch" => Some("number_mismatch"),
        "denied" => Some("push_denied"),
        "fraud" => Some("fraud_reported"),
        // A new authenticator joined the account: worth a line in the history.
        "approved" if request.kind == "test" => Some("success"),
        _ => None,
    };
    let event = history.map(|result| SignInEvent {
        user_id: device.user_id,
        at: now,
        kind: if request.kind == "test" {
            "enrollment".into()
        } else {
            "sign_in".into()
        },
        method: "push".into(),
        factors: vec!["push".into()],
        ip: request.ip.clone(),
        user_agent: request.user_agent.clone(),
        result: result.into(),
    });
    // An approved test approval adds the device to the account: a security event, written with
    // the answer.
    let security = if result == "approved" && request.kind == "test" {
        app.store.user(device.user_id).await?.map(|user| {
            security::note(
                &app,
                &user,
                Origin {
                    ip: &request.ip,
                    user_agent: request.user_agent.clone(),
                    factors: &[],
                },
                Change {
                    kind: "authenticator_added",
                    detail: device.display_name.clone(),
                    subject: "A new authenticator was added".into(),
                    what: format!(
                        "A new authenticator '{}' was added to your account",
                        device.display_name
                    ),
                },
            )
        })
    } else {
        None
    };
    let noted = security.is_some();
    let answered = app
        .store
        .answer_push_request(PushAnswer {
            request_id,
            device_id: device.id.clone(),
            result: result.into(),
            now,
            signature,
            block_until: (result == "fraud").then(|| now + app.config.push.fraud_block_s),
            event,
            security,
        })
        .await?;
    match answered {
        Ok(()) => {}
        Err(AnswerError::AlreadyAnswered) => return Err(already_answered()),
        Err(AnswerError::Expired) => return Err(push::push_expired()),
    }
    app.hub.request(request_id).notify_waiters();
    if noted {
        security::told(&app, "authenticator_added");
    }
    match result {
        "number_mismatch" => Err(push::number_mismatch()),
        "approved" => Ok(Json(DecisionAnswer {
            request_id: id,
            result: DecisionResult::Approved,
            pushes_blocked_until: None,
        })),
        "denied" => Ok(Json(DecisionAnswer {
            request_id: id,
            result: DecisionResult::Denied,
            pushes_blocked_until: None,
        })),
        _ => Ok(Json(DecisionAnswer {
            request_id: id,
            result: DecisionResult::FraudReported,
            pushes_blocked_until: Some(now + app.config.push.fraud_block_s),
        })),
    }
}

fn already_answered() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        ErrorCode::AlreadyAnswered,
        "this push request was already answered",
    )
}

fn device_view(device: &Device) -> DeviceView {
    DeviceView {
        device_id: device.id.clone(),
        display_name: device.display_name.clone(),
        platform: device.platform.clone(),
        user_verification: device.user_verification,
        attested: device.attested,
        push_enabled: device.has_push_token,
        state: device.state.clone(),
        created_at: device.created_at,
        activated_at: device.activated_at,
        last_seen_at: device.last_seen_at,
    }
}

fn no_such_device() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, "no such device")
}

/// `GET /v1/me/devices` (Bearer)
pub async fn list_devices(State(app): State<AppState>, bearer: Bearer) -> ApiResult<Json<Devices>> {
    let user = bearer_user(&app, &bearer).await?;
    let devices = app.store.devices(user.id).await?;
    Ok(Json(Devices {
        devices: devices.iter().map(device_view).collect(),
    }))
}

async fn own_device(app: &AppState, user: &User, id: &str) -> ApiResult<Device> {
    app.store
        .device(id)
        .await?
        .filter(|d| d.user_id == user.id)
        .ok_or_else(no_such_device)
}

/// `GET /v1/me/devices/{id}` (Bearer)
pub async fn get_device(
    State(app): State<AppState>,
    bearer: Bearer,
    Path(id): Path<String>,
) -> ApiResult<Json<DeviceView>> {
    let user = bearer_user(&app, &bearer).await?;
    Ok(Json(device_view(&own_device(&app, &user, &id).await?)))
}

#[derive(Deserialize)]
pub struct DevicePatch {
    #[serde(default)]
    display_name: Option<String>,
    /// `null` clears the token; absent leaves it.
    #[serde(default, deserialize_with = "present")]
    push_token: Option<Option<String>>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// `PATCH /v1/me/devices/{id}` (Bearer) `{"display_name"?, "push_token"?}`
pub async fn patch_device(
    State(app): State<AppState>,
    bearer: Bearer,
    Path(id): Path<String>,
    crate::extract::JsonBody(patch): crate::extract::JsonBody<DevicePatch>,
) -> ApiResult<Json<DeviceView>> {
    let user = bearer_user(&app, &bearer).await?;
    let display_name = match patch.display_name {
        Some(name) => {
            let name = name.trim().to_owned();
            if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
                return Err(ApiError::invalid_request(
                    "display_name must be 1 to 64 printable characters",
                ));
            }
            Some(name)
        }
        None => None,
    };
    let push_token = patch.push_token.map(|t| t.filter(|t| !t.is_empty()));
    if push_token
        .as_ref()
        .is_some_and(|t| t.as_ref().is_some_and(|t| t.len() > 4096))
    {
        return Err(ApiError::invalid_request(
            "push_token must be at most 4096 characters",
        ));
    }
    if !app
        .store
        .update_device(user.id, &id, display_name, push_token)
        .await?
    {
        return Err(no_such_device());
    }
    Ok(Json(device_view(&own_device(&app, &user, &id).await?)))
}

/// `POST /v1/me/devices/{id}/confirm` (stepped up): keeps a device a password reset suspended;
/// it answers and receives pushes again. Answers the device.
pub async fn confirm_device(
    State(app): State<AppState>,
    bearer: Bearer,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<DeviceView>> {
    let SteppedUp { user, auth, .. } = stepped_up(&app, &bearer).await?;
    let device = own_device(&app, &user, &id).await?;
    let noted = security::note(
        &app,
        &user,
        Origin::of(&caller, &auth.factors),
        Change {
            kind: "factor_confirmed",
            detail: device.display_name.clone(),
            subject: "You confirmed an authenticator".into(),
            what: format!(
                "The authenticator '{}' suspended by the password reset was confirmed and works again",
                device.display_name
            ),
        },
    );
    if !app
        .store
        .confirm_device(user.id, &id, app.clock.now(), noted)
        .await?
    {
        return Err(ApiError::invalid_request("this device is not suspended"));
    }
    security::told(&app, "factor_confirmed");
    Ok(Json(device_view(&own_device(&app, &user, &id).await?)))
}

/// `DELETE /v1/me/devices/{id}` (Bearer): the device can no longer answer anything.
pub async fn delete_device(
    State(app): State<AppState>,
    bearer: Bearer,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Removed>> {
    let SteppedUp { user, auth, .. } = stepped_up(&app, &bearer).await?;
    let device = own_device(&app, &user, &id).await?;
    let noted = security::note(
        &app,
        &user,
        Origin::of(&caller, &auth.factors),
        Change {
            kind: "device_removed",
            detail: device.display_name.clone(),
            subject: "An authenticator was removed".into(),
            what: format!(
                "The authenticator '{}' was removed from your account",
                device.display_name
            ),
        },
    );
    if !app
        .store
        .remove_device_noted(user.id, &id, app.clock.now(), noted)
        .await?
    {
        return Err(no_such_device());
    }
    security::told(&app, "device_removed");
    Ok(Json(Removed { removed: true }))
}
