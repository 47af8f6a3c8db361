//! The local view: a walk of the synced folder that skips what is ignored, trusts the base for files
//! whose stamp (size, modification time, inode) has not moved, and hashes the rest.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use satchel_proto::{NodeKind, NodeName, Sha256};
use sha2::Digest;

use super::plan::{Base, Local, Stamp};
use crate::{LocalIndex, SMALL_FILE, chunk_file};

/// Never synced, whatever `.satchelignore` says: the state folder, downloads in progress, and the
/// temporary and metadata files of editors and desktops.
const BUILT_IN: &[&str] = &[
    "/.satchel/",
    ".*.satchel-part",
    "~$*",
    "*.swp",
    "*.swx",
    ".~lock.*#",
    ".DS_Store",
    "Thumbs.db",
    "desktop.ini",
];

/// The ignore rules of one synced folder: built-ins plus `.satchelignore` at its top, in gitignore
/// syntax (`*`, `**`, `?`, `[..]`; a leading `/` anchors to the top, a trailing `/` matches folders
/// only, `!` re-includes; the last matching rule wins).
pub struct Ignore {
    set: GlobSet,
    /// Per glob in `set`: (re-include?, folders only?).
    rules: Vec<(bool, bool)>,
}

impl Ignore {
    pub fn load(dir: &Path) -> Ignore {
        let file = std::fs::read_to_string(dir.join(".satchelignore")).unwrap_or_default();
        Ignore::from_lines(BUILT_IN.iter().copied().chain(file.lines()))
    }

    pub fn from_lines<'a>(lines: impl Iterator<Item = &'a str>) -> Ignore {
        let mut builder = GlobSetBuilder::new();
        let mut rules = Vec::new();
        for line in lines {
            let line = line.trim_end();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (negate, pattern) = match line.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, line),
            };
            let (folders_only, pattern) = match pattern.strip_suffix('/') {
                Some(rest) => (true, rest),
                None => (false, pattern),
            };
            // A pattern with a slash (other than a trailing one) is anchored to the top; one
            // without matches a name at any depth.
            let glob = match pattern.strip_prefix('/') {
                Some(anchored) => anchored.to_owned(),
                None if pattern.contains('/') => pattern.to_owned(),
                None => format!("**/{pattern}"),
            };
            let Ok(glob) = GlobBuilder::new(&glob).literal_separator(true).build() else {
                tracing::warn!("ignoring the unreadable pattern {line:?} in .satchelignore");
                continue;
            };
            builder.add(glob);
            rules.push((negate, folders_only));
        }
        let set = builder.build().unwrap_or_else(|_| GlobSet::empty());
        Ignore { set, rules }
    }

    /// Whether `path` (relative, `/`-separated) is ignored. A path inside an ignored folder is
    /// never reached, because the walk does not enter it.
    pub fn is_ignored(&self, path: &str, is_folder: bool) -> bool {
        let mut ignored = false;
        for index in self.set.matches(path) {
            let (negate, folders_only) = self.rules[index];
            if folders_only && !is_folder {
                continue;
            }
            ignored = !negate;
        }
        ignored
    }

    /// Whether `path` or a folder above it is ignored (for paths that come from the server).
    pub fn covers(&self, path: &str, is_folder: bool) -> bool {
        let mut end = 0;
        while let Some(slash) = path[end..].find('/') {
            end += slash;
            if self.is_ignored(&path[..end], true) {
                return true;
            }
            end += 1;
        }
        self.is_ignored(path, is_folder)
    }
}

/// The stamp of a file or folder's metadata.
pub fn stamp_of(meta: &std::fs::Metadata) -> Stamp {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // A folder's modification time moves whenever its entries do; only its inode says which
        // folder it is.
        if meta.is_dir() {
            return Stamp {
                size: 0,
                mtime_ns: 0,
                inode: meta.ino(),
            };
        }
        Stamp {
            size: meta.len(),
            mtime_ns: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
            inode: meta.ino(),
        }
    }
    #[cfg(not(unix))]
    {
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as i64);
        Stamp {
            size: if meta.is_dir() { 0 } else { meta.len() },
            mtime_ns,
            inode: 0,
        }
    }
}

/// Whether a file was modified so recently that a same-size edit within the file system's
/// timestamp granularity could hide behind an unchanged stamp; such files are hashed again.
pub fn is_racy(meta: &std::fs::Metadata) -> bool {
    meta.modified()
        .ok()
        .and_then(|modified| modified.elapsed().ok())
        .is_none_or(|age| age < std::time::Duration::from_secs(2))
}

/// What a walk found besides the view.
#[derive(Debug, Default)]
pub struct ScanNotes {
    /// Paths skipped with a reason (symlinks, names the server cannot hold, unreadable files).
    pub skipped: Vec<(String, String)>,
    /// Bytes read to hash changed files.
    pub hashed_bytes: u64,
}

/// Hashes a file: small ones whole, larger ones cut into chunks (remembered in `index`, so the
/// upload that follows does not read them again).
fn hash_file(path: &Path, meta: &std::fs::Metadata, index: &LocalIndex) -> std::io::Result<Sha256> {
    if meta.len() <= SMALL_FILE {
        let bytes = std::fs::read(path)?;
        return Ok(Sha256::from_bytes(sha2::Sha256::digest(&bytes).into()));
    }
    if let Some(cut) = index.lookup(path) {
        return Ok(cut.sha256);
    }
    let cut = chunk_file(path)?;
    index.remember(path, meta, &cut);
    Ok(cut.sha256)
}

/// Walks `dir` (blocking: run it on a blocking thread).
pub fn scan(
    dir: &Path,
    ignore: &Ignore,
    base: &BTreeMap<String, Base>,
    index: &LocalIndex,
) -> std::io::Result<(BTreeMap<String, Local>, ScanNotes)> {
    let mut view = BTreeMap::new();
    let mut notes = ScanNotes::default();
    let mut pending: Vec<(PathBuf, String)> = vec![(dir.to_path_buf(), String::new())];
    while let Some((folder, relative)) = pending.pop() {
        let entries = match std::fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(error) if relative.is_empty() => return Err(error),
            Err(error) => {
                notes.skipped.push((relative, error.to_string()));
                continue;
            }
        };
        for entry in entries {
            let entry = entry?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                notes.skipped.push((
                    format!("{relative}/{}", entry.file_name().to_string_lossy()),
                    "the name is not UTF-8".to_owned(),
                ));
                continue;
            };
            let path = if relative.is_empty() {
                name.clone()
            } else {
                format!("{relative}/{name}")
            };
            let Ok(file_type) = entry.file_type() else {
                continue; // gone since the listing
            };
            if file_type.is_symlink() {
                if !ignore.is_ignored(&path, false) {
                    notes
                        .skipped
                        .push((path, "symbolic links are not synced".to_owned()));
                }
                continue;
            }
            let is_folder = file_type.is_dir();
            if !is_folder && !file_type.is_file() {
                continue; // sockets, fifos, devices
            }
            if !is_folder && name.starts_with('.') && name.ends_with(".satchel-part") {
                // Left by a download that was cut off (the folder's lock says none is running).
                let _ = std::fs::remove_file(entry.path());
                continue;
            }
            if ignore.is_ignored(&path, is_folder) {
                continue;
            }
            if NodeName::new(name.as_str()).is_err() {
                notes
                    .skipped
                    .push((path, "the name is too long for the server".to_owned()));
                continue;
            }
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            let stamp = stamp_of(&meta);
            if is_folder {
                view.insert(
                    path.clone(),
                    Local {
                        kind: NodeKind::Folder,
                        sha256: None,
                        stamp,
                        busy: false,
                    },
                );
                pending.push((entry.path(), path));
                continue;
            }
            let known = base
                .get(&path)
                .filter(|base| {
                    base.kind == NodeKind::File && base.stamp == stamp && !is_racy(&meta)
                })
                .and_then(|base| base.sha256);
            let (sha256, busy) = match known {
                Some(sha256) => (Some(sha256), false),
                None => match hash_file(&entry.path(), &meta, index) {
                    Ok(sha256) => {
                        notes.hashed_bytes += meta.len();
                        // A file written while it was read is left for a later round.
                        let after = std::fs::metadata(entry.path()).map(|m| stamp_of(&m));
                        let stable = after.as_ref().is_ok_and(|after| *after == stamp);
                        (Some(sha256), !stable)
                    }
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(error) => {
                        notes.skipped.push((path.clone(), error.to_string()));
                        (None, true)
                    }
                },
            };
            view.insert(
                path,
                Local {
                    kind: NodeKind::File,
                    sha256,
                    stamp,
                    busy,
                },
            );
        }
    }
    Ok((view, notes))
}

#[cfg(test)]
mod tests {
    use super::Ignore;

    #[test]
    fn gitignore_rules() {
        let ignore = Ignore::from_lines(super::BUILT_IN.iter().copied().chain([
            "*.log",
            "!keep.log",
            "build/",
            "/top.txt",
            "docs/*.tmp",
        ]));
        assert!(ignore.is_ignored(".satchel", true));
        assert!(!ignore.is_ignored("a/.satchel", true));
        assert!(ignore.is_ignored("a/.report.pdf.satchel-part", false));
        assert!(ignore.is_ignored("~$budget.xlsx", false));
        assert!(ignore.is_ignored("deep/er/.DS_Store", false));
        assert!(ignore.is_ignored("x/y.log", false));
        assert!(!ignore.is_ignored("x/keep.log", false));
        assert!(ignore.is_ignored("src/build", true));
        assert!(!ignore.is_ignored("src/build", false));
        assert!(ignore.is_ignored("top.txt", false));
        assert!(!ignore.is_ignored("a/top.txt", false));
        assert!(ignore.is_ignored("docs/a.tmp", false));
        assert!(!ignore.is_ignored("docs/sub/a.tmp", false));
        assert!(!ignore.is_ignored("notes.txt", false));
        assert!(ignore.covers("src/build/out.o", false));
        assert!(!ignore.covers("src/builder/out.o", false));
    }
}
