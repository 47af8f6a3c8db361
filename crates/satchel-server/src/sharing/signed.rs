//! Signed download URLs: `POST /api/v1/files/{id}/download-url` hands out
//! `/api/v1/signed/{id}?version=&expires=&kid=&sig=`, which downloads that version without a token
//! until it expires. The signature is an HMAC-SHA256 over id, version and expiry under a key
//! derived from the server secret; `kid` names the key, so keys can rotate while URLs already
//! handed out keep their form (a key the server no longer holds answers `403 bad_signature`).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, TimeZone, Utc};
use hmac::{Hmac, Mac};
use satchel_proto::{NodeKind, NodeRef, Problem, ProblemCode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::files::content::serve_content;
use crate::http::extract::{ApiJson, Authed, node_ref};
use crate::state::AppState;

/// Longest a signed URL may live: a week.
const MAX_TTL_SECS: u64 = 7 * 24 * 3600;

/// The URL-signing key derived from the server secret, with its id.
pub fn url_key(secret: &[u8]) -> (String, Vec<u8>) {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(b"satchel signed download urls v1");
    let key = mac.finalize().into_bytes().to_vec();
    let kid = hex::encode(&Sha256::digest(&key)[..4]);
    (kid, key)
}

fn mac(key: &[u8], id: Uuid, version: u64, expires: i64) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(format!("{id}\n{version}\n{expires}").as_bytes());
    mac
}

/// `POST /api/v1/files/{id}/download-url`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DownloadUrlRequest {
    /// Seconds the URL works (default 3600, at most a week).
    pub ttl_seconds: Option<u64>,
}

/// A signed URL.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DownloadUrl {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// Make a URL that downloads the file's current version without a token until it expires.
#[utoipa::path(post, path = "/api/v1/files/{id}/download-url", tag = "content", params(("id" = String, Path)),
    request_body = DownloadUrlRequest, responses((status = 200, body = DownloadUrl), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn download_url(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<DownloadUrlRequest>,
) -> ApiResult<Json<DownloadUrl>> {
    let node = state.store.node(&actor, node_ref(&id)?).await?;
    if node.kind != NodeKind::File {
        return Err(ApiError::bare(ProblemCode::NotAFile));
    }
    if node.deleted_at.is_some() {
        return Err(ApiError::bare(ProblemCode::Trashed));
    }
    let version = node.version.unwrap_or(1);
    let ttl = request.ttl_seconds.unwrap_or(3600).clamp(1, MAX_TTL_SECS);
    let expires = Utc::now().timestamp() + ttl as i64;
    let (kid, key) = &state.url_keys[0];
    let sig = hex::encode(mac(key, node.id, version, expires).finalize().into_bytes());
    let url = format!(
        "{}/api/v1/signed/{}?version={version}&expires={expires}&kid={kid}&sig={sig}",
        super::base_url(&state, &headers),
        node.id
    );
    Ok(Json(DownloadUrl {
        url,
        expires_at: Utc
            .timestamp_opt(expires, 0)
            .single()
            .unwrap_or_else(Utc::now),
    }))
}

/// The query of a signed URL.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SignedParams {
    pub version: u64,
    pub expires: i64,
    pub kid: String,
    pub sig: String,
}

/// Download through a signed URL: no token; `403 bad_signature` if anything was altered,
/// `410 url_expired` after its time.
#[utoipa::path(get, path = "/api/v1/signed/{id}", tag = "content", params(("id" = String, Path), SignedParams),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>),
        (status = 403, description = "bad_signature", body = Problem), (status = 410, description = "url_expired", body = Problem)))]
pub async fn signed_download(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<SignedParams>,
    headers: HeaderMap,
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
    mac(key, id, params.version, params.expires)
        .verify_slice(&sig)
        .map_err(|_| bad())?;
    if params.expires <= Utc::now().timestamp() {
        return Err(ApiError::bare(ProblemCode::UrlExpired));
    }
    let owner = state.store.owner_of(id).await?;
    let content = state
        .store
        .version_content(&owner, NodeRef::Id(id), Some(params.version))
        .await?;
    if content.node.deleted_at.is_some() {
        return Err(ApiError::bare(ProblemCode::NotFound));
    }
    serve_content(&state, content, &headers, false)
}
