//! Streaming an upload body into the chunk store.
//!
//! Bytes are cut into content-defined chunks as they arrive (at most one maximal chunk is buffered),
//! the whole-file SHA-256 is computed on the way, and each chunk is hashed and written durably in the
//! background while the next one is read, with at most [`WRITES_IN_FLIGHT`] writes outstanding. The
//! caller gets the ordered chunk list only when every chunk is durable; it then commits metadata.
//! A body of one small chunk is not written here at all: it is committed with its version, inside
//! the metadata transaction (see `satchel_meta::MAX_INLINE_CHUNK`).

use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use satchel_blob::{BlobStore, MAX_CHUNK, cut_point};
use satchel_meta::{MAX_INLINE_CHUNK, NewContent};
use satchel_proto::{ChunkSpec, ProblemCode, Sha256};
use sha2::Digest;
use tokio::task::JoinSet;

use crate::error::{ApiError, ApiResult};

/// Chunk writes allowed to run while the body is still being read.
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
pub async fn ingest<S, E>(
    blobs: &Arc<dyn BlobStore>,
    body: S,
    expect: Expectations,
) -> ApiResult<Ingested>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    if let (Some(length), Some(room)) = (expect.length, expect.room)
        && length > room
    {
        return Err(quota_error(room));
    }
    let mut body = body;
    let mut whole = sha2::Sha256::new();
    let mut buffer = BytesMut::with_capacity(MAX_CHUNK);
    let mut writes: JoinSet<ApiResult<(usize, ChunkSpec)>> = JoinSet::new();
    let mut chunks: Vec<Option<ChunkSpec>> = Vec::new();
    let mut size = 0u64;
    loop {
        let frame = body.next().await;
        let eof = frame.is_none();
        if let Some(frame) = frame {
            let frame = frame.map_err(crate::error::body_error)?;
            size += frame.len() as u64;
            if expect.room.is_some_and(|room| size > room) {
                return Err(quota_error(expect.room.unwrap_or(0)));
            }
            whole.update(&frame);
            buffer.extend_from_slice(&frame);
        }
        if eof && chunks.is_empty() && !buffer.is_empty() && buffer.len() <= MAX_INLINE_CHUNK {
            // A small file: its bytes go into the database with the version, in one transaction.
            break;
        }
        while let Some(cut) = cut_point(&buffer, eof) {
            // Copied out (not split off) so the buffer keeps one allocation for the whole upload
            // and each chunk frees exactly its own bytes once written.
            let chunk = Bytes::copy_from_slice(&buffer[..cut]);
            buffer.advance(cut);
            while writes.len() >= WRITES_IN_FLIGHT {
                collect(&mut writes, &mut chunks).await?;
            }
            let index = chunks.len();
            chunks.push(None);
            let blobs = Arc::clone(blobs);
            writes.spawn(async move { store_chunk(blobs, index, chunk).await });
        }
        if eof {
            break;
        }
    }
    while !writes.is_empty() {
        collect(&mut writes, &mut chunks).await?;
    }
    let sha256 = Sha256::from_bytes(whole.finalize().into());
    if expect.length.is_some_and(|length| length != size) {
        return Err(ApiError::new(
            ProblemCode::ChecksumMismatch,
            "the body is not as long as its Content-Length",
        ));
    }
    if expect.sha256.is_some_and(|expected| expected != sha256) {
        return Err(ApiError::new(
            ProblemCode::ChecksumMismatch,
            format!("the body's SHA-256 is {sha256}, not the X-Content-SHA256 sent"),
        ));
    }
    let chunks: Vec<ChunkSpec> = chunks.into_iter().flatten().collect();
    refresh_all(blobs, &chunks).await?;
    if chunks.is_empty() && !buffer.is_empty() {
        let chunk = ChunkSpec { sha256, size };
        return Ok(Ingested {
            size,
            sha256,
            chunks: vec![chunk],
            inline: Some(buffer.to_vec()),
        });
    }
    Ok(Ingested {
        size,
        sha256,
        chunks,
        inline: None,
    })
}

async fn collect(
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
