//! A new file — the common upload — written with the namespace's sequence number taken last.
//!
//! Every change takes its namespace's next sequence number with `UPDATE namespaces … RETURNING`,
//! whose row lock (on PostgreSQL) orders the namespace's writers until each commits: that is what
//! makes journal entries visible in sequence order. Any work done after taking it is work the
//! namespace's other writers wait for. So a new file does what cannot clash with another writer
//! first — checks the folder and the name, inserts the node, its version, its chunk list — and only
//! then takes the number, re-checks the folder under it, charges the quota, stamps the node's `rev`
//! and journals the change. Writers of one account then overlap everything but that short tail.
//!
//! Why this is safe without the early lock:
//! - the name: the insert is `ON CONFLICT DO NOTHING` against the unique live-name index, so a
//!   clash (a concurrent writer took the name first) inserts nothing and the caller falls back to
//!   the ordinary locked path, which then sees that file (a version, a renamed copy, or a conflict);
//! - the folder: trashed, purged or moved to another namespace by a change that committed while
//!   this one was writing is seen by the re-check under the sequence number, in the namespace's
//!   order (the new node is not visible to that change, so nothing else could catch it);
//! - the path the journal records is computed under the sequence number, after any move of an
//!   ancestor that committed first;
//! - the sequence row is taken before the owner's usage row, as every other writer does, so the two
//!   hot rows cannot deadlock.

use sqlx::AnyConnection;
use uuid::Uuid;

use crate::journal::next_seq;
use crate::nodes::{child_of, load};
use crate::spaces::readers;
use crate::tree::{NewContent, charge, check_folder, insert_node, record};
use crate::versions::insert_version;
use crate::{Actor, Result, StoreError};
use satchel_proto::{ChangeOp, Node, NodeKind, NodeName};

/// Creates the file `name` in `parent` with `content`, or returns `None` (having changed nothing)
/// when the name is taken: the caller then takes the ordinary path.
pub(crate) async fn write_new_file(
    conn: &mut AnyConnection,
    actor: &Actor,
    parent: Uuid,
    name: &NodeName,
    content: &NewContent,
) -> Result<Option<(Node, bool, Vec<Uuid>)>> {
    let folder = load(conn, actor, parent).await?;
    let space = actor.space(folder.ns_id)?.writable()?.clone();
    check_folder(&folder)?;
    if child_of(conn, actor, folder.id, &name.key())
        .await?
        .is_some()
    {
        return Ok(None);
    }
    // The rev is stamped below, once the sequence number is known; nobody sees the row before.
    let id = match insert_node(
        conn,
        &space,
        folder.id,
        NodeKind::File,
        name,
        0,
        Some((content, 1)),
    )
    .await
    {
        Ok(id) => id,
        Err(StoreError::NameConflict(_)) => return Ok(None),
        Err(error) => return Err(error),
    };
    insert_version(conn, id, 1, content, actor.device.as_deref()).await?;

    // From here to the commit, the namespace's other writers wait.
    let seq = next_seq(conn, space.ns_id).await?;
    let folder = load(conn, actor, parent).await?;
    if folder.ns_id != space.ns_id {
        // Moved into or out of a shared folder meanwhile: its subtree went without this file.
        return Err(StoreError::NotFound);
    }
    check_folder(&folder)?;
    charge(conn, space.owner_id, crate::accounts::to_i64(content.size)).await?;
    sqlx::query("UPDATE nodes SET rev = $2 WHERE id = $1")
        .bind(id.to_string())
        .bind(seq)
        .execute(&mut *conn)
        .await?;
    let node = record(conn, actor, &space, seq, ChangeOp::Upsert, id).await?;
    let notify = readers(conn, actor, &space).await?;
    Ok(Some((node, true, notify)))
}
