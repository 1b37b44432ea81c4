//! `authcore demo`: the whole system in one process. The reference server runs in-process (in-memory
//! SQLite, dev outbox, TLS with a throwaway CA so Globex's own sign-in host is real), and the real
//! core drives a Globex user's laptop (the `SignIn` flow) and phone (the `Authenticator`). Each
//! screen is printed as the user would see it.

use std::sync::Arc;
use std::time::Instant;

use authcore::authenticator::{Added, ApprovalKind, Authenticator, NumberPrompt};
use authcore::session::Session;
use authcore::signin::{MethodKind, SignIn, SignInListener, SignInState};
use authcore::AuthClient;
use authcore_e2e::{start_tls_deployment, Fingerprint, TlsWorld};
use clap::Args;

#[derive(Args, Debug)]
pub struct DemoArgs {}

const EMAIL: &str = "dave@globex.example";
const PASSWORD: &str = "dave-demo-password";

struct Narrator;

impl SignInListener for Narrator {
    fn on_state_changed(&self, state: SignInState) {
        if let SignInState::UseSignInHost { host } = state {
            screen(
                "Globex signs in on its own domain",
                &[&format!("continuing at {host}")],
            );
        }
    }
}

fn screen(title: &str, lines: &[&str]) {
    println!("  ┌ {title}");
    for line in lines {
        println!("  │ {line}");
    }
}

fn act(what: &str) {
    println!("  → {what}");
}

fn part(title: &str) {
    println!("\n{title}");
}

pub fn run(_: DemoArgs) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(story())
}

async fn story() -> Result<(), String> {
    let started = Instant::now();
    let tls = start_tls_deployment(false).await;
    println!(
        "authcore demo: the reference server in-process at {} (TLS, throwaway CA, in-memory SQLite),",
        tls.world.base
    );
    println!("the real core on Dave's laptop (sign-in) and Dave's phone (authenticator).");

    let laptop = tls.app("dave-laptop");
    let fingerprint = Arc::new(Fingerprint::default());
    let phone = tls.phone("Dave's Pixel", true, fingerprint.clone());

    part("1. First sign-in on a new laptop");
    let flow = sign_in_with_password(&tls, &laptop).await?;
    let SignInState::EnrollAuthenticator { skips_left, .. } = flow.state() else {
        return Err(format!(
            "expected the enrollment prompt, got {:?}",
            flow.state()
        ));
    };
    screen(
        "Protect your account",
        &[
            "Your organisation requires an authenticator app.",
            "[Set it up now]",
            &format!("[Skip for now ({skips_left} times left)]"),
        ],
    );
    act("Skip for now");
    let session = done(flow.skip_enrollment().await.map_err(|e| e.to_string())?)?;
    signed_in(&session).await?;

    part("2. Next sign-in: set up the authenticator");
    let flow = sign_in_with_password(&tls, &laptop).await?;
    let SignInState::EnrollAuthenticator { skips_left, .. } = flow.state() else {
        return Err(format!(
            "expected the enrollment prompt, got {:?}",
            flow.state()
        ));
    };
    screen(
        "Protect your account",
        &[
            "[Set it up now]",
            &format!("[Skip for now ({skips_left} times left)]"),
        ],
    );
    act("Set it up now");
    let state = flow
        .enroll_authenticator()
        .await
        .map_err(|e| e.to_string())?;
    let SignInState::ActivateAuthenticator {
        qr_payload,
        activation_code,
        server_url,
        ..
    } = state
    else {
        return Err(format!("expected the QR code, got {state:?}"));
    };
    screen(
        "Scan the QR code with the authenticator app",
        &[
            &format!("QR: {}", qr_payload.expose()),
            &format!(
                "Can't scan image? Code {} at {server_url}",
                activation_code.expose()
            ),
        ],
    );
    act("the phone scans the QR code and registers a P-256 device key");
    let Added::Push(account) = phone
        .add_from_qr(qr_payload.expose())
        .await
        .map_err(|e| e.to_string())?
    else {
        return Err("the QR code did not add a push account".into());
    };
    println!("  [phone] account added: {}", account.label);
    let state = flow.wait_for_phone().await.map_err(|e| e.to_string())?;
    let SignInState::ApproveTestPush { number, .. } = state else {
        return Err(format!("expected the test approval, got {state:?}"));
    };
    screen(
        "Approve the test notification",
        &[&format!("Enter this number on your phone: {number}")],
    );
    approve_on_phone(&phone, &number).await?;
    let session = done(flow.wait_for_phone().await.map_err(|e| e.to_string())?)?;
    signed_in(&session).await?;

    part("3. Sign in with the phone: number matching");
    let flow = sign_in_with_password(&tls, &laptop).await?;
    let SignInState::ApprovePush { number, .. } = flow.state() else {
        return Err(format!("expected a push, got {:?}", flow.state()));
    };
    screen(
        "Approve sign-in request",
        &[&format!(
            "Open your authenticator app and enter the number shown: {number}"
        )],
    );
    approve_on_phone(&phone, &number).await?;
    let session = done(flow.wait_for_phone().await.map_err(|e| e.to_string())?)?;
    signed_in(&session).await?;

    part("4. Sign-in history");
    for entry in session.sign_in_history().await.map_err(|e| e.to_string())? {
        // A security event's `method` is its kind (`authenticator_added`); it has no factors.
        let what = if entry.factors.is_empty() {
            entry.method.clone()
        } else {
            format!("{:<8} factors {}", entry.method, entry.factors.join("+"))
        };
        println!(
            "  │ {:<22} {:<56} {} from {} ({})",
            entry.kind, what, entry.result, entry.ip, entry.user_agent
        );
    }

    part("5. Log out of all sessions");
    let revoked = session
        .logout_everywhere()
        .await
        .map_err(|e| e.to_string())?;
    println!("  ✓ {revoked} sessions ended on every device");

    println!(
        "\nDone in {:.2} s: {} fingerprint prompt(s) on the phone.",
        started.elapsed().as_secs_f64(),
        fingerprint.asked.lock().map_or(0, |a| a.len())
    );
    tls.world.stop().await;
    Ok(())
}

/// Email -> methods -> Password -> (unrecognised device: email code) -> whatever comes next.
async fn sign_in_with_password(tls: &TlsWorld, laptop: &AuthClient) -> Result<SignIn, String> {
    let flow = laptop.sign_in();
    flow.set_listener(Some(Arc::new(Narrator)));
    screen("Sign in", &[&format!("Email or phone: {EMAIL}")]);
    let state = flow.start(EMAIL).await.map_err(|e| e.to_string())?;
    let SignInState::ChooseMethod {
        organization,
        methods,
        ..
    } = &state
    else {
        return Err(format!("expected the method list, got {state:?}"));
    };
    let list: Vec<String> = methods
        .iter()
        .enumerate()
        .map(|(i, m)| format!("{}. {}", i + 1, m.display_name))
        .collect();
    let list: Vec<&str> = list.iter().map(String::as_str).collect();
    screen(
        &format!(
            "{}: how do you want to sign in?",
            organization.as_deref().unwrap_or(EMAIL)
        ),
        &list,
    );
    let password = methods
        .iter()
        .find(|m| m.kind == MethodKind::Password)
        .ok_or("no password method")?;
    act("Password");
    flow.choose_method(password)
        .await
        .map_err(|e| e.to_string())?;
    screen(&format!("Password for {EMAIL}"), &["••••••••••••••••••"]);
    let state = flow
        .submit_password(PASSWORD)
        .await
        .map_err(|e| e.to_string())?;
    if let SignInState::EnterCode {
        destination_hint,
        length,
        ..
    } = &state
    {
        let code = tls.world.last_code(EMAIL).await;
        // Dave has no second factor yet, so Globex (MFA required) confirms him by email.
        screen(
            "Confirm it's you",
            &[&format!(
                "Enter the {length}-digit code sent to {destination_hint}"
            )],
        );
        act(&format!("types {code} (from the email in the dev outbox)"));
        flow.submit_code(&code).await.map_err(|e| e.to_string())?;
    }
    Ok(flow)
}

async fn approve_on_phone(phone: &Authenticator, shown: &str) -> Result<(), String> {
    let request = phone
        .pending_approvals(10)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .next()
        .ok_or("no request reached the phone")?;
    let what = match request.kind {
        ApprovalKind::Test => "test notification".to_owned(),
        ApprovalKind::SignIn => format!(
            "sign-in to {} from {} ({})",
            request.context.app, request.context.ip, request.context.user_agent
        ),
    };
    let length = match &request.prompt {
        NumberPrompt::Enter { length } => *length,
        NumberPrompt::Choose { choices } => choices.len() as u32,
    };
    println!("  [phone] {what}: \"Enter the number shown\" ({length} digits)");
    println!("  [phone] fingerprint ✓, enters {shown}");
    phone
        .approve(&request.id, shown)
        .await
        .map_err(|e| e.to_string())
}

fn done(state: SignInState) -> Result<Session, String> {
    match state {
        SignInState::Done { session } => Ok(session),
        other => Err(format!("expected to be signed in, got {other:?}")),
    }
}

async fn signed_in(session: &Session) -> Result<(), String> {
    let user = session.user_info().await.map_err(|e| e.to_string())?;
    println!(
        "  ✓ Signed in as {} <{}> (session {} at {})",
        user.name,
        user.email,
        session.session_id(),
        session.server()
    );
    Ok(())
}
