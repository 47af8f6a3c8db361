//! How failed logins slow guessing without letting anyone lock an account's owner out.
//!
//! Three tallies per window (`login_window_secs`), all in [`RateLimiter`] (Redis or memory):
//!
//! - **account and address**: after `login_failures_allowed` failures, that address backs off for
//!   that account — 15 s after the next failure, doubling with each one after, never past the end of
//!   the window. A person's own typos cost them seconds; a guesser at one address gets a handful of
//!   guesses per window.
//! - **address**: after `login_address_failures_allowed` failures over all accounts, the address
//!   may not sign in until its window ends (high, so an office behind one NAT is not stopped by
//!   typos; it stops one address from sweeping many accounts).
//! - **account**: after `login_account_failures_allowed` failures from all addresses, the account
//!   is under attack, and an address that has failed on it this window must wait for that window to
//!   end. An address with no failure on the account is never refused because of the account's
//!   tally, so the owner signing in from anywhere they have not mistyped still gets in; a guesser
//!   spread over many addresses gets about one guess per address per window.
//!
//! A refusal is `429 too_many_requests` with `Retry-After` equal to the seconds the detail states.
//! A success forgets the (account, address) tally only: the account's tally keeps describing an
//! attack that may still be going on.

use std::net::IpAddr;
use std::time::Duration;

use satchel_proto::ProblemCode;

use super::limiter::{RateLimiter, Tally};
use crate::config::ServerConfig;
use crate::error::ApiError;

/// The first wait of an address that has used up its free failures on an account.
const BACKOFF_BASE_SECS: u64 = 15;

/// The login limits of one server.
pub struct LoginThrottle {
    tallies: RateLimiter,
    pair_allowed: u32,
    account_allowed: u32,
    address_allowed: u32,
}

impl LoginThrottle {
    pub fn new(config: &ServerConfig, tallies: RateLimiter) -> Self {
        Self {
            tallies,
            pair_allowed: config.login_failures_allowed,
            account_allowed: config.login_account_failures_allowed,
            address_allowed: config.login_address_failures_allowed,
        }
    }

    /// `Err(429)` when `address` must wait before trying the account `email` again.
    pub async fn check(&self, email: &str, address: IpAddr) -> Result<(), ApiError> {
        let keys = Keys::new(email, address);
        let pair = self.tallies.tally(&keys.pair).await;
        let by_address = self.tallies.tally(&keys.address).await;
        // The account's tally matters only to an address that has failed on it.
        let under_attack =
            pair.count > 0 && self.tallies.tally(&keys.account).await.count >= self.account_allowed;
        let window = self.tallies.window_secs();
        refuse_longest([
            (by_address.count >= self.address_allowed).then_some(by_address.window_left),
            under_attack.then_some(pair.window_left),
            backoff(pair, self.pair_allowed, window),
        ])
    }

    /// Records a wrong password (or an unknown email) from `address`.
    pub async fn failed(&self, email: &str, address: IpAddr) {
        let keys = Keys::new(email, address);
        for key in [&keys.pair, &keys.account, &keys.address] {
            self.tallies.fail(key).await;
        }
    }

    /// Records a sign-in from `address`: its failures on this account are forgiven.
    pub async fn succeeded(&self, email: &str, address: IpAddr) {
        self.tallies.clear(&Keys::new(email, address).pair).await;
    }
}

/// The tallies a login attempt touches.
struct Keys {
    pair: String,
    account: String,
    address: String,
}

impl Keys {
    fn new(email: &str, address: IpAddr) -> Self {
        let account = satchel_meta::email_key(email);
        Keys {
            pair: format!("pair:{address}:{account}"),
            account: format!("account:{account}"),
            address: format!("address:{address}"),
        }
    }
}

/// Seconds an address with `tally` failures on an account still has to wait, if any: none for the
/// first `allowed`, then 15 s after the next, doubling, at most until the window ends.
fn backoff(tally: Tally, allowed: u32, window: u64) -> Option<u64> {
    let over = tally.count.checked_sub(allowed)?;
    let hold = 2u64
        .checked_pow(over)
        .and_then(|factor| factor.checked_mul(BACKOFF_BASE_SECS))
        .filter(|hold| *hold < window)
        .unwrap_or(window);
    let left = Duration::from_secs(hold)
        .checked_sub(tally.since_last)
        .filter(|left| !left.is_zero())?;
    let left = left.as_secs() + u64::from(left.subsec_nanos() > 0);
    Some(left.clamp(1, tally.window_left.max(1)))
}

/// `Err(429)` for the longest of the waits some limits impose (`None`: that limit lets it through).
pub fn refuse_longest(waits: impl IntoIterator<Item = Option<u64>>) -> Result<(), ApiError> {
    match waits.into_iter().flatten().max() {
        Some(seconds) => Err(too_many(seconds)),
        None => Ok(()),
    }
}

/// The refusal, its detail and `Retry-After` stating the same seconds.
pub fn too_many(seconds: u64) -> ApiError {
    ApiError {
        retry_after: Some(seconds),
        ..ApiError::new(
            ProblemCode::TooManyRequests,
            format!("too many failed attempts; retry in {seconds} s"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(count: u32, since_last_secs: u64, window_left: u64) -> Tally {
        Tally {
            count,
            window_left,
            since_last: Duration::from_secs(since_last_secs),
        }
    }

    #[test]
    fn backoff_starts_after_the_allowed_failures_and_doubles() {
        assert_eq!(backoff(tally(4, 0, 900), 5, 900), None);
        assert_eq!(backoff(tally(5, 0, 900), 5, 900), Some(15));
        assert_eq!(backoff(tally(5, 10, 900), 5, 900), Some(5));
        assert_eq!(backoff(tally(5, 15, 900), 5, 900), None);
        assert_eq!(backoff(tally(6, 0, 900), 5, 900), Some(30));
        assert_eq!(backoff(tally(9, 0, 900), 5, 900), Some(240));
        // Never past the window, whose end forgets the tally.
        assert_eq!(backoff(tally(12, 0, 900), 5, 900), Some(900));
        assert_eq!(backoff(tally(60, 0, 100), 5, 900), Some(100));
    }

    #[tokio::test]
    async fn the_account_tally_never_refuses_an_address_without_failures() {
        let config = ServerConfig {
            login_failures_allowed: 2,
            login_account_failures_allowed: 3,
            ..ServerConfig::default()
        };
        let throttle = LoginThrottle::new(&config, RateLimiter::new(900));
        let (attacker, owner): (IpAddr, IpAddr) = (
            "198.51.100.1".parse().unwrap(),
            "203.0.113.9".parse().unwrap(),
        );
        for _ in 0..2 {
            throttle.failed("ana@example.org", attacker).await;
        }
        let refused = throttle
            .check("ana@example.org", attacker)
            .await
            .unwrap_err();
        assert_eq!(refused.retry_after, Some(15));
        throttle
            .failed("ana@example.org", "192.0.2.1".parse().unwrap())
            .await;
        // Under attack: whoever failed waits for the window; the owner's address does not.
        let refused = throttle
            .check("ana@example.org", attacker)
            .await
            .unwrap_err();
        assert!(refused.retry_after > Some(800));
        assert!(throttle.check("ana@example.org", owner).await.is_ok());
        assert!(throttle.check("bo@example.org", attacker).await.is_ok());
    }
}
