//! The remote view: a mirror of the server's tree under the synced remote folder, listed once and
//! then kept current from the change journal (a cursor per mirror), so a round costs one small
//! `/changes` request rather than a listing.

use std::collections::{BTreeMap, HashMap};

use satchel_proto::{ChangeOp, ChangesPage, CursorEnvelope, Node, NodeKind, NodeRef};
use uuid::Uuid;

use super::plan::Remote;
use crate::{Client, ClientError};

/// A mirrored node.
#[derive(Debug, Clone)]
struct Entry {
    parent: Option<Uuid>,
    name: String,
    remote: Remote,
}

/// The server's tree under one folder.
pub struct RemoteTree {
    root: Uuid,
    nodes: HashMap<Uuid, Entry>,
    cursor: String,
    /// See [`RemoteTree::take_unshared`].
    unshared: Vec<Uuid>,
}

/// A node as the planner sees it.
pub fn remote_of(node: &Node) -> Remote {
    Remote {
        id: node.id,
        kind: node.kind,
        rev: node.rev.clone(),
        sha256: node.sha256,
        size: node.size.unwrap_or(0),
        modified_ns: node.modified_at.timestamp_nanos_opt().unwrap_or_default(),
    }
}

fn entry_of(node: &Node) -> Entry {
    Entry {
        parent: node.parent_id,
        name: node.name.clone(),
        remote: remote_of(node),
    }
}

impl RemoteTree {
    /// Lists the tree under `root` from scratch. The journal position is taken first, so nothing
    /// that changes during the listing is missed (the next [`RemoteTree::catch_up`] replays it,
    /// harmlessly).
    pub async fn list(client: &Client, root: Uuid) -> Result<RemoteTree, ClientError> {
        let latest: CursorEnvelope = client.changes_latest().await?;
        let mut tree = RemoteTree {
            root,
            nodes: HashMap::new(),
            cursor: latest.cursor,
            unshared: Vec::new(),
        };
        tree.list_under(client, root).await?;
        Ok(tree)
    }

    async fn list_under(&mut self, client: &Client, folder: Uuid) -> Result<(), ClientError> {
        let mut pending = vec![folder];
        while let Some(folder) = pending.pop() {
            let children = match client.children(NodeRef::Id(folder)).await {
                Err(ClientError::Api { status: 404, .. }) => continue,
                other => other?,
            };
            for child in children {
                if child.kind == NodeKind::Folder {
                    pending.push(child.id);
                }
                self.nodes.insert(child.id, entry_of(&child));
            }
        }
        Ok(())
    }

    pub fn cursor(&self) -> &str {
        &self.cursor
    }

    /// The folders that left the tree because they were unshared (not trashed) since the last call:
    /// what the client holds of them stays, as the user's own files.
    pub fn take_unshared(&mut self) -> Vec<Uuid> {
        std::mem::take(&mut self.unshared)
    }

    /// Applies the journal since the mirror's cursor; says whether anything changed. A cursor the
    /// server no longer holds means a fresh listing.
    pub async fn catch_up(&mut self, client: &Client) -> Result<bool, ClientError> {
        let mut changed = false;
        loop {
            let page: ChangesPage = match client.changes(&self.cursor).await {
                Err(ClientError::Api { status: 410, .. }) => {
                    *self = RemoteTree::list(client, self.root).await?;
                    changed = true;
                    continue;
                }
                other => other?,
            };
            for change in &page.changes {
                if change.unshared {
                    self.unshared.push(change.node.id);
                }
                changed |= self.apply(client, change.op, &change.node).await?;
            }
            self.cursor = page.cursor;
            if !page.has_more {
                return Ok(changed);
            }
        }
    }

    async fn apply(
        &mut self,
        client: &Client,
        op: ChangeOp,
        node: &Node,
    ) -> Result<bool, ClientError> {
        match op {
            ChangeOp::Delete => Ok(self.nodes.remove(&node.id).is_some()),
            ChangeOp::Upsert => {
                if node.id == self.root {
                    return Ok(false);
                }
                let known = self.nodes.contains_key(&node.id);
                self.nodes.insert(node.id, entry_of(node));
                // A folder that arrives whole (restored from the trash, or moved in from outside
                // the synced folder) brings children the journal does not list again.
                if !known && node.kind == NodeKind::Folder && self.reaches_root(node.id) {
                    self.list_under(client, node.id).await?;
                }
                Ok(true)
            }
        }
    }

    /// Records a node an action of ours just produced.
    pub fn upsert(&mut self, node: &Node) {
        self.nodes.insert(node.id, entry_of(node));
    }

    pub fn remove(&mut self, id: Uuid) {
        self.nodes.remove(&id);
    }

    fn reaches_root(&self, mut id: Uuid) -> bool {
        for _ in 0..4096 {
            match self.nodes.get(&id).and_then(|entry| entry.parent) {
                Some(parent) if parent == self.root => return true,
                Some(parent) => id = parent,
                None => return false,
            }
        }
        false
    }

    /// Every node under the root by relative path; nodes whose chain no longer reaches the root
    /// (trashed with a parent, moved out) are dropped from the mirror.
    pub fn view(&mut self) -> BTreeMap<String, Remote> {
        let mut paths: HashMap<Uuid, Option<String>> = HashMap::with_capacity(self.nodes.len());
        paths.insert(self.root, Some(String::new()));
        let ids: Vec<Uuid> = self.nodes.keys().copied().collect();
        for id in ids {
            self.resolve(id, &mut paths);
        }
        let mut view = BTreeMap::new();
        self.nodes.retain(|id, entry| match paths.get(id) {
            Some(Some(path)) => {
                view.insert(path.clone(), entry.remote.clone());
                true
            }
            _ => false,
        });
        view
    }

    fn resolve(&self, id: Uuid, paths: &mut HashMap<Uuid, Option<String>>) -> Option<String> {
        // Walk up to the first resolved ancestor, then fill the chain back down.
        let mut chain = Vec::new();
        let mut at = id;
        let mut known = loop {
            if let Some(path) = paths.get(&at) {
                break path.clone();
            }
            match self.nodes.get(&at) {
                Some(entry) if chain.len() < 4096 => {
                    chain.push(at);
                    match entry.parent {
                        Some(parent) => at = parent,
                        None => break None,
                    }
                }
                _ => break None,
            }
        };
        while let Some(node) = chain.pop() {
            known = known.map(|parent| {
                let name = &self.nodes[&node].name;
                if parent.is_empty() {
                    name.clone()
                } else {
                    format!("{parent}/{name}")
                }
            });
            paths.insert(node, known.clone());
        }
        known
    }

    /// The id of the folder at `path` (`""` is the root).
    pub fn folder_id(&self, view: &BTreeMap<String, Remote>, path: &str) -> Option<Uuid> {
        if path.is_empty() {
            return Some(self.root);
        }
        view.get(path)
            .filter(|remote| remote.kind == NodeKind::Folder)
            .map(|remote| remote.id)
    }
}
