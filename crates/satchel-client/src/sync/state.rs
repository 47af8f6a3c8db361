//! `DIR/.satchel/state.db`: the synced base, what the folder is bound to, conflicts and failures.
//! SQLite in WAL mode; the base is held in memory while syncing and written back in one transaction
//! per batch of actions. Losing the last batch in a crash costs nothing but a re-hash: a path whose
//! two sides agree without a base is recognised as synced.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::str::FromStr;

use satchel_proto::{NodeKind, Sha256};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqliteSynchronous};
use sqlx::{Row, SqlitePool as Pool};
use uuid::Uuid;

use super::plan::{Base, Stamp, is_within};
use crate::ClientError;

/// The state database's format; a newer one is refused rather than misread.
const FORMAT: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS base (
    path TEXT PRIMARY KEY,
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    rev TEXT NOT NULL,
    sha256 TEXT,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS conflicts (path TEXT PRIMARY KEY, original TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS problems (path TEXT PRIMARY KEY, message TEXT NOT NULL, at TEXT NOT NULL);
";

fn db_error(error: sqlx::Error) -> ClientError {
    ClientError::Other(format!("sync state database: {error}"))
}

/// `DIR/.satchel/chunks.json`: the cuts of the folder's large files, for uploads that need not read
/// them again and downloads that copy chunks from them.
pub fn chunk_index(dir: &Path) -> crate::LocalIndex {
    crate::LocalIndex::load(dir.join(".satchel").join("chunks.json"))
}

/// The state of one synced folder.
pub struct State {
    pool: SqlitePool,
    base: BTreeMap<String, Base>,
    /// Paths whose base row must be written (or deleted) at the next flush.
    dirty: BTreeSet<String>,
}

impl State {
    /// Opens (creating) `DIR/.satchel/state.db`.
    pub async fn open(dir: &Path) -> Result<State, ClientError> {
        let folder = dir.join(".satchel");
        std::fs::create_dir_all(&folder)?;
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(db_error)?
            .filename(folder.join("state.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal);
        let pool = sqlx::pool::PoolOptions::<sqlx::Sqlite>::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(db_error)?;
        sqlx::raw_sql(SCHEMA)
            .execute(&pool)
            .await
            .map_err(db_error)?;
        let mut state = State {
            pool,
            base: BTreeMap::new(),
            dirty: BTreeSet::new(),
        };
        match state.meta("format").await? {
            None => state.set_meta("format", &FORMAT.to_string()).await?,
            Some(format) if format.parse::<i64>().ok() == Some(FORMAT) => {}
            Some(other) => {
                return Err(ClientError::Other(format!(
                    "{} was written by a newer satchel (format {other}); upgrade satchel",
                    folder.join("state.db").display()
                )));
            }
        }
        state.base = load_base(&state.pool).await?;
        Ok(state)
    }

    pub async fn meta(&self, key: &str) -> Result<Option<String>, ClientError> {
        sqlx::query_scalar("SELECT value FROM meta WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)
    }

    pub async fn set_meta(&self, key: &str, value: &str) -> Result<(), ClientError> {
        sqlx::query("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await
            .map_err(db_error)
            .map(drop)
    }

    pub fn base(&self) -> &BTreeMap<String, Base> {
        &self.base
    }

    pub fn set_base(&mut self, path: &str, base: Base) {
        self.base.insert(path.to_owned(), base);
        self.dirty.insert(path.to_owned());
    }

    /// Forgets `path` and everything under it.
    pub fn forget(&mut self, path: &str) {
        for gone in self.subtree(path) {
            self.base.remove(&gone);
            self.dirty.insert(gone);
        }
    }

    /// Moves the base of `from` (and everything under it) to `to`.
    pub fn rename(&mut self, from: &str, to: &str) {
        for old in self.subtree(from) {
            if let Some(base) = self.base.remove(&old) {
                let new = format!("{to}{}", &old[from.len()..]);
                self.dirty.insert(new.clone());
                self.base.insert(new, base);
            }
            self.dirty.insert(old);
        }
    }

    fn subtree(&self, root: &str) -> Vec<String> {
        self.base
            .range(root.to_owned()..)
            .take_while(|(path, _)| path.starts_with(root))
            .filter(|(path, _)| is_within(path, root))
            .map(|(path, _)| path.clone())
            .collect()
    }

    /// Writes the changed base rows in one transaction.
    pub async fn flush(&mut self) -> Result<(), ClientError> {
        if self.dirty.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        for path in std::mem::take(&mut self.dirty) {
            match self.base.get(&path) {
                Some(base) => {
                    sqlx::query(
                        "INSERT OR REPLACE INTO base (path, id, kind, rev, sha256, size, mtime_ns, inode) \
                         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    )
                    .bind(&path)
                    .bind(base.id.to_string())
                    .bind(base.kind.as_str())
                    .bind(&base.rev)
                    .bind(base.sha256.map(|sha| sha.to_hex()))
                    .bind(base.stamp.size as i64)
                    .bind(base.stamp.mtime_ns)
                    .bind(base.stamp.inode as i64)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
                }
                None => {
                    sqlx::query("DELETE FROM base WHERE path = ?")
                        .bind(&path)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_error)?;
                }
            }
        }
        tx.commit().await.map_err(db_error)
    }

    /// Forgets the whole base (the folder is bound to another remote folder).
    pub async fn clear_base(&mut self) -> Result<(), ClientError> {
        sqlx::query("DELETE FROM base")
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        self.base.clear();
        self.dirty.clear();
        Ok(())
    }

    pub async fn record_conflict(&self, copy: &str, original: &str) -> Result<(), ClientError> {
        sqlx::query("INSERT OR REPLACE INTO conflicts (path, original, at) VALUES (?, ?, ?)")
            .bind(copy)
            .bind(original)
            .bind(chrono::Utc::now().to_rfc3339())
            .execute(&self.pool)
            .await
            .map_err(db_error)
            .map(drop)
    }

    /// Conflicted copies still on disk: (copy, original, when).
    pub async fn conflicts(&self) -> Result<Vec<(String, String, String)>, ClientError> {
        let rows = sqlx::query("SELECT path, original, at FROM conflicts ORDER BY at")
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(rows
            .iter()
            .map(|row| (row.get(0), row.get(1), row.get(2)))
            .collect())
    }

    pub async fn drop_conflict(&self, copy: &str) -> Result<(), ClientError> {
        sqlx::query("DELETE FROM conflicts WHERE path = ?")
            .bind(copy)
            .execute(&self.pool)
            .await
            .map_err(db_error)
            .map(drop)
    }

    /// Replaces the list of paths that failed in the last round.
    pub async fn set_problems(&self, problems: &[(String, String)]) -> Result<(), ClientError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        sqlx::query("DELETE FROM problems")
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        let now = chrono::Utc::now().to_rfc3339();
        for (path, message) in problems {
            sqlx::query("INSERT OR REPLACE INTO problems (path, message, at) VALUES (?, ?, ?)")
                .bind(path)
                .bind(message)
                .bind(&now)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)
    }

    pub async fn problems(&self) -> Result<Vec<(String, String)>, ClientError> {
        let rows = sqlx::query("SELECT path, message FROM problems ORDER BY path")
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
    }

    pub async fn close(self) {
        self.pool.close().await;
    }
}

async fn load_base(pool: &Pool) -> Result<BTreeMap<String, Base>, ClientError> {
    let rows = sqlx::query("SELECT path, id, kind, rev, sha256, size, mtime_ns, inode FROM base")
        .fetch_all(pool)
        .await
        .map_err(db_error)?;
    let mut base = BTreeMap::new();
    for row in rows {
        let corrupt = || ClientError::Other("sync state database: a corrupt base row".to_owned());
        let id: String = row.get(1);
        let kind: String = row.get(2);
        let sha: Option<String> = row.get(4);
        base.insert(
            row.get::<String, _>(0),
            Base {
                id: Uuid::parse_str(&id).map_err(|_| corrupt())?,
                kind: if kind == "folder" {
                    NodeKind::Folder
                } else {
                    NodeKind::File
                },
                rev: row.get(3),
                sha256: sha
                    .map(|hex| hex.parse::<Sha256>().map_err(|_| corrupt()))
                    .transpose()?,
                stamp: Stamp {
                    size: row.get::<i64, _>(5) as u64,
                    mtime_ns: row.get(6),
                    inode: row.get::<i64, _>(7) as u64,
                },
            },
        );
    }
    Ok(base)
}
