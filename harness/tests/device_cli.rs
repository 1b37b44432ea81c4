//! `authcore device` and `authcore signin` together, as two terminals: Dave signs in on one and
//! sets up the phone in the other (typed activation code, test notification, number), then the
//! phone's code accounts, backup and restore, and the exact errors of bad input.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use authcore_server::ServerOptions;
use common::*;

/// One `authcore device …` run on the phone kept in `dir`: exit code, stdout, stderr.
fn device(dir: &Path, args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_authcore"))
        .arg("device")
        .args(args)
        .arg("--device")
        .arg(dir)
        .env("AUTHCORE_BACKUP_PASSPHRASE", "correct horse battery staple")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// One `authcore account …` run on the session kept in `laptop`.
fn account(base: &str, laptop: &Path, command: &str) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_authcore"))
        .args(["account", command, "--server", base, "--device"])
        .arg(laptop)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("authcore-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// "Can't scan image? Enter the code 7K3M-Q9XA-R2TD and the URL http://…" -> (code, URL).
fn typed_code(screen: &str) -> (String, String) {
    let at = screen.rfind("Enter the code ").unwrap() + "Enter the code ".len();
    let mut words = screen[at..].split(' ');
    let code = words.next().unwrap().to_owned();
    let url = words.nth(3).unwrap().to_owned();
    (code, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dave_sets_up_the_terminal_phone_from_another_terminal_and_approves_with_the_number() {
    let mut options =
        ServerOptions::new(config(), "sqlite::memory:", "127.0.0.1:0".parse().unwrap());
    options.dev = true;
    let server = authcore_server::start(options).await.unwrap();
    let base = server.base_url().to_owned();
    let phone = temp("device-phone");
    let laptop = temp("device-laptop");

    let (none, out, _) = device(&phone, &["list"], "");
    assert_eq!(none, 0);
    assert_eq!(
        out,
        "No accounts on this phone yet: `authcore device enroll <QR payload>`.\n"
    );

    // Terminal 1: password, the emailed code, "Set it up now".
    let (mut child, mut stdin, screen) = signin(&base, "dave@globex.example", &laptop);
    tokio::task::block_in_place(|| screen.wait_for("(b back, f forgot password, q quit) > "));
    writeln!(stdin, "1").unwrap();
    tokio::task::block_in_place(|| screen.wait_for("Password for dave@globex.example"));
    writeln!(stdin, "dave-demo-password").unwrap();
    tokio::task::block_in_place(|| screen.wait_for("Code: "));
    writeln!(stdin, "{}", emailed_code(&base).await).unwrap();
    tokio::task::block_in_place(|| screen.wait_for("Skip for now"));
    writeln!(stdin, "1").unwrap();
    let shown = tokio::task::block_in_place(|| screen.wait_for("Can't scan image? Enter the code"));
    let (code, url) = typed_code(&shown);

    // Terminal 2: the phone, with the typed activation code.
    let (status, out, err) =
        tokio::task::block_in_place(|| device(&phone, &["enroll", &code, "--server", &url], ""));
    assert_eq!(status, 0, "{err}");
    assert_eq!(
        out,
        format!(
            "Registered with {url} as Globex: dave@globex.example.\n\
             Approve the test notification: `authcore device approve --number N`.\n"
        )
    );
    let shown = tokio::task::block_in_place(|| {
        screen.wait_for("Approve the test notification on your phone: enter ")
    });
    let number = last_number(&shown);
    let (status, out, _) = device(&phone, &["approvals"], "");
    assert_eq!(status, 0);
    assert!(
        out.ends_with("Globex: dave@globex.example — Test notification\n"),
        "{out}"
    );

    // A number of the wrong shape is refused on the phone; nothing is sent.
    let (status, _, err) = device(&phone, &["approve", "--number", "7", "--yes"], "");
    assert_eq!(
        (status, err.as_str()),
        (
            2,
            "error: enter the 2-digit number shown on the sign-in screen\n"
        )
    );
    // "No" at the confirmation: nothing is sent.
    let (status, _, err) = device(&phone, &["approve", "--number", &number], "n\n");
    assert_eq!(
        (status, err.as_str()),
        (2, "error: you were not verified; nothing was sent\n")
    );
    // The number asked on the terminal, then "y".
    let (status, out, err) = device(&phone, &["approve"], &format!("{number}\ny\n"));
    assert_eq!(status, 0, "{err}");
    assert!(
        out.contains("Enter the 2-digit number shown on the sign-in screen: Finish setting up Globex: dave@globex.example? [y/N] Approved.\n"),
        "{out}"
    );

    let status = tokio::task::block_in_place(|| child.wait()).unwrap();
    let shown = tokio::task::block_in_place(|| screen.wait_for("<dave@globex.example> (session "));
    assert!(status.success(), "{shown}");

    // The session is kept: signing in again on this device reuses it, `account` acts on it.
    let (mut again, _stdin, screen) = signin(&base, "dave@globex.example", &laptop);
    assert!(tokio::task::block_in_place(|| again.wait())
        .unwrap()
        .success());
    let shown = screen.wait_for("Already signed in as Dave Globex <dave@globex.example>");
    assert!(
        shown.ends_with("; `authcore account` acts on this session (`--again` signs in anew).\n"),
        "{shown}"
    );
    let (status, out, err) = account(&base, &laptop, "devices");
    assert_eq!(status, 0, "{err}");
    assert!(
        out.contains("  Terminal phone (harness)  active  push off  added "),
        "{out}"
    );
    let (_, out, _) = account(&base, &laptop, "history");
    assert!(
        out.contains(" UTC  sign_in password [password, email_verification, push]  success  from 127.0.0.1 (authcore/"),
        "{out}"
    );
    let (status, out, err) = account(&base, &laptop, "sessions");
    assert_eq!(status, 0, "{err}");
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(
        out.contains("  authcore harness  password (password, email_verification, push)  from 127.0.0.1 (authcore/"),
        "{out}"
    );
    assert!(out.trim_end().ends_with(" UTC  (this session)"), "{out}");
    let out = Command::new(env!("CARGO_BIN_EXE_authcore"))
        .args([
            "account",
            "end-session",
            "424242",
            "--server",
            &base,
            "--device",
        ])
        .arg(&laptop)
        .output()
        .unwrap();
    assert_eq!(
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).as_ref()
        ),
        (Some(2), "error: no active session of yours has this id\n")
    );
    let (status, out, _) = account(&base, &laptop, "logout-all");
    assert_eq!(
        (status, out.as_str()),
        (0, "Logged out everywhere: 1 session(s) ended.\n")
    );
    let (status, _, err) = account(&base, &laptop, "whoami");
    assert_eq!(
        (status, err.as_str()),
        (
            2,
            "error: not signed in on this device: `authcore signin` first\n"
        )
    );

    let (_, out, _) = device(&phone, &["list"], "");
    assert!(out.starts_with("push  dv_"), "{out}");
    assert!(
        out.contains(&format!("  Globex: dave@globex.example  {url}\n")),
        "{out}"
    );
    let (status, out, _) = device(&phone, &["approvals"], "");
    assert_eq!(
        (status, out.as_str()),
        (0, "No sign-in is waiting for this phone.\n")
    );
    let (status, _, err) = device(&phone, &["deny"], "");
    assert_eq!(
        (status, err.as_str()),
        (2, "error: no sign-in is waiting for this phone\n")
    );
    let (status, _, err) = device(&phone, &["approve", "42", "--number", "12"], "");
    assert_eq!(
        (status, err.as_str()),
        (2, "error: no request 42 is waiting for this phone\n")
    );
    server.shutdown().await;
}

#[test]
fn code_accounts_backups_and_bad_input() {
    let phone = temp("device-codes");
    let uri = "otpauth://totp/Acme:alice@acme.example?secret=JBSWY3DPEHPK3PXP&issuer=Acme";
    let (status, out, err) = device(&phone, &["add", uri], "");
    assert_eq!(status, 0, "{err}");
    assert_eq!(out, "Added 1 account(s); 0 already here.\n");
    let (_, out, _) = device(&phone, &["add", uri], "");
    assert_eq!(out, "Added 0 account(s); 1 already here.\n");

    let (_, out, _) = device(&phone, &["codes"], "");
    let line = out.lines().next().unwrap();
    let (code, rest) = line.split_once("  ").unwrap();
    assert!(
        code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()),
        "{line}"
    );
    assert!(rest.starts_with("alice@acme.example  ("), "{line}");
    let (_, out, _) = device(&phone, &["list"], "");
    assert!(
        out.starts_with("totp  ") && out.ends_with("  Acme: alice@acme.example\n"),
        "{out}"
    );

    // The backup restores on another phone.
    let backup = temp("device-backup.bin");
    let (status, out, err) = device(&phone, &["backup", backup.to_str().unwrap()], "");
    assert_eq!(status, 0, "{err}");
    assert_eq!(
        out,
        format!("Wrote the code accounts to {}.\n", backup.display())
    );
    let other = temp("device-restored");
    let (status, out, err) = device(&other, &["restore", backup.to_str().unwrap()], "");
    assert_eq!(status, 0, "{err}");
    assert_eq!(out, "Restored 1 account(s); 0 already here.\n");

    let refusals: [(&[&str], &str); 5] = [
        (
            &["add", "otpauth://totp/x?secret=!!"],
            "the QR code's account is invalid: the secret is not base32: invalid character at position 1",
        ),
        (&["enroll", "not-a-code"], "this QR code is not an authenticator code"),
        (
            &["enroll", "7K3M-Q9XA-R2TD"],
            "a typed activation code needs the server: `authcore device enroll 7K3M-Q9XA-R2TD --server URL` (the URL shown beside the code)",
        ),
        (&["enroll", "authcore://enroll?x"], "the enrollment code is missing its `v`"),
        (
            &["restore", "/nonexistent/backup"],
            "cannot read /nonexistent/backup: No such file or directory (os error 2)",
        ),
    ];
    for (args, error) in refusals {
        let (status, _, err) = device(&phone, args, "");
        assert_eq!(
            (status, err.as_str()),
            (2, format!("error: {error}\n").as_str()),
            "{args:?}"
        );
    }
}
