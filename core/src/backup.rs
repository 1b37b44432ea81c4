//! Passphrase-encrypted backups of the authenticator's TOTP/HOTP accounts.
//!
//! Format (all integers big-endian):
//!
//! ```text
//! "ACBK" | version u8 = 1 | argon2id memory KiB u32 | passes u32 | lanes u8 | salt [16] | nonce [12] | AES-256-GCM ciphertext + tag
//! ```
//!
//! The key is argon2id(passphrase, salt) with the parameters in the header, so backups made with
//! stronger parameters later still open; the whole header is authenticated as associated data.
//! Opening refuses parameters beyond [`MAX_MEMORY_KIB`] (256 MiB) or [`MAX_PASSES`] (10) with
//! [`BackupError::ExcessiveCost`] before deriving anything (a crafted file must not exhaust the
//! phone's memory or battery); sealing refuses them too, so no backup is made that cannot open. Push accounts are bound to their device key and are never exported.

use argon2::{Algorithm, Argon2, Params, Version};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

const MAGIC: &[u8; 4] = b"ACBK";
const VERSION: u8 = 1;
const HEADER_LEN: usize = 4 + 1 + 4 + 4 + 1 + 16 + 12;

/// argon2id parameters for new backups: 64 MiB, 3 passes, 1 lane.
pub const MEMORY_KIB: u32 = 64 * 1024;
pub const PASSES: u32 = 3;
/// The most argon2id memory a backup may ask for: 256 MiB.
pub const MAX_MEMORY_KIB: u32 = 256 * 1024;
/// The most argon2id passes a backup may ask for.
pub const MAX_PASSES: u32 = 10;
/// Shortest passphrase accepted for a new backup.
pub const MIN_PASSPHRASE_CHARS: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackupError {
    #[error("the passphrase must be at least {MIN_PASSPHRASE_CHARS} characters")]
    WeakPassphrase,
    /// The passphrase is wrong, or the file was changed.
    #[error("the passphrase is wrong or the backup was altered")]
    WrongPassphrase,
    #[error("this is not an authcore backup")]
    NotABackup,
    #[error("this backup was made by a newer version or with unsupported parameters")]
    Unsupported,
    #[error("the backup's accounts could not be read")]
    Unreadable,
    /// The header asks for more argon2id work than a phone may spend (over [`MAX_MEMORY_KIB`] KiB
    /// or [`MAX_PASSES`] passes): refused before deriving. The numbers are the header's.
    #[error("this backup asks for too much work to open ({memory_kib} KiB, {passes} passes)")]
    ExcessiveCost { memory_kib: u32, passes: u32 },
}

/// Refuses a cost beyond the limits before any derivation.
fn check_cost(memory_kib: u32, passes: u32) -> Result<(), BackupError> {
    if memory_kib > MAX_MEMORY_KIB || passes > MAX_PASSES {
        return Err(BackupError::ExcessiveCost { memory_kib, passes });
    }
    Ok(())
}

/// Encrypts `plaintext` under `passphrase` with the default parameters.
pub fn seal(plaintext: &[u8], passphrase: &str) -> Result<Vec<u8>, BackupError> {
    seal_with(plaintext, passphrase, MEMORY_KIB, PASSES)
}

/// [`seal`] with explicit argon2id cost (tests and benchmarks use a smaller one).
pub fn seal_with(
    plaintext: &[u8],
    passphrase: &str,
    memory_kib: u32,
    passes: u32,
) -> Result<Vec<u8>, BackupError> {
    if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(BackupError::WeakPassphrase);
    }
    check_cost(memory_kib, passes)?;
    let rng = SystemRandom::new();
    let mut salt = [0u8; 16];
    let mut nonce = [0u8; 12];
    rng.fill(&mut salt).map_err(|_| BackupError::Unsupported)?;
    rng.fill(&mut nonce).map_err(|_| BackupError::Unsupported)?;
    let mut out = Vec::with_capacity(HEADER_LEN + plaintext.len() + 16);
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.extend_from_slice(&memory_kib.to_be_bytes());
    out.extend_from_slice(&passes.to_be_bytes());
    out.push(1);
    out.extend_from_slice(&salt);
    out.extend_from_slice(&nonce);
    let key = derive(passphrase, &salt, memory_kib, passes)?;
    let mut body = plaintext.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(&out[..HEADER_LEN]),
        &mut body,
    )
    .map_err(|_| BackupError::Unsupported)?;
    out.extend_from_slice(&body);
    Ok(out)
}

/// Decrypts a backup made by [`seal`].
pub fn open(bytes: &[u8], passphrase: &str) -> Result<Zeroizing<Vec<u8>>, BackupError> {
    if bytes.len() < HEADER_LEN + 16 || &bytes[..4] != MAGIC {
        return Err(BackupError::NotABackup);
    }
    if bytes[4] != VERSION {
        return Err(BackupError::Unsupported);
    }
    let word =
        |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    let (memory_kib, passes, lanes) = (word(5), word(9), bytes[13]);
    check_cost(memory_kib, passes)?;
    if lanes != 1 || passes == 0 {
        return Err(BackupError::Unsupported);
    }
    let salt = &bytes[14..30];
    let mut nonce = [0u8; 12];
    nonce.copy_from_slice(&bytes[30..42]);
    let key = derive(passphrase, salt, memory_kib, passes)?;
    let mut body = Zeroizing::new(bytes[HEADER_LEN..].to_vec());
    let plain_len = key
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(&bytes[..HEADER_LEN]),
            &mut body,
        )
        .map_err(|_| BackupError::WrongPassphrase)?
        .len();
    body.truncate(plain_len);
    Ok(body)
}

fn derive(
    passphrase: &str,
    salt: &[u8],
    memory_kib: u32,
    passes: u32,
) -> Result<LessSafeKey, BackupError> {
    let params =
        Params::new(memory_kib, passes, 1, Some(32)).map_err(|_| BackupError::Unsupported)?;
    let mut key = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase.as_bytes(), salt, &mut *key)
        .map_err(|_| BackupError::Unsupported)?;
    let unbound = UnboundKey::new(&AES_256_GCM, &*key).map_err(|_| BackupError::Unsupported)?;
    Ok(LessSafeKey::new(unbound))
}
