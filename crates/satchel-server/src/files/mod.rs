//! Files and folders over HTTP: the tree (`nodes`), content in and out (`content`), and the pieces
//! uploads and downloads are made of (`ingest`, `range`), and chunked resumable uploads (`uploads`, whose whole-file hash `verify` computes); thumbnails of images
//! (`thumbnails`) and a selection as one zip through a signed URL (`zip_urls`).

pub mod content;
pub mod ingest;
pub mod nodes;
pub mod range;
pub mod thumbnails;
pub mod tus;
pub mod uploads;
pub mod verify;
pub mod zip_urls;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use satchel_proto::Node;

/// A node as a response, with its rev as `ETag`.
pub fn node_response(status: StatusCode, node: Node) -> Response {
    let etag = HeaderValue::from_str(&format!("\"{}\"", node.rev)).ok();
    let mut response = (status, Json(node)).into_response();
    if let Some(etag) = etag {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}
