//! Test support: local stand-ins for Google (the OAuth token endpoint and FCM HTTP v1) and for
//! APNs (HTTP/2 over TLS with a test CA). Each checks every request as the vendor's documentation
//! defines it, records what it received and what it found wrong, and answers scripted errors.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use authcore_server::Clock;
use axum::http::{HeaderMap, StatusCode};
use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_FIXED, RSA_PKCS1_2048_8192_SHA256};
use serde_json::{json, Value};

pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
pub const CLIENT_EMAIL: &str = "authcore-push@authcore-test.iam.gserviceaccount.com";
pub const PROJECT: &str = "authcore-test";
pub const KEY_ID: &str = "ABC123DEFG";
pub const TEAM_ID: &str = "DEF123GHIJ";
pub const TOPIC: &str = "com.example.authenticator";
pub const FCM_SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";

/// A scripted answer: status, headers, JSON body.
#[derive(Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Value,
}

/// Google's documented FCM v1 errors (firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode).
pub fn fcm_error(status: u16, grpc: &str, code: &str) -> Answer {
    Answer {
        status,
        headers: vec![],
        body: json!({"error": {"code": status, "message": "stand-in", "status": grpc,
            "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": code}]}}),
    }
}

/// An INVALID_ARGUMENT about another field (a `BadRequest`): not the token's fault.
pub fn fcm_bad_field() -> Answer {
    Answer {
        status: 400,
        headers: vec![],
        body: json!({"error": {"code": 400, "message": "Invalid value at 'message.data[0].value'", "status": "INVALID_ARGUMENT",
            "details": [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": "message.data[0].value", "description": "Invalid value"}]}]}}),
    }
}

/// Apple's documented errors: the status and `{"reason"}`.
pub fn apns_error(status: u16, reason: &str) -> Answer {
    let mut body = json!({ "reason": reason });
    if status == 410 {
        body["timestamp"] = json!(1_700_000_000_000u64);
    }
    Answer {
        status,
        headers: vec![],
        body,
    }
}

impl Answer {
    pub fn retry_after(mut self, seconds: u64) -> Answer {
        self.headers.push(("retry-after", seconds.to_string()));
        self
    }
}

/// What a stand-in saw.
#[derive(Default)]
pub struct Seen {
    /// Every request that reached the send endpoint, answered or not (attempts).
    pub attempts: u32,
    /// The bodies of the deliveries answered 200, with the device token they went to.
    pub delivered: Vec<(String, Value)>,
    /// Every violation of the vendor's documentation found in a request.
    pub problems: Vec<String>,
    /// Token exchanges (Google) answered.
    pub exchanges: u32,
    /// Distinct provider tokens (APNs) and access tokens (FCM) seen, in order.
    pub credentials: Vec<String>,
    /// `iat` of each distinct APNs provider token.
    pub issued_at: Vec<u64>,
    /// HTTP versions of the send requests.
    pub versions: Vec<String>,
    /// Headers of the last send request.
    pub last_headers: Vec<(String, String)>,
}

#[derive(Default)]
struct Shared {
    seen: Mutex<Seen>,
    script: Mutex<VecDeque<Answer>>,
    clock: Mutex<Option<Clock>>,
    /// Access tokens issued and not revoked (Google).
    live: Mutex<Vec<String>>,
    changed: tokio::sync::Notify,
}

#[derive(Clone)]
pub struct StandIn {
    shared: Arc<Shared>,
    pub base: String,
    /// The service account key file (Google) or the `.p8` file and CA (APNs).
    pub key_file: PathBuf,
    pub ca_file: Option<PathBuf>,
}

impl StandIn {
    /// The server clock the JWTs' `iat` must follow (set once the server started).
    pub fn follow(&self, clock: &Clock) {
        *self.shared.clock.lock().unwrap() = Some(clock.clone());
    }

    /// Answers the next send requests with these, in order (then 200).
    pub fn script(&self, answers: Vec<Answer>) {
        self.shared.script.lock().unwrap().extend(answers);
    }

    pub fn seen<T>(&self, read: impl FnOnce(&Seen) -> T) -> T {
        read(&self.shared.seen.lock().unwrap())
    }

    /// Waits (up to 10 s) until `ready` holds of what was seen.
    pub async fn wait_until(&self, ready: impl Fn(&Seen) -> bool) {
        let wait = async {
            loop {
                let changed = self.shared.changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                if self.seen(&ready) {
                    return;
                }
                changed.await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), wait)
            .await
            .unwrap_or_else(|_| {
                self.seen(|s| {
                    panic!(
                        "stand-in: {} attempts, {} delivered, problems {:?}",
                        s.attempts,
                        s.delivered.len(),
                        s.problems
                    )
                })
            });
    }

    fn note(&self, change: impl FnOnce(&mut Seen)) {
        change(&mut self.shared.seen.lock().unwrap());
        self.shared.changed.notify_waiters();
    }

    fn now(&self) -> u64 {
        self.shared
            .clock
            .lock()
            .unwrap()
            .as_ref()
            .map_or_else(|| Clock::default().now(), Clock::now)
    }

    fn next_answer(&self) -> Option<Answer> {
        self.shared.script.lock().unwrap().pop_front()
    }
}

/// Splits and checks a JWS compact JWT: header, claims (JSON) and the signed part.
fn jwt_parts(jwt: &str) -> Result<(Value, Value, Vec<u8>, Vec<u8>), String> {
    let parts: Vec<&str> = jwt.split('.').collect();
    let [header, claims, signature] = parts[..] else {
        return Err(format!("a JWT has three parts, this one {}", parts.len()));
    };
    let decode = |part: &str| {
        data_encoding::BASE64URL_NOPAD
            .decode(part.as_bytes())
            .map_err(|_| "a JWT part is not base64url without padding".to_owned())
    };
    let json = |bytes: Vec<u8>| {
        serde_json::from_slice::<Value>(&bytes).map_err(|_| "a JWT part is not JSON".to_owned())
    };
    Ok((
        json(decode(header)?)?,
        json(decode(claims)?)?,
        format!("{header}.{claims}").into_bytes(),
        decode(signature)?,
    ))
}

fn pem_body(pem: &str) -> Vec<u8> {
    let base64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    data_encoding::BASE64.decode(base64.as_bytes()).unwrap()
}

fn answer_of(answer: Answer) -> axum::response::Response {
    let body = if answer.body.is_null() {
        String::new()
    } else {
        answer.body.to_string()
    };
    let mut response = axum::response::Response::new(axum::body::Body::from(body));
    *response.status_mut() = StatusCode::from_u16(answer.status).unwrap();
    let headers = response.headers_mut();
    headers.insert("content-type", "application/json".parse().unwrap());
    for (name, value) in answer.headers {
        headers.insert(name, value.parse().unwrap());
    }
    response
}

fn ok(body: Value) -> Answer {
    Answer {
        status: 200,
        headers: vec![],
        body,
    }
}

// ---------------------------------------------------------------- Google: token endpoint + FCM

/// Google's token endpoint and FCM on one plain-HTTP loopback port; `dir` receives the service
/// account key file naming this token endpoint.
pub async fn google(dir: &Path) -> StandIn {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let key_file = dir.join("service-account.json");
    let private_key =
        std::fs::read_to_string(format!("{FIXTURES}/fcm-service-account.pem")).unwrap();
    std::fs::write(
        &key_file,
        json!({
            "type": "service_account",
            "project_id": PROJECT,
            "private_key_id": "test-key-id",
            "private_key": private_key,
            "client_email": CLIENT_EMAIL,
            "client_id": "1234567890",
            "token_uri": format!("{base}/token"),
        })
        .to_string(),
    )
    .unwrap();
    let standin = StandIn {
        shared: Arc::default(),
        base,
        key_file,
        ca_file: None,
    };
    let (token, send) = (standin.clone(), standin.clone());
    let app = axum::Router::new()
        .route(
            "/token",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let standin = token.clone();
                async move { answer_of(standin.exchange(&headers, &body).await) }
            }),
        )
        .route(
            "/v1/projects/{project}/{action}",
            axum::routing::post(
                move |axum::extract::Path((project, action)): axum::extract::Path<(
                    String,
                    String,
                )>,
                      headers: HeaderMap,
                      body: String| {
                    let standin = send.clone();
                    async move { answer_of(standin.fcm_send(&project, &action, &headers, &body)) }
                },
            ),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    standin
}

impl StandIn {
    /// RFC 7523 JWT bearer grant, as Google's OAuth 2.0 for service accounts defines it.
    async fn exchange(&self, headers: &HeaderMap, body: &str) -> Answer {
        // Slow enough that pushes arriving together would each make their own exchange
        // without the sender's single-flight cache.
        tokio::time::sleep(Duration::from_millis(150)).await;
        let mut problems = vec![];
        if headers.get("content-type").and_then(|v| v.to_str().ok())
            != Some("application/x-www-form-urlencoded")
        {
            problems.push("token request is not form-encoded".to_owned());
        }
        let form: std::collections::HashMap<String, String> =
            form_urlencoded::parse(body.as_bytes())
                .into_owned()
                .collect();
        if form.get("grant_type").map(String::as_str)
            != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
        {
            problems.push(format!("grant_type {:?}", form.get("grant_type")));
        }
        match form.get("assertion").map(|a| jwt_parts(a)) {
            Some(Ok((header, claims, signed, signature))) => {
                if header != json!({"alg": "RS256", "typ": "JWT", "kid": "test-key-id"}) {
                    problems.push(format!("JWT header {header}"));
                }
                let iat = claims["iat"].as_u64().unwrap_or(0);
                let now = self.now();
                if claims["iss"] != CLIENT_EMAIL
                    || claims["scope"] != FCM_SCOPE
                    || claims["aud"] != format!("{}/token", self.base)
                    || claims["exp"].as_u64() != Some(iat + 3600)
                    || iat + 60 < now
                    || iat > now + 60
                {
                    problems.push(format!("JWT claims {claims} at {now}"));
                }
                let public = pem_body(
                    &std::fs::read_to_string(format!("{FIXTURES}/fcm-service-account.pub.pem"))
                        .unwrap(),
                );
                if UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public)
                    .verify(&signed, &signature)
                    .is_err()
                {
                    problems.push("JWT signature does not verify".to_owned());
                }
            }
            Some(Err(problem)) => problems.push(problem),
            None => problems.push("no assertion".to_owned()),
        }
        if !problems.is_empty() {
            self.note(|s| s.problems.extend(problems));
            return Answer {
                status: 400,
                headers: vec![],
                body: json!({"error": "invalid_grant", "error_description": "stand-in refused"}),
            };
        }
        let token = format!(
            "ya29.stand-in-{}",
            authcore_server::secrets::random_token("").expose()
        );
        self.shared.live.lock().unwrap().push(token.clone());
        self.note(|s| {
            s.exchanges += 1;
            s.credentials.push(token.clone());
        });
        ok(json!({"access_token": token, "expires_in": 3599, "token_type": "Bearer"}))
    }

    /// `projects.messages.send` of FCM HTTP v1.
    fn fcm_send(&self, project: &str, action: &str, headers: &HeaderMap, body: &str) -> Answer {
        let bearer = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("")
            .to_owned();
        let live = self.shared.live.lock().unwrap().contains(&bearer);
        let mut problems = vec![];
        if project != PROJECT || action != "messages:send" {
            problems.push(format!("path /v1/projects/{project}/{action}"));
        }
        let message: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        let m = &message["message"];
        let object_keys = |v: &Value| -> Vec<String> {
            let mut keys: Vec<String> = v
                .as_object()
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default();
            keys.sort();
            keys
        };
        if object_keys(&message) != ["message"]
            || object_keys(m) != ["android", "data", "token"]
            || object_keys(&m["data"]) != ["device_id", "request_id"]
            || !m["data"]["device_id"]
                .as_str()
                .is_some_and(|d| d.starts_with("dv_"))
            || !m["data"]["request_id"].is_string()
            || object_keys(&m["android"]) != ["priority", "ttl"]
            || m["android"]["priority"] != "high"
            || !m["android"]["ttl"]
                .as_str()
                .and_then(|t| t.strip_suffix('s'))
                .and_then(|t| t.parse::<u64>().ok())
                .is_some_and(|t| (1..=600).contains(&t))
        {
            problems.push(format!(
                "message is not data-only with the two ids: {message}"
            ));
        }
        let token = m["token"].as_str().unwrap_or("").to_owned();
        let scripted = self.next_answer();
        self.note(|s| {
            s.attempts += 1;
            s.problems.extend(problems.iter().cloned());
        });
        if !live {
            return fcm_error(401, "UNAUTHENTICATED", "UNAUTHENTICATED");
        }
        if let Some(answer) = scripted {
            if answer.status == 401 {
                self.shared.live.lock().unwrap().retain(|t| *t != bearer);
            }
            return answer;
        }
        self.note(|s| s.delivered.push((token, message.clone())));
        ok(json!({"name": format!("projects/{PROJECT}/messages/0:1")}))
    }
}

// ---------------------------------------------------------------- APNs over HTTP/2 and TLS

/// APNs on a loopback port: TLS (a test CA, ALPN `h2` only) and HTTP/2; `dir` receives the
/// `.p8` key and the CA's PEM.
pub async fn apns(dir: &Path) -> StandIn {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, PKCS_ECDSA_P256_SHA256};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &ca, &ca_key)
        .unwrap();
    let ca_file = dir.join("apns-test-ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let signing = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let key_file = dir.join(format!("AuthKey_{KEY_ID}.p8"));
    std::fs::write(&key_file, signing.serialize_pem()).unwrap();
    let public = signing.public_key_raw().to_vec();

    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut tls = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
        )
        .unwrap();
    tls.alpn_protocols = vec![b"h2".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let standin = StandIn {
        shared: Arc::default(),
        base: format!("https://127.0.0.1:{}", addr.port()),
        key_file,
        ca_file: Some(ca_file),
    };
    let serving = standin.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, standin, public) = (acceptor.clone(), serving.clone(), public.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(
                    move |request: hyper::Request<hyper::body::Incoming>| {
                        let (standin, public) = (standin.clone(), public.clone());
                        async move {
                            let (parts, body) = request.into_parts();
                            let body = axum::body::to_bytes(axum::body::Body::new(body), 1 << 16)
                                .await
                                .unwrap_or_default();
                            Ok::<_, std::convert::Infallible>(answer_of(
                                standin.apns_send(&parts, &body, &public),
                            ))
                        }
                    },
                );
                let _ =
                    hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                        .await;
            });
        }
    });
    standin
}

impl StandIn {
    /// `POST /3/device/{token}` as "Sending notification requests to APNs" defines it.
    fn apns_send(&self, parts: &axum::http::request::Parts, body: &[u8], public: &[u8]) -> Answer {
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        let mut problems = vec![];
        let token = parts
            .uri
            .path()
            .strip_prefix("/3/device/")
            .unwrap_or("")
            .to_owned();
        if parts.method != "POST" || token.is_empty() {
            problems.push(format!("{} {}", parts.method, parts.uri.path()));
        }
        let jwt = header("authorization")
            .strip_prefix("bearer ")
            .unwrap_or("")
            .to_owned();
        let mut issued_at = None;
        match jwt_parts(&jwt) {
            Ok((jwt_header, claims, signed, signature)) => {
                if jwt_header != json!({"alg": "ES256", "kid": KEY_ID}) {
                    problems.push(format!("provider token header {jwt_header}"));
                }
                let iat = claims["iat"].as_u64().unwrap_or(0);
                let now = self.now();
                // Apple refuses a provider token older than an hour.
                if claims != json!({"iss": TEAM_ID, "iat": iat})
                    || iat + 3600 <= now
                    || iat > now + 60
                {
                    problems.push(format!("provider token claims {claims} at {now}"));
                }
                if UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, public)
                    .verify(&signed, &signature)
                    .is_err()
                {
                    problems.push("provider token signature does not verify".to_owned());
                }
                issued_at = Some(iat);
            }
            Err(problem) => problems.push(format!("provider token: {problem}")),
        }
        for (name, expected) in [
            ("apns-push-type", "alert"),
            ("apns-topic", TOPIC),
            ("apns-priority", "10"),
        ] {
            if header(name) != expected {
                problems.push(format!("{name}: {:?}", header(name)));
            }
        }
        let notification: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let request_id = notification["request_id"].as_str().unwrap_or("").to_owned();
        if header("apns-collapse-id") != request_id
            || header("apns-expiration").parse::<u64>().is_err()
        {
            problems.push(format!(
                "apns-collapse-id {:?}, apns-expiration {:?}",
                header("apns-collapse-id"),
                header("apns-expiration")
            ));
        }
        let alert = &notification["aps"]["alert"];
        let shape_ok = notification.as_object().is_some_and(|o| o.len() == 3)
            && notification["aps"]
                .as_object()
                .is_some_and(|o| o.len() == 2)
            && notification["aps"]["mutable-content"] == 1
            && alert["title"].is_string()
            && alert["body"].is_string()
            && !alert.to_string().chars().any(|c| c.is_ascii_digit())
            && notification["device_id"]
                .as_str()
                .is_some_and(|d| d.starts_with("dv_"))
            && !request_id.is_empty();
        if !shape_ok {
            problems.push(format!("notification {notification}"));
        }
        let version = format!("{:?}", parts.version);
        let scripted = self.next_answer();
        self.note(|s| {
            s.attempts += 1;
            s.problems.extend(problems);
            s.versions.push(version);
            s.last_headers = parts
                .headers
                .iter()
                .filter(|(n, _)| n.as_str().starts_with("apns-"))
                .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_owned()))
                .collect();
            if !s.credentials.contains(&jwt) {
                s.credentials.push(jwt.clone());
                s.issued_at.extend(issued_at);
            }
        });
        if let Some(answer) = scripted {
            return answer;
        }
        self.note(|s| s.delivered.push((token, notification)));
        Answer {
            status: 200,
            headers: vec![("apns-id", "6a6e2c1e-0000-4000-8000-000000000000".into())],
            body: Value::Null,
        }
    }
}
