//! The device's side of push approvals (signed): the pending requests it may answer
//! (`GET /v1/devices/challenges`, long-polled) and its decision on one (approve with the number,
//! deny, report fraud).

use authcore::device_protocol::{self as protocol, Decision};
use authcore_protocol::devices::{
    Challenges, DecisionAnswer, DecisionRequest, DecisionResult, PushTokenUpdate, PushTokenUpdated,
};
use authcore_protocol::ErrorCode;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;

use super::channel::{invalid_signature, DeviceCall};
use super::passwordless;
use crate::error::{ApiError, ApiResult};
use crate::push::{self, wait_param, wait_until};
use crate::secrets::constant_time_eq;
use crate::security::{self, Change, Origin};
use crate::store::{AnswerError, PushAnswer, SignInEvent};
use crate::AppState;

fn unknown_request() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::UnknownRequest,
        "no such push request for this device",
    )
}

/// `GET /v1/devices/challenges?wait=N` (signed): the pending requests this device may answer,
/// waiting up to `wait` seconds for one to arrive.
pub async fn challenges(
    State(app): State<AppState>,
    call: DeviceCall,
) -> ApiResult<Json<Challenges>> {
    let wait = call.target.split_once('?').map(|(_, q)| q).and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == authcore_protocol::paths::query::WAIT)
            .map(|(_, v)| v.into_owned())
    });
    let wait = wait_param(&app, wait.as_deref())?;
    let (device, _) = call.authenticate(&app).await?;
    // Every request is number matching: an app too old to show the number sees none of them
    // ("No numbers in your app? Update it"), and sign-ins stop choosing it.
    if call.protocol_version() < protocol::NUMBER_MATCHING_VERSION {
        return Err(super::upgrade_required());
    }
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
        server_time: Some(app.clock.now()),
    }))
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

/// `POST /v1/devices/push-token` (signed) `{"push_token": "…" | null}`: the OS push token that
/// wakes this device from now on (the app calls it when FCM or APNs hands it a new one).
pub async fn update_push_token(
    State(app): State<AppState>,
    call: DeviceCall,
) -> ApiResult<Json<PushTokenUpdated>> {
    let (device, _) = call.authenticate(&app).await?;
    let body: PushTokenUpdate = call.json()?;
    let push_token = super::push_token_of(body.push_token)?;
    let push_enabled = push_token.is_some();
    app.store
        .update_device(device.user_id, &device.id, None, Some(push_token))
        .await?;
    Ok(Json(PushTokenUpdated {
        device_id: device.id,
        push_enabled,
    }))
}
