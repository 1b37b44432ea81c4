//! End to end, headless, against a real upstream: node `oidc-provider` 8.8.1 (scripts/setup-node.sh,
//! `upstream/provider.js`) as Globex's SSO. A cookie-jar browser goes from the app's
//! `/v1/authorize?idp=globex-okta` through oidc-provider's login and consent forms and our
//! callback to the app's redirect; the app exchanges the code for tokens, checks the ID token
//! and reads userinfo. Account linking by email, user creation when the upstream may create
//! users and its refusal when not, an unverified email and a cancelled sign-in.

mod common;
mod upstream;

use common::*;
use serde_json::Value;
use upstream::{claims_of, globex_with_node, query_of, Browser, Landing, NodeProvider};

const APP_REDIRECT: &str = "com.example.authcore:/oauth/callback";

struct Setup {
    t: TestServer,
    node: NodeProvider,
    browser: Browser,
    pkce: Pkce,
}

async fn setup(extra: &str, secret: Option<&str>) -> Setup {
    let (t, node) = globex_with_node(extra, secret).await;
    Setup {
        t,
        node,
        browser: Browser::default(),
        pkce: pkce(),
    }
}

impl Setup {
    fn authorize_url(&self, login_hint: &str) -> String {
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("response_type", "code"),
                ("client_id", CLIENT),
                ("redirect_uri", APP_REDIRECT),
                ("scope", "openid email profile"),
                ("state", "st-42"),
                ("nonce", "n-42"),
                ("code_challenge", self.pkce.challenge.as_str()),
                ("code_challenge_method", "S256"),
                ("idp", "globex-okta"),
                ("login_hint", login_hint),
            ])
            .finish();
        format!("{}/v1/authorize?{query}", self.t.base)
    }

    /// Signs in upstream as `sub`: the app's redirect query.
    async fn sign_in(
        &self,
        sub: &str,
        login_hint: &str,
    ) -> std::collections::HashMap<String, String> {
        match self
            .browser
            .sign_in_upstream(&self.authorize_url(login_hint), sub, APP_REDIRECT)
            .await
        {
            Landing::Redirect(url) => query_of(&url),
            Landing::Page(status, html) => panic!("stopped at a page ({status}): {html}"),
        }
    }

    async fn tokens(&self, code: &str) -> (u16, Value) {
        self.t
            .post_form(
                "/v1/token",
                &[
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("code_verifier", &self.pkce.verifier),
                    ("client_id", CLIENT),
                    ("redirect_uri", APP_REDIRECT),
                ],
            )
            .await
    }
}

#[tokio::test]
async fn carol_signs_in_through_oidc_provider_and_the_app_gets_tokens() {
    let s = setup("", Some("rp-secret-1")).await;
    let q = s.sign_in("okta-carol", CAROL.0).await;
    assert_eq!(q["state"], "st-42", "{q:?}");
    assert_eq!(q["iss"], s.t.base);
    let (status, tokens) = s.tokens(&q["code"]).await;
    assert_eq!(status, 200, "{tokens}");
    let claims = claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["iss"], s.t.base);
    assert_eq!(claims["aud"], CLIENT);
    assert_eq!(claims["nonce"], "n-42");
    assert_eq!(claims["email"], CAROL.0);
    assert_eq!(claims["email_verified"], true);
    // Linked to the existing account: its name, not the upstream's.
    assert_eq!(claims["name"], "Carol Globex");
    let info: Value =
        s.t.http
            .get(format!("{}/v1/userinfo", s.t.base))
            .bearer_auth(tokens["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(info["sub"], claims["sub"]);
    assert_eq!(info["email"], CAROL.0);
    // The code is single use.
    let (status, body) = s.tokens(&q["code"]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn a_new_globex_address_gets_an_account_only_when_the_upstream_may_create_users() {
    let refusing = setup("", Some("rp-secret-2")).await;
    let q = refusing
        .sign_in("okta-newbie", "newbie@globex.example")
        .await;
    assert_eq!(q["error"], "access_denied", "{q:?}");
    assert_eq!(
        q["error_description"],
        "there is no account for newbie@globex.example and this provider does not create accounts"
    );
    assert_eq!(q["state"], "st-42");

    // A public client (PKCE only) that may create users.
    let creating = setup("create_users = true\n", None).await;
    let q = creating
        .sign_in("okta-newbie", "newbie@globex.example")
        .await;
    let (status, tokens) = creating.tokens(&q["code"]).await;
    assert_eq!(status, 200, "{tokens} {q:?}");
    let claims = claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["email"], "newbie@globex.example");
    assert_eq!(claims["name"], "New Bie");
}

#[tokio::test]
async fn an_unverified_email_and_a_cancelled_sign_in_go_back_to_the_app_refused() {
    let s = setup("", Some("rp-secret-3")).await;
    let q = s.sign_in("okta-dave", DAVE.0).await;
    assert_eq!(q["error"], "access_denied", "{q:?}");
    assert_eq!(
        q["error_description"],
        "the provider did not assert that the email is verified (email_verified is not true)"
    );
    // "Cancel" on oidc-provider's login page.
    let browser = Browser::default();
    let Landing::Page(200, html) = browser
        .follow(&s.authorize_url(CAROL.0), APP_REDIRECT)
        .await
    else {
        panic!("no login page");
    };
    let at = html.find("/abort\"").expect("a cancel link");
    let start = html[..at].rfind("href=\"").unwrap() + "href=\"".len();
    let abort = &html[start..at + "/abort".len()];
    let abort = if abort.starts_with("http") {
        abort.to_owned()
    } else {
        format!("{}{abort}", s.node.issuer)
    };
    let Landing::Redirect(url) = browser.follow(&abort, APP_REDIRECT).await else {
        panic!("cancel did not go back to the app");
    };
    let q = query_of(&url);
    assert_eq!(q["error"], "access_denied");
    assert_eq!(
        q["error_description"],
        "the provider refused the sign-in: access_denied"
    );
    assert_eq!(
        (q["state"].as_str(), q["iss"].as_str()),
        ("st-42", s.t.base.as_str())
    );
}
