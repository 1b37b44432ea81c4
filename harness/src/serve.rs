//! `authcore server`: runs the reference identity server until Ctrl-C or SIGTERM (both drain:
//! in-flight requests finish, then it exits 0).

use std::path::PathBuf;

use clap::Args;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Server configuration (TOML), e.g. server/examples/demo.toml
    #[arg(long)]
    pub config: PathBuf,
    /// Database URL: sqlite://authcore.db or sqlite::memory:
    #[arg(long, default_value = "sqlite://authcore.db")]
    pub db: String,
    /// Address to listen on (port 0 picks a free port)
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Seed the config's dev users, record messages and serve GET /dev/outbox
    #[arg(long)]
    pub dev: bool,
    /// PEM certificate chain for TLS (with --tls-key)
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for TLS (with --tls-cert)
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Log lines as `human` text or `json` objects (stderr; RUST_LOG picks the levels)
    #[arg(long, default_value = "human")]
    pub log_format: authcore_server::logging::LogFormat,
}

pub fn run(args: ServeArgs) -> Result<(), String> {
    authcore_server::logging::install(args.log_format)?;
    let config = authcore_server::Config::load(&args.config).map_err(|e| e.to_string())?;
    let listen = args
        .listen
        .parse()
        .map_err(|_| format!("--listen: not an address: {}", args.listen))?;
    let mut options = authcore_server::ServerOptions::new(config, &args.db, listen);
    options.dev = args.dev;
    options.tls_cert = args.tls_cert;
    options.tls_key = args.tls_key;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime
        .block_on(authcore_server::run(
            options,
            authcore_server::shutdown_signal(),
        ))
        .map_err(|e| e.to_string())
}
