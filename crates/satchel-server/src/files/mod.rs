//! Files and folders over HTTP: the tree (`nodes`), content in and out (`content`), and the pieces
//! uploads and downloads are made of (`ingest`, `range`), and chunked resumable uploads (`uploads`).

pub mod content;
pub mod ingest;
pub mod nodes;
pub mod range;
pub mod uploads;
