//! The server key: 32 random bytes kept outside the database (`server_key_file`, or
//! `AUTHCORE_SERVER_KEY`), from which the HMAC key for codes and the sealing key for secrets at
//! rest (TOTP secrets, queued message bodies) are derived with HKDF-SHA256 under distinct info
//! strings. A copy of the database alone opens nothing.

use std::fmt;
use std::path::{Path, PathBuf};

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::hkdf;
use zeroize::Zeroizing;

use crate::secrets::random_bytes;

/// The environment variable that holds the server key (base64url of 32 bytes); it wins over
/// `server_key_file`.
pub const KEY_ENV: &str = "AUTHCORE_SERVER_KEY";

const HMAC_INFO: &[u8] = b"authcore server key v1: code hmac";
const SEAL_INFO: &[u8] = b"authcore server key v1: at-rest sealing";
/// First byte of every sealed value: the format (AES-256-GCM, 96-bit random nonce).
pub const SEALED_V1: u8 = 0xA1;

/// Where the server key came from (logged at start, never the key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Environment,
    File(PathBuf),
    /// A random key for this process only (in-memory databases).
    Ephemeral,
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::Environment => write!(f, "${KEY_ENV}"),
            KeySource::File(path) => write!(f, "key file {}", path.display()),
            KeySource::Ephemeral => f.write_str("a random key for this process"),
        }
    }
}

/// The 32-byte server key.
pub struct ServerKey {
    key: Zeroizing<[u8; 32]>,
    pub source: KeySource,
}

impl fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServerKey(<redacted>, from {})", self.source)
    }
}

/// The key file a file database uses when the config names none: `<database file>.key`.
/// `None` for in-memory databases.
pub fn default_key_file(db_url: &str) -> Option<PathBuf> {
    if db_url.contains(":memory:") || db_url.contains("mode=memory") {
        return None;
    }
    let path = db_url
        .strip_prefix("sqlite://")
        .or_else(|| db_url.strip_prefix("sqlite:"))
        .unwrap_or(db_url);
    let path = path.split('?').next().unwrap_or(path);
    if path.is_empty() {
        return None;
    }
    Some(PathBuf::from(format!("{path}.key")))
}

impl ServerKey {
    /// The key from `$AUTHCORE_SERVER_KEY` (`env`), else from `file` (created with 32 random
    /// bytes, mode 0600, when absent), else a random one for this process.
    pub fn load(env: Option<&str>, file: Option<&Path>) -> Result<ServerKey, String> {
        if let Some(text) = env {
            let bytes = data_encoding::BASE64URL_NOPAD
                .decode(text.trim().trim_end_matches('=').as_bytes())
                .map_err(|_| format!("{KEY_ENV} is not base64url"))?;
            return Ok(ServerKey {
                key: exactly_32(&bytes).ok_or_else(|| format!("{KEY_ENV} must be 32 bytes"))?,
                source: KeySource::Environment,
            });
        }
        let Some(path) = file else {
            let mut key = Zeroizing::new([0u8; 32]);
            key.copy_from_slice(&random_bytes(32));
            return Ok(ServerKey {
                key,
                source: KeySource::Ephemeral,
            });
        };
        let shown = path.display();
        let key = match std::fs::metadata(path) {
            Ok(meta) => {
                check_mode(&meta).map_err(|m| format!("server key file {shown}: {m}"))?;
                let bytes = Zeroizing::new(
                    std::fs::read(path).map_err(|e| format!("server key file {shown}: {e}"))?,
                );
                exactly_32(&bytes).ok_or_else(|| {
                    format!(
                        "server key file {shown} must hold exactly 32 bytes (it has {})",
                        bytes.len()
                    )
                })?
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                create_key_file(path).map_err(|e| format!("cannot create {shown}: {e}"))?
            }
            Err(error) => return Err(format!("server key file {shown}: {error}")),
        };
        Ok(ServerKey {
            key,
            source: KeySource::File(path.to_owned()),
        })
    }

    fn derive(&self, info: &'static [u8]) -> Zeroizing<[u8; 32]> {
        struct Len32;
        impl hkdf::KeyType for Len32 {
            fn len(&self) -> usize {
                32
            }
        }
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"authcore").extract(&self.key[..]);
        let infos = [info];
        let okm = prk
            .expand(&infos, Len32)
            .expect("32 bytes is a valid HKDF-SHA256 length");
        let mut out = Zeroizing::new([0u8; 32]);
        okm.fill(&mut out[..])
            .expect("32 bytes is a valid HKDF-SHA256 length");
        out
    }

    /// The HMAC key for codes and backup codes.
    pub fn hmac_key(&self) -> Zeroizing<[u8; 32]> {
        self.derive(HMAC_INFO)
    }

    /// The AES-256-GCM key that seals secrets at rest.
    pub fn sealer(&self) -> Sealer {
        let key = self.derive(SEAL_INFO);
        Sealer(std::sync::Arc::new(LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, &key[..]).expect("32 bytes is an AES-256 key"),
        )))
    }
}

fn exactly_32(bytes: &[u8]) -> Option<Zeroizing<[u8; 32]>> {
    let mut key = Zeroizing::new([0u8; 32]);
    if bytes.len() != 32 {
        return None;
    }
    key.copy_from_slice(bytes);
    Some(key)
}

/// Refuses a private key file that group or others may read.
#[cfg(unix)]
pub(crate) fn check_mode(meta: &std::fs::Metadata) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "mode {mode:o} lets group or others read it; chmod 600 it"
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
pub(crate) fn check_mode(_meta: &std::fs::Metadata) -> Result<(), String> {
    Ok(())
}

fn create_key_file(path: &Path) -> std::io::Result<Zeroizing<[u8; 32]>> {
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&random_bytes(32));
    create_private_file(path, &key[..])?;
    Ok(key)
}

/// Writes a new file only its owner may read (mode 0600), refusing to replace one.
pub(crate) fn create_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Why a sealed value would not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("not a sealed value (unknown format)")]
    Format,
    #[error(
        "sealed data does not open under this server key (a different server_key_file or \
         AUTHCORE_SERVER_KEY than the one the database was sealed with?)"
    )]
    WrongKey,
}

/// AES-256-GCM sealing of secrets at rest: `0xA1 || nonce (12) || ciphertext || tag (16)`, with
/// a caller-chosen associated data (the user id for TOTP secrets) so a sealed value moved to
/// another row does not open.
#[derive(Clone)]
pub struct Sealer(std::sync::Arc<LessSafeKey>);

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealer(<redacted>)")
    }
}

impl Sealer {
    /// A sealer under a random key (tests, in-memory stores).
    pub fn ephemeral() -> Sealer {
        ServerKey::load(None, None)
            .expect("a random key always loads")
            .sealer()
    }

    pub fn seal(&self, associated: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let nonce_bytes = random_bytes(NONCE_LEN);
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&nonce_bytes);
        let mut out = Vec::with_capacity(1 + NONCE_LEN + plaintext.len() + 16);
        out.push(SEALED_V1);
        out.extend_from_slice(&nonce);
        let mut body = plaintext.to_vec();
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(associated),
                &mut body,
            )
            .expect("AES-GCM seals any reasonable length");
        out.extend_from_slice(&body);
        body.iter_mut().for_each(|b| *b = 0);
        out
    }

    pub fn open(&self, associated: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        if sealed.len() < 1 + NONCE_LEN + AES_256_GCM.tag_len() || sealed[0] != SEALED_V1 {
            return Err(SealError::Format);
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&sealed[1..1 + NONCE_LEN]);
        let mut body = Zeroizing::new(sealed[1 + NONCE_LEN..].to_vec());
        let len = self
            .0
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(associated),
                &mut body,
            )
            .map_err(|_| SealError::WrongKey)?
            .len();
        body.truncate(len);
        Ok(body)
    }

    /// A sealed text column: `sealed:v1:` + base64url of [`Sealer::seal`].
    pub fn seal_text(&self, associated: &[u8], plaintext: &str) -> String {
        format!(
            "{TEXT_PREFIX}{}",
            data_encoding::BASE64URL_NOPAD.encode(&self.seal(associated, plaintext.as_bytes()))
        )
    }

    /// Opens a [`Sealer::seal_text`] value.
    pub fn open_text(
        &self,
        associated: &[u8],
        sealed: &str,
    ) -> Result<Zeroizing<String>, SealError> {
        let encoded = sealed.strip_prefix(TEXT_PREFIX).ok_or(SealError::Format)?;
        let bytes = data_encoding::BASE64URL_NOPAD
            .decode(encoded.as_bytes())
            .map_err(|_| SealError::Format)?;
        let opened = self.open(associated, &bytes)?;
        String::from_utf8(opened.to_vec())
            .map(Zeroizing::new)
            .map_err(|_| SealError::Format)
    }
}

/// The prefix of sealed text columns.
pub const TEXT_PREFIX: &str = "sealed:v1:";

/// Associated data of a user's TOTP secrets.
pub fn totp_associated(user_id: i64) -> Vec<u8> {
    format!("totp:{user_id}").into_bytes()
}

/// Associated data of a queued message's body.
pub fn outbox_associated(recipient: &str) -> Vec<u8> {
    format!("outbox:{recipient}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_under_their_key_and_row() {
        let sealer = Sealer::ephemeral();
        let sealed = sealer.seal(b"totp:1", b"secret bytes");
        assert_eq!(sealed[0], SEALED_V1);
        assert_eq!(
            &sealer.open(b"totp:1", &sealed).unwrap()[..],
            b"secret bytes"
        );
        assert_eq!(sealer.open(b"totp:2", &sealed), Err(SealError::WrongKey));
        assert_eq!(
            Sealer::ephemeral().open(b"totp:1", &sealed),
            Err(SealError::WrongKey)
        );
        assert_eq!(sealer.open(b"totp:1", b"plain"), Err(SealError::Format));
    }

    #[test]
    fn derived_keys_differ() {
        let key = ServerKey::load(None, None).unwrap();
        assert_ne!(&key.hmac_key()[..], &key.key[..]);
        assert_ne!(key.hmac_key()[..], key.derive(SEAL_INFO)[..]);
    }

    #[test]
    fn env_key_must_be_32_bytes() {
        let short = data_encoding::BASE64URL_NOPAD.encode(&[1u8; 16]);
        assert!(ServerKey::load(Some(&short), None).is_err());
        let good = data_encoding::BASE64URL_NOPAD.encode(&[1u8; 32]);
        assert_eq!(
            ServerKey::load(Some(&good), None).unwrap().source,
            KeySource::Environment
        );
    }

    #[test]
    fn default_key_file_sits_next_to_the_database() {
        assert_eq!(
            default_key_file("sqlite://data/authcore.db?mode=rwc"),
            Some(PathBuf::from("data/authcore.db.key"))
        );
        assert_eq!(default_key_file("sqlite::memory:"), None);
    }
}
