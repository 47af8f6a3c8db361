//! What a chunked upload session will become, read before its commit so that the server can check
//! the whole-file SHA-256 against the bytes (outside any write transaction: hashing a large file
//! must not hold the database's writer).

use satchel_proto::Sha256;
use sqlx::Row;
use uuid::Uuid;

use crate::accounts::to_u64;
use crate::uploads::{UploadState, owned, session};
use crate::versions::PlacedChunk;
use crate::{Actor, Result, Store, StoreError};

/// A session's chunk list in file order, with the hash its init promised.
#[derive(Debug, Clone)]
pub struct UploadManifest {
    pub state: UploadState,
    /// Every chunk listed so far, in order (offsets from the start of the file).
    pub chunks: Vec<PlacedChunk>,
    /// The whole-file SHA-256 given when the session opened, if any.
    pub sha256: Option<Sha256>,
    /// Whether the list is closed and every chunk has arrived (or is the user's already).
    pub complete: bool,
}

impl Store {
    /// The chunk list and promised hash of the actor's session `id`.
    pub async fn upload_manifest(&self, actor: &Actor, id: Uuid) -> Result<UploadManifest> {
        let mut conn = self.pool.acquire().await?;
        let (state, _, _) = session(&mut conn, actor, id).await?;
        let head = sqlx::query("SELECT sha256, list_open FROM uploads WHERE id = $1")
            .bind(id.to_string())
            .fetch_one(&mut *conn)
            .await?;
        let promised: Option<String> = head.try_get("sha256")?;
        let rows = sqlx::query(
            "SELECT u.idx, u.size, u.sha256, u.received, \
             CAST(CASE WHEN c.data IS NULL THEN 0 ELSE 1 END AS BIGINT) AS inline \
             FROM upload_chunks u LEFT JOIN chunks c ON c.sha256 = u.sha256 \
             WHERE u.upload_id = $1 ORDER BY u.idx",
        )
        .bind(id.to_string())
        .fetch_all(&mut *conn)
        .await?;
        let mut offset = 0;
        let mut chunks = Vec::with_capacity(rows.len());
        let mut unreceived = Vec::new();
        for row in &rows {
            let hex: String = row.try_get("sha256")?;
            if row.try_get::<i64, _>("received")? != 1 {
                unreceived.push(hex.clone());
            }
            let size = to_u64(row.try_get("size")?);
            chunks.push(PlacedChunk {
                index: to_u64(row.try_get("idx")?),
                offset,
                size,
                sha256: hex.parse().map_err(|_| StoreError::Corrupt(hex.clone()))?,
                inline: row.try_get::<i64, _>("inline")? == 1,
            });
            offset += size;
        }
        unreceived.sort_unstable();
        unreceived.dedup();
        let owned = owned(&mut conn, actor, &unreceived).await?;
        let complete = head.try_get::<i64, _>("list_open")? == 0 && owned.len() == unreceived.len();
        Ok(UploadManifest {
            state,
            chunks,
            sha256: promised.and_then(|hex| hex.parse().ok()),
            complete,
        })
    }
}
