//! What a signed-in user reads about the account: who they are, the sign-in history, the
//! security events, the authenticator devices.

use authcore_protocol::account::{SecurityEvents, SignIns, UserInfo as WireUserInfo};
use authcore_protocol::devices::Devices;
use authcore_protocol::paths;

use super::{Device, SecurityEvent, Session, SignInRecord, UserInfo};
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
}
