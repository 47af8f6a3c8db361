//! Satchel's chunk store: immutable chunks addressed by their SHA-256.
//!
//! A chunk is written once and never changed. [`BlobStore::put`] returns only when the bytes are
//! durable (local disk: temporary file, fsync, rename, fsync of the directory), so metadata written
//! afterwards never points at bytes a crash could lose. Keys derive from the hash alone, never from a
//! user's file name. Deleting unreferenced chunks is the garbage collector's job, not a request's.
//!
//! [`ReplicatedStore`] (`replicated.rs`) spreads chunks over several named nodes (each a
//! [`LocalBlobStore`] or an [`S3BlobStore`]): it places every chunk by rendezvous hashing, returns
//! from a write only when enough copies are durable, verifies every read against the chunk's hash,
//! and tells a [`Ledger`] (the metadata store, in the server) where copies are and which went bad.

mod chunking;
mod faulty;
mod local;
mod replicated;
mod s3;

use std::future::Future;
use std::pin::Pin;
use std::time::SystemTime;

use bytes::Bytes;
pub use chunking::{AVG_CHUNK, MAX_CHUNK, MIN_CHUNK, cut_point};
pub use faulty::{Fault, FaultyStore};
pub use local::LocalBlobStore;
pub use replicated::{CopyEvent, Ledger, NoLedger, ReplicatedStore, StorageNode, hash_of};
pub use s3::{S3BlobStore, S3Credentials, S3Location};
use satchel_proto::Sha256;

/// A boxed future, so that [`BlobStore`] can be used as a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An error from the chunk store.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("chunk {0} is not in the store")]
    Missing(Sha256),
    #[error("chunk store I/O failed: {0}")]
    Io(#[from] std::io::Error),
    /// Fewer nodes than the configured number of copies could take a chunk: nothing may be
    /// committed that references it.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Every copy that could be read failed its SHA-256 check.
    #[error("chunk {0} is corrupt on every node that answered")]
    Corrupt(Sha256),
}

/// Result of every chunk store call.
pub type Result<T, E = BlobError> = std::result::Result<T, E>;

/// A presigned request that stores one chunk directly in the blob store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedPut {
    pub url: String,
    /// Headers the request must carry exactly (they are part of the signature).
    pub headers: Vec<(String, String)>,
}

/// A content-addressed store of immutable chunks.
pub trait BlobStore: Send + Sync + 'static {
    /// Stores `bytes` under `hash` (which the caller computed from them) and returns once they are
    /// durable. Storing a chunk that is already there only refreshes it (its last-stored time), which
    /// protects it from the garbage collector's grace period until the caller's metadata names it.
    fn put(&self, hash: Sha256, bytes: Bytes) -> BoxFuture<'_, Result<()>>;

    /// Refreshes a stored chunk's last-stored time (as storing it again would); `false` if it is not
    /// there. Uploads call this for their chunks just before committing, so that the grace period
    /// counts from the commit, however long the upload took.
    fn refresh(&self, hash: Sha256) -> BoxFuture<'_, Result<bool>>;

    /// The whole chunk. Chunks are at most a few MiB, so a chunk is the unit of streaming.
    fn get(&self, hash: Sha256) -> BoxFuture<'_, Result<Bytes>>;

    /// Whether the chunk is stored.
    fn contains(&self, hash: Sha256) -> BoxFuture<'_, Result<bool>>;

    /// Removes a chunk (garbage collection only). Removing a missing chunk is not an error.
    fn delete(&self, hash: Sha256) -> BoxFuture<'_, Result<()>>;

    /// Removes a chunk only if nobody has stored (or re-stored) it since `cutoff`: the garbage
    /// collector's delete. Returns whether it was removed. A `put` of the same chunk racing with it
    /// either refreshes the chunk before it is judged (and it stays) or writes it anew afterwards.
    fn delete_if_stale(&self, hash: Sha256, cutoff: SystemTime) -> BoxFuture<'_, Result<bool>>;

    /// The size of a stored chunk, or `None` when it is not there.
    fn stored_size(&self, hash: Sha256) -> BoxFuture<'_, Result<Option<u64>>>;

    /// A URL through which a client may store the chunk `hash` of `size` bytes itself, valid for
    /// `valid_for`, with the headers it must send (the store refuses other bytes); `None` when the
    /// store has no such thing (local disk).
    fn presign_put(
        &self,
        _hash: Sha256,
        _size: u64,
        _valid_for: std::time::Duration,
    ) -> BoxFuture<'_, Result<Option<PresignedPut>>> {
        Box::pin(async { Ok(None) })
    }

    /// How many chunks a download should fetch ahead: a local disk answers at once, a bucket
    /// answers each GET after a round trip that only overlapping requests hide.
    fn read_ahead(&self) -> usize {
        2
    }

    /// Whether [`BlobStore::presign_put`] hands out URLs.
    fn presigns(&self) -> bool {
        false
    }

    /// Whether [`BlobStore::delete_if_stale`] ever removes anything (a bucket keeps every chunk
    /// for now; see `s3.rs`). The collector skips sweeping a store that does not collect.
    fn collects(&self) -> bool {
        true
    }

    /// Every chunk in the store (for sweeping chunks no metadata names).
    fn list(&self) -> BoxFuture<'_, Result<Vec<Sha256>>>;

    /// Every chunk in the store with its stored size (for presence passes: a copy whose size is
    /// wrong is damaged without reading it).
    fn inventory(&self) -> BoxFuture<'_, Result<Vec<(Sha256, u64)>>> {
        Box::pin(async move {
            let mut found = Vec::new();
            for hash in self.list().await? {
                if let Some(size) = self.stored_size(hash).await? {
                    found.push((hash, size));
                }
            }
            Ok(found)
        })
    }

    /// Sets a damaged copy aside (never deleting it: an operator may want it back), so it is no
    /// longer read or listed. Returns whether there was a copy to set aside.
    fn quarantine(&self, hash: Sha256) -> BoxFuture<'_, Result<bool>>;

    /// Checks that the store is reachable and writable (for `/readyz`).
    fn check(&self) -> BoxFuture<'_, Result<()>>;
}
