//! The documents the API answers with: nodes, versions, pages and journal changes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::Sha256;

/// Whether a node holds bytes or other nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    File,
    Folder,
}

impl NodeKind {
    /// The word used on the wire and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::File => "file",
            NodeKind::Folder => "folder",
        }
    }
}

/// A file or folder as a client sees it. File-only fields are null on folders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Node {
    pub id: Uuid,
    pub kind: NodeKind,
    /// The name; the root folder's name is empty.
    #[schema(value_type = String)]
    pub name: String,
    /// Null only for the root folder.
    pub parent_id: Option<Uuid>,
    /// `/`-rooted path in the owner's tree (`/` for the root).
    pub path: String,
    /// Opaque revision: changes whenever the node changes. Sent as `ETag` and checked by `If-Match`.
    pub rev: String,
    pub size: Option<u64>,
    pub sha256: Option<Sha256>,
    pub mime: Option<String>,
    /// Current version number of a file (1 for the first content).
    pub version: Option<u64>,
    pub created_at: DateTime<Utc>,
    pub modified_at: DateTime<Utc>,
    /// Set while the node is in the trash.
    pub deleted_at: Option<DateTime<Utc>>,
}

/// One stored version of a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VersionInfo {
    pub version: u64,
    pub size: u64,
    pub sha256: Sha256,
    pub created_at: DateTime<Utc>,
    /// The device (session name) that wrote it, when known.
    pub device: Option<String>,
}

/// A page of any list: `{entries, next_cursor}`; `next_cursor` is null on the last page.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub entries: Vec<T>,
    pub next_cursor: Option<String>,
}

/// What a journal entry did to its node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChangeOp {
    /// Created, changed, renamed, moved or restored: `node` is its new state.
    Upsert,
    /// Trashed or purged: the node and everything under it left the tree.
    Delete,
}

impl ChangeOp {
    /// The word used on the wire and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeOp::Upsert => "upsert",
            ChangeOp::Delete => "delete",
        }
    }
}

/// One journal entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Change {
    pub seq: u64,
    pub op: ChangeOp,
    /// The node's state after the change.
    pub node: Node,
    /// On a `delete`: the node left the reader's tree without being trashed — a folder shared with
    /// them was unshared, or they left it. Copies they hold are theirs to keep, as plain files.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unshared: bool,
}

/// A page of the journal.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChangesPage {
    pub changes: Vec<Change>,
    /// Where to continue from; opaque.
    pub cursor: String,
    /// More changes are waiting after `cursor`.
    pub has_more: bool,
}

/// One chunk of a file version, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ChunkInfo {
    pub index: u64,
    /// Where the chunk starts in the file.
    pub offset: u64,
    pub size: u64,
    pub sha256: Sha256,
}
