//! Test support for the server as a relying party: node `oidc-provider` as the upstream
//! (`provider.js`, started and stopped by the test), a cookie-jar browser that follows
//! redirects and fills its devInteractions forms, and (`fake`) a stand-in upstream with its own
//! keys and configurable faults.
#![allow(dead_code)]

pub mod fake;

use std::sync::Arc;

use authcore_server::ServerOptions;
use serde_json::{json, Value};
use tokio::io::AsyncBufReadExt;

use crate::common::{test_config, TestServer, CAROL, DAVE};

/// A free port on 127.0.0.1 for the authcore server, known before it starts (its callback URL
/// must be registered at the upstream first).
pub fn reserve_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The node_modules of scripts/setup-node.sh (installs once; one run per test binary, so
/// parallel tests never install at the same time).
fn node_path() -> String {
    static PATH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PATH.get_or_init(install_node_peers).clone()
}

fn install_node_peers() -> String {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/setup-node.sh");
    let output = std::process::Command::new("bash")
        .arg(&script)
        .output()
        .expect("scripts/setup-node.sh runs");
    assert!(
        output.status.success(),
        "scripts/setup-node.sh failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// oidc-provider running in node; killed when dropped.
pub struct NodeProvider {
    pub issuer: String,
    child: tokio::process::Child,
}

impl NodeProvider {
    /// Starts it with `config` (see provider.js) and waits for its issuer line.
    pub async fn start(config: Value) -> NodeProvider {
        let script =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/upstream/provider.js");
        let mut child = tokio::process::Command::new("node")
            .arg(script)
            .env("NODE_PATH", node_path())
            .env("UPSTREAM_CONFIG", config.to_string())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs");
        let stdout = child.stdout.take().unwrap();
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("provider.js prints its issuer");
        let issuer = serde_json::from_str::<Value>(&line).unwrap()["issuer"]
            .as_str()
            .unwrap()
            .to_owned();
        // Keep reading: a closed pipe would end node at its next line of output.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        NodeProvider { issuer, child }
    }
}

/// oidc-provider with Globex's accounts (`okta-carol`, `okta-newbie` of
/// newbie@globex.example, `okta-dave` with an unverified email), and our server (`--dev`) with
/// `globex-okta` pointing at it (`extra`: more upstream settings; `secret`: a confidential
/// client, else a public one).
pub async fn globex_with_node(extra: &str, secret: Option<&str>) -> (TestServer, NodeProvider) {
    let port = reserve_port();
    let callback = format!("http://127.0.0.1:{port}/v1/authorize/callback");
    let node = NodeProvider::start(json!({
        "clients": [{"client_id": "authcore-rp", "client_secret": secret, "redirect_uris": [callback]}],
        "accounts": [
            {"sub": "okta-carol", "email": CAROL.0, "email_verified": true, "name": "Carol Okta"},
            {"sub": "okta-newbie", "email": "newbie@globex.example", "email_verified": true, "name": "New Bie"},
            {"sub": "okta-dave", "email": DAVE.0, "email_verified": false, "name": "Dave"},
        ],
    }))
    .await;
    let secret_line = secret.map_or(String::new(), |s| format!("client_secret = \"{s}\"\n"));
    let text = format!(
        "id = \"globex-okta\"\nissuer = \"{}\"\nclient_id = \"authcore-rp\"\n{secret_line}{extra}",
        node.issuer
    );
    let mut config = test_config();
    config
        .orgs
        .iter_mut()
        .find(|o| o.domain == "globex.example")
        .unwrap()
        .upstreams = vec![toml::from_str(&text).unwrap()];
    let mut options = ServerOptions::new(
        config,
        "sqlite::memory:",
        format!("127.0.0.1:{port}").parse().unwrap(),
    );
    options.dev = true;
    let server = authcore_server::start(options)
        .await
        .expect("server starts");
    let base = server.base_url().to_owned();
    let t = TestServer {
        server,
        base,
        http: reqwest::Client::new(),
    };
    (t, node)
}

/// A browser: a cookie jar, redirects followed by hand (the app's redirect URI is not fetched).
pub struct Browser {
    pub http: reqwest::Client,
    /// The URL of the last page shown (forms post relative to it).
    last: std::sync::Mutex<String>,
}

/// Where a browser walk ended.
#[derive(Debug)]
pub enum Landing {
    /// A redirect to a URL starting with the prefix asked for (not fetched).
    Redirect(String),
    /// A page that is not a redirect: its status and body.
    Page(u16, String),
}

impl Default for Browser {
    fn default() -> Self {
        Browser {
            http: reqwest::Client::builder()
                .cookie_provider(Arc::new(reqwest::cookie::Jar::default()))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            last: std::sync::Mutex::default(),
        }
    }
}

fn absolute(base: &str, location: &str) -> String {
    reqwest::Url::parse(base)
        .unwrap()
        .join(location)
        .unwrap()
        .to_string()
}

impl Browser {
    /// GETs `url` and follows redirects until one goes to `stop` (a prefix) or a page answers.
    pub async fn follow(&self, url: &str, stop: &str) -> Landing {
        let mut url = url.to_owned();
        for _ in 0..20 {
            if url.starts_with(stop) {
                return Landing::Redirect(url);
            }
            let response = self.http.get(&url).send().await.unwrap();
            match response.headers().get("location") {
                Some(location) if response.status().is_redirection() => {
                    url = absolute(&url, location.to_str().unwrap());
                }
                _ => {
                    *self.last.lock().unwrap() = url.clone();
                    let status = response.status().as_u16();
                    return Landing::Page(status, response.text().await.unwrap());
                }
            }
        }
        panic!("too many redirects");
    }

    /// POSTs a form on `page_url`'s origin and follows on.
    async fn submit(
        &self,
        page_url: &str,
        action: &str,
        form: &[(&str, &str)],
        stop: &str,
    ) -> Landing {
        let response = self
            .http
            .post(absolute(page_url, action))
            .form(form)
            .send()
            .await
            .unwrap();
        let location = response
            .headers()
            .get("location")
            .expect("the form answers with a redirect")
            .to_str()
            .unwrap()
            .to_owned();
        self.follow(&absolute(page_url, &location), stop).await
    }

    /// Signs in at oidc-provider's devInteractions as `sub` and consents, starting at `url`
    /// (our `/v1/authorize?…`): ends at the redirect to `stop` (the app's redirect URI).
    pub async fn sign_in_upstream(&self, url: &str, sub: &str, stop: &str) -> Landing {
        let mut landing = self.follow(url, stop).await;
        for _ in 0..3 {
            let Landing::Page(200, html) = &landing else {
                return landing;
            };
            let action = form_action(html);
            let page_url = self.last.lock().unwrap().clone();
            landing = if html.contains("name=\"prompt\" value=\"login\"") {
                self.submit(
                    &page_url,
                    &action,
                    &[("prompt", "login"), ("login", sub), ("password", "any")],
                    stop,
                )
                .await
            } else if html.contains("name=\"prompt\" value=\"consent\"") {
                self.submit(&page_url, &action, &[("prompt", "consent")], stop)
                    .await
            } else {
                return landing;
            };
        }
        landing
    }
}

/// The `action` of the first form on a page.
fn form_action(html: &str) -> String {
    let at = html.find("action=\"").expect("the page has a form") + "action=\"".len();
    html[at..at + html[at..].find('"').unwrap()].to_owned()
}

/// The claims of a JWT (not verified: the tests read what the server issued).
pub fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &data_encoding::BASE64URL_NOPAD
            .decode(payload.as_bytes())
            .unwrap(),
    )
    .unwrap()
}

/// The query parameters of a URL.
pub fn query_of(url: &str) -> std::collections::HashMap<String, String> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}
