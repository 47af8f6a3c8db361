//! `POST/GET/PATCH/DELETE /api/v1/shares`: folders shared between accounts, with `view` or `edit`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use satchel_meta::{Access, ShareDirection, ShareRecord};
use satchel_proto::{CreateShare, NodeRef, Page, Problem, ProblemCode, ShareInfo, UpdateShare};
use serde::Deserialize;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery, Authed, PageParams};
use crate::state::AppState;

fn info(share: ShareRecord) -> ShareInfo {
    ShareInfo {
        id: share.id,
        node_id: share.node_id,
        owner_email: share.owner_email,
        member_email: share.member_email,
        permission: match share.access {
            Access::View => "view",
            Access::Edit | Access::Owner => "edit",
        }
        .to_owned(),
        mount_name: share.mount_name,
        created_at: share.created_at,
    }
}

fn access(word: &str) -> ApiResult<Access> {
    match word {
        "view" => Ok(Access::View),
        "edit" => Ok(Access::Edit),
        other => Err(ApiError::new(
            ProblemCode::BadRequest,
            format!("permission is view or edit, not {other:?}"),
        )),
    }
}

fn share_id(text: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(text).map_err(|_| ApiError::new(ProblemCode::InvalidId, "a share id is a UUID"))
}

/// Share a folder (or a file) with another account. It appears in their root under its name;
/// sharing again with the same account changes their permission.
#[utoipa::path(post, path = "/api/v1/shares", tag = "sharing", request_body = CreateShare,
    responses((status = 201, body = ShareInfo), (status = 404, body = Problem),
        (status = 409, description = "shared_nesting", body = Problem)),
    security(("bearer" = [])))]
pub async fn create_share(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(request): ApiJson<CreateShare>,
) -> ApiResult<Response> {
    let access = access(&request.permission)?;
    let share = state
        .store
        .create_share(&actor, NodeRef::Id(request.node_id), &request.email, access)
        .await?;
    Ok((StatusCode::CREATED, Json(info(share))).into_response())
}

/// The values of `?direction=`.
#[derive(Debug, serde::Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DirectionName {
    Incoming,
    Outgoing,
}

/// `?direction=incoming|outgoing&limit=&cursor=`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ShareParams {
    /// `incoming` (shared with the caller) or `outgoing` (shared by the caller, the default).
    #[param(value_type = Option<DirectionName>)]
    pub direction: Option<String>,
    /// Entries per page (default 500); outside 1–2000 is `400 bad_request`.
    #[serde(default, deserialize_with = "crate::http::extract::page_limit")]
    #[param(minimum = 1, maximum = 2000)]
    pub limit: Option<u32>,
    /// Where to continue: the previous page's `next_cursor`.
    #[param(pattern = r"^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
}

/// The caller's shares: folders they shared (one entry per member), or folders shared with them.
#[utoipa::path(get, path = "/api/v1/shares", tag = "sharing", params(ShareParams),
    responses((status = 200, body = Page<ShareInfo>)), security(("bearer" = [])))]
pub async fn list_shares(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(params): ApiQuery<ShareParams>,
) -> ApiResult<Json<Page<ShareInfo>>> {
    let direction = match params.direction.as_deref() {
        None | Some("outgoing") => ShareDirection::Outgoing,
        Some("incoming") => ShareDirection::Incoming,
        Some(other) => {
            return Err(ApiError::new(
                ProblemCode::BadRequest,
                format!("direction is incoming or outgoing, not {other:?}"),
            ));
        }
    };
    let page = PageParams {
        limit: params.limit,
        cursor: params.cursor,
    };
    let (shares, next_cursor) = state
        .store
        .shares(&actor, direction, page.limit(), page.cursor.as_deref())
        .await?;
    Ok(Json(Page {
        entries: shares.into_iter().map(info).collect(),
        next_cursor,
    }))
}

/// Change a member's permission (the owner only).
#[utoipa::path(patch, path = "/api/v1/shares/{id}", tag = "sharing", params(("id" = uuid::Uuid, Path, description = "share id")),
    request_body = UpdateShare, responses((status = 200, body = ShareInfo), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn patch_share(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<UpdateShare>,
) -> ApiResult<Json<ShareInfo>> {
    let share = state
        .store
        .update_share(&actor, share_id(&id)?, access(&request.permission)?)
        .await?;
    Ok(Json(info(share)))
}

/// End a share: the owner revokes it, or the member leaves it. The folder leaves the member's tree
/// (their sync client keeps its copy as plain files) and every id inside answers `404` to them.
#[utoipa::path(delete, path = "/api/v1/shares/{id}", tag = "sharing", params(("id" = uuid::Uuid, Path, description = "share id")),
    responses((status = 204), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn delete_share(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    state.store.delete_share(&actor, share_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
