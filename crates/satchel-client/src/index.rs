//! A local index of files already cut and hashed, so that putting an unchanged file again costs a
//! `stat`, not a read. An entry is trusted only while the file's size, modification time, change
//! time, inode and device are all what they were when it was hashed — the change time cannot be set
//! back by tools that preserve modification times, so an edit always invalidates the entry.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::FileChunks;

/// What identifies one state of a file on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    size: u64,
    modified_ns: i128,
    changed_ns: i128,
    inode: u64,
    device: u64,
}

impl Stamp {
    #[cfg(unix)]
    fn of(meta: &std::fs::Metadata) -> Stamp {
        use std::os::unix::fs::MetadataExt;
        Stamp {
            size: meta.len(),
            modified_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
            changed_ns: i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
            inode: meta.ino(),
            device: meta.dev(),
        }
    }

    #[cfg(not(unix))]
    fn of(meta: &std::fs::Metadata) -> Stamp {
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as i128);
        Stamp {
            size: meta.len(),
            modified_ns: modified,
            changed_ns: modified,
            inode: 0,
            device: 0,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    stamp: Stamp,
    cut: FileChunks,
}

/// Files already cut, by absolute path. Shared by concurrent uploads; saved explicitly.
#[derive(Debug, Default)]
pub struct LocalIndex {
    file: Option<PathBuf>,
    entries: Mutex<HashMap<PathBuf, Entry>>,
    /// Something was remembered since the last save.
    dirty: std::sync::atomic::AtomicBool,
}

impl LocalIndex {
    /// `$XDG_CACHE_HOME/satchel/index.json` (default `~/.cache/satchel/`).
    pub fn default_path() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|dir| !dir.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
        Some(base.join("satchel").join("index.json"))
    }

    /// Loads the index at `file` (an unreadable or missing one starts empty).
    pub fn load(file: PathBuf) -> LocalIndex {
        let entries = std::fs::read(&file)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        LocalIndex {
            file: Some(file),
            entries: Mutex::new(entries),
            dirty: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The cut of `path` if it is unchanged since it was recorded.
    pub fn lookup(&self, path: &Path) -> Option<FileChunks> {
        let path = std::path::absolute(path).ok()?;
        let meta = std::fs::metadata(&path).ok()?;
        if crate::sync::scan::is_racy(&meta) {
            return None; // a same-size edit within the clock's granularity would look unchanged
        }
        let stamp = Stamp::of(&meta);
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(&path)
            .filter(|entry| entry.stamp == stamp)
            .map(|entry| entry.cut.clone())
    }

    /// Records the cut of `path`, if the file still is as it was when `before` was taken.
    pub fn remember(&self, path: &Path, before: &std::fs::Metadata, cut: &FileChunks) {
        let Ok(path) = std::path::absolute(path) else {
            return;
        };
        let Ok(now) = std::fs::metadata(&path) else {
            return;
        };
        let stamp = Stamp::of(before);
        if Stamp::of(&now) != stamp || stamp.size != cut.size {
            return; // changed while it was read: do not trust this cut later
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        self.dirty.store(true, std::sync::atomic::Ordering::Relaxed);
        entries.insert(
            path,
            Entry {
                stamp,
                cut: cut.clone(),
            },
        );
    }

    /// Where each known chunk can be read locally (to be checked against its hash when read).
    pub fn chunk_locations(&self) -> HashMap<satchel_proto::Sha256, (PathBuf, crate::FileChunk)> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let mut found = HashMap::new();
        for (path, entry) in entries.iter() {
            for chunk in &entry.cut.chunks {
                found
                    .entry(chunk.sha256)
                    .or_insert_with(|| (path.clone(), *chunk));
            }
        }
        found
    }

    /// Writes the index back (if anything was remembered since it was loaded or last saved),
    /// dropping entries whose files are gone.
    pub fn save(&self) -> std::io::Result<()> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        if !self.dirty.swap(false, std::sync::atomic::Ordering::Relaxed) {
            return Ok(());
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|path, _| path.exists());
        let written = write_json(file, &*entries);
        if written.is_err() {
            self.dirty.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        written
    }
}

/// Writes `value` as JSON to `file` through a temporary file and a rename.
fn write_json(file: &Path, value: &impl Serialize) -> std::io::Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let temp = file.with_extension("tmp");
    std::fs::write(
        &temp,
        serde_json::to_vec(value).map_err(std::io::Error::other)?,
    )?;
    std::fs::rename(&temp, file)
}
