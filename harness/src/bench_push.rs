//! `authcore bench push`: the number-matching round trip with the real core on both sides, against
//! an in-process server over loopback: the sign-in asks (passwordless phone sign-in) -> the phone's
//! long-poll wakes -> it approves with the number the sign-in shows, signed by its key -> the
//! sign-in's long-poll answers -> tokens. One user per concurrent sign-in, each with a laptop
//! (`SignIn`) and an enrolled phone (`Authenticator`). Figures only.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
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
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::bench_server::cpu_seconds;

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
    /// Open loop: offer this many sign-ins per second whatever the answers, each started on
    /// schedule by a free user (`--concurrency` users in all); latency counts from the intended
    /// start, so waiting for a free user counts too. Without it, closed loop: each user signs in
    /// again as soon as its last sign-in ends
    #[arg(long)]
    pub rate: Option<f64>,
    /// Print the figures as one JSON object on stdout
    #[arg(long)]
    pub json: bool,
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
async fn push_sign_in(user: &User, numbers: &mpsc::Sender<String>) -> Result<(), String> {
    let e = |e: authcore::ClientError| e.to_string();
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
        SignInState::Done { .. } => Ok(()),
        other => Err(format!("not signed in: {other:?}")),
    }
}

/// A user with its phone answering in the background (stopped when dropped).
struct Phone {
    user: User,
    numbers: mpsc::Sender<String>,
    answering: tokio::task::JoinHandle<()>,
}

impl Phone {
    fn start(user: User) -> Phone {
        let (numbers, to_phone) = mpsc::channel(1);
        let answering = tokio::spawn(phone_loop(user.phone.clone(), to_phone));
        Phone {
            user,
            numbers,
            answering,
        }
    }

    async fn sign_in(&self) -> Result<(), String> {
        push_sign_in(&self.user, &self.numbers).await
    }
}

impl Drop for Phone {
    fn drop(&mut self) {
        self.answering.abort();
    }
}

/// Latencies in microseconds (1 us to 1 h, 3 significant digits) and failures, shared by the
/// sign-ins in flight.
struct Tally {
    latencies: Mutex<Histogram<u64>>,
    failures: std::sync::atomic::AtomicUsize,
    progress: ProgressBar,
}

impl Tally {
    fn new(signins: usize, show_progress: bool) -> Arc<Tally> {
        let progress = if show_progress {
            let bar = ProgressBar::new(signins as u64);
            if let Ok(style) =
                ProgressStyle::with_template("{bar:40} {pos}/{len} sign-ins, {per_sec}, {eta} left")
            {
                bar.set_style(style);
            }
            bar
        } else {
            ProgressBar::hidden()
        };
        Arc::new(Tally {
            latencies: Mutex::new(
                Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds"),
            ),
            failures: Default::default(),
            progress,
        })
    }

    fn record(&self, result: Result<(), String>, since: Instant) {
        match result {
            Ok(()) => {
                let us = u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX);
                self.latencies
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .saturating_record(us.max(1));
            }
            Err(_) => {
                self.failures
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
        self.progress.inc(1);
    }
}

/// Closed loop: each user signs in again as soon as its last sign-in ends.
async fn closed_loop(phones: Vec<Phone>, signins: usize, tally: &Arc<Tally>) {
    let per_user = signins.div_ceil(phones.len().max(1));
    let mut workers = JoinSet::new();
    for (i, phone) in phones.into_iter().enumerate() {
        let count = per_user.min(signins.saturating_sub(i * per_user));
        let tally = tally.clone();
        workers.spawn(async move {
            for _ in 0..count {
                let started = Instant::now();
                tally.record(phone.sign_in().await, started);
            }
        });
    }
    while workers.join_next().await.is_some() {}
}

/// Open loop: sign-in `i` is due at `i / rate` s, whatever the answers; it starts then (or when
/// a user is free) and its latency counts from when it was due (no coordinated omission).
async fn open_loop(phones: Vec<Phone>, signins: usize, rate: f64, tally: &Arc<Tally>) {
    let (free, mut next_free) = mpsc::unbounded_channel();
    for phone in phones {
        let _ = free.send(phone);
    }
    let start = tokio::time::Instant::now();
    let mut in_flight = JoinSet::new();
    for i in 0..signins {
        let due = start + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(due).await;
        let Some(phone) = next_free.recv().await else {
            break;
        };
        let (free, tally) = (free.clone(), tally.clone());
        in_flight.spawn(async move {
            tally.record(phone.sign_in().await, due.into_std());
            let _ = free.send(phone);
        });
    }
    while in_flight.join_next().await.is_some() {}
}

/// What one run measured.
#[derive(serde::Serialize)]
struct Figures {
    mode: &'static str,
    users: usize,
    /// Sign-ins offered per second (open loop).
    #[serde(skip_serializing_if = "Option::is_none")]
    offered_per_s: Option<f64>,
    signed_in: u64,
    failed: usize,
    approvals_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    p99_9_ms: f64,
    max_ms: f64,
    /// CPU microseconds per round trip, client and server together (Linux only).
    cpu_us_per_round_trip: Option<f64>,
}

impl std::fmt::Display for Figures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.offered_per_s {
            Some(rate) => write!(
                f,
                "push round trip, open loop at {rate} sign-ins/s offered ({} users): {} sign-ins, {:.0} approvals/s; latency from the intended start",
                self.users, self.signed_in, self.approvals_per_s
            )?,
            None => write!(
                f,
                "push round trip: {} sign-ins, concurrency {}: {:.0} approvals/s; latency",
                self.signed_in, self.users, self.approvals_per_s
            )?,
        }
        write!(
            f,
            " p50 {:.1} ms, p99 {:.1} ms, p99.9 {:.1} ms, max {:.1} ms",
            self.p50_ms, self.p99_ms, self.p99_9_ms, self.max_ms
        )?;
        if let Some(cpu) = self.cpu_us_per_round_trip {
            write!(f, "; {cpu:.0} us CPU each")?;
        }
        write!(f, "; {} failed", self.failed)
    }
}

async fn run(args: PushBenchArgs) -> Result<(), String> {
    if let Some(rate) = args.rate {
        if !(rate.is_finite() && rate > 0.0 && rate <= 100_000.0) {
            return Err(format!(
                "--rate {rate}: expected sign-ins per second, more than 0 and at most 100000"
            ));
        }
    }
    if args.signins == 0 || args.concurrency == 0 {
        return Err("--signins and --concurrency must be at least 1".into());
    }
    let users = args.concurrency.min(args.signins);
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
    let mut phones = Vec::with_capacity(users);
    for chunk in (0..users).collect::<Vec<_>>().chunks(16) {
        let batch: Vec<_> = chunk
            .iter()
            .map(|&i| tokio::spawn(enroll_owned(base.clone(), i)))
            .collect();
        for handle in batch {
            phones.push(Phone::start(handle.await.map_err(|e| e.to_string())??));
        }
    }
    eprintln!(
        "push round trip: {} users enrolled (password sign-in + QR + test approval) in {:.1} s",
        users,
        setup.elapsed().as_secs_f64()
    );

    let tally = Tally::new(args.signins, !args.json && std::io::stderr().is_terminal());
    let cpu_at_start = cpu_seconds();
    let started = Instant::now();
    match args.rate {
        Some(rate) => open_loop(phones, args.signins, rate, &tally).await,
        None => closed_loop(phones, args.signins, &tally).await,
    }
    let elapsed = started.elapsed();
    tally.progress.finish_and_clear();
    let latencies = tally
        .latencies
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let failed = tally.failures.load(std::sync::atomic::Ordering::Relaxed);
    let ms = |q: f64| latencies.value_at_quantile(q) as f64 / 1000.0;
    let round_trips = latencies.len() as f64 + failed as f64;
    let figures = Figures {
        mode: if args.rate.is_some() {
            "open"
        } else {
            "closed"
        },
        users,
        offered_per_s: args.rate,
        signed_in: latencies.len(),
        failed,
        approvals_per_s: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50_ms: ms(0.50),
        p99_ms: ms(0.99),
        p99_9_ms: ms(0.999),
        max_ms: latencies.max() as f64 / 1000.0,
        cpu_us_per_round_trip: cpu_at_start
            .zip(cpu_seconds())
            .map(|(start, end)| (end - start) * 1e6 / round_trips.max(1.0)),
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&figures).map_err(|e| e.to_string())?
        );
    } else {
        println!("{figures}");
        println!(
            "  (each: login methods, push request, the laptop's long-poll, the phone's signed long-poll \
             and signed decision, tokens; client and server share this machine's cores)"
        );
    }
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    if failed > 0 {
        return Err(format!("{failed} sign-ins failed"));
    }
    Ok(())
}

async fn enroll_owned(base: String, i: usize) -> Result<User, String> {
    enroll(&base, i).await
}
