//! `/s/{token}`: what a public link shows a visitor without an account. Every answer to a known
//! link is written to its access log. Unknown tokens are `404` after the same work as known ones
//! (one lookup by the token's hash), so answers do not tell which tokens exist.
//!
//! Wrong link passwords are limited per link and address (`link_password_failures_allowed`) and per
//! link over all addresses (`link_password_failures_per_link`, so many addresses do not multiply
//! the guesses); a refusal is `429` with `Retry-After` equal to the seconds its detail states.

use std::net::IpAddr;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use satchel_meta::{Actor, ContentTarget, LinkAccess, LinkPermission, LinkRecord, WriteMode};
use satchel_proto::{Node, NodeKind, NodeName, NodeRef, Problem, ProblemCode};

pub use super::public_wire::{
    LinkUploadForm, PublicEntry, PublicFolder, PublicPage, PublicParams, UploadLinkInfo,
    UploadReceipt, ZipDownload,
};
use crate::accounts::password;
use crate::accounts::throttle::refuse_longest;
use crate::accounts::tokens::refresh_hash;
use crate::error::{ApiError, ApiResult};
use crate::files::content::{file_name, if_none_match, mime_for, serve_content};
use crate::files::ingest::{Expectations, ingest};
use crate::http::client_addr::ClientAddr;
use crate::http::extract::{ApiMultipart, ApiPath, ApiQuery, NamePath};
use crate::state::AppState;

use super::public_page;

/// A link that passed its checks, with its maker acting (whose access it uses) and the node it
/// reaches.
pub(super) struct Visit {
    pub(super) link: LinkRecord,
    pub(super) maker: Actor,
    pub(super) node: Node,
}

/// The tallies of wrong passwords for a link: from one address, and from everyone.
struct GuessKeys {
    pair: String,
    link: String,
}

impl GuessKeys {
    fn new(link: &LinkRecord, address: IpAddr) -> Self {
        GuessKeys {
            pair: format!("pair:{}:{address}", link.id),
            link: format!("link:{}", link.id),
        }
    }

    /// `Err(429)` while the address may not guess: it has used up its own wrong guesses, or the
    /// link has had its fill from all addresses.
    async fn check(&self, state: &AppState) -> ApiResult<()> {
        let pair = state.link_limiter.tally(&self.pair).await;
        let all = state.link_limiter.tally(&self.link).await;
        let config = &state.config;
        refuse_longest([
            (pair.count >= config.link_password_failures_allowed).then_some(pair.window_left),
            (all.count >= config.link_password_failures_per_link).then_some(all.window_left),
        ])
    }

    async fn failed(&self, state: &AppState) {
        state.link_limiter.fail(&self.pair).await;
        state.link_limiter.fail(&self.link).await;
    }
}

/// Checks a known link for a request: enabled, not expired, the password if it has one, and its
/// node alive and still changeable by its maker (a trashed node makes the link `404` until it is
/// restored; a maker who lost access, or kept only `view`, makes it `404`).
async fn admit(
    state: &AppState,
    link: LinkRecord,
    maker: Actor,
    headers: &HeaderMap,
    address: IpAddr,
    grant: Option<&str>,
) -> ApiResult<Visit> {
    if link.disabled {
        return Err(ApiError::bare(ProblemCode::LinkDisabled));
    }
    if link.expires_at.is_some_and(|at| at <= Utc::now()) {
        return Err(ApiError::bare(ProblemCode::LinkExpired));
    }
    let granted = |stored: &str| {
        grant.is_some_and(|grant| public_page::grant_holds(state, link.id, stored, grant))
    };
    if let Some(stored) = link.password_hash.as_deref().filter(|s| !granted(s)) {
        let Some(given) = headers
            .get("x-share-password")
            .and_then(|value| value.to_str().ok())
        else {
            return Err(ApiError::bare(ProblemCode::PasswordRequired));
        };
        let guesses = GuessKeys::new(&link, address);
        guesses.check(state).await?;
        if !password::verify(given.to_owned(), stored.to_owned()).await {
            guesses.failed(state).await;
            return Err(ApiError::bare(ProblemCode::WrongPassword));
        }
    }
    // Acting as the link's maker: a member who lost the folder (or now only views it) no longer
    // publishes it.
    let node = state
        .store
        .link_target(&maker, link.node_id)
        .await
        .map_err(|_| ApiError::bare(ProblemCode::NotFound))?;
    if node.deleted_at.is_some() {
        return Err(ApiError::bare(ProblemCode::NotFound));
    }
    Ok(Visit { link, maker, node })
}

/// Runs `answer` for a link: unknown tokens are `404`; for known ones the outcome is logged.
async fn visit<F, Fut>(
    state: &AppState,
    token: &str,
    headers: &HeaderMap,
    address: IpAddr,
    grant: Option<&str>,
    what: String,
    answer: F,
) -> Response
where
    F: FnOnce(Visit) -> Fut,
    Fut: std::future::Future<Output = ApiResult<Response>>,
{
    let found = match state.store.link_by_token_hash(&refresh_hash(token)).await {
        Ok(found) => found,
        Err(error) => return ApiError::from(error).into_response(),
    };
    let Some((link, maker)) = found else {
        return ApiError::bare(ProblemCode::NotFound).into_response();
    };
    let link_id = link.id;
    let response = match admit(state, link, maker, headers, address, grant).await {
        Ok(visit) => answer(visit)
            .await
            .unwrap_or_else(IntoResponse::into_response),
        Err(error) => error.into_response(),
    };
    let access = LinkAccess {
        at: Utc::now(),
        address: address.to_string(),
        path: what,
        status: response.status().as_u16(),
    };
    if let Err(error) = state.store.log_link_access(link_id, access).await {
        tracing::warn!("could not log a link access: {error}");
    }
    response
}

/// Whether a GET counts as a download: whole-file requests and ranges from the start (a player
/// seeking inside a video does not use up the link).
fn counts_as_download(headers: &HeaderMap) -> bool {
    match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(range) => range.trim().starts_with("bytes=0-"),
    }
}

async fn serve_file(
    state: &AppState,
    visit: &Visit,
    file: &Node,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let content = state
        .store
        .version_content(&visit.maker, NodeRef::Id(file.id), None)
        .await?;
    // A revalidation answered with 304 moves no bytes: it is not a download.
    let revalidating = if_none_match(headers, &format!("\"{}\"", content.version.sha256));
    if !revalidating
        && counts_as_download(headers)
        && !state.store.count_download(visit.link.id).await?
    {
        return Err(ApiError::bare(ProblemCode::DownloadLimit));
    }
    serve_content(state, content, headers, false)
}

async fn list_folder(
    state: &AppState,
    visit: &Visit,
    folder: &Node,
    cursor: Option<&str>,
) -> ApiResult<Response> {
    let page = state
        .store
        .children(&visit.maker, NodeRef::Id(folder.id), false, 500, cursor)
        .await?;
    let entries = page
        .entries
        .into_iter()
        .map(|node| PublicEntry {
            name: node.name,
            kind: node.kind,
            size: node.size,
            modified_at: node.modified_at,
        })
        .collect();
    Ok(Json(PublicFolder {
        name: folder.name.clone(),
        entries,
        next_cursor: page.next_cursor,
    })
    .into_response())
}

/// What a GET of the link itself, or of a path inside its folder, answers.
async fn show(
    state: &AppState,
    visit: Visit,
    path: &str,
    params: &PublicParams,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    if visit.link.permission == LinkPermission::Upload {
        if !path.is_empty() {
            return Err(ApiError::bare(ProblemCode::NotFound));
        }
        if params.info.is_some() {
            return Ok(public_page::info(state, &visit, &visit.node, headers));
        }
        let info = UploadLinkInfo {
            name: visit.node.name.clone(),
            upload_only: true,
        };
        return Ok(Json(info).into_response());
    }
    let mut node = visit.node.clone();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        if node.kind != NodeKind::Folder {
            return Err(ApiError::bare(ProblemCode::NotFound));
        }
        let name = NodeName::new(part).map_err(|_| ApiError::bare(ProblemCode::NotFound))?;
        node = state
            .store
            .child_named(&visit.maker, NodeRef::Id(node.id), &name)
            .await?
            .ok_or_else(|| ApiError::bare(ProblemCode::NotFound))?;
    }
    if params.info.is_some() {
        return Ok(public_page::info(state, &visit, &node, headers));
    }
    match node.kind {
        NodeKind::File => serve_file(state, &visit, &node, headers).await,
        NodeKind::Folder if params.download.as_deref() == Some("zip") => {
            if !state.store.count_download(visit.link.id).await? {
                return Err(ApiError::bare(ProblemCode::DownloadLimit));
            }
            super::zip::folder_zip(state, visit.maker.clone(), node).await
        }
        NodeKind::Folder => list_folder(state, &visit, &node, params.cursor.as_deref()).await,
    }
}

/// `GET /s/{token}`: a file's bytes, a folder's listing, or what an upload link is; a browser
/// gets the public link page instead.
#[utoipa::path(get, path = "/s/{token}", tag = "public",
    params(("token" = String, Path, description = "the link's token", pattern = r"^[A-Za-z0-9_-]+$"), PublicParams, ("X-Share-Password" = Option<String>, Header, description = "the link's password, if it has one")),
    responses((status = 200, description = "a file's bytes, a folder's listing (or zip), or what an upload link is",
            content((Vec<u8> = "*/*"), (PublicPage = "application/json"),
                (Vec<u8> = "application/zip"))),
        (status = 206, description = "a range of a file"), (status = 304, description = "not modified"),
        (status = 401, description = "password_required, wrong_password", body = Problem),
        (status = 404, description = "no such link, or its file or folder is gone", body = Problem),
        (status = 410, description = "link_expired, link_disabled, download_limit", body = Problem),
        (status = 429, description = "too_many_requests: too many wrong passwords (Retry-After)", body = Problem)))]
pub async fn get_link(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    ApiPath(token): ApiPath<String>,
    ApiQuery(params): ApiQuery<PublicParams>,
    headers: HeaderMap,
) -> Response {
    if public_page::wants_page(&headers, &params)
        && let Some(page) = public_page::page(&state, &headers).await
    {
        return page;
    }
    let what = if params.info.is_some() {
        "/ (info)"
    } else {
        "/"
    };
    visit(
        &state,
        &token,
        &headers,
        address,
        params.grant.as_deref(),
        what.to_owned(),
        |visit| async { show(&state, visit, "", &params, &headers).await },
    )
    .await
}

/// `GET /s/{token}/{path}`: a file or folder inside a shared folder.
#[utoipa::path(get, path = "/s/{token}/{path}", tag = "public",
    params(("token" = String, Path, description = "the link's token", pattern = r"^[A-Za-z0-9_-]+$"),
        ("path" = String, Path, description = "names inside the shared folder, `/`-separated"), PublicParams, ("X-Share-Password" = Option<String>, Header, description = "the link's password, if it has one")),
    responses((status = 200, description = "a file's bytes, or a folder's listing (or zip)",
            content((Vec<u8> = "*/*"), (PublicFolder = "application/json"), (Vec<u8> = "application/zip"))),
        (status = 206, description = "a range of a file"), (status = 304, description = "not modified"),
        (status = 401, description = "password_required, wrong_password", body = Problem),
        (status = 404, description = "no such link, or its file or folder is gone", body = Problem),
        (status = 410, description = "link_expired, link_disabled, download_limit", body = Problem),
        (status = 429, description = "too_many_requests: too many wrong passwords (Retry-After)", body = Problem)))]
pub async fn get_in_link(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    NamePath((token, path)): NamePath<(String, String)>,
    ApiQuery(params): ApiQuery<PublicParams>,
    headers: HeaderMap,
) -> Response {
    if public_page::wants_page(&headers, &params)
        && let Some(page) = public_page::page(&state, &headers).await
    {
        return page;
    }
    let what = format!("/{path}");
    let grant = params.grant.as_deref();
    visit(
        &state,
        &token,
        &headers,
        address,
        grant,
        what,
        |visit| async { show(&state, visit, &path, &params, &headers).await },
    )
    .await
}

/// Checks that a link takes uploads and returns the room an upload has: the link's own limit and
/// the quota of whoever owns the folder (a link made by a member fills the owner's quota).
async fn upload_room(state: &AppState, visit: &Visit) -> ApiResult<Option<u64>> {
    if visit.link.permission != LinkPermission::Upload {
        return Err(ApiError::new(
            ProblemCode::ReadOnly,
            "this link does not take uploads",
        ));
    }
    let quota = state
        .store
        .quota_for(&visit.maker, NodeRef::Id(visit.node.id))
        .await?
        .map(|(quota, used)| quota.saturating_sub(used));
    Ok(match (quota, visit.link.max_upload_bytes) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    })
}

fn too_large(visit: &Visit, length: Option<u64>) -> ApiResult<()> {
    match (visit.link.max_upload_bytes, length) {
        (Some(limit), Some(length)) if length > limit => Err(ApiError::new(
            ProblemCode::PayloadTooLarge,
            format!("this link takes files of at most {limit} bytes"),
        )),
        _ => Ok(()),
    }
}

/// Stores an upload under a free name in the link's folder; answers only its name and size.
async fn receive<S, E>(
    state: &AppState,
    visit: &Visit,
    name: NodeName,
    body: S,
    expect: Expectations,
    declared: Option<&str>,
) -> ApiResult<Response>
where
    S: futures_util::Stream<Item = Result<bytes::Bytes, E>> + Unpin,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let stored = ingest(state, body, expect).await?;
    let content = stored.into_content(mime_for(name.as_str(), declared));
    let target = ContentTarget::Named {
        parent: NodeRef::Id(visit.node.id),
        name,
        mode: WriteMode::Rename,
    };
    let (node, _) = state
        .store
        .write_content(&visit.maker, target, content, None)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(UploadReceipt {
            name: node.name,
            size: node.size,
        }),
    )
        .into_response())
}

/// `PUT /s/{token}/{name}`: a raw upload to an upload-only link.
#[utoipa::path(put, path = "/s/{token}/{path}", tag = "public",
    params(("token" = String, Path, description = "the link's token", pattern = r"^[A-Za-z0-9_-]+$"),
        ("path" = NodeName, Path, description = "the file's name"), ("X-Share-Password" = Option<String>, Header, description = "the link's password, if it has one")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = UploadReceipt, description = "stored under a free name"),
        (status = 403, description = "read_only: not an upload link", body = Problem),
        (status = 413, description = "payload_too_large (the link's limit), quota_exceeded", body = Problem),
        (status = 401, description = "password_required, wrong_password", body = Problem),
        (status = 404, description = "no such link, or its file or folder is gone", body = Problem),
        (status = 410, description = "link_expired, link_disabled, download_limit", body = Problem),
        (status = 429, description = "too_many_requests: too many wrong passwords (Retry-After)", body = Problem)))]
pub async fn put_to_link(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    NamePath((token, name)): NamePath<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let what = format!("upload {name}");
    let (state, headers) = (&state, &headers);
    visit(
        state,
        &token,
        headers,
        address,
        None,
        what,
        move |visit| async move {
            let room = upload_room(state, &visit).await?;
            let name = NodeName::new(name)
                .map_err(|e| ApiError::new(ProblemCode::InvalidName, e.to_string()))?;
            let length = headers
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok());
            too_large(&visit, length)?;
            let expect = Expectations {
                length,
                room,
                ..Default::default()
            };
            let declared = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok());
            receive(
                state,
                &visit,
                name,
                body.into_data_stream(),
                expect,
                declared,
            )
            .await
        },
    )
    .await
}

/// `POST /s/{token}`: a `multipart/form-data` upload (field `file`) to an upload-only link.
#[utoipa::path(post, path = "/s/{token}", tag = "public",
    params(("token" = String, Path, description = "the link's token", pattern = r"^[A-Za-z0-9_-]+$"), ("X-Share-Password" = Option<String>, Header, description = "the link's password, if it has one")),
    request_body(content = LinkUploadForm, content_type = "multipart/form-data", description = "field `file` (its filename is the name)"),
    responses((status = 201, body = UploadReceipt, description = "stored under a free name"),
        (status = 403, description = "read_only: not an upload link", body = Problem),
        (status = 413, description = "payload_too_large (the link's limit), quota_exceeded", body = Problem),
        (status = 401, description = "password_required, wrong_password", body = Problem),
        (status = 404, description = "no such link, or its file or folder is gone", body = Problem),
        (status = 410, description = "link_expired, link_disabled, download_limit", body = Problem),
        (status = 429, description = "too_many_requests: too many wrong passwords (Retry-After)", body = Problem)))]
pub async fn post_to_link(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    ApiPath(token): ApiPath<String>,
    headers: HeaderMap,
    ApiMultipart(mut form): ApiMultipart,
) -> Response {
    let state = &state;
    let at_most = crate::files::content::content_length(&headers);
    visit(
        state,
        &token,
        &headers,
        address,
        None,
        "upload (form)".to_owned(),
        move |visit| async move {
            let room = upload_room(state, &visit).await?;
            let bad_form = |e: axum::extract::multipart::MultipartError| {
                ApiError::new(ProblemCode::BadRequest, e.body_text())
            };
            while let Some(field) = form.next_field().await.map_err(bad_form)? {
                if field.name() != Some("file") {
                    continue;
                }
                let name = file_name(&field)?;
                let declared = field.content_type().map(str::to_owned);
                let expect = Expectations {
                    room,
                    at_most,
                    ..Default::default()
                };
                return receive(
                    state,
                    &visit,
                    name,
                    Box::pin(field),
                    expect,
                    declared.as_deref(),
                )
                .await;
            }
            Err(ApiError::new(
                ProblemCode::BadRequest,
                "the form has no `file` field",
            ))
        },
    )
    .await
}
