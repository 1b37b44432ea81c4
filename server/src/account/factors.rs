//! The user's second factors (`/v1/me/totp`, `/v1/me/backup-codes`): TOTP enrollment and
//! confirmation, keeping a TOTP credential a password reset suspended, removing it, and new
//! backup codes.

use authcore_protocol::account::{BackupCodes, CodeRequest, Confirmed, Removed, TotpEnrollment};
use authcore_protocol::ErrorCode;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Bearer, Caller, JsonBody};
use crate::secrets::{random_backup_code, random_bytes, SecretString};
use crate::security::{self, Change, Origin};
use crate::signin::{backup_code_hash, totp_of};
use crate::step_up::{stepped_up, SteppedUp};
use crate::AppState;

/// `POST /v1/me/totp`: a new pending credential, active after `/v1/me/totp/confirm`.
pub async fn start_totp(
    State(app): State<AppState>,
    bearer: Bearer,
) -> ApiResult<Json<TotpEnrollment>> {
    use authcore::otp::{uri, Algorithm, Digits, OtpAccount, OtpKind, Period, Secret};
    let SteppedUp { user, .. } = stepped_up(&app, &bearer).await?;
    let secret = random_bytes(Secret::GENERATED_BYTES);
    app.store
        .start_totp(user.id, &secret, app.clock.now())
        .await?;
    let account = OtpAccount {
        issuer: Some(app.config.totp.issuer.clone()),
        account: user.email.clone(),
        secret: Secret::from_bytes(secret.to_vec()),
        algorithm: Algorithm::Sha1,
        digits: Digits::SIX,
        kind: OtpKind::Totp {
            period: Period::DEFAULT,
        },
        image: None,
    };
    Ok(Json(TotpEnrollment {
        otpauth_uri: uri::format(&account),
        secret: account.secret.to_base32().as_str().to_owned(),
        digits: 6,
        period: 30,
        algorithm: "SHA1".to_owned(),
        confirmed: false,
    }))
}

/// `POST /v1/me/totp/confirm` `{"code"}`
pub async fn confirm_totp(
    State(app): State<AppState>,
    bearer: Bearer,
    caller: Caller,
    JsonBody(request): JsonBody<CodeRequest>,
) -> ApiResult<Json<Confirmed>> {
    let SteppedUp { user, auth, .. } = stepped_up(&app, &bearer).await?;
    let credential = app.store.totp(user.id).await?;
    let replaces = credential.as_ref().is_some_and(|t| t.confirmed);
    let pending = credential.and_then(|t| t.pending).ok_or_else(|| {
        ApiError::invalid_request("no TOTP enrollment is pending; POST /v1/me/totp first")
    })?;
    let code: String = request
        .code
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let now = app.clock.now();
    let Ok(step) = totp_of(&pending).verify(&code, now, app.config.totp.window_steps) else {
        return Err(wrong_totp());
    };
    let change = if replaces {
        Change {
            kind: "totp_replaced",
            detail: "authenticator app (TOTP) replaced".into(),
            subject: "Your authenticator app was replaced".into(),
            what: "The authenticator app (TOTP) of your account was replaced by a new one".into(),
        }
    } else {
        Change {
            kind: "totp_added",
            detail: "authenticator app (TOTP) added".into(),
            subject: "An authenticator app was added".into(),
            what: "An authenticator app (TOTP) was added to your account".into(),
        }
    };
    let kind = change.kind;
    let noted = security::note(&app, &user, Origin::of(&caller, &auth.factors), change);
    if !app.store.confirm_totp_at(user.id, step, now, noted).await? {
        return Err(wrong_totp());
    }
    security::told(&app, kind);
    Ok(Json(Confirmed { confirmed: true }))
}

fn wrong_totp() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        ErrorCode::WrongCredential,
        "the code is not correct; check the authenticator's clock and try the current code",
    )
}

/// `POST /v1/me/backup-codes`: ten new single-use codes, shown once; the old ones stop working.
pub async fn new_backup_codes(
    State(app): State<AppState>,
    bearer: Bearer,
    caller: Caller,
) -> ApiResult<Json<BackupCodes>> {
    let SteppedUp { user, auth, .. } = stepped_up(&app, &bearer).await?;
    let codes: Vec<SecretString> = (0..10).map(|_| random_backup_code()).collect();
    let hashes = codes
        .iter()
        .map(|c| backup_code_hash(&app, user.id, c.expose()))
        .collect();
    let noted = security::note(
        &app,
        &user,
        Origin::of(&caller, &auth.factors),
        Change {
            kind: "backup_codes_regenerated",
            detail: "10 new backup codes".into(),
            subject: "New backup codes were created".into(),
            what: "New backup codes were created for your account (the old ones no longer work)"
                .into(),
        },
    );
    app.store
        .regenerate_backup_codes(user.id, hashes, app.clock.now(), noted)
        .await?;
    security::told(&app, "backup_codes_regenerated");
    let shown: Vec<&str> = codes.iter().map(SecretString::expose).collect();
    Ok(Json(BackupCodes {
        codes: shown.into_iter().map(str::to_owned).collect(),
    }))
}

/// `POST /v1/me/totp/confirm-suspended` (stepped up): keeps the TOTP credential a password reset
/// suspended; it is accepted again at sign-in.
pub async fn confirm_suspended_totp(
    State(app): State<AppState>,
    bearer: Bearer,
    caller: Caller,
) -> ApiResult<Json<Confirmed>> {
    let SteppedUp { user, auth, .. } = stepped_up(&app, &bearer).await?;
    let noted = security::note(
        &app,
        &user,
        Origin::of(&caller, &auth.factors),
        Change {
            kind: "factor_confirmed",
            detail: "authenticator app (TOTP)".into(),
            subject: "You confirmed your authenticator app".into(),
            what: "The authenticator app (TOTP) suspended by the password reset was confirmed and works again"
                .into(),
        },
    );
    if !app
        .store
        .confirm_suspended_totp(user.id, app.clock.now(), noted)
        .await?
    {
        return Err(ApiError::invalid_request(
            "the authenticator app (TOTP) is not suspended",
        ));
    }
    security::told(&app, "factor_confirmed");
    Ok(Json(Confirmed { confirmed: true }))
}

/// `DELETE /v1/me/totp` (stepped up): removes the TOTP credential (active and pending).
pub async fn remove_totp(
    State(app): State<AppState>,
    bearer: Bearer,
    caller: Caller,
) -> ApiResult<Json<Removed>> {
    let SteppedUp { user, auth, .. } = stepped_up(&app, &bearer).await?;
    let noted = security::note(
        &app,
        &user,
        Origin::of(&caller, &auth.factors),
        Change {
            kind: "totp_removed",
            detail: "authenticator app (TOTP) removed".into(),
            subject: "Your authenticator app was removed".into(),
            what: "The authenticator app (TOTP) was removed from your account".into(),
        },
    );
    if !app.store.remove_totp(user.id, noted).await? {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "no TOTP credential is enrolled",
        ));
    }
    security::told(&app, "totp_removed");
    Ok(Json(Removed { removed: true }))
}
