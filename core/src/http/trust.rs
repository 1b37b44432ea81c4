//! Which server certificates the HTTP client accepts, checked in this order on every platform:
//!
//! 1. The base verifier. On Android and iOS the platform's own (rustls-platform-verifier: the
//!    system trust store, and user-installed CAs where the platform's policy trusts them: the
//!    app's Network Security Configuration on Android, the Keychain's trust settings on iOS). On
//!    every other target (desktop hosts, the tests) WebPKI over the Mozilla roots of
//!    webpki-roots, which the mobile builds do not carry.
//! 2. An extra root CA ([`HttpConfig::extra_root_ca_pem`]): when the base verifier refuses a chain,
//!    WebPKI over only the extra roots is asked, so a chain to either is accepted (a private or
//!    test CA beside the public roots). Host name, validity and key usage are checked by both.
//! 3. SPKI pins ([`HttpConfig::spki_pins`]): after 1 or 2 accepted the chain, the leaf's
//!    SubjectPublicKeyInfo SHA-256 must be one of the pins. A pin never replaces validation.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::{HttpConfig, HttpError};

/// A [`ServerCertVerifier`]'s handshake-signature methods, answered by the verifier in `self.$field`.
macro_rules! delegate_signatures {
    ($field:tt) => {
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            self.$field.verify_tls12_signature(message, cert, dss)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            self.$field.verify_tls13_signature(message, cert, dss)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.$field.supported_verify_schemes()
        }
    };
}

/// The client's TLS configuration: ring, TLS 1.2 and 1.3, the verifiers above.
pub(super) fn tls_config(config: &HttpConfig) -> Result<rustls::ClientConfig, HttpError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut verifier = base_verifier(provider.clone())?;
    if let Some(pem) = &config.extra_root_ca_pem {
        verifier = Arc::new(OrExtraRoots {
            base: verifier,
            extra: webpki_verifier(extra_roots(pem)?, provider.clone())?,
        });
    }
    if !config.spki_pins.is_empty() {
        verifier = Arc::new(Pinned {
            inner: verifier,
            pins: config.spki_pins.clone(),
        });
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|_| HttpError::InvalidRootCertificate)?;
    Ok(builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// Desktop hosts and the tests: WebPKI over the Mozilla roots.
#[cfg(not(any(target_os = "android", target_os = "ios")))]
fn base_verifier(provider: Arc<CryptoProvider>) -> Result<Arc<dyn ServerCertVerifier>, HttpError> {
    let roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    Ok(webpki_verifier(roots, provider)?)
}

/// iOS: Security.framework's trust evaluation (SecTrust).
#[cfg(target_os = "ios")]
fn base_verifier(provider: Arc<CryptoProvider>) -> Result<Arc<dyn ServerCertVerifier>, HttpError> {
    // Infallible on iOS (it only stores the provider); a failure would leave nothing to trust.
    let verifier =
        rustls_platform_verifier::Verifier::new(provider).map_err(|_| HttpError::Untrusted)?;
    Ok(Arc::new(verifier))
}

/// Android: the platform's X509TrustManager, reached over JNI once [`android::init`] ran.
#[cfg(target_os = "android")]
fn base_verifier(provider: Arc<CryptoProvider>) -> Result<Arc<dyn ServerCertVerifier>, HttpError> {
    // Infallible on Android (it only stores the provider); JNI is first used per handshake.
    let verifier =
        rustls_platform_verifier::Verifier::new(provider).map_err(|_| HttpError::Untrusted)?;
    Ok(Arc::new(android::Initialised(verifier)))
}

fn webpki_verifier(
    roots: RootCertStore,
    provider: Arc<CryptoProvider>,
) -> Result<Arc<Roots>, HttpError> {
    if roots.is_empty() {
        return Err(HttpError::InvalidRootCertificate);
    }
    Ok(Arc::new(Roots {
        roots,
        algorithms: provider.signature_verification_algorithms,
    }))
}

/// WebPKI over `roots`: the chain leads to one of them, is valid now for server authentication,
/// and the leaf names the server. What rustls's `WebPkiServerVerifier` does without revocation
/// lists, through the helpers rustls offers custom verifiers; its builder links the CRL parser
/// (27 KB of the mobile library, docs/sizes-notes.md) for lists this client never has.
#[derive(Debug)]
struct Roots {
    roots: RootCertStore,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Roots {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let cert = ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_cert_signed_by_trust_anchor(
            &cert,
            &self.roots,
            intermediates,
            now,
            self.algorithms.all,
        )?;
        rustls::client::verify_server_name(&cert, server_name)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Every certificate of a PEM text; none, or one that does not parse, is an error.
fn extra_roots(pem: &[u8]) -> Result<RootCertStore, HttpError> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        roots
            .add(cert.map_err(|_| HttpError::InvalidRootCertificate)?)
            .map_err(|_| HttpError::InvalidRootCertificate)?;
    }
    if roots.is_empty() {
        return Err(HttpError::InvalidRootCertificate);
    }
    Ok(roots)
}

/// The base verifier's verdict, or when it refuses, WebPKI's over the extra roots.
#[derive(Debug)]
struct OrExtraRoots {
    base: Arc<dyn ServerCertVerifier>,
    extra: Arc<Roots>,
}

impl ServerCertVerifier for OrExtraRoots {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.base
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .or_else(|refused| {
                self.extra
                    .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
                    .map_err(|_| refused)
            })
    }

    // Handshake signatures are checked with the crypto provider's algorithms by both verifiers
    // alike; the base verifier's answer stands for either.
    delegate_signatures!(base);
}

/// The inner verifier's validation, then the leaf's SPKI digest must be one of the pins.
#[derive(Debug)]
struct Pinned {
    inner: Arc<dyn ServerCertVerifier>,
    pins: Vec<[u8; 32]>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        let spki = super::spki_of(end_entity).ok_or(rustls::Error::InvalidCertificate(
            rustls::CertificateError::BadEncoding,
        ))?;
        let digest = ring::digest::digest(&ring::digest::SHA256, spki);
        if self
            .pins
            .iter()
            .any(|pin| pin.as_slice() == digest.as_ref())
        {
            Ok(verified)
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    delegate_signatures!(inner);
}

/// Android's platform verifier calls into the JVM, so it needs the app's Context first: the
/// Kotlin `AuthcoreTrust.init(context)` hands it over through the bindings' JNI entry point.
#[cfg(target_os = "android")]
pub mod android {
    use std::sync::atomic::{AtomicBool, Ordering};

    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{DigitallySignedStruct, SignatureScheme};

    static INITIALISED: AtomicBool = AtomicBool::new(false);

    /// Gives rustls-platform-verifier the JVM, the application Context and its class loader.
    /// Once per process; a second call keeps the first Context and succeeds.
    pub fn init(
        env: &mut jni::JNIEnv,
        context: jni::objects::JObject,
    ) -> Result<(), jni::errors::Error> {
        rustls_platform_verifier::android::init_with_env(env, context)?;
        INITIALISED.store(true, Ordering::Release);
        Ok(())
    }

    /// The platform verifier, refusing every certificate (instead of panicking inside
    /// rustls-platform-verifier) while [`init`] has not run. The app sees `Untrusted`.
    #[derive(Debug)]
    pub(super) struct Initialised(pub(super) rustls_platform_verifier::Verifier);

    impl ServerCertVerifier for Initialised {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            intermediates: &[CertificateDer<'_>],
            server_name: &ServerName<'_>,
            ocsp_response: &[u8],
            now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            if !INITIALISED.load(Ordering::Acquire) {
                return Err(rustls::Error::General(
                    "platform trust is not initialised: call AuthcoreTrust.init(context) first"
                        .into(),
                ));
            }
            self.0
                .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        }

        delegate_signatures!(0);
    }
}
