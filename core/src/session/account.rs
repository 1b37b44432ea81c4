//! What a signed-in user reads about the account: who they are, the sign-in history, the
//! security events, the authenticator devices.

use authcore_protocol::account::{
    ActiveSessions, SecurityEvents, SignIns, UserInfo as WireUserInfo,
};
use authcore_protocol::devices::Devices;
use authcore_protocol::paths;

use authcore_protocol::tokens::LoggedOut;

use super::{ActiveSession, Device, SecurityEvent, Session, SignInRecord, UserInfo};
use crate::error::ClientError;
use crate::http::Request;

impl Session {
    pub async fn user_info(&self) -> Result<UserInfo, ClientError> {
        let info: WireUserInfo = self
            .authorized(|| Request::get(self.inner.api.url(paths::USERINFO)), 200)
            .await?;
        Ok(info.into())
    }

    /// The newest sign-ins and identity verifications of this user, newest first.
    pub async fn sign_in_history(&self) -> Result<Vec<SignInRecord>, ClientError> {
        let history: SignIns = self
            .authorized(|| Request::get(self.inner.api.url(paths::SIGN_INS)), 200)
            .await?;
        Ok(history.sign_ins.into_iter().map(Into::into).collect())
    }

    /// Changes to the account's security information, newest first
    /// (`GET /v1/me/security-events`).
    pub async fn security_events(&self) -> Result<Vec<SecurityEvent>, ClientError> {
        let events: SecurityEvents = self
            .authorized(
                || Request::get(self.inner.api.url(paths::SECURITY_EVENTS)),
                200,
            )
            .await?;
        Ok(events.events.into_iter().map(Into::into).collect())
    }

    /// The user's authenticator devices.
    pub async fn devices(&self) -> Result<Vec<Device>, ClientError> {
        let list: Devices = self
            .authorized(|| Request::get(self.inner.api.url(paths::DEVICES)), 200)
            .await?;
        Ok(list.devices.into_iter().map(Into::into).collect())
    }

    /// The user's active sessions, newest first; `current` marks this one.
    pub async fn active_sessions(&self) -> Result<Vec<ActiveSession>, ClientError> {
        let list: ActiveSessions = self
            .authorized(|| Request::get(self.inner.api.url(paths::SESSIONS)), 200)
            .await?;
        Ok(list.sessions.into_iter().map(Into::into).collect())
    }

    /// Ends one of the user's sessions, e.g. on a lost phone (`DELETE /v1/me/sessions/{id}`):
    /// its tokens stop working at once. An id that is not one of the user's active sessions is
    /// refused with the server's sentence. To end this session, use `logout`.
    pub async fn revoke_session(&self, id: &str) -> Result<(), ClientError> {
        let path = paths::with_id(paths::SESSION, id);
        let _: LoggedOut = self
            .authorized(|| self.inner.api.delete(&path), 200)
            .await?;
        Ok(())
    }
}
