//! Chunks on a local disk: `ROOT/ab/cd/<sha256>`, written through `ROOT/tmp/`; damaged copies
//! are set aside in `ROOT/quarantine/`.
//!
//! `ROOT/tmp/` is made when the store opens and is never removed: a store whose `tmp/` vanished
//! (a wiped folder, an unmounted disk) refuses writes and listings instead of quietly filling the
//! directory under the mount point, so a replicated store sees the node as down.

use std::fs::{self, File};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use bytes::Bytes;
use satchel_proto::Sha256;
use uuid::Uuid;

use crate::{BlobError, BlobStore, BoxFuture, Result};

/// A chunk store in a directory of the local file system.
#[derive(Debug, Clone)]
pub struct LocalBlobStore {
    root: PathBuf,
}

impl LocalBlobStore {
    /// Opens (creating if needed) a store under `root`, clearing partial writes a crash left
    /// behind and putting back any chunk a collection had moved aside when it was interrupted.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        fs::create_dir_all(root.join("tmp"))?;
        let store = Self { root };
        for entry in fs::read_dir(store.root.join("tmp"))? {
            let path = entry?.path();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            let aside = name
                .as_deref()
                .and_then(|n| n.strip_prefix("gc-"))
                .and_then(|hex| hex.parse::<Sha256>().ok());
            match aside {
                // A whole chunk the collector had not yet judged: an upload may have refreshed it
                // and be about to reference it. Back into place; the next run judges again.
                Some(hash) => {
                    let target = store.path_of(&hash);
                    if let Some(dir) = target.parent() {
                        fs::create_dir_all(dir)?;
                    }
                    if target.exists() {
                        fs::remove_file(&path)?;
                    } else {
                        fs::rename(&path, &target)?;
                    }
                }
                // A partial write: never renamed into place, so nothing references it.
                None => {
                    let _ = fs::remove_file(&path);
                }
            }
        }
        Ok(store)
    }

    /// Where the chunk `hash` lives.
    pub fn path_of(&self, hash: &Sha256) -> PathBuf {
        let hex = hash.to_hex();
        self.root.join(&hex[0..2]).join(&hex[2..4]).join(hex)
    }

    /// Refreshes the chunk's time so the garbage collector's grace period starts again; `false`
    /// when it is not there (or the collector has just taken it away).
    fn refresh_blocking(&self, target: &Path) -> Result<bool> {
        match File::options().write(true).open(target) {
            Ok(file) => {
                file.set_modified(SystemTime::now())?;
                // Still in place after the refresh? Then the collector will see the new time. If it
                // moved the chunk aside meanwhile, the caller must store it again.
                Ok(target.exists())
            }
            Err(error) if error.kind() == ErrorKind::NotFound => Ok(false),
            Err(error) => Err(error.into()),
        }
    }

    /// Fails unless the store's folder is still there (see the module notes).
    fn present(&self) -> Result<()> {
        if self.root.join("tmp").is_dir() {
            Ok(())
        } else {
            Err(BlobError::Io(std::io::Error::new(
                ErrorKind::NotFound,
                format!(
                    "the chunk folder {} is gone (wiped or not mounted)",
                    self.root.display()
                ),
            )))
        }
    }

    fn put_blocking(&self, hash: &Sha256, bytes: &[u8]) -> Result<()> {
        self.present()?;
        let target = self.path_of(hash);
        if self.refresh_blocking(&target)? {
            return Ok(());
        }
        let dir = target.parent().unwrap_or(&self.root);
        fs::create_dir_all(dir)?;
        let temp = self
            .root
            .join("tmp")
            .join(Uuid::now_v7().simple().to_string());
        let written = write_durably(&temp, bytes).and_then(|()| fs::rename(&temp, &target));
        if let Err(error) = written {
            let _ = fs::remove_file(&temp);
            return Err(error.into());
        }
        // The rename is durable only once the directory entry is.
        File::open(dir)?.sync_all()?;
        Ok(())
    }
}

impl LocalBlobStore {
    /// Moves the chunk aside first (one atomic rename), then judges its time: a `put` that refreshed
    /// it before the move is seen (and the chunk goes back); a `put` after the move finds nothing to
    /// refresh and writes the chunk anew. Either way no `put` that returned can lose its chunk.
    fn delete_if_stale_blocking(&self, hash: &Sha256, cutoff: SystemTime) -> Result<bool> {
        let target = self.path_of(hash);
        let aside = self.root.join("tmp").join(format!("gc-{}", hash.to_hex()));
        match fs::rename(&target, &aside) {
            Err(error) if error.kind() == ErrorKind::NotFound => return Ok(false),
            other => other?,
        }
        let stored = fs::metadata(&aside)?.modified()?;
        if stored >= cutoff {
            // Refreshed within the grace period: put it back, unless a new copy already is there.
            if target.exists() {
                fs::remove_file(&aside)?;
            } else {
                fs::rename(&aside, &target)?;
            }
            return Ok(false);
        }
        fs::remove_file(&aside)?;
        Ok(true)
    }
}

impl LocalBlobStore {
    /// Moves the copy to `quarantine/<sha256>.<micros>`.
    fn quarantine_blocking(&self, hash: &Sha256) -> Result<bool> {
        let target = self.path_of(hash);
        let aside = self.root.join("quarantine");
        fs::create_dir_all(&aside)?;
        let stamp = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_micros();
        match fs::rename(&target, aside.join(format!("{}.{stamp}", hash.to_hex()))) {
            Ok(()) => {
                File::open(&aside)?.sync_all()?;
                Ok(true)
            }
            Err(error) if error.kind() == ErrorKind::NotFound => Ok(false),
            Err(error) => Err(error.into()),
        }
    }
}

/// Every chunk under `root` with its size (the two-hex-digit fan-out folders only).
fn list_blocking(store: &LocalBlobStore) -> Result<Vec<(Sha256, u64)>> {
    store.present()?;
    let fan_out = |name: &std::ffi::OsStr| {
        name.len() == 2
            && name
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_hexdigit())
    };
    let mut found = Vec::new();
    for first in fs::read_dir(&store.root)? {
        let first = first?;
        if !fan_out(&first.file_name()) || !first.file_type()?.is_dir() {
            continue;
        }
        for second in fs::read_dir(first.path())? {
            let second = second?;
            if !fan_out(&second.file_name()) || !second.file_type()?.is_dir() {
                continue;
            }
            for chunk in fs::read_dir(second.path())? {
                let chunk = chunk?;
                if let Ok(hash) = chunk.file_name().to_string_lossy().parse::<Sha256>() {
                    found.push((hash, chunk.metadata()?.len()));
                }
            }
        }
    }
    Ok(found)
}

fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = File::create(path)?;
    file.write_all(bytes)?;
    file.sync_data()
}

impl BlobStore for LocalBlobStore {
    fn put(&self, hash: Sha256, bytes: Bytes) -> BoxFuture<'_, Result<()>> {
        let store = self.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || store.put_blocking(&hash, &bytes))
                .await
                .map_err(|e| std::io::Error::other(e.to_string()))?
        })
    }

    fn refresh(&self, hash: Sha256) -> BoxFuture<'_, Result<bool>> {
        let store = self.clone();
        Box::pin(async move {
            let target = store.path_of(&hash);
            tokio::task::spawn_blocking(move || store.refresh_blocking(&target))
                .await
                .map_err(|e| std::io::Error::other(e.to_string()))?
        })
    }

    fn get(&self, hash: Sha256) -> BoxFuture<'_, Result<Bytes>> {
        let path = self.path_of(&hash);
        Box::pin(async move {
            match tokio::fs::read(&path).await {
                Ok(bytes) => Ok(Bytes::from(bytes)),
                Err(error) if error.kind() == ErrorKind::NotFound => {
                    // A missing folder is a node that is down, not a chunk that is lost.
                    self.present()?;
                    Err(BlobError::Missing(hash))
                }
                Err(error) => Err(error.into()),
            }
        })
    }

    fn stored_size(&self, hash: Sha256) -> BoxFuture<'_, Result<Option<u64>>> {
        let path = self.path_of(&hash);
        Box::pin(async move {
            match tokio::fs::metadata(&path).await {
                Ok(meta) => Ok(Some(meta.len())),
                Err(error) if error.kind() == ErrorKind::NotFound => {
                    self.present()?;
                    Ok(None)
                }
                Err(error) => Err(error.into()),
            }
        })
    }

    fn contains(&self, hash: Sha256) -> BoxFuture<'_, Result<bool>> {
        let path = self.path_of(&hash);
        Box::pin(async move { Ok(tokio::fs::try_exists(&path).await?) })
    }

    fn delete(&self, hash: Sha256) -> BoxFuture<'_, Result<()>> {
        let path = self.path_of(&hash);
        Box::pin(async move {
            match tokio::fs::remove_file(&path).await {
                Err(error) if error.kind() != ErrorKind::NotFound => Err(error.into()),
                _ => Ok(()),
            }
        })
    }

    fn delete_if_stale(&self, hash: Sha256, cutoff: SystemTime) -> BoxFuture<'_, Result<bool>> {
        let store = self.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || store.delete_if_stale_blocking(&hash, cutoff))
                .await
                .map_err(|e| std::io::Error::other(e.to_string()))?
        })
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<Sha256>>> {
        Box::pin(async move {
            let found = self.inventory().await?;
            Ok(found.into_iter().map(|(hash, _)| hash).collect())
        })
    }

    fn inventory(&self) -> BoxFuture<'_, Result<Vec<(Sha256, u64)>>> {
        let store = self.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || list_blocking(&store))
                .await
                .map_err(|e| std::io::Error::other(e.to_string()))?
        })
    }

    fn quarantine(&self, hash: Sha256) -> BoxFuture<'_, Result<bool>> {
        let store = self.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || store.quarantine_blocking(&hash))
                .await
                .map_err(|e| std::io::Error::other(e.to_string()))?
        })
    }

    fn check(&self) -> BoxFuture<'_, Result<()>> {
        let probe = self.root.join("tmp").join(".ready");
        Box::pin(async move {
            tokio::fs::write(&probe, b"ok").await?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    fn hash_of(bytes: &[u8]) -> Sha256 {
        Sha256::from_bytes(sha2::Sha256::digest(bytes).into())
    }

    #[tokio::test]
    async fn stores_reads_and_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobStore::open(dir.path()).unwrap();
        let bytes = Bytes::from_static(b"hello chunk");
        let hash = hash_of(&bytes);
        assert!(!store.contains(hash).await.unwrap());
        store.put(hash, bytes.clone()).await.unwrap();
        store.put(hash, bytes.clone()).await.unwrap();
        assert!(store.contains(hash).await.unwrap());
        assert_eq!(store.get(hash).await.unwrap(), bytes);
        store.delete(hash).await.unwrap();
        assert!(matches!(store.get(hash).await, Err(BlobError::Missing(_))));
        store.delete(hash).await.unwrap();
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
    }

    #[tokio::test]
    async fn a_chunk_moved_aside_by_an_interrupted_collection_is_put_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobStore::open(dir.path()).unwrap();
        let bytes = Bytes::from_static(b"referenced chunk");
        let hash = hash_of(&bytes);
        store.put(hash, bytes.clone()).await.unwrap();
        // The collector's first step, then a crash.
        fs::rename(
            store.path_of(&hash),
            dir.path().join("tmp").join(format!("gc-{}", hash.to_hex())),
        )
        .unwrap();
        fs::write(dir.path().join("tmp").join("partial-write"), b"half").unwrap();
        let reopened = LocalBlobStore::open(dir.path()).unwrap();
        assert_eq!(reopened.get(hash).await.unwrap(), bytes);
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
    }

    #[tokio::test]
    async fn only_stale_chunks_are_collected() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobStore::open(dir.path()).unwrap();
        let bytes = Bytes::from_static(b"garbage or not");
        let hash = hash_of(&bytes);
        store.put(hash, bytes.clone()).await.unwrap();
        assert_eq!(store.list().await.unwrap(), [hash]);
        let before = SystemTime::now() - std::time::Duration::from_secs(3600);
        assert!(
            !store.delete_if_stale(hash, before).await.unwrap(),
            "stored within the grace period"
        );
        assert!(store.contains(hash).await.unwrap());
        let after = SystemTime::now() + std::time::Duration::from_secs(3600);
        assert!(store.delete_if_stale(hash, after).await.unwrap());
        assert!(!store.contains(hash).await.unwrap());
        // Storing it again after collection writes it anew.
        store.put(hash, bytes.clone()).await.unwrap();
        assert_eq!(store.get(hash).await.unwrap(), bytes);
    }
}
