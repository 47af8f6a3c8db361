//! `satchel admin fsck`: reconciles the metadata with the storage nodes.
//!
//! It changes nothing but the repair queue and the storage log: a copy that `--deep` finds
//! corrupt is logged and queued, and `satchel admin repair` (or the repair worker) sets it aside
//! and replaces it.

use std::collections::HashSet;

use satchel_meta::ChunkUser;
use satchel_proto::Sha256;
use serde::Serialize;

use super::{Inventory, Presence};
use crate::error::ApiError;
use crate::state::AppState;

/// Chunks read from the database at a time.
const PAGE: u32 = 1000;

/// What fsck found. A contract: scripts read these fields.
#[derive(Debug, Default, Clone, Serialize)]
pub struct FsckReport {
    /// Chunks versions reference whose bytes are on the nodes (small files live in the database).
    pub chunks: u64,
    pub copies_expected: u64,
    /// Healthy copies, counting at most `copies` per chunk.
    pub copies_found: u64,
    pub copies_missing: u64,
    pub copies_corrupt: u64,
    pub chunks_under_replicated: u64,
    pub chunks_lost: u64,
    /// Objects on the nodes that no metadata names (the collector removes them after its grace).
    pub orphan_objects: u64,
    pub metadata_errors: Vec<String>,
    /// Every file version with a lost chunk.
    pub files_affected: Vec<ChunkUser>,
    /// Nodes that could not be listed, with why.
    pub nodes_unreachable: Vec<String>,
    pub deep: bool,
}

impl FsckReport {
    /// Whether anything is wrong (the command exits 1 then).
    pub fn problems(&self) -> bool {
        self.copies_missing > 0
            || self.copies_corrupt > 0
            || self.chunks_lost > 0
            || !self.metadata_errors.is_empty()
    }
}

/// Checks every referenced chunk's copies (with `deep`, reading and hashing each one), the
/// metadata's own consistency, and counts orphans.
pub async fn fsck(state: &AppState, deep: bool) -> Result<FsckReport, ApiError> {
    let storage = &state.storage;
    let inventory = Inventory::take(storage).await;
    let mut report = FsckReport {
        deep,
        ..FsckReport::default()
    };
    for (node, listing) in storage.nodes().iter().zip(&inventory.nodes) {
        if let Err(error) = listing {
            report
                .nodes_unreachable
                .push(format!("{}: {error}", node.name));
        }
    }
    let copies = storage.copies() as u64;
    let mut lost: Vec<Sha256> = Vec::new();
    let mut after: Option<Sha256> = None;
    loop {
        let page = state.store.referenced_chunks(after.as_ref(), PAGE).await?;
        for chunk in &page {
            report.chunks += 1;
            report.copies_expected += copies;
            let mut healthy = 0u64;
            for index in 0..storage.nodes().len() {
                match inventory.presence(index, &chunk.sha256, chunk.size) {
                    Presence::Present if deep => {
                        if verify(state, index, chunk.sha256).await {
                            healthy += 1;
                        } else {
                            report.copies_corrupt += 1;
                        }
                    }
                    Presence::Present => healthy += 1,
                    Presence::WrongSize => {
                        report.copies_corrupt += 1;
                        queue(state, index, chunk.sha256, "listed with the wrong size").await?;
                    }
                    Presence::Absent | Presence::Unknown => {}
                }
            }
            report.copies_found += healthy.min(copies);
            report.copies_missing += copies - healthy.min(copies);
            if healthy == 0 {
                report.chunks_lost += 1;
                lost.push(chunk.sha256);
            } else if healthy < copies {
                report.chunks_under_replicated += 1;
            }
        }
        match page.last() {
            Some(last) if page.len() == PAGE as usize => after = Some(last.sha256),
            _ => break,
        }
    }
    let known = state.store.known_chunks().await?;
    let mut orphans: HashSet<(usize, Sha256)> = HashSet::new();
    for (index, listing) in inventory.nodes.iter().enumerate() {
        if let Ok(found) = listing {
            orphans.extend(
                found
                    .keys()
                    .filter(|hash| !known.contains(*hash))
                    .map(|hash| (index, *hash)),
            );
        }
    }
    report.orphan_objects = orphans.len() as u64;
    report.metadata_errors = state.store.metadata_errors().await?;
    report.files_affected = state.store.chunk_users(&lost).await?;
    Ok(report)
}

/// Reads node `index`'s copy and hashes it, without setting anything aside; a bad copy is
/// logged and queued for repair.
async fn verify(state: &AppState, index: usize, hash: Sha256) -> bool {
    let node = &state.storage.nodes()[index];
    match node.store.get(hash).await {
        Ok(bytes) if satchel_blob::hash_of(&bytes).await == hash => true,
        Ok(_) => {
            let _ = queue(state, index, hash, "found by a deep check").await;
            false
        }
        Err(_) => false,
    }
}

async fn queue(state: &AppState, index: usize, hash: Sha256, why: &str) -> Result<(), ApiError> {
    let node = &state.storage.nodes()[index].name;
    state
        .store
        .queue_repair(&hash, node, "corrupt", why)
        .await?;
    Ok(())
}
