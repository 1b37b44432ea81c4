//! The server as an OpenID provider: ID tokens from the native sign-in (every claim), userinfo by
//! scope, discovery, the JWK set and key rotation, RP-initiated logout, and every bad input.

mod common;

use authcore_server::config::IdTokenKeyConfig;
use authcore_server::Config;
use common::*;
use serde_json::Value;

/// An ID token's header and claims, after its signature verified under a key of `jwks`.
fn verified(jwt: &str, jwks: &Value) -> (Value, Value) {
    let b64 = |part: &str| {
        data_encoding::BASE64URL_NOPAD
            .decode(part.as_bytes())
            .unwrap()
    };
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3, "a compact JWS");
    let header: Value = serde_json::from_slice(&b64(parts[0])).unwrap();
    let claims: Value = serde_json::from_slice(&b64(parts[1])).unwrap();
    let kid = header["kid"].as_str().unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid)
        .unwrap_or_else(|| panic!("kid {kid} is not in the JWK set"));
    let point = [
        &[4u8][..],
        &b64(jwk["x"].as_str().unwrap()),
        &b64(jwk["y"].as_str().unwrap()),
    ]
    .concat();
    ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, point)
        .verify(
            format!("{}.{}", parts[0], parts[1]).as_bytes(),
            &b64(parts[2]),
        )
        .expect("the signature verifies under the published key");
    (header, claims)
}

impl TestServer {
    async fn jwks(&self) -> Value {
        let (status, jwks) = self.get("/v1/jwks", None).await;
        assert_eq!(status, 200, "{jwks}");
        jwks
    }

    /// A password sign-in (no further step) with `extra` first-request parameters; the token
    /// answer.
    async fn sign_in_with(&self, user: (&str, &str), extra: &[(&str, &str)]) -> Value {
        let pkce = pkce();
        let mut form = vec![("password", user.1)];
        form.extend_from_slice(extra);
        let (status, body) = self.begin(user.0, &pkce, &form).await;
        assert_eq!(status, 200, "{body}");
        let (status, tokens) = self
            .post_form(
                "/v1/token",
                &[
                    ("grant_type", "authorization_code"),
                    ("client_id", CLIENT),
                    ("code", body["authorization_code"].as_str().unwrap()),
                    ("code_verifier", &pkce.verifier),
                ],
            )
            .await;
        assert_eq!(status, 200, "{tokens}");
        tokens
    }
}

#[tokio::test]
async fn alice_signs_in_with_openid_and_gets_an_id_token_with_every_claim() {
    let t = start().await;
    let before = t.now();
    let tokens = t
        .sign_in_with(
            ALICE,
            &[("scope", "openid profile email"), ("nonce", "n-0S6_WzA2Mj")],
        )
        .await;
    let (header, claims) = verified(tokens["id_token"].as_str().unwrap(), &t.jwks().await);
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["typ"], "JWT");
    let (_, userinfo) = t.get("/v1/userinfo", tokens["access_token"].as_str()).await;
    assert_eq!(claims["iss"], t.base.as_str());
    assert_eq!(claims["sub"], userinfo["sub"]);
    assert_eq!(claims["aud"], CLIENT);
    let iat = claims["iat"].as_u64().unwrap();
    assert!(iat >= before);
    assert_eq!(claims["exp"].as_u64().unwrap(), iat + 3600);
    assert!(claims["auth_time"].as_u64().unwrap() <= iat);
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
    assert!(
        claims.get("acr").is_none(),
        "one factor is not mfa: {claims}"
    );
    assert_eq!(claims["sid"], tokens["session_id"]);
    assert_eq!(claims["email"], ALICE.0);
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["name"], userinfo["name"]);
    assert!(claims.get("phone_number").is_none(), "phone was not asked");
}

#[tokio::test]
async fn bob_with_totp_gets_amr_otp_and_acr_mfa() {
    let t = start().await;
    let pkce = pkce();
    let (status, body) = t
        .begin(BOB.0, &pkce, &[("password", BOB.1), ("scope", "openid")])
        .await;
    assert_eq!(status, 400, "{body}");
    let code = totp_now(BOB_TOTP, t.now());
    let (status, body) = t
        .step(&session_of(&body), &[("method", "totp"), ("code", &code)])
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, tokens) = t
        .post_form(
            "/v1/token",
            &[
                ("grant_type", "authorization_code"),
                ("client_id", CLIENT),
                ("code", body["authorization_code"].as_str().unwrap()),
                ("code_verifier", &pkce.verifier),
            ],
        )
        .await;
    assert_eq!(status, 200, "{tokens}");
    let (_, claims) = verified(tokens["id_token"].as_str().unwrap(), &t.jwks().await);
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert_eq!(claims["acr"], "mfa");
    assert!(claims.get("nonce").is_none(), "no nonce was sent");
    assert!(
        claims.get("email").is_none(),
        "only openid was asked: {claims}"
    );
}

#[tokio::test]
async fn a_sign_in_without_scope_gets_no_id_token_and_the_native_userinfo() {
    let t = start().await;
    let tokens = t.sign_in_with(ALICE, &[]).await;
    assert!(tokens.get("id_token").is_none(), "{tokens}");
    let (status, info) = t.get("/v1/userinfo", tokens["access_token"].as_str()).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["email"], ALICE.0);
    assert_eq!(info["email_verified"], true);
    assert!(info["name"].is_string());
    // What the core reads: the protocol's UserInfo.
    let parsed: authcore_protocol::account::UserInfo = serde_json::from_value(info).unwrap();
    assert_eq!(parsed.email, ALICE.0);
}

#[tokio::test]
async fn userinfo_returns_only_the_claims_of_the_granted_scopes() {
    let t = start().await;
    let tokens = t.sign_in_with(ALICE, &[("scope", "openid email")]).await;
    let (status, info) = t.get("/v1/userinfo", tokens["access_token"].as_str()).await;
    assert_eq!(status, 200, "{info}");
    let keys: Vec<&str> = info
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["email", "email_verified", "sub"]);
    let phone_only = t.sign_in_with(ALICE, &[("scope", "phone")]).await;
    assert!(
        phone_only.get("id_token").is_none(),
        "no openid: {phone_only}"
    );
    let (_, info) = t
        .get("/v1/userinfo", phone_only["access_token"].as_str())
        .await;
    assert!(info.get("email").is_none(), "{info}");
    assert!(info.get("name").is_none(), "{info}");
}

#[tokio::test]
async fn a_refresh_returns_a_new_id_token_without_nonce_and_the_same_auth_time() {
    let t = start().await;
    let tokens = t
        .sign_in_with(ALICE, &[("scope", "openid"), ("nonce", "abc")])
        .await;
    let jwks = t.jwks().await;
    let (_, first) = verified(tokens["id_token"].as_str().unwrap(), &jwks);
    t.server.clock().advance(120);
    let (status, refreshed) = t
        .refresh(tokens["refresh_token"].as_str().unwrap().to_owned())
        .await;
    assert_eq!(status, 200, "{refreshed}");
    let (_, second) = verified(refreshed["id_token"].as_str().unwrap(), &jwks);
    assert!(second.get("nonce").is_none(), "{second}");
    assert_eq!(second["auth_time"], first["auth_time"]);
    assert_eq!(second["sid"], first["sid"]);
    assert!(second["iat"].as_u64().unwrap() >= first["iat"].as_u64().unwrap() + 120);
}

#[tokio::test]
async fn unknown_scopes_and_bad_nonces_are_refused_with_exact_errors() {
    let t = start().await;
    let pkce = pkce();
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
    let long = "n".repeat(256);
    let cases: [Case; 3] = [
        (
            &[("scope", "openid offline_access")],
            "invalid_scope",
            "scope `offline_access` is not supported; the scopes are openid profile email phone",
        ),
        (
            &[("nonce", &long)],
            "invalid_request",
            "nonce must be at most 255 printable ASCII characters",
        ),
        (
            &[("nonce", "caf\u{e9}")],
            "invalid_request",
            "nonce must be at most 255 printable ASCII characters",
        ),
    ];
    for (extra, error, description) in cases {
        let (status, body) = t.begin(ALICE.0, &pkce, extra).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"], error);
        assert_eq!(body["error_description"], description);
        assert!(body.get("auth_session").is_none(), "{body}");
    }
}

#[tokio::test]
async fn discovery_lists_what_an_openid_client_needs() {
    let t = start().await;
    let (status, d) = t.get("/.well-known/openid-configuration", None).await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["issuer"], t.base.as_str());
    assert_eq!(d["jwks_uri"], format!("{}/v1/jwks", t.base));
    assert_eq!(
        d["end_session_endpoint"],
        format!("{}/v1/end-session", t.base)
    );
    assert_eq!(d["logout_endpoint"], format!("{}/v1/logout", t.base));
    assert_eq!(
        d["id_token_signing_alg_values_supported"],
        serde_json::json!(["ES256"])
    );
    assert_eq!(
        d["scopes_supported"],
        serde_json::json!(["openid", "profile", "email", "phone"])
    );
    assert_eq!(d["subject_types_supported"], serde_json::json!(["public"]));
    assert_eq!(
        d["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(d["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(
        d["token_endpoint_auth_methods_supported"],
        serde_json::json!(["none"])
    );
    assert_eq!(d["authorization_response_iss_parameter_supported"], true);
    for claim in [
        "sub",
        "auth_time",
        "nonce",
        "amr",
        "acr",
        "sid",
        "email_verified",
    ] {
        assert!(
            d["claims_supported"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c == claim),
            "{claim}"
        );
    }
    assert_eq!(
        d["authorization_endpoint"],
        format!("{}/v1/authorize", t.base)
    );
}

/// A new P-256 key file (PKCS#8 PEM, mode 0600) in `dir`.
fn key_file(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    let pkcs8 = ring::signature::EcdsaKeyPair::generate_pkcs8(
        &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        &ring::rand::SystemRandom::new(),
    )
    .unwrap();
    let body = data_encoding::BASE64.encode(pkcs8.as_ref());
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|l| std::str::from_utf8(l).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    );
    let path = dir.join(name);
    std::fs::write(&path, pem).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    path
}

fn with_keys(keys: &[(&str, &std::path::Path, bool)]) -> Config {
    let mut config = test_config();
    config.issuer = Some("https://id.acme.example".into());
    config.id_token_keys = keys
        .iter()
        .map(|(kid, file, active)| IdTokenKeyConfig {
            kid: (*kid).into(),
            file: file.to_path_buf(),
            active: *active,
        })
        .collect();
    config
}

#[tokio::test]
async fn after_a_rotation_old_tokens_still_verify_and_a_dropped_key_does_not() {
    let dir = temp_path("oidc-rotation");
    let (k1, k2) = (key_file(&dir, "k1.pem"), key_file(&dir, "k2.pem"));
    let before = start_with(with_keys(&[("k1", &k1, true)]), "sqlite::memory:", true).await;
    let tokens = before.sign_in_with(ALICE, &[("scope", "openid")]).await;
    let old = tokens["id_token"].as_str().unwrap().to_owned();
    assert_eq!(verified(&old, &before.jwks().await).0["kid"], "k1");

    // Rotation: k2 signs, k1 stays published.
    let rotated = start_with(
        with_keys(&[("k1", &k1, false), ("k2", &k2, true)]),
        "sqlite::memory:",
        true,
    )
    .await;
    let jwks = rotated.jwks().await;
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, ["k2", "k1"], "the active key first");
    verified(&old, &jwks);
    let new = rotated.sign_in_with(ALICE, &[("scope", "openid")]).await;
    assert_eq!(
        verified(new["id_token"].as_str().unwrap(), &jwks).0["kid"],
        "k2"
    );
    let (status, _) = rotated
        .get(&format!("/v1/end-session?id_token_hint={old}"), None)
        .await;
    assert_eq!(status, 200, "the old key's token is still a valid hint");

    // k1 retired: its tokens no longer verify.
    let retired = start_with(with_keys(&[("k2", &k2, true)]), "sqlite::memory:", true).await;
    let jwks = retired.jwks().await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    assert!(
        !jwks["keys"][0].as_object().unwrap().contains_key("d"),
        "no private part"
    );
    let (status, body) = retired
        .get(&format!("/v1/end-session?id_token_hint={old}"), None)
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["error_description"],
        "id_token_hint is refused: it is signed by a key this server does not publish"
    );
}

#[tokio::test]
async fn a_file_database_keeps_its_generated_signing_key_across_restarts() {
    let dir = temp_path("oidc-default-key");
    let db = format!("sqlite://{}?mode=rwc", dir.join("authcore.db").display());
    let first = start_with(test_config(), &db, true).await;
    let kid = first.jwks().await["keys"][0]["kid"].clone();
    first.server.shutdown().await;
    let file = dir.join("authcore.db.id-token-key.pem");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let second = start_with(test_config(), &db, true).await;
    assert_eq!(second.jwks().await["keys"][0]["kid"], kid);
    assert_eq!(kid.as_str().unwrap().len(), 43, "an RFC 7638 thumbprint");
}

#[tokio::test]
async fn bad_signing_key_configs_are_refused_with_exact_errors() {
    let dir = temp_path("oidc-bad-keys");
    let k1 = key_file(&dir, "k1.pem");
    let toml = |keys: &str| format!("{}\n{keys}", demo_toml());
    let invalid = |text: String| match Config::from_toml(&text) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("accepted"),
    };
    let file = k1.display();
    assert_eq!(
        invalid(toml(&format!(
            "[[id_token_keys]]\nkid = \"a\"\nfile = \"{file}\"\nactive = true\n[[id_token_keys]]\nkid = \"b\"\nfile = \"{file}\"\nactive = true\n"
        ))),
        "config is not valid: id_token_keys: exactly one key must be active (found 2)"
    );
    assert_eq!(
        invalid(toml(&format!(
            "[[id_token_keys]]\nkid = \"a b\"\nfile = \"{file}\"\nactive = true\n"
        ))),
        "config is not valid: id_token_keys: kid \"a b\" must be 1 to 64 characters of A-Z a-z 0-9 - _ ."
    );
    let not_pem = dir.join("not.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&not_pem, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let mut options = authcore_server::ServerOptions::new(
        with_keys(&[("a", &not_pem, true)]),
        "sqlite::memory:",
        "127.0.0.1:0".parse().unwrap(),
    );
    options.dev = false;
    let error = authcore_server::start(options)
        .await
        .err()
        .unwrap()
        .to_string();
    assert_eq!(
        error,
        format!(
            "id_token_keys \"a\" {}: not a P-256 private key in PKCS#8 PEM (-----BEGIN PRIVATE KEY-----)",
            not_pem.display()
        )
    );
}

#[tokio::test]
async fn end_session_signs_out_and_redirects_to_the_registered_uri_with_state() {
    let t = start().await;
    let tokens = t.sign_in_with(ALICE, &[("scope", "openid")]).await;
    let hint = tokens["id_token"].as_str().unwrap();
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = no_redirects
        .get(format!("{}/v1/end-session", t.base))
        .query(&[
            ("id_token_hint", hint),
            ("post_logout_redirect_uri", "https://app.example/signed-out"),
            ("state", "xyz 1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(
        response.headers()["location"],
        "https://app.example/signed-out?state=xyz+1"
    );
    let (status, body) = t
        .refresh(tokens["refresh_token"].as_str().unwrap().to_owned())
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error_description"], "the refresh token is not known");
    let (status, _) = t.get("/v1/userinfo", tokens["access_token"].as_str()).await;
    assert_eq!(status, 401);

    // Without a redirect (POST form): a plain page; an expired hint is still accepted.
    let other = t.sign_in_with(ALICE, &[("scope", "openid")]).await;
    t.server.clock().advance(7200);
    let page = t
        .http
        .post(format!("{}/v1/end-session", t.base))
        .form(&[("id_token_hint", other["id_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(page.text().await.unwrap().contains("You are signed out"));
}

#[tokio::test]
async fn end_session_refusals_are_exact_and_never_a_500() {
    let t = start().await;
    let tokens = t.sign_in_with(ALICE, &[("scope", "openid")]).await;
    let hint = tokens["id_token"].as_str().unwrap();
    // The signature's first character changed: still base64url (a last character can carry
    // padding bits a strict decoder refuses), no longer the signature.
    let (signed, signature) = hint.rsplit_once('.').unwrap();
    let swapped = if signature.starts_with('A') { 'B' } else { 'A' };
    let tampered = format!("{signed}.{swapped}{}", &signature[1..]);
    let b64 = |v: &str| data_encoding::BASE64URL_NOPAD.encode(v.as_bytes());
    let alg_none = format!(
        "{}.{}.",
        b64(r#"{"alg":"none"}"#),
        hint.split('.').nth(1).unwrap()
    );
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![], "`id_token_hint` is required: it names the session to end (this server keeps no browser session)"),
        (vec![("id_token_hint", "not-a-jwt")], "id_token_hint is refused: it is not a JWT (three base64url parts of JSON)"),
        (vec![("id_token_hint", &tampered)], "id_token_hint is refused: its signature does not verify"),
        (vec![("id_token_hint", &alg_none)], "id_token_hint is refused: its alg must be ES256"),
        (vec![("id_token_hint", hint), ("client_id", "authcore-harness")], "client_id is not the audience of the id_token_hint"),
        (vec![("id_token_hint", hint), ("post_logout_redirect_uri", "https://evil.example/")], "post_logout_redirect_uri is not registered for this client"),
        (vec![("id_token_hint", hint), ("post_logout_redirect_uri", "https://app.example/signed-out/")], "post_logout_redirect_uri is not registered for this client"),
    ];
    for (form, description) in cases {
        let (status, body) = t.post_form("/v1/end-session", &form).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"], "invalid_request");
        assert_eq!(body["error_description"], description);
    }
    // None of them ended the session.
    let (status, _) = t.get("/v1/userinfo", tokens["access_token"].as_str()).await;
    assert_eq!(status, 200);
}
