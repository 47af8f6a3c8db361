//! Satchel's wire contract, shared by the server and every client.
//!
//! Everything here is plain data with serde: ids, checked newtypes for names and hashes, the node and
//! change documents, request and response bodies, and [`ProblemCode`], the stable error codes clients
//! switch on. Constructors check the contract's invariants once, so code that holds a [`NodeName`] or a
//! [`Sha256`] never re-validates it.

mod hash;
mod name;
mod node;
mod problem;
mod requests;
mod sharing;
mod web;

pub use hash::Sha256;
pub use name::{MAX_NAME_BYTES, NameError, NodeName, name_key};
pub use node::{Change, ChangeOp, ChangesPage, ChunkInfo, Node, NodeKind, Page, VersionInfo};
pub use problem::{Problem, ProblemCode};
pub use requests::*;
pub use sharing::{
    CreateLink, CreateShare, DownloadUrlInfo, DownloadUrlState, LinkInfo, LinkPermissionName,
    ShareInfo, SharePermissionName, UpdateShare,
};
pub use web::{ServerInfo, WebSession};

/// Default page size of every list (`?limit=`).
pub const DEFAULT_PAGE_LIMIT: u32 = 500;
/// Largest page size a client may ask for.
pub const MAX_PAGE_LIMIT: u32 = 2000;
