//! OpenID Connect: the scopes, the ID token's claims (OIDC Core 2), the userinfo answer
//! (OIDC Core 5.3/5.4), the JWK set of `jwks_uri` (RFC 7517/7518) and the parameters of
//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).

use serde::{Deserialize, Serialize};

/// The `scope` values (`scope` parameter of the first `/v1/authorize-challenge` request).
pub mod scope {
    /// An OpenID Connect sign-in: the token endpoint returns an ID token.
    pub const OPENID: &str = "openid";
    /// `name`.
    pub const PROFILE: &str = "profile";
    /// `email`, `email_verified`.
    pub const EMAIL: &str = "email";
    /// `phone_number`.
    pub const PHONE: &str = "phone";
    /// Every scope, in the order discovery lists them.
    pub const SUPPORTED: [&str; 4] = [OPENID, PROFILE, EMAIL, PHONE];
    /// What a sign-in without `scope` is granted (first-party apps from before scopes): the
    /// profile claims at userinfo, no ID token.
    pub const NATIVE_DEFAULT: &str = "profile email phone";
}

/// The `amr` values (RFC 8176) an ID token may carry, one per kind of factor used.
pub mod amr {
    /// A password.
    pub const PWD: &str = "pwd";
    /// A one-time code: TOTP, a backup code, an email code (sign-in or device verification).
    pub const OTP: &str = "otp";
    /// A code sent by SMS.
    pub const SMS: &str = "sms";
    /// Proof of possession of the phone's device key (a push approved with its signature).
    pub const SWK: &str = "swk";
    /// Two or more factors.
    pub const MFA: &str = "mfa";
}

/// The claims listed as `claims_supported`.
pub const CLAIMS_SUPPORTED: [&str; 14] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "amr",
    "acr",
    "sid",
    "name",
    "email",
    "email_verified",
    "phone_number",
];

/// The only `id_token_signing_alg_values_supported`.
pub const ID_TOKEN_ALG: &str = "ES256";

/// The profile claims a scope grants (each absent unless its scope was granted and the user has
/// the value): in the ID token and in the userinfo answer.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProfileClaims {
    /// `profile`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `email`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `email`: always true (accounts are created for verified addresses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// `phone`, when the user has a phone number (E.164).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
}

/// `GET /v1/userinfo` (OIDC Core 5.3): `sub` and the claims of the granted scopes. A sign-in
/// without `scope` is granted [`scope::NATIVE_DEFAULT`], so its answer also reads as
/// `crate::account::UserInfo`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserInfoClaims {
    pub sub: String,
    #[serde(flatten)]
    pub profile: ProfileClaims,
}

/// The claims of an ID token (OIDC Core 2 and 5.1).
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdTokenClaims {
    /// The issuer of discovery.
    pub iss: String,
    /// The user id (as userinfo's `sub`).
    pub sub: String,
    /// The client id.
    pub aud: String,
    pub exp: u64,
    pub iat: u64,
    /// When the sign-in completed (refreshing never moves it).
    pub auth_time: u64,
    /// The first request's `nonce`; absent on refresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// The kinds of factor used ([`amr`]).
    pub amr: Vec<String>,
    /// `mfa` when two or more factors were used; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// The session id (the token answer's `session_id`).
    pub sid: String,
    #[serde(flatten)]
    pub profile: ProfileClaims,
}

/// The protected header of an ID token.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct IdTokenHeader {
    /// Always `ES256`.
    pub alg: String,
    /// Always `JWT`.
    pub typ: String,
    /// The signing key's id in the JWK set.
    pub kid: String,
}

/// `GET /v1/jwks`: every published ID-token key, the active one first.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JwkSet {
    pub keys: Vec<Jwk>,
}

/// A P-256 public key (RFC 7518 6.2.1).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Jwk {
    /// `EC`.
    pub kty: String,
    /// `P-256`.
    pub crv: String,
    /// base64url of the 32-byte x coordinate.
    pub x: String,
    /// base64url of the 32-byte y coordinate.
    pub y: String,
    pub kid: String,
    /// `sig`.
    #[serde(rename = "use")]
    pub use_: String,
    /// `ES256`.
    pub alg: String,
}

/// The parameters of `GET`/`POST /v1/end-session` (RP-Initiated Logout 1.0 section 2).
pub mod end_session {
    /// An ID token this server issued (an expired one is accepted): names the session to end.
    pub const ID_TOKEN_HINT: &str = "id_token_hint";
    pub const CLIENT_ID: &str = "client_id";
    /// Where to send the browser afterwards: one of the client's `post_logout_redirect_uris`,
    /// exactly.
    pub const POST_LOGOUT_REDIRECT_URI: &str = "post_logout_redirect_uri";
    /// Passed back on the redirect.
    pub const STATE: &str = "state";
}

/// The query parameters of `GET /v1/authorize` (OAuth 2.0 authorization code with PKCE, OIDC
/// Core 3.1.2.1) and of the redirect that answers it (RFC 6749 4.1.2, RFC 9207).
pub mod authorize {
    /// Only `code`.
    pub const RESPONSE_TYPE: &str = "response_type";
    pub const CLIENT_ID: &str = "client_id";
    /// One of the client's `redirect_uris`, exactly (a loopback one with any port).
    pub const REDIRECT_URI: &str = "redirect_uri";
    pub const SCOPE: &str = "scope";
    pub const STATE: &str = "state";
    pub const NONCE: &str = "nonce";
    pub const CODE_CHALLENGE: &str = "code_challenge";
    /// Only `S256`.
    pub const CODE_CHALLENGE_METHOD: &str = "code_challenge_method";
    /// The account's email address: chooses the organisation and is passed upstream.
    pub const LOGIN_HINT: &str = "login_hint";
    /// `none`, `login`, `consent`, `select_account`: passed upstream.
    pub const PROMPT: &str = "prompt";
    /// Seconds: passed upstream.
    pub const MAX_AGE: &str = "max_age";
    /// The upstream provider's id (as Okta's `idp`): the `provider` of the sign-in method.
    pub const IDP: &str = "idp";

    /// On the redirect back to the client: the authorization code.
    pub const CODE: &str = "code";
    /// On every redirect back: this server's issuer (RFC 9207).
    pub const ISS: &str = "iss";
    /// On an error redirect: the OAuth error code.
    pub const ERROR: &str = "error";
    pub const ERROR_DESCRIPTION: &str = "error_description";
}

crate::redacted_debug!(IdTokenClaims);
