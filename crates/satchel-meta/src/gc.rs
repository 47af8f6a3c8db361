//! What the garbage collector may take: chunks no version and no open upload session references.
//! The blob store's own grace period protects chunks that an upload in flight has stored but not
//! yet committed (see `satchel_blob::BlobStore::delete_if_stale`).

use chrono::{DateTime, Utc};
use satchel_proto::Sha256;
use sqlx::Row;

use crate::accounts::to_u64;
use crate::db::micros;
use crate::{Backend, Result, Store, StoreError};

/// "Nothing references this chunk": no version, no received chunk of an open session (of the
/// `chunks` row in scope).
const UNREFERENCED: &str = "NOT EXISTS (SELECT 1 FROM version_chunks v WHERE v.sha256 = chunks.sha256) \
     AND NOT EXISTS (SELECT 1 FROM upload_chunks uc JOIN uploads u ON u.id = uc.upload_id \
                     WHERE uc.sha256 = chunks.sha256 AND uc.received = 1 AND u.state = 'open')";

/// A chunk the collector may remove.
#[derive(Debug, Clone, Copy)]
pub struct Garbage {
    pub sha256: Sha256,
    pub size: u64,
    /// Its bytes are in the database, not the blob store.
    pub inline: bool,
}

/// What the store holds, for `satchel admin stats`.
#[derive(Debug, Clone, Copy)]
pub struct StorageStats {
    pub users: u64,
    pub files: u64,
    pub versions: u64,
    /// Bytes of every version of every file, as users see them.
    pub logical_bytes: u64,
    /// Bytes of the distinct chunks that hold them.
    pub stored_bytes: u64,
    pub chunks: u64,
}

impl Store {
    /// Up to `limit` unreferenced chunks registered before `cutoff`.
    pub async fn garbage(&self, cutoff: DateTime<Utc>, limit: u32) -> Result<Vec<Garbage>> {
        let sql = format!(
            "SELECT sha256, size, CAST(CASE WHEN data IS NULL THEN 0 ELSE 1 END AS BIGINT) AS inline \
             FROM chunks WHERE created_at < $1 AND {UNREFERENCED} LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(micros(cutoff))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let hex: String = row.try_get("sha256")?;
                Ok(Garbage {
                    sha256: hex.parse().map_err(|_| StoreError::Corrupt(hex.clone()))?,
                    size: to_u64(row.try_get("size")?),
                    inline: row.try_get::<i64, _>("inline")? == 1,
                })
            })
            .collect()
    }

    /// Forgets a chunk if nothing references it now; returns whether it did. On PostgreSQL the
    /// check and the delete run under a lock that waits for every transaction still registering
    /// chunks, so a commit that is about to reference this chunk is either seen or comes after.
    pub async fn forget_chunk(&self, sha256: &Sha256) -> Result<bool> {
        let mut w = self.write().await?;
        let conn = w.conn();
        if self.backend() == Backend::Postgres {
            sqlx::query("LOCK TABLE chunks IN SHARE ROW EXCLUSIVE MODE")
                .execute(&mut *conn)
                .await?;
        }
        let sql = format!("DELETE FROM chunks WHERE sha256 = $1 AND {UNREFERENCED}");
        let done = sqlx::query(&sql)
            .bind(sha256.to_hex())
            .execute(&mut *conn)
            .await?;
        w.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Whether any metadata names this chunk (a chunks row, or a received chunk of an open session).
    pub async fn chunk_known(&self, sha256: &Sha256) -> Result<bool> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM chunks WHERE sha256 = $1 UNION ALL \
             SELECT 1 FROM upload_chunks uc JOIN uploads u ON u.id = uc.upload_id \
             WHERE uc.sha256 = $1 AND uc.received = 1 AND u.state = 'open' LIMIT 1",
        )
        .bind(sha256.to_hex())
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    /// Totals for the operator.
    pub async fn stats(&self) -> Result<StorageStats> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM users) AS users, \
             (SELECT COUNT(*) FROM nodes WHERE kind = 'file') AS files, \
             (SELECT COUNT(*) FROM versions) AS versions, \
             (SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM versions) AS logical, \
             (SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM chunks) AS stored, \
             (SELECT COUNT(*) FROM chunks) AS chunks",
        )
        .fetch_one(&self.pool)
        .await?;
        let count = |name: &str| -> Result<u64> { Ok(to_u64(row.try_get::<i64, _>(name)?)) };
        Ok(StorageStats {
            users: count("users")?,
            files: count("files")?,
            versions: count("versions")?,
            logical_bytes: count("logical")?,
            stored_bytes: count("stored")?,
            chunks: count("chunks")?,
        })
    }
}
