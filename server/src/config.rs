//! The server's configuration file (TOML): clients, organisations and their sign-in policy,
//! limits, token lifetimes, senders and `--dev` seed users. Every limit has a default, so a
//! config only names what it changes.

use serde::Deserialize;

use crate::secrets::SecretString;

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("config is not valid: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The issuer URL; defaults to the listen address (`http://127.0.0.1:8080`).
    #[serde(default)]
    pub issuer: Option<String>,
    /// The server key file (32 random bytes, created mode 0600 when absent, refused when group or
    /// others may read it): the HMAC and sealing keys are derived from it. `AUTHCORE_SERVER_KEY`
    /// (base64url of 32 bytes) wins over it; without either a file database uses
    /// `<database file>.key` and an in-memory one a random key.
    #[serde(default)]
    pub server_key_file: Option<std::path::PathBuf>,
    #[serde(default)]
    pub tokens: TokenConfig,
    /// Signed-in sessions: their absolute lifetime.
    #[serde(default)]
    pub session: SessionConfig,
    #[serde(default)]
    pub argon2: Argon2Config,
    #[serde(default)]
    pub password: PasswordConfig,
    #[serde(default)]
    pub codes: CodeConfig,
    #[serde(default)]
    pub lockout: LockoutConfig,
    #[serde(default)]
    pub throttle: ThrottleConfig,
    #[serde(default)]
    pub totp: TotpConfig,
    /// Number-matching push approval and authenticator enrollment.
    #[serde(default)]
    pub push: PushConfig,
    /// How devices are woken for a new push request.
    #[serde(default)]
    pub push_sender: PushSenderConfig,
    /// HTTP connection limits: header, body and idle timeouts, the connection cap.
    #[serde(default)]
    pub http: HttpConfig,
    /// Trust roots and app ids for device attestation at activation.
    #[serde(default)]
    pub attestation: AttestationConfig,
    /// Step-up before security changes, the password-reset review, the enrollment cap.
    #[serde(default)]
    pub security: SecurityConfig,
    /// Methods offered to identifiers whose email domain matches no organisation.
    pub default_methods: Vec<Method>,
    /// Methods offered when the identifier is a phone number.
    #[serde(default = "default_phone_methods")]
    pub phone_methods: Vec<Method>,
    pub clients: Vec<ClientConfig>,
    #[serde(default)]
    pub orgs: Vec<OrgConfig>,
    #[serde(default)]
    pub smtp: Option<SmtpConfig>,
    #[serde(default)]
    pub sms_webhook: Option<SmsWebhookConfig>,
    /// Users created at start-up with `--dev` (ignored otherwise).
    #[serde(default)]
    pub dev_users: Vec<DevUser>,
}

fn default_phone_methods() -> Vec<Method> {
    vec![Method::SmsCode]
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenConfig {
    pub access_token_ttl_s: u64,
    pub refresh_token_ttl_s: u64,
    pub device_token_ttl_s: u64,
    pub authorization_code_ttl_s: u64,
    pub auth_session_ttl_s: u64,
}

impl Default for TokenConfig {
    fn default() -> Self {
        TokenConfig {
            access_token_ttl_s: 900,
            refresh_token_ttl_s: 30 * 86_400,
            device_token_ttl_s: 365 * 86_400,
            authorization_code_ttl_s: 60,
            auth_session_ttl_s: 900,
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

/// A sign-in method an organisation offers, in the order it is listed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Method {
    Password,
    EmailCode,
    SmsCode,
    Federated {
        provider: String,
        display_name: String,
    },
    Sso {
        provider: String,
        display_name: String,
    },
}

impl Method {
    pub fn name(&self) -> &'static str {
        match self {
            Method::Password => "password",
            Method::EmailCode => "email_code",
            Method::SmsCode => "sms_code",
            Method::Federated { .. } => "federated",
            Method::Sso { .. } => "sso",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Mfa {
    /// A second factor is asked for only when the user enrolled one.
    #[default]
    Optional,
    /// Every sign-in needs a second factor.
    Required,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgConfig {
    pub domain: String,
    pub name: String,
    pub methods: Vec<Method>,
    /// The organisation's own sign-in host, when it requires one.
    #[serde(default)]
    pub sign_in_host: Option<String>,
    #[serde(default)]
    pub mfa: Mfa,
    /// Ask for an email code when the device has no valid device token.
    #[serde(default)]
    pub verify_unrecognised_devices: bool,
    /// Every user must enroll an authenticator device; until then each sign-in asks, and the
    /// user may skip `max_skips` times.
    #[serde(default)]
    pub authenticator_required: bool,
    #[serde(default = "default_max_skips")]
    pub max_skips: u32,
    /// Passwordless phone sign-in: a push approved on a device registered with user
    /// verification is the whole sign-in.
    #[serde(default)]
    pub passwordless_push: bool,
}

fn default_max_skips() -> u32 {
    3
}

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
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            header_read_timeout_s: 10,
            body_timeout_s: 30,
            idle_timeout_s: 75,
            max_connections: 10_000,
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

/// How a new push request reaches the user's devices.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum PushSenderConfig {
    /// Devices long-poll `GET /v1/devices/challenges`.
    #[default]
    None,
    /// `POST {"device_id", "request_id"}` (JSON) to `url` for each device; no secrets.
    Webhook {
        url: String,
        /// Sent as `Authorization: Bearer ...` when set.
        #[serde(default)]
        bearer_token: Option<SecretString>,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    pub client_id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// Plain SMTP (loopback test servers only).
    None,
    #[default]
    Starttls,
    Tls,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    #[serde(default)]
    pub security: SmtpSecurity,
    pub from: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<SecretString>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsWebhookConfig {
    /// Receives `POST {"to": "+1555...", "body": "..."}` as JSON.
    pub url: String,
    /// Sent as `Authorization: Bearer ...` when set.
    #[serde(default)]
    pub bearer_token: Option<SecretString>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevUser {
    pub email: String,
    pub name: String,
    pub password: SecretString,
    #[serde(default)]
    pub phone: Option<String>,
    /// Base32 TOTP secret, enrolled and confirmed at seed time.
    #[serde(default)]
    pub totp_secret: Option<SecretString>,
    #[serde(default)]
    pub backup_codes: Vec<SecretString>,
}

impl Config {
    /// Reads and checks a TOML config file.
    pub fn load(path: &std::path::Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Config::from_toml(&text)
    }

    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let config: Config =
            toml::from_str(text).map_err(|e| ConfigError::Invalid(e.message().to_owned()))?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        if self.clients.is_empty() {
            return invalid("at least one [[clients]] entry is needed".into());
        }
        if !(4..=10).contains(&self.codes.length) {
            return invalid("codes.length must be 4 to 10".into());
        }
        if self.codes.max_attempts == 0 || self.lockout.max_failures == 0 {
            return invalid(
                "codes.max_attempts and lockout.max_failures must be at least 1".into(),
            );
        }
        if self.argon2.memory_kib < 8 || self.argon2.iterations == 0 || self.argon2.parallelism == 0
        {
            return invalid("argon2 parameters are too small".into());
        }
        if self.default_methods.is_empty() || self.phone_methods.is_empty() {
            return invalid("default_methods and phone_methods must not be empty".into());
        }
        let push = &self.push;
        if !(2..=8).contains(&push.number_length) {
            return invalid("push.number_length must be 2 to 8".into());
        }
        if !(1..=600).contains(&push.ttl_s) || !(1..=600).contains(&push.activation_ttl_s) {
            return invalid("push.ttl_s and push.activation_ttl_s must be 1 to 600".into());
        }
        if push.max_outstanding == 0 || push.window_s == 0 || push.max_wait_s > 120 {
            return invalid(
                "push.max_outstanding and push.window_s must be at least 1, push.max_wait_s at most 120"
                    .into(),
            );
        }
        if push.max_passwordless_outstanding == 0 {
            return invalid("push.max_passwordless_outstanding must be at least 1".into());
        }
        if self.session.max_lifetime_s < 60 {
            return invalid("session.max_lifetime_s must be at least 60 seconds".into());
        }
        let http = &self.http;
        if http.header_read_timeout_s == 0
            || http.body_timeout_s == 0
            || http.idle_timeout_s == 0
            || http.max_connections == 0
        {
            return invalid(
                "http.header_read_timeout_s, body_timeout_s, idle_timeout_s and max_connections must be at least 1"
                    .into(),
            );
        }
        for id in &self.attestation.apple_app_ids {
            let valid = id.split_once('.').is_some_and(|(team, bundle)| {
                team.len() == 10
                    && team.chars().all(|c| c.is_ascii_alphanumeric())
                    && !bundle.is_empty()
                    && !bundle.chars().any(char::is_whitespace)
            });
            if !valid {
                return invalid(format!(
                    "attestation.apple_app_ids: {id:?} is not TEAMID.bundle.id (a 10-character team id, a dot, the bundle id)"
                ));
            }
        }
        let security = &self.security;
        if !(1..=86_400).contains(&security.step_up_max_age_s) {
            return invalid("security.step_up_max_age_s must be 1 to 86400 (a day)".into());
        }
        if security.reset_review_days > 365 {
            return invalid("security.reset_review_days must be 0 to 365".into());
        }
        if !(1..=100).contains(&security.max_pending_enrollments) {
            return invalid("security.max_pending_enrollments must be 1 to 100".into());
        }
        for org in &self.orgs {
            if org.methods.is_empty() {
                return invalid(format!("organisation {} offers no method", org.domain));
            }
            if org.domain != org.domain.to_ascii_lowercase() {
                return invalid(format!(
                    "organisation domain {} must be lowercase",
                    org.domain
                ));
            }
        }
        Ok(())
    }

    pub fn client(&self, client_id: &str) -> Option<&ClientConfig> {
        self.clients.iter().find(|c| c.client_id == client_id)
    }

    pub fn org_for_domain(&self, domain: &str) -> Option<&OrgConfig> {
        self.orgs.iter().find(|o| o.domain == domain)
    }
}
