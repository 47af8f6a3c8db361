//! The sync planner: a pure function from three views of a folder — what is on disk, what is on the
//! server, and what both last agreed on (the base) — to the actions that bring the two sides
//! together. No I/O happens here, so property tests can drive it through thousands of histories.
//!
//! Rules, per path (`L` local, `R` remote, `B` base):
//!
//! - only one side changed since `B`: that change goes to the other side (edits, creations,
//!   deletions, and renames or moves, recognised by node id remotely and by inode locally);
//! - both changed: if they agree (same content, or both deleted) the base is updated; otherwise both
//!   survive — the local copy is set aside as `name (conflicted copy from DEVICE DATE).ext` and is
//!   uploaded as a new file on the next round, the remote one takes the original name. A local delete
//!   of a file that changed remotely brings the remote file back; a remote delete of a file changed
//!   locally uploads it again;
//! - a path whose file is still being written (`Local::busy`) is left alone.
//!
//! A plan may leave work for the next round (after a conflict copy, a move or a kind change): the
//! engine re-plans until the plan is empty. Each round strictly reduces the differences, so the rounds
//! are few.

use std::collections::{BTreeMap, HashMap, HashSet};

use satchel_proto::{NodeKind, Sha256, name_key};
use uuid::Uuid;

/// What identifies a local file's state without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stamp {
    pub size: u64,
    pub mtime_ns: i64,
    pub inode: u64,
}

/// A path on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Local {
    pub kind: NodeKind,
    /// Content hash of a file (`None` for folders, and for files still being written).
    pub sha256: Option<Sha256>,
    pub stamp: Stamp,
    /// The file changed while it was read: leave it for a later round.
    pub busy: bool,
}

/// A path on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    pub id: Uuid,
    pub kind: NodeKind,
    pub rev: String,
    pub sha256: Option<Sha256>,
    pub size: u64,
    /// Last modification on the server, given to a downloaded file.
    pub modified_ns: i64,
}

/// What both sides last agreed on at a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Base {
    pub id: Uuid,
    pub kind: NodeKind,
    pub rev: String,
    pub sha256: Option<Sha256>,
    /// The local file's stamp when it was last synced (its inode also for folders).
    pub stamp: Stamp,
}

/// The three views, keyed by `/`-separated paths relative to the synced folder (`a/b.txt`).
#[derive(Debug, Clone, Default)]
pub struct Views {
    pub local: BTreeMap<String, Local>,
    pub remote: BTreeMap<String, Remote>,
    pub base: BTreeMap<String, Base>,
}

/// One step of a plan. Each carries what the applier must check before acting, so that a change
/// made after planning is never overwritten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Create a folder on the server.
    CreateRemoteFolder { path: String },
    /// Upload the local file; `over` is the remote file (id, rev) it becomes a new version of.
    Upload {
        path: String,
        expect: Stamp,
        over: Option<(Uuid, String)>,
    },
    /// Rename or move a remote node, as the user did locally.
    MoveRemote {
        id: Uuid,
        rev: String,
        from: String,
        to: String,
    },
    /// Move a remote node (and what is under it) to the server's trash.
    TrashRemote { path: String, id: Uuid, rev: String },
    /// Create a local folder.
    CreateLocalFolder { path: String, remote: Remote },
    /// Fetch the remote file to `path`, replacing what is there only if it is still `expect`.
    Download {
        path: String,
        remote: Remote,
        expect: Option<Stamp>,
    },
    /// Rename or move a local path, as happened on the server; the base moves from `base_from`.
    MoveLocal {
        from: String,
        to: String,
        base_from: String,
    },
    /// Delete a local path (a folder with everything under it) that the server deleted; a file
    /// only while it is still `expect`.
    DeleteLocal {
        path: String,
        kind: NodeKind,
        expect: Stamp,
    },
    /// Move the local path aside to a new name (a conflicted or case-conflict copy).
    SetAside { from: String, to: String },
    /// Both sides agree: remember it.
    Agree { path: String, base: Base },
    /// Both sides deleted the path: forget it (and what is under it).
    Forget { path: String },
}

impl Action {
    /// Whether the action deletes something on either side (for the mass-delete guard).
    pub fn is_delete(&self) -> bool {
        matches!(
            self,
            Action::TrashRemote { .. } | Action::DeleteLocal { .. }
        )
    }

    /// The path the action is about, for logs.
    pub fn path(&self) -> &str {
        match self {
            Action::CreateRemoteFolder { path }
            | Action::Upload { path, .. }
            | Action::TrashRemote { path, .. }
            | Action::CreateLocalFolder { path, .. }
            | Action::Download { path, .. }
            | Action::DeleteLocal { path, .. }
            | Action::Agree { path, .. }
            | Action::Forget { path } => path,
            Action::MoveRemote { to, .. } | Action::MoveLocal { to, .. } => to,
            Action::SetAside { from, .. } => from,
        }
    }
}

/// Who is syncing, for conflict copy names.
#[derive(Debug, Clone)]
pub struct PlanContext {
    pub device: String,
    /// `YYYY-MM-DD`.
    pub date: String,
}

/// The parent folder of a path (`""` for top-level entries).
pub fn parent_of(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..i])
}

/// The last component of a path.
pub fn name_of(path: &str) -> &str {
    path.rfind('/').map_or(path, |i| &path[i + 1..])
}

/// Whether `path` is `root` or lies under it.
pub fn is_within(path: &str, root: &str) -> bool {
    path == root
        || (path.len() > root.len()
            && path.starts_with(root)
            && path.as_bytes()[root.len()] == b'/')
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}/{name}")
    }
}

/// `a.txt` + `conflicted copy from X 2026-01-01` → `a (conflicted copy from X 2026-01-01).txt`; a
/// leading dot is part of the stem (`.bashrc (…)`).
pub fn aside_name(path: &str, note: &str, n: u32) -> String {
    let name = name_of(path);
    let note = if n > 1 {
        format!("{note} {n}")
    } else {
        note.to_owned()
    };
    let renamed = match name.rfind('.') {
        Some(dot) if dot > 0 => format!("{} ({note}){}", &name[..dot], &name[dot..]),
        _ => format!("{name} ({note})"),
    };
    join(parent_of(path), &renamed)
}

fn local_same(local: &Local, base: &Base) -> bool {
    local.kind == base.kind && (local.kind == NodeKind::Folder || local.sha256 == base.sha256)
}

fn remote_same(remote: &Remote, base: &Base) -> bool {
    remote.id == base.id
        && remote.kind == base.kind
        && (remote.kind == NodeKind::Folder || remote.sha256 == base.sha256)
}

fn agreed(path: &str, local: &Local, remote: &Remote) -> Action {
    Action::Agree {
        path: path.to_owned(),
        base: Base {
            id: remote.id,
            kind: remote.kind,
            rev: remote.rev.clone(),
            sha256: remote.sha256,
            stamp: local.stamp,
        },
    }
}

struct Planner<'a> {
    views: &'a Views,
    context: &'a PlanContext,
    /// Subtrees already decided this round (moves, folder deletes, set-asides).
    handled: Vec<String>,
    /// Names taken on either side, case-folded, so a new name never clashes.
    taken: HashSet<String>,
    /// Each case-folded remote path, and the first local path with that folding.
    remote_keys: HashMap<String, String>,
    local_keys: HashMap<String, String>,
    actions: Vec<Action>,
}

impl Planner<'_> {
    fn is_handled(&self, path: &str) -> bool {
        self.handled.iter().any(|root| is_within(path, root))
    }

    fn handle(&mut self, path: &str) {
        self.handled.push(path.to_owned());
    }

    /// A free name for a copy of `path` set aside with `note`.
    fn free_aside(&mut self, path: &str, note: &str) -> String {
        let mut n = 1;
        loop {
            let candidate = aside_name(path, note, n);
            if self.taken.insert(name_key(&candidate)) {
                return candidate;
            }
            n += 1;
        }
    }

    fn set_aside(&mut self, path: &str, note: &str) {
        let to = self.free_aside(path, note);
        self.actions.push(Action::SetAside {
            from: path.to_owned(),
            to,
        });
        self.handle(path);
    }

    fn conflict(&mut self, path: &str) {
        let note = format!(
            "conflicted copy from {} {}",
            self.context.device, self.context.date
        );
        self.set_aside(path, &note);
    }

    /// Renames and moves: remote ones (a base node id now at another remote path) first, then local
    /// ones (a base inode now at another local path, the remote node untouched).
    fn moves(&mut self) {
        let views = self.views;
        let remote_by_id: HashMap<Uuid, &str> = views
            .remote
            .iter()
            .map(|(path, remote)| (remote.id, path.as_str()))
            .collect();
        let new_local_by_inode: HashMap<u64, &str> = views
            .local
            .iter()
            .filter(|(path, local)| !local.busy && !views.base.contains_key(*path))
            .map(|(path, local)| (local.stamp.inode, path.as_str()))
            .collect();
        let found_locally = |base: &Base, at: &str| -> bool {
            views.local.get(at).is_some_and(|local| {
                !local.busy && local.stamp.inode == base.stamp.inode && local_same(local, base)
            })
        };
        for (from, base) in &views.base {
            if self.is_handled(from) {
                continue;
            }
            let Some(&to) = remote_by_id.get(&base.id) else {
                continue;
            };
            if to == from || views.base.contains_key(to) || views.local.contains_key(to) {
                continue;
            }
            let local_at = if found_locally(base, from) {
                Some(from.as_str())
            } else {
                new_local_by_inode
                    .get(&base.stamp.inode)
                    .copied()
                    .filter(|at| found_locally(base, at))
            };
            let Some(local_at) = local_at else {
                continue;
            };
            // A folder moved into a new folder of its own name cannot be moved the same way
            // here; the per-path rules bring it over instead.
            if self.is_handled(local_at)
                || self.is_handled(to)
                || is_within(to, local_at)
                || is_within(to, from)
            {
                continue;
            }
            self.actions.push(Action::MoveLocal {
                from: local_at.to_owned(),
                to: to.to_owned(),
                base_from: from.clone(),
            });
            self.handle(from);
            self.handle(local_at);
            self.handle(to);
        }
        for (from, base) in &views.base {
            if self.is_handled(from) || views.local.contains_key(from) {
                continue;
            }
            let Some(&to) = new_local_by_inode.get(&base.stamp.inode) else {
                continue;
            };
            let Some(local) = views.local.get(to) else {
                continue;
            };
            let Some(remote) = views.remote.get(from) else {
                continue;
            };
            let remote_taken = self
                .remote_keys
                .get(&name_key(to))
                .is_some_and(|other| other != from);
            if !local_same(local, base)
                || !remote_same(remote, base)
                || remote_taken
                || self.is_handled(to)
                || is_within(to, from)
            {
                continue;
            }
            self.actions.push(Action::MoveRemote {
                id: remote.id,
                rev: remote.rev.clone(),
                from: from.clone(),
                to: to.to_owned(),
            });
            self.handle(from);
            self.handle(to);
        }
    }

    /// Whether every remote node under `folder` is as the base has it (nothing new or changed
    /// there that a folder delete would take with it).
    fn remote_subtree_unchanged(&self, folder: &str) -> bool {
        let prefix = format!("{folder}/");
        self.views
            .remote
            .range(prefix.clone()..)
            .take_while(|(path, _)| path.starts_with(&prefix))
            .all(|(path, remote)| {
                self.views
                    .base
                    .get(path)
                    .is_some_and(|base| remote_same(remote, base))
            })
    }

    /// Whether every local path under `folder` is as the base has it.
    fn local_subtree_unchanged(&self, folder: &str) -> bool {
        let prefix = format!("{folder}/");
        self.views
            .local
            .range(prefix.clone()..)
            .take_while(|(path, _)| path.starts_with(&prefix))
            .all(|(path, local)| {
                !local.busy
                    && self
                        .views
                        .base
                        .get(path)
                        .is_some_and(|base| local_same(local, base))
            })
    }

    fn path(&mut self, path: &str) {
        let views = self.views;
        let local = views.local.get(path);
        let remote = views.remote.get(path);
        let base = views.base.get(path);
        if local.is_some_and(|l| l.busy) {
            return;
        }
        match (local, remote, base) {
            (None, None, None) => {}
            (None, None, Some(_)) => self.actions.push(Action::Forget {
                path: path.to_owned(),
            }),
            // New on one side.
            (Some(local), None, None) => self.push_new(path, local),
            (None, Some(remote), None) => self.pull_new(path, remote, None),
            // New on both sides.
            (Some(local), Some(remote), None) => {
                if local.kind == remote.kind
                    && (local.kind == NodeKind::Folder || local.sha256 == remote.sha256)
                {
                    self.actions.push(agreed(path, local, remote));
                } else {
                    self.conflict(path);
                }
            }
            (Some(local), Some(remote), Some(base)) => {
                let local_changed = !local_same(local, base);
                let remote_changed = !remote_same(remote, base);
                match (local_changed, remote_changed) {
                    (false, false) => {
                        if local.stamp != base.stamp || remote.rev != base.rev {
                            // Touched but not changed (or renamed back): refresh the base.
                            self.actions.push(agreed(path, local, remote));
                        }
                    }
                    (true, false) => {
                        if local.kind == remote.kind && local.kind == NodeKind::File {
                            self.actions.push(Action::Upload {
                                path: path.to_owned(),
                                expect: local.stamp,
                                over: Some((remote.id, remote.rev.clone())),
                            });
                        } else if remote.kind == NodeKind::Folder
                            && !self.remote_subtree_unchanged(path)
                        {
                            // A folder replaced by a file here, while something new arrived in
                            // it on the server: keep both.
                            self.conflict(path);
                        } else {
                            // A file became a folder or the other way: out with the old first.
                            self.actions.push(Action::TrashRemote {
                                path: path.to_owned(),
                                id: remote.id,
                                rev: remote.rev.clone(),
                            });
                            self.handle(path);
                        }
                    }
                    (false, true) => {
                        if local.kind == remote.kind && local.kind == NodeKind::File {
                            self.actions.push(Action::Download {
                                path: path.to_owned(),
                                remote: remote.clone(),
                                expect: Some(local.stamp),
                            });
                        } else if local.kind == remote.kind {
                            // A folder replaced by another of the same name: adopt its id.
                            self.actions.push(agreed(path, local, remote));
                        } else {
                            self.conflict(path);
                        }
                    }
                    (true, true) => {
                        if local.kind == remote.kind
                            && (local.kind == NodeKind::Folder || local.sha256 == remote.sha256)
                        {
                            self.actions.push(agreed(path, local, remote));
                        } else {
                            self.conflict(path);
                        }
                    }
                }
            }
            // Deleted locally.
            (None, Some(remote), Some(base)) => {
                if !remote_same(remote, base) {
                    // Changed remotely: bring it back.
                    self.pull_new(path, remote, None);
                } else if remote.kind == NodeKind::File || self.remote_subtree_unchanged(path) {
                    self.actions.push(Action::TrashRemote {
                        path: path.to_owned(),
                        id: remote.id,
                        rev: remote.rev.clone(),
                    });
                    self.handle(path);
                } else {
                    // Something new lives in the remote folder: keep the folder for it.
                    self.pull_new(path, remote, None);
                }
            }
            // Deleted remotely.
            (Some(local), None, Some(base)) => {
                if !local_same(local, base) {
                    self.push_new(path, local);
                } else if local.kind == NodeKind::File {
                    self.actions.push(Action::DeleteLocal {
                        path: path.to_owned(),
                        kind: NodeKind::File,
                        expect: local.stamp,
                    });
                } else if self.local_subtree_unchanged(path) {
                    self.actions.push(Action::DeleteLocal {
                        path: path.to_owned(),
                        kind: NodeKind::Folder,
                        expect: local.stamp,
                    });
                    self.handle(path);
                } else {
                    self.push_new(path, local);
                }
            }
        }
    }

    fn push_new(&mut self, path: &str, local: &Local) {
        // A name that clashes only by case with another on the server (or an earlier local one)
        // cannot exist there: keep it under another name.
        let key = name_key(path);
        let clash = |first: Option<&String>| first.is_some_and(|other| other != path);
        if clash(self.remote_keys.get(&key)) || clash(self.local_keys.get(&key)) {
            self.set_aside(path, "case conflict");
            return;
        }
        match local.kind {
            NodeKind::Folder => self.actions.push(Action::CreateRemoteFolder {
                path: path.to_owned(),
            }),
            NodeKind::File => self.actions.push(Action::Upload {
                path: path.to_owned(),
                expect: local.stamp,
                over: None,
            }),
        }
    }

    fn pull_new(&mut self, path: &str, remote: &Remote, expect: Option<Stamp>) {
        match remote.kind {
            NodeKind::Folder => self.actions.push(Action::CreateLocalFolder {
                path: path.to_owned(),
                remote: remote.clone(),
            }),
            NodeKind::File => self.actions.push(Action::Download {
                path: path.to_owned(),
                remote: remote.clone(),
                expect,
            }),
        }
    }
}

/// Each case-folded path, and the first path with that folding.
fn folded<'a>(paths: impl Iterator<Item = &'a String>) -> HashMap<String, String> {
    let mut keys = HashMap::new();
    for path in paths {
        keys.entry(name_key(path)).or_insert_with(|| path.clone());
    }
    keys
}

/// The actions that bring local and remote together, in the order to carry them out: moves first,
/// then creations (parents before children), transfers, and deletions (children before parents).
pub fn plan(views: &Views, context: &PlanContext) -> Vec<Action> {
    let taken = views
        .local
        .keys()
        .chain(views.remote.keys())
        .chain(views.base.keys())
        .map(|path| name_key(path))
        .collect();
    let mut planner = Planner {
        views,
        context,
        handled: Vec::new(),
        taken,
        remote_keys: folded(views.remote.keys()),
        local_keys: folded(views.local.keys()),
        actions: Vec::new(),
    };
    planner.moves();
    let mut paths: Vec<&String> = views
        .local
        .keys()
        .chain(views.remote.keys())
        .chain(views.base.keys())
        .collect();
    paths.sort_unstable();
    paths.dedup();
    for path in paths {
        if !planner.is_handled(path) {
            planner.path(path);
        }
    }
    let rank = |action: &Action| match action {
        Action::MoveLocal { .. } | Action::MoveRemote { .. } | Action::SetAside { .. } => 0,
        Action::CreateLocalFolder { .. } | Action::CreateRemoteFolder { .. } => 1,
        Action::Upload { .. } | Action::Download { .. } | Action::Agree { .. } => 2,
        Action::TrashRemote { .. } | Action::DeleteLocal { .. } | Action::Forget { .. } => 3,
    };
    let mut actions = planner.actions;
    // Stable: within a rank, path order (parents first); deletions go deepest first.
    actions.sort_by(|a, b| {
        rank(a).cmp(&rank(b)).then_with(|| {
            if rank(a) == 3 {
                b.path().cmp(a.path())
            } else {
                std::cmp::Ordering::Equal
            }
        })
    });
    actions
}

#[cfg(test)]
mod tests;
