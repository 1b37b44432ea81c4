//! Enrollment: a scanned QR code (a code account for the vault, or `authcore://enroll`) or a typed
//! activation code registers this phone with the server under a new device key. Its test approval
//! then waits in [`Authenticator::pending_approvals`].

use authcore_protocol::devices::{ActivateRequest, Activated, PushTokenUpdate, PushTokenUpdated};
use authcore_protocol::paths;
use data_encoding::BASE64URL_NOPAD;
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use super::channel::{expect, Signer};
use super::{lock, Added, Authenticator, AuthenticatorError, PushAccount};
use crate::device_protocol::{self as protocol, ActivationCode, EnrollLink};
use crate::http::Method;
use crate::vault::VaultError;

impl Authenticator {
    /// A scanned QR code: `otpauth://`, `otpauth-migration://` (a batch; the answer tells which
    /// are missing) or `authcore://enroll` (registers this phone with the server).
    pub async fn add_from_qr(&self, payload: &str) -> Result<Added, AuthenticatorError> {
        let trimmed = payload.trim();
        if trimmed
            .get(..11)
            .is_some_and(|p| p.eq_ignore_ascii_case("authcore://"))
        {
            let link = EnrollLink::parse(trimmed).map_err(|e| AuthenticatorError::InvalidQr {
                what: e.to_string(),
            })?;
            return Ok(Added::Push(self.activate(link).await?));
        }
        match self.vault.add_from_qr(trimmed) {
            Ok(import) => Ok(Added::Otp(import)),
            Err(VaultError::UnsupportedQr) => Err(AuthenticatorError::InvalidQr {
                what: "this QR code is not an authenticator code".into(),
            }),
            Err(other) => Err(other.into()),
        }
    }

    /// "Can't scan image?": the activation code and server URL typed by hand.
    pub async fn activate_manually(
        &self,
        activation_code: &str,
        server_url: &str,
    ) -> Result<PushAccount, AuthenticatorError> {
        let code =
            ActivationCode::parse(activation_code).map_err(|e| AuthenticatorError::InvalidQr {
                what: format!("the activation code is not valid: {e}"),
            })?;
        protocol::check_server_url(server_url.trim()).map_err(|e| {
            AuthenticatorError::InvalidQr {
                what: e.to_string(),
            }
        })?;
        self.activate(EnrollLink {
            server_url: server_url.trim().trim_end_matches('/').to_owned(),
            activation_code: code,
            label: None,
        })
        .await
    }

    async fn activate(&self, link: EnrollLink) -> Result<PushAccount, AuthenticatorError> {
        let alias = format!("push-{}", random_hex());
        self.keys.generate(&alias)?;
        // The platform's proof of the key, bound to this (secret, single-use) activation code.
        let challenge = protocol::attestation_challenge(&link.activation_code);
        let attested = self
            .keys
            .attestation(&alias, &challenge)
            .and_then(|attestation| Ok((self.keys.public_key(&alias)?, attestation)));
        let (spki, attestation) = match attested {
            Ok(found) => found,
            Err(error) => {
                let _ = self.keys.delete(&alias);
                return Err(error.into());
            }
        };
        let body = ActivateRequest {
            activation_code: link.activation_code.expose().to_owned(),
            public_key: BASE64URL_NOPAD.encode(&spki),
            display_name: self.config.device_name.clone(),
            platform: self.config.platform.clone(),
            push_token: lock(&self.push_token).clone(),
            user_verification: self.config.user_verification,
            attestation: attestation.as_ref().map(|a| a.to_wire()),
        };
        let body = Zeroizing::new(serde_json::to_vec(&body).unwrap_or_default());
        let server = link.server_url.trim_end_matches('/').to_owned();
        let signer = Signer {
            server_url: &server,
            device_id: "",
            key_alias: &alias,
        };
        let answer = self
            .channel
            .send(signer, Method::Post, paths::DEVICE_ACTIVATE, |_| {
                Ok(Some(body.to_vec()))
            })
            .await
            .and_then(|r| expect::<Activated>(&r, 201));
        let activated = match answer {
            Ok(answer) => answer,
            Err(error) => {
                let _ = self.keys.delete(&alias);
                return Err(error);
            }
        };
        let info = activated.account;
        let account = PushAccount {
            device_id: activated.device_id,
            label: info.label.or(link.label).unwrap_or_else(|| server.clone()),
            server_url: info.server_url.trim_end_matches('/').to_owned(),
            user_verification: self.config.user_verification,
            attested: activated.attested,
            passwordless: activated.passwordless,
            key_alias: alias,
        };
        self.add_push_account(account.clone())?;
        Ok(account)
    }
}

impl Authenticator {
    /// The OS gave this phone a new push token (FCM `onNewToken`, APNs registration), or
    /// notifications were turned off (`None`): every push account's server gets it, so pushes keep
    /// arriving, and accounts added later register with it. Every server is tried; the first
    /// failure is returned (the others were still updated; calling again is harmless).
    pub async fn update_push_token(&self, token: Option<&str>) -> Result<(), AuthenticatorError> {
        let token = token
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        *lock(&self.push_token) = token.clone();
        let body = serde_json::to_vec(&PushTokenUpdate { push_token: token }).unwrap_or_default();
        let mut first_error = None;
        for account in self.push_accounts() {
            let answer = self
                .channel
                .send(
                    account.signer(),
                    Method::Post,
                    paths::DEVICE_PUSH_TOKEN,
                    |_| Ok(Some(body.clone())),
                )
                .await
                .and_then(|r| expect::<PushTokenUpdated>(&r, 200));
            if let Err(error) = answer {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

fn random_hex() -> String {
    let mut bytes = [0u8; 8];
    let _ = SystemRandom::new().fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
