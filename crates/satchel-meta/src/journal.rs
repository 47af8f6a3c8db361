//! The change journal: one sequence per namespace, appended in the transaction of each change.

use std::collections::{HashMap, VecDeque};

use chrono::Utc;
use satchel_proto::{Change, ChangeOp, ChangesPage, Node};
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::accounts::to_u64;
use crate::db::micros;
use crate::paths::{PathCache, join};
use crate::spaces::Space;
use crate::{Actor, Cursor, Result, Store, StoreError};

/// Takes the namespace's next sequence number. On PostgreSQL the row lock this takes orders every
/// writer of the namespace until its transaction ends, so sequence numbers become visible in order
/// and a reader never skips past a change that commits late.
pub(crate) async fn next_seq(conn: &mut AnyConnection, ns: Uuid) -> Result<i64> {
    let seq: i64 = sqlx::query_scalar(
        "UPDATE namespaces SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq",
    )
    .bind(ns.to_string())
    .fetch_one(conn)
    .await?;
    Ok(seq)
}

/// Appends one change under `seq` (taken with [`next_seq`] in the same transaction). `node` is the
/// node as the namespace's journal keeps it: its path relative to the namespace's top (readers see
/// the namespace at places of their own). `unshared` marks a delete that only took a shared folder
/// out of one member's tree.
pub(crate) async fn append(
    conn: &mut AnyConnection,
    ns: Uuid,
    seq: i64,
    op: ChangeOp,
    node: &Node,
    unshared: bool,
) -> Result<()> {
    write_entry(conn, ns, seq, op, node, unshared, micros(Utc::now())).await
}

/// [`append`] at a given time (µs): readers of several namespaces merge them by time, so a change
/// that spans two (a move between them, a new mount) orders its entries explicitly.
pub(crate) async fn append_at(
    conn: &mut AnyConnection,
    ns: Uuid,
    seq: i64,
    op: ChangeOp,
    node: &Node,
    at: i64,
) -> Result<()> {
    write_entry(conn, ns, seq, op, node, false, at).await
}

async fn write_entry(
    conn: &mut AnyConnection,
    ns: Uuid,
    seq: i64,
    op: ChangeOp,
    node: &Node,
    unshared: bool,
    at: i64,
) -> Result<()> {
    let corrupt = |e: serde_json::Error| StoreError::Corrupt(e.to_string());
    let mut snapshot = serde_json::to_value(node).map_err(corrupt)?;
    if unshared && let Some(fields) = snapshot.as_object_mut() {
        fields.insert("unshared".to_owned(), serde_json::Value::Bool(true));
    }
    sqlx::query(
        "INSERT INTO journal (ns_id, seq, node_id, op, node, at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(ns.to_string())
    .bind(seq)
    .bind(node.id.to_string())
    .bind(op.as_str())
    .bind(snapshot.to_string())
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// A journal entry as stored: the node, and the mark [`append`] may add.
#[derive(serde::Deserialize)]
struct Stored {
    #[serde(flatten)]
    node: Node,
    #[serde(default)]
    unshared: bool,
}

/// One namespace's entries after the reader's position, in sequence order.
struct Lane<'a> {
    space: &'a Space,
    /// Each entry with the time it sorts by (see `not_before` in [`Store::changes`]).
    entries: VecDeque<(u64, ChangeOp, String, i64)>,
    more: bool,
    /// The last entry taken (the reader's position so far).
    last: u64,
    /// Where the reader sees the namespace's top (`None` until needed).
    prefix: Option<String>,
}

impl Store {
    /// Changes after `cursor` (from the beginning when `None`), oldest first: the merge of the
    /// journals of every namespace the actor reaches, each kept in its own order.
    pub async fn changes(
        &self,
        actor: &Actor,
        cursor: Option<&Cursor>,
        limit: u32,
    ) -> Result<ChangesPage> {
        let mut conn = self.pool.acquire().await?;
        let seen_own = cursor.map_or(0, |c| c.seq(actor.ns_id));
        // Every namespace's floor in one query.
        let (list, ns_ids) = actor.ns_list(1);
        let sql = format!("SELECT id, floor_seq FROM namespaces WHERE id IN ({list})");
        let mut floors = sqlx::query(&sql);
        for ns in &ns_ids {
            floors = floors.bind(ns);
        }
        let floors: HashMap<String, i64> = floors
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|row| Ok((row.try_get("id")?, row.try_get("floor_seq")?)))
            .collect::<Result<_>>()?;
        let mut lanes = Vec::with_capacity(actor.spaces.len());
        for space in &actor.spaces {
            let mut after = cursor.map_or(0, |c| c.seq(space.ns_id));
            // A mount newer than the reader's cursor brings the shared journal from its start,
            // presented as if made at the mount: after the entry announcing it.
            let mut not_before = 0;
            if let Some(mount) = &space.mount
                && seen_own < mount.seq
            {
                after = 0;
                not_before = mount.at;
            }
            let floor = floors.get(&space.ns_id.to_string()).copied().unwrap_or(0);
            if after < to_u64(floor) {
                return Err(StoreError::CursorExpired);
            }
            let rows = sqlx::query(
                "SELECT seq, op, node, at FROM journal WHERE ns_id = $1 AND seq > $2 \
                 ORDER BY seq LIMIT $3",
            )
            .bind(space.ns_id.to_string())
            .bind(i64::try_from(after).unwrap_or(i64::MAX))
            .bind(i64::from(limit) + 1)
            .fetch_all(&mut *conn)
            .await?;
            let more = rows.len() > limit as usize;
            let mut entries = VecDeque::with_capacity(rows.len());
            for row in rows.iter().take(limit as usize) {
                let op = match row.try_get::<String, _>("op")?.as_str() {
                    "delete" => ChangeOp::Delete,
                    _ => ChangeOp::Upsert,
                };
                entries.push_back((
                    to_u64(row.try_get("seq")?),
                    op,
                    row.try_get::<String, _>("node")?,
                    row.try_get::<i64, _>("at")?.max(not_before),
                ));
            }
            lanes.push(Lane {
                space,
                entries,
                more,
                last: after,
                prefix: None,
            });
        }
        // Oldest first across namespaces (the reader's own journal first on a tie), each namespace
        // in its own order. A lane that had more than fits cannot run dry before the page is full.
        let mut changes = Vec::with_capacity(limit as usize);
        while changes.len() < limit as usize {
            let Some(lane) = lanes
                .iter_mut()
                .filter(|lane| !lane.entries.is_empty())
                .min_by_key(|lane| (lane.entries[0].3, lane.space.ns_id != actor.ns_id))
            else {
                break;
            };
            let Some((seq, op, text, _)) = lane.entries.pop_front() else {
                break;
            };
            lane.last = seq;
            let stored: Stored =
                serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let node = present(&mut conn, actor, lane, stored.node).await?;
            changes.push(Change {
                seq,
                op,
                node,
                unshared: stored.unshared,
            });
        }
        let has_more = lanes
            .iter()
            .any(|lane| lane.more || !lane.entries.is_empty());
        let mut next = Cursor::default();
        for lane in &lanes {
            next.set(lane.space.ns_id, lane.last);
        }
        Ok(ChangesPage {
            changes,
            cursor: next.encode(),
            has_more,
        })
    }

    /// Forgets journal entries older than `before` (keeping, per namespace, everything after the
    /// newest entry it forgets), so cursors from before then answer `CursorExpired` and their clients
    /// rescan. Returns how many entries went.
    pub async fn prune_journal(&self, before: chrono::DateTime<Utc>) -> Result<u64> {
        let mut w = self.write().await?;
        let conn = w.conn();
        sqlx::query(
            "UPDATE namespaces SET floor_seq = \
               (SELECT MAX(j.seq) FROM journal j WHERE j.ns_id = namespaces.id AND j.at < $1) \
             WHERE EXISTS (SELECT 1 FROM journal j WHERE j.ns_id = namespaces.id AND j.at < $1)",
        )
        .bind(micros(before))
        .execute(&mut *conn)
        .await?;
        let gone = sqlx::query(
            "DELETE FROM journal WHERE seq <= (SELECT n.floor_seq FROM namespaces n WHERE n.id = journal.ns_id)",
        )
        .execute(&mut *conn)
        .await?;
        w.commit().await?;
        Ok(gone.rows_affected())
    }

    /// A cursor at the newest change: reading from it returns only what happens next. The actor's
    /// namespaces are looked up afresh (a notification socket outlives the mounts it began with).
    pub async fn latest_cursor(&self, actor: &Actor) -> Result<Cursor> {
        let rows = sqlx::query(
            "SELECT n.id, n.last_seq FROM namespaces n WHERE n.owner_id = $1 \
             UNION ALL SELECT n.id, n.last_seq FROM shares s JOIN namespaces n ON n.id = s.ns_id \
             WHERE s.member_id = $1",
        )
        .bind(actor.user_id.to_string())
        .fetch_all(&self.pool)
        .await?;
        let mut cursor = Cursor::default();
        for row in rows {
            let ns = crate::accounts::parse_uuid(&row.try_get::<String, _>("id")?)?;
            cursor.set(ns, to_u64(row.try_get("last_seq")?));
        }
        Ok(cursor)
    }
}

/// A journal snapshot (path relative to its namespace) as `actor` sees it.
async fn present(
    conn: &mut AnyConnection,
    actor: &Actor,
    lane: &mut Lane<'_>,
    mut node: Node,
) -> Result<Node> {
    let space = lane.space;
    if space.ns_id == actor.ns_id {
        return Ok(node);
    }
    let prefix = match &lane.prefix {
        Some(prefix) => prefix.clone(),
        None => {
            let prefix = match &space.mount {
                Some(mount) => format!("/{}", mount.name),
                // The owner sees a folder they shared where it is in their tree.
                None => {
                    PathCache::of_actor(actor)
                        .folder(conn, space.root_id)
                        .await?
                }
            };
            lane.prefix = Some(prefix.clone());
            prefix
        }
    };
    node.path = match node.path.strip_prefix('/') {
        Some("") | None => prefix,
        Some(rest) => join(&prefix, rest),
    };
    Ok(actor.present(node))
}
