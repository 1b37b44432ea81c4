//! `GET /v1/authorize`: the browser's authorization endpoint (authorization code + PKCE S256
//! only). The client and its `redirect_uri` are checked first (RFC 8252 forms: exact, a loopback
//! one with any port); what fails before that is a plain page, what fails after it goes back to
//! the client as `error`, `error_description`, `state` and `iss` (RFC 9207). A sign-in through
//! an upstream provider (`idp`, or the only method of the `login_hint`'s organisation) is saved
//! as a pending authorization and the browser is sent upstream with this server's own PKCE,
//! `state` and `nonce`; the callback (`callback.rs`) finishes it.

use authcore_protocol::oidc::authorize as p;
use authcore_protocol::signin::CODE_CHALLENGE_S256;
use authcore_protocol::{paths, ErrorCode};
use axum::extract::{RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use crate::config::{Method, UpstreamConfig};
use crate::extract::{Caller, Params};
use crate::secrets::{random_token, token_hash};
use crate::store::PendingAuthorization;
use crate::AppState;

/// How long the browser has to come back from the upstream.
pub(crate) const PENDING_TTL_S: u64 = 600;

/// A plain HTML page with one sentence (`sentence` is this server's text, escaped anyway).
pub(crate) fn page(status: StatusCode, title: &str, sentence: &str) -> Response {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title></head>\
         <body><h1>{}</h1><p>{}</p></body></html>\n",
        esc(title),
        esc(title),
        esc(sentence)
    );
    (status, Html(body)).into_response()
}

/// Where the browser goes back to: the client's redirect URI, its `state`, and our issuer.
#[derive(Debug, Clone)]
pub(crate) struct Back {
    pub redirect_uri: String,
    pub state: Option<String>,
    pub iss: String,
}

impl Back {
    fn to(&self, pairs: &[(&str, &str)]) -> Response {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.extend_pairs(pairs);
        if let Some(state) = &self.state {
            query.append_pair(p::STATE, state);
        }
        query.append_pair(p::ISS, &self.iss);
        let sep = if self.redirect_uri.contains('?') {
            '&'
        } else {
            '?'
        };
        let location = format!("{}{sep}{}", self.redirect_uri, query.finish());
        (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
    }

    /// The redirect of an error (RFC 6749 4.1.2.1).
    pub(crate) fn error(&self, error: &str, description: &str) -> Response {
        self.to(&[(p::ERROR, error), (p::ERROR_DESCRIPTION, description)])
    }

    /// The redirect of a success.
    pub(crate) fn code(&self, code: &str) -> Response {
        self.to(&[(p::CODE, code)])
    }
}

/// Whether `asked` is one of `registered` (RFC 8252 7.3: a loopback `http` URI matches with any
/// port; everything else exactly).
pub(crate) fn redirect_uri_registered(registered: &[String], asked: &str) -> bool {
    let without_port = |uri: &str| -> Option<String> {
        let url = reqwest::Url::parse(uri).ok()?;
        let loopback = matches!(url.host_str(), Some("127.0.0.1" | "[::1]"));
        (url.scheme() == "http" && loopback).then(|| {
            let mut url = url.clone();
            let _ = url.set_port(None);
            url.to_string()
        })
    };
    registered.iter().any(|r| {
        r == asked || matches!((without_port(r), without_port(asked)), (Some(a), Some(b)) if a == b)
    })
}

fn invalid(back: &Back, description: &str) -> Response {
    back.error(ErrorCode::InvalidRequest.as_str(), description)
}

/// `GET /v1/authorize?…`
pub async fn authorize(
    State(app): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Response {
    let params = match Params::parse(query.unwrap_or_default().as_bytes()) {
        Ok(params) => params,
        Err(e) => {
            return page(
                StatusCode::BAD_REQUEST,
                "Sign-in refused",
                &e.body.error_description,
            )
        }
    };
    let client = params
        .get(p::CLIENT_ID)
        .and_then(|id| app.config.client(id));
    let Some(client) = client else {
        return page(
            StatusCode::BAD_REQUEST,
            "Sign-in refused",
            "The application that sent you here (client_id) is not registered with this server.",
        );
    };
    let redirect_uri = params.get(p::REDIRECT_URI).unwrap_or_default();
    if !redirect_uri_registered(&client.redirect_uris, redirect_uri) {
        return page(
            StatusCode::BAD_REQUEST,
            "Sign-in refused",
            "The address to return to (redirect_uri) is missing or not registered for this application.",
        );
    }
    let back = Back {
        redirect_uri: redirect_uri.to_owned(),
        state: params.get(p::STATE).map(str::to_owned),
        iss: app.issuer.clone(),
    };
    if params.get(p::RESPONSE_TYPE) != Some("code") {
        return back.error("unsupported_response_type", "response_type must be code");
    }
    let challenge = match super::checked_code_challenge(
        params.get(p::CODE_CHALLENGE_METHOD),
        params.get(p::CODE_CHALLENGE),
    ) {
        Ok(challenge) => challenge,
        Err(e) => return invalid(&back, &e.body.error_description),
    };
    let scope = match super::granted_scope(Some(params.get(p::SCOPE).unwrap_or("openid"))) {
        Ok(scope) => scope,
        Err(e) => return back.error(e.code().as_str(), &e.body.error_description),
    };
    let nonce = match super::checked_nonce(params.get(p::NONCE)) {
        Ok(nonce) => nonce,
        Err(e) => return invalid(&back, &e.body.error_description),
    };
    let prompt = params.get(p::PROMPT);
    if prompt.is_some_and(|v| {
        v.split(' ')
            .any(|p| !matches!(p, "none" | "login" | "consent" | "select_account"))
    }) {
        return invalid(
            &back,
            "prompt must be none, login, consent or select_account",
        );
    }
    let max_age = params.get(p::MAX_AGE);
    if max_age.is_some_and(|v| v.parse::<u32>().is_err()) {
        return invalid(&back, "max_age must be a number of seconds");
    }
    let login_hint = params.get(p::LOGIN_HINT);
    let upstream = match params.get(p::IDP) {
        Some(idp) => match app.config.upstream(idp) {
            Some((upstream, _)) => upstream,
            None => {
                let idp = authcore_protocol::echo(idp);
                return invalid(&back, &format!("idp `{idp}` is not a provider of this server"));
            }
        },
        None => match only_upstream(&app, login_hint) {
            Some(upstream) => upstream,
            None => {
                return page(
                    StatusCode::OK,
                    "Sign in from the app",
                    "The browser sign-in form is not available yet: this account signs in from the app.",
                )
            }
        },
    };
    let metadata = match app.upstreams.metadata(upstream).await {
        Ok(metadata) => metadata,
        Err(e) => return back.error("temporarily_unavailable", &e.to_string()),
    };
    let state = random_token("us_");
    let pending = PendingAuthorization {
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        code_challenge: challenge.to_owned(),
        scope,
        state: back.state.clone(),
        nonce,
        upstream_id: upstream.id.clone(),
        ip: caller.ip.clone(),
        user_agent: caller.user_agent.clone(),
        expires_at: app.clock.now() + PENDING_TTL_S,
    };
    let saved = app
        .store
        .create_pending_authorization(&token_hash(state.expose()), &pending, app.clock.now())
        .await;
    if saved.is_err() {
        return back.error(
            "temporarily_unavailable",
            "the sign-in could not be saved; try again",
        );
    }
    let (verifier, upstream_nonce) = upstream_secrets(&app, state.expose());
    let mut query = form_urlencoded::Serializer::new(String::new());
    query
        .append_pair(p::RESPONSE_TYPE, "code")
        .append_pair(p::CLIENT_ID, &upstream.client_id)
        .append_pair(p::REDIRECT_URI, &callback_uri(&app))
        .append_pair(p::SCOPE, &upstream.scopes.join(" "))
        .append_pair(p::STATE, state.expose())
        .append_pair(p::NONCE, &upstream_nonce)
        .append_pair(p::CODE_CHALLENGE, &crate::secrets::pkce_s256(&verifier))
        .append_pair(p::CODE_CHALLENGE_METHOD, CODE_CHALLENGE_S256);
    for (name, value) in [
        (p::LOGIN_HINT, login_hint),
        (p::PROMPT, prompt),
        (p::MAX_AGE, max_age),
    ] {
        if let Some(value) = value {
            query.append_pair(name, value);
        }
    }
    let sep = if metadata.authorization_endpoint.contains('?') {
        '&'
    } else {
        '?'
    };
    let location = format!("{}{sep}{}", metadata.authorization_endpoint, query.finish());
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

/// This server's redirect URI at the upstream providers.
pub(crate) fn callback_uri(app: &AppState) -> String {
    format!("{}{}", app.issuer, paths::AUTHORIZE_CALLBACK)
}

/// The PKCE verifier and nonce sent upstream with `state`: derived from it with the server key,
/// so they need not be stored and cannot be computed from what the browser sees.
pub(crate) fn upstream_secrets(app: &AppState, state: &str) -> (String, String) {
    let b64 = |bytes: Vec<u8>| data_encoding::BASE64URL_NOPAD.encode(&bytes);
    (
        b64(app.hasher.hash("upstream_pkce_verifier", state)),
        b64(app.hasher.hash("upstream_nonce", state)),
    )
}

/// The upstream of the `login_hint`'s organisation when it is its only method.
fn only_upstream<'a>(app: &'a AppState, login_hint: Option<&str>) -> Option<&'a UpstreamConfig> {
    let domain = login_hint?.trim().rsplit_once('@')?.1.to_ascii_lowercase();
    let org = app.config.org_for_domain(&domain)?;
    match org.methods.as_slice() {
        [Method::Sso { provider, .. } | Method::Federated { provider, .. }] => {
            app.config.upstream(provider).map(|(u, _)| u)
        }
        _ => None,
    }
}

/// `redirect_to_web.url` for a method of `provider`: this endpoint with `idp` and `login_hint`
/// (none when no upstream of that id is configured).
pub(crate) fn web_url(app: &AppState, provider: &str, login_hint: &str) -> Option<String> {
    app.config.upstream(provider)?;
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair(p::IDP, provider)
        .append_pair(p::LOGIN_HINT, login_hint)
        .finish();
    Some(format!("{}{}?{query}", app.issuer, paths::AUTHORIZE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_match_exactly_or_loopback_with_any_port() {
        let registered = [
            "com.example.app:/cb".to_owned(),
            "https://app.example/cb".to_owned(),
            "http://127.0.0.1/callback".to_owned(),
        ];
        for ok in [
            "com.example.app:/cb",
            "https://app.example/cb",
            "http://127.0.0.1/callback",
            "http://127.0.0.1:53124/callback",
        ] {
            assert!(redirect_uri_registered(&registered, ok), "{ok}");
        }
        for refused in [
            "com.example.app:/cb/",
            "https://app.example/cb?x=1",
            "https://app.example:8443/cb",
            "http://127.0.0.1:53124/other",
            "http://localhost:53124/callback",
            "https://127.0.0.1:53124/callback",
            "",
        ] {
            assert!(!redirect_uri_registered(&registered, refused), "{refused}");
        }
    }
}
