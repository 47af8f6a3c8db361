//! The record of where chunk copies are (`chunk_copies`), what happened to them (`storage_log`),
//! what waits for repair (`repair_queue`) and how far the scrubs got (`storage_nodes`).
//!
//! Invariants:
//! - a `chunk_copies` row is written only after its copy is durable on its node, and removed
//!   when the copy is found missing, set aside as corrupt, or collected — each such change is
//!   logged in the same transaction;
//! - repair is driven by what versions reference ([`Store::referenced_chunks`]), never by what
//!   happens to exist on a node, so deleted data is never brought back.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use satchel_proto::Sha256;
use sqlx::Row;
use uuid::Uuid;

use crate::accounts::to_u64;
use crate::db::{from_micros, micros};
use crate::paths::{PathCache, join};
use crate::{Result, Store, StoreError};

/// One recorded copy of a chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyRecord {
    pub node: String,
    pub stored_at: DateTime<Utc>,
    pub verified_at: Option<DateTime<Utc>>,
}

/// One line of the storage log.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StorageEvent {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub node: String,
    pub sha256: Option<Sha256>,
    pub event: String,
    pub detail: Option<String>,
}

/// A chunk some version references whose bytes are on the storage nodes (not in the database).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReferencedChunk {
    pub sha256: Sha256,
    pub size: u64,
}

/// A chunk waiting for repair.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RepairItem {
    pub sha256: Sha256,
    pub queued_at: DateTime<Utc>,
    pub next_at: DateTime<Utc>,
    pub attempts: u64,
    pub last_error: Option<String>,
}

/// A file version that uses a chunk.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChunkUser {
    pub owner: String,
    pub path: String,
    pub version: u64,
}

/// How far the scrubs of one node got.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct NodeScrub {
    pub last_presence_at: Option<DateTime<Utc>>,
    pub last_deep_at: Option<DateTime<Utc>>,
    /// Where the deep pass in progress goes on from (the last chunk it verified).
    pub deep_cursor: Option<Sha256>,
}

fn parse_hash(text: String) -> Result<Sha256> {
    text.parse().map_err(|_| StoreError::Corrupt(text))
}

/// Appends one line to the storage log on `conn`.
async fn log_on(
    conn: &mut sqlx::AnyConnection,
    node: &str,
    hash: Option<&Sha256>,
    event: &str,
    detail: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO storage_log (id, at, node, sha256, event, detail) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(Uuid::now_v7().to_string())
    .bind(micros(Utc::now()))
    .bind(node)
    .bind(hash.map(Sha256::to_hex))
    .bind(event)
    .bind((!detail.is_empty()).then_some(detail))
    .execute(conn)
    .await?;
    Ok(())
}

/// Queues `hash` for repair now (an entry already queued keeps its time and its backoff).
async fn queue_on(conn: &mut sqlx::AnyConnection, hash: &Sha256) -> Result<()> {
    let now = micros(Utc::now());
    sqlx::query(
        "INSERT INTO repair_queue (sha256, queued_at, next_at) VALUES ($1, $2, $2) \
         ON CONFLICT (sha256) DO NOTHING",
    )
    .bind(hash.to_hex())
    .bind(now)
    .execute(conn)
    .await
    .map(|_| ())
    .map_err(Into::into)
}

impl Store {
    /// Records copies of `hash` durable on `nodes` since `since`, logging the ones not recorded
    /// before as `event` (`stored`, `repaired`, `found`).
    pub async fn record_copies(
        &self,
        hash: &Sha256,
        nodes: &[String],
        since: DateTime<Utc>,
        event: &str,
    ) -> Result<()> {
        let mut w = self.write().await?;
        let conn = w.conn();
        for node in nodes {
            let inserted = sqlx::query(
                "INSERT INTO chunk_copies (sha256, node, stored_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (sha256, node) DO NOTHING",
            )
            .bind(hash.to_hex())
            .bind(node)
            .bind(micros(since))
            .execute(&mut *conn)
            .await?;
            if inserted.rows_affected() == 1 {
                log_on(&mut *conn, node, Some(hash), event, "").await?;
            } else {
                sqlx::query(
                    "UPDATE chunk_copies SET stored_at = $3 \
                     WHERE sha256 = $1 AND node = $2 AND stored_at < $3",
                )
                .bind(hash.to_hex())
                .bind(node)
                .bind(micros(since))
                .execute(&mut *conn)
                .await?;
            }
        }
        w.commit().await
    }

    /// Forgets the copy of `hash` on `node` (gone, set aside, or collected), logging `event` and
    /// queuing a repair unless it was collected. A `missing` copy that was never recorded changes
    /// nothing (the node simply never had it).
    pub async fn forget_copy(
        &self,
        hash: &Sha256,
        node: &str,
        event: &str,
        detail: &str,
    ) -> Result<()> {
        let recorded: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM chunk_copies WHERE sha256 = $1 AND node = $2")
                .bind(hash.to_hex())
                .bind(node)
                .fetch_optional(&self.pool)
                .await?;
        if recorded.is_none() && event == "missing" {
            return Ok(());
        }
        let mut w = self.write().await?;
        let conn = w.conn();
        sqlx::query("DELETE FROM chunk_copies WHERE sha256 = $1 AND node = $2")
            .bind(hash.to_hex())
            .bind(node)
            .execute(&mut *conn)
            .await?;
        log_on(&mut *conn, node, Some(hash), event, detail).await?;
        if event == "corrupt" {
            log_on(&mut *conn, node, Some(hash), "quarantined", "").await?;
        }
        if event != "deleted" {
            queue_on(&mut *conn, hash).await?;
        }
        w.commit().await
    }

    /// Queues `hash` for repair, logging `event` on `node` unless `event` is empty.
    pub async fn queue_repair(
        &self,
        hash: &Sha256,
        node: &str,
        event: &str,
        detail: &str,
    ) -> Result<()> {
        let mut w = self.write().await?;
        let conn = w.conn();
        if !event.is_empty() {
            log_on(&mut *conn, node, Some(hash), event, detail).await?;
        }
        queue_on(&mut *conn, hash).await?;
        w.commit().await
    }

    /// Appends one line to the storage log.
    pub async fn log_storage(
        &self,
        node: &str,
        hash: Option<&Sha256>,
        event: &str,
        detail: &str,
    ) -> Result<()> {
        let mut w = self.write().await?;
        log_on(w.conn(), node, hash, event, detail).await?;
        w.commit().await
    }

    /// The recorded copies of one chunk.
    pub async fn copies_of(&self, hash: &Sha256) -> Result<Vec<CopyRecord>> {
        let rows = sqlx::query(
            "SELECT node, stored_at, verified_at FROM chunk_copies WHERE sha256 = $1 ORDER BY node",
        )
        .bind(hash.to_hex())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(CopyRecord {
                    node: row.try_get("node")?,
                    stored_at: from_micros(row.try_get("stored_at")?),
                    verified_at: row
                        .try_get::<Option<i64>, _>("verified_at")?
                        .map(from_micros),
                })
            })
            .collect()
    }

    /// The recorded copies of the chunks from `first` to `last` (inclusive), by chunk.
    pub async fn copies_between(
        &self,
        first: &Sha256,
        last: &Sha256,
    ) -> Result<HashMap<Sha256, Vec<String>>> {
        let rows = sqlx::query(
            "SELECT sha256, node FROM chunk_copies WHERE sha256 >= $1 AND sha256 <= $2",
        )
        .bind(first.to_hex())
        .bind(last.to_hex())
        .fetch_all(&self.pool)
        .await?;
        let mut found: HashMap<Sha256, Vec<String>> = HashMap::new();
        for row in rows {
            let hash = parse_hash(row.try_get("sha256")?)?;
            found.entry(hash).or_default().push(row.try_get("node")?);
        }
        Ok(found)
    }

    /// Marks the copy of `hash` on `node` as verified now.
    pub async fn mark_verified(&self, hash: &Sha256, node: &str) -> Result<()> {
        let mut w = self.write().await?;
        sqlx::query("UPDATE chunk_copies SET verified_at = $3 WHERE sha256 = $1 AND node = $2")
            .bind(hash.to_hex())
            .bind(node)
            .bind(micros(Utc::now()))
            .execute(w.conn())
            .await?;
        w.commit().await
    }

    /// Up to `limit` chunks that versions reference and whose bytes are on the nodes, after
    /// `after` in hash order.
    pub async fn referenced_chunks(
        &self,
        after: Option<&Sha256>,
        limit: u32,
    ) -> Result<Vec<ReferencedChunk>> {
        let rows = sqlx::query(
            "SELECT c.sha256, c.size FROM chunks c WHERE c.data IS NULL AND c.sha256 > $1 \
             AND EXISTS (SELECT 1 FROM version_chunks v WHERE v.sha256 = c.sha256) \
             ORDER BY c.sha256 LIMIT $2",
        )
        .bind(after.map(Sha256::to_hex).unwrap_or_default())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ReferencedChunk {
                    sha256: parse_hash(row.try_get("sha256")?)?,
                    size: to_u64(row.try_get("size")?),
                })
            })
            .collect()
    }

    /// Whether `hash` is a chunk some version references with its bytes on the nodes.
    pub async fn chunk_referenced(&self, hash: &Sha256) -> Result<Option<u64>> {
        let size: Option<i64> = sqlx::query_scalar(
            "SELECT c.size FROM chunks c WHERE c.sha256 = $1 AND c.data IS NULL \
             AND EXISTS (SELECT 1 FROM version_chunks v WHERE v.sha256 = c.sha256)",
        )
        .bind(hash.to_hex())
        .fetch_optional(&self.pool)
        .await?;
        Ok(size.map(to_u64))
    }

    /// Up to `limit` chunks whose repair is due at `now`.
    pub async fn due_repairs(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Sha256>> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT sha256 FROM repair_queue WHERE next_at <= $1 ORDER BY next_at LIMIT $2",
        )
        .bind(micros(now))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(parse_hash).collect()
    }

    /// The chunk needs no more repair.
    pub async fn repair_done(&self, hash: &Sha256) -> Result<()> {
        let mut w = self.write().await?;
        sqlx::query("DELETE FROM repair_queue WHERE sha256 = $1")
            .bind(hash.to_hex())
            .execute(w.conn())
            .await?;
        w.commit().await
    }

    /// The chunk's repair failed: try again at `next_at`, keeping the error for the operator.
    pub async fn repair_failed(
        &self,
        hash: &Sha256,
        error: &str,
        next_at: DateTime<Utc>,
    ) -> Result<()> {
        let mut w = self.write().await?;
        let now = micros(Utc::now());
        sqlx::query(
            "INSERT INTO repair_queue (sha256, queued_at, next_at, attempts, last_error) \
             VALUES ($1, $2, $3, 1, $4) ON CONFLICT (sha256) DO UPDATE SET \
             next_at = $3, attempts = repair_queue.attempts + 1, last_error = $4",
        )
        .bind(hash.to_hex())
        .bind(now)
        .bind(micros(next_at))
        .bind(error)
        .execute(w.conn())
        .await?;
        w.commit().await
    }

    /// The whole repair queue (for the operator).
    pub async fn repair_queue(&self) -> Result<Vec<RepairItem>> {
        let rows = sqlx::query(
            "SELECT sha256, queued_at, next_at, attempts, last_error FROM repair_queue \
             ORDER BY next_at LIMIT 10000",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(RepairItem {
                    sha256: parse_hash(row.try_get("sha256")?)?,
                    queued_at: from_micros(row.try_get("queued_at")?),
                    next_at: from_micros(row.try_get("next_at")?),
                    attempts: to_u64(row.try_get("attempts")?),
                    last_error: row.try_get("last_error")?,
                })
            })
            .collect()
    }

    /// Up to `limit` log lines at or after `since` and after the line `after`, oldest first.
    pub async fn storage_log(
        &self,
        since: Option<DateTime<Utc>>,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<StorageEvent>> {
        let rows = sqlx::query(
            "SELECT id, at, node, sha256, event, detail FROM storage_log \
             WHERE at >= $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(since.map_or(0, micros))
        .bind(after.map(|id| id.to_string()).unwrap_or_default())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get("id")?;
                Ok(StorageEvent {
                    id: Uuid::try_parse(&id).map_err(|_| StoreError::Corrupt(id.clone()))?,
                    at: from_micros(row.try_get("at")?),
                    node: row.try_get("node")?,
                    sha256: row
                        .try_get::<Option<String>, _>("sha256")?
                        .map(parse_hash)
                        .transpose()?,
                    event: row.try_get("event")?,
                    detail: row.try_get("detail")?,
                })
            })
            .collect()
    }

    /// Every file version that uses one of `hashes`, with its owner and path.
    pub async fn chunk_users(&self, hashes: &[Sha256]) -> Result<Vec<ChunkUser>> {
        let mut conn = self.pool.acquire().await?;
        let mut paths = PathCache::default();
        let mut users = Vec::new();
        for hash in hashes {
            let rows = sqlx::query(
                "SELECT DISTINCT vc.node_id, vc.version, n.parent_id, n.name, u.email \
                 FROM version_chunks vc JOIN nodes n ON n.id = vc.node_id \
                 JOIN users u ON u.id = n.owner_id WHERE vc.sha256 = $1 \
                 ORDER BY vc.node_id, vc.version",
            )
            .bind(hash.to_hex())
            .fetch_all(&mut *conn)
            .await?;
            for row in rows {
                let parent: Option<String> = row.try_get("parent_id")?;
                let name: String = row.try_get("name")?;
                let folder = match parent.as_deref().map(Uuid::try_parse) {
                    Some(Ok(parent)) => paths.folder(&mut conn, parent).await?,
                    _ => "/".to_owned(),
                };
                let user = ChunkUser {
                    owner: row.try_get("email")?,
                    path: join(&folder, &name),
                    version: to_u64(row.try_get("version")?),
                };
                if !users.contains(&user) {
                    users.push(user);
                }
            }
        }
        Ok(users)
    }

    /// Every chunk the metadata names (chunk rows, and chunks received by open upload sessions):
    /// anything else on a node is an orphan.
    pub async fn known_chunks(&self) -> Result<std::collections::HashSet<Sha256>> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT sha256 FROM chunks UNION SELECT uc.sha256 FROM upload_chunks uc \
             JOIN uploads u ON u.id = uc.upload_id WHERE u.state = 'open'",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(parse_hash).collect()
    }

    /// The scrub state of every node that has one.
    pub async fn node_scrubs(&self) -> Result<HashMap<String, NodeScrub>> {
        let rows = sqlx::query(
            "SELECT name, last_presence_at, last_deep_at, deep_cursor FROM storage_nodes",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut found = HashMap::new();
        for row in rows {
            let scrub = NodeScrub {
                last_presence_at: row
                    .try_get::<Option<i64>, _>("last_presence_at")?
                    .map(from_micros),
                last_deep_at: row
                    .try_get::<Option<i64>, _>("last_deep_at")?
                    .map(from_micros),
                deep_cursor: row
                    .try_get::<Option<String>, _>("deep_cursor")?
                    .map(parse_hash)
                    .transpose()?,
            };
            found.insert(row.try_get("name")?, scrub);
        }
        Ok(found)
    }

    /// Saves a node's scrub state.
    pub async fn save_node_scrub(&self, node: &str, scrub: &NodeScrub) -> Result<()> {
        let mut w = self.write().await?;
        sqlx::query(
            "INSERT INTO storage_nodes (name, last_presence_at, last_deep_at, deep_cursor) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO UPDATE SET \
             last_presence_at = $2, last_deep_at = $3, deep_cursor = $4",
        )
        .bind(node)
        .bind(scrub.last_presence_at.map(micros))
        .bind(scrub.last_deep_at.map(micros))
        .bind(scrub.deep_cursor.as_ref().map(Sha256::to_hex))
        .execute(w.conn())
        .await?;
        w.commit().await
    }
}
