//! A stand-in upstream OpenID provider on 127.0.0.1: discovery, a JWK set (an RSA key `rsa1`
//! and a P-256 key `ec1`), an authorization endpoint that answers at once (no login) and a
//! token endpoint that checks PKCE and returns an ID token shaped by [`Faults`]: what a real
//! provider would never send, to prove each refusal.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use ring::signature::{EcdsaKeyPair, KeyPair, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Value};

/// How the next ID token (and authorization answer) goes wrong; the default is a good one.
#[derive(Clone, Debug)]
pub struct Faults {
    /// `RS256`, `ES256`, `none` or `HS256`.
    pub alg: &'static str,
    /// Signed by a key the JWK set does not hold (kid `rogue`).
    pub rogue_key: bool,
    /// The nonce put in the token (None: the one the authorization request sent).
    pub nonce: Option<String>,
    /// The `iss` parameter of the authorization answer (None: the issuer; Some(""): absent).
    pub iss_param: Option<String>,
    /// The token's `iss` (None: the issuer, filled with `tid` when multi-tenant).
    pub token_iss: Option<String>,
    pub tid: Option<String>,
    /// Seconds added to now for `exp`.
    pub exp_in: i64,
    pub aud: Value,
    pub azp: Option<String>,
    pub sub: String,
    pub email: String,
    pub email_verified: Value,
    /// The authorization answer is `error=access_denied`.
    pub deny: bool,
    /// The provider rotated to a new key (`ec2`): published, and signing.
    pub rotated: bool,
    /// The email only at userinfo (as oidc-provider does), answered for this `sub`.
    pub userinfo_only: Option<String>,
}

impl Faults {
    pub fn good(client_id: &str, sub: &str, email: &str) -> Faults {
        Faults {
            alg: "RS256",
            rogue_key: false,
            nonce: None,
            iss_param: None,
            token_iss: None,
            tid: None,
            exp_in: 300,
            aud: json!(client_id),
            azp: None,
            sub: sub.to_owned(),
            email: email.to_owned(),
            email_verified: json!(true),
            deny: false,
            userinfo_only: None,
            rotated: false,
        }
    }
}

struct Keys {
    rsa: RsaKeyPair,
    ec: EcdsaKeyPair,
    ec2: EcdsaKeyPair,
    rogue: EcdsaKeyPair,
}

struct Shared {
    issuer: String,
    base: String,
    faults: Mutex<Faults>,
    /// code -> (nonce, code_challenge)
    codes: Mutex<HashMap<String, (String, String)>>,
    keys: Keys,
}

pub struct FakeUpstream {
    /// Its origin (`http://127.0.0.1:PORT`).
    pub base: String,
    /// Its issuer (the base, or `{base}/{tenantid}/v2.0` when multi-tenant).
    pub issuer: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn b64(bytes: &[u8]) -> String {
    data_encoding::BASE64URL_NOPAD.encode(bytes)
}

fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    data_encoding::BASE64.decode(body.as_bytes()).unwrap()
}

fn new_ec() -> EcdsaKeyPair {
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap()
}

impl FakeUpstream {
    /// Starts it; `multi_tenant` gives it the issuer `{base}/{tenantid}/v2.0`.
    pub async fn start(faults: Faults, multi_tenant: bool) -> FakeUpstream {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let issuer = if multi_tenant {
            format!("{base}/{{tenantid}}/v2.0")
        } else {
            base.clone()
        };
        let pem = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/fcm-service-account.pem"),
        )
        .unwrap();
        let shared = Arc::new(Shared {
            issuer: issuer.clone(),
            base: base.clone(),
            faults: Mutex::new(faults),
            codes: Mutex::default(),
            keys: Keys {
                rsa: RsaKeyPair::from_pkcs8(&pem_der(&pem)).unwrap(),
                ec: new_ec(),
                ec2: new_ec(),
                rogue: new_ec(),
            },
        });
        let router = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route(
                "/common/v2.0/.well-known/openid-configuration",
                get(discovery),
            )
            .route("/jwks", get(jwks))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/userinfo", get(userinfo))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        FakeUpstream {
            base,
            issuer,
            shared,
            task,
        }
    }

    pub fn set(&self, change: impl FnOnce(&mut Faults)) {
        change(&mut self.shared.faults.lock().unwrap());
    }
}

async fn discovery(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({
        "issuer": s.issuer,
        "authorization_endpoint": format!("{}/authorize", s.base),
        "token_endpoint": format!("{}/token", s.base),
        "jwks_uri": format!("{}/jwks", s.base),
        "userinfo_endpoint": format!("{}/userinfo", s.base),
        "authorization_response_iss_parameter_supported": true,
    }))
}

fn ec_jwk(kid: &str, key: &EcdsaKeyPair) -> Value {
    let point = key.public_key().as_ref();
    json!({"kty": "EC", "kid": kid, "crv": "P-256", "use": "sig", "alg": "ES256",
           "x": b64(&point[1..33]), "y": b64(&point[33..65])})
}

async fn jwks(State(s): State<Arc<Shared>>) -> Json<Value> {
    let public = rsa_components(&s.keys.rsa);
    let mut keys = vec![
        json!({"kty": "RSA", "kid": "rsa1", "use": "sig", "alg": "RS256", "n": b64(&public.n), "e": b64(&public.e)}),
        ec_jwk("ec1", &s.keys.ec),
    ];
    if s.faults.lock().unwrap().rotated {
        keys.push(ec_jwk("ec2", &s.keys.ec2));
    }
    Json(json!({ "keys": keys }))
}

async fn authorize(
    State(s): State<Arc<Shared>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let faults = s.faults.lock().unwrap().clone();
    let mut answer = form_urlencoded::Serializer::new(String::new());
    if faults.deny {
        answer.append_pair("error", "access_denied");
    } else {
        let code = format!("upcode-{}", b64(&rand_bytes()));
        s.codes.lock().unwrap().insert(
            code.clone(),
            (q["nonce"].clone(), q["code_challenge"].clone()),
        );
        answer.append_pair("code", &code);
    }
    answer.append_pair("state", &q["state"]);
    let iss = faults
        .iss_param
        .clone()
        .unwrap_or_else(|| match &faults.tid {
            Some(tid) => s.issuer.replace("{tenantid}", tid),
            None => s.issuer.clone(),
        });
    if !iss.is_empty() {
        answer.append_pair("iss", &iss);
    }
    let location = format!("{}?{}", q["redirect_uri"], answer.finish());
    (StatusCode::FOUND, [("location", location)]).into_response()
}

async fn userinfo(State(s): State<Arc<Shared>>) -> Json<Value> {
    let f = s.faults.lock().unwrap().clone();
    Json(json!({
        "sub": f.userinfo_only.unwrap_or(f.sub),
        "email": f.email,
        "email_verified": f.email_verified,
    }))
}

fn rsa_components(key: &RsaKeyPair) -> ring::rsa::PublicKeyComponents<Vec<u8>> {
    key.public().into()
}

fn rand_bytes() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes).unwrap();
    bytes
}

async fn token(
    State(s): State<Arc<Shared>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let Some((nonce, challenge)) = s.codes.lock().unwrap().remove(&form["code"]) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant"})),
        )
            .into_response();
    };
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
    if b64(digest.as_ref()) != challenge {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant"})),
        )
            .into_response();
    }
    let f = s.faults.lock().unwrap().clone();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let iss = f.token_iss.clone().unwrap_or_else(|| match &f.tid {
        Some(tid) => s.issuer.replace("{tenantid}", tid),
        None => s.issuer.clone(),
    });
    let mut claims = json!({
        "iss": iss, "sub": f.sub, "aud": f.aud, "iat": now, "exp": now + f.exp_in,
        "nonce": f.nonce.clone().unwrap_or(nonce),
        "email": f.email, "email_verified": f.email_verified, "name": "Upstream User",
    });
    if f.userinfo_only.is_some() {
        let map = claims.as_object_mut().unwrap();
        map.remove("email");
        map.remove("email_verified");
    }
    if let Some(tid) = &f.tid {
        claims["tid"] = json!(tid);
    }
    if let Some(azp) = &f.azp {
        claims["azp"] = json!(azp);
    }
    let rng = ring::rand::SystemRandom::new();
    let (kid, alg) = match (f.alg, f.rogue_key) {
        (_, true) => ("rogue", "ES256"),
        _ if f.rotated => ("ec2", "ES256"),
        ("ES256", _) => ("ec1", "ES256"),
        (alg, _) => ("rsa1", alg),
    };
    let header = json!({"alg": alg, "kid": kid, "typ": "JWT"});
    let signed = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = match (alg, kid) {
        ("none", _) => Vec::new(),
        ("HS256", _) => {
            // Keyed with the RSA public modulus: the classic algorithm-confusion forgery.
            let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &rsa_components(&s.keys.rsa).n);
            ring::hmac::sign(&key, signed.as_bytes()).as_ref().to_vec()
        }
        ("ES256", kid) => {
            let key = match kid {
                "rogue" => &s.keys.rogue,
                "ec2" => &s.keys.ec2,
                _ => &s.keys.ec,
            };
            key.sign(&rng, signed.as_bytes()).unwrap().as_ref().to_vec()
        }
        _ => {
            let mut sig = vec![0; s.keys.rsa.public().modulus_len()];
            s.keys
                .rsa
                .sign(
                    &ring::signature::RSA_PKCS1_SHA256,
                    &rng,
                    signed.as_bytes(),
                    &mut sig,
                )
                .unwrap();
            sig
        }
    };
    let id_token = format!("{signed}.{}", b64(&signature));
    Json(json!({"access_token": "up-at", "token_type": "Bearer", "id_token": id_token}))
        .into_response()
}
