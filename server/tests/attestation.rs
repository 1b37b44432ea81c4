//! Device attestation at activation: the phone proves its key lives in hardware and needs the
//! user (Android Key Attestation, Apple App Attest), or passwordless push does not reach it.
//! The chains are made here under test roots (rcgen) that the server is configured to trust;
//! the key description and the App Attest nonce are hand-encoded DER, the object hand-encoded
//! CBOR, as the platforms produce them.

mod common;
mod phone;

use authcore::device_protocol::{attestation_challenge, ActivationCode};
use common::*;
use phone::*;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DnType, IsCa, KeyPair,
    PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384,
};
use ring::digest::{digest, SHA256};
use serde_json::{json, Value};

const KEY_DESCRIPTION: &[u64] = &[1, 3, 6, 1, 4, 1, 11129, 2, 1, 17];
const APPLE_NONCE: &[u64] = &[1, 2, 840, 113635, 100, 8, 2];
const APP_ID: &str = "ABCDE12345.example.authcore.app";

fn b64(bytes: &[u8]) -> String {
    data_encoding::BASE64URL_NOPAD.encode(bytes)
}

fn sha256(parts: &[&[u8]]) -> Vec<u8> {
    digest(&SHA256, &parts.concat()).as_ref().to_vec()
}

// --- DER, as the Keystore writes it -------------------------------------------------------

fn tlv(tag: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = tag.to_vec();
    let n = value.len();
    if n < 128 {
        out.push(n as u8);
    } else if n < 256 {
        out.extend([0x81, n as u8]);
    } else {
        out.extend([0x82, (n >> 8) as u8, n as u8]);
    }
    out.extend_from_slice(value);
    out
}

fn seq(items: &[Vec<u8>]) -> Vec<u8> {
    tlv(&[0x30], &items.concat())
}

fn unsigned(tag: u8, n: u64) -> Vec<u8> {
    let mut bytes: Vec<u8> = n
        .to_be_bytes()
        .into_iter()
        .skip_while(|b| *b == 0)
        .collect();
    if bytes.first().map_or(true, |b| b & 0x80 != 0) {
        bytes.insert(0, 0);
    }
    tlv(&[tag], &bytes)
}

fn int(n: u64) -> Vec<u8> {
    unsigned(0x02, n)
}

fn octets(bytes: &[u8]) -> Vec<u8> {
    tlv(&[0x04], bytes)
}

/// `[n] EXPLICIT` (the high-tag-number form from 31 on, as AuthorizationList's 503, 504).
fn tagged(n: u32, inner: Vec<u8>) -> Vec<u8> {
    let tag = if n < 31 {
        vec![0xa0 | n as u8]
    } else {
        let mut digits = vec![(n & 0x7f) as u8];
        let mut rest = n >> 7;
        while rest > 0 {
            digits.push(0x80 | (rest & 0x7f) as u8);
            rest >>= 7;
        }
        digits.push(0xbf);
        digits.reverse();
        digits
    };
    tlv(&tag, &inner)
}

/// What the Keystore says about a key.
struct Described {
    security_level: u64,
    challenge: Vec<u8>,
    purposes: Vec<u64>,
    user_auth: bool,
}

impl Described {
    /// A StrongBox-free TEE key for signing that needs the user, made for `challenge`.
    fn good(challenge: &[u8]) -> Described {
        Described {
            security_level: 1,
            challenge: challenge.to_vec(),
            purposes: vec![2],
            user_auth: true,
        }
    }

    fn der(&self) -> Vec<u8> {
        let purposes: Vec<Vec<u8>> = self.purposes.iter().map(|p| int(*p)).collect();
        let mut hardware = vec![
            tagged(1, tlv(&[0x31], &purposes.concat())),
            tagged(2, int(3)), // algorithm EC
        ];
        if self.user_auth {
            hardware.push(tagged(504, int(2))); // userAuthType FINGERPRINT
        } else {
            hardware.push(tagged(503, vec![0x05, 0x00])); // noAuthRequired
        }
        seq(&[
            int(300),
            unsigned(0x0a, self.security_level),
            int(300),
            unsigned(0x0a, self.security_level),
            octets(&self.challenge),
            octets(b""),
            seq(&[]),
            seq(&hardware),
        ])
    }
}

// --- certificates -----------------------------------------------------------------------

struct Ca {
    certificate: rcgen::Certificate,
    key: KeyPair,
}

fn root(name: &str) -> Ca {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    Ca {
        certificate: params.self_signed(&key).unwrap(),
        key,
    }
}

fn intermediate(parent: &Ca, name: &str) -> Ca {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    Ca {
        certificate: params
            .signed_by(&key, &parent.certificate, &parent.key)
            .unwrap(),
        key,
    }
}

/// A leaf certifying `key` under `issuer`, with one custom extension.
fn leaf(issuer: &Ca, key: &KeyPair, oid: &[u64], extension: Vec<u8>) -> Vec<u8> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "Android Keystore Key");
    params.custom_extensions = vec![CustomExtension::from_oid_content(oid, extension)];
    params
        .signed_by(key, &issuer.certificate, &issuer.key)
        .unwrap()
        .der()
        .to_vec()
}

/// The server trusting a test Android root and a test Apple root; Alice signed in.
struct World {
    t: TestServer,
    android_root: Ca,
    android: Ca,
    apple: Ca,
    access: String,
}

async fn world(name: &str, require_attestation: bool) -> World {
    let android_root = root("Test Key Attestation Root");
    let android = intermediate(&android_root, "Test Keystore Batch Key");
    let apple_root = root("Test App Attestation Root CA");
    let apple = intermediate(&apple_root, "Test App Attestation CA 1");
    let dir = temp_path(name);
    std::fs::write(dir.join("android.pem"), android_root.certificate.pem()).unwrap();
    std::fs::write(dir.join("apple.pem"), apple_root.certificate.pem()).unwrap();
    let mut config = test_config();
    config.push.require_attestation = require_attestation;
    config.attestation.android_roots = vec![dir.join("android.pem")];
    config.attestation.apple_roots = vec![dir.join("apple.pem")];
    config.attestation.apple_app_ids = vec![APP_ID.into()];
    let t = start_with(config, "sqlite::memory:", true).await;
    let access = t.sign_in_mfa(ALICE, None).await.access;
    World {
        t,
        android_root,
        android,
        apple,
        access,
    }
}

/// A phone with its device key (the key the attestation must certify).
fn phone(name: &str) -> (Phone, KeyPair) {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    (Phone::with_key(name, &key.serialize_der()), key)
}

fn challenge_of(code: &str) -> [u8; 32] {
    attestation_challenge(&ActivationCode::parse(code).unwrap())
}

impl World {
    /// The Keystore's chain for `key`: leaf, batch intermediate, root.
    fn android_chain(&self, key: &KeyPair, described: &Described) -> Vec<Vec<u8>> {
        vec![
            leaf(&self.android, key, KEY_DESCRIPTION, described.der()),
            self.android.certificate.der().to_vec(),
            self.android_root.certificate.der().to_vec(),
        ]
    }

    async fn start_enrollment(&self, access: &str) -> String {
        let (status, enrollment) = self.t.post_bearer("/v1/me/authenticators", access).await;
        assert_eq!(status, 201, "{enrollment}");
        enrollment["activation_code"].as_str().unwrap().to_owned()
    }

    /// Activates Alice's new phone with `attestation`: the answer.
    async fn activate(&self, phone: &mut Phone, attestation: Value) -> (u16, Value) {
        let code = self.start_enrollment(&self.access).await;
        phone
            .activate_attested(&self.t, &code, true, attestation)
            .await
    }

    /// The activation is refused with `invalid_attestation`; its description.
    async fn refused(&self, phone: &mut Phone, code: &str, attestation: Value) -> String {
        let (status, body) = phone
            .activate_attested(&self.t, code, true, attestation)
            .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"], "invalid_attestation", "{body}");
        // Nothing was registered: the code still works once the phone sends a good one.
        let (_, devices) = self.t.get("/v1/me/devices", Some(&self.access)).await;
        assert_eq!(devices["devices"], json!([]));
        body["error_description"].as_str().unwrap().to_owned()
    }
}

fn android(certificates: &[Vec<u8>]) -> Value {
    json!({"format": "android-key", "certificates": certificates.iter().map(|c| b64(c)).collect::<Vec<_>>()})
}

// --- Android ------------------------------------------------------------------------------

#[tokio::test]
async fn a_valid_android_key_attestation_is_accepted_and_the_device_is_attested() {
    let w = world("android-valid", true).await;
    let (mut phone, key) = phone("Alice's Pixel");
    let code = w.start_enrollment(&w.access).await;
    let chain = w.android_chain(&key, &Described::good(&challenge_of(&code)));
    let (status, body) = phone
        .activate_attested(&w.t, &code, true, android(&chain))
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["attested"], true);
    assert_eq!(body["passwordless"], true);
    let (_, devices) = w.t.get("/v1/me/devices", Some(&w.access)).await;
    assert_eq!(devices["devices"][0]["attested"], true);
    assert_eq!(devices["devices"][0]["user_verification"], true);
}

#[tokio::test]
async fn without_a_configured_root_an_attestation_is_not_evaluated_and_the_device_is_not_attested()
{
    // The server ships no vendor roots: until the operator configures them, phones that attest
    // still enroll, as devices that approve after a password only.
    let w = world("android-unconfigured", true).await;
    let t = start().await;
    let access = t.sign_in_mfa(ALICE, None).await.access;
    let (status, enrollment) = t.post_bearer("/v1/me/authenticators", &access).await;
    assert_eq!(status, 201, "{enrollment}");
    let code = enrollment["activation_code"].as_str().unwrap().to_owned();
    let (mut phone, key) = phone("Alice's Pixel");
    let chain = w.android_chain(&key, &Described::good(&challenge_of(&code)));
    let (status, body) = phone
        .activate_attested(&t, &code, true, android(&chain))
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["attested"], false);
    assert_eq!(body["passwordless"], false);
}

#[tokio::test]
async fn a_strongbox_key_is_accepted_too() {
    let w = world("android-strongbox", true).await;
    let (mut phone, key) = phone("Alice's Pixel");
    let code = w.start_enrollment(&w.access).await;
    let mut described = Described::good(&challenge_of(&code));
    described.security_level = 2;
    let chain = w.android_chain(&key, &described);
    let (status, body) = phone
        .activate_attested(&w.t, &code, true, android(&chain))
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["attested"], true);
}

#[tokio::test]
async fn an_android_attestation_for_another_challenge_is_refused() {
    let w = world("android-challenge", true).await;
    let (mut phone, key) = phone("Alice's Pixel");
    let code = w.start_enrollment(&w.access).await;
    let other = ActivationCode::generate();
    let chain = w.android_chain(&key, &Described::good(&attestation_challenge(&other)));
    let description = w.refused(&mut phone, &code, android(&chain)).await;
    assert_eq!(
        description,
        "the device attestation did not verify: the attestation challenge is not the one of this activation code"
    );
}

#[tokio::test]
async fn a_software_key_is_refused() {
    let w = world("android-software", true).await;
    let (mut phone, key) = phone("Alice's Pixel");
    let code = w.start_enrollment(&w.access).await;
    let mut described = Described::good(&challenge_of(&code));
    described.security_level = 0;
    let chain = w.android_chain(&key, &described);
    let description = w.refused(&mut phone, &code, android(&chain)).await;
    assert!(
        description
            .ends_with("attestationSecurityLevel is 0: the key is not in a TEE or StrongBox"),
        "{description}"
    );
}

#[tokio::test]
async fn a_key_usable_without_user_authentication_is_refused() {
    let w = world("android-no-auth", true).await;
    let (mut phone, key) = phone("Alice's Pixel");
    let code = w.start_enrollment(&w.access).await;
    let mut described = Described::good(&challenge_of(&code));
    described.user_auth = false;
    let chain = w.android_chain(&key, &described);
    let description = w.refused(&mut phone, &code, android(&chain)).await;
    assert!(
        description.ends_with("the key is usable without user authentication (noAuthRequired)"),
        "{description}"
    );
}

#[tokio::test]
async fn a_key_not_for_signing_is_refused() {
    let w = world("android-purpose", true).await;
    let (mut phone, key) = phone("Alice's Pixel");
    let code = w.start_enrollment(&w.access).await;
    let mut described = Described::good(&challenge_of(&code));
    described.purposes = vec![0, 1]; // ENCRYPT, DECRYPT
    let chain = w.android_chain(&key, &described);
    let description = w.refused(&mut phone, &code, android(&chain)).await;
    assert!(
        description.ends_with("the hardware does not enforce the SIGN purpose"),
        "{description}"
    );
}

#[tokio::test]
async fn an_attestation_of_another_key_is_refused() {
    let w = world("android-other-key", true).await;
    let (mut phone, _) = phone("Alice's Pixel");
    let code = w.start_enrollment(&w.access).await;
    let elsewhere = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let chain = w.android_chain(&elsewhere, &Described::good(&challenge_of(&code)));
    let description = w.refused(&mut phone, &code, android(&chain)).await;
    assert!(
        description
            .ends_with("the attested key (certificate 0) is not the public_key being registered"),
        "{description}"
    );
}

#[tokio::test]
async fn a_chain_to_an_unknown_root_is_refused() {
    let w = world("android-unknown-root", true).await;
    let (mut phone, key) = phone("Alice's Pixel");
    let code = w.start_enrollment(&w.access).await;
    let stranger_root = root("Someone's Root");
    let stranger = intermediate(&stranger_root, "Someone's Batch Key");
    let described = Described::good(&challenge_of(&code));
    let chain = vec![
        leaf(&stranger, &key, KEY_DESCRIPTION, described.der()),
        stranger.certificate.der().to_vec(),
        stranger_root.certificate.der().to_vec(),
    ];
    let description = w.refused(&mut phone, &code, android(&chain)).await;
    assert!(
        description.ends_with("the certificate chain does not lead to a trusted root"),
        "{description}"
    );
}

#[tokio::test]
async fn a_broken_signature_in_the_chain_is_refused() {
    let w = world("android-signature", true).await;
    let (mut phone, key) = phone("Alice's Pixel");
    let code = w.start_enrollment(&w.access).await;
    let mut chain = w.android_chain(&key, &Described::good(&challenge_of(&code)));
    let last = chain[0].len() - 1;
    chain[0][last] ^= 0x01;
    let description = w.refused(&mut phone, &code, android(&chain)).await;
    assert!(
        description
            .ends_with("the signature of certificate 0 does not verify with certificate 1's key"),
        "{description}"
    );
}

#[tokio::test]
async fn a_certificate_made_by_an_attested_key_is_refused() {
    // An attested Keystore key (not a CA) signs a made-up leaf describing a software key.
    let w = world("android-not-ca", true).await;
    let (mut phone, key) = phone("Alice's Pixel");
    let code = w.start_enrollment(&w.access).await;
    let described = Described::good(&challenge_of(&code));
    let attested_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "Android Keystore Key");
    params.custom_extensions = vec![CustomExtension::from_oid_content(
        KEY_DESCRIPTION,
        described.der(),
    )];
    let attested = params
        .signed_by(&attested_key, &w.android.certificate, &w.android.key)
        .unwrap();
    let forged = Ca {
        certificate: attested,
        key: attested_key,
    };
    let chain = vec![
        leaf(&forged, &key, KEY_DESCRIPTION, described.der()),
        forged.certificate.der().to_vec(),
        w.android.certificate.der().to_vec(),
        w.android_root.certificate.der().to_vec(),
    ];
    let description = w.refused(&mut phone, &code, android(&chain)).await;
    assert!(
        description.ends_with("certificate 1 signs another but is not a CA"),
        "{description}"
    );
}

#[tokio::test]
async fn a_malformed_attestation_is_refused() {
    let w = world("android-malformed", true).await;
    let (mut phone, _) = phone("Alice's Pixel");
    let code = w.start_enrollment(&w.access).await;
    for bad in [
        json!({"format": "android-key"}),
        json!({"format": "tpm", "certificates": []}),
        json!("android-key"),
        json!({"format": "android-key", "certificates": ["not base64!"]}),
        json!({"format": "android-key", "certificates": [b64(b"\x30\x03\x02\x01")]}),
        json!({"format": "android-key", "certificates": []}),
    ] {
        w.refused(&mut phone, &code, bad).await;
    }
    // The code was never used: a valid attestation still activates.
    let (status, body) = phone
        .activate_attested(&w.t, &code, true, Value::Null)
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["attested"], false);
    assert_eq!(body["passwordless"], false);
}

// --- Apple --------------------------------------------------------------------------------

/// What App Attest signs, with the parts a test changes.
struct AppAttest {
    app_id: String,
    counter: u32,
    aaguid: [u8; 16],
    wrong_nonce: bool,
}

impl Default for AppAttest {
    fn default() -> Self {
        AppAttest {
            app_id: APP_ID.into(),
            counter: 0,
            aaguid: *b"appattest\0\0\0\0\0\0\0",
            wrong_nonce: false,
        }
    }
}

fn cbor_head(major: u8, n: usize) -> Vec<u8> {
    let m = major << 5;
    match n {
        0..=23 => vec![m | n as u8],
        24..=255 => vec![m | 24, n as u8],
        _ => vec![m | 25, (n >> 8) as u8, n as u8],
    }
}

fn cbor_text(text: &str) -> Vec<u8> {
    [cbor_head(3, text.len()), text.as_bytes().to_vec()].concat()
}

fn cbor_bytes(bytes: &[u8]) -> Vec<u8> {
    [cbor_head(2, bytes.len()), bytes.to_vec()].concat()
}

impl World {
    /// `attestKey(keyId, clientDataHash)` for the device key `device_spki` and `code`.
    fn app_attest(&self, code: &str, device_spki: &[u8], how: &AppAttest) -> Value {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let key_id = sha256(&[key.public_key_raw()]);
        let auth_data = [
            sha256(&[how.app_id.as_bytes()]),
            vec![0x40],
            how.counter.to_be_bytes().to_vec(),
            how.aaguid.to_vec(),
            vec![0x00, 0x20],
            key_id.clone(),
            vec![0xa0], // the COSE key (not read)
        ]
        .concat();
        let client_data_hash = sha256(&[&challenge_of(code), device_spki]);
        let nonce = if how.wrong_nonce {
            sha256(&[b"another request"])
        } else {
            sha256(&[&auth_data, &client_data_hash])
        };
        let extension = seq(&[tagged(1, octets(&nonce))]);
        let credential = leaf(&self.apple, &key, APPLE_NONCE, extension);
        let object = [
            cbor_head(5, 3),
            cbor_text("fmt"),
            cbor_text("apple-appattest"),
            cbor_text("attStmt"),
            cbor_head(5, 2),
            cbor_text("x5c"),
            cbor_head(4, 2),
            cbor_bytes(&credential),
            cbor_bytes(self.apple.certificate.der()),
            cbor_text("receipt"),
            cbor_bytes(b"receipt"),
            cbor_text("authData"),
            cbor_bytes(&auth_data),
        ]
        .concat();
        json!({
            "format": "apple-appattest",
            "object": b64(&object),
            // As DCAppAttestService gives it: standard base64.
            "key_id": data_encoding::BASE64.encode(&key_id),
        })
    }
}

#[tokio::test]
async fn a_valid_app_attest_object_is_accepted() {
    let w = world("apple-valid", true).await;
    let (mut phone, _) = phone("Alice's iPhone");
    let code = w.start_enrollment(&w.access).await;
    let attestation = w.app_attest(&code, &phone.spki, &AppAttest::default());
    let (status, body) = phone
        .activate_attested(&w.t, &code, true, attestation)
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["attested"], true);
    assert_eq!(body["passwordless"], true);
}

#[tokio::test]
async fn an_app_attest_object_with_a_wrong_nonce_is_refused() {
    let w = world("apple-nonce", true).await;
    let (mut phone, _) = phone("Alice's iPhone");
    let code = w.start_enrollment(&w.access).await;
    let how = AppAttest {
        wrong_nonce: true,
        ..AppAttest::default()
    };
    let attestation = w.app_attest(&code, &phone.spki, &how);
    let description = w.refused(&mut phone, &code, attestation).await;
    assert!(
        description.ends_with(
            "the nonce is not SHA-256(authData ‖ clientDataHash) for this activation code and key"
        ),
        "{description}"
    );
    // Made for another device key (or code): the nonce does not match either.
    let (other, _) = self::phone("Someone's iPhone");
    let attestation = w.app_attest(&code, &other.spki, &AppAttest::default());
    let description = w.refused(&mut phone, &code, attestation).await;
    assert!(description.contains("the nonce is not"), "{description}");
}

#[tokio::test]
async fn an_app_attest_object_of_another_app_is_refused() {
    let w = world("apple-app-id", true).await;
    let (mut phone, _) = phone("Alice's iPhone");
    let code = w.start_enrollment(&w.access).await;
    let how = AppAttest {
        app_id: "ZZZZZ99999.example.other.app".into(),
        ..AppAttest::default()
    };
    let attestation = w.app_attest(&code, &phone.spki, &how);
    let description = w.refused(&mut phone, &code, attestation).await;
    assert!(
        description.ends_with("rpIdHash is not the SHA-256 of a configured app id"),
        "{description}"
    );
}

#[tokio::test]
async fn an_app_attest_object_with_a_used_counter_is_refused() {
    let w = world("apple-counter", true).await;
    let (mut phone, _) = phone("Alice's iPhone");
    let code = w.start_enrollment(&w.access).await;
    let how = AppAttest {
        counter: 1,
        ..AppAttest::default()
    };
    let attestation = w.app_attest(&code, &phone.spki, &how);
    let description = w.refused(&mut phone, &code, attestation).await;
    assert!(
        description.ends_with("the counter is 1; a new key's is 0"),
        "{description}"
    );
}

#[tokio::test]
async fn a_development_app_attest_object_is_refused_in_production() {
    let w = world("apple-aaguid", true).await;
    let (mut phone, _) = phone("Alice's iPhone");
    let code = w.start_enrollment(&w.access).await;
    let how = AppAttest {
        aaguid: *b"appattestdevelop",
        ..AppAttest::default()
    };
    let attestation = w.app_attest(&code, &phone.spki, &how);
    let description = w.refused(&mut phone, &code, attestation).await;
    assert!(
        description.ends_with("the aaguid is not appattest (production)"),
        "{description}"
    );
}

// --- what attestation changes for sign-in -------------------------------------------------

/// Dave (Globex: phone sign-in allowed) with a phone registered with user verification.
async fn dave_with(w: &World, attested: bool) -> (Tokens, Phone, Value) {
    let dave = phone::sign_in_dave(&w.t).await;
    let (mut phone, key) = phone("Dave's Pixel");
    let activated = enroll_attested(&w.t, &dave.access, &mut phone, true, |code| {
        if attested {
            android(&w.android_chain(&key, &Described::good(&challenge_of(code))))
        } else {
            Value::Null
        }
    })
    .await;
    (dave, phone, activated)
}

async fn phone_sign_in(t: &TestServer, who: &str, device_token: Option<&str>) -> (u16, Value) {
    let mut params = vec![("method", "push")];
    if let Some(token) = device_token {
        params.push(("device_token", token));
    }
    t.begin(who, &pkce(), &params).await
}

#[tokio::test]
async fn phone_sign_in_is_refused_for_a_device_without_attestation_and_looks_like_any_other() {
    let w = world("passwordless-refused", true).await;
    let (dave, phone, activated) = dave_with(&w, false).await;
    // The app can tell Dave at once: this phone will not sign him in without a password.
    assert_eq!(activated["attested"], false);
    assert_eq!(activated["passwordless"], false);
    let (_, devices) = w.t.get("/v1/me/devices", Some(&dave.access)).await;
    assert_eq!(devices["devices"][0]["attested"], false);

    // The sign-in screen shows a number as always; no phone is asked.
    let (status, body) = phone_sign_in(&w.t, DAVE.0, dave.device.as_deref()).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "insufficient_authorization");
    assert_eq!(body["next"]["type"], "push");
    let (_, pending) = phone.challenges(&w.t, 0).await;
    assert_eq!(pending["challenges"], json!([]));
    // Exactly what an unknown identifier gets: nothing tells the two apart.
    let (status, unknown) = phone_sign_in(&w.t, "nobody@globex.example", None).await;
    assert_eq!(status, 400, "{unknown}");
    let keys = |v: &Value| {
        let mut k: Vec<String> = v["next"].as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&body), keys(&unknown));
    assert_eq!(
        body.as_object().unwrap().keys().collect::<Vec<_>>(),
        unknown.as_object().unwrap().keys().collect::<Vec<_>>()
    );
    w.t.server.clock().advance(121);
    let (_, body) = w.t.step(&session_of(&body), &[]).await;
    assert_eq!(body["error"], "expired");
}

#[tokio::test]
async fn phone_sign_in_reaches_an_attested_device() {
    let w = world("passwordless-attested", true).await;
    let (dave, phone, activated) = dave_with(&w, true).await;
    assert_eq!(activated["passwordless"], true);
    let (status, body) = phone_sign_in(&w.t, DAVE.0, dave.device.as_deref()).await;
    assert_eq!(status, 400, "{body}");
    let challenge = phone.next_challenge(&w.t).await;
    let (status, answer) = phone
        .approve(
            &w.t,
            challenge["request_id"].as_str().unwrap(),
            body["next"]["number"].as_str().unwrap(),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let (status, done) = w.t.step(&session_of(&body), &[("wait", "5")]).await;
    assert_eq!(status, 200, "{done}");
    assert!(done["authorization_code"].is_string());
}

#[tokio::test]
async fn a_device_without_attestation_cannot_answer_a_phone_sign_in_meant_for_another() {
    // Dave has an attested phone and an unattested one: only the first sees phone sign-ins.
    let w = world("passwordless-two-devices", true).await;
    let (dave, attested, _) = dave_with(&w, true).await;
    let (mut plain, _) = phone("Dave's old phone");
    enroll_attested(&w.t, &dave.access, &mut plain, true, |_| Value::Null).await;
    let (_, body) = phone_sign_in(&w.t, DAVE.0, dave.device.as_deref()).await;
    let challenge = attested.next_challenge(&w.t).await;
    let (_, pending) = plain.challenges(&w.t, 0).await;
    assert_eq!(pending["challenges"], json!([]));
    let (status, answer) = plain
        .approve(
            &w.t,
            challenge["request_id"].as_str().unwrap(),
            body["next"]["number"].as_str().unwrap(),
        )
        .await;
    assert_eq!(status, 404, "{answer}");
    assert_eq!(answer["error"], "unknown_request");
}

#[tokio::test]
async fn a_device_without_attestation_still_approves_as_a_second_factor() {
    let w = world("second-factor", true).await;
    let (mut phone, _) = phone("Alice's Pixel");
    let (status, activated) = w.activate(&mut phone, Value::Null).await;
    assert_eq!(status, 201, "{activated}");
    let test = phone.next_challenge(&w.t).await;
    let (_, shown) = w.t.get("/v1/me/devices", Some(&w.access)).await;
    assert_eq!(shown["devices"][0]["attested"], false);
    // The test approval's number is on the enrollment screen.
    let (_, enrollment) =
        w.t.get(
            &format!(
                "/v1/me/authenticators/{}",
                activated["enrollment_id"].as_str().unwrap()
            ),
            Some(&w.access),
        )
        .await;
    phone
        .approve(
            &w.t,
            test["request_id"].as_str().unwrap(),
            enrollment["test"]["number"].as_str().unwrap(),
        )
        .await;
    // Password, then the number on the phone.
    let (session, pkce, next) = password_then_push(&w.t, ALICE).await;
    let challenge = phone.next_challenge(&w.t).await;
    let (status, _) = phone
        .approve(
            &w.t,
            challenge["request_id"].as_str().unwrap(),
            next["number"].as_str().unwrap(),
        )
        .await;
    assert_eq!(status, 200);
    let (status, done) = w.t.step(&session, &[("wait", "5")]).await;
    assert_eq!(status, 200, "{done}");
    w.t.exchange(done["authorization_code"].as_str().unwrap(), &pkce)
        .await;
}

#[tokio::test]
async fn without_require_attestation_user_verification_is_taken_at_its_word() {
    let w = world("not-required", false).await;
    let (dave, phone, activated) = dave_with(&w, false).await;
    assert_eq!(activated["attested"], false);
    assert_eq!(activated["passwordless"], true);
    let (_, body) = phone_sign_in(&w.t, DAVE.0, dave.device.as_deref()).await;
    assert_eq!(body["next"]["type"], "push", "{body}");
    let challenge = phone.next_challenge(&w.t).await;
    assert_eq!(challenge["kind"], "sign_in");
}
