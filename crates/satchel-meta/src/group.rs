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
use tokio::sync::{Mutex, OwnedMutexGuard, oneshot};

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
///
/// Every step that changes the connection's transaction state (`BEGIN`, `SAVEPOINT`, `RELEASE`,
/// `COMMIT`) runs in a task that owns the lock, so a request dropped half-way (a client that went
/// away) can never leave the connection in a state this bookkeeping does not know about.
pub(crate) struct GroupWriter {
    pool: AnyPool,
    state: Arc<Mutex<WriterState>>,
}

/// One write operation's turn on the shared connection.
pub(crate) struct Turn {
    writer: Arc<GroupWriter>,
    guard: Option<OwnedMutexGuard<WriterState>>,
}

impl GroupWriter {
    pub(crate) fn new(pool: AnyPool) -> Arc<Self> {
        Arc::new(Self {
            pool,
            state: Arc::default(),
        })
    }

    /// Hands the writer's connection back to the pool (before the pool closes), after the batch in
    /// progress, if any, has committed.
    pub(crate) async fn release(&self) {
        let mut guard = self.state.clone().lock_owned().await;
        close_if_idle(&mut guard).await;
        guard.conn = None;
    }

    /// Waits for the writer's turn and opens a savepoint for one operation.
    pub(crate) async fn begin(self: &Arc<Self>) -> Result<Turn> {
        let guard = self.state.clone().lock_owned().await;
        let (deliver, delivered) = oneshot::channel();
        let pool = self.pool.clone();
        tokio::spawn(async move {
            let mut guard = guard;
            match open_savepoint(&pool, &mut guard).await {
                Ok(()) => {
                    if let Err(Ok(mut guard)) = deliver.send(Ok(guard)) {
                        // The request went away while it waited: undo its (empty) savepoint.
                        guard.abandoned = true;
                        close_if_idle(&mut guard).await;
                    }
                }
                Err(error) => {
                    let _ = deliver.send(Err(error));
                }
            }
        });
        let guard = delivered
            .await
            .map_err(|_| StoreError::CommitFailed("the writer task ended".to_owned()))??;
        Ok(Turn {
            writer: Arc::clone(self),
            guard: Some(guard),
        })
    }
}

async fn open_savepoint(pool: &AnyPool, state: &mut WriterState) -> Result<()> {
    settle(state).await?;
    if !state.in_tx {
        if state.conn.is_none() {
            state.conn = Some(pool.acquire().await?);
        }
        connection(state).execute("BEGIN IMMEDIATE").await?;
        state.in_tx = true;
    }
    connection(state).execute("SAVEPOINT op").await?;
    Ok(())
}

fn connection(state: &mut WriterState) -> &mut AnyConnection {
    state
        .conn
        .as_deref_mut()
        .unwrap_or_else(|| unreachable!("a writer holds a connection"))
}

/// Undoes an abandoned operation, so the batch holds only finished ones.
async fn settle(state: &mut WriterState) -> Result<()> {
    if state.abandoned {
        connection(state)
            .execute("ROLLBACK TO SAVEPOINT op; RELEASE SAVEPOINT op")
            .await?;
        state.abandoned = false;
    }
    Ok(())
}

/// Commits the open batch if nobody waits on it (after an abandoned operation), so the database is
/// not left locked.
async fn close_if_idle(state: &mut WriterState) {
    if state.in_tx && state.waiting.is_empty() && settle(state).await.is_ok() {
        let _ = connection(state).execute("COMMIT").await;
        state.in_tx = false;
    }
}

impl Turn {
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
        let writer = Arc::clone(&self.writer);
        let (done, committed) = oneshot::channel();
        tokio::spawn(async move {
            if let Err(error) = connection(&mut guard).execute("RELEASE SAVEPOINT op").await {
                guard.abandoned = true;
                close_if_idle(&mut guard).await;
                let _ = done.send(Err(error.to_string()));
                return;
            }
            guard.waiting.push(done);
            let leader = guard.waiting.len() == 1;
            drop(guard);
            if leader {
                // Queue behind every writer already waiting: they join this batch.
                let mut guard = writer.state.clone().lock_owned().await;
                commit_batch(&mut guard).await;
            }
        });
        match committed.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(StoreError::CommitFailed(message)),
            Err(_) => Err(StoreError::CommitFailed("the batch was dropped".to_owned())),
        }
    }
}

async fn commit_batch(state: &mut WriterState) {
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

impl Drop for Turn {
    /// An operation that ends without `commit` (an error, a cancelled request) is undone by whoever
    /// writes next; if nobody else has work in this batch, a janitor closes the transaction so the
    /// database is not left locked.
    fn drop(&mut self) {
        let Some(mut guard) = self.guard.take() else {
            return;
        };
        guard.abandoned = true;
        if guard.waiting.is_empty() {
            tokio::spawn(async move { close_if_idle(&mut guard).await });
        }
    }
}
