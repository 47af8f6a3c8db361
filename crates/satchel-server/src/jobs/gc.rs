//! Garbage collection of chunks and expiry of upload sessions.
//!
//! A chunk goes when nothing references it (no version, no received chunk of an open upload
//! session) *and* nobody has stored it within the grace period: uploads in flight store their chunks
//! before their metadata names them, and storing an existing chunk refreshes it. A run:
//! 1. expires upload sessions past their time (their chunks lose that reference), and forgets
//!    expired signed download URLs (one that comes back still answers `410 url_expired`);
//! 2. removes unreferenced chunks known to the metadata (stale blob first, then the row; a small
//!    chunk kept in the database is simply forgotten);
//! 3. sweeps the blob store for chunks no metadata names at all (left by failed uploads);
//! 4. forgets journal entries older than the retention (`journal_retention_days`);
//! 5. refreshes the database planner's statistics (`ANALYZE`).

use std::time::{Duration, SystemTime};

use chrono::Utc;

use super::Worker;
use crate::config::ServerConfig;
use crate::error::ApiError;
use crate::state::AppState;

/// What one collection did.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct GcReport {
    pub expired_uploads: u64,
    pub expired_download_urls: u64,
    pub expired_zip_urls: u64,
    /// Thumbnails of content no version holds any more.
    pub thumbnails_forgotten: u64,
    pub chunks_removed: u64,
    pub bytes_freed: u64,
    pub orphans_removed: u64,
    pub journal_entries_pruned: u64,
}

/// Runs one collection now.
pub async fn collect(state: &AppState) -> Result<GcReport, ApiError> {
    let now = Utc::now();
    let grace = Duration::from_secs(state.config.gc_grace_secs);
    let cutoff = SystemTime::now() - grace;
    let db_cutoff = now - chrono::Duration::seconds(state.config.gc_grace_secs as i64);
    let mut report = GcReport {
        expired_uploads: state.store.expire_uploads(now).await?,
        expired_download_urls: state.store.forget_expired_download_urls(now).await?,
        expired_zip_urls: state.store.forget_expired_zip_urls(now).await?,
        ..Default::default()
    };
    loop {
        let batch = state.store.garbage(db_cutoff, 500).await?;
        let mut progressed = false;
        for garbage in &batch {
            if !garbage.inline && !state.blobs.delete_if_stale(garbage.sha256, cutoff).await? {
                continue; // stored again recently: an upload may be about to reference it
            }
            if state.store.forget_chunk(&garbage.sha256).await? {
                report.chunks_removed += 1;
                report.bytes_freed += garbage.size;
                progressed = true;
            }
        }
        if batch.len() < 500 || !progressed {
            break;
        }
    }
    report.thumbnails_forgotten = state.store.forget_orphan_thumbnails().await?;
    // The planner's statistics follow the data (PostgreSQL's autovacuum may be off or behind).
    state.store.refresh_statistics().await?;
    if !state.blobs.collects() {
        return Ok(report); // a bucket keeps its chunks for now (see satchel-blob's s3.rs)
    }
    for hash in state.blobs.list().await? {
        if !state.store.chunk_known(&hash).await?
            && state.blobs.delete_if_stale(hash, cutoff).await?
        {
            report.orphans_removed += 1;
        }
    }
    Ok(report)
}

/// The periodic collector.
pub struct Collector;

impl Worker for Collector {
    fn name(&self) -> &'static str {
        "gc"
    }

    fn interval(&self, config: &ServerConfig) -> Duration {
        Duration::from_secs(config.gc_interval_secs.max(1))
    }

    fn run<'a>(
        &'a self,
        state: &'a AppState,
    ) -> satchel_blob::BoxFuture<'a, Result<String, ApiError>> {
        Box::pin(async move {
            let report = collect(state).await?;
            Ok(format!(
                "expired {} upload sessions, removed {} chunks ({} bytes) and {} orphans, pruned {} \
                 journal entries",
                report.expired_uploads,
                report.chunks_removed,
                report.bytes_freed,
                report.orphans_removed,
                report.journal_entries_pruned
            ))
        })
    }
}
