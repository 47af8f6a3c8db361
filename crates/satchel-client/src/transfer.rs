//! Moving whole files: chunked resumable uploads and verified resumable downloads.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use satchel_proto::{ChunkSpec, InitUpload, Node, NodeName, NodeRef, Sha256};
use sha2::Digest;

use crate::{
    Client, ClientError, FileChunk, FileChunks, LocalIndex, PresignedChunk, chunk_file_with,
};

/// Chunks sent at once.
const PARALLEL_CHUNKS: usize = 4;
/// Attempts per request before a transient error is given up on.
const ATTEMPTS: u32 = 6;

/// Receives the number of bytes transferred (or found already present) as they are.
pub trait Progress: Send + Sync {
    fn advance(&self, bytes: u64);
}

impl Progress for () {
    fn advance(&self, _bytes: u64) {}
}

/// Runs `call` until it succeeds, fails permanently, or has failed [`ATTEMPTS`] times, waiting
/// 0.5 s, 1 s, 2 s, … between attempts.
async fn with_retries<T, F, Fut>(mut call: F) -> Result<T, ClientError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ClientError>>,
{
    let mut delay = Duration::from_millis(500);
    let mut attempt = 1;
    loop {
        match call().await {
            Err(error) if error.is_transient() && attempt < ATTEMPTS => {
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
            other => return other,
        }
    }
}

fn read_chunk(path: &Path, offset: u64, size: u64) -> std::io::Result<Bytes> {
    let mut file = std::fs::File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut bytes = vec![0u8; size as usize];
    file.read_exact(&mut bytes)?;
    Ok(Bytes::from(bytes))
}

/// What an upload did.
#[derive(Debug, Clone)]
pub struct Uploaded {
    pub node: Node,
    /// Bytes actually sent.
    pub sent: u64,
    /// Bytes the server already had from this user (not sent).
    pub skipped: u64,
}

/// Files up to this size go up in one request instead of a chunked session (the server keeps such
/// small files in its database: one round trip and one flush).
pub const SMALL_FILE: u64 = 64 * 1024;

/// Chunks per piece of a chunk list sent while the file is still being cut.
const LIST_PIECE: usize = 64;

/// Where an upload goes, and on what terms.
#[derive(Debug, Clone)]
pub struct Destination<'a> {
    pub parent: NodeRef,
    pub name: NodeName,
    /// The remote file of that name, if known: identical content is not uploaded again.
    pub existing: Option<&'a Node>,
    /// Replace the file only while it is at this revision (`412 rev_mismatch` otherwise).
    pub base_rev: Option<String>,
    /// When the name is taken: `version` (the default), `rename` or `fail`.
    pub on_conflict: Option<String>,
}

impl<'a> Destination<'a> {
    /// `name` in `parent`, as a new version of `existing` if there is one.
    pub fn new(parent: NodeRef, name: NodeName, existing: Option<&'a Node>) -> Destination<'a> {
        Destination {
            parent,
            name,
            existing,
            base_rev: None,
            on_conflict: None,
        }
    }

    fn init(
        &self,
        size: u64,
        sha256: Option<Sha256>,
        chunks: Vec<ChunkSpec>,
        more: bool,
    ) -> InitUpload {
        InitUpload {
            parent_id: self.parent,
            name: self.name.clone(),
            size,
            sha256,
            chunks,
            more_chunks: more,
            base_rev: self.base_rev.clone(),
            on_conflict: self.on_conflict.clone(),
            mime: None,
        }
    }

    /// The remote file, if it already holds exactly `sha256`.
    fn holds(&self, sha256: Sha256, size: u64) -> Option<&'a Node> {
        self.existing
            .filter(|n| n.sha256 == Some(sha256) && n.size == Some(size))
    }
}

/// Uploads `local` to `to`. Large files are cut, and their chunk list sent in pieces,
/// while the chunks the server lacks are already going up (four at a time, with retries): sending
/// starts after the first few MiB are cut, not after the whole file. Running it again after an
/// interruption sends only what is still missing. When `existing` (the remote file of that name)
/// turns out to have the same content, the session is abandoned: nothing sent, no version added.
pub async fn upload_file(
    client: &Client,
    local: &Path,
    to: &Destination<'_>,
    index: Option<&LocalIndex>,
    progress: &dyn Progress,
) -> Result<Uploaded, ClientError> {
    let before = tokio::fs::metadata(local).await?;
    let size = before.len();
    // The file's modification time travels with it.
    let modified: Option<chrono::DateTime<chrono::Utc>> = before.modified().ok().map(Into::into);
    if size <= SMALL_FILE {
        return upload_small(client, local, to, modified, progress).await;
    }
    if let Some(cut) = index.and_then(|index| index.lookup(local)) {
        return upload_known(client, local, to, cut, modified, progress).await;
    }
    let (cut_tx, mut cut_rx) = tokio::sync::mpsc::channel::<FileChunk>(4 * LIST_PIECE);
    let path = local.to_path_buf();
    let cutter = tokio::task::spawn_blocking(move || {
        chunk_file_with(&path, |chunk| {
            // A closed channel means the upload gave up; its error is reported there.
            let _ = cut_tx.blocking_send(chunk);
        })
    });
    let (send_tx, send_rx) =
        tokio::sync::mpsc::channel::<(uuid::Uuid, u64, FileChunk, Option<PresignedChunk>)>(1024);

    // The list, in pieces: open the session with the first piece, append the rest, and queue every
    // chunk the server says is missing (once per distinct hash: one upload marks them all).
    let announce = async move {
        let mut upload = None;
        let mut listed = 0u64;
        let mut queued = std::collections::HashSet::new();
        loop {
            let mut piece: Vec<FileChunk> = Vec::with_capacity(LIST_PIECE);
            while piece.len() < LIST_PIECE {
                let Some(chunk) = cut_rx.recv().await else {
                    break;
                };
                piece.push(chunk);
            }
            let more = piece.len() == LIST_PIECE;
            let specs: Vec<ChunkSpec> = piece.iter().map(FileChunk::spec).collect();
            let session = match upload {
                None => {
                    let body = to.init(size, None, specs, more);
                    with_retries(|| client.init_upload(&body)).await?
                }
                Some(id) => with_retries(|| client.append_chunks(id, specs.clone(), more)).await?,
            };
            upload = Some(session.upload_id);
            let missing: std::collections::HashSet<u64> = session.missing.iter().copied().collect();
            for (index, chunk) in (listed..).zip(&piece) {
                if missing.contains(&index) && queued.insert(chunk.sha256) {
                    // A closed queue means sending failed; its error is reported below.
                    let presigned = PresignedChunk::of(&session, index);
                    let _ = send_tx
                        .send((session.upload_id, index, *chunk, presigned))
                        .await;
                } else {
                    progress.advance(chunk.size);
                }
            }
            listed += piece.len() as u64;
            if !more {
                return Ok::<_, ClientError>(session.upload_id);
            }
        }
    };
    // Meanwhile, send what is queued.
    let send = async move {
        let mut queue = send_rx;
        futures_util::stream::poll_fn(move |cx| queue.poll_recv(cx))
            .map(|(upload, index, chunk, presigned)| {
                send_chunk(client, local, upload, index, chunk, presigned, progress)
            })
            .buffer_unordered(PARALLEL_CHUNKS)
            .try_fold(0u64, |total, size| async move { Ok(total + size) })
            .await
    };
    let (upload, mut sent) = tokio::try_join!(announce, send)?;
    let cut: FileChunks = cutter
        .await
        .map_err(|e| ClientError::Other(e.to_string()))??;
    if cut.size != size {
        let _ = client.abort_upload(upload).await;
        return Err(ClientError::Other(format!(
            "{} changed while it was being uploaded",
            local.display()
        )));
    }
    if let Some(index) = index {
        index.remember(local, &before, &cut);
    }
    if let Some(node) = to.holds(cut.sha256, cut.size) {
        // Same content as the remote file: no new version.
        let _ = client.abort_upload(upload).await;
        return Ok(Uploaded {
            node: node.clone(),
            sent,
            skipped: cut.size - sent,
        });
    }
    sent += finish(client, local, upload, &cut).await?;
    let node = with_retries(|| client.commit_upload(upload, Some(cut.sha256), modified)).await?;
    Ok(Uploaded {
        node,
        sent,
        skipped: cut.size - sent,
    })
}

/// Sends whatever the server still reports missing (chunks a lost request did not deliver);
/// returns the bytes sent.
async fn finish(
    client: &Client,
    local: &Path,
    upload: uuid::Uuid,
    cut: &FileChunks,
) -> Result<u64, ClientError> {
    let mut sent = 0;
    for _round in 0..3 {
        let status = with_retries(|| client.upload_status(upload)).await?;
        if status.missing.is_empty() {
            return Ok(sent);
        }
        for &index in &status.missing {
            let chunk = cut.chunks[index as usize];
            let presigned = PresignedChunk::of(&status, index);
            sent += send_chunk(client, local, upload, index, chunk, presigned, &()).await?;
        }
    }
    Err(ClientError::Other(
        "the server kept reporting missing chunks; try again".to_owned(),
    ))
}

/// Uploads a file whose cut the local index already knows: no reading unless chunks are missing.
async fn upload_known(
    client: &Client,
    local: &Path,
    to: &Destination<'_>,
    cut: FileChunks,
    modified: Option<chrono::DateTime<chrono::Utc>>,
    progress: &dyn Progress,
) -> Result<Uploaded, ClientError> {
    if let Some(node) = to.holds(cut.sha256, cut.size) {
        progress.advance(cut.size);
        return Ok(Uploaded {
            node: node.clone(),
            sent: 0,
            skipped: cut.size,
        });
    }
    let specs: Vec<ChunkSpec> = cut.chunks.iter().map(FileChunk::spec).collect();
    let body = to.init(cut.size, Some(cut.sha256), specs, false);
    let session = with_retries(|| client.init_upload(&body)).await?;
    let mut seen = std::collections::HashSet::new();
    let to_send: Vec<u64> = session
        .missing
        .iter()
        .copied()
        .filter(|&i| seen.insert(cut.chunks[i as usize].sha256))
        .collect();
    let listed: u64 = to_send.iter().map(|&i| cut.chunks[i as usize].size).sum();
    progress.advance(cut.size - listed);
    let mut sent = futures_util::stream::iter(to_send)
        .map(|index| {
            send_chunk(
                client,
                local,
                session.upload_id,
                index,
                cut.chunks[index as usize],
                PresignedChunk::of(&session, index),
                progress,
            )
        })
        .buffer_unordered(PARALLEL_CHUNKS)
        .try_fold(0u64, |total, size| async move { Ok(total + size) })
        .await?;
    sent += finish(client, local, session.upload_id, &cut).await?;
    let node = with_retries(|| client.commit_upload(session.upload_id, None, modified)).await?;
    Ok(Uploaded {
        node,
        sent,
        skipped: cut.size - sent,
    })
}

async fn upload_small(
    client: &Client,
    local: &Path,
    to: &Destination<'_>,
    modified: Option<chrono::DateTime<chrono::Utc>>,
    progress: &dyn Progress,
) -> Result<Uploaded, ClientError> {
    let bytes = Bytes::from(tokio::fs::read(local).await?);
    let sha256 = Sha256::from_bytes(sha2::Sha256::digest(&bytes).into());
    let size = bytes.len() as u64;
    if let Some(node) = to.holds(sha256, size) {
        progress.advance(size);
        return Ok(Uploaded {
            node: node.clone(),
            sent: 0,
            skipped: size,
        });
    }
    let node = with_retries(|| client.put_content(to, bytes.clone(), sha256, modified)).await?;
    progress.advance(size);
    Ok(Uploaded {
        node,
        sent: size,
        skipped: 0,
    })
}

/// Reads a chunk back from the file and sends it: straight to the blob store when the server
/// presigned a URL for it (the store checks the bytes against the signed SHA-256), else to the
/// server. The server hashes what it receives and refuses a chunk that no longer matches its hash,
/// so a file edited since it was cut cannot slip through either way; hashing here again would only
/// spend the CPU the server needs. A presigned request that fails goes through the server instead.
async fn send_chunk(
    client: &Client,
    local: &Path,
    upload: uuid::Uuid,
    index: u64,
    chunk: FileChunk,
    presigned: Option<PresignedChunk>,
    progress: &dyn Progress,
) -> Result<u64, ClientError> {
    let path = local.to_path_buf();
    let bytes = tokio::task::spawn_blocking(move || read_chunk(&path, chunk.offset, chunk.size))
        .await
        .map_err(|e| ClientError::Other(e.to_string()))??;
    if let Some(target) = presigned {
        match with_retries(|| client.put_presigned(&target, bytes.clone())).await {
            Ok(()) => {
                progress.advance(chunk.size);
                return Ok(chunk.size);
            }
            Err(error) => {
                tracing::debug!("presigned chunk upload failed ({error}); via the server")
            }
        }
    }
    match with_retries(|| client.put_chunk(upload, index, bytes.clone())).await {
        Err(ClientError::Api {
            code: satchel_proto::ProblemCode::ChecksumMismatch,
            ..
        }) => {
            return Err(ClientError::Other(format!(
                "{} changed while it was being uploaded",
                local.display()
            )));
        }
        other => other?,
    }
    progress.advance(chunk.size);
    Ok(chunk.size)
}

/// Where a download in progress is kept: next to its destination, hidden.
fn part_path(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dest.with_file_name(format!(".{name}.satchel-part"))
}

/// Downloads `node` to `dest`: into a hidden temporary file (resuming one left by an interrupted
/// run), checks the SHA-256, sets the modification time, and renames it into place.
pub async fn download_file(
    client: &Client,
    node: &Node,
    dest: &Path,
    progress: &dyn Progress,
) -> Result<(), ClientError> {
    let expected = node
        .sha256
        .ok_or_else(|| ClientError::Other(format!("{} is not a file", node.path)))?;
    let size = node.size.unwrap_or(0);
    let part = part_path(dest);
    let mut hasher = sha2::Sha256::new();
    let mut have = 0u64;
    if let Ok(mut existing) = std::fs::File::open(&part) {
        // Resume: hash what is already here, then fetch the rest.
        let mut buffer = vec![0u8; 1 << 20];
        loop {
            let n = existing.read(&mut buffer)?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
            have += n as u64;
        }
        if have > size {
            have = 0;
            hasher = sha2::Sha256::new();
            std::fs::remove_file(&part)?;
        }
    }
    progress.advance(have);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&part)?;
    let mut attempts = 0;
    while have < size {
        match fetch_from(client, node, have, &mut file, &mut hasher, progress).await {
            Ok(got) => have += got,
            Err((got, error)) => {
                have += got;
                attempts += 1;
                if !error.is_transient() || attempts >= ATTEMPTS {
                    return Err(error);
                }
                tokio::time::sleep(Duration::from_millis(500 << attempts.min(5))).await;
            }
        }
    }
    file.sync_all()?;
    let actual = Sha256::from_bytes(hasher.finalize().into());
    if actual != expected {
        drop(file);
        std::fs::remove_file(&part)?;
        return Err(ClientError::Other(format!(
            "{}: downloaded bytes hash to {actual}, not {expected}",
            node.path
        )));
    }
    let modified: std::time::SystemTime = node.modified_at.into();
    let _ = file.set_modified(modified);
    drop(file);
    std::fs::rename(&part, dest)?;
    Ok(())
}

/// Appends the file's bytes from `from` to `file`; on failure, says how many bytes it still wrote.
async fn fetch_from(
    client: &Client,
    node: &Node,
    from: u64,
    file: &mut std::fs::File,
    hasher: &mut sha2::Sha256,
    progress: &dyn Progress,
) -> Result<u64, (u64, ClientError)> {
    let response = client.download(node.id, from).await.map_err(|e| (0, e))?;
    let mut stream = response.bytes_stream();
    let mut got = 0;
    while let Some(piece) = stream.next().await {
        let piece = piece.map_err(|e| (got, ClientError::from(e)))?;
        file.write_all(&piece)
            .map_err(|e| (got, ClientError::from(e)))?;
        hasher.update(&piece);
        got += piece.len() as u64;
        progress.advance(piece.len() as u64);
    }
    Ok(got)
}
