//! The code step's line: "Enter the code sent to … (6 digits, expires in 9:41; r resend (in 12 s),
//! b back)". Both countdowns run from when the code was sent, not from when the line is shown: a
//! wrong answer shows the same code step again, and its "in 30 s" must have counted down. On a
//! terminal the line is redrawn every second while the person types.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use authcore::Timestamp;

/// When the current code may be sent again, keyed by the code's expiry (a new code, after a
/// resend or another step, has another expiry and starts a new countdown).
static RESEND_AT: Mutex<Option<(Timestamp, Timestamp)>> = Mutex::new(None);

/// The moment a new code may be asked for: `resend_after` seconds after this code was first shown.
fn resend_at(expires_at: Timestamp, resend_after: u64) -> Timestamp {
    let mut kept = RESEND_AT.lock().unwrap_or_else(|e| e.into_inner());
    match *kept {
        Some((code, at)) if code == expires_at => at,
        _ => {
            let at = Timestamp::from_unix_seconds(Timestamp::now().unix_seconds() + resend_after);
            *kept = Some((expires_at, at));
            at
        }
    }
}

fn line(
    destination_hint: &str,
    length: u32,
    expires_at: Timestamp,
    resend_at: Timestamp,
) -> String {
    let now = Timestamp::now();
    let left = expires_at.seconds_since(now);
    let wait = resend_at.seconds_since(now);
    let resend = if wait > 0 {
        format!("r resend (in {wait} s)")
    } else {
        "r resend".into()
    };
    format!(
        "Enter the code sent to {destination_hint} ({length} digits, expires in {}:{:02}; {resend}, b back)",
        left / 60,
        left % 60
    )
}

/// Prints the code step's line, then reads the answer after "Code: "; on a terminal the line
/// above the prompt counts down each second until the answer is in.
pub(crate) fn ask_code(
    destination_hint: &str,
    length: u32,
    expires_at: Timestamp,
    resend_after: u64,
) -> Option<String> {
    let resend = resend_at(expires_at, resend_after);
    println!("{}", line(destination_hint, length, expires_at, resend));
    if !std::io::stdout().is_terminal() {
        return crate::signin::ask("Code: ");
    }
    let done = Arc::new(AtomicBool::new(false));
    let ticker = {
        let (done, hint) = (done.clone(), destination_hint.to_owned());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_secs(1));
                if done.load(Ordering::Relaxed) {
                    break;
                }
                // save the cursor, rewrite the line above the prompt, restore the cursor
                print!(
                    "\x1b7\x1b[1A\r\x1b[2K{}\x1b8",
                    line(&hint, length, expires_at, resend)
                );
                let _ = std::io::stdout().flush();
            }
        })
    };
    let answer = crate::signin::ask("Code: ");
    done.store(true, Ordering::Relaxed);
    let _ = ticker.join();
    answer
}
