//! Files and folders over HTTP: the tree (`nodes`), content in and out (`content`), and the pieces
//! uploads and downloads are made of (`ingest`, `range`).

pub mod content;
pub mod ingest;
pub mod nodes;
pub mod range;
