//! Satchel's web app and the routes that serve it: plain ES modules, CSS and one `index.html` under
//! `app/`, embedded in the binary (no bundler, no build step), or read from a folder for
//! development (`--web-dir`).
//!
//! Invariants:
//! - Every client-side route (`/`, `/files/…`, `/trash`, …) answers the same `index.html`, never
//!   cached without revalidation, so a deploy is picked up on the next load.
//! - Assets live under `/app/VERSION/…`, where VERSION is a hash of every embedded file: they are
//!   cached for a year (`immutable`), and a new build changes every URL. A folder served with
//!   `--web-dir` uses the version `dev` and `no-cache`, so edits show on reload.
//! - Every answer carries a strict Content-Security-Policy (no inline script, nothing from another
//!   origin), `nosniff`, `no-referrer` and a refusal to be framed.
//!
//! This crate knows nothing of the API: the server mounts [`router`] beside its own routes, and the
//! app talks to the API over HTTP like any client.

mod assets;

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub use assets::{Asset, embedded_version};

/// Where the app's files come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// The files compiled into the binary.
    Embedded,
    /// A folder laid out like `crates/satchel-web/app`, read on every request (development).
    Dir(PathBuf),
}

/// The paths the app routes itself: each answers `index.html`.
pub const APP_ROUTES: &[&str] = &[
    "/",
    "/files",
    "/files/{*path}",
    "/trash",
    "/shared",
    "/links",
    "/search",
    "/account",
    "/admin",
];

/// Where the public link page is served; the server answers it at `/s/{token}` to browsers (it
/// reads the token from the address bar, so one page serves every link).
pub const LINK_PAGE: &str = "/link-page";

/// The routes of the web app: its pages and its versioned assets. Stateless; merge it into the
/// server's router.
pub fn router(source: Source) -> Router {
    let source = Arc::new(source);
    let mut router = Router::new();
    for route in APP_ROUTES {
        router = router.route(route, get(index));
    }
    router
        .route(LINK_PAGE, get(link_page))
        .route("/app/{version}/{*file}", get(asset))
        .with_state(source)
}

async fn index(State(source): State<Arc<Source>>, headers: HeaderMap) -> Response {
    match assets::index(&source).await {
        Some(page) => respond(&headers, page, "no-cache"),
        None => not_found(&headers),
    }
}

async fn link_page(State(source): State<Arc<Source>>, headers: HeaderMap) -> Response {
    match assets::page(&source, "public.html").await {
        Some(page) => respond(&headers, page, "no-cache"),
        None => not_found(&headers),
    }
}

async fn asset(
    State(source): State<Arc<Source>>,
    Path((version, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some(found) = assets::file(&source, &file).await else {
        return not_found(&headers);
    };
    // An old page asking for an older version gets today's file, but must not keep it for a year.
    let cache = if matches!(*source, Source::Embedded) && version == embedded_version() {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    respond(&headers, found, cache)
}

/// The file with its ETag, or `304` when the client holds it already.
fn respond(request: &HeaderMap, asset: Asset, cache: &'static str) -> Response {
    let etag = format!("\"{}\"", asset.etag);
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.split(',').any(|tag| tag.trim() == etag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = Response::new(Body::from(asset.bytes));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        );
        response
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    secure(request, response)
}

fn not_found(request: &HeaderMap) -> Response {
    secure(
        request,
        (StatusCode::NOT_FOUND, "not found").into_response(),
    )
}

/// Adds the headers every answer of the app carries.
fn secure(request: &HeaderMap, mut response: Response) -> Response {
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&content_security_policy(request)) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// Everything from this origin only; no inline script or style; the notification socket's
/// `ws:`/`wss:` origin is named as well, since older browsers do not count it as `'self'`.
pub fn content_security_policy(request: &HeaderMap) -> String {
    let host = request
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .filter(|host| is_authority(host));
    let sockets = host.map_or_else(String::new, |host| format!(" ws://{host} wss://{host}"));
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; \
         connect-src 'self'{sockets}; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    )
}

/// A `Host` value that may go into a header as is: letters, digits, `.-:[]`.
fn is_authority(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_names_the_socket_origin_only_for_a_plain_host() {
        let mut request = HeaderMap::new();
        request.insert(header::HOST, HeaderValue::from_static("files.example:8080"));
        let policy = content_security_policy(&request);
        assert!(
            policy.contains("connect-src 'self' ws://files.example:8080 wss://files.example:8080;")
        );
        request.insert(header::HOST, HeaderValue::from_static("evil; script-src *"));
        assert!(content_security_policy(&request).contains("connect-src 'self';"));
    }
}
