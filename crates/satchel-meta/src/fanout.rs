//! Change announcements across servers that share one PostgreSQL database: each commit's namespace
//! is published with `pg_notify` on one channel, and every server listens on it and hands what the
//! others published to its own subscribers (WebSockets, long polls). A server's own commits are
//! announced locally at once and skipped when they come back.

use std::sync::Arc;

use sqlx::AnyPool;
use sqlx::postgres::PgListener;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::Result;

const CHANNEL: &str = "satchel_changes";

pub(crate) struct Fanout {
    /// This process, in every payload it publishes (`INSTANCE:NAMESPACE`).
    instance: Uuid,
    listener: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Fanout {
    /// Starts listening; announcements from other servers go to `local`.
    pub(crate) async fn start(url: &str, local: broadcast::Sender<Uuid>) -> Result<Arc<Fanout>> {
        let instance = Uuid::now_v7();
        let mut listener = PgListener::connect(url).await?;
        listener.listen(CHANNEL).await?;
        let task = tokio::spawn(async move {
            loop {
                // `recv` reconnects by itself after a lost connection; announcements made while it
                // was away are lost, which clients' periodic checks and cursors cover.
                match listener.recv().await {
                    Ok(notification) => {
                        let Some((from, ns)) = notification.payload().split_once(':') else {
                            continue;
                        };
                        if from == instance.to_string() {
                            continue;
                        }
                        if let Ok(ns) = Uuid::parse_str(ns) {
                            let _ = local.send(ns);
                        }
                    }
                    Err(error) => {
                        tracing::warn!("change fan-out: {error}; retrying");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Ok(Arc::new(Fanout {
            instance,
            listener: std::sync::Mutex::new(Some(task)),
        }))
    }

    /// Tells the other servers that `ns` changed (off the request path).
    pub(crate) fn publish(&self, pool: &AnyPool, ns: Uuid) {
        let pool = pool.clone();
        let payload = format!("{}:{ns}", self.instance);
        tokio::spawn(async move {
            let sent = sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(payload)
                .execute(&pool)
                .await;
            if let Err(error) = sent {
                tracing::warn!("change fan-out: {error}");
            }
        });
    }

    pub(crate) fn stop(&self) {
        if let Some(task) = self
            .listener
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            task.abort();
        }
    }
}
