//! The signed-in user's own endpoints (sign-in history, TOTP and backup-code
//! enrollment), password recovery, and `--dev` seed users.
//!
//! This module holds the sign-in history and the seed users; `factors` enrolls and
//! removes TOTP and backup codes, `password` changes, forgets and resets the password,
//! `app_passwords` and `security_token` manage the credentials of clients that cannot run the
//! sign-in, and `password_grant` checks them at `POST /v1/token`.

use authcore_protocol::account::{SignInEntry, SignIns};
use axum::extract::State;
use axum::Json;

use crate::error::{ApiError, ApiResult};
use crate::extract::Bearer;
use crate::signin::backup_code_hash;
use crate::store::{NewUser, User};
use crate::tokens::session_of;
use crate::AppState;

mod app_passwords;
mod factors;
mod password;
mod password_grant;
mod security_token;
mod sessions;

pub use app_passwords::{create_app_password, list_app_passwords, revoke_app_password};
pub(crate) use password_grant::password_grant;
pub use security_token::reset_security_token;

pub use factors::{
    confirm_suspended_totp, confirm_totp, new_backup_codes, remove_totp, start_totp,
};
pub(crate) use password::review_since;
pub use password::{change_password, forgot_password, reset_password};
pub use sessions::{end_session, list_sessions};

async fn user_of(app: &AppState, bearer: &Bearer) -> ApiResult<User> {
    let session = session_of(app, bearer).await?;
    app.store
        .user(session.user_id)
        .await?
        .ok_or_else(ApiError::invalid_token)
}

/// `GET /v1/me/sign-ins`: newest first, at most 100.
pub async fn sign_ins(State(app): State<AppState>, bearer: Bearer) -> ApiResult<Json<SignIns>> {
    let user = user_of(&app, &bearer).await?;
    let events = app.store.sign_in_events(user.id, 100).await?;
    let changes = app.store.security_events(user.id, 100).await?;
    let mut entries: Vec<SignInEntry> = events
        .into_iter()
        .map(|e| SignInEntry {
            at: e.at,
            kind: e.kind,
            method: e.method,
            event: None,
            detail: None,
            factors: e.factors,
            ip: e.ip,
            user_agent: e.user_agent,
            result: e.result,
        })
        .collect();
    // Security events, in the same shape (`method` names the change, `event` and `detail` too).
    entries.extend(changes.into_iter().map(|e| SignInEntry {
        at: e.at,
        kind: "security_event".to_owned(),
        method: e.kind.clone(),
        event: Some(e.kind),
        detail: Some(e.detail),
        factors: e.factors,
        ip: e.ip,
        user_agent: e.user_agent,
        result: "success".to_owned(),
    }));
    // Both lists are newest first; a stable sort keeps their order within a second.
    entries.sort_by_key(|e| std::cmp::Reverse(e.at));
    entries.truncate(100);
    Ok(Json(SignIns { sign_ins: entries }))
}

/// Creates the config's `dev_users` (idempotent: existing emails are left alone).
pub(crate) async fn seed_dev_users(app: &AppState) -> Result<(), String> {
    let now = app.clock.now();
    for dev in &app.config.dev_users {
        if app
            .store
            .user_by_email(&dev.email)
            .await
            .map_err(|e| e.to_string())?
            .is_some()
        {
            continue;
        }
        let hash = app.passwords.hash(&dev.password).await?;
        let id = app
            .store
            .ensure_user(NewUser {
                email: dev.email.to_lowercase(),
                phone: dev.phone.clone(),
                name: dev.name.clone(),
                password_hash: Some(hash),
            })
            .await
            .map_err(|e| e.to_string())?;
        if let Some(role) = dev.org_role {
            let domain = dev.email.to_lowercase();
            let domain = domain.split_once('@').map_or("", |(_, d)| d);
            app.store
                .set_org_role(id, domain, role)
                .await
                .map_err(|e| e.to_string())?;
        }
        if dev.phone_verified {
            app.store
                .verify_phone(id, now)
                .await
                .map_err(|e| e.to_string())?;
        }
        if let Some(secret) = &dev.totp_secret {
            let secret = authcore::otp::Secret::from_base32(secret.expose())
                .map_err(|e| format!("dev user {}: totp_secret: {e}", dev.email))?;
            app.store
                .seed_totp(id, secret.expose(), now)
                .await
                .map_err(|e| e.to_string())?;
        }
        if !dev.backup_codes.is_empty() {
            let hashes = dev
                .backup_codes
                .iter()
                .map(|c| backup_code_hash(app, id, c.expose()))
                .collect();
            app.store
                .replace_backup_codes(id, hashes, now)
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}
