//! Test support: a simulated authenticator phone (core's software P-256 keys) speaking the signed
//! device API of docs/protocol.md through `authcore::device_protocol`.
#![allow(dead_code)]

use std::sync::Arc;

use authcore::device_keys::{DeviceKeys, SoftwareDeviceKeys};
use authcore::device_protocol::{self as protocol, Decision, RequestParts};
use authcore::store::MemoryStore;
use serde_json::{json, Value};

use crate::common::TestServer;

/// One signed request as the phone would send it; tests tamper with the fields.
#[derive(Clone)]
pub struct Signed {
    pub method: &'static str,
    pub target: String,
    pub body: Vec<u8>,
    pub timestamp: u64,
    pub nonce: String,
    pub device_id: String,
    /// The key alias that signs (`"device"` normally).
    pub key: String,
}

pub struct Phone {
    pub keys: SoftwareDeviceKeys,
    pub spki: Vec<u8>,
    pub device_id: String,
    pub name: String,
    /// The `Authcore-Protocol-Version` it sends (`None`: an app older than the header).
    pub protocol_version: Option<u32>,
    /// Sent at activation: `android` unless a test says otherwise.
    pub platform: String,
    /// The OS push token sent at activation (none unless a test sets one).
    pub push_token: Option<String>,
}

impl Phone {
    pub fn new(name: &str) -> Phone {
        let keys = SoftwareDeviceKeys::new(Arc::new(MemoryStore::default()));
        let spki = keys.generate("device").unwrap();
        keys.generate("other").unwrap();
        Phone {
            keys,
            spki,
            device_id: String::new(),
            name: name.to_owned(),
            protocol_version: Some(protocol::PROTOCOL_VERSION),
            platform: "android".into(),
            push_token: None,
        }
    }

    pub fn request(
        &self,
        t: &TestServer,
        method: &'static str,
        target: &str,
        body: Option<Value>,
    ) -> Signed {
        Signed {
            method,
            target: target.to_owned(),
            body: body
                .map(|b| serde_json::to_vec(&b).unwrap())
                .unwrap_or_default(),
            timestamp: t.now(),
            nonce: protocol::new_nonce(),
            device_id: self.device_id.clone(),
            key: "device".into(),
        }
    }

    pub async fn send(&self, t: &TestServer, r: &Signed) -> (u16, Value) {
        let message = protocol::request_message(&RequestParts {
            method: r.method,
            path_and_query: &r.target,
            body: &r.body,
            timestamp: r.timestamp,
            nonce: &r.nonce,
            device_id: &r.device_id,
        })
        .unwrap();
        let signature = self.keys.sign(&r.key, &message).unwrap();
        let mut request = t
            .http
            .request(r.method.parse().unwrap(), format!("{}{}", t.base, r.target))
            .header(protocol::HEADER_TIMESTAMP, r.timestamp.to_string())
            .header(protocol::HEADER_NONCE, &r.nonce)
            .header(
                protocol::HEADER_SIGNATURE,
                data_encoding::BASE64URL_NOPAD.encode(&signature),
            );
        if !r.device_id.is_empty() {
            request = request.header(protocol::HEADER_DEVICE_ID, &r.device_id);
        }
        if let Some(version) = self.protocol_version {
            request = request.header(protocol::HEADER_PROTOCOL_VERSION, version.to_string());
        }
        if !r.body.is_empty() {
            request = request
                .header("content-type", "application/json")
                .body(r.body.clone());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// "Scan the QR code" / "Can't scan image?": registers this phone with an activation code.
    pub async fn activate(
        &mut self,
        t: &TestServer,
        code: &str,
        user_verification: bool,
    ) -> (u16, Value) {
        let body = json!({
            "activation_code": code,
            "public_key": data_encoding::BASE64URL_NOPAD.encode(&self.spki),
            "display_name": self.name,
            "platform": self.platform,
            "push_token": self.push_token,
            "user_verification": user_verification,
        });
        let saved = std::mem::take(&mut self.device_id);
        let r = self.request(t, "POST", "/v1/devices/activate", Some(body));
        let (status, answer) = self.send(t, &r).await;
        self.device_id = answer["device_id"].as_str().map_or(saved, str::to_owned);
        (status, answer)
    }

    pub async fn challenges(&self, t: &TestServer, wait: u64) -> (u16, Value) {
        let target = if wait > 0 {
            format!("/v1/devices/challenges?wait={wait}")
        } else {
            "/v1/devices/challenges".to_owned()
        };
        let r = self.request(t, "GET", &target, None);
        self.send(t, &r).await
    }

    /// The decision request, signed (request and decision message) but not sent.
    pub fn decision(
        &self,
        t: &TestServer,
        request_id: &str,
        decision: Decision,
        number: &str,
    ) -> Signed {
        let timestamp = t.now();
        let message =
            protocol::decision_message(request_id, decision, number, timestamp, &self.device_id)
                .unwrap();
        let signature = self.keys.sign("device", &message).unwrap();
        let mut body = json!({
            "decision": decision.as_str(),
            "signature": data_encoding::BASE64URL_NOPAD.encode(&signature),
        });
        if decision == Decision::Approve {
            body["number"] = json!(number);
        }
        let mut r = self.request(
            t,
            "POST",
            &format!("/v1/devices/challenges/{request_id}"),
            Some(body),
        );
        r.timestamp = timestamp;
        r
    }

    pub async fn approve(&self, t: &TestServer, request_id: &str, number: &str) -> (u16, Value) {
        let r = self.decision(t, request_id, Decision::Approve, number);
        self.send(t, &r).await
    }

    pub async fn deny(&self, t: &TestServer, request_id: &str) -> (u16, Value) {
        let r = self.decision(t, request_id, Decision::Deny, "");
        self.send(t, &r).await
    }

    pub async fn report_fraud(&self, t: &TestServer, request_id: &str) -> (u16, Value) {
        let r = self.decision(t, request_id, Decision::ReportFraud, "");
        self.send(t, &r).await
    }

    /// The first pending challenge (waits up to 5 s for one).
    pub async fn next_challenge(&self, t: &TestServer) -> Value {
        let (status, body) = self.challenges(t, 5).await;
        assert_eq!(status, 200, "{body}");
        body["challenges"][0].clone()
    }
}

/// Enrolls `phone` for the signed-in user (`access`): start, activate, approve the test push.
pub async fn enroll(t: &TestServer, access: &str, phone: &mut Phone, user_verification: bool) {
    let (status, enrollment) = t.post_bearer("/v1/me/authenticators", access).await;
    assert_eq!(status, 201, "{enrollment}");
    let (status, activated) = phone
        .activate(
            t,
            enrollment["activation_code"].as_str().unwrap(),
            user_verification,
        )
        .await;
    assert_eq!(status, 201, "{activated}");
    let id = enrollment["enrollment_id"].as_str().unwrap();
    let (_, shown) = t
        .get(&format!("/v1/me/authenticators/{id}"), Some(access))
        .await;
    assert_eq!(shown["status"], "approve_test", "{shown}");
    let test = phone.next_challenge(t).await;
    assert_eq!(test["kind"], "test");
    let (status, body) = phone
        .approve(
            t,
            test["request_id"].as_str().unwrap(),
            shown["test"]["number"].as_str().unwrap(),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

/// Alice (Acme, no second factor yet) signed in with a password, and her enrolled phone.
pub async fn alice_with_phone(t: &TestServer) -> (crate::common::Tokens, Phone) {
    // Binding a device needs a step-up sign-in: the password and an email code.
    let tokens = t.sign_in_mfa(crate::common::ALICE, None).await;
    let mut phone = Phone::new("Alice's Pixel");
    enroll(t, &tokens.access, &mut phone, true).await;
    (tokens, phone)
}

/// Types the password; the sign-in now waits for the phone: returns the session, PKCE and
/// `next` (type `push`).
pub async fn password_then_push(
    t: &TestServer,
    user: (&str, &str),
) -> (String, crate::common::Pkce, Value) {
    let pkce = crate::common::pkce();
    let (status, body) = t.begin(user.0, &pkce, &[("password", user.1)]).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["next"]["type"], "push", "{body}");
    (crate::common::session_of(&body), pkce, body["next"].clone())
}

/// Bob (Acme): password and TOTP.
pub async fn sign_in_bob(t: &TestServer) -> crate::common::Tokens {
    use crate::common::*;
    let pkce = pkce();
    let (_, body) = t.begin(BOB.0, &pkce, &[("password", BOB.1)]).await;
    let code = totp_now(BOB_TOTP, t.now());
    let (status, body) = t
        .step(&session_of(&body), &[("method", "totp"), ("code", &code)])
        .await;
    assert_eq!(status, 200, "{body}");
    t.exchange(body["authorization_code"].as_str().unwrap(), &pkce)
        .await
}

/// Dave (Globex, nothing enrolled): password, email code for the new device, "Skip for now".
pub async fn sign_in_dave(t: &TestServer) -> crate::common::Tokens {
    use crate::common::*;
    let pkce = pkce();
    let (_, body) = t.begin(DAVE.0, &pkce, &[("password", DAVE.1)]).await;
    assert_eq!(body["next"]["type"], "verify_device", "{body}");
    let session = session_of(&body);
    let code = t.last_code(DAVE.0).await;
    let (_, body) = t.step(&session, &[("code", &code)]).await;
    assert_eq!(body["next"]["type"], "enroll_authenticator", "{body}");
    let (status, body) = t.step(&session, &[("method", "skip_enrollment")]).await;
    assert_eq!(status, 200, "{body}");
    t.exchange(body["authorization_code"].as_str().unwrap(), &pkce)
        .await
}

pub async fn delete(t: &TestServer, path: &str, bearer: &str) -> (u16, Value) {
    t.delete(path, bearer).await
}

impl Phone {
    /// A phone whose device key is `pkcs8` (a P-256 key the test also certifies).
    pub fn with_key(name: &str, pkcs8: &[u8]) -> Phone {
        let store = Arc::new(MemoryStore::default());
        authcore::store::SecureStore::put(&*store, "device-keys/device", pkcs8).unwrap();
        let keys = SoftwareDeviceKeys::new(store);
        let spki = keys.public_key("device").unwrap();
        keys.generate("other").unwrap();
        Phone {
            keys,
            spki,
            device_id: String::new(),
            name: name.to_owned(),
            protocol_version: Some(protocol::PROTOCOL_VERSION),
            platform: "android".into(),
            push_token: None,
        }
    }

    /// [`Phone::activate`] with an `attestation` member (`Value::Null`: none).
    pub async fn activate_attested(
        &mut self,
        t: &TestServer,
        code: &str,
        user_verification: bool,
        attestation: Value,
    ) -> (u16, Value) {
        let body = json!({
            "activation_code": code,
            "public_key": data_encoding::BASE64URL_NOPAD.encode(&self.spki),
            "display_name": self.name,
            "platform": self.platform,
            "user_verification": user_verification,
            "attestation": attestation,
        });
        let saved = std::mem::take(&mut self.device_id);
        let r = self.request(t, "POST", "/v1/devices/activate", Some(body));
        let (status, answer) = self.send(t, &r).await;
        self.device_id = answer["device_id"].as_str().map_or(saved, str::to_owned);
        (status, answer)
    }
}

/// [`enroll`] whose activation carries the attestation `attest(activation code)` makes;
/// returns the activation answer.
pub async fn enroll_attested(
    t: &TestServer,
    access: &str,
    phone: &mut Phone,
    user_verification: bool,
    attest: impl FnOnce(&str) -> Value,
) -> Value {
    let (status, enrollment) = t.post_bearer("/v1/me/authenticators", access).await;
    assert_eq!(status, 201, "{enrollment}");
    let code = enrollment["activation_code"].as_str().unwrap();
    let attestation = attest(code);
    let (status, activated) = phone
        .activate_attested(t, code, user_verification, attestation)
        .await;
    assert_eq!(status, 201, "{activated}");
    let id = enrollment["enrollment_id"].as_str().unwrap();
    let (_, shown) = t
        .get(&format!("/v1/me/authenticators/{id}"), Some(access))
        .await;
    let test = phone.next_challenge(t).await;
    let (status, body) = phone
        .approve(
            t,
            test["request_id"].as_str().unwrap(),
            shown["test"]["number"].as_str().unwrap(),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    activated
}

/// A full sign-in approved on `phone`: the password, then the push it answers with the number
/// shown. A sign-in with a second factor, strong enough for security changes.
pub async fn sign_in_with_phone(
    t: &TestServer,
    user: (&str, &str),
    phone: &Phone,
) -> crate::common::Tokens {
    let (session, pkce, next) = password_then_push(t, user).await;
    let request_id = next["request_id"].as_str().unwrap().to_owned();
    let (status, body) = phone
        .approve(t, &request_id, next["number"].as_str().unwrap())
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = t.step(&session, &[]).await;
    assert_eq!(status, 200, "{body}");
    t.exchange(body["authorization_code"].as_str().unwrap(), &pkce)
        .await
}

/// Runs the futures concurrently (all in flight together); their answers in order.
pub async fn futures_join<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
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
    outputs.into_iter().map(Option::unwrap).collect()
}
