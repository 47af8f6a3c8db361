//! Reading the tree: nodes by id and path, folder listings, the trash and search.

use chrono::{DateTime, Utc};
use satchel_proto::{Node, NodeKind, NodeRef, Page};
use sqlx::AnyConnection;
use uuid::Uuid;

use crate::accounts::{to_i64, to_u64};
use crate::cursor::{decode_page_key, encode_page_key};
use crate::db::micros;
use crate::paths::{PathCache, join};
use crate::rows::{NODE_COLUMNS, NodeRow, packed, unpack};
use crate::{Actor, Result, Store, StoreError};
use sqlx::Row;

/// Filters of `GET /api/v1/search`.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    /// Substring of the name, matched case-insensitively.
    pub term: String,
    pub kind: Option<NodeKind>,
    /// A full type (`image/png`) or a family (`image/`, `image/*`).
    pub mime: Option<String>,
    pub modified_after: Option<DateTime<Utc>>,
    pub min_size: Option<u64>,
    pub max_size: Option<u64>,
}

/// The id a [`NodeRef`] names for `actor`.
pub(crate) fn resolve(actor: &Actor, node: NodeRef) -> Uuid {
    match node {
        NodeRef::Root => actor.root_id,
        NodeRef::Id(id) => id,
    }
}

/// Loads a node the actor can see, or `NotFound` — other users' nodes are indistinguishable from
/// nodes that do not exist.
pub(crate) async fn load(conn: &mut AnyConnection, actor: &Actor, id: Uuid) -> Result<NodeRow> {
    let sql = format!("SELECT {NODE_COLUMNS} FROM nodes WHERE id = $1");
    let row = sqlx::query(&sql)
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?
        .ok_or(StoreError::NotFound)?;
    let row = NodeRow::from_row(&row)?;
    actor.space(row.ns_id)?;
    Ok(row)
}

/// The node `row` as `actor` sees it, its path resolved through `paths`.
pub(crate) async fn view(
    conn: &mut AnyConnection,
    paths: &mut PathCache,
    actor: &Actor,
    row: &NodeRow,
) -> Result<Node> {
    let path = paths.of(conn, row).await?;
    Ok(actor.present(row.to_node(path)))
}

/// The live child of `parent` whose name folds to `key` as `actor` sees the folder: in their root,
/// the folders shared with them count among its children.
pub(crate) async fn child_of(
    conn: &mut AnyConnection,
    actor: &Actor,
    parent: Uuid,
    key: &str,
) -> Result<Option<NodeRow>> {
    if parent == actor.root_id
        && let Some((space, _)) = actor
            .mounts()
            .find(|(_, mount)| satchel_proto::name_key(&mount.name) == key)
    {
        let root = load(conn, actor, space.root_id).await?;
        return Ok(root.is_live().then_some(root));
    }
    live_child(conn, parent, key).await
}

/// The live child of `parent` whose name folds to `key`, if any.
pub(crate) async fn live_child(
    conn: &mut AnyConnection,
    parent: Uuid,
    key: &str,
) -> Result<Option<NodeRow>> {
    let sql = format!(
        "SELECT {NODE_COLUMNS} FROM nodes WHERE parent_id = $1 AND name_key = $2 AND deleted_at IS NULL"
    );
    let row = sqlx::query(&sql)
        .bind(parent.to_string())
        .bind(key)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(NodeRow::from_row).transpose()
}

/// Maps rows to nodes, resolving their paths with one cache.
pub(crate) async fn with_paths(
    conn: &mut AnyConnection,
    actor: &Actor,
    rows: Vec<NodeRow>,
) -> Result<Vec<Node>> {
    let mut paths = PathCache::of_actor(actor);
    let mut nodes = Vec::with_capacity(rows.len());
    for row in rows {
        nodes.push(view(conn, &mut paths, actor, &row).await?);
    }
    Ok(nodes)
}

/// Builds a page from `limit + 1` fetched rows: the extra row only says another page exists.
fn page_of(mut nodes: Vec<Node>, limit: u32, key: impl Fn(&Node) -> String) -> Page<Node> {
    let more = nodes.len() > limit as usize;
    nodes.truncate(limit as usize);
    let next_cursor = more
        .then(|| nodes.last().map(|n| encode_page_key(&key(n), n.id)))
        .flatten();
    Page {
        entries: nodes,
        next_cursor,
    }
}

impl Store {
    /// A node by id (trashed nodes included, with `deleted_at` set).
    pub async fn node(&self, actor: &Actor, node: NodeRef) -> Result<Node> {
        let mut conn = self.pool.acquire().await?;
        let row = load(&mut conn, actor, resolve(actor, node)).await?;
        view(&mut conn, &mut PathCache::of_actor(actor), actor, &row).await
    }

    /// The live node at `path` (`/`-rooted, in the actor's tree).
    pub async fn node_by_path(&self, actor: &Actor, path: &str) -> Result<Node> {
        let mut conn = self.pool.acquire().await?;
        let mut row = load(&mut conn, actor, actor.root_id).await?;
        for part in path.split('/').filter(|part| !part.is_empty()) {
            if row.kind != NodeKind::Folder {
                return Err(StoreError::NotFound);
            }
            let key = satchel_proto::NodeName::new(part)
                .map_err(|_| StoreError::NotFound)?
                .key();
            row = child_of(&mut conn, actor, row.id, &key)
                .await?
                .ok_or(StoreError::NotFound)?;
        }
        view(&mut conn, &mut PathCache::of_actor(actor), actor, &row).await
    }

    /// One page of a folder's children, by name.
    pub async fn children(
        &self,
        actor: &Actor,
        folder: NodeRef,
        include_deleted: bool,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<Node>> {
        let mut conn = self.pool.acquire().await?;
        let parent = load(&mut conn, actor, resolve(actor, folder)).await?;
        if parent.kind != NodeKind::Folder {
            return Err(StoreError::NotAFolder);
        }
        let (after_key, after_id) = match cursor {
            Some(text) => decode_page_key(text)?,
            None => (String::new(), Uuid::nil()),
        };
        let deleted = if include_deleted {
            ""
        } else {
            "AND deleted_at IS NULL"
        };
        let sql = packed(
            self.backend(),
            &format!(
                "SELECT {NODE_COLUMNS} FROM nodes WHERE parent_id = $1 {deleted} \
                 AND (name_key > $2 OR (name_key = $2 AND id > $3)) ORDER BY name_key, id LIMIT $4"
            ),
        );
        let packed_rows: String = sqlx::query_scalar(&sql)
            .bind(parent.id.to_string())
            .bind(&after_key)
            .bind(after_id.to_string())
            .bind(i64::from(limit) + 1)
            .fetch_one(&mut *conn)
            .await?;
        let folder_path = PathCache::of_actor(actor).of(&mut conn, &parent).await?;
        let mut nodes: Vec<Node> = unpack(&packed_rows)?
            .into_iter()
            .map(|row| {
                let path = join(&folder_path, &row.name);
                row.to_node(path)
            })
            .collect();
        if parent.id == actor.root_id {
            // The folders shared with the actor sit in their root, among their own.
            for (space, mount) in actor.mounts() {
                let key = satchel_proto::name_key(&mount.name);
                if (key.as_str(), space.root_id) <= (after_key.as_str(), after_id) {
                    continue;
                }
                let root = load(&mut conn, actor, space.root_id).await?;
                if root.is_live() || include_deleted {
                    nodes.push(actor.present(root.to_node(String::new())));
                }
            }
            nodes.sort_by_cached_key(|n| (satchel_proto::name_key(&n.name), n.id));
        }
        Ok(page_of(nodes, limit, |n| satchel_proto::name_key(&n.name)))
    }

    /// Nodes the actor put in the trash (each trashed folder once, not its contents), newest first.
    pub async fn trash(
        &self,
        actor: &Actor,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<Node>> {
        let mut conn = self.pool.acquire().await?;
        let (before_at, before_id) = match cursor {
            Some(text) => {
                let (at, id) = decode_page_key(text)?;
                (
                    at.parse::<i64>().map_err(|_| StoreError::BadCursor)?,
                    id.to_string(),
                )
            }
            None => (i64::MAX, String::new()),
        };
        let (spaces, ns_ids) = actor.ns_list(4);
        let sql = packed(
            self.backend(),
            &format!(
                "SELECT {NODE_COLUMNS} FROM nodes WHERE ns_id IN ({spaces}) AND trash_root = id \
                 AND (deleted_at < $1 OR (deleted_at = $1 AND id < $2)) \
                 ORDER BY deleted_at DESC, id DESC LIMIT $3"
            ),
        );
        let mut query = sqlx::query_scalar(&sql)
            .bind(before_at)
            .bind(if cursor.is_some() {
                before_id
            } else {
                "~".to_owned()
            })
            .bind(i64::from(limit) + 1);
        for ns in ns_ids {
            query = query.bind(ns);
        }
        let packed_rows: String = query.fetch_one(&mut *conn).await?;
        let nodes = with_paths(&mut conn, actor, unpack(&packed_rows)?).await?;
        Ok(page_of(nodes, limit, |n| {
            n.deleted_at.map_or(0, micros).to_string()
        }))
    }

    /// Live nodes whose name contains the term, case-insensitively, with the optional filters.
    pub async fn search(
        &self,
        actor: &Actor,
        query: &SearchQuery,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<Node>> {
        let mut conn = self.pool.acquire().await?;
        let (after_key, after_id) = match cursor {
            Some(text) => decode_page_key(text)?,
            None => (String::new(), Uuid::nil()),
        };
        let (spaces, ns_ids) = actor.ns_list(11);
        let pattern = format!("%{}%", escape_like(&satchel_proto::name_key(&query.term)));
        let (mime_exact, mime_prefix) = match query.mime.as_deref() {
            Some(m) if m.ends_with('/') || m.ends_with("/*") => (
                None,
                Some(format!("{}%", escape_like(m.trim_end_matches('*')))),
            ),
            Some(m) => (Some(m.to_owned()), None),
            None => (None, None),
        };
        let sql = packed(
            self.backend(),
            &format!(
                "SELECT {NODE_COLUMNS} FROM nodes WHERE ns_id IN ({spaces}) AND deleted_at IS NULL \
             AND parent_id IS NOT NULL AND name_key LIKE $1 ESCAPE '\\' \
             AND ($2 IS NULL OR kind = $2) AND ($3 IS NULL OR mime = $3) \
             AND ($4 IS NULL OR mime LIKE $4 ESCAPE '\\') AND ($5 IS NULL OR modified_at > $5) \
             AND ($6 IS NULL OR size >= $6) AND ($7 IS NULL OR size <= $7) \
             AND (name_key > $8 OR (name_key = $8 AND id > $9)) \
             ORDER BY name_key, id LIMIT $10"
            ),
        );
        let mut query = sqlx::query_scalar(&sql)
            .bind(pattern)
            .bind(query.kind.map(|k| k.as_str().to_owned()))
            .bind(mime_exact)
            .bind(mime_prefix)
            .bind(query.modified_after.map(micros))
            .bind(query.min_size.map(to_i64))
            .bind(query.max_size.map(to_i64))
            .bind(&after_key)
            .bind(after_id.to_string())
            .bind(i64::from(limit) + 1);
        for ns in ns_ids {
            query = query.bind(ns);
        }
        let packed_rows: String = query.fetch_one(&mut *conn).await?;
        let nodes = with_paths(&mut conn, actor, unpack(&packed_rows)?).await?;
        Ok(page_of(nodes, limit, |n| satchel_proto::name_key(&n.name)))
    }
}

/// Escapes `%`, `_` and `\` so a search term matches literally inside `LIKE`.
fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl Store {
    /// The live child of `folder` named `name` (case-insensitively), if any.
    pub async fn child_named(
        &self,
        actor: &Actor,
        folder: NodeRef,
        name: &satchel_proto::NodeName,
    ) -> Result<Option<Node>> {
        let mut conn = self.pool.acquire().await?;
        let parent = load(&mut conn, actor, resolve(actor, folder)).await?;
        let Some(row) = child_of(&mut conn, actor, parent.id, &name.key()).await? else {
            return Ok(None);
        };
        Ok(Some(
            view(&mut conn, &mut PathCache::of_actor(actor), actor, &row).await?,
        ))
    }
}

impl Store {
    /// The quota and usage of whoever owns `node` (a folder shared with the actor uses its owner's
    /// quota), or `None` when that account has no quota.
    pub async fn quota_for(&self, actor: &Actor, node: NodeRef) -> Result<Option<(u64, u64)>> {
        let owner = match node {
            NodeRef::Root => actor.user_id,
            NodeRef::Id(id) => {
                let mut conn = self.pool.acquire().await?;
                load(&mut conn, actor, id).await?.owner_id
            }
        };
        if owner == actor.user_id && actor.quota_bytes.is_none() {
            return Ok(None);
        }
        // Usage read now, not as the actor was loaded (it may come from a cache).
        let row = sqlx::query("SELECT quota_bytes, used_bytes FROM users WHERE id = $1")
            .bind(owner.to_string())
            .fetch_one(&self.pool)
            .await?;
        let used = to_u64(row.try_get("used_bytes")?);
        Ok(row
            .try_get::<Option<i64>, _>("quota_bytes")?
            .map(|quota| (to_u64(quota), used)))
    }
}
