//! The identity server's endpoints as docs/protocol.md defines them: request encoding and answer
//! decoding (plain functions over [`Response`]), on top of the one [`HttpClient`]. Every answer the
//! protocol does not allow becomes [`ClientError::Protocol`] or [`ClientError::Server`].

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::error::ClientError;
use crate::http::{HttpClient, Request, Response};

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

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
    error_description: Option<String>,
    attempts_left: Option<u32>,
    retry_after: Option<u64>,
    auth_session: Option<String>,
    method: Option<String>,
    provider: Option<String>,
    reason: Option<String>,
    /// `insufficient_user_authentication`: how recent the sign-in must be.
    max_age: Option<u64>,
}

impl Api {
    pub fn new(http: HttpClient, base: &str, client_id: &str) -> Result<Api, ClientError> {
        let url = crate::http::check_url(base)?;
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
        Ok(self.http.send(&request).await?)
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
            let granted: Granted = expect_json(&response, 200)?;
            return Ok(Ok(Challenge::Code(Zeroizing::new(
                granted.authorization_code,
            ))));
        }
        let body = error_body(&response)?;
        match body.error.as_str() {
            "insufficient_authorization" => {
                let auth_session = body.auth_session.ok_or_else(|| {
                    ClientError::protocol("insufficient_authorization without auth_session")
                })?;
                let value: Value = serde_json::from_slice(&response.body)
                    .map_err(|_| ClientError::protocol("malformed JSON"))?;
                let next = value
                    .get("next")
                    .filter(|n| n.is_object())
                    .cloned()
                    .ok_or_else(|| {
                        ClientError::protocol("insufficient_authorization without next")
                    })?;
                Ok(Ok(Challenge::Next { auth_session, next }))
            }
            "redirect_to_web" => Ok(Ok(Challenge::RedirectToWeb {
                method: body.method.unwrap_or_default(),
                provider: body.provider.unwrap_or_default(),
            })),
            _ => {
                let auth_session = body.auth_session.clone();
                Ok(Err(Refusal {
                    error: error_of(response.status, body, response.retry_after),
                    auth_session,
                }))
            }
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

/// Decodes the expected success answer, or turns anything else into its typed error.
pub(crate) fn expect_json<T: DeserializeOwned>(
    response: &Response,
    expected: u16,
) -> Result<T, ClientError> {
    if response.status == expected {
        return serde_json::from_slice(&response.body).map_err(|e| {
            if e.is_eof() {
                ClientError::protocol("truncated JSON")
            } else {
                ClientError::protocol(format!("unexpected answer ({})", e.classify_text()))
            }
        });
    }
    let body = error_body(response)?;
    Err(error_of(response.status, body, response.retry_after))
}

trait ClassifyText {
    fn classify_text(&self) -> &'static str;
}

impl ClassifyText for serde_json::Error {
    fn classify_text(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "unreadable",
            serde_json::error::Category::Syntax => "malformed JSON",
            serde_json::error::Category::Data => "missing or mistyped fields",
            serde_json::error::Category::Eof => "truncated JSON",
        }
    }
}

/// An error answer's body. A 5xx (or any status without a JSON error object) is a server failure.
fn error_body(response: &Response) -> Result<ErrorBody, ClientError> {
    if response.status >= 500 || response.status < 400 {
        return Err(ClientError::Server {
            status: response.status,
        });
    }
    serde_json::from_slice(&response.body).map_err(|_| ClientError::Server {
        status: response.status,
    })
}

fn error_of(status: u16, body: ErrorBody, retry_after_header: Option<u64>) -> ClientError {
    let retry_after = body.retry_after.or(retry_after_header).unwrap_or(1);
    match body.error.as_str() {
        "wrong_credential" => ClientError::WrongCredential {
            attempts_left: body.attempts_left,
        },
        "expired" => ClientError::Expired,
        "access_denied" => ClientError::PushDenied {
            fraud_reported: body.reason.as_deref() == Some("fraud_reported"),
        },
        "number_mismatch" => ClientError::NumberMismatch,
        "push_blocked" => ClientError::PushBlocked { retry_after },
        "enrollment_required" => ClientError::EnrollmentRequired,
        // RFC 9470: the sign-in behind this token is too old or too weak for the change.
        "insufficient_user_authentication" => ClientError::StepUpRequired {
            max_age_s: body.max_age.unwrap_or(0),
        },
        "slow_down" => ClientError::RateLimited { retry_after },
        "locked" => ClientError::Locked { retry_after },
        "invalid_session" => ClientError::SignInExpired,
        "invalid_client" => ClientError::InvalidClient,
        "invalid_grant" | "invalid_token" => ClientError::SessionEnded,
        "weak_password" => ClientError::WeakPassword {
            reason: body.error_description.unwrap_or_default(),
        },
        "invalid_request" => ClientError::InvalidInput {
            what: body
                .error_description
                .unwrap_or_else(|| "the server refused the request as malformed".into()),
        },
        _ => ClientError::Server { status },
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
            expect_json::<Value>(&refused, 201).unwrap_err(),
            ClientError::StepUpRequired { max_age_s: 600 }
        );
        // without max_age the server asks for a sign-in now
        let bare = answer(401, r#"{"error":"insufficient_user_authentication"}"#);
        assert_eq!(
            expect_json::<Value>(&bare, 200).unwrap_err(),
            ClientError::StepUpRequired { max_age_s: 0 }
        );
        // an expired token is still the session's business, not a step-up
        let expired = answer(401, r#"{"error":"invalid_token"}"#);
        assert_eq!(
            expect_json::<Value>(&expired, 200).unwrap_err(),
            ClientError::SessionEnded
        );
    }
}
