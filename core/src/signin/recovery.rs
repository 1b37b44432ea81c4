//! Password recovery: "Forgot password?" emails a code (`POST /v1/password/forgot`); the code
//! and a new password reset it (`POST /v1/password/reset`). The server signs nobody in on a
//! reset: the flow then asks for the new password.

use serde::Deserialize;
use serde_json::{json, Value};
use zeroize::Zeroizing;

use super::flow::Flow;
use super::gesture::{invalid, Gesture};
use super::transition::Answer;
use crate::error::ClientError;

impl Flow {
    pub(super) async fn forgot_password(&mut self, identifier: String) -> Result<(), ClientError> {
        if identifier.is_empty() {
            return Err(ClientError::InvalidInput {
                what: "enter your email address".into(),
            });
        }
        #[derive(Deserialize)]
        struct Sent {
            destination_hint: String,
            length: u32,
            expires_at: u64,
        }
        let request = self
            .api
            .post_json("/v1/password/forgot", &json!({ "identifier": identifier }));
        let sent: Sent = self.api.call(request, None, 202).await?;
        self.identifier = Some(identifier);
        self.follow(Answer::ResetCodeSent {
            destination_hint: sent.destination_hint,
            length: sent.length,
            expires_at: sent.expires_at,
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
        let request = self.api.post_json(
            "/v1/password/reset",
            &json!({
                "identifier": self.identifier(),
                "code": code.as_str(),
                "new_password": password.as_str(),
            }),
        );
        let reset = self.api.call::<Value>(request, None, 200).await.map(drop);
        self.follow(Answer::PasswordReset(reset)).await
    }
}
