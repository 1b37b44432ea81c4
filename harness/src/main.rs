//! `authcore`: the device test harness: OTP tools, the reference server, an interactive sign-in
//! client, an authenticator phone in a terminal (`device`) and benchmarks.
//!
//! Bad input exits with status 2 and one line on stderr; a bug exits 101 with one line too.

mod account;
mod bench;
mod bench_push;
mod bench_server;
mod code_prompt;
mod demo;
mod device;
mod otp_tools;
mod serve;
mod signin;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc instead of glibc malloc: the benchmarks (client and in-process server) allocate a
/// lot per request, and glibc's arena locking and consolidation showed up at ~10% of a push
/// round trip.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "authcore", version, about = "authcore device test harness")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The whole system in one process: a Globex user signs in, enrolls the phone, approves a push
    Demo(demo::DemoArgs),
    /// Print the current code of an otpauth:// URI (and, for TOTP, the seconds it has left)
    Code(otp_tools::CodeArgs),
    /// Read or make otpauth:// URIs
    #[command(subcommand)]
    Uri(UriCommand),
    /// Read a Google Authenticator export (otpauth-migration://) QR payload
    Import(otp_tools::ImportArgs),
    /// Measure throughput (figures only; nothing is asserted)
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Run the reference identity server until Ctrl-C
    Server(serve::ServeArgs),
    /// Sign in interactively against a server (prompts on stdout, answers from stdin)
    Signin(signin::SignInArgs),
    /// An authenticator phone in a terminal: enroll, approve sign-ins with the number, codes
    Device(device::DeviceArgs),
    /// The account `authcore signin` signed in to: history, events, devices, log out
    Account(account::AccountArgs),
}

#[derive(Subcommand)]
enum UriCommand {
    /// Print an otpauth:// URI's fields as JSON
    Parse(otp_tools::ParseArgs),
    /// Make a new account with a fresh 160-bit secret: prints the URI and its QR code
    New(otp_tools::NewArgs),
}

#[derive(Subcommand)]
enum BenchCommand {
    /// OTP codes computed per second on one core, per algorithm
    Otp(bench::OtpBenchArgs),
    /// Time to open the authenticator vault and compute every code
    Vault(bench::VaultBenchArgs),
    /// Sign-ins per second against an in-process server over loopback
    Server(bench_server::ServerBenchArgs),
    /// Number-matching push round trips per second and their latency, core on both sides
    Push(bench_push::PushBenchArgs),
}

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        // `authcore uri new … | head -1`: the reader left; stop quietly as `ls | head` does
        // (128 + SIGPIPE), not as a bug.
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("error: internal error{place} (this is a bug; please report it)");
    }));
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Code(args) => otp_tools::code(args),
        Command::Uri(UriCommand::Parse(args)) => otp_tools::parse(args),
        Command::Uri(UriCommand::New(args)) => otp_tools::new(args),
        Command::Import(args) => otp_tools::import(args),
        Command::Bench(BenchCommand::Otp(args)) => bench::otp(args),
        Command::Bench(BenchCommand::Vault(args)) => bench::vault(args),
        Command::Bench(BenchCommand::Server(args)) => bench_server::server(args),
        Command::Bench(BenchCommand::Push(args)) => bench_push::push(args),
        Command::Server(args) => serve::run(args),
        Command::Signin(args) => signin::run(args),
        Command::Device(args) => device::run(args),
        Command::Account(args) => account::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}
