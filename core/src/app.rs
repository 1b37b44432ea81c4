//! [`App`]: one app at one identity server, as the client, sign-in and sessions share it: the
//! server's [`Api`], the [`SecureStore`], and what is kept there under this app's keys (the saved
//! session, the device token). The client hands it to sign-in, so neither imports the other.

use std::sync::Arc;

use zeroize::Zeroizing;

use crate::api::Api;
use crate::error::ClientError;
use crate::store::SecureStore;

#[derive(Clone)]
pub(crate) struct App {
    pub api: Api,
    pub store: Arc<dyn SecureStore>,
}

impl App {
    /// Where this app's session is saved.
    pub fn session_key(&self) -> String {
        format!("session/{}", self.api.client_id())
    }

    fn device_token_key(server: &str) -> String {
        format!("device-token/{server}")
    }

    /// The device token `server` gave this device (it skips "Confirm it's you" next time).
    pub fn device_token(&self, server: &str) -> Result<Option<Zeroizing<String>>, ClientError> {
        Ok(self
            .store
            .get(&Self::device_token_key(server))?
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .map(Zeroizing::new))
    }

    pub fn save_device_token(&self, server: &str, token: &str) -> Result<(), ClientError> {
        self.store
            .put(&Self::device_token_key(server), token.as_bytes())?;
        Ok(())
    }
}
