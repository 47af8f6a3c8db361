//! Cutting a local file into content-defined chunks, hashing each chunk and the whole file in one
//! read.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use satchel_blob::{MAX_CHUNK, cut_point};
use satchel_proto::Sha256;
use sha2::Digest;

/// One chunk of a local file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileChunk {
    pub offset: u64,
    pub size: u64,
    pub sha256: Sha256,
}

impl FileChunk {
    /// The chunk as an upload session lists it.
    pub fn spec(&self) -> satchel_proto::ChunkSpec {
        satchel_proto::ChunkSpec {
            sha256: self.sha256,
            size: self.size,
        }
    }
}

/// A file's size, whole-file hash and chunks.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct FileChunks {
    pub size: u64,
    pub sha256: Sha256,
    pub chunks: Vec<FileChunk>,
}

/// Reads `path` once, cutting it with FastCDC (256 KiB / 1 MiB / 4 MiB). The two hashes every byte
/// needs — the whole file's and its chunk's — run on two threads beside the cutting, so a file is
/// cut and hashed in about the time SHA-256 takes to read it once. Memory stays at a few maximal
/// chunks whatever the file's size.
pub fn chunk_file(path: &Path) -> std::io::Result<FileChunks> {
    chunk_file_with(path, |_| {})
}

/// [`chunk_file`], handing each chunk to `on_chunk` as soon as it is cut and hashed (so an upload
/// can start before the whole file is read).
pub fn chunk_file_with(
    path: &Path,
    mut on_chunk: impl FnMut(FileChunk),
) -> std::io::Result<FileChunks> {
    let mut file = std::fs::File::open(path)?;
    let (blocks, block_rx) = std::sync::mpsc::sync_channel::<Arc<Vec<u8>>>(2);
    let whole = std::thread::spawn(move || {
        let mut hasher = sha2::Sha256::new();
        for block in block_rx {
            hasher.update(block.as_slice());
        }
        Sha256::from_bytes(hasher.finalize().into())
    });
    let (pieces, piece_rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
    let (hashed, hash_rx) = std::sync::mpsc::channel::<Sha256>();
    let per_chunk = std::thread::spawn(move || {
        for piece in piece_rx {
            let _ = hashed.send(Sha256::from_bytes(sha2::Sha256::digest(&piece).into()));
        }
    });
    let mut buffer: Vec<u8> = Vec::with_capacity(2 * MAX_CHUNK);
    let mut sizes: Vec<u64> = Vec::new();
    let mut chunks: Vec<FileChunk> = Vec::new();
    let mut offset = 0u64;
    // Hands out, in order, every chunk whose hash is ready (waiting for them all at the end).
    let mut deliver = |sizes: &[u64], chunks: &mut Vec<FileChunk>, wait: bool| {
        while chunks.len() < sizes.len() {
            let next = if wait {
                hash_rx.recv().ok()
            } else {
                hash_rx.try_recv().ok()
            };
            let Some(sha256) = next else { break };
            let chunk = FileChunk {
                offset,
                size: sizes[chunks.len()],
                sha256,
            };
            offset += chunk.size;
            on_chunk(chunk);
            chunks.push(chunk);
        }
    };
    let mut eof = false;
    while !eof {
        let mut block = Vec::with_capacity(MAX_CHUNK);
        let read = (&mut file).take(MAX_CHUNK as u64).read_to_end(&mut block)?;
        eof = read < MAX_CHUNK;
        buffer.extend_from_slice(&block);
        // The whole-file hasher gets the block while this thread cuts it.
        let _ = blocks.send(Arc::new(block));
        let mut consumed = 0;
        while let Some(cut) = cut_point(&buffer[consumed..], eof) {
            let _ = pieces.send(buffer[consumed..consumed + cut].to_vec());
            sizes.push(cut as u64);
            consumed += cut;
        }
        buffer.drain(..consumed);
        deliver(&sizes, &mut chunks, false);
    }
    drop((blocks, pieces));
    deliver(&sizes, &mut chunks, true);
    let failed = || std::io::Error::other("a hashing thread failed");
    let sha256 = whole.join().map_err(|_| failed())?;
    per_chunk.join().map_err(|_| failed())?;
    if chunks.len() != sizes.len() {
        return Err(failed());
    }
    Ok(FileChunks {
        size: sizes.iter().sum(),
        sha256,
        chunks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_file_and_match_the_whole_hash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut state = 7u64;
        let bytes: Vec<u8> = (0..(9 << 20) + 5)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        std::fs::write(&path, &bytes).unwrap();
        let cut = chunk_file(&path).unwrap();
        assert_eq!(cut.size, bytes.len() as u64);
        assert_eq!(
            cut.sha256,
            Sha256::from_bytes(sha2::Sha256::digest(&bytes).into())
        );
        let mut offset = 0;
        for chunk in &cut.chunks {
            assert_eq!(chunk.offset, offset);
            let piece = &bytes[offset as usize..(offset + chunk.size) as usize];
            assert_eq!(
                chunk.sha256,
                Sha256::from_bytes(sha2::Sha256::digest(piece).into())
            );
            offset += chunk.size;
        }
        assert_eq!(offset, bytes.len() as u64);
        std::fs::write(&path, b"").unwrap();
        assert!(chunk_file(&path).unwrap().chunks.is_empty());
    }
}
