//! The user's own devices (`/v1/me/devices`, Bearer): list, read, rename or change the push
//! token, confirm one a password reset suspended, remove.

use authcore_protocol::account::Removed;
use authcore_protocol::devices::{DevicePatch, DeviceView, Devices};
use authcore_protocol::ErrorCode;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;

use super::bearer_user;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Bearer, Caller};
use crate::security::{self, Change, Origin};
use crate::step_up::{stepped_up, SteppedUp};
use crate::store::{Device, User};
use crate::AppState;

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
    let push_token = patch.push_token.map(super::push_token_of).transpose()?;
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
