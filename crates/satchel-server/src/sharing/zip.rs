//! A folder (a public link's) or a selection (the app's zip URLs, `files/zip_urls.rs`) as a zip
//! archive, streamed: entries are stored (the files are mostly compressed
//! media already, and storing keeps the server's CPU out of the way), each followed by a data
//! descriptor with its CRC-32, and ZIP64 records where sizes or offsets pass 4 GiB. Memory stays at
//! one chunk whatever the folder's size.

use std::collections::HashSet;

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::Response;
use bytes::{BufMut, Bytes, BytesMut};
use chrono::{DateTime, Datelike, Timelike, Utc};
use satchel_meta::Actor;
use satchel_proto::{Node, NodeKind, NodeRef};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::files::content::{disposition, read_chunk};
use crate::state::AppState;

const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
const MAX32: u64 = 0xFFFF_FFFF;

/// One entry already written, for the central directory.
struct Entry {
    name: String,
    crc: u32,
    size: u64,
    offset: u64,
    time: u16,
    date: u16,
    folder: bool,
}

fn dos_time(at: DateTime<Utc>) -> (u16, u16) {
    let year = at.year().clamp(1980, 2107) as u16;
    let time = (at.hour() as u16) << 11 | (at.minute() as u16) << 5 | (at.second() as u16 / 2);
    let date = (year - 1980) << 9 | (at.month() as u16) << 5 | at.day() as u16;
    (time, date)
}

/// Every file and folder under `folder`, with its path inside the archive (after `prefix`),
/// parents first.
async fn walk(
    state: &AppState,
    owner: &Actor,
    folder: Uuid,
    prefix: String,
) -> ApiResult<Vec<(String, Node)>> {
    let mut found = Vec::new();
    let mut pending = vec![(prefix, folder)];
    while let Some((prefix, folder)) = pending.pop() {
        let mut cursor: Option<String> = None;
        loop {
            let page = state
                .store
                .children(owner, NodeRef::Id(folder), false, 2000, cursor.as_deref())
                .await?;
            for node in page.entries {
                let path = format!("{prefix}{}", node.name);
                if node.kind == NodeKind::Folder {
                    pending.push((format!("{path}/"), node.id));
                    found.push((format!("{path}/"), node));
                } else {
                    found.push((path, node));
                }
            }
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
    }
    Ok(found)
}

/// Streams `folder`'s contents as `NAME.zip`.
pub async fn folder_zip(state: &AppState, owner: Actor, folder: Node) -> ApiResult<Response> {
    let entries = walk(state, &owner, folder.id, String::new()).await?;
    stream_zip(state, owner, entries, &folder.name)
}

/// Streams a selection as `ARCHIVE.zip`: each file at the top, each folder as a top-level folder
/// with everything under it. Two selected nodes of the same name (from different folders) get
/// `name (1)`, `name (2)`… so no entry hides another.
pub async fn selection_zip(
    state: &AppState,
    owner: Actor,
    nodes: Vec<Node>,
    archive: &str,
) -> ApiResult<Response> {
    let mut entries = Vec::new();
    let mut taken = HashSet::new();
    for node in nodes {
        let name = unique_name(&node.name, &mut taken);
        if node.kind == NodeKind::Folder {
            let prefix = format!("{name}/");
            let inside = walk(state, &owner, node.id, prefix.clone()).await?;
            entries.push((prefix, node));
            entries.extend(inside);
        } else {
            entries.push((name, node));
        }
    }
    stream_zip(state, owner, entries, archive)
}

/// `name`, or `name (n)` (before the extension of a file) when taken; case-insensitively, as the
/// file systems archives are unpacked on compare.
fn unique_name(name: &str, taken: &mut HashSet<String>) -> String {
    let (stem, ext) = match name.rfind('.') {
        Some(dot) if dot > 0 => name.split_at(dot),
        _ => (name, ""),
    };
    let mut candidate = name.to_owned();
    let mut n = 0;
    while !taken.insert(candidate.to_lowercase()) {
        n += 1;
        candidate = format!("{stem} ({n}){ext}");
    }
    candidate
}

/// The archive of `entries` as a streamed response named `NAME.zip`.
fn stream_zip(
    state: &AppState,
    owner: Actor,
    entries: Vec<(String, Node)>,
    name: &str,
) -> ApiResult<Response> {
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(error) = write_zip(&state, &owner, entries, &tx).await {
            // The client sees a truncated archive; its CRCs and directory tell it so.
            let _ = tx.send(Err(error)).await;
        }
    });
    let body = Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }));
    let name = if name.is_empty() { "folder" } else { name };
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/zip")
        .header(
            header::CONTENT_DISPOSITION,
            disposition(&format!("{name}.zip"), false),
        )
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .body(body)
        .map_err(ApiError::internal)
}

async fn write_zip(
    state: &AppState,
    owner: &Actor,
    entries: Vec<(String, Node)>,
    tx: &mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> Result<(), std::io::Error> {
    let send = |bytes: Bytes| async move {
        tx.send(Ok(bytes))
            .await
            .map_err(|_| std::io::Error::other("the client went away"))
    };
    let mut offset = 0u64;
    let mut written = Vec::with_capacity(entries.len());
    for (name, node) in entries {
        let (time, date) = dos_time(node.modified_at);
        let folder = node.kind == NodeKind::Folder;
        let mut header = BytesMut::new();
        header.put_u32_le(0x0403_4b50);
        header.put_u16_le(45); // version needed: ZIP64
        header.put_u16_le(if folder { 0x0800 } else { 0x0808 }); // UTF-8 names; data descriptor
        header.put_u16_le(0); // stored
        header.put_u16_le(time);
        header.put_u16_le(date);
        header.put_u32_le(0); // CRC, sizes: in the data descriptor
        header.put_u32_le(if folder { 0 } else { MAX32 as u32 });
        header.put_u32_le(if folder { 0 } else { MAX32 as u32 });
        header.put_u16_le(name.len() as u16);
        header.put_u16_le(if folder { 0 } else { 20 });
        header.put_slice(name.as_bytes());
        if !folder {
            // ZIP64 extra field: sizes come in the (64-bit) data descriptor.
            header.put_u16_le(0x0001);
            header.put_u16_le(16);
            header.put_u64_le(0);
            header.put_u64_le(0);
        }
        let header_len = header.len() as u64;
        send(header.freeze()).await?;
        let mut crc = CRC.digest();
        let mut size = 0u64;
        if !folder {
            let content = state
                .store
                .version_content(owner, NodeRef::Id(node.id), None)
                .await
                .map_err(std::io::Error::other)?;
            for chunk in &content.chunks {
                let bytes = read_chunk(state, chunk).await?;
                crc.update(&bytes);
                size += bytes.len() as u64;
                send(bytes).await?;
            }
            let mut descriptor = BytesMut::with_capacity(24);
            descriptor.put_u32_le(0x0807_4b50);
            let crc = crc.finalize();
            descriptor.put_u32_le(crc);
            descriptor.put_u64_le(size);
            descriptor.put_u64_le(size);
            send(descriptor.freeze()).await?;
            written.push(Entry {
                name,
                crc,
                size,
                offset,
                time,
                date,
                folder,
            });
            offset += header_len + size + 24;
        } else {
            written.push(Entry {
                name,
                crc: 0,
                size: 0,
                offset,
                time,
                date,
                folder,
            });
            offset += header_len;
        }
    }
    // The central directory.
    let directory_start = offset;
    let mut directory = BytesMut::new();
    for entry in &written {
        let mut extra = BytesMut::new();
        if entry.size >= MAX32 || entry.offset >= MAX32 || !entry.folder {
            extra.put_u16_le(0x0001);
            extra.put_u16_le(24);
            extra.put_u64_le(entry.size);
            extra.put_u64_le(entry.size);
            extra.put_u64_le(entry.offset);
        }
        let zip64 = !extra.is_empty();
        directory.put_u32_le(0x0201_4b50);
        directory.put_u16_le(0x031e); // made by: Unix, 3.0
        directory.put_u16_le(45);
        directory.put_u16_le(if entry.folder { 0x0800 } else { 0x0808 });
        directory.put_u16_le(0);
        directory.put_u16_le(entry.time);
        directory.put_u16_le(entry.date);
        directory.put_u32_le(entry.crc);
        directory.put_u32_le(if zip64 {
            MAX32 as u32
        } else {
            entry.size as u32
        });
        directory.put_u32_le(if zip64 {
            MAX32 as u32
        } else {
            entry.size as u32
        });
        directory.put_u16_le(entry.name.len() as u16);
        directory.put_u16_le(extra.len() as u16);
        directory.put_u16_le(0); // comment
        directory.put_u16_le(0); // disk
        directory.put_u16_le(0); // internal attributes
        let mode: u32 = if entry.folder { 0o040_755 } else { 0o100_644 };
        directory.put_u32_le(mode << 16 | if entry.folder { 0x10 } else { 0 });
        directory.put_u32_le(if zip64 {
            MAX32 as u32
        } else {
            entry.offset as u32
        });
        directory.put_slice(entry.name.as_bytes());
        directory.put_slice(&extra);
        if directory.len() >= 256 * 1024 {
            let piece = directory.split().freeze();
            offset += piece.len() as u64;
            send(piece).await?;
        }
    }
    offset += directory.len() as u64;
    let directory_size = offset - directory_start;
    let count = written.len() as u64;
    // ZIP64 end of central directory record and locator, then the classic record.
    let zip64_end = offset;
    directory.put_u32_le(0x0606_4b50);
    directory.put_u64_le(44);
    directory.put_u16_le(0x031e);
    directory.put_u16_le(45);
    directory.put_u32_le(0);
    directory.put_u32_le(0);
    directory.put_u64_le(count);
    directory.put_u64_le(count);
    directory.put_u64_le(directory_size);
    directory.put_u64_le(directory_start);
    directory.put_u32_le(0x0706_4b50);
    directory.put_u32_le(0);
    directory.put_u64_le(zip64_end);
    directory.put_u32_le(1);
    directory.put_u32_le(0x0605_4b50);
    directory.put_u16_le(0);
    directory.put_u16_le(0);
    directory.put_u16_le(count.min(0xFFFF) as u16);
    directory.put_u16_le(count.min(0xFFFF) as u16);
    directory.put_u32_le(directory_size.min(MAX32) as u32);
    directory.put_u32_le(directory_start.min(MAX32) as u32);
    directory.put_u16_le(0);
    send(directory.freeze()).await?;
    Ok(())
}
