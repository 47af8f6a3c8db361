//! Folders shared between accounts: creating a share (which gives the folder a namespace of its
//! own), the members' mounts of it, and ending a share.

use chrono::{DateTime, Utc};
use satchel_proto::{ChangeOp, Node, NodeName, NodeRef, OnConflict};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::accounts::parse_uuid;
use crate::cursor::{decode_page_key, encode_page_key};
use crate::db::{from_micros, micros};
use crate::journal::{append, append_at, next_seq};
use crate::nodes::{load, resolve};
use crate::rows::{NODE_COLUMNS, NodeRow};
use crate::spaces::{Access, Space, readers};
use crate::tree::{RootOf, claim_name, holds_namespace, lock, rehome};
use crate::{Actor, Result, Store, StoreError};

/// Which shares to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareDirection {
    /// Folders shared with the actor.
    Incoming,
    /// Folders the actor shared.
    Outgoing,
}

/// One member's share of a folder.
#[derive(Debug, Clone)]
pub struct ShareRecord {
    pub id: Uuid,
    pub node_id: Uuid,
    pub owner_email: String,
    pub member_email: String,
    pub access: Access,
    pub mount_name: String,
    pub created_at: DateTime<Utc>,
}

const SHARE_SELECT: &str = "SELECT s.id, n.root_id, o.email AS owner_email, m.email AS member_email, \
     s.permission, s.mount_name, s.created_at FROM shares s \
     JOIN namespaces n ON n.id = s.ns_id JOIN users o ON o.id = s.owner_id JOIN users m ON m.id = s.member_id";

fn share_from_row(row: &AnyRow) -> Result<ShareRecord> {
    Ok(ShareRecord {
        id: parse_uuid(&row.try_get::<String, _>("id")?)?,
        node_id: parse_uuid(&row.try_get::<String, _>("root_id")?)?,
        owner_email: row.try_get("owner_email")?,
        member_email: row.try_get("member_email")?,
        access: Access::parse(&row.try_get::<String, _>("permission")?)?,
        mount_name: row.try_get("mount_name")?,
        created_at: from_micros(row.try_get("created_at")?),
    })
}

fn access_text(access: Access) -> Result<&'static str> {
    match access {
        Access::Edit => Ok("edit"),
        Access::View => Ok("view"),
        Access::Owner => Err(StoreError::Corrupt("a share is view or edit".into())),
    }
}

async fn share_by_id(conn: &mut AnyConnection, id: Uuid) -> Result<ShareRecord> {
    let row = sqlx::query(&format!("{SHARE_SELECT} WHERE s.id = $1"))
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?
        .ok_or(StoreError::NotFound)?;
    share_from_row(&row)
}

/// The top of a namespace as a member sees it: under their name for it, in their root.
pub(crate) fn mount_node(row: &NodeRow, name: &str, member_root: Uuid) -> Node {
    let mut node = row.to_node(format!("/{name}"));
    node.name = name.to_owned();
    node.parent_id = Some(member_root);
    node
}

pub(crate) async fn node_row(conn: &mut AnyConnection, id: Uuid) -> Result<NodeRow> {
    let row = sqlx::query(&format!("SELECT {NODE_COLUMNS} FROM nodes WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?
        .ok_or(StoreError::NotFound)?;
    NodeRow::from_row(&row)
}

/// Ends one member's share: the mount leaves their tree (journaled in their namespace as an
/// `unshared` delete, so their clients keep what they hold). Returns the namespace to notify.
pub(crate) async fn leave_mount(conn: &mut AnyConnection, share: Uuid) -> Result<Vec<Uuid>> {
    let row = sqlx::query(
        "SELECT s.mount_name, u.ns_id AS member_ns, u.root_id AS member_root, n.root_id \
         FROM shares s JOIN users u ON u.id = s.member_id JOIN namespaces n ON n.id = s.ns_id \
         WHERE s.id = $1",
    )
    .bind(share.to_string())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    let member_ns = parse_uuid(&row.try_get::<String, _>("member_ns")?)?;
    let member_root = parse_uuid(&row.try_get::<String, _>("member_root")?)?;
    let root = parse_uuid(&row.try_get::<String, _>("root_id")?)?;
    let name: String = row.try_get("mount_name")?;
    let seq = next_seq(conn, member_ns).await?;
    let mut top = node_row(conn, root).await?;
    top.rev = seq;
    sqlx::query("DELETE FROM shares WHERE id = $1")
        .bind(share.to_string())
        .execute(&mut *conn)
        .await?;
    let node = mount_node(&top, &name, member_root);
    append(conn, member_ns, seq, ChangeOp::Delete, &node, true).await?;
    Ok(vec![member_ns])
}

/// Forgets a namespace whose nodes are gone (purged): every member's mount ends, and its journal
/// goes. Returns the namespaces to notify.
pub(crate) async fn drop_namespace(conn: &mut AnyConnection, ns: Uuid) -> Result<Vec<Uuid>> {
    let shares: Vec<String> = sqlx::query_scalar("SELECT id FROM shares WHERE ns_id = $1")
        .bind(ns.to_string())
        .fetch_all(&mut *conn)
        .await?;
    let mut notify = Vec::new();
    for share in shares {
        notify.extend(leave_mount(conn, parse_uuid(&share)?).await?);
    }
    for sql in [
        "DELETE FROM journal WHERE ns_id = $1",
        "DELETE FROM namespaces WHERE id = $1",
    ] {
        sqlx::query(sql)
            .bind(ns.to_string())
            .execute(&mut *conn)
            .await?;
    }
    Ok(notify)
}

/// A member renames their mount (only their view changes) — it cannot move out of their root.
pub(crate) async fn rename_mount(
    conn: &mut AnyConnection,
    actor: &Actor,
    id: Uuid,
    name: Option<NodeName>,
    parent: Option<Uuid>,
    base_rev: Option<&str>,
    on_conflict: OnConflict,
) -> Result<(Node, bool)> {
    let Some((_, mount)) = actor.mount_at(id) else {
        return Err(StoreError::NotFound);
    };
    if parent.is_some_and(|parent| parent != actor.root_id) {
        return Err(StoreError::MountFixed);
    }
    let seq = next_seq(conn, actor.ns_id).await?;
    let row = load(conn, actor, id).await?;
    row.check_rev(base_rev)?;
    let name = match name {
        Some(name) if name.as_str() != mount.name => name,
        // The mount's own name: nothing changes, nothing is journaled.
        _ => return Ok((mount_node(&row, &mount.name, actor.root_id), false)),
    };
    let name = claim_name(
        conn,
        actor.into(),
        actor.root_id,
        name,
        on_conflict,
        Some(id),
    )
    .await?;
    sqlx::query("UPDATE shares SET mount_name = $2, mount_key = $3 WHERE id = $1")
        .bind(mount.share_id.to_string())
        .bind(name.as_str())
        .bind(name.key())
        .execute(&mut *conn)
        .await?;
    let node = mount_node(&row, name.as_str(), actor.root_id);
    append(conn, actor.ns_id, seq, ChangeOp::Upsert, &node, false).await?;
    Ok((node, true))
}

impl Store {
    /// Shares `node` with the account `email`. The first share of a folder gives it a namespace of
    /// its own (its subtree moves there); sharing it again with the same member changes their
    /// access. The member finds it in their root, under a free name.
    pub async fn create_share(
        &self,
        actor: &Actor,
        node: NodeRef,
        email: &str,
        access: Access,
    ) -> Result<ShareRecord> {
        let access_word = access_text(access)?;
        let mut w = self.write().await?;
        let conn = w.conn();
        let member = sqlx::query(
            "SELECT id, ns_id, root_id FROM users WHERE email_key = $1 AND disabled_at IS NULL",
        )
        .bind(crate::email_key(email))
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)?;
        let member_id = parse_uuid(&member.try_get::<String, _>("id")?)?;
        let member_ns = parse_uuid(&member.try_get::<String, _>("ns_id")?)?;
        let member_root = parse_uuid(&member.try_get::<String, _>("root_id")?)?;
        if member_id == actor.user_id {
            return Err(StoreError::InvalidShare(
                "you cannot share with yourself".into(),
            ));
        }
        let (row, space, _) = lock(conn, actor, resolve(actor, node)).await?;
        if row.is_root() {
            return Err(StoreError::RootImmutable);
        }
        if !row.is_live() {
            return Err(StoreError::Trashed);
        }
        if space.mount.is_some() {
            return Err(StoreError::InvalidShare(
                "only the owner of a shared folder can share it".into(),
            ));
        }
        let shared = if row.id == space.root_id {
            // Shared before: another member joins the same namespace.
            space
        } else if row.ns_id != actor.ns_id {
            return Err(StoreError::SharedNesting);
        } else {
            if holds_namespace(conn, row.id).await? {
                return Err(StoreError::SharedNesting);
            }
            let shared = Space {
                ns_id: Uuid::now_v7(),
                root_id: row.id,
                owner_id: actor.user_id,
                access: Access::Owner,
                mount: None,
            };
            // The new journal continues the owner's sequence, so revs keep growing.
            sqlx::query(
                "INSERT INTO namespaces (id, owner_id, root_id, last_seq, created_at) \
                 SELECT $1, $2, $3, last_seq, $4 FROM namespaces WHERE id = $5",
            )
            .bind(shared.ns_id.to_string())
            .bind(actor.user_id.to_string())
            .bind(row.id.to_string())
            .bind(micros(Utc::now()))
            .bind(actor.ns_id.to_string())
            .execute(&mut *conn)
            .await?;
            rehome(conn, row.id, &space, &shared).await?;
            shared
        };
        let existing: Option<String> =
            sqlx::query_scalar("SELECT id FROM shares WHERE ns_id = $1 AND member_id = $2")
                .bind(shared.ns_id.to_string())
                .bind(member_id.to_string())
                .fetch_optional(&mut *conn)
                .await?;
        let id = match existing {
            Some(id) => {
                sqlx::query("UPDATE shares SET permission = $2 WHERE id = $1")
                    .bind(&id)
                    .bind(access_word)
                    .execute(&mut *conn)
                    .await?;
                parse_uuid(&id)?
            }
            None => {
                let seq = next_seq(conn, member_ns).await?;
                let root = RootOf {
                    user_id: member_id,
                    root_id: member_root,
                };
                let name = NodeName::new(row.name.clone())
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let name =
                    claim_name(conn, root, member_root, name, OnConflict::Rename, None).await?;
                let id = Uuid::now_v7();
                let now = micros(Utc::now());
                sqlx::query(
                    "INSERT INTO shares (id, ns_id, owner_id, member_id, permission, mount_name, \
                     mount_key, mount_seq, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(id.to_string())
                .bind(shared.ns_id.to_string())
                .bind(actor.user_id.to_string())
                .bind(member_id.to_string())
                .bind(access_word)
                .bind(name.as_str())
                .bind(name.key())
                .bind(seq)
                .bind(now)
                .execute(&mut *conn)
                .await?;
                let top = node_row(conn, row.id).await?;
                let node = mount_node(&top, name.as_str(), member_root);
                append_at(conn, member_ns, seq, ChangeOp::Upsert, &node, now).await?;
                id
            }
        };
        let mut notify = readers(conn, actor, &shared).await?;
        notify.push(member_ns);
        let share = share_by_id(conn, id).await?;
        w.commit().await?;
        self.reach_changed();
        self.announce_all(&notify);
        Ok(share)
    }

    /// One page of the actor's shares: folders shared with them, or folders they shared (one entry
    /// per member), oldest first; the cursor for the next page when there is one.
    pub async fn shares(
        &self,
        actor: &Actor,
        direction: ShareDirection,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<(Vec<ShareRecord>, Option<String>)> {
        let column = match direction {
            ShareDirection::Incoming => "member_id",
            ShareDirection::Outgoing => "owner_id",
        };
        let (after_at, after_id) = match cursor {
            Some(text) => {
                let (at, id) = decode_page_key(text)?;
                (at.parse::<i64>().map_err(|_| StoreError::BadCursor)?, id)
            }
            None => (i64::MIN, Uuid::nil()),
        };
        let rows = sqlx::query(&format!(
            "{SHARE_SELECT} WHERE s.{column} = $1 \
             AND (s.created_at > $2 OR (s.created_at = $2 AND s.id > $3)) \
             ORDER BY s.created_at, s.id LIMIT $4"
        ))
        .bind(actor.user_id.to_string())
        .bind(after_at)
        .bind(after_id.to_string())
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        let mut shares = rows
            .iter()
            .map(share_from_row)
            .collect::<Result<Vec<_>>>()?;
        let more = shares.len() > limit as usize;
        shares.truncate(limit as usize);
        let next = more
            .then(|| {
                shares
                    .last()
                    .map(|last| encode_page_key(&micros(last.created_at).to_string(), last.id))
            })
            .flatten();
        Ok((shares, next))
    }

    /// Changes a member's access (the owner only).
    pub async fn update_share(
        &self,
        actor: &Actor,
        id: Uuid,
        access: Access,
    ) -> Result<ShareRecord> {
        let mut w = self.write().await?;
        let conn = w.conn();
        let done = sqlx::query("UPDATE shares SET permission = $3 WHERE id = $1 AND owner_id = $2")
            .bind(id.to_string())
            .bind(actor.user_id.to_string())
            .bind(access_text(access)?)
            .execute(&mut *conn)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let share = share_by_id(conn, id).await?;
        w.commit().await?;
        self.reach_changed();
        Ok(share)
    }

    /// Ends a share: the owner revokes it, or the member leaves. The folder leaves the member's tree
    /// and every id inside it becomes unknown to them.
    pub async fn delete_share(&self, actor: &Actor, id: Uuid) -> Result<()> {
        let mut w = self.write().await?;
        let conn = w.conn();
        let found: Option<String> = sqlx::query_scalar(
            "SELECT id FROM shares WHERE id = $1 AND (owner_id = $2 OR member_id = $2)",
        )
        .bind(id.to_string())
        .bind(actor.user_id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
        if found.is_none() {
            return Err(StoreError::NotFound);
        }
        let notify = leave_mount(conn, id).await?;
        w.commit().await?;
        self.reach_changed();
        self.announce_all(&notify);
        Ok(())
    }
}
