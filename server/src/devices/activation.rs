//! Activation (`POST /v1/devices/activate`): the phone registers its key with the activation
//! code, signed by that key (proof of possession), with an optional platform attestation; the
//! test approval it must answer next is created with it.

use authcore::device_protocol::{self as protocol, ActivationCode};
use authcore_protocol::devices::{ActivateRequest, Activated, ActivatedAccount, EnrollmentStatus};
use authcore_protocol::ErrorCode;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::Value;

use super::channel::DeviceCall;
use super::enroll::{account_label, activation_hash};
use super::passwordless;
use crate::error::{ApiError, ApiResult};
use crate::extract::Caller;
use crate::push;
use crate::secrets::random_bytes;
use crate::store::{Activation, ActivationError, NewDevice, NewPushRequest};
use crate::AppState;

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
    // The attestation is read separately, so that a malformed one answers `invalid_attestation`.
    let mut request: ActivateRequest<Value> = call.json()?;
    let activation_code =
        crate::secrets::SecretString::new(std::mem::take(&mut request.activation_code));
    let code = ActivationCode::parse(activation_code.expose()).map_err(|e| {
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
    let push_token = super::push_token_of(request.push_token)?;
    // Proof of possession: the request is signed by the key being registered.
    call.verify(&app, "", &public_key)?;
    // An app older than number matching could never show its test approval: it must update.
    let protocol_version = call.protocol_version();
    if protocol_version < protocol::NUMBER_MATCHING_VERSION {
        return Err(super::upgrade_required());
    }
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
                    protocol_version,
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
        push::Wake {
            request_id: activated.test_request_id,
            expires_at: now + push_config.ttl_s,
        },
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
