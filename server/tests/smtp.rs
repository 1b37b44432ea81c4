//! Email through a real SMTP server (Python aiosmtpd on loopback) and SMS through the webhook.
//! aiosmtpd must be importable by `$AUTHCORE_PYTHON` (default `python3`); if not, this fails.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use authcore_server::config::{SmsWebhookConfig, SmtpConfig, SmtpSecurity};
use common::*;

fn python() -> String {
    std::env::var("AUTHCORE_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Smtpd {
    child: Child,
    output: Arc<Mutex<String>>,
}

impl Drop for Smtpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_smtpd(port: u16) -> Smtpd {
    let py = python();
    let check = Command::new(&py).args(["-c", "import aiosmtpd"]).output();
    match check {
        Ok(out) if out.status.success() => {}
        _ => panic!(
            "aiosmtpd is not importable by `{py}`: install it (pip install aiosmtpd) and set \
             AUTHCORE_PYTHON to that interpreter; this test does not skip"
        ),
    }
    let mut child = Command::new(&py)
        .args([
            "-u",
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start aiosmtpd");
    let output = Arc::new(Mutex::new(String::new()));
    let stdout = child.stdout.take().unwrap();
    let sink = output.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let mut s = sink.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    });
    // Wait (bounded) until it accepts connections.
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "aiosmtpd did not start listening"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Smtpd { child, output }
}

async fn wait_for(output: &Arc<Mutex<String>>, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = output.lock().unwrap().clone();
        if text.contains(needle) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "no message arrived; got:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_code_arrives_through_a_real_smtp_server() {
    let port = free_port();
    let smtpd = start_smtpd(port);
    let mut config = test_config();
    config.smtp = Some(SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        security: SmtpSecurity::None,
        from: "Authcore <no-reply@authcore.example>".into(),
        username: None,
        password: None,
    });
    // --dev only seeds alice here; with an SMTP server configured the message really goes out.
    let t = start_with(config, "sqlite::memory:", true).await;
    let p = pkce();
    let (_, body) = t.begin(ALICE.0, &p, &[("method", "email_code")]).await;
    assert_eq!(body["next"]["type"], "email_code");
    let text = wait_for(&smtpd.output, "code is ").await;
    assert!(text.contains("alice@acme.example"), "{text}");
    let code = code_in(&text[text.find("code is ").unwrap()..]);
    let (status, body) = t.step(&session_of(&body), &[("code", &code)]).await;
    assert_eq!(status, 200, "{body}");
    // Delivered: the outbox row is marked sent.
    let message = t.last_message(ALICE.0).await;
    assert!(message["sent_at"].is_u64(), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_code_goes_to_the_webhook() {
    use axum::routing::post;
    let received = Arc::new(Mutex::new(Vec::<serde_json::Value>::new()));
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/sms",
        post(move |axum::Json(body): axum::Json<serde_json::Value>| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push(body);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let mut config = test_config();
    config.sms_webhook = Some(SmsWebhookConfig {
        url: format!("http://{addr}/sms"),
        bearer_token: None,
    });
    let t = start_with(config, "sqlite::memory:", true).await;
    let p = pkce();
    let (_, body) = t.begin("+15555550101", &p, &[]).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let sms = loop {
        if let Some(sms) = received.lock().unwrap().first().cloned() {
            break sms;
        }
        assert!(Instant::now() < deadline, "no SMS reached the webhook");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(sms["to"], "+15555550101");
    let code = code_in(sms["body"].as_str().unwrap());
    let (status, _) = t.step(&session_of(&body), &[("code", &code)]).await;
    assert_eq!(status, 200);
}
