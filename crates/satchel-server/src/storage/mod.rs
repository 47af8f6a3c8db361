//! Durability of the chunks on the storage nodes: checking (`fsck.rs`), repairing and scrubbing
//! (`repair.rs`), the ledger the replicated store records copies in (`ledger.rs`), and the admin
//! API's storage log (`log.rs`).
//!
//! Invariants:
//! - repair works from what versions reference (`Store::referenced_chunks`), never from what a
//!   node happens to hold: deleted data is never brought back, and an object nobody references is
//!   only ever counted as an orphan (the collector removes it after its grace period);
//! - a copy is only counted healthy when its node lists it with the right size (and, in deep
//!   passes, its bytes hash to the chunk); a node that cannot be listed counts as holding nothing,
//!   but its records are kept, since it may come back;
//! - a damaged copy is set aside on its node (quarantine), never deleted.

pub mod fsck;
pub mod ledger;
pub mod log;
pub mod repair;

use std::collections::HashMap;

use satchel_blob::ReplicatedStore;
use satchel_proto::Sha256;

/// What one presence pass saw: per node (in configuration order) the objects it holds with their
/// sizes, or the error that kept it from being listed.
pub struct Inventory {
    pub nodes: Vec<Result<HashMap<Sha256, u64>, String>>,
}

/// How one node's copy of a chunk looks from its listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// Listed with the chunk's size.
    Present,
    /// Listed with another size: damaged.
    WrongSize,
    Absent,
    /// The node could not be listed.
    Unknown,
}

impl Inventory {
    /// Lists every node.
    pub async fn take(storage: &ReplicatedStore) -> Inventory {
        let listings = storage.nodes().iter().map(|node| async move {
            match node.store.inventory().await {
                Ok(found) => Ok(found.into_iter().collect::<HashMap<_, _>>()),
                Err(error) => Err(error.to_string()),
            }
        });
        Inventory {
            nodes: futures_util::future::join_all(listings).await,
        }
    }

    /// Where node `index` stands on the chunk `hash` of `size` bytes.
    pub fn presence(&self, index: usize, hash: &Sha256, size: u64) -> Presence {
        match &self.nodes[index] {
            Err(_) => Presence::Unknown,
            Ok(found) => match found.get(hash) {
                Some(&stored) if stored == size => Presence::Present,
                Some(_) => Presence::WrongSize,
                None => Presence::Absent,
            },
        }
    }
}

/// Per node, the chunk's presence found by asking the node directly (no listing).
pub async fn probe(storage: &ReplicatedStore, hash: Sha256, size: u64) -> Vec<Presence> {
    let probes = storage.nodes().iter().map(|node| async move {
        match node.store.stored_size(hash).await {
            Ok(Some(stored)) if stored == size => Presence::Present,
            Ok(Some(_)) => Presence::WrongSize,
            Ok(None) => Presence::Absent,
            Err(_) => Presence::Unknown,
        }
    });
    futures_util::future::join_all(probes).await
}
