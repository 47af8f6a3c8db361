//! tus 1.0 resumable uploads at `/api/v1/tus/`: core protocol plus the `creation`,
//! `creation-with-upload`, `termination`, `checksum` (sha1, sha256) and `expiration` extensions.
//!
//! A tus upload is an ordinary chunked upload session (see `uploads.rs`) whose chunk list grows as
//! bytes arrive: each `PATCH` streams its body through the same content-defined chunker as every
//! other upload (so tus uploads deduplicate with the CLI's and the web app's), stores each chunk
//! durably, and only then records, in one transaction, the new chunks, the new offset and the bytes
//! after the last boundary (the tail, fewer than one maximal chunk, kept in the database row). An
//! acknowledged offset therefore survives a crash, and any server sharing the database and blob
//! store can continue the upload. Nothing is assembled at the end: when the offset reaches
//! `Upload-Length` the session is committed like any chunked upload (a version if the name exists,
//! journal, notification, quota), and the answer carries the node in `Satchel-Node-Id`.
//!
//! The whole-file SHA-256 is computed here as the bytes pass (kept per upload in this process,
//! advanced only with the acknowledged offset); an upload continued after a restart or on another
//! server has its stored chunks read back once at the commit instead.
//!
//! A body that breaks off keeps what arrived (the protocol asks servers to store as much as they
//! can) unless the request carried `Upload-Checksum`: then nothing of it counts, since the checksum
//! could not be verified.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{head, post};
use base64::Engine;
use bytes::{Buf, Bytes, BytesMut};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use satchel_blob::cut_point;
use satchel_meta::{
    Actor, NewUpload, TusProgress, TusUpload, UploadState, VerifiedHash, WriteMode,
};
use satchel_proto::{ChunkSpec, NodeName, NodeRef, OnConflict, ProblemCode, Sha256};
use sha2::Digest;
use tokio::task::JoinSet;
use uuid::Uuid;

use super::content::mime_for;
use super::ingest::{collect, spawn_store};
use crate::accounts::app_passwords::basic_auth;
use crate::error::{ApiError, ApiResult};
use crate::http::client_addr::ClientAddr;
use crate::http::extract::Authed;
use crate::state::AppState;

const TUS_VERSION: &str = "1.0.0";
const EXTENSIONS: &str = "creation,creation-with-upload,termination,checksum,expiration";
const CHECKSUM_ALGORITHMS: &str = "sha1,sha256";
/// Largest upload taken (`Tus-Max-Size`): 1 TiB.
const MAX_SIZE: u64 = 1 << 40;
/// Chunk writes allowed to run while the body is still being read.
const WRITES_IN_FLIGHT: usize = 2;
/// Uploads whose running hash is kept at once (the one idle longest makes room).
const MAX_TRACKED: usize = 4096;
/// The media type of a `PATCH` body.
const OFFSET_STREAM: &str = "application/offset+octet-stream";
/// The answer's header naming the file an upload became.
const NODE_HEADER: &str = "satchel-node-id";

/// The routes, with no body limit and `Tus-Resumable` on every answer.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tus", post(create).options(options))
        .route("/api/v1/tus/", post(create).options(options))
        .route(
            "/api/v1/tus/{id}",
            head(status)
                .patch(append)
                .delete(terminate)
                .options(options),
        )
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::map_response(
            |mut response: Response| async {
                response.headers_mut().insert(
                    HeaderName::from_static("tus-resumable"),
                    HeaderValue::from_static(TUS_VERSION),
                );
                response
            },
        ))
}

/// Running whole-file hashes of tus uploads: the SHA-256 of bytes `[0, offset)`, advanced only
/// together with the acknowledged offset.
#[derive(Default)]
pub struct TusHashes {
    running: Mutex<HashMap<Uuid, Running>>,
}

struct Running {
    offset: u64,
    hasher: sha2::Sha256,
    touched: Instant,
}

impl TusHashes {
    /// The running hash of `id` if it covers exactly `[0, offset)`; a fresh one at offset 0.
    fn take(&self, id: Uuid, offset: u64) -> Option<sha2::Sha256> {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        match running.remove(&id) {
            Some(found) if found.offset == offset => Some(found.hasher),
            _ if offset == 0 => Some(sha2::Sha256::new()),
            _ => None,
        }
    }

    fn keep(&self, id: Uuid, offset: u64, hasher: sha2::Sha256) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if running.len() >= MAX_TRACKED
            && let Some(idle) = running
                .iter()
                .min_by_key(|(_, r)| r.touched)
                .map(|(id, _)| *id)
        {
            running.remove(&idle);
        }
        running.insert(
            id,
            Running {
                offset,
                hasher,
                touched: Instant::now(),
            },
        );
    }

    fn forget(&self, id: Uuid) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        running.remove(&id);
    }
}

/// Who is uploading: a bearer access token, or HTTP Basic (email and an app password or the
/// account password, counted by the login throttle like WebDAV's). A `read_only` app password
/// may look at an upload (`HEAD`) but not create, send or end one.
struct Uploader(Actor);

impl axum::extract::FromRequestParts<AppState> for Uploader {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> ApiResult<Self> {
        if crate::http::extract::bearer(&parts.headers).is_some() {
            let Authed(actor) = Authed::from_request_parts(parts, state).await?;
            return Ok(Uploader(actor));
        }
        let ClientAddr(address) = ClientAddr::from_request_parts(parts, state).await?;
        let basic = basic_auth(state, &parts.headers, address).await?;
        if basic.scope == satchel_proto::AppPasswordScope::ReadOnly
            && parts.method != axum::http::Method::HEAD
        {
            return Err(ApiError::new(
                ProblemCode::ReadOnly,
                "a read-only app password cannot upload",
            ));
        }
        Ok(Uploader(basic.actor))
    }
}

/// `OPTIONS`: what this server speaks (no authentication needed).
async fn options() -> Response {
    (
        StatusCode::NO_CONTENT,
        [
            ("tus-version", TUS_VERSION.to_owned()),
            ("tus-extension", EXTENSIONS.to_owned()),
            ("tus-max-size", MAX_SIZE.to_string()),
            ("tus-checksum-algorithm", CHECKSUM_ALGORITHMS.to_owned()),
        ],
    )
        .into_response()
}

/// `POST`: creates an upload (`creation`), taking its first bytes if the body has them
/// (`creation-with-upload`).
async fn create(
    State(state): State<AppState>,
    Uploader(actor): Uploader,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    check_version(&headers)?;
    let length = number(&headers, "upload-length")?.ok_or_else(|| {
        ApiError::new(
            ProblemCode::BadRequest,
            "send Upload-Length (deferred lengths are not supported)",
        )
    })?;
    if length > MAX_SIZE {
        return Err(ApiError::new(
            ProblemCode::PayloadTooLarge,
            format!("at most {MAX_SIZE} bytes (Tus-Max-Size)"),
        ));
    }
    let text = header_text(&headers, "upload-metadata").unwrap_or_default();
    let metadata = Metadata::parse(text)?;
    let name = metadata
        .get("filename")
        .or_else(|| metadata.get("name"))
        .ok_or_else(|| {
            ApiError::new(ProblemCode::BadRequest, "Upload-Metadata needs a filename")
        })?;
    let name =
        NodeName::new(name).map_err(|e| ApiError::new(ProblemCode::InvalidName, e.to_string()))?;
    let parent = parent(&state, &actor, &metadata).await?;
    if let Some((quota, used)) = state.store.quota_for(&actor, parent).await?
        && used.saturating_add(length) > quota
    {
        return Err(ApiError::new(
            ProblemCode::QuotaExceeded,
            format!("{used} of {quota} bytes used; this file needs {length}"),
        ));
    }
    let mime = mime_for(name.as_str(), metadata.get("filetype").as_deref());
    let new = NewUpload {
        parent,
        name,
        size: length,
        sha256: None,
        more_chunks: true,
        mime,
        base_rev: None,
        mode: WriteMode::Version,
        chunks: Vec::new(),
        expires_at: Utc::now() + chrono::Duration::seconds(state.config.upload_ttl_secs as i64),
    };
    let id = state.store.create_tus_upload(&actor, new, text).await?;
    let mut upload = state.store.tus_upload(&actor, id).await?;
    let mut answer = HeaderMap::new();
    answer.insert(header::LOCATION, text_value(&format!("/api/v1/tus/{id}"))?);
    let with_bytes = header_text(&headers, "content-type")
        .is_some_and(|t| t.eq_ignore_ascii_case(OFFSET_STREAM));
    if with_bytes || length == 0 {
        upload = receive(&state, &actor, upload, &headers, body).await?;
        answer.insert("upload-offset", text_value(&upload.offset.to_string())?);
        add_node(&mut answer, &upload)?;
    }
    answer.insert("upload-expires", text_value(&http_date(upload.expires_at))?);
    Ok((StatusCode::CREATED, answer).into_response())
}

/// `HEAD`: where an upload stands.
async fn status(
    State(state): State<AppState>,
    Uploader(actor): Uploader,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    check_version(&headers)?;
    let mut upload = live(&state, &actor, &id).await?;
    if upload.state == UploadState::Open && upload.offset == upload.length {
        // Every byte arrived but the commit did not finish (a crash, a refused quota): retry it.
        upload = finish(&state, &actor, upload).await?;
    }
    let mut answer = HeaderMap::new();
    answer.insert("upload-offset", text_value(&upload.offset.to_string())?);
    answer.insert("upload-length", text_value(&upload.length.to_string())?);
    if !upload.metadata.is_empty() {
        answer.insert("upload-metadata", text_value(&upload.metadata)?);
    }
    answer.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    add_node(&mut answer, &upload)?;
    Ok((StatusCode::OK, answer).into_response())
}

/// `PATCH`: the next bytes, at the offset the upload stands at.
async fn append(
    State(state): State<AppState>,
    Uploader(actor): Uploader,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    check_version(&headers)?;
    if !header_text(&headers, "content-type").is_some_and(|t| t.eq_ignore_ascii_case(OFFSET_STREAM))
    {
        return Err(ApiError::new(
            ProblemCode::UnsupportedMediaType,
            format!("a PATCH body is {OFFSET_STREAM}"),
        ));
    }
    let offset = number(&headers, "upload-offset")?
        .ok_or_else(|| ApiError::new(ProblemCode::BadRequest, "send Upload-Offset"))?;
    let upload = live(&state, &actor, &id).await?;
    if offset != upload.offset {
        return Err(ApiError::new(
            ProblemCode::OffsetMismatch,
            format!("the upload is at offset {}, not {offset}", upload.offset),
        ));
    }
    let upload = receive(&state, &actor, upload, &headers, body).await?;
    let mut answer = HeaderMap::new();
    answer.insert("upload-offset", text_value(&upload.offset.to_string())?);
    answer.insert("upload-expires", text_value(&http_date(upload.expires_at))?);
    add_node(&mut answer, &upload)?;
    Ok((StatusCode::NO_CONTENT, answer).into_response())
}

/// `DELETE` (`termination`): abandons an unfinished upload; its chunks go to the collector.
async fn terminate(
    State(state): State<AppState>,
    Uploader(actor): Uploader,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    check_version(&headers)?;
    let upload = live(&state, &actor, &id).await?;
    state.store.abort_upload(&actor, upload.id).await?;
    state.tus_hashes.forget(upload.id);
    Ok(StatusCode::NO_CONTENT)
}

/// The actor's upload `id`, if it can still be read (aborted ones are gone, expired ones `410`).
async fn live(state: &AppState, actor: &Actor, id: &str) -> ApiResult<TusUpload> {
    let id = Uuid::try_parse(id)
        .map_err(|_| ApiError::new(ProblemCode::InvalidId, "an upload id is a UUID"))?;
    let upload = state.store.tus_upload(actor, id).await?;
    match upload.state {
        UploadState::Aborted => Err(ApiError::bare(ProblemCode::NotFound)),
        UploadState::Expired => Err(ApiError::bare(ProblemCode::UploadExpired)),
        UploadState::Open if upload.expires_at <= Utc::now() => {
            Err(ApiError::bare(ProblemCode::UploadExpired))
        }
        UploadState::Open | UploadState::Committed => Ok(upload),
    }
}

/// Streams `body` into the upload from its current offset: chunks cut and stored as they fill,
/// then the progress recorded, then — at the last byte — the commit.
async fn receive(
    state: &AppState,
    actor: &Actor,
    upload: TusUpload,
    headers: &HeaderMap,
    body: Body,
) -> ApiResult<TusUpload> {
    if upload.state == UploadState::Committed {
        // A retried final PATCH: everything is in.
        return Ok(upload);
    }
    let mut checksum = Checksum::from_header(header_text(headers, "upload-checksum"))?;
    let declared = number(headers, "content-length")?;
    if declared.is_some_and(|n| upload.offset.saturating_add(n) > upload.length) {
        return Err(ApiError::new(
            ProblemCode::PayloadTooLarge,
            "the body would pass Upload-Length",
        ));
    }
    // Memory, leased from the server's transfer budget before the first byte is read: the buffer
    // (one maximal chunk) and one chunk being written while the next is read (two when the budget
    // has room to spare).
    let _room = state.transfers.lease(2 * satchel_blob::MAX_CHUNK).await;
    let more = state.transfers.try_lease(satchel_blob::MAX_CHUNK);
    let writes_allowed = if more.is_some() { WRITES_IN_FLIGHT } else { 1 };
    let mut whole = state.tus_hashes.take(upload.id, upload.offset);
    let mut buffer = BytesMut::with_capacity(satchel_blob::MAX_CHUNK);
    buffer.extend_from_slice(&upload.tail);
    let mut position = upload.offset;
    let mut writes: JoinSet<ApiResult<(usize, ChunkSpec)>> = JoinSet::new();
    let mut chunks: Vec<Option<ChunkSpec>> = Vec::new();
    let mut stream = body.into_data_stream();
    let mut broke_off = None;
    loop {
        let at_end = position == upload.length;
        let frame = if at_end { None } else { stream.next().await };
        let frame = match frame {
            None => None,
            Some(Ok(frame)) => Some(frame),
            Some(Err(error)) => {
                broke_off = Some(crate::error::body_error(error));
                None
            }
        };
        if let Some(frame) = &frame {
            if position + frame.len() as u64 > upload.length {
                return Err(ApiError::new(
                    ProblemCode::PayloadTooLarge,
                    "the body would pass Upload-Length",
                ));
            }
            position += frame.len() as u64;
            if let Some(whole) = &mut whole {
                whole.update(frame);
            }
            if let Some(checksum) = &mut checksum {
                checksum.update(frame);
            }
            buffer.extend_from_slice(frame);
        }
        let eof = position == upload.length;
        while let Some(cut) = cut_point(&buffer, eof) {
            let chunk = Bytes::copy_from_slice(&buffer[..cut]);
            buffer.advance(cut);
            while writes.len() >= writes_allowed {
                collect(&mut writes, &mut chunks).await?;
            }
            spawn_store(&mut writes, &mut chunks, &state.blobs, chunk);
        }
        if frame.is_none() {
            break;
        }
    }
    if !at_most_one_more(&mut stream, position == upload.length).await {
        return Err(ApiError::new(
            ProblemCode::PayloadTooLarge,
            "the body would pass Upload-Length",
        ));
    }
    while !writes.is_empty() {
        collect(&mut writes, &mut chunks).await?;
    }
    if let Some(checksum) = checksum {
        if let Some(error) = broke_off {
            return Err(error); // unverifiable: none of it counts
        }
        checksum.verify()?;
    }
    if broke_off.is_none() && declared.is_some_and(|n| position - upload.offset != n) {
        return Err(ApiError::new(
            ProblemCode::ChecksumMismatch,
            "the body is not as long as its Content-Length",
        ));
    }
    let chunks: Vec<ChunkSpec> = chunks.into_iter().flatten().collect();
    super::ingest::refresh_all(&state.blobs, &chunks).await?;
    state
        .store
        .tus_advance(
            actor,
            upload.id,
            TusProgress {
                from: upload.offset,
                to: position,
                chunks: &chunks,
                tail: &buffer,
            },
        )
        .await?;
    match whole {
        Some(whole) => state.tus_hashes.keep(upload.id, position, whole),
        None => state.tus_hashes.forget(upload.id),
    }
    if let Some(error) = broke_off {
        return Err(error); // what arrived is kept; the client resumes from HEAD
    }
    let upload = state.store.tus_upload(actor, upload.id).await?;
    if upload.offset == upload.length {
        return finish(state, actor, upload).await;
    }
    Ok(upload)
}

/// After the last byte, whether the body is really over (a client sending past `Upload-Length`
/// is refused rather than silently truncated).
async fn at_most_one_more(stream: &mut axum::body::BodyDataStream, complete: bool) -> bool {
    if !complete {
        return true;
    }
    match stream.next().await {
        Some(Ok(extra)) => extra.is_empty(),
        _ => true,
    }
}

/// Commits a complete upload: the session becomes the file (or its new version).
async fn finish(state: &AppState, actor: &Actor, upload: TusUpload) -> ApiResult<TusUpload> {
    let manifest = state.store.upload_manifest(actor, upload.id).await?;
    let sha256 = match state.tus_hashes.take(upload.id, upload.length) {
        Some(hasher) => Sha256::from_bytes(hasher.finalize().into()),
        None => {
            // Continued after a restart or on another server: read the stored chunks back once.
            state
                .verifier
                .finish(state, upload.id, &manifest.chunks)
                .await?
        }
    };
    let modified_at = Metadata::parse(&upload.metadata)?
        .get("modified_at")
        .as_deref()
        .and_then(parse_time);
    state
        .store
        .commit_upload(
            actor,
            upload.id,
            Some(VerifiedHash {
                sha256,
                chunks: manifest.chunks.len(),
            }),
            modified_at,
        )
        .await?;
    state.tus_hashes.forget(upload.id);
    Ok(state.store.tus_upload(actor, upload.id).await?)
}

/// Where the file goes: `parent_id`, or the folder at `path` (made if missing), or the root.
async fn parent(state: &AppState, actor: &Actor, metadata: &Metadata) -> ApiResult<NodeRef> {
    if let Some(id) = metadata.get("parent_id") {
        return id
            .parse()
            .map_err(|_| ApiError::new(ProblemCode::InvalidId, "parent_id is a UUID or root"));
    }
    let Some(path) = metadata.get("path") else {
        return Ok(NodeRef::Root);
    };
    let mut folder = NodeRef::Root;
    let mut walked = String::new();
    for part in path.split('/').filter(|part| !part.is_empty()) {
        walked.push('/');
        walked.push_str(part);
        let name = NodeName::new(part)
            .map_err(|e| ApiError::new(ProblemCode::InvalidName, e.to_string()))?;
        let made = state
            .store
            .create_folder(actor, folder, name.clone(), OnConflict::Fail)
            .await;
        folder = match made {
            Ok(node) => NodeRef::Id(node.id),
            Err(satchel_meta::StoreError::NameConflict(_)) => {
                NodeRef::Id(state.store.node_by_path(actor, &walked).await?.id)
            }
            Err(error) => return Err(error.into()),
        };
    }
    Ok(folder)
}

/// `Upload-Metadata`: comma-separated `key base64(value)` pairs (a key alone has no value).
struct Metadata(HashMap<String, String>);

impl Metadata {
    fn parse(text: &str) -> ApiResult<Self> {
        let mut pairs = HashMap::new();
        for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once(' ').unwrap_or((pair, ""));
            let value = base64::engine::general_purpose::STANDARD
                .decode(value.trim())
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| {
                    ApiError::new(
                        ProblemCode::BadRequest,
                        format!("Upload-Metadata: the value of {key:?} is not base64 of UTF-8"),
                    )
                })?;
            pairs.insert(key.to_owned(), value);
        }
        Ok(Metadata(pairs))
    }

    fn get(&self, key: &str) -> Option<String> {
        self.0.get(key).filter(|v| !v.is_empty()).cloned()
    }
}

/// The `checksum` extension: the digest a request's bytes must have.
enum Checksum {
    Sha1(sha1::Sha1, Vec<u8>),
    Sha256(sha2::Sha256, Vec<u8>),
}

impl Checksum {
    fn from_header(text: Option<&str>) -> ApiResult<Option<Self>> {
        let Some(text) = text else {
            return Ok(None);
        };
        let (algorithm, digest) = text.trim().split_once(' ').ok_or_else(|| {
            ApiError::new(
                ProblemCode::BadRequest,
                "Upload-Checksum is `ALGORITHM BASE64`",
            )
        })?;
        let digest = base64::engine::general_purpose::STANDARD
            .decode(digest.trim())
            .map_err(|_| ApiError::new(ProblemCode::BadRequest, "Upload-Checksum: bad base64"))?;
        match algorithm.to_ascii_lowercase().as_str() {
            "sha1" => Ok(Some(Checksum::Sha1(sha1::Sha1::new(), digest))),
            "sha256" => Ok(Some(Checksum::Sha256(sha2::Sha256::new(), digest))),
            other => Err(ApiError::new(
                ProblemCode::BadRequest,
                format!("Upload-Checksum: {other} is not one of {CHECKSUM_ALGORITHMS}"),
            )),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        match self {
            Checksum::Sha1(hasher, _) => hasher.update(bytes),
            Checksum::Sha256(hasher, _) => hasher.update(bytes),
        }
    }

    fn verify(self) -> ApiResult<()> {
        let matches = match self {
            Checksum::Sha1(hasher, want) => hasher.finalize().as_slice() == want,
            Checksum::Sha256(hasher, want) => hasher.finalize().as_slice() == want,
        };
        if matches {
            Ok(())
        } else {
            Err(ApiError::bare(ProblemCode::UploadChecksumMismatch))
        }
    }
}

fn check_version(headers: &HeaderMap) -> ApiResult<()> {
    if header_text(headers, "tus-resumable") == Some(TUS_VERSION) {
        Ok(())
    } else {
        Err(ApiError::new(
            ProblemCode::UnsupportedVersion,
            format!("send Tus-Resumable: {TUS_VERSION}"),
        ))
    }
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// A header holding a non-negative integer, if sent.
fn number(headers: &HeaderMap, name: &str) -> ApiResult<Option<u64>> {
    header_text(headers, name)
        .map(|text| {
            text.parse::<u64>().map_err(|_| {
                ApiError::new(
                    ProblemCode::BadRequest,
                    format!("{name} is a non-negative integer"),
                )
            })
        })
        .transpose()
}

fn text_value(text: &str) -> ApiResult<HeaderValue> {
    HeaderValue::from_str(text).map_err(ApiError::internal)
}

fn add_node(answer: &mut HeaderMap, upload: &TusUpload) -> ApiResult<()> {
    if let Some(node) = upload.node {
        answer.insert(NODE_HEADER, text_value(&node.to_string())?);
    }
    Ok(())
}

/// An HTTP date (RFC 9110 IMF-fixdate), as `Upload-Expires` carries.
fn http_date(at: DateTime<Utc>) -> String {
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// `modified_at` metadata: RFC 3339, or Unix seconds (or milliseconds, as JavaScript gives them).
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    let number: i64 = text.parse().ok()?;
    if number > 100_000_000_000 {
        DateTime::from_timestamp_millis(number)
    } else {
        DateTime::from_timestamp(number, 0)
    }
}
