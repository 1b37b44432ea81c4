//! The pure transition function: from the state a screen shows and a decoded server answer (the
//! `next` step, an authorization code, a typed error, a password-recovery answer) to what the
//! flow does next. No I/O: the flow ([`super::flow`]) sends the requests and carries the
//! transitions out.

use zeroize::Zeroizing;

use super::state::{CodeChannel, CodePurpose, MethodKind, SignInMethod, SignInState};
use super::steps::state_of;
use crate::api::{Challenge, Refusal};
use crate::error::ClientError;
use crate::timestamp::Timestamp;

/// A decoded server answer to one gesture.
pub(crate) enum Answer {
    /// `POST /v1/authorize-challenge` answered.
    Challenge {
        reply: Result<Challenge, Refusal>,
        /// The method the user chose, when the request was that choice (names the browser method
        /// of a `redirect_to_web`).
        chosen: Option<SignInMethod>,
        /// The request carried a credential (a password, a code, the phone's answer, a skip).
        credential: bool,
    },
    /// `POST /v1/password/forgot`: a reset code was sent by email.
    ResetCodeSent {
        destination_hint: String,
        length: u32,
        expires_at: Timestamp,
    },
    /// `POST /v1/password/reset` answered.
    PasswordReset(Result<(), ClientError>),
}

/// What the flow does with an answer.
#[derive(PartialEq, Eq)]
pub(crate) enum Transition {
    /// An authorization code: exchange it for tokens (PKCE); the flow ends `Done`, no way back.
    Exchange(Zeroizing<String>),
    /// Show `state`; continue with `auth_session` when the server gave one.
    Move {
        state: SignInState,
        auth_session: Option<String>,
        back: Back,
    },
    /// Stay on this step and answer `error`; the server kept the sign-in under `auth_session`
    /// when it gave one.
    Stay {
        error: ClientError,
        auth_session: Option<String>,
    },
    /// Back to the previous screen and answer `error` (the reset code was wrong or is dead).
    GoBack(ClientError),
    /// The sign-in cannot continue: forget it, show `Failed` and answer `error`.
    Fail(ClientError),
    /// Forget the sign-in but not the identifier, and show `state` with only `EnterIdentifier`
    /// behind it (the password was reset: sign in with the new one).
    Restart(SignInState),
}

/// What happens to the screens behind on a [`Transition::Move`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Back {
    Keep,
    /// The current screen goes behind the new one.
    Push,
    /// A credential was accepted: earlier choices cannot be revisited (only `EnterIdentifier`
    /// stays behind).
    ForgetChoices,
}

/// The next step of the flow at `state` (signing in `identifier`) given `answer`.
pub(crate) fn next(state: &SignInState, identifier: &str, answer: Answer) -> Transition {
    match answer {
        Answer::Challenge {
            reply,
            chosen,
            credential,
        } => match reply {
            Ok(Challenge::Code(code)) => Transition::Exchange(code),
            Ok(Challenge::Next { auth_session, next }) => {
                match state_of(&next, state, identifier) {
                    Ok(new) => Transition::Move {
                        back: if credential && new.name() != state.name() {
                            Back::ForgetChoices
                        } else {
                            Back::Keep
                        },
                        state: new,
                        auth_session: Some(auth_session),
                    },
                    Err(error) => Transition::Stay {
                        error,
                        auth_session: Some(auth_session),
                    },
                }
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
                Transition::Move {
                    state: SignInState::OpenBrowser { method, url: None },
                    auth_session: None,
                    back: Back::Keep,
                }
            }
            Err(Refusal {
                error: error @ ClientError::SignInExpired,
                ..
            }) => Transition::Fail(error),
            Err(Refusal {
                error,
                auth_session,
            }) => Transition::Stay {
                error,
                auth_session,
            },
        },
        Answer::ResetCodeSent {
            destination_hint,
            length,
            expires_at,
        } => Transition::Move {
            state: SignInState::EnterCode {
                purpose: CodePurpose::PasswordReset,
                channel: CodeChannel::Email,
                destination_hint,
                length,
                expires_at,
                resend_after: 0,
            },
            auth_session: None,
            // "Resend code" on the reset code screen replaces it.
            back: if matches!(state, SignInState::EnterCode { .. }) {
                Back::Keep
            } else {
                Back::Push
            },
        },
        // The server signs nobody in on a reset: the user signs in with the new password.
        Answer::PasswordReset(Ok(())) => Transition::Restart(SignInState::EnterPassword {
            identifier: identifier.to_owned(),
        }),
        Answer::PasswordReset(Err(
            error @ (ClientError::WrongCredential { .. } | ClientError::Expired),
        )) => Transition::GoBack(error),
        Answer::PasswordReset(Err(error)) => Transition::Stay {
            error,
            auth_session: None,
        },
    }
}

/// No code and no `auth_session` in Debug output.
impl std::fmt::Debug for Transition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Transition::Exchange(_) => f.write_str("Exchange(<redacted>)"),
            Transition::Move {
                state,
                auth_session,
                back,
            } => f
                .debug_struct("Move")
                .field("state", state)
                .field("auth_session", &auth_session.as_ref().map(|_| "<redacted>"))
                .field("back", back)
                .finish(),
            Transition::Stay {
                error,
                auth_session,
            } => f
                .debug_struct("Stay")
                .field("error", error)
                .field("auth_session", &auth_session.as_ref().map(|_| "<redacted>"))
                .finish(),
            Transition::GoBack(error) => f.debug_tuple("GoBack").field(error).finish(),
            Transition::Fail(error) => f.debug_tuple("Fail").field(error).finish(),
            Transition::Restart(state) => f.debug_tuple("Restart").field(state).finish(),
        }
    }
}

#[cfg(test)]
#[path = "transition_tests.rs"]
mod tests;
