//! Running until stopped: the folder is watched (`notify`, then a short quiet period so a burst of
//! writes becomes one round), the server is heard through the notification WebSocket (a long poll
//! while the socket cannot connect), and a full check runs now and then as a safety net. When the
//! server or the network goes away, passes fail with transient errors and are retried with backoff.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use notify::Watcher;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::engine::{Engine, Summary};
use crate::{Client, ClientError};

/// Quiet time after a local event before a round starts.
const DEBOUNCE: Duration = Duration::from_millis(100);
/// Longest a burst of local events can delay a round.
const MAX_DELAY: Duration = Duration::from_secs(2);
/// The safety net: a full listing this often.
const FULL_CHECK: Duration = Duration::from_secs(600);
/// When the folder cannot be watched (inotify limits, some network file systems): a walk this often.
const POLL_WITHOUT_WATCHER: Duration = Duration::from_secs(30);
/// The server pings every 25 s: silence this long means a dead connection (a laptop that slept, a
/// network that dropped without a reset).
const SOCKET_SILENCE: Duration = Duration::from_secs(70);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wake {
    Local,
    Remote,
}

/// Whether a watched path is ours (the state folder, downloads in progress) rather than the user's.
fn is_own(dir: &Path, path: &Path) -> bool {
    let relative = path.strip_prefix(dir).unwrap_or(path);
    relative.starts_with(".satchel")
        || relative
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(".satchel-part"))
}

/// Syncs until `stop` resolves; `report` hears of each pass that changed something.
pub async fn run(
    mut engine: Engine,
    stop: impl std::future::Future<Output = ()>,
    report: impl Fn(&Summary),
) -> Result<(), ClientError> {
    let (wake_tx, mut wake_rx) = mpsc::channel::<Wake>(256);
    let dir = engine.dir().to_path_buf();
    let local_tx = wake_tx.clone();
    let watched = dir.clone();
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event
            && !event.kind.is_access()
            && event.paths.iter().any(|p| !is_own(&watched, p))
        {
            // A full queue already holds a wake-up.
            let _ = local_tx.try_send(Wake::Local);
        }
    })
    .and_then(|mut watcher| {
        watcher.watch(&dir, notify::RecursiveMode::Recursive)?;
        Ok(watcher)
    });
    let (watcher, idle_wait) = match watcher {
        Ok(watcher) => (Some(watcher), FULL_CHECK),
        Err(error) => {
            tracing::warn!(
                "cannot watch {} ({error}); looking for changes every {} s instead",
                dir.display(),
                POLL_WITHOUT_WATCHER.as_secs()
            );
            (None, POLL_WITHOUT_WATCHER)
        }
    };

    let (cursor_tx, cursor_rx) = watch::channel(engine.cursor());
    let listener = tokio::spawn(listen(engine.client().clone(), cursor_rx, wake_tx));
    tokio::pin!(stop);
    let mut backoff = Duration::from_secs(1);
    let mut last_full = tokio::time::Instant::now();
    loop {
        if last_full.elapsed() >= FULL_CHECK {
            if let Err(error) = engine.relist().await {
                tracing::warn!("full check failed: {error}");
            }
            last_full = tokio::time::Instant::now();
        }
        match engine.sync_once().await {
            Ok(summary) => {
                backoff = Duration::from_secs(1);
                let _ = cursor_tx.send(engine.cursor());
                if summary.changed_anything() || !summary.problems.is_empty() {
                    report(&summary);
                }
            }
            Err(error) => {
                tracing::warn!("sync paused: {error}; retrying in {}s", backoff.as_secs());
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = &mut stop => break,
                }
                backoff = (backoff * 2).min(Duration::from_secs(60));
                continue;
            }
        }
        // Wait for something to do.
        let first = tokio::select! {
            wake = wake_rx.recv() => wake,
            () = tokio::time::sleep(idle_wait) => None,
            () = &mut stop => break,
        };
        if first == Some(Wake::Local) {
            // Let a burst of writes settle.
            let deadline = tokio::time::Instant::now() + MAX_DELAY;
            loop {
                match tokio::time::timeout(DEBOUNCE, wake_rx.recv()).await {
                    Ok(Some(_)) if tokio::time::Instant::now() < deadline => continue,
                    _ => break,
                }
            }
        }
        while wake_rx.try_recv().is_ok() {}
    }
    listener.abort();
    drop(watcher);
    engine.close().await;
    Ok(())
}

/// Hears of remote changes: the WebSocket while it works, the long poll while it does not.
async fn listen(client: Arc<Client>, cursor: watch::Receiver<String>, wake: mpsc::Sender<Wake>) {
    let mut backoff = Duration::from_secs(1);
    loop {
        match socket(&client, &wake).await {
            Ok(()) => backoff = Duration::from_secs(1),
            Err(error) => {
                tracing::debug!("notification socket: {error}; long polling meanwhile");
                let at = cursor.borrow().clone();
                match client.wait_changes(&at, 25).await {
                    Ok(true) => {
                        let _ = wake.send(Wake::Remote).await;
                        // Give the engine a moment to move the cursor on.
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    Ok(false) => {}
                    Err(_) => {
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(30));
                    }
                }
            }
        }
    }
}

/// One WebSocket connection, until it closes. A wake-up is sent on connecting (changes may have
/// happened while disconnected) and on every notification.
async fn socket(client: &Client, wake: &mpsc::Sender<Wake>) -> Result<(), ClientError> {
    let token = client.fresh_access_token().await?;
    let server = client.credentials().server;
    let url = format!("{}/api/v1/notifications", server.replacen("http", "ws", 1));
    let mut request = url
        .into_client_request()
        .map_err(|e| ClientError::Other(e.to_string()))?;
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {token}")
            .parse()
            .map_err(|_| ClientError::Other("a malformed token".to_owned()))?,
    );
    let (mut stream, _) = tokio_tungstenite::connect_async(request)
        .await
        .map_err(|e| ClientError::Other(e.to_string()))?;
    let _ = wake.send(Wake::Remote).await;
    loop {
        let message = match tokio::time::timeout(SOCKET_SILENCE, stream.next()).await {
            Err(_) => {
                return Err(ClientError::Other(
                    "the notification socket went silent".to_owned(),
                ));
            }
            Ok(None) => break,
            Ok(Some(message)) => message,
        };
        match message.map_err(|e| ClientError::Other(e.to_string()))? {
            Message::Text(text) if text.contains("\"changed\"") => {
                let _ = wake.try_send(Wake::Remote);
            }
            Message::Close(_) => break,
            _ => {}
        }
    }
    Ok(())
}
