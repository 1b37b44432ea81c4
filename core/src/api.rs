//! The identity server's endpoints as docs/protocol.md defines them: request encoding, on top of
//! the one [`HttpClient`]; answers decode through [`crate::transport`]. Every answer the protocol
//! does not allow becomes [`ClientError::Protocol`] or [`ClientError::Server`].

use authcore_protocol::signin::{
    param, AuthorizationCode, LoginMethods, LoginMethodsRequest, Next,
};
use authcore_protocol::tokens::{self, Revoked, Tokens};
use authcore_protocol::{paths, ErrorCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
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

/// What `/v1/authorize-challenge` answered.
#[derive(Debug)]
pub(crate) enum Challenge {
    Code(Zeroizing<String>),
    Next { auth_session: String, next: Next },
    RedirectToWeb { method: String, provider: String },
}

/// A refused challenge: the error, and the session to continue with when the server kept it.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub error: ClientError,
    pub auth_session: Option<String>,
}

/// Form parameters: a name of the protocol's [`param`] (or [`tokens::param`]) and its value.
pub(crate) type Form = Vec<(&'static str, String)>;

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
        let body = LoginMethodsRequest {
            identifier: identifier.to_owned(),
        };
        let mut request = self.post_json(paths::LOGIN_METHODS, &body);
        request.idempotent = true; // a pure lookup
        let response = self.send(request).await?;
        expect_json(&response, 200)
    }

    /// One request to the authorization challenge endpoint; `client_id` is added.
    pub async fn challenge(&self, fields: Form) -> Result<Result<Challenge, Refusal>, ClientError> {
        let response = self
            .send(self.post_form(paths::AUTHORIZE_CHALLENGE, fields))
            .await?;
        if response.status == 200 {
            let granted: AuthorizationCode = expect_json::<_, ClientError>(&response, 200)?;
            return Ok(Ok(Challenge::Code(Zeroizing::new(
                granted.authorization_code,
            ))));
        }
        let mut answer = transport::refusal(&response)?;
        match answer.body.error {
            ErrorCode::InsufficientAuthorization => {
                let auth_session = answer.body.auth_session.ok_or_else(|| {
                    ClientError::protocol("insufficient_authorization without auth_session")
                })?;
                let next = answer.body.next.ok_or_else(|| {
                    ClientError::protocol("insufficient_authorization without next")
                })?;
                Ok(Ok(Challenge::Next { auth_session, next }))
            }
            ErrorCode::RedirectToWeb => Ok(Ok(Challenge::RedirectToWeb {
                method: answer.body.method.unwrap_or_default(),
                provider: answer.body.provider.unwrap_or_default(),
            })),
            _ => Ok(Err(Refusal {
                auth_session: answer.body.auth_session.take(),
                error: answer.into(),
            })),
        }
    }

    pub async fn token(&self, fields: Form) -> Result<Tokens, ClientError> {
        let response = self.send(self.post_form(paths::TOKEN, fields)).await?;
        expect_json(&response, 200)
    }

    /// Revokes `token` (RFC 7009), best-effort: the answer is not needed.
    pub async fn revoke(&self, token: &str) -> Result<(), ClientError> {
        let mut revoke = self.post_form(
            paths::REVOKE,
            vec![(tokens::param::TOKEN, token.to_owned())],
        );
        revoke.idempotent = true;
        let _: Revoked = self.call(revoke, None, 200).await?;
        Ok(())
    }

    /// A form POST to an OAuth endpoint; `client_id` comes first.
    fn post_form(&self, path: &str, fields: Form) -> Request {
        let mut form = vec![(param::CLIENT_ID.to_owned(), self.client_id.clone())];
        form.extend(
            fields
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value)),
        );
        Request::post_form(self.url(path), form)
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

    /// A JSON POST of a protocol request body.
    pub fn post_json(&self, path: &str, body: &impl Serialize) -> Request {
        // A protocol type of plain fields always serializes.
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        Request::post_json(self.url(path), bytes)
    }

    /// A bodiless POST (`{}`: the endpoint takes no fields).
    pub fn post_empty(&self, path: &str) -> Request {
        Request::post_json(self.url(path), b"{}".to_vec())
    }

    pub fn delete(&self, path: &str) -> Request {
        let mut request = Request::get(self.url(path));
        request.method = crate::http::Method::Delete;
        request
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

    use serde_json::Value;

    #[test]
    fn a_next_step_without_a_type_is_no_answer_to_continue_from() {
        let typeless = answer(
            400,
            r#"{"error":"insufficient_authorization","auth_session":"as_1","next":{}}"#,
        );
        assert!(matches!(
            transport::refusal(&typeless),
            Err(TransportError::Server { status: 400 })
        ));
        let unknown = answer(
            400,
            r#"{"error":"insufficient_authorization","auth_session":"as_1","next":{"type":"teleport"}}"#,
        );
        assert_eq!(
            transport::refusal(&unknown).unwrap().body.next,
            Some(Next::Unknown {
                kind: "teleport".into()
            })
        );
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
