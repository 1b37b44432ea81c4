//! [`AuthClient`]: one app's view of one identity server. It hands out sign-in flows and restores
//! the saved session; tokens and the device token live only in its [`SecureStore`].

use std::sync::Arc;

use crate::api::Api;
use crate::app::App;
use crate::error::ClientError;
use crate::http::{HttpClient, HttpConfig};
use crate::session::Session;
use crate::signin::SignIn;
use crate::store::SecureStore;

/// Where the server is and who this app is.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `https://id.example.com` (plain http only to loopback).
    pub server_url: String,
    /// The public client registered with the server (`authcore-demo-app`).
    pub client_id: String,
    pub http: HttpConfig,
}

#[derive(Clone)]
pub struct AuthClient {
    app: App,
}

impl std::fmt::Debug for AuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthClient")
            .field("server", &self.app.api.base())
            .field("client_id", &self.app.api.client_id())
            .finish_non_exhaustive()
    }
}

impl AuthClient {
    /// Checks the URL and the TLS settings; makes no request.
    pub fn new(config: ClientConfig, store: Arc<dyn SecureStore>) -> Result<Self, ClientError> {
        if config.client_id.trim().is_empty() {
            return Err(ClientError::InvalidInput {
                what: "client_id is empty".into(),
            });
        }
        let http = HttpClient::new(config.http)?;
        let api = Api::new(http, &config.server_url, &config.client_id)?;
        Ok(AuthClient {
            app: App { api, store },
        })
    }

    pub fn server_url(&self) -> &str {
        self.app.api.base()
    }

    /// A new sign-in flow at [`crate::signin::SignInState::EnterIdentifier`].
    pub fn sign_in(&self) -> SignIn {
        SignIn::new(self.app.clone())
    }

    /// The session saved by an earlier sign-in, if any (it may have ended on the server; the first
    /// call will tell).
    pub fn saved_session(&self) -> Result<Option<Session>, ClientError> {
        let key = self.app.session_key();
        let Some(tokens) = Session::load(&*self.app.store, &key)? else {
            return Ok(None);
        };
        let api = Api::new(
            self.app.api.http(),
            &tokens.server,
            self.app.api.client_id(),
        )?;
        Ok(Some(Session::new(api, self.app.store.clone(), key, tokens)))
    }
}
