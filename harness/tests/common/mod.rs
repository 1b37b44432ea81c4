//! Test support for the harness's terminal commands: the demo config on loopback http, a child
//! process whose stdout is collected as a [`Screen`], and the codes and numbers the tests read.
#![allow(dead_code)]

use std::io::Read;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use authcore_server::Config;

pub fn config() -> Config {
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
pub struct Screen(pub Arc<Mutex<String>>);

impl Screen {
    pub fn wait_for(&self, text: &str) -> String {
        self.wait_until(&format!("{text:?}"), |seen| seen.contains(text))
    }

    /// Waits (at most 20 s) until what the child printed satisfies `done`.
    pub fn wait_until(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let seen = self.0.lock().unwrap().clone();
            if done(&seen) {
                return seen;
            }
            assert!(
                Instant::now() < deadline,
                "never saw {what}; screen:\n{seen}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// `authcore ARGS…` as a child process: its stdin, and its stdout collected on a thread.
pub fn spawn(args: &[&str]) -> (Child, ChildStdin, Screen) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_authcore"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
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
    (child, stdin, screen)
}

/// `authcore signin` for `email` on the device kept in `device`.
pub fn signin(base: &str, email: &str, device: &std::path::Path) -> (Child, ChildStdin, Screen) {
    spawn(&[
        "signin",
        "--server",
        base,
        "--email",
        email,
        "--device",
        device.to_str().unwrap(),
    ])
}

/// The code in the newest message the dev outbox holds for Dave.
pub async fn emailed_code(base: &str) -> String {
    let outbox: serde_json::Value =
        reqwest::get(format!("{base}/dev/outbox?to=dave%40globex.example"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let messages = outbox["messages"].as_array().unwrap();
    let body = messages.last().unwrap()["body"].as_str().unwrap();
    let at = body.find("code is ").unwrap() + "code is ".len();
    body[at..at + 6].to_owned()
}

/// The number the screen asked to enter last ("…: enter 42 (expires in 1:59)…").
pub fn last_number(screen: &str) -> String {
    let at = screen.rfind("on your phone: enter ").unwrap() + "on your phone: enter ".len();
    screen[at..].split(' ').next().unwrap().to_owned()
}
