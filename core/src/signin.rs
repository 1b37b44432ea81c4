//! The sign-in flow: a state machine over docs/protocol.md's login-method selection and
//! first-party authorization challenge, one action per user gesture.
//!
//! The current [`SignInState`] carries everything a screen shows, already formatted. Each action
//! returns the new state and tells the listener. Wrong input keeps the user on the same step and
//! answers [`ClientError::WrongCredential`] with `attempts_left`; limits answer
//! [`ClientError::RateLimited`] / [`ClientError::Locked`] with `retry_after`.
//!
//! Actions run one at a time. An action whose future is dropped, or that [`SignIn::cancel`]
//! interrupts, changes nothing: the flow works on a copy and commits it only when the action ends.

use std::future::Future;
use std::sync::{Arc, Mutex as StdMutex};

use data_encoding::BASE64URL_NOPAD;
use ring::rand::{SecureRandom, SystemRandom};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::{watch, Mutex};
use zeroize::Zeroizing;

use crate::api::{Api, Challenge, LoginMethods, Refusal};
use crate::client::AuthClient;
use crate::error::ClientError;
use crate::session::{now, Session, StoredTokens};

/// What the screen shows now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInState {
    /// "Sign in": an email or phone field.
    EnterIdentifier,
    /// The organisation signs in on its own domain; the flow continues there (shown while it
    /// switches, then the methods that host offers).
    UseSignInHost {
        host: String,
    },
    ChooseMethod {
        identifier: String,
        /// The organisation's display name, when the domain belongs to one.
        organization: Option<String>,
        methods: Vec<SignInMethod>,
    },
    EnterPassword {
        identifier: String,
    },
    /// "Enter the code sent to a***@acme.example".
    EnterCode {
        purpose: CodePurpose,
        channel: CodeChannel,
        destination_hint: String,
        length: u32,
        /// Unix seconds.
        expires_at: u64,
        /// Seconds (from when this state was entered) before "Resend code" is allowed.
        resend_after: u64,
    },
    ChooseSecondFactor {
        options: Vec<SecondFactorOption>,
    },
    EnterTotp {
        length: u32,
    },
    EnterBackupCode {
        remaining: u32,
    },
    /// "Approve the sign-in on your phone": the number the user enters there. Call
    /// `wait_for_phone()` while it is shown.
    ApprovePush {
        number: String,
        expires_at: u64,
    },
    /// "Protect your account": the organisation requires an authenticator app; "Skip for now
    /// (N times left)" unless `mandatory`.
    EnrollAuthenticator {
        skips_left: u32,
        mandatory: bool,
    },
    /// The QR code to scan with the authenticator, and for "Can't scan image?" the activation
    /// code (in groups) and the server URL to type. Call `wait_for_phone()` while it is shown.
    ActivateAuthenticator {
        qr_payload: Sensitive,
        activation_code: Sensitive,
        server_url: String,
        label: String,
        expires_at: u64,
    },
    /// "Approve the test notification": the number to enter on the new authenticator.
    ApproveTestPush {
        number: String,
        expires_at: u64,
    },
    /// Password recovery: the code was typed; now the new password.
    ChooseNewPassword {
        identifier: String,
    },
    /// Federated and SSO methods continue in the system browser. `url` is filled by servers that
    /// offer the browser flow (a later protocol version); without it the app explains the method
    /// is not available natively.
    OpenBrowser {
        method: SignInMethod,
        url: Option<String>,
    },
    Done {
        session: Session,
    },
    /// The flow cannot continue (e.g. the sign-in expired on the server); `start` again.
    Failed {
        reason: ClientError,
    },
}

impl SignInState {
    fn name(&self) -> &'static str {
        match self {
            SignInState::EnterIdentifier => "EnterIdentifier",
            SignInState::UseSignInHost { .. } => "UseSignInHost",
            SignInState::ChooseMethod { .. } => "ChooseMethod",
            SignInState::EnterPassword { .. } => "EnterPassword",
            SignInState::EnterCode { .. } => "EnterCode",
            SignInState::ChooseSecondFactor { .. } => "ChooseSecondFactor",
            SignInState::EnterTotp { .. } => "EnterTotp",
            SignInState::EnterBackupCode { .. } => "EnterBackupCode",
            SignInState::ApprovePush { .. } => "ApprovePush",
            SignInState::EnrollAuthenticator { .. } => "EnrollAuthenticator",
            SignInState::ActivateAuthenticator { .. } => "ActivateAuthenticator",
            SignInState::ApproveTestPush { .. } => "ApproveTestPush",
            SignInState::ChooseNewPassword { .. } => "ChooseNewPassword",
            SignInState::OpenBrowser { .. } => "OpenBrowser",
            SignInState::Done { .. } => "Done",
            SignInState::Failed { .. } => "Failed",
        }
    }
}

/// A value the screen shows but logs must not (an activation code, a QR payload carrying one).
#[derive(Clone, PartialEq, Eq)]
pub struct Sensitive(Zeroizing<String>);

impl Sensitive {
    pub fn new(value: String) -> Self {
        Sensitive(Zeroizing::new(value))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodKind {
    Password,
    /// A code by email instead of a password.
    EmailCode,
    /// A code by SMS instead of a password.
    SmsCode,
    /// Google, Microsoft...: the system browser.
    Federated,
    /// Enterprise single sign-on: the system browser.
    Sso,
    /// "Sign in with your phone": approve a number on the authenticator, no password.
    Push,
}

impl MethodKind {
    fn wire(self) -> &'static str {
        match self {
            MethodKind::Password => "password",
            MethodKind::EmailCode => "email_code",
            MethodKind::SmsCode => "sms_code",
            MethodKind::Federated => "federated",
            MethodKind::Sso => "sso",
            MethodKind::Push => "push",
        }
    }
}

/// One entry of the method list, ready to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInMethod {
    pub kind: MethodKind,
    /// "Password", "Email a code to a***@acme.example", "Google", "Globex SSO".
    pub display_name: String,
    /// For code methods: where the code goes, masked.
    pub destination_hint: Option<String>,
    /// For browser methods: the provider id (`google`, `globex-okta`).
    pub provider: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodePurpose {
    /// The code instead of a password.
    SignIn,
    /// "Confirm it's you": the device is not recognised.
    VerifyDevice,
    PasswordReset,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeChannel {
    Email,
    Sms,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactor {
    /// Approve a request on the authenticator app.
    Push,
    Totp,
    BackupCode,
}

impl SecondFactor {
    fn wire(self) -> &'static str {
        match self {
            SecondFactor::Push => "push",
            SecondFactor::Totp => "totp",
            SecondFactor::BackupCode => "backup_code",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecondFactorOption {
    pub kind: SecondFactor,
    /// "Authenticator app code", "Backup code".
    pub display_name: String,
}

/// Told of every state change. Called on the task running the action; it must not block, and it
/// must not wait for another action of the same flow (start one on another task instead).
pub trait SignInListener: Send + Sync {
    fn on_state_changed(&self, state: SignInState);
}

type SharedListener = Arc<StdMutex<Option<Arc<dyn SignInListener>>>>;

/// One sign-in, from the identifier to a session. Cheap to clone; clones drive the same flow.
#[derive(Clone)]
pub struct SignIn {
    inner: Arc<Inner>,
}

struct Inner {
    flow: Mutex<Flow>,
    /// The committed state, readable without waiting for a running action.
    current: StdMutex<SignInState>,
    listener: SharedListener,
    /// Bumped by `cancel()`; running actions watch it.
    cancel: watch::Sender<u64>,
}

impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignIn")
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

impl SignIn {
    pub(crate) fn new(client: AuthClient) -> SignIn {
        SignIn::with_step_up(client, None)
    }

    /// A step-up sign-in for `step_up`'s user (see [`Session::step_up`]): every first challenge
    /// request carries `acr_values=mfa`, and only that identifier may be started.
    pub(crate) fn with_step_up(client: AuthClient, step_up: Option<StepUp>) -> SignIn {
        let listener: SharedListener = Arc::default();
        let flow = Flow {
            api: client.api.clone(),
            client,
            listener: listener.clone(),
            state: SignInState::EnterIdentifier,
            back_stack: Vec::new(),
            identifier: None,
            pkce: None,
            auth_session: None,
            reset_code: None,
            step_up,
        };
        SignIn {
            inner: Arc::new(Inner {
                flow: Mutex::new(flow),
                current: StdMutex::new(SignInState::EnterIdentifier),
                listener,
                cancel: watch::channel(0).0,
            }),
        }
    }

    pub fn state(&self) -> SignInState {
        lock(&self.inner.current).clone()
    }

    /// Whether this flow is a step-up sign-in ([`Session::step_up`]): a second factor is
    /// required, and it ends in a session that may make security changes.
    pub async fn is_step_up(&self) -> bool {
        self.inner.flow.lock().await.step_up.is_some()
    }

    /// The server this flow talks to now (changes after [`SignInState::UseSignInHost`]).
    pub async fn server_url(&self) -> String {
        self.inner.flow.lock().await.api.base().to_owned()
    }

    pub fn set_listener(&self, listener: Option<Arc<dyn SignInListener>>) {
        *lock(&self.inner.listener) = listener;
    }

    /// The user typed an email or phone number: finds the methods its organisation allows.
    pub async fn start(&self, identifier: &str) -> Result<SignInState, ClientError> {
        let identifier = identifier.trim().to_owned();
        self.act(|mut flow| async move {
            let result = flow.start(identifier).await;
            (flow, result)
        })
        .await
    }

    pub async fn choose_method(&self, method: &SignInMethod) -> Result<SignInState, ClientError> {
        let method = method.clone();
        self.act(|mut flow| async move {
            let result = flow.choose_method(method).await;
            (flow, result)
        })
        .await
    }

    pub async fn submit_password(&self, password: &str) -> Result<SignInState, ClientError> {
        let password = Zeroizing::new(password.to_owned());
        self.act(|mut flow| async move {
            let result = flow.submit_password(password).await;
            (flow, result)
        })
        .await
    }

    /// The code of the current step: email/SMS code, device verification, TOTP, backup code, or
    /// the password-reset code.
    pub async fn submit_code(&self, code: &str) -> Result<SignInState, ClientError> {
        let code = Zeroizing::new(code.to_owned());
        self.act(|mut flow| async move {
            let result = flow.submit_code(code).await;
            (flow, result)
        })
        .await
    }

    pub async fn resend_code(&self) -> Result<SignInState, ClientError> {
        self.act(|mut flow| async move {
            let result = flow.resend_code().await;
            (flow, result)
        })
        .await
    }

    pub async fn choose_second_factor(
        &self,
        factor: SecondFactor,
    ) -> Result<SignInState, ClientError> {
        self.act(|mut flow| async move {
            let result = flow.choose_second_factor(factor).await;
            (flow, result)
        })
        .await
    }

    /// While a push, an activation or a test approval is shown: waits (long-polling the server)
    /// until the phone acts or the request expires, and answers the next state.
    pub async fn wait_for_phone(&self) -> Result<SignInState, ClientError> {
        self.act(|mut flow| async move {
            let result = flow.wait_for_phone().await;
            (flow, result)
        })
        .await
    }

    /// "Send another request": a new push with a new number.
    pub async fn resend_push(&self) -> Result<SignInState, ClientError> {
        self.act(|mut flow| async move {
            let result = flow.send_method("resend_push", "push").await;
            (flow, result)
        })
        .await
    }

    /// "Skip for now" on the "Protect your account" screen.
    pub async fn skip_enrollment(&self) -> Result<SignInState, ClientError> {
        self.act(|mut flow| async move {
            let result = flow.send_method("skip_enrollment", "skip_enrollment").await;
            (flow, result)
        })
        .await
    }

    /// "Set it up now": shows the QR code for the authenticator.
    pub async fn enroll_authenticator(&self) -> Result<SignInState, ClientError> {
        self.act(|mut flow| async move {
            let result = flow
                .send_method("enroll_authenticator", "enroll_authenticator")
                .await;
            (flow, result)
        })
        .await
    }

    /// "Forgot password?": emails a code to the account, then asks for it.
    pub async fn forgot_password(&self, identifier: &str) -> Result<SignInState, ClientError> {
        let identifier = identifier.trim().to_owned();
        self.act(|mut flow| async move {
            let result = flow.forgot_password(identifier).await;
            (flow, result)
        })
        .await
    }

    /// Sets the new password with the reset code; then the user signs in with it.
    pub async fn choose_new_password(&self, password: &str) -> Result<SignInState, ClientError> {
        let password = Zeroizing::new(password.to_owned());
        self.act(|mut flow| async move {
            let result = flow.choose_new_password(password).await;
            (flow, result)
        })
        .await
    }

    /// Back to the previous choice (method list, second-factor list), or to the identifier.
    pub async fn back(&self) -> Result<SignInState, ClientError> {
        self.act(|mut flow| async move {
            flow.back();
            (flow, Ok(()))
        })
        .await
    }

    /// Stops whatever is running (it answers [`ClientError::Cancelled`]) and returns to
    /// [`SignInState::EnterIdentifier`]. The flow stays usable.
    pub async fn cancel(&self) -> SignInState {
        self.inner.cancel.send_modify(|generation| *generation += 1);
        let mut flow = self.inner.flow.lock().await;
        flow.reset();
        self.commit(&mut flow, SignInState::EnterIdentifier)
    }

    async fn act<F, Fut>(&self, action: F) -> Result<SignInState, ClientError>
    where
        F: FnOnce(Flow) -> Fut,
        Fut: Future<Output = (Flow, Result<(), ClientError>)>,
    {
        let mut cancelled = self.inner.cancel.subscribe();
        let mut guard = tokio::select! {
            _ = cancelled.changed() => return Err(ClientError::Cancelled),
            guard = self.inner.flow.lock() => guard,
        };
        let before = guard.state.clone();
        let work = action(guard.clone());
        let (flow, result) = tokio::select! {
            biased;
            _ = cancelled.changed() => return Err(ClientError::Cancelled),
            done = work => done,
        };
        let state = flow.state.clone();
        *guard = flow;
        if state != before {
            self.commit(&mut guard, state.clone());
        }
        result.map(|()| state)
    }

    fn commit(&self, flow: &mut Flow, state: SignInState) -> SignInState {
        flow.state = state.clone();
        *lock(&self.inner.current) = state.clone();
        notify(&self.inner.listener, &state);
        state
    }
}

fn lock<T>(mutex: &StdMutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn notify(listener: &SharedListener, state: &SignInState) {
    let listener = lock(listener).clone();
    if let Some(listener) = listener {
        listener.on_state_changed(state.clone());
    }
}

/// PKCE S256 (RFC 7636): a fresh verifier per sign-in.
#[derive(Clone)]
struct Pkce {
    verifier: Zeroizing<String>,
    challenge: String,
}

impl Pkce {
    fn new() -> Result<Pkce, ClientError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        SystemRandom::new()
            .fill(&mut *bytes)
            .map_err(|_| ClientError::protocol("no system randomness"))?;
        let verifier = Zeroizing::new(BASE64URL_NOPAD.encode(&*bytes));
        let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
        Ok(Pkce {
            challenge: BASE64URL_NOPAD.encode(digest.as_ref()),
            verifier,
        })
    }
}

/// What makes a sign-in a step-up: the user it must be, and the session it replaces.
#[derive(Clone)]
pub(crate) struct StepUp {
    /// The signed-in user's identifier (their email); `start` refuses any other.
    pub identifier: String,
    /// The session being stepped up: ended locally just before the new one is saved (so its
    /// tokens can no longer overwrite the new ones), then revoked best-effort.
    pub replaces: Session,
}

/// Everything one sign-in knows. Actions work on a clone and the result is committed.
#[derive(Clone)]
struct Flow {
    client: AuthClient,
    /// The server this flow talks to: the client's, or the organisation's sign-in host.
    api: Api,
    listener: SharedListener,
    state: SignInState,
    back_stack: Vec<SignInState>,
    identifier: Option<String>,
    pkce: Option<Pkce>,
    auth_session: Option<String>,
    reset_code: Option<Zeroizing<String>>,
    /// Set for a step-up sign-in; survives `reset`.
    step_up: Option<StepUp>,
}

type Fields = Vec<(String, String)>;

impl Flow {
    fn reset(&mut self) {
        self.api = self.client.api.clone();
        self.back_stack.clear();
        self.identifier = None;
        self.pkce = None;
        self.auth_session = None;
        self.reset_code = None;
    }

    fn invalid(&self, action: &'static str) -> ClientError {
        ClientError::InvalidAction {
            action,
            state: self.state.name(),
        }
    }

    fn identifier(&self) -> String {
        self.identifier.clone().unwrap_or_default()
    }

    async fn start(&mut self, identifier: String) -> Result<(), ClientError> {
        if matches!(self.state, SignInState::Done { .. }) {
            return Err(self.invalid("start"));
        }
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
            return Err(self.invalid("choose_method"));
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
        let fields = vec![("method".to_owned(), method.kind.wire().to_owned())];
        let answer = self.challenge(fields).await?;
        self.back_stack.push(choice);
        self.apply(answer, Some(method), false).await
    }

    async fn submit_password(&mut self, password: Zeroizing<String>) -> Result<(), ClientError> {
        if !matches!(self.state, SignInState::EnterPassword { .. }) {
            return Err(self.invalid("submit_password"));
        }
        if password.is_empty() {
            return Err(ClientError::InvalidInput {
                what: "enter your password".into(),
            });
        }
        let fields = vec![
            ("method".to_owned(), "password".to_owned()),
            ("password".to_owned(), password.to_string()),
        ];
        let answer = self.challenge(fields).await?;
        self.apply(answer, None, true).await
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
            SignInState::EnterBackupCode { .. } => {
                if code.is_empty() {
                    return Err(ClientError::InvalidInput {
                        what: "enter one of your backup codes".into(),
                    });
                }
            }
            _ => return Err(self.invalid("submit_code")),
        }
        let answer = self
            .challenge(vec![("code".to_owned(), code.to_string())])
            .await?;
        self.apply(answer, None, true).await
    }

    async fn resend_code(&mut self) -> Result<(), ClientError> {
        let SignInState::EnterCode {
            purpose, channel, ..
        } = self.state
        else {
            return Err(self.invalid("resend_code"));
        };
        let method = match (purpose, channel) {
            (CodePurpose::PasswordReset, _) => {
                let identifier = self.identifier();
                return self.forgot_password(identifier).await;
            }
            (CodePurpose::VerifyDevice, _) => "verify_device",
            (CodePurpose::SignIn, CodeChannel::Email) => "email_code",
            (CodePurpose::SignIn, CodeChannel::Sms) => "sms_code",
        };
        let answer = self
            .challenge(vec![("method".to_owned(), method.to_owned())])
            .await?;
        self.apply(answer, None, false).await
    }

    async fn choose_second_factor(&mut self, factor: SecondFactor) -> Result<(), ClientError> {
        let SignInState::ChooseSecondFactor { options } = &self.state else {
            return Err(self.invalid("choose_second_factor"));
        };
        if !options.iter().any(|o| o.kind == factor) {
            return Err(ClientError::InvalidInput {
                what: "that second factor is not offered here".into(),
            });
        }
        let choice = self.state.clone();
        let answer = self
            .challenge(vec![("method".to_owned(), factor.wire().to_owned())])
            .await?;
        self.back_stack.push(choice);
        self.apply(answer, None, false).await
    }

    /// Sends `method` from the state that offers it: `push` again from `ApprovePush`, or the
    /// answers to the enrollment prompt.
    async fn send_method(&mut self, action: &'static str, method: &str) -> Result<(), ClientError> {
        let offered = match (&self.state, method) {
            (SignInState::ApprovePush { .. }, "push") => true,
            (SignInState::EnrollAuthenticator { mandatory, .. }, "skip_enrollment") => {
                if *mandatory {
                    return Err(ClientError::EnrollmentRequired);
                }
                true
            }
            (SignInState::EnrollAuthenticator { .. }, "enroll_authenticator") => true,
            _ => false,
        };
        if !offered {
            return Err(self.invalid(action));
        }
        let answer = self
            .challenge(vec![("method".to_owned(), method.to_owned())])
            .await?;
        self.apply(answer, None, method == "skip_enrollment").await
    }

    async fn wait_for_phone(&mut self) -> Result<(), ClientError> {
        const LONG_POLL_S: u64 = 25;
        let expires_at = match &self.state {
            SignInState::ApprovePush { expires_at, .. }
            | SignInState::ActivateAuthenticator { expires_at, .. }
            | SignInState::ApproveTestPush { expires_at, .. } => *expires_at,
            _ => return Err(self.invalid("wait_for_phone")),
        };
        let waiting = self.state.clone();
        loop {
            // The server's clock decides expiry; this only bounds each long poll.
            let wait = expires_at.saturating_sub(now()).clamp(1, LONG_POLL_S);
            let answer = self
                .challenge(vec![("wait".to_owned(), wait.to_string())])
                .await?;
            let enrolling = !matches!(waiting, SignInState::ApprovePush { .. });
            let result = self.apply(answer, None, true).await;
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

    async fn forgot_password(&mut self, identifier: String) -> Result<(), ClientError> {
        if matches!(self.state, SignInState::Done { .. }) {
            return Err(self.invalid("forgot_password"));
        }
        if identifier.is_empty() {
            return Err(ClientError::InvalidInput {
                what: "enter your email address".into(),
            });
        }
        #[derive(Deserialize)]
        struct Sent {
            destination_hint: String,
            length: u32,
            expires_at: u64,
        }
        let request = self
            .api
            .post_json("/v1/password/forgot", &json!({ "identifier": identifier }));
        let sent: Sent = self.api.call(request, None, 202).await?;
        if !matches!(self.state, SignInState::EnterCode { .. }) {
            self.back_stack.push(self.state.clone());
        }
        self.identifier = Some(identifier);
        self.state = SignInState::EnterCode {
            purpose: CodePurpose::PasswordReset,
            channel: CodeChannel::Email,
            destination_hint: sent.destination_hint,
            length: sent.length,
            expires_at: sent.expires_at,
            resend_after: 0,
        };
        Ok(())
    }

    async fn choose_new_password(
        &mut self,
        password: Zeroizing<String>,
    ) -> Result<(), ClientError> {
        let (SignInState::ChooseNewPassword { .. }, Some(code)) =
            (&self.state, self.reset_code.clone())
        else {
            return Err(self.invalid("choose_new_password"));
        };
        let request = self.api.post_json(
            "/v1/password/reset",
            &json!({
                "identifier": self.identifier(),
                "code": code.as_str(),
                "new_password": password.as_str(),
            }),
        );
        match self.api.call::<Value>(request, None, 200).await {
            Ok(_) => {
                // The server signs nobody in on a reset: the user signs in with the new password.
                let identifier = self.identifier();
                self.reset();
                self.identifier = Some(identifier.clone());
                self.back_stack = vec![SignInState::EnterIdentifier];
                self.state = SignInState::EnterPassword { identifier };
                Ok(())
            }
            Err(error @ (ClientError::WrongCredential { .. } | ClientError::Expired)) => {
                // Back to the code screen: the code was wrong or is dead.
                self.reset_code = None;
                if let Some(previous) = self.back_stack.pop() {
                    self.state = previous;
                }
                Err(error)
            }
            Err(error) => Err(error),
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
        mut fields: Fields,
    ) -> Result<Result<Challenge, Refusal>, ClientError> {
        match &self.auth_session {
            Some(session) => fields.insert(0, ("auth_session".into(), session.clone())),
            None => {
                let pkce = Pkce::new()?;
                let mut first = vec![
                    ("identifier".to_owned(), self.identifier()),
                    ("code_challenge".to_owned(), pkce.challenge.clone()),
                    ("code_challenge_method".to_owned(), "S256".to_owned()),
                ];
                if let Some(token) = self.client.device_token(self.api.base())? {
                    first.push(("device_token".to_owned(), token.to_string()));
                }
                if self.step_up.is_some() {
                    // RFC 9470: ask for a sign-in with a second factor.
                    first.push(("acr_values".to_owned(), "mfa".to_owned()));
                }
                first.append(&mut fields);
                fields = first;
                self.pkce = Some(pkce);
            }
        }
        self.api.challenge(fields).await
    }

    /// Moves to the state an answer asks for.
    async fn apply(
        &mut self,
        answer: Result<Challenge, Refusal>,
        chosen: Option<SignInMethod>,
        credential: bool,
    ) -> Result<(), ClientError> {
        match answer {
            Ok(Challenge::Code(code)) => {
                let session = self.exchange(code).await?;
                self.back_stack.clear();
                self.state = SignInState::Done { session };
                Ok(())
            }
            Ok(Challenge::Next { auth_session, next }) => {
                self.auth_session = Some(auth_session);
                let state = self.state_of(&next)?;
                if credential && state.name() != self.state.name() {
                    // A credential was accepted: earlier choices cannot be revisited.
                    self.back_stack
                        .retain(|s| matches!(s, SignInState::EnterIdentifier));
                }
                self.state = state;
                Ok(())
            }
            Ok(Challenge::RedirectToWeb { method, provider }) => {
                let method = chosen.unwrap_or(SignInMethod {
                    kind: if method == "sso" {
                        MethodKind::Sso
                    } else {
                        MethodKind::Federated
                    },
                    display_name: provider.clone(),
                    destination_hint: None,
                    provider: Some(provider),
                });
                self.state = SignInState::OpenBrowser { method, url: None };
                Ok(())
            }
            Err(Refusal {
                error,
                auth_session,
            }) => {
                if auth_session.is_some() {
                    self.auth_session = auth_session;
                }
                if error == ClientError::SignInExpired {
                    self.reset();
                    self.state = SignInState::Failed {
                        reason: error.clone(),
                    };
                }
                Err(error)
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
                ("grant_type".into(), "authorization_code".into()),
                ("code".into(), code.to_string()),
                ("code_verifier".into(), pkce.verifier.to_string()),
            ])
            .await?;
        if let Some(device_token) = &answer.device_token {
            self.client
                .save_device_token(self.api.base(), device_token)?;
        }
        let tokens = StoredTokens::from_answer(self.api.base(), &answer, now());
        let key = self.client.session_key();
        // A step-up retires the session it replaces before saving under the same key.
        let retired = match &self.step_up {
            Some(step_up) => step_up.replaces.retire().await,
            None => None,
        };
        Session::save(&*self.client.store, &key, &tokens)?;
        self.auth_session = None;
        self.pkce = None;
        if let (Some(step_up), Some(refresh)) = (&self.step_up, retired) {
            step_up.replaces.revoke_retired(refresh).await;
        }
        Ok(Session::new(
            self.api.clone(),
            self.client.store.clone(),
            key,
            tokens,
        ))
    }

    fn state_of(&self, next: &Value) -> Result<SignInState, ClientError> {
        let kind = next.get("type").and_then(Value::as_str).unwrap_or_default();
        let number = |name: &str| {
            next.get(name)
                .and_then(Value::as_u64)
                .ok_or_else(|| ClientError::protocol(format!("step `{kind}` without `{name}`")))
        };
        let text = |name: &str| {
            next.get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| ClientError::protocol(format!("step `{kind}` without `{name}`")))
        };
        Ok(match kind {
            "password" => SignInState::EnterPassword {
                identifier: self.identifier(),
            },
            "email_code" | "sms_code" | "verify_device" => SignInState::EnterCode {
                purpose: if kind == "verify_device" {
                    CodePurpose::VerifyDevice
                } else {
                    CodePurpose::SignIn
                },
                channel: match text("channel")?.as_str() {
                    "sms" => CodeChannel::Sms,
                    "email" => CodeChannel::Email,
                    other => {
                        return Err(ClientError::protocol(format!(
                            "unknown channel `{}`",
                            crate::echo(other)
                        )))
                    }
                },
                destination_hint: text("destination_hint")?,
                length: u32::try_from(number("length")?).unwrap_or(u32::MAX),
                expires_at: number("expires_at")?,
                resend_after: number("resend_after")?,
            },
            "choose_second_factor" => {
                let factors = next
                    .get("factors")
                    .and_then(Value::as_array)
                    .ok_or_else(|| ClientError::protocol("choose_second_factor without factors"))?;
                let options: Vec<SecondFactorOption> = factors
                    .iter()
                    .filter_map(Value::as_str)
                    .filter_map(|name| match name {
                        "push" => Some(SecondFactorOption {
                            kind: SecondFactor::Push,
                            display_name: "Approve a request on my phone".into(),
                        }),
                        "totp" => Some(SecondFactorOption {
                            kind: SecondFactor::Totp,
                            display_name: "Authenticator app code".into(),
                        }),
                        "backup_code" => Some(SecondFactorOption {
                            kind: SecondFactor::BackupCode,
                            display_name: "Backup code".into(),
                        }),
                        _ => None, // a factor this version does not know is not offered
                    })
                    .collect();
                if options.is_empty() {
                    return Err(ClientError::protocol("no second factor this app supports"));
                }
                SignInState::ChooseSecondFactor { options }
            }
            "push" | "approve_test_push" => {
                let expires_at = number("expires_at")?;
                let shown = text("number")?;
                if kind == "push" {
                    SignInState::ApprovePush {
                        number: shown,
                        expires_at,
                    }
                } else {
                    SignInState::ApproveTestPush {
                        number: shown,
                        expires_at,
                    }
                }
            }
            "enroll_authenticator" => SignInState::EnrollAuthenticator {
                skips_left: u32::try_from(number("skips_left")?).unwrap_or(u32::MAX),
                mandatory: next
                    .get("mandatory")
                    .and_then(Value::as_bool)
                    .ok_or_else(|| {
                        ClientError::protocol("enroll_authenticator without mandatory")
                    })?,
            },
            "activate_authenticator" => {
                let expires_at = number("expires_at")?;
                match (&self.state, next.get("qr_payload")) {
                    // Later answers carry only the expiry: the code is shown once.
                    (
                        SignInState::ActivateAuthenticator {
                            qr_payload,
                            activation_code,
                            server_url,
                            label,
                            ..
                        },
                        None,
                    ) => SignInState::ActivateAuthenticator {
                        qr_payload: qr_payload.clone(),
                        activation_code: activation_code.clone(),
                        server_url: server_url.clone(),
                        label: label.clone(),
                        expires_at,
                    },
                    _ => SignInState::ActivateAuthenticator {
                        qr_payload: Sensitive::new(text("qr_payload")?),
                        activation_code: Sensitive::new(text("activation_code")?),
                        server_url: text("server_url")?,
                        label: text("label")?,
                        expires_at,
                    },
                }
            }
            "totp" => SignInState::EnterTotp {
                length: u32::try_from(number("length")?).unwrap_or(u32::MAX),
            },
            "backup_code" => SignInState::EnterBackupCode {
                remaining: u32::try_from(number("remaining")?).unwrap_or(u32::MAX),
            },
            other => {
                return Err(ClientError::protocol(format!(
                    "unknown step `{}`",
                    crate::echo(other)
                )))
            }
        })
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

fn choose_method_state(answer: LoginMethods) -> Result<SignInState, ClientError> {
    let methods: Vec<SignInMethod> = answer
        .methods
        .into_iter()
        .filter_map(|m| {
            let (kind, display_name) = match m.kind.as_str() {
                "password" => (MethodKind::Password, "Password".to_owned()),
                "email_code" => (
                    MethodKind::EmailCode,
                    format!(
                        "Email a code to {}",
                        m.destination_hint.as_deref().unwrap_or("your address")
                    ),
                ),
                "sms_code" => (
                    MethodKind::SmsCode,
                    format!(
                        "Text a code to {}",
                        m.destination_hint.as_deref().unwrap_or("your phone")
                    ),
                ),
                "federated" => (
                    MethodKind::Federated,
                    m.display_name.clone().or(m.provider.clone())?,
                ),
                "sso" => (
                    MethodKind::Sso,
                    m.display_name.clone().or(m.provider.clone())?,
                ),
                "push" => (MethodKind::Push, "Sign in with my phone".to_owned()),
                _ => return None, // a method this version does not know is not offered
            };
            Some(SignInMethod {
                kind,
                display_name,
                destination_hint: m.destination_hint,
                provider: m.provider,
            })
        })
        .collect();
    if methods.is_empty() {
        return Err(ClientError::protocol("no sign-in method this app supports"));
    }
    Ok(SignInState::ChooseMethod {
        identifier: answer.identifier,
        organization: answer.organization.map(|o| o.name),
        methods,
    })
}
