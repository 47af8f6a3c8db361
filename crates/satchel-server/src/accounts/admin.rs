//! `/api/v1/admin/…`: account management and storage figures for admin accounts.
//!
//! Invariants: every handler first checks that the caller's account is an admin *now* (read from
//! the database, not from the token), so a demoted admin loses the API at once; anyone else gets
//! `403 forbidden` and nothing changes. Disabling an account ends its sessions (the store revokes
//! them), and a disabled account cannot sign in. An admin cannot disable or demote their own
//! account, so a server never locks its last admin out by a slip of the mouse.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use satchel_meta::{Actor, UserRecord};
use satchel_proto::{Page, Problem, ProblemCode};
use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, Authed};
use crate::state::AppState;

/// An account as the admin page shows it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AdminUser {
    pub id: Uuid,
    pub email: String,
    pub is_admin: bool,
    pub disabled: bool,
    /// Null when unlimited.
    pub quota_bytes: Option<u64>,
    pub used_bytes: u64,
    pub created_at: DateTime<Utc>,
}

fn admin_user(user: UserRecord) -> AdminUser {
    AdminUser {
        id: user.id,
        email: user.email,
        is_admin: user.is_admin,
        disabled: user.disabled_at.is_some(),
        quota_bytes: user.quota_bytes,
        used_bytes: user.used_bytes,
        created_at: user.created_at,
    }
}

/// `POST /api/v1/admin/users`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Something, `@`, a domain with a dot; no spaces.
    #[schema(pattern = r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$", max_length = 254)]
    pub email: String,
    /// At least 8 characters, not all the same (else `422 weak_password`).
    #[schema(min_length = 8)]
    pub password: String,
    /// Bytes; absent or null for unlimited.
    #[serde(default, deserialize_with = "satchel_proto::option_int64")]
    #[schema(maximum = 9223372036854775807_u64)]
    pub quota_bytes: Option<u64>,
    #[serde(default)]
    pub is_admin: bool,
}

/// A byte count that may be absent (leave it), `null` (clear it) or a value (set it).
fn double_bytes<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<u64>>, D::Error> {
    satchel_proto::option_int64(d).map(Some)
}

/// `PATCH /api/v1/admin/users/{id}`: absent fields stay; `quota_bytes: null` lifts the quota.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchUser {
    pub disabled: Option<bool>,
    pub is_admin: Option<bool>,
    #[serde(default, deserialize_with = "double_bytes")]
    #[schema(value_type = Option<u64>, maximum = 9223372036854775807_u64)]
    pub quota_bytes: Option<Option<u64>>,
}

/// `POST /api/v1/admin/users/{id}/password`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPassword {
    /// At least 8 characters, not all the same (else `422 weak_password`).
    #[schema(min_length = 8)]
    pub password: String,
}

/// The server's storage: what users see against what the chunk store holds.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AdminStats {
    pub users: u64,
    pub files: u64,
    pub versions: u64,
    /// Bytes of every version of every file.
    pub logical_bytes: u64,
    /// Bytes of the distinct chunks holding them.
    pub stored_bytes: u64,
    pub chunks: u64,
    /// `logical_bytes / stored_bytes` (1 when nothing is stored).
    pub dedup_ratio: f64,
}

/// The caller's account when it is an admin; `403 forbidden` otherwise.
pub(crate) async fn require_admin(state: &AppState, actor: &Actor) -> ApiResult<UserRecord> {
    match state.store.user_by_id(actor.user_id).await? {
        Some(user) if user.is_admin && user.disabled_at.is_none() => Ok(user),
        _ => Err(ApiError::new(
            ProblemCode::Forbidden,
            "only admin accounts may use the admin API",
        )),
    }
}

fn user_id(text: &str) -> ApiResult<Uuid> {
    Uuid::try_parse(text).map_err(|_| ApiError::new(ProblemCode::InvalidId, "a user id is a UUID"))
}

async fn target(state: &AppState, id: Uuid) -> ApiResult<UserRecord> {
    state
        .store
        .user_by_id(id)
        .await?
        .ok_or_else(|| ApiError::bare(ProblemCode::NotFound))
}

/// Every account, oldest first.
#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin",
    responses((status = 200, body = Page<AdminUser>), (status = 403, description = "forbidden", body = Problem)),
    security(("bearer" = [])))]
pub async fn list_users(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> ApiResult<Json<Page<AdminUser>>> {
    require_admin(&state, &actor).await?;
    let entries = state
        .store
        .list_users()
        .await?
        .into_iter()
        .map(admin_user)
        .collect();
    Ok(Json(Page {
        entries,
        next_cursor: None,
    }))
}

/// Create an account (whether or not registration is open).
#[utoipa::path(post, path = "/api/v1/admin/users", tag = "admin", request_body = CreateUser,
    responses((status = 201, body = AdminUser), (status = 403, description = "forbidden", body = Problem),
        (status = 409, description = "email_taken", body = Problem),
        (status = 422, description = "weak_password, invalid_email", body = Problem)),
    security(("bearer" = [])))]
pub async fn create_user(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(request): ApiJson<CreateUser>,
) -> ApiResult<(StatusCode, Json<AdminUser>)> {
    require_admin(&state, &actor).await?;
    let new = super::new_user(&request.email, &request.password, request.quota_bytes).await?;
    let user = state.store.create_user(new).await?;
    if request.is_admin && !user.is_admin {
        state.store.set_admin(user.id, true).await?;
    }
    Ok((
        StatusCode::CREATED,
        Json(admin_user(target(&state, user.id).await?)),
    ))
}

/// Disable or enable an account (disabling ends its sessions), make it an admin or not, set or
/// lift its quota.
#[utoipa::path(patch, path = "/api/v1/admin/users/{id}", tag = "admin", params(("id" = uuid::Uuid, Path)),
    request_body = PatchUser, responses((status = 200, body = AdminUser), (status = 400, body = Problem),
        (status = 403, description = "forbidden", body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn patch_user(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<PatchUser>,
) -> ApiResult<Json<AdminUser>> {
    let me = require_admin(&state, &actor).await?;
    let user = target(&state, user_id(&id)?).await?;
    let demotes_self = request.disabled == Some(true) || request.is_admin == Some(false);
    if user.id == me.id && demotes_self {
        return Err(ApiError::new(
            ProblemCode::BadRequest,
            "an admin cannot disable or demote their own account",
        ));
    }
    if let Some(disabled) = request.disabled {
        state.store.set_disabled(user.id, disabled).await?;
    }
    if let Some(admin) = request.is_admin {
        state.store.set_admin(user.id, admin).await?;
    }
    if let Some(quota) = request.quota_bytes {
        state.store.set_quota(user.id, quota).await?;
    }
    Ok(Json(admin_user(target(&state, user.id).await?)))
}

/// Set a new password for an account; every session of it ends.
#[utoipa::path(post, path = "/api/v1/admin/users/{id}/password", tag = "admin", params(("id" = uuid::Uuid, Path)),
    request_body = ResetPassword, responses((status = 204), (status = 403, description = "forbidden", body = Problem),
        (status = 404, body = Problem), (status = 422, description = "weak_password", body = Problem)),
    security(("bearer" = [])))]
pub async fn reset_password(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<ResetPassword>,
) -> ApiResult<StatusCode> {
    require_admin(&state, &actor).await?;
    let user = target(&state, user_id(&id)?).await?;
    let hash = super::strong_hash(&request.password).await?;
    state.store.set_password_hash(user.id, &hash).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Logical bytes against stored bytes, and the dedup ratio.
#[utoipa::path(get, path = "/api/v1/admin/stats", tag = "admin",
    responses((status = 200, body = AdminStats), (status = 403, description = "forbidden", body = Problem)),
    security(("bearer" = [])))]
pub async fn stats(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> ApiResult<Json<AdminStats>> {
    require_admin(&state, &actor).await?;
    let stats = state.store.stats().await?;
    let dedup_ratio = if stats.stored_bytes == 0 {
        1.0
    } else {
        stats.logical_bytes as f64 / stats.stored_bytes as f64
    };
    Ok(Json(AdminStats {
        users: stats.users,
        files: stats.files,
        versions: stats.versions,
        logical_bytes: stats.logical_bytes,
        stored_bytes: stats.stored_bytes,
        chunks: stats.chunks,
        dedup_ratio,
    }))
}
