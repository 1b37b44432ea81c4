//! [`Flow`]: everything one sign-in knows, and the gestures carried out on it. Each gesture
//! sends its request, then hands the decoded answer to [`transition::next`] and does what it
//! says.

use authcore_protocol::signin::{param, Method, ACR_MFA, CODE_CHALLENGE_S256};
use authcore_protocol::tokens::{self, GrantType};
use zeroize::Zeroizing;

use super::gesture::{invalid, Gesture};
use super::pkce::Pkce;
use super::state::{CodeChannel, CodePurpose, MethodKind, SecondFactor, SignInMethod, SignInState};
use super::steps::choose_method_state;
use super::transition::{self, Answer, Back, Transition};
use super::{notify, SharedListener, StepUp};
use crate::api::{Api, Challenge, Form, Refusal};
use crate::app::App;
use crate::error::ClientError;
use crate::session::{now, Session, StoredTokens};
use crate::timestamp::Timestamp;

/// Everything one sign-in knows. Gestures work on a clone and the result is committed.
#[derive(Clone)]
pub(super) struct Flow {
    pub app: App,
    /// The server this flow talks to: the app's, or the organisation's sign-in host.
    pub api: Api,
    pub listener: SharedListener,
    pub state: SignInState,
    pub back_stack: Vec<SignInState>,
    pub identifier: Option<String>,
    pub pkce: Option<Pkce>,
    pub auth_session: Option<String>,
    pub reset_code: Option<Zeroizing<String>>,
    /// Set for a step-up sign-in; survives `reset`.
    pub step_up: Option<StepUp>,
}

impl Flow {
    /// `action` does not apply at the current state (`Gesture::applies` checks this before a
    /// gesture reaches its handler; the handlers answer it too rather than panic).
    fn not_now(&self, action: &'static str) -> ClientError {
        ClientError::InvalidAction {
            action,
            state: self.state.name(),
        }
    }

    pub fn new(app: App, listener: SharedListener, step_up: Option<StepUp>) -> Flow {
        Flow {
            api: app.api.clone(),
            app,
            listener,
            state: SignInState::EnterIdentifier,
            back_stack: Vec::new(),
            identifier: None,
            pkce: None,
            auth_session: None,
            reset_code: None,
            step_up,
        }
    }

    /// Carries out one gesture; the flow is left at the state it leads to.
    pub async fn perform(&mut self, gesture: Gesture) -> Result<(), ClientError> {
        if !gesture.applies(&self.state) {
            return Err(invalid(&gesture, &self.state));
        }
        match gesture {
            Gesture::Start(identifier) => self.start(identifier).await,
            Gesture::ChooseMethod(method) => self.choose_method(method).await,
            Gesture::SubmitPassword(password) => self.submit_password(password).await,
            Gesture::SubmitCode(code) => self.submit_code(code).await,
            Gesture::ResendCode => self.resend_code().await,
            Gesture::ChooseSecondFactor(factor) => self.choose_second_factor(factor).await,
            Gesture::WaitForPhone => self.wait_for_phone().await,
            Gesture::ResendPush => self.send_method(Method::Push, false).await,
            Gesture::SkipEnrollment => {
                if let SignInState::EnrollAuthenticator {
                    mandatory: true, ..
                } = self.state
                {
                    return Err(ClientError::EnrollmentRequired);
                }
                self.send_method(Method::SkipEnrollment, true).await
            }
            Gesture::EnrollAuthenticator => {
                self.send_method(Method::EnrollAuthenticator, false).await
            }
            Gesture::ForgotPassword(identifier) => self.forgot_password(identifier).await,
            Gesture::ChooseNewPassword(password) => self.choose_new_password(password).await,
            Gesture::Back => {
                self.back();
                Ok(())
            }
        }
    }

    pub fn reset(&mut self) {
        self.api = self.app.api.clone();
        self.back_stack.clear();
        self.identifier = None;
        self.pkce = None;
        self.auth_session = None;
        self.reset_code = None;
    }

    pub fn identifier(&self) -> String {
        self.identifier.clone().unwrap_or_default()
    }

    async fn start(&mut self, identifier: String) -> Result<(), ClientError> {
        if identifier.is_empty() {
            return Err(ClientError::InvalidInput {
                what: "enter your email address or phone number".into(),
            });
        }
        if let Some(step_up) = &self.step_up {
            if !identifier.eq_ignore_ascii_case(&step_up.identifier) {
                return Err(ClientError::InvalidInput {
                    what: "to confirm it's you, sign in with the account that is signed in".into(),
                });
            }
        }
        self.reset();
        let mut answer = self.api.login_methods(&identifier).await?;
        if let Some(host) = answer.sign_in_host.clone() {
            if !same_host(self.api.base(), &host) {
                let state = SignInState::UseSignInHost { host: host.clone() };
                notify(&self.listener, &state);
                self.api = self.api.at_host(&host)?;
                answer = self.api.login_methods(&identifier).await?;
            }
        }
        let state = choose_method_state(answer)?;
        self.identifier = Some(identifier);
        self.back_stack = vec![SignInState::EnterIdentifier];
        self.state = state;
        Ok(())
    }

    async fn choose_method(&mut self, method: SignInMethod) -> Result<(), ClientError> {
        let SignInState::ChooseMethod { methods, .. } = &self.state else {
            return Err(self.not_now("choose_method"));
        };
        if !methods.contains(&method) {
            return Err(ClientError::InvalidInput {
                what: "that method is not offered here".into(),
            });
        }
        let choice = self.state.clone();
        if method.kind == MethodKind::Password {
            self.back_stack.push(choice);
            self.state = SignInState::EnterPassword {
                identifier: self.identifier(),
            };
            return Ok(());
        }
        let fields = vec![(param::METHOD, method.kind.wire().as_str().to_owned())];
        let reply = self.challenge(fields).await?;
        self.back_stack.push(choice);
        self.apply(reply, Some(method), false).await
    }

    async fn submit_password(&mut self, password: Zeroizing<String>) -> Result<(), ClientError> {
        if password.is_empty() {
            return Err(ClientError::InvalidInput {
                what: "enter your password".into(),
            });
        }
        let fields = vec![
            (param::METHOD, Method::Password.as_str().to_owned()),
            (param::PASSWORD, password.to_string()),
        ];
        let reply = self.challenge(fields).await?;
        self.apply(reply, None, true).await
    }

    async fn submit_code(&mut self, code: Zeroizing<String>) -> Result<(), ClientError> {
        let code: Zeroizing<String> =
            Zeroizing::new(code.chars().filter(|c| !c.is_whitespace()).collect());
        match &self.state {
            SignInState::EnterCode {
                purpose, length, ..
            } => {
                check_digits(&code, *length)?;
                if *purpose == CodePurpose::PasswordReset {
                    self.back_stack.push(self.state.clone());
                    self.reset_code = Some(code);
                    self.state = SignInState::ChooseNewPassword {
                        identifier: self.identifier(),
                    };
                    return Ok(());
                }
            }
            SignInState::EnterTotp { length } => check_digits(&code, *length)?,
            _ => {
                // EnterBackupCode
                if code.is_empty() {
                    return Err(ClientError::InvalidInput {
                        what: "enter one of your backup codes".into(),
                    });
                }
            }
        }
        let reply = self
            .challenge(vec![(param::CODE, code.to_string())])
            .await?;
        self.apply(reply, None, true).await
    }

    async fn resend_code(&mut self) -> Result<(), ClientError> {
        let SignInState::EnterCode {
            purpose, channel, ..
        } = self.state
        else {
            return Err(self.not_now("resend_code"));
        };
        let method = match (purpose, channel) {
            (CodePurpose::PasswordReset, _) => {
                let identifier = self.identifier();
                return self.forgot_password(identifier).await;
            }
            (CodePurpose::VerifyDevice, _) => Method::VerifyDevice,
            (CodePurpose::SignIn, CodeChannel::Email) => Method::EmailCode,
            // A text chosen at "Verify your identity" is the `sms` second factor.
            (CodePurpose::SignIn, CodeChannel::Sms)
                if matches!(
                    self.back_stack.last(),
                    Some(SignInState::ChooseSecondFactor { .. })
                ) =>
            {
                Method::Sms
            }
            (CodePurpose::SignIn, CodeChannel::Sms) => Method::SmsCode,
            (CodePurpose::SignIn, CodeChannel::Voice) => Method::Voice,
        };
        self.send_method(method, false).await
    }

    async fn choose_second_factor(&mut self, factor: SecondFactor) -> Result<(), ClientError> {
        let SignInState::ChooseSecondFactor { options } = &self.state else {
            return Err(self.not_now("choose_second_factor"));
        };
        if !options.iter().any(|o| o.kind == factor) {
            return Err(ClientError::InvalidInput {
                what: "that second factor is not offered here".into(),
            });
        }
        let choice = self.state.clone();
        let reply = self
            .challenge(vec![(param::METHOD, factor.wire().as_str().to_owned())])
            .await?;
        self.back_stack.push(choice);
        self.apply(reply, None, false).await
    }

    /// Sends `method` from the state that offers it: `push` again from `ApprovePush`, or the
    /// answers to the enrollment prompt (a skip counts as a credential).
    async fn send_method(&mut self, method: Method, credential: bool) -> Result<(), ClientError> {
        let reply = self
            .challenge(vec![(param::METHOD, method.as_str().to_owned())])
            .await?;
        self.apply(reply, None, credential).await
    }

    async fn wait_for_phone(&mut self) -> Result<(), ClientError> {
        const LONG_POLL_S: u64 = 25;
        let expires_at = match &self.state {
            SignInState::ApprovePush { expires_at, .. }
            | SignInState::ActivateAuthenticator { expires_at, .. }
            | SignInState::ApproveTestPush { expires_at, .. } => *expires_at,
            _ => return Err(self.not_now("wait_for_phone")),
        };
        let waiting = self.state.clone();
        loop {
            // The server's clock decides expiry; this only bounds each long poll.
            let wait = expires_at
                .seconds_since(Timestamp::now())
                .clamp(1, LONG_POLL_S);
            let reply = self
                .challenge(vec![(param::WAIT, wait.to_string())])
                .await?;
            let enrolling = !matches!(waiting, SignInState::ApprovePush { .. });
            let result = self.apply(reply, None, true).await;
            match result {
                Ok(()) if self.state == waiting => continue,
                Ok(()) => return Ok(()),
                Err(error) if enrolling && error != ClientError::SignInExpired => {
                    // A failed activation or test approval: the server shows the enrollment
                    // prompt again; fetch it so the screen can offer another try.
                    let prompt = self.challenge(Vec::new()).await?;
                    let _ = self.apply(prompt, None, false).await;
                    return Err(error);
                }
                Err(error) => return Err(error),
            }
        }
    }

    fn back(&mut self) {
        match self.back_stack.pop() {
            Some(SignInState::EnterIdentifier) | None => {
                self.reset();
                self.state = SignInState::EnterIdentifier;
            }
            Some(previous) => self.state = previous,
        }
    }

    /// One request to the challenge endpoint: the first carries the identifier, PKCE and device
    /// token; later ones the `auth_session`.
    async fn challenge(
        &mut self,
        mut fields: Form,
    ) -> Result<Result<Challenge, Refusal>, ClientError> {
        match &self.auth_session {
            Some(session) => fields.insert(0, (param::AUTH_SESSION, session.clone())),
            None => {
                let pkce = Pkce::new()?;
                let mut first = vec![
                    (param::IDENTIFIER, self.identifier()),
                    (param::CODE_CHALLENGE, pkce.challenge.clone()),
                    (param::CODE_CHALLENGE_METHOD, CODE_CHALLENGE_S256.to_owned()),
                ];
                if let Some(token) = self.app.device_token(self.api.base())? {
                    first.push((param::DEVICE_TOKEN, token.to_string()));
                }
                if self.step_up.is_some() {
                    // RFC 9470: ask for a sign-in with a second factor.
                    first.push((param::ACR_VALUES, ACR_MFA.to_owned()));
                }
                first.append(&mut fields);
                fields = first;
                self.pkce = Some(pkce);
            }
        }
        self.api.challenge(fields).await
    }

    /// Moves to the state a challenge answer asks for.
    async fn apply(
        &mut self,
        reply: Result<Challenge, Refusal>,
        chosen: Option<SignInMethod>,
        credential: bool,
    ) -> Result<(), ClientError> {
        self.follow(Answer::Challenge {
            reply,
            chosen,
            credential,
        })
        .await
    }

    /// Does what [`transition::next`] says for `answer`.
    pub async fn follow(&mut self, answer: Answer) -> Result<(), ClientError> {
        match transition::next(&self.state, &self.identifier(), answer) {
            Transition::Exchange(code) => {
                let session = self.exchange(code).await?;
                self.back_stack.clear();
                self.state = SignInState::Done { session };
                Ok(())
            }
            Transition::Move {
                state,
                auth_session,
                back,
            } => {
                if auth_session.is_some() {
                    self.auth_session = auth_session;
                }
                match back {
                    Back::Keep => {}
                    Back::Push => self.back_stack.push(self.state.clone()),
                    Back::ForgetChoices => self
                        .back_stack
                        .retain(|s| matches!(s, SignInState::EnterIdentifier)),
                }
                self.state = state;
                Ok(())
            }
            Transition::Stay {
                error,
                auth_session,
            } => {
                if auth_session.is_some() {
                    self.auth_session = auth_session;
                }
                Err(error)
            }
            Transition::GoBack(error) => {
                self.reset_code = None;
                if let Some(previous) = self.back_stack.pop() {
                    self.state = previous;
                }
                Err(error)
            }
            Transition::Fail(error) => {
                self.reset();
                self.state = SignInState::Failed {
                    reason: error.clone(),
                };
                Err(error)
            }
            Transition::Restart(state) => {
                let identifier = self.identifier();
                self.reset();
                self.identifier = Some(identifier);
                self.back_stack = vec![SignInState::EnterIdentifier];
                self.state = state;
                Ok(())
            }
        }
    }

    /// The authorization code for tokens (PKCE), saved before the session is handed out.
    async fn exchange(&mut self, code: Zeroizing<String>) -> Result<Session, ClientError> {
        let pkce = self
            .pkce
            .clone()
            .ok_or_else(|| ClientError::protocol("authorization code before any challenge"))?;
        let answer = self
            .api
            .token(vec![
                (
                    tokens::param::GRANT_TYPE,
                    GrantType::AuthorizationCode.as_str().to_owned(),
                ),
                (tokens::param::CODE, code.to_string()),
                (tokens::param::CODE_VERIFIER, pkce.verifier.to_string()),
            ])
            .await?;
        if let Some(device_token) = &answer.device_token {
            self.app.save_device_token(self.api.base(), device_token)?;
        }
        let tokens = StoredTokens::from_answer(self.api.base(), &answer, now());
        let key = self.app.session_key();
        // A step-up retires the session it replaces before saving under the same key.
        let retired = match &self.step_up {
            Some(step_up) => step_up.replaces.retire().await,
            None => None,
        };
        Session::save(&*self.app.store, &key, &tokens)?;
        self.auth_session = None;
        self.pkce = None;
        if let (Some(step_up), Some(refresh)) = (&self.step_up, retired) {
            step_up.replaces.revoke_retired(refresh).await;
        }
        Ok(Session::new(
            self.api.clone(),
            self.app.store.clone(),
            key,
            tokens,
        ))
    }
}

fn check_digits(code: &str, length: u32) -> Result<(), ClientError> {
    if code.len() != length as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ClientError::InvalidInput {
            what: format!("the code is {length} digits"),
        });
    }
    Ok(())
}

/// Does `base` (`https://host[:port]`) already point at `host` (`host[:port]`)?
fn same_host(base: &str, host: &str) -> bool {
    let authority = base
        .split_once("://")
        .map_or(base, |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or_default();
    authority.eq_ignore_ascii_case(host)
}
