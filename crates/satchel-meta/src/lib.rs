//! Satchel's metadata store: the only crate that speaks SQL.
//!
//! [`Store`] holds accounts, sessions, the node tree, versions with their ordered chunk lists and the
//! change journal, on SQLite (the embedded default, WAL mode) or PostgreSQL, selected by URL. Both
//! dialects run the same SQL text through sqlx's `Any` driver; the schema keeps to types both agree on
//! (text ids, integer microsecond times), so one implementation serves both and cannot drift.
//!
//! Invariants kept here:
//! - every change to a tree is journaled in the same transaction as the change, under the namespace's
//!   next sequence number, and the node's `rev` is that sequence number;
//! - names are unique per folder among live nodes whatever their case or normalisation (a unique index
//!   on `satchel_proto::name_key`; `rekey.rs` rewrote the stored keys when that function changed);
//! - a version's chunk list is written in the transaction that makes the version visible, after the
//!   caller has made the bytes durable in the blob store;
//! - `users.used_bytes` counts the current version of every file not purged, trash included.

mod accounts;
mod app_passwords;
mod consistency;
mod cursor;
mod dav;
mod db;
mod download_urls;
mod error;
mod fanout;
mod gc;
mod group;
mod journal;
mod links;
mod manifest;
mod new_file;
mod nodes;
mod paths;
mod refresh;
mod rekey;
mod rows;
mod shares;
mod spaces;
mod storage;
mod thumbnails;
mod tree;
mod tus;
mod uploads;
mod versions;
mod zip_urls;

pub use accounts::{Actor, NewUser, SessionRecord, UserRecord, email_key};
pub use app_passwords::{AppPasswordRecord, NewAppPassword};
pub use cursor::Cursor;
pub use dav::{DavLockRecord, DeadProp};
pub use db::{Backend, Publisher, Store, create_postgres_database};
pub use download_urls::{DownloadUrlRecord, UrlGrant, UrlState};
pub use error::StoreError;
pub use gc::{Garbage, StorageStats};
pub use links::{LinkAccess, LinkChanges, LinkPermission, LinkRecord, NewLink};
pub use manifest::UploadManifest;
pub use nodes::SearchQuery;
pub use refresh::{NewRefresh, RefreshOutcome, Rotation};
pub use shares::{ShareDirection, ShareRecord};
pub use spaces::{Access, Mount, Space};
pub use storage::{ChunkUser, CopyRecord, NodeScrub, ReferencedChunk, RepairItem, StorageEvent};
pub use thumbnails::CachedThumbnail;
pub use tree::{ContentTarget, NewContent, WriteMode};
pub use tus::{TusProgress, TusUpload};
pub use uploads::{NewUpload, UploadState, UploadStatus, VerifiedHash};
pub use versions::{PlacedChunk, VersionContent};
pub use zip_urls::{MAX_ZIP_NODES, ZipGrant, ZipUrlRecord};

/// Largest chunk kept in the database instead of the blob store: a whole small file, stored with its
/// version in one transaction (one flush for bytes and metadata, instead of three).
pub const MAX_INLINE_CHUNK: usize = 64 * 1024;

/// Result of every store call.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
