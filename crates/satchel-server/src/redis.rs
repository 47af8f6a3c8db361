//! Redis, when `--redis` names one: change announcements between servers (pub/sub, in place of
//! PostgreSQL's `NOTIFY`) and failure counters that every server shares (rate limits).
//!
//! Nothing depends on Redis for correctness. When it cannot be reached, announcements still reach
//! this server's own clients (and the others' clients catch up through their periodic checks), and
//! rate limits fall back to each server's own counters.

use std::sync::Arc;
use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use satchel_meta::Store;
use uuid::Uuid;

/// A connection to Redis shared by the whole server.
#[derive(Clone)]
pub struct Redis {
    client: redis::Client,
    connection: ConnectionManager,
    /// Prefix of every key and channel: servers of one deployment share it.
    prefix: String,
    /// This process, in every announcement it publishes (`INSTANCE:NAMESPACE`).
    instance: Uuid,
}

impl Redis {
    /// Connects (failing if Redis does not answer now; the caller decides whether to go on without).
    pub async fn connect(url: &str, prefix: &str) -> redis::RedisResult<Redis> {
        let client = redis::Client::open(url)?;
        let connection =
            tokio::time::timeout(Duration::from_secs(5), client.get_connection_manager())
                .await
                .map_err(|_| {
                    redis::RedisError::from(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "Redis did not answer within 5 s",
                    ))
                })??;
        Ok(Redis {
            client,
            connection,
            prefix: prefix.to_owned(),
            instance: Uuid::now_v7(),
        })
    }

    fn channel(&self) -> String {
        format!("{}:changes", self.prefix)
    }

    /// Publishes `store`'s announcements to the other servers and passes theirs on to it.
    pub fn fan_out(&self, store: &Store) {
        let redis = self.clone();
        store.set_publisher(Arc::new(move |ns| {
            let mut connection = redis.connection.clone();
            let channel = redis.channel();
            let payload = format!("{}:{ns}", redis.instance);
            tokio::spawn(async move {
                let sent: redis::RedisResult<i64> = connection.publish(channel, payload).await;
                if let Err(error) = sent {
                    tracing::warn!("change fan-out through Redis: {error}");
                }
            });
        }));
        let redis = self.clone();
        let store = store.clone();
        tokio::spawn(async move {
            loop {
                if let Err(error) = redis.listen(&store).await {
                    tracing::warn!("change fan-out through Redis: {error}; reconnecting");
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }

    /// Hears the other servers' announcements until the subscription breaks.
    async fn listen(&self, store: &Store) -> redis::RedisResult<()> {
        use futures_util::StreamExt;
        let mut pubsub = self.client.get_async_pubsub().await?;
        pubsub.subscribe(self.channel()).await?;
        let mut messages = pubsub.into_on_message();
        let own = self.instance.to_string();
        while let Some(message) = messages.next().await {
            let Ok(payload) = message.get_payload::<String>() else {
                continue;
            };
            let Some((from, ns)) = payload.split_once(':') else {
                continue;
            };
            if from != own
                && let Ok(ns) = Uuid::parse_str(ns)
            {
                store.announce_remote(ns);
            }
        }
        Ok(())
    }

    /// Adds one to the counter `key` of a window of `window` seconds; returns the count.
    pub async fn count(&self, key: &str, window: u64) -> redis::RedisResult<u64> {
        let key = format!("{}:limit:{key}", self.prefix);
        let mut connection = self.connection.clone();
        let (count,): (u64,) = redis::pipe()
            .atomic()
            .incr(&key, 1)
            .cmd("EXPIRE")
            .arg(&key)
            .arg(window)
            .arg("NX")
            .ignore()
            .query_async(&mut connection)
            .await?;
        Ok(count)
    }

    /// The counter `key` and the seconds its window has left (0, 0 when there is none).
    pub async fn peek(&self, key: &str) -> redis::RedisResult<(u64, u64)> {
        let key = format!("{}:limit:{key}", self.prefix);
        let mut connection = self.connection.clone();
        let (count, ttl): (Option<u64>, i64) = redis::pipe()
            .get(&key)
            .ttl(&key)
            .query_async(&mut connection)
            .await?;
        Ok((count.unwrap_or(0), u64::try_from(ttl).unwrap_or(0)))
    }

    /// Forgets the counter `key`.
    pub async fn forget(&self, key: &str) -> redis::RedisResult<()> {
        let key = format!("{}:limit:{key}", self.prefix);
        let mut connection = self.connection.clone();
        connection.del::<_, ()>(key).await
    }
}
