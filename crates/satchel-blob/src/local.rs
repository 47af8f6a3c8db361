//! Chunks on a local disk: `ROOT/ab/cd/<sha256>`, written through `ROOT/tmp/`.

use std::fs::{self, File};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

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
    /// Opens (creating if needed) a store under `root`, clearing temporary files a crash left behind.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        fs::create_dir_all(root.join("tmp"))?;
        for entry in fs::read_dir(root.join("tmp"))? {
            // Anything here was never renamed into place, so nothing references it.
            let _ = fs::remove_file(entry?.path());
        }
        Ok(Self { root })
    }

    /// Where the chunk `hash` lives.
    pub fn path_of(&self, hash: &Sha256) -> PathBuf {
        let hex = hash.to_hex();
        self.root.join(&hex[0..2]).join(&hex[2..4]).join(hex)
    }

    fn put_blocking(&self, hash: &Sha256, bytes: &[u8]) -> Result<()> {
        let target = self.path_of(hash);
        if target.exists() {
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

    fn get(&self, hash: Sha256) -> BoxFuture<'_, Result<Bytes>> {
        let path = self.path_of(&hash);
        Box::pin(async move {
            match tokio::fs::read(&path).await {
                Ok(bytes) => Ok(Bytes::from(bytes)),
                Err(error) if error.kind() == ErrorKind::NotFound => Err(BlobError::Missing(hash)),
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
}
