//! `authcore code`, `authcore uri parse|new`, `authcore import`.

use std::time::{SystemTime, UNIX_EPOCH};

use authcore::otp::migration::{self, MigrationBatch};
use authcore::otp::uri::{self, UriError};
use authcore::otp::{
    Algorithm, ClockOffset, Digits, OtpAccount, OtpKind, OtpWarning, Parameter, Period, Secret,
};
use clap::Args;
use qrcode::render::unicode;
use qrcode::QrCode;
use serde_json::{json, Value};

#[derive(Args)]
pub struct CodeArgs {
    /// An otpauth://totp/... or otpauth://hotp/... URI
    uri: String,
    /// Compute the code at this unix time instead of now
    #[arg(long, value_name = "UNIX_SECONDS")]
    at: Option<u64>,
    /// Correct the clock by this many seconds (positive when this machine is behind)
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 0,
        allow_hyphen_values = true
    )]
    offset: i64,
}

#[derive(Args)]
pub struct ParseArgs {
    uri: String,
    /// Include the secret (base32) in the output
    #[arg(long)]
    show_secret: bool,
}

#[derive(Args)]
pub struct NewArgs {
    #[arg(long)]
    issuer: String,
    #[arg(long)]
    account: String,
    /// SHA1, SHA256 or SHA512
    #[arg(long, default_value = "SHA1")]
    algorithm: String,
    /// 6, 7 or 8
    #[arg(long, default_value_t = 6)]
    digits: u8,
    /// Seconds per code, 1 to 3600
    #[arg(long, default_value_t = 30)]
    period: u32,
}

#[derive(Args)]
pub struct ImportArgs {
    /// An otpauth-migration://offline?data=... URI
    uri: String,
    /// Include the secrets (base32) in the JSON output
    #[arg(long)]
    show_secrets: bool,
    /// Print one otpauth:// URI per account instead of JSON (URIs always carry their secrets)
    #[arg(long)]
    uris: bool,
}

pub fn code(args: CodeArgs) -> Result<(), String> {
    let parsed = uri::parse(&args.uri).map_err(|e| e.to_string())?;
    warn(&parsed.warnings);
    let now = match args.at {
        Some(at) => at,
        None => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| "the system clock is before 1970".to_string())?
            .as_secs(),
    };
    let offset = ClockOffset::from_seconds(args.offset);
    if let Some(totp) = parsed.account.totp() {
        let code = totp.code(now, offset);
        println!("{}", code.code.as_str());
        println!("{} s left", code.seconds_left);
    } else if let Some((hotp, counter)) = parsed.account.hotp() {
        println!("{}", hotp.code(counter).as_str());
    }
    Ok(())
}

pub fn parse(args: ParseArgs) -> Result<(), String> {
    let parsed = uri::parse(&args.uri).map_err(|e| e.to_string())?;
    let mut out = account_json(&parsed.account, args.show_secret);
    out["warnings"] = parsed.warnings.iter().map(warning_json).collect();
    print_json(&out)
}

pub fn new(args: NewArgs) -> Result<(), String> {
    let unsupported =
        |parameter, value: String| UriError::Unsupported { parameter, value }.to_string();
    if args.account.trim().is_empty() {
        return Err("the account name is empty".into());
    }
    let algorithm = Algorithm::from_name(&args.algorithm)
        .ok_or_else(|| unsupported(Parameter::Algorithm, args.algorithm.clone()))?;
    let digits = Digits::new(args.digits)
        .ok_or_else(|| unsupported(Parameter::Digits, args.digits.to_string()))?;
    let period = Period::new(args.period)
        .ok_or_else(|| unsupported(Parameter::Period, args.period.to_string()))?;
    let account = OtpAccount {
        issuer: Some(args.issuer).filter(|i| !i.trim().is_empty()),
        account: args.account.trim().to_owned(),
        secret: Secret::generate(Secret::GENERATED_BYTES),
        algorithm,
        digits,
        kind: OtpKind::Totp { period },
        image: None,
    };
    let text = uri::format(&account);
    println!("{text}");
    let qr = QrCode::new(text.as_bytes())
        .map_err(|_| "the URI is too long for a QR code".to_string())?;
    // Light modules drawn dark and the reverse, so the code reads on a dark terminal.
    let drawing = qr
        .render::<unicode::Dense1x2>()
        .dark_color(unicode::Dense1x2::Light)
        .light_color(unicode::Dense1x2::Dark)
        .build();
    println!("{drawing}");
    Ok(())
}

pub fn import(args: ImportArgs) -> Result<(), String> {
    let batch = migration::import(&args.uri).map_err(|e| e.to_string())?;
    if args.uris {
        for (index, warning) in &batch.warnings {
            eprintln!("warning: account {index}: {warning}");
        }
        for account in &batch.accounts {
            println!("{}", uri::format(account));
        }
        if batch.batch_size > 1 {
            eprintln!(
                "note: this is {}; scan the others to import every account",
                batch.describe()
            );
        }
        return Ok(());
    }
    print_json(&batch_json(&batch, args.show_secrets))
}

fn batch_json(batch: &MigrationBatch, show_secrets: bool) -> Value {
    json!({
        "batch": {
            "index": batch.batch_index,
            "size": batch.batch_size,
            "id": batch.batch_id,
            "version": batch.version,
            "description": batch.describe(),
        },
        "accounts": batch.accounts.iter().map(|a| account_json(a, show_secrets)).collect::<Vec<_>>(),
        "warnings": batch.warnings.iter().map(|(index, w)| {
            let mut value = warning_json(w);
            value["account"] = json!(index);
            value
        }).collect::<Vec<_>>(),
    })
}

fn account_json(account: &OtpAccount, show_secret: bool) -> Value {
    let mut value = json!({
        "issuer": account.issuer,
        "account": account.account,
        "secret": if show_secret { account.secret.to_base32().to_string() } else { "<redacted>".to_string() },
        "secret_bits": account.secret.bits(),
        "algorithm": account.algorithm.name(),
        "digits": account.digits.get(),
        "image": account.image,
    });
    match account.kind {
        OtpKind::Totp { period } => {
            value["type"] = json!("totp");
            value["period"] = json!(period.seconds());
        }
        OtpKind::Hotp { counter } => {
            value["type"] = json!("hotp");
            value["counter"] = json!(counter);
        }
    }
    value
}

fn warning_json(warning: &OtpWarning) -> Value {
    json!({ "kind": warning.kind(), "message": warning.to_string() })
}

fn warn(warnings: &[OtpWarning]) {
    for warning in warnings {
        eprintln!("warning: {warning}");
    }
}

fn print_json(value: &Value) -> Result<(), String> {
    let text =
        serde_json::to_string_pretty(value).map_err(|e| format!("cannot write JSON: {e}"))?;
    println!("{text}");
    Ok(())
}
