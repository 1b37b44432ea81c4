//! `authcore signin`, scripted: a new device signs in to Globex with a password and the email code
//! that confirms the device, reading prompts from stdout and answering on stdin.

mod common;

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use authcore_server::ServerOptions;
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_in_with_a_password_and_an_email_code() {
    let mut options =
        ServerOptions::new(config(), "sqlite::memory:", "127.0.0.1:0".parse().unwrap());
    options.dev = true;
    let server = authcore_server::start(options).await.unwrap();
    let base = server.base_url().to_owned();
    let device = std::env::temp_dir().join(format!("authcore-signin-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&device);

    let (mut child, mut stdin, screen) = signin(&base, "dave@globex.example", &device);

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

    // a wrong code shows the step again, its resend countdown counted down meanwhile
    tokio::time::sleep(Duration::from_secs(2)).await;
    let right = emailed_code(&base).await;
    let wrong = if right == "000000" {
        "000001"
    } else {
        "000000"
    };
    writeln!(stdin, "{wrong}").unwrap();
    let shown = tokio::task::block_in_place(|| screen.wait_for("attempts left"));
    let shown = tokio::task::block_in_place(|| {
        screen.wait_until("the code step again", |s| {
            s.matches("Code: ").count() == 2 && s.len() > shown.len()
        })
    });
    let again = shown
        .lines()
        .rev()
        .find(|l| l.starts_with("Enter the code sent to"))
        .unwrap();
    let waited: u64 = again
        .split("r resend (in ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no resend countdown in {again}"));
    assert!(waited <= 28, "the resend wait did not count down: {again}");
    writeln!(stdin, "{right}").unwrap();

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

/// Dave's phone (the real core `Authenticator`), enrolled inside a password sign-in.
async fn enrolled_phone(base: &str) -> authcore::authenticator::Authenticator {
    use authcore::authenticator::{Added, Authenticator, AuthenticatorConfig};
    use authcore::signin::{MethodKind, SignInState};
    let http = authcore::http::HttpConfig::default();
    let store = Arc::new(authcore::store::MemoryStore::default());
    let phone = Authenticator::open(
        store.clone(),
        Arc::new(authcore::device_keys::SoftwareDeviceKeys::new(store)),
        Arc::new(authcore_e2e::Fingerprint::default()),
        AuthenticatorConfig {
            http: http.clone(),
            device_name: "Dave's Pixel".into(),
            platform: "harness".into(),
            push_token: None,
            user_verification: true,
        },
    )
    .unwrap();
    let laptop = authcore::AuthClient::new(
        authcore::ClientConfig {
            server_url: base.to_owned(),
            client_id: "authcore-harness".into(),
            http,
        },
        Arc::new(authcore::store::MemoryStore::default()),
    )
    .unwrap();
    let flow = laptop.sign_in();
    let SignInState::ChooseMethod { methods, .. } =
        flow.start("dave@globex.example").await.unwrap()
    else {
        panic!("no method list")
    };
    let password = methods
        .iter()
        .find(|m| m.kind == MethodKind::Password)
        .unwrap();
    flow.choose_method(password).await.unwrap();
    if let SignInState::EnterCode { .. } = flow.submit_password("dave-demo-password").await.unwrap()
    {
        // Globex requires a second factor: without an authenticator yet, the emailed code
        flow.submit_code(&emailed_code(base).await).await.unwrap();
    }
    let SignInState::ActivateAuthenticator { qr_payload, .. } =
        flow.enroll_authenticator().await.unwrap()
    else {
        panic!("no QR code")
    };
    let Added::Push(_) = phone.add_from_qr(qr_payload.expose()).await.unwrap() else {
        panic!("not a push account")
    };
    let SignInState::ApproveTestPush { number, .. } = flow.wait_for_phone().await.unwrap() else {
        panic!("no test approval")
    };
    let test = phone.pending_approvals(5).await.unwrap().pop().unwrap();
    phone.approve(&test.id, &number).await.unwrap();
    let state = flow.wait_for_phone().await.unwrap();
    assert!(matches!(state, SignInState::Done { .. }), "{state:?}");
    phone
}

/// Dave denies the push on his phone: the terminal says so once and asks what next (it used to
/// repeat the request and the error thousands of times a second); a new request, approved with
/// its number, signs him in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_push_stops_and_offers_a_new_request() {
    let mut config = config();
    config.push.require_attestation = false;
    for org in &mut config.orgs {
        if org.domain == "globex.example" {
            org.verify_unrecognised_devices = false;
        }
    }
    let mut options = ServerOptions::new(config, "sqlite::memory:", "127.0.0.1:0".parse().unwrap());
    options.dev = true;
    let server = authcore_server::start(options).await.unwrap();
    let base = server.base_url().to_owned();
    let phone = enrolled_phone(&base).await;
    let device = std::env::temp_dir().join(format!("authcore-signin-deny-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&device);
    let (mut child, mut stdin, screen) = signin(&base, "dave@globex.example", &device);

    let shown =
        tokio::task::block_in_place(|| screen.wait_for("(b back, f forgot password, q quit) > "));
    let by_phone = shown
        .lines()
        .find(|line| {
            line.to_lowercase().contains("phone") && line.trim_start().starts_with(char::is_numeric)
        })
        .unwrap_or_else(|| panic!("no phone sign-in offered:\n{shown}"));
    writeln!(
        stdin,
        "{}",
        by_phone.trim_start().split('.').next().unwrap()
    )
    .unwrap();
    tokio::task::block_in_place(|| screen.wait_for("Waiting…"));
    let request = phone.pending_approvals(10).await.unwrap().pop().unwrap();
    phone.deny(&request.id).await.unwrap();

    let prompt =
        "(1 send a new request, Enter wait again, b back to choose another way, q quit) > ";
    tokio::task::block_in_place(|| screen.wait_for(prompt));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let shown = screen.0.lock().unwrap().clone();
    assert_eq!(
        shown
            .matches("! the request was denied on your phone")
            .count(),
        1,
        "{shown}"
    );
    assert!(shown.ends_with(prompt), "{shown}");

    writeln!(stdin, "1").unwrap();
    let shown = tokio::task::block_in_place(|| {
        screen.wait_until("a second request", |seen| {
            seen.matches("Waiting…").count() == 2
        })
    });
    let request = phone.pending_approvals(10).await.unwrap().pop().unwrap();
    phone
        .approve(&request.id, &last_number(&shown))
        .await
        .unwrap();
    let status = tokio::task::block_in_place(|| child.wait()).unwrap();
    let shown = tokio::task::block_in_place(|| screen.wait_for("<dave@globex.example> (session "));
    assert!(status.success(), "{shown}");
    server.shutdown().await;
}
