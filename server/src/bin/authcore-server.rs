//! A minimal launcher for the server (tests spawn it as a real process; `authcore server` in the
//! harness is the command people use):
//! `authcore-server CONFIG DB_URL LISTEN [--dev] [--log-format human|json]`.
//! Ctrl-C and SIGTERM both drain: in-flight requests finish, then it exits 0.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [config, db, listen, rest @ ..] = args.as_slice() else {
        eprintln!("usage: authcore-server CONFIG DB_URL LISTEN [--dev] [--log-format human|json]");
        return ExitCode::from(2);
    };
    let dev = rest.iter().any(|a| a == "--dev");
    let run = || -> Result<(), String> {
        let format = match rest.iter().position(|a| a == "--log-format") {
            Some(i) => rest
                .get(i + 1)
                .ok_or("--log-format needs human or json")?
                .parse()?,
            None => authcore_server::logging::LogFormat::Human,
        };
        authcore_server::logging::install(format)?;
        let config = authcore_server::Config::load(config.as_ref()).map_err(|e| e.to_string())?;
        let listen = listen
            .parse()
            .map_err(|_| format!("not an address: {listen}"))?;
        let mut options = authcore_server::ServerOptions::new(config, db, listen);
        options.dev = dev;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        runtime
            .block_on(authcore_server::run(
                options,
                authcore_server::shutdown_signal(),
            ))
            .map_err(|e| e.to_string())
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}
