//! File content: streaming uploads (raw body or multipart), downloads with ranges and validators,
//! versions and their restore.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;
use satchel_meta::{Actor, ContentTarget, PlacedChunk, WriteMode};
use satchel_proto::{
    ChunkInfo, NameError, Node, NodeName, NodeRef, Page, Problem, ProblemCode, Sha256, VersionInfo,
};
use serde::Deserialize;

use super::ingest::{Expectations, ingest};
use super::node_response;
use super::range::{self, RangeRequest};
use crate::error::{ApiError, ApiResult};
use crate::http::extract::{
    ApiMultipart, ApiPath, ApiQuery, Authed, PageParams, if_match, node_ref,
};
use crate::state::AppState;

/// The header a client may send with the SHA-256 of the whole body.
pub const CONTENT_SHA256: &str = "x-content-sha256";

/// Where a raw upload goes.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    pub parent_id: NodeRef,
    pub name: NodeName,
    /// When the name is taken: `version` (default: a new version of that file), `rename`, `fail`.
    #[param(value_type = Option<satchel_proto::WriteModeName>)]
    pub on_conflict: Option<String>,
}

/// The form of a browser upload (for the document; the handler reads it as a stream).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The folder (default `root`); must come before `file`.
    parent_id: Option<NodeRef>,
    /// As for the raw upload; before `file`.
    #[schema(value_type = Option<satchel_proto::WriteModeName>)]
    on_conflict: Option<String>,
    /// The file; its filename is its name.
    #[schema(format = Binary, value_type = String)]
    file: Vec<u8>,
}

pub fn write_mode(text: Option<&str>) -> ApiResult<WriteMode> {
    match text {
        None | Some("version") => Ok(WriteMode::Version),
        Some("rename") => Ok(WriteMode::Rename),
        Some("fail") => Ok(WriteMode::Fail),
        Some(other) => Err(ApiError::new(
            ProblemCode::BadRequest,
            format!("on_conflict is version, rename or fail, not {other:?}"),
        )),
    }
}

/// What the request headers promise about the body.
fn expectations(headers: &HeaderMap, room: Option<u64>) -> ApiResult<Expectations> {
    let sha256 = match headers.get(CONTENT_SHA256) {
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|text| text.trim().parse::<Sha256>().ok())
                .ok_or_else(|| {
                    ApiError::new(ProblemCode::BadRequest, "X-Content-SHA256 is 64 hex digits")
                })?,
        ),
        None => None,
    };
    let length = content_length(headers);
    Ok(Expectations {
        length,
        sha256,
        room,
        at_most: None,
    })
}

/// The request's `Content-Length`, when it sent one.
pub fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.parse().ok())
}

/// `X-Modified-At` (RFC 3339): the file's modification time on the writer's disk, kept as the
/// node's `modified_at` so that downloads and sync clients can give it back.
fn modified_at(headers: &HeaderMap) -> ApiResult<Option<chrono::DateTime<chrono::Utc>>> {
    headers
        .get("x-modified-at")
        .map(|value| {
            value
                .to_str()
                .ok()
                .and_then(|text| chrono::DateTime::parse_from_rfc3339(text.trim()).ok())
                .map(|at| at.with_timezone(&chrono::Utc))
                .ok_or_else(|| {
                    ApiError::new(ProblemCode::BadRequest, "X-Modified-At is an RFC 3339 time")
                })
        })
        .transpose()
}

/// Bytes the owner of `at` may still add (a folder shared with the actor uses its owner's quota),
/// counting back `freed` bytes of a file the write replaces; `None` without a quota.
async fn room(state: &AppState, actor: &Actor, at: NodeRef, freed: u64) -> ApiResult<Option<u64>> {
    Ok(state
        .store
        .quota_for(actor, at)
        .await?
        .map(|(quota, used)| (quota + freed).saturating_sub(used)))
}

/// [`room`] for a named write into `parent`, counting back the file it would replace.
pub(crate) async fn room_for_name(
    state: &AppState,
    actor: &Actor,
    parent: NodeRef,
    name: &NodeName,
    mode: WriteMode,
) -> ApiResult<Option<u64>> {
    if actor.quota_bytes.is_none() && parent == NodeRef::Root {
        return Ok(None);
    }
    let Some(room) = room(state, actor, parent, 0).await? else {
        return Ok(None);
    };
    if mode != WriteMode::Version {
        return Ok(Some(room));
    }
    let freed = state
        .store
        .child_named(actor, parent, name)
        .await?
        .and_then(|node| node.size)
        .unwrap_or(0);
    Ok(Some(room + freed))
}

/// Types that say nothing about the content (curl's `--data-binary` sends a form type).
const GENERIC_TYPES: &[&str] = &[
    "application/octet-stream",
    "application/x-www-form-urlencoded",
];

/// Characters kept as they are in an RFC 8187 `filename*` value (its `attr-char` set).
const ATTR_CHAR_ESCAPES: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// The media type: what the client declared, unless generic, else a guess from the name.
pub fn mime_for(name: &str, declared: Option<&str>) -> Option<String> {
    declared
        .map(|m| {
            m.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|m| {
            !m.is_empty() && !GENERIC_TYPES.contains(&m.as_str()) && !m.starts_with("multipart/")
        })
        .or_else(|| mime_guess::from_path(name).first_raw().map(str::to_owned))
}

fn declared_type(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
}

fn written(node: Node, created: bool) -> Response {
    node_response(
        if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        node,
    )
}

/// Upload a file by folder and name: creates it (`201`), or adds a version to the file of that name
/// (`200`; last writer wins unless `If-Match`). The body streams; it may be chunked.
#[utoipa::path(put, path = "/api/v1/files/content", tag = "content", params(UploadParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = Node), (status = 200, description = "a new version", body = Node),
        (status = 400, description = "checksum_mismatch", body = Problem),
        (status = 413, description = "quota_exceeded", body = Problem)), security(("bearer" = [])))]
pub async fn put_by_name(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(params): ApiQuery<UploadParams>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let mode = write_mode(params.on_conflict.as_deref())?;
    let modified_at = modified_at(&headers)?;
    let room = room_for_name(&state, &actor, params.parent_id, &params.name, mode).await?;
    let expect = expectations(&headers, room)?;
    let stored = ingest(&state, body.into_data_stream(), expect).await?;
    let mut content = stored.into_content(mime_for(params.name.as_str(), declared_type(&headers)));
    content.modified_at = modified_at;
    let target = ContentTarget::Named {
        parent: params.parent_id,
        name: params.name,
        mode,
    };
    let (node, created) = state
        .store
        .write_content(&actor, target, content, if_match(&headers).as_deref())
        .await?;
    Ok(written(node, created))
}

/// Upload a new version of a file. Honours `If-Match`.
#[utoipa::path(put, path = "/api/v1/files/{id}/content", tag = "content", params(("id" = satchel_proto::NodeRef, Path, description = "node id or `root`")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = Node), (status = 412, description = "rev_mismatch", body = Problem)),
    security(("bearer" = [])))]
pub async fn put_by_id(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let node = state.store.node(&actor, node_ref(&id)?).await?;
    if node.deleted_at.is_some() {
        return Err(ApiError::bare(ProblemCode::Trashed));
    }
    // Fail before reading the body when the precondition is already known to fail.
    if let Some(expected) = if_match(&headers)
        && expected != node.rev
    {
        return Err(ApiError::new(
            ProblemCode::RevMismatch,
            format!("the node is at rev {}", node.rev),
        ));
    }
    let modified_at = modified_at(&headers)?;
    let room = room(&state, &actor, NodeRef::Id(node.id), node.size.unwrap_or(0)).await?;
    let expect = expectations(&headers, room)?;
    let stored = ingest(&state, body.into_data_stream(), expect).await?;
    let mut content =
        stored.into_content(mime_for(&node.name, declared_type(&headers)).or(node.mime.clone()));
    content.modified_at = modified_at;
    let (node, created) = state
        .store
        .write_content(
            &actor,
            ContentTarget::Existing(node.id),
            content,
            if_match(&headers).as_deref(),
        )
        .await?;
    Ok(written(node, created))
}

/// The name of a form's file part. The form parser gives none for a `filename` that is not UTF-8,
/// which is then refused as such rather than as empty.
pub(crate) fn file_name(field: &axum::extract::multipart::Field<'_>) -> ApiResult<NodeName> {
    let refuse = |e: NameError| ApiError::new(ProblemCode::InvalidName, e.to_string());
    match field.file_name() {
        Some(name) => NodeName::new(name).map_err(refuse),
        None => {
            let disposition = field
                .headers()
                .get(header::CONTENT_DISPOSITION)
                .map_or(&[][..], |value| value.as_bytes());
            let names_a_file = disposition.windows(8).any(|w| w == b"filename");
            Err(refuse(if names_a_file {
                NameError::NotUtf8
            } else {
                NameError::Empty
            }))
        }
    }
}

/// Upload from a browser form: `multipart/form-data` with `parent_id` (default `root`), then `file`.
/// An optional `on_conflict` field (before `file`) works as for the raw upload.
#[utoipa::path(post, path = "/api/v1/files", tag = "content",
    request_body(content = UploadForm, content_type = "multipart/form-data", description = "fields `parent_id` and `on_conflict` (optional), then `file`"),
    responses((status = 201, body = Node)), security(("bearer" = [])))]
pub async fn post_multipart(
    State(state): State<AppState>,
    Authed(actor): Authed,
    headers: HeaderMap,
    ApiMultipart(mut form): ApiMultipart,
) -> ApiResult<Response> {
    let bad_form = |e: axum::extract::multipart::MultipartError| {
        ApiError::new(ProblemCode::BadRequest, e.body_text())
    };
    let mut parent = NodeRef::Root;
    let mut on_conflict = None;
    while let Some(field) = form.next_field().await.map_err(bad_form)? {
        match field.name().unwrap_or_default() {
            "parent_id" => parent = node_ref(field.text().await.map_err(bad_form)?.trim())?,
            "on_conflict" => on_conflict = Some(field.text().await.map_err(bad_form)?),
            "file" => {
                let name = file_name(&field)?;
                let mode = write_mode(on_conflict.as_deref())?;
                let mime = mime_for(name.as_str(), field.content_type());
                let expect = Expectations {
                    room: room_for_name(&state, &actor, parent, &name, mode).await?,
                    at_most: content_length(&headers),
                    ..Default::default()
                };
                let stored = ingest(&state, Box::pin(field), expect).await?;
                // A field after the file comes too late to apply: refuse it before anything is
                // recorded (the chunks stored so far are unreferenced; the collector takes them).
                while let Some(late) = form.next_field().await.map_err(bad_form)? {
                    if let Some(late @ ("parent_id" | "on_conflict" | "file")) = late.name() {
                        return Err(ApiError::new(
                            ProblemCode::BadRequest,
                            format!("`{late}` must come before the first `file`"),
                        ));
                    }
                }
                let content = stored.into_content(mime);
                let target = ContentTarget::Named { parent, name, mode };
                let (node, _) = state
                    .store
                    .write_content(&actor, target, content, None)
                    .await?;
                return Ok(written(node, true));
            }
            _ => {}
        }
    }
    Err(ApiError::new(
        ProblemCode::BadRequest,
        "the form has no `file` field",
    ))
}

/// Which version to read, and how to present it.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DownloadParams {
    /// A version number; the current version when absent.
    pub version: Option<u64>,
    /// `1` to show in the browser (`Content-Disposition: inline`); honoured only for types that
    /// cannot run script (images but not SVG, PDF, audio, video, plain text).
    #[serde(default, deserialize_with = "zero_or_one")]
    #[param(minimum = 0, maximum = 1)]
    pub inline: Option<u8>,
}

/// Parses a `0`/`1` flag of a query; anything else is `400 bad_request`.
pub(crate) fn zero_or_one<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u8>, D::Error> {
    match Option::<String>::deserialize(deserializer)?.as_deref() {
        None => Ok(None),
        Some("0") => Ok(Some(0)),
        Some("1") => Ok(Some(1)),
        Some(other) => Err(serde::de::Error::custom(format!(
            "`inline` is 0 or 1, not {other:?}"
        ))),
    }
}

/// Download a file's bytes. Supports `Range`, `If-None-Match`; the `ETag` is the content's SHA-256.
#[utoipa::path(get, path = "/api/v1/files/{id}/content", tag = "content",
    params(("id" = satchel_proto::NodeRef, Path, description = "node id or `root`"), DownloadParams),
    responses((status = 200, content_type = "*/*", body = Vec<u8>, description = "the bytes, with the file's media type"),
        (status = 206, description = "a range"), (status = 304, description = "not modified"),
        (status = 416, description = "range_not_satisfiable", body = Problem)), security(("bearer" = [])))]
pub async fn download(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<DownloadParams>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let content = state
        .store
        .version_content(&actor, node_ref(&id)?, params.version)
        .await?;
    serve_content(&state, content, &headers, params.inline == Some(1))
}

/// Whether `If-None-Match` names `etag` (or `*`): the client already has these bytes.
pub fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .split(',')
                .any(|tag| tag.trim() == etag || tag.trim() == "*")
        })
}

/// Answers a GET of a version's bytes: `ETag` (the SHA-256), `If-None-Match` → 304, `Range` → 206,
/// the body streamed chunk by chunk. Shared by the API, public links and signed URLs.
pub fn serve_content(
    state: &AppState,
    content: satchel_meta::VersionContent,
    headers: &HeaderMap,
    inline: bool,
) -> ApiResult<Response> {
    let size = content.version.size;
    let etag = format!("\"{}\"", content.version.sha256);
    let not_modified = if_none_match(headers, &etag);
    let mime = content
        .node
        .mime
        .clone()
        .unwrap_or_else(|| "application/octet-stream".to_owned());
    // Both the stored type and the one the name suggests must be harmless: a file named
    // `evil.html` stays an attachment even if it was uploaded as `text/plain`.
    let named = mime_guess::from_path(&content.node.name).first_raw();
    let inline = inline && cannot_script(&mime) && named.is_none_or(cannot_script);
    let builder = Response::builder()
        .header(header::ETAG, &etag)
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CACHE_CONTROL, "private, no-cache")
        .header(header::CONTENT_TYPE, mime)
        .header(
            header::CONTENT_DISPOSITION,
            disposition(&content.node.name, inline),
        )
        // User content never runs on the server's origin, whatever a browser makes of it.
        .header(header::CONTENT_SECURITY_POLICY, "sandbox")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(CONTENT_SHA256, content.version.sha256.to_hex());
    if not_modified {
        return builder
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
            .map_err(ApiError::internal);
    }
    let range_header = headers
        .get(header::RANGE)
        .and_then(|value| value.to_str().ok());
    let (status, start, end) = match range::parse(range_header, size) {
        RangeRequest::Full => (StatusCode::OK, 0, size),
        RangeRequest::Partial { start, end } => (StatusCode::PARTIAL_CONTENT, start, end),
        RangeRequest::Unsatisfiable => {
            let mut response = ApiError::new(
                ProblemCode::RangeNotSatisfiable,
                format!("the file has {size} bytes"),
            )
            .into_response();
            if let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}")) {
                response.headers_mut().insert(header::CONTENT_RANGE, value);
            }
            return Ok(response);
        }
    };
    let mut builder = builder
        .status(status)
        .header(header::CONTENT_LENGTH, end - start);
    if status == StatusCode::PARTIAL_CONTENT {
        builder = builder.header(
            header::CONTENT_RANGE,
            format!("bytes {start}-{}/{size}", end - 1),
        );
    }
    let body = chunk_stream(state.clone(), content.chunks, start, end);
    builder.body(body).map_err(ApiError::internal)
}

/// A chunk's bytes, from the database for small ones, else from the blob store, carrying a lease
/// of the transfer budget for their size (waiting for room; see `budget.rs`).
pub async fn read_chunk(state: &AppState, chunk: &PlacedChunk) -> std::io::Result<Bytes> {
    let lease = state.transfers.lease(chunk_len(chunk)).await;
    Ok(lease.wrap(read_unleased(state, chunk).await?))
}

/// [`read_chunk`] if the budget has room for it now, else `None`.
pub async fn try_read_chunk(
    state: &AppState,
    chunk: &PlacedChunk,
) -> Option<std::io::Result<Bytes>> {
    let lease = state.transfers.try_lease(chunk_len(chunk))?;
    Some(
        read_unleased(state, chunk)
            .await
            .map(|bytes| lease.wrap(bytes)),
    )
}

fn chunk_len(chunk: &PlacedChunk) -> usize {
    usize::try_from(chunk.size).unwrap_or(usize::MAX)
}

async fn read_unleased(state: &AppState, chunk: &PlacedChunk) -> std::io::Result<Bytes> {
    if chunk.inline {
        let inline = state
            .store
            .inline_chunk(&chunk.sha256)
            .await
            .map_err(std::io::Error::other)?;
        if let Some(bytes) = inline {
            return Ok(Bytes::from(bytes));
        }
    }
    state
        .blobs
        .get(chunk.sha256)
        .await
        .map_err(std::io::Error::other)
}

/// The bytes `start..end` of a file made of `chunks`, read chunk by chunk with the read-ahead the
/// blob store wants (a few chunks in memory at most, each leased from the transfer budget until the
/// connection has written it).
fn chunk_stream(state: AppState, chunks: Vec<PlacedChunk>, start: u64, end: u64) -> Body {
    let read_ahead = state.blobs.read_ahead();
    let wanted = chunks
        .into_iter()
        .filter(move |c| c.offset < end && c.offset + c.size > start);
    let stream = futures_util::stream::iter(wanted)
        .map(move |chunk| {
            let state = state.clone();
            async move {
                let bytes = read_chunk(&state, &chunk).await?;
                let from = start.saturating_sub(chunk.offset) as usize;
                let to = (end.min(chunk.offset + chunk.size) - chunk.offset) as usize;
                if bytes.len() < to {
                    return Err(std::io::Error::other(format!(
                        "chunk {} is short",
                        chunk.sha256
                    )));
                }
                Ok::<_, std::io::Error>(bytes.slice(from..to))
            }
        })
        .buffered(read_ahead);
    Body::from_stream(stream)
}

/// Whether a browser shown `mime` inline could run script from it: only images (not SVG), PDF,
/// audio, video and plain text may be shown inline; anything else is always an attachment.
fn cannot_script(mime: &str) -> bool {
    let essence = mime
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.split_once('/') {
        Some(("image", subtype)) => !subtype.starts_with("svg"),
        Some(("audio" | "video", _)) => true,
        _ => essence == "application/pdf" || essence == "text/plain",
    }
}

/// `Content-Disposition` with an ASCII fallback and the exact name in RFC 8187 form.
pub(crate) fn disposition(name: &str, inline: bool) -> String {
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded = percent_encoding::utf8_percent_encode(name, ATTR_CHAR_ESCAPES);
    let kind = if inline { "inline" } else { "attachment" };
    format!("{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

/// A file's versions, newest first.
#[utoipa::path(get, path = "/api/v1/files/{id}/versions", tag = "content", params(("id" = satchel_proto::NodeRef, Path, description = "node id or `root`"), PageParams),
    responses((status = 200, body = Page<VersionInfo>)), security(("bearer" = [])))]
pub async fn versions(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<VersionInfo>>> {
    Ok(Json(
        state
            .store
            .versions(&actor, node_ref(&id)?, page.limit(), page.cursor.as_deref())
            .await?,
    ))
}

/// Make an old version the newest one (under a new version number).
#[utoipa::path(post, path = "/api/v1/files/{id}/versions/{n}/restore", tag = "content",
    params(("id" = satchel_proto::NodeRef, Path, description = "node id or `root`"), ("n" = u64, Path)), responses((status = 200, body = Node)), security(("bearer" = [])))]
pub async fn restore_version(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath((id, number)): ApiPath<(String, String)>,
) -> ApiResult<Response> {
    let number: u64 = number
        .parse()
        .map_err(|_| ApiError::new(ProblemCode::BadRequest, "a version is a positive number"))?;
    let node = state
        .store
        .restore_version(&actor, node_ref(&id)?, number)
        .await?;
    Ok(written(node, false))
}

/// `?version=` of a chunk list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChunksParams {
    pub version: Option<u64>,
}

/// The ordered chunk list of a version (for delta downloads).
#[utoipa::path(get, path = "/api/v1/files/{id}/chunks", tag = "content", params(("id" = satchel_proto::NodeRef, Path, description = "node id or `root`"), ChunksParams),
    responses((status = 200, body = Page<ChunkInfo>)), security(("bearer" = [])))]
pub async fn chunks(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<ChunksParams>,
) -> ApiResult<Json<Page<ChunkInfo>>> {
    let content = state
        .store
        .version_content(&actor, node_ref(&id)?, params.version)
        .await?;
    let entries = content
        .chunks
        .into_iter()
        .map(|c| ChunkInfo {
            index: c.index,
            offset: c.offset,
            size: c.size,
            sha256: c.sha256,
        })
        .collect();
    Ok(Json(Page {
        entries,
        next_cursor: None,
    }))
}
