//! `authcore account`: what the session `authcore signin` saved on this terminal "device" can
//! see and do: who is signed in, the sign-in history, security events, the authenticator
//! devices, log out here or everywhere.

use std::path::PathBuf;

use authcore::AuthClient;
use clap::{Args, Subcommand};

#[derive(Args, Debug)]
pub struct AccountArgs {
    /// The identity server the session belongs to
    #[arg(long, global = true)]
    server: Option<String>,
    /// The client this app is registered as
    #[arg(long, global = true, default_value = "authcore-harness")]
    client_id: String,
    /// Where `authcore signin` kept the session (its `--device`)
    #[arg(long, global = true)]
    device: Option<PathBuf>,
    /// An extra root certificate (PEM) to trust, e.g. a test CA
    #[arg(long, global = true)]
    ca: Option<PathBuf>,
    /// Resolve HOST to IP instead of DNS, e.g. login.globex.example=127.0.0.1
    #[arg(long, global = true, value_name = "HOST=IP")]
    resolve: Vec<String>,
    #[command(subcommand)]
    command: AccountCommand,
}

#[derive(Subcommand, Debug)]
enum AccountCommand {
    /// Who is signed in
    Whoami,
    /// The sign-in history, newest first
    History,
    /// Changes to the account's security information
    Events,
    /// The authenticator devices
    Devices,
    /// The active sessions (this one marked), newest first
    Sessions,
    /// End one session (an id from `sessions`), e.g. on a lost phone
    EndSession { id: String },
    /// Log out on this device
    Logout,
    /// Log out on every device (every session of the account ends)
    LogoutAll,
}

pub fn run(args: AccountArgs) -> Result<(), String> {
    let server = args
        .server
        .clone()
        .ok_or("--server URL is needed (the server `authcore signin` signed in to)")?;
    let client = crate::signin::app(
        &server,
        &args.client_id,
        args.device.as_deref(),
        args.ca.as_deref(),
        &args.resolve,
    )?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(command(client, args.command))
}

async fn command(client: AuthClient, command: AccountCommand) -> Result<(), String> {
    let session = client
        .saved_session()
        .map_err(|e| e.to_string())?
        .ok_or("not signed in on this device: `authcore signin` first")?;
    let fail = |e: authcore::ClientError| e.to_string();
    match command {
        AccountCommand::Whoami => {
            let user = session.user_info().await.map_err(fail)?;
            println!(
                "{} <{}> (session {} at {})",
                user.name,
                user.email,
                session.session_id(),
                session.server()
            );
        }
        AccountCommand::History => {
            for r in session.sign_in_history().await.map_err(fail)? {
                let factors = if r.factors.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", r.factors.join(", "))
                };
                println!(
                    "{}  {} {}{factors}  {}  from {} ({})",
                    r.at.to_utc_string(),
                    r.kind,
                    r.method,
                    r.result,
                    r.ip,
                    r.user_agent
                );
            }
        }
        AccountCommand::Events => {
            for e in session.security_events().await.map_err(fail)? {
                let detail = if e.detail.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", e.detail)
                };
                println!(
                    "{}  {}{detail}  from {}",
                    e.at.to_utc_string(),
                    e.kind,
                    e.ip
                );
            }
        }
        AccountCommand::Devices => {
            let devices = session.devices().await.map_err(fail)?;
            if devices.is_empty() {
                println!("No authenticator devices.");
            }
            for d in devices {
                let push = if d.push_enabled {
                    "push on"
                } else {
                    "push off"
                };
                println!(
                    "{}  {} ({})  {}  {push}  added {}",
                    d.device_id,
                    d.display_name,
                    d.platform,
                    d.state,
                    d.created_at.to_utc_string()
                );
            }
        }
        AccountCommand::Sessions => {
            for s in session.active_sessions().await.map_err(fail)? {
                let this = if s.current { "  (this session)" } else { "" };
                let agent = if s.user_agent.is_empty() {
                    "unknown app"
                } else {
                    &s.user_agent
                };
                println!(
                    "{}  {}  {} ({})  from {} ({agent})  since {}  until {}{this}",
                    s.id,
                    s.client_name,
                    s.method,
                    s.factors.join(", "),
                    s.ip,
                    s.created_at.to_utc_string(),
                    s.expires_at.to_utc_string()
                );
            }
        }
        AccountCommand::EndSession { id } => {
            session.revoke_session(&id).await.map_err(fail)?;
            println!("Session {id} ended: its tokens no longer work.");
        }
        AccountCommand::Logout => {
            session.logout().await.map_err(fail)?;
            println!("Logged out on this device.");
        }
        AccountCommand::LogoutAll => {
            let ended = session.logout_everywhere().await.map_err(fail)?;
            println!("Logged out everywhere: {ended} session(s) ended.");
        }
    }
    Ok(())
}
