//! The applier: one round is catch up with the server's journal, walk the folder, plan, and carry
//! the plan out; a pass repeats rounds until nothing is left to do. Every action re-checks, just
//! before it touches anything, that what it replaces is still what was planned on — a file edited a
//! moment ago is never overwritten, a remote file changed a moment ago is never trashed (`If-Match`).

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use satchel_proto::{Node, NodeKind, NodeName, NodeRef, OnConflict, PatchNode, Sha256};
use sha2::Digest;
use uuid::Uuid;

use super::plan::{Action, Base, PlanContext, Remote, Stamp, Views, name_of, parent_of, plan};
use super::remote::{RemoteTree, remote_of};
use super::scan::{Ignore, scan, stamp_of};
use super::state::State;
use crate::{
    Client, ClientError, Destination, FileChunk, FileChunks, LocalIndex, SMALL_FILE, upload_file,
};

/// Small-file transfers carried out at once: each is mostly waiting (a round trip, an fsync), and
/// many flushes in flight let the file system commit them together.
const PARALLEL_SMALL: usize = 64;
/// Large-file transfers at once (each also moves several chunks at once).
const PARALLEL_LARGE: usize = 4;
/// Rounds per pass before giving up on converging (each round makes progress; a few suffice).
const MAX_ROUNDS: usize = 12;
/// Deletions above this many (or half the synced files) wait for `--allow-mass-delete`.
const MASS_DELETE: usize = 500;

/// How a folder is synced.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// The local folder.
    pub dir: PathBuf,
    /// The remote folder, `/`-rooted (`/` for the whole tree).
    pub remote: String,
    /// This computer's name, for conflicted copies.
    pub device: String,
    /// Propagate mass deletions without asking.
    pub allow_mass_delete: bool,
}

/// What a pass did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Summary {
    pub uploaded: usize,
    pub downloaded: usize,
    pub created_folders: usize,
    pub moved: usize,
    pub deleted_local: usize,
    pub trashed_remote: usize,
    pub conflicts: usize,
    /// Bytes sent and received for file contents.
    pub sent_bytes: u64,
    pub received_bytes: u64,
    /// Bytes of downloaded files found in local files instead of fetched.
    pub reused_bytes: u64,
    /// Bytes read to hash new or changed local files.
    pub hashed_bytes: u64,
    /// Deletions held back by the mass-delete guard.
    pub held_back: usize,
    /// Paths that failed, with why.
    pub problems: Vec<(String, String)>,
    /// Paths skipped by the walk, with why.
    pub skipped: Vec<(String, String)>,
    pub rounds: usize,
}

impl Summary {
    pub fn changed_anything(&self) -> bool {
        self.uploaded
            + self.downloaded
            + self.created_folders
            + self.moved
            + self.deleted_local
            + self.trashed_remote
            + self.conflicts
            > 0
    }
}

/// Which way file content went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Up,
    Down,
}

/// What carrying out one action produced.
enum Effect {
    /// The path is synced: its new base, and the remote node if an action of ours made it.
    Synced {
        path: String,
        transfer: Option<Direction>,
        base: Base,
        node: Option<Box<Node>>,
        sent: u64,
        received: u64,
        reused: u64,
    },
    /// The world moved on since planning: the next round re-plans this path.
    Skipped,
    /// A permanent failure for this path (reported, retried next pass).
    Failed(String, String),
    /// Bookkeeping done inside the action (moves, deletions, set-asides).
    Done,
}

/// One synced folder.
pub struct Engine {
    client: Arc<Client>,
    dir: PathBuf,
    options: SyncOptions,
    state: State,
    remote: RemoteTree,
    root: Uuid,
    index: Arc<LocalIndex>,
    ignore: Arc<Ignore>,
    /// Held (locked) while this engine lives: one client per folder.
    _lock: std::fs::File,
}

fn is_conflict(error: &ClientError) -> bool {
    matches!(
        error,
        ClientError::Api {
            status: 404 | 409 | 412,
            ..
        }
    )
}

impl Engine {
    /// Opens `options.dir` for syncing with `options.remote` (created if missing). A folder is bound
    /// to one server account and remote folder; binding it elsewhere is refused.
    pub async fn open(client: Arc<Client>, options: SyncOptions) -> Result<Engine, ClientError> {
        let dir = std::path::absolute(&options.dir)?;
        if !dir.is_dir() {
            return Err(ClientError::Other(format!(
                "{} is not a folder",
                dir.display()
            )));
        }
        let remote_path = format!("/{}", options.remote.trim_matches('/'));
        let mut state = State::open(&dir).await?;
        let lock = std::fs::File::create(dir.join(".satchel").join("lock"))?;
        if lock.try_lock().is_err() {
            return Err(ClientError::Other(format!(
                "another `satchel sync` is already running on {}",
                dir.display()
            )));
        }
        let credentials = client.credentials();
        let binding = format!("{} {} {remote_path}", credentials.server, credentials.email);
        match state.meta("binding").await? {
            Some(bound) if bound != binding => {
                return Err(ClientError::Other(format!(
                    "{} is already synced with {bound}; use another folder",
                    dir.display()
                )));
            }
            Some(_) => {}
            None => state.set_meta("binding", &binding).await?,
        }
        let root = ensure_folder(&client, &remote_path).await?;
        // A remote folder deleted and made again is a new folder: what the base says about the old
        // one must not turn into local deletions.
        if state.meta("root_id").await?.as_deref() != Some(root.to_string().as_str()) {
            state.clear_base().await?;
            state.set_meta("root_id", &root.to_string()).await?;
        }
        let remote = RemoteTree::list(&client, root).await?;
        let index = Arc::new(super::state::chunk_index(&dir));
        let ignore = Arc::new(Ignore::load(&dir));
        Ok(Engine {
            client,
            dir,
            options,
            state,
            remote,
            root,
            index,
            ignore,
            _lock: lock,
        })
    }

    /// Lets the next passes propagate mass deletions (after the user confirmed them).
    pub fn allow_mass_delete(&mut self) {
        self.options.allow_mass_delete = true;
    }

    /// The journal position the mirror has reached (for the long-poll fallback).
    pub fn cursor(&self) -> String {
        self.remote.cursor().to_owned()
    }

    /// Lists the remote folder again from scratch (the periodic safety net).
    pub async fn relist(&mut self) -> Result<(), ClientError> {
        self.remote = RemoteTree::list(&self.client, self.root).await?;
        self.ignore = Arc::new(Ignore::load(&self.dir));
        Ok(())
    }

    /// One full pass: rounds until local and remote agree (or only held-back deletions remain).
    pub async fn sync_once(&mut self) -> Result<Summary, ClientError> {
        let mut summary = Summary::default();
        self.check_mounts().await?;
        for _ in 0..MAX_ROUNDS {
            summary.rounds += 1;
            let progressed = self.round(&mut summary).await?;
            if !progressed {
                break;
            }
        }
        self.state.flush().await?;
        self.state.set_problems(&summary.problems).await?;
        if let Err(error) = self.index.save() {
            tracing::warn!("could not save the chunk index: {error}");
        }
        Ok(summary)
    }

    /// Compares the folders shared with us to those of the last pass: one that is no longer
    /// shared (revoked while this client was not running) is released like an `unshared` change.
    async fn check_mounts(&mut self) -> Result<(), ClientError> {
        let now: Vec<String> = self
            .client
            .shares(true)
            .await?
            .iter()
            .map(|share| share.node_id.to_string())
            .collect();
        let before = self.state.meta("mounts").await?.unwrap_or_default();
        for id in before.split(',').filter(|id| !id.is_empty()) {
            if !now.iter().any(|mount| mount == id)
                && let Ok(id) = id.parse()
            {
                self.release(id);
            }
        }
        self.state.set_meta("mounts", &now.join(",")).await
    }

    /// A folder no longer shared with us: what we hold of it is ours now, plain files that the plan
    /// uploads to our own tree — never deleted as if the server had deleted it.
    fn release(&mut self, id: Uuid) {
        let path = self
            .state
            .base()
            .iter()
            .find(|(_, base)| base.id == id)
            .map(|(path, _)| path.clone());
        if let Some(path) = path {
            tracing::info!("~ {path} is no longer shared with you: your copy stays as your own");
            self.state.forget(&path);
        }
    }

    /// One round; says whether it changed anything (so another round may be needed).
    async fn round(&mut self, summary: &mut Summary) -> Result<bool, ClientError> {
        self.remote.catch_up(&self.client).await?;
        for id in self.remote.take_unshared() {
            self.release(id);
        }
        let ignore = self.ignore.clone();
        let remote: BTreeMap<String, Remote> = self
            .remote
            .view()
            .into_iter()
            .filter(|(path, remote)| !ignore.covers(path, remote.kind == NodeKind::Folder))
            .collect();
        let base = self.state.base().clone();
        // The walk runs on a blocking thread; the base goes there and comes back (one copy).
        let (scanned, base) = {
            let (dir, ignore, index) = (self.dir.clone(), self.ignore.clone(), self.index.clone());
            tokio::task::spawn_blocking(move || {
                let scanned = scan(&dir, &ignore, &base, &index);
                (scanned, base)
            })
            .await
            .map_err(|e| ClientError::Other(e.to_string()))?
        };
        let (local, notes) = scanned?;
        summary.skipped = notes.skipped;
        summary.hashed_bytes += notes.hashed_bytes;
        let views = Views {
            local,
            remote,
            base,
        };
        let context = PlanContext {
            device: self.options.device.clone(),
            date: chrono::Local::now().format("%Y-%m-%d").to_string(),
        };
        let mut actions = plan(&views, &context);
        let deleting = count_deletes(&actions, &views);
        let synced_files = views
            .base
            .values()
            .filter(|b| b.kind == NodeKind::File)
            .count();
        if !self.options.allow_mass_delete
            && (deleting > MASS_DELETE || (synced_files >= 10 && deleting * 2 > synced_files))
        {
            actions.retain(|action| !action.is_delete());
            if summary.held_back == 0 {
                tracing::warn!(
                    "holding back {deleting} deletions ({synced_files} files synced): if they are \
                     meant, run `satchel sync {} --allow-mass-delete`",
                    self.dir.display()
                );
            }
            summary.held_back = deleting;
        }
        if actions.is_empty() {
            return Ok(false);
        }
        let mut remote_view = views.remote;
        let mut progressed = false;
        // Consecutive transfers run in parallel; everything else in plan order.
        let mut pending = actions.into_iter().peekable();
        while let Some(action) = pending.next() {
            if matches!(action, Action::Upload { .. } | Action::Download { .. }) {
                let mut batch = vec![action];
                while let Some(next) = pending
                    .next_if(|a| matches!(a, Action::Upload { .. } | Action::Download { .. }))
                {
                    batch.push(next);
                }
                let locations = self.index.chunk_locations();
                let (small, large): (Vec<Action>, Vec<Action>) = batch
                    .into_iter()
                    .partition(|action| transfer_size(action) <= SMALL_FILE);
                for (group, parallel) in [(small, PARALLEL_SMALL), (large, PARALLEL_LARGE)] {
                    let mut effects = Vec::with_capacity(group.len());
                    let mut failure = None;
                    {
                        let mut results = futures_util::stream::iter(group)
                            .map(|action| self.transfer(action, &remote_view, &locations))
                            .buffer_unordered(parallel);
                        while let Some(result) = results.next().await {
                            match result {
                                Ok(effect) => effects.push(effect),
                                Err(error) => {
                                    failure = Some(error);
                                    break;
                                }
                            }
                        }
                    }
                    // What finished is recorded even when the round stops on an error.
                    for effect in effects {
                        progressed |= self.settle(effect, &mut remote_view, summary);
                    }
                    self.state.flush().await?;
                    if let Some(error) = failure {
                        return Err(error);
                    }
                }
                continue;
            }
            let effect = self.act(action, &mut remote_view, summary).await?;
            progressed |= self.settle(effect, &mut remote_view, summary);
        }
        self.state.flush().await?;
        Ok(progressed)
    }

    /// Records an effect; says whether it was progress.
    fn settle(
        &mut self,
        effect: Effect,
        remote_view: &mut BTreeMap<String, Remote>,
        summary: &mut Summary,
    ) -> bool {
        match effect {
            Effect::Synced {
                path,
                transfer,
                base,
                node,
                sent,
                received,
                reused,
            } => {
                match transfer {
                    Some(Direction::Up) => summary.uploaded += 1,
                    Some(Direction::Down) => summary.downloaded += 1,
                    None => {}
                }
                if let Some(node) = node {
                    self.remote.upsert(&node);
                    remote_view.insert(path.clone(), remote_of(&node));
                }
                summary.sent_bytes += sent;
                summary.received_bytes += received;
                summary.reused_bytes += reused;
                self.state.set_base(&path, base);
                true
            }
            Effect::Done => true,
            Effect::Skipped => false,
            Effect::Failed(path, message) => {
                tracing::warn!("✗ {path}: {message}");
                summary.problems.retain(|(p, _)| *p != path);
                summary.problems.push((path, message));
                false
            }
        }
    }

    /// Carries out a non-transfer action.
    async fn act(
        &mut self,
        action: Action,
        remote_view: &mut BTreeMap<String, Remote>,
        summary: &mut Summary,
    ) -> Result<Effect, ClientError> {
        let client = self.client.clone();
        match action {
            Action::Agree { path, base } => Ok(Effect::Synced {
                path,
                transfer: None,
                base,
                node: None,
                sent: 0,
                received: 0,
                reused: 0,
            }),
            Action::Forget { path } => {
                self.state.forget(&path);
                Ok(Effect::Done)
            }
            Action::CreateRemoteFolder { path } => {
                let Some(parent) = self.remote.folder_id(remote_view, parent_of(&path)) else {
                    return Ok(Effect::Skipped);
                };
                let Ok(meta) = std::fs::metadata(self.dir.join(&path)) else {
                    return Ok(Effect::Skipped);
                };
                let name = node_name(&path)?;
                match client
                    .create_folder(NodeRef::Id(parent), name, OnConflict::Fail)
                    .await
                {
                    Ok(node) => {
                        tracing::info!("↑ created folder {path}");
                        summary.created_folders += 1;
                        Ok(synced(path, &node, stamp_of(&meta)))
                    }
                    Err(error) if is_conflict(&error) => Ok(Effect::Skipped),
                    Err(error) => Err(error),
                }
            }
            Action::CreateLocalFolder { path, remote } => {
                let local = self.dir.join(&path);
                match std::fs::create_dir(&local) {
                    Ok(()) => {}
                    Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                        return Ok(Effect::Skipped);
                    }
                    Err(error) => return Ok(Effect::Failed(path, error.to_string())),
                }
                let meta = std::fs::symlink_metadata(&local)?;
                if !meta.is_dir() {
                    return Ok(Effect::Skipped);
                }
                tracing::info!("↓ created folder {path}");
                summary.created_folders += 1;
                Ok(Effect::Synced {
                    path,
                    transfer: None,
                    base: Base {
                        id: remote.id,
                        kind: NodeKind::Folder,
                        rev: remote.rev,
                        sha256: None,
                        stamp: stamp_of(&meta),
                    },
                    node: None,
                    sent: 0,
                    received: 0,
                    reused: 0,
                })
            }
            Action::MoveRemote { id, rev, from, to } => {
                let Some(parent) = self.remote.folder_id(remote_view, parent_of(&to)) else {
                    return Ok(Effect::Skipped);
                };
                let patch = PatchNode {
                    name: Some(node_name(&to)?),
                    parent_id: Some(NodeRef::Id(parent)),
                    base_rev: Some(rev),
                    on_conflict: OnConflict::Fail,
                };
                match client.patch(id, patch).await {
                    Ok(node) => {
                        tracing::info!("↑ moved {from} → {to}");
                        summary.moved += 1;
                        self.remote.upsert(&node);
                        self.state.rename(&from, &to);
                        Ok(Effect::Done)
                    }
                    Err(error) if is_conflict(&error) => Ok(Effect::Skipped),
                    Err(error) => Err(error),
                }
            }
            Action::TrashRemote { path, id, rev } => match client.trash_if(id, &rev).await {
                Ok(()) => {
                    tracing::info!("↑ moved {path} to the server's trash");
                    summary.trashed_remote += 1;
                    self.remote.remove(id);
                    self.state.forget(&path);
                    Ok(Effect::Done)
                }
                Err(error) if is_conflict(&error) => Ok(Effect::Skipped),
                Err(error) => Err(error),
            },
            Action::MoveLocal {
                from,
                to,
                base_from,
            } => {
                let (source, target) = (self.dir.join(&from), self.dir.join(&to));
                if std::fs::symlink_metadata(&target).is_ok()
                    || !target.parent().is_some_and(Path::is_dir)
                {
                    return Ok(Effect::Skipped);
                }
                match std::fs::rename(&source, &target) {
                    Ok(()) => {
                        tracing::info!("↓ moved {from} → {to}");
                        summary.moved += 1;
                        self.state.rename(&base_from, &to);
                        Ok(Effect::Done)
                    }
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                        Ok(Effect::Skipped)
                    }
                    Err(error) => Ok(Effect::Failed(from, error.to_string())),
                }
            }
            Action::DeleteLocal { path, kind, expect } => {
                let local = self.dir.join(&path);
                let Ok(meta) = std::fs::symlink_metadata(&local) else {
                    return Ok(Effect::Skipped);
                };
                let result = match kind {
                    NodeKind::File if stamp_of(&meta) == expect && meta.is_file() => {
                        std::fs::remove_file(&local)
                    }
                    NodeKind::Folder if meta.is_dir() => std::fs::remove_dir_all(&local),
                    _ => return Ok(Effect::Skipped),
                };
                match result {
                    Ok(()) => {
                        tracing::info!(
                            "↓ deleted {path} (deleted on the server; it is in the server's trash)"
                        );
                        summary.deleted_local += 1;
                        self.state.forget(&path);
                        Ok(Effect::Done)
                    }
                    Err(error) => Ok(Effect::Failed(path, error.to_string())),
                }
            }
            Action::SetAside { from, to } => {
                let (source, target) = (self.dir.join(&from), self.dir.join(&to));
                if std::fs::symlink_metadata(&target).is_ok() {
                    return Ok(Effect::Skipped);
                }
                match std::fs::rename(&source, &target) {
                    Ok(()) => {
                        tracing::info!("! {from} changed on both sides: yours is kept as {to}");
                        summary.conflicts += 1;
                        self.state.record_conflict(&to, &from).await?;
                        Ok(Effect::Done)
                    }
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                        Ok(Effect::Skipped)
                    }
                    Err(error) => Ok(Effect::Failed(from, error.to_string())),
                }
            }
            Action::Upload { .. } | Action::Download { .. } => {
                unreachable!("transfers run in batches")
            }
        }
    }

    /// Carries out an upload or a download.
    async fn transfer(
        &self,
        action: Action,
        remote_view: &BTreeMap<String, Remote>,
        locations: &HashMap<Sha256, (PathBuf, FileChunk)>,
    ) -> Result<Effect, ClientError> {
        let result = match &action {
            Action::Upload { path, expect, over } => {
                self.upload(path, *expect, over.as_ref(), remote_view).await
            }
            Action::Download {
                path,
                remote,
                expect,
            } => self.download(path, remote, *expect, locations).await,
            _ => unreachable!("only transfers"),
        };
        match result {
            Ok(effect) => Ok(effect),
            Err(error) if is_conflict(&error) => Ok(Effect::Skipped),
            Err(error) if error.is_transient() => Err(error),
            Err(error) => Ok(Effect::Failed(action.path().to_owned(), error.to_string())),
        }
    }

    async fn upload(
        &self,
        path: &str,
        expect: Stamp,
        over: Option<&(Uuid, String)>,
        remote_view: &BTreeMap<String, Remote>,
    ) -> Result<Effect, ClientError> {
        let local = self.dir.join(path);
        match std::fs::symlink_metadata(&local) {
            Ok(meta) if meta.is_file() && stamp_of(&meta) == expect => {}
            _ => return Ok(Effect::Skipped),
        }
        let Some(parent) = self.remote.folder_id(remote_view, parent_of(path)) else {
            return Ok(Effect::Skipped);
        };
        let to = Destination {
            parent: NodeRef::Id(parent),
            name: node_name(path)?,
            existing: None,
            base_rev: over.map(|(_, rev)| rev.clone()),
            on_conflict: Some(if over.is_some() { "version" } else { "fail" }.to_owned()),
        };
        let done = upload_file(&self.client, &local, &to, Some(&self.index), &()).await?;
        tracing::info!(
            "↑ uploaded {path} ({}, {} sent)",
            human(done.node.size.unwrap_or(0)),
            human(done.sent)
        );
        let mut effect = synced(path.to_owned(), &done.node, expect);
        if let Effect::Synced { sent, transfer, .. } = &mut effect {
            *sent = done.sent;
            *transfer = Some(Direction::Up);
        }
        Ok(effect)
    }

    async fn download(
        &self,
        path: &str,
        remote: &Remote,
        expect: Option<Stamp>,
        locations: &HashMap<Sha256, (PathBuf, FileChunk)>,
    ) -> Result<Effect, ClientError> {
        let local = self.dir.join(path);
        let Some(folder) = local.parent().filter(|p| p.is_dir()) else {
            return Ok(Effect::Skipped);
        };
        let expected = remote
            .sha256
            .ok_or_else(|| ClientError::Other(format!("{path} has no content hash")))?;
        let part = folder.join(format!(".{}.satchel-part", name_of(path)));
        let fetched = self.fetch(remote, expected, &part, locations).await;
        let (cut, received, reused) = match fetched {
            Ok(done) => done,
            Err(error) => {
                let _ = std::fs::remove_file(&part);
                return Err(error);
            }
        };
        // Only now, with the new content complete on disk, look again at what it replaces.
        let now = std::fs::symlink_metadata(&local).ok().map(|m| stamp_of(&m));
        if now != expect {
            let _ = std::fs::remove_file(&part);
            return Ok(Effect::Skipped);
        }
        std::fs::rename(&part, &local)?;
        let meta = std::fs::metadata(&local)?;
        if let Some(cut) = &cut {
            self.index.remember(&local, &meta, cut);
        }
        tracing::info!(
            "↓ downloaded {path} ({}, {} fetched)",
            human(remote.size),
            human(received)
        );
        Ok(Effect::Synced {
            path: path.to_owned(),
            transfer: Some(Direction::Down),
            base: Base {
                id: remote.id,
                kind: NodeKind::File,
                rev: remote.rev.clone(),
                sha256: remote.sha256,
                stamp: stamp_of(&meta),
            },
            node: None,
            sent: 0,
            received,
            reused,
        })
    }

    /// Writes the remote file's bytes to `part`: chunks found in local files are copied from them,
    /// the rest fetched (four at a time); the whole is checked against `expected` and fsync'd.
    /// Returns the file's cut when known, bytes fetched and bytes reused.
    async fn fetch(
        &self,
        remote: &Remote,
        expected: Sha256,
        part: &Path,
        locations: &HashMap<Sha256, (PathBuf, FileChunk)>,
    ) -> Result<(Option<FileChunks>, u64, u64), ClientError> {
        let mut file = std::fs::File::create(part)?;
        let mut hasher = sha2::Sha256::new();
        let (mut received, mut reused) = (0u64, 0u64);
        let mut cut = None;
        // A large file's chunk list: to copy what local files already hold, and to remember the
        // file's cut so that later edits and downloads can reuse its chunks too.
        let listed = if remote.size > SMALL_FILE {
            Some(self.client.file_chunks(remote.id).await?)
        } else {
            None
        };
        let reusable = listed
            .as_ref()
            .is_some_and(|chunks| chunks.iter().any(|c| locations.contains_key(&c.sha256)));
        if !reusable {
            let response = self.client.download(remote.id, 0).await?;
            let mut stream = response.bytes_stream();
            while let Some(piece) = stream.next().await {
                let piece = piece?;
                file.write_all(&piece)?;
                hasher.update(&piece);
                received += piece.len() as u64;
            }
        } else {
            let chunks = listed.as_deref().unwrap_or_default();
            let client = &self.client;
            let mut pieces = futures_util::stream::iter(chunks.iter().cloned())
                .map(|chunk| async move {
                    if let Some((path, at)) = locations.get(&chunk.sha256) {
                        let (path, at) = (path.clone(), *at);
                        let local = tokio::task::spawn_blocking(move || read_verified(&path, at))
                            .await
                            .ok()
                            .flatten();
                        if let Some(bytes) = local {
                            return Ok::<_, ClientError>((bytes, true));
                        }
                    }
                    Ok((client.chunk(&chunk.sha256).await?, false))
                })
                .buffered(4);
            while let Some(piece) = pieces.next().await {
                let (bytes, local) = piece?;
                file.write_all(&bytes)?;
                hasher.update(&bytes);
                if local {
                    reused += bytes.len() as u64;
                } else {
                    received += bytes.len() as u64;
                }
            }
        }
        if let Some(chunks) = &listed {
            cut = Some(FileChunks {
                size: remote.size,
                sha256: expected,
                chunks: chunks
                    .iter()
                    .map(|c| FileChunk {
                        offset: c.offset,
                        size: c.size,
                        sha256: c.sha256,
                    })
                    .collect(),
            });
        }
        let actual = Sha256::from_bytes(hasher.finalize().into());
        if actual != expected {
            // The file changed on the server meanwhile: 412 makes the round re-plan it.
            return Err(ClientError::Api {
                status: 412,
                code: satchel_proto::ProblemCode::RevMismatch,
                detail: Some("the file changed during the download".to_owned()),
            });
        }
        // The flush waits on the disk: off the async workers, so that many run at once and the
        // file system commits them together.
        let modified = std::time::UNIX_EPOCH
            + std::time::Duration::from_nanos(remote.modified_ns.max(0) as u64);
        tokio::task::spawn_blocking(move || {
            file.sync_all()?;
            let _ = file.set_modified(modified);
            Ok::<_, std::io::Error>(())
        })
        .await
        .map_err(|e| ClientError::Other(e.to_string()))??;
        Ok((cut, received, reused))
    }

    /// Closes the state database.
    pub async fn close(self) {
        self.state.close().await;
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn client(&self) -> &Arc<Client> {
        &self.client
    }
}

/// Bytes an upload or a download moves.
fn transfer_size(action: &Action) -> u64 {
    match action {
        Action::Upload { expect, .. } => expect.size,
        Action::Download { remote, .. } => remote.size,
        _ => 0,
    }
}

/// Reads a chunk from a local file, if it is still there and still hashes right.
fn read_verified(path: &Path, chunk: FileChunk) -> Option<Bytes> {
    let mut file = std::fs::File::open(path).ok()?;
    file.seek(SeekFrom::Start(chunk.offset)).ok()?;
    let mut bytes = vec![0u8; chunk.size as usize];
    file.read_exact(&mut bytes).ok()?;
    let actual = Sha256::from_bytes(sha2::Sha256::digest(&bytes).into());
    (actual == chunk.sha256).then(|| Bytes::from(bytes))
}

fn node_name(path: &str) -> Result<NodeName, ClientError> {
    NodeName::new(name_of(path)).map_err(|e| ClientError::Other(format!("{path}: {e}")))
}

fn synced(path: String, node: &Node, stamp: Stamp) -> Effect {
    Effect::Synced {
        path,
        transfer: None,
        base: Base {
            id: node.id,
            kind: node.kind,
            rev: node.rev.clone(),
            sha256: node.sha256,
            stamp,
        },
        node: Some(Box::new(node.clone())),
        sent: 0,
        received: 0,
        reused: 0,
    }
}

/// Files a plan would delete on either side (a folder counts for the synced files under it).
fn count_deletes(actions: &[Action], views: &Views) -> usize {
    actions
        .iter()
        .filter(|action| action.is_delete())
        .map(|action| {
            let root = action.path();
            views
                .base
                .range(root.to_owned()..)
                .take_while(|(path, _)| path.starts_with(root))
                .filter(|(path, base)| {
                    super::plan::is_within(path, root) && base.kind == NodeKind::File
                })
                .count()
                .max(1)
        })
        .sum()
}

/// The id of the folder at `/`-rooted `path`, creating what is missing.
async fn ensure_folder(client: &Client, path: &str) -> Result<Uuid, ClientError> {
    let mut parent = client
        .node_by_path("/")
        .await?
        .ok_or_else(|| ClientError::Other("the server has no root folder for you".to_owned()))?;
    let mut at = String::new();
    for name in path.split('/').filter(|n| !n.is_empty()) {
        at = format!("{at}/{name}");
        parent = match client.node_by_path(&at).await? {
            Some(node) if node.kind == NodeKind::Folder => node,
            Some(_) => {
                return Err(ClientError::Other(format!("{at} on the server is a file")));
            }
            None => {
                let name = NodeName::new(name).map_err(|e| ClientError::Other(e.to_string()))?;
                match client
                    .create_folder(NodeRef::Id(parent.id), name, OnConflict::Fail)
                    .await
                {
                    Ok(node) => node,
                    // Another device made it at the same moment.
                    Err(ClientError::Api { status: 409, .. }) => client
                        .node_by_path(&at)
                        .await?
                        .filter(|node| node.kind == NodeKind::Folder)
                        .ok_or_else(|| {
                            ClientError::Other(format!("{at} on the server is a file"))
                        })?,
                    Err(error) => return Err(error),
                }
            }
        };
    }
    Ok(parent.id)
}

/// `1.5 MiB`.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
