//! Password recovery: "Forgot password?" emails a code (`POST /v1/password/forgot`); the code
//! and a new password reset it (`POST /v1/password/reset`). The server signs nobody in on a
//! reset: the flow then asks for the new password.

use authcore_protocol::account::{
    ForgotPasswordRequest, PasswordReset, ResetCodeSent, ResetPasswordRequest,
};
use authcore_protocol::paths;
use zeroize::Zeroizing;

use super::flow::Flow;
use super::gesture::{invalid, Gesture};
use super::transition::Answer;
use crate::error::ClientError;
use crate::timestamp::Timestamp;

impl Flow {
    pub(super) async fn forgot_password(&mut self, identifier: String) -> Result<(), ClientError> {
        if identifier.is_empty() {
            return Err(ClientError::InvalidInput {
                what: "enter your email address".into(),
            });
        }
        let request = self.api.post_json(
            paths::PASSWORD_FORGOT,
            &ForgotPasswordRequest {
                identifier: identifier.clone(),
            },
        );
        let sent: ResetCodeSent = self.api.call(request, None, 202).await?;
        self.identifier = Some(identifier);
        self.follow(Answer::ResetCodeSent {
            destination_hint: sent.destination_hint,
            length: sent.length,
            expires_at: Timestamp::from_unix_seconds(sent.expires_at),
        })
        .await
    }

    pub(super) async fn choose_new_password(
        &mut self,
        password: Zeroizing<String>,
    ) -> Result<(), ClientError> {
        let Some(code) = self.reset_code.clone() else {
            return Err(invalid(&Gesture::ChooseNewPassword(password), &self.state));
        };
        let body = ResetPasswordRequest {
            identifier: self.identifier(),
            code: code.to_string(),
            new_password: password.to_string(),
        };
        let request = self.api.post_json(paths::PASSWORD_RESET, &body);
        // The body held the code and the password: only the encoded request keeps them now.
        drop(Zeroizing::new(body.code));
        drop(Zeroizing::new(body.new_password));
        let reset = self
            .api
            .call::<PasswordReset>(request, None, 200)
            .await
            .map(drop);
        self.follow(Answer::PasswordReset(reset)).await
    }
}
