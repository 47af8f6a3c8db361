//! Redis, when `--redis` names one: change announcements between servers (pub/sub, in place of
//! PostgreSQL's `NOTIFY`), failure counters that every server shares (rate limits), and a cache of
//! actors (the first database work of every authenticated request).
//!
//! Nothing depends on Redis for correctness. When it cannot be reached, announcements still reach
//! this server's own clients (and the others' clients catch up through their periodic checks), and
//! rate limits fall back to each server's own counters.

use std::sync::Arc;
use std::time::Duration;

use std::sync::atomic::{AtomicU64, Ordering};

use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use satchel_meta::{Actor, Store};
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

    fn limit_key(&self, key: &str) -> String {
        format!("{}:limit:{key}", self.prefix)
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

    /// Adds one failure at `at` (Unix milliseconds) to the tally `key`, whose window of `window`
    /// seconds begins with its first failure.
    pub async fn count(&self, key: &str, window: u64, at: u64) -> redis::RedisResult<()> {
        let key = self.limit_key(key);
        let mut connection = self.connection.clone();
        redis::pipe()
            .atomic()
            .hincr(&key, "count", 1)
            .ignore()
            .hset(&key, "last", at)
            .ignore()
            .cmd("EXPIRE")
            .arg(&key)
            .arg(window.max(1))
            .arg("NX")
            .ignore()
            .query_async::<()>(&mut connection)
            .await
    }

    /// The tally `key`: its count, the seconds its window has left and its last failure (Unix
    /// milliseconds); zeros when there is none.
    pub async fn peek(&self, key: &str) -> redis::RedisResult<(u64, u64, u64)> {
        let key = self.limit_key(key);
        let mut connection = self.connection.clone();
        let ((count, last), ttl): ((Option<u64>, Option<u64>), i64) = redis::pipe()
            .cmd("HMGET")
            .arg(&key)
            .arg("count")
            .arg("last")
            .ttl(&key)
            .query_async(&mut connection)
            .await?;
        Ok((
            count.unwrap_or(0),
            u64::try_from(ttl).unwrap_or(0),
            last.unwrap_or(0),
        ))
    }

    /// Forgets the counter `key`.
    pub async fn forget(&self, key: &str) -> redis::RedisResult<()> {
        let key = self.limit_key(key);
        let mut connection = self.connection.clone();
        connection.del::<_, ()>(key).await
    }
}

/// How long a cached actor lives at most (also how long this server stops reading the cache after
/// Redis failed it).
const ACTOR_TTL_SECS: u64 = 30;

/// Actors (a session's user, namespaces and quota) cached in Redis: the database work every
/// authenticated request does first. An entry is valid only under the generation it was stored
/// with; every commit that changes a session, an account or a share bumps the generation (see
/// `Store::set_on_reach_changed`), so nothing stale is ever served: until the bump has reached Redis,
/// and for a while after Redis failed, this server reads the database instead.
pub struct ActorCache {
    redis: Redis,
    /// Bumps sent and not yet acknowledged.
    pending: AtomicU64,
    /// The cache is not read before this (after a failure).
    off_until: std::sync::Mutex<Option<std::time::Instant>>,
}

/// What the cache knows of a session.
pub enum Cached {
    Hit(Actor),
    /// Not there (or stale): load it, and store it under this generation.
    Miss(u64),
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Entry {
    generation: u64,
    actor: Actor,
}

impl ActorCache {
    /// Starts caching; `store`'s changes invalidate.
    pub fn start(redis: Redis, store: &Store) -> Arc<ActorCache> {
        let cache = Arc::new(ActorCache {
            redis,
            pending: AtomicU64::new(0),
            off_until: std::sync::Mutex::new(None),
        });
        let weak = Arc::downgrade(&cache);
        store.set_on_reach_changed(Arc::new(move || {
            if let Some(cache) = weak.upgrade() {
                cache.bump();
            }
        }));
        cache
    }

    fn generation_key(&self) -> String {
        format!("{}:actors:generation", self.redis.prefix)
    }

    fn key(&self, session: Uuid) -> String {
        format!("{}:actor:{session}", self.redis.prefix)
    }

    fn usable(&self) -> bool {
        if self.pending.load(Ordering::SeqCst) > 0 {
            return false;
        }
        let off = self.off_until.lock().unwrap_or_else(|p| p.into_inner());
        off.is_none_or(|until| std::time::Instant::now() >= until)
    }

    fn fail(&self, error: &redis::RedisError) {
        tracing::warn!("actor cache: {error}; reading the database for {ACTOR_TTL_SECS} s");
        *self.off_until.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(std::time::Instant::now() + Duration::from_secs(ACTOR_TTL_SECS));
    }

    /// Invalidates every cached actor (after a commit that changed who can do what).
    fn bump(self: &Arc<Self>) {
        self.pending.fetch_add(1, Ordering::SeqCst);
        let cache = self.clone();
        tokio::spawn(async move {
            let mut connection = cache.redis.connection.clone();
            let bumped: redis::RedisResult<u64> = connection.incr(cache.generation_key(), 1).await;
            if let Err(error) = bumped {
                cache.fail(&error);
            }
            cache.pending.fetch_sub(1, Ordering::SeqCst);
        });
    }

    /// The session's actor if cached under the current generation; `None` when the cache is not to
    /// be used now.
    pub async fn lookup(&self, session: Uuid) -> Option<Cached> {
        if !self.usable() {
            return None;
        }
        let mut connection = self.redis.connection.clone();
        let found: redis::RedisResult<(Option<String>, Option<u64>)> = redis::pipe()
            .get(self.key(session))
            .get(self.generation_key())
            .query_async(&mut connection)
            .await;
        match found {
            Ok((entry, generation)) => {
                let generation = generation.unwrap_or(0);
                let entry = entry.and_then(|text| serde_json::from_str::<Entry>(&text).ok());
                Some(match entry {
                    Some(entry) if entry.generation == generation => Cached::Hit(entry.actor),
                    _ => Cached::Miss(generation),
                })
            }
            Err(error) => {
                self.fail(&error);
                None
            }
        }
    }

    /// Caches the session's actor, loaded after [`ActorCache::lookup`] said `Miss(generation)`.
    pub async fn store(&self, session: Uuid, generation: u64, actor: &Actor) {
        let Ok(text) = serde_json::to_string(&Entry {
            generation,
            actor: actor.clone(),
        }) else {
            return;
        };
        let mut connection = self.redis.connection.clone();
        let stored: redis::RedisResult<()> = connection
            .set_ex(self.key(session), text, ACTOR_TTL_SECS)
            .await;
        if let Err(error) = stored {
            self.fail(&error);
        }
    }
}
