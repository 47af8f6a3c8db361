//! Streaming an upload body into the chunk store.
//!
//! Bytes are cut into content-defined chunks as they arrive (at most one maximal chunk is buffered),
//! the whole-file SHA-256 is computed on the way, and each chunk is hashed and written durably in the
//! background while the next one is read, with at most [`WRITES_IN_FLIGHT`] writes outstanding. The
//! caller gets the ordered chunk list only when every chunk is durable; it then commits metadata.
//! A body of one small chunk is not written here at all: it is committed with its version, inside
//! the metadata transaction (see `satchel_meta::MAX_INLINE_CHUNK`).

use std::sync::Arc;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use satchel_blob::{BlobStore, MAX_CHUNK, cut_point};
use satchel_meta::{MAX_INLINE_CHUNK, NewContent};
use satchel_proto::{ChunkSpec, ProblemCode, Sha256};
use sha2::Digest;
use tokio::task::JoinSet;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Chunk writes allowed to run while the body is still being read (when the budget has room).
const WRITES_IN_FLIGHT: usize = 2;

/// What the client promised about the body.
#[derive(Debug, Clone, Copy, Default)]
pub struct Expectations {
    /// `Content-Length`, when sent.
    pub length: Option<u64>,
    /// `X-Content-SHA256`, when sent.
    pub sha256: Option<Sha256>,
    /// Most bytes the owner's quota still allows.
    pub room: Option<u64>,
    /// Most bytes the body can have when its exact length is not known (a form's file part: the
    /// whole form's `Content-Length`); sizes the buffer only.
    pub at_most: Option<u64>,
}

/// A body stored as chunks — or, if small, held to be stored with its version.
#[derive(Debug, Clone)]
pub struct Ingested {
    pub size: u64,
    pub sha256: Sha256,
    pub chunks: Vec<ChunkSpec>,
    /// The whole body, when it is one chunk of at most [`MAX_INLINE_CHUNK`] bytes.
    pub inline: Option<Vec<u8>>,
}

impl Ingested {
    /// The content to commit, with its media type.
    pub fn into_content(self, mime: Option<String>) -> NewContent {
        NewContent {
            size: self.size,
            sha256: self.sha256,
            mime,
            chunks: self.chunks,
            inline: self.inline,
            modified_at: None,
        }
    }
}

/// Reads `body` to its end, storing it as chunks, and checks it against `expect`.
///
/// Memory: a body known to fit in one chunk is read into a buffer of its size; any other into a
/// buffer of one maximal chunk, with room for one chunk being written while the next is read (two
/// when the server's transfer budget has room to spare). That room is leased from the budget before
/// the first byte is read and covers everything this upload holds (see `budget.rs`).
pub async fn ingest<S, E>(state: &AppState, body: S, expect: Expectations) -> ApiResult<Ingested>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    if let (Some(length), Some(room)) = (expect.length, expect.room)
        && length > room
    {
        return Err(quota_error(room));
    }
    let (capacity, writes_allowed, _room) = match expect.length.or(expect.at_most) {
        Some(bound) if bound <= MAX_CHUNK as u64 => {
            let bound = bound as usize;
            (bound, 1, (state.transfers.lease(bound).await, None))
        }
        _ => {
            let room = state.transfers.lease(2 * MAX_CHUNK).await;
            let more = state.transfers.try_lease(MAX_CHUNK);
            let writes = if more.is_some() { WRITES_IN_FLIGHT } else { 1 };
            (MAX_CHUNK, writes, (room, more))
        }
    };
    let blobs = &state.blobs;
    let mut body = body;
    let mut whole = sha2::Sha256::new();
    // A Vec of fixed capacity: it is never filled past `capacity`, so it never reallocates.
    let mut buffer: Vec<u8> = Vec::with_capacity(capacity);
    let mut writes: JoinSet<ApiResult<(usize, ChunkSpec)>> = JoinSet::new();
    let mut chunks: Vec<Option<ChunkSpec>> = Vec::new();
    let mut size = 0u64;
    while let Some(frame) = body.next().await {
        let frame = frame.map_err(crate::error::body_error)?;
        size += frame.len() as u64;
        if expect.room.is_some_and(|room| size > room) {
            return Err(quota_error(expect.room.unwrap_or(0)));
        }
        whole.update(&frame);
        let mut rest = &frame[..];
        while !rest.is_empty() {
            if buffer.len() == capacity {
                if capacity < MAX_CHUNK {
                    return Err(longer_than_declared());
                }
                // A full buffer always has its first chunk decided.
                let cut = cut_point(&buffer, false).unwrap_or(capacity);
                while writes.len() >= writes_allowed {
                    collect(&mut writes, &mut chunks).await?;
                }
                let chunk = Bytes::copy_from_slice(&buffer[..cut]);
                buffer.drain(..cut);
                spawn_store(&mut writes, &mut chunks, blobs, chunk);
                continue;
            }
            let take = (capacity - buffer.len()).min(rest.len());
            buffer.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
        }
    }
    let inline = chunks.is_empty() && !buffer.is_empty() && buffer.len() <= MAX_INLINE_CHUNK;
    let mut tail = Bytes::new();
    if !inline {
        // The rest is cut in place: no more reading, so the buffer itself is what gets written.
        tail = Bytes::from(std::mem::take(&mut buffer));
        let mut offset = 0;
        while let Some(cut) = cut_point(&tail[offset..], true) {
            while writes.len() >= writes_allowed {
                collect(&mut writes, &mut chunks).await?;
            }
            spawn_store(
                &mut writes,
                &mut chunks,
                blobs,
                tail.slice(offset..offset + cut),
            );
            offset += cut;
        }
    }
    while !writes.is_empty() {
        collect(&mut writes, &mut chunks).await?;
    }
    drop(tail);
    let sha256 = Sha256::from_bytes(whole.finalize().into());
    if expect.length.is_some_and(|length| length != size) {
        return Err(longer_than_declared());
    }
    if expect.sha256.is_some_and(|expected| expected != sha256) {
        return Err(ApiError::new(
            ProblemCode::ChecksumMismatch,
            format!("the body's SHA-256 is {sha256}, not the X-Content-SHA256 sent"),
        ));
    }
    let chunks: Vec<ChunkSpec> = chunks.into_iter().flatten().collect();
    refresh_all(blobs, &chunks).await?;
    if inline {
        let chunk = ChunkSpec { sha256, size };
        return Ok(Ingested {
            size,
            sha256,
            chunks: vec![chunk],
            inline: Some(buffer),
        });
    }
    Ok(Ingested {
        size,
        sha256,
        chunks,
        inline: None,
    })
}

fn longer_than_declared() -> ApiError {
    ApiError::new(
        ProblemCode::ChecksumMismatch,
        "the body is not as long as its Content-Length",
    )
}

/// Starts the background write of the next chunk.
pub(crate) fn spawn_store(
    writes: &mut JoinSet<ApiResult<(usize, ChunkSpec)>>,
    chunks: &mut Vec<Option<ChunkSpec>>,
    blobs: &Arc<dyn BlobStore>,
    chunk: Bytes,
) {
    let index = chunks.len();
    chunks.push(None);
    let blobs = Arc::clone(blobs);
    writes.spawn(async move { store_chunk(blobs, index, chunk).await });
}

/// Waits for one background chunk write and records it at its index.
pub(crate) async fn collect(
    writes: &mut JoinSet<ApiResult<(usize, ChunkSpec)>>,
    chunks: &mut [Option<ChunkSpec>],
) -> ApiResult<()> {
    if let Some(done) = writes.join_next().await {
        let (index, chunk) = done.map_err(ApiError::internal)??;
        chunks[index] = Some(chunk);
    }
    Ok(())
}

/// Hashes a chunk off the async threads and stores it durably.
pub(crate) async fn store_chunk(
    blobs: Arc<dyn BlobStore>,
    index: usize,
    bytes: Bytes,
) -> ApiResult<(usize, ChunkSpec)> {
    let (hash, bytes) = tokio::task::spawn_blocking(move || {
        (
            Sha256::from_bytes(sha2::Sha256::digest(&bytes).into()),
            bytes,
        )
    })
    .await
    .map_err(ApiError::internal)?;
    let size = bytes.len() as u64;
    blobs.put(hash, bytes).await?;
    Ok((index, ChunkSpec { sha256: hash, size }))
}

/// Restarts the garbage collector's grace period of every chunk just before the commit, so a long
/// upload's first chunks cannot be collected before its metadata names them.
pub async fn refresh_all(blobs: &Arc<dyn BlobStore>, chunks: &[ChunkSpec]) -> ApiResult<()> {
    for chunk in chunks {
        if !blobs.refresh(chunk.sha256).await? {
            return Err(ApiError::new(
                ProblemCode::Unavailable,
                "a chunk of this upload was collected; retry",
            ));
        }
    }
    Ok(())
}

fn quota_error(room: u64) -> ApiError {
    ApiError::new(
        ProblemCode::QuotaExceeded,
        format!("only {room} bytes of quota are left"),
    )
}
