//! tus uploads: an upload session whose chunk list grows as bytes arrive, plus what the tus
//! protocol needs to resume it — the acknowledged offset and the bytes after the last chunk
//! boundary (the tail).
//!
//! Invariants:
//! - `upload_offset` = the sizes of the chunks listed so far + the length of `tail`; every listed
//!   chunk is durable in the blob store and marked received, so the collector keeps it.
//! - The offset only grows, and only by [`Store::tus_advance`], which checks the offset the caller
//!   started from: two servers continuing one upload cannot both append (the second gets
//!   [`StoreError::OffsetMismatch`]).
//! - The tail lives in this row, written in the same transaction as the offset, so what was
//!   acknowledged survives a crash and can be continued by any server sharing the database.

use satchel_proto::ChunkSpec;
use sqlx::Row;
use uuid::Uuid;

use crate::accounts::{to_i64, to_u64};
use crate::uploads::{NewUpload, UploadState, open_session, session};
use crate::versions::{INSERT_BATCH, push_placeholders};
use crate::{Actor, Result, Store, StoreError};

/// Where a tus upload stands.
#[derive(Debug, Clone)]
pub struct TusUpload {
    pub id: Uuid,
    pub state: UploadState,
    pub length: u64,
    pub offset: u64,
    /// Chunks listed so far: the index the next chunk gets.
    pub chunk_count: u64,
    pub tail: Vec<u8>,
    pub metadata: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    /// The file it became, once committed.
    pub node: Option<Uuid>,
}

/// What one `PATCH` added: chunks cut from the bytes (already durable) and the new tail.
#[derive(Debug, Clone, Copy)]
pub struct TusProgress<'a> {
    /// The offset the request started from (the caller read it before reading the body).
    pub from: u64,
    /// The offset reached.
    pub to: u64,
    pub chunks: &'a [ChunkSpec],
    pub tail: &'a [u8],
}

impl Store {
    /// Opens a session for a tus upload of `length` bytes; its chunks are appended as they come.
    pub async fn create_tus_upload(
        &self,
        actor: &Actor,
        new: NewUpload,
        metadata: &str,
    ) -> Result<Uuid> {
        let length = new.size;
        let id = self
            .create_upload(
                actor,
                NewUpload {
                    more_chunks: true,
                    chunks: Vec::new(),
                    ..new
                },
            )
            .await?
            .id;
        // A session without its tus row (a crash in between) is unreachable here and expires.
        sqlx::query("INSERT INTO tus_uploads (upload_id, length, metadata) VALUES ($1, $2, $3)")
            .bind(id.to_string())
            .bind(to_i64(length))
            .bind(metadata)
            .execute(&self.pool)
            .await?;
        Ok(id)
    }

    /// The actor's tus upload `id` (another user's is not found).
    pub async fn tus_upload(&self, actor: &Actor, id: Uuid) -> Result<TusUpload> {
        let mut conn = self.pool.acquire().await?;
        let (state, expires_at, node) = session(&mut conn, actor, id).await?;
        let row = sqlx::query(
            "SELECT length, upload_offset, chunk_count, tail, metadata FROM tus_uploads \
             WHERE upload_id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok(TusUpload {
            id,
            state,
            length: to_u64(row.try_get("length")?),
            offset: to_u64(row.try_get("upload_offset")?),
            chunk_count: to_u64(row.try_get("chunk_count")?),
            tail: row
                .try_get::<Option<Vec<u8>>, _>("tail")?
                .unwrap_or_default(),
            metadata: row.try_get("metadata")?,
            expires_at: crate::db::from_micros(expires_at),
            node,
        })
    }

    /// Records the bytes one request added, in one transaction: the chunks (received), the new
    /// offset and tail; when the offset reaches the length the list closes, ready to commit.
    pub async fn tus_advance(
        &self,
        actor: &Actor,
        id: Uuid,
        progress: TusProgress<'_>,
    ) -> Result<()> {
        let mut w = self.write().await?;
        let conn = w.conn();
        open_session(conn, actor, id).await?;
        let head = sqlx::query(
            "SELECT length, upload_offset, chunk_count FROM tus_uploads WHERE upload_id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)?;
        let length = to_u64(head.try_get("length")?);
        let first = to_u64(head.try_get("chunk_count")?);
        if to_u64(head.try_get("upload_offset")?) != progress.from {
            return Err(StoreError::OffsetMismatch);
        }
        if progress.to > length {
            return Err(StoreError::Corrupt(format!(
                "tus upload {id} would pass its length"
            )));
        }
        for (batch_no, batch) in progress.chunks.chunks(INSERT_BATCH).enumerate() {
            let mut sql = String::from(
                "INSERT INTO upload_chunks (upload_id, idx, sha256, size, received) VALUES ",
            );
            push_placeholders(&mut sql, batch.len(), 5);
            let mut query = sqlx::query(&sql);
            for (i, chunk) in batch.iter().enumerate() {
                let index = first + (batch_no * INSERT_BATCH + i) as u64;
                query = query
                    .bind(id.to_string())
                    .bind(to_i64(index))
                    .bind(chunk.sha256.to_hex())
                    .bind(to_i64(chunk.size))
                    .bind(1i64);
            }
            query.execute(&mut *conn).await?;
        }
        let done = progress.to == length;
        sqlx::query(
            "UPDATE tus_uploads SET upload_offset = $2, chunk_count = $3, tail = $4 \
             WHERE upload_id = $1",
        )
        .bind(id.to_string())
        .bind(to_i64(progress.to))
        .bind(to_i64(first + progress.chunks.len() as u64))
        .bind((!progress.tail.is_empty()).then(|| progress.tail.to_vec()))
        .execute(&mut *conn)
        .await?;
        sqlx::query("UPDATE uploads SET list_open = $2 WHERE id = $1")
            .bind(id.to_string())
            .bind(i64::from(!done))
            .execute(&mut *conn)
            .await?;
        w.commit().await
    }
}
