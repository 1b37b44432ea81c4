//! `authcore bench otp`: codes per second on one core.

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
