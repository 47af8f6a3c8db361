//! The whole-file SHA-256 of a chunked upload is computed here, never taken from the client: a
//! node's advertised hash (its `sha256` and its download `ETag`) is always the hash of its bytes.
//!
//! Hashing a large file at its commit would make the commit O(size). Instead each chunk that
//! arrives in order is hashed into the session's running SHA-256 while its bytes are still in hand
//! (`Verifier::offer`); a chunk that arrives early is remembered and read back once the ones
//! before it are in. The commit (`Verifier::finish`) only hashes what was not covered that way:
//! chunks the user already owned (deduplicated, so never sent), chunks sent to the bucket through
//! presigned URLs, or everything when the session began on another server or before a restart.
//! So a fresh upload sent through one server commits in O(chunks); a re-upload of an edited large
//! file pays one read of the chunks it did not send.
//!
//! The running state lives in this process only (bounded: at most `MAX_TRACKED` sessions, the one
//! idle longest giving way to a new one); losing it costs time at the commit, never correctness.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use satchel_meta::PlacedChunk;
use satchel_proto::Sha256;
use sha2::Digest;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::files::content::{read_chunk, try_read_chunk};
use crate::state::AppState;

/// Sessions whose running hash is kept at once.
const MAX_TRACKED: usize = 4096;

/// Running whole-file hashes of the open sessions this server receives chunks for.
#[derive(Default)]
pub struct Verifier {
    sessions: Mutex<HashMap<Uuid, Tracked>>,
}

/// A session's running hash and when a chunk of it last arrived.
struct Tracked {
    touched: Instant,
    progress: Arc<tokio::sync::Mutex<Progress>>,
}

/// How far a session's running hash has got.
#[derive(Default)]
struct Progress {
    /// The index of the next chunk to hash.
    next: u64,
    hasher: sha2::Sha256,
    /// Chunks received ahead of `next`, by index: read back when their turn comes.
    ahead: BTreeMap<u64, PlacedChunk>,
    /// Set if hashing failed half-way: the commit then starts over.
    lost: bool,
}

impl Verifier {
    /// The running hash of session `id`; with `create`, a new one if there is none (when full,
    /// the session that went longest without a chunk — most likely abandoned — makes room).
    fn progress(&self, id: Uuid, create: bool) -> Option<Arc<tokio::sync::Mutex<Progress>>> {
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tracked) = sessions.get_mut(&id) {
            tracked.touched = Instant::now();
            return Some(tracked.progress.clone());
        }
        if !create {
            return None;
        }
        if sessions.len() >= MAX_TRACKED
            && let Some(stalest) = sessions
                .iter()
                .min_by_key(|(_, t)| t.touched)
                .map(|(id, _)| *id)
        {
            sessions.remove(&stalest);
        }
        let progress = Arc::new(tokio::sync::Mutex::new(Progress::default()));
        let touched = Instant::now();
        sessions.insert(
            id,
            Tracked {
                touched,
                progress: progress.clone(),
            },
        );
        Some(progress)
    }

    /// Forgets a session (committed or abandoned).
    pub fn forget(&self, id: Uuid) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.remove(&id);
    }

    /// Takes chunk `chunk` of session `id`, just stored and verified, with its bytes: hashed now if
    /// it is next, else remembered. Never fails the chunk: the commit re-reads what is not covered.
    pub async fn offer(&self, state: &AppState, id: Uuid, chunk: PlacedChunk, bytes: Bytes) {
        let Some(progress) = self.progress(id, true) else {
            return;
        };
        // Never wait for the running hash while holding the chunk's bytes (leased from the transfer
        // budget): whoever holds it may be waiting for room. Busy, it is read back later instead.
        let mut progress = match progress.try_lock() {
            Ok(progress) => {
                let mut progress = progress;
                if chunk.index == progress.next {
                    progress.hash(bytes).await;
                } else if chunk.index > progress.next {
                    progress.ahead.insert(chunk.index, chunk);
                }
                progress
            }
            Err(_) => {
                drop(bytes);
                let mut progress = progress.lock().await;
                if chunk.index >= progress.next {
                    progress.ahead.insert(chunk.index, chunk);
                }
                progress
            }
        };
        // Chunks that arrived early (a client sends several at once) follow from the store, while
        // the transfer budget has room for them; what is left is read at the commit.
        loop {
            let next = progress.next;
            let Some(early) = progress.ahead.remove(&next) else {
                return;
            };
            match try_read_chunk(state, &early).await {
                Some(Ok(bytes)) => progress.hash(bytes).await,
                _ => {
                    progress.ahead.insert(early.index, early);
                    return;
                }
            }
        }
    }

    /// The SHA-256 of the file made of `chunks` (the session's whole list, in order): the running
    /// hash continued over whatever it has not covered, read from the stores.
    pub async fn finish(
        &self,
        state: &AppState,
        id: Uuid,
        chunks: &[PlacedChunk],
    ) -> ApiResult<Sha256> {
        let progress = self.progress(id, false);
        let mut fresh = Progress::default();
        let mut guard = match &progress {
            Some(progress) => Some(progress.lock().await),
            None => None,
        };
        let progress = match guard.as_deref_mut() {
            Some(progress) if !progress.lost => progress,
            _ => &mut fresh,
        };
        for chunk in chunks
            .iter()
            .skip(usize::try_from(progress.next).unwrap_or(usize::MAX))
        {
            let bytes = read_chunk(state, chunk).await.map_err(ApiError::internal)?;
            if Sha256::from_bytes(sha2::Sha256::digest(&bytes).into()) != chunk.sha256 {
                return Err(ApiError::internal(format!(
                    "stored chunk {} does not hash to its name",
                    chunk.sha256
                )));
            }
            progress.hash(bytes).await;
        }
        Ok(Sha256::from_bytes(
            progress.hasher.clone().finalize().into(),
        ))
    }
}

impl Progress {
    /// Adds the next chunk's bytes (off the async threads: 4 MiB take a few milliseconds).
    async fn hash(&mut self, bytes: Bytes) {
        let mut hasher = std::mem::take(&mut self.hasher);
        let hashed = tokio::task::spawn_blocking(move || {
            hasher.update(&bytes);
            hasher
        })
        .await;
        match hashed {
            Ok(hasher) => {
                self.hasher = hasher;
                self.next += 1;
            }
            Err(_) => self.lost = true,
        }
    }
}
