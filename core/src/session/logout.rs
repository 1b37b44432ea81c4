//! Logging out: this session, or every session of the user (with the authenticators added
//! recently, for "remove these").

use authcore_protocol::paths;
use authcore_protocol::tokens::{LoggedOut, LoggedOutEverywhere as WireLoggedOutEverywhere};
use zeroize::Zeroizing;

use super::{EndReason, LoggedOutEverywhere, Session};
use crate::error::ClientError;

impl Session {
    /// Ends this session on the server and forgets its tokens. The local end always happens;
    /// when the server cannot be told, the tokens are revoked best-effort and the error returned.
    pub async fn logout(&self) -> Result<(), ClientError> {
        let mut guard = self.inner.tokens.lock().await;
        let Some(tokens) = guard.as_ref() else {
            return Ok(());
        };
        let access = Zeroizing::new(tokens.access_token.clone());
        let refresh = Zeroizing::new(tokens.refresh_token.clone());
        let told = self
            .inner
            .api
            .call::<LoggedOut>(self.inner.api.post_empty(paths::LOGOUT), Some(&access), 200)
            .await;
        let result = match told {
            Ok(_) | Err(ClientError::SessionEnded) => Ok(()),
            // RFC 7009 revocation with the refresh token still ends the session server-side.
            Err(error) => match self.inner.api.revoke(&refresh).await {
                Ok(()) => Ok(()),
                Err(_) => Err(error),
            },
        };
        self.end_locked(&mut guard, EndReason::LoggedOut)?;
        result
    }

    /// Ends every session of this user on every device; answers how many ended.
    pub async fn logout_everywhere(&self) -> Result<u64, ClientError> {
        Ok(self.logout_everywhere_and_review().await?.revoked_sessions)
    }

    /// [`Session::logout_everywhere`], also answering the authenticators added recently: after
    /// a suspected takeover the app offers to remove them (from a new, stepped-up session).
    pub async fn logout_everywhere_and_review(&self) -> Result<LoggedOutEverywhere, ClientError> {
        let revoked: WireLoggedOutEverywhere = self
            .authorized(|| self.inner.api.post_empty(paths::LOGOUT_ALL), 200)
            .await?;
        let mut guard = self.inner.tokens.lock().await;
        self.end_locked(&mut guard, EndReason::LoggedOut)?;
        Ok(revoked.into())
    }
}
