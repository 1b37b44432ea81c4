//! `authcore account`: what the session `authcore signin` saved on this terminal "device" can
//! see and do: who is signed in, the sign-in history, security events, the authenticator
//! devices, log out here or everywhere.

use std::path::PathBuf;

use authcore::{AuthClient, Timestamp};
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
                    utc(r.at),
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
                println!("{}  {}{detail}  from {}", utc(e.at), e.kind, e.ip);
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
                    utc(d.created_at)
                );
            }
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

/// A moment as `2026-12-02 13:04:05 UTC` (the civil calendar from days, no time-zone data).
fn utc(at: Timestamp) -> String {
    let at = at.unix_seconds();
    let days = (at / 86_400) as i64;
    let secs = at % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use authcore::Timestamp;

    #[test]
    fn unix_seconds_read_as_utc_dates() {
        let utc = |s| super::utc(Timestamp::from_unix_seconds(s));
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_767_225_600), "2026-01-01 00:00:00 UTC");
        assert_eq!(utc(1_796_216_645), "2026-12-02 13:04:05 UTC");
    }
}
