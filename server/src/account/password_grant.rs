//! `POST /v1/token` `grant_type=password`, for clients configured to allow it: an app password
//! (`app_passwords = true`), or the account password with the API security token appended or in
//! the `Authcore-Security-Token` header (`security_tokens = true`); never the account password
//! alone. Every attempt is counted toward the account's lockout before it is checked (the
//! sign-in's [`reserve_attempt`]) and recorded in the sign-in history.

use authcore_protocol::credentials::{SECURITY_TOKEN_HEADER, SECURITY_TOKEN_LENGTH};
use authcore_protocol::tokens::param;
use authcore_protocol::ErrorCode;
use axum::http::HeaderMap;
use axum::response::Response;

use super::app_passwords::{app_password_hash, as_app_password};
use super::security_token::security_token_hash;
use crate::config::ClientConfig;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, Params};
use crate::signin::{reserve_attempt, Identifier};
use crate::store::{AppPasswordUse, NewSession, SecurityTokenMatch, SignInEvent, User};
use crate::AppState;

/// How a grant ended, before its attempt is settled.
enum Checked {
    /// The credential was right: a session with these method and factors.
    Right {
        method: &'static str,
        factors: Vec<String>,
    },
    /// Wrong: the history's result and the answer (unless the attempt locked the account).
    Wrong {
        method: &'static str,
        result: &'static str,
        refusal: ApiError,
    },
}

fn wrong_password(method: &'static str, what: &'static str) -> Checked {
    Checked::Wrong {
        method,
        result: "wrong_password",
        // `attempts_left` is filled in once the attempt is settled.
        refusal: ApiError::wrong_credential(what, 0),
    }
}

/// `grant_type=password` on the token endpoint for `client`.
pub(crate) async fn password_grant(
    app: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    params: &Params,
    client: &ClientConfig,
) -> ApiResult<Response> {
    if !client.app_passwords && !client.security_tokens {
        return Err(ApiError::unauthorized_client(
            "this client may not use grant_type=password; sign in with an authorization code",
        ));
    }
    let header_token = headers
        .get(SECURITY_TOKEN_HEADER)
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    if header_token.is_some() && !client.security_tokens {
        return Err(ApiError::unauthorized_client(
            "this client may not use security tokens",
        ));
    }
    let username = params.require(param::USERNAME)?;
    let password = params.require(param::PASSWORD)?;
    let Identifier::Email { address, .. } = Identifier::parse(username)? else {
        return Err(ApiError::invalid_request(
            "username must be the account's email address",
        ));
    };
    let now = app.clock.now();
    let user = app.store.user_by_email(&address).await?;
    let key = match &user {
        Some(user) => format!("user:{}", user.id),
        None => format!("identifier:{address}"),
    };
    let reservation = match reserve_attempt(app, &caller.ip, key, now).await? {
        Ok(reservation) => reservation,
        Err(until) => {
            record(app, caller, user.as_ref(), now, "password", &[], "locked").await?;
            return Err(ApiError::locked(until.saturating_sub(now)));
        }
    };
    let checked = check(app, client, user.as_ref(), password, header_token, now).await?;
    match checked {
        Checked::Right { method, factors } => {
            reservation.right(app).await?;
            let Some(user) = user else {
                return Err(ApiError::invalid_grant("the account is not known"));
            };
            let minted = crate::tokens::mint_without_device_token(app, now);
            let session = app
                .store
                .open_session(
                    NewSession {
                        user_id: user.id,
                        client_id: client.client_id.clone(),
                        method: method.into(),
                        factors: factors.clone(),
                        ip: caller.ip.clone(),
                        user_agent: caller.user_agent.clone(),
                        now,
                    },
                    minted.hashes.clone(),
                    event(caller, &user, now, method, &factors, "success"),
                )
                .await?;
            Ok(crate::tokens::token_response(
                &session, &minted, false, None,
            ))
        }
        Checked::Wrong {
            method,
            result,
            refusal,
        } => {
            let state = reservation.wrong(app).await?;
            record(app, caller, user.as_ref(), now, method, &[], result).await?;
            let max = app.config.lockout.max_failures;
            Err(match state.locked_until {
                Some(until) => ApiError::locked(until.saturating_sub(now)),
                None if refusal.code() == ErrorCode::WrongCredential => {
                    refusal.attempts_left(max.saturating_sub(state.failures))
                }
                None => refusal,
            })
        }
    }
}

/// Checks the credential of a grant (nothing is written but an app password's last use).
async fn check(
    app: &AppState,
    client: &ClientConfig,
    user: Option<&User>,
    password: &str,
    header_token: Option<String>,
    now: u64,
) -> ApiResult<Checked> {
    let user_id = user.map_or(0, |u| u.id);
    let stored = user.and_then(|u| u.password_hash.clone());
    let account_password = |candidate: String| {
        let stored = stored.clone();
        async move {
            candidate.len() <= app.config.password.max_length
                && app.passwords.verify(&candidate, stored.as_deref()).await
        }
    };
    // The token beside the password, in the header or appended.
    let token_grant = match header_token {
        Some(token) => Some((password.to_owned(), token)),
        None if client.security_tokens && password.len() > SECURITY_TOKEN_LENGTH => password
            .is_char_boundary(password.len() - SECURITY_TOKEN_LENGTH)
            .then(|| {
                let (secret, token) = password.split_at(password.len() - SECURITY_TOKEN_LENGTH);
                (secret.to_owned(), token.to_owned())
            }),
        None => None,
    };
    if client.app_passwords {
        if let Some(letters) = as_app_password(password) {
            let hash = app_password_hash(app, user_id, &letters);
            return Ok(match app.store.use_app_password(user_id, &hash, now).await? {
                AppPasswordUse::Used => Checked::Right {
                    method: "app_password",
                    factors: vec!["app_password".into()],
                },
                AppPasswordUse::Revoked => Checked::Wrong {
                    method: "app_password",
                    result: "revoked_app_password",
                    refusal: ApiError::invalid_grant(
                        "this app password was revoked; create a new one in your account's security settings",
                    ),
                },
                AppPasswordUse::Unknown => wrong_password("app_password", "app password"),
            });
        }
    }
    if let Some((secret, token)) = token_grant {
        let matched = app
            .store
            .match_security_token(user_id, &security_token_hash(app, user_id, &token))
            .await?;
        // The password is checked whatever the token (the same work either way).
        let password_right = account_password(secret).await;
        return Ok(match (matched, password_right) {
            (SecurityTokenMatch::Current, true) => Checked::Right {
                method: "security_token",
                factors: vec!["password".into(), "security_token".into()],
            },
            (SecurityTokenMatch::Previous, true) => Checked::Wrong {
                method: "security_token",
                result: "old_security_token",
                refusal: ApiError::invalid_grant(
                    "this security token was replaced by a reset; use the newest one from your email",
                ),
            },
            _ => wrong_password("security_token", "password or security token"),
        });
    }
    if client.app_passwords && account_password(password.to_owned()).await {
        return Ok(Checked::Wrong {
            method: "app_password",
            result: "account_password",
            refusal: ApiError::invalid_grant(
                "the account password cannot be used here; create an app password for this app in your account's security settings",
            ),
        });
    }
    if client.security_tokens && !client.app_passwords {
        return Ok(wrong_password(
            "security_token",
            "password or security token",
        ));
    }
    Ok(wrong_password("app_password", "app password"))
}

fn event(
    caller: &Caller,
    user: &User,
    now: u64,
    method: &str,
    factors: &[String],
    result: &str,
) -> SignInEvent {
    SignInEvent {
        user_id: user.id,
        at: now,
        kind: "sign_in".into(),
        method: method.into(),
        factors: factors.to_vec(),
        ip: caller.ip.clone(),
        user_agent: caller.user_agent.clone(),
        result: result.into(),
    }
}

/// A refused attempt in the history (of a known account).
async fn record(
    app: &AppState,
    caller: &Caller,
    user: Option<&User>,
    now: u64,
    method: &str,
    factors: &[String],
    result: &str,
) -> ApiResult<()> {
    if let Some(user) = user {
        app.store
            .record_sign_in_event(event(caller, user, now, method, factors, result))
            .await?;
    }
    Ok(())
}
