//! Satchel's client library, used by the `satchel` command line and (later) the sync client.
//!
//! - [`Client`]: the typed HTTP API, with transparent access-token refresh.
//! - [`Credentials`]: where a signed-in client keeps its tokens (mode 0600).
//! - [`chunk_file`]: content-defined chunks of a local file, hashed while read — the same cuts the
//!   server makes, so identical bytes deduplicate across clients and upload paths.
//! - [`upload_file`] / [`download_file`]: resumable chunked upload (only missing chunks are sent,
//!   four at a time, retried with backoff) and verified, resumable download (temporary file,
//!   SHA-256 check, rename).

mod api;
mod chunker;
mod credentials;
mod error;
mod index;
pub mod sync;
mod transfer;

pub use api::{Client, PresignedChunk};
pub use chunker::{FileChunk, FileChunks, chunk_file, chunk_file_with};
pub use credentials::Credentials;
pub use error::ClientError;
pub use index::LocalIndex;
pub use transfer::{Destination, Progress, SMALL_FILE, Uploaded, download_file, upload_file};
