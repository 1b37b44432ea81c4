//! The server as an OpenID provider: the scopes a sign-in asks for, the ID token the token
//! endpoint adds for `openid` (claims, `amr`/`acr` from the factors used), the userinfo claims
//! of the granted scopes, the JWK set; `keys` holds the signing keys, `logout` RP-initiated
//! logout. The server as a relying party of upstream providers: `authorize` (the browser's
//! authorization endpoint), `callback` (the upstream's answer), `upstream` (their documents and
//! the code exchange) and `upstream_token` (their ID tokens, checked).

use authcore_protocol::oidc::{amr, scope, IdTokenClaims, JwkSet, ProfileClaims, UserInfoClaims};
use authcore_protocol::signin::ACR_MFA;
use authcore_protocol::ErrorCode;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use crate::error::{ApiError, ApiResult};
use crate::extract::Bearer;
use crate::secrets::SecretString;
use crate::store::{Session, User};
use crate::tokens::session_of;
use crate::AppState;

mod authorize;
mod callback;
mod keys;
mod logout;
mod upstream;
mod upstream_token;

pub use authorize::authorize;
pub(crate) use authorize::web_url;
pub use callback::callback;
pub(crate) use keys::{default_key_file, IdTokenKeys};
pub use logout::{end_session_get, end_session_post};
pub(crate) use upstream::Upstreams;

/// The `scope` of a first `/v1/authorize-challenge` request, checked: every value supported,
/// each once. Without one, the native default.
pub(crate) fn granted_scope(asked: Option<&str>) -> ApiResult<String> {
    let Some(asked) = asked else {
        return Ok(scope::NATIVE_DEFAULT.to_owned());
    };
    let mut granted: Vec<&str> = Vec::new();
    for value in asked.split(' ').filter(|v| !v.is_empty()) {
        if !scope::SUPPORTED.contains(&value) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidScope,
                format!(
                    "scope `{}` is not supported; the scopes are {}",
                    authcore_protocol::echo(value),
                    scope::SUPPORTED.join(" ")
                ),
            ));
        }
        if !granted.contains(&value) {
            granted.push(value);
        }
    }
    Ok(granted.join(" "))
}

/// The PKCE `code_challenge_method` and `code_challenge` of a first request, checked: S256 only,
/// the challenge 43 base64url characters.
pub(crate) fn checked_code_challenge<'a>(
    method: Option<&str>,
    challenge: Option<&'a str>,
) -> ApiResult<&'a str> {
    if method != Some(authcore_protocol::signin::CODE_CHALLENGE_S256) {
        return Err(ApiError::invalid_request(
            "code_challenge_method must be S256",
        ));
    }
    match challenge {
        Some(c)
            if c.len() == 43
                && c.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
        {
            Ok(c)
        }
        _ => Err(ApiError::invalid_request(
            "code_challenge must be the 43-character base64url SHA-256 of the code_verifier",
        )),
    }
}

/// The `nonce` of a first request, checked.
pub(crate) fn checked_nonce(nonce: Option<&str>) -> ApiResult<Option<String>> {
    match nonce {
        None => Ok(None),
        Some(n) if n.len() <= 255 && n.chars().all(|c| c.is_ascii_graphic() || c == ' ') => {
            Ok(Some(n.to_owned()))
        }
        Some(_) => Err(ApiError::invalid_request(
            "nonce must be at most 255 printable ASCII characters",
        )),
    }
}

fn has_scope(granted: &str, wanted: &str) -> bool {
    granted.split(' ').any(|s| s == wanted)
}

/// The `amr` values (RFC 8176) of the factors a sign-in used, each once, then `mfa` when it
/// used two or more.
pub(crate) fn amr_of(factors: &[String]) -> Vec<String> {
    let mut values: Vec<String> = Vec::new();
    for factor in factors {
        let value = match factor.as_str() {
            "password" => amr::PWD,
            "totp" | "backup_code" | "email_code" | "email_verification" => amr::OTP,
            "sms_code" => amr::SMS,
            "push" => amr::SWK,
            _ => continue,
        };
        if !values.iter().any(|v| v == value) {
            values.push(value.to_owned());
        }
    }
    if factors.len() >= 2 {
        values.push(amr::MFA.to_owned());
    }
    values
}

/// The profile claims `scope` grants for `user`.
fn profile_claims(granted: &str, user: &User) -> ProfileClaims {
    let email = has_scope(granted, scope::EMAIL);
    ProfileClaims {
        name: has_scope(granted, scope::PROFILE).then(|| user.name.clone()),
        email: email.then(|| user.email.clone()),
        email_verified: email.then_some(true),
        phone_number: user
            .phone
            .clone()
            .filter(|_| has_scope(granted, scope::PHONE)),
    }
}

/// The ID token for `session` when its sign-in asked for `openid` (`None` otherwise), valid
/// `tokens.id_token_ttl_s` and never past `session_end`.
pub(crate) async fn id_token(
    app: &AppState,
    session: &Session,
    nonce: Option<String>,
    now: u64,
    session_end: u64,
) -> ApiResult<Option<SecretString>> {
    if !has_scope(&session.scope, scope::OPENID) {
        return Ok(None);
    }
    let user = app
        .store
        .user(session.user_id)
        .await?
        .ok_or_else(|| ApiError::invalid_grant("the account no longer exists"))?;
    let auth = app
        .store
        .session_auth(session.id)
        .await?
        .ok_or_else(|| ApiError::invalid_grant("the session no longer exists"))?;
    let amr = amr_of(&auth.factors);
    let claims = IdTokenClaims {
        iss: app.issuer.clone(),
        sub: user.id.to_string(),
        aud: session.client_id.clone(),
        exp: (now + app.config.tokens.id_token_ttl_s).min(session_end),
        iat: now,
        auth_time: auth.auth_time,
        nonce,
        acr: amr
            .iter()
            .any(|v| v == amr::MFA)
            .then(|| ACR_MFA.to_owned()),
        amr,
        sid: session.id.to_string(),
        profile: profile_claims(&session.scope, &user),
    };
    app.id_keys.sign(&claims).map(Some).map_err(|e| {
        tracing::error!(error = %e, "signing an ID token failed");
        ApiError::unavailable()
    })
}

/// `GET /v1/userinfo` (OIDC Core 5.3): `sub` and the claims of the session's scopes.
pub async fn userinfo(
    State(app): State<AppState>,
    bearer: Bearer,
) -> ApiResult<Json<UserInfoClaims>> {
    let session = session_of(&app, &bearer).await?;
    let user = app
        .store
        .user(session.user_id)
        .await?
        .ok_or_else(ApiError::invalid_token)?;
    Ok(Json(UserInfoClaims {
        sub: user.id.to_string(),
        profile: profile_claims(&session.scope, &user),
    }))
}

/// `GET /v1/jwks`: the ID-token keys, the active one first.
pub async fn jwks(State(app): State<AppState>) -> Json<JwkSet> {
    Json(app.id_keys.jwks())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn factors_map_to_rfc_8176_values() {
        assert_eq!(amr_of(&f(&["password"])), f(&["pwd"]));
        assert_eq!(amr_of(&f(&["password", "totp"])), f(&["pwd", "otp", "mfa"]));
        assert_eq!(amr_of(&f(&["push"])), f(&["swk"]));
        assert_eq!(amr_of(&f(&["password", "push"])), f(&["pwd", "swk", "mfa"]));
        assert_eq!(amr_of(&f(&["sms_code"])), f(&["sms"]));
        assert_eq!(
            amr_of(&f(&["email_code", "password"])),
            f(&["otp", "pwd", "mfa"])
        );
        assert_eq!(
            amr_of(&f(&["password", "email_verification", "backup_code"])),
            f(&["pwd", "otp", "mfa"])
        );
    }

    #[test]
    fn scopes_are_checked_and_kept_once() {
        assert_eq!(granted_scope(None).unwrap(), "profile email phone");
        assert_eq!(
            granted_scope(Some("openid  email openid")).unwrap(),
            "openid email"
        );
        let refused = granted_scope(Some("openid offline")).unwrap_err();
        assert_eq!(refused.code(), ErrorCode::InvalidScope);
    }
}
