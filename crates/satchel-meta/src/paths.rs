//! Paths are derived, never stored: a node's path is its ancestors' names, found with one recursive
//! query per folder and remembered for the rest of a request.

use std::collections::HashMap;

use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::Result;
use crate::rows::NodeRow;

/// Folder paths already resolved during one operation.
#[derive(Default)]
pub(crate) struct PathCache {
    folders: HashMap<Uuid, String>,
}

impl PathCache {
    /// The path of the folder `id` (`/` for a root).
    pub(crate) async fn folder(&mut self, conn: &mut AnyConnection, id: Uuid) -> Result<String> {
        if let Some(path) = self.folders.get(&id) {
            return Ok(path.clone());
        }
        let names: Vec<String> = sqlx::query(
            "WITH RECURSIVE anc(id, parent_id, name, depth) AS ( \
               SELECT id, parent_id, name, 0 FROM nodes WHERE id = $1 \
               UNION ALL \
               SELECT n.id, n.parent_id, n.name, a.depth + 1 FROM nodes n JOIN anc a ON n.id = a.parent_id \
             ) SELECT name FROM anc WHERE parent_id IS NOT NULL ORDER BY depth DESC",
        )
        .bind(id.to_string())
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| row.try_get::<String, _>("name"))
        .collect::<Result<_, _>>()?;
        let path = format!("/{}", names.join("/"));
        self.folders.insert(id, path.clone());
        Ok(path)
    }

    /// The path of any node.
    pub(crate) async fn of(&mut self, conn: &mut AnyConnection, row: &NodeRow) -> Result<String> {
        match row.parent_id {
            None => Ok("/".to_owned()),
            Some(parent) => Ok(join(&self.folder(conn, parent).await?, &row.name)),
        }
    }
}

/// `parent` + `/` + `name`, without doubling the root's slash.
pub(crate) fn join(parent: &str, name: &str) -> String {
    if parent == "/" {
        format!("/{name}")
    } else {
        format!("{parent}/{name}")
    }
}
