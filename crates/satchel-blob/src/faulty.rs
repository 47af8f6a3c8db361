//! A node that misbehaves on purpose, for tests of replication, verification and repair: it wraps a
//! real store and, while a [`Fault`] is set, fails writes, hangs, damages what it returns, or
//! loses everything it held. Deterministic: the same faults in the same order do the same thing.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use satchel_proto::Sha256;

use crate::{BlobError, BlobStore, BoxFuture, Result};

/// What the node does wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Behaves.
    None,
    /// The k-th write from now fails (1 = the next one); the others succeed.
    FailWrite(u32),
    /// Every call fails as an unreachable node would.
    Down,
    /// Every call waits this long before doing its work (a stalled disk or network).
    Hang(Duration),
    /// Reads return the stored bytes with one bit flipped.
    CorruptReads,
    /// Reads return all but the last byte.
    TruncateReads,
}

/// A store that misbehaves as told.
pub struct FaultyStore {
    inner: Arc<dyn BlobStore>,
    fault: Mutex<(Fault, u32)>,
}

impl FaultyStore {
    pub fn new(inner: Arc<dyn BlobStore>) -> Self {
        FaultyStore {
            inner,
            fault: Mutex::new((Fault::None, 0)),
        }
    }

    /// Sets the fault from now on (replacing the previous one).
    pub fn set(&self, fault: Fault) {
        *self.fault.lock().unwrap_or_else(|e| e.into_inner()) = (fault, 0);
    }

    fn current(&self) -> Fault {
        self.fault.lock().unwrap_or_else(|e| e.into_inner()).0
    }

    /// Loses every chunk the node holds (a disk replaced by an empty one).
    pub async fn vanish(&self) -> Result<()> {
        for hash in self.inner.list().await? {
            self.inner.delete(hash).await?;
        }
        Ok(())
    }

    async fn before(&self) -> Result<()> {
        match self.current() {
            Fault::Down => Err(BlobError::Io(std::io::Error::new(
                std::io::ErrorKind::ConnectionRefused,
                "injected: node down",
            ))),
            Fault::Hang(pause) => {
                tokio::time::sleep(pause).await;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    async fn before_write(&self) -> Result<()> {
        self.before().await?;
        let mut fault = self.fault.lock().unwrap_or_else(|e| e.into_inner());
        if let Fault::FailWrite(k) = fault.0 {
            fault.1 += 1;
            if fault.1 == k {
                return Err(BlobError::Io(std::io::Error::other(
                    "injected: write failed",
                )));
            }
        }
        Ok(())
    }
}

impl BlobStore for FaultyStore {
    fn put(&self, hash: Sha256, bytes: Bytes) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            self.before_write().await?;
            self.inner.put(hash, bytes).await
        })
    }

    fn refresh(&self, hash: Sha256) -> BoxFuture<'_, Result<bool>> {
        Box::pin(async move {
            self.before().await?;
            self.inner.refresh(hash).await
        })
    }

    fn get(&self, hash: Sha256) -> BoxFuture<'_, Result<Bytes>> {
        Box::pin(async move {
            self.before().await?;
            let bytes = self.inner.get(hash).await?;
            Ok(match self.current() {
                Fault::CorruptReads if !bytes.is_empty() => {
                    let mut damaged = bytes.to_vec();
                    damaged[bytes.len() / 2] ^= 0x10;
                    Bytes::from(damaged)
                }
                Fault::CorruptReads => Bytes::from_static(b"?"),
                Fault::TruncateReads => bytes.slice(..bytes.len().saturating_sub(1)),
                _ => bytes,
            })
        })
    }

    fn contains(&self, hash: Sha256) -> BoxFuture<'_, Result<bool>> {
        Box::pin(async move {
            self.before().await?;
            self.inner.contains(hash).await
        })
    }

    fn delete(&self, hash: Sha256) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            self.before().await?;
            self.inner.delete(hash).await
        })
    }

    fn delete_if_stale(&self, hash: Sha256, cutoff: SystemTime) -> BoxFuture<'_, Result<bool>> {
        Box::pin(async move {
            self.before().await?;
            self.inner.delete_if_stale(hash, cutoff).await
        })
    }

    fn stored_size(&self, hash: Sha256) -> BoxFuture<'_, Result<Option<u64>>> {
        Box::pin(async move {
            self.before().await?;
            self.inner.stored_size(hash).await
        })
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<Sha256>>> {
        Box::pin(async move {
            self.before().await?;
            self.inner.list().await
        })
    }

    fn inventory(&self) -> BoxFuture<'_, Result<Vec<(Sha256, u64)>>> {
        Box::pin(async move {
            self.before().await?;
            self.inner.inventory().await
        })
    }

    fn quarantine(&self, hash: Sha256) -> BoxFuture<'_, Result<bool>> {
        Box::pin(async move {
            self.before().await?;
            self.inner.quarantine(hash).await
        })
    }

    fn collects(&self) -> bool {
        self.inner.collects()
    }

    fn check(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            self.before().await?;
            self.inner.check().await
        })
    }
}
