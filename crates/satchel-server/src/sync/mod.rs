//! The change journal over HTTP: paging with opaque cursors, the "start from now" cursor, and
//! change notifications (`notify`).

pub mod notify;

use axum::Json;
use axum::extract::State;
use satchel_meta::Cursor;
use satchel_proto::{
    ChangesPage, CursorEnvelope, DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, Problem, ProblemCode,
};
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};
use crate::http::extract::{ApiQuery, Authed};
use crate::state::AppState;

/// `?cursor=&limit=` of the journal.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangesParams {
    /// From the beginning when absent.
    #[param(pattern = r"^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
    /// Entries per page (default 500); outside 1–2000 is `400 bad_request`.
    #[serde(default, deserialize_with = "crate::http::extract::page_limit")]
    #[param(minimum = 1, maximum = 2000)]
    pub limit: Option<u32>,
}

/// Changes after a cursor, oldest first; follow `cursor` while `has_more`.
#[utoipa::path(get, path = "/api/v1/changes", tag = "sync", params(ChangesParams),
    responses((status = 200, body = ChangesPage), (status = 410, description = "cursor_expired", body = Problem)),
    security(("bearer" = [])))]
pub async fn changes(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(params): ApiQuery<ChangesParams>,
) -> ApiResult<Json<ChangesPage>> {
    let cursor = params
        .cursor
        .as_deref()
        .map(Cursor::decode)
        .transpose()
        .map_err(|_| {
            ApiError::new(
                ProblemCode::BadRequest,
                "that cursor was not issued by this server",
            )
        })?;
    let limit = params
        .limit
        .unwrap_or(DEFAULT_PAGE_LIMIT)
        .clamp(1, MAX_PAGE_LIMIT);
    Ok(Json(
        state.store.changes(&actor, cursor.as_ref(), limit).await?,
    ))
}

/// A cursor at the newest change.
#[utoipa::path(get, path = "/api/v1/changes/latest", tag = "sync",
    responses((status = 200, body = CursorEnvelope)), security(("bearer" = [])))]
pub async fn latest(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> ApiResult<Json<CursorEnvelope>> {
    let cursor = state.store.latest_cursor(&actor).await?;
    Ok(Json(CursorEnvelope {
        cursor: cursor.encode(),
    }))
}
