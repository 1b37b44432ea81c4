//! The server as a relying party against a stand-in upstream it does not control
//! (`upstream/fake.rs`, its own keys): a good RS256 or ES256 ID token signs Carol in through
//! `/v1/authorize?idp=globex-okta`; every forged or wrong answer is refused with its exact
//! reason, as an `access_denied` redirect to the app or a plain page; a replayed callback, also
//! sent twice at once, succeeds once.

mod common;
mod upstream;

use common::*;
use serde_json::{json, Value};
use upstream::fake::{FakeUpstream, Faults};
use upstream::{claims_of, query_of, Browser, Landing};

const APP_REDIRECT: &str = "https://app.example/oauth/callback";
const UP_CLIENT: &str = "authcore-at-fake";

struct Setup {
    t: TestServer,
    fake: FakeUpstream,
    browser: Browser,
    pkce: Pkce,
}

async fn setup_with(faults: Faults, multi_tenant: bool, extra: &str) -> Setup {
    setup_methods(faults, multi_tenant, extra, false).await
}

/// `sso_only`: Globex offers only its SSO (no password).
async fn setup_methods(faults: Faults, multi_tenant: bool, extra: &str, sso_only: bool) -> Setup {
    let fake = FakeUpstream::start(faults, multi_tenant).await;
    let mut config = test_config();
    let text = format!(
        "id = \"globex-okta\"\nissuer = \"{}\"\nclient_id = \"{UP_CLIENT}\"\nclient_secret = \"s3cret\"\n\
         email_domains = [\"globex.example\"]\n{extra}",
        fake.issuer
    );
    let globex = config
        .orgs
        .iter_mut()
        .find(|o| o.domain == "globex.example")
        .unwrap();
    globex.upstreams = vec![toml::from_str(&text).unwrap()];
    if sso_only {
        globex.methods.retain(|m| m.name() == "sso");
    }
    let t = start_with(config, "sqlite::memory:", true).await;
    Setup {
        t,
        fake,
        browser: Browser::default(),
        pkce: pkce(),
    }
}

async fn setup(faults: Faults) -> Setup {
    setup_with(faults, false, "").await
}

fn carol_faults() -> Faults {
    Faults::good(UP_CLIENT, "okta-carol", CAROL.0)
}

impl Setup {
    fn authorize_url(&self, extra: &[(&str, &str)]) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.extend_pairs([
            ("response_type", "code"),
            ("client_id", CLIENT),
            ("redirect_uri", APP_REDIRECT),
            ("scope", "openid email profile"),
            ("state", "app-state-1"),
            ("nonce", "app-nonce-1"),
            ("code_challenge", self.pkce.challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("idp", "globex-okta"),
            ("login_hint", CAROL.0),
        ]);
        for (k, v) in extra {
            query.append_pair(k, v);
        }
        format!("{}/v1/authorize?{}", self.t.base, query.finish())
    }

    /// The whole walk to the app's redirect: its query.
    async fn walk(&self) -> std::collections::HashMap<String, String> {
        match self
            .browser
            .follow(&self.authorize_url(&[]), APP_REDIRECT)
            .await
        {
            Landing::Redirect(url) => query_of(&url),
            other => panic!("no redirect to the app: {other:?}"),
        }
    }

    /// The walk up to (not into) our callback: its URL.
    async fn callback_url(&self) -> String {
        let stop = format!("{}/v1/authorize/callback", self.t.base);
        match self.browser.follow(&self.authorize_url(&[]), &stop).await {
            Landing::Redirect(url) => url,
            other => panic!("no callback: {other:?}"),
        }
    }

    async fn refused_with(&self, description: &str) {
        let q = self.walk().await;
        assert_eq!(
            q.get("error").map(String::as_str),
            Some("access_denied"),
            "{q:?}"
        );
        assert_eq!(q["error_description"], description);
        assert_eq!(q["state"], "app-state-1");
        assert_eq!(q["iss"], self.t.base);
        assert!(!q.contains_key("code"));
    }

    async fn exchange(&self, code: &str, redirect_uri: &str) -> (u16, Value) {
        self.t
            .post_form(
                "/v1/token",
                &[
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("code_verifier", &self.pkce.verifier),
                    ("client_id", CLIENT),
                    ("redirect_uri", redirect_uri),
                ],
            )
            .await
    }
}

async fn signs_carol_in(s: &Setup) {
    let q = s.walk().await;
    assert_eq!(q["state"], "app-state-1", "{q:?}");
    assert_eq!(q["iss"], s.t.base);
    let code = q
        .get("code")
        .unwrap_or_else(|| panic!("no code: {q:?}"))
        .clone();
    // Bound to the authorization request's redirect_uri.
    let (status, body) = s
        .exchange(&code, "com.example.authcore:/oauth/callback")
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(
        body["error_description"],
        "redirect_uri must be the one of the authorization request"
    );
    let (status, tokens) = s.exchange(&code, APP_REDIRECT).await;
    assert_eq!(status, 200, "{tokens}");
    let claims = claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["iss"], s.t.base);
    assert_eq!(claims["aud"], CLIENT);
    assert_eq!(claims["nonce"], "app-nonce-1");
    assert_eq!(claims["email"], CAROL.0);
    assert_eq!(claims["amr"], json!([]));
    let access = tokens["access_token"].as_str().unwrap();
    let info: Value =
        s.t.http
            .get(format!("{}/v1/userinfo", s.t.base))
            .bearer_auth(access)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(info["email"], CAROL.0);
    assert_eq!(info["sub"], claims["sub"]);
    let history: Value =
        s.t.http
            .get(format!("{}/v1/me/sign-ins", s.t.base))
            .bearer_auth(access)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let last = &history["sign_ins"][0];
    assert_eq!(
        (last["method"].as_str(), last["result"].as_str()),
        (Some("sso"), Some("success")),
        "{history}"
    );
}

#[tokio::test]
async fn an_rs256_id_token_signs_carol_in_with_the_apps_nonce_and_a_bound_code() {
    signs_carol_in(&setup(carol_faults()).await).await;
}

#[tokio::test]
async fn an_es256_id_token_signs_carol_in() {
    let mut faults = carol_faults();
    faults.alg = "ES256";
    signs_carol_in(&setup(faults).await).await;
}

#[tokio::test]
async fn every_forged_or_wrong_id_token_is_refused_with_its_reason() {
    let s = setup(carol_faults()).await;
    type Fault = Box<dyn Fn(&mut Faults)>;
    let cases: Vec<(Fault, &str)> = vec![
        (Box::new(|f| f.nonce = Some("another".into())), "the provider's ID token is refused: its nonce is not the one this server sent"),
        (Box::new(|f| f.rogue_key = true), "the provider's ID token is refused: it is signed by a key the provider does not publish"),
        (Box::new(|f| f.alg = "none"), "the provider's ID token is refused: its alg none is not accepted (RS256 or ES256 only)"),
        (Box::new(|f| f.alg = "HS256"), "the provider's ID token is refused: its alg HS256 is not accepted (RS256 or ES256 only)"),
        (Box::new(|f| f.exp_in = -3600), "the provider's ID token is refused: it expired"),
        (Box::new(|f| f.aud = json!("someone-else")), "the provider's ID token is refused: its aud does not include this server's client_id"),
        (Box::new(|f| f.aud = json!([UP_CLIENT, "other"])), "the provider's ID token is refused: its azp is not this server's client_id"),
        (Box::new(|f| f.token_iss = Some("https://evil.example".into())), "the provider's ID token is refused: its iss is not the provider's issuer"),
        (Box::new(|f| f.email_verified = json!(false)), "the provider did not assert that the email is verified (email_verified is not true)"),
        (Box::new(|f| { f.sub = "okta-mallory".into(); f.email = "mallory@acme.example".into() }), "the provider may not sign in mallory@acme.example: its domain is not one of this organisation's"),
        (Box::new(|f| { f.sub = "okta-newbie".into(); f.email = "newbie@globex.example".into() }), "there is no account for newbie@globex.example and this provider does not create accounts"),
        (Box::new(|f| f.iss_param = Some("https://evil.example".into())), "the answer's iss is not the provider's issuer (an answer from another provider)"),
        (Box::new(|f| f.iss_param = Some(String::new())), "the provider's answer has no iss though the provider sends one"),
        (Box::new(|f| { f.deny = true; f.iss_param = Some("https://evil.example".into()) }), "the answer's iss is not the provider's issuer (an answer from another provider)"),
        (Box::new(|f| f.deny = true), "the provider refused the sign-in: access_denied"),
        (Box::new(|f| f.userinfo_only = Some("okta-someone-else".into())), "the provider's userinfo is about another subject than its ID token"),
        (Box::new(|f| { f.userinfo_only = Some("okta-carol".into()); f.email_verified = json!("false") }), "the provider did not assert that the email is verified (email_verified is not true)"),
    ];
    for (fault, description) in cases {
        s.fake.set(|f| *f = carol_faults());
        s.fake.set(|f| fault(f));
        s.refused_with(description).await;
    }
    // And the good one still works after all that.
    s.fake.set(|f| *f = carol_faults());
    signs_carol_in(&s).await;
}

#[tokio::test]
async fn a_rotated_upstream_key_is_fetched_when_a_token_names_it() {
    let s = setup(carol_faults()).await;
    signs_carol_in(&s).await;
    s.fake.set(|f| f.rotated = true);
    // The set was fetched under 10 s ago: not again, so the new kid is not known yet.
    s.refused_with(
        "the provider's ID token is refused: it is signed by a key the provider does not publish",
    )
    .await;
    s.t.server.clock().advance(11);
    signs_carol_in(&s).await;
}

#[tokio::test]
async fn the_email_may_come_from_userinfo_for_the_same_subject() {
    let mut faults = carol_faults();
    faults.userinfo_only = Some("okta-carol".into());
    signs_carol_in(&setup(faults).await).await;
}

#[tokio::test]
async fn without_idp_the_login_hints_organisation_decides() {
    let s = setup(carol_faults()).await;
    // Globex also offers a password: that is the browser sign-in form, not built yet.
    let url = s.authorize_url(&[]).replace("idp=globex-okta&", "");
    let (status, html) = page_of(&s, &url).await;
    assert_eq!(status, 200);
    assert!(
        html.contains(
            "The browser sign-in form is not available yet: this account signs in from the app."
        ),
        "{html}"
    );
    // Only its SSO: straight upstream.
    let s = setup_methods(carol_faults(), false, "", true).await;
    let url = s.authorize_url(&[]).replace("idp=globex-okta&", "");
    match s.browser.follow(&url, APP_REDIRECT).await {
        Landing::Redirect(url) => assert!(query_of(&url).contains_key("code"), "{url}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_multi_tenant_token_must_match_its_tid_and_an_allowed_tenant() {
    let mut faults = carol_faults();
    faults.tid = Some("tenant-a".into());
    let s = setup_with(faults, true, "allowed_tenants = [\"tenant-a\"]").await;
    signs_carol_in(&s).await;
    // The issuer of tenant-a with the tid of tenant-b: a token of another tenant dressed up.
    s.fake.set(|f| {
        f.tid = Some("tenant-b".into());
        f.iss_param = Some(s.fake.issuer.replace("{tenantid}", "tenant-a"));
        f.token_iss = Some(s.fake.issuer.replace("{tenantid}", "tenant-a"));
    });
    s.refused_with("the provider's ID token is refused: its tid does not match its issuer")
        .await;
    // The answer names tenant-c, the token tenant-a: one of them is another tenant's.
    s.fake.set(|f| {
        f.tid = Some("tenant-a".into());
        f.iss_param = Some(s.fake.issuer.replace("{tenantid}", "tenant-c"));
        f.token_iss = None;
    });
    s.refused_with(
        "the answer's iss is not the provider's issuer (an answer from another provider)",
    )
    .await;
    s.fake.set(|f| {
        f.tid = Some("tenant-b".into());
        f.iss_param = None;
        f.token_iss = None;
    });
    s.refused_with(
        "the provider's ID token is refused: its tenant is not one this organisation allows",
    )
    .await;
}

#[tokio::test]
async fn a_verified_email_of_no_account_gets_one_when_the_upstream_may_create_users() {
    let mut faults = carol_faults();
    faults.sub = "okta-newbie".into();
    faults.email = "newbie@globex.example".into();
    let s = setup_with(faults, false, "create_users = true").await;
    let q = s.walk().await;
    let (status, tokens) = s.exchange(&q["code"], APP_REDIRECT).await;
    assert_eq!(status, 200, "{tokens}");
    let claims = claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["email"], "newbie@globex.example");
    assert_eq!(claims["name"], "Upstream User");
    // The link is the upstream subject: a later email change upstream keeps the account.
    s.fake
        .set(|f| f.email = "newbie.renamed@globex.example".into());
    let q = s.walk().await;
    let (_, again) = s.exchange(&q["code"], APP_REDIRECT).await;
    assert_eq!(
        claims_of(again["id_token"].as_str().unwrap())["sub"],
        claims["sub"]
    );
}

async fn page_of(s: &Setup, url: &str) -> (u16, String) {
    match s.browser.follow(url, APP_REDIRECT).await {
        Landing::Page(status, html) => (status, html),
        other => panic!("not a page: {other:?}"),
    }
}

#[tokio::test]
async fn a_replayed_or_unknown_callback_is_a_plain_page() {
    let s = setup(carol_faults()).await;
    let callback = s.callback_url().await;
    assert!(matches!(
        s.browser.follow(&callback, APP_REDIRECT).await,
        Landing::Redirect(_)
    ));
    let (status, html) = page_of(&s, &callback).await;
    assert_eq!(status, 400);
    assert!(html.contains("This sign-in was already completed (the provider&#39;s answer was used before); start again from the app.") || html.contains("This sign-in was already completed (the provider's answer was used before); start again from the app."), "{html}");
    // A state this server never sent (a state mismatch).
    let forged = callback.replace("state=us_", "state=us_x");
    let (status, html) = page_of(&s, &forged).await;
    assert_eq!(status, 400);
    assert!(
        html.contains("does not belong to a sign-in started here (unknown state)"),
        "{html}"
    );
}

#[tokio::test]
async fn a_callback_after_ten_minutes_is_a_plain_page() {
    let s = setup(carol_faults()).await;
    let callback = s.callback_url().await;
    s.t.server.clock().advance(601);
    let (status, html) = page_of(&s, &callback).await;
    assert_eq!(status, 400);
    assert!(
        html.contains("This sign-in took too long and expired; start again from the app."),
        "{html}"
    );
}

#[tokio::test]
async fn an_unreachable_upstream_is_temporarily_unavailable_for_the_app() {
    let s = setup(carol_faults()).await;
    // Another upstream whose issuer nothing listens on.
    let mut config = test_config();
    let globex = config
        .orgs
        .iter_mut()
        .find(|o| o.domain == "globex.example")
        .unwrap();
    globex.upstreams = vec![toml::from_str(
        "id = \"globex-okta\"\nissuer = \"http://127.0.0.1:1\"\nclient_id = \"c\"",
    )
    .unwrap()];
    let t = start_with(config, "sqlite::memory:", true).await;
    let url = s.authorize_url(&[]).replace(&s.t.base, &t.base);
    let q = match s.browser.follow(&url, APP_REDIRECT).await {
        Landing::Redirect(url) => query_of(&url),
        other => panic!("{other:?}"),
    };
    assert_eq!(q["error"], "temporarily_unavailable");
    assert_eq!(
        q["error_description"],
        "the provider globex-okta cannot be reached"
    );
    assert_eq!(
        (q["state"].as_str(), q["iss"].as_str()),
        ("app-state-1", t.base.as_str())
    );
}

#[tokio::test]
async fn the_same_callback_sent_twice_at_once_succeeds_once() {
    let s = setup(carol_faults()).await;
    let callback = s.callback_url().await;
    let (a, b) = tokio::join!(
        s.browser.follow(&callback, APP_REDIRECT),
        s.browser.follow(&callback, APP_REDIRECT)
    );
    let outcomes = [a, b];
    let codes = outcomes
        .iter()
        .filter(|l| matches!(l, Landing::Redirect(url) if query_of(url).contains_key("code")))
        .count();
    let pages = outcomes
        .iter()
        .filter(|l| matches!(l, Landing::Page(400, html) if html.contains("already completed")))
        .count();
    assert_eq!((codes, pages), (1, 1), "{outcomes:?}");
}

#[tokio::test]
async fn bad_authorization_requests_are_refused_with_their_reason() {
    let s = setup(carol_faults()).await;
    // Not redirectable: a plain page.
    let unregistered = s.authorize_url(&[]).replace(
        "https%3A%2F%2Fapp.example%2Foauth%2Fcallback",
        "https%3A%2F%2Fevil.example%2Fcb",
    );
    let (status, html) = page_of(&s, &unregistered).await;
    assert_eq!(status, 400);
    assert!(html.contains("The address to return to (redirect_uri) is missing or not registered for this application."), "{html}");
    let unknown_client = s.authorize_url(&[]).replace(CLIENT, "nobody");
    let (status, html) = page_of(&s, &unknown_client).await;
    assert_eq!(status, 400);
    assert!(
        html.contains("(client_id) is not registered with this server."),
        "{html}"
    );
    // Redirectable: back to the app.
    for (from, to, error, description) in [
        (
            "code_challenge_method=S256",
            "code_challenge_method=plain",
            "invalid_request",
            "code_challenge_method must be S256",
        ),
        (
            "&code_challenge_method=S256",
            "",
            "invalid_request",
            "code_challenge_method must be S256",
        ),
        (
            "response_type=code",
            "response_type=token",
            "unsupported_response_type",
            "response_type must be code",
        ),
        (
            "idp=globex-okta",
            "idp=nope",
            "invalid_request",
            "idp `nope` is not a provider of this server",
        ),
        (
            "scope=openid",
            "scope=openid+offline",
            "invalid_scope",
            "scope `offline` is not supported; the scopes are openid profile email phone",
        ),
    ] {
        let url = s.authorize_url(&[]).replace(from, to);
        let q = match s.browser.follow(&url, APP_REDIRECT).await {
            Landing::Redirect(url) => query_of(&url),
            other => panic!("{from}: {other:?}"),
        };
        assert_eq!(
            (q["error"].as_str(), q["error_description"].as_str()),
            (error, description),
            "{from}"
        );
        assert_eq!(
            (q["state"].as_str(), q["iss"].as_str()),
            ("app-state-1", s.t.base.as_str())
        );
    }
    // A loopback redirect URI matches with any port (RFC 8252 7.3).
    let loopback = s
        .authorize_url(&[])
        .replace(CLIENT, "authcore-harness")
        .replace(
            "https%3A%2F%2Fapp.example%2Foauth%2Fcallback",
            "http%3A%2F%2F127.0.0.1%3A49152%2Fcallback",
        );
    match s
        .browser
        .follow(&loopback, "http://127.0.0.1:49152/callback")
        .await
    {
        Landing::Redirect(url) => assert!(query_of(&url).contains_key("code"), "{url}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn redirect_to_web_carries_the_authorize_url() {
    let s = setup(carol_faults()).await;
    let (status, body) =
        s.t.post_form(
            "/v1/authorize-challenge",
            &[
                ("client_id", CLIENT),
                ("identifier", CAROL.0),
                ("code_challenge", &s.pkce.challenge),
                ("code_challenge_method", "S256"),
                ("method", "sso"),
            ],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("redirect_to_web"))
    );
    assert_eq!(body["provider"], "globex-okta");
    assert_eq!(
        body["url"],
        format!(
            "{}/v1/authorize?idp=globex-okta&login_hint=carol%40globex.example",
            s.t.base
        )
    );
    // Discovery names the endpoint and RFC 9207.
    let d: Value =
        s.t.http
            .get(format!("{}/.well-known/openid-configuration", s.t.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(
        d["authorization_endpoint"],
        format!("{}/v1/authorize", s.t.base)
    );
    assert_eq!(d["authorization_response_iss_parameter_supported"], true);
}
