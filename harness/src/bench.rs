//! `authcore bench otp` (codes per second on one core) and `authcore bench vault` (opening the
//! authenticator with all its codes).

use std::hint::black_box;
use std::time::{Duration, Instant};

use authcore::otp::{Algorithm, ClockOffset, Digits, Period, Secret, Totp};
use clap::Args;

#[derive(Args)]
pub struct OtpBenchArgs {
    /// Seconds to run each algorithm
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
}

pub fn otp(args: OtpBenchArgs) -> Result<(), String> {
    if !(args.seconds > 0.0 && args.seconds <= 600.0) {
        return Err("--seconds must be between 0 and 600".into());
    }
    let budget = Duration::from_secs_f64(args.seconds);
    println!(
        "TOTP codes per second on one core ({:.1} s per algorithm):",
        args.seconds
    );
    for algorithm in Algorithm::ALL {
        let totp = Totp::new(
            Secret::generate(Secret::GENERATED_BYTES),
            algorithm,
            Digits::SIX,
            Period::DEFAULT,
        );
        let start = Instant::now();
        let mut count: u64 = 0;
        let mut time: u64 = 1_700_000_000;
        while start.elapsed() < budget {
            // Check the clock once per 1,000 codes so timing stays out of the measurement.
            for _ in 0..1_000 {
                black_box(totp.code(black_box(time), ClockOffset::ZERO));
                time += 30;
            }
            count += 1_000;
        }
        let rate = count as f64 / start.elapsed().as_secs_f64();
        println!("  {:<6} {:>12.0} codes/s", algorithm.name(), rate);
    }
    Ok(())
}

#[derive(Args)]
pub struct VaultBenchArgs {
    /// Accounts in the vault
    #[arg(long, default_value_t = 1000)]
    accounts: usize,
    /// Timed opens
    #[arg(long, default_value_t = 50)]
    runs: usize,
}

/// Opening the authenticator: decrypt the store, read every account (push and code accounts), set
/// up its HTTP client, compute every code.
pub fn vault(args: VaultBenchArgs) -> Result<(), String> {
    use std::sync::Arc;

    use authcore::authenticator::{Authenticator, AuthenticatorConfig};
    use authcore::device_keys::SoftwareDeviceKeys;
    use authcore::http::HttpConfig;
    use authcore::otp::{migration, uri};
    use authcore::store::{EncryptedFileStore, StoreKey};
    use authcore::vault::Vault;

    if args.accounts == 0 || args.runs == 0 {
        return Err("--accounts and --runs must be at least 1".into());
    }
    let dir = std::env::temp_dir().join(format!("authcore-bench-vault-{}", std::process::id()));
    let store = Arc::new(EncryptedFileStore::open(
        dir.join("store"),
        StoreKey::generate(),
    ));
    let accounts: Vec<_> = (0..args.accounts)
        .map(|i| {
            let secret = Secret::generate(Secret::GENERATED_BYTES).to_base32();
            uri::parse(&format!(
                "otpauth://totp/Issuer{i}:user{i}@example.com?secret={}",
                *secret
            ))
            .map(|p| p.account)
            .map_err(|e| e.to_string())
        })
        .collect::<Result<_, _>>()?;
    let vault = Vault::open(store.clone()).map_err(|e| e.to_string())?;
    for qr in migration::export(&accounts, 1).map_err(|e| e.to_string())? {
        vault.add_from_qr(&qr).map_err(|e| e.to_string())?;
    }
    let now = 1_700_000_000;
    let mut times = Vec::with_capacity(args.runs);
    for _ in 0..args.runs {
        let start = Instant::now();
        let authenticator = Authenticator::open(
            store.clone(),
            Arc::new(SoftwareDeviceKeys::new(store.clone())),
            Arc::new(authcore_e2e::Fingerprint::default()),
            AuthenticatorConfig {
                http: HttpConfig::default(),
                device_name: "bench".into(),
                platform: "harness".into(),
                push_token: None,
                user_verification: false,
            },
        )
        .map_err(|e| e.to_string())?;
        let codes = black_box(authenticator.codes(now));
        times.push(start.elapsed());
        if codes.len() != args.accounts {
            return Err("the vault lost accounts".into());
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e3;
    println!(
        "authenticator open + all codes, {} TOTP accounts, {} runs: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        args.accounts,
        args.runs,
        at(0.5),
        at(0.99),
        at(1.0)
    );
    Ok(())
}
