//! The token endpoint (authorization code + PKCE, refresh rotation with reuse detection, and
//! `grant_type=password` handed to `account::password_grant`), revocation and logout of one or
//! every session.

use authcore_protocol::credentials::{AppPasswordsOnLogout, LogoutAllQuery};
use authcore_protocol::oidc::authorize::REDIRECT_URI;
use authcore_protocol::tokens::{
    param, GrantType, LoggedOut, LoggedOutEverywhere, RecentDevice, Revoked, Tokens,
};
use authcore_protocol::ErrorCode;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Bearer, Caller, Params};
use crate::secrets::{pkce_s256, random_token, token_hash, SecretString};
use crate::store::{NewTokens, RedeemError, RedeemRequest, RefreshError, Session};
use crate::AppState;

pub(crate) struct Minted {
    now: u64,
    access: SecretString,
    refresh: SecretString,
    device: SecretString,
    pub hashes: NewTokens,
}

/// When a session that began at `started` ends for good (`session.max_lifetime_s`).
fn session_end(app: &AppState, started: u64) -> u64 {
    started.saturating_add(app.config.session.max_lifetime_s)
}

/// New tokens for a session that began at `started`: none of them outlives the session.
fn mint(app: &AppState, now: u64, started: u64) -> Minted {
    let ttl = &app.config.tokens;
    let end = session_end(app, started);
    let access = random_token("at_");
    let refresh = random_token("rt_");
    let device = random_token("dt_");
    let hashes = NewTokens {
        access_hash: token_hash(access.expose()),
        access_expires_at: (now + ttl.access_token_ttl_s).min(end),
        refresh_hash: token_hash(refresh.expose()),
        refresh_expires_at: (now + ttl.refresh_token_ttl_s).min(end),
        device_token: Some((token_hash(device.expose()), now + ttl.device_token_ttl_s)),
    };
    Minted {
        now,
        access,
        refresh,
        device,
        hashes,
    }
}

/// Tokens for a session that begins now without a device token (`grant_type=password`: the
/// client is no device that signs in again).
pub(crate) fn mint_without_device_token(app: &AppState, now: u64) -> Minted {
    let mut minted = mint(app, now, now);
    minted.hashes.device_token = None;
    minted
}

/// A JSON answer with `Cache-Control: no-store` (it carries a token or a secret).
pub(crate) fn no_store(body: impl serde::Serialize) -> Response {
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn require_client<'a>(app: &AppState, params: &'a Params) -> ApiResult<&'a str> {
    let client_id = params
        .get(param::CLIENT_ID)
        .ok_or_else(ApiError::invalid_client)?;
    if app.config.client(client_id).is_none() {
        return Err(ApiError::invalid_client());
    }
    Ok(client_id)
}

/// `POST /v1/token`
pub async fn token(
    State(app): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    params: Params,
) -> ApiResult<Response> {
    let now = app.clock.now();
    let grant_type = params.require(param::GRANT_TYPE)?;
    let client_id = require_client(&app, &params)?;
    match GrantType::parse(grant_type) {
        Some(GrantType::Password) => {
            let client = app
                .config
                .client(client_id)
                .ok_or_else(ApiError::invalid_client)?;
            crate::account::password_grant(&app, &caller, &headers, &params, client).await
        }
        Some(GrantType::AuthorizationCode) => {
            let code = params.require(param::CODE)?;
            let verifier = params.require(param::CODE_VERIFIER)?;
            if !(43..=128).contains(&verifier.len())
                || !verifier
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~'))
            {
                return Err(ApiError::invalid_request(
                    "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~",
                ));
            }
            // A browser code (`/v1/authorize`) is bound to its redirect_uri (RFC 6749 4.1.3).
            if let Some(bound) = app.store.code_redirect_uri(&token_hash(code)).await? {
                if params.get(REDIRECT_URI) != Some(bound.as_str()) {
                    return Err(ApiError::invalid_grant(
                        "redirect_uri must be the one of the authorization request",
                    ));
                }
            }
            let minted = mint(&app, now, now);
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
                Ok(redeemed) => {
                    let id_token =
                        crate::oidc::id_token(&app, &redeemed.session, redeemed.nonce, now, session_end(&app, now))
                            .await?;
                    Ok(token_response(
                        &redeemed.session,
                        &minted,
                        redeemed.device_token_issued,
                        id_token,
                    ))
                }
                Err(RedeemError::Reused)
                    if app.store.authorization_code_revoked(&token_hash(code)).await? =>
                {
                    Err(ApiError::invalid_grant(
                        "the authorization code was issued before every session was signed out; sign in again",
                    ))
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
        Some(GrantType::RefreshToken) => {
            let refresh = params.require(param::REFRESH_TOKEN)?;
            // The session's absolute lifetime counts from its sign-in; refreshing never moves it.
            let started = app
                .store
                .refresh_token_session_start(&token_hash(refresh))
                .await?;
            if started.is_some_and(|started| session_end(&app, started) <= now) {
                return Err(ApiError::invalid_grant(
                    "the session reached its maximum lifetime; sign in again",
                ));
            }
            let started = started.unwrap_or(now);
            let minted = mint(&app, now, started);
            let rotated = app
                .store
                .rotate_refresh_token(&token_hash(refresh), client_id, now, minted.hashes.clone())
                .await?;
            match rotated {
                Ok(session) => {
                    // OIDC Core 12.2: a new ID token, without nonce.
                    let id_token =
                        crate::oidc::id_token(&app, &session, None, now, session_end(&app, started))
                            .await?;
                    Ok(token_response(&session, &minted, false, id_token))
                }
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
            ErrorCode::UnsupportedGrantType,
            "grant_type must be authorization_code, refresh_token or password",
        )),
    }
}

pub(crate) fn token_response(
    session: &Session,
    minted: &Minted,
    device: bool,
    id_token: Option<SecretString>,
) -> Response {
    no_store(Tokens {
        access_token: minted.access.expose().to_owned(),
        token_type: "Bearer".to_owned(),
        expires_in: minted.hashes.access_expires_at.saturating_sub(minted.now),
        refresh_token: minted.refresh.expose().to_owned(),
        refresh_token_expires_in: minted.hashes.refresh_expires_at.saturating_sub(minted.now),
        session_id: session.id.to_string(),
        device_token: device.then(|| minted.device.expose().to_owned()),
        id_token: id_token.map(|t| t.expose().to_owned()),
    })
}

/// `POST /v1/revoke` (RFC 7009): 200 for a token of this client or an unknown one; a token
/// issued to another client is refused (`400 unauthorized_client`, RFC 7009 section 2.1) and
/// stays valid.
pub async fn revoke(State(app): State<AppState>, params: Params) -> ApiResult<Response> {
    let client_id = require_client(&app, &params)?;
    let token = params.require(param::TOKEN)?;
    let hash = token_hash(token);
    if app
        .store
        .token_client(&hash)
        .await?
        .is_some_and(|owner| owner != client_id)
    {
        return Err(ApiError::unauthorized_client(
            "the token was issued to another client; it was not revoked",
        ));
    }
    app.store.revoke_token(&hash, app.clock.now()).await?;
    Ok(no_store(Revoked {}))
}

pub(crate) async fn session_of(app: &AppState, bearer: &Bearer) -> ApiResult<Session> {
    let now = app.clock.now();
    app.store
        .session_for_access_token(&token_hash(bearer.0.expose()), now)
        .await?
        // Tokens are minted to end with their session; this also holds when the lifetime was
        // shortened since.
        .filter(|session| session_end(app, session.created_at) > now)
        .ok_or_else(ApiError::invalid_token)
}

/// `POST /v1/logout`: ends the session of the presented access token.
pub async fn logout(State(app): State<AppState>, bearer: Bearer) -> ApiResult<Response> {
    let session = session_of(&app, &bearer).await?;
    app.store
        .revoke_session(session.id, app.clock.now())
        .await?;
    Ok(no_store(LoggedOut {
        revoked_sessions: 1,
    }))
}

/// `POST /v1/logout-all[?app_passwords=revoke]`: ends every session of the user, on every
/// device; with `app_passwords=revoke` every app password stops working too.
pub async fn logout_all(
    State(app): State<AppState>,
    bearer: Bearer,
    Query(query): Query<LogoutAllQuery>,
) -> ApiResult<Response> {
    let session = session_of(&app, &bearer).await?;
    let now = app.clock.now();
    let revoked_app_passwords = match query.app_passwords {
        AppPasswordsOnLogout::Revoke => {
            app.store
                .revoke_all_app_passwords(session.user_id, now)
                .await?
        }
        AppPasswordsOnLogout::Keep => 0,
    };
    // Codes first, then sessions: a code exchanged in between made a session revoked below,
    // and one presented later is refused.
    app.store
        .revoke_unused_authorization_codes(session.user_id, now)
        .await?;
    let revoked = app.store.revoke_all_sessions(session.user_id, now).await?;
    // Devices added in the review window: the app offers "remove these".
    let since = crate::account::review_since(now, app.config.security.reset_review_days);
    let recent: Vec<RecentDevice> = app
        .store
        .devices_added_since(session.user_id, since)
        .await?
        .into_iter()
        .map(|d| RecentDevice {
            device_id: d.id,
            display_name: d.display_name,
            created_at: d.created_at,
        })
        .collect();
    Ok(no_store(LoggedOutEverywhere {
        revoked_sessions: revoked,
        revoked_app_passwords,
        recent_devices: recent,
    }))
}
