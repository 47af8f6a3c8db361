//! Public links: who made them, what they reach, their limits, and what they answered.
//!
//! A link is made by an account that may change the node (its owner, or an `edit` member of the
//! shared folder holding it: a `view` member is refused, `ReadOnly`), and a visit acts as that
//! account: a link made by a member stops working when the member loses that access. The node's
//! owner (`nodes.owner_id`) sees, changes and deletes every link on their nodes, whoever made it;
//! the maker sees and manages their own.

use chrono::{DateTime, Utc};
use satchel_proto::Node;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::accounts::{actor_from_row, parse_uuid, to_i64, to_u64};
use crate::db::{from_micros, micros};
use crate::nodes::{load, view};
use crate::paths::PathCache;
use crate::{Actor, Result, Store, StoreError};

/// What a link lets a visitor do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPermission {
    /// Read the node (a file's bytes, a folder's listing and files).
    View,
    /// Add files to a folder, and nothing else.
    Upload,
}

impl LinkPermission {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkPermission::View => "view",
            LinkPermission::Upload => "upload",
        }
    }
}

/// A link as stored.
#[derive(Debug, Clone)]
pub struct LinkRecord {
    pub id: Uuid,
    pub token: String,
    /// The account that made the link, whose access a visit acts with.
    pub created_by: Uuid,
    /// Its email, for the owner's list.
    pub creator_email: String,
    pub node_id: Uuid,
    pub permission: LinkPermission,
    pub password_hash: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub max_downloads: Option<u64>,
    pub download_count: u64,
    pub max_upload_bytes: Option<u64>,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

/// A new link (the token is made by the caller, its hash computed here).
#[derive(Debug, Clone)]
pub struct NewLink {
    pub token: String,
    pub token_hash: String,
    pub node_id: Uuid,
    pub permission: LinkPermission,
    pub password_hash: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub max_downloads: Option<u64>,
    pub max_upload_bytes: Option<u64>,
}

/// Changes to a link; `None` leaves a field alone, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct LinkChanges {
    pub expires_at: Option<Option<DateTime<Utc>>>,
    pub password_hash: Option<Option<String>>,
    pub max_downloads: Option<Option<u64>>,
    pub disabled: Option<bool>,
}

/// One request a link answered.
#[derive(Debug, Clone)]
pub struct LinkAccess {
    pub at: DateTime<Utc>,
    pub address: String,
    pub path: String,
    pub status: u16,
}

const LINK_COLUMNS: &str = "links.id, links.token, links.created_by, \
     (SELECT u.email FROM users u WHERE u.id = links.created_by) AS creator_email, links.node_id, \
     links.permission, links.password_hash, links.expires_at, links.max_downloads, \
     links.download_count, links.max_upload_bytes, links.disabled_at, links.created_at";

/// The links `$1` manages: those they made, and every link on a node they own.
const MANAGED: &str = "(links.created_by = $1 OR EXISTS \
     (SELECT 1 FROM nodes n WHERE n.id = links.node_id AND n.owner_id = $1))";

fn link_from_row(row: &AnyRow) -> Result<LinkRecord> {
    let permission: String = row.try_get("permission")?;
    Ok(LinkRecord {
        id: parse_uuid(&row.try_get::<String, _>("id")?)?,
        token: row.try_get("token")?,
        created_by: parse_uuid(&row.try_get::<String, _>("created_by")?)?,
        creator_email: row
            .try_get::<Option<String>, _>("creator_email")?
            .unwrap_or_default(),
        node_id: parse_uuid(&row.try_get::<String, _>("node_id")?)?,
        permission: if permission == "upload" {
            LinkPermission::Upload
        } else {
            LinkPermission::View
        },
        password_hash: row.try_get("password_hash")?,
        expires_at: row
            .try_get::<Option<i64>, _>("expires_at")?
            .map(from_micros),
        max_downloads: row.try_get::<Option<i64>, _>("max_downloads")?.map(to_u64),
        download_count: to_u64(row.try_get("download_count")?),
        max_upload_bytes: row
            .try_get::<Option<i64>, _>("max_upload_bytes")?
            .map(to_u64),
        disabled: row.try_get::<Option<i64>, _>("disabled_at")?.is_some(),
        created_at: from_micros(row.try_get("created_at")?),
    })
}

impl Store {
    /// Makes a link to a node the actor may change (`ReadOnly` for a `view` member).
    pub async fn create_link(&self, actor: &Actor, new: NewLink) -> Result<LinkRecord> {
        let mut tx = self.write().await?;
        let node = load(tx.conn(), actor, new.node_id).await?;
        actor.space(node.ns_id)?.writable()?;
        if new.permission == LinkPermission::Upload && node.kind != satchel_proto::NodeKind::Folder
        {
            return Err(StoreError::NotAFolder);
        }
        let id = Uuid::now_v7();
        let sql = format!(
            "INSERT INTO links (id, token, token_hash, created_by, node_id, permission, \
             password_hash, expires_at, max_downloads, max_upload_bytes, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {LINK_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(id.to_string())
            .bind(&new.token)
            .bind(&new.token_hash)
            .bind(actor.user_id.to_string())
            .bind(node.id.to_string())
            .bind(new.permission.as_str())
            .bind(new.password_hash)
            .bind(new.expires_at.map(micros))
            .bind(new.max_downloads.map(to_i64))
            .bind(new.max_upload_bytes.map(to_i64))
            .bind(micros(Utc::now()))
            .fetch_one(tx.conn())
            .await?;
        let link = link_from_row(&row)?;
        tx.commit().await?;
        Ok(link)
    }

    /// The links the actor manages (made by them, or on their nodes), oldest first.
    pub async fn links(&self, actor: &Actor) -> Result<Vec<LinkRecord>> {
        let sql = format!(
            "SELECT {LINK_COLUMNS} FROM links WHERE {MANAGED} ORDER BY links.created_at, links.id"
        );
        let rows = sqlx::query(&sql)
            .bind(actor.user_id.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(link_from_row).collect()
    }

    /// One link the actor manages.
    pub async fn link(&self, actor: &Actor, id: Uuid) -> Result<LinkRecord> {
        let mut conn = self.pool.acquire().await?;
        managed_link(&mut conn, actor, id).await
    }

    /// Changes a link the actor manages.
    pub async fn update_link(
        &self,
        actor: &Actor,
        id: Uuid,
        changes: LinkChanges,
    ) -> Result<LinkRecord> {
        let mut tx = self.write().await?;
        let current = managed_link(tx.conn(), actor, id).await?;
        let expires_at = changes.expires_at.unwrap_or(current.expires_at);
        let password_hash = changes.password_hash.unwrap_or(current.password_hash);
        let max_downloads = changes.max_downloads.unwrap_or(current.max_downloads);
        let disabled = changes.disabled.unwrap_or(current.disabled);
        let sql = format!(
            "UPDATE links SET expires_at = $2, password_hash = $3, max_downloads = $4, \
             disabled_at = CASE WHEN $5 = 1 THEN COALESCE(disabled_at, $6) ELSE NULL END \
             WHERE id = $1 RETURNING {LINK_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(id.to_string())
            .bind(expires_at.map(micros))
            .bind(password_hash)
            .bind(max_downloads.map(to_i64))
            .bind(i64::from(disabled))
            .bind(micros(Utc::now()))
            .fetch_one(tx.conn())
            .await?;
        let link = link_from_row(&row)?;
        tx.commit().await?;
        Ok(link)
    }

    /// Deletes a link the actor manages (and its access log).
    pub async fn delete_link(&self, actor: &Actor, id: Uuid) -> Result<()> {
        let mut tx = self.write().await?;
        let done = sqlx::query(&format!(
            "DELETE FROM links WHERE {MANAGED} AND links.id = $2"
        ))
        .bind(actor.user_id.to_string())
        .bind(id.to_string())
        .execute(tx.conn())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("DELETE FROM link_accesses WHERE link_id = $1")
            .bind(id.to_string())
            .execute(tx.conn())
            .await?;
        tx.commit().await
    }

    /// The link whose token hashes to `token_hash`, with its maker acting (an enabled account
    /// only); `None` for unknown tokens.
    pub async fn link_by_token_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<(LinkRecord, Actor)>> {
        let sql = format!("SELECT {LINK_COLUMNS} FROM links WHERE token_hash = $1");
        let Some(row) = sqlx::query(&sql)
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let link = link_from_row(&row)?;
        let mut conn = self.pool.acquire().await?;
        let maker = sqlx::query(
            "SELECT ns_id, root_id, quota_bytes, used_bytes FROM users \
             WHERE id = $1 AND disabled_at IS NULL",
        )
        .bind(link.created_by.to_string())
        .fetch_optional(&mut *conn)
        .await?;
        let Some(maker) = maker else { return Ok(None) };
        let actor = actor_from_row(
            &mut conn,
            &maker,
            link.created_by,
            None,
            Some("public link".to_owned()),
        )
        .await?;
        Ok(Some((link, actor)))
    }

    /// The node a link reaches, as its maker sees it, provided the maker may still change it:
    /// `NotFound` once they lost access, `ReadOnly` if they are now only a `view` member.
    pub async fn link_target(&self, maker: &Actor, node_id: Uuid) -> Result<Node> {
        let mut conn = self.pool.acquire().await?;
        let row = load(&mut conn, maker, node_id).await?;
        maker.space(row.ns_id)?.writable()?;
        view(&mut conn, &mut PathCache::of_actor(maker), maker, &row).await
    }

    /// Counts one download against the link's limit; `false` when the limit is reached. One
    /// conditional update, so concurrent downloads can never exceed the limit.
    pub async fn count_download(&self, link_id: Uuid) -> Result<bool> {
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE links SET download_count = download_count + 1 \
             WHERE id = $1 AND (max_downloads IS NULL OR download_count < max_downloads)",
        )
        .bind(link_id.to_string())
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a request a link answered. The entry is written in the background, batched with
    /// others (a busy link costs one commit per batch, not per request); a crash can lose the last
    /// few milliseconds of entries, never anything else.
    pub async fn log_link_access(&self, link_id: Uuid, access: LinkAccess) -> Result<()> {
        let log = self
            .access_log
            .get_or_init(|| AccessLog::start(self.clone()));
        log.send(Logged::Access(link_id, access)).await;
        Ok(())
    }

    /// Waits until every access logged so far is written.
    pub(crate) async fn flush_access_log(&self) {
        if let Some(log) = self.access_log.get() {
            let (done, written) = tokio::sync::oneshot::channel();
            log.send(Logged::Flush(done)).await;
            let _ = written.await;
        }
    }

    /// Writes a batch of accesses in one transaction.
    async fn write_accesses(&self, batch: &[(Uuid, LinkAccess)]) -> Result<()> {
        let mut tx = self.write().await?;
        for rows in batch.chunks(200) {
            let values = (0..rows.len())
                .map(|i| {
                    let b = i * 5;
                    format!(
                        "(${}, ${}, ${}, ${}, ${})",
                        b + 1,
                        b + 2,
                        b + 3,
                        b + 4,
                        b + 5
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "INSERT INTO link_accesses (link_id, at, address, path, status) VALUES {values}"
            );
            let mut query = sqlx::query(&sql);
            for (link_id, access) in rows {
                query = query
                    .bind(link_id.to_string())
                    .bind(micros(access.at))
                    .bind(access.address.clone())
                    .bind(access.path.clone())
                    .bind(i64::from(access.status));
            }
            query.execute(tx.conn()).await?;
        }
        tx.commit().await
    }

    /// The newest `limit` requests a link of the actor's answered, newest first.
    pub async fn link_accesses(
        &self,
        actor: &Actor,
        id: Uuid,
        limit: u32,
    ) -> Result<Vec<LinkAccess>> {
        self.link(actor, id).await?;
        self.flush_access_log().await;
        let rows = sqlx::query(
            "SELECT at, address, path, status FROM link_accesses WHERE link_id = $1 \
             ORDER BY at DESC LIMIT $2",
        )
        .bind(id.to_string())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(LinkAccess {
                    at: from_micros(row.try_get("at")?),
                    address: row.try_get("address")?,
                    path: row.try_get("path")?,
                    status: u16::try_from(row.try_get::<i64, _>("status")?).unwrap_or(0),
                })
            })
            .collect()
    }
}

/// A link `actor` manages: one they made, or one on a node they own.
async fn managed_link(conn: &mut AnyConnection, actor: &Actor, id: Uuid) -> Result<LinkRecord> {
    let sql = format!("SELECT {LINK_COLUMNS} FROM links WHERE {MANAGED} AND links.id = $2");
    let row = sqlx::query(&sql)
        .bind(actor.user_id.to_string())
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?
        .ok_or(StoreError::NotFound)?;
    link_from_row(&row)
}

/// What the access-log writer is handed.
pub(crate) enum Logged {
    Access(Uuid, LinkAccess),
    /// Answered once everything sent before it is written.
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// The background writer of link accesses: it takes what has queued up while it wrote the last
/// batch and writes it in one transaction.
pub(crate) struct AccessLog {
    queue: tokio::sync::mpsc::Sender<Logged>,
}

/// Accesses written in one transaction at most.
const ACCESS_BATCH: usize = 1000;

impl AccessLog {
    fn start(store: Store) -> AccessLog {
        let (queue, mut pending) = tokio::sync::mpsc::channel::<Logged>(65_536);
        tokio::spawn(async move {
            while let Some(first) = pending.recv().await {
                let mut batch = Vec::new();
                let mut flushes = Vec::new();
                let mut next = Some(first);
                while let Some(item) = next {
                    match item {
                        Logged::Access(link, access) => batch.push((link, access)),
                        Logged::Flush(done) => flushes.push(done),
                    }
                    next = if batch.len() < ACCESS_BATCH {
                        pending.try_recv().ok()
                    } else {
                        None
                    };
                }
                if !batch.is_empty()
                    && let Err(error) = store.write_accesses(&batch).await
                {
                    tracing::warn!("could not write {} link accesses: {error}", batch.len());
                }
                for done in flushes {
                    let _ = done.send(());
                }
            }
        });
        AccessLog { queue }
    }

    async fn send(&self, item: Logged) {
        // Full (the database is far behind): wait, as the request would have waited anyway.
        let _ = self.queue.send(item).await;
    }
}
