//! Group commit for SQLite: concurrent write operations share one transaction and one fsync.
//!
//! SQLite has one writer at a time, and a durable commit costs a flush of the WAL. Instead of one
//! transaction (and one flush) per operation, writers take turns on one connection inside a shared
//! `BEGIN IMMEDIATE` transaction, each operation in its own `SAVEPOINT` (so a failing operation is
//! rolled back alone). The first operation to finish becomes the batch's leader: it queues for the
//! connection once more — behind every writer already waiting, since the lock is fair — and then
//! commits the whole batch with one flush. Each operation returns only after the commit that
//! contains it, so "acknowledged" still means "durable".

use std::sync::Arc;

use sqlx::any::Any;
use sqlx::pool::PoolConnection;
use sqlx::{AnyConnection, AnyPool, Executor};
use tokio::sync::{Mutex, MutexGuard, oneshot};

use crate::{Result, StoreError};

/// The shared writer connection and the batch being built on it.
#[derive(Default)]
pub(crate) struct WriterState {
    conn: Option<PoolConnection<Any>>,
    /// A batch transaction is open on `conn`.
    in_tx: bool,
    /// An operation was abandoned inside its savepoint; undo it before anyone else writes.
    abandoned: bool,
    /// Operations waiting for the batch to commit.
    waiting: Vec<oneshot::Sender<Result<(), String>>>,
}

/// The writer of one SQLite database.
pub(crate) struct GroupWriter {
    pool: AnyPool,
    state: Mutex<WriterState>,
}

/// One write operation's turn on the shared connection.
pub(crate) struct Turn<'a> {
    writer: &'a Arc<GroupWriter>,
    guard: Option<MutexGuard<'a, WriterState>>,
}

impl GroupWriter {
    pub(crate) fn new(pool: AnyPool) -> Arc<Self> {
        Arc::new(Self {
            pool,
            state: Mutex::default(),
        })
    }

    /// Hands the writer's connection back to the pool (before the pool closes), after the batch in
    /// progress, if any, has committed.
    pub(crate) async fn release(&self) {
        let mut guard = self.state.lock().await;
        if guard.in_tx && guard.waiting.is_empty() && settle(&mut guard).await.is_ok() {
            let _ = connection(&mut guard).execute("COMMIT").await;
            guard.in_tx = false;
        }
        guard.conn = None;
    }

    /// Waits for the writer's turn and opens a savepoint for one operation.
    pub(crate) async fn begin(self: &Arc<Self>) -> Result<Turn<'_>> {
        let mut guard = self.state.lock().await;
        settle(&mut guard).await?;
        if !guard.in_tx {
            if guard.conn.is_none() {
                guard.conn = Some(self.pool.acquire().await?);
            }
            connection(&mut guard).execute("BEGIN IMMEDIATE").await?;
            guard.in_tx = true;
        }
        connection(&mut guard).execute("SAVEPOINT op").await?;
        Ok(Turn {
            writer: self,
            guard: Some(guard),
        })
    }
}

fn connection<'g>(state: &'g mut MutexGuard<'_, WriterState>) -> &'g mut AnyConnection {
    state
        .conn
        .as_deref_mut()
        .unwrap_or_else(|| unreachable!("a writer holds a connection"))
}

/// Undoes an abandoned operation, so the batch holds only finished ones.
async fn settle(state: &mut MutexGuard<'_, WriterState>) -> Result<()> {
    if state.abandoned {
        connection(state)
            .execute("ROLLBACK TO SAVEPOINT op; RELEASE SAVEPOINT op")
            .await?;
        state.abandoned = false;
    }
    Ok(())
}

impl Turn<'_> {
    /// The shared connection, inside this operation's savepoint.
    pub(crate) fn conn(&mut self) -> &mut AnyConnection {
        connection(
            self.guard
                .as_mut()
                .unwrap_or_else(|| unreachable!("a live turn holds the lock")),
        )
    }

    /// Ends the operation and returns once the batch that contains it is durable.
    pub(crate) async fn commit(mut self) -> Result<()> {
        let mut guard = self
            .guard
            .take()
            .unwrap_or_else(|| unreachable!("a live turn holds the lock"));
        if let Err(error) = connection(&mut guard).execute("RELEASE SAVEPOINT op").await {
            guard.abandoned = true;
            return Err(error.into());
        }
        let (done, committed) = oneshot::channel();
        guard.waiting.push(done);
        let leader = guard.waiting.len() == 1;
        drop(guard);
        if leader {
            // Queue behind every writer already waiting: they join this batch. The commit runs as
            // its own task so that a cancelled request cannot strand the batch.
            let writer = Arc::clone(self.writer);
            tokio::spawn(async move {
                let mut guard = writer.state.lock().await;
                commit_batch(&mut guard).await;
            });
        }
        match committed.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(StoreError::CommitFailed(message)),
            Err(_) => Err(StoreError::CommitFailed("the batch was dropped".to_owned())),
        }
    }
}

async fn commit_batch(state: &mut MutexGuard<'_, WriterState>) {
    let outcome = match settle(state).await {
        Ok(()) => connection(state)
            .execute("COMMIT")
            .await
            .map(drop)
            .map_err(|e| e.to_string()),
        Err(error) => Err(error.to_string()),
    };
    if outcome.is_err() {
        // Leave no half-open transaction behind; the next writer starts afresh.
        let _ = connection(state).execute("ROLLBACK").await;
    }
    state.in_tx = false;
    for waiter in state.waiting.drain(..) {
        let _ = waiter.send(outcome.clone());
    }
}

impl Drop for Turn<'_> {
    /// An operation that ends without `commit` (an error, a cancelled request) is undone by whoever
    /// writes next; if nobody else has work in this batch, a janitor closes the transaction so the
    /// database is not left locked.
    fn drop(&mut self) {
        let Some(mut guard) = self.guard.take() else {
            return;
        };
        guard.abandoned = true;
        let idle = guard.waiting.is_empty();
        drop(guard);
        if idle {
            let writer = Arc::clone(self.writer);
            tokio::spawn(async move {
                let mut guard = writer.state.lock().await;
                if guard.in_tx && guard.waiting.is_empty() && settle(&mut guard).await.is_ok() {
                    let _ = connection(&mut guard).execute("COMMIT").await;
                    guard.in_tx = false;
                }
            });
        }
    }
}
