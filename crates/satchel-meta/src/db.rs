//! Opening the database, running migrations, and the transaction discipline every write follows.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyConnection, AnyPool, Executor, Transaction};

use uuid::Uuid;

use crate::group::{GroupWriter, Turn};

use crate::Result;

/// Which database engine a [`Store`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// One migration: its version number, a description, the SQL for each dialect, and what must be
/// done in Rust after that SQL, in the same transaction.
struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
    then: Option<Fixup>,
}

/// Work a migration needs that SQL cannot do.
#[derive(Clone, Copy)]
enum Fixup {
    /// Recompute every name key (`rekey.rs`).
    NameKeys,
}

/// One migration whose SQL is `FILE.sql` in each dialect's folder.
macro_rules! migration {
    ($version:literal, $name:literal, $file:literal) => {
        migration!($version, $name, $file, None)
    };
    ($version:literal, $name:literal, $file:literal, $then:expr) => {
        Migration {
            version: $version,
            name: $name,
            sqlite: include_str!(concat!("../migrations/sqlite/", $file, ".sql")),
            postgres: include_str!(concat!("../migrations/postgres/", $file, ".sql")),
            then: $then,
        }
    };
}

/// Migrations are only ever added; both trees keep the same numbers (a test checks the files).
const MIGRATIONS: &[Migration] = &[
    migration!(1, "init", "0001_init"),
    migration!(2, "uploads", "0002_uploads"),
    migration!(3, "links", "0003_links"),
    migration!(4, "job_claims", "0004_job_claims"),
    migration!(5, "shares", "0005_shares"),
    migration!(6, "presigned_chunks", "0006_presigned_chunks"),
    migration!(7, "download_urls", "0007_download_urls"),
    migration!(8, "name_keys", "0008_name_keys", Some(Fixup::NameKeys)),
    migration!(9, "refresh_grace", "0009_refresh_grace"),
    migration!(11, "web_files", "0011_web_files"),
    migration!(12, "admins", "0012_admins"),
    migration!(13, "dav", "0013_dav"),
    migration!(14, "storage", "0014_storage"),
    migration!(19, "tus", "0019_tus"),
];

/// The metadata store. Cheap to clone; clones share one connection pool.
#[derive(Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    backend: Backend,
    /// SQLite allows one writer at a time: writers queue here, in the process, instead of spinning
    /// on `SQLITE_BUSY`, and share commits (see `group.rs`). PostgreSQL needs neither: its row locks
    /// order writers per namespace and it groups concurrent commits itself.
    group: Option<Arc<GroupWriter>>,
    /// Announces each namespace whose journal grew, after the commit (see [`Store::subscribe`]).
    changes: tokio::sync::broadcast::Sender<Uuid>,
    /// On PostgreSQL: this process's id in `NOTIFY` payloads, and the task that hears the other
    /// servers' announcements (see `fanout.rs`).
    fanout: Option<Arc<crate::fanout::Fanout>>,
    /// Another way to tell the other servers (Redis pub/sub), which replaces `NOTIFY` once set.
    publisher: Arc<std::sync::OnceLock<Publisher>>,
    /// Told after every commit that changes who can do what (sessions, accounts, shares): what a
    /// cache of actors must forget.
    on_reach_changed: Arc<std::sync::OnceLock<Arc<dyn Fn() + Send + Sync>>>,
    /// Public links' access log, written in batches (see `links.rs`); started on first use.
    pub(crate) access_log: Arc<std::sync::OnceLock<crate::links::AccessLog>>,
}

/// Tells other servers that a namespace changed.
pub type Publisher = Arc<dyn Fn(Uuid) + Send + Sync>;

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

/// A write transaction: a pooled transaction of its own (PostgreSQL), or a turn in the group-commit
/// batch (SQLite). Dropping it without `commit` undoes its changes.
pub(crate) enum WriteTx {
    Own(Transaction<'static, Any>),
    Grouped(Turn),
}

impl WriteTx {
    /// The connection to run the operation's statements on.
    pub(crate) fn conn(&mut self) -> &mut AnyConnection {
        match self {
            WriteTx::Own(tx) => tx,
            WriteTx::Grouped(turn) => turn.conn(),
        }
    }

    /// Commits; returns once the change is durable.
    pub(crate) async fn commit(self) -> Result<()> {
        match self {
            WriteTx::Own(tx) => Ok(tx.commit().await?),
            WriteTx::Grouped(turn) => turn.commit().await,
        }
    }
}

impl Store {
    /// Connects to `url` (`sqlite://PATH` or `postgres://…`), creating a SQLite file if needed, and
    /// brings the schema up to date.
    pub async fn open(url: &str, max_connections: u32) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        let url = match backend {
            Backend::Sqlite if !url.contains('?') => format!("{url}?mode=rwc"),
            _ => url.to_owned(),
        };
        if backend == Backend::Sqlite {
            create_parent_dir(&url);
        }
        let options = AnyConnectOptions::from_str(&url)?;
        // On SQLite the group-commit writer keeps one connection for itself; readers need another.
        let max_connections = if backend == Backend::Sqlite {
            max_connections.max(2)
        } else {
            max_connections
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the writer; FULL makes every commit durable
                        // (fsync of the WAL) before it is acknowledged.
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = OFF;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        let group = (backend == Backend::Sqlite).then(|| GroupWriter::new(pool.clone()));
        let (changes, _) = tokio::sync::broadcast::channel(1024);
        let fanout = match backend {
            Backend::Postgres => Some(crate::fanout::Fanout::start(&url, changes.clone()).await?),
            Backend::Sqlite => None,
        };
        let store = Store {
            pool,
            backend,
            group,
            changes,
            fanout,
            publisher: Arc::default(),
            on_reach_changed: Arc::default(),
            access_log: Arc::default(),
        };
        store.migrate().await?;
        store.refresh_statistics().await?;
        Ok(store)
    }

    /// Claims the job `name` for `holder` until `lease` from now, if nobody else holds it: one
    /// conditional upsert, so among servers sharing the database exactly one wins each period.
    pub async fn claim_job(&self, name: &str, holder: Uuid, lease: Duration) -> Result<bool> {
        let now = Utc::now();
        let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::hours(1));
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "INSERT INTO job_claims (name, holder, until) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until \
             WHERE job_claims.until <= $4 OR job_claims.holder = $2",
        )
        .bind(name)
        .bind(holder.to_string())
        .bind(micros(until))
        .bind(micros(now))
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Namespaces whose journal has grown, announced right after each commit. Receivers that fall
    /// behind get `Lagged` and should re-read the journal.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Uuid> {
        self.changes.subscribe()
    }

    /// Tells subscribers that `ns` changed (after the commit that changed it).
    pub(crate) fn announce(&self, ns: Uuid) {
        let _ = self.changes.send(ns);
        if let Some(publish) = self.publisher.get() {
            publish(ns);
        } else if let Some(fanout) = &self.fanout {
            fanout.publish(&self.pool, ns);
        }
    }

    /// Publishes this server's announcements through `publisher` (Redis) instead of PostgreSQL's
    /// `NOTIFY`; servers that hear them pass them on with [`Store::announce_remote`]. Set once.
    pub fn set_publisher(&self, publisher: Publisher) {
        let _ = self.publisher.set(publisher);
    }

    /// Calls `hook` after every commit that changes a session, an account's quota or state, or a
    /// share — anything an [`Actor`](crate::Actor) is made of. Set once.
    pub fn set_on_reach_changed(&self, hook: Arc<dyn Fn() + Send + Sync>) {
        let _ = self.on_reach_changed.set(hook);
    }

    /// See [`Store::set_on_reach_changed`].
    pub(crate) fn reach_changed(&self) {
        if let Some(hook) = self.on_reach_changed.get() {
            hook();
        }
    }

    /// Hands another server's announcement to this server's subscribers.
    pub fn announce_remote(&self, ns: Uuid) {
        let _ = self.changes.send(ns);
    }

    /// Tells subscribers that each of `namespaces` changed.
    pub(crate) fn announce_all(&self, namespaces: &[Uuid]) {
        let mut seen = Vec::with_capacity(namespaces.len());
        for &ns in namespaces {
            if !seen.contains(&ns) {
                seen.push(ns);
                self.announce(ns);
            }
        }
    }

    /// The engine behind this store.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Checks that the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        self.flush_access_log().await;
        if let Some(group) = &self.group {
            group.release().await;
        }
        if let Some(fanout) = &self.fanout {
            fanout.stop();
        }
        self.pool.close().await;
    }

    /// Begins a write transaction (on SQLite: waits for the writer's turn).
    pub(crate) async fn write(&self) -> Result<WriteTx> {
        Ok(match &self.group {
            Some(group) => WriteTx::Grouped(group.begin().await?),
            None => WriteTx::Own(self.pool.begin().await?),
        })
    }

    async fn migrate(&self) -> Result<()> {
        let mut tx = self.write().await?;
        if self.backend == Backend::Postgres {
            // Several servers may start at once against one database: one migrates, the others wait.
            sqlx::query("SELECT pg_advisory_xact_lock(7305188)")
                .execute(tx.conn())
                .await?;
        }
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS schema_migrations \
             (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
        )
        .execute(tx.conn())
        .await?;
        let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations")
            .fetch_all(tx.conn())
            .await?;
        for migration in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
            let sql = match self.backend {
                Backend::Sqlite => migration.sqlite,
                Backend::Postgres => migration.postgres,
            };
            tracing::info!(
                version = migration.version,
                name = migration.name,
                "migrating"
            );
            tx.conn().execute(sqlx::raw_sql(sql)).await?;
            if let Some(Fixup::NameKeys) = migration.then {
                crate::rekey::rekey_names(tx.conn()).await?;
            }
            sqlx::query(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            )
            .bind(migration.version)
            .bind(migration.name)
            .bind(micros(Utc::now()))
            .execute(tx.conn())
            .await?;
        }
        tx.commit().await
    }

    /// Refreshes the planner's statistics (`ANALYZE`). On PostgreSQL a plan can depend on them:
    /// after a bulk load, or with autovacuum off or lagging, stale statistics turned index lookups
    /// on the upload path into scans (4 KiB uploads fell from ~400/s to ~110/s at 40,000 files).
    /// Run after migrations and by the background runner with each collection.
    pub async fn refresh_statistics(&self) -> Result<()> {
        let sql = match self.backend {
            Backend::Postgres => "ANALYZE",
            Backend::Sqlite => "PRAGMA optimize",
        };
        sqlx::query(sql).execute(&self.pool).await?;
        Ok(())
    }

    /// Does for the tables that changed a lot what PostgreSQL's autovacuum would, for servers where
    /// it is off or lagging: `VACUUM` where dead rows exceed 50 + 20 % of the live ones (every
    /// upload updates its owner's usage row and its namespace's sequence row, so those small hot
    /// tables fill with dead versions that every lookup of them then reads), and `ANALYZE` where
    /// more rows changed since the last analysis than 50 + 10 % of the table (autovacuum's own
    /// thresholds). On SQLite, `PRAGMA optimize`, which decides itself. Returns what it did, as
    /// `VACUUM table` / `ANALYZE table`. The background runner calls it every minute.
    pub async fn refresh_stale_statistics(&self) -> Result<Vec<String>> {
        if self.backend == Backend::Sqlite {
            sqlx::query("PRAGMA optimize").execute(&self.pool).await?;
            return Ok(Vec::new());
        }
        let stale: Vec<(String, String)> = sqlx::query_as(
            "SELECT 'VACUUM', relname::text FROM pg_stat_user_tables \
             WHERE n_dead_tup > 50 + n_live_tup / 5 \
             UNION ALL SELECT 'ANALYZE', relname::text FROM pg_stat_user_tables \
             WHERE n_mod_since_analyze > 50 + n_live_tup / 10 ORDER BY 1 DESC, 2",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut done = Vec::new();
        for (command, table) in stale {
            // Names come from the catalogue, quoted anyway.
            let quoted = table.replace('"', "\"\"");
            sqlx::query(&format!("{command} \"{quoted}\""))
                .execute(&self.pool)
                .await?;
            done.push(format!("{command} {table}"));
        }
        Ok(done)
    }

    /// Reads a server setting.
    pub async fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Stores `value` under `key` unless a value is already there; returns the value that holds.
    /// Servers sharing one database thus agree on generated secrets.
    pub async fn setting_or_init(&self, key: &str, value: &str) -> Result<String> {
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(value)
        .execute(tx.conn())
        .await?;
        let held: String = sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_one(tx.conn())
            .await?;
        tx.commit().await?;
        Ok(held)
    }
}

fn create_parent_dir(url: &str) {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or_default();
    if let Some(parent) = Path::new(path).parent() {
        // A failure shows up, with a clearer message, when the pool opens the file.
        let _ = std::fs::create_dir_all(parent);
    }
}

/// Microseconds since the Unix epoch: how times are stored.
pub(crate) fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// The inverse of [`micros`].
pub(crate) fn from_micros(value: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(value).unwrap_or_default()
}

/// Creates the PostgreSQL database named in `url` (connecting to the server's `postgres`
/// database to do so). Used by tests and by operators bootstrapping a fresh server.
pub async fn create_postgres_database(url: &str) -> Result<()> {
    sqlx::any::install_default_drivers();
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let (server, name) = base
        .rsplit_once('/')
        .ok_or_else(|| sqlx::Error::Configuration(format!("{url:?} names no database").into()))?;
    let admin = match query {
        Some(query) => format!("{server}/postgres?{query}"),
        None => format!("{server}/postgres"),
    };
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin).await?;
    let quoted = name.replace('"', "\"\"");
    conn.execute(format!("CREATE DATABASE \"{quoted}\"").as_str())
        .await?;
    Ok(())
}

impl Store {
    /// Every `(table, column)` of the schema, sorted: lets a test prove the SQLite and PostgreSQL
    /// migration trees build the same tables.
    pub async fn schema_columns(&self) -> Result<Vec<(String, String)>> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT m.name AS t, p.name AS c FROM sqlite_master m, pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'"
            }
            Backend::Postgres => {
                "SELECT CAST(table_name AS TEXT) AS t, CAST(column_name AS TEXT) AS c \
                 FROM information_schema.columns WHERE table_schema = current_schema()"
            }
        };
        let rows = sqlx::query(sql).fetch_all(&self.pool).await?;
        let mut columns = rows
            .iter()
            .map(|row| Ok((sqlx::Row::try_get(row, "t")?, sqlx::Row::try_get(row, "c")?)))
            .collect::<Result<Vec<(String, String)>>>()?;
        columns.sort();
        Ok(columns)
    }
}
