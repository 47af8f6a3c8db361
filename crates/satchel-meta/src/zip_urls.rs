//! Zip URLs as records: a selection of files and folders that one short-lived signed URL streams as
//! a zip archive (the browser's download manager fetches it, so it carries no token).
//!
//! Invariants: every node of the selection was live and reached by the maker when the URL was made
//! (another user's id is `NotFound`, exactly as if it did not exist); a download acts as the maker
//! through the session that made it, so it ends with that session (logout, revocation) and sees
//! only what the maker still reaches. Expired rows are forgotten by the collector.

use chrono::{DateTime, Utc};
use satchel_proto::NodeRef;
use sqlx::Row;
use uuid::Uuid;

use crate::accounts::parse_uuid;
use crate::db::{from_micros, micros};
use crate::nodes::{load, resolve};
use crate::{Actor, Result, Store, StoreError};

/// Most nodes one zip URL may name (a selection, not a tree: folders bring their contents).
pub const MAX_ZIP_NODES: usize = 10_000;

/// A zip URL as made.
#[derive(Debug, Clone)]
pub struct ZipUrlRecord {
    pub id: Uuid,
    pub node_ids: Vec<Uuid>,
    pub expires_at: DateTime<Utc>,
}

/// What a download through a zip URL may do.
#[derive(Debug, Clone)]
pub enum ZipGrant {
    /// Past its time, or forgotten after it expired.
    Expired,
    /// The session that made it ended.
    Ended,
    Live {
        node_ids: Vec<Uuid>,
        maker: Box<Actor>,
    },
}

impl Store {
    /// Records a zip URL for `nodes` (each live and reached by the actor), made through the actor's
    /// session.
    pub async fn create_zip_url(
        &self,
        actor: &Actor,
        nodes: &[NodeRef],
        expires_at: DateTime<Utc>,
    ) -> Result<ZipUrlRecord> {
        let session = actor.session_id.ok_or(StoreError::NotFound)?;
        let mut conn = self.pool.acquire().await?;
        let mut ids = Vec::with_capacity(nodes.len());
        for node in nodes {
            let row = load(&mut conn, actor, resolve(actor, *node)).await?;
            if !row.is_live() {
                return Err(StoreError::Trashed);
            }
            if !ids.contains(&row.id) {
                ids.push(row.id);
            }
        }
        drop(conn);
        let id = Uuid::now_v7();
        let joined = ids
            .iter()
            .map(Uuid::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let mut w = self.write().await?;
        sqlx::query(
            "INSERT INTO zip_urls (id, created_by, session_id, node_ids, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id.to_string())
        .bind(actor.user_id.to_string())
        .bind(session.to_string())
        .bind(joined)
        .bind(micros(expires_at))
        .bind(micros(Utc::now()))
        .execute(w.conn())
        .await?;
        w.commit().await?;
        Ok(ZipUrlRecord {
            id,
            node_ids: ids,
            expires_at,
        })
    }

    /// What a download through zip URL `id` may do.
    pub async fn zip_url_grant(&self, id: Uuid) -> Result<ZipGrant> {
        let row = sqlx::query(
            "SELECT created_by, session_id, node_ids, expires_at FROM zip_urls WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(ZipGrant::Expired);
        };
        if from_micros(row.try_get("expires_at")?) <= Utc::now() {
            return Ok(ZipGrant::Expired);
        }
        let maker = parse_uuid(&row.try_get::<String, _>("created_by")?)?;
        let session = parse_uuid(&row.try_get::<String, _>("session_id")?)?;
        let node_ids = row
            .try_get::<String, _>("node_ids")?
            .split(',')
            .filter(|id| !id.is_empty())
            .map(parse_uuid)
            .collect::<Result<Vec<_>>>()?;
        match self.session_actor(maker, session).await? {
            Some(maker) => Ok(ZipGrant::Live {
                node_ids,
                maker: Box::new(maker),
            }),
            None => Ok(ZipGrant::Ended),
        }
    }

    /// Forgets zip URLs that expired before `cutoff`; returns how many.
    pub async fn forget_expired_zip_urls(&self, cutoff: DateTime<Utc>) -> Result<u64> {
        let mut w = self.write().await?;
        let done = sqlx::query("DELETE FROM zip_urls WHERE expires_at < $1")
            .bind(micros(cutoff))
            .execute(w.conn())
            .await?;
        w.commit().await?;
        Ok(done.rows_affected())
    }
}
