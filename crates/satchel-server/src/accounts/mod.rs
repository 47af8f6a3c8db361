//! Accounts and sessions: register, login, token refresh with rotation, logout, `me`, devices.

pub mod admin;
pub mod app_passwords;
pub mod browser;
pub mod limiter;
pub mod password;
pub mod throttle;
pub mod tokens;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use satchel_meta::{NewRefresh, NewUser, RefreshOutcome, Rotation, UserRecord};
use satchel_proto::{
    LoginRequest, Me, Page, Problem, ProblemCode, RefreshRequest, RegisterRequest, SessionInfo,
    TokenPair, UserEnvelope, UserInfo,
};
use uuid::Uuid;

use crate::config::Registration;
use crate::error::{ApiError, ApiResult};
use crate::http::client_addr::ClientAddr;
use crate::http::extract::{ApiJson, ApiPath, Authed};
use crate::state::AppState;

fn user_info(user: &UserRecord) -> UserInfo {
    UserInfo {
        id: user.id,
        email: user.email.clone(),
        created_at: user.created_at,
        is_admin: user.is_admin,
    }
}

/// Whether `email` looks like an address: something, `@`, something with a dot, no spaces.
fn is_plausible_email(email: &str) -> bool {
    let email = email.trim();
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && email.len() <= 254
                && !email.chars().any(|c| c.is_whitespace() || c.is_control())
                && !domain.contains('@')
        }
        None => false,
    }
}

/// Checks the rules for a new account and hashes its password.
pub async fn new_user(email: &str, password: &str, quota_bytes: Option<u64>) -> ApiResult<NewUser> {
    if !is_plausible_email(email) {
        return Err(ApiError::new(
            ProblemCode::InvalidEmail,
            format!("{email:?} is not an email address"),
        ));
    }
    let password_hash = strong_hash(password).await?;
    Ok(NewUser {
        email: email.to_owned(),
        password_hash,
        quota_bytes,
    })
}

/// The hash of a new password, refused (`422 weak_password`) when it is too weak.
pub async fn strong_hash(password: &str) -> ApiResult<String> {
    if password::is_weak(password) {
        return Err(ApiError::new(
            ProblemCode::WeakPassword,
            format!(
                "use at least {} characters, not all the same",
                password::MIN_PASSWORD_CHARS
            ),
        ));
    }
    password::hash(password.to_owned())
        .await
        .map_err(ApiError::internal)
}

/// Create an account.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "accounts", request_body = RegisterRequest,
    responses((status = 201, body = UserEnvelope), (status = 409, description = "email_taken", body = Problem),
        (status = 422, description = "weak_password, invalid_email", body = Problem)))]
pub async fn register(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<RegisterRequest>,
) -> ApiResult<(StatusCode, Json<UserEnvelope>)> {
    if state.config.registration == Registration::Closed {
        return Err(ApiError::new(
            ProblemCode::RegistrationClosed,
            "ask the administrator for an account",
        ));
    }
    let new = new_user(
        &request.email,
        &request.password,
        state.config.default_quota,
    )
    .await?;
    let user = state.store.create_user(new).await?;
    Ok((
        StatusCode::CREATED,
        Json(UserEnvelope {
            user: user_info(&user),
        }),
    ))
}

/// Issues a token pair for a new session.
async fn start_session(
    state: &AppState,
    user: &UserRecord,
    device: Option<&str>,
) -> ApiResult<TokenPair> {
    let refresh_token = tokens::random_token();
    let expires = Utc::now() + Duration::days(tokens::REFRESH_TTL_DAYS);
    let session = state
        .store
        .create_session(
            user.id,
            device,
            &tokens::refresh_hash(&refresh_token),
            expires,
        )
        .await?;
    Ok(pair(state, user, session, refresh_token, Utc::now()))
}

/// A token pair: `refresh_token` and an access token issued at `issued` (whole seconds, so that the
/// same inputs give the same pair).
fn pair(
    state: &AppState,
    user: &UserRecord,
    session: Uuid,
    refresh_token: String,
    issued: DateTime<Utc>,
) -> TokenPair {
    TokenPair {
        access_token: state.tokens.issue(user.id, session, issued.timestamp()),
        refresh_token,
        expires_in: tokens::ACCESS_TTL_SECS as u64,
        user: user_info(user),
    }
}

/// Sign in; failures are rate-limited per account and address, per address, and (slowing, never
/// refusing an address without failures) per account: see `throttle.rs`.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "accounts", request_body = LoginRequest,
    responses((status = 200, body = TokenPair), (status = 401, description = "bad_credentials", body = Problem),
        (status = 429, description = "too_many_requests (Retry-After: the seconds in the detail)", body = Problem)))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    ApiJson(request): ApiJson<LoginRequest>,
) -> ApiResult<Json<TokenPair>> {
    let throttle = &state.login_throttle;
    throttle.check(&request.email, address).await?;
    let user = state.store.user_by_email(&request.email).await?;
    let stored = user
        .as_ref()
        .map_or_else(|| state.decoy_hash.to_string(), |u| u.password_hash.clone());
    let matches = password::verify(request.password, stored).await && user.is_some();
    let Some(user) = user.filter(|_| matches) else {
        throttle.failed(&request.email, address).await;
        return Err(ApiError::bare(ProblemCode::BadCredentials));
    };
    if user.disabled_at.is_some() {
        return Err(ApiError::bare(ProblemCode::AccountDisabled));
    }
    throttle.succeeded(&request.email, address).await;
    Ok(Json(
        start_session(&state, &user, request.device_name.as_deref()).await?,
    ))
}

/// Trade a refresh token for a new pair; the old one is spent, and reusing it revokes the session —
/// except within `refresh_grace_secs` of its rotation, while the new token is unused: then the same
/// new pair is answered again (a retried or concurrent refresh).
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "accounts", request_body = RefreshRequest,
    responses((status = 200, body = TokenPair), (status = 401, description = "token_reused, unauthorized", body = Problem)))]
pub async fn refresh(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<RefreshRequest>,
) -> ApiResult<Json<TokenPair>> {
    let presented = &request.refresh_token;
    let new_token = tokens::random_token();
    let new = NewRefresh {
        hash: &tokens::refresh_hash(&new_token),
        sealed: &tokens::seal_successor(presented, &new_token),
        expires_at: Utc::now() + Duration::days(tokens::REFRESH_TTL_DAYS),
    };
    let grace = Duration::seconds(i64::try_from(state.config.refresh_grace_secs).unwrap_or(0));
    let outcome = state
        .store
        .rotate_refresh(&tokens::refresh_hash(presented), new, grace)
        .await?;
    let answer = |rotation: Rotation, token| {
        pair(
            &state,
            &rotation.user,
            rotation.session_id,
            token,
            rotation.at,
        )
    };
    match outcome {
        RefreshOutcome::Rotated(rotation) => Ok(Json(answer(rotation, new_token))),
        RefreshOutcome::Repeated { rotation, sealed } => {
            let earlier = tokens::open_successor(presented, &sealed)
                .ok_or_else(|| ApiError::internal("a sealed refresh token did not open"))?;
            Ok(Json(answer(rotation, earlier)))
        }
        RefreshOutcome::Reused => Err(ApiError::new(ProblemCode::TokenReused, "sign in again")),
        RefreshOutcome::Invalid => Err(ApiError::new(
            ProblemCode::Unauthorized,
            "the refresh token is not valid",
        )),
    }
}

/// End the session a refresh token belongs to.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "accounts", request_body = RefreshRequest,
    responses((status = 204)))]
pub async fn logout(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<RefreshRequest>,
) -> ApiResult<StatusCode> {
    state
        .store
        .revoke_by_refresh(&tokens::refresh_hash(&request.refresh_token))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's account, quota and usage.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", responses((status = 200, body = Me)),
    security(("bearer" = [])))]
pub async fn me(State(state): State<AppState>, Authed(actor): Authed) -> ApiResult<Json<Me>> {
    let user = state
        .store
        .user_by_id(actor.user_id)
        .await?
        .ok_or(ProblemCode::NotFound)?;
    Ok(Json(Me {
        user: user_info(&user),
        quota_bytes: user.quota_bytes,
        used_bytes: user.used_bytes,
    }))
}

/// The caller's signed-in devices.
#[utoipa::path(get, path = "/api/v1/sessions", tag = "accounts",
    responses((status = 200, body = Page<SessionInfo>)), security(("bearer" = [])))]
pub async fn list_sessions(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> ApiResult<Json<Page<SessionInfo>>> {
    let sessions = state.store.list_sessions(actor.user_id).await?;
    let entries = sessions
        .into_iter()
        .map(|s| SessionInfo {
            id: s.id,
            device_name: s.device_name,
            created_at: s.created_at,
            last_used_at: s.last_used_at,
            expires_at: s.expires_at,
            current: Some(s.id) == actor.session_id,
        })
        .collect();
    Ok(Json(Page {
        entries,
        next_cursor: None,
    }))
}

/// Sign one device out.
#[utoipa::path(delete, path = "/api/v1/sessions/{id}", tag = "accounts",
    params(("id" = Uuid, Path, description = "session id")),
    responses((status = 204), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn revoke_session(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let id = Uuid::try_parse(&id)
        .map_err(|_| ApiError::new(ProblemCode::InvalidId, "a session id is a UUID"))?;
    state.store.revoke_session(actor.user_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/me/password`.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    pub current_password: String,
    pub new_password: String,
}

/// Change the caller's password: the current one must match (a wrong one is `403
/// wrong_current_password`, not a `401`, which clients read as "the session ended"); every other
/// session ends, the caller's own stays signed in.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "accounts", request_body = ChangePassword,
    responses((status = 204), (status = 403, description = "wrong_current_password", body = Problem),
        (status = 422, description = "weak_password", body = Problem),
        (status = 429, description = "too_many_requests: too many wrong current passwords (Retry-After)", body = Problem)),
    security(("bearer" = [])))]
pub async fn change_password(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    Authed(actor): Authed,
    ApiJson(request): ApiJson<ChangePassword>,
) -> ApiResult<StatusCode> {
    let user = state
        .store
        .user_by_id(actor.user_id)
        .await?
        .ok_or(ProblemCode::NotFound)?;
    // The same throttle as sign-in: a stolen access token must not become a password oracle.
    let throttle = &state.login_throttle;
    throttle.check(&user.email, address).await?;
    if !password::verify(request.current_password, user.password_hash.clone()).await {
        throttle.failed(&user.email, address).await;
        return Err(ApiError::new(
            ProblemCode::WrongCurrentPassword,
            "the current password does not match",
        ));
    }
    throttle.succeeded(&user.email, address).await;
    let hash = strong_hash(&request.new_password).await?;
    state
        .store
        .change_password_hash(user.id, &hash, actor.session_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_loosely() {
        assert!(is_plausible_email("ana@example.org"));
        assert!(!is_plausible_email("ana"));
        assert!(!is_plausible_email("ana@localhost"));
        assert!(!is_plausible_email("a na@example.org"));
        assert!(!is_plausible_email("@example.org"));
    }
}
