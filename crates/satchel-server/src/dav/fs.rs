//! Satchel's tree as a `dav-server` filesystem, for one signed-in account and one request.
//!
//! Every operation is a store call the API also makes (create a folder, trash, move, copy, write a
//! version), so WebDAV changes are journaled, notified, versioned and charged to quotas exactly like
//! API changes. Paths are the account's view of its tree (shared folders where they are mounted).
//!
//! Two things are per request:
//! - nodes met while listing a folder are remembered (a bounded number) so that the properties of
//!   each entry of a PROPFIND do not look the node up again;
//! - a resource being deleted whole (DELETE, or the destination of COPY/MOVE with `Overwrite: T`)
//!   lists as empty, so the protocol handler trashes the folder in one step — restorable as one
//!   folder — instead of trashing every file under it one by one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use dav_server::davpath::DavPath;
use dav_server::fs::{
    DavDirEntry, DavFile, DavFileSystem, DavMetaData, DavProp, FsError, FsFuture, FsResult,
    FsStream, OpenOptions, ReadDirMeta,
};
use futures_util::StreamExt;
use satchel_meta::Actor;
use satchel_proto::{
    AppPasswordScope, MAX_PAGE_LIMIT, Node, NodeKind, NodeName, NodeRef, OnConflict, ProblemCode,
    Sha256,
};

use super::file::{Meta, Reader, Writer};
use super::props;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Most nodes remembered from listings in one request.
const REMEMBERED_NODES: usize = 4096;

/// What the request says beyond its path, that filesystem calls need.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    /// `X-OC-Mtime` (Unix seconds): the modification time a PUT gives the file.
    pub modified_at: Option<DateTime<Utc>>,
    /// `Content-Type` of a PUT.
    pub declared_type: Option<String>,
    /// `OC-Checksum: SHA256:…` of a PUT, checked against the body.
    pub sha256: Option<Sha256>,
    /// What the credential may do.
    pub scope: AppPasswordScope,
    /// A tree path being deleted whole by this request (see the module documentation).
    pub deleting: Option<String>,
    /// The request's method.
    pub method: String,
}

impl RequestContext {
    /// Reads the context from a request's method, path and headers.
    pub fn of(
        method: &str,
        headers: &HeaderMap,
        path: &str,
        prefix: &str,
        scope: AppPasswordScope,
    ) -> ApiResult<RequestContext> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let modified_at = match header("x-oc-mtime") {
            Some(text) => Some(
                text.trim()
                    .parse::<f64>()
                    .ok()
                    .and_then(|secs| DateTime::from_timestamp(secs as i64, 0))
                    .ok_or_else(|| {
                        ApiError::new(ProblemCode::BadRequest, "X-OC-Mtime is Unix seconds")
                    })?,
            ),
            None => None,
        };
        let sha256 = header("oc-checksum").and_then(|text| {
            text.split_whitespace()
                .find_map(|part| part.strip_prefix("SHA256:"))
                .and_then(|hex| hex.parse().ok())
        });
        let overwrite = !header("overwrite").is_some_and(|v| v.trim().eq_ignore_ascii_case("f"));
        let deleting = match method {
            "DELETE" => super::tree_path(path, prefix),
            "COPY" | "MOVE" if overwrite => header("destination")
                .and_then(|d| d.parse::<axum::http::Uri>().ok())
                .and_then(|uri| super::tree_path(uri.path(), prefix)),
            _ => None,
        };
        Ok(RequestContext {
            modified_at,
            declared_type: header("content-type").map(str::to_owned),
            sha256,
            scope,
            deleting: deleting.map(|p| trim(&p).to_owned()),
            method: method.to_owned(),
        })
    }
}

/// The filesystem of one request.
#[derive(Clone)]
pub struct SatchelFs {
    inner: Arc<Inner>,
}

struct Inner {
    state: AppState,
    actor: Actor,
    context: RequestContext,
    nodes: Mutex<HashMap<String, Node>>,
}

/// A tree path without its trailing slash (`""` is the root).
fn trim(path: &str) -> &str {
    path.trim_end_matches('/')
}

/// The decoded tree path of `path`; a path that is not UTF-8 names nothing here.
fn path_of(path: &DavPath) -> FsResult<String> {
    let text = std::str::from_utf8(path.as_bytes()).map_err(|_| FsError::NotFound)?;
    Ok(trim(text).to_owned())
}

/// The parent's path and the last name of `path`.
fn split(path: &DavPath) -> FsResult<(String, NodeName)> {
    let full = path_of(path)?;
    let (parent, name) = full.rsplit_once('/').ok_or(FsError::Forbidden)?;
    let name = NodeName::new(name).map_err(|_| FsError::Forbidden)?;
    Ok((parent.to_owned(), name))
}

/// What a store or API refusal means to the protocol handler.
pub(super) fn fs_error(error: impl Into<ApiError>) -> FsError {
    let error = error.into();
    match error.code {
        ProblemCode::NotFound | ProblemCode::Trashed => FsError::NotFound,
        ProblemCode::NameConflict => FsError::Exists,
        ProblemCode::QuotaExceeded => FsError::InsufficientStorage,
        ProblemCode::PayloadTooLarge => FsError::TooLarge,
        ProblemCode::Internal | ProblemCode::Unavailable => FsError::GeneralFailure,
        code if code.status() == 400 => FsError::GeneralFailure,
        _ => FsError::Forbidden,
    }
}

impl SatchelFs {
    pub fn new(state: AppState, actor: Actor, context: RequestContext) -> SatchelFs {
        SatchelFs {
            inner: Arc::new(Inner {
                state,
                actor,
                context,
                nodes: Mutex::default(),
            }),
        }
    }

    fn remember(&self, path: String, node: Node) {
        let mut nodes = self.inner.nodes.lock().unwrap_or_else(|e| e.into_inner());
        if nodes.len() >= REMEMBERED_NODES {
            nodes.clear();
        }
        nodes.insert(path, node);
    }

    fn forget_all(&self) {
        self.inner
            .nodes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// The live node at a tree path.
    async fn node_at(&self, path: &str) -> FsResult<Node> {
        let remembered = self
            .inner
            .nodes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(path)
            .cloned();
        if let Some(node) = remembered {
            return Ok(node);
        }
        let node = self
            .inner
            .state
            .store
            .node_by_path(&self.inner.actor, if path.is_empty() { "/" } else { path })
            .await
            .map_err(fs_error)?;
        self.remember(path.to_owned(), node.clone());
        Ok(node)
    }

    async fn node(&self, path: &DavPath) -> FsResult<Node> {
        self.node_at(&path_of(path)?).await
    }

    /// The folder a new entry at `path` goes into, and its name.
    async fn parent_and_name(&self, path: &DavPath) -> FsResult<(Node, NodeName)> {
        let (parent, name) = split(path)?;
        let parent = self.node_at(&parent).await?;
        if parent.kind != NodeKind::Folder {
            return Err(FsError::NotFound);
        }
        Ok((parent, name))
    }

    /// Waits (briefly) until a node another request just created at `path` can be read. On SQLite
    /// a writer that lost a name to a concurrent one learns so inside their shared group commit,
    /// before that commit is flushed; a client told "it exists" goes on to use it at once (rclone
    /// creates a folder from several transfers, then uploads into it), so the answer waits until
    /// it is true for every reader.
    async fn await_visible(&self, path: &DavPath) {
        let Ok(path) = path_of(path) else { return };
        for _ in 0..200 {
            let seen = self
                .inner
                .state
                .store
                .node_by_path(&self.inner.actor, &path)
                .await;
            if seen.is_ok() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    /// Whether `path` lies in what this request deletes whole.
    fn being_deleted(&self, path: &str) -> bool {
        self.inner.context.deleting.as_deref().is_some_and(|gone| {
            path == gone || path.strip_prefix(gone).is_some_and(|r| r.starts_with('/'))
        })
    }

    async fn trash(&self, path: &DavPath) -> FsResult<()> {
        let node = self.node(path).await?;
        self.forget_all();
        self.inner
            .state
            .store
            .trash_node(&self.inner.actor, NodeRef::Id(node.id), None)
            .await
            .map_err(fs_error)
    }

    /// The children of the folder at `path`, a page at a time.
    fn listing(&self, path: String, folder: Node) -> FsStream<Box<dyn DavDirEntry>> {
        let fs = self.clone();
        let pages =
            futures_util::stream::unfold(Some(None), move |cursor: Option<Option<String>>| {
                let fs = fs.clone();
                let path = path.clone();
                async move {
                    let cursor = cursor?;
                    let page = fs
                        .inner
                        .state
                        .store
                        .children(
                            &fs.inner.actor,
                            NodeRef::Id(folder.id),
                            false,
                            MAX_PAGE_LIMIT,
                            cursor.as_deref(),
                        )
                        .await;
                    let (entries, next) = match page {
                        Ok(page) => (page.entries, page.next_cursor),
                        Err(error) => return Some((vec![Err(fs_error(error))], None)),
                    };
                    let entries = entries
                        .into_iter()
                        .map(|node| {
                            fs.remember(format!("{path}/{}", node.name), node.clone());
                            Ok(Box::new(Entry(node)) as Box<dyn DavDirEntry>)
                        })
                        .collect::<Vec<_>>();
                    Some((entries, next.map(Some)))
                }
            });
        Box::pin(pages.flat_map(futures_util::stream::iter))
    }
}

/// One entry of a listing.
struct Entry(Node);

impl DavDirEntry for Entry {
    fn name(&self) -> Vec<u8> {
        self.0.name.as_bytes().to_vec()
    }

    fn metadata(&self) -> FsFuture<'_, Box<dyn DavMetaData>> {
        let meta: Box<dyn DavMetaData> = Box::new(Meta(self.0.clone()));
        Box::pin(async move { Ok(meta) })
    }
}

impl DavFileSystem for SatchelFs {
    fn open<'a>(
        &'a self,
        path: &'a DavPath,
        options: OpenOptions,
    ) -> FsFuture<'a, Box<dyn DavFile>> {
        Box::pin(async move {
            if !options.write {
                let node = self.node(path).await?;
                let reader = Reader::open(&self.inner.state, &self.inner.actor, node).await?;
                return Ok(Box::new(reader) as Box<dyn DavFile>);
            }
            let existing = match self.node(path).await {
                Ok(node) => Some(node),
                Err(FsError::NotFound) => None,
                Err(error) => return Err(error),
            };
            match &existing {
                Some(node) if node.kind == NodeKind::Folder => return Err(FsError::Forbidden),
                Some(_) if options.create_new => return Err(FsError::Exists),
                None if !options.create => return Err(FsError::NotFound),
                _ => {}
            }
            let (parent, name) = self.parent_and_name(path).await?;
            self.forget_all();
            let mut writer = Writer::start(
                self.inner.state.clone(),
                self.inner.actor.clone(),
                &self.inner.context,
                parent,
                name,
                options.size,
            )
            .await
            .map_err(fs_error)?;
            if self.inner.context.method == "LOCK" {
                // LOCK on an unmapped URL makes an empty file (RFC 4918 §7.3): the handler opens
                // it without writing, so it is committed here.
                writer.flush().await?;
            }
            Ok(Box::new(writer) as Box<dyn DavFile>)
        })
    }

    fn read_dir<'a>(
        &'a self,
        path: &'a DavPath,
        _meta: ReadDirMeta,
    ) -> FsFuture<'a, FsStream<Box<dyn DavDirEntry>>> {
        Box::pin(async move {
            let tree_path = path_of(path)?;
            let folder = self.node_at(&tree_path).await?;
            if folder.kind != NodeKind::Folder {
                return Err(FsError::Forbidden);
            }
            if self.being_deleted(&tree_path) {
                return Ok(Box::pin(futures_util::stream::empty()) as FsStream<_>);
            }
            Ok(self.listing(tree_path, folder))
        })
    }

    fn metadata<'a>(&'a self, path: &'a DavPath) -> FsFuture<'a, Box<dyn DavMetaData>> {
        Box::pin(async move {
            let node = self.node(path).await?;
            Ok(Box::new(Meta(node)) as Box<dyn DavMetaData>)
        })
    }

    fn create_dir<'a>(&'a self, path: &'a DavPath) -> FsFuture<'a, ()> {
        Box::pin(async move {
            if self.node(path).await.is_ok() {
                return Err(FsError::Exists);
            }
            let (parent, name) = self.parent_and_name(path).await?;
            self.forget_all();
            let created = self
                .inner
                .state
                .store
                .create_folder(
                    &self.inner.actor,
                    NodeRef::Id(parent.id),
                    name,
                    OnConflict::Fail,
                )
                .await;
            match created {
                Ok(_) => Ok(()),
                Err(satchel_meta::StoreError::NameConflict(_)) => {
                    self.await_visible(path).await;
                    Err(FsError::Exists)
                }
                Err(error) => Err(fs_error(error)),
            }
        })
    }

    fn remove_dir<'a>(&'a self, path: &'a DavPath) -> FsFuture<'a, ()> {
        Box::pin(self.trash(path))
    }

    fn remove_file<'a>(&'a self, path: &'a DavPath) -> FsFuture<'a, ()> {
        Box::pin(self.trash(path))
    }

    fn rename<'a>(&'a self, from: &'a DavPath, to: &'a DavPath) -> FsFuture<'a, ()> {
        Box::pin(async move {
            let node = self.node(from).await?;
            let (parent, name) = self.parent_and_name(to).await?;
            self.forget_all();
            self.inner
                .state
                .store
                .patch_node(
                    &self.inner.actor,
                    NodeRef::Id(node.id),
                    Some(name),
                    Some(NodeRef::Id(parent.id)),
                    None,
                    OnConflict::Fail,
                )
                .await
                .map(drop)
                .map_err(fs_error)
        })
    }

    fn copy<'a>(&'a self, from: &'a DavPath, to: &'a DavPath) -> FsFuture<'a, ()> {
        Box::pin(async move {
            let node = self.node(from).await?;
            let (parent, name) = self.parent_and_name(to).await?;
            self.forget_all();
            let store = &self.inner.state.store;
            let copy = store
                .copy_node(
                    &self.inner.actor,
                    NodeRef::Id(node.id),
                    NodeRef::Id(parent.id),
                    Some(name),
                    OnConflict::Fail,
                )
                .await
                .map_err(fs_error)?;
            store
                .copy_dead_props(node.id, copy.id)
                .await
                .map_err(fs_error)
        })
    }

    fn have_props<'a>(
        &'a self,
        _path: &'a DavPath,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send + 'a>> {
        Box::pin(async { true })
    }

    fn patch_props<'a>(
        &'a self,
        path: &'a DavPath,
        patch: Vec<(bool, DavProp)>,
    ) -> FsFuture<'a, Vec<(axum::http::StatusCode, DavProp)>> {
        Box::pin(async move {
            let tree_path = path_of(path)?;
            let node = self.node_at(&tree_path).await?;
            let writable = props::may_write(&self.inner.actor, &tree_path);
            props::patch(&self.inner.state.store, node.id, writable, patch).await
        })
    }

    fn get_props<'a>(&'a self, path: &'a DavPath, do_content: bool) -> FsFuture<'a, Vec<DavProp>> {
        Box::pin(async move {
            let node = self.node(path).await?;
            props::dead(&self.inner.state.store, node.id, do_content).await
        })
    }

    fn get_prop<'a>(&'a self, path: &'a DavPath, prop: DavProp) -> FsFuture<'a, Vec<u8>> {
        Box::pin(async move {
            let tree_path = path_of(path)?;
            let node = self.node_at(&tree_path).await?;
            let (actor, scope) = (&self.inner.actor, self.inner.context.scope);
            let computed = props::computed(actor, scope, &tree_path, &node, &prop);
            if let Some(xml) = computed {
                return Ok(xml);
            }
            props::one_dead(&self.inner.state.store, node.id, &prop).await
        })
    }

    fn get_quota(&self) -> FsFuture<'_, (u64, Option<u64>)> {
        let actor = &self.inner.actor;
        let quota = (actor.used_bytes, actor.quota_bytes);
        Box::pin(async move { Ok(quota) })
    }
}
