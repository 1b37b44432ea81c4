//! The authenticator steps of a sign-in: the `push` second factor, passwordless phone sign-in,
//! and the "authenticator required" enrollment prompt with "Skip for now" and enrollment inside
//! the flow.

use authcore::device_protocol as protocol;
use authcore_protocol::error::LimitOf;
use authcore_protocol::signin::param;
use authcore_protocol::signin::{ActivateStep, EnrollmentCode, Next, PushStep};
use authcore_protocol::ErrorCode;
use axum::http::StatusCode;

use super::{insufficient, methods_for, Flow, Step};
use crate::devices::{start_enrollment, wait_for_enrollment, EnrollmentState};
use crate::error::{ApiError, ApiResult};
use crate::push::{self, push_next, wait_param, wait_until};
use crate::store::{NewPushRequest, PushLimits, PushRefusal, PushRequest, User};

/// Step names kept in the auth session.
pub(super) const PUSH: &str = "push";
pub(super) const PUSH_PRIMARY: &str = "push_primary";
const ENROLL: &str = "enroll_authenticator";
const ACTIVATE: &str = "activate_authenticator";
const APPROVE_TEST: &str = "approve_test_push";

fn enrollment_required() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        ErrorCode::EnrollmentRequired,
        "your organisation requires an authenticator app and no skip is left; set it up now",
    )
}

/// A push second factor when every phone of the user runs an app older than number matching.
fn phone_app_too_old() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        ErrorCode::UpgradeRequired,
        "the authenticator app on your phone must be updated to show sign-in numbers; update it, or choose another way to sign in",
    )
}

impl Flow<'_> {
    /// Whether this request continues a push or an enrollment already shown: answered without
    /// re-deciding the whole flow (the long-poll path stays a few reads).
    pub(super) async fn resume(&mut self) -> ApiResult<()> {
        if self.method_param().is_some() {
            return Ok(());
        }
        match self.session.step.as_str() {
            PUSH if self.session.second_factor.is_none() => {
                self.push_step(PUSH, false, false).await?;
                self.session.second_factor = Some("push".into());
            }
            ACTIVATE | APPROVE_TEST => self.enrollment_progress().await?,
            _ => {}
        }
        Ok(())
    }

    /// Passwordless phone sign-in wanted: `method=push` at the first step, or waiting on one.
    pub(super) fn wants_push_primary(&self) -> bool {
        self.method_param() == Some("push")
            || (self.session.step == PUSH_PRIMARY && self.method_param().is_none())
    }

    /// Passwordless phone sign-in: allowed by the organisation of the identifier's domain; the
    /// push goes only to devices registered with user verification. Unknown identifiers (and
    /// users without such a device) get the same answer with a number no phone will see.
    pub(super) async fn passwordless_push(&mut self) -> ApiResult<()> {
        let (_, org) = methods_for(self.app, &self.identifier);
        if !org.is_some_and(|o| o.passwordless_push) {
            return Err(ApiError::invalid_request(
                "`push` (phone sign-in) is not offered for this account's organisation",
            ));
        }
        let fresh = self.method_param() == Some("push");
        self.push_step(PUSH_PRIMARY, fresh, true).await?;
        self.session.primary_method = Some("push".into());
        Ok(())
    }

    /// The `push` second factor.
    pub(super) async fn push_factor(&mut self, fresh: bool) -> ApiResult<()> {
        self.push_step(PUSH, fresh, false).await?;
        self.session.second_factor = Some("push".into());
        Ok(())
    }

    /// Creates a push request (first time, or `fresh`: the client named `push` again) or reports
    /// on the current one, long-polling up to `wait` seconds. Ok once approved.
    async fn push_step(&mut self, step: &'static str, fresh: bool, primary: bool) -> ApiResult<()> {
        let current = if self.session.step == step && !fresh {
            self.app.store.session_push_request(self.session.id).await?
        } else {
            None
        };
        let Some(request) = current else {
            let request = self.new_push(primary).await?;
            self.session.step = step.into();
            return Err(insufficient(push_next(self.app, &request)));
        };
        let wait = wait_param(self.app, self.params.get(param::WAIT))?;
        let request = if request.result.is_none() && !wait.is_zero() {
            let app = self.app;
            let id = request.id;
            let wait = push::wait_for_request(app, &request, wait);
            wait_until(
                app.hub.request(id),
                wait,
                || async {
                    app.store
                        .push_request(id)
                        .await?
                        .ok_or_else(ApiError::invalid_session)
                },
                |r: &PushRequest| r.result.is_some(),
            )
            .await?
        } else {
            request
        };
        match request.result.as_deref() {
            Some("approved") => Ok(()),
            Some("number_mismatch") => Err(push::number_mismatch()),
            Some("fraud") => Err(push::access_denied(true)),
            Some(_) => Err(push::access_denied(false)),
            None if request.expires_at <= self.app.clock.now() => Err(push::push_expired()),
            None => Err(insufficient(push_next(self.app, &request))),
        }
    }

    async fn new_push(&mut self, primary: bool) -> ApiResult<PushRequest> {
        // The push request refers to the auth session: write it if it began in this request.
        self.save_new().await?;
        let config = &self.app.config.push;
        let mut user_id = self.user.as_ref().map(|u| u.id);
        if primary {
            if let Some(id) = user_id {
                // Only devices trusted for it (user verification, attested unless
                // `push.require_attestation` is off): otherwise the same answer as for an
                // unknown identifier, a number no phone sees.
                let require_attestation = self.app.config.push.require_attestation;
                if !self
                    .app
                    .store
                    .has_passwordless_device(id, require_attestation)
                    .await?
                {
                    user_id = None;
                }
            }
        } else if let Some(id) = user_id {
            // Every phone of the user runs an app too old to show the number: no request that
            // nobody can answer; the sign-in says why and the user can choose another factor.
            if !self
                .app
                .store
                .has_number_matching_device(id, protocol::NUMBER_MATCHING_VERSION)
                .await?
            {
                return Err(phone_app_too_old());
            }
        }
        let request = NewPushRequest {
            user_id,
            auth_session_id: Some(self.session.id),
            kind: "sign_in".into(),
            device_id: None,
            require_uv: primary,
            app_name: self
                .app
                .config
                .client(&self.session.client_id)
                .map_or_else(|| self.session.client_id.clone(), |c| c.name.clone()),
            ip: self.caller.ip.clone(),
            user_agent: push::describe_user_agent(&self.caller.user_agent),
            location: config.locations.get(&self.caller.ip).cloned(),
            created_at: self.now,
            expires_at: self.now + config.ttl_s,
        };
        let pick = push::number_picker(config.number_length, config.number_mode);
        let created = if primary {
            // Anyone who types an identifier can ask for these: they get their own budget per
            // identifier (known or not, counted alike), which never touches the user's cap for
            // the pushes after a correct password.
            self.app
                .store
                .create_passwordless_push_request(
                    request,
                    &self.identifier.code_key(),
                    PushLimits {
                        max_outstanding: config.max_passwordless_outstanding,
                        window_s: config.window_s,
                    },
                    pick,
                )
                .await?
        } else {
            self.app
                .store
                .create_push_request(
                    request,
                    PushLimits {
                        max_outstanding: config.max_outstanding,
                        window_s: config.window_s,
                    },
                    pick,
                )
                .await?
        };
        match created {
            Ok(request) => {
                if let Some(user_id) = request.user_id {
                    push::deliver(
                        self.app,
                        user_id,
                        push::Wake {
                            request_id: request.id,
                            expires_at: request.expires_at,
                        },
                        None,
                    );
                }
                Ok(request)
            }
            Err(PushRefusal::Blocked { until }) => {
                Err(push::push_blocked(until.saturating_sub(self.now)))
            }
            Err(PushRefusal::Capped { retry_after }) => {
                let (of, count) = if primary {
                    (LimitOf::PhoneSignIns, config.max_passwordless_outstanding)
                } else {
                    (LimitOf::PushesSent, config.max_outstanding)
                };
                Err(ApiError::limited(
                    retry_after,
                    "too many push requests were sent; wait before asking for another",
                    of,
                    count,
                    config.window_s,
                ))
            }
        }
    }

    /// After every factor: the "authenticator required" prompt, unless the user has a device or
    /// skipped in this sign-in.
    pub(super) async fn after_factors(&self, user: &User) -> ApiResult<Step> {
        let Some(org) = self.org().filter(|o| o.authenticator_required) else {
            return Ok(Step::Done);
        };
        let store = &self.app.store;
        if store.has_active_device(user.id, false).await?
            || store.enrollment_skipped(self.session.id).await?
        {
            return Ok(Step::Done);
        }
        let used = store.enrollment_skips(user.id).await?;
        let skips_left = org.max_skips.saturating_sub(used);
        Ok(Step::Enroll {
            skips_left,
            mandatory: skips_left == 0,
        })
    }

    fn enroll_prompt(&mut self, skips_left: u32, mandatory: bool) -> ApiError {
        self.session.step = ENROLL.into();
        insufficient(Next::EnrollAuthenticator {
            skips_left,
            mandatory,
        })
    }

    /// "Protect your account": `method=skip_enrollment` or `method=enroll_authenticator`.
    pub(super) async fn enroll(&mut self, skips_left: u32, mandatory: bool) -> ApiResult<()> {
        let user = self.user.clone().ok_or_else(ApiError::invalid_session)?;
        match self.method_param() {
            Some("skip_enrollment") => {
                if mandatory {
                    return Err(enrollment_required());
                }
                let max = self.org().map_or(0, |o| o.max_skips);
                // Rows below refer to the auth session: write it if it began in this request.
                self.save_new().await?;
                match self
                    .app
                    .store
                    .skip_enrollment(user.id, self.session.id, max)
                    .await?
                {
                    Some(_) => Ok(()),
                    None => Err(enrollment_required()),
                }
            }
            Some("enroll_authenticator") => {
                self.save_new().await?;
                let started = start_enrollment(self.app, &user, Some(self.session.id)).await?;
                self.session.step = ACTIVATE.into();
                Err(insufficient(self.activate_next(
                    started.enrollment_id,
                    Some(started.code),
                    started.expires_at,
                )))
            }
            Some(other) => Err(ApiError::invalid_request(format!(
                "`{other}` is not offered now: enroll_authenticator or skip_enrollment"
            ))),
            None => match self.session.step.as_str() {
                ACTIVATE | APPROVE_TEST => self.enrollment_progress().await,
                _ => Err(self.enroll_prompt(skips_left, mandatory)),
            },
        }
    }

    fn activate_next(
        &self,
        enrollment_id: String,
        code: Option<EnrollmentCode>,
        expires_at: u64,
    ) -> Next {
        Next::ActivateAuthenticator(ActivateStep {
            enrollment_id,
            code,
            expires_at,
            interval: self.app.config.push.poll_interval_s,
        })
    }

    /// Enrollment inside the sign-in: waiting for the device to activate, then for the test
    /// approval. Ok once the device is active (the test approval counts as the push factor).
    async fn enrollment_progress(&mut self) -> ApiResult<()> {
        let enrollment = self.app.store.session_enrollment(self.session.id).await?;
        let Some(enrollment) = enrollment else {
            self.session.step = ENROLL.into();
            return Err(ApiError::invalid_request(
                "no enrollment was started; send method=enroll_authenticator",
            ));
        };
        let wait = wait_param(self.app, self.params.get(param::WAIT))?;
        let known = if self.session.step == APPROVE_TEST {
            "approve_test"
        } else {
            "waiting_for_device"
        };
        let (enrollment, state) = wait_for_enrollment(self.app, enrollment, wait, known).await?;
        match state {
            EnrollmentState::WaitingForDevice => {
                self.session.step = ACTIVATE.into();
                Err(insufficient(self.activate_next(
                    enrollment.id.to_string(),
                    None,
                    enrollment.expires_at,
                )))
            }
            EnrollmentState::ApproveTest(test) => {
                self.session.step = APPROVE_TEST.into();
                Err(insufficient(Next::ApproveTestPush(PushStep {
                    request_id: test.id.to_string(),
                    number: test.number.clone(),
                    expires_at: test.expires_at,
                    interval: self.app.config.push.poll_interval_s,
                })))
            }
            EnrollmentState::Completed => {
                self.session.step = "enrolled".into();
                if self.session.second_factor.is_none() {
                    self.session.second_factor = Some("push".into());
                }
                Ok(())
            }
            EnrollmentState::Failed(reason) => {
                self.session.step = ENROLL.into();
                Err(match reason {
                    "number_mismatch" => push::number_mismatch(),
                    "fraud_reported" => push::access_denied(true),
                    "expired" => push::push_expired(),
                    _ => push::access_denied(false),
                })
            }
            EnrollmentState::Expired => {
                self.session.step = ENROLL.into();
                Err(ApiError::expired(
                    "the activation code expired; send method=enroll_authenticator for a new one",
                ))
            }
        }
    }
}
