//! Files as the protocol handler sees them: metadata, a reader, and a writer.
//!
//! The writer is an upload like any other: the bytes handed to it flow through a small channel
//! into the same ingest as `PUT /api/v1/files/content` (content-defined chunks, each durable
//! before the metadata names it) running beside the request, and `flush` — the end of the body —
//! commits the version (a new version when the file exists). A writer dropped without `flush`
//! (the body broke off) aborts the ingest: nothing is committed, and chunks already written are
//! garbage for the collector.

use std::io::SeekFrom;
use std::time::SystemTime;

use bytes::{Buf, Bytes};
use dav_server::fs::{DavFile, DavMetaData, FsError, FsFuture, FsResult};
use satchel_meta::{Actor, ContentTarget, PlacedChunk, WriteMode};
use satchel_proto::{Node, NodeKind, NodeName, NodeRef};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::fs::{RequestContext, fs_error};
use crate::error::{ApiError, ApiResult};
use crate::files::content::{mime_for, read_chunk, room_for_name};
use crate::files::ingest::{Expectations, ingest};
use crate::state::AppState;

/// Body pieces queued between the request and the ingest.
const QUEUED_PIECES: usize = 8;

/// A node's metadata.
#[derive(Debug, Clone)]
pub struct Meta(pub Node);

impl DavMetaData for Meta {
    fn len(&self) -> u64 {
        self.0.size.unwrap_or(0)
    }

    fn modified(&self) -> FsResult<SystemTime> {
        Ok(self.0.modified_at.into())
    }

    fn is_dir(&self) -> bool {
        self.0.kind == NodeKind::Folder
    }

    /// A file's tag is its content's SHA-256 (the API's download ETag); a folder's, its rev.
    fn etag(&self) -> Option<String> {
        Some(match &self.0.sha256 {
            Some(sha256) if self.0.kind == NodeKind::File => sha256.to_hex(),
            _ => self.0.rev.clone(),
        })
    }

    fn created(&self) -> FsResult<SystemTime> {
        Ok(self.0.created_at.into())
    }
}

/// Reads a file's current version chunk by chunk.
pub struct Reader {
    state: AppState,
    node: Node,
    chunks: Vec<PlacedChunk>,
    position: u64,
    /// The chunk read last: `(index into chunks, bytes)`.
    current: Option<(usize, Bytes)>,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("node", &self.node.id)
            .field("position", &self.position)
            .finish_non_exhaustive()
    }
}

impl Reader {
    pub async fn open(state: &AppState, actor: &Actor, node: Node) -> FsResult<Reader> {
        if node.kind != NodeKind::File {
            return Err(FsError::Forbidden);
        }
        let content = state
            .store
            .version_content(actor, NodeRef::Id(node.id), None)
            .await
            .map_err(fs_error)?;
        Ok(Reader {
            state: state.clone(),
            node,
            chunks: content.chunks,
            position: 0,
            current: None,
        })
    }

    async fn read(&mut self, count: usize) -> FsResult<Bytes> {
        let position = self.position;
        let Some(index) = self
            .chunks
            .iter()
            .position(|c| c.offset <= position && position < c.offset + c.size)
        else {
            return Ok(Bytes::new());
        };
        let bytes = match &self.current {
            Some((at, bytes)) if *at == index => bytes.clone(),
            _ => {
                let bytes = read_chunk(&self.state, &self.chunks[index])
                    .await
                    .map_err(|_| FsError::GeneralFailure)?;
                self.current = Some((index, bytes.clone()));
                bytes
            }
        };
        let from = (position - self.chunks[index].offset) as usize;
        let to = bytes.len().min(from + count);
        if from >= to {
            return Err(FsError::GeneralFailure);
        }
        self.position += (to - from) as u64;
        Ok(bytes.slice(from..to))
    }
}

impl DavFile for Reader {
    fn metadata(&mut self) -> FsFuture<'_, Box<dyn DavMetaData>> {
        let meta: Box<dyn DavMetaData> = Box::new(Meta(self.node.clone()));
        Box::pin(async move { Ok(meta) })
    }

    fn write_buf(&mut self, _buf: Box<dyn Buf + Send>) -> FsFuture<'_, ()> {
        Box::pin(async { Err(FsError::Forbidden) })
    }

    fn write_bytes(&mut self, _buf: Bytes) -> FsFuture<'_, ()> {
        Box::pin(async { Err(FsError::Forbidden) })
    }

    fn read_bytes(&mut self, count: usize) -> FsFuture<'_, Bytes> {
        Box::pin(self.read(count))
    }

    fn seek(&mut self, pos: SeekFrom) -> FsFuture<'_, u64> {
        let size = self.node.size.unwrap_or(0);
        let target = match pos {
            SeekFrom::Start(at) => Some(at),
            SeekFrom::End(delta) => size.checked_add_signed(delta),
            SeekFrom::Current(delta) => self.position.checked_add_signed(delta),
        };
        Box::pin(async move {
            let target = target.ok_or(FsError::GeneralFailure)?;
            self.position = target;
            Ok(target)
        })
    }

    fn flush(&mut self) -> FsFuture<'_, ()> {
        Box::pin(async { Ok(()) })
    }
}

/// Streams a PUT body into the ingest and commits it on `flush`.
#[derive(Debug)]
pub struct Writer {
    pieces: Option<mpsc::Sender<std::io::Result<Bytes>>>,
    task: Option<JoinHandle<ApiResult<Node>>>,
    written: Option<Node>,
}

impl Writer {
    /// Starts the ingest of a file named `name` in `parent`.
    pub async fn start(
        state: AppState,
        actor: Actor,
        context: &RequestContext,
        parent: Node,
        name: NodeName,
        length: Option<u64>,
    ) -> ApiResult<Writer> {
        let parent_ref = NodeRef::Id(parent.id);
        let room = room_for_name(&state, &actor, parent_ref, &name, WriteMode::Version).await?;
        let expect = Expectations {
            length,
            sha256: context.sha256,
            room,
            at_most: None,
        };
        let mime = mime_for(name.as_str(), context.declared_type.as_deref());
        let modified_at = context.modified_at;
        let (sender, receiver) = mpsc::channel(QUEUED_PIECES);
        let body = futures_util::stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|piece| (piece, receiver))
        });
        let task = tokio::spawn(async move {
            let stored = ingest(&state, Box::pin(body), expect).await?;
            let mut content = stored.into_content(mime);
            content.modified_at = modified_at;
            let target = ContentTarget::Named {
                parent: parent_ref,
                name,
                mode: WriteMode::Version,
            };
            let (node, _) = state
                .store
                .write_content(&actor, target, content, None)
                .await?;
            Ok(node)
        });
        Ok(Writer {
            pieces: Some(sender),
            task: Some(task),
            written: None,
        })
    }

    async fn send(&mut self, bytes: Bytes) -> FsResult<()> {
        let Some(pieces) = &self.pieces else {
            return Err(FsError::GeneralFailure);
        };
        if pieces.send(Ok(bytes)).await.is_ok() {
            return Ok(());
        }
        // The ingest stopped early (quota, storage): its error says why.
        self.pieces = None;
        match self.finish().await {
            Ok(()) => Err(FsError::GeneralFailure),
            Err(error) => Err(error),
        }
    }

    /// Ends the body and waits for the version to be committed.
    async fn finish(&mut self) -> FsResult<()> {
        self.pieces = None;
        let Some(task) = self.task.take() else {
            return if self.written.is_some() {
                Ok(())
            } else {
                Err(FsError::GeneralFailure)
            };
        };
        let outcome = task.await.map_err(ApiError::internal);
        match outcome.and_then(|done| done) {
            Ok(node) => {
                self.written = Some(node);
                Ok(())
            }
            Err(error) => Err(fs_error(error)),
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl DavFile for Writer {
    fn metadata(&mut self) -> FsFuture<'_, Box<dyn DavMetaData>> {
        let meta = self.written.clone().map(Meta);
        Box::pin(async move {
            meta.map(|m| Box::new(m) as Box<dyn DavMetaData>)
                .ok_or(FsError::NotFound)
        })
    }

    fn write_buf(&mut self, mut buf: Box<dyn Buf + Send>) -> FsFuture<'_, ()> {
        let bytes = buf.copy_to_bytes(buf.remaining());
        Box::pin(self.send(bytes))
    }

    fn write_bytes(&mut self, buf: Bytes) -> FsFuture<'_, ()> {
        Box::pin(self.send(buf))
    }

    fn read_bytes(&mut self, _count: usize) -> FsFuture<'_, Bytes> {
        Box::pin(async { Err(FsError::Forbidden) })
    }

    /// Only the start: a PUT with `Content-Range` (a partial write) is refused.
    fn seek(&mut self, pos: SeekFrom) -> FsFuture<'_, u64> {
        Box::pin(async move {
            match pos {
                SeekFrom::Start(0) => Ok(0),
                _ => Err(FsError::NotImplemented),
            }
        })
    }

    fn flush(&mut self) -> FsFuture<'_, ()> {
        Box::pin(self.finish())
    }
}
