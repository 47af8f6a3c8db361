//! One memory budget for the whole server: the bytes held by uploads and downloads in flight.
//!
//! Every buffer of file bytes a transfer holds — an upload's read buffer and the chunks it is
//! writing, a chunk being received, a chunk read for a download, a zip or a hash — is covered by a
//! [`Lease`] of that many bytes from one semaphore sized by `transfer_memory_mib`. A request that
//! finds no room waits for it instead of allocating more, so the server's transfer memory stays
//! under the budget whatever the number of clients.
//!
//! No deadlock: a request *waits* for room only while it holds no lease of its own that could be
//! waiting on the same room (its earlier download chunks are on their way to the client and are
//! given back as the socket drains, whatever the budget does). Everything else — more writes in
//! parallel, reading ahead — is taken only if room is free at once ([`TransferBudget::try_lease`]),
//! and otherwise done with what the request already holds. The budget is never smaller than the
//! largest single lease a request can need (see [`TransferBudget::new`]), so one request alone
//! always fits.
//!
//! `held` counts the bytes of live leases and `peak` its highest value: the budget's own gauge,
//! which tests read to prove it is honoured.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The server's transfer memory budget. Cheap to clone.
#[derive(Clone)]
pub struct TransferBudget {
    inner: Arc<Inner>,
}

struct Inner {
    room: Arc<Semaphore>,
    limit: usize,
    held: AtomicUsize,
    peak: AtomicUsize,
}

/// Room for `bytes` bytes of transfer memory, given back when dropped.
pub struct Lease {
    bytes: usize,
    _permit: Option<OwnedSemaphorePermit>,
    inner: Arc<Inner>,
}

impl TransferBudget {
    /// A budget of `limit` bytes, raised to `largest_lease` if smaller, so that any single lease
    /// can always be granted once the others are given back.
    pub fn new(limit: usize, largest_lease: usize) -> Self {
        let limit = limit.max(largest_lease).clamp(1, u32::MAX as usize);
        TransferBudget {
            inner: Arc::new(Inner {
                room: Arc::new(Semaphore::new(limit)),
                limit,
                held: AtomicUsize::new(0),
                peak: AtomicUsize::new(0),
            }),
        }
    }

    /// The budget in bytes.
    pub fn limit(&self) -> usize {
        self.inner.limit
    }

    /// Bytes leased right now.
    pub fn held(&self) -> usize {
        self.inner.held.load(Ordering::Relaxed)
    }

    /// The most bytes ever leased at once.
    pub fn peak(&self) -> usize {
        self.inner.peak.load(Ordering::Relaxed)
    }

    /// Room for `bytes`, waiting until there is some. Call only while holding no other lease
    /// (see the module documentation).
    pub async fn lease(&self, bytes: usize) -> Lease {
        let permits = self.permits(bytes);
        let permit = match permits {
            0 => None,
            n => self.inner.room.clone().acquire_many_owned(n).await.ok(),
        };
        Lease::new(&self.inner, bytes, permit)
    }

    /// Room for `bytes` if it is free now.
    pub fn try_lease(&self, bytes: usize) -> Option<Lease> {
        let permit = match self.permits(bytes) {
            0 => None,
            n => Some(self.inner.room.clone().try_acquire_many_owned(n).ok()?),
        };
        Some(Lease::new(&self.inner, bytes, permit))
    }

    /// Permits for a lease: one per byte, never more than the whole budget (which [`new`] made
    /// large enough for any lease the server asks for).
    fn permits(&self, bytes: usize) -> u32 {
        u32::try_from(bytes.min(self.inner.limit)).unwrap_or(u32::MAX)
    }
}

impl Lease {
    fn new(inner: &Arc<Inner>, bytes: usize, permit: Option<OwnedSemaphorePermit>) -> Lease {
        let held = inner.held.fetch_add(bytes, Ordering::Relaxed) + bytes;
        inner.peak.fetch_max(held, Ordering::Relaxed);
        Lease {
            bytes,
            _permit: permit,
            inner: inner.clone(),
        }
    }

    /// `bytes` carrying this lease: the room is given back when the last view of them is dropped
    /// (for a download, once the connection has written them).
    pub fn wrap(self, bytes: Bytes) -> Bytes {
        Bytes::from_owner(Leased {
            bytes,
            _lease: self,
        })
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.inner.held.fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

/// Bytes and the lease that covers them.
struct Leased {
    bytes: Bytes,
    _lease: Lease,
}

impl AsRef<[u8]> for Leased {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_for_room_and_gives_it_back() {
        let budget = TransferBudget::new(100, 10);
        let first = budget.lease(60).await;
        assert!(budget.try_lease(50).is_none());
        let bytes = budget.try_lease(40).unwrap().wrap(Bytes::from_static(b"x"));
        assert_eq!(budget.held(), 100);
        let waiting = tokio::spawn({
            let budget = budget.clone();
            async move { budget.lease(70).await.bytes }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(first);
        drop(bytes);
        assert_eq!(waiting.await.unwrap(), 70);
        assert_eq!(budget.held(), 0);
        assert_eq!(budget.peak(), 100);
    }

    #[test]
    fn is_never_smaller_than_the_largest_lease() {
        assert_eq!(TransferBudget::new(5, 64).limit(), 64);
    }
}
