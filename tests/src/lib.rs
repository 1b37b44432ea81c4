//! An in-process deployment for the end-to-end tests and the harness's demo and benchmarks: the
//! demo server on a loopback port (plain, or behind TLS with a test CA and Globex's own sign-in
//! host), devices (an `AuthClient` over its own encrypted store; authenticator phones), the dev
//! outbox.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use authcore::http::HttpConfig;
use authcore::store::{EncryptedFileStore, SecureStore, StoreKey};
use authcore::{AuthClient, ClientConfig};
use authcore_server::{Config, RunningServer, ServerOptions};
use serde_json::Value;

pub const CLIENT_ID: &str = "authcore-demo-app";
pub const ALICE: (&str, &str) = ("alice@acme.example", "alice-demo-password");
pub const BOB: (&str, &str) = ("bob@acme.example", "bob-demo-password");
pub const BOB_TOTP: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
pub const CAROL: (&str, &str) = ("carol@globex.example", "carol-demo-password");
pub const CAROL_TOTP: &str = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU";
pub const DAVE: (&str, &str) = ("dave@globex.example", "dave-demo-password");
pub const ALICE_PHONE: &str = "+15555550101";

pub fn demo_toml() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../server/examples/demo.toml");
    std::fs::read_to_string(path).expect("demo.toml is readable")
}

/// demo.toml with argon2 made cheap (the parameters are config; tests hash a lot).
pub fn test_config_from(toml: &str) -> Config {
    let mut config = Config::from_toml(toml).expect("the config is valid");
    config.argon2.memory_kib = 1024;
    config.argon2.iterations = 1;
    config
}

pub fn test_config() -> Config {
    test_config_from(&demo_toml())
}

/// A fresh directory under the system temp dir.
pub fn temp_dir(name: &str) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "authcore-e2e-{}-{}-{name}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

pub struct World {
    pub server: RunningServer,
    pub base: String,
    http: reqwest::Client,
}

pub async fn start_server() -> World {
    start(ServerOptions::new(
        test_config(),
        "sqlite::memory:",
        "127.0.0.1:0".parse().unwrap(),
    ))
    .await
}

/// Starts the server with `options` and `--dev` (seed users, outbox).
pub async fn start(mut options: ServerOptions) -> World {
    options.dev = true;
    let server = authcore_server::start(options)
        .await
        .expect("the server starts");
    let base = server.base_url().to_owned();
    World {
        server,
        base,
        http: reqwest::Client::builder()
            .danger_accept_invalid_certs(true) // the outbox only; the core checks TLS for real
            .build()
            .expect("reqwest client"),
    }
}

/// A device: an encrypted store in its own directory.
pub fn device_store(name: &str) -> Arc<dyn SecureStore> {
    let dir = temp_dir(name);
    Arc::new(EncryptedFileStore::open(
        dir.join("store.bin"),
        StoreKey::generate(),
    ))
}

impl World {
    pub fn now(&self) -> u64 {
        self.server.clock().now()
    }

    pub fn client_config(&self) -> ClientConfig {
        ClientConfig {
            server_url: self.base.clone(),
            client_id: CLIENT_ID.into(),
            http: HttpConfig {
                max_retries: 0,
                ..HttpConfig::default()
            },
        }
    }

    /// The app on a new device.
    pub fn app(&self, device: &str) -> AuthClient {
        self.app_with(device_store(device))
    }

    pub fn app_with(&self, store: Arc<dyn SecureStore>) -> AuthClient {
        AuthClient::new(self.client_config(), store).expect("client config is valid")
    }

    /// Every message the dev outbox recorded for `to`, oldest first.
    pub async fn messages(&self, to: &str) -> Vec<Value> {
        let url = format!("{}/dev/outbox", self.base);
        let body: Value = self
            .http
            .get(url)
            .query(&[("to", to)])
            .send()
            .await
            .expect("outbox answers")
            .json()
            .await
            .expect("outbox JSON");
        body["messages"].as_array().cloned().unwrap_or_default()
    }

    /// The newest message the dev outbox recorded for `to`.
    pub async fn last_message(&self, to: &str) -> Value {
        self.messages(to)
            .await
            .pop()
            .unwrap_or_else(|| panic!("no message for {to}"))
    }

    /// The 6-digit code in the newest message to `to`.
    pub async fn last_code(&self, to: &str) -> String {
        let message = self.last_message(to).await;
        code_in(message["body"].as_str().expect("message body"))
    }

    pub async fn message_count(&self, to: &str) -> usize {
        self.messages(to).await.len()
    }

    pub async fn stop(self) {
        self.server.shutdown().await;
    }
}

/// The 6-digit code in a message body ("... code is 123456 ...").
pub fn code_in(body: &str) -> String {
    let at = body.find("code is ").expect("message carries a code") + "code is ".len();
    body[at..at + 6].to_owned()
}

/// The TOTP code of a base32 secret at `now`.
pub fn totp_at(secret_b32: &str, now: u64) -> String {
    use authcore::otp::{Algorithm, ClockOffset, Digits, Period, Secret, Totp};
    Totp::new(
        Secret::from_base32(secret_b32).expect("base32 secret"),
        Algorithm::Sha1,
        Digits::SIX,
        Period::DEFAULT,
    )
    .code(now, ClockOffset::ZERO)
    .code
    .as_str()
    .to_owned()
}

/// A certificate authority for tests, and server certificates it signs.
pub struct TestCa {
    key: rcgen::KeyPair,
    cert: rcgen::Certificate,
}

impl TestCa {
    pub fn new() -> TestCa {
        let key = rcgen::KeyPair::generate().expect("CA key");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        // Distinct subject names: OpenSSL (curl) takes a leaf whose issuer equals its subject for
        // a self-signed certificate, and rcgen gives both the same default name.
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "authcore throwaway CA");
        let cert = params.self_signed(&key).expect("CA certificate");
        TestCa { key, cert }
    }

    pub fn pem(&self) -> Vec<u8> {
        self.cert.pem().into_bytes()
    }

    /// Writes `cert.pem` and `key.pem` for `names` into `dir`; answers their paths.
    pub fn issue(&self, names: &[&str], dir: &std::path::Path) -> (PathBuf, PathBuf) {
        let key = rcgen::KeyPair::generate().expect("leaf key");
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = rcgen::CertificateParams::new(names.clone()).expect("leaf params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, names[0].as_str());
        let cert = params
            .signed_by(&key, &self.cert, &self.key)
            .expect("leaf certificate");
        let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert_path, cert.pem()).expect("write cert");
        // A private key: only its owner may read it, from the moment the file exists.
        let _ = std::fs::remove_file(&key_path);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        std::io::Write::write_all(
            &mut options.open(&key_path).expect("create key"),
            key.serialize_pem().as_bytes(),
        )
        .expect("write key");
        (cert_path, key_path)
    }
}

impl Default for TestCa {
    fn default() -> Self {
        TestCa::new()
    }
}

/// A TCP proxy in front of a server: it can leave the first `stall` connections unanswered (a
/// server that never answers) and counts how often `needle` passes from clients to the server.
pub struct Proxy {
    pub addr: std::net::SocketAddr,
    seen: Arc<std::sync::atomic::AtomicUsize>,
}

impl Proxy {
    pub async fn start(target: std::net::SocketAddr, stall: usize, needle: &'static [u8]) -> Proxy {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("proxy binds");
        let addr = listener.local_addr().expect("proxy address");
        let seen = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = seen.clone();
        tokio::spawn(async move {
            let mut stalled = Vec::new();
            while let Ok((client, _)) = listener.accept().await {
                if stalled.len() < stall {
                    stalled.push(client); // held open, never answered
                    continue;
                }
                let counter = counter.clone();
                tokio::spawn(async move {
                    let Ok(upstream) = tokio::net::TcpStream::connect(target).await else {
                        return;
                    };
                    let (mut client_read, mut client_write) = client.into_split();
                    let (mut up_read, mut up_write) = upstream.into_split();
                    let upward = async {
                        let mut buf = vec![0u8; 16 * 1024];
                        loop {
                            let n = match client_read.read(&mut buf).await {
                                Ok(0) | Err(_) => break,
                                Ok(n) => n,
                            };
                            let hits = if needle.is_empty() {
                                0
                            } else {
                                buf[..n]
                                    .windows(needle.len())
                                    .filter(|w| *w == needle)
                                    .count()
                            };
                            counter.fetch_add(hits, Ordering::Relaxed);
                            if up_write.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                        let _ = up_write.shutdown().await;
                    };
                    let downward = async {
                        let _ = tokio::io::copy(&mut up_read, &mut client_write).await;
                        let _ = client_write.shutdown().await;
                    };
                    tokio::join!(upward, downward);
                });
            }
        });
        Proxy { addr, seen }
    }

    /// How many times the needle went by.
    pub fn seen(&self) -> usize {
        self.seen.load(Ordering::Relaxed)
    }
}

/// The demo server behind TLS, as an enterprise deployment looks: the app talks to
/// `https://id.authcore.test:PORT`; Globex users are sent to their own sign-in host
/// `login.globex.example:PORT`. Both names resolve to 127.0.0.1 and are on the certificate, which
/// a test CA signed. `app_tls` devices trust that CA.
pub struct TlsWorld {
    pub world: World,
    pub ca: TestCa,
    pub port: u16,
}

pub const APP_HOST: &str = "id.authcore.test";
pub const GLOBEX_HOST: &str = "login.globex.example";

pub async fn start_tls_server() -> TlsWorld {
    start_tls_deployment(true).await
}

/// [`start_tls_server`], with demo.toml's own argon2 cost unless `cheap_argon2` (tests hash a lot).
pub async fn start_tls_deployment(cheap_argon2: bool) -> TlsWorld {
    start_tls_deployment_with(cheap_argon2, |_| {}).await
}

/// [`start_tls_server`] for phones with software keys that sign in without a password: they have
/// no platform attestation, so `push.require_attestation = false` takes their
/// `user_verification` at its word.
pub async fn start_tls_server_software_keys() -> TlsWorld {
    start_tls_deployment_with(true, |config| config.push.require_attestation = false).await
}

/// [`start_tls_deployment`] with the config adjusted by `adjust` before the server starts.
pub async fn start_tls_deployment_with(
    cheap_argon2: bool,
    adjust: impl FnOnce(&mut Config),
) -> TlsWorld {
    // The port is in the config (the sign-in host), so pick it before starting.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let toml = demo_toml().replace(
        &format!("sign_in_host = \"{GLOBEX_HOST}\""),
        &format!("sign_in_host = \"{GLOBEX_HOST}:{port}\""),
    );
    let ca = TestCa::new();
    let dir = temp_dir("tls");
    let (cert, key) = ca.issue(&[APP_HOST, GLOBEX_HOST, "127.0.0.1"], &dir);
    let mut config = if cheap_argon2 {
        test_config_from(&toml)
    } else {
        Config::from_toml(&toml).expect("the config is valid")
    };
    adjust(&mut config);
    let mut options = ServerOptions::new(
        config,
        "sqlite::memory:",
        format!("127.0.0.1:{port}").parse().unwrap(),
    );
    options.tls_cert = Some(cert);
    options.tls_key = Some(key);
    TlsWorld {
        world: start(options).await,
        ca,
        port,
    }
}

impl TlsWorld {
    pub fn client_config(&self, trust_test_ca: bool) -> ClientConfig {
        let loopback: std::net::IpAddr = "127.0.0.1".parse().unwrap();
        ClientConfig {
            server_url: format!("https://{APP_HOST}:{}", self.port),
            client_id: CLIENT_ID.into(),
            http: HttpConfig {
                max_retries: 0,
                extra_root_ca_pem: trust_test_ca.then(|| self.ca.pem()),
                resolve: vec![(APP_HOST.into(), loopback), (GLOBEX_HOST.into(), loopback)],
                ..HttpConfig::default()
            },
        }
    }

    /// The app on a new device, trusting the test CA.
    pub fn app(&self, device: &str) -> AuthClient {
        AuthClient::new(self.client_config(true), device_store(device)).expect("client config")
    }

    pub fn globex_host(&self) -> String {
        format!("{GLOBEX_HOST}:{}", self.port)
    }
}

/// The phone's biometric prompt, answered by the test: yes unless told otherwise.
#[derive(Default)]
pub struct Fingerprint {
    pub refuse: std::sync::atomic::AtomicBool,
    pub asked: std::sync::Mutex<Vec<String>>,
}

impl authcore::authenticator::UserVerification for Fingerprint {
    fn verify_user(
        &self,
        reason: String,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send>> {
        self.asked.lock().unwrap().push(reason);
        let ok = !self.refuse.load(Ordering::SeqCst);
        Box::pin(async move { ok })
    }
}

impl TlsWorld {
    /// An authenticator phone (software P-256 keys, in-memory store) trusting the test CA.
    pub fn phone(
        &self,
        name: &str,
        user_verification: bool,
        fingerprint: Arc<Fingerprint>,
    ) -> authcore::authenticator::Authenticator {
        let store: Arc<dyn SecureStore> = Arc::new(authcore::store::MemoryStore::default());
        let keys = Arc::new(authcore::device_keys::SoftwareDeviceKeys::new(
            store.clone(),
        ));
        authcore::authenticator::Authenticator::open(
            store,
            keys,
            fingerprint,
            authcore::authenticator::AuthenticatorConfig {
                http: self.client_config(true).http,
                device_name: name.into(),
                platform: "harness".into(),
                push_token: None,
                user_verification,
            },
        )
        .expect("the authenticator opens")
    }
}

/// The app on a new device, talking plain http to `addr` on loopback (a proxy, a fake server),
/// with no retries and the given request timeout.
pub fn app_at(
    addr: std::net::SocketAddr,
    device: &str,
    timeout: std::time::Duration,
) -> AuthClient {
    let config = ClientConfig {
        server_url: format!("http://{addr}"),
        client_id: CLIENT_ID.into(),
        http: HttpConfig {
            max_retries: 0,
            request_timeout: timeout,
            ..HttpConfig::default()
        },
    };
    AuthClient::new(config, device_store(device)).expect("client config is valid")
}

/// "Confirm it's you" for `session`'s user, as the app does after `StepUpRequired`: the step-up
/// sign-in (`Session::step_up`) with the password, then whatever second factor the server asks
/// for: the emailed code for a user without one, the authenticator code of `totp_secret`.
/// Answers the fresh session; `session` is then ended (`Replaced`).
pub async fn step_up(
    world: &World,
    session: &authcore::session::Session,
    user: (&str, &str),
    totp_secret: Option<&str>,
) -> authcore::session::Session {
    use authcore::signin::{MethodKind, SecondFactor, SignInState};
    let flow = session.step_up().await.expect("the step-up sign-in starts");
    let SignInState::ChooseMethod { methods, .. } = flow.state() else {
        panic!("expected the method list, got {:?}", flow.state())
    };
    let password = methods
        .into_iter()
        .find(|m| m.kind == MethodKind::Password)
        .expect("password offered");
    flow.choose_method(&password).await.unwrap();
    let mut state = flow.submit_password(user.1).await.unwrap();
    loop {
        state = match state {
            SignInState::Done { session } => return session,
            SignInState::EnterCode { .. } => {
                let code = world.last_code(user.0).await;
                flow.submit_code(&code).await.unwrap()
            }
            SignInState::ChooseSecondFactor { .. } => {
                flow.choose_second_factor(SecondFactor::Totp).await.unwrap()
            }
            SignInState::EnterTotp { .. } => {
                let secret = totp_secret.expect("the server asked for a TOTP code");
                flow.submit_code(&totp_at(secret, world.now()))
                    .await
                    .unwrap()
            }
            other => panic!("unexpected step in the step-up sign-in: {other:?}"),
        };
    }
}
