//! Paths are derived, never stored: a node's path is its ancestors' names, found with one recursive
//! query per folder and remembered for the rest of a request.

use std::collections::HashMap;

use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::rows::NodeRow;
use crate::{Actor, Result};

/// Folder paths already resolved during one operation, as one reader sees them.
#[derive(Default)]
pub(crate) struct PathCache {
    folders: HashMap<Uuid, String>,
    /// Nodes whose path is given rather than walked: a member's mounts (`/NAME`), or the root of
    /// the namespace a journal entry is written for (`/`).
    stops: HashMap<Uuid, String>,
}

impl PathCache {
    /// Paths as `actor` sees them: through their mounts for folders shared with them.
    pub(crate) fn of_actor(actor: &Actor) -> Self {
        let stops = actor
            .mounts()
            .map(|(space, mount)| (space.root_id, format!("/{}", mount.name)))
            .collect();
        PathCache {
            folders: HashMap::new(),
            stops,
        }
    }

    /// Paths relative to the namespace whose top node is `root`: what the namespace's journal
    /// keeps, since every reader sees the namespace at a place of their own.
    pub(crate) fn within(root: Uuid) -> Self {
        PathCache {
            folders: HashMap::new(),
            stops: HashMap::from([(root, "/".to_owned())]),
        }
    }

    /// The path of the folder `id` (`/` for a root).
    pub(crate) async fn folder(&mut self, conn: &mut AnyConnection, id: Uuid) -> Result<String> {
        if let Some(path) = self.folders.get(&id).or_else(|| self.stops.get(&id)) {
            return Ok(path.clone());
        }
        let rows = sqlx::query(
            "WITH RECURSIVE anc(id, parent_id, name, depth) AS ( \
               SELECT id, parent_id, name, 0 FROM nodes WHERE id = $1 \
               UNION ALL \
               SELECT n.id, n.parent_id, n.name, a.depth + 1 FROM nodes n JOIN anc a ON n.id = a.parent_id \
             ) SELECT id, parent_id, name FROM anc ORDER BY depth",
        )
        .bind(id.to_string())
        .fetch_all(&mut *conn)
        .await?;
        // From the folder up: names until a stop or the root.
        let mut names = Vec::new();
        let mut prefix = "/".to_owned();
        for row in &rows {
            let at: String = row.try_get("id")?;
            if let Some(stop) = Uuid::try_parse(&at).ok().and_then(|at| self.stops.get(&at)) {
                prefix.clone_from(stop);
                break;
            }
            if row.try_get::<Option<String>, _>("parent_id")?.is_none() {
                break;
            }
            names.push(row.try_get::<String, _>("name")?);
        }
        let path = names
            .iter()
            .rev()
            .fold(prefix, |path, name| join(&path, name));
        self.folders.insert(id, path.clone());
        Ok(path)
    }

    /// The path of any node.
    pub(crate) async fn of(&mut self, conn: &mut AnyConnection, row: &NodeRow) -> Result<String> {
        if let Some(stop) = self.stops.get(&row.id) {
            return Ok(stop.clone());
        }
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
