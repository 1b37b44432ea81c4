//! `authcore bench server`: sign-ins per second over loopback against an in-process server, for
//! a password + email-code flow (Globex: new device verified by email) and a password +
//! backup-code flow (Acme). Each runs with the config's argon2 parameters and again with minimal
//! ones, which shows the cost of everything but the password hash. Then `/v1/login/methods`
//! latency for existing and unknown identifiers side by side. Figures only.

use std::sync::Arc;
use std::time::Instant;

use authcore_protocol::account::BackupCodes;
use authcore_protocol::paths;
use authcore_protocol::signin::{
    param, AuthorizationCode, LoginMethodsRequest, Next, CODE_CHALLENGE_S256,
};
use authcore_protocol::tokens::{self, GrantType, Tokens};
use authcore_protocol::ErrorBody;
use clap::Args;
use serde::de::DeserializeOwned;

#[derive(Args, Debug)]
pub struct ServerBenchArgs {
    /// Server configuration (TOML)
    #[arg(long, default_value = "server/examples/demo.toml")]
    pub config: std::path::PathBuf,
    /// Sign-ins per flow and setting
    #[arg(long, default_value_t = 1000)]
    pub sign_ins: usize,
    /// Sign-ins in flight at once (one user each)
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Skip the runs with the config's argon2 parameters (only the argon2-free parts)
    #[arg(long)]
    pub argon2_free_only: bool,
}

const PASSWORD: &str = "bench-password-1";
/// The harness's client in demo.toml.
const CLIENT_ID: &str = "authcore-harness";

struct Client {
    base: String,
    http: reqwest::Client,
}

type Outcome = Result<Tokens, String>;

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| e.to_string())
}

impl Client {
    async fn form(&self, path: &str, form: &[(&str, &str)]) -> Result<(u16, Vec<u8>), String> {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|e| e.to_string())?;
        Ok((status, body.to_vec()))
    }

    /// Starts a sign-in with the password; returns the step it asks for and the PKCE verifier.
    async fn begin(&self, user: &str) -> Result<(ErrorBody, String), String> {
        let verifier = authcore_server::secrets::random_token("")
            .expose()
            .to_owned();
        let challenge = authcore_server::secrets::pkce_s256(&verifier);
        let (_, body) = self
            .form(
                paths::AUTHORIZE_CHALLENGE,
                &[
                    (param::CLIENT_ID, CLIENT_ID),
                    (param::IDENTIFIER, user),
                    (param::CODE_CHALLENGE, &challenge),
                    (param::CODE_CHALLENGE_METHOD, CODE_CHALLENGE_S256),
                    (param::PASSWORD, PASSWORD),
                ],
            )
            .await?;
        Ok((parse(&body)?, verifier))
    }

    async fn step(
        &self,
        step: &ErrorBody,
        extra: &[(&str, &str)],
    ) -> Result<AuthorizationCode, String> {
        let session = step.auth_session.as_deref().ok_or("no auth_session")?;
        let mut form = vec![
            (param::CLIENT_ID, CLIENT_ID),
            (param::AUTH_SESSION, session),
        ];
        form.extend_from_slice(extra);
        let (status, body) = self.form(paths::AUTHORIZE_CHALLENGE, &form).await?;
        if status == 200 {
            parse(&body)
        } else {
            let refusal: ErrorBody = parse(&body)?;
            Err(format!("sign-in step answered {status}: {}", refusal.error))
        }
    }

    async fn exchange(&self, done: &AuthorizationCode, verifier: &str) -> Outcome {
        let code = done.authorization_code.as_str();
        let (status, body) = self
            .form(
                paths::TOKEN,
                &[
                    (
                        tokens::param::GRANT_TYPE,
                        GrantType::AuthorizationCode.as_str(),
                    ),
                    (tokens::param::CLIENT_ID, CLIENT_ID),
                    (tokens::param::CODE, code),
                    (tokens::param::CODE_VERIFIER, verifier),
                ],
            )
            .await?;
        if status == 200 {
            parse(&body)
        } else {
            Err(format!("token answered {status}"))
        }
    }

    /// The email step reads the code the way a person reads their mail: beside the protocol, here
    /// straight from the in-process server's outbox (no HTTP), so the figure is the sign-in's.
    async fn email_code_sign_in(
        &self,
        server: &authcore_server::RunningServer,
        user: &str,
    ) -> Outcome {
        let (first, verifier) = self.begin(user).await?;
        if !matches!(first.next, Some(Next::VerifyDevice(_))) {
            return Err(format!(
                "expected an email verification, got {:?}",
                first.next
            ));
        }
        let messages = server
            .messages_to(user, 1)
            .await
            .map_err(|e| e.to_string())?;
        let body = messages
            .last()
            .map(|m| m.body.expose().to_owned())
            .ok_or("no message")?;
        let at = body.find("code is ").ok_or("no code in message")? + 8;
        let done = self
            .step(&first, &[(param::CODE, &body[at..at + 6])])
            .await?;
        self.exchange(&done, &verifier).await
    }

    async fn backup_code_sign_in(&self, user: &str, code: &str) -> Outcome {
        let (first, verifier) = self.begin(user).await?;
        if !matches!(first.next, Some(Next::BackupCode { .. })) {
            return Err(format!("expected a backup code step, got {:?}", first.next));
        }
        let done = self.step(&first, &[(param::CODE, code)]).await?;
        self.exchange(&done, &verifier).await
    }
}

fn bench_config(
    base: &str,
    users: usize,
    minimal_argon2: bool,
) -> Result<authcore_server::Config, String> {
    let mut text = base.to_owned();
    // Bench users: one per worker in each organisation, ten backup codes each.
    for i in 0..users {
        let codes: Vec<String> = (0..10).map(|c| format!("\"b{i:03}-{c:04}\"")).collect();
        text.push_str(&format!(
            "\n[[dev_users]]\nemail = \"bench{i}@globex.example\"\nname = \"Bench {i}\"\npassword = \"{PASSWORD}\"\n\
             \n[[dev_users]]\nemail = \"bench{i}@acme.example\"\nname = \"Bench {i}\"\npassword = \"{PASSWORD}\"\nbackup_codes = [{}]\n",
            codes.join(", ")
        ));
    }
    let mut config = authcore_server::Config::from_toml(&text).map_err(|e| e.to_string())?;
    // The bench signs in far more often than a person: lift the abuse limits.
    config.codes.max_sends = u32::MAX;
    config.codes.resend_after_s = 0;
    config.throttle.max_failures_per_ip = u32::MAX;
    // These flows measure codes, not the authenticator prompt: no "Skip for now" step.
    for org in &mut config.orgs {
        org.authenticator_required = false;
    }
    if minimal_argon2 {
        config.argon2.memory_kib = 8;
        config.argon2.iterations = 1;
        config.argon2.parallelism = 1;
    }
    Ok(config)
}

/// Starts the in-process server on a fresh SQLite file with one bench user per worker.
async fn start_server(
    args: &ServerBenchArgs,
    minimal_argon2: bool,
) -> Result<
    (
        authcore_server::RunningServer,
        Arc<Client>,
        std::path::PathBuf,
    ),
    String,
> {
    let text = std::fs::read_to_string(&args.config)
        .map_err(|e| format!("{}: {e}", args.config.display()))?;
    let config = bench_config(&text, args.concurrency.max(1), minimal_argon2)?;
    let dir = std::env::temp_dir().join(format!("authcore-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let db = format!("sqlite://{}", dir.join("bench.db").display());
    let mut options =
        authcore_server::ServerOptions::new(config, &db, "127.0.0.1:0".parse().unwrap());
    options.dev = true;
    let server = authcore_server::start(options)
        .await
        .map_err(|e| e.to_string())?;
    let client = Arc::new(Client {
        base: server.base_url().to_owned(),
        http: reqwest::Client::new(),
    });
    Ok((server, client, dir))
}

/// `/v1/login/methods` latency for existing and unknown identifiers of the same organisation,
/// alternating so both see the same machine load: the endpoint must not reveal accounts by time.
async fn methods_timing(args: &ServerBenchArgs) -> Result<[(f64, f64); 2], String> {
    let (server, client, dir) = start_server(args, false).await?;
    let mut times = [Vec::new(), Vec::new()];
    for i in 0..2 * args.sign_ins.max(1) {
        let identifier = if i % 2 == 0 {
            format!("bench{}@acme.example", i % args.concurrency.max(1))
        } else {
            format!("nobody{i}@acme.example")
        };
        let started = Instant::now();
        let response = client
            .http
            .post(format!("{}{}", client.base, paths::LOGIN_METHODS))
            .json(&LoginMethodsRequest { identifier })
            .send()
            .await
            .map_err(|e| e.to_string())?;
        response.bytes().await.map_err(|e| e.to_string())?;
        times[i % 2].push(started.elapsed().as_secs_f64() * 1e6);
    }
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(times.map(|mut t| {
        t.sort_by(f64::total_cmp);
        let at = |q: f64| t[((t.len() - 1) as f64 * q).round() as usize];
        (at(0.5), at(0.99))
    }))
}

/// CPU time this process has used (every thread: server, client and SQLite), when the platform
/// tells (Linux `/proc/self/stat`, in USER_HZ = 1/100 s ticks).
pub(crate) fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Sign-ins per second, and the CPU microseconds each took (client and server together).
struct Figure {
    rate: f64,
    cpu_us: Option<f64>,
}

impl Figure {
    fn of(sign_ins: usize, started: Instant, cpu_at_start: Option<f64>) -> Figure {
        let cpu_us = cpu_at_start
            .zip(cpu_seconds())
            .map(|(start, end)| (end - start) * 1e6 / sign_ins as f64);
        Figure {
            rate: sign_ins as f64 / started.elapsed().as_secs_f64(),
            cpu_us,
        }
    }
}

impl std::fmt::Display for Figure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:>8.0} sign-ins/s", self.rate)?;
        if let Some(cpu) = self.cpu_us {
            write!(f, "  ({cpu:.0} us CPU each, client + server)")?;
        }
        Ok(())
    }
}

async fn measure(args: &ServerBenchArgs, minimal_argon2: bool) -> Result<(Figure, Figure), String> {
    let workers = args.concurrency.max(1);
    let (server, client, dir) = start_server(args, minimal_argon2).await?;
    let server = Arc::new(server);
    let per_worker = args.sign_ins.div_ceil(workers);

    // Flow 1: password + email code (new device verified by email).
    let started = Instant::now();
    let cpu = cpu_seconds();
    let mut tasks = Vec::new();
    for w in 0..workers {
        let client = client.clone();
        let server = server.clone();
        tasks.push(tokio::spawn(async move {
            let user = format!("bench{w}@globex.example");
            for _ in 0..per_worker {
                client.email_code_sign_in(&server, &user).await?;
            }
            Ok::<_, String>(())
        }));
    }
    for task in tasks {
        task.await.map_err(|e| e.to_string())??;
    }
    let email = Figure::of(per_worker * workers, started, cpu);

    // Flow 2: password + backup code; each user renews its ten codes when they run out.
    let started = Instant::now();
    let cpu = cpu_seconds();
    let mut tasks = Vec::new();
    for w in 0..workers {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let user = format!("bench{w}@acme.example");
            let mut codes: Vec<String> = (0..10).map(|c| format!("b{w:03}-{c:04}")).collect();
            for _ in 0..per_worker {
                let code = codes.pop().ok_or("no backup code")?;
                let tokens = client.backup_code_sign_in(&user, &code).await?;
                if codes.is_empty() {
                    let response = client
                        .http
                        .post(format!("{}{}", client.base, paths::BACKUP_CODES))
                        .bearer_auth(&tokens.access_token)
                        .send()
                        .await
                        .map_err(|e| e.to_string())?;
                    let fresh: BackupCodes = response.json().await.map_err(|e| e.to_string())?;
                    codes = fresh.codes;
                }
            }
            Ok::<_, String>(())
        }));
    }
    for task in tasks {
        task.await.map_err(|e| e.to_string())??;
    }
    let backup = Figure::of(per_worker * workers, started, cpu);
    let server = Arc::into_inner(server).ok_or("the server is still shared")?;
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok((email, backup))
}

pub fn server(args: ServerBenchArgs) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    println!(
        "server sign-ins over loopback: {} per flow, {} in flight, SQLite file, in-process server",
        args.sign_ins, args.concurrency
    );
    for (label, minimal) in [
        ("config argon2id", false),
        ("minimal argon2 (argon2-free parts)", true),
    ] {
        if args.argon2_free_only && !minimal {
            continue;
        }
        let (email, backup) = runtime.block_on(measure(&args, minimal))?;
        println!("  {label}:");
        println!("    password + email code : {email}");
        println!("    password + backup code: {backup}");
    }
    let [known, unknown] = runtime.block_on(methods_timing(&args))?;
    println!(
        "  {} latency, {} requests each, sequential:",
        paths::LOGIN_METHODS,
        args.sign_ins
    );
    println!(
        "    existing account  : p50 {:>7.0} us, p99 {:>7.0} us",
        known.0, known.1
    );
    println!(
        "    unknown identifier: p50 {:>7.0} us, p99 {:>7.0} us",
        unknown.0, unknown.1
    );
    Ok(())
}
