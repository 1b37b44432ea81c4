//! Test support: the demo server in-process on 127.0.0.1:0 and a small protocol client.
#![allow(dead_code)]

use std::path::PathBuf;

use authcore_server::{Config, RunningServer, ServerOptions};
use serde_json::Value;

pub const CLIENT: &str = "authcore-demo-app";
pub const ALICE: (&str, &str) = ("alice@acme.example", "alice-demo-password");
pub const BOB: (&str, &str) = ("bob@acme.example", "bob-demo-password");
pub const BOB_TOTP: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
pub const CAROL: (&str, &str) = ("carol@globex.example", "carol-demo-password");
pub const CAROL_TOTP: &str = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU";
pub const DAVE: (&str, &str) = ("dave@globex.example", "dave-demo-password");

pub fn demo_toml() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/demo.toml");
    std::fs::read_to_string(path).expect("demo.toml is readable")
}

/// demo.toml with argon2 made cheap (tests hash a lot; the parameters are config anyway), as
/// it is: Globex's users sign in only at `login.globex.example`.
pub fn demo_config() -> Config {
    let mut config = Config::from_toml(&demo_toml()).expect("demo.toml is valid");
    config.argon2.memory_kib = 1024;
    config.argon2.iterations = 1;
    config
}

/// [`demo_config`] without Globex's sign-in host, so its users sign in on the test server's
/// loopback address (tests/sign_in_host.rs holds the host to it).
pub fn test_config() -> Config {
    let mut config = demo_config();
    for org in &mut config.orgs {
        org.sign_in_host = None;
    }
    config
}

pub fn temp_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "authcore-server-test-{}-{}",
        std::process::id(),
        name
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

pub struct TestServer {
    pub server: RunningServer,
    pub base: String,
    pub http: reqwest::Client,
}

pub async fn start() -> TestServer {
    start_with(test_config(), "sqlite::memory:", true).await
}

pub async fn start_with(config: Config, db: &str, dev: bool) -> TestServer {
    let mut options = ServerOptions::new(config, db, "127.0.0.1:0".parse().unwrap());
    options.dev = dev;
    let server = authcore_server::start(options)
        .await
        .expect("server starts");
    let base = server.base_url().to_owned();
    TestServer {
        server,
        base,
        http: reqwest::Client::builder()
            .user_agent("authcore-tests/1")
            .build()
            .unwrap(),
    }
}

/// A PKCE pair (RFC 7636 S256).
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

pub fn pkce() -> Pkce {
    let verifier = authcore_server::secrets::random_token("")
        .expose()
        .to_owned();
    let challenge = authcore_server::secrets::pkce_s256(&verifier);
    Pkce {
        verifier,
        challenge,
    }
}

#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
    pub device: Option<String>,
    pub session_id: String,
}

pub fn totp_now(secret_b32: &str, now: u64) -> String {
    use authcore::otp::{Algorithm, ClockOffset, Digits, Period, Secret, Totp};
    let totp = Totp::new(
        Secret::from_base32(secret_b32).unwrap(),
        Algorithm::Sha1,
        Digits::SIX,
        Period::DEFAULT,
    );
    totp.code(now, ClockOffset::ZERO).code.as_str().to_owned()
}

/// The 6-digit code in a message body ("... code is 123456 ...").
pub fn code_in(body: &str) -> String {
    let at = body.find("code is ").expect("message carries a code") + "code is ".len();
    body[at..at + 6].to_owned()
}

impl TestServer {
    pub fn now(&self) -> u64 {
        self.server.clock().now()
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn post_json(&self, path: &str, body: Value, bearer: Option<&str>) -> (u16, Value) {
        let mut request = self.http.post(format!("{}{path}", self.base)).json(&body);
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn post_bearer(&self, path: &str, bearer: &str) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(bearer)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn delete(&self, path: &str, bearer: &str) -> (u16, Value) {
        let response = self
            .http
            .delete(format!("{}{path}", self.base))
            .bearer_auth(bearer)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str, bearer: Option<&str>) -> (u16, Value) {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn methods(&self, identifier: &str) -> Value {
        let (status, body) = self
            .post_json(
                "/v1/login/methods",
                serde_json::json!({ "identifier": identifier }),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// First authorize-challenge request for `identifier` with `extra` parameters.
    pub async fn begin(
        &self,
        identifier: &str,
        pkce: &Pkce,
        extra: &[(&str, &str)],
    ) -> (u16, Value) {
        let mut form = vec![
            ("client_id", CLIENT),
            ("identifier", identifier),
            ("code_challenge", pkce.challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        form.extend_from_slice(extra);
        self.post_form("/v1/authorize-challenge", &form).await
    }

    /// A follow-up authorize-challenge request in `auth_session`.
    pub async fn step(&self, auth_session: &str, extra: &[(&str, &str)]) -> (u16, Value) {
        let mut form = vec![("client_id", CLIENT), ("auth_session", auth_session)];
        form.extend_from_slice(extra);
        self.post_form("/v1/authorize-challenge", &form).await
    }

    pub async fn exchange(&self, code: &str, pkce: &Pkce) -> Tokens {
        let (status, body) = self
            .post_form(
                "/v1/token",
                &[
                    ("grant_type", "authorization_code"),
                    ("client_id", CLIENT),
                    ("code", code),
                    ("code_verifier", &pkce.verifier),
                ],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        tokens_of(&body)
    }

    pub async fn refresh(&self, token: String) -> (u16, Value) {
        self.post_form(
            "/v1/token",
            &[
                ("grant_type", "refresh_token"),
                ("client_id", CLIENT),
                ("refresh_token", &token),
            ],
        )
        .await
    }

    /// The newest message recorded for `to` (dev outbox).
    pub async fn last_message(&self, to: &str) -> Value {
        let encoded: String = form_urlencoded::byte_serialize(to.as_bytes()).collect();
        let (status, body) = self.get(&format!("/dev/outbox?to={encoded}"), None).await;
        assert_eq!(status, 200, "{body}");
        body["messages"]
            .as_array()
            .and_then(|m| m.last())
            .cloned()
            .unwrap_or_else(|| panic!("no message for {to}"))
    }

    pub async fn last_code(&self, to: &str) -> String {
        let message = self.last_message(to).await;
        code_in(message["body"].as_str().unwrap())
    }

    /// Password sign-in for a user with no further steps (acme without TOTP).
    pub async fn sign_in_password(&self, user: (&str, &str)) -> Tokens {
        let pkce = pkce();
        let (status, body) = self.begin(user.0, &pkce, &[("password", user.1)]).await;
        assert_eq!(status, 200, "{body}");
        self.exchange(body["authorization_code"].as_str().unwrap(), &pkce)
            .await
    }
}

pub fn tokens_of(body: &Value) -> Tokens {
    Tokens {
        access: body["access_token"].as_str().unwrap().to_owned(),
        refresh: body["refresh_token"].as_str().unwrap().to_owned(),
        device: body["device_token"].as_str().map(str::to_owned),
        session_id: body["session_id"].as_str().unwrap().to_owned(),
    }
}

pub fn session_of(body: &Value) -> String {
    body["auth_session"]
        .as_str()
        .unwrap_or_else(|| panic!("no auth_session in {body}"))
        .to_owned()
}

/// Captures every log line (every level) of this test binary from here on; `text()` reads them.
#[derive(Clone, Default)]
pub struct CapturedLogs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLogs {
    pub fn install() -> CapturedLogs {
        let captured = CapturedLogs::default();
        let writer = captured.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .init();
        captured
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// [`test_config`] for tests whose phones use software keys (no platform attestation) and sign
/// in without a password: `push.require_attestation = false`, so `user_verification` is taken
/// at its word as before attestation existed.
pub fn software_keys_config() -> Config {
    let mut config = test_config();
    config.push.require_attestation = false;
    config
}

impl TestServer {
    /// A step-up sign-in (`acr_values=mfa`): the password, then each step the server asks for (the
    /// email code for a user without a second factor, the TOTP code of `totp`, "Skip for now").
    /// Its token may make security changes for `security.step_up_max_age_s`.
    pub async fn sign_in_mfa(&self, user: (&str, &str), totp: Option<&str>) -> Tokens {
        let pkce = pkce();
        let (mut status, mut body) = self
            .begin(
                user.0,
                &pkce,
                &[("password", user.1), ("acr_values", "mfa")],
            )
            .await;
        for _ in 0..5 {
            if status == 200 {
                break;
            }
            assert_eq!(status, 400, "{body}");
            let session = session_of(&body);
            (status, body) = match body["next"]["type"].as_str() {
                Some("verify_device") => {
                    let code = self.last_code(user.0).await;
                    self.step(&session, &[("code", &code)]).await
                }
                Some("choose_second_factor" | "totp") => {
                    let secret = totp.unwrap_or_else(|| panic!("{} needs a TOTP secret", user.0));
                    let code = totp_now(secret, self.now());
                    self.step(&session, &[("method", "totp"), ("code", &code)])
                        .await
                }
                Some("enroll_authenticator") => {
                    self.step(&session, &[("method", "skip_enrollment")]).await
                }
                other => panic!("unexpected step {other:?}: {body}"),
            };
        }
        assert_eq!(status, 200, "{body}");
        self.exchange(body["authorization_code"].as_str().unwrap(), &pkce)
            .await
    }
}
