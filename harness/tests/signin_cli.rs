//! `authcore signin`, scripted: a new device signs in to Globex with a password and the email code
//! that confirms the device, reading prompts from stdout and answering on stdin.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use authcore_server::{Config, ServerOptions};

fn config() -> Config {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/examples/demo.toml");
    // Loopback http here: Globex's own sign-in host needs TLS and DNS (covered in tests/).
    let toml = std::fs::read_to_string(path)
        .unwrap()
        .replace("sign_in_host = \"login.globex.example\"", "");
    let mut config = Config::from_toml(&toml).unwrap();
    config.argon2.memory_kib = 1024;
    config.argon2.iterations = 1;
    config
}

/// Everything the child printed so far.
struct Screen(Arc<Mutex<String>>);

impl Screen {
    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let seen = self.0.lock().unwrap().clone();
            if seen.contains(text) {
                return seen;
            }
            assert!(
                Instant::now() < deadline,
                "never saw {text:?}; screen:\n{seen}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_in_with_a_password_and_an_email_code() {
    let mut options =
        ServerOptions::new(config(), "sqlite::memory:", "127.0.0.1:0".parse().unwrap());
    options.dev = true;
    let server = authcore_server::start(options).await.unwrap();
    let base = server.base_url().to_owned();
    let device = std::env::temp_dir().join(format!("authcore-signin-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&device);

    let mut child = Command::new(env!("CARGO_BIN_EXE_authcore"))
        .args([
            "signin",
            "--server",
            &base,
            "--email",
            "dave@globex.example",
            "--device",
        ])
        .arg(&device)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let screen = Screen(Arc::default());
    let sink = screen.0.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1024];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });

    let shown =
        tokio::task::block_in_place(|| screen.wait_for("(b back, f forgot password, q quit) > "));
    assert!(
        shown.contains("Globex: how do you want to sign in?"),
        "{shown}"
    );
    assert!(
        shown.contains("  1. Password\n  2. Globex SSO\n"),
        "{shown}"
    );
    writeln!(stdin, "1").unwrap();
    tokio::task::block_in_place(|| screen.wait_for("Password for dave@globex.example"));
    writeln!(stdin, "wrong-password").unwrap();
    tokio::task::block_in_place(|| screen.wait_for("! that is not correct; 9 attempts left"));
    writeln!(stdin, "dave-demo-password").unwrap();
    let shown = tokio::task::block_in_place(|| screen.wait_for("Code: "));
    assert!(
        shown.contains("Confirm it's you: this device is not recognised."),
        "{shown}"
    );
    assert!(
        shown.contains("Enter the code sent to d***@globex.example (6 digits, expires in 10:00; r resend (in 30 s), b back)")
            || shown.contains("Enter the code sent to d***@globex.example (6 digits, expires in 9:59; r resend (in 30 s), b back)"),
        "{shown}"
    );

    let outbox: serde_json::Value =
        reqwest::get(format!("{base}/dev/outbox?to=dave%40globex.example"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let body = outbox["messages"][0]["body"].as_str().unwrap();
    let at = body.find("code is ").unwrap() + "code is ".len();
    writeln!(stdin, "{}", &body[at..at + 6]).unwrap();

    // Globex requires an authenticator: "Skip for now (3 times left)"
    let shown = tokio::task::block_in_place(|| screen.wait_for("Skip for now"));
    assert!(
        shown.contains("Protect your account: your organisation requires an authenticator app.\n  1. Set it up now\n  2. Skip for now (3 times left)\n"),
        "{shown}"
    );
    writeln!(stdin, "2").unwrap();

    let status = tokio::task::block_in_place(|| child.wait()).unwrap();
    let shown = tokio::task::block_in_place(|| screen.wait_for("<dave@globex.example> (session "));
    let mut errors = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut errors)
        .unwrap();
    assert!(status.success(), "{errors}");
    let last = shown.lines().last().unwrap();
    assert!(
        last.contains("Signed in as Dave Globex <dave@globex.example> (session "),
        "{last}"
    );
    // the device is recognised next time: its token was saved in the encrypted store
    assert!(device.join("store.bin").exists());
    server.shutdown().await;
}
