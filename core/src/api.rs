//! The identity server's endpoints as docs/protocol.md defines them: request encoding, on top of
//! the one [`HttpClient`]; answers decode through [`crate::transport`]. Every answer the protocol
//! does not allow becomes [`ClientError::Protocol`] or [`ClientError::Server`].

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::error::ClientError;
use crate::http::{HttpClient, Request, Response};
use crate::transport::{self, expect_json, TransportError};

/// One identity server as seen by one app: where it is, which client this app is, how to reach it.
#[derive(Clone)]
pub(crate) struct Api {
    http: HttpClient,
    /// `https://host[:port]`, no trailing slash.
    base: String,
    client_id: String,
}

/// `POST /v1/login/methods`.
#[derive(Debug, Deserialize)]
pub(crate) struct LoginMethods {
    pub identifier: String,
    pub organization: Option<Organization>,
    pub methods: Vec<WireMethod>,
    pub sign_in_host: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Organization {
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct WireMethod {
    #[serde(rename = "type")]
    pub kind: String,
    pub destination_hint: Option<String>,
    pub provider: Option<String>,
    pub display_name: Option<String>,
}

/// What `/v1/authorize-challenge` answered.
#[derive(Debug)]
pub(crate) enum Challenge {
    Code(Zeroizing<String>),
    Next { auth_session: String, next: Value },
    RedirectToWeb { method: String, provider: String },
}

/// A refused challenge: the error, and the session to continue with when the server kept it.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub error: ClientError,
    pub auth_session: Option<String>,
}

/// `POST /v1/token`.
#[derive(Deserialize)]
pub(crate) struct TokenAnswer {
    pub access_token: String,
    pub expires_in: u64,
    pub refresh_token: String,
    pub session_id: String,
    pub device_token: Option<String>,
}

impl Api {
    pub fn new(http: HttpClient, base: &str, client_id: &str) -> Result<Api, ClientError> {
        let url = crate::http::check_url(base).map_err(TransportError::from)?;
        let mut base = url.origin().ascii_serialization();
        if base == "null" {
            return Err(ClientError::InvalidUrl {
                url: crate::echo(url.as_str()),
            });
        }
        let path = url.path().trim_end_matches('/');
        base.push_str(path);
        Ok(Api {
            http,
            base,
            client_id: client_id.to_owned(),
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn http(&self) -> HttpClient {
        self.http.clone()
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The same server reached through another host (an organisation's own sign-in domain).
    pub fn at_host(&self, host: &str) -> Result<Api, ClientError> {
        Api::new(
            self.http.clone(),
            &format!("https://{host}"),
            &self.client_id,
        )
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn send(&self, request: Request) -> Result<Response, ClientError> {
        Ok(self
            .http
            .send(&request)
            .await
            .map_err(TransportError::from)?)
    }

    pub async fn login_methods(&self, identifier: &str) -> Result<LoginMethods, ClientError> {
        let body = serde_json::json!({ "identifier": identifier }).to_string();
        let mut request = Request::post_json(self.url("/v1/login/methods"), body.into_bytes());
        request.idempotent = true; // a pure lookup
        let response = self.send(request).await?;
        expect_json(&response, 200)
    }

    /// One request to the authorization challenge endpoint; `client_id` is added.
    pub async fn challenge(
        &self,
        mut fields: Vec<(String, String)>,
    ) -> Result<Result<Challenge, Refusal>, ClientError> {
        fields.insert(0, ("client_id".into(), self.client_id.clone()));
        let response = self
            .send(Request::post_form(
                self.url("/v1/authorize-challenge"),
                fields,
            ))
            .await?;
        if response.status == 200 {
            #[derive(Deserialize)]
            struct Granted {
                authorization_code: String,
            }
            let granted: Granted = expect_json::<_, ClientError>(&response, 200)?;
            return Ok(Ok(Challenge::Code(Zeroizing::new(
                granted.authorization_code,
            ))));
        }
        let answer = transport::refusal(&response)?;
        match answer.error.as_str() {
            "insufficient_authorization" => {
                let auth_session = answer.auth_session.ok_or_else(|| {
                    ClientError::protocol("insufficient_authorization without auth_session")
                })?;
                let next = answer.next.filter(|n| n.is_object()).ok_or_else(|| {
                    ClientError::protocol("insufficient_authorization without next")
                })?;
                Ok(Ok(Challenge::Next { auth_session, next }))
            }
            "redirect_to_web" => Ok(Ok(Challenge::RedirectToWeb {
                method: answer.method.unwrap_or_default(),
                provider: answer.provider.unwrap_or_default(),
            })),
            _ => Ok(Err(Refusal {
                auth_session: answer.auth_session.clone(),
                error: answer.into(),
            })),
        }
    }

    pub async fn token(
        &self,
        mut fields: Vec<(String, String)>,
    ) -> Result<TokenAnswer, ClientError> {
        fields.insert(0, ("client_id".into(), self.client_id.clone()));
        let response = self
            .send(Request::post_form(self.url("/v1/token"), fields))
            .await?;
        expect_json(&response, 200)
    }

    /// A JSON call outside the sign-in flow; `bearer` when the endpoint needs one.
    pub async fn call<T: DeserializeOwned>(
        &self,
        mut request: Request,
        bearer: Option<&str>,
        expected: u16,
    ) -> Result<T, ClientError> {
        if let Some(token) = bearer {
            request = request.with_bearer(token);
        }
        let response = self.send(request).await?;
        expect_json(&response, expected)
    }

    pub fn post_json(&self, path: &str, body: &Value) -> Request {
        Request::post_json(self.url(path), body.to_string().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Response {
        Response {
            status,
            body: body.as_bytes().to_vec(),
            retry_after: None,
        }
    }

    #[test]
    fn a_refused_security_change_is_step_up_required_with_its_max_age() {
        let refused = answer(
            401,
            r#"{"error":"insufficient_user_authentication","error_description":"sign in again","max_age":600,"acr_values":"mfa"}"#,
        );
        assert_eq!(
            expect_json::<Value, ClientError>(&refused, 201).unwrap_err(),
            ClientError::StepUpRequired { max_age_s: 600 }
        );
        // without max_age the server asks for a sign-in now
        let bare = answer(401, r#"{"error":"insufficient_user_authentication"}"#);
        assert_eq!(
            expect_json::<Value, ClientError>(&bare, 200).unwrap_err(),
            ClientError::StepUpRequired { max_age_s: 0 }
        );
        // an expired token is still the session's business, not a step-up
        let expired = answer(401, r#"{"error":"invalid_token"}"#);
        assert_eq!(
            expect_json::<Value, ClientError>(&expired, 200).unwrap_err(),
            ClientError::SessionEnded
        );
    }
}
