//! [`AuthClient`] (one identity server) and the [`Session`] a sign-in ends in.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use authcore::http::HttpConfig;
use authcore::session::{
    Device, EnrollmentStatus, LoggedOutEverywhere, SecurityEvent, SessionState, SignInRecord,
    UserInfo,
};
use authcore::Timestamp;

use crate::errors::ClientError;
use crate::platform::{SecureStore, StoreAdapter};
use crate::runtime::run;
use crate::signin::{sensitive, Sensitive, SignInFlow};

/// Where the server is and how to reach it.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ClientConfig {
    /// `https://id.example.com` (plain http only to loopback).
    pub server_url: String,
    /// The public client registered with the server (`authcore-demo-app`).
    pub client_id: String,
    /// A PEM root certificate to trust besides the public roots (private PKI, tests).
    #[uniffi(default = None)]
    pub extra_root_ca_pem: Option<String>,
    /// Host names resolved to fixed IP addresses instead of DNS (split-horizon deployments,
    /// tests); TLS still checks the host name.
    #[uniffi(default)]
    pub resolve: HashMap<String, String>,
}

/// The transport settings shared by [`ClientConfig`] and the authenticator's config.
pub(crate) fn http_config(
    extra_root_ca_pem: Option<String>,
    resolve: HashMap<String, String>,
) -> Result<HttpConfig, String> {
    let mut resolve: Vec<(String, IpAddr)> = resolve
        .into_iter()
        .map(|(host, ip)| match ip.trim().parse() {
            Ok(ip) => Ok((host, ip)),
            Err(_) => Err(format!("resolve: `{ip}` is not an IP address")),
        })
        .collect::<Result<_, _>>()?;
    resolve.sort();
    Ok(HttpConfig {
        extra_root_ca_pem: extra_root_ca_pem.map(String::into_bytes),
        resolve,
        ..HttpConfig::default()
    })
}

/// One app's view of one identity server.
#[derive(uniffi::Object)]
pub struct AuthClient {
    core: authcore::AuthClient,
}

#[uniffi::export]
impl AuthClient {
    /// Checks the URL and the TLS settings; makes no request.
    #[uniffi::constructor]
    pub fn new(
        config: ClientConfig,
        store: Arc<dyn SecureStore>,
    ) -> Result<Arc<Self>, ClientError> {
        let http = http_config(config.extra_root_ca_pem, config.resolve)
            .map_err(|what| ClientError::InvalidInput { what })?;
        let core = authcore::AuthClient::new(
            authcore::ClientConfig {
                server_url: config.server_url,
                client_id: config.client_id,
                http,
            },
            Arc::new(StoreAdapter(store)),
        )?;
        Ok(Arc::new(AuthClient { core }))
    }

    pub fn server_url(&self) -> String {
        self.core.server_url().to_owned()
    }

    /// A new sign-in at `EnterIdentifier`.
    pub fn sign_in(&self) -> Arc<SignInFlow> {
        SignInFlow::new(self.core.sign_in())
    }

    /// The session an earlier sign-in saved, if any (the first call tells whether it still
    /// works on the server).
    pub fn saved_session(&self) -> Result<Option<Arc<Session>>, ClientError> {
        Ok(self.core.saved_session()?.map(Session::new))
    }
}

/// An authenticator enrollment started by `Session.add_authenticator()`: the QR code to show,
/// and for "Can't scan image?" the activation code and the server URL.
#[derive(Debug, uniffi::Record)]
pub struct AuthenticatorEnrollment {
    pub enrollment_id: String,
    pub qr_payload: Arc<Sensitive>,
    pub activation_code: Arc<Sensitive>,
    pub server_url: String,
    pub label: String,
    pub expires_at: Timestamp,
}

/// Signed in. Tokens stay in the app's `SecureStore` and in Rust, except `access_token()`.
#[derive(uniffi::Object)]
pub struct Session {
    core: authcore::session::Session,
}

impl Session {
    pub(crate) fn new(core: authcore::session::Session) -> Arc<Self> {
        Arc::new(Session { core })
    }
}

#[uniffi::export]
impl Session {
    pub fn server_url(&self) -> String {
        self.core.server().to_owned()
    }

    pub fn state(&self) -> SessionState {
        self.core.state()
    }

    /// A valid access token for the app's own API calls (refreshed when close to expiry).
    pub async fn access_token(&self) -> Result<String, ClientError> {
        let core = self.core.clone();
        Ok(run(async move { core.access_token().await.map(|t| t.as_str().to_owned()) }).await?)
    }

    pub async fn user_info(&self) -> Result<UserInfo, ClientError> {
        let core = self.core.clone();
        Ok(run(async move { core.user_info().await }).await?)
    }

    pub async fn sign_in_history(&self) -> Result<Vec<SignInRecord>, ClientError> {
        let core = self.core.clone();
        Ok(run(async move { core.sign_in_history().await }).await?)
    }

    /// New backup codes (the old ones stop working); show them once.
    pub async fn regenerate_backup_codes(&self) -> Result<Vec<String>, ClientError> {
        let core = self.core.clone();
        let codes = run(async move { core.regenerate_backup_codes().await }).await?;
        Ok(codes.0.clone())
    }

    /// Starts adding an authenticator-app code: the `otpauth://` URI to show as a QR code.
    pub async fn add_totp(&self) -> Result<String, ClientError> {
        let core = self.core.clone();
        let enrollment = run(async move { core.add_totp().await }).await?;
        Ok(enrollment.otpauth_uri.clone())
    }

    /// Finishes [`Session::add_totp`] with a code from the authenticator app.
    pub async fn confirm_totp(&self, code: String) -> Result<(), ClientError> {
        let core = self.core.clone();
        Ok(run(async move { core.confirm_totp(&code).await }).await?)
    }

    /// Removes the authenticator-app (TOTP) credential. Needs a recent step-up.
    pub async fn remove_totp(&self) -> Result<(), ClientError> {
        let core = self.core.clone();
        Ok(run(async move { core.remove_totp().await }).await?)
    }

    /// Changes the password (needs a recent step-up); every other session ends. Answers how
    /// many ended.
    pub async fn change_password(
        &self,
        current_password: String,
        new_password: String,
    ) -> Result<u64, ClientError> {
        let core = self.core.clone();
        let (current, new) = (
            zeroize::Zeroizing::new(current_password),
            zeroize::Zeroizing::new(new_password),
        );
        Ok(run(async move { core.change_password(&current, &new).await }).await?)
    }

    /// The authenticators registered to the user.
    pub async fn devices(&self) -> Result<Vec<Device>, ClientError> {
        let core = self.core.clone();
        Ok(run(async move { core.devices().await }).await?)
    }

    /// Keeps a device a password reset suspended. Needs a recent step-up.
    pub async fn confirm_device(&self, device_id: String) -> Result<Device, ClientError> {
        let core = self.core.clone();
        Ok(run(async move { core.confirm_device(&device_id).await }).await?)
    }

    /// Keeps the TOTP credential a password reset suspended. Needs a recent step-up.
    pub async fn confirm_suspended_totp(&self) -> Result<(), ClientError> {
        let core = self.core.clone();
        Ok(run(async move { core.confirm_suspended_totp().await }).await?)
    }

    pub async fn remove_device(&self, device_id: String) -> Result<(), ClientError> {
        let core = self.core.clone();
        Ok(run(async move { core.remove_device(&device_id).await }).await?)
    }

    /// "Confirm it's you": a sign-in for this user that requires a second factor (after the
    /// password an authenticator code or push, or an email code when the user has none),
    /// already at `ChooseMethod`. It ends in `Done { session }`: use that session from then on
    /// (this one ends with `Replaced`). Call it when a change answers `StepUpRequired`.
    pub async fn step_up(&self) -> Result<Arc<SignInFlow>, ClientError> {
        let core = self.core.clone();
        let flow = run(async move { core.step_up().await }).await?;
        Ok(SignInFlow::new(flow))
    }

    /// Starts enrolling another authenticator phone: the QR code to show. Needs a recent
    /// step-up (`StepUpRequired` otherwise).
    pub async fn add_authenticator(&self) -> Result<AuthenticatorEnrollment, ClientError> {
        let core = self.core.clone();
        let e = run(async move { core.add_authenticator().await }).await?;
        Ok(AuthenticatorEnrollment {
            enrollment_id: e.enrollment_id,
            qr_payload: sensitive(e.qr_payload),
            activation_code: sensitive(e.activation_code),
            server_url: e.server_url,
            label: e.label,
            expires_at: e.expires_at,
        })
    }

    /// Where the enrollment is; with `wait_seconds > 0` waits (at most 30 s) while it is still
    /// `shown`.
    pub async fn authenticator_enrollment(
        &self,
        enrollment_id: String,
        shown: EnrollmentStatus,
        wait_seconds: u64,
    ) -> Result<EnrollmentStatus, ClientError> {
        let core = self.core.clone();
        Ok(run(async move {
            core.authenticator_enrollment(&enrollment_id, &shown, wait_seconds)
                .await
        })
        .await?)
    }

    /// Changes to the account's security information, newest first.
    pub async fn security_events(&self) -> Result<Vec<SecurityEvent>, ClientError> {
        let core = self.core.clone();
        Ok(run(async move { core.security_events().await }).await?)
    }

    /// Ends this session (locally always; on the server when it can be told).
    pub async fn logout(&self) -> Result<(), ClientError> {
        let core = self.core.clone();
        Ok(run(async move { core.logout().await }).await?)
    }

    /// Ends every session of the user; answers how many.
    pub async fn logout_everywhere(&self) -> Result<u64, ClientError> {
        let core = self.core.clone();
        Ok(run(async move { core.logout_everywhere().await }).await?)
    }

    /// Ends every session of the user; answers how many, and the authenticators added recently.
    pub async fn logout_everywhere_and_review(&self) -> Result<LoggedOutEverywhere, ClientError> {
        let core = self.core.clone();
        Ok(run(async move { core.logout_everywhere_and_review().await }).await?)
    }
}
