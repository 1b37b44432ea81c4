//! How a sign-in advances: which step it needs next, the first factor, the device check, the
//! password of a step-up, and the authorization code at the end.

use authcore_protocol::signin::param;
use authcore_protocol::signin::{AuthorizationCode, Next};
use authcore_protocol::ErrorCode;
use axum::http::StatusCode;
use axum::Json;

use super::{insufficient, mask_email, mask_phone, methods_for, Flow, Identifier, Step};
use crate::config::{Method, Mfa, OrgConfig};
use crate::error::{ApiError, ApiResult};
use crate::secrets::{random_token, token_hash};
use crate::store::{NewAuthorizationCode, SignInEvent};

/// The step name kept while a step-up sign-in waits for the password after a code.
const STEP_UP_PASSWORD: &str = "step_up_password";

impl Flow<'_> {
    /// Writes a sign-in that began in this request (one insert instead of an insert at the start
    /// and an update at the end).
    pub(super) async fn save_new(&mut self) -> ApiResult<()> {
        if self.session.id == 0 {
            self.session.id = self
                .app
                .store
                .create_auth_session(&token_hash(&self.token), &self.session)
                .await?;
        }
        Ok(())
    }

    pub(super) fn org(&self) -> Option<&OrgConfig> {
        let user = self.user.as_ref()?;
        let domain = user.email.split_once('@')?.1;
        self.app.config.org_for_domain(domain)
    }

    pub(super) fn failure_key(&self) -> String {
        match &self.user {
            Some(user) => format!("user:{}", user.id),
            None => format!("identifier:{}", self.identifier.as_str()),
        }
    }

    fn factors(&self) -> Vec<String> {
        let mut factors = Vec::new();
        if let Some(primary) = &self.session.primary_method {
            factors.push(primary.clone());
        }
        if self.session.device_verified {
            factors.push("email_verification".into());
        }
        if let Some(second) = &self.session.second_factor {
            factors.push(second.clone());
        }
        factors
    }

    pub(super) async fn event(&self, kind: &str, result: &str) -> ApiResult<()> {
        if let Some(user) = &self.user {
            self.app
                .store
                .record_sign_in_event(SignInEvent {
                    user_id: user.id,
                    at: self.now,
                    kind: kind.into(),
                    method: self
                        .session
                        .primary_method
                        .clone()
                        .unwrap_or_else(|| self.session.step.clone()),
                    factors: self.factors(),
                    ip: self.caller.ip.clone(),
                    user_agent: self.caller.user_agent.clone(),
                    result: result.into(),
                })
                .await?;
        }
        Ok(())
    }

    async fn next_step(&mut self) -> ApiResult<Step> {
        if self.session.primary_method.is_none() {
            return Ok(Step::Primary);
        }
        let Some(user) = &self.user else {
            // Unknown identifiers never pass a first factor.
            return Ok(Step::Primary);
        };
        let (verify_devices, mfa) = self.org().map_or((false, Mfa::Optional), |o| {
            (o.verify_unrecognised_devices, o.mfa)
        });
        let pushed = self.session.primary_method.as_deref() == Some("push");
        let proved_email = self.session.primary_method.as_deref() == Some("email_code")
            || self.session.device_verified
            || pushed;
        if verify_devices && !self.session.device_recognised && !proved_email {
            return Ok(Step::VerifyDevice);
        }
        if self.session.second_factor.is_some() || pushed {
            return self.after_factors(user).await;
        }
        let mut factors = Vec::new();
        if self.app.store.has_active_device(user.id, false).await? {
            factors.push("push");
        }
        let enrolled = self.app.store.second_factors(user.id).await?;
        if enrolled.totp {
            factors.push("totp");
        }
        self.backup_codes_left = enrolled.backup_codes_left;
        if enrolled.backup_codes_left > 0 {
            factors.push("backup_code");
        }
        // A code to the verified phone, unless a code to that phone was the first factor.
        if enrolled.verified_phone && self.session.primary_method.as_deref() != Some("sms_code") {
            factors.extend(["sms", "voice"]);
        }
        if factors.is_empty() {
            let primary = self.session.primary_method.as_deref();
            if self.session.acr_mfa && matches!(primary, Some("email_code" | "sms_code")) {
                // Step-up after a code-only first factor: the password makes the second.
                return Ok(Step::PasswordAfterCode);
            }
            // MFA required (or a step-up asked for) but nothing enrolled yet: an email code
            // stands in as the second factor.
            if (mfa == Mfa::Required || self.session.acr_mfa) && !proved_email {
                return Ok(Step::VerifyDevice);
            }
            return self.after_factors(user).await;
        }
        Ok(Step::SecondFactor(factors))
    }

    pub(super) async fn advance(&mut self) -> ApiResult<Json<AuthorizationCode>> {
        self.resume().await?;
        loop {
            match self.next_step().await? {
                Step::Primary if self.wants_push_primary() => self.passwordless_push().await?,
                Step::Primary => self.primary().await?,
                Step::VerifyDevice => self.verify_device().await?,
                Step::PasswordAfterCode => self.step_up_password().await?,
                Step::SecondFactor(factors) => self.second_factor(factors).await?,
                Step::Enroll {
                    skips_left,
                    mandatory,
                } => self.enroll(skips_left, mandatory).await?,
                Step::Done => return self.complete().await,
            }
        }
    }

    /// The credential for this request, if it was not used yet.
    pub(super) fn take(&mut self, name: &str) -> Option<String> {
        if self.consumed {
            return None;
        }
        let value = self.params.get(name)?.to_owned();
        self.consumed = true;
        Some(value)
    }

    pub(super) fn method_param(&self) -> Option<&str> {
        if self.consumed {
            None
        } else {
            self.params.get(param::METHOD)
        }
    }

    async fn primary(&mut self) -> ApiResult<()> {
        let (offered, _) = methods_for(self.app, &self.identifier);
        let chosen: Method = if let Some(name) = self.method_param() {
            offered
                .iter()
                .find(|m| m.name() == name)
                .cloned()
                .ok_or_else(|| {
                    ApiError::invalid_request(format!(
                        "method `{name}` is not offered for this identifier"
                    ))
                })?
        } else if !self.consumed && self.params.get(param::PASSWORD).is_some() {
            Method::Password
        } else if let Some(current) = offered.iter().find(|m| m.name() == self.session.step) {
            current.clone()
        } else {
            offered[0].clone()
        };
        let chosen = match (&chosen, &self.identifier) {
            // A code goes to the identifier that was typed.
            (Method::EmailCode, Identifier::Phone(_))
            | (Method::SmsCode, Identifier::Email { .. }) => {
                return Err(ApiError::invalid_request(format!(
                    "method `{}` is not offered for this identifier",
                    chosen.name()
                )))
            }
            _ => chosen,
        };
        match &chosen {
            Method::Federated { provider, .. } | Method::Sso { provider, .. } => {
                Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::RedirectToWeb,
                    "this method signs in through the browser",
                )
                .web_method(
                    chosen.name(),
                    provider.as_str(),
                    crate::oidc::web_url(self.app, provider, self.identifier.as_str()),
                ))
            }
            Method::Password => {
                if self.params.get(param::PASSWORD).is_none() || self.consumed {
                    self.session.step = "password".into();
                    return Err(insufficient(Next::Password));
                }
                let password = self.take(param::PASSWORD).unwrap_or_default();
                self.check_password(&password).await?;
                self.session.primary_method = Some("password".into());
                Ok(())
            }
            Method::EmailCode | Method::SmsCode => {
                let name = chosen.name();
                let hint = match &self.identifier {
                    Identifier::Email { address, .. } => mask_email(address),
                    Identifier::Phone(p) => mask_phone(p),
                };
                let recipient = self.user.as_ref().map(|u| match &self.identifier {
                    Identifier::Email { .. } => u.email.clone(),
                    Identifier::Phone(_) => u.phone.clone().unwrap_or_default(),
                });
                let channel = if name == "sms_code" { "sms" } else { "email" };
                self.code_step(
                    name,
                    "sign_in",
                    channel,
                    self.identifier.code_key(),
                    recipient,
                    hint,
                )
                .await?;
                self.session.primary_method = Some(name.into());
                Ok(())
            }
        }
    }

    /// The password as the second step of a step-up sign-in that began with a code.
    async fn step_up_password(&mut self) -> ApiResult<()> {
        let prompted = self.session.step == STEP_UP_PASSWORD;
        let password = if prompted {
            self.take(param::PASSWORD)
        } else {
            None
        };
        let Some(password) = password else {
            self.session.step = STEP_UP_PASSWORD.into();
            return Err(insufficient(Next::Password));
        };
        self.check_password(&password).await?;
        self.session.second_factor = Some("password".into());
        Ok(())
    }

    async fn verify_device(&mut self) -> ApiResult<()> {
        let email = self
            .user
            .as_ref()
            .map(|u| u.email.clone())
            .unwrap_or_default();
        self.code_step(
            "verify_device",
            "verify_device",
            "email",
            format!("email:{email}"),
            Some(email.clone()),
            mask_email(&email),
        )
        .await?;
        self.session.device_verified = true;
        self.event("identity_verification", "success").await
    }

    async fn complete(&mut self) -> ApiResult<Json<AuthorizationCode>> {
        let Some(user_id) = self.user.as_ref().map(|u| u.id) else {
            return Err(ApiError::invalid_session());
        };
        let code = random_token("ac_");
        let method = self.session.primary_method.clone().unwrap_or_default();
        let factors = self.factors();
        self.save_new().await?;
        self.app
            .store
            .complete_sign_in(
                NewAuthorizationCode {
                    hash: token_hash(code.expose()),
                    auth_session_id: self.session.id,
                    client_id: self.session.client_id.clone(),
                    user_id,
                    code_challenge: self.session.code_challenge.clone(),
                    method: method.clone(),
                    factors: factors.clone(),
                    issue_device_token: !self.session.device_recognised,
                    expires_at: self.now + self.app.config.tokens.authorization_code_ttl_s,
                    ip: self.caller.ip.clone(),
                    user_agent: self.caller.user_agent.clone(),
                },
                SignInEvent {
                    user_id,
                    at: self.now,
                    kind: "sign_in".into(),
                    method,
                    factors,
                    ip: self.caller.ip.clone(),
                    user_agent: self.caller.user_agent.clone(),
                    result: "success".into(),
                },
            )
            .await?;
        self.session.step = "done".into();
        Ok(Json(AuthorizationCode {
            authorization_code: code.expose().to_owned(),
        }))
    }
}
