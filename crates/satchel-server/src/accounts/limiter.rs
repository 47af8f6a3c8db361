//! A fixed-window counter of failures per key (an account or a client address): in Redis when the
//! server has one (so the limit holds across servers), else — or while Redis cannot be reached — in
//! this process's memory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::redis::Redis;

/// Counts failures per key and says when a key has had too many in the current window.
pub struct RateLimiter {
    allowed: u32,
    window: Duration,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
    /// The counters every server shares, under this limiter's name.
    shared: Option<(Redis, &'static str)>,
}

impl RateLimiter {
    pub fn new(allowed: u32, window_secs: u64) -> Self {
        Self {
            allowed,
            window: Duration::from_secs(window_secs),
            windows: Mutex::default(),
            shared: None,
        }
    }

    /// Keeps the counters in Redis, under `name`, shared by every server using it.
    pub fn shared(mut self, redis: Redis, name: &'static str) -> Self {
        self.shared = Some((redis, name));
        self
    }

    /// `Err(seconds to wait)` when `key` has used up `allowed × factor` failures in this window.
    pub async fn check(&self, key: &str, factor: u32) -> Result<(), u64> {
        if let Some((redis, name)) = &self.shared {
            match redis.peek(&format!("{name}:{key}")).await {
                Ok((count, left)) if count >= u64::from(self.allowed * factor) => {
                    return Err(left.max(1));
                }
                Ok(_) => return Ok(()),
                Err(error) => tracing::warn!("rate limit in Redis: {error}; counting locally"),
            }
        }
        self.check_local(key, factor)
    }

    fn check_local(&self, key: &str, factor: u32) -> Result<(), u64> {
        let windows = self
            .windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match windows.get(key) {
            Some((start, count))
                if start.elapsed() < self.window && *count >= self.allowed * factor =>
            {
                Err(self.window.saturating_sub(start.elapsed()).as_secs().max(1))
            }
            _ => Ok(()),
        }
    }

    /// Records one failure for `key`.
    pub async fn fail(&self, key: &str) {
        if let Some((redis, name)) = &self.shared {
            match redis
                .count(&format!("{name}:{key}"), self.window.as_secs().max(1))
                .await
            {
                Ok(_) => return,
                Err(error) => tracing::warn!("rate limit in Redis: {error}; counting locally"),
            }
        }
        self.fail_local(key);
    }

    fn fail_local(&self, key: &str) {
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if windows.len() > 100_000 {
            let window = self.window;
            windows.retain(|_, (start, _)| start.elapsed() < window);
        }
        let entry = windows.entry(key.to_owned()).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= self.window {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
    }

    /// Forgets `key` (after a successful login).
    pub async fn clear(&self, key: &str) {
        if let Some((redis, name)) = &self.shared
            && let Err(error) = redis.forget(&format!("{name}:{key}")).await
        {
            tracing::warn!("rate limit in Redis: {error}");
        }
        self.windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn blocks_after_the_allowed_failures() {
        let limiter = RateLimiter::new(2, 60);
        limiter.fail("a").await;
        assert!(limiter.check("a", 1).await.is_ok());
        limiter.fail("a").await;
        assert!(limiter.check("a", 1).await.is_err());
        assert!(limiter.check("a", 2).await.is_ok());
        assert!(limiter.check("b", 1).await.is_ok());
        limiter.clear("a").await;
        assert!(limiter.check("a", 1).await.is_ok());
    }
}
