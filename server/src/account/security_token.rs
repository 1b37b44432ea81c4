//! The API security token ("Reset My Security Token", the sync-user case): a stepped-up user
//! resets it, the new 24-character token is emailed (through the outbox, never in an answer)
//! and the previous one stops working. `grant_type=password` checks it (`password_grant`).

use authcore_protocol::credentials::{
    SecurityTokenSent, SECURITY_TOKEN_HEADER, SECURITY_TOKEN_LENGTH,
};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::error::ApiResult;
use crate::extract::{Bearer, Caller};
use crate::secrets::{random_bytes, SecretString};
use crate::security::{self, Change, Origin};
use crate::signin::mask_email;
use crate::step_up::{stepped_up, SteppedUp};
use crate::AppState;

const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// 24 random characters of `A-Z a-z 0-9` (142 bits).
fn random_security_token() -> SecretString {
    let mut out = String::with_capacity(SECURITY_TOKEN_LENGTH);
    while out.len() < SECURITY_TOKEN_LENGTH {
        for byte in random_bytes(32).iter() {
            // 248 = 4 * 62: no character is likelier than another.
            if *byte < 248 && out.len() < SECURITY_TOKEN_LENGTH {
                out.push(char::from(ALPHABET[usize::from(byte % 62)]));
            }
        }
    }
    SecretString::new(out)
}

pub(super) fn security_token_hash(app: &AppState, user_id: i64, token: &str) -> Vec<u8> {
    app.hasher.hash(&format!("security_token:{user_id}"), token)
}

/// `POST /v1/me/security-token` (stepped up, no body) → `202 {"destination_hint"}`: a new token
/// is mailed to the account's address; the previous one no longer works.
pub async fn reset_security_token(
    State(app): State<AppState>,
    bearer: Bearer,
    caller: Caller,
) -> ApiResult<Response> {
    let SteppedUp { user, auth, .. } = stepped_up(&app, &bearer).await?;
    let token = random_security_token();
    let now = app.clock.now();
    let extra = format!(
        "Your new security token is {}. An API client signs in with your password followed by this token, or sends the token in the {SECURITY_TOKEN_HEADER} header beside your password. The previous token no longer works.\n\n",
        token.expose()
    );
    let noted = security::note_with(
        &app,
        &user,
        Origin::of(&caller, &auth.factors),
        Change {
            kind: "security_token_reset",
            detail: "new API security token (emailed)".into(),
            subject: "Your new security token".into(),
            what: "The API security token of your account was reset".into(),
        },
        Some(&extra),
    );
    app.store
        .reset_security_token(
            user.id,
            &security_token_hash(&app, user.id, token.expose()),
            now,
            noted,
        )
        .await?;
    security::told(&app, "security_token_reset");
    let mut response = crate::tokens::no_store(SecurityTokenSent {
        destination_hint: mask_email(&user.email),
    });
    *response.status_mut() = StatusCode::ACCEPTED;
    Ok(response.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_tokens_are_24_letters_and_digits() {
        for _ in 0..50 {
            let token = random_security_token();
            assert_eq!(token.expose().len(), 24);
            assert!(token.expose().chars().all(|c| c.is_ascii_alphanumeric()));
        }
    }
}
