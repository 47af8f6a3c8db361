//! Chunked, resumable, deduplicated uploads: open a session, send the missing chunks (in any order,
//! in parallel, each hash checked while it streams), resume by asking what is missing, commit.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use chrono::Utc;
use futures_util::StreamExt;
use satchel_meta::{NewUpload, PlacedChunk, UploadState, UploadStatus, VerifiedHash};
use satchel_proto::{
    AppendChunks, ChunkSpec, CommitUpload, InitUpload, Node, Problem, ProblemCode, Sha256,
    UploadSession,
};
use sha2::Digest;
use uuid::Uuid;

use super::content::{mime_for, write_mode};
use crate::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, ApiPath, Authed, json_object};
use crate::state::AppState;

/// Most chunks one session may list (a 10 TB file in 16 MiB chunks).
const MAX_CHUNKS: usize = 1_000_000;

/// Presigned chunk URLs handed out in one answer at most (a client asks again for the rest).
const MAX_CHUNK_URLS: usize = 1000;

/// How long a presigned chunk URL works.
const CHUNK_URL_TTL: std::time::Duration = std::time::Duration::from_secs(3600);

/// The wire form of a session. When the blob store presigns (S3), each missing chunk that is not
/// already in the store gets a URL the client may PUT it to directly; a chunk already there (someone
/// else's) gets none, so claiming it still takes sending its bytes through the server — knowing a
/// hash never makes its content yours.
async fn session(
    state: &AppState,
    actor: &satchel_meta::Actor,
    status: UploadStatus,
) -> ApiResult<UploadSession> {
    let mut session = UploadSession {
        upload_id: status.id,
        missing: status.missing,
        received_bytes: status.received_bytes,
        expires_at: status.expires_at,
        max_chunk_size: state.config.max_chunk_bytes,
        chunk_urls: None,
    };
    if !state.blobs.presigns() {
        return Ok(session);
    }
    let wanted: Vec<(u64, ChunkSpec)> = session
        .missing
        .iter()
        .copied()
        .zip(status.missing_chunks)
        .take(MAX_CHUNK_URLS)
        .collect();
    let mut urls = std::collections::BTreeMap::new();
    let presigned: Vec<_> = futures_util::stream::iter(wanted)
        .map(|(index, chunk)| {
            let blobs = state.blobs.clone();
            async move {
                if blobs.contains(chunk.sha256).await? {
                    return Ok::<_, satchel_blob::BlobError>(None);
                }
                let put = blobs
                    .presign_put(chunk.sha256, chunk.size, CHUNK_URL_TTL)
                    .await?;
                Ok(put.map(|put| (index, chunk.sha256, put)))
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let mut hashes = Vec::new();
    for found in presigned {
        if let Some((index, hash, put)) = found? {
            hashes.push(hash);
            let headers: serde_json::Map<String, serde_json::Value> = put
                .headers
                .into_iter()
                .map(|(name, value)| (name, value.into()))
                .collect();
            urls.insert(
                index.to_string(),
                serde_json::json!({"url": put.url, "headers": headers}),
            );
        }
    }
    state
        .store
        .mark_presigned(actor, session.upload_id, &hashes)
        .await?;
    session.chunk_urls = (!urls.is_empty()).then_some(urls);
    Ok(session)
}

fn upload_id(text: &str) -> ApiResult<Uuid> {
    Uuid::try_parse(text)
        .map_err(|_| ApiError::new(ProblemCode::InvalidId, "an upload id is a UUID"))
}

/// Open an upload session; `missing` lists the chunks to send (those this user does not own yet).
#[utoipa::path(post, path = "/api/v1/uploads", tag = "uploads", request_body = InitUpload,
    responses((status = 201, body = UploadSession), (status = 400, description = "size_mismatch", body = Problem),
        (status = 413, description = "payload_too_large (a chunk over the maximum), quota_exceeded", body = Problem)),
    security(("bearer" = [])))]
pub async fn init(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(request): ApiJson<InitUpload>,
) -> ApiResult<(StatusCode, Json<UploadSession>)> {
    let max = state.config.max_chunk_bytes;
    if request.chunks.len() > MAX_CHUNKS {
        return Err(ApiError::new(
            ProblemCode::PayloadTooLarge,
            format!("at most {MAX_CHUNKS} chunks"),
        ));
    }
    if let Some(big) = request.chunks.iter().find(|c| c.size > max) {
        return Err(ApiError::new(
            ProblemCode::PayloadTooLarge,
            format!("a chunk of {} bytes is over the maximum of {max}", big.size),
        ));
    }
    if request.chunks.iter().any(|c| c.size == 0) {
        return Err(ApiError::new(
            ProblemCode::SizeMismatch,
            "chunks are not empty",
        ));
    }
    check_chunks(&request.chunks, max)?;
    let total: u64 = request.chunks.iter().map(|c| c.size).sum();
    if total > request.size || (!request.more_chunks && total != request.size) {
        return Err(ApiError::new(
            ProblemCode::SizeMismatch,
            format!("the chunks add up to {total} bytes, not {}", request.size),
        ));
    }
    // The quota of whoever owns the folder (a folder shared with the actor uses its owner's).
    if let Some((quota, used)) = state.store.quota_for(&actor, request.parent_id).await?
        && used.saturating_add(request.size) > quota
    {
        return Err(ApiError::new(
            ProblemCode::QuotaExceeded,
            format!(
                "{used} of {quota} bytes used; this file needs {}",
                request.size
            ),
        ));
    }
    let mode = write_mode(request.on_conflict.as_deref())?;
    let mime = request
        .mime
        .clone()
        .or_else(|| mime_for(request.name.as_str(), None));
    let new = NewUpload {
        parent: request.parent_id,
        name: request.name,
        size: request.size,
        sha256: request.sha256,
        more_chunks: request.more_chunks,
        mime,
        base_rev: request.base_rev,
        mode,
        chunks: request.chunks,
        expires_at: Utc::now() + chrono::Duration::seconds(state.config.upload_ttl_secs as i64),
    };
    let status = state.store.create_upload(&actor, new).await?;
    Ok((
        StatusCode::CREATED,
        Json(session(&state, &actor, status).await?),
    ))
}

/// The checks every piece of a chunk list passes.
fn check_chunks(chunks: &[ChunkSpec], max: u64) -> ApiResult<()> {
    if chunks.len() > MAX_CHUNKS {
        return Err(ApiError::new(
            ProblemCode::PayloadTooLarge,
            format!("at most {MAX_CHUNKS} chunks"),
        ));
    }
    if let Some(big) = chunks.iter().find(|c| c.size > max) {
        return Err(ApiError::new(
            ProblemCode::PayloadTooLarge,
            format!("a chunk of {} bytes is over the maximum of {max}", big.size),
        ));
    }
    if chunks.iter().any(|c| c.size == 0) {
        return Err(ApiError::new(
            ProblemCode::SizeMismatch,
            "chunks are not empty",
        ));
    }
    Ok(())
}

/// Append the next chunks to a session opened with `more_chunks` (send while still cutting).
#[utoipa::path(post, path = "/api/v1/uploads/{upload_id}/chunks", tag = "uploads", request_body = AppendChunks,
    params(("upload_id" = Uuid, Path)),
    responses((status = 200, body = UploadSession), (status = 409, description = "upload_committed, list_closed", body = Problem)),
    security(("bearer" = [])))]
pub async fn append(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<AppendChunks>,
) -> ApiResult<Json<UploadSession>> {
    let id = upload_id(&id)?;
    check_chunks(&request.chunks, state.config.max_chunk_bytes)?;
    let status = state
        .store
        .append_chunks(&actor, id, &request.chunks, request.more_chunks)
        .await?;
    Ok(Json(session(&state, &actor, status).await?))
}

/// Send one chunk. Its size and SHA-256 are checked while it streams; a rejected chunk stays missing.
#[utoipa::path(put, path = "/api/v1/uploads/{upload_id}/chunks/{index}", tag = "uploads",
    params(("upload_id" = Uuid, Path), ("index" = u64, Path)),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 204), (status = 400, description = "size_mismatch, checksum_mismatch", body = Problem),
        (status = 410, description = "upload_expired", body = Problem)), security(("bearer" = [])))]
pub async fn put_chunk(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath((id, index)): ApiPath<(String, String)>,
    body: Body,
) -> ApiResult<StatusCode> {
    let id = upload_id(&id)?;
    let index: u64 = index
        .parse()
        .map_err(|_| ApiError::new(ProblemCode::BadRequest, "a chunk index is a number"))?;
    let expected = state.store.expected_chunk(&actor, id, index).await?;
    // Room for the chunk before its first byte is read; given back once every view of it is gone.
    let lease = state
        .transfers
        .lease(usize::try_from(expected.size).unwrap_or(usize::MAX))
        .await;
    let bytes = lease.wrap(read_limited(body, expected.size).await?);
    let bytes_for_hash = bytes.clone();
    let hash = tokio::task::spawn_blocking(move || {
        Sha256::from_bytes(sha2::Sha256::digest(&bytes_for_hash).into())
    })
    .await
    .map_err(ApiError::internal)?;
    if hash != expected.sha256 {
        return Err(ApiError::new(
            ProblemCode::ChecksumMismatch,
            format!("chunk {index} hashes to {hash}, not {}", expected.sha256),
        ));
    }
    state.blobs.put(hash, bytes.clone()).await?;
    state.store.chunk_received(&actor, id, &hash).await?;
    let chunk = PlacedChunk {
        index,
        offset: 0,
        size: expected.size,
        sha256: hash,
        inline: false,
    };
    state.verifier.offer(&state, id, chunk, bytes).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Reads a chunk body of exactly `size` bytes, refusing early when it runs over.
async fn read_limited(body: Body, size: u64) -> ApiResult<Bytes> {
    let mut stream = body.into_data_stream();
    let mut buffer = BytesMut::with_capacity(size as usize);
    while let Some(frame) = stream.next().await {
        let frame = frame.map_err(crate::error::body_error)?;
        if (buffer.len() + frame.len()) as u64 > size {
            return Err(ApiError::new(
                ProblemCode::SizeMismatch,
                format!("the chunk is longer than {size} bytes"),
            ));
        }
        buffer.extend_from_slice(&frame);
    }
    if buffer.len() as u64 != size {
        return Err(ApiError::new(
            ProblemCode::SizeMismatch,
            format!("the chunk has {} bytes, not {size}", buffer.len()),
        ));
    }
    Ok(buffer.freeze())
}

/// Where a session stands: how a client resumes.
#[utoipa::path(get, path = "/api/v1/uploads/{upload_id}", tag = "uploads", params(("upload_id" = Uuid, Path)),
    responses((status = 200, body = UploadSession), (status = 410, description = "upload_expired", body = Problem)),
    security(("bearer" = [])))]
pub async fn status(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<UploadSession>> {
    let id = upload_id(&id)?;
    // What went straight to the bucket counts, so a resuming client sends only what is missing.
    receive_presigned(&state, &actor, id).await?;
    let status = state.store.upload_status(&actor, id).await?;
    Ok(Json(session(&state, &actor, status).await?))
}

/// Make the uploaded chunks the file (or its new version). Retrying a commit answers the same node.
#[utoipa::path(post, path = "/api/v1/uploads/{upload_id}/commit", tag = "uploads", params(("upload_id" = Uuid, Path)),
    request_body(content = Option<CommitUpload>, description = "`{sha256}` when the init did not carry it"),
    responses((status = 201, body = Node), (status = 409, description = "incomplete", body = Problem),
        (status = 412, description = "rev_mismatch", body = Problem)), security(("bearer" = [])))]
pub async fn commit(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let request: CommitUpload = if body.iter().all(u8::is_ascii_whitespace) {
        CommitUpload::default()
    } else {
        json_object(&body)?
    };
    let id = upload_id(&id)?;
    receive_presigned(&state, &actor, id).await?;
    let verified = whole_file_hash(&state, &actor, id, request.sha256).await?;
    let (node, _) = state
        .store
        .commit_upload(&actor, id, verified, request.modified_at)
        .await?;
    state.verifier.forget(id);
    Ok((StatusCode::CREATED, Json(node)).into_response())
}

/// The SHA-256 of the session's bytes, computed here (see `verify.rs`) and compared with the one
/// the client gave at init or commit, if any: a false one is `400 checksum_mismatch` and the
/// session stays open. `None` when the session is not open or its chunks are not all stored yet:
/// the store's commit then says what is wrong (committed: the same node again; else `incomplete`).
async fn whole_file_hash(
    state: &AppState,
    actor: &satchel_meta::Actor,
    id: Uuid,
    claimed: Option<satchel_proto::Sha256>,
) -> ApiResult<Option<VerifiedHash>> {
    let manifest = state.store.upload_manifest(actor, id).await?;
    if manifest.state != UploadState::Open || !manifest.complete {
        return Ok(None);
    }
    let sha256 = state.verifier.finish(state, id, &manifest.chunks).await?;
    if let Some(claimed) = claimed.or(manifest.sha256)
        && claimed != sha256
    {
        return Err(ApiError::new(
            ProblemCode::ChecksumMismatch,
            format!("the chunks make a file whose SHA-256 is {sha256}, not {claimed}"),
        ));
    }
    Ok(Some(VerifiedHash {
        sha256,
        chunks: manifest.chunks.len(),
    }))
}

/// Chunks a client stored through presigned URLs arrive in the bucket, not here: before a commit,
/// every chunk this session was given a URL for that the store now holds with the right size counts
/// as received (the store checked its bytes against the signed SHA-256 when it took them). Other
/// missing chunks stay missing, whatever the bucket holds.
async fn receive_presigned(
    state: &AppState,
    actor: &satchel_meta::Actor,
    id: Uuid,
) -> ApiResult<()> {
    if !state.blobs.presigns() {
        return Ok(());
    }
    let presigned = match state.store.presigned_missing(actor, id).await {
        Ok(presigned) => presigned,
        Err(_) => return Ok(()), // the commit itself reports what is wrong with the session
    };
    for chunk in &presigned {
        if state.blobs.stored_size(chunk.sha256).await? == Some(chunk.size) {
            state.store.chunk_received(actor, id, &chunk.sha256).await?;
        }
    }
    Ok(())
}

/// Abandon a session.
#[utoipa::path(delete, path = "/api/v1/uploads/{upload_id}", tag = "uploads", params(("upload_id" = Uuid, Path)),
    responses((status = 204)), security(("bearer" = [])))]
pub async fn abort(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let id = upload_id(&id)?;
    state.store.abort_upload(&actor, id).await?;
    state.verifier.forget(id);
    Ok(StatusCode::NO_CONTENT)
}

/// A chunk the caller owns (for delta downloads): its bytes, immutable, cacheable forever.
#[utoipa::path(get, path = "/api/v1/chunks/{sha256}", tag = "uploads", params(("sha256" = satchel_proto::Sha256, Path)),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn get_chunk(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(hash): ApiPath<String>,
) -> ApiResult<Response> {
    let hash: Sha256 = hash
        .parse()
        .map_err(|_| ApiError::new(ProblemCode::InvalidId, "a chunk id is a SHA-256"))?;
    let bytes = match state.store.owned_chunk(&actor, &hash).await? {
        None => return Err(ApiError::bare(ProblemCode::NotFound)),
        Some(Some(inline)) => Bytes::from(inline),
        Some(None) => {
            let size = state.blobs.stored_size(hash).await?.unwrap_or(0);
            let lease = state
                .transfers
                .lease(usize::try_from(size).unwrap_or(usize::MAX))
                .await;
            lease.wrap(state.blobs.get(hash).await?)
        }
    };
    let headers = [
        ("content-type", "application/octet-stream".to_owned()),
        (
            "cache-control",
            "private, max-age=31536000, immutable".to_owned(),
        ),
        ("etag", format!("\"{hash}\"")),
    ];
    Ok((headers, bytes).into_response())
}
