//! [`SignInFlow`]: the sign-in state machine for the apps. The screen renders [`SignInState`]
//! (told to a [`SignInListener`] on every change) and calls one async method per gesture.

use std::sync::Arc;

use authcore::signin::{
    CodeChannel, CodePurpose, SecondFactor, SecondFactorOption, SignIn, SignInMethod,
    SignInState as CoreState,
};
use authcore::ClientError as CoreClientError;
use authcore::Timestamp;

use crate::client::Session;
use crate::errors::ClientError;
use crate::platform::CallbackError;
use crate::runtime::run;

/// A value the screen shows but logs must not (the activation code, a QR payload carrying one):
/// its `toString()` / `description` stays redacted; [`Sensitive::expose`] gives the text.
#[derive(Debug, uniffi::Object)]
pub struct Sensitive(authcore::signin::Sensitive);

#[uniffi::export]
impl Sensitive {
    pub fn expose(&self) -> String {
        self.0.expose().to_owned()
    }
}

pub(crate) fn sensitive(value: authcore::signin::Sensitive) -> Arc<Sensitive> {
    Arc::new(Sensitive(value))
}

/// What the screen shows now (docs/signin.md has the table of states and gestures).
#[derive(uniffi::Enum)]
pub enum SignInState {
    /// "Sign in": an email or phone field. Gesture: `start`.
    EnterIdentifier,
    /// The organisation signs in at `host`; shown while the flow moves there.
    UseSignInHost {
        host: String,
    },
    ChooseMethod {
        identifier: String,
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
        expires_at: Timestamp,
        /// Seconds from now before "Resend code" is allowed.
        resend_after_seconds: u64,
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
    /// "Approve the sign-in on your phone: enter `number`". Call `wait_for_phone` meanwhile.
    ApprovePush {
        number: String,
        expires_at: Timestamp,
    },
    /// "Protect your account": "Skip for now (`skips_left` times left)" unless `mandatory`.
    EnrollAuthenticator {
        skips_left: u32,
        mandatory: bool,
    },
    /// The QR code to scan, and for "Can't scan image?" the activation code and server URL.
    /// Call `wait_for_phone` meanwhile.
    ActivateAuthenticator {
        qr_payload: Arc<Sensitive>,
        activation_code: Arc<Sensitive>,
        server_url: String,
        label: String,
        expires_at: Timestamp,
    },
    /// "Approve the test notification": the number to enter on the new authenticator.
    ApproveTestPush {
        number: String,
        expires_at: Timestamp,
    },
    ChooseNewPassword {
        identifier: String,
    },
    /// Federated and SSO methods continue in the system browser (`url` when the server offers it).
    OpenBrowser {
        method: SignInMethod,
        url: Option<String>,
    },
    Done {
        session: Arc<Session>,
    },
    /// The flow cannot continue; `reason` is the typed error (e.g. `SignInExpired`: the sign-in
    /// expired on the server), its `message` the sentence to show. `start` again.
    Failed {
        reason: ClientError,
    },
}

impl From<CoreState> for SignInState {
    fn from(state: CoreState) -> Self {
        match state {
            CoreState::EnterIdentifier => SignInState::EnterIdentifier,
            CoreState::UseSignInHost { host } => SignInState::UseSignInHost { host },
            CoreState::ChooseMethod {
                identifier,
                organization,
                methods,
            } => SignInState::ChooseMethod {
                identifier,
                organization,
                methods,
            },
            CoreState::EnterPassword { identifier } => SignInState::EnterPassword { identifier },
            CoreState::EnterCode {
                purpose,
                channel,
                destination_hint,
                length,
                expires_at,
                resend_after,
            } => SignInState::EnterCode {
                purpose,
                channel,
                destination_hint,
                length,
                expires_at,
                resend_after_seconds: resend_after,
            },
            CoreState::ChooseSecondFactor { options } => {
                SignInState::ChooseSecondFactor { options }
            }
            CoreState::EnterTotp { length } => SignInState::EnterTotp { length },
            CoreState::EnterBackupCode { remaining } => SignInState::EnterBackupCode { remaining },
            CoreState::ApprovePush { number, expires_at } => {
                SignInState::ApprovePush { number, expires_at }
            }
            CoreState::EnrollAuthenticator {
                skips_left,
                mandatory,
            } => SignInState::EnrollAuthenticator {
                skips_left,
                mandatory,
            },
            CoreState::ActivateAuthenticator {
                qr_payload,
                activation_code,
                server_url,
                label,
                expires_at,
            } => SignInState::ActivateAuthenticator {
                qr_payload: sensitive(qr_payload),
                activation_code: sensitive(activation_code),
                server_url,
                label,
                expires_at,
            },
            CoreState::ApproveTestPush { number, expires_at } => {
                SignInState::ApproveTestPush { number, expires_at }
            }
            CoreState::ChooseNewPassword { identifier } => {
                SignInState::ChooseNewPassword { identifier }
            }
            CoreState::OpenBrowser { method, url } => SignInState::OpenBrowser { method, url },
            CoreState::Done { session } => SignInState::Done {
                session: Session::new(session),
            },
            CoreState::Failed { reason } => SignInState::Failed {
                reason: reason.into(),
            },
        }
    }
}

/// Told of every state change, on a runtime thread: post to the UI thread, don't block, and
/// don't wait here for another gesture of the same flow. What it throws is ignored: the flow
/// goes on, and the gesture still answers the new state.
#[uniffi::export(with_foreign)]
pub trait SignInListener: Send + Sync {
    fn on_state_changed(&self, state: SignInState) -> Result<(), CallbackError>;
}

struct ListenerAdapter(Arc<dyn SignInListener>);

impl authcore::signin::SignInListener for ListenerAdapter {
    fn on_state_changed(&self, state: CoreState) {
        tracing::debug!(state = state.name(), "sign-in state changed");
        if self.0.on_state_changed(state.into()).is_err() {
            tracing::warn!("the app's SignInListener threw; ignored");
        }
    }
}

/// One sign-in, from the identifier to a session. Gestures run one at a time; a gesture whose
/// caller stops waiting (cancelled coroutine / Swift task) changes nothing.
#[derive(uniffi::Object)]
pub struct SignInFlow {
    core: SignIn,
}

impl SignInFlow {
    pub(crate) fn new(core: SignIn) -> Arc<Self> {
        Arc::new(SignInFlow { core })
    }

    async fn gesture<F, Fut>(&self, action: F) -> Result<SignInState, ClientError>
    where
        F: FnOnce(SignIn) -> Fut,
        Fut: std::future::Future<Output = Result<CoreState, CoreClientError>> + Send + 'static,
    {
        Ok(run(action(self.core.clone())).await?.into())
    }
}

#[uniffi::export]
impl SignInFlow {
    pub fn state(&self) -> SignInState {
        self.core.state().into()
    }

    /// The server the flow talks to now (it changes after `UseSignInHost`).
    pub async fn server_url(&self) -> String {
        let core = self.core.clone();
        run(async move { core.server_url().await }).await
    }

    /// `None` stops the notifications.
    pub fn set_listener(&self, listener: Option<Arc<dyn SignInListener>>) {
        self.core
            .set_listener(listener.map(|l| {
                Arc::new(ListenerAdapter(l)) as Arc<dyn authcore::signin::SignInListener>
            }));
    }

    /// The user typed an email or phone number.
    pub async fn start(&self, identifier: String) -> Result<SignInState, ClientError> {
        self.gesture(|f| async move { f.start(&identifier).await })
            .await
    }

    pub async fn choose_method(&self, method: SignInMethod) -> Result<SignInState, ClientError> {
        self.gesture(|f| async move { f.choose_method(&method).await })
            .await
    }

    pub async fn submit_password(&self, password: String) -> Result<SignInState, ClientError> {
        let password = zeroize::Zeroizing::new(password);
        self.gesture(|f| async move { f.submit_password(&password).await })
            .await
    }

    /// The code of the current step: email/SMS code, device verification, TOTP, backup code or
    /// password-reset code.
    pub async fn submit_code(&self, code: String) -> Result<SignInState, ClientError> {
        let code = zeroize::Zeroizing::new(code);
        self.gesture(|f| async move { f.submit_code(&code).await })
            .await
    }

    pub async fn resend_code(&self) -> Result<SignInState, ClientError> {
        self.gesture(|f| async move { f.resend_code().await }).await
    }

    pub async fn choose_second_factor(
        &self,
        factor: SecondFactor,
    ) -> Result<SignInState, ClientError> {
        self.gesture(|f| async move { f.choose_second_factor(factor).await })
            .await
    }

    /// While a push, an activation or a test approval is shown: waits until the phone acts or
    /// the request expires. Cancel the call to stop waiting; the flow stays where it was.
    pub async fn wait_for_phone(&self) -> Result<SignInState, ClientError> {
        self.gesture(|f| async move { f.wait_for_phone().await })
            .await
    }

    /// "Send another request": a new push with a new number.
    pub async fn resend_push(&self) -> Result<SignInState, ClientError> {
        self.gesture(|f| async move { f.resend_push().await }).await
    }

    /// "Skip for now" on "Protect your account".
    pub async fn skip_enrollment(&self) -> Result<SignInState, ClientError> {
        self.gesture(|f| async move { f.skip_enrollment().await })
            .await
    }

    /// "Set it up now": the QR code for the authenticator.
    pub async fn enroll_authenticator(&self) -> Result<SignInState, ClientError> {
        self.gesture(|f| async move { f.enroll_authenticator().await })
            .await
    }

    /// "Forgot password?": emails a code, then asks for it.
    pub async fn forgot_password(&self, identifier: String) -> Result<SignInState, ClientError> {
        self.gesture(|f| async move { f.forgot_password(&identifier).await })
            .await
    }

    pub async fn choose_new_password(&self, password: String) -> Result<SignInState, ClientError> {
        let password = zeroize::Zeroizing::new(password);
        self.gesture(|f| async move { f.choose_new_password(&password).await })
            .await
    }

    /// Back to the previous choice, or to the identifier.
    pub async fn back(&self) -> Result<SignInState, ClientError> {
        self.gesture(|f| async move { f.back().await }).await
    }

    /// Stops the running gesture (it fails with `Cancelled`) and returns to `EnterIdentifier`.
    pub async fn cancel(&self) -> SignInState {
        let core = self.core.clone();
        run(async move { core.cancel().await }).await.into()
    }
}
