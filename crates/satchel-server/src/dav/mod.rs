//! WebDAV at `/dav/` (and `/dav/files/{email}/`, the ownCloud/Nextcloud-style path some apps
//! expect): a second front end over the same tree, versions, trash, quotas and shares.
//!
//! The protocol (RFC 4918 classes 1 and 2: PROPFIND/PROPPATCH, MKCOL, COPY/MOVE, LOCK/UNLOCK, the
//! `If:` header, multistatus answers) is carried by the `dav-server` crate; this module gives it
//! Satchel's tree as a filesystem (`fs.rs`, files in `file.rs`, properties in `props.rs`) and locks
//! kept in the metadata database (`locks.rs`), built per request for the signed-in account.
//!
//! What this module decides before the protocol runs:
//! - every request signs in with HTTP Basic (`accounts/app_passwords.rs`); a `read_only` app
//!   password is refused every method that writes (`403`), before anything is read;
//! - `PROPFIND` with `Depth: infinity` (or no Depth, which means infinity) is `403` with
//!   `propfind-finite-depth`: a listing is one folder at a time, so its cost is bounded;
//! - `GET`/`HEAD` of a file go through the API's own download (`serve_content`: Range, ETag,
//!   streaming a few chunks at a time), so both front ends serve bytes the same way.

mod file;
mod fs;
mod locks;
mod props;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use dav_server::davpath::DavPath;
use dav_server::{DavHandler, DavMethod, DavMethodSet};
use satchel_proto::{AppPasswordScope, NodeKind, NodeRef, ProblemCode};

use crate::accounts::app_passwords::{BasicActor, basic_auth};
use crate::error::{ApiError, ApiResult};
use crate::http::client_addr::ClientAddr;
use crate::state::AppState;

pub use fs::RequestContext;

/// Where WebDAV is served.
pub const DAV_ROOT: &str = "/dav";

/// Methods that change something; a `read_only` app password may use none of them.
const WRITE_METHODS: &[&str] = &[
    "PUT",
    "DELETE",
    "MKCOL",
    "COPY",
    "MOVE",
    "PROPPATCH",
    "LOCK",
    "UNLOCK",
    "PATCH",
    "POST",
];

/// Every request under `/dav`.
pub async fn handle(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    request: Request,
) -> Response {
    let basic = match basic_auth(&state, request.headers(), address).await {
        Ok(basic) => basic,
        Err(error) => return challenge(error),
    };
    match serve(state, basic, request).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

/// A refusal to sign in, with the challenge that makes clients ask for a password.
fn challenge(error: ApiError) -> Response {
    let unauthorized = error.code.status() == 401;
    let mut response = error.into_response();
    if unauthorized {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"Satchel\", charset=\"UTF-8\""),
        );
    }
    response
}

async fn serve(state: AppState, basic: BasicActor, request: Request) -> ApiResult<Response> {
    let prefix = prefix_of(&state, &basic, request.uri().path()).await?;
    let method = request.method().clone();
    if basic.scope == AppPasswordScope::ReadOnly && WRITE_METHODS.contains(&method.as_str()) {
        return Err(ApiError::new(
            ProblemCode::ReadOnly,
            "this app password may only read",
        ));
    }
    if let Some(value) = request.headers().get("if")
        && !value.to_str().is_ok_and(if_header_is_balanced)
    {
        return Err(ApiError::new(
            ProblemCode::BadRequest,
            "the If header is malformed",
        ));
    }
    if method.as_str() == "PROPFIND" && depth_is_infinite(request.headers()) {
        return Ok(finite_depth_required());
    }
    if (method == Method::GET || method == Method::HEAD)
        && let Some(response) = download(
            &state,
            &basic,
            &prefix,
            request.uri().path(),
            request.headers(),
        )
        .await?
    {
        return Ok(response);
    }
    let context = RequestContext::of(
        method.as_str(),
        request.headers(),
        request.uri().path(),
        &prefix,
        basic.scope,
    )?;
    let oc_mtime = context.modified_at.is_some() && method == Method::PUT;
    let user_id = basic.actor.user_id;
    let filesystem = fs::SatchelFs::new(state.clone(), basic.actor, context);
    let locks = locks::DbLocks::new(state.store.clone(), user_id, prefix.clone());
    let mut methods = DavMethodSet::WEBDAV_RW;
    // Partial updates (sabredav's PATCH) would rewrite a file in place; versions are whole files.
    methods.remove(DavMethod::Patch);
    let handler = DavHandler::builder()
        .strip_prefix(prefix)
        .filesystem(Box::new(filesystem))
        .locksystem(Box::new(locks))
        .methods(methods)
        .build_handler();
    let mut response = handler.handle(request).await.map(Body::new);
    let success = response.status().is_success();
    let headers = response.headers_mut();
    if method == Method::OPTIONS {
        headers.insert("dav", HeaderValue::from_static("1, 2"));
    }
    if oc_mtime && success {
        headers.insert("x-oc-mtime", HeaderValue::from_static("accepted"));
    }
    Ok(response)
}

/// The URL prefix of this request's tree: `/dav`, or `/dav/files/{email}` for the signed-in
/// account (another account's email is `404`: nobody else's tree is reachable).
async fn prefix_of(state: &AppState, basic: &BasicActor, path: &str) -> ApiResult<String> {
    let Some(rest) = path.strip_prefix("/dav/files/") else {
        return Ok(DAV_ROOT.to_owned());
    };
    let segment = rest.split('/').next().unwrap_or_default();
    let email = percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .map_err(|_| ApiError::bare(ProblemCode::NotFound))?;
    let user = state
        .store
        .user_by_id(basic.actor.user_id)
        .await?
        .ok_or(ProblemCode::NotFound)?;
    if satchel_meta::email_key(&email) != satchel_meta::email_key(&user.email) {
        return Err(ApiError::new(ProblemCode::NotFound, "no such account here"));
    }
    // Paths are compared decoded (`%40` and `@` are the same segment).
    Ok(format!("/dav/files/{email}"))
}

/// Whether a PROPFIND asks for the whole subtree (`infinity`, or no `Depth` at all).
fn depth_is_infinite(headers: &HeaderMap) -> bool {
    match headers.get("depth").and_then(|v| v.to_str().ok()) {
        Some(depth) => depth.trim().eq_ignore_ascii_case("infinity"),
        None => true,
    }
}

/// Whether every `<…>`, `[…]` and `(…)` of an `If` header is closed (quotes inside ETags
/// respected). The protocol handler's parser assumes so, and a header cut short — some clients
/// truncate long ones — must be refused, not read past its end.
fn if_header_is_balanced(value: &str) -> bool {
    let mut open: Option<char> = None;
    let mut lists = 0usize;
    let mut quoted = false;
    for c in value.chars() {
        match (open, c) {
            (Some('['), '"') => quoted = !quoted,
            (Some('['), ']') if !quoted => open = None,
            (Some('<'), '>') => open = None,
            (Some(_), _) => {}
            (None, '<' | '[') => open = Some(c),
            (None, '(') => lists += 1,
            (None, ')') if lists > 0 => lists -= 1,
            (None, ')') => return false,
            (None, _) => {}
        }
    }
    open.is_none() && lists == 0 && !quoted
}

/// `403` with the RFC 4918 precondition `propfind-finite-depth`.
fn finite_depth_required() -> Response {
    let body = props::error_body("propfind-finite-depth");
    Response::builder()
        .status(StatusCode::FORBIDDEN)
        .header(header::CONTENT_TYPE, "application/xml; charset=utf-8")
        .body(Body::from(body))
        .unwrap_or_else(|_| StatusCode::FORBIDDEN.into_response())
}

/// A file's bytes through the API's download path; `None` for anything that is not a file (the
/// protocol handler answers those).
async fn download(
    state: &AppState,
    basic: &BasicActor,
    prefix: &str,
    request_path: &str,
    headers: &HeaderMap,
) -> ApiResult<Option<Response>> {
    let Some(path) = tree_path(request_path, prefix) else {
        return Ok(None);
    };
    let Ok(node) = state.store.node_by_path(&basic.actor, &path).await else {
        return Ok(None);
    };
    if node.kind != NodeKind::File {
        return Ok(None);
    }
    if not_modified_since(headers, node.modified_at) {
        let etag = format!(
            "\"{}\"",
            node.sha256.map(|s| s.to_hex()).unwrap_or_default()
        );
        return Ok(Some(
            Response::builder()
                .status(StatusCode::NOT_MODIFIED)
                .header(header::ETAG, etag)
                .body(Body::empty())
                .map_err(ApiError::internal)?,
        ));
    }
    let content = state
        .store
        .version_content(&basic.actor, NodeRef::Id(node.id), None)
        .await?;
    let mut response = crate::files::content::serve_content(state, content, headers, false)?;
    if let Ok(value) = HeaderValue::from_str(&httpdate(node.modified_at)) {
        response.headers_mut().insert(header::LAST_MODIFIED, value);
    }
    Ok(Some(response))
}

/// The tree path (`/a/b`, decoded) of a request path under `prefix`; `None` if it is not one.
fn tree_path(path: &str, prefix: &str) -> Option<String> {
    let mut dav = DavPath::new(path).ok()?;
    dav.set_prefix(prefix).ok()?;
    String::from_utf8(dav.as_bytes().to_vec()).ok()
}

/// `If-Modified-Since` (without `If-None-Match`, which wins) at or after `modified`.
fn not_modified_since(headers: &HeaderMap, modified: chrono::DateTime<chrono::Utc>) -> bool {
    if headers.contains_key(header::IF_NONE_MATCH) {
        return false;
    }
    headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|text| chrono::DateTime::parse_from_rfc2822(text).ok())
        .is_some_and(|since| since.timestamp() >= modified.timestamp())
}

/// An HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub(crate) fn httpdate(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}
