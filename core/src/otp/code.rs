//! HOTP (RFC 4226) and TOTP (RFC 6238) codes, verification and replay protection.
//!
//! Built on ring's HMAC directly rather than `totp-rs`: totp-rs has no HOTP, refuses secrets under
//! 128 bits (which issuers do hand out, and which we accept with a warning), and ring is the one
//! crypto crate the rest of authcore already uses (device keys, AEAD), so one audited HMAC serves all.

use std::fmt;

use ring::hmac;
use subtle::{ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroizing;

use super::Secret;

/// The HMAC hash of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    Sha1,
    Sha256,
    Sha512,
}

impl Algorithm {
    pub const ALL: [Algorithm; 3] = [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512];

    /// The name the Key URI format uses (`SHA1`, `SHA256`, `SHA512`).
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        }
    }

    /// Reads a Key URI algorithm name, ignoring case. `None` for anything unsupported (MD5...).
    pub fn from_name(name: &str) -> Option<Self> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name))
    }

    fn hmac(self) -> hmac::Algorithm {
        match self {
            // SHA-1 is what RFC 4226 and most issuers specify; HMAC-SHA1 remains sound for OTP.
            Algorithm::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            Algorithm::Sha256 => hmac::HMAC_SHA256,
            Algorithm::Sha512 => hmac::HMAC_SHA512,
        }
    }
}

/// Code length: 6, 7 or 8 digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digits(u8);

impl Digits {
    pub const SIX: Digits = Digits(6);
    pub const EIGHT: Digits = Digits(8);

    pub fn new(digits: u8) -> Option<Self> {
        (6..=8).contains(&digits).then_some(Digits(digits))
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

/// TOTP time step: 1 second to 1 hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Period(u32);

impl Period {
    pub const DEFAULT: Period = Period(30);

    pub fn new(seconds: u32) -> Option<Self> {
        (1..=3600).contains(&seconds).then_some(Period(seconds))
    }

    pub fn seconds(self) -> u32 {
        self.0
    }
}

/// A one-time code. Codes are credentials while they live: `Debug` is redacted, there is no
/// `Display`, and the digits are read with [`Code::as_str`] where they are shown or sent.
#[derive(Clone, PartialEq, Eq)]
pub struct Code(Zeroizing<String>);

impl Code {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

// The bindings see a code as its digits and a period as seconds.
#[cfg(feature = "uniffi")]
uniffi::custom_type!(Code, String, {
    lower: |code| code.as_str().to_owned(),
    try_lift: |digits| Ok(Code(Zeroizing::new(digits))),
});
#[cfg(feature = "uniffi")]
uniffi::custom_type!(Period, u32, {
    lower: |period| period.seconds(),
    try_lift: |seconds| Period::new(seconds)
        .ok_or_else(|| uniffi::deps::anyhow::anyhow!("a period is 1 to 3600 seconds")),
});

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Code(<redacted>)")
    }
}

/// Why a submitted code was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Not the right number of digits (spaces are ignored).
    #[error("a code is {expected} digits")]
    Malformed { expected: u8 },
    #[error("the code is not valid")]
    Mismatch,
    /// The code was right but its time step (or counter) was already used.
    #[error("the code was already used")]
    Replayed,
}

/// A correction added to the device clock before computing TOTP codes, for phones whose clock
/// drifts. Estimate it from a server's time with [`ClockOffset::between`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClockOffset {
    seconds: i64,
}

impl ClockOffset {
    pub const ZERO: ClockOffset = ClockOffset { seconds: 0 };

    pub fn from_seconds(seconds: i64) -> Self {
        ClockOffset { seconds }
    }

    /// The offset that makes `local` read as `reference` (e.g. a server's `Date`).
    pub fn between(reference: u64, local: u64) -> Self {
        let seconds = i128::from(reference) - i128::from(local);
        ClockOffset {
            seconds: seconds.clamp(i64::MIN.into(), i64::MAX.into()) as i64,
        }
    }

    pub fn seconds(self) -> i64 {
        self.seconds
    }

    /// `now` corrected by the offset, saturating at the ends of the u64 range.
    pub fn apply(self, now: u64) -> u64 {
        now.saturating_add_signed(self.seconds)
    }
}

/// An HOTP generator (RFC 4226).
#[derive(Debug, Clone)]
pub struct Hotp {
    secret: Secret,
    algorithm: Algorithm,
    digits: Digits,
}

impl Hotp {
    pub fn new(secret: Secret, algorithm: Algorithm, digits: Digits) -> Self {
        Hotp {
            secret,
            algorithm,
            digits,
        }
    }

    /// The code for `counter`.
    pub fn code(&self, counter: u64) -> Code {
        let key = hmac::Key::new(self.algorithm.hmac(), self.secret.expose());
        let tag = hmac::sign(&key, &counter.to_be_bytes());
        let mac = tag.as_ref();
        // Dynamic truncation, RFC 4226 section 5.3.
        let offset = usize::from(mac[mac.len() - 1] & 0x0f);
        let binary = u32::from_be_bytes([
            mac[offset] & 0x7f,
            mac[offset + 1],
            mac[offset + 2],
            mac[offset + 3],
        ]);
        let digits = usize::from(self.digits.get());
        let value = binary % 10u32.pow(u32::from(self.digits.get()));
        Code(Zeroizing::new(format!("{value:0digits$}")))
    }

    /// Checks `code` against counters `counter ..= counter + look_ahead` and returns the counter
    /// that matched; the caller stores `matched + 1` as the next expected counter.
    pub fn verify(&self, code: &str, counter: u64, look_ahead: u64) -> Result<u64, VerifyError> {
        let last = counter.saturating_add(look_ahead);
        self.find(code, counter..=last)
    }

    /// Compares `code` with the code of every candidate counter in constant time per candidate,
    /// without stopping at the first match, and returns the first candidate that matched.
    fn find(&self, code: &str, candidates: impl Iterator<Item = u64>) -> Result<u64, VerifyError> {
        let submitted = normalize(code, self.digits)?;
        let mut found = subtle::Choice::from(0);
        let mut matched = 0u64;
        for candidate in candidates {
            let expected = self.code(candidate);
            let equal = expected.0.as_bytes().ct_eq(submitted.as_bytes()) & !found;
            matched = u64::conditional_select(&matched, &candidate, equal);
            found |= equal;
        }
        if bool::from(found) {
            Ok(matched)
        } else {
            Err(VerifyError::Mismatch)
        }
    }
}

/// Strips the spaces people type ("123 456") and checks the length and that only digits remain.
fn normalize(code: &str, digits: Digits) -> Result<Zeroizing<String>, VerifyError> {
    let compact: Zeroizing<String> = Zeroizing::new(code.chars().filter(|c| *c != ' ').collect());
    if compact.len() != usize::from(digits.get()) || !compact.bytes().all(|b| b.is_ascii_digit()) {
        return Err(VerifyError::Malformed {
            expected: digits.get(),
        });
    }
    Ok(compact)
}

/// A TOTP code with the time it has left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpCode {
    pub code: Code,
    /// The time step the code belongs to.
    pub step: u64,
    /// Seconds until the next code, 1 to `period`.
    pub seconds_left: u32,
}

/// A TOTP generator and verifier (RFC 6238, T0 = 0).
#[derive(Debug, Clone)]
pub struct Totp {
    hotp: Hotp,
    period: Period,
}

impl Totp {
    pub fn new(secret: Secret, algorithm: Algorithm, digits: Digits, period: Period) -> Self {
        Totp {
            hotp: Hotp::new(secret, algorithm, digits),
            period,
        }
    }

    pub fn period(&self) -> Period {
        self.period
    }

    /// The time step containing unix time `now`.
    pub fn step(&self, now: u64) -> u64 {
        now / u64::from(self.period.seconds())
    }

    /// The code to show at device time `now` (unix seconds), corrected by `offset`.
    pub fn code(&self, now: u64, offset: ClockOffset) -> TotpCode {
        let now = offset.apply(now);
        let period = u64::from(self.period.seconds());
        let step = now / period;
        TotpCode {
            code: self.hotp.code(step),
            step,
            seconds_left: (period - now % period) as u32,
        }
    }

    /// The code of one time step.
    pub fn code_at_step(&self, step: u64) -> Code {
        self.hotp.code(step)
    }

    /// Server-side check of `code` at unix time `now`, accepting up to `window_steps` steps
    /// either side for clock drift. Returns the step that matched (the one nearest `now`, the
    /// later one on a tie) so the caller can feed it to a [`ReplayGuard`].
    pub fn verify(&self, code: &str, now: u64, window_steps: u32) -> Result<u64, VerifyError> {
        let current = self.step(now);
        let window = u64::from(window_steps);
        // Nearest first: current, +1, -1, +2, -2, ...
        let candidates = std::iter::once(current).chain((1..=window).flat_map(move |distance| {
            [current.checked_add(distance), current.checked_sub(distance)]
                .into_iter()
                .flatten()
        }));
        self.hotp.find(code, candidates)
    }
}

/// Remembers the last accepted time step (or HOTP counter) of one credential and refuses any
/// step at or below it, so an observed code cannot be used twice (RFC 6238 section 5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReplayGuard {
    last_accepted: Option<u64>,
}

impl ReplayGuard {
    pub fn new() -> Self {
        ReplayGuard::default()
    }

    /// Restores a guard from the step a store persisted.
    pub fn resume(last_accepted: Option<u64>) -> Self {
        ReplayGuard { last_accepted }
    }

    pub fn last_accepted(&self) -> Option<u64> {
        self.last_accepted
    }

    /// Records `step` as used, or refuses it if it is not newer than the last accepted step.
    pub fn accept(&mut self, step: u64) -> Result<(), VerifyError> {
        match self.last_accepted {
            Some(last) if step <= last => Err(VerifyError::Replayed),
            _ => {
                self.last_accepted = Some(step);
                Ok(())
            }
        }
    }
}
