//! Mapping database rows to domain values.

use satchel_proto::{Node, NodeKind, Sha256};
use sqlx::Row;
use sqlx::any::AnyRow;
use uuid::Uuid;

use crate::accounts::{parse_uuid, to_u64};
use crate::db::from_micros;
use crate::{Backend, Result, StoreError};

/// The columns [`NodeRow::from_row`] reads, in a form ready for `SELECT`.
pub(crate) const NODE_COLUMNS: &str = "id, ns_id, owner_id, parent_id, kind, name, rev, size, \
    sha256, mime, version, created_at, modified_at, deleted_at, trash_root";

/// The same columns qualified by the alias `n`, for joins.
pub(crate) const NODE_COLUMNS_N: &str = "n.id, n.ns_id, n.owner_id, n.parent_id, n.kind, n.name, \
    n.rev, n.size, n.sha256, n.mime, n.version, n.created_at, n.modified_at, n.deleted_at, n.trash_root";

/// A node as stored (without its path, which is derived from its ancestors).
#[derive(Debug, Clone)]
pub(crate) struct NodeRow {
    pub id: Uuid,
    /// The namespace the node lives in (see `spaces.rs`).
    pub ns_id: Uuid,
    /// Whose quota the node uses: its namespace's owner.
    pub owner_id: Uuid,
    pub parent_id: Option<Uuid>,
    pub kind: NodeKind,
    pub name: String,
    pub rev: i64,
    pub size: Option<i64>,
    pub sha256: Option<String>,
    pub mime: Option<String>,
    pub version: Option<i64>,
    pub created_at: i64,
    pub modified_at: i64,
    pub deleted_at: Option<i64>,
    pub trash_root: Option<Uuid>,
}

impl NodeRow {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self> {
        let kind = match row.try_get::<String, _>("kind")?.as_str() {
            "file" => NodeKind::File,
            "folder" => NodeKind::Folder,
            other => return Err(StoreError::Corrupt(format!("node kind {other:?}"))),
        };
        Ok(NodeRow {
            id: parse_uuid(&row.try_get::<String, _>("id")?)?,
            ns_id: parse_uuid(&row.try_get::<String, _>("ns_id")?)?,
            owner_id: parse_uuid(&row.try_get::<String, _>("owner_id")?)?,
            parent_id: opt_uuid(row.try_get("parent_id")?)?,
            kind,
            name: row.try_get("name")?,
            rev: row.try_get("rev")?,
            size: row.try_get("size")?,
            sha256: row.try_get("sha256")?,
            mime: row.try_get("mime")?,
            version: row.try_get("version")?,
            created_at: row.try_get("created_at")?,
            modified_at: row.try_get("modified_at")?,
            deleted_at: row.try_get("deleted_at")?,
            trash_root: opt_uuid(row.try_get("trash_root")?)?,
        })
    }

    pub(crate) fn is_live(&self) -> bool {
        self.deleted_at.is_none()
    }

    pub(crate) fn is_root(&self) -> bool {
        self.parent_id.is_none()
    }

    /// The wire form, given the node's path.
    pub(crate) fn to_node(&self, path: String) -> Node {
        Node {
            id: self.id,
            kind: self.kind,
            name: self.name.clone(),
            parent_id: self.parent_id,
            path,
            rev: rev_text(self.rev),
            size: self.size.map(to_u64),
            sha256: self
                .sha256
                .as_deref()
                .and_then(|hex| hex.parse::<Sha256>().ok()),
            mime: self.mime.clone(),
            version: self.version.map(to_u64),
            created_at: from_micros(self.created_at),
            modified_at: from_micros(self.modified_at),
            deleted_at: self.deleted_at.map(from_micros),
        }
    }

    /// Fails with `RevMismatch` unless the node is at `expected` (quotes around it are ignored).
    pub(crate) fn check_rev(&self, expected: Option<&str>) -> Result<()> {
        let Some(expected) = expected else {
            return Ok(());
        };
        let expected = expected.trim().trim_start_matches("W/").trim_matches('"');
        let current = rev_text(self.rev);
        if expected == current {
            Ok(())
        } else {
            Err(StoreError::RevMismatch {
                expected: expected.to_owned(),
                current,
            })
        }
    }
}

/// The opaque text of a revision number.
pub(crate) fn rev_text(rev: i64) -> String {
    format!("{rev:x}")
}

fn opt_uuid(text: Option<String>) -> Result<Option<Uuid>> {
    text.as_deref().map(parse_uuid).transpose()
}

/// One node row as packed by [`packed`]: the columns of [`NODE_COLUMNS`], in order.
type PackedRow = (
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    i64,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<i64>,
    i64,
    i64,
    Option<i64>,
    Option<String>,
);

/// Wraps a query that selects [`NODE_COLUMNS`] (ordered) so that it answers one JSON array of row
/// arrays instead of a row per node. Long listings are the hottest reads; one value instead of
/// thousands of rows skips the per-row, per-value copies of the driver and runs several times faster.
pub(crate) fn packed(backend: Backend, inner: &str) -> String {
    match backend {
        Backend::Sqlite => {
            format!("SELECT json_group_array(json_array({NODE_COLUMNS})) FROM ({inner})")
        }
        Backend::Postgres => format!(
            "SELECT CAST(COALESCE(json_agg(json_build_array({NODE_COLUMNS})), '[]') AS TEXT) FROM ({inner}) AS page"
        ),
    }
}

/// Reads the answer of a [`packed`] query.
pub(crate) fn unpack(json: &str) -> Result<Vec<NodeRow>> {
    let rows: Vec<PackedRow> =
        serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("packed rows: {e}")))?;
    rows.into_iter()
        .map(|r| {
            let kind = match r.4.as_str() {
                "file" => NodeKind::File,
                "folder" => NodeKind::Folder,
                other => return Err(StoreError::Corrupt(format!("node kind {other:?}"))),
            };
            Ok(NodeRow {
                id: parse_uuid(&r.0)?,
                ns_id: parse_uuid(&r.1)?,
                owner_id: parse_uuid(&r.2)?,
                parent_id: opt_uuid(r.3)?,
                kind,
                name: r.5,
                rev: r.6,
                size: r.7,
                sha256: r.8,
                mime: r.9,
                version: r.10,
                created_at: r.11,
                modified_at: r.12,
                deleted_at: r.13,
                trash_root: opt_uuid(r.14)?,
            })
        })
        .collect()
}
