//! `authcore bench push` as a user runs it: a few real round trips, figures in text or JSON, and
//! its bad input refused with one clear line.

use std::process::{Command, Output};

use serde_json::Value;

fn bench_push(args: &[&str]) -> Output {
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/../server/examples/demo.toml");
    Command::new(env!("CARGO_BIN_EXE_authcore"))
        .args(["bench", "push", "--config", config])
        .args(args)
        .output()
        .expect("run authcore")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[test]
fn an_open_loop_run_reports_latency_from_the_intended_start_as_json() {
    let output = bench_push(&[
        "--signins",
        "12",
        "--concurrency",
        "3",
        "--rate",
        "40",
        "--json",
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let figures: Value = serde_json::from_slice(&output.stdout).expect("one JSON object");
    assert_eq!(figures["mode"], "open");
    assert_eq!(figures["offered_per_s"], 40.0);
    assert_eq!(figures["users"], 3);
    assert_eq!(figures["signed_in"], 12);
    assert_eq!(figures["failed"], 0);
    let ms = |key: &str| {
        figures[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key}: {figures}"))
    };
    assert!(ms("p50_ms") > 0.0);
    assert!(ms("p50_ms") <= ms("p99_ms") && ms("p99_ms") <= ms("p99_9_ms"));
    assert!(ms("p99_9_ms") <= ms("max_ms"));
    assert!(ms("approvals_per_s") > 0.0);
}

#[test]
fn a_closed_loop_run_prints_one_line_of_figures() {
    let output = bench_push(&["--signins", "6", "--concurrency", "2"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let first = stdout.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("push round trip: 6 sign-ins, concurrency 2: ")
            && first.contains(" p99.9 ")
            && first.ends_with("; 0 failed"),
        "{stdout}"
    );
}

#[test]
fn a_rate_that_is_not_a_positive_number_is_refused() {
    for (rate, shown) in [
        ("0", "0"),
        ("-5", "-5"),
        ("NaN", "NaN"),
        ("1e9", "1000000000"),
    ] {
        let output = bench_push(&[&format!("--rate={rate}")]);
        assert_eq!(output.status.code(), Some(2), "{rate}");
        assert_eq!(text(&output.stdout), "");
        assert_eq!(
            text(&output.stderr),
            format!(
                "error: --rate {shown}: expected sign-ins per second, more than 0 and at most 100000\n"
            )
        );
    }
    let output = bench_push(&["--concurrency", "0"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        text(&output.stderr),
        "error: --signins and --concurrency must be at least 1\n"
    );
}
