//! `GET /v1/authorize/callback`: the upstream provider sends the browser back. The `state` names
//! the pending authorization (used once: a replayed callback is refused); then the upstream's
//! `error`, its `iss` (RFC 9207), the code exchange and the ID token are checked, the account is
//! found by the linked upstream subject or by verified email inside the organisation (or created
//! when the upstream may create users), the sign-in is recorded, and the browser goes back to
//! the client with this server's own authorization code. Every refusal after the state is known
//! is an `access_denied` redirect (`temporarily_unavailable` when the upstream cannot be
//! reached) whose description names the reason; before it, a plain page.

use authcore_protocol::oidc::authorize as p;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::authorize::{callback_uri, page, upstream_secrets, Back};
use super::upstream::{word, UpstreamError};
use super::upstream_token::{check, Asserted, Profile, TokenRefusal};
use crate::config::{Method, OrgConfig, UpstreamConfig};
use crate::extract::{Caller, Params};
use crate::secrets::{random_token, token_hash};
use crate::store::{
    AuthSession, NewAuthorizationCode, NewUser, PendingAuthorization, SignInEvent, StoreError,
    TakeError,
};
use crate::AppState;

/// The refusal of an answer whose `iss` is not the provider's (RFC 9207 mix-up).
const MIX_UP: &str =
    "the answer's iss is not the provider's issuer (an answer from another provider)";

/// Why a callback was refused after its pending authorization was found.
enum Refusal {
    Denied(String),
    Unavailable(String),
}

impl From<StoreError> for Refusal {
    fn from(error: StoreError) -> Self {
        tracing::error!(%error, "storage failed during a federated sign-in");
        Refusal::Unavailable("the sign-in could not be saved; try again".into())
    }
}

impl From<TokenRefusal> for Refusal {
    fn from(refusal: TokenRefusal) -> Self {
        match refusal {
            TokenRefusal::Upstream(e) => e.into(),
            TokenRefusal::NoEmail | TokenRefusal::EmailNotVerified => {
                Refusal::Denied(refusal.to_string())
            }
            other => Refusal::Denied(format!("the provider's ID token is refused: {other}")),
        }
    }
}

impl From<UpstreamError> for Refusal {
    fn from(error: UpstreamError) -> Self {
        match error {
            UpstreamError::CodeRefused(_) => Refusal::Denied(error.to_string()),
            _ => Refusal::Unavailable(error.to_string()),
        }
    }
}

/// `GET /v1/authorize/callback?…`
pub async fn callback(
    State(app): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Response {
    let refused = |sentence: &str| page(StatusCode::BAD_REQUEST, "Sign-in refused", sentence);
    let Ok(params) = Params::parse(query.unwrap_or_default().as_bytes()) else {
        return refused("The provider's answer is malformed (a parameter appears twice).");
    };
    let Some(state) = params.get(p::STATE) else {
        return refused(
            "The provider's answer has no state; start the sign-in again from the app.",
        );
    };
    let now = app.clock.now();
    let pending = match app
        .store
        .take_pending_authorization(&token_hash(state), now)
        .await
    {
        Ok(Ok(pending)) => pending,
        Ok(Err(TakeError::Unknown)) => {
            return refused("The provider's answer does not belong to a sign-in started here (unknown state); start again from the app.")
        }
        Ok(Err(TakeError::Used)) => {
            return refused("This sign-in was already completed (the provider's answer was used before); start again from the app.")
        }
        Ok(Err(TakeError::Expired)) => {
            return refused("This sign-in took too long and expired; start again from the app.")
        }
        Err(error) => {
            tracing::error!(%error, "storage failed during a federated sign-in");
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again",
                "The sign-in could not be read; try again in a moment.",
            );
        }
    };
    let back = Back {
        redirect_uri: pending.redirect_uri.clone(),
        state: pending.state.clone(),
        iss: app.issuer.clone(),
    };
    match finish(&app, &caller, &params, state, &pending, now).await {
        Ok(code) => {
            tracing::info!(event = "sign_in_completed", upstream = %pending.upstream_id, "security event");
            back.code(&code)
        }
        Err(Refusal::Denied(why)) => {
            // The reason goes to the app only: it can name the user's email.
            tracing::info!(event = "credential_refused", upstream = %pending.upstream_id, "security event");
            back.error("access_denied", &why)
        }
        Err(Refusal::Unavailable(why)) => back.error("temporarily_unavailable", &why),
    }
}

async fn finish(
    app: &AppState,
    caller: &Caller,
    params: &Params,
    state: &str,
    pending: &PendingAuthorization,
    now: u64,
) -> Result<String, Refusal> {
    let Some((upstream, org)) = app.config.upstream(&pending.upstream_id) else {
        return Err(Refusal::Denied(
            "the provider is no longer configured".into(),
        ));
    };
    // RFC 9207: the issuer is checked on error answers too.
    let metadata = app.upstreams.metadata(upstream).await?;
    match params.get(p::ISS) {
        // A multi-tenant issuer's tenant is known from the token: here only its form.
        Some(iss) if !iss_matches(upstream, iss) => return Err(Refusal::Denied(MIX_UP.into())),
        None if metadata.authorization_response_iss_parameter_supported => {
            return Err(Refusal::Denied(
                "the provider's answer has no iss though the provider sends one".into(),
            ))
        }
        _ => {}
    }
    if let Some(error) = params.get(p::ERROR) {
        return Err(Refusal::Denied(format!(
            "the provider refused the sign-in: {}",
            word(error)
        )));
    }
    let Some(code) = params.get(p::CODE) else {
        return Err(Refusal::Denied("the provider's answer has no code".into()));
    };
    let (verifier, nonce) = upstream_secrets(app, state);
    let tokens = app
        .upstreams
        .exchange(upstream, &metadata, code, &callback_uri(app), &verifier)
        .await?;
    let checked = check(
        &app.upstreams,
        upstream,
        tokens.id_token.expose(),
        &nonce,
        now,
    )
    .await?;
    if params.get(p::ISS).is_some_and(|iss| iss != checked.issuer) {
        // A multi-tenant answer: its tenant must be the token's.
        return Err(Refusal::Denied(MIX_UP.into()));
    }
    let mut profile = checked.profile;
    if profile.email.is_none() {
        // OIDC Core 5.4: the scope's claims may be at userinfo instead, for the same `sub`.
        if let Some(access_token) = &tokens.access_token {
            let answer: Option<Profile> = app
                .upstreams
                .userinfo(upstream, &metadata, access_token)
                .await?;
            if let Some(answer) = answer {
                if answer.sub.as_deref() != Some(checked.subject.as_str()) {
                    return Err(Refusal::Denied(
                        "the provider's userinfo is about another subject than its ID token".into(),
                    ));
                }
                profile = answer;
            }
        }
    }
    let asserted = profile.verified_email(checked.issuer, checked.subject)?;
    let user_id = account(app, upstream, org, &asserted, now).await?;
    complete(app, caller, upstream, org, pending, user_id, now).await
}

fn iss_matches(upstream: &UpstreamConfig, iss: &str) -> bool {
    let template = upstream.issuer();
    match template.split_once(crate::config::TENANT_PLACEHOLDER) {
        Some((before, after)) => {
            iss.len() > before.len() + after.len()
                && iss.starts_with(before)
                && iss.ends_with(after)
                && !iss[before.len()..iss.len() - after.len()].contains('/')
        }
        None => iss == template,
    }
}

/// Whether `email` may be asserted by `upstream` of `org` (none: a top-level upstream).
fn domain_allowed(
    app: &AppState,
    upstream: &UpstreamConfig,
    org: Option<&OrgConfig>,
    email: &str,
) -> bool {
    let Some((_, domain)) = email.rsplit_once('@') else {
        return false;
    };
    if !upstream.email_domains.is_empty() {
        return upstream.email_domains.iter().any(|d| d == domain);
    }
    match org {
        Some(org) => org.domain == domain,
        // Top level: any domain of no organisation.
        None => app.config.org_for_domain(domain).is_none(),
    }
}

/// The account of the asserted identity: the linked upstream subject, else the verified email
/// (then linked), else a new account when the upstream may create users.
async fn account(
    app: &AppState,
    upstream: &UpstreamConfig,
    org: Option<&OrgConfig>,
    asserted: &Asserted,
    now: u64,
) -> Result<i64, Refusal> {
    let store = &app.store;
    if let Some(user_id) = store
        .upstream_subject(&upstream.id, &asserted.issuer, &asserted.subject)
        .await?
    {
        return Ok(user_id);
    }
    if !domain_allowed(app, upstream, org, &asserted.email) {
        return Err(Refusal::Denied(format!(
            "the provider may not sign in {}: its domain is not one of this organisation's",
            asserted.email
        )));
    }
    let user_id = match store.user_by_email(&asserted.email).await? {
        Some(user) => user.id,
        None if upstream.create_users => {
            store
                .ensure_user(NewUser {
                    email: asserted.email.clone(),
                    phone: None,
                    name: asserted
                        .name
                        .clone()
                        .unwrap_or_else(|| asserted.email.clone()),
                    password_hash: None,
                })
                .await?
        }
        None => {
            return Err(Refusal::Denied(format!(
                "there is no account for {} and this provider does not create accounts",
                asserted.email
            )))
        }
    };
    store
        .link_upstream_subject(
            &upstream.id,
            &asserted.issuer,
            &asserted.subject,
            user_id,
            now,
        )
        .await?;
    Ok(user_id)
}

/// This server's authorization code for the pending authorization, with its history entry,
/// bound to the client's redirect URI.
async fn complete(
    app: &AppState,
    caller: &Caller,
    upstream: &UpstreamConfig,
    org: Option<&OrgConfig>,
    pending: &PendingAuthorization,
    user_id: i64,
    now: u64,
) -> Result<String, Refusal> {
    let methods = org.map_or(&app.config.default_methods, |o| &o.methods);
    let method = methods
        .iter()
        .find(|m| matches!(m, Method::Sso { provider, .. } | Method::Federated { provider, .. } if *provider == upstream.id))
        .map_or(if org.is_some() { "sso" } else { "federated" }, Method::name);
    let factors = vec![method.to_owned()];
    let user = app.store.user(user_id).await?;
    let session = AuthSession {
        id: 0,
        client_id: pending.client_id.clone(),
        code_challenge: pending.code_challenge.clone(),
        identifier: user.map(|u| u.email).unwrap_or_default(),
        user_id: Some(user_id),
        device_recognised: true,
        step: method.to_owned(),
        primary_method: Some(method.to_owned()),
        device_verified: false,
        second_factor_choice: None,
        second_factor: None,
        code_id: None,
        ip: caller.ip.clone(),
        user_agent: caller.user_agent.clone(),
        expires_at: pending.expires_at,
        acr_mfa: false,
        scope: pending.scope.clone(),
        nonce: pending.nonce.clone(),
    };
    let auth_session_id = app
        .store
        .create_auth_session(&token_hash(random_token("as_").expose()), &session)
        .await?;
    let code = random_token("ac_");
    let hash = token_hash(code.expose());
    app.store
        .complete_sign_in(
            NewAuthorizationCode {
                hash: hash.clone(),
                auth_session_id,
                client_id: pending.client_id.clone(),
                user_id,
                code_challenge: pending.code_challenge.clone(),
                method: method.to_owned(),
                factors: factors.clone(),
                issue_device_token: false,
                expires_at: now + app.config.tokens.authorization_code_ttl_s,
                ip: caller.ip.clone(),
                user_agent: caller.user_agent.clone(),
            },
            SignInEvent {
                user_id,
                at: now,
                kind: "sign_in".into(),
                method: method.to_owned(),
                factors,
                ip: caller.ip.clone(),
                user_agent: caller.user_agent.clone(),
                result: "success".into(),
            },
        )
        .await?;
    // Before the code leaves: a code without its binding is never handed out.
    app.store
        .bind_code_redirect_uri(&hash, &pending.redirect_uri)
        .await?;
    Ok(code.expose().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_template_matches_one_tenant_segment() {
        let upstream: UpstreamConfig =
            toml::from_str("id = \"ms\"\npreset = \"microsoft\"\nclient_id = \"c\"").unwrap();
        assert!(iss_matches(
            &upstream,
            "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"
        ));
        assert!(!iss_matches(
            &upstream,
            "https://login.microsoftonline.com//v2.0"
        ));
        assert!(!iss_matches(
            &upstream,
            "https://login.microsoftonline.com/a/b/v2.0"
        ));
        assert!(!iss_matches(&upstream, "https://evil.example/t/v2.0"));
    }
}
