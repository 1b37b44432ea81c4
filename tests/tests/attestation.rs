//! Device attestation with the real core on the phone: the platform's `DeviceKeys` attests the
//! key it generated (here a Keystore stand-in that certifies its keys under a test root, as
//! Android Key Attestation does), the core sends the proof with the activation, and only then
//! does "Sign in with my phone" reach the phone.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use authcore::authenticator::{Added, Authenticator, AuthenticatorConfig};
use authcore::device_keys::{Attestation, DeviceKeys, KeyError, SoftwareDeviceKeys};
use authcore::signin::{MethodKind, SignInState};
use authcore::store::{MemoryStore, SecureStore};
use authcore_e2e::*;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DnType, IsCa, KeyPair,
    PKCS_ECDSA_P256_SHA256,
};

const KEY_DESCRIPTION: &[u64] = &[1, 3, 6, 1, 4, 1, 11129, 2, 1, 17];

fn tlv(tag: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = tag.to_vec();
    match value.len() {
        n @ 0..=127 => out.push(n as u8),
        n => out.extend([0x81, n as u8]),
    }
    out.extend_from_slice(value);
    out
}

fn small(tag: u8, n: u8) -> Vec<u8> {
    tlv(&[tag], &[n])
}

/// The Keystore's key description: TEE, SIGN, user authentication (userAuthType [504]).
fn key_description(challenge: &[u8]) -> Vec<u8> {
    let hardware = [
        tlv(&[0xa1], &tlv(&[0x31], &small(0x02, 2))),
        tlv(&[0xbf, 0x83, 0x78], &small(0x02, 2)),
    ]
    .concat();
    tlv(
        &[0x30],
        &[
            small(0x02, 100),
            small(0x0a, 1),
            small(0x02, 100),
            small(0x0a, 1),
            tlv(&[0x04], challenge),
            tlv(&[0x04], b""),
            tlv(&[0x30], b""),
            tlv(&[0x30], &hardware),
        ]
        .concat(),
    )
}

struct Ca {
    certificate: rcgen::Certificate,
    key: KeyPair,
}

fn ca(name: &str, parent: Option<&Ca>) -> Ca {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let certificate = match parent {
        Some(parent) => params.signed_by(&key, &parent.certificate, &parent.key),
        None => params.self_signed(&key),
    }
    .unwrap();
    Ca { certificate, key }
}

/// Android Keystore as the core sees it: software keys, except that `attestation` replaces the
/// key under the alias with one generated "with the challenge" and answers its certificate
/// chain under the test root, as `setAttestationChallenge` + `getCertificateChain` do.
struct AttestingKeys {
    store: Arc<MemoryStore>,
    software: SoftwareDeviceKeys,
    root: Ca,
    batch: Ca,
    attested: AtomicUsize,
}

impl AttestingKeys {
    fn new(root: Ca) -> AttestingKeys {
        let store = Arc::new(MemoryStore::default());
        AttestingKeys {
            software: SoftwareDeviceKeys::new(store.clone()),
            store,
            batch: ca("Test Keystore Batch Key", Some(&root)),
            root,
            attested: AtomicUsize::new(0),
        }
    }
}

impl DeviceKeys for AttestingKeys {
    fn generate(&self, alias: &str) -> Result<Vec<u8>, KeyError> {
        self.software.generate(alias)
    }
    fn public_key(&self, alias: &str) -> Result<Vec<u8>, KeyError> {
        self.software.public_key(alias)
    }
    fn sign(&self, alias: &str, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.software.sign(alias, message)
    }
    fn delete(&self, alias: &str) -> Result<(), KeyError> {
        self.software.delete(alias)
    }
    fn attestation(&self, alias: &str, challenge: &[u8]) -> Result<Option<Attestation>, KeyError> {
        self.attested.fetch_add(1, Ordering::SeqCst);
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        self.store
            .put(&format!("device-keys/{alias}"), &key.serialize_der())
            .unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.custom_extensions = vec![CustomExtension::from_oid_content(
            KEY_DESCRIPTION,
            key_description(challenge),
        )];
        let leaf = params
            .signed_by(&key, &self.batch.certificate, &self.batch.key)
            .unwrap();
        Ok(Some(Attestation::AndroidKey {
            certificates: vec![
                leaf.der().to_vec(),
                self.batch.certificate.der().to_vec(),
                self.root.certificate.der().to_vec(),
            ],
        }))
    }
}

fn authenticator(tls: &TlsWorld, name: &str, keys: Arc<dyn DeviceKeys>) -> Authenticator {
    Authenticator::open(
        Arc::new(MemoryStore::default()),
        keys,
        Arc::new(Fingerprint::default()),
        AuthenticatorConfig {
            http: tls.client_config(true).http,
            device_name: name.into(),
            platform: "android".into(),
            push_token: None,
            user_verification: true,
        },
    )
    .expect("the authenticator opens")
}

/// Dave enrolls `phone` from his laptop (password, email code, QR, test approval).
async fn enroll(tls: &TlsWorld, phone: &Authenticator) -> authcore::authenticator::PushAccount {
    let laptop = tls.app("dave-laptop");
    let flow = laptop.sign_in();
    let methods = flow.start(DAVE.0).await.unwrap();
    let SignInState::ChooseMethod { methods: list, .. } = &methods else {
        panic!("{methods:?}")
    };
    let password = list
        .iter()
        .find(|m| m.kind == MethodKind::Password)
        .unwrap();
    flow.choose_method(password).await.unwrap();
    if let SignInState::EnterCode { .. } = flow.submit_password(DAVE.1).await.unwrap() {
        let code = tls.world.last_code(DAVE.0).await;
        flow.submit_code(&code).await.unwrap();
    }
    let SignInState::ActivateAuthenticator { qr_payload, .. } =
        flow.enroll_authenticator().await.unwrap()
    else {
        panic!("no QR code")
    };
    let Added::Push(account) = phone.add_from_qr(qr_payload.expose()).await.unwrap() else {
        panic!("not a push account")
    };
    let SignInState::ApproveTestPush { number, .. } = flow.wait_for_phone().await.unwrap() else {
        panic!("no test approval")
    };
    let test = phone.pending_approvals(5).await.unwrap().remove(0);
    phone.approve(&test.id, &number).await.unwrap();
    account
}

async fn trusting_test_root(root: &Ca) -> TlsWorld {
    let dir = temp_dir("attestation-root");
    let path = dir.join("root.pem");
    std::fs::write(&path, root.certificate.pem()).unwrap();
    start_tls_deployment_with(true, move |config| {
        config.attestation.android_roots = vec![path];
    })
    .await
}

#[tokio::test]
async fn a_phone_whose_keystore_attests_its_key_signs_in_without_a_password() {
    let root = ca("Test Key Attestation Root", None);
    let tls = trusting_test_root(&root).await;
    let keys = Arc::new(AttestingKeys::new(root));
    let phone = authenticator(&tls, "Dave's Pixel", keys.clone());
    let account = enroll(&tls, &phone).await;
    assert_eq!(keys.attested.load(Ordering::SeqCst), 1);
    assert!(account.attested);
    assert!(account.passwordless);

    // "Sign in with my phone": the number reaches the phone, which approves it.
    let laptop = tls.app("dave-laptop");
    let flow = laptop.sign_in();
    let methods = flow.start(DAVE.0).await.unwrap();
    let SignInState::ChooseMethod { methods: list, .. } = &methods else {
        panic!("{methods:?}")
    };
    let by_phone = list.iter().find(|m| m.kind == MethodKind::Push).unwrap();
    let SignInState::ApprovePush { number, .. } = flow.choose_method(by_phone).await.unwrap()
    else {
        panic!("no number")
    };
    let request = phone.pending_approvals(5).await.unwrap().remove(0);
    phone.approve(&request.id, &number).await.unwrap();
    assert!(matches!(
        flow.wait_for_phone().await.unwrap(),
        SignInState::Done { .. }
    ));
    tls.world.stop().await;
}

#[tokio::test]
async fn a_phone_without_attestation_is_told_it_only_approves_after_a_password() {
    let root = ca("Test Key Attestation Root", None);
    let tls = trusting_test_root(&root).await;
    let keys = Arc::new(SoftwareDeviceKeys::new(Arc::new(MemoryStore::default())));
    let phone = authenticator(&tls, "Dave's old phone", keys);
    let account = enroll(&tls, &phone).await;
    assert!(!account.attested);
    assert!(!account.passwordless);

    let laptop = tls.app("dave-laptop");
    let flow = laptop.sign_in();
    let methods = flow.start(DAVE.0).await.unwrap();
    let SignInState::ChooseMethod { methods: list, .. } = &methods else {
        panic!("{methods:?}")
    };
    let by_phone = list.iter().find(|m| m.kind == MethodKind::Push).unwrap();
    assert!(matches!(
        flow.choose_method(by_phone).await.unwrap(),
        SignInState::ApprovePush { .. }
    ));
    assert!(phone.pending_approvals(1).await.unwrap().is_empty());
    tls.world.stop().await;
}
