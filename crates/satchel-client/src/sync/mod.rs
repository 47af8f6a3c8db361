//! `satchel sync DIR`: keeps a local folder and a remote folder the same.
//!
//! - [`plan`]: the pure planner over three views of every path (local, remote, base);
//! - [`scan`]: the local view (a walk with ignore rules; only changed files are hashed);
//! - [`remote`]: the remote view (a mirror kept current from the change journal);
//! - [`state`]: `DIR/.satchel/state.db`, the base and what the folder is bound to;
//! - [`engine`]: carries plans out, re-checking every precondition just before acting;
//! - [`watch`]: runs until stopped, woken by the disk and by the server.

pub mod engine;
pub mod plan;
pub mod remote;
pub mod scan;
pub mod state;
pub mod watch;

pub use engine::{Engine, Summary, SyncOptions, human};
pub use watch::run;

/// What `satchel status DIR` reports, read without the network.
#[derive(Debug, Default)]
pub struct Status {
    /// What the folder is synced with.
    pub binding: Option<String>,
    /// Local changes not yet synced: (what, path).
    pub pending: Vec<(&'static str, String)>,
    /// Conflicted copies made: (copy, original, when).
    pub conflicts: Vec<(String, String, String)>,
    /// Paths that failed in the last pass, with why.
    pub problems: Vec<(String, String)>,
    pub synced_files: usize,
}

/// Reads the state of a synced folder and compares the disk with its base.
pub async fn status(dir: &std::path::Path) -> Result<Status, crate::ClientError> {
    if !dir.join(".satchel").join("state.db").exists() {
        return Err(crate::ClientError::Other(format!(
            "{} is not a synced folder (run `satchel sync {}` first)",
            dir.display(),
            dir.display()
        )));
    }
    let state = state::State::open(dir).await?;
    let index = state::chunk_index(dir);
    let ignore = scan::Ignore::load(dir);
    let base = state.base().clone();
    let (local, _) = {
        let (dir, base) = (dir.to_path_buf(), base.clone());
        tokio::task::spawn_blocking(move || scan::scan(&dir, &ignore, &base, &index))
            .await
            .map_err(|e| crate::ClientError::Other(e.to_string()))??
    };
    let mut status = Status {
        binding: state.meta("binding").await?,
        conflicts: state.conflicts().await?,
        problems: state.problems().await?,
        synced_files: base
            .values()
            .filter(|b| b.kind == satchel_proto::NodeKind::File)
            .count(),
        ..Status::default()
    };
    for (path, local) in &local {
        match base.get(path) {
            None => status.pending.push(("new", path.clone())),
            Some(base)
                if local.kind != base.kind
                    || (local.kind == satchel_proto::NodeKind::File
                        && local.sha256 != base.sha256) =>
            {
                status.pending.push(("changed", path.clone()));
            }
            Some(_) => {}
        }
    }
    for path in base.keys() {
        if !local.contains_key(path) {
            status.pending.push(("deleted", path.clone()));
        }
    }
    status.pending.sort_by(|a, b| a.1.cmp(&b.1));
    // Conflicted copies the user has since dealt with are no longer worth mentioning.
    let mut kept = Vec::new();
    for conflict in std::mem::take(&mut status.conflicts) {
        if dir.join(&conflict.0).exists() {
            kept.push(conflict);
        } else {
            state.drop_conflict(&conflict.0).await?;
        }
    }
    status.conflicts = kept;
    state.close().await;
    Ok(status)
}
