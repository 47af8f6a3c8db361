//! Checks that the metadata agrees with itself, for `satchel admin fsck`: each finding is one
//! human-readable line. Read-only; nothing here repairs anything.

use sqlx::Row;

use crate::{Result, Store};

/// Most findings reported per check (a broken database should not print a million lines).
const MAX_PER_CHECK: i64 = 100;

/// One check: a query whose rows are findings, and how to word each row.
struct Check {
    sql: &'static str,
    describe: fn(&sqlx::any::AnyRow) -> Result<String>,
}

const CHECKS: &[Check] = &[
    // Every version's chunk list adds up to its size.
    Check {
        sql: "SELECT v.node_id, v.version, v.size, \
              CAST(COALESCE((SELECT SUM(vc.size) FROM version_chunks vc \
                WHERE vc.node_id = v.node_id AND vc.version = v.version), 0) AS BIGINT) AS total \
              FROM versions v WHERE v.size <> CAST(COALESCE((SELECT SUM(vc.size) FROM version_chunks vc \
                WHERE vc.node_id = v.node_id AND vc.version = v.version), 0) AS BIGINT) LIMIT $1",
        describe: |row| {
            Ok(format!(
                "version {} of node {} is {} bytes but its chunks add up to {}",
                row.try_get::<i64, _>("version")?,
                row.try_get::<String, _>("node_id")?,
                row.try_get::<i64, _>("size")?,
                row.try_get::<i64, _>("total")?
            ))
        },
    },
    // Every chunk a version names is registered, with the same size.
    Check {
        sql: "SELECT DISTINCT vc.sha256, vc.size FROM version_chunks vc \
              WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.sha256 = vc.sha256 AND c.size = vc.size) \
              LIMIT $1",
        describe: |row| {
            Ok(format!(
                "chunk {} ({} bytes) is named by a version but not registered with that size",
                row.try_get::<String, _>("sha256")?,
                row.try_get::<i64, _>("size")?
            ))
        },
    },
    // No node hangs under a parent that does not exist.
    Check {
        sql: "SELECT n.id FROM nodes n WHERE n.parent_id IS NOT NULL \
              AND NOT EXISTS (SELECT 1 FROM nodes p WHERE p.id = n.parent_id) LIMIT $1",
        describe: |row| {
            Ok(format!(
                "node {} is an orphan: its parent does not exist",
                row.try_get::<String, _>("id")?
            ))
        },
    },
    // No node is its own ancestor (walking up at most 256 levels).
    Check {
        sql: "WITH RECURSIVE up(start, id, depth) AS ( \
                SELECT id, parent_id, 1 FROM nodes WHERE parent_id IS NOT NULL \
                UNION ALL \
                SELECT up.start, n.parent_id, up.depth + 1 FROM up JOIN nodes n ON n.id = up.id \
                WHERE n.parent_id IS NOT NULL AND up.depth < 256 AND up.id <> up.start \
              ) SELECT DISTINCT start FROM up WHERE id = start LIMIT $1",
        describe: |row| {
            Ok(format!(
                "node {} is inside itself (a cycle in the tree)",
                row.try_get::<String, _>("start")?
            ))
        },
    },
    // Each account's usage is the sum of its files' current sizes.
    Check {
        sql: "SELECT u.email, u.used_bytes, CAST(COALESCE((SELECT SUM(n.size) FROM nodes n \
                WHERE n.owner_id = u.id AND n.kind = 'file'), 0) AS BIGINT) AS actual \
              FROM users u WHERE u.used_bytes <> CAST(COALESCE((SELECT SUM(n.size) FROM nodes n \
                WHERE n.owner_id = u.id AND n.kind = 'file'), 0) AS BIGINT) LIMIT $1",
        describe: |row| {
            Ok(format!(
                "{} is charged {} bytes but their files add up to {}",
                row.try_get::<String, _>("email")?,
                row.try_get::<i64, _>("used_bytes")?,
                row.try_get::<i64, _>("actual")?
            ))
        },
    },
    // No node's revision is ahead of its namespace's journal.
    Check {
        sql: "SELECT n.id, n.rev, s.last_seq FROM nodes n JOIN namespaces s ON s.id = n.ns_id \
              WHERE n.rev > s.last_seq LIMIT $1",
        describe: |row| {
            Ok(format!(
                "node {} has revision {} but its journal ends at {}",
                row.try_get::<String, _>("id")?,
                row.try_get::<i64, _>("rev")?,
                row.try_get::<i64, _>("last_seq")?
            ))
        },
    },
];

impl Store {
    /// Every way the metadata disagrees with itself (empty when it is consistent).
    pub async fn metadata_errors(&self) -> Result<Vec<String>> {
        let mut errors = Vec::new();
        for check in CHECKS {
            let rows = sqlx::query(check.sql)
                .bind(MAX_PER_CHECK)
                .fetch_all(&self.pool)
                .await?;
            for row in &rows {
                errors.push((check.describe)(row)?);
            }
        }
        Ok(errors)
    }
}
