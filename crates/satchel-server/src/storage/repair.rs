//! Repair and scrub: every chunk a version references back to `copies` healthy copies, where its
//! placement wants them, from a copy whose bytes hash right.
//!
//! - A **presence pass** lists every node: records of copies a node no longer holds are forgotten,
//!   copies a node holds that were never recorded (an installation from before the record, a
//!   write whose record a crash lost) are taken in, copies of the wrong size are set aside.
//! - Chunks in the **repair queue** (a read found a bad copy, fsck `--deep` did) have every copy
//!   read and hashed; bad ones are set aside.
//! - Then any chunk short of copies gets new ones on the first reachable nodes of its order that
//!   lack it. Failures stay queued with a growing delay and their error, for the operator.
//! - A **deep pass** reads and hashes every copy of a slice of the chunks each run, resuming where
//!   the last run stopped, so that every copy is verified once per `scrub_interval_days`.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use chrono::Utc;
use satchel_blob::CopyEvent;
use satchel_meta::{NodeScrub, ReferencedChunk};
use satchel_proto::Sha256;
use serde::Serialize;

use super::{Inventory, Presence, probe};
use crate::error::ApiError;
use crate::state::AppState;

/// Chunks read from the database at a time.
const PAGE: u32 = 1000;

/// What a repair did. A contract: scripts read these fields.
#[derive(Debug, Default, Clone, Serialize)]
pub struct RepairReport {
    pub chunks_checked: u64,
    pub copies_written: u64,
    pub copies_quarantined: u64,
    /// Copies found on nodes that the record lacked, now recorded.
    pub copies_adopted: u64,
    /// Records of copies their node no longer holds, now forgotten.
    pub copies_forgotten: u64,
    pub chunks_lost: u64,
    /// Chunks still short of copies after this run (a node down, a write refused).
    pub chunks_under_replicated: u64,
    pub errors: Vec<String>,
}

impl RepairReport {
    /// Whether anything is left to repair (the command exits 1 then).
    pub fn problems(&self) -> bool {
        self.chunks_lost > 0 || self.chunks_under_replicated > 0
    }
}

/// Repairs every referenced chunk after a presence pass over every node.
pub async fn repair_all(state: &AppState) -> Result<RepairReport, ApiError> {
    let inventory = Inventory::take(&state.storage).await;
    let queued: HashSet<Sha256> = state
        .store
        .repair_queue()
        .await?
        .into_iter()
        .map(|item| item.sha256)
        .collect();
    let mut report = RepairReport::default();
    let mut after: Option<Sha256> = None;
    loop {
        let page = state.store.referenced_chunks(after.as_ref(), PAGE).await?;
        if let (Some(first), Some(last)) = (page.first(), page.last()) {
            let recorded = state
                .store
                .copies_between(&first.sha256, &last.sha256)
                .await?;
            for chunk in &page {
                let presence: Vec<Presence> = (0..state.storage.nodes().len())
                    .map(|i| inventory.presence(i, &chunk.sha256, chunk.size))
                    .collect();
                let records = recorded.get(&chunk.sha256).cloned().unwrap_or_default();
                let deep = queued.contains(&chunk.sha256);
                repair_chunk(state, chunk, presence, &records, deep, &mut report).await?;
            }
        }
        match page.last() {
            Some(last) if page.len() == PAGE as usize => after = Some(last.sha256),
            _ => break,
        }
    }
    // Queued chunks nothing references any more need no repair.
    for hash in queued {
        if state.store.chunk_referenced(&hash).await?.is_none() {
            state.store.repair_done(&hash).await?;
        }
    }
    let now = Utc::now();
    let scrubs = state.store.node_scrubs().await?;
    for (node, listing) in state.storage.nodes().iter().zip(&inventory.nodes) {
        if listing.is_ok() {
            let mut scrub = scrubs.get(&node.name).cloned().unwrap_or_default();
            scrub.last_presence_at = Some(now);
            state.store.save_node_scrub(&node.name, &scrub).await?;
        }
    }
    Ok(report)
}

/// Repairs the chunks whose turn in the queue has come, probing each node for them.
pub async fn repair_queued(state: &AppState) -> Result<RepairReport, ApiError> {
    let mut report = RepairReport::default();
    let due = state.store.due_repairs(Utc::now(), 500).await?;
    for hash in due {
        let Some(size) = state.store.chunk_referenced(&hash).await? else {
            state.store.repair_done(&hash).await?;
            continue;
        };
        let chunk = ReferencedChunk { sha256: hash, size };
        let presence = probe(&state.storage, hash, size).await;
        let records: Vec<String> = state
            .store
            .copies_of(&hash)
            .await?
            .into_iter()
            .map(|record| record.node)
            .collect();
        repair_chunk(state, &chunk, presence, &records, true, &mut report).await?;
    }
    Ok(report)
}

/// Brings one chunk to `copies` healthy copies; `deep` reads and hashes every copy first.
async fn repair_chunk(
    state: &AppState,
    chunk: &ReferencedChunk,
    presence: Vec<Presence>,
    records: &[String],
    deep: bool,
    report: &mut RepairReport,
) -> Result<(), ApiError> {
    let storage = &state.storage;
    let hash = chunk.sha256;
    report.chunks_checked += 1;
    let mut healthy: Vec<usize> = Vec::new();
    let mut found = Vec::new();
    for (index, presence) in presence.iter().enumerate() {
        let node = &storage.nodes()[index];
        let recorded = records.contains(&node.name);
        match presence {
            Presence::Present => {
                if deep {
                    match storage.read_node(index, hash).await {
                        Ok(Some(_)) => {}
                        Ok(None) => {
                            // Set aside (or gone meanwhile), and told to the ledger by the read.
                            report.copies_quarantined += 1;
                            continue;
                        }
                        Err(_) => continue,
                    }
                }
                if !recorded {
                    found.push(node.name.clone());
                }
                healthy.push(index);
            }
            Presence::WrongSize => {
                node.store.quarantine(hash).await?;
                state
                    .store
                    .forget_copy(&hash, &node.name, CopyEvent::Corrupt.as_str(), "wrong size")
                    .await?;
                report.copies_quarantined += 1;
            }
            Presence::Absent if recorded => {
                state
                    .store
                    .forget_copy(&hash, &node.name, CopyEvent::Missing.as_str(), "")
                    .await?;
                report.copies_forgotten += 1;
            }
            Presence::Absent | Presence::Unknown => {}
        }
    }
    if !found.is_empty() {
        report.copies_adopted += found.len() as u64;
        let event = CopyEvent::Found.as_str();
        state
            .store
            .record_copies(&hash, &found, Utc::now(), event)
            .await?;
    }
    let wanted = storage.copies();
    // Copies written elsewhere while a preferred node was down go back to it once it answers
    // (the other copy stays: surplus copies cost space, never data, and go with the chunk).
    let misplaced = storage.placement(&hash)[..wanted]
        .iter()
        .any(|i| !healthy.contains(i) && presence[*i] != Presence::Unknown);
    if healthy.len() >= wanted && !misplaced {
        state.store.repair_done(&hash).await?;
        return Ok(());
    }
    if healthy.is_empty() {
        report.chunks_lost += 1;
        let error = format!("chunk {hash} is lost: no node holds a good copy");
        retry_later(state, &hash, &error).await?;
        report.errors.push(error);
        return Ok(());
    }
    match fill(state, chunk, &presence, &healthy).await {
        Ok(written) => {
            report.copies_written += written as u64;
            if healthy.len() + written >= wanted {
                state.store.repair_done(&hash).await?;
            } else {
                report.chunks_under_replicated += 1;
                let error = format!(
                    "chunk {hash} has {} of {wanted} copies: too few nodes took one",
                    healthy.len() + written
                );
                retry_later(state, &hash, &error).await?;
                report.errors.push(error);
            }
        }
        Err(error) => {
            report.chunks_under_replicated += 1;
            let error = format!("chunk {hash}: {error}");
            retry_later(state, &hash, &error).await?;
            report.errors.push(error);
        }
    }
    Ok(())
}

/// Copies the chunk from a good copy onto the first nodes of its order that lack it, until it
/// has `copies`; returns how many copies were written.
async fn fill(
    state: &AppState,
    chunk: &ReferencedChunk,
    presence: &[Presence],
    healthy: &[usize],
) -> Result<usize, String> {
    let storage = &state.storage;
    let hash = chunk.sha256;
    let mut source = None;
    for &index in healthy {
        if let Ok(Some(bytes)) = storage.read_node(index, hash).await {
            source = Some(bytes);
            break;
        }
    }
    let bytes = source.ok_or("no copy could be read back intact")?;
    let mut have = healthy.len();
    let mut written = 0;
    for (position, index) in storage.placement(&hash).into_iter().enumerate() {
        let preferred = position < storage.copies();
        if have >= storage.copies() && !preferred {
            break;
        }
        if healthy.contains(&index) || presence[index] == Presence::Unknown {
            continue;
        }
        let node = &storage.nodes()[index];
        match node.store.put(hash, bytes.clone()).await {
            Ok(()) => {
                let event = CopyEvent::Repaired.as_str();
                let names = [node.name.clone()];
                state
                    .store
                    .record_copies(&hash, &names, Utc::now(), event)
                    .await
                    .map_err(|e| e.to_string())?;
                have += 1;
                written += 1;
            }
            Err(error) => {
                let _ = state
                    .store
                    .log_storage(&node.name, Some(&hash), "unreachable", &error.to_string())
                    .await;
            }
        }
    }
    Ok(written)
}

/// Keeps the chunk queued with a delay that doubles with each failed attempt (up to a day).
async fn retry_later(state: &AppState, hash: &Sha256, error: &str) -> Result<(), ApiError> {
    let attempts = state
        .store
        .repair_queue()
        .await?
        .iter()
        .find(|item| item.sha256 == *hash)
        .map_or(0, |item| item.attempts);
    let delay = Duration::from_secs(60 << attempts.min(10)).min(Duration::from_secs(86_400));
    let next = Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
    state.store.repair_failed(hash, error, next).await?;
    Ok(())
}

/// One slice of the deep pass: reads and hashes every copy of the next chunks in hash order,
/// taking about `share` of the time it runs (it sleeps the rest). Returns how many copies it
/// verified; records the cursor, and the pass's end, per node.
pub async fn deep_slice(state: &AppState, chunks: u32, share: f64) -> Result<u64, ApiError> {
    let storage = &state.storage;
    let scrubs = state.store.node_scrubs().await?;
    let cursor = storage
        .nodes()
        .iter()
        .filter_map(|node| scrubs.get(&node.name).and_then(|s| s.deep_cursor))
        .min_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    let slice = state
        .store
        .referenced_chunks(cursor.as_ref(), chunks)
        .await?;
    let mut verified = 0;
    for chunk in &slice {
        for (index, node) in storage.nodes().iter().enumerate() {
            let started = Instant::now();
            match node.store.stored_size(chunk.sha256).await {
                Ok(Some(_)) => {}
                _ => continue,
            }
            if let Ok(Some(_)) = storage.read_node(index, chunk.sha256).await {
                state.store.mark_verified(&chunk.sha256, &node.name).await?;
                verified += 1;
            }
            if share > 0.0 && share < 1.0 {
                let pause = started.elapsed().mul_f64((1.0 - share) / share);
                tokio::time::sleep(pause.min(Duration::from_secs(5))).await;
            }
        }
    }
    let finished = slice.len() < chunks as usize;
    let now = Utc::now();
    for node in storage.nodes() {
        let mut scrub: NodeScrub = scrubs.get(&node.name).cloned().unwrap_or_default();
        if finished {
            scrub.deep_cursor = None;
            scrub.last_deep_at = Some(now);
        } else {
            scrub.deep_cursor = slice.last().map(|chunk| chunk.sha256);
        }
        state.store.save_node_scrub(&node.name, &scrub).await?;
    }
    Ok(verified)
}
