//! Changes to the account's security information: backup codes, TOTP, authenticator devices,
//! the factors a password reset suspended, the password. Each needs a recent sign-in with a
//! second factor; the server refuses them otherwise ([`ClientError::StepUpRequired`]).

use authcore_protocol::account::{
    BackupCodes as WireBackupCodes, ChangePasswordRequest, CodeRequest, Confirmed, PasswordChanged,
    Removed, TotpEnrollment as WireTotpEnrollment,
};
use authcore_protocol::devices::{DeviceView, Enrollment, EnrollmentStarted, WaitQuery};
use authcore_protocol::paths;
use zeroize::Zeroizing;

use super::{
    AuthenticatorEnrollment, BackupCodes, Device, EnrollmentStatus, Session, TotpEnrollment,
};
use crate::error::ClientError;
use crate::http::Request;
use crate::sensitive::Sensitive;
use crate::timestamp::Timestamp;

impl Session {
    /// Ten new single-use backup codes; the previous ones stop working.
    /// Needs a recent sign-in with a second factor ([`ClientError::StepUpRequired`] otherwise).
    pub async fn regenerate_backup_codes(&self) -> Result<BackupCodes, ClientError> {
        let codes: WireBackupCodes = self
            .authorized(|| self.inner.api.post_empty(paths::BACKUP_CODES), 200)
            .await?;
        Ok(BackupCodes(codes.codes))
    }

    /// Starts a TOTP credential; it becomes active after [`Session::confirm_totp`].
    /// Needs a recent sign-in with a second factor ([`ClientError::StepUpRequired`] otherwise).
    pub async fn add_totp(&self) -> Result<TotpEnrollment, ClientError> {
        let pending: WireTotpEnrollment = self
            .authorized(|| self.inner.api.post_empty(paths::TOTP), 200)
            .await?;
        Ok(TotpEnrollment {
            otpauth_uri: pending.otpauth_uri,
        })
    }

    pub async fn confirm_totp(&self, code: &str) -> Result<(), ClientError> {
        let code = Zeroizing::new(code.trim().to_owned());
        let _: Confirmed = self
            .authorized(
                || {
                    let body = CodeRequest {
                        code: code.to_string(),
                    };
                    let request = self.inner.api.post_json(paths::TOTP_CONFIRM, &body);
                    drop(Zeroizing::new(body.code));
                    request
                },
                200,
            )
            .await?;
        Ok(())
    }

    /// Removes the TOTP credential (active and pending).
    /// Needs a recent sign-in with a second factor ([`ClientError::StepUpRequired`] otherwise).
    pub async fn remove_totp(&self) -> Result<(), ClientError> {
        let _: Removed = self
            .authorized(|| self.inner.api.delete(paths::TOTP), 200)
            .await?;
        Ok(())
    }

    /// Changes the password; every other session of the user ends (this one stays). Answers
    /// how many ended. A wrong `current` answers [`ClientError::WrongCredential`] and counts
    /// toward the lockout.
    /// Needs a recent sign-in with a second factor ([`ClientError::StepUpRequired`] otherwise).
    pub async fn change_password(&self, current: &str, new: &str) -> Result<u64, ClientError> {
        let (current, new) = (
            Zeroizing::new(current.to_owned()),
            Zeroizing::new(new.to_owned()),
        );
        if current.is_empty() || new.is_empty() {
            return Err(ClientError::InvalidInput {
                what: "enter your current and your new password".into(),
            });
        }
        let changed: PasswordChanged = self
            .authorized(
                || {
                    let body = ChangePasswordRequest {
                        current_password: current.to_string(),
                        new_password: new.to_string(),
                    };
                    let request = self.inner.api.post_json(paths::PASSWORD, &body);
                    drop(Zeroizing::new(body.current_password));
                    drop(Zeroizing::new(body.new_password));
                    request
                },
                200,
            )
            .await?;
        Ok(changed.revoked_sessions)
    }

    /// Keeps a device a password reset suspended (`state: "suspended"`): it is active again.
    /// Needs a recent sign-in with a second factor ([`ClientError::StepUpRequired`] otherwise).
    pub async fn confirm_device(&self, device_id: &str) -> Result<Device, ClientError> {
        let path = paths::with_id(paths::DEVICE_CONFIRM, device_id);
        let device: DeviceView = self
            .authorized(|| self.inner.api.post_empty(&path), 200)
            .await?;
        Ok(device.into())
    }

    /// Keeps the TOTP credential a password reset suspended.
    /// Needs a recent sign-in with a second factor ([`ClientError::StepUpRequired`] otherwise).
    pub async fn confirm_suspended_totp(&self) -> Result<(), ClientError> {
        let _: Confirmed = self
            .authorized(
                || self.inner.api.post_empty(paths::TOTP_CONFIRM_SUSPENDED),
                200,
            )
            .await?;
        Ok(())
    }

    /// Removes an authenticator device from the account: it can no longer approve anything.
    /// Needs a recent sign-in with a second factor ([`ClientError::StepUpRequired`] otherwise).
    pub async fn remove_device(&self, device_id: &str) -> Result<(), ClientError> {
        let path = paths::with_id(paths::DEVICE, device_id);
        let _: Removed = self
            .authorized(|| self.inner.api.delete(&path), 200)
            .await?;
        Ok(())
    }

    /// Starts enrolling another authenticator phone (`POST /v1/me/authenticators`).
    /// Needs a recent sign-in with a second factor ([`ClientError::StepUpRequired`] otherwise).
    pub async fn add_authenticator(&self) -> Result<AuthenticatorEnrollment, ClientError> {
        let started: EnrollmentStarted = self
            .authorized(|| self.inner.api.post_empty(paths::AUTHENTICATORS), 201)
            .await?;
        Ok(AuthenticatorEnrollment {
            enrollment_id: started.enrollment_id,
            qr_payload: Sensitive::new(started.code.qr_payload),
            activation_code: Sensitive::new(started.code.activation_code),
            server_url: started.code.server_url,
            label: started.code.label,
            expires_at: Timestamp::from_unix_seconds(started.expires_at),
        })
    }

    /// Where an enrollment is. With `wait_s > 0` the server holds the answer (at most 30 s)
    /// while the status is still `shown` (what the screen shows now).
    pub async fn authenticator_enrollment(
        &self,
        enrollment_id: &str,
        shown: &EnrollmentStatus,
        wait_s: u64,
    ) -> Result<EnrollmentStatus, ClientError> {
        let mut path = paths::with_id(paths::AUTHENTICATOR, enrollment_id);
        if wait_s > 0 {
            let query = WaitQuery {
                wait: Some(wait_s.min(30).to_string()),
                status: Some(shown.wire().as_str().to_owned()),
            };
            path.push_str(&query.to_query());
        }
        let url = self.inner.api.url(&path);
        let answer: Enrollment = self.authorized(|| Request::get(url.clone()), 200).await?;
        answer.try_into()
    }
}
