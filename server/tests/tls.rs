//! The server behind TLS (`--tls-cert`/`--tls-key`), reached by the core's own HTTP client:
//! trusted through the extra root CA, refused without it.

mod common;

use authcore::http::{HttpClient, HttpConfig, HttpError, Request};
use authcore_server::ServerOptions;
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};

#[tokio::test]
async fn tls_server_is_trusted_through_the_test_ca_only() {
    let dir = common::temp_path("tls");
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &ca, &ca_key)
        .unwrap();
    std::fs::write(dir.join("cert.pem"), leaf.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), leaf_key.serialize_pem()).unwrap();

    let mut options = ServerOptions::new(
        common::test_config(),
        "sqlite::memory:",
        "127.0.0.1:0".parse().unwrap(),
    );
    options.tls_cert = Some(dir.join("cert.pem"));
    options.tls_key = Some(dir.join("key.pem"));
    let server = authcore_server::start(options)
        .await
        .expect("TLS server starts");
    let base = server.base_url().to_owned();
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");

    let trusting = HttpClient::new(HttpConfig {
        extra_root_ca_pem: Some(ca.pem().into_bytes()),
        ..HttpConfig::default()
    })
    .unwrap();
    let discovery = trusting
        .send(&Request::get(format!(
            "{base}/.well-known/openid-configuration"
        )))
        .await
        .unwrap();
    assert_eq!(discovery.status, 200);
    let json: serde_json::Value = serde_json::from_slice(&discovery.body).unwrap();
    assert_eq!(json["issuer"], base.as_str());

    let methods = trusting
        .send(&Request::post_json(
            format!("{base}/v1/login/methods"),
            br#"{"identifier":"alice@acme.example"}"#.to_vec(),
        ))
        .await
        .unwrap();
    assert_eq!(methods.status, 200);

    let untrusting = HttpClient::new(HttpConfig {
        max_retries: 0,
        ..HttpConfig::default()
    })
    .unwrap();
    assert_eq!(
        untrusting
            .send(&Request::get(format!(
                "{base}/.well-known/openid-configuration"
            )))
            .await
            .unwrap_err(),
        HttpError::Untrusted
    );
    server.shutdown().await;
}
