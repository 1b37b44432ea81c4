//! `authcore signin`: an interactive terminal client over the core's `SignIn` state machine. It
//! renders each state (numbered methods, prompts, masked destinations, countdowns) and reads the
//! answers from stdin, so a person can sign in by hand and a test can script it.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Arc;

use authcore::http::HttpConfig;
use authcore::signin::{CodePurpose, SignIn, SignInListener, SignInState};
use authcore::store::{EncryptedFileStore, StoreKey};
use authcore::{AuthClient, ClientConfig, ClientError, Timestamp};
use clap::Args;

#[derive(Args, Debug)]
pub struct SignInArgs {
    /// The identity server (`https://…`; plain http only to loopback)
    #[arg(long)]
    pub server: String,
    /// Start with this email or phone number instead of asking
    #[arg(long)]
    pub email: Option<String>,
    /// An extra root certificate (PEM) to trust, e.g. a test CA
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// The client this app is registered as
    #[arg(long, default_value = "authcore-harness")]
    pub client_id: String,
    /// Where this "device" keeps its encrypted store (session, device token)
    #[arg(long)]
    pub device: Option<PathBuf>,
    /// Resolve HOST to IP instead of DNS (like curl --resolve), e.g. login.globex.example=127.0.0.1
    #[arg(long, value_name = "HOST=IP")]
    pub resolve: Vec<String>,
    /// Sign in even when this device holds a valid session
    #[arg(long)]
    pub again: bool,
}

struct Printer;

impl SignInListener for Printer {
    fn on_state_changed(&self, state: SignInState) {
        if let SignInState::UseSignInHost { host } = state {
            println!("Your organisation signs in at {host}; continuing there.");
        }
    }
}

pub fn run(args: SignInArgs) -> Result<(), String> {
    let client = client(&args)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(drive(client, args.email, args.again))
}

/// The HTTP settings of `--ca FILE` and `--resolve HOST=IP` (shared with `authcore device`).
pub(crate) fn http_config(
    ca: Option<&std::path::Path>,
    resolve_args: &[String],
) -> Result<HttpConfig, String> {
    let extra_root_ca_pem = match ca {
        Some(path) => {
            Some(std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?)
        }
        None => None,
    };
    let mut resolve = Vec::new();
    for entry in resolve_args {
        let (host, ip) = entry
            .split_once('=')
            .and_then(|(h, ip)| Some((h.to_owned(), ip.parse().ok()?)))
            .ok_or_else(|| format!("--resolve `{entry}`: expected HOST=IP"))?;
        resolve.push((host, ip));
    }
    Ok(HttpConfig {
        extra_root_ca_pem,
        resolve,
        ..HttpConfig::default()
    })
}

fn client(args: &SignInArgs) -> Result<AuthClient, String> {
    app(
        &args.server,
        &args.client_id,
        args.device.as_deref(),
        args.ca.as_deref(),
        &args.resolve,
    )
}

/// The app on this terminal "device": its encrypted store in `device` (default
/// `~/.cache/authcore/harness-device`: session, device token), shared with `authcore account`.
pub(crate) fn app(
    server: &str,
    client_id: &str,
    device: Option<&std::path::Path>,
    ca: Option<&std::path::Path>,
    resolve: &[String],
) -> Result<AuthClient, String> {
    let http = http_config(ca, resolve)?;
    let dir = device.map_or_else(default_device_dir, std::path::Path::to_path_buf);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let key = StoreKey::load_or_create(&dir.join("store.key")).map_err(|e| e.to_string())?;
    let store = Arc::new(EncryptedFileStore::open(dir.join("store.bin"), key));
    let config = ClientConfig {
        server_url: server.to_owned(),
        client_id: client_id.to_owned(),
        http,
    };
    AuthClient::new(config, store).map_err(|e| e.to_string())
}

fn default_device_dir() -> PathBuf {
    let home = std::env::var_os("HOME").map_or_else(std::env::temp_dir, PathBuf::from);
    home.join(".cache/authcore/harness-device")
}

/// Reads a secret (a password, a backup passphrase) without echoing it when stdin is a terminal;
/// from a pipe (scripts, tests) it reads a line like [`ask`]. `None` at the end of input.
pub(crate) fn ask_secret(prompt: &str) -> Option<String> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password(prompt).ok();
    }
    ask(prompt)
}

/// Reads one answer; `None` at the end of input.
pub(crate) fn ask(prompt: &str) -> Option<String> {
    print!("{prompt}");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim_end_matches(['\r', '\n']).to_owned()),
    }
}

async fn drive(client: AuthClient, mut email: Option<String>, again: bool) -> Result<(), String> {
    if !again {
        if let Some(user) = saved_user(&client).await {
            println!(
                "Already signed in as {user}; `authcore account` acts on this session (`--again` signs in anew)."
            );
            return Ok(());
        }
    }
    println!("Sign in to {}", client.server_url());
    let flow = client.sign_in();
    flow.set_listener(Some(Arc::new(Printer)));
    // Set when waiting for the phone just failed (denied, wrong number, expired): ask before
    // waiting again rather than repeat the request and its error.
    let mut wait_failed = false;
    loop {
        let state = flow.state();
        if let SignInState::Done { session } = &state {
            let user = session.user_info().await.map_err(|e| e.to_string())?;
            println!(
                "Signed in as {} <{}> (session {} at {}).",
                user.name,
                user.email,
                session.session_id(),
                session.server()
            );
            return Ok(());
        }
        let outcome = match step(&flow, &state, &mut email, wait_failed).await {
            Step::Acted(outcome) => outcome,
            Step::Quit => return Err("sign-in abandoned".into()),
            Step::Again => continue,
        };
        wait_failed = false;
        if let Err(error) = outcome {
            println!("! {}", error);
            wait_failed = is_waiting(&state) && is_waiting(&flow.state());
        }
    }
}

/// "Name <email> (session N at URL)" of the session an earlier sign-in saved on this device,
/// when it is still valid on its server.
async fn saved_user(client: &AuthClient) -> Option<String> {
    let session = client.saved_session().ok()??;
    let user = session.user_info().await.ok()?;
    Some(format!(
        "{} <{}> (session {} at {})",
        user.name,
        user.email,
        session.session_id(),
        session.server()
    ))
}

enum Step {
    Acted(Result<SignInState, ClientError>),
    Again,
    Quit,
}

async fn step(
    flow: &SignIn,
    state: &SignInState,
    email: &mut Option<String>,
    wait_failed: bool,
) -> Step {
    if is_waiting(state) {
        return after_waiting(flow, state, wait_failed).await;
    }
    let Some(answer) = prompt_for(state, email) else {
        return Step::Quit;
    };
    let answer = answer.trim().to_owned();
    match (answer.as_str(), state) {
        ("q", _) => return Step::Quit,
        ("b", _) if *state != SignInState::EnterIdentifier => {
            return Step::Acted(flow.back().await)
        }
        (
            "f",
            SignInState::ChooseMethod { identifier, .. }
            | SignInState::EnterPassword { identifier },
        ) => return Step::Acted(flow.forgot_password(identifier).await),
        ("r", SignInState::EnterCode { .. }) => return Step::Acted(flow.resend_code().await),
        _ => {}
    }
    let outcome = match state {
        SignInState::EnterIdentifier => flow.start(&answer).await,
        SignInState::ChooseMethod { methods, .. } => match pick(&answer, methods.len()) {
            Some(i) => flow.choose_method(&methods[i]).await,
            None => return Step::Again,
        },
        SignInState::EnterPassword { .. } => flow.submit_password(&answer).await,
        SignInState::EnterCode { .. }
        | SignInState::EnterTotp { .. }
        | SignInState::EnterBackupCode { .. } => flow.submit_code(&answer).await,
        SignInState::ChooseSecondFactor { options } => match pick(&answer, options.len()) {
            Some(i) => flow.choose_second_factor(options[i].kind).await,
            None => return Step::Again,
        },
        SignInState::ChooseNewPassword { .. } => flow.choose_new_password(&answer).await,
        SignInState::EnrollAuthenticator { .. } => match answer.as_str() {
            "1" => flow.enroll_authenticator().await,
            "2" => flow.skip_enrollment().await,
            _ => return Step::Again,
        },
        SignInState::OpenBrowser { .. } | SignInState::Failed { .. } => Ok(flow.cancel().await),
        SignInState::UseSignInHost { .. }
        | SignInState::Done { .. }
        | SignInState::ApprovePush { .. }
        | SignInState::ActivateAuthenticator { .. }
        | SignInState::ApproveTestPush { .. } => return Step::Again,
    };
    Step::Acted(outcome)
}

fn pick(answer: &str, count: usize) -> Option<usize> {
    match answer.parse::<usize>() {
        Ok(n) if (1..=count).contains(&n) => Some(n - 1),
        _ => {
            println!("! type a number from 1 to {count}");
            None
        }
    }
}

/// A state in which the phone acts, not the person at this terminal.
fn is_waiting(state: &SignInState) -> bool {
    matches!(
        state,
        SignInState::ApprovePush { .. }
            | SignInState::ActivateAuthenticator { .. }
            | SignInState::ApproveTestPush { .. }
    )
}

/// Waits for the phone; after a failed wait, first asks: a new push, wait again, back, or quit.
async fn after_waiting(flow: &SignIn, state: &SignInState, wait_failed: bool) -> Step {
    if wait_failed {
        let push = matches!(state, SignInState::ApprovePush { .. });
        let choices = if push {
            "1 send a new request, Enter wait again, b back to choose another way, q quit"
        } else {
            "Enter wait again, b back, q quit"
        };
        let Some(answer) = ask(&format!("({choices}) > ")) else {
            return Step::Quit;
        };
        match answer.trim() {
            "q" => return Step::Quit,
            "b" => return Step::Acted(flow.back().await),
            "1" if push => return Step::Acted(flow.resend_push().await),
            _ => {}
        }
    }
    show_waiting(state);
    Step::Acted(flow.wait_for_phone().await)
}

/// Shows a state in which the phone acts.
fn show_waiting(state: &SignInState) {
    let left = |expires_at: Timestamp| {
        let left = expires_at.seconds_since(Timestamp::now());
        format!("{}:{:02}", left / 60, left % 60)
    };
    match state {
        SignInState::ApprovePush { number, expires_at } => {
            println!(
                "Approve the sign-in on your phone: enter {number} (expires in {}). Waiting…",
                left(*expires_at)
            );
        }
        SignInState::ActivateAuthenticator {
            qr_payload,
            activation_code,
            server_url,
            label,
            expires_at,
        } => {
            println!("Scan this QR code with the authenticator app ({label}):");
            if let Ok(qr) = qrcode::QrCode::new(qr_payload.expose().as_bytes()) {
                println!(
                    "{}",
                    qr.render::<qrcode::render::unicode::Dense1x2>()
                        .quiet_zone(true)
                        .build()
                );
            }
            println!(
                "Can't scan image? Enter the code {} and the URL {server_url} (expires in {}). Waiting…",
                activation_code.expose(),
                left(*expires_at)
            );
        }
        SignInState::ApproveTestPush { number, expires_at } => {
            println!(
                "Approve the test notification on your phone: enter {number} (expires in {}). Waiting…",
                left(*expires_at)
            );
        }
        _ => {}
    }
}

/// Shows `state` and reads the answer it needs.
fn prompt_for(state: &SignInState, email: &mut Option<String>) -> Option<String> {
    match state {
        SignInState::EnterIdentifier => match email.take() {
            Some(given) => {
                println!("Email or phone: {given}");
                Some(given)
            }
            None => ask("Email or phone: "),
        },
        SignInState::ChooseMethod {
            identifier,
            organization,
            methods,
        } => {
            let whom = organization.as_deref().unwrap_or(identifier);
            println!("{whom}: how do you want to sign in?");
            for (i, method) in methods.iter().enumerate() {
                println!("  {}. {}", i + 1, method.display_name);
            }
            ask("(b back, f forgot password, q quit) > ")
        }
        SignInState::EnterPassword { identifier } => ask_secret(&format!(
            "Password for {identifier} (b back, f forgot password): "
        )),
        SignInState::EnterCode {
            purpose,
            destination_hint,
            length,
            expires_at,
            resend_after,
            ..
        } => {
            match purpose {
                CodePurpose::VerifyDevice => {
                    println!("Confirm it's you: this device is not recognised.")
                }
                CodePurpose::PasswordReset => println!("Reset your password."),
                CodePurpose::SignIn => {}
            }
            crate::code_prompt::ask_code(destination_hint, *length, *expires_at, *resend_after)
        }
        SignInState::ChooseSecondFactor { options } => {
            println!("Second step: how do you want to verify?");
            for (i, option) in options.iter().enumerate() {
                println!("  {}. {}", i + 1, option.display_name);
            }
            ask("(b back, q quit) > ")
        }
        SignInState::EnterTotp { length } => ask(&format!(
            "Authenticator app code ({length} digits, b back): "
        )),
        SignInState::EnterBackupCode { remaining } => {
            ask(&format!("Backup code ({remaining} left, b back): "))
        }
        SignInState::EnrollAuthenticator {
            skips_left,
            mandatory,
        } => {
            println!("Protect your account: your organisation requires an authenticator app.");
            println!("  1. Set it up now");
            if !mandatory {
                let times = if *skips_left == 1 { "time" } else { "times" };
                println!("  2. Skip for now ({skips_left} {times} left)");
            }
            ask("> ")
        }
        SignInState::ChooseNewPassword { identifier } => {
            ask(&format!("New password for {identifier}: "))
        }
        SignInState::OpenBrowser { method, url } => {
            match url {
                Some(url) => println!("{} continues in the browser: {url}", method.display_name),
                None => println!(
                    "{} signs in through the browser, which this client cannot open.",
                    method.display_name
                ),
            }
            ask("Press Enter to start again: ")
        }
        SignInState::Failed { reason } => {
            println!("! {}", reason);
            ask("Press Enter to start again: ")
        }
        SignInState::UseSignInHost { .. }
        | SignInState::Done { .. }
        | SignInState::ApprovePush { .. }
        | SignInState::ActivateAuthenticator { .. }
        | SignInState::ApproveTestPush { .. } => None,
    }
}
