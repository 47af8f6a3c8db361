//! The metadata store as the replicated chunk store's [`Ledger`]: copies recorded in
//! `chunk_copies`, faults in the storage log and the repair queue.
//!
//! A fault seen on the read path must never fail the read that found it: recording it is best
//! effort (logged when it fails), since the next read, scrub or fsck finds the same fault again.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::SystemTime;

use satchel_blob::{BoxFuture, CopyEvent, Ledger};
use satchel_meta::Store;
use satchel_proto::Sha256;

/// Chunks queued for repair recently, so a long download from a damaged node does not write a
/// queue entry per chunk read more than once.
const RECENT_LIMIT: usize = 10_000;

/// Records copies and faults in the metadata store.
pub struct StoreLedger {
    store: Store,
    recently_queued: Mutex<HashSet<Sha256>>,
}

impl StoreLedger {
    pub fn new(store: Store) -> Self {
        StoreLedger {
            store,
            recently_queued: Mutex::new(HashSet::new()),
        }
    }

    /// Whether `hash` was queued lately (and remembers it now).
    fn seen(&self, hash: Sha256) -> bool {
        let mut recent = self
            .recently_queued
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if recent.len() >= RECENT_LIMIT {
            recent.clear();
        }
        !recent.insert(hash)
    }
}

impl Ledger for StoreLedger {
    fn stored(
        &self,
        hash: Sha256,
        nodes: Vec<String>,
        since: SystemTime,
    ) -> BoxFuture<'_, satchel_blob::Result<()>> {
        Box::pin(async move {
            self.store
                .record_copies(&hash, &nodes, since.into(), CopyEvent::Stored.as_str())
                .await
                .map_err(|e| satchel_blob::BlobError::Io(std::io::Error::other(e.to_string())))
        })
    }

    fn lost(
        &self,
        hash: Sha256,
        node: String,
        event: CopyEvent,
        detail: String,
    ) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let result = self
                .store
                .forget_copy(&hash, &node, event.as_str(), &detail)
                .await;
            if let Err(error) = result {
                tracing::warn!(%hash, %node, ?error, "could not record a lost copy");
            }
        })
    }

    fn trouble(&self, hash: Sha256, node: String, detail: String) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if detail.is_empty() && self.seen(hash) {
                return;
            }
            let event = if detail.is_empty() { "" } else { "unreachable" };
            if let Err(error) = self.store.queue_repair(&hash, &node, event, &detail).await {
                tracing::warn!(%hash, %node, ?error, "could not queue a repair");
            }
        })
    }
}
