//! An organisation's sign-in policy: the methods it offers, whether MFA is required, unrecognised
//! devices, enrollment and passwordless push.

use serde::Deserialize;

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
    /// The `method` that chooses it at `/v1/authorize-challenge`.
    pub fn wire(&self) -> authcore_protocol::signin::Method {
        use authcore_protocol::signin::Method as Wire;
        match self {
            Method::Password => Wire::Password,
            Method::EmailCode => Wire::EmailCode,
            Method::SmsCode => Wire::SmsCode,
            Method::Federated { .. } => Wire::Federated,
            Method::Sso { .. } => Wire::Sso,
        }
    }

    pub fn name(&self) -> &'static str {
        self.wire().as_str()
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
    /// The upstream OpenID providers its `sso`/`federated` methods sign in with.
    #[serde(default)]
    pub upstreams: Vec<super::UpstreamConfig>,
}

impl OrgConfig {
    /// Whether a request to `host` (the `Host` header: a name and maybe a port) may sign this
    /// organisation's users in: any host without a `sign_in_host`; else that host (its port too
    /// when it names one).
    pub fn serves_host(&self, host: &str) -> bool {
        let Some(own) = &self.sign_in_host else {
            return true;
        };
        let host = host.trim().to_ascii_lowercase();
        let own = own.to_ascii_lowercase();
        if own.contains(':') {
            return host == own;
        }
        let name = match host.rsplit_once(':') {
            Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
            _ => host.as_str(),
        };
        name == own
    }
}

fn default_max_skips() -> u32 {
    3
}
