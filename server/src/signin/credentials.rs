//! The credentials a sign-in request carries: the password, the choice of second factor, TOTP
//! codes and backup codes.

use authcore_protocol::signin::param;
use authcore_protocol::signin::{Next, SecondFactor};
use authcore_protocol::ErrorCode;
use axum::http::StatusCode;

use super::{insufficient, phone_hint, Flow};
use crate::error::{ApiError, ApiResult};
use crate::AppState;

/// The second factors that reach the verified phone number.
const PHONE_FACTORS: [&str; 2] = ["sms", "voice"];

/// The protocol's name of a second factor the flow offers.
fn second_factor(name: &str) -> Option<SecondFactor> {
    [
        SecondFactor::Push,
        SecondFactor::Totp,
        SecondFactor::BackupCode,
        SecondFactor::Sms,
        SecondFactor::Voice,
    ]
    .into_iter()
    .find(|f| f.as_str() == name)
}

impl Flow<'_> {
    pub(super) async fn check_password(&mut self, password: &str) -> ApiResult<()> {
        let reservation = self.reserve_attempt().await?;
        if password.len() > self.app.config.password.max_length {
            return Err(self
                .reject_attempt(reservation, "password", "wrong_password")
                .await?);
        }
        let stored = self.user.as_ref().and_then(|u| u.password_hash.clone());
        let matched = self.app.passwords.verify(password, stored.as_deref()).await;
        if matched {
            reservation.right(self.app).await
        } else {
            Err(self
                .reject_attempt(reservation, "password", "wrong_password")
                .await?)
        }
    }

    pub(super) async fn second_factor(&mut self, factors: Vec<&'static str>) -> ApiResult<()> {
        let requested = self.method_param().map(str::to_owned);
        if let Some(name) = &requested {
            if PHONE_FACTORS.contains(&name.as_str()) && !factors.contains(&name.as_str()) {
                return Err(ApiError::invalid_request(format!(
                    "`{name}` needs a verified phone number and this account has none; choose another second factor: {}",
                    factors.join(", ")
                )));
            }
            if !factors.contains(&name.as_str()) {
                return Err(ApiError::invalid_request(format!(
                    "`{name}` is not one of the second factors offered: {}",
                    factors.join(", ")
                )));
            }
            self.session.second_factor_choice = Some(name.clone());
            self.session.step = name.clone();
        }
        let choice = match (&self.session.second_factor_choice, factors.as_slice()) {
            (Some(choice), _) if factors.contains(&choice.as_str()) => choice.clone(),
            (_, [only]) => (*only).to_owned(),
            _ => {
                self.session.step = "choose_second_factor".into();
                let phone_hint = if factors.iter().any(|f| PHONE_FACTORS.contains(f)) {
                    self.user
                        .as_ref()
                        .and_then(|u| u.phone.as_deref())
                        .map(phone_hint)
                } else {
                    None
                };
                return Err(insufficient(Next::ChooseSecondFactor {
                    factors: factors.iter().filter_map(|f| second_factor(f)).collect(),
                    phone_hint,
                }));
            }
        };
        if choice == "push" {
            return self.push_factor(requested.as_deref() == Some("push")).await;
        }
        if PHONE_FACTORS.contains(&choice.as_str()) {
            return self.phone_factor(&choice).await;
        }
        let prompted = self.session.step == choice;
        let code = if prompted {
            self.take(param::CODE)
        } else {
            None
        };
        let Some(code) = code else {
            self.session.step = choice.clone();
            let next = if choice == "totp" {
                Next::Totp { length: 6 }
            } else {
                Next::BackupCode {
                    remaining: self.backup_codes_left,
                }
            };
            return Err(insufficient(next));
        };
        if choice == "totp" {
            self.check_totp(&code).await?;
        } else {
            self.check_backup_code(&code).await?;
        }
        self.session.second_factor = Some(choice);
        Ok(())
    }

    /// `sms` or `voice`: a code texted to (or read out by a call to) the verified phone number,
    /// with the limits of the email code (the same sends per number as an SMS sign-in, the
    /// resend delay, the attempts per code); naming the factor again resends (or calls again).
    async fn phone_factor(&mut self, channel: &str) -> ApiResult<()> {
        let phone = self
            .user
            .as_ref()
            .and_then(|u| u.phone.clone())
            .ok_or_else(ApiError::invalid_session)?;
        let step: &'static str = if channel == "voice" { "voice" } else { "sms" };
        self.code_step(
            step,
            "second_factor",
            step,
            format!("phone:{phone}"),
            Some(phone.clone()),
            phone_hint(&phone),
        )
        .await?;
        self.session.second_factor = Some(step.into());
        Ok(())
    }

    fn user_id(&self) -> i64 {
        self.user.as_ref().map_or(0, |u| u.id)
    }

    async fn check_totp(&self, code: &str) -> ApiResult<()> {
        let user_id = self.user_id();
        let Some(credential) = self
            .app
            .store
            .totp(user_id)
            .await?
            .filter(|t| t.confirmed && !t.suspended)
        else {
            return Err(ApiError::invalid_request("no TOTP credential is enrolled"));
        };
        let totp = totp_of(&credential.secret);
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        let reservation = self.reserve_attempt().await?;
        match totp.verify(&code, self.now, self.app.config.totp.window_steps) {
            Ok(step) => {
                if self.app.store.accept_totp_step(user_id, step).await? {
                    reservation.right(self.app).await
                } else {
                    // A replay is no right answer: its attempt stays counted.
                    let refusal = self
                        .reject_attempt(reservation, "code", "replayed_code")
                        .await?;
                    if refusal.code() == ErrorCode::Locked {
                        return Err(refusal);
                    }
                    Err(ApiError::new(
                        StatusCode::BAD_REQUEST,
                        ErrorCode::WrongCredential,
                        "this code was already used; wait for the next one",
                    )
                    .reason("replayed"))
                }
            }
            Err(_) => Err(self
                .reject_attempt(reservation, "code", "wrong_code")
                .await?),
        }
    }

    async fn check_backup_code(&self, code: &str) -> ApiResult<()> {
        let user_id = self.user_id();
        let hash = backup_code_hash(self.app, user_id, code);
        let reservation = self.reserve_attempt().await?;
        if self
            .app
            .store
            .use_backup_code(user_id, &hash, self.now)
            .await?
        {
            reservation.right(self.app).await
        } else {
            Err(self
                .reject_attempt(reservation, "backup code", "wrong_code")
                .await?)
        }
    }
}

pub(crate) fn totp_of(secret: &[u8]) -> authcore::otp::Totp {
    use authcore::otp::{Algorithm, Digits, Period, Secret, Totp};
    Totp::new(
        Secret::from_bytes(secret.to_vec()),
        Algorithm::Sha1,
        Digits::SIX,
        Period::DEFAULT,
    )
}

pub(crate) fn backup_code_hash(app: &AppState, user_id: i64, code: &str) -> Vec<u8> {
    app.hasher.hash(
        &format!("backup:{user_id}"),
        &crate::secrets::normalise_backup_code(code),
    )
}
