//! Step-up: a sign-in that confirms the signed-in user with a second factor (RFC 9470
//! `acr_values=mfa`) and replaces their session. Lives here, beside the flow it starts, so the
//! session does not import sign-in back.

use super::SignIn;
use crate::error::ClientError;
use crate::session::Session;

/// What makes a sign-in a step-up: the user it must be, and the session it replaces.
#[derive(Clone)]
pub(crate) struct StepUp {
    /// The signed-in user's identifier (their email); `start` refuses any other.
    pub identifier: String,
    /// The session being stepped up: ended locally just before the new one is saved (so its
    /// tokens can no longer overwrite the new ones), then revoked best-effort.
    pub replaces: Session,
}

impl Session {
    /// Starts a step-up sign-in for this session's user: the ordinary [`SignIn`] flow, already
    /// started for the user's identifier (at [`super::SignInState::ChooseMethod`]), whose
    /// first challenge asks the server for a second factor (`acr_values=mfa`): after the
    /// password an authenticator code, push or backup code, or an email code when the user has
    /// no second factor. It ends in `Done { session }` with a fresh session, saved in place of
    /// this one; this one then ends ([`crate::session::EndReason::Replaced`]) and is revoked on
    /// the server. Only this user may be signed in with it (`start` refuses another identifier).
    pub async fn step_up(&self) -> Result<SignIn, ClientError> {
        let identifier = self.user_info().await?.email;
        let flow = SignIn::with_step_up(
            self.app(),
            Some(StepUp {
                identifier: identifier.clone(),
                replaces: self.clone(),
            }),
        );
        flow.start(&identifier).await?;
        Ok(flow)
    }
}
