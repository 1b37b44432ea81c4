//! Lifetimes and limits: tokens, sessions, password hashing and length, one-time codes, the
//! lockout and the address throttle, TOTP, step-up and reset review, and slow HTTP clients.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenConfig {
    pub access_token_ttl_s: u64,
    pub refresh_token_ttl_s: u64,
    pub device_token_ttl_s: u64,
    pub authorization_code_ttl_s: u64,
    pub auth_session_ttl_s: u64,
    /// ID tokens (OpenID Connect) live this long; never past the session's end.
    pub id_token_ttl_s: u64,
}

impl Default for TokenConfig {
    fn default() -> Self {
        TokenConfig {
            access_token_ttl_s: 900,
            refresh_token_ttl_s: 30 * 86_400,
            device_token_ttl_s: 365 * 86_400,
            authorization_code_ttl_s: 60,
            auth_session_ttl_s: 900,
            id_token_ttl_s: 3600,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionConfig {
    /// Seconds a session lives from its sign-in, however often it is refreshed: then the
    /// refresh token is refused and the user signs in again. Access tokens never outlive it.
    pub max_lifetime_s: u64,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            max_lifetime_s: 30 * 86_400,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Argon2Config {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for Argon2Config {
    fn default() -> Self {
        // OWASP's argon2id recommendation (19 MiB, 2 passes, 1 lane).
        Argon2Config {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordConfig {
    pub min_length: usize,
    pub max_length: usize,
}

impl Default for PasswordConfig {
    fn default() -> Self {
        PasswordConfig {
            min_length: 8,
            max_length: 256,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CodeConfig {
    pub length: u32,
    pub ttl_s: u64,
    pub max_attempts: u32,
    pub max_sends: u32,
    pub send_window_s: u64,
    pub resend_after_s: u64,
}

impl Default for CodeConfig {
    fn default() -> Self {
        CodeConfig {
            length: 6,
            ttl_s: 600,
            max_attempts: 5,
            max_sends: 3,
            send_window_s: 600,
            resend_after_s: 30,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LockoutConfig {
    /// Wrong passwords in a row before the account is locked.
    pub max_failures: u32,
    pub lock_s: u64,
}

impl Default for LockoutConfig {
    fn default() -> Self {
        LockoutConfig {
            max_failures: 10,
            lock_s: 900,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ThrottleConfig {
    /// Failed credentials (wrong password, code, TOTP, backup code) from one IP per window.
    pub max_failures_per_ip: u32,
    pub window_s: u64,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            max_failures_per_ip: 100,
            window_s: 600,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TotpConfig {
    /// Issuer shown in authenticator apps.
    pub issuer: String,
    /// Steps accepted either side of now for clock drift.
    pub window_steps: u32,
}

impl Default for TotpConfig {
    fn default() -> Self {
        TotpConfig {
            issuer: "authcore".into(),
            window_steps: 1,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityConfig {
    /// A security change needs a sign-in (with a second factor) at most this old, seconds.
    pub step_up_max_age_s: u64,
    /// A password reset suspends devices and TOTP added in this many days before it.
    pub reset_review_days: u64,
    /// Unexpired, unused enrollments (activation codes) a user may have at once.
    pub max_pending_enrollments: u32,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        SecurityConfig {
            step_up_max_age_s: 600,
            reset_review_days: 7,
            max_pending_enrollments: 3,
        }
    }
}

/// Slow and idle clients: every timeout closes the connection (a body timeout answers
/// `408 request_timeout` first).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// From accepting a connection (TLS handshake included), or from the first byte of a
    /// further request on it, until its headers are complete.
    pub header_read_timeout_s: u64,
    /// From the end of the headers until the body is complete.
    pub body_timeout_s: u64,
    /// A keep-alive connection with no request in flight is closed after this long.
    pub idle_timeout_s: u64,
    /// Open connections; at the cap the server stops accepting until one closes (new
    /// connections wait in the listen backlog).
    pub max_connections: usize,
    /// Behind a reverse proxy that sets `X-Forwarded-Host`: that header (not `Host`) names the
    /// host the client asked for (an organisation's `sign_in_host` is checked against it). Never
    /// set it without such a proxy: a client could then name any host.
    pub trusted_proxy: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            header_read_timeout_s: 10,
            body_timeout_s: 30,
            idle_timeout_s: 75,
            max_connections: 10_000,
            trusted_proxy: false,
        }
    }
}
