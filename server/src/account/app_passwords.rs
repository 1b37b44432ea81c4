//! App passwords (`/v1/me/app-passwords`) for clients that cannot do a second factor (IMAP and
//! the like): a user with a second factor creates one per app from a stepped-up session, sees it
//! once, lists and revokes them. Only an HMAC is stored; `grant_type=password` checks them
//! (`password_grant`).

use authcore_protocol::credentials::{
    AppPassword, AppPasswordCreated, AppPasswords, NewAppPassword,
};
use authcore_protocol::ErrorCode;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::user_of;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Bearer, Caller, JsonBody};
use crate::secrets::{random_bytes, SecretString};
use crate::security::{self, Change, Origin};
use crate::step_up::{stepped_up, SteppedUp};
use crate::store::User;
use crate::AppState;

/// Letters of an app password (four groups of four).
const LETTERS: usize = 16;
/// Characters of an app's name.
const MAX_NAME: usize = 64;

/// 16 random lower-case letters in groups of four: `abcd efgh ijkl mnop` (75 bits).
fn random_app_password() -> SecretString {
    let mut out = String::with_capacity(LETTERS + 3);
    let mut letters = 0;
    while letters < LETTERS {
        for byte in random_bytes(32).iter() {
            // 234 = 9 * 26: no letter is likelier than another.
            if *byte >= 234 || letters == LETTERS {
                continue;
            }
            if letters > 0 && letters % 4 == 0 {
                out.push(' ');
            }
            out.push(char::from(b'a' + byte % 26));
            letters += 1;
        }
    }
    SecretString::new(out)
}

/// What a client sent, as an app password: its 16 letters without spaces or dashes,
/// lower-cased; `None` when it cannot be one.
pub(super) fn as_app_password(presented: &str) -> Option<String> {
    let letters: String = presented
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (letters.len() == LETTERS && letters.chars().all(|c| c.is_ascii_lowercase())).then_some(letters)
}

pub(super) fn app_password_hash(app: &AppState, user_id: i64, letters: &str) -> Vec<u8> {
    app.hasher.hash(&format!("app_password:{user_id}"), letters)
}

/// Whether the user has a second factor now (an active device, TOTP, backup codes or a
/// verified phone): app passwords stand in for it in clients that cannot ask for one.
async fn has_second_factor(app: &AppState, user: &User) -> ApiResult<bool> {
    let factors = app.store.second_factors(user.id).await?;
    Ok(factors.totp
        || factors.backup_codes_left > 0
        || factors.verified_phone
        || app.store.has_active_device(user.id, false).await?)
}

/// `POST /v1/me/app-passwords` (stepped up) `{"name"}` → `201`, the password shown this once.
pub async fn create_app_password(
    State(app): State<AppState>,
    bearer: Bearer,
    caller: Caller,
    JsonBody(request): JsonBody<NewAppPassword>,
) -> ApiResult<Response> {
    let SteppedUp { user, auth, .. } = stepped_up(&app, &bearer).await?;
    let name = request.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(ApiError::invalid_request(format!(
            "name must be 1 to {MAX_NAME} characters: the app the password is for"
        )));
    }
    if !has_second_factor(&app, &user).await? {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::SecondFactorRequired,
            "app passwords are for accounts with a second factor; add an authenticator app, backup codes or a verified phone number first",
        ));
    }
    let password = random_app_password();
    let letters = as_app_password(password.expose()).unwrap_or_default();
    let now = app.clock.now();
    let noted = security::note(
        &app,
        &user,
        Origin::of(&caller, &auth.factors),
        Change {
            kind: "app_password_created",
            detail: name.clone(),
            subject: "An app password was created".into(),
            what: format!("An app password for '{name}' was created for your account"),
        },
    );
    let id = app
        .store
        .create_app_password(
            user.id,
            &name,
            &app_password_hash(&app, user.id, &letters),
            now,
            noted,
        )
        .await?;
    security::told(&app, "app_password_created");
    let mut response = crate::tokens::no_store(AppPasswordCreated {
        id: id.to_string(),
        name,
        password: password.expose().to_owned(),
        created_at: now,
    });
    *response.status_mut() = StatusCode::CREATED;
    Ok(response.into_response())
}

/// `GET /v1/me/app-passwords` (Bearer): name, created, last used; never a password.
pub async fn list_app_passwords(
    State(app): State<AppState>,
    bearer: Bearer,
) -> ApiResult<Json<AppPasswords>> {
    let user = user_of(&app, &bearer).await?;
    let records = app.store.app_passwords(user.id).await?;
    Ok(Json(AppPasswords {
        app_passwords: records
            .into_iter()
            .map(|r| AppPassword {
                id: r.id.to_string(),
                name: r.name,
                created_at: r.created_at,
                last_used_at: r.last_used_at,
            })
            .collect(),
    }))
}

/// `DELETE /v1/me/app-passwords/{id}` (stepped up): the password stops working at once.
pub async fn revoke_app_password(
    State(app): State<AppState>,
    bearer: Bearer,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<authcore_protocol::account::Removed>> {
    let SteppedUp { user, auth, .. } = stepped_up(&app, &bearer).await?;
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "no such app password",
        )
    };
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let name = app
        .store
        .app_passwords(user.id)
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .map(|r| r.name)
        .ok_or_else(not_found)?;
    let noted = security::note(
        &app,
        &user,
        Origin::of(&caller, &auth.factors),
        Change {
            kind: "app_password_revoked",
            detail: name.clone(),
            subject: "An app password was revoked".into(),
            what: format!("The app password for '{name}' was revoked"),
        },
    );
    if !app
        .store
        .revoke_app_password(user.id, id, app.clock.now(), noted)
        .await?
    {
        return Err(not_found());
    }
    security::told(&app, "app_password_revoked");
    Ok(Json(authcore_protocol::account::Removed { removed: true }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_passwords_are_sixteen_letters_in_groups_of_four() {
        for _ in 0..50 {
            let password = random_app_password();
            let groups: Vec<&str> = password.expose().split(' ').collect();
            assert_eq!(groups.len(), 4, "{}", password.expose());
            assert!(groups
                .iter()
                .all(|g| g.len() == 4 && g.chars().all(|c| c.is_ascii_lowercase())));
        }
        assert_eq!(
            as_app_password("ABCD-efgh ijkl mnop").as_deref(),
            Some("abcdefghijklmnop")
        );
        assert_eq!(as_app_password("abcd efgh ijkl mno1"), None);
        assert_eq!(as_app_password("abcd efgh ijkl"), None);
    }
}
