//! Upstream OpenID providers the server signs users in with (the server as a relying party):
//! an organisation's `[[orgs.upstreams]]` (its SSO) and the top-level `[[upstreams]]` (for
//! identifiers of no organisation, e.g. Google). A `federated` or `sso` method's `provider`
//! names one by `id`.

use serde::Deserialize;

use crate::secrets::SecretString;

/// The placeholder of a multi-tenant issuer (Microsoft's `.../{tenantid}/v2.0`): the ID token's
/// `tid` fills it in.
pub const TENANT_PLACEHOLDER: &str = "{tenantid}";

/// A provider whose issuer and defaults are known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    /// `https://accounts.google.com`.
    Google,
    /// Microsoft Entra ID, multi-tenant: `https://login.microsoftonline.com/{tenantid}/v2.0`,
    /// discovered at the `common` tenant and checked against the token's `tid`.
    Microsoft,
}

const GOOGLE_ISSUER: &str = "https://accounts.google.com";
const MICROSOFT_ISSUER: &str = "https://login.microsoftonline.com/{tenantid}/v2.0";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// The `provider` of the method and the `idp` of `/v1/authorize`.
    pub id: String,
    #[serde(default)]
    pub preset: Option<Preset>,
    /// The issuer (discovery at `{issuer}/.well-known/openid-configuration`); may contain
    /// `{tenantid}` (then discovered at the `common` tenant). Required without `preset`.
    #[serde(default)]
    pub issuer: Option<String>,
    pub client_id: String,
    /// None: a public client (PKCE only).
    #[serde(default)]
    pub client_secret: Option<SecretString>,
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// A verified email with no account yet: create one (else the sign-in is refused).
    #[serde(default)]
    pub create_users: bool,
    /// The email domains it may assert. None: the organisation's domain (top-level upstreams:
    /// any domain of no organisation).
    #[serde(default)]
    pub email_domains: Vec<String>,
    /// Multi-tenant issuers: the tenant ids (`tid`) accepted. None: any tenant.
    #[serde(default)]
    pub allowed_tenants: Vec<String>,
}

fn default_scopes() -> Vec<String> {
    ["openid", "email", "profile"].map(String::from).to_vec()
}

impl UpstreamConfig {
    /// The issuer as configured or from the preset (may hold [`TENANT_PLACEHOLDER`]).
    pub fn issuer(&self) -> &str {
        match (&self.issuer, self.preset) {
            (Some(issuer), _) => issuer,
            (None, Some(Preset::Google)) => GOOGLE_ISSUER,
            (None, Some(Preset::Microsoft)) => MICROSOFT_ISSUER,
            (None, None) => "",
        }
    }

    /// Whether the issuer is a multi-tenant template.
    pub fn multi_tenant(&self) -> bool {
        self.issuer().contains(TENANT_PLACEHOLDER)
    }

    /// The discovery document's URL.
    pub fn discovery_url(&self) -> String {
        let base = self.issuer().replace(TENANT_PLACEHOLDER, "common");
        format!(
            "{}/.well-known/openid-configuration",
            base.trim_end_matches('/')
        )
    }

    pub(super) fn check(&self, org: Option<&str>) -> Result<(), String> {
        let at = match org {
            Some(domain) => format!("organisation {domain}: upstream {:?}", self.id),
            None => format!("upstream {:?}", self.id),
        };
        let id_ok = !self.id.is_empty()
            && self.id.len() <= 64
            && self
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !id_ok {
            return Err(format!(
                "{at}: id must be 1 to 64 characters of A-Z a-z 0-9 - _ ."
            ));
        }
        if self.preset.is_some() && self.issuer.is_some() {
            return Err(format!("{at}: give preset or issuer, not both"));
        }
        if self.preset.is_none() && self.issuer.is_none() {
            return Err(format!("{at}: issuer (or preset) is required"));
        }
        if authcore::http::check_url(&self.issuer().replace(TENANT_PLACEHOLDER, "common")).is_err()
        {
            return Err(format!(
                "{at}: issuer {:?} must be an https URL (http only to a loopback address)",
                self.issuer()
            ));
        }
        if self.client_id.is_empty() {
            return Err(format!("{at}: client_id must not be empty"));
        }
        if !self.scopes.iter().any(|s| s == "openid") || !self.scopes.iter().any(|s| s == "email") {
            return Err(format!("{at}: scopes must include openid and email"));
        }
        if let Some(d) = self
            .email_domains
            .iter()
            .find(|d| d.is_empty() || **d != d.to_ascii_lowercase())
        {
            return Err(format!("{at}: email domain {d:?} must be lowercase"));
        }
        if !self.allowed_tenants.is_empty() && !self.multi_tenant() {
            return Err(format!(
                "{at}: allowed_tenants needs a multi-tenant issuer (with {TENANT_PLACEHOLDER})"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream(toml_text: &str) -> UpstreamConfig {
        toml::from_str(toml_text).unwrap()
    }

    #[test]
    fn presets_name_the_real_issuers() {
        let google = upstream("id = \"google\"\npreset = \"google\"\nclient_id = \"c\"");
        assert_eq!(google.issuer(), "https://accounts.google.com");
        assert_eq!(
            google.discovery_url(),
            "https://accounts.google.com/.well-known/openid-configuration"
        );
        assert!(!google.multi_tenant());
        let microsoft = upstream("id = \"ms\"\npreset = \"microsoft\"\nclient_id = \"c\"");
        assert_eq!(
            microsoft.issuer(),
            "https://login.microsoftonline.com/{tenantid}/v2.0"
        );
        assert_eq!(
            microsoft.discovery_url(),
            "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration"
        );
        assert!(microsoft.multi_tenant());
        assert_eq!(google.check(None), Ok(()));
        assert_eq!(microsoft.check(None), Ok(()));
    }

    #[test]
    fn the_demo_config_loads_and_ids_are_unique_across_the_file() {
        let demo = include_str!("../../examples/demo.toml");
        let config = crate::Config::from_toml(demo).unwrap();
        let (okta, org) = config.upstream("globex-okta").unwrap();
        assert_eq!(
            (okta.issuer(), org.map(|o| o.domain.as_str())),
            ("https://globex.okta.com", Some("globex.example"))
        );
        assert!(config.upstream("google").unwrap().1.is_none());
        let twice = format!(
            "{demo}\n[[upstreams]]\nid = \"globex-okta\"\npreset = \"google\"\nclient_id = \"c\"\n"
        );
        assert_eq!(
            crate::Config::from_toml(&twice).unwrap_err().to_string(),
            "config is not valid: upstream id \"globex-okta\" is listed twice"
        );
    }

    #[test]
    fn bad_upstreams_are_refused_with_their_reason() {
        let cases = [
            (
                "id = \"x\"\nclient_id = \"c\"",
                "upstream \"x\": issuer (or preset) is required",
            ),
            (
                "id = \"x\"\nissuer = \"http://idp.example\"\nclient_id = \"c\"",
                "upstream \"x\": issuer \"http://idp.example\" must be an https URL (http only to a loopback address)",
            ),
            (
                "id = \"x\"\npreset = \"google\"\nissuer = \"https://a.example\"\nclient_id = \"c\"",
                "upstream \"x\": give preset or issuer, not both",
            ),
            (
                "id = \"x\"\npreset = \"google\"\nclient_id = \"c\"\nscopes = [\"openid\"]",
                "upstream \"x\": scopes must include openid and email",
            ),
            (
                "id = \"x\"\npreset = \"google\"\nclient_id = \"c\"\nallowed_tenants = [\"t\"]",
                "upstream \"x\": allowed_tenants needs a multi-tenant issuer (with {tenantid})",
            ),
            (
                "id = \"a b\"\npreset = \"google\"\nclient_id = \"c\"",
                "upstream \"a b\": id must be 1 to 64 characters of A-Z a-z 0-9 - _ .",
            ),
        ];
        for (text, error) in cases {
            assert_eq!(upstream(text).check(None).unwrap_err(), error, "{text}");
        }
    }
}
