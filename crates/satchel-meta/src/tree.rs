//! Changing the tree. Every operation here is one write transaction that takes the next sequence
//! number of the namespace it changes (after checking the actor may write there), makes its change,
//! journals it, and commits — or changes nothing. A move between namespaces (into or out of a shared
//! folder) journals a delete on one side and the whole subtree on the other.

use chrono::{DateTime, Utc};
use satchel_proto::{ChangeOp, ChunkSpec, Node, NodeKind, NodeName, NodeRef, OnConflict, Sha256};
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::accounts::{to_i64, to_u64};
use crate::db::micros;
use crate::journal::{append, append_at, next_seq};
use crate::new_file::write_new_file;
use crate::nodes::{child_of, live_child, load, resolve, view};
use crate::paths::PathCache;
use crate::rows::{NODE_COLUMNS, NODE_COLUMNS_N, NodeRow};
use crate::shares::{drop_namespace, leave_mount, rename_mount};
use crate::spaces::{Space, readers};
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

/// Whose root a name is claimed in: in a user's root, the folders shared with them take names too.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RootOf {
    pub user_id: Uuid,
    pub root_id: Uuid,
}

impl From<&Actor> for RootOf {
    fn from(actor: &Actor) -> Self {
        RootOf {
            user_id: actor.user_id,
            root_id: actor.root_id,
        }
    }
}

/// Whether `key` names a live node of `parent` or, in a user's root, one of their mounts (other
/// than `except`, which may keep its own name).
async fn name_taken(
    conn: &mut AnyConnection,
    root: RootOf,
    parent: Uuid,
    key: &str,
    except: Option<Uuid>,
) -> Result<bool> {
    if live_child(conn, parent, key)
        .await?
        .is_some_and(|row| Some(row.id) != except)
    {
        return Ok(true);
    }
    if parent != root.root_id {
        return Ok(false);
    }
    let mount: Option<String> = sqlx::query_scalar(
        "SELECT n.root_id FROM shares s JOIN namespaces n ON n.id = s.ns_id \
         WHERE s.member_id = $1 AND s.mount_key = $2",
    )
    .bind(root.user_id.to_string())
    .bind(key)
    .fetch_optional(conn)
    .await?;
    Ok(mount.is_some_and(|id| Some(id) != except.map(|e| e.to_string())))
}

/// A name that is free in `parent` (ignoring the node `except`, which may keep its own name).
pub(crate) async fn claim_name(
    conn: &mut AnyConnection,
    root: RootOf,
    parent: Uuid,
    name: NodeName,
    on_conflict: OnConflict,
    except: Option<Uuid>,
) -> Result<NodeName> {
    if !name_taken(conn, root, parent, &name.key(), except).await? {
        return Ok(name);
    }
    if on_conflict == OnConflict::Fail {
        return Err(StoreError::NameConflict(name.to_string()));
    }
    for n in 1..=MAX_RENAME_TRIES {
        let candidate = name.numbered(n);
        if !name_taken(conn, root, parent, &candidate.key(), except).await? {
            return Ok(candidate);
        }
    }
    Err(StoreError::NameConflict(name.to_string()))
}

/// Fails unless `row` is a live folder that can take children.
pub(crate) fn check_folder(row: &NodeRow) -> Result<()> {
    if row.kind != NodeKind::Folder {
        return Err(StoreError::NotAFolder);
    }
    if !row.is_live() {
        return Err(StoreError::Trashed);
    }
    Ok(())
}

/// Fails unless `row` can be the target of a change: live and not a root.
fn check_changeable(row: &NodeRow) -> Result<()> {
    if row.is_root() {
        return Err(StoreError::RootImmutable);
    }
    if !row.is_live() {
        return Err(StoreError::Trashed);
    }
    Ok(())
}

/// Loads the node `id` to change it: checks the actor may write its namespace, takes that
/// namespace's next sequence number (on PostgreSQL this orders the namespace's writers) and reads the
/// node again in that order. Returns the node, its space and the sequence number.
pub(crate) async fn lock(
    conn: &mut AnyConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<(NodeRow, Space, i64)> {
    let mut row = load(conn, actor, id).await?;
    // A concurrent move between namespaces can re-home the node while we wait; a few tries settle it.
    for _ in 0..4 {
        let space = actor.space(row.ns_id)?.writable()?.clone();
        let seq = next_seq(conn, space.ns_id).await?;
        row = load(conn, actor, id).await?;
        if row.ns_id == space.ns_id {
            return Ok((row, space, seq));
        }
    }
    Err(StoreError::NotFound)
}

/// Journals a change of the node `id` in `space`'s namespace and returns the node as the actor sees
/// it (the journal keeps paths relative to the namespace; see `journal.rs`).
pub(crate) async fn record(
    conn: &mut AnyConnection,
    actor: &Actor,
    space: &Space,
    seq: i64,
    op: ChangeOp,
    id: Uuid,
) -> Result<Node> {
    let row = load(conn, actor, id).await?;
    let seen = view(conn, &mut PathCache::of_actor(actor), actor, &row).await?;
    if space.ns_id == actor.ns_id {
        append(conn, space.ns_id, seq, op, &seen, false).await?;
    } else {
        let kept = PathCache::within(space.root_id).of(conn, &row).await?;
        append(conn, space.ns_id, seq, op, &row.to_node(kept), false).await?;
    }
    Ok(seen)
}

/// Adds `delta` bytes to the owner's usage, refusing growth past the quota.
pub(crate) async fn charge(conn: &mut AnyConnection, owner: Uuid, delta: i64) -> Result<()> {
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
pub(crate) async fn insert_node(
    conn: &mut AnyConnection,
    space: &Space,
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
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
         ON CONFLICT DO NOTHING",
    )
    .bind(id.to_string())
    .bind(space.ns_id.to_string())
    .bind(space.owner_id.to_string())
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
    // A name taken by a live sibling inserts nothing (and, on PostgreSQL, leaves the transaction
    // usable, so the caller can go another way).
    match inserted {
        Ok(done) if done.rows_affected() == 1 => Ok(id),
        Ok(_) => Err(StoreError::NameConflict(name.to_string())),
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
        let (parent, space, seq) = lock(conn, actor, resolve(actor, parent)).await?;
        check_folder(&parent)?;
        let name = claim_name(conn, actor.into(), parent.id, name, on_conflict, None).await?;
        let id = insert_node(conn, &space, parent.id, NodeKind::Folder, &name, seq, None).await?;
        let node = record(conn, actor, &space, seq, ChangeOp::Upsert, id).await?;
        let notify = readers(conn, actor, &space).await?;
        w.commit().await?;
        self.announce_all(&notify);
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
        let (node, created, notify) =
            write_content_in(w.conn(), actor, target, &content, base_rev).await?;
        w.commit().await?;
        self.announce_all(&notify);
        Ok((node, created))
    }

    /// Makes an old version the newest one again (as a new version number).
    pub async fn restore_version(&self, actor: &Actor, file: NodeRef, number: u64) -> Result<Node> {
        let mut w = self.write().await?;
        let conn = w.conn();
        let (row, space, seq) = lock(conn, actor, resolve(actor, file)).await?;
        check_changeable(&row)?;
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
        let node = record(conn, actor, &space, seq, ChangeOp::Upsert, row.id).await?;
        let notify = readers(conn, actor, &space).await?;
        w.commit().await?;
        self.announce_all(&notify);
        Ok(node)
    }

    /// Renames and/or moves a node. A member renaming a folder shared with them renames only
    /// their mount of it; a move into or out of a shared folder re-homes the subtree.
    pub async fn patch_node(
        &self,
        actor: &Actor,
        node: NodeRef,
        name: Option<NodeName>,
        parent: Option<NodeRef>,
        base_rev: Option<&str>,
        on_conflict: OnConflict,
    ) -> Result<Node> {
        let id = resolve(actor, node);
        let mut w = self.write().await?;
        let conn = w.conn();
        if actor.mount_at(id).is_some() {
            let parent = parent.map(|p| resolve(actor, p));
            let (node, changed) =
                rename_mount(conn, actor, id, name, parent, base_rev, on_conflict).await?;
            if !changed {
                return Ok(node);
            }
            w.commit().await?;
            self.announce_all(&[actor.ns_id]);
            return Ok(node);
        }
        let (row, space, seq) = lock(conn, actor, id).await?;
        check_changeable(&row)?;
        row.check_rev(base_rev)?;
        let target = match parent {
            Some(parent) => {
                let target = load(conn, actor, resolve(actor, parent)).await?;
                check_folder(&target)?;
                if row.kind == NodeKind::Folder && is_within(conn, target.id, row.id).await? {
                    return Err(StoreError::Cycle);
                }
                Some(target)
            }
            None => None,
        };
        let parent_id = match &target {
            Some(target) => target.id,
            None => row.parent_id.ok_or(StoreError::RootImmutable)?,
        };
        // Nothing to change (no fields, or the node's own name and folder): no new rev, no journal
        // entry; dropping the transaction undoes the sequence number `lock` took.
        if Some(parent_id) == row.parent_id
            && name.as_ref().is_none_or(|name| name.as_str() == row.name)
        {
            return view(conn, &mut PathCache::of_actor(actor), actor, &row).await;
        }
        // Where the node ends up: a shared folder's top stays in its owner's own tree; anything
        // else moves into the namespace of the folder it goes into.
        let mut destination = None;
        if let Some(target) = &target {
            if row.id == space.root_id {
                if target.ns_id != actor.ns_id {
                    return Err(StoreError::SharedNesting);
                }
            } else if target.ns_id != row.ns_id {
                if holds_namespace(conn, row.id).await? {
                    return Err(StoreError::SharedNesting);
                }
                destination = Some(actor.space(target.ns_id)?.writable()?.clone());
            }
        }
        let name = match name {
            Some(name) => name,
            None => {
                NodeName::new(row.name.clone()).map_err(|e| StoreError::Corrupt(e.to_string()))?
            }
        };
        let name = claim_name(
            conn,
            actor.into(),
            parent_id,
            name,
            on_conflict,
            Some(row.id),
        )
        .await?;
        let mut notify = readers(conn, actor, &space).await?;
        if destination.is_some() {
            // The old namespace sees the node go; the new one sees the whole subtree arrive.
            let mut gone = row.clone();
            gone.rev = seq;
            let kept = PathCache::within(space.root_id).of(conn, &row).await?;
            append(
                conn,
                space.ns_id,
                seq,
                ChangeOp::Delete,
                &gone.to_node(kept),
                false,
            )
            .await?;
        }
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
        let node = match &destination {
            Some(to) => {
                rehome(conn, row.id, &space, to).await?;
                notify.extend(readers(conn, actor, to).await?);
                let fresh = load(conn, actor, row.id).await?;
                view(conn, &mut PathCache::of_actor(actor), actor, &fresh).await?
            }
            None => record(conn, actor, &space, seq, ChangeOp::Upsert, row.id).await?,
        };
        w.commit().await?;
        self.announce_all(&notify);
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
        let (target, space, _) = lock(conn, actor, resolve(actor, parent)).await?;
        check_folder(&target)?;
        let source = load(conn, actor, resolve(actor, source)).await?;
        check_changeable(&source)?;
        if source.kind == NodeKind::Folder && is_within(conn, target.id, source.id).await? {
            return Err(StoreError::Cycle);
        }
        let name = match name {
            Some(name) => name,
            None => NodeName::new(source.name.clone())
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        };
        let name = claim_name(conn, actor.into(), target.id, name, on_conflict, None).await?;
        let top = copy_one(conn, actor, &space, &source, target.id, &name).await?;
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
                let copy = copy_one(conn, actor, &space, &row, to, &child_name).await?;
                if row.kind == NodeKind::Folder {
                    queue.push((row.id, copy));
                }
            }
        }
        let row = load(conn, actor, top).await?;
        let node = view(conn, &mut PathCache::of_actor(actor), actor, &row).await?;
        let notify = readers(conn, actor, &space).await?;
        w.commit().await?;
        self.announce_all(&notify);
        Ok(node)
    }

    /// Moves a node (and everything under it) to the trash. A member trashing a folder shared with
    /// them leaves the share instead: it leaves their tree and nobody else's.
    pub async fn trash_node(
        &self,
        actor: &Actor,
        node: NodeRef,
        base_rev: Option<&str>,
    ) -> Result<()> {
        let id = resolve(actor, node);
        let mut w = self.write().await?;
        let conn = w.conn();
        if let Some((_, mount)) = actor.mount_at(id) {
            let notify = leave_mount(conn, mount.share_id).await?;
            w.commit().await?;
            self.reach_changed();
            self.announce_all(&notify);
            return Ok(());
        }
        let (row, space, seq) = lock(conn, actor, id).await?;
        check_changeable(&row)?;
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
        record(conn, actor, &space, seq, ChangeOp::Delete, row.id).await?;
        let mut notify = readers(conn, actor, &space).await?;
        // A shared folder inside went with it: its members see it go.
        for inner in nested_spaces(conn, actor, row.id, &space).await? {
            let seq = next_seq(conn, inner.ns_id).await?;
            sqlx::query("UPDATE nodes SET rev = $2 WHERE id = $1")
                .bind(inner.root_id.to_string())
                .bind(seq)
                .execute(&mut *conn)
                .await?;
            record(conn, actor, &inner, seq, ChangeOp::Delete, inner.root_id).await?;
            notify.extend(readers(conn, actor, &inner).await?);
        }
        w.commit().await?;
        self.announce_all(&notify);
        Ok(())
    }

    /// Brings a trashed node (and what was trashed with it) back to its folder, renamed on a clash.
    /// When its folder is gone or still in the trash, it comes back into the top of its namespace
    /// (the root, or the shared folder it was in).
    pub async fn restore_node(&self, actor: &Actor, node: NodeRef) -> Result<Node> {
        let id = resolve(actor, node);
        let mut w = self.write().await?;
        let conn = w.conn();
        if actor.mount_at(id).is_some() {
            // Only the owner can bring back a shared folder they trashed.
            return Err(StoreError::ReadOnly);
        }
        let (row, space, _) = lock(conn, actor, id).await?;
        let Some(trash_root) = row.trash_root.filter(|_| !row.is_live()) else {
            return Err(StoreError::NotTrashed);
        };
        let parent = match row.parent_id {
            Some(parent) => match load(conn, actor, parent).await {
                Ok(folder) if folder.is_live() => folder.id,
                Ok(_) | Err(StoreError::NotFound) => {
                    restore_fallback(conn, actor, &row, &space).await?
                }
                Err(error) => return Err(error),
            },
            None => return Err(StoreError::RootImmutable),
        };
        let name =
            NodeName::new(row.name.clone()).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let name = claim_name(conn, actor.into(), parent, name, OnConflict::Rename, None).await?;
        // Out of a shared folder that is itself in the trash, into its owner's root: the node
        // leaves the shared namespace (nothing under it is live yet, so nothing is journaled here).
        if parent == actor.root_id && row.id != space.root_id && space.ns_id != actor.ns_id {
            let own = actor.space(actor.ns_id)?.clone();
            rehome(conn, row.id, &space, &own).await?;
        }
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
        let mut homes = Vec::new();
        for restored in restored.iter().map(NodeRow::from_row) {
            let restored = restored?;
            // A shared folder that went with it comes back in its own namespace.
            let home = actor.space(restored.ns_id)?.clone();
            if restored.id != row.id {
                reclaim_name(conn, actor, &restored).await?;
            }
            let seq = next_seq(conn, home.ns_id).await?;
            sqlx::query(
                "UPDATE nodes SET deleted_at = NULL, trash_root = NULL, rev = $2 WHERE id = $1",
            )
            .bind(restored.id.to_string())
            .bind(seq)
            .execute(&mut *conn)
            .await?;
            record(conn, actor, &home, seq, ChangeOp::Upsert, restored.id).await?;
            if !homes.contains(&home.ns_id) {
                homes.push(home.ns_id);
            }
        }
        let mut notify = Vec::new();
        for ns in homes {
            notify.extend(readers(conn, actor, actor.space(ns)?).await?);
        }
        let row = load(conn, actor, row.id).await?;
        let node = view(conn, &mut PathCache::of_actor(actor), actor, &row).await?;
        w.commit().await?;
        self.announce_all(&notify);
        Ok(node)
    }

    /// Deletes a trashed node and everything under it for good. Its chunks become garbage once no
    /// other version references them. A shared folder deleted this way is unshared.
    pub async fn purge_node(&self, actor: &Actor, node: NodeRef) -> Result<()> {
        let id = resolve(actor, node);
        let mut w = self.write().await?;
        let conn = w.conn();
        if actor.mount_at(id).is_some() {
            return Err(StoreError::ReadOnly);
        }
        let (row, space, seq) = lock(conn, actor, id).await?;
        if row.is_live() {
            return Err(StoreError::NotTrashed);
        }
        const SUBTREE: &str = "WITH RECURSIVE sub(id) AS ( SELECT id FROM nodes WHERE id = $1 \
             UNION ALL SELECT n.id FROM nodes n JOIN sub ON n.parent_id = sub.id )";
        let inner: Vec<String> = sqlx::query_scalar(&format!(
            "{SUBTREE} SELECT id FROM namespaces WHERE root_id IN (SELECT id FROM sub)"
        ))
        .bind(row.id.to_string())
        .fetch_all(&mut *conn)
        .await?;
        // Shared folders inside end their shares first (the members' journals name them).
        let mut notify = readers(conn, actor, &space).await?;
        for ns in &inner {
            notify.extend(drop_namespace(conn, crate::accounts::parse_uuid(ns)?).await?);
        }
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
        let kept = PathCache::within(space.root_id).of(conn, &row).await?;
        sqlx::query(&format!(
            "{SUBTREE} DELETE FROM nodes WHERE id IN (SELECT id FROM sub)"
        ))
        .bind(row.id.to_string())
        .execute(&mut *conn)
        .await?;
        charge(conn, row.owner_id, -freed).await?;
        let mut gone = row.to_node(kept);
        gone.rev = crate::rows::rev_text(seq);
        if row.id != space.root_id {
            append(conn, space.ns_id, seq, ChangeOp::Delete, &gone, false).await?;
        }
        w.commit().await?;
        if !inner.is_empty() {
            self.reach_changed();
        }
        self.announce_all(&notify);
        Ok(())
    }
}

/// Where a trashed node whose folder is gone (or still in the trash) comes back: the top of its
/// namespace — the actor's root for a shared folder itself — unless that top is in the trash too,
/// in which case its owner gets the node back in their own root (a member cannot reach it then).
async fn restore_fallback(
    conn: &mut AnyConnection,
    actor: &Actor,
    row: &NodeRow,
    space: &Space,
) -> Result<Uuid> {
    if row.id == space.root_id {
        return Ok(actor.root_id);
    }
    if space.ns_id == actor.ns_id {
        return Ok(space.root_id);
    }
    let top = load(conn, actor, space.root_id).await?;
    if top.is_live() {
        return Ok(top.id);
    }
    if space.owner_id != actor.user_id {
        return Err(StoreError::NotFound);
    }
    Ok(actor.root_id)
}

/// Makes sure a node coming back from the trash with its folder does not clash with a live
/// sibling that took its name meanwhile (renamed `name (1).ext` if so): a restore never breaks
/// the uniqueness of names, whatever happened in the folder while it was away.
async fn reclaim_name(conn: &mut AnyConnection, actor: &Actor, row: &NodeRow) -> Result<()> {
    let Some(parent) = row.parent_id else {
        return Ok(());
    };
    let name = NodeName::new(row.name.clone()).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let free = claim_name(
        conn,
        actor.into(),
        parent,
        name.clone(),
        OnConflict::Rename,
        None,
    )
    .await?;
    if free != name {
        sqlx::query("UPDATE nodes SET name = $2, name_key = $3 WHERE id = $1")
            .bind(row.id.to_string())
            .bind(free.as_str())
            .bind(free.key())
            .execute(conn)
            .await?;
    }
    Ok(())
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

/// The subtree of `top`, trashed nodes included, as a `WITH` clause naming `sub(id, depth)`.
const SUBTREE_OF: &str = "WITH RECURSIVE sub(id, depth) AS ( SELECT id, 0 FROM nodes WHERE id = $1 \
     UNION ALL SELECT n.id, sub.depth + 1 FROM nodes n JOIN sub ON n.parent_id = sub.id )";

/// Whether the subtree of `top` holds the top of a namespace (a shared folder, or `top` itself).
pub(crate) async fn holds_namespace(conn: &mut AnyConnection, top: Uuid) -> Result<bool> {
    let found: Option<String> = sqlx::query_scalar(&format!(
        "{SUBTREE_OF} SELECT id FROM namespaces WHERE root_id IN (SELECT id FROM sub) LIMIT 1"
    ))
    .bind(top.to_string())
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some())
}

/// The actor's spaces whose top lies strictly inside the subtree of `top` (in `space`).
async fn nested_spaces(
    conn: &mut AnyConnection,
    actor: &Actor,
    top: Uuid,
    space: &Space,
) -> Result<Vec<Space>> {
    let roots: Vec<String> = sqlx::query_scalar(&format!(
        "{SUBTREE_OF} SELECT id FROM sub WHERE id IN (SELECT root_id FROM namespaces)"
    ))
    .bind(top.to_string())
    .fetch_all(conn)
    .await?;
    Ok(actor
        .spaces
        .iter()
        .filter(|inner| inner.ns_id != space.ns_id)
        .filter(|inner| roots.contains(&inner.root_id.to_string()))
        .cloned()
        .collect())
}

/// Moves the subtree of `top` (trashed nodes included) into `to`'s namespace, its bytes onto the
/// quota of `to`'s owner, and journals every live node of it there, parents first, under new revs.
pub(crate) async fn rehome(
    conn: &mut AnyConnection,
    top: Uuid,
    from: &Space,
    to: &Space,
) -> Result<()> {
    if from.owner_id != to.owner_id {
        let bytes: i64 = sqlx::query_scalar(&format!(
            "{SUBTREE_OF} SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM nodes WHERE id IN (SELECT id FROM sub)"
        ))
        .bind(top.to_string())
        .fetch_one(&mut *conn)
        .await?;
        charge(conn, to.owner_id, bytes).await?;
        charge(conn, from.owner_id, -bytes).await?;
    }
    sqlx::query(&format!(
        "{SUBTREE_OF} UPDATE nodes SET ns_id = $2, owner_id = $3 WHERE id IN (SELECT id FROM sub)"
    ))
    .bind(top.to_string())
    .bind(to.ns_id.to_string())
    .bind(to.owner_id.to_string())
    .execute(&mut *conn)
    .await?;
    // A rev only ever grows: the namespace's sequence continues past the highest rev moving in.
    sqlx::query(&format!(
        "{SUBTREE_OF} UPDATE namespaces SET last_seq = \
           (SELECT CASE WHEN MAX(n.rev) > namespaces.last_seq THEN MAX(n.rev) ELSE namespaces.last_seq END \
            FROM nodes n WHERE n.id IN (SELECT id FROM sub)) \
         WHERE id = $2"
    ))
    .bind(top.to_string())
    .bind(to.ns_id.to_string())
    .execute(&mut *conn)
    .await?;
    let rows = sqlx::query(&format!(
        "{SUBTREE_OF} SELECT {NODE_COLUMNS_N} FROM nodes n JOIN sub ON sub.id = n.id \
         WHERE n.deleted_at IS NULL ORDER BY sub.depth, n.name_key"
    ))
    .bind(top.to_string())
    .fetch_all(&mut *conn)
    .await?;
    // Strictly after the delete the old namespace journaled, so readers of both apply it first.
    let at = micros(Utc::now()) + 1;
    let mut paths = PathCache::within(to.root_id);
    for row in rows.iter().map(NodeRow::from_row) {
        let mut row = row?;
        let seq = next_seq(conn, to.ns_id).await?;
        sqlx::query("UPDATE nodes SET rev = $2 WHERE id = $1")
            .bind(row.id.to_string())
            .bind(seq)
            .execute(&mut *conn)
            .await?;
        row.rev = seq;
        let path = paths.of(conn, &row).await?;
        append_at(
            conn,
            to.ns_id,
            seq,
            ChangeOp::Upsert,
            &row.to_node(path),
            at,
        )
        .await?;
    }
    Ok(())
}

/// Copies one node (a file with its current content, or an empty folder) into `parent` and journals it.
async fn copy_one(
    conn: &mut AnyConnection,
    actor: &Actor,
    space: &Space,
    source: &NodeRow,
    parent: Uuid,
    name: &NodeName,
) -> Result<Uuid> {
    let seq = next_seq(conn, space.ns_id).await?;
    let id = match (source.kind, source.version) {
        (NodeKind::File, Some(version)) => {
            let size = source.size.unwrap_or(0);
            charge(conn, space.owner_id, size).await?;
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
                space,
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
        _ => insert_node(conn, space, parent, NodeKind::Folder, name, seq, None).await?,
    };
    record(conn, actor, space, seq, ChangeOp::Upsert, id).await?;
    Ok(id)
}

/// The body of [`Store::write_content`], inside a transaction the caller owns (chunked uploads
/// commit their session in the same transaction). Returns the node, whether it was created, and
/// the namespaces to notify after the commit.
pub(crate) async fn write_content_in(
    conn: &mut AnyConnection,
    actor: &Actor,
    target: ContentTarget,
    content: &NewContent,
    base_rev: Option<&str>,
) -> Result<(Node, bool, Vec<Uuid>)> {
    let (existing, space, seq) = match target {
        ContentTarget::Existing(id) => {
            let (row, space, seq) = lock(conn, actor, id).await?;
            check_changeable(&row)?;
            (Err(row), space, seq)
        }
        ContentTarget::Named { parent, name, mode } => {
            if base_rev.is_none()
                && let Some(written) =
                    write_new_file(conn, actor, resolve(actor, parent), &name, content).await?
            {
                return Ok(written);
            }
            let (parent, space, seq) = lock(conn, actor, resolve(actor, parent)).await?;
            check_folder(&parent)?;
            let existing = match child_of(conn, actor, parent.id, &name.key()).await? {
                Some(row) if mode == WriteMode::Version && row.kind == NodeKind::File => {
                    if row.ns_id != space.ns_id {
                        // A file shared on its own is the top of a namespace of its own: its new
                        // version is a change there, checked and journaled as such.
                        let (row, shared, seq) = lock(conn, actor, row.id).await?;
                        check_changeable(&row)?;
                        return write_existing(conn, actor, &shared, seq, row, content, base_rev)
                            .await;
                    }
                    Err(row)
                }
                Some(_) if mode != WriteMode::Rename => {
                    return Err(StoreError::NameConflict(name.to_string()));
                }
                None => Ok((parent.id, name)),
                Some(_) => {
                    let name = claim_name(
                        conn,
                        actor.into(),
                        parent.id,
                        name,
                        OnConflict::Rename,
                        None,
                    )
                    .await?;
                    Ok((parent.id, name))
                }
            };
            (existing, space, seq)
        }
    };
    let (id, created) = match existing {
        Err(row) => return write_existing(conn, actor, &space, seq, row, content, base_rev).await,
        Ok((parent, name)) => {
            if let Some(expected) = base_rev {
                // A precondition on a file that does not exist cannot hold.
                let expected = expected.to_owned();
                return Err(StoreError::RevMismatch {
                    expected,
                    current: "none".to_owned(),
                });
            }
            charge(conn, space.owner_id, to_i64(content.size)).await?;
            let id = insert_node(
                conn,
                &space,
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
    let node = record(conn, actor, &space, seq, ChangeOp::Upsert, id).await?;
    let notify = readers(conn, actor, &space).await?;
    Ok((node, created, notify))
}

/// A new version of the existing file `row` (locked in `space` under `seq`).
async fn write_existing(
    conn: &mut AnyConnection,
    actor: &Actor,
    space: &Space,
    seq: i64,
    row: NodeRow,
    content: &NewContent,
    base_rev: Option<&str>,
) -> Result<(Node, bool, Vec<Uuid>)> {
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
    let node = record(conn, actor, space, seq, ChangeOp::Upsert, row.id).await?;
    let notify = readers(conn, actor, space).await?;
    Ok((node, false, notify))
}
