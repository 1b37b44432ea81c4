//! The ID-token signing keys: ES256 (P-256) keys from the operator's PKCS#8 PEM files
//! (`[[id_token_keys]]`, one active), or without any a key file beside the database
//! (`<database file>.id-token-key.pem`, created mode 0600 when absent; a random key for an
//! in-memory database). Every key is published at `jwks_uri`; only the active one signs, so a
//! rotation (a new active key, the old one still listed) breaks no token in flight.

use std::path::{Path, PathBuf};

use authcore_protocol::oidc::{IdTokenClaims, IdTokenHeader, Jwk, JwkSet, ID_TOKEN_ALG};

use crate::config::IdTokenKeyConfig;
use crate::jose::{self, JoseError, SigningKey};
use crate::secrets::SecretString;

/// One published key.
struct PublishedKey {
    kid: String,
    key: SigningKey,
}

impl PublishedKey {
    fn public(&self) -> &[u8] {
        self.key.p256_public().expect("only P-256 keys are loaded")
    }
}

/// The published keys, the active one first. `Debug` shows the key ids only.
pub(crate) struct IdTokenKeys {
    keys: Vec<PublishedKey>,
    /// Where the keys came from (logged at start).
    pub source: String,
}

impl std::fmt::Debug for IdTokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IdTokenKeys({:?}, <redacted>)", self.kids())
    }
}

/// The signing key file a file database uses when the config lists none.
pub(crate) fn default_key_file(db_url: &str) -> Option<PathBuf> {
    crate::keys::default_key_file(db_url).map(|key| key.with_extension("id-token-key.pem"))
}

fn p256_of(setting: &str, path: &Path, pem: &[u8]) -> Result<SigningKey, String> {
    SigningKey::p256_of_pem(pem).ok_or_else(|| {
        format!(
            "{setting} {}: not a P-256 private key in PKCS#8 PEM (-----BEGIN PRIVATE KEY-----)",
            path.display()
        )
    })
}

fn read_private(setting: &str, path: &Path) -> Result<zeroize::Zeroizing<Vec<u8>>, String> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("{setting} {shown}: {e}"))?;
    crate::keys::check_mode(&meta).map_err(|m| format!("{setting} {shown}: {m}"))?;
    std::fs::read(path)
        .map(zeroize::Zeroizing::new)
        .map_err(|e| format!("{setting} {shown}: {e}"))
}

impl IdTokenKeys {
    /// The configured keys; without any, the key in `default_file` (created when absent), else
    /// a random key for this process.
    pub(crate) fn load(
        configured: &[IdTokenKeyConfig],
        default_file: Option<&Path>,
    ) -> Result<IdTokenKeys, String> {
        if !configured.is_empty() {
            let mut keys = Vec::with_capacity(configured.len());
            for entry in configured {
                let setting = format!("id_token_keys {:?}", entry.kid);
                let pem = read_private(&setting, &entry.file)?;
                let key = PublishedKey {
                    kid: entry.kid.clone(),
                    key: p256_of(&setting, &entry.file, &pem)?,
                };
                if entry.active {
                    keys.insert(0, key);
                } else {
                    keys.push(key);
                }
            }
            return Ok(IdTokenKeys {
                keys,
                source: "id_token_keys".to_owned(),
            });
        }
        let (pem, source) = match default_file {
            None => (
                jose::generate_p256_pem(),
                "a random key for this process".into(),
            ),
            Some(path) => (
                read_or_create(path)?,
                format!("key file {}", path.display()),
            ),
        };
        let setting = "ID-token key file";
        let key = p256_of(
            setting,
            default_file.unwrap_or(Path::new("(generated)")),
            pem.as_bytes(),
        )?;
        let kid = jose::p256_thumbprint(key.p256_public().expect("a P-256 key"));
        Ok(IdTokenKeys {
            keys: vec![PublishedKey { kid, key }],
            source,
        })
    }

    /// Key ids, the active one first (public: they are in the JWK set).
    pub(crate) fn kids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.kid.as_str()).collect()
    }

    /// `GET /v1/jwks`.
    pub(crate) fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: self
                .keys
                .iter()
                .map(|k| {
                    let (x, y) = jose::p256_coordinates(k.public());
                    Jwk {
                        kty: "EC".into(),
                        crv: "P-256".into(),
                        x,
                        y,
                        kid: k.kid.clone(),
                        use_: "sig".into(),
                        alg: ID_TOKEN_ALG.into(),
                    }
                })
                .collect(),
        }
    }

    /// An ID token signed by the active key.
    pub(crate) fn sign(&self, claims: &IdTokenClaims) -> Result<SecretString, String> {
        let active = &self.keys[0];
        let header = IdTokenHeader {
            alg: ID_TOKEN_ALG.into(),
            typ: "JWT".into(),
            kid: active.kid.clone(),
        };
        active.key.sign(&header, claims)
    }

    /// The claims of an ID token signed by any published key (its expiry is not checked here).
    pub(crate) fn verify(&self, jwt: &str) -> Result<IdTokenClaims, JoseError> {
        let (_, claims) = jose::verify_es256(jwt, |kid| {
            let kid = kid?;
            self.keys.iter().find(|k| k.kid == kid).map(|k| k.public())
        })?;
        Ok(claims)
    }
}

/// The default key file's PEM, created (mode 0600) with a new key when absent.
fn read_or_create(path: &Path) -> Result<zeroize::Zeroizing<String>, String> {
    let shown = path.display();
    match std::fs::metadata(path) {
        Ok(_) => {
            let bytes = read_private("ID-token key file", path)?;
            String::from_utf8(bytes.to_vec())
                .map(zeroize::Zeroizing::new)
                .map_err(|_| format!("ID-token key file {shown}: not a PEM file"))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let pem = jose::generate_p256_pem();
            crate::keys::create_private_file(path, pem.as_bytes())
                .map_err(|e| format!("cannot create {shown}: {e}"))?;
            Ok(pem)
        }
        Err(error) => Err(format!("ID-token key file {shown}: {error}")),
    }
}
