//! Telling clients that their tree changed, the moment it commits: a WebSocket that pushes
//! `{"type":"changed","cursor":…}` and a long poll for clients that cannot keep a socket.
//!
//! Both listen to [`satchel_meta::Store::subscribe`], which announces a namespace right after each
//! commit that journaled a change in it — no polling, no batching delay, and an idle connection
//! costs one parked task.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use satchel_meta::{Actor, Cursor, StoreError};
use satchel_proto::{Problem, ProblemCode};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;

use crate::error::{ApiError, ApiResult};
use crate::http::extract::{ApiQuery, Authed, authenticate, bearer};
use crate::state::AppState;

/// Longest long poll a client may ask for.
const MAX_WAIT_SECS: u64 = 120;
/// How often an idle WebSocket is pinged (proxies drop silent connections after about a minute).
const PING_EVERY: Duration = Duration::from_secs(25);
/// Close code sent when the access token behind a socket expires (reconnect with a fresh token).
const CLOSE_TOKEN_EXPIRED: u16 = 4001;
/// WebSocket close code for "the server is restarting": reconnect (RFC 6455 registry, 1012).
const CLOSE_RESTARTING: u16 = 1012;

/// `?cursor=&timeout=` of the long poll.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WaitParams {
    /// Wait for changes after this cursor (from `/changes` or `/changes/latest`).
    #[param(pattern = r"^[A-Za-z0-9_-]+$")]
    pub cursor: String,
    /// Seconds to wait at most (default 30); above 120 is `400 bad_request`.
    #[serde(default, deserialize_with = "wait_timeout")]
    #[param(minimum = 0, maximum = 120)]
    pub timeout: Option<u64>,
}

/// Parses `?timeout=`, refusing more than [`MAX_WAIT_SECS`].
fn wait_timeout<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u64>, D::Error> {
    let text = Option::<String>::deserialize(deserializer)?;
    let Some(text) = text else { return Ok(None) };
    match text.parse::<u64>() {
        Ok(seconds) if seconds <= MAX_WAIT_SECS => Ok(Some(seconds)),
        _ => Err(serde::de::Error::custom(format!(
            "`timeout` is a whole number of seconds from 0 to {MAX_WAIT_SECS}, not {text:?}"
        ))),
    }
}

/// The answer of the long poll.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Waited {
    /// Whether there are changes after the cursor (`false`: the wait timed out).
    pub changed: bool,
}

async fn has_changes(state: &AppState, actor: &Actor, cursor: &Cursor) -> ApiResult<bool> {
    Ok(!state
        .store
        .changes(actor, Some(cursor), 1)
        .await?
        .changes
        .is_empty())
}

/// Long poll: answers as soon as there is a change after `cursor`, or `{changed: false}` after the
/// timeout. `410 cursor_expired` when the journal no longer holds the cursor.
#[utoipa::path(get, path = "/api/v1/changes/wait", tag = "sync", params(WaitParams),
    responses((status = 200, body = Waited), (status = 410, description = "cursor_expired", body = Problem)),
    security(("bearer" = [])))]
pub async fn wait(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(params): ApiQuery<WaitParams>,
) -> ApiResult<Json<Waited>> {
    let cursor = Cursor::decode(&params.cursor).map_err(|_: StoreError| {
        ApiError::new(
            ProblemCode::BadRequest,
            "that cursor was not issued by this server",
        )
    })?;
    let timeout = Duration::from_secs(params.timeout.unwrap_or(30));
    // Subscribe before looking, so a change that commits in between is not missed.
    let mut announcements = state.store.subscribe();
    if has_changes(&state, &actor, &cursor).await? {
        return Ok(Json(Waited { changed: true }));
    }
    let deadline = tokio::time::Instant::now() + timeout;
    let drained = state.drained();
    tokio::pin!(drained);
    loop {
        let announcement = tokio::select! {
            next = tokio::time::timeout_at(deadline, announcements.recv()) => next,
            // Shutting down: answer now, so the client polls again (elsewhere).
            () = &mut drained => return Ok(Json(Waited { changed: false })),
        };
        match announcement {
            Err(_) => return Ok(Json(Waited { changed: false })),
            Ok(Ok(ns)) if ns == actor.ns_id => return Ok(Json(Waited { changed: true })),
            Ok(Ok(_)) => {}
            Ok(Err(RecvError::Lagged(_))) => {
                if has_changes(&state, &actor, &cursor).await? {
                    return Ok(Json(Waited { changed: true }));
                }
            }
            Ok(Err(RecvError::Closed)) => return Err(ApiError::bare(ProblemCode::Unavailable)),
        }
    }
}

/// `?access_token=` for browsers, which cannot set headers on a WebSocket.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SocketParams {
    pub access_token: Option<String>,
}

/// One message pushed to clients.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Notification {
    /// Always `changed`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A cursor at (or after) the change: read `/changes` up to it.
    pub cursor: String,
}

/// WebSocket: after each commit that changes the caller's tree, `{"type":"changed","cursor":…}`.
/// Authenticated by `Authorization: Bearer` or `?access_token=`; pinged every 25 s; closed with code
/// 4001 when the access token expires.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "sync", params(SocketParams),
    responses((status = 101, description = "switching to the WebSocket protocol"),
        (status = 400, description = "bad_request: not a WebSocket handshake", body = Problem),
        (status = 401, body = Problem)), security(("bearer" = [])))]
pub async fn notifications(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(params): ApiQuery<SocketParams>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let token = bearer(&headers)
        .or(params.access_token.as_deref())
        .ok_or_else(|| {
            ApiError::new(
                ProblemCode::Unauthorized,
                "send a bearer token or ?access_token=",
            )
        })?;
    let (actor, expires) = authenticate(&state, token).await?;
    let upgrade = upgrade.map_err(|rejection| {
        ApiError::new(
            ProblemCode::BadRequest,
            format!(
                "a WebSocket handshake is expected: {}",
                rejection.body_text()
            ),
        )
    })?;
    // Clients send nothing but pongs and a close: small buffers keep thousands of idle sockets
    // cheap (the default read buffer alone is 128 KiB per socket).
    Ok(upgrade
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(64 * 1024)
        .on_upgrade(move |socket| push(state, actor, expires, socket))
        .into_response())
}

async fn push(state: AppState, actor: Actor, expires: i64, mut socket: WebSocket) {
    let mut announcements = state.store.subscribe();
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.reset();
    let left = u64::try_from(expires - chrono::Utc::now().timestamp()).unwrap_or(0);
    let expiry = tokio::time::sleep(Duration::from_secs(left));
    tokio::pin!(expiry);
    let drained = state.drained();
    tokio::pin!(drained);
    loop {
        tokio::select! {
            () = &mut drained => {
                let frame = CloseFrame { code: CLOSE_RESTARTING, reason: "server restarting; reconnect".into() };
                let _ = socket.send(Message::Close(Some(frame))).await;
                return;
            }
            announcement = announcements.recv() => match announcement {
                Ok(ns) if ns != actor.ns_id => continue,
                Ok(_) | Err(RecvError::Lagged(_)) => {
                    let Ok(cursor) = state.store.latest_cursor(&actor).await else { return };
                    let message = Notification { kind: "changed".to_owned(), cursor: cursor.encode() };
                    let text = serde_json::to_string(&message).unwrap_or_default();
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Closed) => return,
            },
            _ = ping.tick() => {
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                    return;
                }
            }
            () = &mut expiry => {
                let frame = CloseFrame { code: CLOSE_TOKEN_EXPIRED, reason: "access token expired; reconnect with a fresh one".into() };
                let _ = socket.send(Message::Close(Some(frame))).await;
                return;
            }
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}
