//! What WebDAV needs beyond the tree: dead properties per node, and locks per account.
//!
//! Dead properties are keyed by node id, so a move keeps them and a copy copies them
//! ([`Store::copy_dead_props`]). Locks live here so that every server sharing the database honours
//! the same ones; a lock whose `expires_at` has passed is ignored and deleted on the next write.
//! Placing a lock checks the account's other locks and inserts in one transaction that first takes
//! a row lock on the account, so two servers cannot grant conflicting locks at once.

use chrono::Utc;
use sqlx::Row;
use sqlx::any::AnyRow;
use uuid::Uuid;

use crate::db::micros;
use crate::{Result, Store};

/// One dead property of a node: its namespace URI (empty for none), local name and XML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadProp {
    pub namespace: String,
    pub name: String,
    pub xml: String,
}

/// One WebDAV lock as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DavLockRecord {
    pub token: String,
    /// The locked resource in its account's tree: `/`-separated, percent-encoded segments, no
    /// trailing slash (`""` is the root).
    pub path: String,
    pub principal: Option<String>,
    pub owner_xml: Option<String>,
    pub shared: bool,
    pub deep: bool,
    /// The timeout the client asked for, in microseconds (`None`: infinite).
    pub timeout_us: Option<i64>,
    /// When it lapses, in microseconds since the epoch.
    pub expires_at: Option<i64>,
}

const LOCK_COLUMNS: &str =
    "token, path, principal, owner_xml, shared, deep, timeout_us, expires_at";

fn lock_record(row: &AnyRow) -> Result<DavLockRecord> {
    Ok(DavLockRecord {
        token: row.try_get("token")?,
        path: row.try_get("path")?,
        principal: row.try_get("principal")?,
        owner_xml: row.try_get("owner_xml")?,
        shared: row.try_get::<i64, _>("shared")? != 0,
        deep: row.try_get::<i64, _>("deep")? != 0,
        timeout_us: row.try_get("timeout_us")?,
        expires_at: row.try_get("expires_at")?,
    })
}

impl Store {
    /// The dead properties of `node`.
    pub async fn dead_props(&self, node: Uuid) -> Result<Vec<DeadProp>> {
        let rows = sqlx::query(
            "SELECT namespace, name, xml FROM dead_props WHERE node_id = $1 ORDER BY namespace, name",
        )
        .bind(node.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(DeadProp {
                    namespace: row.try_get("namespace")?,
                    name: row.try_get("name")?,
                    xml: row.try_get("xml")?,
                })
            })
            .collect()
    }

    /// One dead property of `node`, if set.
    pub async fn dead_prop(
        &self,
        node: Uuid,
        namespace: &str,
        name: &str,
    ) -> Result<Option<String>> {
        let row = sqlx::query(
            "SELECT xml FROM dead_props WHERE node_id = $1 AND namespace = $2 AND name = $3",
        )
        .bind(node.to_string())
        .bind(namespace)
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|row| row.try_get("xml")).transpose()?)
    }

    /// Sets (`Some` XML) and removes (`None`) dead properties of `node`, all or nothing.
    pub async fn patch_dead_props(
        &self,
        node: Uuid,
        changes: &[(String, String, Option<String>)],
    ) -> Result<()> {
        let mut tx = self.write().await?;
        for (namespace, name, xml) in changes {
            sqlx::query(
                "DELETE FROM dead_props WHERE node_id = $1 AND namespace = $2 AND name = $3",
            )
            .bind(node.to_string())
            .bind(namespace)
            .bind(name)
            .execute(tx.conn())
            .await?;
            if let Some(xml) = xml {
                sqlx::query(
                    "INSERT INTO dead_props (node_id, namespace, name, xml) VALUES ($1, $2, $3, $4)",
                )
                .bind(node.to_string())
                .bind(namespace)
                .bind(name)
                .bind(xml)
                .execute(tx.conn())
                .await?;
            }
        }
        tx.commit().await
    }

    /// Gives `to` the dead properties of `from` (a copy), replacing any it had.
    pub async fn copy_dead_props(&self, from: Uuid, to: Uuid) -> Result<()> {
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM dead_props WHERE node_id = $1")
            .bind(to.to_string())
            .execute(tx.conn())
            .await?;
        sqlx::query(
            "INSERT INTO dead_props (node_id, namespace, name, xml) \
             SELECT $2, namespace, name, xml FROM dead_props WHERE node_id = $1",
        )
        .bind(from.to_string())
        .bind(to.to_string())
        .execute(tx.conn())
        .await?;
        tx.commit().await
    }

    /// The account's locks that have not lapsed.
    pub async fn dav_locks(&self, user_id: Uuid) -> Result<Vec<DavLockRecord>> {
        let sql = format!(
            "SELECT {LOCK_COLUMNS} FROM dav_locks WHERE user_id = $1 \
             AND (expires_at IS NULL OR expires_at > $2)"
        );
        let rows = sqlx::query(&sql)
            .bind(user_id.to_string())
            .bind(micros(Utc::now()))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(lock_record).collect()
    }

    /// Runs `decide` over the account's live locks inside a transaction serialised per account; if
    /// it returns a lock, that lock is stored. Lapsed locks are deleted on the way.
    pub async fn place_dav_lock<T>(
        &self,
        user_id: Uuid,
        decide: impl FnOnce(&[DavLockRecord]) -> std::result::Result<DavLockRecord, T>,
    ) -> Result<std::result::Result<DavLockRecord, T>> {
        let mut tx = self.write().await?;
        // A row lock on the account orders concurrent lockers (PostgreSQL); SQLite has one writer.
        sqlx::query("UPDATE users SET id = id WHERE id = $1")
            .bind(user_id.to_string())
            .execute(tx.conn())
            .await?;
        let now = micros(Utc::now());
        sqlx::query("DELETE FROM dav_locks WHERE user_id = $1 AND expires_at <= $2")
            .bind(user_id.to_string())
            .bind(now)
            .execute(tx.conn())
            .await?;
        let sql = format!("SELECT {LOCK_COLUMNS} FROM dav_locks WHERE user_id = $1");
        let rows = sqlx::query(&sql)
            .bind(user_id.to_string())
            .fetch_all(tx.conn())
            .await?;
        let locks = rows.iter().map(lock_record).collect::<Result<Vec<_>>>()?;
        let lock = match decide(&locks) {
            Ok(lock) => lock,
            Err(refusal) => return Ok(Err(refusal)),
        };
        sqlx::query(
            "INSERT INTO dav_locks (token, user_id, path, principal, owner_xml, shared, deep, \
             timeout_us, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&lock.token)
        .bind(user_id.to_string())
        .bind(&lock.path)
        .bind(&lock.principal)
        .bind(&lock.owner_xml)
        .bind(i64::from(lock.shared))
        .bind(i64::from(lock.deep))
        .bind(lock.timeout_us)
        .bind(lock.expires_at)
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        Ok(Ok(lock))
    }

    /// Gives the lock `token` a new timeout; `None` when no such live lock exists.
    pub async fn refresh_dav_lock(
        &self,
        user_id: Uuid,
        token: &str,
        timeout_us: Option<i64>,
    ) -> Result<Option<DavLockRecord>> {
        let now = micros(Utc::now());
        let expires_at = timeout_us.map(|t| now.saturating_add(t));
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE dav_locks SET timeout_us = $3, expires_at = $4 WHERE user_id = $1 AND token = $2 \
             AND (expires_at IS NULL OR expires_at > $5)",
        )
        .bind(user_id.to_string())
        .bind(token)
        .bind(timeout_us)
        .bind(expires_at)
        .bind(now)
        .execute(tx.conn())
        .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        let sql = format!("SELECT {LOCK_COLUMNS} FROM dav_locks WHERE token = $1");
        let row = sqlx::query(&sql).bind(token).fetch_one(tx.conn()).await?;
        let lock = lock_record(&row)?;
        tx.commit().await?;
        Ok(Some(lock))
    }

    /// Removes the account's locks whose token is in `tokens`; the number removed.
    pub async fn delete_dav_locks(&self, user_id: Uuid, tokens: &[String]) -> Result<u64> {
        let mut tx = self.write().await?;
        let mut removed = 0;
        for token in tokens {
            let done = sqlx::query("DELETE FROM dav_locks WHERE user_id = $1 AND token = $2")
                .bind(user_id.to_string())
                .bind(token)
                .execute(tx.conn())
                .await?;
            removed += done.rows_affected();
        }
        tx.commit().await?;
        Ok(removed)
    }
}
