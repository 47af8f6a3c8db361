//! Chunked upload sessions: what a client promised, what has arrived, and the commit that turns a
//! complete session into a file version — in one transaction, so a retried commit finds the session
//! committed and answers with the same node.
//!
//! Proof of possession: a chunk counts as already present only if this user owns it (a version in
//! their namespace references it, or it arrived in one of their own open sessions). Knowing a hash is
//! not owning the bytes, so a hash seen only in other users' files must be uploaded again.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use satchel_proto::{ChunkSpec, Node, NodeName, NodeRef, Sha256};
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::accounts::{parse_uuid, to_i64, to_u64};
use crate::db::{from_micros, micros};
use crate::nodes::{load, resolve};
use crate::tree::{ContentTarget, NewContent, WriteMode, write_content_in};
use crate::{Actor, Result, Store, StoreError};

/// Hashes per `IN (…)` list.
const IN_BATCH: usize = 500;

/// What a client asks to upload.
#[derive(Debug, Clone)]
pub struct NewUpload {
    pub parent: NodeRef,
    pub name: NodeName,
    pub size: u64,
    /// Known up front, or given at commit (a client sending while it cuts learns it last).
    pub sha256: Option<Sha256>,
    /// More chunks will be appended ([`Store::append_chunks`]) before the commit.
    pub more_chunks: bool,
    pub mime: Option<String>,
    pub base_rev: Option<String>,
    pub mode: WriteMode,
    pub chunks: Vec<ChunkSpec>,
    pub expires_at: DateTime<Utc>,
}

/// Where a session stands.
#[derive(Debug, Clone)]
pub struct UploadStatus {
    pub id: Uuid,
    /// Indexes of the chunks still to send.
    pub missing: Vec<u64>,
    /// The same chunks, with their hashes and sizes (in the order of `missing`).
    pub missing_chunks: Vec<ChunkSpec>,
    pub received_bytes: u64,
    pub expires_at: DateTime<Utc>,
    pub committed_node: Option<Uuid>,
}

/// The whole-file SHA-256 the server computed over a session's chunk list (never the client's
/// word), and how many chunks that list had.
#[derive(Debug, Clone, Copy)]
pub struct VerifiedHash {
    pub sha256: Sha256,
    pub chunks: usize,
}

/// The lifecycle of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadState {
    Open,
    Committed,
    Aborted,
    Expired,
}

impl UploadState {
    fn parse(text: &str) -> Result<Self> {
        Ok(match text {
            "open" => UploadState::Open,
            "committed" => UploadState::Committed,
            "aborted" => UploadState::Aborted,
            "expired" => UploadState::Expired,
            other => return Err(StoreError::Corrupt(format!("upload state {other:?}"))),
        })
    }
}

fn mode_text(mode: WriteMode) -> &'static str {
    match mode {
        WriteMode::Version => "version",
        WriteMode::Rename => "rename",
        WriteMode::Fail => "fail",
    }
}

/// The hashes among `hashes` that `actor` owns.
pub(crate) async fn owned(
    conn: &mut AnyConnection,
    actor: &Actor,
    hashes: &[String],
) -> Result<HashSet<String>> {
    let mut found = HashSet::new();
    // What the actor can read: their tree and the folders shared with them.
    let (spaces, ns_ids) = actor.ns_list(2);
    for batch in hashes.chunks(IN_BATCH) {
        let list = (0..batch.len())
            .map(|i| format!("${}", i + 2 + ns_ids.len()))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT vc.sha256 FROM version_chunks vc JOIN nodes n ON n.id = vc.node_id \
             WHERE n.ns_id IN ({spaces}) AND vc.sha256 IN ({list}) \
             UNION SELECT uc.sha256 FROM upload_chunks uc JOIN uploads u ON u.id = uc.upload_id \
             WHERE u.user_id = $1 AND u.state = 'open' AND uc.received = 1 AND uc.sha256 IN ({list})"
        );
        let mut query = sqlx::query_scalar::<_, String>(&sql).bind(actor.user_id.to_string());
        for ns in &ns_ids {
            query = query.bind(ns);
        }
        for hash in batch {
            query = query.bind(hash);
        }
        found.extend(query.fetch_all(&mut *conn).await?);
    }
    Ok(found)
}

/// A session of `actor`'s, with its state (other users' sessions are not found).
pub(crate) async fn session(
    conn: &mut AnyConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<(UploadState, i64, Option<Uuid>)> {
    let row = sqlx::query(
        "SELECT state, expires_at, node_id FROM uploads WHERE id = $1 AND user_id = $2",
    )
    .bind(id.to_string())
    .bind(actor.user_id.to_string())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    let node = row
        .try_get::<Option<String>, _>("node_id")?
        .as_deref()
        .map(parse_uuid)
        .transpose()?;
    Ok((
        UploadState::parse(&row.try_get::<String, _>("state")?)?,
        row.try_get("expires_at")?,
        node,
    ))
}

/// A session that still takes chunks.
pub(crate) async fn open_session(conn: &mut AnyConnection, actor: &Actor, id: Uuid) -> Result<()> {
    match session(conn, actor, id).await? {
        (UploadState::Open, expires, _) if expires > micros(Utc::now()) => {}
        (UploadState::Open | UploadState::Expired, _, _) => return Err(StoreError::UploadExpired),
        (UploadState::Committed, _, _) => return Err(StoreError::UploadCommitted),
        (UploadState::Aborted, _, _) => return Err(StoreError::NotFound),
    }
    // The folder it goes to may have been unshared, or made read-only, since the session began.
    let parent: String = sqlx::query_scalar("SELECT parent_id FROM uploads WHERE id = $1")
        .bind(id.to_string())
        .fetch_one(&mut *conn)
        .await?;
    writable_folder(conn, actor, parse_uuid(&parent)?).await?;
    Ok(())
}

/// The folder `id`, if the actor may add to it.
async fn writable_folder(
    conn: &mut AnyConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<crate::rows::NodeRow> {
    let folder = load(conn, actor, id).await?;
    actor.space(folder.ns_id)?.writable()?;
    if folder.kind != satchel_proto::NodeKind::Folder {
        return Err(StoreError::NotAFolder);
    }
    if !folder.is_live() {
        return Err(StoreError::Trashed);
    }
    Ok(folder)
}

/// Adds `chunks` to a session's list from index `first`, marking those the user owns as received.
async fn add_chunks(
    conn: &mut AnyConnection,
    actor: &Actor,
    id: Uuid,
    first: u64,
    chunks: &[ChunkSpec],
) -> Result<()> {
    let hashes: Vec<String> = chunks.iter().map(|c| c.sha256.to_hex()).collect();
    let mut unique = hashes.clone();
    unique.sort();
    unique.dedup();
    let have = owned(conn, actor, &unique).await?;
    for (batch_no, batch) in chunks.chunks(crate::versions::INSERT_BATCH).enumerate() {
        let mut sql = String::from(
            "INSERT INTO upload_chunks (upload_id, idx, sha256, size, received) VALUES ",
        );
        crate::versions::push_placeholders(&mut sql, batch.len(), 5);
        let mut query = sqlx::query(&sql);
        for (i, chunk) in batch.iter().enumerate() {
            let position = batch_no * crate::versions::INSERT_BATCH + i;
            let hex = &hashes[position];
            query = query
                .bind(id.to_string())
                .bind(i64::try_from(first + position as u64).unwrap_or(i64::MAX))
                .bind(hex.clone())
                .bind(to_i64(chunk.size))
                .bind(i64::from(have.contains(hex)));
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Marks as received the missing chunks that the user has come to own since the session began (sent
/// through another session, or committed in another file), so they need not be sent again.
async fn refresh_received(conn: &mut AnyConnection, actor: &Actor, id: Uuid) -> Result<()> {
    let missing: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT sha256 FROM upload_chunks WHERE upload_id = $1 AND received = 0",
    )
    .bind(id.to_string())
    .fetch_all(&mut *conn)
    .await?;
    if missing.is_empty() {
        return Ok(());
    }
    for hash in owned(conn, actor, &missing).await? {
        sqlx::query("UPDATE upload_chunks SET received = 1 WHERE upload_id = $1 AND sha256 = $2")
            .bind(id.to_string())
            .bind(hash)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

async fn status(conn: &mut AnyConnection, id: Uuid) -> Result<UploadStatus> {
    let head = sqlx::query("SELECT expires_at, node_id FROM uploads WHERE id = $1")
        .bind(id.to_string())
        .fetch_one(&mut *conn)
        .await?;
    let rows = sqlx::query(
        "SELECT idx, sha256, size, received FROM upload_chunks WHERE upload_id = $1 ORDER BY idx",
    )
    .bind(id.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let mut missing = Vec::new();
    let mut missing_chunks = Vec::new();
    let mut received_bytes = 0;
    for row in &rows {
        if row.try_get::<i64, _>("received")? == 1 {
            received_bytes += to_u64(row.try_get("size")?);
        } else {
            missing.push(to_u64(row.try_get("idx")?));
            let hex: String = row.try_get("sha256")?;
            missing_chunks.push(ChunkSpec {
                sha256: hex.parse().map_err(|_| StoreError::Corrupt(hex.clone()))?,
                size: to_u64(row.try_get("size")?),
            });
        }
    }
    Ok(UploadStatus {
        id,
        missing,
        missing_chunks,
        received_bytes,
        expires_at: from_micros(head.try_get("expires_at")?),
        committed_node: head
            .try_get::<Option<String>, _>("node_id")?
            .as_deref()
            .map(parse_uuid)
            .transpose()?,
    })
}

impl Store {
    /// Opens a session and says which chunks must still be sent.
    pub async fn create_upload(&self, actor: &Actor, new: NewUpload) -> Result<UploadStatus> {
        let id = Uuid::now_v7();
        let mut w = self.write().await?;
        let conn = w.conn();
        let parent = writable_folder(conn, actor, resolve(actor, new.parent)).await?;
        sqlx::query(
            "INSERT INTO uploads (id, user_id, ns_id, parent_id, name, size, sha256, mime, base_rev, \
             mode, device, state, created_at, expires_at, list_open) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'open', $12, $13, $14)",
        )
        .bind(id.to_string())
        .bind(actor.user_id.to_string())
        .bind(actor.ns_id.to_string())
        .bind(parent.id.to_string())
        .bind(new.name.as_str())
        .bind(to_i64(new.size))
        .bind(new.sha256.map(|h| h.to_hex()))
        .bind(new.mime.clone())
        .bind(new.base_rev.clone())
        .bind(mode_text(new.mode))
        .bind(actor.device.clone())
        .bind(micros(Utc::now()))
        .bind(micros(new.expires_at))
        .bind(i64::from(new.more_chunks))
        .execute(&mut *conn)
        .await?;
        add_chunks(conn, actor, id, 0, &new.chunks).await?;
        let status = status(conn, id).await?;
        w.commit().await?;
        Ok(status)
    }

    /// Appends chunks to a session whose list is still open (the client sends while it cuts);
    /// `more` says whether further pieces will follow.
    pub async fn append_chunks(
        &self,
        actor: &Actor,
        id: Uuid,
        chunks: &[ChunkSpec],
        more: bool,
    ) -> Result<UploadStatus> {
        let mut w = self.write().await?;
        let conn = w.conn();
        open_session(conn, actor, id).await?;
        let open: i64 = sqlx::query_scalar("SELECT list_open FROM uploads WHERE id = $1")
            .bind(id.to_string())
            .fetch_one(&mut *conn)
            .await?;
        if open != 1 {
            return Err(StoreError::ListClosed);
        }
        let next: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM upload_chunks WHERE upload_id = $1")
                .bind(id.to_string())
                .fetch_one(&mut *conn)
                .await?;
        add_chunks(conn, actor, id, to_u64(next), chunks).await?;
        sqlx::query("UPDATE uploads SET list_open = $2 WHERE id = $1")
            .bind(id.to_string())
            .bind(i64::from(more))
            .execute(&mut *conn)
            .await?;
        let status = status(conn, id).await?;
        w.commit().await?;
        Ok(status)
    }

    /// Where a session stands (for a client resuming it).
    pub async fn upload_status(&self, actor: &Actor, id: Uuid) -> Result<UploadStatus> {
        let mut conn = self.pool.acquire().await?;
        match session(&mut conn, actor, id).await?.0 {
            UploadState::Aborted => Err(StoreError::NotFound),
            UploadState::Expired => Err(StoreError::UploadExpired),
            UploadState::Open | UploadState::Committed => status(&mut conn, id).await,
        }
    }

    /// The hash and size promised for chunk `index` of an open session.
    pub async fn expected_chunk(&self, actor: &Actor, id: Uuid, index: u64) -> Result<ChunkSpec> {
        let mut conn = self.pool.acquire().await?;
        open_session(&mut conn, actor, id).await?;
        let row =
            sqlx::query("SELECT sha256, size FROM upload_chunks WHERE upload_id = $1 AND idx = $2")
                .bind(id.to_string())
                .bind(i64::try_from(index).map_err(|_| StoreError::NotFound)?)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or(StoreError::NotFound)?;
        let hex: String = row.try_get("sha256")?;
        Ok(ChunkSpec {
            sha256: hex.parse().map_err(|_| StoreError::Corrupt(hex.clone()))?,
            size: to_u64(row.try_get("size")?),
        })
    }

    /// Records that the client was given presigned URLs for these chunks of a session.
    pub async fn mark_presigned(&self, actor: &Actor, id: Uuid, hashes: &[Sha256]) -> Result<()> {
        if hashes.is_empty() {
            return Ok(());
        }
        let mut w = self.write().await?;
        let conn = w.conn();
        session(conn, actor, id).await?;
        for batch in hashes.chunks(IN_BATCH) {
            let list = (0..batch.len())
                .map(|i| format!("${}", i + 2))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "UPDATE upload_chunks SET presigned = 1 WHERE upload_id = $1 AND sha256 IN ({list})"
            );
            let mut query = sqlx::query(&sql).bind(id.to_string());
            for hash in batch {
                query = query.bind(hash.to_hex());
            }
            query.execute(&mut *conn).await?;
        }
        w.commit().await
    }

    /// The chunks of a session still missing for which the client was given presigned URLs: the
    /// only ones a bucket holding them may count as received.
    pub async fn presigned_missing(&self, actor: &Actor, id: Uuid) -> Result<Vec<ChunkSpec>> {
        let mut conn = self.pool.acquire().await?;
        session(&mut conn, actor, id).await?;
        let rows = sqlx::query(
            "SELECT DISTINCT sha256, size FROM upload_chunks \
             WHERE upload_id = $1 AND received = 0 AND presigned = 1",
        )
        .bind(id.to_string())
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|row| {
                let hex: String = row.try_get("sha256")?;
                Ok(ChunkSpec {
                    sha256: hex.parse().map_err(|_| StoreError::Corrupt(hex.clone()))?,
                    size: to_u64(row.try_get("size")?),
                })
            })
            .collect()
    }

    /// Records that the chunk `sha256` of a session is durable (every index that names it).
    pub async fn chunk_received(&self, actor: &Actor, id: Uuid, sha256: &Sha256) -> Result<()> {
        let mut w = self.write().await?;
        let conn = w.conn();
        open_session(conn, actor, id).await?;
        sqlx::query("UPDATE upload_chunks SET received = 1 WHERE upload_id = $1 AND sha256 = $2")
            .bind(id.to_string())
            .bind(sha256.to_hex())
            .execute(&mut *conn)
            .await?;
        w.commit().await
    }

    /// Turns a complete session into the file's new version. Committing a committed session again
    /// answers with the node it made.
    pub async fn commit_upload(
        &self,
        actor: &Actor,
        id: Uuid,
        verified: Option<VerifiedHash>,
        modified_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<(Node, bool)> {
        let mut w = self.write().await?;
        let conn = w.conn();
        match session(conn, actor, id).await? {
            (UploadState::Committed, _, Some(node)) => {
                drop(w);
                return Ok((self.node(actor, NodeRef::Id(node)).await?, false));
            }
            _ => open_session(conn, actor, id).await?,
        }
        refresh_received(conn, actor, id).await?;
        // One read of the list gives both what is still missing and the chunks to commit.
        let rows = sqlx::query(
            "SELECT idx, sha256, size, received FROM upload_chunks WHERE upload_id = $1 ORDER BY idx",
        )
        .bind(id.to_string())
        .fetch_all(&mut *conn)
        .await?;
        let mut chunks = Vec::with_capacity(rows.len());
        let mut missing = Vec::new();
        for row in &rows {
            if row.try_get::<i64, _>("received")? != 1 {
                missing.push(to_u64(row.try_get("idx")?));
            }
            let hex: String = row.try_get("sha256")?;
            chunks.push(ChunkSpec {
                sha256: hex.parse().map_err(|_| StoreError::Corrupt(hex.clone()))?,
                size: to_u64(row.try_get("size")?),
            });
        }
        if !missing.is_empty() {
            return Err(StoreError::Incomplete(missing));
        }
        let head = sqlx::query(
            "SELECT parent_id, name, size, sha256, mime, base_rev, mode, list_open FROM uploads WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_one(&mut *conn)
        .await?;
        if head.try_get::<i64, _>("list_open")? == 1 {
            return Err(StoreError::Incomplete(Vec::new()));
        }
        let text = |column: &str| row_text(&head, column);
        let Some(size) = head.try_get::<Option<i64>, _>("size")?.map(to_u64) else {
            return Err(StoreError::SizeMismatch(
                "the file's size is needed to commit".into(),
            ));
        };
        // The hash must be of exactly this list: one checked over a shorter list (still open
        // when it was read) does not describe these bytes.
        let sha256 = match verified {
            Some(verified) if verified.chunks == chunks.len() => verified.sha256,
            _ => return Err(StoreError::Incomplete(Vec::new())),
        };
        let listed: u64 = chunks.iter().map(|c| c.size).sum();
        if listed != size {
            return Err(StoreError::SizeMismatch(format!(
                "the chunks add up to {listed} bytes, not {size}"
            )));
        }
        let name = NodeName::new(text("name")?).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mode = match text("mode")?.as_str() {
            "rename" => WriteMode::Rename,
            "fail" => WriteMode::Fail,
            _ => WriteMode::Version,
        };
        let target = ContentTarget::Named {
            parent: NodeRef::Id(parse_uuid(&text("parent_id")?)?),
            name,
            mode,
        };
        let content = NewContent {
            size,
            sha256,
            mime: head.try_get("mime")?,
            chunks,
            inline: None,
            modified_at,
        };
        let base_rev: Option<String> = head.try_get("base_rev")?;
        let (node, created, readers) =
            write_content_in(conn, actor, target, &content, base_rev.as_deref()).await?;
        sqlx::query(
            "UPDATE uploads SET state = 'committed', node_id = $2 WHERE id = $1 AND state = 'open'",
        )
        .bind(id.to_string())
        .bind(node.id.to_string())
        .execute(&mut *conn)
        .await?;
        w.commit().await?;
        self.announce_all(&readers);
        Ok((node, created))
    }

    /// Abandons a session; its chunks become garbage unless something else references them.
    pub async fn abort_upload(&self, actor: &Actor, id: Uuid) -> Result<()> {
        let mut w = self.write().await?;
        let conn = w.conn();
        let (state, _, _) = session(conn, actor, id).await?;
        if state == UploadState::Committed {
            return Err(StoreError::UploadCommitted);
        }
        sqlx::query("UPDATE uploads SET state = 'aborted' WHERE id = $1 AND state = 'open'")
            .bind(id.to_string())
            .execute(&mut *conn)
            .await?;
        w.commit().await
    }

    /// Marks open sessions past their expiry as expired; returns how many.
    pub async fn expire_uploads(&self, now: DateTime<Utc>) -> Result<u64> {
        let mut w = self.write().await?;
        let done = sqlx::query(
            "UPDATE uploads SET state = 'expired' WHERE state = 'open' AND expires_at <= $1",
        )
        .bind(micros(now))
        .execute(w.conn())
        .await?;
        w.commit().await?;
        Ok(done.rows_affected())
    }

    /// Whether `actor` owns the chunk `sha256`, and if so where its bytes are: `Some(Some(bytes))` in
    /// the database, `Some(None)` in the blob store.
    pub async fn owned_chunk(
        &self,
        actor: &Actor,
        sha256: &Sha256,
    ) -> Result<Option<Option<Vec<u8>>>> {
        let mut conn = self.pool.acquire().await?;
        if owned(&mut conn, actor, &[sha256.to_hex()])
            .await?
            .is_empty()
        {
            return Ok(None);
        }
        let data: Option<Option<Vec<u8>>> =
            sqlx::query_scalar("SELECT data FROM chunks WHERE sha256 = $1")
                .bind(sha256.to_hex())
                .fetch_optional(&mut *conn)
                .await?;
        Ok(Some(data.flatten()))
    }
}

fn row_text(row: &sqlx::any::AnyRow, column: &str) -> Result<String> {
    Ok(row.try_get(column)?)
}
