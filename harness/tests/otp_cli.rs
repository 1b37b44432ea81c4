//! The `authcore` OTP commands as a user runs them.

use std::process::{Command, Output};

use serde_json::Value;

const RFC_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

fn authcore(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_authcore"))
        .args(args)
        .output()
        .expect("run authcore")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// Bad input: status 2, nothing on stdout, exactly one line on stderr, no panic text.
fn assert_rejected(args: &[&str], message: &str) {
    let output = authcore(args);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{args:?}: {}",
        stderr(&output)
    );
    assert_eq!(stdout(&output), "", "{args:?}");
    assert_eq!(stderr(&output), format!("error: {message}\n"), "{args:?}");
}

#[test]
fn code_prints_the_code_then_seconds_left() {
    let uri = format!("otpauth://totp/Acme:alice?secret={RFC_SECRET}&digits=8");
    let output = authcore(&["code", &uri, "--at", "1111111109"]);
    assert!(output.status.success());
    assert_eq!(stdout(&output), "07081804\n1 s left\n");
    assert_eq!(stderr(&output), "");
}

#[test]
fn code_applies_a_clock_offset_and_handles_hotp() {
    let uri = format!("otpauth://totp/a?secret={RFC_SECRET}");
    let output = authcore(&["code", &uri, "--at", "89", "--offset", "-30"]);
    assert_eq!(stdout(&output), "287082\n1 s left\n");
    let hotp = format!("otpauth://hotp/a?secret={RFC_SECRET}&counter=3");
    assert_eq!(stdout(&authcore(&["code", &hotp])), "969429\n");
}

#[test]
fn code_warns_about_weak_secrets_on_stderr() {
    let output = authcore(&[
        "code",
        "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP",
        "--at",
        "0",
    ]);
    assert!(output.status.success());
    assert_eq!(
        stderr(&output),
        "warning: the secret is only 80 bits; 128 or more is recommended\n"
    );
}

#[test]
fn bad_input_exits_2_with_one_clear_line() {
    assert_rejected(&["code", "not a uri"], "not an otpauth:// URI");
    assert_rejected(
        &["code", "otpauth://totp/a?secret=JBSWY3DP!PK3PXP"],
        "the secret is not base32: invalid character at position 9",
    );
    assert_rejected(
        &[
            "code",
            &format!("otpauth://totp/a?secret={RFC_SECRET}&digits=5"),
        ],
        "unsupported digits `5` (expected 6, 7 or 8)",
    );
    assert_rejected(
        &[
            "uri",
            "parse",
            &format!("otpauth://totp/a?secret={RFC_SECRET}&algorithm=MD5"),
        ],
        "unsupported algorithm `MD5` (expected SHA1, SHA256 or SHA512)",
    );
    assert_rejected(
        &["code", &format!("otpauth://hotp/a?secret={RFC_SECRET}")],
        "missing required parameter `counter`",
    );
    assert_rejected(
        &[
            "uri",
            "new",
            "--issuer",
            "Acme",
            "--account",
            "a",
            "--period",
            "0",
        ],
        "unsupported period `0` (expected whole seconds from 1 to 3600)",
    );
    assert_rejected(
        &["uri", "new", "--issuer", "Acme", "--account", " "],
        "the account name is empty",
    );
}

#[test]
fn truncated_migration_payload_exits_2() {
    // A two-account export, cut short in the middle of the second account.
    let full = export_uri();
    let data = full.split("data=").nth(1).unwrap();
    let cut = format!(
        "otpauth-migration://offline?data={}",
        &data[..data.len() / 2]
    );
    let output = authcore(&["import", &cut]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message == "error: the export payload is truncated or corrupt\n"
            || message == "error: the data parameter is not valid base64\n",
        "{message}"
    );
    assert_rejected(
        &["import", "otpauth-migration://offline?data=CgAS"],
        "the export payload is truncated or corrupt",
    );
    assert_rejected(
        &["import", "otpauth-migration://offline"],
        "the URI has no data parameter",
    );
}

#[test]
fn parse_prints_json_with_the_secret_redacted_unless_asked() {
    let uri = format!("otpauth://totp/Old:alice?secret={RFC_SECRET}&issuer=New&period=60&digits=8&algorithm=SHA512");
    let output = authcore(&["uri", "parse", &uri]);
    let json: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(json["type"], "totp");
    assert_eq!(json["issuer"], "New");
    assert_eq!(json["account"], "alice");
    assert_eq!(json["secret"], "<redacted>");
    assert_eq!(json["secret_bits"], 160);
    assert_eq!(json["algorithm"], "SHA512");
    assert_eq!(json["digits"], 8);
    assert_eq!(json["period"], 60);
    assert_eq!(json["warnings"][0]["kind"], "issuer_mismatch");
    assert!(!stdout(&output).contains(RFC_SECRET));

    let shown = authcore(&["uri", "parse", &uri, "--show-secret"]);
    let json: Value = serde_json::from_str(&stdout(&shown)).unwrap();
    assert_eq!(json["secret"], RFC_SECRET);
}

#[test]
fn new_makes_a_160_bit_account_and_draws_its_qr_code() {
    let output = authcore(&[
        "uri",
        "new",
        "--issuer",
        "Acme Co",
        "--account",
        "alice@acme.example",
        "--algorithm",
        "sha256",
        "--digits",
        "8",
        "--period",
        "60",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    let mut lines = text.lines();
    let uri = lines.next().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/Acme%20Co:alice@acme.example?secret="),
        "{uri}"
    );
    let parsed = authcore(&["uri", "parse", uri]);
    let json: Value = serde_json::from_str(&stdout(&parsed)).unwrap();
    assert_eq!(json["secret_bits"], 160);
    assert_eq!(json["algorithm"], "SHA256");
    assert_eq!(json["warnings"], Value::Array(vec![]));
    let drawing: Vec<&str> = lines.collect();
    assert!(drawing.len() > 15, "a QR code is drawn");
    assert!(drawing
        .iter()
        .all(|l| l.chars().all(|c| " ▀▄█".contains(c))));
    // Two runs never share a secret.
    let again = authcore(&[
        "uri",
        "new",
        "--issuer",
        "Acme Co",
        "--account",
        "alice@acme.example",
    ]);
    assert_ne!(stdout(&again).lines().next().unwrap(), uri);
}

/// A Google Authenticator export of two accounts, made by the harness's own import path's
/// inverse: core's exporter.
fn export_uri() -> String {
    use authcore::otp::{migration, uri};
    let accounts = [
        uri::parse(&format!("otpauth://totp/Acme:alice?secret={RFC_SECRET}"))
            .unwrap()
            .account,
        uri::parse(&format!(
            "otpauth://hotp/Globex:bob?secret={RFC_SECRET}&counter=7&digits=8"
        ))
        .unwrap()
        .account,
    ];
    migration::export(&accounts, 77).unwrap().remove(0)
}

#[test]
fn import_prints_accounts_as_json_or_uris() {
    let uri = export_uri();
    let output = authcore(&["import", &uri]);
    assert!(output.status.success(), "{}", stderr(&output));
    let json: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(json["batch"]["description"], "batch 1 of 1");
    assert_eq!(json["batch"]["id"], 77);
    assert_eq!(json["accounts"][0]["account"], "alice");
    assert_eq!(json["accounts"][0]["secret"], "<redacted>");
    assert_eq!(json["accounts"][1]["type"], "hotp");
    assert_eq!(json["accounts"][1]["counter"], 7);
    assert!(!stdout(&output).contains(RFC_SECRET));

    let shown = authcore(&["import", &uri, "--show-secrets"]);
    let json: Value = serde_json::from_str(&stdout(&shown)).unwrap();
    assert_eq!(json["accounts"][1]["secret"], RFC_SECRET);

    let uris = authcore(&["import", &uri, "--uris"]);
    assert_eq!(
        stdout(&uris),
        format!(
            "otpauth://totp/Acme:alice?secret={RFC_SECRET}&issuer=Acme&algorithm=SHA1&digits=6&period=30\n\
             otpauth://hotp/Globex:bob?secret={RFC_SECRET}&issuer=Globex&algorithm=SHA1&digits=8&counter=7\n"
        )
    );
}

#[test]
fn bench_reports_codes_per_second() {
    let output = authcore(&["bench", "otp", "--seconds", "0.05"]);
    assert!(output.status.success());
    let text = stdout(&output);
    for name in ["SHA1", "SHA256", "SHA512"] {
        assert!(text.contains(name) && text.contains("codes/s"), "{text}");
    }
}

#[test]
fn bench_vault_reports_open_times() {
    let output = authcore(&["bench", "vault", "--accounts", "20", "--runs", "3"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output)
            .starts_with("authenticator open + all codes, 20 TOTP accounts, 3 runs: p50 "),
        "{}",
        stdout(&output)
    );
    assert_rejected(
        &["bench", "vault", "--accounts", "0"],
        "--accounts and --runs must be at least 1",
    );
}

/// `authcore uri new … | head -1`: the reader is gone before the output ends; the command stops
/// quietly with 141 (128 + SIGPIPE, as `ls | head` does), not with "internal error … a bug".
/// The pipe's reading end is closed before the command starts, so its first write fails.
#[test]
#[allow(clippy::incompatible_msrv)] // std::io::pipe (Rust 1.87) in a test only
fn a_reader_that_stops_early_is_not_a_bug() {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = Command::new(env!("CARGO_BIN_EXE_authcore"))
        .args([
            "uri",
            "new",
            "--issuer",
            "Acme",
            "--account",
            "alice@acme.example",
        ])
        .stdout(writer)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(141), "{}", stderr(&output));
    assert_eq!(stderr(&output), "");
}
