//! The namespaces an actor reaches: their own tree, the folders they shared out, and the folders
//! shared with them (each mounted under a name in their root).
//!
//! Every node lives in exactly one namespace. A user's tree is one; sharing a folder moves its
//! subtree into a namespace of its own, which the owner reaches through their tree (the shared
//! folder's parent is still theirs) and each member through a mount in their root. Node loads check
//! the node's namespace against the actor's spaces, writes also check the access, and what a member
//! sees of a mount (its name, its parent, its path) is made here, at presentation.

use satchel_proto::Node;
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::accounts::{parse_uuid, to_u64};
use crate::{Actor, Result, StoreError};

/// How an actor reaches a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Access {
    /// Their own tree, or a folder they shared out.
    Owner,
    /// A member who may change the folder.
    Edit,
    /// A member who may only read it.
    View,
}

impl Access {
    pub(crate) fn parse(text: &str) -> Result<Access> {
        match text {
            "owner" => Ok(Access::Owner),
            "edit" => Ok(Access::Edit),
            "view" => Ok(Access::View),
            other => Err(StoreError::Corrupt(format!("access {other:?}"))),
        }
    }
}

/// A member's mount of a shared folder.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Mount {
    pub share_id: Uuid,
    /// The folder's name in the member's root.
    pub name: String,
    /// The member's journal entry that announced the mount (see `shares.mount_seq`).
    pub seq: u64,
    /// When the mount was made, in microseconds: the shared journal's older entries are presented
    /// as if they happened then, after the announcement.
    pub at: i64,
}

/// One namespace the actor reaches.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Space {
    pub ns_id: Uuid,
    /// The namespace's top node: a user's root folder, or the shared folder.
    pub root_id: Uuid,
    /// Whose quota the namespace's content uses.
    pub owner_id: Uuid,
    pub access: Access,
    /// Set when the actor is a member.
    pub mount: Option<Mount>,
}

impl Space {
    /// Fails with `ReadOnly` unless the actor may change this namespace.
    pub(crate) fn writable(&self) -> Result<&Space> {
        match self.access {
            Access::View => Err(StoreError::ReadOnly),
            Access::Owner | Access::Edit => Ok(self),
        }
    }
}

/// The spaces of `user_id` with their user namespace first.
pub(crate) async fn load_spaces(
    conn: &mut AnyConnection,
    user_id: Uuid,
    own_ns: Uuid,
) -> Result<Vec<Space>> {
    let rows = sqlx::query(
        "SELECT id AS ns_id, root_id, owner_id, 'owner' AS access, NULL AS share_id, \
           NULL AS mount_name, CAST(0 AS BIGINT) AS mount_seq, CAST(0 AS BIGINT) AS mount_at \
         FROM namespaces WHERE owner_id = $1 \
         UNION ALL \
         SELECT s.ns_id, n.root_id, n.owner_id, s.permission, s.id, s.mount_name, s.mount_seq, \
           s.created_at \
         FROM shares s JOIN namespaces n ON n.id = s.ns_id WHERE s.member_id = $1",
    )
    .bind(user_id.to_string())
    .fetch_all(conn)
    .await?;
    let mut spaces = Vec::with_capacity(rows.len());
    for row in rows {
        let share: Option<String> = row.try_get("share_id")?;
        let mount = match share {
            Some(id) => Some(Mount {
                share_id: parse_uuid(&id)?,
                name: row.try_get("mount_name")?,
                seq: to_u64(row.try_get("mount_seq")?),
                at: row.try_get("mount_at")?,
            }),
            None => None,
        };
        spaces.push(Space {
            ns_id: parse_uuid(&row.try_get::<String, _>("ns_id")?)?,
            root_id: parse_uuid(&row.try_get::<String, _>("root_id")?)?,
            owner_id: parse_uuid(&row.try_get::<String, _>("owner_id")?)?,
            access: Access::parse(&row.try_get::<String, _>("access")?)?,
            mount,
        });
    }
    spaces.sort_by_key(|space| space.ns_id != own_ns);
    Ok(spaces)
}

/// The user namespaces to notify after a change in `space`: notifications go to each reader's
/// own namespace, which their sockets and long polls listen to.
pub(crate) async fn readers(
    conn: &mut AnyConnection,
    actor: &Actor,
    space: &Space,
) -> Result<Vec<Uuid>> {
    if space.ns_id == actor.ns_id {
        return Ok(vec![actor.ns_id]);
    }
    let rows: Vec<String> = sqlx::query_scalar(
        "SELECT u.ns_id FROM users u WHERE u.id = $2 \
         UNION SELECT u.ns_id FROM shares s JOIN users u ON u.id = s.member_id WHERE s.ns_id = $1",
    )
    .bind(space.ns_id.to_string())
    .bind(space.owner_id.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(|ns| parse_uuid(ns)).collect()
}

impl Actor {
    /// The actor's space for namespace `ns`, or `NotFound` (another user's data is invisible).
    pub(crate) fn space(&self, ns: Uuid) -> Result<&Space> {
        self.spaces
            .iter()
            .find(|space| space.ns_id == ns)
            .ok_or(StoreError::NotFound)
    }

    /// The member's space whose mount is the node `id`, if `id` is a mount root for this actor.
    pub(crate) fn mount_at(&self, id: Uuid) -> Option<(&Space, &Mount)> {
        self.spaces
            .iter()
            .find(|space| space.root_id == id)
            .and_then(|space| space.mount.as_ref().map(|mount| (space, mount)))
    }

    /// The member's mounts, as `(space, mount)`.
    pub(crate) fn mounts(&self) -> impl Iterator<Item = (&Space, &Mount)> {
        self.spaces
            .iter()
            .filter_map(|space| space.mount.as_ref().map(|mount| (space, mount)))
    }

    /// The node as this actor sees it: a mount root carries the member's name for it and sits in
    /// their root.
    pub(crate) fn present(&self, mut node: Node) -> Node {
        if let Some((_, mount)) = self.mount_at(node.id) {
            node.name = mount.name.clone();
            node.parent_id = Some(self.root_id);
            node.path = format!("/{}", mount.name);
        }
        node
    }

    /// The namespaces the actor reaches, as SQL placeholders from `$first` on, with their values:
    /// for `ns_id IN (…)` filters.
    pub(crate) fn ns_list(&self, first: usize) -> (String, Vec<String>) {
        let list = (0..self.spaces.len())
            .map(|i| format!("${}", first + i))
            .collect::<Vec<_>>()
            .join(", ");
        let values = self
            .spaces
            .iter()
            .map(|space| space.ns_id.to_string())
            .collect();
        (list, values)
    }
}
