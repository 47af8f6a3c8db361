//! `POST/GET/PATCH/DELETE /api/v1/links` and a link's access log, for the link's maker and the
//! node's owner. A link is made by whoever may change the node: its owner or an `edit` member
//! (`403 read_only` for a `view` member); the owner lists, changes and deletes members' links on
//! their nodes too.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use satchel_meta::{LinkChanges, LinkPermission, LinkRecord, NewLink};
use satchel_proto::{CreateLink, LinkInfo, NodeRef, Page, Problem, ProblemCode};
use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

use crate::accounts::password;
use crate::accounts::tokens::{random_token, refresh_hash};
use crate::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, ApiPath, Authed, node_ref};
use crate::state::AppState;

fn info(link: LinkRecord, base: &str) -> LinkInfo {
    LinkInfo {
        url: format!("{base}/s/{}", link.token),
        id: link.id,
        token: link.token,
        node_id: link.node_id,
        permission: link.permission.as_str().to_owned(),
        expires_at: link.expires_at,
        max_downloads: link.max_downloads,
        download_count: link.download_count,
        max_upload_bytes: link.max_upload_bytes,
        disabled: link.disabled,
        has_password: link.password_hash.is_some(),
        created_by: link.creator_email,
        created_at: link.created_at,
    }
}

/// A field that may be absent (leave it), `null` (clear it) or a value (set it).
fn double<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// `PATCH /api/v1/links/{id}`: absent fields stay, `null` clears.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchLink {
    #[serde(default, deserialize_with = "double")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub expires_at: Option<Option<DateTime<Utc>>>,
    #[serde(default, deserialize_with = "double")]
    #[schema(value_type = Option<String>)]
    pub password: Option<Option<String>>,
    #[serde(default, deserialize_with = "double")]
    #[schema(value_type = Option<u64>)]
    pub max_downloads: Option<Option<u64>>,
    pub disabled: Option<bool>,
}

/// One request a link answered.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AccessInfo {
    pub at: DateTime<Utc>,
    pub address: String,
    pub path: String,
    pub status: u16,
}

fn link_id(text: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(text).map_err(|_| ApiError::new(ProblemCode::InvalidId, "a link id is a UUID"))
}

/// Refuses an expiry already past (a link would be born dead), on creation and on change alike.
fn not_past(expires_at: Option<DateTime<Utc>>) -> ApiResult<()> {
    match expires_at {
        Some(at) if at <= Utc::now() => Err(ApiError::new(
            ProblemCode::BadRequest,
            "expires_at is in the past",
        )),
        _ => Ok(()),
    }
}

async fn hashed(password: Option<String>) -> ApiResult<Option<String>> {
    match password {
        None => Ok(None),
        Some(password) if password.is_empty() => Err(ApiError::new(
            ProblemCode::BadRequest,
            "an empty password protects nothing; send null to remove it",
        )),
        Some(password) => Ok(Some(
            password::hash(password).await.map_err(ApiError::internal)?,
        )),
    }
}

/// Create a public link to a file or folder the caller may change (`403 read_only` for a `view`
/// member of a shared folder). A link made by a member works while the member keeps that access.
#[utoipa::path(post, path = "/api/v1/links", tag = "sharing", request_body = CreateLink,
    responses((status = 201, body = LinkInfo), (status = 400, body = Problem), (status = 403, description = "read_only", body = Problem),
        (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn create_link(
    State(state): State<AppState>,
    Authed(actor): Authed,
    headers: HeaderMap,
    ApiJson(request): ApiJson<CreateLink>,
) -> ApiResult<Response> {
    let node = match node_ref(&request.node_id)? {
        NodeRef::Root => actor.root_id,
        NodeRef::Id(id) => id,
    };
    let permission = match request.permission.as_deref() {
        None | Some("view") => LinkPermission::View,
        Some("upload") => LinkPermission::Upload,
        Some(other) => {
            return Err(ApiError::new(
                ProblemCode::BadRequest,
                format!("permission is view or upload, not {other:?}"),
            ));
        }
    };
    not_past(request.expires_at)?;
    let token = random_token();
    let new = NewLink {
        token_hash: refresh_hash(&token),
        token,
        node_id: node,
        permission,
        password_hash: hashed(request.password).await?,
        expires_at: request.expires_at,
        max_downloads: request.max_downloads,
        max_upload_bytes: request.max_upload_bytes,
    };
    let link = state.store.create_link(&actor, new).await?;
    let base = super::base_url(&state, &headers);
    Ok((StatusCode::CREATED, Json(info(link, &base))).into_response())
}

/// The links the caller made and every link on the caller's nodes (members' included), with
/// their download counts.
#[utoipa::path(get, path = "/api/v1/links", tag = "sharing",
    responses((status = 200, body = Page<LinkInfo>)), security(("bearer" = [])))]
pub async fn list_links(
    State(state): State<AppState>,
    Authed(actor): Authed,
    headers: HeaderMap,
) -> ApiResult<Json<Page<LinkInfo>>> {
    let base = super::base_url(&state, &headers);
    let entries = state
        .store
        .links(&actor)
        .await?
        .into_iter()
        .map(|link| info(link, &base))
        .collect();
    Ok(Json(Page {
        entries,
        next_cursor: None,
    }))
}

/// Change a link's expiry (not to a time already past: `400`), password, download limit, or
/// disable/enable it: its maker, or the node's owner.
#[utoipa::path(patch, path = "/api/v1/links/{id}", tag = "sharing", params(("id" = uuid::Uuid, Path, description = "link id")),
    request_body = PatchLink, responses((status = 200, body = LinkInfo), (status = 400, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn patch_link(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<PatchLink>,
) -> ApiResult<Json<LinkInfo>> {
    let id = link_id(&id)?;
    not_past(request.expires_at.flatten())?;
    let password_hash = match request.password {
        None => None,
        Some(password) => Some(hashed(password).await?),
    };
    let changes = LinkChanges {
        expires_at: request.expires_at,
        password_hash,
        max_downloads: request.max_downloads,
        disabled: request.disabled,
    };
    let link = state.store.update_link(&actor, id, changes).await?;
    Ok(Json(info(link, &super::base_url(&state, &headers))))
}

/// Delete a link (its maker, or the node's owner): its URL answers `404` from now on.
#[utoipa::path(delete, path = "/api/v1/links/{id}", tag = "sharing", params(("id" = uuid::Uuid, Path, description = "link id")),
    responses((status = 204), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn delete_link(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    state.store.delete_link(&actor, link_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The newest 1,000 requests a link answered, newest first.
#[utoipa::path(get, path = "/api/v1/links/{id}/accesses", tag = "sharing", params(("id" = uuid::Uuid, Path, description = "link id")),
    responses((status = 200, body = Page<AccessInfo>), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn link_accesses(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Page<AccessInfo>>> {
    let entries = state
        .store
        .link_accesses(&actor, link_id(&id)?, 1000)
        .await?
        .into_iter()
        .map(|access| AccessInfo {
            at: access.at,
            address: access.address,
            path: access.path,
            status: access.status,
        })
        .collect();
    Ok(Json(Page {
        entries,
        next_cursor: None,
    }))
}
