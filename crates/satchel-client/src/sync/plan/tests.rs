//! Property tests of the planner against a model of a disk and a server: random histories of
//! edits, creations, deletions, renames and moves on both sides must converge, in a few rounds, to
//! one tree in which every content either side held survives.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use satchel_proto::{NodeKind, Sha256, name_key};
use sha2::Digest;
use uuid::Uuid;

use super::*;

fn sha_of(content: u32) -> Sha256 {
    Sha256::from_bytes(sha2::Sha256::digest(content.to_le_bytes()).into())
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct LocalEntry {
    kind: NodeKind,
    content: u32,
    inode: u64,
    mtime: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct RemoteEntry {
    kind: NodeKind,
    content: u32,
    id: Uuid,
    rev: u64,
}

#[derive(Debug, Default, Clone)]
struct World {
    local: BTreeMap<String, LocalEntry>,
    remote: BTreeMap<String, RemoteEntry>,
    base: BTreeMap<String, Base>,
    clock: u64,
}

fn subtree<V: Clone>(map: &BTreeMap<String, V>, root: &str) -> Vec<String> {
    map.keys().filter(|p| is_within(p, root)).cloned().collect()
}

fn rename_subtree<V: Clone>(map: &mut BTreeMap<String, V>, from: &str, to: &str) {
    for old in subtree(map, from) {
        let value = map.remove(&old).expect("present");
        map.insert(format!("{to}{}", &old[from.len()..]), value);
    }
}

fn remove_subtree<V: Clone>(map: &mut BTreeMap<String, V>, root: &str) {
    for gone in subtree(map, root) {
        map.remove(&gone);
    }
}

fn parent_is_folder<V>(
    map: &BTreeMap<String, V>,
    path: &str,
    kind: impl Fn(&V) -> NodeKind,
) -> bool {
    let parent = parent_of(path);
    parent.is_empty() || map.get(parent).is_some_and(|v| kind(v) == NodeKind::Folder)
}

impl World {
    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    fn stamp(entry: &LocalEntry) -> Stamp {
        Stamp {
            size: u64::from(entry.content),
            mtime_ns: entry.mtime,
            inode: entry.inode,
        }
    }

    fn views(&self) -> Views {
        Views {
            local: self
                .local
                .iter()
                .map(|(path, e)| {
                    let local = Local {
                        kind: e.kind,
                        sha256: (e.kind == NodeKind::File).then(|| sha_of(e.content)),
                        stamp: World::stamp(e),
                        busy: false,
                    };
                    (path.clone(), local)
                })
                .collect(),
            remote: self
                .remote
                .iter()
                .map(|(path, e)| {
                    let remote = Remote {
                        id: e.id,
                        kind: e.kind,
                        rev: e.rev.to_string(),
                        sha256: (e.kind == NodeKind::File).then(|| sha_of(e.content)),
                        size: u64::from(e.content),
                        modified_ns: 0,
                    };
                    (path.clone(), remote)
                })
                .collect(),
            base: self.base.clone(),
        }
    }

    fn remote_free(&self, path: &str) -> bool {
        let key = name_key(path);
        !self.remote.keys().any(|p| name_key(p) == key)
    }

    /// Carries out one action as the engine would, with the same preconditions.
    fn apply(&mut self, action: &Action) {
        match action.clone() {
            Action::CreateRemoteFolder { path } => {
                let Some(local) = self.local.get(&path).cloned() else {
                    return;
                };
                if !self.remote_free(&path) || !parent_is_folder(&self.remote, &path, |e| e.kind) {
                    return;
                }
                let id = Uuid::now_v7();
                let rev = self.tick();
                self.remote.insert(
                    path.clone(),
                    RemoteEntry {
                        kind: NodeKind::Folder,
                        content: 0,
                        id,
                        rev,
                    },
                );
                self.base.insert(
                    path,
                    Base {
                        id,
                        kind: NodeKind::Folder,
                        rev: rev.to_string(),
                        sha256: None,
                        stamp: World::stamp(&local),
                    },
                );
            }
            Action::Upload { path, expect, over } => {
                let Some(local) = self.local.get(&path).cloned() else {
                    return;
                };
                if World::stamp(&local) != expect || local.kind != NodeKind::File {
                    return;
                }
                let rev = self.tick();
                let id = match over {
                    Some((id, old_rev)) => {
                        match self.remote.get_mut(&path) {
                            Some(e) if e.id == id && e.rev.to_string() == old_rev => {
                                e.content = local.content;
                                e.rev = rev;
                            }
                            _ => return,
                        }
                        id
                    }
                    None => {
                        if !self.remote_free(&path)
                            || !parent_is_folder(&self.remote, &path, |e| e.kind)
                        {
                            return;
                        }
                        let id = Uuid::now_v7();
                        self.remote.insert(
                            path.clone(),
                            RemoteEntry {
                                kind: NodeKind::File,
                                content: local.content,
                                id,
                                rev,
                            },
                        );
                        id
                    }
                };
                self.base.insert(
                    path,
                    Base {
                        id,
                        kind: NodeKind::File,
                        rev: rev.to_string(),
                        sha256: Some(sha_of(local.content)),
                        stamp: expect,
                    },
                );
            }
            Action::MoveRemote { id, rev, from, to } => {
                match self.remote.get(&from) {
                    Some(e) if e.id == id && e.rev.to_string() == rev => {}
                    _ => return,
                }
                let key = name_key(&to);
                let clash = self.remote.keys().any(|p| name_key(p) == key && *p != from);
                if clash
                    || !parent_is_folder(&self.remote, &to, |e| e.kind)
                    || is_within(&to, &from)
                {
                    return;
                }
                rename_subtree(&mut self.remote, &from, &to);
                let new_rev = self.tick();
                self.remote.get_mut(&to).expect("moved").rev = new_rev;
                rename_subtree(&mut self.base, &from, &to);
            }
            Action::TrashRemote { path, id, rev } => {
                match self.remote.get(&path) {
                    Some(e) if e.id == id && e.rev.to_string() == rev => {}
                    _ => return,
                }
                remove_subtree(&mut self.remote, &path);
                remove_subtree(&mut self.base, &path);
            }
            Action::CreateLocalFolder { path, remote } => {
                if !parent_is_folder(&self.local, &path, |e| e.kind) {
                    return;
                }
                if let Some(existing) = self.local.get(&path) {
                    if existing.kind != NodeKind::Folder {
                        return;
                    }
                } else {
                    let inode = self.tick();
                    let mtime = self.tick() as i64;
                    self.local.insert(
                        path.clone(),
                        LocalEntry {
                            kind: NodeKind::Folder,
                            content: 0,
                            inode,
                            mtime,
                        },
                    );
                }
                let stamp = World::stamp(&self.local[&path]);
                self.base.insert(
                    path,
                    Base {
                        id: remote.id,
                        kind: NodeKind::Folder,
                        rev: remote.rev,
                        sha256: None,
                        stamp,
                    },
                );
            }
            Action::Download {
                path,
                remote,
                expect,
            } => {
                if !parent_is_folder(&self.local, &path, |e| e.kind) {
                    return;
                }
                if self.local.get(&path).map(World::stamp) != expect {
                    return;
                }
                // The content the server has now (a plan can be stale).
                let Some(now) = self
                    .remote
                    .get(&path)
                    .filter(|e| e.id == remote.id && e.kind == NodeKind::File)
                else {
                    return;
                };
                if Some(sha_of(now.content)) != remote.sha256 {
                    return;
                }
                let entry = LocalEntry {
                    kind: NodeKind::File,
                    content: now.content,
                    inode: self.tick(),
                    mtime: self.tick() as i64,
                };
                let stamp = World::stamp(&entry);
                self.local.insert(path.clone(), entry);
                self.base.insert(
                    path,
                    Base {
                        id: remote.id,
                        kind: NodeKind::File,
                        rev: remote.rev,
                        sha256: remote.sha256,
                        stamp,
                    },
                );
            }
            Action::MoveLocal {
                from,
                to,
                base_from,
            } => {
                if !self.local.contains_key(&from)
                    || self.local.contains_key(&to)
                    || !parent_is_folder(&self.local, &to, |e| e.kind)
                    || is_within(&to, &from)
                {
                    return;
                }
                rename_subtree(&mut self.local, &from, &to);
                rename_subtree(&mut self.base, &base_from, &to);
            }
            Action::DeleteLocal { path, kind, expect } => {
                let Some(entry) = self.local.get(&path) else {
                    return;
                };
                if entry.kind != kind || (kind == NodeKind::File && World::stamp(entry) != expect) {
                    return;
                }
                remove_subtree(&mut self.local, &path);
                remove_subtree(&mut self.base, &path);
            }
            Action::SetAside { from, to } => {
                if !self.local.contains_key(&from) || self.local.contains_key(&to) {
                    return;
                }
                rename_subtree(&mut self.local, &from, &to);
            }
            Action::Agree { path, base } => {
                self.base.insert(path, base);
            }
            Action::Forget { path } => remove_subtree(&mut self.base, &path),
        }
    }

    /// Rounds of plan-and-apply until the plan is empty; the number of rounds taken.
    fn converge(&mut self) -> usize {
        let context = context();
        for round in 1..=20 {
            let actions = plan(&self.views(), &context);
            if actions.is_empty() {
                return round;
            }
            for action in &actions {
                self.apply(action);
            }
        }
        panic!(
            "no convergence in 20 rounds: {:#?}",
            plan(&self.views(), &context)
        );
    }
}

/// Who plans, in every test.
fn context() -> PlanContext {
    PlanContext {
        device: "dev".to_owned(),
        date: "2026-01-01".to_owned(),
    }
}

/// A change a user makes on one side. Indices pick among what exists at that moment.
#[derive(Debug, Clone)]
enum Op {
    Create {
        folder: usize,
        name: usize,
        content: u32,
    },
    Mkdir {
        folder: usize,
        name: usize,
    },
    Edit {
        file: usize,
        content: u32,
    },
    Delete {
        node: usize,
    },
    Rename {
        node: usize,
        name: usize,
    },
    Move {
        node: usize,
        folder: usize,
    },
}

const NAMES: &[&str] = &["a", "b", "A", "c.txt", "C.txt", "d"];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (any::<usize>(), 0..NAMES.len(), 1u32..1_000_000).prop_map(|(folder, name, content)| Op::Create { folder, name, content }),
        1 => (any::<usize>(), 0..NAMES.len()).prop_map(|(folder, name)| Op::Mkdir { folder, name }),
        3 => (any::<usize>(), 1u32..1_000_000).prop_map(|(file, content)| Op::Edit { file, content }),
        2 => any::<usize>().prop_map(|node| Op::Delete { node }),
        2 => (any::<usize>(), 0..NAMES.len()).prop_map(|(node, name)| Op::Rename { node, name }),
        2 => (any::<usize>(), any::<usize>()).prop_map(|(node, folder)| Op::Move { node, folder }),
    ]
}

/// A tree on one side that ops can change: (path → kind, content); ids and inodes follow moves.
trait Side {
    fn kinds(&self) -> Vec<(String, NodeKind)>;
    fn create(&mut self, path: String, kind: NodeKind, content: u32, world_clock: u64);
    fn edit(&mut self, path: &str, content: u32, world_clock: u64);
    fn delete(&mut self, path: &str);
    fn rename(&mut self, from: &str, to: &str, world_clock: u64);
    fn free(&self, path: &str) -> bool;
}

impl Side for BTreeMap<String, LocalEntry> {
    fn kinds(&self) -> Vec<(String, NodeKind)> {
        self.iter().map(|(p, e)| (p.clone(), e.kind)).collect()
    }
    fn create(&mut self, path: String, kind: NodeKind, content: u32, clock: u64) {
        self.insert(
            path,
            LocalEntry {
                kind,
                content,
                inode: clock,
                mtime: clock as i64,
            },
        );
    }
    fn edit(&mut self, path: &str, content: u32, clock: u64) {
        let e = self.get_mut(path).expect("exists");
        e.content = content;
        e.mtime = clock as i64;
    }
    fn delete(&mut self, path: &str) {
        remove_subtree(self, path);
    }
    fn rename(&mut self, from: &str, to: &str, _clock: u64) {
        rename_subtree(self, from, to);
    }
    fn free(&self, path: &str) -> bool {
        !self.contains_key(path)
    }
}

impl Side for BTreeMap<String, RemoteEntry> {
    fn kinds(&self) -> Vec<(String, NodeKind)> {
        self.iter().map(|(p, e)| (p.clone(), e.kind)).collect()
    }
    fn create(&mut self, path: String, kind: NodeKind, content: u32, clock: u64) {
        self.insert(
            path,
            RemoteEntry {
                kind,
                content,
                id: Uuid::now_v7(),
                rev: clock,
            },
        );
    }
    fn edit(&mut self, path: &str, content: u32, clock: u64) {
        let e = self.get_mut(path).expect("exists");
        e.content = content;
        e.rev = clock;
    }
    fn delete(&mut self, path: &str) {
        remove_subtree(self, path);
    }
    fn rename(&mut self, from: &str, to: &str, clock: u64) {
        rename_subtree(self, from, to);
        self.get_mut(to).expect("moved").rev = clock;
    }
    fn free(&self, path: &str) -> bool {
        let key = name_key(path);
        !self.keys().any(|p| name_key(p) == key)
    }
}

fn join_path(folder: &str, name: &str) -> String {
    if folder.is_empty() {
        name.to_owned()
    } else {
        format!("{folder}/{name}")
    }
}

fn run_ops(side: &mut impl Side, ops: &[Op], clock: &mut u64) {
    for op in ops {
        *clock += 1;
        let kinds = side.kinds();
        let folders: Vec<String> = std::iter::once(String::new())
            .chain(
                kinds
                    .iter()
                    .filter(|(_, k)| *k == NodeKind::Folder)
                    .map(|(p, _)| p.clone()),
            )
            .collect();
        let files: Vec<&String> = kinds
            .iter()
            .filter(|(_, k)| *k == NodeKind::File)
            .map(|(p, _)| p)
            .collect();
        match *op {
            Op::Create {
                folder,
                name,
                content,
            } => {
                let path = join_path(&folders[folder % folders.len()], NAMES[name]);
                if side.free(&path) {
                    side.create(path, NodeKind::File, content, *clock);
                }
            }
            Op::Mkdir { folder, name } => {
                let path = join_path(&folders[folder % folders.len()], NAMES[name]);
                if side.free(&path) {
                    side.create(path, NodeKind::Folder, 0, *clock);
                }
            }
            Op::Edit { file, content } => {
                if !files.is_empty() {
                    let path = files[file % files.len()].clone();
                    side.edit(&path, content, *clock);
                }
            }
            Op::Delete { node } => {
                if !kinds.is_empty() {
                    let path = kinds[node % kinds.len()].0.clone();
                    side.delete(&path);
                }
            }
            Op::Rename { node, name } => {
                if !kinds.is_empty() {
                    let from = kinds[node % kinds.len()].0.clone();
                    let to = join_path(parent_of(&from), NAMES[name]);
                    if side.free(&to) {
                        side.rename(&from, &to, *clock);
                    }
                }
            }
            Op::Move { node, folder } => {
                if !kinds.is_empty() {
                    let from = kinds[node % kinds.len()].0.clone();
                    let target = &folders[folder % folders.len()];
                    let to = join_path(target, name_of(&from));
                    if !is_within(target, &from) && side.free(&to) {
                        side.rename(&from, &to, *clock);
                    }
                }
            }
        }
    }
}

fn files(world: &World) -> (BTreeMap<String, u32>, BTreeMap<String, u32>) {
    let local = world
        .local
        .iter()
        .filter(|(_, e)| e.kind == NodeKind::File)
        .map(|(p, e)| (p.clone(), e.content))
        .collect();
    let remote = world
        .remote
        .iter()
        .filter(|(_, e)| e.kind == NodeKind::File)
        .map(|(p, e)| (p.clone(), e.content))
        .collect();
    (local, remote)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn histories_converge_without_losing_content(
        setup in prop::collection::vec(op(), 0..12),
        local_ops in prop::collection::vec(op(), 0..8),
        remote_ops in prop::collection::vec(op(), 0..8),
    ) {
        // A synced starting point: a tree made locally and synced up.
        let mut world = World::default();
        let mut clock = 1_000u64;
        run_ops(&mut world.local, &setup, &mut clock);
        world.converge();
        let (local, remote) = files(&world);
        prop_assert_eq!(&local, &remote);

        // Both sides change independently.
        run_ops(&mut world.local, &local_ops, &mut clock);
        run_ops(&mut world.remote, &remote_ops, &mut clock);
        world.clock = clock + 1;
        let (local_before, remote_before) = files(&world);
        let synced_before: BTreeSet<u32> = local.values().copied().collect();

        let rounds = world.converge();
        prop_assert!(rounds <= 8, "took {} rounds", rounds);

        // One tree on both sides...
        let (local_after, remote_after) = files(&world);
        prop_assert_eq!(&local_after, &remote_after);
        let local_kinds: Vec<_> = world.local.iter().map(|(p, e)| (p.clone(), e.kind)).collect();
        let remote_kinds: Vec<_> = world.remote.iter().map(|(p, e)| (p.clone(), e.kind)).collect();
        prop_assert_eq!(local_kinds, remote_kinds);
        // ...in which every content written since the last sync survives. (Contents that were
        // already synced may be replaced or deleted by the other side: the server keeps them as
        // versions or in its trash.)
        let survivors: BTreeSet<u32> = local_after.values().copied().collect();
        for content in local_before.values().chain(remote_before.values()) {
            if !synced_before.contains(content) {
                prop_assert!(survivors.contains(content), "content {} was lost", content);
            }
        }
    }
}

#[test]
fn conflict_copies_keep_the_extension() {
    assert_eq!(
        aside_name(
            "docs/report.pdf",
            "conflicted copy from laptop 2026-11-23",
            1
        ),
        "docs/report (conflicted copy from laptop 2026-11-23).pdf"
    );
    assert_eq!(
        aside_name(".bashrc", "case conflict", 2),
        ".bashrc (case conflict 2)"
    );
}

/// A synced world whose tree was made locally by `ops`; the clock `ops` used, for later ones.
fn synced(ops: &[Op]) -> (World, u64) {
    let mut world = World::default();
    let mut clock = 10;
    run_ops(&mut world.local, ops, &mut clock);
    world.converge();
    (world, clock)
}

#[test]
fn a_local_rename_is_a_remote_move_not_a_reupload() {
    let (mut world, _) = synced(&[
        Op::Mkdir { folder: 0, name: 5 },
        Op::Create {
            folder: 0,
            name: 3,
            content: 7,
        },
    ]);
    let id = world.remote["c.txt"].id;
    world.local.rename("c.txt", "d/c.txt", 99);
    let actions = plan(&world.views(), &context());
    assert!(
        matches!(actions.as_slice(), [Action::MoveRemote { from, to, .. }] if from == "c.txt" && to == "d/c.txt"),
        "{actions:#?}"
    );
    world.converge();
    assert_eq!(world.remote["d/c.txt"].id, id);
}

#[test]
fn a_remote_rename_is_a_local_move_not_a_download() {
    let (mut world, _) = synced(&[Op::Create {
        folder: 0,
        name: 0,
        content: 7,
    }]);
    let inode = world.local["a"].inode;
    world.remote.rename("a", "b", 99);
    let actions = plan(&world.views(), &context());
    assert!(
        matches!(actions.as_slice(), [Action::MoveLocal { from, to, .. }] if from == "a" && to == "b"),
        "{actions:#?}"
    );
    world.converge();
    assert_eq!(world.local["b"].inode, inode);
}

#[test]
fn a_folder_replaced_by_a_file_keeps_what_arrived_in_it_remotely() {
    // Found by the property test: locally the folder `d` became a file, while on the server a new
    // file arrived in `d`. Trashing the remote folder would take the new file with it.
    let (mut world, _) = synced(&[Op::Mkdir { folder: 0, name: 5 }]);
    world.local.delete("d");
    world.local.create("d".to_owned(), NodeKind::File, 1, 50);
    world.remote.create("d/a".to_owned(), NodeKind::File, 2, 51);
    world.clock = 100;
    world.converge();
    let (local, remote) = files(&world);
    assert_eq!(local, remote);
    assert!(
        local.values().any(|&c| c == 2) && local.values().any(|&c| c == 1),
        "{local:?}"
    );
}

#[test]
fn a_file_moved_into_a_folder_that_took_its_name_converges() {
    // Found by the property test: on the server, `A` was moved into a new folder that was then
    // named `A` (so the file is now `A/A`). The local file cannot move into itself.
    let (mut world, mut clock) = synced(&[Op::Create {
        folder: 0,
        name: 2,
        content: 1,
    }]);
    let ops = [
        Op::Mkdir { folder: 0, name: 3 },
        Op::Move { node: 0, folder: 1 },
        Op::Rename { node: 0, name: 2 },
    ];
    run_ops(&mut world.remote, &ops, &mut clock);
    world.clock = clock + 1;
    assert!(world.converge() <= 8);
    let (local, remote) = files(&world);
    assert_eq!(local, remote);
    assert_eq!(local.get("A/A"), Some(&1));
}
