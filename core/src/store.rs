//! Secure storage of small blobs (tokens, device token, vault entries).
//!
//! [`SecureStore`] is a platform trait: the apps implement it over the Keychain or the Android
//! Keystore. [`EncryptedFileStore`] is the Rust default for tests, the harness and desktop use.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

/// Small byte blobs under string keys, kept where only this app can read them.
///
/// Implementations must make each `put` and `delete` atomic: after a crash a key holds its old
/// value or its new one, never a mix.
pub trait SecureStore: Send + Sync {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    fn put(&self, key: &str, value: &[u8]) -> Result<(), StoreError>;
    fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Every key, sorted.
    fn list(&self) -> Result<Vec<String>, StoreError>;
}

/// Why the store could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The file failed authentication or could not be read back: it was moved aside (never
    /// deleted) to `moved_to`, and the store starts empty from the next call.
    #[error(
        "the secure store was corrupt or encrypted with another key; it was moved to {moved_to}"
    )]
    Corrupt { moved_to: String },
    /// The key file is missing, unreadable or not 32 bytes.
    #[error("the store key at {path} is unusable: {reason}")]
    BadKey { path: String, reason: String },
    /// The file system refused (full disk, permissions...). Nothing was changed.
    #[error("the secure store could not {action}: {kind}")]
    Io { action: &'static str, kind: String },
    /// A platform store (Keychain, Keystore) refused; raised by foreign implementations.
    #[error("the platform store is unavailable")]
    Unavailable,
}

impl StoreError {
    fn io(action: &'static str, error: io::Error) -> Self {
        // The io kind, not its message: messages can carry paths and vary by platform.
        StoreError::Io {
            action,
            kind: error.kind().to_string(),
        }
    }
}

/// A 256-bit AES-GCM key for an [`EncryptedFileStore`]; zeroized on drop, redacted in `Debug`.
pub struct StoreKey(Zeroizing<[u8; 32]>);

impl StoreKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        StoreKey(Zeroizing::new(bytes))
    }

    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        SystemRandom::new()
            .fill(bytes.as_mut())
            .expect("the system random source failed");
        StoreKey(bytes)
    }

    /// Reads the key file at `path`, creating it (mode 0600 on Unix) with a fresh key if it does
    /// not exist.
    pub fn load_or_create(path: &Path) -> Result<Self, StoreError> {
        let bad = |reason: &str| StoreError::BadKey {
            path: path.display().to_string(),
            reason: reason.to_owned(),
        };
        match fs::read(path) {
            Ok(bytes) => {
                let bytes = Zeroizing::new(bytes);
                let key: [u8; 32] = bytes
                    .as_slice()
                    .try_into()
                    .map_err(|_| bad("not 32 bytes"))?;
                Ok(StoreKey::from_bytes(key))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let key = StoreKey::generate();
                write_atomically(path, key.0.as_ref())
                    .map_err(|e| StoreError::io("create its key file", e))?;
                Ok(key)
            }
            Err(_) => Err(bad("cannot be read")),
        }
    }
}

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreKey(<redacted>)")
    }
}

/// All entries in one file, sealed with AES-256-GCM under a fresh random nonce per write and
/// replaced atomically (temporary file, fsync, rename, fsync of the directory).
///
/// File layout: `ACS1` magic, 12-byte nonce, ciphertext and tag of the entries
/// (`u32` count, then per entry `u32` key length, key, `u32` value length, value; big-endian).
/// The magic is the associated data. Entries are cached decrypted only for the span of one call.
pub struct EncryptedFileStore {
    path: PathBuf,
    key: LessSafeKey,
    /// Serialises read-modify-write cycles within the process.
    lock: Mutex<()>,
}

type Entries = BTreeMap<String, Zeroizing<Vec<u8>>>;

const MAGIC: &[u8; 4] = b"ACS1";

impl EncryptedFileStore {
    /// Opens (lazily: nothing is read until the first call) the store file at `path`.
    pub fn open(path: impl Into<PathBuf>, key: StoreKey) -> Self {
        let unbound = UnboundKey::new(&AES_256_GCM, key.0.as_ref()).expect("a 32-byte AES key");
        EncryptedFileStore {
            path: path.into(),
            key: LessSafeKey::new(unbound),
            lock: Mutex::new(()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> Result<Entries, StoreError> {
        let sealed = match fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Entries::new()),
            Err(e) => return Err(StoreError::io("read its file", e)),
        };
        match self.open_sealed(sealed) {
            Some(entries) => Ok(entries),
            None => Err(self.move_aside()?),
        }
    }

    fn open_sealed(&self, mut sealed: Vec<u8>) -> Option<Entries> {
        if sealed.len() < MAGIC.len() + NONCE_LEN || &sealed[..MAGIC.len()] != MAGIC {
            return None;
        }
        let nonce =
            Nonce::try_assume_unique_for_key(&sealed[MAGIC.len()..MAGIC.len() + NONCE_LEN]).ok()?;
        let mut body = Zeroizing::new(sealed.split_off(MAGIC.len() + NONCE_LEN));
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(MAGIC), body.as_mut())
            .ok()?;
        decode_entries(plain)
    }

    fn move_aside(&self) -> Result<StoreError, StoreError> {
        let stamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let mut aside = self.path.clone().into_os_string();
        aside.push(format!(".corrupt-{stamp}"));
        let aside = PathBuf::from(aside);
        fs::rename(&self.path, &aside)
            .map_err(|e| StoreError::io("move a corrupt file aside", e))?;
        Ok(StoreError::Corrupt {
            moved_to: aside.display().to_string(),
        })
    }

    fn write(&self, entries: &Entries) -> Result<(), StoreError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| StoreError::Unavailable)?;
        let mut body = encode_entries(entries);
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(MAGIC),
                &mut *body,
            )
            .map_err(|_| StoreError::Unavailable)?;
        let mut file = Vec::with_capacity(MAGIC.len() + NONCE_LEN + body.len());
        file.extend_from_slice(MAGIC);
        file.extend_from_slice(&nonce);
        file.extend_from_slice(&body);
        write_atomically(&self.path, &file).map_err(|e| StoreError::io("write its file", e))
    }

    fn change(&self, edit: impl FnOnce(&mut Entries)) -> Result<(), StoreError> {
        let _guard = self
            .lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut entries = self.read()?;
        edit(&mut entries);
        self.write(&entries)
    }
}

impl SecureStore for EncryptedFileStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let _guard = self
            .lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Ok(self.read()?.get(key).map(|v| v.to_vec()))
    }

    fn put(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.change(|entries| {
            entries.insert(key.to_owned(), Zeroizing::new(value.to_vec()));
        })
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.change(|entries| {
            entries.remove(key);
        })
    }

    fn list(&self) -> Result<Vec<String>, StoreError> {
        let _guard = self
            .lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Ok(self.read()?.into_keys().collect())
    }
}

fn encode_entries(entries: &Entries) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::new());
    out.extend_from_slice(&(entries.len() as u32).to_be_bytes());
    for (key, value) in entries {
        out.extend_from_slice(&(key.len() as u32).to_be_bytes());
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(&(value.len() as u32).to_be_bytes());
        out.extend_from_slice(value);
    }
    out
}

fn decode_entries(mut bytes: &[u8]) -> Option<Entries> {
    fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        if bytes.len() < n {
            return None;
        }
        let (head, tail) = bytes.split_at(n);
        *bytes = tail;
        Some(head)
    }
    fn length(bytes: &mut &[u8]) -> Option<usize> {
        Some(u32::from_be_bytes(take(bytes, 4)?.try_into().ok()?) as usize)
    }
    let count = length(&mut bytes)?;
    let mut entries = Entries::new();
    for _ in 0..count {
        let key_len = length(&mut bytes)?;
        let key = String::from_utf8(take(&mut bytes, key_len)?.to_vec()).ok()?;
        let value_len = length(&mut bytes)?;
        let value = Zeroizing::new(take(&mut bytes, value_len)?.to_vec());
        entries.insert(key, value);
    }
    bytes.is_empty().then_some(entries)
}

/// Writes `bytes` to a fresh temporary file beside `path`, syncs it, renames it over `path` and
/// syncs the directory, so a crash leaves either the old file or the new one. Files are readable
/// by their owner only.
///
/// The temporary file has a random name and is created exclusively (`create_new`), so two writers
/// (two stores on one path, two processes) never write into the same temporary file: each rename
/// installs one complete file. On any error the temporary file is removed.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let (tmp, file) = create_temp_beside(path)?;
    let written = fill_and_install(file, &tmp, path, bytes);
    if written.is_err() {
        // Gone already if the rename happened; otherwise nothing may be left behind.
        let _ = fs::remove_file(&tmp);
        return written;
    }
    sync_dir(dir)
}

/// Creates `<path>.tmp-<16 random hex digits>` with `create_new`, retrying on the (unlikely) name
/// collision.
fn create_temp_beside(path: &Path) -> io::Result<(PathBuf, File)> {
    let rng = SystemRandom::new();
    let mut last = io::Error::new(io::ErrorKind::AlreadyExists, "temporary name collision");
    for _ in 0..8 {
        let mut suffix = [0u8; 8];
        rng.fill(&mut suffix)
            .map_err(|_| io::Error::other("no system randomness"))?;
        let mut tmp = path.to_path_buf().into_os_string();
        tmp.push(".tmp-");
        for b in suffix {
            tmp.push(format!("{b:02x}"));
        }
        let tmp = PathBuf::from(tmp);
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        match options.open(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

fn fill_and_install(mut file: File, tmp: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(tmp, path)
}

/// Makes the rename durable. Unix only: elsewhere a directory cannot be opened for syncing.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// A store that keeps everything in memory and forgets it on drop: simulated devices in the
/// harness, tests. Values are zeroized when replaced or dropped.
#[derive(Default)]
pub struct MemoryStore {
    entries: std::sync::Mutex<std::collections::BTreeMap<String, Zeroizing<Vec<u8>>>>,
}

impl MemoryStore {
    fn entries(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::BTreeMap<String, Zeroizing<Vec<u8>>>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl SecureStore for MemoryStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.entries().get(key).map(|v| v.to_vec()))
    }

    fn put(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.entries()
            .insert(key.to_owned(), Zeroizing::new(value.to_vec()));
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.entries().remove(key);
        Ok(())
    }

    fn list(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.entries().keys().cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leftovers(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.contains(".tmp-"))
            .collect()
    }

    #[test]
    fn a_failed_write_leaves_no_temporary_file() {
        let dir = std::env::temp_dir().join(format!("authcore-store-unit-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        // The target is a non-empty directory: the rename over it fails after the temporary file
        // was written and synced.
        let target = dir.join("store");
        fs::create_dir_all(target.join("occupied")).unwrap();
        let err = write_atomically(&target, b"sealed bytes").unwrap_err();
        assert_ne!(err.kind(), io::ErrorKind::AlreadyExists);
        assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
        assert!(target.is_dir());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn temporary_names_are_fresh_and_created_exclusively() {
        let dir =
            std::env::temp_dir().join(format!("authcore-store-unit-tmp-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("store");
        let (a, _fa) = create_temp_beside(&path).unwrap();
        let (b, _fb) = create_temp_beside(&path).unwrap();
        assert_ne!(a, b);
        for tmp in [&a, &b] {
            let name = tmp.file_name().unwrap().to_string_lossy().into_owned();
            let suffix = name.strip_prefix("store.tmp-").unwrap();
            assert_eq!(suffix.len(), 16);
            assert!(suffix.chars().all(|c| c.is_ascii_hexdigit()));
        }
        fs::remove_dir_all(&dir).unwrap();
    }
}
