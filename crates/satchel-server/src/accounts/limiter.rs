//! A fixed-window counter of failures per key (an account or a client address), in memory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counts failures per key and says when a key has had too many in the current window.
pub struct RateLimiter {
    allowed: u32,
    window: Duration,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    pub fn new(allowed: u32, window_secs: u64) -> Self {
        Self {
            allowed,
            window: Duration::from_secs(window_secs),
            windows: Mutex::default(),
        }
    }

    /// `Err(seconds to wait)` when `key` has used up `allowed × factor` failures in this window.
    pub fn check(&self, key: &str, factor: u32) -> Result<(), u64> {
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
    pub fn fail(&self, key: &str) {
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
    pub fn clear(&self, key: &str) {
        self.windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_allowed_failures() {
        let limiter = RateLimiter::new(2, 60);
        limiter.fail("a");
        assert!(limiter.check("a", 1).is_ok());
        limiter.fail("a");
        assert!(limiter.check("a", 1).is_err());
        assert!(limiter.check("a", 2).is_ok());
        assert!(limiter.check("b", 1).is_ok());
        limiter.clear("a");
        assert!(limiter.check("a", 1).is_ok());
    }
}
