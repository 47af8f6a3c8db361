//! Chunks replicated over named storage nodes.
//!
//! Invariants:
//! - **Placement** is a pure function of the chunk's hash and the node names (rendezvous hashing):
//!   every server agrees where a chunk belongs without asking anyone, and adding a node moves only
//!   the chunks that now prefer it. When nodes carry zones, the first nodes of the order are in
//!   distinct zones.
//! - **A write returns only when `copies` copies are durable**, on the first live nodes of the
//!   chunk's order (a node that fails is skipped for the next one); with fewer it fails with
//!   [`BlobError::Unavailable`], and the caller commits nothing. The [`Ledger`] learns where the
//!   copies are before the write returns.
//! - **Every read is verified** against the chunk's SHA-256 before its bytes are handed out. A copy
//!   that is missing or fails the check is set aside ([`BlobStore::quarantine`], never deleted) and
//!   reported to the ledger (which forgets the copy and queues a repair); the next node is tried. A
//!   read fails only when no node holds a good copy.
//! - A node that cannot be reached is not a lost copy: its copies stay recorded, and reads and
//!   writes go on with the others.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::future::join_all;
use satchel_proto::Sha256;
use sha2::Digest;

use crate::{BlobError, BlobStore, BoxFuture, PresignedPut, Result};

/// How long one node may take over one chunk before it counts as down for that call.
const NODE_TIMEOUT: Duration = Duration::from_secs(60);

/// One storage node: a name (what the metadata records), an optional zone, and its store.
#[derive(Clone)]
pub struct StorageNode {
    pub name: String,
    pub zone: Option<String>,
    pub store: Arc<dyn BlobStore>,
}

impl std::fmt::Debug for StorageNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageNode")
            .field("name", &self.name)
            .field("zone", &self.zone)
            .finish_non_exhaustive()
    }
}

/// What happened to a copy, as the storage log records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyEvent {
    Stored,
    Verified,
    Missing,
    Corrupt,
    Quarantined,
    Repaired,
    Deleted,
    /// A node did not answer a write or a read (the copy may be fine).
    Unreachable,
    /// A copy found on a node that the metadata had not recorded (taken into the record).
    Found,
}

impl CopyEvent {
    /// The word stored in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            CopyEvent::Stored => "stored",
            CopyEvent::Verified => "verified",
            CopyEvent::Missing => "missing",
            CopyEvent::Corrupt => "corrupt",
            CopyEvent::Quarantined => "quarantined",
            CopyEvent::Repaired => "repaired",
            CopyEvent::Deleted => "deleted",
            CopyEvent::Unreachable => "unreachable",
            CopyEvent::Found => "found",
        }
    }
}

/// Where the record of copies lives (the metadata store, in the server). Calls are made off the
/// hot path only where noted.
pub trait Ledger: Send + Sync + 'static {
    /// Copies of `hash` are durable on `nodes`; `since` is when the write began (the collector
    /// uses it to tell a copy written before it claimed a chunk from one written after).
    fn stored(
        &self,
        hash: Sha256,
        nodes: Vec<String>,
        since: SystemTime,
    ) -> BoxFuture<'_, Result<()>>;
    /// The copy of `hash` on `node` is gone (`Missing`) or was set aside (`Corrupt`): forget it,
    /// log it, and queue the chunk for repair. Called only when something went wrong.
    fn lost(
        &self,
        hash: Sha256,
        node: String,
        event: CopyEvent,
        detail: String,
    ) -> BoxFuture<'_, ()>;
    /// Something worth the operator's attention that changes no record (a node that did not
    /// answer), and a repair to queue for `hash`.
    fn trouble(&self, hash: Sha256, node: String, detail: String) -> BoxFuture<'_, ()>;
}

/// A ledger that records nothing (a store used without metadata, as in the conformance suite).
#[derive(Debug, Default)]
pub struct NoLedger;

impl Ledger for NoLedger {
    fn stored(&self, _: Sha256, _: Vec<String>, _: SystemTime) -> BoxFuture<'_, Result<()>> {
        Box::pin(async { Ok(()) })
    }
    fn lost(&self, _: Sha256, _: String, _: CopyEvent, _: String) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
    fn trouble(&self, _: Sha256, _: String, _: String) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

/// A chunk store made of named nodes, each chunk on `copies` of them.
pub struct ReplicatedStore {
    nodes: Vec<StorageNode>,
    copies: usize,
    ledger: OnceLock<Arc<dyn Ledger>>,
}

impl std::fmt::Debug for ReplicatedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplicatedStore")
            .field("nodes", &self.nodes)
            .field("copies", &self.copies)
            .finish_non_exhaustive()
    }
}

/// The SHA-256 of `bytes`, hashed off the async threads when it is large.
pub async fn hash_of(bytes: &Bytes) -> Sha256 {
    let digest = |bytes: &[u8]| Sha256::from_bytes(sha2::Sha256::digest(bytes).into());
    if bytes.len() <= 64 * 1024 {
        return digest(bytes);
    }
    let owned = bytes.clone();
    match tokio::task::spawn_blocking(move || digest(&owned)).await {
        Ok(hash) => hash,
        Err(_) => digest(bytes),
    }
}

impl ReplicatedStore {
    /// A store over `nodes` keeping `copies` copies of each chunk. Names must be unique and
    /// `copies` between 1 and the number of nodes.
    pub fn new(nodes: Vec<StorageNode>, copies: usize) -> std::result::Result<Self, String> {
        if nodes.is_empty() {
            return Err("at least one storage node is needed".into());
        }
        if copies == 0 || copies > nodes.len() {
            return Err(format!(
                "copies must be between 1 and the number of storage nodes ({}), not {copies}",
                nodes.len()
            ));
        }
        for (i, node) in nodes.iter().enumerate() {
            if nodes[..i].iter().any(|other| other.name == node.name) {
                return Err(format!("two storage nodes are named {:?}", node.name));
            }
        }
        Ok(ReplicatedStore {
            nodes,
            copies,
            ledger: OnceLock::new(),
        })
    }

    /// One node holding every chunk once (`--blobs`, or the data folder).
    pub fn single(name: &str, store: Arc<dyn BlobStore>) -> Self {
        let node = StorageNode {
            name: name.to_owned(),
            zone: None,
            store,
        };
        ReplicatedStore {
            nodes: vec![node],
            copies: 1,
            ledger: OnceLock::new(),
        }
    }

    /// Tells the store where to record copies (once; later calls are ignored).
    pub fn set_ledger(&self, ledger: Arc<dyn Ledger>) {
        let _ = self.ledger.set(ledger);
    }

    fn ledger(&self) -> &dyn Ledger {
        match self.ledger.get() {
            Some(ledger) => ledger.as_ref(),
            None => &NoLedger,
        }
    }

    /// The nodes, in configuration order.
    pub fn nodes(&self) -> &[StorageNode] {
        &self.nodes
    }

    /// The node named `name`.
    pub fn node(&self, name: &str) -> Option<&StorageNode> {
        self.nodes.iter().find(|node| node.name == name)
    }

    /// Copies each chunk should have.
    pub fn copies(&self) -> usize {
        self.copies
    }

    /// The chunk's preference order over all nodes (indexes into [`ReplicatedStore::nodes`]):
    /// highest rendezvous score first, the first nodes in distinct zones where zones are given.
    pub fn placement(&self, hash: &Sha256) -> Vec<usize> {
        let mut scored: Vec<(u64, usize)> = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, node)| (score(&node.name, hash), i))
            .collect();
        scored.sort_by(|a, b| b.cmp(a));
        let mut order = Vec::with_capacity(scored.len());
        let mut zones: Vec<&str> = Vec::new();
        for &(_, i) in &scored {
            let zone = self.nodes[i].zone.as_deref().unwrap_or(&self.nodes[i].name);
            if !zones.contains(&zone) {
                zones.push(zone);
                order.push(i);
            }
        }
        let rest: Vec<usize> = scored
            .iter()
            .map(|&(_, i)| i)
            .filter(|i| !order.contains(i))
            .collect();
        order.extend(rest);
        order
    }

    /// Stores `bytes` on the first live nodes of its order until `copies` hold it; returns the
    /// names of those nodes. The ledger is not told (see [`BlobStore::put`], which tells it).
    pub async fn put_copies(&self, hash: Sha256, bytes: &Bytes) -> Result<Vec<String>> {
        let order = self.placement(&hash);
        let mut held: Vec<String> = Vec::with_capacity(self.copies);
        let mut failures: Vec<String> = Vec::new();
        let mut next = 0;
        while held.len() < self.copies && next < order.len() {
            let want = (self.copies - held.len()).min(order.len() - next);
            let batch = &order[next..next + want];
            next += want;
            let writes = batch.iter().map(|&i| {
                let node = &self.nodes[i];
                let bytes = bytes.clone();
                async move {
                    let result = tokio::time::timeout(NODE_TIMEOUT, node.store.put(hash, bytes))
                        .await
                        .unwrap_or_else(|_| Err(timed_out()));
                    (node, result)
                }
            });
            for (node, result) in join_all(writes).await {
                match result {
                    Ok(()) => held.push(node.name.clone()),
                    Err(error) => {
                        tracing::warn!(node = %node.name, %hash, %error, "a storage node refused a write");
                        self.ledger()
                            .trouble(hash, node.name.clone(), format!("write failed: {error}"))
                            .await;
                        failures.push(format!("{}: {error}", node.name));
                    }
                }
            }
        }
        if held.len() < self.copies {
            return Err(BlobError::Unavailable(format!(
                "only {} of {} copies of a chunk could be stored ({})",
                held.len(),
                self.copies,
                failures.join("; ")
            )));
        }
        Ok(held)
    }

    /// Reads the copy on one node and checks it: `Ok(None)` when it is missing, or was corrupt
    /// and has been set aside (the ledger is told either way); `Err` when the node did not answer.
    pub async fn read_node(&self, index: usize, hash: Sha256) -> Result<Option<Bytes>> {
        let node = &self.nodes[index];
        let read = tokio::time::timeout(NODE_TIMEOUT, node.store.get(hash))
            .await
            .unwrap_or_else(|_| Err(timed_out()));
        match read {
            Ok(bytes) if hash_of(&bytes).await == hash => Ok(Some(bytes)),
            Ok(bytes) => {
                let detail = format!("{} bytes that do not hash to the chunk", bytes.len());
                tracing::warn!(node = %node.name, %hash, "corrupt copy set aside");
                let aside = node.store.quarantine(hash).await;
                let detail = match aside {
                    Ok(_) => detail,
                    Err(error) => format!("{detail}; setting it aside failed: {error}"),
                };
                self.ledger()
                    .lost(hash, node.name.clone(), CopyEvent::Corrupt, detail)
                    .await;
                Ok(None)
            }
            Err(BlobError::Missing(_)) => {
                self.ledger()
                    .lost(hash, node.name.clone(), CopyEvent::Missing, String::new())
                    .await;
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }

    /// A good copy of the chunk, trying nodes in its placement order. When the first node did
    /// not give one, a repair is queued so the copy returns where placement wants it.
    pub async fn read_verified(&self, hash: Sha256) -> Result<Bytes> {
        let mut unreachable = None;
        for (position, i) in self.placement(&hash).into_iter().enumerate() {
            match self.read_node(i, hash).await {
                Ok(Some(bytes)) => {
                    if position > 0 {
                        self.ledger()
                            .trouble(hash, self.nodes[i].name.clone(), String::new())
                            .await;
                    }
                    return Ok(bytes);
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(node = %self.nodes[i].name, %hash, %error, "a storage node did not answer a read");
                    unreachable = Some(error);
                }
            }
        }
        Err(unreachable.unwrap_or(BlobError::Missing(hash)))
    }
}

/// The rendezvous score of `node` for `hash`: the first 8 bytes of SHA-256(name, 0, hash).
fn score(node: &str, hash: &Sha256) -> u64 {
    let mut digest = sha2::Sha256::new();
    digest.update(node.as_bytes());
    digest.update([0u8]);
    digest.update(hash.as_bytes());
    let out = digest.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&out[..8]);
    u64::from_be_bytes(first)
}

fn timed_out() -> BlobError {
    BlobError::Io(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "the storage node did not answer in time",
    ))
}

impl BlobStore for ReplicatedStore {
    fn put(&self, hash: Sha256, bytes: Bytes) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let since = SystemTime::now();
            let held = self.put_copies(hash, &bytes).await?;
            self.ledger().stored(hash, held, since).await
        })
    }

    fn refresh(&self, hash: Sha256) -> BoxFuture<'_, Result<bool>> {
        Box::pin(async move {
            let since = SystemTime::now();
            let refreshes = self
                .nodes
                .iter()
                .map(|node| async move { (node, node.store.refresh(hash).await) });
            let mut held = Vec::new();
            for (node, result) in join_all(refreshes).await {
                match result {
                    Ok(true) => held.push(node.name.clone()),
                    Ok(false) => {}
                    Err(error) => {
                        tracing::warn!(node = %node.name, %hash, %error, "a storage node did not answer");
                    }
                }
            }
            if held.is_empty() {
                return Ok(false);
            }
            if held.len() < self.copies {
                self.ledger()
                    .trouble(hash, held[0].clone(), "fewer copies than wanted".into())
                    .await;
            }
            if self.presigns() {
                // Chunks sent straight to the bucket were never put through here.
                self.ledger().stored(hash, held, since).await?;
            }
            Ok(true)
        })
    }

    fn get(&self, hash: Sha256) -> BoxFuture<'_, Result<Bytes>> {
        Box::pin(self.read_verified(hash))
    }

    fn contains(&self, hash: Sha256) -> BoxFuture<'_, Result<bool>> {
        Box::pin(async move {
            for i in self.placement(&hash) {
                if self.nodes[i].store.contains(hash).await.unwrap_or(false) {
                    return Ok(true);
                }
            }
            Ok(false)
        })
    }

    fn delete(&self, hash: Sha256) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            for node in &self.nodes {
                node.store.delete(hash).await?;
            }
            Ok(())
        })
    }

    fn delete_if_stale(&self, hash: Sha256, cutoff: SystemTime) -> BoxFuture<'_, Result<bool>> {
        Box::pin(async move {
            // Each node judges its own copy safely against a racing put (see `local.rs`): a copy
            // that a put refreshed stays, so a chunk a commit is about to name keeps its copies.
            // A node that does not answer keeps its copy for a later run.
            let mut gone = true;
            for node in &self.nodes {
                if !node.store.collects() {
                    gone = false;
                    continue;
                }
                match node.store.delete_if_stale(hash, cutoff).await {
                    Ok(true) => {
                        self.ledger()
                            .lost(hash, node.name.clone(), CopyEvent::Deleted, String::new())
                            .await;
                    }
                    Ok(false) => gone &= !node.store.contains(hash).await.unwrap_or(true),
                    Err(error) => {
                        tracing::warn!(node = %node.name, %hash, %error, "could not collect a copy");
                        gone = false;
                    }
                }
            }
            Ok(gone)
        })
    }

    fn stored_size(&self, hash: Sha256) -> BoxFuture<'_, Result<Option<u64>>> {
        Box::pin(async move {
            for i in self.placement(&hash) {
                if let Some(size) = self.nodes[i].store.stored_size(hash).await? {
                    return Ok(Some(size));
                }
            }
            Ok(None)
        })
    }

    fn presign_put(
        &self,
        hash: Sha256,
        size: u64,
        valid_for: Duration,
    ) -> BoxFuture<'_, Result<Option<PresignedPut>>> {
        Box::pin(async move {
            if !self.presigns() {
                return Ok(None);
            }
            self.nodes[0].store.presign_put(hash, size, valid_for).await
        })
    }

    fn read_ahead(&self) -> usize {
        self.nodes
            .iter()
            .map(|node| node.store.read_ahead())
            .max()
            .unwrap_or(2)
    }

    /// Only a single node that presigns: a client's direct PUT makes one copy, never `copies`.
    fn presigns(&self) -> bool {
        self.nodes.len() == 1 && self.nodes[0].store.presigns()
    }

    fn collects(&self) -> bool {
        self.nodes.iter().any(|node| node.store.collects())
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<Sha256>>> {
        Box::pin(async move {
            // What the reachable nodes hold (the collector sweeps the others another time).
            let mut all = Vec::new();
            for node in &self.nodes {
                match node.store.list().await {
                    Ok(found) => all.extend(found),
                    Err(error) => {
                        tracing::warn!(node = %node.name, %error, "could not list a storage node");
                    }
                }
            }
            all.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            all.dedup();
            Ok(all)
        })
    }

    fn quarantine(&self, hash: Sha256) -> BoxFuture<'_, Result<bool>> {
        Box::pin(async move {
            let mut any = false;
            for node in &self.nodes {
                any |= node.store.quarantine(hash).await?;
            }
            Ok(any)
        })
    }

    /// Ready when at least `copies` nodes are: writes can still be acknowledged.
    fn check(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let checks = self.nodes.iter().map(|node| node.store.check());
            let results = join_all(checks).await;
            let failures: Vec<String> = self
                .nodes
                .iter()
                .zip(&results)
                .filter_map(|(node, r)| r.as_ref().err().map(|e| format!("{}: {e}", node.name)))
                .collect();
            if self.nodes.len() - failures.len() < self.copies {
                return Err(BlobError::Unavailable(failures.join("; ")));
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LocalBlobStore;

    fn nodes(names: &[(&str, Option<&str>)], dir: &std::path::Path) -> Vec<StorageNode> {
        names
            .iter()
            .map(|(name, zone)| StorageNode {
                name: (*name).to_owned(),
                zone: zone.map(str::to_owned),
                store: Arc::new(LocalBlobStore::open(dir.join(name)).unwrap()),
            })
            .collect()
    }

    fn hash(n: u32) -> Sha256 {
        Sha256::from_bytes(sha2::Sha256::digest(n.to_be_bytes()).into())
    }

    #[test]
    fn placement_is_stable_spread_and_zone_aware() {
        let dir = tempfile::tempdir().unwrap();
        let three = ReplicatedStore::new(
            nodes(&[("a", None), ("b", None), ("c", None)], dir.path()),
            2,
        )
        .unwrap();
        let mut firsts = [0usize; 3];
        for n in 0..3000 {
            let order = three.placement(&hash(n));
            assert_eq!(order.len(), 3);
            assert_eq!(order, three.placement(&hash(n)), "deterministic");
            firsts[order[0]] += 1;
        }
        assert!(firsts.iter().all(|&f| f > 800), "spread: {firsts:?}");
        // Adding a node moves only chunks that now prefer it.
        let four = ReplicatedStore::new(
            nodes(
                &[("a", None), ("b", None), ("c", None), ("d", None)],
                dir.path(),
            ),
            2,
        )
        .unwrap();
        for n in 0..500 {
            let old = three.placement(&hash(n));
            let new: Vec<usize> = four
                .placement(&hash(n))
                .into_iter()
                .filter(|&i| i != 3)
                .collect();
            assert_eq!(old, new);
        }
        let zoned = ReplicatedStore::new(
            nodes(
                &[("a", Some("x")), ("b", Some("x")), ("c", Some("y"))],
                dir.path(),
            ),
            2,
        )
        .unwrap();
        for n in 0..200 {
            let order = zoned.placement(&hash(n));
            let zones: Vec<_> = order[..2]
                .iter()
                .map(|&i| zoned.nodes()[i].zone.clone())
                .collect();
            assert_ne!(zones[0], zones[1], "the first two copies are in two zones");
        }
    }

    #[test]
    fn bad_settings_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(ReplicatedStore::new(nodes(&[("a", None)], dir.path()), 2).is_err());
        assert!(ReplicatedStore::new(nodes(&[("a", None)], dir.path()), 0).is_err());
        assert!(ReplicatedStore::new(nodes(&[("a", None), ("a", None)], dir.path()), 1).is_err());
    }
}
