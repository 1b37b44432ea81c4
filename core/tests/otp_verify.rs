//! Server-side verification: drift windows, replay refusal, clock offsets.

use authcore::otp::{
    Algorithm, ClockOffset, Digits, Hotp, Period, ReplayGuard, Secret, Totp, VerifyError,
};

fn totp() -> Totp {
    Totp::new(
        Secret::from_bytes(b"12345678901234567890".to_vec()),
        Algorithm::Sha1,
        Digits::SIX,
        Period::DEFAULT,
    )
}

#[test]
fn current_code_matches_current_step() {
    let totp = totp();
    let now = 1_700_000_015;
    let code = totp.code(now, ClockOffset::ZERO).code;
    assert_eq!(totp.verify(code.as_str(), now, 1), Ok(now / 30));
}

#[test]
fn window_accepts_neighbouring_steps_and_nothing_beyond() {
    let totp = totp();
    let now = 1_700_000_015;
    let step = now / 30;
    let previous = totp.code_at_step(step - 1);
    let next = totp.code_at_step(step + 1);
    let far = totp.code_at_step(step + 2);
    assert_eq!(totp.verify(previous.as_str(), now, 1), Ok(step - 1));
    assert_eq!(totp.verify(next.as_str(), now, 1), Ok(step + 1));
    assert_eq!(
        totp.verify(previous.as_str(), now, 0),
        Err(VerifyError::Mismatch)
    );
    assert_eq!(
        totp.verify(far.as_str(), now, 1),
        Err(VerifyError::Mismatch)
    );
    assert_eq!(totp.verify(far.as_str(), now, 2), Ok(step + 2));
}

#[test]
fn spaces_are_ignored_and_bad_shapes_are_malformed() {
    let totp = totp();
    let now = 59;
    let code = totp.code(now, ClockOffset::ZERO).code;
    let spaced = format!("{} {}", &code.as_str()[..3], &code.as_str()[3..]);
    assert_eq!(totp.verify(&spaced, now, 0), Ok(1));
    for bad in ["", "12345", "1234567", "12345a", "１２３４５６"] {
        assert_eq!(
            totp.verify(bad, now, 1),
            Err(VerifyError::Malformed { expected: 6 }),
            "{bad:?}"
        );
    }
}

#[test]
fn replay_guard_refuses_the_same_and_older_steps() {
    let totp = totp();
    let now = 1_700_000_015;
    let mut guard = ReplayGuard::new();
    let code = totp.code(now, ClockOffset::ZERO).code;
    let step = totp.verify(code.as_str(), now, 1).unwrap();
    assert_eq!(guard.accept(step), Ok(()));
    // The same code again, a second later: still valid, but already used.
    let again = totp.verify(code.as_str(), now + 1, 1).unwrap();
    assert_eq!(guard.accept(again), Err(VerifyError::Replayed));
    // An older, still-in-window code is refused too.
    assert_eq!(guard.accept(step - 1), Err(VerifyError::Replayed));
    // The next step is fine, and a guard restored from storage remembers.
    assert_eq!(guard.accept(step + 1), Ok(()));
    let mut restored = ReplayGuard::resume(guard.last_accepted());
    assert_eq!(restored.accept(step + 1), Err(VerifyError::Replayed));
}

#[test]
fn hotp_look_ahead_resynchronises() {
    let hotp = Hotp::new(
        Secret::from_bytes(b"12345678901234567890".to_vec()),
        Algorithm::Sha1,
        Digits::SIX,
    );
    assert_eq!(hotp.verify("969429", 0, 5), Ok(3));
    assert_eq!(hotp.verify("969429", 0, 2), Err(VerifyError::Mismatch));
    assert_eq!(hotp.verify("755224", 1, 10), Err(VerifyError::Mismatch));
}

#[test]
fn clock_offset_corrects_a_slow_phone() {
    let totp = totp();
    let server_now = 1_111_111_111;
    let phone_now = server_now - 95; // the phone is 95 s behind
    let offset = ClockOffset::between(server_now, phone_now);
    assert_eq!(offset.seconds(), 95);
    let corrected = totp.code(phone_now, offset);
    assert_eq!(corrected, totp.code(server_now, ClockOffset::ZERO));
    assert_ne!(totp.code(phone_now, ClockOffset::ZERO).code, corrected.code);
    // Offsets saturate instead of wrapping.
    assert_eq!(ClockOffset::from_seconds(-100).apply(10), 0);
    assert_eq!(ClockOffset::from_seconds(100).apply(u64::MAX - 1), u64::MAX);
}

#[test]
fn seconds_left_counts_down_to_the_next_code() {
    let totp = Totp::new(
        Secret::from_bytes(b"12345678901234567890".to_vec()),
        Algorithm::Sha1,
        Digits::SIX,
        Period::new(60).unwrap(),
    );
    assert_eq!(totp.code(120, ClockOffset::ZERO).seconds_left, 60);
    assert_eq!(totp.code(179, ClockOffset::ZERO).seconds_left, 1);
    let one_second = Totp::new(
        Secret::from_bytes(b"12345678901234567890".to_vec()),
        Algorithm::Sha1,
        Digits::SIX,
        Period::new(1).unwrap(),
    );
    assert_eq!(one_second.code(5, ClockOffset::ZERO).step, 5);
    assert_eq!(Period::new(0), None);
    assert_eq!(Period::new(3601), None);
    assert_eq!(Digits::new(5), None);
    assert_eq!(Digits::new(9), None);
}

#[test]
fn codes_do_not_show_in_debug_output() {
    let code = totp().code(59, ClockOffset::ZERO);
    let shown = format!("{code:?}");
    assert!(!shown.contains(code.code.as_str()), "{shown}");
}
