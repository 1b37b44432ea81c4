//! `authcore bench push`: the number-matching round trip with the real core on both sides, against
//! an in-process server over loopback: the sign-in asks (passwordless phone sign-in) -> the phone's
//! long-poll wakes -> it approves with the number the sign-in shows, signed by its key -> the
//! sign-in's long-poll answers -> tokens. One user per concurrent sign-in, each with a laptop
//! (`SignIn`) and an enrolled phone (`Authenticator`). Figures only.

use std::sync::Arc;
use std::time::{Duration, Instant};

use authcore::authenticator::{Added, Authenticator, AuthenticatorConfig};
use authcore::device_keys::SoftwareDeviceKeys;
use authcore::http::HttpConfig;
use authcore::signin::{MethodKind, SignIn, SignInState};
use authcore::store::MemoryStore;
use authcore::{AuthClient, ClientConfig};
use authcore_e2e::Fingerprint;
use authcore_server::config::Mfa;
use clap::Args;
use tokio::sync::mpsc;

#[derive(Args, Debug)]
pub struct PushBenchArgs {
    /// Server configuration (TOML)
    #[arg(long, default_value = "server/examples/demo.toml")]
    pub config: std::path::PathBuf,
    /// Sign-ins in all
    #[arg(long, default_value_t = 2000)]
    pub signins: usize,
    /// Sign-ins in flight at once (one user and phone each)
    #[arg(long, default_value_t = 200)]
    pub concurrency: usize,
}

const PASSWORD: &str = "bench-password-1";

pub fn push(args: PushBenchArgs) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(run(args))
}

fn bench_config(base: &str, users: usize) -> Result<authcore_server::Config, String> {
    let mut text = base.to_owned();
    for i in 0..users {
        text.push_str(&format!(
            "\n[[dev_users]]\nemail = \"push{i}@globex.example\"\nname = \"Push {i}\"\npassword = \"{PASSWORD}\"\n"
        ));
    }
    let mut config = authcore_server::Config::from_toml(&text).map_err(|e| e.to_string())?;
    config.argon2.memory_kib = 8; // only the enrollment sign-ins hash, outside the measurement
    config.argon2.iterations = 1;
    config.throttle.max_failures_per_ip = u32::MAX;
    // The bench's phones are software keys (no attestation) signing in without a password.
    config.push.require_attestation = false;
    for org in &mut config.orgs {
        if org.domain == "globex.example" {
            // Plain loopback, no email step: the bench measures the push round trip.
            org.sign_in_host = None;
            org.verify_unrecognised_devices = false;
            org.mfa = Mfa::Optional;
            org.authenticator_required = true;
            org.passwordless_push = true;
        }
    }
    Ok(config)
}

struct User {
    email: String,
    laptop: AuthClient,
    phone: Arc<Authenticator>,
}

fn http() -> HttpConfig {
    HttpConfig {
        max_retries: 0,
        ..HttpConfig::default()
    }
}

/// Signs the user in with a password and enrolls the phone inside that sign-in.
async fn enroll(base: &str, i: usize) -> Result<User, String> {
    let email = format!("push{i}@globex.example");
    let store = Arc::new(MemoryStore::default());
    let laptop = AuthClient::new(
        ClientConfig {
            server_url: base.to_owned(),
            client_id: "authcore-harness".into(),
            http: http(),
        },
        store.clone(),
    )
    .map_err(|e| e.to_string())?;
    let phone_store = Arc::new(MemoryStore::default());
    let phone = Arc::new(
        Authenticator::open(
            phone_store.clone(),
            Arc::new(SoftwareDeviceKeys::new(phone_store)),
            Arc::new(Fingerprint::default()),
            AuthenticatorConfig {
                http: http(),
                device_name: format!("Phone {i}"),
                platform: "harness".into(),
                push_token: None,
                user_verification: true,
            },
        )
        .map_err(|e| e.to_string())?,
    );
    let e = |e: authcore::ClientError| e.to_string();
    let flow = laptop.sign_in();
    let SignInState::ChooseMethod { methods, .. } = flow.start(&email).await.map_err(e)? else {
        return Err("no method list".into());
    };
    let password = methods
        .iter()
        .find(|m| m.kind == MethodKind::Password)
        .ok_or("no password method")?;
    flow.choose_method(password).await.map_err(e)?;
    flow.submit_password(PASSWORD).await.map_err(e)?;
    let SignInState::ActivateAuthenticator { qr_payload, .. } =
        flow.enroll_authenticator().await.map_err(e)?
    else {
        return Err("no QR code".into());
    };
    let Added::Push(_) = phone
        .add_from_qr(qr_payload.expose())
        .await
        .map_err(|e| e.to_string())?
    else {
        return Err("not a push account".into());
    };
    let SignInState::ApproveTestPush { number, .. } = flow.wait_for_phone().await.map_err(e)?
    else {
        return Err("no test approval".into());
    };
    let test = phone
        .pending_approvals(5)
        .await
        .map_err(|e| e.to_string())?
        .pop()
        .ok_or("the test approval did not reach the phone")?;
    phone
        .approve(&test.id, &number)
        .await
        .map_err(|e| e.to_string())?;
    let SignInState::Done { .. } = flow.wait_for_phone().await.map_err(e)? else {
        return Err("enrollment did not finish the sign-in".into());
    };
    Ok(User {
        email,
        laptop,
        phone,
    })
}

/// The phone: long-polls, and approves each request with the number its user read off the laptop.
async fn phone_loop(phone: Arc<Authenticator>, mut numbers: mpsc::Receiver<String>) {
    while let Some(number) = numbers.recv().await {
        loop {
            match phone.pending_approvals(30).await {
                Ok(requests) if !requests.is_empty() => {
                    for request in requests {
                        let _ = phone.approve(&request.id, &number).await;
                    }
                    break;
                }
                Ok(_) => continue,
                Err(_) => break,
            }
        }
    }
}

/// One passwordless phone sign-in, start to tokens.
async fn push_sign_in(user: &User, numbers: &mpsc::Sender<String>) -> Result<Duration, String> {
    let e = |e: authcore::ClientError| e.to_string();
    let started = Instant::now();
    let flow: SignIn = user.laptop.sign_in();
    let SignInState::ChooseMethod { methods, .. } = flow.start(&user.email).await.map_err(e)?
    else {
        return Err("no method list".into());
    };
    let by_phone = methods
        .iter()
        .find(|m| m.kind == MethodKind::Push)
        .ok_or("phone sign-in not offered")?;
    let SignInState::ApprovePush { number, .. } = flow.choose_method(by_phone).await.map_err(e)?
    else {
        return Err("no number to show".into());
    };
    numbers
        .send(number)
        .await
        .map_err(|_| "the phone stopped")?;
    match flow.wait_for_phone().await.map_err(e)? {
        SignInState::Done { .. } => Ok(started.elapsed()),
        other => Err(format!("not signed in: {other:?}")),
    }
}

async fn run(args: PushBenchArgs) -> Result<(), String> {
    let users = args.concurrency.clamp(1, args.signins.max(1));
    let text = std::fs::read_to_string(&args.config)
        .map_err(|e| format!("{}: {e}", args.config.display()))?;
    let dir = std::env::temp_dir().join(format!("authcore-bench-push-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let db = format!("sqlite://{}", dir.join("bench.db").display());
    let mut options = authcore_server::ServerOptions::new(
        bench_config(&text, users)?,
        &db,
        "127.0.0.1:0".parse().unwrap(),
    );
    options.dev = true;
    let server = authcore_server::start(options)
        .await
        .map_err(|e| e.to_string())?;
    let base = server.base_url().to_owned();

    let setup = Instant::now();
    let mut enrolled = Vec::with_capacity(users);
    for chunk in (0..users).collect::<Vec<_>>().chunks(16) {
        let batch: Vec<_> = chunk
            .iter()
            .map(|&i| tokio::spawn(enroll_owned(base.clone(), i)))
            .collect();
        for handle in batch {
            enrolled.push(handle.await.map_err(|e| e.to_string())??);
        }
    }
    println!(
        "push round trip: {} users enrolled (password sign-in + QR + test approval) in {:.1} s",
        users,
        setup.elapsed().as_secs_f64()
    );

    let per_user = args.signins.div_ceil(users);
    let started = Instant::now();
    let workers: Vec<_> = enrolled
        .into_iter()
        .enumerate()
        .map(|(i, user)| {
            let count = per_user.min(args.signins.saturating_sub(i * per_user));
            tokio::spawn(async move {
                let (numbers, to_phone) = mpsc::channel(1);
                let phone = tokio::spawn(phone_loop(user.phone.clone(), to_phone));
                let mut latencies = Vec::with_capacity(count);
                let mut failures = 0usize;
                for _ in 0..count {
                    match push_sign_in(&user, &numbers).await {
                        Ok(latency) => latencies.push(latency),
                        Err(_) => failures += 1,
                    }
                }
                drop(numbers);
                phone.abort();
                (latencies, failures)
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(args.signins);
    let mut failures = 0;
    for worker in workers {
        let (mut done, failed) = worker.await.map_err(|e| e.to_string())?;
        latencies.append(&mut done);
        failures += failed;
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "push round trip: {} sign-ins, concurrency {}: {:.0} approvals/s; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {} failed",
        latencies.len(),
        users,
        latencies.len() as f64 / elapsed.as_secs_f64(),
        at(0.50),
        at(0.99),
        at(1.0),
        failures
    );
    println!(
        "  (each: login methods, push request, the laptop's long-poll, the phone's signed long-poll \
         and signed decision, tokens; client and server share this machine's cores)"
    );
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    if failures > 0 {
        return Err(format!("{failures} sign-ins failed"));
    }
    Ok(())
}

async fn enroll_owned(base: String, i: usize) -> Result<User, String> {
    enroll(&base, i).await
}
