//! App passwords (`/api/v1/app-passwords`) and HTTP Basic sign-in for third-party clients.
//!
//! An app password is 43 random URL-safe characters; its first [`LOOKUP_CHARS`] find its row, the
//! whole is kept only as an argon2 hash (like account passwords). Basic sign-in takes the account's
//! email with an app password or the account password, and every failure counts against the same
//! limits as `/auth/login` (`throttle.rs`).
//!
//! Verifying argon2 on every request of a WebDAV client (hundreds a minute) would dominate its
//! cost, so a verified credential is remembered for [`REMEMBER`] under the SHA-256 of what was
//! sent; a remembered app password is still checked against the database on each request (a
//! revoked one stops at once, on every server), and a remembered account password against the
//! account's current hash (a changed password stops at once).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use satchel_meta::{Actor, AppPasswordRecord, NewAppPassword, UserRecord};
use satchel_proto::{
    AppPasswordCreated, AppPasswordInfo, AppPasswordScope, CreateAppPassword, Page, Problem,
    ProblemCode,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{password, tokens};
use crate::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, Authed};
use crate::state::AppState;

/// Characters of an app password stored in the clear to find its row.
const LOOKUP_CHARS: usize = 12;
/// Longest name of an app password, in characters.
const MAX_NAME_CHARS: usize = 200;
/// How long a verified Basic credential is remembered.
const REMEMBER: Duration = Duration::from_secs(300);
/// Most credentials remembered at once (the memory is forgotten whole past this).
const REMEMBER_MAX: usize = 10_000;
/// How often a use is written to `last_used_at` (at most).
const TOUCH_EVERY: Duration = Duration::from_secs(60);

fn info(record: &AppPasswordRecord) -> AppPasswordInfo {
    AppPasswordInfo {
        id: record.id,
        name: record.name.clone(),
        scope: record.scope,
        created_at: record.created_at,
        last_used_at: record.last_used_at,
        last_used_from: record.last_used_from.clone(),
    }
}

/// Make an app password; the answer is the only time its secret is shown.
#[utoipa::path(post, path = "/api/v1/app-passwords", tag = "accounts", request_body = CreateAppPassword,
    responses((status = 201, body = AppPasswordCreated), (status = 400, body = Problem)),
    security(("bearer" = [])))]
pub async fn create_app_password(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(request): ApiJson<CreateAppPassword>,
) -> ApiResult<(StatusCode, Json<AppPasswordCreated>)> {
    let name = request.name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(ApiError::new(
            ProblemCode::BadRequest,
            format!("a name is 1 to {MAX_NAME_CHARS} characters, without control characters"),
        ));
    }
    let secret = tokens::random_token();
    let password_hash = password::hash(secret.clone())
        .await
        .map_err(ApiError::internal)?;
    let scope = request.scope.unwrap_or_default();
    let record = state
        .store
        .create_app_password(NewAppPassword {
            user_id: actor.user_id,
            name,
            scope,
            lookup: &secret[..LOOKUP_CHARS],
            password_hash: &password_hash,
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(AppPasswordCreated {
            id: record.id,
            name: record.name,
            password: secret,
            scope,
            created_at: record.created_at,
        }),
    ))
}

/// The caller's app passwords, with when and from where each was last used.
#[utoipa::path(get, path = "/api/v1/app-passwords", tag = "accounts",
    responses((status = 200, body = Page<AppPasswordInfo>)), security(("bearer" = [])))]
pub async fn list_app_passwords(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> ApiResult<Json<Page<AppPasswordInfo>>> {
    let records = state.store.list_app_passwords(actor.user_id).await?;
    Ok(Json(Page {
        entries: records.iter().map(info).collect(),
        next_cursor: None,
    }))
}

/// Revoke an app password: its next use is refused, on every server.
#[utoipa::path(delete, path = "/api/v1/app-passwords/{id}", tag = "accounts",
    params(("id" = Uuid, Path, description = "app password id")),
    responses((status = 204), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn revoke_app_password(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = Uuid::try_parse(&id)
        .map_err(|_| ApiError::new(ProblemCode::InvalidId, "an app password id is a UUID"))?;
    state.store.revoke_app_password(actor.user_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who signed in with HTTP Basic, and what they may do.
#[derive(Debug, Clone)]
pub struct BasicActor {
    pub actor: Actor,
    /// `read_only` only for an app password made so; the account password is `full`.
    pub scope: AppPasswordScope,
}

/// What a verified credential was.
#[derive(Debug, Clone)]
enum Verified {
    App {
        id: Uuid,
        name: String,
        scope: AppPasswordScope,
    },
    /// The account password, as hashed when it was verified.
    Account { password_hash: String },
}

#[derive(Debug, Clone)]
struct Remembered {
    user_id: Uuid,
    verified: Verified,
    at: Instant,
    touched: Option<Instant>,
}

/// Verified Basic credentials of this process (see the module documentation).
#[derive(Debug, Default)]
pub struct BasicCache {
    entries: Mutex<HashMap<[u8; 32], Remembered>>,
}

impl BasicCache {
    fn get(&self, key: &[u8; 32]) -> Option<Remembered> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|entry| entry.at.elapsed() < REMEMBER)
            .cloned()
    }

    fn put(&self, key: [u8; 32], entry: Remembered) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= REMEMBER_MAX {
            entries.clear();
        }
        entries.insert(key, entry);
    }

    /// Whether a use should be written now (and notes that it is).
    fn should_touch(&self, key: &[u8; 32]) -> bool {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.get_mut(key) {
            Some(entry) if entry.touched.is_some_and(|t| t.elapsed() < TOUCH_EVERY) => false,
            Some(entry) => {
                entry.touched = Some(Instant::now());
                true
            }
            None => true,
        }
    }
}

/// The email and password of an `Authorization: Basic …` header.
pub fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (email, password) = text.split_once(':')?;
    Some((email.to_owned(), password.to_owned()))
}

/// Signs in with HTTP Basic (`email:app password` or `email:account password`) from `address`.
/// A missing header is `401 unauthorized`; a wrong credential `401 bad_credentials`, counted by the
/// login throttle, which may answer `429` instead.
pub async fn basic_auth(
    state: &AppState,
    headers: &HeaderMap,
    address: IpAddr,
) -> ApiResult<BasicActor> {
    let (email, secret) = basic_credentials(headers).ok_or_else(|| {
        ApiError::new(
            ProblemCode::Unauthorized,
            "sign in with your email and an app password",
        )
    })?;
    let throttle = &state.login_throttle;
    throttle.check(&email, address).await?;
    let user = state.store.user_by_email(&email).await?;
    let key: [u8; 32] = Sha256::new()
        .chain_update(email.as_bytes())
        .chain_update([0])
        .chain_update(secret.as_bytes())
        .finalize()
        .into();
    let verified = match &user {
        Some(user) => verify(state, &key, user, secret).await?,
        None => {
            password::verify(secret, state.decoy_hash.to_string()).await;
            None
        }
    };
    let (Some(user), Some(verified)) = (user, verified) else {
        throttle.failed(&email, address).await;
        return Err(ApiError::bare(ProblemCode::BadCredentials));
    };
    if user.disabled_at.is_some() {
        return Err(ApiError::bare(ProblemCode::AccountDisabled));
    }
    throttle.succeeded(&email, address).await;
    let mut actor = state
        .store
        .account_actor(user.id)
        .await?
        .ok_or(ProblemCode::AccountDisabled)?;
    let scope = match &verified {
        Verified::App { id, name, scope } => {
            if state.basic_cache.should_touch(&key) {
                state
                    .store
                    .touch_app_password(*id, &address.to_string())
                    .await?;
            }
            actor.device = Some(name.clone());
            *scope
        }
        Verified::Account { .. } => AppPasswordScope::Full,
    };
    Ok(BasicActor { actor, scope })
}

/// What `secret` is for `user`: a remembered credential still valid, one of their app passwords,
/// or their account password; `None` when it is none of these.
async fn verify(
    state: &AppState,
    key: &[u8; 32],
    user: &UserRecord,
    secret: String,
) -> ApiResult<Option<Verified>> {
    if let Some(entry) = state.basic_cache.get(key).filter(|e| e.user_id == user.id) {
        let still = match &entry.verified {
            Verified::App { id, .. } => state.store.app_password_exists(*id).await?,
            Verified::Account { password_hash } => *password_hash == user.password_hash,
        };
        if still {
            return Ok(Some(entry.verified));
        }
    }
    let app = match secret.get(..LOOKUP_CHARS) {
        Some(lookup) => state
            .store
            .app_password_by_lookup(lookup)
            .await?
            .filter(|record| record.user_id == user.id),
        None => None,
    };
    let verified = match app {
        Some(record) if password::verify(secret.clone(), record.password_hash.clone()).await => {
            Some(Verified::App {
                id: record.id,
                name: record.name,
                scope: record.scope,
            })
        }
        _ if password::verify(secret, user.password_hash.clone()).await => {
            Some(Verified::Account {
                password_hash: user.password_hash.clone(),
            })
        }
        _ => None,
    };
    if let Some(verified) = &verified {
        state.basic_cache.put(
            *key,
            Remembered {
                user_id: user.id,
                verified: verified.clone(),
                at: Instant::now(),
                touched: None,
            },
        );
    }
    Ok(verified)
}
