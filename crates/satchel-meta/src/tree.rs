//! Changing the tree. Every operation here is one write transaction that takes the namespace's next
//! sequence number first, makes its change, journals it, and commits — or changes nothing.

use chrono::{DateTime, Utc};
use satchel_proto::{ChangeOp, ChunkSpec, Node, NodeKind, NodeName, NodeRef, OnConflict, Sha256};
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::accounts::{to_i64, to_u64};
use crate::db::micros;
use crate::journal::{append, next_seq};
use crate::nodes::{live_child, load, resolve};
use crate::paths::PathCache;
use crate::rows::{NODE_COLUMNS, NODE_COLUMNS_N, NodeRow};
use crate::versions::{copy_version, insert_version, version_row};
use crate::{Actor, Result, Store, StoreError};

/// Where new content goes.
#[derive(Debug, Clone)]
pub enum ContentTarget {
    /// A name in a folder: a new file, or a new version of the file already there (see [`WriteMode`]).
    Named {
        parent: NodeRef,
        name: NodeName,
        mode: WriteMode,
    },
    /// A new version of an existing file.
    Existing(Uuid),
}

/// What a named write does when the name is taken.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WriteMode {
    /// Add a version to the file of that name (a folder of that name is a conflict).
    #[default]
    Version,
    /// Create a new file under a free name.
    Rename,
    /// Fail with `NameConflict`.
    Fail,
}

/// Content whose chunks the blob store already holds durably — or, for a small file, whose bytes
/// come along to be kept in the database with the version.
#[derive(Debug, Clone)]
pub struct NewContent {
    pub size: u64,
    pub sha256: Sha256,
    pub mime: Option<String>,
    pub chunks: Vec<ChunkSpec>,
    /// The bytes of the single chunk of a small file (at most [`crate::MAX_INLINE_CHUNK`]).
    pub inline: Option<Vec<u8>>,
    /// When the writer last changed the file (its local modification time); now when unknown.
    pub modified_at: Option<DateTime<Utc>>,
}

/// How many numbered names to try before giving up on `on_conflict: rename`.
const MAX_RENAME_TRIES: u32 = 10_000;

/// A name that is free in `parent` (ignoring the node `except`, which may keep its own name).
async fn claim_name(
    conn: &mut AnyConnection,
    parent: Uuid,
    name: NodeName,
    on_conflict: OnConflict,
    except: Option<Uuid>,
) -> Result<NodeName> {
    let taken = |row: Option<NodeRow>| row.is_some_and(|row| Some(row.id) != except);
    if !taken(live_child(conn, parent, &name.key()).await?) {
        return Ok(name);
    }
    if on_conflict == OnConflict::Fail {
        return Err(StoreError::NameConflict(name.to_string()));
    }
    for n in 1..=MAX_RENAME_TRIES {
        let candidate = name.numbered(n);
        if !taken(live_child(conn, parent, &candidate.key()).await?) {
            return Ok(candidate);
        }
    }
    Err(StoreError::NameConflict(name.to_string()))
}

/// The live folder `folder`, or why it cannot take children.
async fn live_folder(conn: &mut AnyConnection, actor: &Actor, folder: NodeRef) -> Result<NodeRow> {
    let row = load(conn, actor, resolve(actor, folder)).await?;
    if row.kind != NodeKind::Folder {
        return Err(StoreError::NotAFolder);
    }
    if !row.is_live() {
        return Err(StoreError::Trashed);
    }
    Ok(row)
}

/// Loads a node as the target of a change: visible, live and not the root.
async fn changeable(conn: &mut AnyConnection, actor: &Actor, id: Uuid) -> Result<NodeRow> {
    let row = load(conn, actor, id).await?;
    if row.is_root() {
        return Err(StoreError::RootImmutable);
    }
    if !row.is_live() {
        return Err(StoreError::Trashed);
    }
    Ok(row)
}

/// Reloads a node after a change and returns its wire form.
async fn reload(conn: &mut AnyConnection, actor: &Actor, id: Uuid) -> Result<Node> {
    let row = load(conn, actor, id).await?;
    let path = PathCache::default().of(conn, &row).await?;
    Ok(row.to_node(path))
}

/// Adds `delta` bytes to the owner's usage, refusing growth past the quota.
async fn charge(conn: &mut AnyConnection, owner: Uuid, delta: i64) -> Result<()> {
    if delta == 0 {
        return Ok(());
    }
    let done = sqlx::query(
        "UPDATE users SET used_bytes = used_bytes + $2 WHERE id = $1 \
         AND ($2 <= 0 OR quota_bytes IS NULL OR used_bytes + $2 <= quota_bytes)",
    )
    .bind(owner.to_string())
    .bind(delta)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 1 {
        return Ok(());
    }
    let row = sqlx::query("SELECT used_bytes, quota_bytes FROM users WHERE id = $1")
        .bind(owner.to_string())
        .fetch_one(conn)
        .await?;
    Err(StoreError::QuotaExceeded {
        used: to_u64(row.try_get("used_bytes")?),
        quota: row
            .try_get::<Option<i64>, _>("quota_bytes")?
            .map_or(u64::MAX, to_u64),
        needed: to_u64(delta),
    })
}

/// Inserts a new node row.
#[allow(
    clippy::too_many_arguments,
    reason = "one column each; a struct would only rename them"
)]
async fn insert_node(
    conn: &mut AnyConnection,
    actor: &Actor,
    parent: Uuid,
    kind: NodeKind,
    name: &NodeName,
    rev: i64,
    content: Option<(&NewContent, i64)>,
) -> Result<Uuid> {
    let id = Uuid::now_v7();
    let now = micros(Utc::now());
    let inserted = sqlx::query(
        "INSERT INTO nodes (id, ns_id, owner_id, parent_id, kind, name, name_key, rev, size, sha256, \
         mime, version, created_at, modified_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(id.to_string())
    .bind(actor.ns_id.to_string())
    .bind(actor.user_id.to_string())
    .bind(parent.to_string())
    .bind(kind.as_str())
    .bind(name.as_str())
    .bind(name.key())
    .bind(rev)
    .bind(content.map(|(c, _)| to_i64(c.size)))
    .bind(content.map(|(c, _)| c.sha256.to_hex()))
    .bind(content.and_then(|(c, _)| c.mime.clone()))
    .bind(content.map(|(_, version)| version))
    .bind(now)
    .bind(
        content
            .and_then(|(c, _)| c.modified_at)
            .map_or(now, micros),
    )
    .execute(conn)
    .await;
    match inserted {
        Ok(_) => Ok(id),
        Err(error) if StoreError::is_unique_violation(&error) => {
            Err(StoreError::NameConflict(name.to_string()))
        }
        Err(error) => Err(error.into()),
    }
}

impl Store {
    /// Creates a folder.
    pub async fn create_folder(
        &self,
        actor: &Actor,
        parent: NodeRef,
        name: NodeName,
        on_conflict: OnConflict,
    ) -> Result<Node> {
        let mut w = self.write().await?;
        let conn = w.conn();
        let seq = next_seq(conn, actor.ns_id).await?;
        let parent = live_folder(conn, actor, parent).await?;
        let name = claim_name(conn, parent.id, name, on_conflict, None).await?;
        let id = insert_node(conn, actor, parent.id, NodeKind::Folder, &name, seq, None).await?;
        let node = reload(conn, actor, id).await?;
        append(conn, actor.ns_id, seq, ChangeOp::Upsert, &node).await?;
        w.commit().await?;
        self.announce(actor.ns_id);
        Ok(node)
    }

    /// Makes `content` the newest version of a file (creating the file if needed). Returns the node
    /// and whether it was created.
    pub async fn write_content(
        &self,
        actor: &Actor,
        target: ContentTarget,
        content: NewContent,
        base_rev: Option<&str>,
    ) -> Result<(Node, bool)> {
        let mut w = self.write().await?;
        let written = write_content_in(w.conn(), actor, target, &content, base_rev).await?;
        w.commit().await?;
        self.announce(actor.ns_id);
        Ok(written)
    }

    /// Makes an old version the newest one again (as a new version number).
    pub async fn restore_version(&self, actor: &Actor, file: NodeRef, number: u64) -> Result<Node> {
        let mut w = self.write().await?;
        let conn = w.conn();
        let seq = next_seq(conn, actor.ns_id).await?;
        let row = changeable(conn, actor, resolve(actor, file)).await?;
        if row.kind != NodeKind::File {
            return Err(StoreError::NotAFile);
        }
        let number = i64::try_from(number).map_err(|_| StoreError::NotFound)?;
        let old = version_row(conn, row.id, number).await?;
        let version = row.version.unwrap_or(0) + 1;
        charge(conn, row.owner_id, to_i64(old.size) - row.size.unwrap_or(0)).await?;
        copy_version(
            conn,
            row.id,
            number,
            row.id,
            version,
            actor.device.as_deref(),
        )
        .await?;
        sqlx::query(
            "UPDATE nodes SET rev = $2, size = $3, sha256 = $4, version = $5, modified_at = $6 \
             WHERE id = $1",
        )
        .bind(row.id.to_string())
        .bind(seq)
        .bind(to_i64(old.size))
        .bind(old.sha256.to_hex())
        .bind(version)
        .bind(micros(Utc::now()))
        .execute(&mut *conn)
        .await?;
        let node = reload(conn, actor, row.id).await?;
        append(conn, actor.ns_id, seq, ChangeOp::Upsert, &node).await?;
        w.commit().await?;
        self.announce(actor.ns_id);
        Ok(node)
    }

    /// Renames and/or moves a node.
    pub async fn patch_node(
        &self,
        actor: &Actor,
        node: NodeRef,
        name: Option<NodeName>,
        parent: Option<NodeRef>,
        base_rev: Option<&str>,
        on_conflict: OnConflict,
    ) -> Result<Node> {
        let mut w = self.write().await?;
        let conn = w.conn();
        let seq = next_seq(conn, actor.ns_id).await?;
        let row = changeable(conn, actor, resolve(actor, node)).await?;
        row.check_rev(base_rev)?;
        let parent_id = match parent {
            Some(parent) => {
                let target = live_folder(conn, actor, parent).await?;
                if row.kind == NodeKind::Folder && is_within(conn, target.id, row.id).await? {
                    return Err(StoreError::Cycle);
                }
                target.id
            }
            None => row.parent_id.ok_or(StoreError::RootImmutable)?,
        };
        let name = match name {
            Some(name) => name,
            None => {
                NodeName::new(row.name.clone()).map_err(|e| StoreError::Corrupt(e.to_string()))?
            }
        };
        let name = claim_name(conn, parent_id, name, on_conflict, Some(row.id)).await?;
        let updated = sqlx::query(
            "UPDATE nodes SET parent_id = $2, name = $3, name_key = $4, rev = $5 WHERE id = $1",
        )
        .bind(row.id.to_string())
        .bind(parent_id.to_string())
        .bind(name.as_str())
        .bind(name.key())
        .bind(seq)
        .execute(&mut *conn)
        .await;
        if let Err(error) = updated {
            return Err(if StoreError::is_unique_violation(&error) {
                StoreError::NameConflict(name.to_string())
            } else {
                error.into()
            });
        }
        let node = reload(conn, actor, row.id).await?;
        append(conn, actor.ns_id, seq, ChangeOp::Upsert, &node).await?;
        w.commit().await?;
        self.announce(actor.ns_id);
        Ok(node)
    }

    /// Copies a file or a whole folder; content is shared, no bytes are copied.
    pub async fn copy_node(
        &self,
        actor: &Actor,
        source: NodeRef,
        parent: NodeRef,
        name: Option<NodeName>,
        on_conflict: OnConflict,
    ) -> Result<Node> {
        let mut w = self.write().await?;
        let conn = w.conn();
        let source = changeable(conn, actor, resolve(actor, source)).await?;
        let target = live_folder(conn, actor, parent).await?;
        if source.kind == NodeKind::Folder && is_within(conn, target.id, source.id).await? {
            return Err(StoreError::Cycle);
        }
        let name = match name {
            Some(name) => name,
            None => NodeName::new(source.name.clone())
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        };
        let name = claim_name(conn, target.id, name, on_conflict, None).await?;
        let top = copy_one(conn, actor, &source, target.id, &name).await?;
        // Each folder is created (and journaled) before its children.
        let mut queue = vec![(source.id, top)];
        while let Some((from, to)) = queue.pop() {
            let sql = format!(
                "SELECT {NODE_COLUMNS} FROM nodes WHERE parent_id = $1 AND deleted_at IS NULL ORDER BY name_key"
            );
            let rows = sqlx::query(&sql)
                .bind(from.to_string())
                .fetch_all(&mut *conn)
                .await?;
            for row in rows.iter().map(NodeRow::from_row) {
                let row = row?;
                let child_name = NodeName::new(row.name.clone())
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let copy = copy_one(conn, actor, &row, to, &child_name).await?;
                if row.kind == NodeKind::Folder {
                    queue.push((row.id, copy));
                }
            }
        }
        let node = reload(conn, actor, top).await?;
        w.commit().await?;
        self.announce(actor.ns_id);
        Ok(node)
    }

    /// Moves a node (and everything under it) to the trash.
    pub async fn trash_node(
        &self,
        actor: &Actor,
        node: NodeRef,
        base_rev: Option<&str>,
    ) -> Result<()> {
        let mut w = self.write().await?;
        let conn = w.conn();
        let seq = next_seq(conn, actor.ns_id).await?;
        let row = changeable(conn, actor, resolve(actor, node)).await?;
        row.check_rev(base_rev)?;
        sqlx::query(
            "WITH RECURSIVE sub(id) AS ( \
               SELECT id FROM nodes WHERE id = $1 \
               UNION ALL SELECT n.id FROM nodes n JOIN sub ON n.parent_id = sub.id WHERE n.deleted_at IS NULL \
             ) UPDATE nodes SET deleted_at = $2, trash_root = $1 WHERE id IN (SELECT id FROM sub)",
        )
        .bind(row.id.to_string())
        .bind(micros(Utc::now()))
        .execute(&mut *conn)
        .await?;
        sqlx::query("UPDATE nodes SET rev = $2 WHERE id = $1")
            .bind(row.id.to_string())
            .bind(seq)
            .execute(&mut *conn)
            .await?;
        let node = reload(conn, actor, row.id).await?;
        append(conn, actor.ns_id, seq, ChangeOp::Delete, &node).await?;
        w.commit().await?;
        self.announce(actor.ns_id);
        Ok(())
    }

    /// Brings a trashed node (and what was trashed with it) back to its folder, renamed on a clash.
    /// When its folder is gone or still in the trash, it comes back into the root.
    pub async fn restore_node(&self, actor: &Actor, node: NodeRef) -> Result<Node> {
        let mut w = self.write().await?;
        let conn = w.conn();
        let row = load(conn, actor, resolve(actor, node)).await?;
        let Some(trash_root) = row.trash_root.filter(|_| !row.is_live()) else {
            return Err(StoreError::NotTrashed);
        };
        let parent = match row.parent_id {
            Some(parent) => match load(conn, actor, parent).await {
                Ok(folder) if folder.is_live() => folder.id,
                Ok(_) | Err(StoreError::NotFound) => actor.root_id,
                Err(error) => return Err(error),
            },
            None => return Err(StoreError::RootImmutable),
        };
        let name =
            NodeName::new(row.name.clone()).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let name = claim_name(conn, parent, name, OnConflict::Rename, None).await?;
        sqlx::query("UPDATE nodes SET parent_id = $2, name = $3, name_key = $4 WHERE id = $1")
            .bind(row.id.to_string())
            .bind(parent.to_string())
            .bind(name.as_str())
            .bind(name.key())
            .execute(&mut *conn)
            .await?;
        let restored = sqlx::query(&format!(
            "WITH RECURSIVE sub(id, depth) AS ( \
               SELECT id, 0 FROM nodes WHERE id = $1 \
               UNION ALL SELECT n.id, sub.depth + 1 FROM nodes n JOIN sub ON n.parent_id = sub.id \
               WHERE n.trash_root = $2 \
             ) SELECT {NODE_COLUMNS_N} FROM nodes n JOIN sub ON sub.id = n.id ORDER BY sub.depth, n.name_key"
        ))
        .bind(row.id.to_string())
        .bind(trash_root.to_string())
        .fetch_all(&mut *conn)
        .await?;
        let mut paths = PathCache::default();
        for restored in restored.iter().map(NodeRow::from_row) {
            let restored = restored?;
            let seq = next_seq(conn, actor.ns_id).await?;
            sqlx::query(
                "UPDATE nodes SET deleted_at = NULL, trash_root = NULL, rev = $2 WHERE id = $1",
            )
            .bind(restored.id.to_string())
            .bind(seq)
            .execute(&mut *conn)
            .await?;
            let fresh = load(conn, actor, restored.id).await?;
            let path = paths.of(conn, &fresh).await?;
            append(
                conn,
                actor.ns_id,
                seq,
                ChangeOp::Upsert,
                &fresh.to_node(path),
            )
            .await?;
        }
        let node = reload(conn, actor, row.id).await?;
        w.commit().await?;
        self.announce(actor.ns_id);
        Ok(node)
    }

    /// Deletes a trashed node and everything under it for good. Its chunks become garbage once no
    /// other version references them.
    pub async fn purge_node(&self, actor: &Actor, node: NodeRef) -> Result<()> {
        let mut w = self.write().await?;
        let conn = w.conn();
        let seq = next_seq(conn, actor.ns_id).await?;
        let row = load(conn, actor, resolve(actor, node)).await?;
        if row.is_live() {
            return Err(StoreError::NotTrashed);
        }
        const SUBTREE: &str = "WITH RECURSIVE sub(id) AS ( SELECT id FROM nodes WHERE id = $1 \
             UNION ALL SELECT n.id FROM nodes n JOIN sub ON n.parent_id = sub.id )";
        let freed: i64 = sqlx::query_scalar(&format!(
            "{SUBTREE} SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM nodes WHERE id IN (SELECT id FROM sub)"
        ))
        .bind(row.id.to_string())
        .fetch_one(&mut *conn)
        .await?;
        for table in ["version_chunks", "versions"] {
            sqlx::query(&format!(
                "{SUBTREE} DELETE FROM {table} WHERE node_id IN (SELECT id FROM sub)"
            ))
            .bind(row.id.to_string())
            .execute(&mut *conn)
            .await?;
        }
        let path = PathCache::default().of(conn, &row).await?;
        sqlx::query(&format!(
            "{SUBTREE} DELETE FROM nodes WHERE id IN (SELECT id FROM sub)"
        ))
        .bind(row.id.to_string())
        .execute(&mut *conn)
        .await?;
        charge(conn, row.owner_id, -freed).await?;
        let mut gone = row.to_node(path);
        gone.rev = crate::rows::rev_text(seq);
        append(conn, actor.ns_id, seq, ChangeOp::Delete, &gone).await?;
        w.commit().await?;
        self.announce(actor.ns_id);
        Ok(())
    }
}

/// Whether `node` is `ancestor` or lies somewhere below it.
async fn is_within(conn: &mut AnyConnection, node: Uuid, ancestor: Uuid) -> Result<bool> {
    let found: Option<String> = sqlx::query_scalar(
        "WITH RECURSIVE anc(id, parent_id) AS ( \
           SELECT id, parent_id FROM nodes WHERE id = $1 \
           UNION ALL SELECT n.id, n.parent_id FROM nodes n JOIN anc a ON n.id = a.parent_id \
         ) SELECT id FROM anc WHERE id = $2",
    )
    .bind(node.to_string())
    .bind(ancestor.to_string())
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some())
}

/// Copies one node (a file with its current content, or an empty folder) into `parent` and journals it.
async fn copy_one(
    conn: &mut AnyConnection,
    actor: &Actor,
    source: &NodeRow,
    parent: Uuid,
    name: &NodeName,
) -> Result<Uuid> {
    let seq = next_seq(conn, actor.ns_id).await?;
    let id = match (source.kind, source.version) {
        (NodeKind::File, Some(version)) => {
            let size = source.size.unwrap_or(0);
            charge(conn, actor.user_id, size).await?;
            let content = NewContent {
                size: to_u64(size),
                sha256: source
                    .sha256
                    .as_deref()
                    .and_then(|h| h.parse().ok())
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!("file {} has no hash", source.id))
                    })?,
                mime: source.mime.clone(),
                chunks: Vec::new(),
                inline: None,
                modified_at: None,
            };
            let id = insert_node(
                conn,
                actor,
                parent,
                NodeKind::File,
                name,
                seq,
                Some((&content, 1)),
            )
            .await?;
            copy_version(conn, source.id, version, id, 1, actor.device.as_deref()).await?;
            id
        }
        _ => insert_node(conn, actor, parent, NodeKind::Folder, name, seq, None).await?,
    };
    let node = reload(conn, actor, id).await?;
    append(conn, actor.ns_id, seq, ChangeOp::Upsert, &node).await?;
    Ok(id)
}

/// The body of [`Store::write_content`], inside a transaction the caller owns (chunked uploads
/// commit their session in the same transaction).
pub(crate) async fn write_content_in(
    conn: &mut AnyConnection,
    actor: &Actor,
    target: ContentTarget,
    content: &NewContent,
    base_rev: Option<&str>,
) -> Result<(Node, bool)> {
    let seq = next_seq(conn, actor.ns_id).await?;
    let existing = match target {
        ContentTarget::Existing(id) => Err(changeable(conn, actor, id).await?),
        ContentTarget::Named { parent, name, mode } => {
            let parent = live_folder(conn, actor, parent).await?;
            match live_child(conn, parent.id, &name.key()).await? {
                Some(row) if mode == WriteMode::Version && row.kind == NodeKind::File => Err(row),
                Some(_) if mode != WriteMode::Rename => {
                    return Err(StoreError::NameConflict(name.to_string()));
                }
                None => Ok((parent.id, name)),
                Some(_) => {
                    let name = claim_name(conn, parent.id, name, OnConflict::Rename, None).await?;
                    Ok((parent.id, name))
                }
            }
        }
    };
    let (id, created) = match existing {
        Err(row) => {
            if row.kind != NodeKind::File {
                return Err(StoreError::NotAFile);
            }
            row.check_rev(base_rev)?;
            let version = row.version.unwrap_or(0) + 1;
            charge(
                conn,
                row.owner_id,
                to_i64(content.size) - row.size.unwrap_or(0),
            )
            .await?;
            sqlx::query(
                "UPDATE nodes SET rev = $2, size = $3, sha256 = $4, mime = $5, version = $6, \
                 modified_at = $7 WHERE id = $1",
            )
            .bind(row.id.to_string())
            .bind(seq)
            .bind(to_i64(content.size))
            .bind(content.sha256.to_hex())
            .bind(content.mime.clone())
            .bind(version)
            .bind(micros(content.modified_at.unwrap_or_else(Utc::now)))
            .execute(&mut *conn)
            .await?;
            insert_version(conn, row.id, version, content, actor.device.as_deref()).await?;
            (row.id, false)
        }
        Ok((parent, name)) => {
            if let Some(expected) = base_rev {
                // A precondition on a file that does not exist cannot hold.
                let expected = expected.to_owned();
                return Err(StoreError::RevMismatch {
                    expected,
                    current: "none".to_owned(),
                });
            }
            charge(conn, actor.user_id, to_i64(content.size)).await?;
            let id = insert_node(
                conn,
                actor,
                parent,
                NodeKind::File,
                &name,
                seq,
                Some((content, 1)),
            )
            .await?;
            insert_version(conn, id, 1, content, actor.device.as_deref()).await?;
            (id, true)
        }
    };
    let node = reload(conn, actor, id).await?;
    append(conn, actor.ns_id, seq, ChangeOp::Upsert, &node).await?;
    Ok((node, created))
}
