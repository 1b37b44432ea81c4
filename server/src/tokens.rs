//! The token endpoint (authorization code + PKCE, refresh rotation with reuse detection),
//! revocation and logout of one or every session.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::extract::{Bearer, Params};
use crate::secrets::{pkce_s256, random_token, token_hash, SecretString};
use crate::store::{NewTokens, RedeemError, RedeemRequest, RefreshError, Session};
use crate::AppState;

struct Minted {
    access: SecretString,
    refresh: SecretString,
    device: SecretString,
    hashes: NewTokens,
}

fn mint(app: &AppState, now: u64) -> Minted {
    let ttl = &app.config.tokens;
    let access = random_token("at_");
    let refresh = random_token("rt_");
    let device = random_token("dt_");
    let hashes = NewTokens {
        access_hash: token_hash(access.expose()),
        access_expires_at: now + ttl.access_token_ttl_s,
        refresh_hash: token_hash(refresh.expose()),
        refresh_expires_at: now + ttl.refresh_token_ttl_s,
        device_token: Some((token_hash(device.expose()), now + ttl.device_token_ttl_s)),
    };
    Minted {
        access,
        refresh,
        device,
        hashes,
    }
}

fn no_store(body: Value) -> Response {
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn require_client<'a>(app: &AppState, params: &'a Params) -> ApiResult<&'a str> {
    let client_id = params
        .get("client_id")
        .ok_or_else(ApiError::invalid_client)?;
    if app.config.client(client_id).is_none() {
        return Err(ApiError::invalid_client());
    }
    Ok(client_id)
}

/// `POST /v1/token`
pub async fn token(State(app): State<AppState>, params: Params) -> ApiResult<Response> {
    let now = app.clock.now();
    let grant_type = params.require("grant_type")?;
    let client_id = require_client(&app, &params)?;
    match grant_type {
        "authorization_code" => {
            let code = params.require("code")?;
            let verifier = params.require("code_verifier")?;
            if !(43..=128).contains(&verifier.len())
                || !verifier
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~'))
            {
                return Err(ApiError::invalid_request(
                    "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~",
                ));
            }
            let minted = mint(&app, now);
            let redeemed = app
                .store
                .redeem_authorization_code(RedeemRequest {
                    code_hash: token_hash(code),
                    client_id: client_id.to_owned(),
                    challenge_of_verifier: pkce_s256(verifier),
                    now,
                    tokens: minted.hashes.clone(),
                })
                .await?;
            match redeemed {
                Ok((session, issued_device)) => {
                    Ok(token_response(&app, &session, &minted, issued_device))
                }
                Err(error) => Err(ApiError::invalid_grant(match error {
                    RedeemError::Unknown => "the authorization code is not known",
                    RedeemError::Expired => "the authorization code expired",
                    RedeemError::Reused => {
                        "the authorization code was already used; the session it created is revoked"
                    }
                    RedeemError::ClientMismatch => {
                        "the authorization code was issued to another client"
                    }
                    RedeemError::VerifierMismatch => {
                        "code_verifier does not match the code_challenge"
                    }
                })),
            }
        }
        "refresh_token" => {
            let refresh = params.require("refresh_token")?;
            let minted = mint(&app, now);
            let rotated = app
                .store
                .rotate_refresh_token(&token_hash(refresh), client_id, now, minted.hashes.clone())
                .await?;
            match rotated {
                Ok(session) => Ok(token_response(&app, &session, &minted, false)),
                Err(error) => Err(ApiError::invalid_grant(match error {
                    RefreshError::Unknown => "the refresh token is not known",
                    RefreshError::Expired => "the refresh token expired; sign in again",
                    RefreshError::Revoked => "the session was signed out; sign in again",
                    RefreshError::ClientMismatch => {
                        "the refresh token was issued to another client"
                    }
                    RefreshError::Reused => {
                        "the refresh token was already used; every token of this sign-in is now revoked"
                    }
                })),
            }
        }
        _ => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be authorization_code or refresh_token",
        )),
    }
}

fn token_response(app: &AppState, session: &Session, minted: &Minted, device: bool) -> Response {
    let mut body = json!({
        "access_token": minted.access.expose(),
        "token_type": "Bearer",
        "expires_in": app.config.tokens.access_token_ttl_s,
        "refresh_token": minted.refresh.expose(),
        "refresh_token_expires_in": app.config.tokens.refresh_token_ttl_s,
        "session_id": session.id.to_string(),
    });
    if device {
        body["device_token"] = Value::from(minted.device.expose());
    }
    no_store(body)
}

/// `POST /v1/revoke` (RFC 7009): always 200, known token or not.
pub async fn revoke(State(app): State<AppState>, params: Params) -> ApiResult<Response> {
    require_client(&app, &params)?;
    let token = params.require("token")?;
    app.store
        .revoke_token(&token_hash(token), app.clock.now())
        .await?;
    Ok(no_store(json!({})))
}

pub(crate) async fn session_of(app: &AppState, bearer: &Bearer) -> ApiResult<Session> {
    app.store
        .session_for_access_token(&token_hash(bearer.0.expose()), app.clock.now())
        .await?
        .ok_or_else(ApiError::invalid_token)
}

/// `POST /v1/logout`: ends the session of the presented access token.
pub async fn logout(State(app): State<AppState>, bearer: Bearer) -> ApiResult<Response> {
    let session = session_of(&app, &bearer).await?;
    app.store
        .revoke_session(session.id, app.clock.now())
        .await?;
    Ok(no_store(json!({"revoked_sessions": 1})))
}

/// `POST /v1/logout-all`: ends every session of the user, on every device.
pub async fn logout_all(State(app): State<AppState>, bearer: Bearer) -> ApiResult<Response> {
    let session = session_of(&app, &bearer).await?;
    let now = app.clock.now();
    let revoked = app.store.revoke_all_sessions(session.user_id, now).await?;
    // Devices added in the review window: the app offers "remove these".
    let since = crate::account::review_since(now, app.config.security.reset_review_days);
    let recent: Vec<Value> = app
        .store
        .devices_added_since(session.user_id, since)
        .await?
        .into_iter()
        .map(|d| {
            json!({
                "device_id": d.id,
                "display_name": d.display_name,
                "created_at": d.created_at,
            })
        })
        .collect();
    Ok(no_store(
        json!({"revoked_sessions": revoked, "recent_devices": recent}),
    ))
}
