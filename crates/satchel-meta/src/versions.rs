//! File versions and their ordered chunk lists.

use chrono::Utc;
use satchel_proto::{ChunkSpec, NodeKind, NodeRef, Page, Sha256, VersionInfo};
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::accounts::{to_i64, to_u64};
use crate::db::{from_micros, micros};
use crate::nodes::{load, resolve, view};
use crate::paths::PathCache;
use crate::tree::NewContent;
use crate::{Actor, Result, Store, StoreError};

/// A chunk with its place in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlacedChunk {
    pub index: u64,
    pub offset: u64,
    pub size: u64,
    pub sha256: Sha256,
    /// The bytes are in the metadata database ([`Store::inline_chunk`]), not the blob store.
    pub inline: bool,
}

/// What a download needs: the node, the version, and its chunks in order.
#[derive(Debug, Clone)]
pub struct VersionContent {
    pub node: satchel_proto::Node,
    pub version: VersionInfo,
    pub chunks: Vec<PlacedChunk>,
}

/// Rows per multi-row `INSERT`: well under both engines' limits on bound parameters.
pub(crate) const INSERT_BATCH: usize = 200;

/// Writes version `version` of `node` with its chunk list, and registers chunks not seen before.
pub(crate) async fn insert_version(
    conn: &mut AnyConnection,
    node: Uuid,
    version: i64,
    content: &NewContent,
    device: Option<&str>,
) -> Result<()> {
    let (size, sha256, chunks) = (content.size, &content.sha256, content.chunks.as_slice());
    let now = micros(Utc::now());
    sqlx::query(
        "INSERT INTO versions (node_id, version, size, sha256, device, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(node.to_string())
    .bind(version)
    .bind(to_i64(size))
    .bind(sha256.to_hex())
    .bind(device)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let mut offset = 0u64;
    for (batch_no, batch) in chunks.chunks(INSERT_BATCH).enumerate() {
        let mut sql = String::from(
            "INSERT INTO version_chunks (node_id, version, idx, sha256, size, offset_bytes) VALUES ",
        );
        push_placeholders(&mut sql, batch.len(), 6);
        let mut query = sqlx::query(&sql);
        for (i, chunk) in batch.iter().enumerate() {
            let index = batch_no * INSERT_BATCH + i;
            query = query
                .bind(node.to_string())
                .bind(version)
                .bind(i64::try_from(index).unwrap_or(i64::MAX))
                .bind(chunk.sha256.to_hex())
                .bind(to_i64(chunk.size))
                .bind(to_i64(offset));
            offset += chunk.size;
        }
        query.execute(&mut *conn).await?;
    }
    if let (Some(bytes), [chunk]) = (&content.inline, chunks) {
        // Kept with the version, in the same transaction. A chunk already known stays where it is.
        sqlx::query(
            "INSERT INTO chunks (sha256, size, created_at, data) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (sha256) DO NOTHING",
        )
        .bind(chunk.sha256.to_hex())
        .bind(to_i64(chunk.size))
        .bind(now)
        .bind(bytes.clone())
        .execute(&mut *conn)
        .await?;
        return Ok(());
    }
    register_chunks(conn, chunks, now).await
}

/// Records chunks in the `chunks` table (the blob store already holds them durably).
async fn register_chunks(conn: &mut AnyConnection, chunks: &[ChunkSpec], now: i64) -> Result<()> {
    let mut unique: Vec<ChunkSpec> = chunks.to_vec();
    unique.sort_by_key(|c| c.sha256);
    unique.dedup_by_key(|c| c.sha256);
    for batch in unique.chunks(INSERT_BATCH) {
        let mut sql = String::from("INSERT INTO chunks (sha256, size, created_at) VALUES ");
        push_placeholders(&mut sql, batch.len(), 3);
        sql.push_str(" ON CONFLICT (sha256) DO NOTHING");
        let mut query = sqlx::query(&sql);
        for chunk in batch {
            query = query
                .bind(chunk.sha256.to_hex())
                .bind(to_i64(chunk.size))
                .bind(now);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Appends `($1, $2, …), (…)` for `rows` rows of `columns` values.
pub(crate) fn push_placeholders(sql: &mut String, rows: usize, columns: usize) {
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", row * columns + column + 1));
        }
        sql.push(')');
    }
}

/// Copies version `from_version` of `from` as version `to_version` of `to`, sharing its chunks.
pub(crate) async fn copy_version(
    conn: &mut AnyConnection,
    from: Uuid,
    from_version: i64,
    to: Uuid,
    to_version: i64,
    device: Option<&str>,
) -> Result<()> {
    let now = micros(Utc::now());
    let copied = sqlx::query(
        "INSERT INTO versions (node_id, version, size, sha256, device, created_at) \
         SELECT $3, $4, size, sha256, $5, $6 FROM versions WHERE node_id = $1 AND version = $2",
    )
    .bind(from.to_string())
    .bind(from_version)
    .bind(to.to_string())
    .bind(to_version)
    .bind(device)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if copied.rows_affected() != 1 {
        return Err(StoreError::NotFound);
    }
    sqlx::query(
        "INSERT INTO version_chunks (node_id, version, idx, sha256, size, offset_bytes) \
         SELECT $3, $4, idx, sha256, size, offset_bytes FROM version_chunks \
         WHERE node_id = $1 AND version = $2",
    )
    .bind(from.to_string())
    .bind(from_version)
    .bind(to.to_string())
    .bind(to_version)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Size and hash of one version.
pub(crate) async fn version_row(
    conn: &mut AnyConnection,
    node: Uuid,
    version: i64,
) -> Result<VersionInfo> {
    let row = sqlx::query(
        "SELECT version, size, sha256, device, created_at FROM versions \
         WHERE node_id = $1 AND version = $2",
    )
    .bind(node.to_string())
    .bind(version)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    version_from_row(&row)
}

fn version_from_row(row: &sqlx::any::AnyRow) -> Result<VersionInfo> {
    let sha256: String = row.try_get("sha256")?;
    Ok(VersionInfo {
        version: to_u64(row.try_get("version")?),
        size: to_u64(row.try_get("size")?),
        sha256: sha256
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("hash {sha256:?}")))?,
        created_at: from_micros(row.try_get("created_at")?),
        device: row.try_get("device")?,
    })
}

impl Store {
    /// The bytes of a chunk kept in the database, if it is one.
    pub async fn inline_chunk(&self, sha256: &Sha256) -> Result<Option<Vec<u8>>> {
        let data: Option<Option<Vec<u8>>> =
            sqlx::query_scalar("SELECT data FROM chunks WHERE sha256 = $1")
                .bind(sha256.to_hex())
                .fetch_optional(&self.pool)
                .await?;
        Ok(data.flatten())
    }

    /// A file's versions, newest first.
    pub async fn versions(
        &self,
        actor: &Actor,
        file: NodeRef,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<VersionInfo>> {
        let mut conn = self.pool.acquire().await?;
        let node = load(&mut conn, actor, resolve(actor, file)).await?;
        if node.kind != NodeKind::File {
            return Err(StoreError::NotAFile);
        }
        let before: i64 = match cursor {
            Some(text) => text.parse().map_err(|_| StoreError::BadCursor)?,
            None => i64::MAX,
        };
        let rows = sqlx::query(
            "SELECT version, size, sha256, device, created_at FROM versions \
             WHERE node_id = $1 AND version < $2 ORDER BY version DESC LIMIT $3",
        )
        .bind(node.id.to_string())
        .bind(before)
        .bind(i64::from(limit) + 1)
        .fetch_all(&mut *conn)
        .await?;
        let mut entries = rows
            .iter()
            .map(version_from_row)
            .collect::<Result<Vec<_>>>()?;
        let more = entries.len() > limit as usize;
        entries.truncate(limit as usize);
        let next_cursor = more
            .then(|| entries.last().map(|v| v.version.to_string()))
            .flatten();
        Ok(Page {
            entries,
            next_cursor,
        })
    }

    /// The node, the chosen version (the current one when `None`) and its chunks in order.
    pub async fn version_content(
        &self,
        actor: &Actor,
        file: NodeRef,
        version: Option<u64>,
    ) -> Result<VersionContent> {
        let mut conn = self.pool.acquire().await?;
        let row = load(&mut conn, actor, resolve(actor, file)).await?;
        if row.kind != NodeKind::File {
            return Err(StoreError::NotAFile);
        }
        let number = match version {
            Some(n) => i64::try_from(n).map_err(|_| StoreError::NotFound)?,
            None => row.version.ok_or(StoreError::NotFound)?,
        };
        let info = version_row(&mut conn, row.id, number).await?;
        let chunk_rows = sqlx::query(
            "SELECT v.idx, v.offset_bytes, v.size, v.sha256, \
             CAST(CASE WHEN c.data IS NULL THEN 0 ELSE 1 END AS BIGINT) AS inline \
             FROM version_chunks v LEFT JOIN chunks c ON c.sha256 = v.sha256 \
             WHERE v.node_id = $1 AND v.version = $2 ORDER BY v.idx",
        )
        .bind(row.id.to_string())
        .bind(number)
        .fetch_all(&mut *conn)
        .await?;
        let chunks = chunk_rows
            .iter()
            .map(|r| {
                let sha256: String = r.try_get("sha256")?;
                Ok(PlacedChunk {
                    index: to_u64(r.try_get("idx")?),
                    offset: to_u64(r.try_get("offset_bytes")?),
                    size: to_u64(r.try_get("size")?),
                    sha256: sha256
                        .parse()
                        .map_err(|_| StoreError::Corrupt(sha256.clone()))?,
                    inline: r.try_get::<i64, _>("inline")? == 1,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let node = view(&mut conn, &mut PathCache::of_actor(actor), actor, &row).await?;
        Ok(VersionContent {
            node,
            version: info,
            chunks,
        })
    }
}
