//! The server's configuration file (TOML): clients, organisations and their sign-in policy,
//! limits, token lifetimes, senders and `--dev` seed users. Every limit has a default, so a
//! config only names what it changes.
//!
//! This module holds the file's top level, clients, seed users and the checks made on load;
//! `limits` holds the lifetimes and limits, `orgs` the organisations' sign-in policy, `push` the
//! push approvals and device attestation, `senders` the mail, SMS and push senders.

use serde::Deserialize;

use crate::secrets::SecretString;

mod limits;
mod orgs;
mod push;
mod senders;
mod upstreams;

pub use limits::{
    Argon2Config, CodeConfig, HttpConfig, LockoutConfig, PasswordConfig, SecurityConfig,
    SessionConfig, ThrottleConfig, TokenConfig, TotpConfig,
};
pub use orgs::{Method, Mfa, OrgConfig};
pub use push::{AttestationConfig, NumberMode, PushConfig};
pub use senders::{
    ApnsConfig, ApnsEnvironment, FcmConfig, PushSenderConfig, SmsWebhookConfig, SmtpConfig,
    SmtpSecurity,
};
pub use upstreams::{Preset, UpstreamConfig, TENANT_PLACEHOLDER};

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
    /// The ID-token signing keys (ES256, PKCS#8 PEM files), one `active`; the others stay
    /// published at `jwks_uri` so tokens they signed still verify. None: a file database uses
    /// `<database file>.id-token-key.pem` (created when absent), an in-memory one a random key.
    #[serde(default)]
    pub id_token_keys: Vec<IdTokenKeyConfig>,
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
    /// Upstream OpenID providers for identifiers of no organisation (`default_methods`).
    #[serde(default)]
    pub upstreams: Vec<UpstreamConfig>,
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
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    pub client_id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    /// Where `/v1/end-session` may send the browser afterwards (exact match).
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// `grant_type=password` with an app password (IMAP and other clients that cannot do a
    /// second factor).
    #[serde(default)]
    pub app_passwords: bool,
    /// `grant_type=password` with the account password and the API security token.
    #[serde(default)]
    pub security_tokens: bool,
}

/// One ID-token signing key (`[[id_token_keys]]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdTokenKeyConfig {
    /// The key id published in the JWK set and in each token's header.
    pub kid: String,
    /// A P-256 private key, PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub file: std::path::PathBuf,
    /// The key that signs new tokens (exactly one).
    #[serde(default)]
    pub active: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevUser {
    pub email: String,
    pub name: String,
    pub password: SecretString,
    #[serde(default)]
    pub phone: Option<String>,
    /// The phone number is verified at seed time: a second factor (`sms`, `voice`).
    #[serde(default)]
    pub phone_verified: bool,
    /// The role in the organisation of the email's domain (`owner`, `admin`, `helpdesk`;
    /// `member` without one).
    #[serde(default)]
    pub org_role: Option<authcore_protocol::admin::OrgRole>,
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
        self.push_sender.check().map_err(ConfigError::Invalid)?;
        check_id_token_keys(&self.id_token_keys).map_err(ConfigError::Invalid)?;
        if self.tokens.id_token_ttl_s == 0 {
            return invalid("tokens.id_token_ttl_s must be at least 1".into());
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
        self.check_upstreams().map_err(ConfigError::Invalid)
    }

    fn check_upstreams(&self) -> Result<(), String> {
        let all = self
            .upstreams
            .iter()
            .map(|u| (u, None))
            .chain(self.orgs.iter().flat_map(|o| {
                o.upstreams
                    .iter()
                    .map(move |u| (u, Some(o.domain.as_str())))
            }));
        let mut seen: Vec<&str> = Vec::new();
        for (upstream, org) in all {
            upstream.check(org)?;
            if seen.contains(&upstream.id.as_str()) {
                return Err(format!("upstream id {:?} is listed twice", upstream.id));
            }
            seen.push(&upstream.id);
        }
        Ok(())
    }

    /// The upstream provider `id` and the organisation it belongs to (none: top level).
    pub fn upstream(&self, id: &str) -> Option<(&UpstreamConfig, Option<&OrgConfig>)> {
        if let Some(u) = self.upstreams.iter().find(|u| u.id == id) {
            return Some((u, None));
        }
        self.orgs.iter().find_map(|o| {
            o.upstreams
                .iter()
                .find(|u| u.id == id)
                .map(|u| (u, Some(o)))
        })
    }

    pub fn client(&self, client_id: &str) -> Option<&ClientConfig> {
        self.clients.iter().find(|c| c.client_id == client_id)
    }

    pub fn org_for_domain(&self, domain: &str) -> Option<&OrgConfig> {
        self.orgs.iter().find(|o| o.domain == domain)
    }
}

fn check_id_token_keys(keys: &[IdTokenKeyConfig]) -> Result<(), String> {
    if keys.is_empty() {
        return Ok(());
    }
    for (i, key) in keys.iter().enumerate() {
        let valid = !key.kid.is_empty()
            && key.kid.len() <= 64
            && key
                .kid
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !valid {
            return Err(format!(
                "id_token_keys: kid {:?} must be 1 to 64 characters of A-Z a-z 0-9 - _ .",
                key.kid
            ));
        }
        if keys[..i].iter().any(|k| k.kid == key.kid) {
            return Err(format!("id_token_keys: kid {:?} is listed twice", key.kid));
        }
    }
    match keys.iter().filter(|k| k.active).count() {
        1 => Ok(()),
        n => Err(format!(
            "id_token_keys: exactly one key must be active (found {n})"
        )),
    }
}
