//! A selection of files and folders as one zip, for the browser's own download manager:
//! `POST /api/v1/zip {node_ids}` records the selection (see `satchel_meta`'s `zip_urls.rs`) and
//! answers a short-lived signed URL, `/api/v1/zip/{id}?kid=&sig=`, that streams the archive without
//! a token (the same stored, ZIP64 writer as public links' folders: one chunk in memory at a time).
//!
//! Invariants: every id is checked at once, as the caller (another user's id is `404`, a trashed
//! node `409 trashed`: nothing is recorded); the signature (an HMAC under the server's URL key, over
//! a purpose distinct from download URLs') is checked before any lookup (`403 bad_signature`); a
//! download acts as its maker through the session that made it, so it ends with that session
//! (`410 url_revoked`) and after its time (`410 url_expired`), and a node trashed or lost since is
//! `404`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use satchel_meta::{MAX_ZIP_NODES, StoreError, ZipGrant};
use satchel_proto::{Node, NodeKind, NodeRef, Problem, ProblemCode};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, Authed, node_ref};
use crate::sharing::signed::SignedParams;
use crate::sharing::zip::selection_zip;
use crate::state::AppState;

/// How long a zip URL works by default, and at most: long enough to start the download (which
/// then runs as long as it needs).
const DEFAULT_TTL_SECS: u64 = 300;
const MAX_TTL_SECS: u64 = 3600;

/// `POST /api/v1/zip`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ZipRequest {
    /// Files and folders (`root` for the whole tree), at most 10,000.
    #[schema(value_type = Vec<satchel_proto::NodeRef>, min_items = 1, max_items = 10000)]
    pub node_ids: Vec<String>,
    /// Seconds the URL works (default 300, at most 3600).
    #[serde(default, deserialize_with = "satchel_proto::option_int64")]
    #[schema(maximum = 9223372036854775807_u64)]
    pub ttl_seconds: Option<u64>,
}

/// A zip URL, as made.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ZipUrl {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

fn mac(key: &[u8], id: Uuid) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(format!("zip-url\n{id}").as_bytes());
    mac
}

/// Make a short-lived URL that downloads the selection as one zip archive (stored entries, ZIP64),
/// without a token, while the session making it lasts.
#[utoipa::path(post, path = "/api/v1/zip", tag = "content", request_body = ZipRequest,
    responses((status = 200, body = ZipUrl), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "trashed", body = Problem)),
    security(("bearer" = [])))]
pub async fn create_zip_url(
    State(state): State<AppState>,
    Authed(actor): Authed,
    headers: HeaderMap,
    ApiJson(request): ApiJson<ZipRequest>,
) -> ApiResult<Json<ZipUrl>> {
    if request.node_ids.is_empty() || request.node_ids.len() > MAX_ZIP_NODES {
        return Err(ApiError::new(
            ProblemCode::BadRequest,
            format!("node_ids names 1 to {MAX_ZIP_NODES} nodes"),
        ));
    }
    let nodes = request
        .node_ids
        .iter()
        .map(|id| node_ref(id))
        .collect::<ApiResult<Vec<_>>>()?;
    let ttl = request
        .ttl_seconds
        .unwrap_or(DEFAULT_TTL_SECS)
        .clamp(1, MAX_TTL_SECS);
    let expires_at = Utc::now() + chrono::Duration::seconds(ttl as i64);
    let made = state
        .store
        .create_zip_url(&actor, &nodes, expires_at)
        .await?;
    let (kid, key) = &state.url_keys[0];
    let sig = hex::encode(mac(key, made.id).finalize().into_bytes());
    let url = format!(
        "{}/api/v1/zip/{}?kid={kid}&sig={sig}",
        crate::sharing::base_url(&state, &headers),
        made.id
    );
    Ok(Json(ZipUrl {
        url,
        expires_at: made.expires_at,
    }))
}

/// Download a selection as a zip through a zip URL: no token. `403 bad_signature` if anything was
/// altered, `410 url_expired` after its time, `410 url_revoked` once its session ended, `404` when
/// a node is no longer reached (trashed, or a share revoked).
#[utoipa::path(get, path = "/api/v1/zip/{id}", tag = "content", params(("id" = uuid::Uuid, Path), SignedParams),
    responses((status = 200, content_type = "application/zip", body = Vec<u8>),
        (status = 403, description = "bad_signature", body = Problem),
        (status = 404, body = Problem),
        (status = 410, description = "url_expired, url_revoked", body = Problem)))]
pub async fn zip_download(
    State(state): State<AppState>,
    Path(id): Path<String>,
    crate::http::extract::ApiQuery(params): crate::http::extract::ApiQuery<SignedParams>,
) -> ApiResult<Response> {
    let bad = || ApiError::bare(ProblemCode::BadSignature);
    let id = Uuid::parse_str(&id).map_err(|_| bad())?;
    let key = state
        .url_keys
        .iter()
        .find(|(kid, _)| *kid == params.kid)
        .map(|(_, key)| key)
        .ok_or_else(bad)?;
    let sig = hex::decode(&params.sig).map_err(|_| bad())?;
    // Constant-time comparison.
    mac(key, id).verify_slice(&sig).map_err(|_| bad())?;
    let (node_ids, maker) = match state.store.zip_url_grant(id).await? {
        ZipGrant::Expired => return Err(ApiError::bare(ProblemCode::UrlExpired)),
        ZipGrant::Ended => return Err(ApiError::bare(ProblemCode::UrlRevoked)),
        ZipGrant::Live { node_ids, maker } => (node_ids, maker),
    };
    let mut nodes = Vec::with_capacity(node_ids.len());
    for id in node_ids {
        let node = match state.store.node(&maker, NodeRef::Id(id)).await {
            Err(StoreError::NotFound) => return Err(ApiError::bare(ProblemCode::NotFound)),
            other => other?,
        };
        if node.deleted_at.is_some() {
            return Err(ApiError::bare(ProblemCode::NotFound));
        }
        nodes.push(node);
    }
    let archive = archive_name(&nodes);
    selection_zip(&state, *maker, nodes, &archive).await
}

/// One folder: its name. Otherwise the name of the folder they share, else "Satchel".
fn archive_name(nodes: &[Node]) -> String {
    if let [node] = nodes
        && node.kind == NodeKind::Folder
        && !node.name.is_empty()
    {
        return node.name.clone();
    }
    let parent_of = |node: &Node| {
        node.path
            .rsplit_once('/')
            .map(|(parent, _)| parent.to_owned())
    };
    let first = nodes.first().and_then(parent_of);
    match first {
        Some(parent) if nodes.iter().all(|n| parent_of(n).as_ref() == Some(&parent)) => parent
            .rsplit('/')
            .next()
            .filter(|name| !name.is_empty())
            .unwrap_or("Satchel")
            .to_owned(),
        _ => "Satchel".to_owned(),
    }
}
