//! `authcore device`: an authenticator phone in a terminal. It is the core's `Authenticator`
//! with software P-256 keys in a sealed file store (`--device DIR`, AES-256-GCM under a key file
//! created 0600), so a person can sign in with `authcore signin` (or any client) in one terminal
//! and approve from another: enroll by QR payload or typed activation code, list the accounts,
//! wait for approvals, approve with the number, deny, report fraud, the vault's codes, backups.
//!
//! The terminal stands in for the biometric prompt: approving asks "Approve …? [y/N]" on the
//! terminal unless `--yes` was given (the person typing the command is the one present).

use std::path::PathBuf;
use std::sync::Arc;

use authcore::authenticator::{
    Account, Added, ApprovalKind, ApprovalRequest, Authenticator, AuthenticatorConfig,
    NumberPrompt, UserVerification,
};
use authcore::device_keys::SoftwareDeviceKeys;
use authcore::otp::OtpKind;
use authcore::store::{EncryptedFileStore, StoreKey};
use clap::{Args, Subcommand};

#[derive(Args, Debug)]
pub struct DeviceArgs {
    #[command(flatten)]
    phone: PhoneArgs,
    #[command(subcommand)]
    command: DeviceCommand,
}

#[derive(Args, Debug)]
struct PhoneArgs {
    /// Where this phone keeps its sealed store (accounts, device keys)
    #[arg(long, global = true)]
    device: Option<PathBuf>,
    /// The name the server shows for this phone
    #[arg(long, global = true, default_value = "Terminal phone")]
    name: String,
    /// An extra root certificate (PEM) to trust, e.g. a test CA
    #[arg(long, global = true)]
    ca: Option<PathBuf>,
    /// Resolve HOST to IP instead of DNS, e.g. login.globex.example=127.0.0.1
    #[arg(long, global = true, value_name = "HOST=IP")]
    resolve: Vec<String>,
    /// Answer the confirmation prompt with yes (scripts)
    #[arg(long, global = true)]
    yes: bool,
}

#[derive(Subcommand, Debug)]
enum DeviceCommand {
    /// Register this phone: the QR code's payload (authcore://enroll?…), or the typed activation
    /// code with --server
    Enroll {
        /// The QR payload or the activation code ("7K3M-Q9XA-R2TD")
        code: String,
        /// The server of a typed activation code
        #[arg(long)]
        server: Option<String>,
    },
    /// The accounts on this phone: push accounts, then code accounts
    List,
    /// The sign-in requests waiting for this phone
    Approvals {
        /// Wait up to this many seconds (at most 30) for one to arrive
        #[arg(long, default_value_t = 0)]
        wait: u32,
    },
    /// Approve a request with the number the sign-in screen shows
    Approve {
        /// The request id (default: the only one waiting)
        request: Option<String>,
        /// The number shown on the sign-in screen (asked when absent)
        #[arg(long)]
        number: Option<String>,
    },
    /// Deny a request: the sign-in fails
    Deny {
        /// The request id (default: the only one waiting)
        request: Option<String>,
    },
    /// Deny a request and report it as fraud: pushes to the account pause
    ReportFraud {
        /// The request id (default: the only one waiting)
        request: Option<String>,
    },
    /// The current codes of the code accounts (TOTP, with seconds left)
    Codes,
    /// Add code accounts from an otpauth:// or otpauth-migration:// URI
    Add { uri: String },
    /// Write the code accounts to FILE, encrypted under a passphrase (push accounts stay here)
    Backup { file: PathBuf },
    /// Add the code accounts of a backup FILE
    Restore { file: PathBuf },
}

/// The terminal as the biometric prompt.
struct Terminal {
    yes: bool,
}

impl UserVerification for Terminal {
    fn verify_user(
        &self,
        reason: String,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send>> {
        let yes = self.yes
            || crate::signin::ask(&format!("{reason}? [y/N] "))
                .is_some_and(|a| a.trim().eq_ignore_ascii_case("y"));
        Box::pin(async move { yes })
    }
}

pub fn run(args: DeviceArgs) -> Result<(), String> {
    let phone = open(&args.phone)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(command(&phone, args.command))
}

fn open(args: &PhoneArgs) -> Result<Authenticator, String> {
    let http = crate::signin::http_config(args.ca.as_deref(), &args.resolve)?;
    let dir = args.device.clone().unwrap_or_else(default_device_dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let key = StoreKey::load_or_create(&dir.join("store.key")).map_err(|e| e.to_string())?;
    let store = Arc::new(EncryptedFileStore::open(dir.join("store.bin"), key));
    Authenticator::open(
        store.clone(),
        Arc::new(SoftwareDeviceKeys::new(store)),
        Arc::new(Terminal { yes: args.yes }),
        AuthenticatorConfig {
            http,
            device_name: args.name.clone(),
            platform: "harness".into(),
            push_token: None,
            // The terminal prompt stands in for biometrics, but software keys prove nothing:
            // this phone approves after a password, never instead of one.
            user_verification: false,
        },
    )
    .map_err(|e| e.to_string())
}

fn default_device_dir() -> PathBuf {
    let home = std::env::var_os("HOME").map_or_else(std::env::temp_dir, PathBuf::from);
    home.join(".cache/authcore/harness-phone")
}

async fn command(phone: &Authenticator, command: DeviceCommand) -> Result<(), String> {
    let fail = |e: authcore::authenticator::AuthenticatorError| e.to_string();
    match command {
        DeviceCommand::Enroll { code, server } => {
            let account = match server {
                Some(server) => phone.activate_manually(&code, &server).await.map_err(fail)?,
                None if authcore::device_protocol::ActivationCode::parse(&code).is_ok() => {
                    return Err(format!(
                        "a typed activation code needs the server: `authcore device enroll {code} --server URL` (the URL shown beside the code)"
                    ))
                }
                None => match phone.add_from_qr(&code).await.map_err(fail)? {
                    Added::Push(account) => account,
                    Added::Otp(_) => {
                        return Err("that is a code account's QR payload: use `device add`".into())
                    }
                },
            };
            println!(
                "Registered with {} as {}.",
                account.server_url, account.label
            );
            println!("Approve the test notification: `authcore device approve --number N`.");
        }
        DeviceCommand::List => {
            let accounts = phone.accounts();
            if accounts.is_empty() {
                println!("No accounts on this phone yet: `authcore device enroll <QR payload>`.");
            }
            for account in accounts {
                match account {
                    Account::Push(p) => {
                        println!("push  {}  {}  {}", p.device_id, p.label, p.server_url)
                    }
                    Account::Otp(o) => {
                        let kind = match o.kind {
                            OtpKind::Totp { .. } => "totp",
                            OtpKind::Hotp { .. } => "hotp",
                        };
                        let issuer = o.issuer.map(|i| format!("{i}: ")).unwrap_or_default();
                        println!("{kind}  {}  {issuer}{}", o.id.0, o.account);
                    }
                }
            }
        }
        DeviceCommand::Approvals { wait } => {
            let requests = phone.pending_approvals(wait).await.map_err(fail)?;
            if requests.is_empty() {
                println!("No sign-in is waiting for this phone.");
            }
            for request in &requests {
                println!("{}", describe(request));
            }
        }
        DeviceCommand::Approve { request, number } => {
            let request = pick(phone, request).await?;
            println!("{}", describe(&request));
            let number = match number {
                Some(number) => number,
                None => crate::signin::ask(&number_prompt(&request.prompt))
                    .ok_or("no number was entered; nothing was sent")?,
            };
            phone.approve(&request.id, &number).await.map_err(fail)?;
            println!("Approved.");
        }
        DeviceCommand::Deny { request } => {
            let request = pick(phone, request).await?;
            phone.deny(&request.id).await.map_err(fail)?;
            println!("Denied: the sign-in fails.");
        }
        DeviceCommand::ReportFraud { request } => {
            let request = pick(phone, request).await?;
            phone.report_fraud(&request.id).await.map_err(fail)?;
            println!("Reported as fraud: the sign-in fails and requests to this account pause.");
        }
        DeviceCommand::Codes => {
            let names: std::collections::HashMap<_, _> = phone
                .vault()
                .accounts()
                .into_iter()
                .map(|a| (a.id.clone(), a))
                .collect();
            for code in phone.codes(authcore::Timestamp::now().unix_seconds()) {
                let name = names.get(&code.id).map_or("?", |a| a.account.as_str());
                println!(
                    "{}  {name}  ({} s left)",
                    code.code.as_str(),
                    code.seconds_left
                );
            }
        }
        DeviceCommand::Add { uri } => match phone.add_from_qr(&uri).await.map_err(fail)? {
            Added::Otp(import) => {
                println!(
                    "Added {} account(s); {} already here.",
                    import.added.len(),
                    import.duplicates
                );
                if let Some(batch) = import.batch {
                    println!("This was {}.", batch.description);
                }
            }
            Added::Push(account) => {
                println!(
                    "Registered with {} as {}.",
                    account.server_url, account.label
                );
            }
        },
        DeviceCommand::Backup { file } => {
            let passphrase = passphrase()?;
            let bytes = phone.export_backup(&passphrase).map_err(fail)?;
            std::fs::write(&file, bytes)
                .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
            println!("Wrote the code accounts to {}.", file.display());
        }
        DeviceCommand::Restore { file } => {
            let bytes =
                std::fs::read(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let import = phone.import_backup(&bytes, &passphrase()?).map_err(fail)?;
            println!(
                "Restored {} account(s); {} already here.",
                import.added.len(),
                import.duplicates
            );
        }
    }
    Ok(())
}

/// The request `id`, or the only one waiting; fetched now (a request must be fetched before it
/// can be answered).
async fn pick(phone: &Authenticator, id: Option<String>) -> Result<ApprovalRequest, String> {
    let mut requests = phone
        .pending_approvals(0)
        .await
        .map_err(|e| e.to_string())?;
    match id {
        Some(id) => requests
            .into_iter()
            .find(|r| r.id == id)
            .ok_or_else(|| format!("no request {id} is waiting for this phone")),
        None if requests.len() == 1 => Ok(requests.remove(0)),
        None if requests.is_empty() => Err("no sign-in is waiting for this phone".into()),
        None => Err(format!(
            "{} requests are waiting; name one: {}",
            requests.len(),
            requests
                .iter()
                .map(|r| r.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn describe(request: &ApprovalRequest) -> String {
    let what = match request.kind {
        ApprovalKind::Test => "Test notification".to_owned(),
        ApprovalKind::SignIn => {
            let c = &request.context;
            let place = c
                .location
                .as_deref()
                .map(|l| format!(", {l}"))
                .unwrap_or_default();
            format!(
                "Sign-in to {} from {} ({}{place})",
                c.app, c.ip, c.user_agent
            )
        }
    };
    format!("[{}] {} — {what}", request.id, request.account_label)
}

fn number_prompt(prompt: &NumberPrompt) -> String {
    match prompt {
        NumberPrompt::Enter { length } => {
            format!("Enter the {length}-digit number shown on the sign-in screen: ")
        }
        NumberPrompt::Choose { choices } => {
            format!(
                "Which number does the sign-in screen show? ({}) ",
                choices.join(" / ")
            )
        }
    }
}

/// The backup passphrase: `AUTHCORE_BACKUP_PASSPHRASE`, else asked on the terminal.
fn passphrase() -> Result<String, String> {
    match std::env::var("AUTHCORE_BACKUP_PASSPHRASE") {
        Ok(p) => Ok(p),
        Err(_) => crate::signin::ask_secret("Backup passphrase: ")
            .ok_or_else(|| "no passphrase was entered".into()),
    }
}
