//! Failure tallies per key (an account, an address, a link, or a pair of them) over a fixed window:
//! how many failures since the window began, how long the window has left, and how long ago the last
//! one was. In Redis when the server has one (so every server sees the same tallies), else — or while
//! Redis cannot be reached — in this process's memory. What a tally means (refuse, back off) is
//! decided by the callers' policies (`throttle.rs`, `sharing/public.rs`), not here.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::redis::Redis;

/// The failures of one key in its current window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    /// Failures since the window began (0 when there is no window).
    pub count: u32,
    /// Whole seconds the window has left (at least 1 while `count > 0`).
    pub window_left: u64,
    /// Time since the last failure (`Duration::MAX` when there was none).
    pub since_last: Duration,
}

impl Tally {
    fn none() -> Self {
        Tally {
            count: 0,
            window_left: 0,
            since_last: Duration::MAX,
        }
    }
}

/// A window's start, its failures and the last failure, in this process.
struct Local {
    start: Instant,
    count: u32,
    last: Instant,
}

/// Counts failures per key in windows of a fixed length.
pub struct RateLimiter {
    window: Duration,
    windows: Mutex<HashMap<String, Local>>,
    /// The tallies every server shares, under this limiter's name.
    shared: Option<(Redis, &'static str)>,
}

impl RateLimiter {
    pub fn new(window_secs: u64) -> Self {
        Self {
            window: Duration::from_secs(window_secs.max(1)),
            windows: Mutex::default(),
            shared: None,
        }
    }

    /// Keeps the tallies in Redis, under `name`, shared by every server using it.
    pub fn shared(mut self, redis: Redis, name: &'static str) -> Self {
        self.shared = Some((redis, name));
        self
    }

    /// The window's length in seconds.
    pub fn window_secs(&self) -> u64 {
        self.window.as_secs()
    }

    /// The failures of `key` in its current window.
    pub async fn tally(&self, key: &str) -> Tally {
        if let Some((redis, name)) = &self.shared {
            match redis.peek(&format!("{name}:{key}")).await {
                Ok(peeked) => return shared_tally(peeked),
                Err(error) => tracing::warn!("rate limit in Redis: {error}; counting locally"),
            }
        }
        self.tally_local(key)
    }

    fn tally_local(&self, key: &str) -> Tally {
        let windows = self.lock();
        match windows.get(key) {
            Some(local) if local.start.elapsed() < self.window => Tally {
                count: local.count,
                window_left: self
                    .window
                    .saturating_sub(local.start.elapsed())
                    .as_secs()
                    .max(1),
                since_last: local.last.elapsed(),
            },
            _ => Tally::none(),
        }
    }

    /// Records one failure for `key`.
    pub async fn fail(&self, key: &str) {
        if let Some((redis, name)) = &self.shared {
            match redis
                .count(
                    &format!("{name}:{key}"),
                    self.window.as_secs(),
                    now_millis(),
                )
                .await
            {
                Ok(()) => return,
                Err(error) => tracing::warn!("rate limit in Redis: {error}; counting locally"),
            }
        }
        self.fail_local(key);
    }

    fn fail_local(&self, key: &str) {
        let mut windows = self.lock();
        if windows.len() > 100_000 {
            let window = self.window;
            windows.retain(|_, local| local.start.elapsed() < window);
        }
        let now = Instant::now();
        let local = windows.entry(key.to_owned()).or_insert(Local {
            start: now,
            count: 0,
            last: now,
        });
        if local.start.elapsed() >= self.window {
            local.start = now;
            local.count = 0;
        }
        local.count += 1;
        local.last = now;
    }

    /// Forgets `key` (after a success).
    pub async fn clear(&self, key: &str) {
        if let Some((redis, name)) = &self.shared
            && let Err(error) = redis.forget(&format!("{name}:{key}")).await
        {
            tracing::warn!("rate limit in Redis: {error}");
        }
        self.lock().remove(key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Local>> {
        self.windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Milliseconds since the Unix epoch: the time of a failure as every server reads it.
fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A tally from Redis's `(count, seconds left, last failure in Unix milliseconds)`.
fn shared_tally((count, left, last): (u64, u64, u64)) -> Tally {
    if count == 0 {
        return Tally::none();
    }
    Tally {
        count: u32::try_from(count).unwrap_or(u32::MAX),
        window_left: left.max(1),
        since_last: Duration::from_millis(now_millis().saturating_sub(last)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tallies_failures_until_cleared() {
        let limiter = RateLimiter::new(60);
        assert_eq!(limiter.tally("a").await, Tally::none());
        limiter.fail("a").await;
        limiter.fail("a").await;
        let tally = limiter.tally("a").await;
        assert_eq!(tally.count, 2);
        assert!(tally.window_left >= 59 && tally.window_left <= 60);
        assert!(tally.since_last < Duration::from_secs(1));
        assert_eq!(limiter.tally("b").await.count, 0);
        limiter.clear("a").await;
        assert_eq!(limiter.tally("a").await.count, 0);
    }
}
