//! What a browser gets at `/s/{token}`: the web app's public link page, by content negotiation,
//! and what that page needs to work without an account.
//!
//! Invariants:
//! - The page is answered only to a `GET` whose `Accept` names `text/html` and that asks for no
//!   bytes (`?download=…`), no description (`?info`) and sends no link password: curl, scripts and
//!   the page's own `fetch` calls (`Accept: */*` or JSON) keep getting the file, the listing or the
//!   upload receipt as before. The page is the same for every token (it learns the link through
//!   `?info`), so answering it looks nothing up and tells nothing.
//! - `?info` describes what a link reaches — name, kind, size, type — and nothing of the owner's
//!   account (no email, no ids). It never counts as a download.
//! - A password link's `?info`, asked with the right `X-Share-Password`, hands out a *grant*: an
//!   HMAC under the server's URL key over the link, its current password hash and an expiry. A
//!   `?grant=` in place of the header lets `<img src>`, `<video>` and download links (which cannot
//!   send headers) through; changing or removing the link's password voids every grant.

use axum::body::Body;
use axum::http::{HeaderMap, Request, header};
use axum::response::Response;
use chrono::Utc;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tower::ServiceExt;
use uuid::Uuid;

use axum::Json;
use axum::response::IntoResponse;
use satchel_meta::LinkPermission;
use satchel_proto::{Node, NodeKind};
use serde::{Deserialize, Serialize};

use super::public::{PublicParams, Visit};
use crate::state::AppState;

/// How long a grant lets a visitor in without sending the password again.
const GRANT_SECS: i64 = 12 * 3600;

/// Where the front (the web app's router, mounted by the binary) serves the public link page: its
/// `LINK_PAGE`. Named here rather than imported so that a UI edit does not rebuild the server; a
/// test checks the two agree.
pub const PAGE_PATH: &str = "/link-page";

/// Whether this request is a browser opening the link (see the module's invariants).
pub fn wants_page(headers: &HeaderMap, params: &PublicParams) -> bool {
    let html = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|kind| kind.split(';').next().unwrap_or_default().trim() == "text/html");
    html && params.download.is_none()
        && params.info.is_none()
        && !headers.contains_key("x-share-password")
}

/// The web app's public link page, or `None` when the server runs without the web app.
pub async fn page(state: &AppState, headers: &HeaderMap) -> Option<Response> {
    let front = state.front.clone()?;
    let mut request = Request::get(PAGE_PATH).body(Body::empty()).ok()?;
    for name in [header::HOST, header::IF_NONE_MATCH, header::ACCEPT] {
        if let Some(value) = headers.get(&name) {
            request.headers_mut().insert(name, value.clone());
        }
    }
    let response = front.oneshot(request).await.ok()?;
    Some(response.map(Body::new))
}

fn mac(key: &[u8], link: Uuid, password_hash: &str, expires: i64) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(format!("link-grant\n{link}\n{password_hash}\n{expires}").as_bytes());
    mac
}

/// A grant for a visitor who gave link `link`'s password: `EXPIRES.SIGNATURE`.
pub fn grant(state: &AppState, link: Uuid, password_hash: &str) -> String {
    let expires = Utc::now().timestamp() + GRANT_SECS;
    let (_, key) = &state.url_keys[0];
    let signature = mac(key, link, password_hash, expires)
        .finalize()
        .into_bytes();
    format!("{expires}.{}", hex::encode(signature))
}

/// Whether `given` is an unexpired grant for link `link` under its current password hash.
pub fn grant_holds(state: &AppState, link: Uuid, password_hash: &str, given: &str) -> bool {
    let Some((expires, signature)) = given.split_once('.') else {
        return false;
    };
    let (Ok(expires), Ok(signature)) = (expires.parse::<i64>(), hex::decode(signature)) else {
        return false;
    };
    if expires <= Utc::now().timestamp() {
        return false;
    }
    state.url_keys.iter().any(|(_, key)| {
        mac(key, link, password_hash, expires)
            .verify_slice(&signature)
            .is_ok()
    })
}

/// What `?info` tells a visitor: nothing of the owner's account.
#[derive(Debug, Serialize, Deserialize)]
pub struct PublicInfo {
    pub name: String,
    pub kind: NodeKind,
    pub size: Option<u64>,
    pub mime: Option<String>,
    /// An upload-only link: it takes files and never shows what is inside.
    pub upload_only: bool,
    /// Whether downloads are counted against a limit (the page then previews nothing by itself).
    pub limited: bool,
    /// For a password link asked with its password: what `?grant=` takes instead of it.
    pub grant: Option<String>,
}

/// `?info`: what the link (or a path inside it) reaches; a grant when the password was given.
pub(super) fn info(state: &AppState, visit: &Visit, node: &Node, headers: &HeaderMap) -> Response {
    let grant = visit
        .link
        .password_hash
        .as_deref()
        .filter(|_| headers.contains_key("x-share-password"))
        .map(|hash| grant(state, visit.link.id, hash));
    let upload_only = visit.link.permission == LinkPermission::Upload;
    Json(PublicInfo {
        name: node.name.clone(),
        kind: node.kind,
        size: node.size.filter(|_| !upload_only),
        mime: node.mime.clone().filter(|_| !upload_only),
        upload_only,
        limited: visit.link.max_downloads.is_some(),
        grant,
    })
    .into_response()
}
