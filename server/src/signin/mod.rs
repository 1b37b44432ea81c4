//! Login-method selection (`/v1/login/methods`) and the first-party authorization challenge
//! endpoint (`/v1/authorize-challenge`, draft-ietf-oauth-first-party-apps): a sign-in is a
//! server-side state machine; each request may carry one credential, and the answer is either an
//! authorization code or `insufficient_authorization` with the `next` step to show.
//!
//! This module holds the two handlers, the sign-in's state (`Flow`, `Step`) and how a new
//! sign-in starts; `flow` decides and runs the steps, `credentials` checks passwords and second
//! factors, `codes` sends and checks one-time codes, `attempts` counts failed attempts,
//! `identifier` parses what the user typed and `authenticator` holds the push and enrollment steps.

use authcore_protocol::signin::{param, ACR_MFA};
use authcore_protocol::signin::{
    AuthorizationCode, IdentifierType, LoginMethod, LoginMethods, LoginMethodsRequest, Next,
    Organization,
};
use authcore_protocol::ErrorCode;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;

use crate::config::{Method, OrgConfig};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, JsonBody, Params};
use crate::secrets::{random_token, token_hash};
use crate::store::{AuthSession, User};
use crate::AppState;

mod attempts;
mod authenticator;
mod codes;
mod credentials;
mod flow;
mod identifier;

pub(crate) use attempts::reserve_attempt;
pub(crate) use codes::send_code;
pub(crate) use credentials::{backup_code_hash, totp_of};
pub use identifier::{mask_email, mask_phone, phone_hint, Identifier};

fn methods_for<'a>(
    app: &'a AppState,
    identifier: &Identifier,
) -> (&'a [Method], Option<&'a OrgConfig>) {
    match identifier {
        Identifier::Phone(_) => (&app.config.phone_methods, None),
        Identifier::Email { domain, .. } => match app.config.org_for_domain(domain) {
            Some(org) => (&org.methods, Some(org)),
            None => (&app.config.default_methods, None),
        },
    }
}

fn login_method(method: &Method, identifier: &Identifier) -> LoginMethod {
    match method {
        Method::Password => LoginMethod::Password,
        Method::EmailCode => LoginMethod::EmailCode {
            destination_hint: mask_email(identifier.as_str()),
        },
        Method::SmsCode => LoginMethod::SmsCode {
            destination_hint: mask_phone(identifier.as_str()),
        },
        Method::Federated {
            provider,
            display_name,
        } => LoginMethod::Federated {
            provider: provider.clone(),
            display_name: display_name.clone(),
        },
        Method::Sso {
            provider,
            display_name,
        } => LoginMethod::Sso {
            provider: provider.clone(),
            display_name: display_name.clone(),
        },
    }
}

/// `POST /v1/login/methods`: depends only on the identifier's form and domain, never on whether
/// an account exists, so known and unknown identifiers get the same shape and the same work.
pub async fn login_methods(
    State(app): State<AppState>,
    JsonBody(request): JsonBody<LoginMethodsRequest>,
) -> ApiResult<Json<LoginMethods>> {
    let identifier = Identifier::parse(&request.identifier)?;
    let (methods, org) = methods_for(&app, &identifier);
    let mut methods: Vec<LoginMethod> = methods
        .iter()
        .filter(|m| {
            !matches!(
                (&identifier, m),
                (Identifier::Phone(_), Method::EmailCode)
                    | (Identifier::Email { .. }, Method::SmsCode)
            )
        })
        .map(|m| login_method(m, &identifier))
        .collect();
    if org.is_some_and(|o| o.passwordless_push) {
        // Phone sign-in: a push approved on a device registered with user verification.
        methods.push(LoginMethod::Push);
    }
    Ok(Json(LoginMethods {
        identifier: identifier.as_str().to_owned(),
        identifier_type: match identifier {
            Identifier::Email { .. } => IdentifierType::Email,
            Identifier::Phone(_) => IdentifierType::Phone,
        },
        organization: org.map(|o| Organization {
            name: o.name.clone(),
            domain: o.domain.clone(),
        }),
        methods,
        sign_in_host: org.and_then(|o| o.sign_in_host.clone()),
    }))
}

/// The step a sign-in needs next.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Primary,
    VerifyDevice,
    /// A step-up sign-in (`acr_values=mfa`) that began with a code and has no second factor to
    /// ask: the password too.
    PasswordAfterCode,
    SecondFactor(Vec<&'static str>),
    /// "Authenticator required": enroll or skip.
    Enroll {
        skips_left: u32,
        mandatory: bool,
    },
    Done,
}

struct Flow<'a> {
    app: &'a AppState,
    caller: &'a Caller,
    params: &'a Params,
    session: AuthSession,
    identifier: Identifier,
    user: Option<User>,
    token: String,
    now: u64,
    /// One credential per request: set once a password or code was checked.
    consumed: bool,
    /// Unused backup codes, as counted when the second factors were looked up.
    backup_codes_left: u32,
}

fn insufficient(next: Next) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        ErrorCode::InsufficientAuthorization,
        "more is needed to sign in; `next` says what",
    )
    .next(next)
}

/// The host the request was sent to: `X-Forwarded-Host` behind a trusted proxy, else `Host`.
fn request_host(app: &AppState, headers: &HeaderMap) -> String {
    let value = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(',').next().unwrap_or("").trim().to_owned())
    };
    let forwarded = app
        .config
        .http
        .trusted_proxy
        .then(|| value("x-forwarded-host"))
        .flatten();
    forwarded.or_else(|| value("host")).unwrap_or_default()
}

/// An organisation with its own sign-in host signs its users in there only.
fn check_host(app: &AppState, headers: &HeaderMap, identifier: &Identifier) -> ApiResult<()> {
    let (_, org) = methods_for(app, identifier);
    match org {
        Some(org) if !org.serves_host(&request_host(app, headers)) => {
            Err(ApiError::invalid_request(format!(
                "accounts of {} sign in at {} only",
                org.domain,
                org.sign_in_host.as_deref().unwrap_or_default()
            )))
        }
        _ => Ok(()),
    }
}

/// `POST /v1/authorize-challenge`
pub async fn authorize_challenge(
    State(app): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    params: Params,
) -> ApiResult<Json<AuthorizationCode>> {
    let now = app.clock.now();
    let client_id = params
        .get(param::CLIENT_ID)
        .ok_or_else(ApiError::invalid_client)?;
    if app.config.client(client_id).is_none() {
        return Err(ApiError::invalid_client());
    }
    if let Some(retry_after) = app.throttle.retry_after(&caller.ip, now) {
        return Err(ApiError::address_throttled(
            retry_after,
            &app.config.throttle,
        ));
    }
    let (session, token, identifier, user) = match params.get(param::AUTH_SESSION) {
        Some(token) => {
            let (session, user) = app
                .store
                .auth_session(&token_hash(token), now)
                .await?
                .filter(|(s, _)| s.client_id == client_id)
                .ok_or_else(ApiError::invalid_session)?;
            let identifier = Identifier::parse(&session.identifier)?;
            (session, token.to_owned(), identifier, user)
        }
        None => start_session(&app, &caller, &params, client_id, now).await?,
    };
    check_host(&app, &headers, &identifier)?;
    let mut flow = Flow {
        app: &app,
        caller: &caller,
        params: &params,
        session,
        identifier,
        user,
        token,
        now,
        consumed: false,
        backup_codes_left: 0,
    };
    let result = flow.advance().await;
    let token = flow.token.clone();
    if flow.session.step != "done" {
        if flow.session.id == 0 {
            flow.save_new().await?;
        } else {
            app.store.update_auth_session(&flow.session).await?;
        }
    }
    result.map_err(|e| {
        if matches!(
            e.code(),
            ErrorCode::InvalidClient | ErrorCode::InvalidSession | ErrorCode::InvalidRequest
        ) {
            e
        } else {
            e.auth_session(token)
        }
    })
}

async fn start_session(
    app: &AppState,
    caller: &Caller,
    params: &Params,
    client_id: &str,
    now: u64,
) -> ApiResult<(AuthSession, String, Identifier, Option<User>)> {
    let identifier = Identifier::parse(params.require(param::IDENTIFIER)?)?;
    let challenge = params.require(param::CODE_CHALLENGE)?;
    let challenge = crate::oidc::checked_code_challenge(
        params.get(param::CODE_CHALLENGE_METHOD),
        Some(challenge),
    )?;
    let acr_mfa = match params.get(param::ACR_VALUES) {
        None => false,
        Some(values) => {
            if let Some(unknown) = values.split_whitespace().find(|v| *v != ACR_MFA) {
                return Err(ApiError::invalid_request(format!(
                    "acr_values `{}` is not supported; the only value is mfa",
                    unknown.chars().take(40).collect::<String>()
                )));
            }
            true
        }
    };
    let scope = crate::oidc::granted_scope(params.get(param::SCOPE))?;
    let nonce = crate::oidc::checked_nonce(params.get(param::NONCE))?;
    let user = match &identifier {
        Identifier::Email { address, .. } => app.store.user_by_email(address).await?,
        Identifier::Phone(phone) => app.store.user_by_phone(phone).await?,
    };
    let device_recognised = match (params.get(param::DEVICE_TOKEN), &user) {
        (Some(device_token), Some(user)) => {
            app.store
                .device_token_valid(user.id, &token_hash(device_token), now)
                .await?
        }
        _ => false,
    };
    // Saved at the end of this request, in the state it leaves the sign-in in (id 0 until then).
    let session = AuthSession {
        id: 0,
        client_id: client_id.to_owned(),
        code_challenge: challenge.to_owned(),
        identifier: identifier.as_str().to_owned(),
        user_id: user.as_ref().map(|u| u.id),
        device_recognised,
        step: "start".into(),
        primary_method: None,
        device_verified: false,
        second_factor_choice: None,
        second_factor: None,
        code_id: None,
        ip: caller.ip.clone(),
        user_agent: caller.user_agent.clone(),
        expires_at: now + app.config.tokens.auth_session_ttl_s,
        acr_mfa,
        scope,
        nonce,
    };
    let token = random_token("as_");
    Ok((session, token.expose().to_owned(), identifier, user))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_normalise() {
        assert_eq!(
            Identifier::parse(" Alice@Acme.Example ").unwrap(),
            Identifier::Email {
                address: "alice@acme.example".into(),
                domain: "acme.example".into()
            }
        );
        assert_eq!(
            Identifier::parse("+1 555 555-0101").unwrap(),
            Identifier::Phone("+15555550101".into())
        );
        assert!(Identifier::parse("alice").is_err());
        assert!(Identifier::parse("+12").is_err());
    }

    #[test]
    fn masks() {
        assert_eq!(mask_email("nora@acme.example"), "n***@acme.example");
        assert_eq!(mask_phone("+15555550101"), "+*******0101");
    }

    #[test]
    fn phone_hints_show_the_last_two_digits_grouped() {
        assert_eq!(phone_hint("+15555550163"), "+X XXX-XXX-XX63");
        assert_eq!(phone_hint("+447700900123"), "+XX XXX-XXX-XX23");
        assert_eq!(phone_hint("+493012345678"), "+XX XXX-XXX-XX78");
        assert_eq!(phone_hint("+123456789"), "+XX XXX-XX89");
        assert_eq!(phone_hint("+3312345678"), "+XXX-XXX-XX78");
        assert_eq!(phone_hint("+12345678"), "+X XXX-XX78");
        assert_eq!(phone_hint("+123456789012345"), "+XXXXX XXX-XXX-XX45");
    }
}
