//! Folders and nodes: create, list, look up, rename/move, copy, trash, restore, purge, search.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use satchel_meta::SearchQuery;
use satchel_proto::{
    CopyNode, CreateFolder, Node, NodeKind, Page, PatchNode, Problem, ProblemCode,
};
use serde::Deserialize;

use super::node_response;
use crate::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery, Authed, PageParams, if_match, node_ref};
use crate::state::AppState;

/// Create a folder.
#[utoipa::path(post, path = "/api/v1/folders", tag = "files", request_body = CreateFolder,
    responses((status = 201, body = Node), (status = 409, description = "name_conflict", body = Problem)),
    security(("bearer" = [])))]
pub async fn create_folder(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(request): ApiJson<CreateFolder>,
) -> ApiResult<Response> {
    let node = state
        .store
        .create_folder(&actor, request.parent_id, request.name, request.on_conflict)
        .await?;
    Ok(node_response(StatusCode::CREATED, node))
}

/// `?include_deleted=` of a listing.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChildrenParams {
    #[serde(default)]
    pub include_deleted: bool,
    /// Entries per page (default 500); outside 1–2000 is `400 bad_request`.
    #[serde(default, deserialize_with = "crate::http::extract::page_limit")]
    #[param(minimum = 1, maximum = 2000)]
    pub limit: Option<u32>,
    /// Where to continue: the previous page's `next_cursor`.
    #[param(pattern = r"^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
}

/// A folder's children, by name.
#[utoipa::path(get, path = "/api/v1/folders/{id}/children", tag = "files",
    params(("id" = satchel_proto::NodeRef, Path, description = "folder id or `root`"), ChildrenParams),
    responses((status = 200, body = Page<Node>), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn children(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<ChildrenParams>,
) -> ApiResult<Json<Page<Node>>> {
    let page = PageParams {
        limit: params.limit,
        cursor: params.cursor,
    };
    let listing = state
        .store
        .children(
            &actor,
            node_ref(&id)?,
            params.include_deleted,
            page.limit(),
            page.cursor.as_deref(),
        )
        .await?;
    Ok(Json(listing))
}

/// A node by id, with its rev as `ETag`.
#[utoipa::path(get, path = "/api/v1/nodes/{id}", tag = "files",
    params(("id" = satchel_proto::NodeRef, Path, description = "node id or `root`")),
    responses((status = 200, body = Node), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get_node(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    Ok(node_response(
        StatusCode::OK,
        state.store.node(&actor, node_ref(&id)?).await?,
    ))
}

/// `?path=` of a lookup by path.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PathParams {
    /// `/`-rooted path, e.g. `/Photos/2024/a.jpg`.
    pub path: String,
}

/// The live node at a path.
#[utoipa::path(get, path = "/api/v1/nodes/by-path", tag = "files", params(PathParams),
    responses((status = 200, body = Node), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn node_by_path(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(params): ApiQuery<PathParams>,
) -> ApiResult<Response> {
    Ok(node_response(
        StatusCode::OK,
        state.store.node_by_path(&actor, &params.path).await?,
    ))
}

/// Rename and/or move a node; `If-Match` or `base_rev` guard against concurrent changes.
#[utoipa::path(patch, path = "/api/v1/nodes/{id}", tag = "files", request_body = PatchNode,
    params(("id" = satchel_proto::NodeRef, Path, description = "node id or `root`")),
    responses((status = 200, body = Node), (status = 409, description = "name_conflict, cycle", body = Problem),
        (status = 412, description = "rev_mismatch", body = Problem)), security(("bearer" = [])))]
pub async fn patch_node(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<PatchNode>,
) -> ApiResult<Response> {
    let base_rev = request.base_rev.or_else(|| if_match(&headers));
    let node = state
        .store
        .patch_node(
            &actor,
            node_ref(&id)?,
            request.name,
            request.parent_id,
            base_rev.as_deref(),
            request.on_conflict,
        )
        .await?;
    Ok(node_response(StatusCode::OK, node))
}

/// Copy a file or folder (content is shared, no bytes copied).
#[utoipa::path(post, path = "/api/v1/nodes/{id}/copy", tag = "files", request_body = CopyNode,
    params(("id" = satchel_proto::NodeRef, Path, description = "node id or `root`")), responses((status = 201, body = Node)), security(("bearer" = [])))]
pub async fn copy_node(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<CopyNode>,
) -> ApiResult<Response> {
    let node = state
        .store
        .copy_node(
            &actor,
            node_ref(&id)?,
            request.parent_id,
            request.name,
            request.on_conflict,
        )
        .await?;
    Ok(node_response(StatusCode::CREATED, node))
}

/// Move a node (recursively) to the trash.
#[utoipa::path(delete, path = "/api/v1/nodes/{id}", tag = "files", params(("id" = satchel_proto::NodeRef, Path, description = "node id or `root`")),
    responses((status = 204), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn trash_node(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    state
        .store
        .trash_node(&actor, node_ref(&id)?, if_match(&headers).as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Bring a node back from the trash (renamed on a clash).
#[utoipa::path(post, path = "/api/v1/nodes/{id}/restore", tag = "files", params(("id" = satchel_proto::NodeRef, Path, description = "node id or `root`")),
    responses((status = 200, body = Node), (status = 409, description = "not_trashed", body = Problem)),
    security(("bearer" = [])))]
pub async fn restore_node(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    Ok(node_response(
        StatusCode::OK,
        state.store.restore_node(&actor, node_ref(&id)?).await?,
    ))
}

/// What is in the trash, newest first.
#[utoipa::path(get, path = "/api/v1/trash", tag = "files", params(PageParams),
    responses((status = 200, body = Page<Node>)), security(("bearer" = [])))]
pub async fn list_trash(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<Node>>> {
    Ok(Json(
        state
            .store
            .trash(&actor, page.limit(), page.cursor.as_deref())
            .await?,
    ))
}

/// Delete a trashed node for good.
#[utoipa::path(delete, path = "/api/v1/trash/{id}", tag = "files", params(("id" = satchel_proto::NodeRef, Path, description = "node id or `root`")),
    responses((status = 204), (status = 409, description = "not_trashed", body = Problem)), security(("bearer" = [])))]
pub async fn purge_node(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    state.store.purge_node(&actor, node_ref(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Filters of a search.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Part of the name, any case.
    #[serde(default)]
    pub q: String,
    pub kind: Option<NodeKind>,
    /// `image/png`, or a family: `image/` or `image/*`.
    pub mime: Option<String>,
    pub modified_after: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "crate::http::extract::query_int64")]
    pub min_size: Option<u64>,
    #[serde(default, deserialize_with = "crate::http::extract::query_int64")]
    pub max_size: Option<u64>,
    /// Entries per page (default 500); outside 1–2000 is `400 bad_request`.
    #[serde(default, deserialize_with = "crate::http::extract::page_limit")]
    #[param(minimum = 1, maximum = 2000)]
    pub limit: Option<u32>,
    /// Where to continue: the previous page's `next_cursor`.
    #[param(pattern = r"^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
}

/// Find live nodes by name.
#[utoipa::path(get, path = "/api/v1/search", tag = "files", params(SearchParams),
    responses((status = 200, body = Page<Node>)), security(("bearer" = [])))]
pub async fn search(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(params): ApiQuery<SearchParams>,
) -> ApiResult<Json<Page<Node>>> {
    // A name is at most 255 bytes, so a longer term matches nothing; refusing it also keeps the
    // database from a pattern it cannot compile (SQLite: "LIKE or GLOB pattern too complex").
    if params.q.len() > satchel_proto::MAX_NAME_BYTES {
        return Err(ApiError::new(
            ProblemCode::BadRequest,
            format!(
                "a search term is at most {} bytes (a name's maximum)",
                satchel_proto::MAX_NAME_BYTES
            ),
        ));
    }
    let query = SearchQuery {
        term: params.q,
        kind: params.kind,
        mime: params.mime,
        modified_after: params.modified_after,
        min_size: params.min_size,
        max_size: params.max_size,
    };
    let page = PageParams {
        limit: params.limit,
        cursor: params.cursor,
    };
    Ok(Json(
        state
            .store
            .search(&actor, &query, page.limit(), page.cursor.as_deref())
            .await?,
    ))
}
