//! The change journal: one sequence per namespace, appended in the transaction of each change.

use chrono::Utc;
use satchel_proto::{Change, ChangeOp, ChangesPage, Node};
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::accounts::to_u64;
use crate::db::micros;
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

/// Appends one change under `seq` (taken with [`next_seq`] in the same transaction).
pub(crate) async fn append(
    conn: &mut AnyConnection,
    ns: Uuid,
    seq: i64,
    op: ChangeOp,
    node: &Node,
) -> Result<()> {
    let snapshot = serde_json::to_string(node).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    sqlx::query(
        "INSERT INTO journal (ns_id, seq, node_id, op, node, at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(ns.to_string())
    .bind(seq)
    .bind(node.id.to_string())
    .bind(op.as_str())
    .bind(snapshot)
    .bind(micros(Utc::now()))
    .execute(conn)
    .await?;
    Ok(())
}

impl Store {
    /// Changes after `cursor` (from the beginning when `None`), oldest first.
    pub async fn changes(
        &self,
        actor: &Actor,
        cursor: Option<&Cursor>,
        limit: u32,
    ) -> Result<ChangesPage> {
        let ns = actor.ns_id;
        let after = cursor.map_or(0, |c| c.seq(ns));
        let floor: i64 = sqlx::query_scalar("SELECT floor_seq FROM namespaces WHERE id = $1")
            .bind(ns.to_string())
            .fetch_one(&self.pool)
            .await?;
        if after < to_u64(floor) {
            return Err(StoreError::CursorExpired);
        }
        let rows = sqlx::query(
            "SELECT seq, op, node FROM journal WHERE ns_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(ns.to_string())
        .bind(i64::try_from(after).unwrap_or(i64::MAX))
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        let has_more = rows.len() > limit as usize;
        let mut changes = Vec::with_capacity(rows.len().min(limit as usize));
        for row in rows.iter().take(limit as usize) {
            let op = match row.try_get::<String, _>("op")?.as_str() {
                "delete" => ChangeOp::Delete,
                _ => ChangeOp::Upsert,
            };
            let node: Node = serde_json::from_str(&row.try_get::<String, _>("node")?)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            changes.push(Change {
                seq: to_u64(row.try_get("seq")?),
                op,
                node,
            });
        }
        let mut next = cursor.cloned().unwrap_or_default();
        next.set(ns, changes.last().map_or(after, |c| c.seq));
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

    /// A cursor at the newest change: reading from it returns only what happens next.
    pub async fn latest_cursor(&self, actor: &Actor) -> Result<Cursor> {
        let last: i64 = sqlx::query_scalar("SELECT last_seq FROM namespaces WHERE id = $1")
            .bind(actor.ns_id.to_string())
            .fetch_one(&self.pool)
            .await?;
        let mut cursor = Cursor::default();
        cursor.set(actor.ns_id, to_u64(last));
        Ok(cursor)
    }
}
