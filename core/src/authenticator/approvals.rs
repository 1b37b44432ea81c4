//! Approvals: the sign-ins waiting for this phone (the pending list, its long-poll, an OS push)
//! and the answers to them (approve with the number, deny, report fraud), each signed twice by the
//! account's device key (the request, and the decision message).
//!
//! The core keeps every request it fetched until it expires: `approve`, `deny` and `report_fraud`
//! take a request id and answer only requests fetched here, so what the app shows and what is
//! signed cannot drift apart.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use authcore_protocol::devices::{
    Challenge, ChallengeMode, Challenges, DecisionAnswer, DecisionRequest, WaitQuery,
};
use authcore_protocol::paths;

use super::channel::expect;
use super::{lock, Authenticator, AuthenticatorError, PushAccount};
use crate::device_protocol::{self as protocol, Decision};
use crate::http::Method;
use crate::timestamp::Timestamp;
use crate::transport::TransportError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum ApprovalKind {
    SignIn,
    /// The test approval that finishes an enrollment.
    Test,
}

/// How the user answers: type the number the sign-in screen shows, or pick it among three.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum NumberPrompt {
    Enter { length: u32 },
    Choose { choices: Vec<String> },
}

/// Where the sign-in comes from, shown with the number prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ApprovalContext {
    /// "Authcore Demo"
    pub app: String,
    pub ip: String,
    /// "Chrome on macOS"
    pub user_agent: String,
    pub location: Option<String>,
    pub time: Timestamp,
}

/// A sign-in waiting for this phone; answer it by its `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ApprovalRequest {
    pub id: String,
    /// The push account (device id) it is for.
    pub account: String,
    pub account_label: String,
    pub kind: ApprovalKind,
    pub prompt: NumberPrompt,
    pub context: ApprovalContext,
    /// By the server's clock.
    pub expires_at: Timestamp,
}

/// The requests this core fetched, by account (device id) and request id, each with the moment it
/// expires on this phone's monotonic clock (its lifetime as the server counted it when it was
/// fetched).
#[derive(Default)]
pub(super) struct Pending(Mutex<HashMap<(String, String), (ApprovalRequest, Instant)>>);

impl Pending {
    /// Keeps what a fetch answered; forgets the requests that expired.
    fn keep(&self, requests: &[ApprovalRequest], lifetime: impl Fn(&ApprovalRequest) -> u64) {
        let now = Instant::now();
        let mut pending = lock(&self.0);
        pending.retain(|_, (_, expires)| *expires > now);
        for request in requests {
            let expires = now + Duration::from_secs(lifetime(request));
            let key = (request.account.clone(), request.id.clone());
            pending.insert(key, (request.clone(), expires));
        }
    }

    /// The request fetched under `id`: `UnknownRequest` when this core never fetched it (or
    /// forgot it after it expired), `Expired` when its time is up. Ids are the servers': should
    /// two servers' live requests share one, neither is guessed at (`UnknownRequest`).
    fn get(&self, id: &str) -> Result<ApprovalRequest, AuthenticatorError> {
        let pending = lock(&self.0);
        let mut found = pending.iter().filter(|((_, key), _)| key == id);
        match (found.next(), found.next()) {
            (Some((_, (_, expires))), None) if *expires <= Instant::now() => {
                Err(AuthenticatorError::Expired)
            }
            (Some((_, (request, _))), None) => Ok(request.clone()),
            _ => Err(AuthenticatorError::UnknownRequest),
        }
    }
}

impl Authenticator {
    /// The requests waiting for this phone on every push account. With `wait_s` > 0 and nothing
    /// pending, long-polls until one arrives (or the time is up, at most 30 s). Without any push
    /// account nothing can arrive: it waits out the time all the same, so an app that calls it in
    /// a loop does not spin.
    pub async fn pending_approvals(
        &self,
        wait_s: u32,
    ) -> Result<Vec<ApprovalRequest>, AuthenticatorError> {
        let accounts = self.push_accounts();
        if accounts.is_empty() {
            tokio::time::sleep(Duration::from_secs(u64::from(wait_s.min(30)))).await;
            return Ok(Vec::new());
        }
        let polls: Vec<_> = accounts
            .iter()
            .map(|account| Box::pin(self.challenges(account, wait_s)))
            .collect();
        let mut all = Vec::new();
        for result in join_all(polls).await {
            all.extend(result?);
        }
        Ok(all)
    }

    /// An OS push arrived (`{"device_id", "request_id"}`): fetches that request over TLS.
    /// `None` when it was already answered or expired.
    pub async fn handle_push_payload(
        &self,
        payload: &HashMap<String, String>,
    ) -> Result<Option<ApprovalRequest>, AuthenticatorError> {
        let (Some(device_id), Some(request_id)) =
            (payload.get("device_id"), payload.get("request_id"))
        else {
            return Err(
                TransportError::protocol("push payload without device_id and request_id").into(),
            );
        };
        let account = self.push_account(device_id)?;
        let pending = self.challenges(&account, 0).await?;
        Ok(pending.into_iter().find(|r| &r.id == request_id))
    }

    /// "Approve" the fetched request `request_id` with the number the user typed or chose. The
    /// app's [`super::UserVerification`] runs first; nothing is sent unless it passes.
    pub async fn approve(&self, request_id: &str, number: &str) -> Result<(), AuthenticatorError> {
        let request = self.pending.get(request_id)?;
        let number = number.trim();
        let shape_ok = match &request.prompt {
            NumberPrompt::Enter { length } => {
                number.len() == *length as usize && number.bytes().all(|b| b.is_ascii_digit())
            }
            NumberPrompt::Choose { choices } => choices.iter().any(|c| c == number),
        };
        if !shape_ok {
            let length = match &request.prompt {
                NumberPrompt::Enter { length } => *length,
                NumberPrompt::Choose { choices } => choices.first().map_or(2, |c| c.len() as u32),
            };
            return Err(AuthenticatorError::InvalidNumber { length });
        }
        let reason = match request.kind {
            ApprovalKind::Test => format!("Finish setting up {}", request.account_label),
            ApprovalKind::SignIn => format!(
                "Approve sign-in to {} from {}",
                request.context.app, request.context.ip
            ),
        };
        if !self.verification.verify_user(reason).await {
            return Err(AuthenticatorError::UserNotVerified);
        }
        self.decide(&request, Decision::Approve, number).await
    }

    /// "Deny" the fetched request `request_id`: the sign-in fails.
    pub async fn deny(&self, request_id: &str) -> Result<(), AuthenticatorError> {
        let request = self.pending.get(request_id)?;
        self.decide(&request, Decision::Deny, "").await
    }

    /// "Report fraud" on the fetched request `request_id`: denies it and blocks further pushes
    /// to this account for a while.
    pub async fn report_fraud(&self, request_id: &str) -> Result<(), AuthenticatorError> {
        let request = self.pending.get(request_id)?;
        self.decide(&request, Decision::ReportFraud, "").await
    }

    /// One account's pending requests, kept in [`Pending`].
    async fn challenges(
        &self,
        account: &PushAccount,
        wait_s: u32,
    ) -> Result<Vec<ApprovalRequest>, AuthenticatorError> {
        let query = WaitQuery {
            wait: (wait_s > 0).then(|| wait_s.min(30).to_string()),
            status: None,
        };
        let path = format!("{}{}", paths::DEVICE_CHALLENGES, query.to_query());
        let response = self
            .channel
            .send(account.signer(), Method::Get, &path, |_| Ok(None))
            .await?;
        let answer: Challenges = expect(&response, 200)?;
        let server_time =
            Timestamp::from_unix_seconds(answer.server_time.unwrap_or_else(|| self.channel.now()));
        let requests = answer
            .challenges
            .into_iter()
            .map(|c| approval_of(c, account))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| TransportError::protocol("a challenge is missing fields"))?;
        self.pending.keep(&requests, |request| {
            request.expires_at.seconds_since(server_time)
        });
        Ok(requests)
    }

    async fn decide(
        &self,
        request: &ApprovalRequest,
        decision: Decision,
        number: &str,
    ) -> Result<(), AuthenticatorError> {
        let account = self.push_account(&request.account)?;
        let signer = account.signer();
        let path = paths::with_id(paths::DEVICE_CHALLENGE, &request.id);
        let response = self
            .channel
            .send(signer, Method::Post, &path, |timestamp| {
                let message = protocol::decision_message(
                    &request.id,
                    decision,
                    number,
                    timestamp,
                    &account.device_id,
                )
                .map_err(|_| TransportError::protocol("the request id is not valid"))?;
                let signature = self.channel.sign(signer, &message)?;
                let body = DecisionRequest {
                    decision: decision.as_str().to_owned(),
                    number: (decision == Decision::Approve).then(|| number.to_owned()),
                    signature,
                };
                Ok(Some(serde_json::to_vec(&body).unwrap_or_default()))
            })
            .await?;
        expect::<DecisionAnswer>(&response, 200).map(|_| ())
    }
}

fn approval_of(challenge: Challenge, account: &PushAccount) -> Option<ApprovalRequest> {
    let prompt = match challenge.mode {
        ChallengeMode::Choose => NumberPrompt::Choose {
            choices: challenge.choices?,
        },
        ChallengeMode::Enter | ChallengeMode::Unknown => NumberPrompt::Enter {
            length: challenge.number_length?,
        },
    };
    let context = challenge.context;
    Some(ApprovalRequest {
        id: challenge.request_id,
        account: account.device_id.clone(),
        account_label: account.label.clone(),
        kind: if challenge.kind == "test" {
            ApprovalKind::Test
        } else {
            ApprovalKind::SignIn
        },
        prompt,
        context: ApprovalContext {
            app: context.app.unwrap_or_default(),
            ip: context.ip.unwrap_or_default(),
            user_agent: context.user_agent.unwrap_or_default(),
            location: context.location,
            time: Timestamp::from_unix_seconds(context.time.unwrap_or(0)),
        },
        expires_at: Timestamp::from_unix_seconds(challenge.expires_at),
    })
}

/// Runs the futures concurrently and answers their outputs in order (no extra crate for one use).
async fn join_all<F: Future + Unpin>(mut futures: Vec<F>) -> Vec<F::Output> {
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match Pin::new(future).poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(id: &str) -> ApprovalRequest {
        ApprovalRequest {
            id: id.into(),
            account: "dv_1".into(),
            account_label: "Globex: dave@globex.example".into(),
            kind: ApprovalKind::SignIn,
            prompt: NumberPrompt::Enter { length: 2 },
            context: ApprovalContext {
                app: "Authcore Demo".into(),
                ip: "203.0.113.7".into(),
                user_agent: "Chrome on macOS".into(),
                location: None,
                time: Timestamp::from_unix_seconds(1_767_225_600),
            },
            expires_at: Timestamp::from_unix_seconds(1_767_225_720),
        }
    }

    /// A push account on Globex's server, as the tests' challenges are for.
    fn account(label: &str) -> PushAccount {
        PushAccount {
            device_id: "dv_1".into(),
            label: label.into(),
            server_url: "https://login.globex.example".into(),
            user_verification: false,
            attested: false,
            passwordless: false,
            key_alias: "push-1".into(),
        }
    }

    #[test]
    fn only_a_fetched_request_can_be_answered() {
        let pending = Pending::default();
        assert_eq!(
            pending.get("42").unwrap_err(),
            AuthenticatorError::UnknownRequest
        );
        pending.keep(&[request("42"), request("43")], |_| 120);
        assert_eq!(pending.get("42").unwrap(), request("42"));
        assert_eq!(pending.get("43").unwrap(), request("43"));
        assert_eq!(
            pending.get("44").unwrap_err(),
            AuthenticatorError::UnknownRequest
        );
        // fetched again: still the one request
        pending.keep(&[request("42")], |_| 120);
        assert_eq!(pending.get("42").unwrap(), request("42"));
    }

    #[test]
    fn the_same_id_from_two_servers_is_not_guessed_at() {
        let pending = Pending::default();
        let mut other = request("42");
        other.account = "dv_2".into();
        pending.keep(&[request("42")], |_| 120);
        pending.keep(&[request("42")], |_| 120);
        assert_eq!(pending.get("42").unwrap(), request("42"));
        pending.keep(&[other], |_| 120);
        assert_eq!(
            pending.get("42").unwrap_err(),
            AuthenticatorError::UnknownRequest
        );
    }

    #[test]
    fn a_request_whose_time_is_up_is_expired_then_forgotten() {
        let pending = Pending::default();
        pending.keep(&[request("42")], |_| 0);
        assert_eq!(pending.get("42").unwrap_err(), AuthenticatorError::Expired);
        // the next fetch forgets it
        pending.keep(&[request("43")], |_| 120);
        assert_eq!(
            pending.get("42").unwrap_err(),
            AuthenticatorError::UnknownRequest
        );
        assert_eq!(pending.get("43").unwrap(), request("43"));
    }

    #[test]
    fn a_challenge_list_becomes_approval_requests() {
        let answer: Challenges = serde_json::from_str(
            r#"{"challenges":[{"request_id":"42","kind":"sign_in","mode":"enter","number_length":2,"choices":null,
  "context":{"app":"Authcore Demo","ip":"203.0.113.7","user_agent":"Chrome on macOS","location":null,"time":1767225600},
  "created_at":1767225600,"expires_at":1767225720},
  {"request_id":"43","kind":"test","mode":"choose","number_length":2,"choices":["12","34","56"],
  "context":{"app":"Authcore Demo","ip":"203.0.113.7","user_agent":"Chrome on macOS","location":"Lyon","time":1767225600},
  "created_at":1767225600,"expires_at":1767225720}],
 "server_time":1767225601}"#,
        )
        .unwrap();
        assert_eq!(answer.server_time, Some(1_767_225_601));
        let account = account("Globex: dave@globex.example");
        let requests: Vec<_> = answer
            .challenges
            .into_iter()
            .map(|c| approval_of(c, &account).unwrap())
            .collect();
        assert_eq!(requests[0], request("42"));
        assert_eq!(requests[1].kind, ApprovalKind::Test);
        assert_eq!(
            requests[1].prompt,
            NumberPrompt::Choose {
                choices: vec!["12".into(), "34".into(), "56".into()]
            }
        );
        assert_eq!(requests[1].context.location.as_deref(), Some("Lyon"));
    }

    #[test]
    fn a_challenge_without_its_number_shape_is_refused() {
        let account = account("Globex");
        for body in [
            r#"{"request_id":"42","kind":"sign_in","mode":"enter","number_length":null,"expires_at":1}"#,
            r#"{"request_id":"42","kind":"sign_in","mode":"choose","choices":null,"expires_at":1}"#,
        ] {
            let challenge: Challenge = serde_json::from_str(body).unwrap();
            assert!(approval_of(challenge, &account).is_none(), "{body}");
        }
    }

    #[test]
    fn a_mode_this_version_does_not_know_asks_for_the_number_to_be_typed() {
        let account = account("Globex");
        let challenge: Challenge = serde_json::from_str(
            r#"{"request_id":"42","kind":"sign_in","mode":"swipe","number_length":3,"expires_at":1}"#,
        )
        .unwrap();
        let request = approval_of(challenge, &account).unwrap();
        assert_eq!(request.prompt, NumberPrompt::Enter { length: 3 });
        assert_eq!(request.context.app, "");
    }
}
