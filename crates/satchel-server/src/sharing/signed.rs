//! Signed download URLs: `POST /api/v1/files/{id}/download-url` records a URL (see
//! `satchel_meta`'s `download_urls.rs`) and hands out `/api/v1/signed/{url_id}?kid=&sig=`, which
//! downloads the version that was current then, without a token, until it expires — and only while
//! it is not revoked, the session that made it is live, and its maker still reaches the file.
//! `GET /api/v1/download-urls` lists them (a file's owner sees every URL made on their files, a
//! member their own) and `DELETE /api/v1/download-urls/{id}` revokes one.
//!
//! The signature is an HMAC-SHA256 over the URL's id under a key derived from the server secret,
//! checked (constant time) before any lookup: an altered or forged URL is `403 bad_signature` at no
//! cost to the database. `kid` names the key, so keys can rotate while URLs already handed out keep
//! their form (a key the server no longer holds answers `403 bad_signature`).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use satchel_meta::{DownloadUrlRecord, StoreError, UrlGrant, UrlState};
use satchel_proto::{DownloadUrlInfo, DownloadUrlState, NodeRef, Page, Problem, ProblemCode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::files::content::serve_content;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery, Authed, PageParams, node_ref};
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

/// The MAC of URL `id`. (URLs of the form before records, which signed node, version and expiry,
/// never match it: they answer `403 bad_signature`.)
fn mac(key: &[u8], id: Uuid) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(format!("download-url\n{id}").as_bytes());
    mac
}

/// `POST /api/v1/files/{id}/download-url`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DownloadUrlRequest {
    /// Seconds the URL works (default 3600, at most a week).
    #[serde(default, deserialize_with = "satchel_proto::option_int64")]
    pub ttl_seconds: Option<u64>,
    /// The version to serve (the current one when absent), e.g. an older one from the versions
    /// list.
    #[serde(default, deserialize_with = "satchel_proto::option_int64")]
    pub version: Option<u64>,
}

/// A signed URL, as made.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DownloadUrl {
    /// For `DELETE /api/v1/download-urls/{id}`.
    pub id: Uuid,
    pub url: String,
    /// The version it serves: the file's current one now, whatever comes later.
    pub version: u64,
    pub expires_at: DateTime<Utc>,
}

/// Make a URL that downloads the file's current version (that version, even after newer ones)
/// without a token until it expires, while the session making it lasts and its maker still
/// reaches the file.
#[utoipa::path(post, path = "/api/v1/files/{id}/download-url", tag = "content", params(("id" = satchel_proto::NodeRef, Path, description = "node id or `root`")),
    request_body = DownloadUrlRequest, responses((status = 200, body = DownloadUrl), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn download_url(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<DownloadUrlRequest>,
) -> ApiResult<Json<DownloadUrl>> {
    let ttl = request.ttl_seconds.unwrap_or(3600).clamp(1, MAX_TTL_SECS);
    let expires_at = Utc::now() + chrono::Duration::seconds(ttl as i64);
    let made = state
        .store
        .create_download_url(&actor, node_ref(&id)?, request.version, expires_at)
        .await?;
    let (kid, key) = &state.url_keys[0];
    let sig = hex::encode(mac(key, made.id).finalize().into_bytes());
    let url = format!(
        "{}/api/v1/signed/{}?kid={kid}&sig={sig}",
        super::base_url(&state, &headers),
        made.id
    );
    Ok(Json(DownloadUrl {
        id: made.id,
        url,
        version: made.version,
        expires_at: made.expires_at,
    }))
}

/// The query of a signed URL.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SignedParams {
    pub kid: String,
    pub sig: String,
    /// `1` to show in the browser (a preview); honoured only for types that cannot run script,
    /// exactly as for `/api/v1/files/{id}/content?inline=1`. (Outside the signature: it changes
    /// only how the same bytes are presented.)
    #[serde(default, deserialize_with = "crate::files::content::zero_or_one")]
    #[param(minimum = 0, maximum = 1)]
    pub inline: Option<u8>,
}

/// The URL id in `id`, if the signature in `params` is the server's.
fn verified(state: &AppState, id: &str, params: &SignedParams) -> ApiResult<Uuid> {
    let bad = || ApiError::bare(ProblemCode::BadSignature);
    let id = Uuid::parse_str(id).map_err(|_| bad())?;
    let key = state
        .url_keys
        .iter()
        .find(|(kid, _)| *kid == params.kid)
        .map(|(_, key)| key)
        .ok_or_else(bad)?;
    let sig = hex::decode(&params.sig).map_err(|_| bad())?;
    // Constant-time comparison.
    mac(key, id).verify_slice(&sig).map_err(|_| bad())?;
    Ok(id)
}

/// Download through a signed URL: no token. `403 bad_signature` if anything was altered, `410
/// url_expired` after its time, `410 url_revoked` once revoked or its session ended, `404` when its
/// maker no longer reaches the file (a share revoked, the file trashed).
#[utoipa::path(get, path = "/api/v1/signed/{id}", tag = "content", params(("id" = uuid::Uuid, Path, description = "signed URL id"), SignedParams),
    responses((status = 200, content_type = "*/*", body = Vec<u8>, description = "the bytes, with the file's media type"),
        (status = 403, description = "bad_signature", body = Problem),
        (status = 404, description = "the maker no longer reaches the file", body = Problem),
        (status = 410, description = "url_expired, url_revoked", body = Problem)))]
pub async fn signed_download(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<SignedParams>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let id = verified(&state, &id, &params)?;
    let (url, maker) = match state.store.download_url_grant(id).await? {
        UrlGrant::Expired => return Err(ApiError::bare(ProblemCode::UrlExpired)),
        UrlGrant::Ended => return Err(ApiError::bare(ProblemCode::UrlRevoked)),
        UrlGrant::Live { url, maker } => (url, maker),
    };
    let content = state
        .store
        .version_content(&maker, NodeRef::Id(url.node_id), Some(url.version))
        .await
        .map_err(|error| match error {
            StoreError::NotFound | StoreError::NotAFile => ApiError::bare(ProblemCode::NotFound),
            other => other.into(),
        })?;
    if content.node.deleted_at.is_some() {
        return Err(ApiError::bare(ProblemCode::NotFound));
    }
    serve_content(&state, content, &headers, params.inline == Some(1))
}

fn info(url: DownloadUrlRecord) -> DownloadUrlInfo {
    DownloadUrlInfo {
        id: url.id,
        node_id: url.node_id,
        version: url.version,
        created_by: url.creator_email,
        created_at: url.created_at,
        expires_at: url.expires_at,
        state: match url.state {
            UrlState::Active => DownloadUrlState::Active,
            UrlState::Revoked { .. } => DownloadUrlState::Revoked,
            UrlState::SessionEnded => DownloadUrlState::SessionEnded,
        },
    }
}

/// `?node_id=&limit=&cursor=`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UrlListParams {
    /// Only the URLs of this file.
    pub node_id: Option<Uuid>,
    /// Entries per page (default 500); outside 1–2000 is `400 bad_request`.
    #[serde(default, deserialize_with = "crate::http::extract::page_limit")]
    #[param(minimum = 1, maximum = 2000)]
    pub limit: Option<u32>,
    /// Where to continue: the previous page's `next_cursor`.
    #[param(pattern = r"^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
}

/// The signed URLs not yet expired that the caller manages: every URL made on their files (by
/// them or by members of their shared folders) and the URLs they made, oldest first.
#[utoipa::path(get, path = "/api/v1/download-urls", tag = "content", params(UrlListParams),
    responses((status = 200, body = Page<DownloadUrlInfo>)), security(("bearer" = [])))]
pub async fn list_download_urls(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(params): ApiQuery<UrlListParams>,
) -> ApiResult<Json<Page<DownloadUrlInfo>>> {
    let page = PageParams {
        limit: params.limit,
        cursor: params.cursor,
    };
    let (urls, next_cursor) = state
        .store
        .download_urls(&actor, params.node_id, page.limit(), page.cursor.as_deref())
        .await?;
    Ok(Json(Page {
        entries: urls.into_iter().map(info).collect(),
        next_cursor,
    }))
}

/// Revoke a signed URL (its maker, or the file's owner): it answers `410 url_revoked` from now on.
#[utoipa::path(delete, path = "/api/v1/download-urls/{id}", tag = "content", params(("id" = uuid::Uuid, Path, description = "signed URL id")),
    responses((status = 204), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn revoke_download_url(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let id = Uuid::parse_str(&id)
        .map_err(|_| ApiError::new(ProblemCode::InvalidId, "a download URL id is a UUID"))?;
    state.store.revoke_download_url(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
