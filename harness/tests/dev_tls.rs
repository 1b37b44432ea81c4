//! `authcore server --dev-tls DIR`, then `authcore signin` as the README's Globex recipe has it:
//! Carol's organisation signs in on its own host (login.globex.example) over TLS; the throwaway
//! CA and `--resolve` let a newcomer reach it from this machine.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use common::*;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The newest code the dev outbox holds for Carol, read over TLS with the dev CA.
fn emailed_code(base: &str, ca: &std::path::Path) -> String {
    let out = Command::new("curl")
        .args(["-sS", "--cacert", ca.to_str().unwrap()])
        .arg(format!("{base}/dev/outbox?to=carol%40globex.example"))
        .output()
        .unwrap();
    let outbox: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("outbox: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    let body = outbox["messages"].as_array().unwrap().last().unwrap()["body"]
        .as_str()
        .unwrap()
        .to_owned();
    let at = body.find("code is ").unwrap() + "code is ".len();
    body[at..at + 6].to_owned()
}

/// Carol's seeded authenticator secret (server/examples/demo.toml's dev user).
const CAROL_TOTP: &str = "otpauth://totp/Globex:carol?secret=KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU";

/// The code `authcore code URI` prints first.
fn totp_now(uri: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_authcore"))
        .args(["code", uri])
        .output()
        .unwrap();
    let printed = String::from_utf8(out.stdout).unwrap();
    printed.split_whitespace().next().unwrap().to_owned()
}

/// A child process killed when the test ends, passed or not.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_globex_user_signs_in_on_her_organisations_host_with_the_dev_ca() {
    let dir = std::env::temp_dir().join(format!("authcore-dev-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let port = free_port();
    let config =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/examples/demo.toml");
    let mut server = Killed(
        Command::new(env!("CARGO_BIN_EXE_authcore"))
            .args([
                "server",
                "--config",
                config.to_str().unwrap(),
                "--db",
                "sqlite::memory:",
            ])
            .args([
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--dev",
                "--dev-tls",
            ])
            .arg(dir.join("tls"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let server = &mut server.0;
    let mut said = String::new();
    let mut stderr = BufReader::new(server.stderr.take().unwrap());
    while !said.contains("--resolve login.globex.example=127.0.0.1") {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "server stopped: {said}"
        );
        said.push_str(&line);
    }
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    let ca = dir.join("tls/ca.pem");
    let base = format!("https://127.0.0.1:{port}");
    // the command the server printed is the one this test runs
    assert!(
        said.contains(&format!(
            "authcore signin --server {base} --ca {} --resolve login.globex.example=127.0.0.1",
            ca.display()
        )),
        "{said}"
    );
    // and the README's Globex recipe is that command, on the README's port and directory
    let readme = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"),
    )
    .unwrap();
    assert!(
        readme.contains("--listen 127.0.0.1:8443 --dev --dev-tls /tmp/authcore-tls\n"),
        "README: the --dev-tls server command"
    );
    let printed = said
        .lines()
        .find(|l| l.contains("authcore signin"))
        .unwrap()
        .trim()
        .replace(&port.to_string(), "8443")
        .replace(dir.join("tls").to_str().unwrap(), "/tmp/authcore-tls");
    let printed = printed.strip_prefix("authcore ").unwrap();
    assert!(
        readme.contains(&format!("-- {printed} --email carol@globex.example\n")),
        "README: {printed}"
    );
    let mut stdout = BufReader::new(server.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), format!("listening on {base}"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("tls/key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o077,
            0,
            "the TLS key is readable by others: {mode:o}"
        );
    }

    let device = dir.join("device");
    let (mut child, mut stdin, screen) = spawn(&[
        "signin",
        "--server",
        &base,
        "--ca",
        ca.to_str().unwrap(),
        "--resolve",
        "login.globex.example=127.0.0.1",
        "--email",
        "carol@globex.example",
        "--device",
        device.to_str().unwrap(),
    ]);
    let shown = screen.wait_for("(b back, f forgot password, q quit) > ");
    assert!(
        shown.contains(&format!(
            "Your organisation signs in at login.globex.example:{port}; continuing there."
        )),
        "{shown}"
    );
    writeln!(stdin, "1").unwrap();
    screen.wait_for("Password for carol@globex.example");
    writeln!(stdin, "carol-demo-password").unwrap();
    let shown = screen.wait_for("Code: ");
    assert!(
        shown.contains("Confirm it's you: this device is not recognised."),
        "{shown}"
    );
    writeln!(stdin, "{}", emailed_code(&base, &ca)).unwrap();
    // Globex requires a second factor: Carol's authenticator app code, as `authcore code` shows it
    let shown =
        screen.wait_for("Second step: how do you want to verify?\n  1. Authenticator app code\n");
    assert!(shown.ends_with("(b back, q quit) > "), "{shown}");
    writeln!(stdin, "1").unwrap();
    let asked = screen.wait_for("Authenticator app code (6 digits, b back): ");
    writeln!(stdin, "{}", totp_now(CAROL_TOTP)).unwrap();
    // her organisation also requires a phone authenticator, which she may skip for now
    let shown = screen.wait_until("the end of the sign-in", |s| {
        s.contains("Signed in as ") || (s.len() > asked.len() && s[asked.len()..].ends_with("> "))
    });
    if !shown.contains("Signed in as ") {
        assert!(
            shown.contains("2. Skip for now (3 times left)\n"),
            "{shown}"
        );
        writeln!(stdin, "2").unwrap();
    }
    let status = child.wait().unwrap();
    let shown = screen.wait_for("<carol@globex.example> (session ");
    assert!(status.success(), "{shown}");
    assert!(
        shown
            .lines()
            .last()
            .unwrap()
            .contains("Signed in as Carol Globex <carol@globex.example>"),
        "{shown}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
