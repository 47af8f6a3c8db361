//! `GET /api/v1/admin/storage/log`: the storage log, oldest first, for administrators.
//!
//! Admin accounts only (the account flag `is_admin`); anyone else gets `403 forbidden`, as from
//! the rest of the admin API.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use satchel_proto::{Page, ProblemCode, Sha256};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::http::extract::{ApiQuery, Authed};
use crate::state::AppState;

/// Most lines per page, and the default.
const MAX_LINES: u32 = 1000;

/// One line of the storage log.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StorageLogEntry {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    /// The storage node the event happened on.
    pub node: String,
    /// The chunk, when the event is about one.
    #[schema(value_type = Option<String>)]
    pub sha256: Option<Sha256>,
    /// `stored`, `verified`, `missing`, `corrupt`, `quarantined`, `repaired`, `deleted`,
    /// `unreachable` or `found`.
    pub event: String,
    pub detail: Option<String>,
}

/// `?since=RFC3339&cursor=&limit=`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogParams {
    /// Only lines at or after this time (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// The previous page's `next_cursor`.
    #[param(
        pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub cursor: Option<String>,
    /// Lines per page (1000 by default and at most: more is served as 1000); outside 1–2000 is
    /// `400 bad_request`, as for every list.
    #[serde(default, deserialize_with = "crate::http::extract::page_limit")]
    #[param(minimum = 1, maximum = 2000)]
    pub limit: Option<u32>,
}

/// Every copy stored, verified, found missing or corrupt, repaired, set aside or deleted.
#[utoipa::path(get, path = "/api/v1/admin/storage/log", tag = "admin", params(LogParams),
    responses((status = 200, body = Page<StorageLogEntry>), (status = 403, description = "forbidden: not an admin account")),
    security(("bearer" = [])))]
pub async fn storage_log(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(params): ApiQuery<LogParams>,
) -> ApiResult<Json<Page<StorageLogEntry>>> {
    crate::accounts::admin::require_admin(&state, &actor).await?;
    let after = match params.cursor.as_deref() {
        None => None,
        Some(text) => Some(
            Uuid::try_parse(text)
                .map_err(|_| ApiError::new(ProblemCode::BadRequest, "not a cursor of this log"))?,
        ),
    };
    let limit = params.limit.unwrap_or(MAX_LINES).clamp(1, MAX_LINES);
    let lines = state.store.storage_log(params.since, after, limit).await?;
    let next_cursor = (lines.len() == limit as usize)
        .then(|| lines.last().map(|line| line.id.to_string()))
        .flatten();
    let entries = lines
        .into_iter()
        .map(|line| StorageLogEntry {
            id: line.id,
            at: line.at,
            node: line.node,
            sha256: line.sha256,
            event: line.event,
            detail: line.detail,
        })
        .collect();
    Ok(Json(Page {
        entries,
        next_cursor,
    }))
}
