//! Migration 8's Rust half: rewriting every stored name key after [`satchel_proto::name_key`]
//! changed (NFC and full case folding), which SQL cannot compute.
//!
//! It runs once, inside the migration's transaction, right after `0008_name_keys.sql` has dropped
//! the two unique indexes on keys (`nodes_live_name`, `shares_member_name`); it rebuilds them at the
//! end, so the schema is whole again when the migration is recorded. In between:
//!
//! 1. every node's and mount's key is recomputed, in batches of [`BATCH`] rows by id. A name stored
//!    before control and bidirectional formatting characters were refused is repaired (each such
//!    character becomes `_`, see [`NodeName::repaired`]), so every stored name is a valid
//!    [`NodeName`] again: a rename, journaled;
//! 2. live siblings whose keys now clash (the NFC and NFD spellings of one name, `Straße` and
//!    `STRASSE`) keep the oldest under its name; each newer one takes the first free
//!    `name (n).ext`, a rename journaled in its namespace under a new sequence number with `rev`
//!    set to it, like any rename;
//! 3. a member's mounts clash the same way, with each other or with a live node of the member's
//!    root: the mount (the newer of two mounts) takes a free name, journaled in the member's journal.

use satchel_proto::{ChangeOp, NodeName, OnConflict};
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::accounts::parse_uuid;
use crate::journal::{append, next_seq};
use crate::paths::PathCache;
use crate::rows::{NODE_COLUMNS, NodeRow};
use crate::shares::{mount_node, node_row};
use crate::tree::{RootOf, claim_name};
use crate::{Result, StoreError};

/// Rows read (and clashes settled) per query, so a large table is never held in memory.
const BATCH: i64 = 500;

/// The unique indexes `0008_name_keys.sql` dropped, exactly as migrations 1 and 5 made them.
const UNIQUE_KEYS: [&str; 2] = [
    "CREATE UNIQUE INDEX nodes_live_name ON nodes (parent_id, name_key) WHERE deleted_at IS NULL",
    "CREATE UNIQUE INDEX shares_member_name ON shares (member_id, mount_key)",
];

/// Rewrites every key, repairs and de-duplicates names, and restores the unique indexes.
pub(crate) async fn rekey_names(conn: &mut AnyConnection) -> Result<()> {
    rekey_nodes(conn).await?;
    rekey_mounts(conn).await?;
    settle_node_clashes(conn).await?;
    settle_mount_clashes(conn).await?;
    for sql in UNIQUE_KEYS {
        sqlx::query(sql).execute(&mut *conn).await?;
    }
    Ok(())
}

/// A name as now valid: unchanged, or repaired.
fn valid_name(text: &str) -> Result<NodeName> {
    NodeName::repaired(text).map_err(|e| StoreError::Corrupt(format!("name {text:?}: {e}")))
}

async fn rekey_nodes(conn: &mut AnyConnection) -> Result<()> {
    let mut after = String::new();
    loop {
        let rows = sqlx::query(
            "SELECT id, name, name_key FROM nodes WHERE id > $1 AND parent_id IS NOT NULL \
             ORDER BY id LIMIT $2",
        )
        .bind(&after)
        .bind(BATCH)
        .fetch_all(&mut *conn)
        .await?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        after = last.try_get("id")?;
        for row in &rows {
            let (id, name, key): (String, String, String) = (
                row.try_get("id")?,
                row.try_get("name")?,
                row.try_get("name_key")?,
            );
            let valid = valid_name(&name)?;
            if valid.as_str() != name {
                let row = node_row(conn, parse_uuid(&id)?).await?;
                rename_node(conn, &row, &valid).await?;
            } else if valid.key() != key {
                sqlx::query("UPDATE nodes SET name_key = $2 WHERE id = $1")
                    .bind(&id)
                    .bind(valid.key())
                    .execute(&mut *conn)
                    .await?;
            }
        }
    }
}

async fn rekey_mounts(conn: &mut AnyConnection) -> Result<()> {
    let mut after = String::new();
    loop {
        let rows = sqlx::query(
            "SELECT id, mount_name, mount_key FROM shares WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(&after)
        .bind(BATCH)
        .fetch_all(&mut *conn)
        .await?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        after = last.try_get("id")?;
        for row in &rows {
            let (id, name, key): (String, String, String) = (
                row.try_get("id")?,
                row.try_get("mount_name")?,
                row.try_get("mount_key")?,
            );
            let valid = valid_name(&name)?;
            if valid.as_str() != name {
                rename_mount(conn, parse_uuid(&id)?, &valid).await?;
            } else if valid.key() != key {
                sqlx::query("UPDATE shares SET mount_key = $2 WHERE id = $1")
                    .bind(&id)
                    .bind(valid.key())
                    .execute(&mut *conn)
                    .await?;
            }
        }
    }
}

/// Gives every live node but the oldest of each clashing group a free numbered name.
async fn settle_node_clashes(conn: &mut AnyConnection) -> Result<()> {
    loop {
        let groups = sqlx::query(
            "SELECT parent_id, name_key FROM nodes WHERE deleted_at IS NULL \
             AND parent_id IS NOT NULL GROUP BY parent_id, name_key HAVING COUNT(*) > 1 LIMIT $1",
        )
        .bind(BATCH)
        .fetch_all(&mut *conn)
        .await?;
        if groups.is_empty() {
            return Ok(());
        }
        for group in &groups {
            let (parent, key): (String, String) =
                (group.try_get("parent_id")?, group.try_get("name_key")?);
            let sql = format!(
                "SELECT {NODE_COLUMNS} FROM nodes WHERE parent_id = $1 AND name_key = $2 \
                 AND deleted_at IS NULL ORDER BY created_at, id"
            );
            let rows = sqlx::query(&sql)
                .bind(&parent)
                .bind(&key)
                .fetch_all(&mut *conn)
                .await?;
            for row in rows.iter().skip(1) {
                let row = NodeRow::from_row(row)?;
                let root = root_of_folder(conn, parse_uuid(&parent)?).await?;
                let name = claim_name(
                    conn,
                    root,
                    parse_uuid(&parent)?,
                    valid_name(&row.name)?,
                    OnConflict::Rename,
                    None,
                )
                .await?;
                tracing::info!(node = %row.id, from = row.name, to = %name, "renamed a clashing name");
                rename_node(conn, &row, &name).await?;
            }
        }
    }
}

/// Renames the newer of two mounts with one key, and any mount whose key a live node of the
/// member's root holds.
async fn settle_mount_clashes(conn: &mut AnyConnection) -> Result<()> {
    loop {
        let clashing: Vec<String> = sqlx::query_scalar(
            "SELECT s.id FROM shares s JOIN users u ON u.id = s.member_id WHERE \
               EXISTS (SELECT 1 FROM shares o WHERE o.member_id = s.member_id \
                 AND o.mount_key = s.mount_key \
                 AND (o.created_at < s.created_at OR (o.created_at = s.created_at AND o.id < s.id))) \
               OR EXISTS (SELECT 1 FROM nodes n WHERE n.parent_id = u.root_id \
                 AND n.name_key = s.mount_key AND n.deleted_at IS NULL) \
             ORDER BY s.created_at, s.id LIMIT $1",
        )
        .bind(BATCH)
        .fetch_all(&mut *conn)
        .await?;
        if clashing.is_empty() {
            return Ok(());
        }
        for id in &clashing {
            let (member, root, name) = mount_of(conn, id).await?;
            let root = RootOf {
                user_id: member,
                root_id: root,
            };
            let name = claim_name(
                conn,
                root,
                root.root_id,
                valid_name(&name)?,
                OnConflict::Rename,
                None,
            )
            .await?;
            tracing::info!(share = id, to = %name, "renamed a clashing mount");
            rename_mount(conn, parse_uuid(id)?, &name).await?;
        }
    }
}

/// Who a share's member is, where their root is, and the mount's name.
async fn mount_of(conn: &mut AnyConnection, share: &str) -> Result<(Uuid, Uuid, String)> {
    let row = sqlx::query(
        "SELECT s.member_id, u.root_id, s.mount_name FROM shares s \
         JOIN users u ON u.id = s.member_id WHERE s.id = $1",
    )
    .bind(share)
    .fetch_one(&mut *conn)
    .await?;
    Ok((
        parse_uuid(&row.try_get::<String, _>("member_id")?)?,
        parse_uuid(&row.try_get::<String, _>("root_id")?)?,
        row.try_get("mount_name")?,
    ))
}

/// Whose root `folder` is, if anyone's: in a user's root their mounts take names too.
async fn root_of_folder(conn: &mut AnyConnection, folder: Uuid) -> Result<RootOf> {
    let user: Option<String> = sqlx::query_scalar("SELECT id FROM users WHERE root_id = $1")
        .bind(folder.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match user {
        Some(user) => RootOf {
            user_id: parse_uuid(&user)?,
            root_id: folder,
        },
        // Not a root: mounts are never looked at.
        None => RootOf {
            user_id: Uuid::nil(),
            root_id: Uuid::nil(),
        },
    })
}

/// Renames `row` to `name` in place and journals it in the node's namespace (a node in the trash
/// is not in any client's tree: it is renamed without an entry).
async fn rename_node(conn: &mut AnyConnection, row: &NodeRow, name: &NodeName) -> Result<()> {
    if !row.is_live() {
        sqlx::query("UPDATE nodes SET name = $2, name_key = $3 WHERE id = $1")
            .bind(row.id.to_string())
            .bind(name.as_str())
            .bind(name.key())
            .execute(&mut *conn)
            .await?;
        return Ok(());
    }
    let seq = next_seq(conn, row.ns_id).await?;
    sqlx::query("UPDATE nodes SET name = $2, name_key = $3, rev = $4 WHERE id = $1")
        .bind(row.id.to_string())
        .bind(name.as_str())
        .bind(name.key())
        .bind(seq)
        .execute(&mut *conn)
        .await?;
    let top: String = sqlx::query_scalar("SELECT root_id FROM namespaces WHERE id = $1")
        .bind(row.ns_id.to_string())
        .fetch_one(&mut *conn)
        .await?;
    let mut renamed = row.clone();
    renamed.name = name.as_str().to_owned();
    renamed.rev = seq;
    let path = PathCache::within(parse_uuid(&top)?)
        .of(conn, &renamed)
        .await?;
    append(
        conn,
        row.ns_id,
        seq,
        ChangeOp::Upsert,
        &renamed.to_node(path),
        false,
    )
    .await
}

/// Renames a member's mount and journals it in the member's namespace.
async fn rename_mount(conn: &mut AnyConnection, share: Uuid, name: &NodeName) -> Result<()> {
    let row = sqlx::query(
        "SELECT u.ns_id, u.root_id AS member_root, n.root_id FROM shares s \
         JOIN users u ON u.id = s.member_id JOIN namespaces n ON n.id = s.ns_id WHERE s.id = $1",
    )
    .bind(share.to_string())
    .fetch_one(&mut *conn)
    .await?;
    let member_ns = parse_uuid(&row.try_get::<String, _>("ns_id")?)?;
    let member_root = parse_uuid(&row.try_get::<String, _>("member_root")?)?;
    let top = node_row(conn, parse_uuid(&row.try_get::<String, _>("root_id")?)?).await?;
    let seq = next_seq(conn, member_ns).await?;
    sqlx::query("UPDATE shares SET mount_name = $2, mount_key = $3 WHERE id = $1")
        .bind(share.to_string())
        .bind(name.as_str())
        .bind(name.key())
        .execute(&mut *conn)
        .await?;
    let node = mount_node(&top, name.as_str(), member_root);
    append(conn, member_ns, seq, ChangeOp::Upsert, &node, false).await
}
