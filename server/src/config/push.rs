//! Push approvals (`[push]`: numbers, lifetimes, outstanding caps) and what a device attestation
//! must lead to (`[attestation]`).

use serde::Deserialize;

/// How the number is matched on the phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum NumberMode {
    /// The phone shows an empty field; the user types the number the sign-in screen shows.
    #[default]
    Enter,
    /// The phone shows three numbers; the user taps the one the sign-in screen shows.
    Choose,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PushConfig {
    /// Digits of the number to match: 2 to 8 (docs/security.md, "Number matching entropy").
    pub number_length: u32,
    pub number_mode: NumberMode,
    /// Lifetime of a push request (at most 600).
    pub ttl_s: u64,
    /// Unapproved push requests per user per `window_s` before `slow_down` (the pushes after a
    /// correct password: passwordless ones are not counted here).
    pub max_outstanding: u32,
    /// Unauthenticated phone sign-ins (passwordless push) per identifier per `window_s` before
    /// `slow_down`, counted alike for identifiers with and without an account.
    pub max_passwordless_outstanding: u32,
    pub window_s: u64,
    /// How long "report fraud" blocks pushes to the user.
    pub fraud_block_s: u64,
    /// Suggested polling interval for clients that do not long-poll.
    pub poll_interval_s: u64,
    /// Longest long-poll (`wait`) accepted, seconds.
    pub max_wait_s: u64,
    /// Lifetime of an enrollment activation code (at most 600).
    pub activation_ttl_s: u64,
    /// Requesting IP -> a location shown on the phone ("Berlin, DE"); absent: no location.
    pub locations: std::collections::HashMap<String, String>,
    /// Passwordless push (phone sign-in) only to devices whose platform attestation verified
    /// at activation; `user_verification` alone is only the phone's claim.
    pub require_attestation: bool,
}

impl Default for PushConfig {
    fn default() -> Self {
        PushConfig {
            number_length: 2,
            number_mode: NumberMode::Enter,
            ttl_s: 120,
            max_outstanding: 5,
            max_passwordless_outstanding: 5,
            window_s: 600,
            fraud_block_s: 3600,
            poll_interval_s: 2,
            max_wait_s: 30,
            activation_ttl_s: 600,
            locations: std::collections::HashMap::new(),
            require_attestation: true,
        }
    }
}

/// `[attestation]`: what a device attestation must lead to (docs/protocol.md "Device
/// attestation"). The operator installs the vendors' published roots (Google's Key Attestation
/// roots, Apple's App Attestation Root CA) and names the files here; with no root of a format
/// configured, attestations of that format are not evaluated (the device is not attested).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct AttestationConfig {
    /// PEM files of Android Key Attestation roots (Google's published roots in production).
    pub android_roots: Vec<std::path::PathBuf>,
    /// PEM files of App Attest roots (Apple App Attestation Root CA in production).
    pub apple_roots: Vec<std::path::PathBuf>,
    /// App ids (`TEAMID.bundle.id`) whose App Attest keys are accepted; none: App Attest fails.
    pub apple_app_ids: Vec<String>,
    /// Accept App Attest's development environment (aaguid `appattestdevelop`) instead of
    /// production's.
    pub apple_development: bool,
}
