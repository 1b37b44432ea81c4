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
//!
//! By job: [`SignIn`] here, the handle (one method per gesture, each a `Gesture`); `state`, what
//! the screen shows; `flow`, the requests each gesture sends; `transition`, the pure function from
//! a state and a decoded answer to the next step; `steps`, the server's `next` step and method
//! list to states; `recovery`, forgot/reset password; `pkce`; `step_up`,
//! [`Session::step_up`](crate::session::Session::step_up).

mod flow;
mod gesture;
mod pkce;
mod recovery;
mod state;
mod step_up;
mod steps;
mod transition;

use std::sync::{Arc, Mutex as StdMutex};

use tokio::sync::{watch, Mutex};
use zeroize::Zeroizing;

pub use state::{
    CodeChannel, CodePurpose, MethodKind, SecondFactor, SecondFactorOption, Sensitive,
    SignInMethod, SignInState,
};
pub(crate) use step_up::StepUp;

use crate::app::App;
use crate::error::ClientError;
use flow::Flow;
use gesture::Gesture;

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
    pub(crate) fn new(app: App) -> SignIn {
        SignIn::with_step_up(app, None)
    }

    /// A step-up sign-in for `step_up`'s user (see
    /// [`Session::step_up`](crate::session::Session::step_up)): every first challenge request
    /// carries `acr_values=mfa`, and only that identifier may be started.
    pub(crate) fn with_step_up(app: App, step_up: Option<StepUp>) -> SignIn {
        let listener: SharedListener = Arc::default();
        SignIn {
            inner: Arc::new(Inner {
                flow: Mutex::new(Flow::new(app, listener.clone(), step_up)),
                current: StdMutex::new(SignInState::EnterIdentifier),
                listener,
                cancel: watch::channel(0).0,
            }),
        }
    }

    pub fn state(&self) -> SignInState {
        lock(&self.inner.current).clone()
    }

    /// Whether this flow is a step-up sign-in
    /// ([`Session::step_up`](crate::session::Session::step_up)): a second factor is required, and
    /// it ends in a session that may make security changes.
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
        self.act(Gesture::Start(identifier.trim().to_owned())).await
    }

    pub async fn choose_method(&self, method: &SignInMethod) -> Result<SignInState, ClientError> {
        self.act(Gesture::ChooseMethod(method.clone())).await
    }

    pub async fn submit_password(&self, password: &str) -> Result<SignInState, ClientError> {
        self.act(Gesture::SubmitPassword(Zeroizing::new(password.to_owned())))
            .await
    }

    /// The code of the current step: email/SMS code, device verification, TOTP, backup code, or
    /// the password-reset code.
    pub async fn submit_code(&self, code: &str) -> Result<SignInState, ClientError> {
        self.act(Gesture::SubmitCode(Zeroizing::new(code.to_owned())))
            .await
    }

    pub async fn resend_code(&self) -> Result<SignInState, ClientError> {
        self.act(Gesture::ResendCode).await
    }

    pub async fn choose_second_factor(
        &self,
        factor: SecondFactor,
    ) -> Result<SignInState, ClientError> {
        self.act(Gesture::ChooseSecondFactor(factor)).await
    }

    /// While a push, an activation or a test approval is shown: waits (long-polling the server)
    /// until the phone acts or the request expires, and answers the next state.
    pub async fn wait_for_phone(&self) -> Result<SignInState, ClientError> {
        self.act(Gesture::WaitForPhone).await
    }

    /// "Send another request": a new push with a new number.
    pub async fn resend_push(&self) -> Result<SignInState, ClientError> {
        self.act(Gesture::ResendPush).await
    }

    /// "Skip for now" on the "Protect your account" screen.
    pub async fn skip_enrollment(&self) -> Result<SignInState, ClientError> {
        self.act(Gesture::SkipEnrollment).await
    }

    /// "Set it up now": shows the QR code for the authenticator.
    pub async fn enroll_authenticator(&self) -> Result<SignInState, ClientError> {
        self.act(Gesture::EnrollAuthenticator).await
    }

    /// "Forgot password?": emails a code to the account, then asks for it.
    pub async fn forgot_password(&self, identifier: &str) -> Result<SignInState, ClientError> {
        self.act(Gesture::ForgotPassword(identifier.trim().to_owned()))
            .await
    }

    /// Sets the new password with the reset code; then the user signs in with it.
    pub async fn choose_new_password(&self, password: &str) -> Result<SignInState, ClientError> {
        self.act(Gesture::ChooseNewPassword(Zeroizing::new(
            password.to_owned(),
        )))
        .await
    }

    /// Back to the previous choice (method list, second-factor list), or to the identifier.
    pub async fn back(&self) -> Result<SignInState, ClientError> {
        self.act(Gesture::Back).await
    }

    /// Stops whatever is running (it answers [`ClientError::Cancelled`]) and returns to
    /// [`SignInState::EnterIdentifier`]. The flow stays usable.
    pub async fn cancel(&self) -> SignInState {
        self.inner.cancel.send_modify(|generation| *generation += 1);
        let mut flow = self.inner.flow.lock().await;
        flow.reset();
        self.commit(&mut flow, SignInState::EnterIdentifier)
    }

    /// Runs `gesture` on a copy of the flow and commits the copy when it ends.
    async fn act(&self, gesture: Gesture) -> Result<SignInState, ClientError> {
        let mut cancelled = self.inner.cancel.subscribe();
        let mut guard = tokio::select! {
            _ = cancelled.changed() => return Err(ClientError::Cancelled),
            guard = self.inner.flow.lock() => guard,
        };
        let before = guard.state.clone();
        let mut copy = guard.clone();
        let work = async move {
            let result = copy.perform(gesture).await;
            (copy, result)
        };
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
