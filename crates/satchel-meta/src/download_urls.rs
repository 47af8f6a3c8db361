//! Signed download URLs as records: what each one serves, who made it, through which session, and
//! whether it was revoked.
//!
//! A URL serves one version of one file (the current one when it was made) until it expires, and
//! only while everything that allowed it still holds: the record is not revoked, the session that
//! made it is live (logging out ends its URLs), and the maker still reaches the node (a download
//! acts as the maker, so a revoked share or a move out of it ends theirs). The node's owner sees
//! and revokes every URL made on their nodes, members' included; a maker sees and revokes their own.

use chrono::{DateTime, Utc};
use satchel_proto::{NodeKind, NodeRef};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::accounts::{parse_uuid, to_u64};
use crate::cursor::{decode_page_key, encode_page_key};
use crate::db::{from_micros, micros};
use crate::nodes::{load, resolve};
use crate::versions::version_row;
use crate::{Actor, Result, Store, StoreError};

/// Where a URL stands, as a list shows it (expiry is its `expires_at`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlState {
    /// It downloads (if its maker still reaches the node).
    Active,
    /// Revoked by its maker or the node's owner.
    Revoked { at: DateTime<Utc> },
    /// The session that made it ended (logout, revocation, expiry).
    SessionEnded,
}

/// A signed URL as stored.
#[derive(Debug, Clone)]
pub struct DownloadUrlRecord {
    pub id: Uuid,
    pub node_id: Uuid,
    /// The version it serves.
    pub version: u64,
    pub created_by: Uuid,
    pub creator_email: String,
    pub session_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub state: UrlState,
}

/// A URL that may download: its record, and its maker acting through the session that made it.
#[derive(Debug, Clone)]
pub enum UrlGrant {
    /// Past its time (or forgotten by the collector after it expired: a URL bearing the server's
    /// signature names a record that existed).
    Expired,
    /// Revoked, or its session ended: it will never download again.
    Ended,
    Live {
        url: DownloadUrlRecord,
        maker: Box<Actor>,
    },
}

const URL_SELECT: &str = "SELECT d.id, d.node_id, d.version, d.created_by, u.email AS creator_email, \
     d.session_id, d.expires_at, d.created_at, d.revoked_at, \
     CAST(CASE WHEN s.revoked_at IS NULL AND s.expires_at > $1 THEN 1 ELSE 0 END AS BIGINT) \
       AS session_live \
     FROM download_urls d JOIN users u ON u.id = d.created_by \
     LEFT JOIN sessions s ON s.id = d.session_id";

/// The URLs `$2` manages: those they made, and every URL on a node they own.
const MANAGED: &str = "(d.created_by = $2 OR EXISTS \
     (SELECT 1 FROM nodes n WHERE n.id = d.node_id AND n.owner_id = $2))";

fn url_from_row(row: &AnyRow) -> Result<DownloadUrlRecord> {
    let revoked: Option<i64> = row.try_get("revoked_at")?;
    let state = match revoked {
        Some(at) => UrlState::Revoked {
            at: from_micros(at),
        },
        None if row.try_get::<i64, _>("session_live")? == 1 => UrlState::Active,
        None => UrlState::SessionEnded,
    };
    Ok(DownloadUrlRecord {
        id: parse_uuid(&row.try_get::<String, _>("id")?)?,
        node_id: parse_uuid(&row.try_get::<String, _>("node_id")?)?,
        version: to_u64(row.try_get("version")?),
        created_by: parse_uuid(&row.try_get::<String, _>("created_by")?)?,
        creator_email: row.try_get("creator_email")?,
        session_id: parse_uuid(&row.try_get::<String, _>("session_id")?)?,
        expires_at: from_micros(row.try_get("expires_at")?),
        created_at: from_micros(row.try_get("created_at")?),
        state,
    })
}

async fn url_by_id(conn: &mut AnyConnection, id: Uuid) -> Result<Option<DownloadUrlRecord>> {
    let row = sqlx::query(&format!("{URL_SELECT} WHERE d.id = $2"))
        .bind(micros(Utc::now()))
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(url_from_row).transpose()
}

impl Store {
    /// Records a URL for version `version` (the current one when `None`) of a live file the actor
    /// reaches, made through the actor's session.
    pub async fn create_download_url(
        &self,
        actor: &Actor,
        file: NodeRef,
        version: Option<u64>,
        expires_at: DateTime<Utc>,
    ) -> Result<DownloadUrlRecord> {
        let session = actor.session_id.ok_or(StoreError::NotFound)?;
        let mut w = self.write().await?;
        let node = load(w.conn(), actor, resolve(actor, file)).await?;
        if node.kind != NodeKind::File {
            return Err(StoreError::NotAFile);
        }
        if !node.is_live() {
            return Err(StoreError::Trashed);
        }
        let version = match version {
            None => node.version.ok_or(StoreError::NotFound)?,
            Some(wanted) => {
                let wanted = i64::try_from(wanted).map_err(|_| StoreError::NotFound)?;
                version_row(w.conn(), node.id, wanted).await?;
                wanted
            }
        };
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO download_urls (id, node_id, version, created_by, session_id, expires_at, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id.to_string())
        .bind(node.id.to_string())
        .bind(version)
        .bind(actor.user_id.to_string())
        .bind(session.to_string())
        .bind(micros(expires_at))
        .bind(micros(Utc::now()))
        .execute(w.conn())
        .await?;
        let url = url_by_id(w.conn(), id).await?.ok_or(StoreError::NotFound)?;
        w.commit().await?;
        Ok(url)
    }

    /// One page of the unexpired URLs the actor manages (on one node if `node` is given), oldest
    /// first; the cursor for the next page when there is one.
    pub async fn download_urls(
        &self,
        actor: &Actor,
        node: Option<Uuid>,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<(Vec<DownloadUrlRecord>, Option<String>)> {
        let (after_at, after_id) = match cursor {
            Some(text) => {
                let (at, id) = decode_page_key(text)?;
                (at.parse::<i64>().map_err(|_| StoreError::BadCursor)?, id)
            }
            None => (i64::MIN, Uuid::nil()),
        };
        let node_filter = if node.is_some() {
            "AND d.node_id = $6"
        } else {
            ""
        };
        let sql = format!(
            "{URL_SELECT} WHERE {MANAGED} AND d.expires_at > $1 {node_filter} \
             AND (d.created_at > $3 OR (d.created_at = $3 AND d.id > $4)) \
             ORDER BY d.created_at, d.id LIMIT $5"
        );
        let mut query = sqlx::query(&sql)
            .bind(micros(Utc::now()))
            .bind(actor.user_id.to_string())
            .bind(after_at)
            .bind(after_id.to_string())
            .bind(i64::from(limit) + 1);
        if let Some(node) = node {
            query = query.bind(node.to_string());
        }
        let rows = query.fetch_all(&self.pool).await?;
        let mut urls = rows.iter().map(url_from_row).collect::<Result<Vec<_>>>()?;
        let more = urls.len() > limit as usize;
        urls.truncate(limit as usize);
        let next = more
            .then(|| {
                urls.last()
                    .map(|last| encode_page_key(&micros(last.created_at).to_string(), last.id))
            })
            .flatten();
        Ok((urls, next))
    }

    /// Revokes a URL the actor manages; revoking it again changes nothing.
    pub async fn revoke_download_url(&self, actor: &Actor, id: Uuid) -> Result<()> {
        let mut w = self.write().await?;
        let managed: Option<String> = sqlx::query_scalar(&format!(
            "SELECT d.id FROM download_urls d WHERE d.id = $1 AND {MANAGED}"
        ))
        .bind(id.to_string())
        .bind(actor.user_id.to_string())
        .fetch_optional(w.conn())
        .await?;
        if managed.is_none() {
            return Err(StoreError::NotFound);
        }
        sqlx::query("UPDATE download_urls SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1")
            .bind(id.to_string())
            .bind(micros(Utc::now()))
            .execute(w.conn())
            .await?;
        w.commit().await
    }

    /// What a download through URL `id` may do: its maker acting through the session that made
    /// it, while the URL is not revoked and that session is live.
    pub async fn download_url_grant(&self, id: Uuid) -> Result<UrlGrant> {
        let mut conn = self.pool.acquire().await?;
        let Some(url) = url_by_id(&mut conn, id).await? else {
            return Ok(UrlGrant::Expired);
        };
        drop(conn);
        if url.expires_at <= Utc::now() {
            return Ok(UrlGrant::Expired);
        }
        if url.state != UrlState::Active {
            return Ok(UrlGrant::Ended);
        }
        match self.session_actor(url.created_by, url.session_id).await? {
            Some(maker) => Ok(UrlGrant::Live {
                url,
                maker: Box::new(maker),
            }),
            None => Ok(UrlGrant::Ended),
        }
    }

    /// Forgets URLs that expired before `cutoff`; returns how many.
    pub async fn forget_expired_download_urls(&self, cutoff: DateTime<Utc>) -> Result<u64> {
        let mut w = self.write().await?;
        let done = sqlx::query("DELETE FROM download_urls WHERE expires_at < $1")
            .bind(micros(cutoff))
            .execute(w.conn())
            .await?;
        w.commit().await?;
        Ok(done.rows_affected())
    }
}
