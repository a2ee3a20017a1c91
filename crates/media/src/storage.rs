//! Where media files are kept, by key.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The key has characters outside `[a-z0-9._/-]`, a `..` or an absolute path.
    #[error("invalid media key {0:?}")]
    InvalidKey(String),
    /// The backend failed.
    #[error("media storage: {0}")]
    Io(#[from] std::io::Error),
}

/// A key-value store of files. Keys are relative paths like `attachments/123/original.jpg`.
/// Calls block: run them on a blocking thread.
pub trait MediaStorage: Send + Sync + std::fmt::Debug {
    /// Stores `bytes` under `key`, replacing what was there.
    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StorageError>;
    /// The file under `key`, or `None`.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError>;
    /// Removes `key`; a missing key is not an error.
    fn delete(&self, key: &str) -> Result<(), StorageError>;
}

/// Files under a directory (`DATA_DIR/media`).
#[derive(Clone, Debug)]
pub struct FsStorage {
    root: PathBuf,
}

impl FsStorage {
    /// Storage rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FsStorage { root: root.into() }
    }

    /// The directory files are kept in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path_of(&self, key: &str) -> Result<PathBuf, StorageError> {
        let valid = !key.is_empty()
            && !key.starts_with('/')
            && key
                .split('/')
                .all(|part| !part.is_empty() && part != "." && part != "..")
            && key.bytes().all(|b| {
                b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || matches!(b, b'.' | b'_' | b'-' | b'/')
            });
        if !valid {
            return Err(StorageError::InvalidKey(key.to_owned()));
        }
        Ok(self.root.join(key))
    }
}

impl MediaStorage for FsStorage {
    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StorageError> {
        let path = self.path_of(key)?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        // Written aside and renamed, so a reader never sees half a file.
        let partial = path.with_extension("partial");
        std::fs::write(&partial, bytes)?;
        std::fs::rename(&partial, &path)?;
        Ok(())
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        match std::fs::read(self.path_of(key)?) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn delete(&self, key: &str) -> Result<(), StorageError> {
        match std::fs::remove_file(self.path_of(key)?) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn files_round_trip_and_deleting_twice_is_fine() {
        let dir = tempfile::tempdir().unwrap();
        let storage = FsStorage::new(dir.path());
        storage.put("attachments/1/original.png", b"abc").unwrap();
        assert_eq!(
            storage
                .get("attachments/1/original.png")
                .unwrap()
                .as_deref(),
            Some(&b"abc"[..])
        );
        storage.delete("attachments/1/original.png").unwrap();
        storage.delete("attachments/1/original.png").unwrap();
        assert_eq!(storage.get("attachments/1/original.png").unwrap(), None);
    }

    #[test]
    fn keys_cannot_leave_the_media_directory() {
        let storage = FsStorage::new("/tmp/unused");
        for key in [
            "../etc/passwd",
            "/etc/passwd",
            "a/../../b",
            "A.PNG",
            "a//b",
            "",
        ] {
            assert!(
                matches!(storage.get(key), Err(StorageError::InvalidKey(_))),
                "{key}"
            );
        }
    }
}
