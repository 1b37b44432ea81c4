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
    /// Serve https with a throwaway CA written to DIR/ca.pem (new on every start): the certificate
    /// names 127.0.0.1, localhost and every organisation's sign-in host, and those hosts are served
    /// on this port, so `authcore signin --ca DIR/ca.pem --resolve HOST=127.0.0.1` reaches them
    #[arg(long, value_name = "DIR", conflicts_with_all = ["tls_cert", "tls_key"])]
    pub dev_tls: Option<PathBuf>,
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
    let mut config = config;
    let (tls_cert, tls_key) = match &args.dev_tls {
        Some(dir) => dev_tls(dir, &mut config, listen)?,
        None => (args.tls_cert, args.tls_key),
    };
    let mut options = authcore_server::ServerOptions::new(config, &args.db, listen);
    options.dev = args.dev;
    options.tls_cert = tls_cert;
    options.tls_key = tls_key;
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

/// `--dev-tls DIR`: a throwaway CA in `DIR/ca.pem`, a server certificate for loopback and every
/// organisation's sign-in host, and those hosts moved to this port (`login.globex.example` becomes
/// `login.globex.example:8443`), since nothing local listens on 443.
fn dev_tls(
    dir: &std::path::Path,
    config: &mut authcore_server::Config,
    listen: std::net::SocketAddr,
) -> Result<(Option<PathBuf>, Option<PathBuf>), String> {
    if listen.port() == 0 {
        return Err(
            "--dev-tls needs a fixed --listen port (the sign-in hosts are served on it)".into(),
        );
    }
    if !listen.ip().is_loopback() {
        return Err(format!(
            "--dev-tls is for a local server: --listen {listen} is not a loopback address"
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut names = vec!["127.0.0.1".to_owned(), "localhost".to_owned()];
    for org in &mut config.orgs {
        if let Some(host) = &org.sign_in_host {
            let bare = host.split(':').next().unwrap_or(host).to_owned();
            org.sign_in_host = Some(format!("{bare}:{}", listen.port()));
            names.push(bare);
        }
    }
    let ca = authcore_e2e::TestCa::new();
    let ca_path = dir.join("ca.pem");
    std::fs::write(&ca_path, ca.pem())
        .map_err(|e| format!("cannot write {}: {e}", ca_path.display()))?;
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let (cert, key) = ca.issue(&names, dir);
    let port = listen.port();
    eprintln!(
        "dev TLS: the CA is {}; the certificate names {}",
        ca_path.display(),
        names.join(", ")
    );
    for host in names.iter().skip(2) {
        eprintln!(
            "  authcore signin --server https://127.0.0.1:{port} --ca {} --resolve {host}=127.0.0.1",
            ca_path.display()
        );
    }
    Ok((Some(cert), Some(key)))
}
