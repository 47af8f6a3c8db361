//! The chunk-store contract, run against every store: the local disk always, and an S3-compatible
//! server when `SATCHEL_TEST_BLOBS=s3://BUCKET?endpoint=…&path_style=true` names one (CI starts
//! one). Credentials come from `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use satchel_blob::{BlobError, BlobStore, LocalBlobStore, S3BlobStore, S3Credentials, S3Location};
use satchel_proto::Sha256;
use sha2::Digest;

fn hash(bytes: &[u8]) -> Sha256 {
    Sha256::from_bytes(sha2::Sha256::digest(bytes).into())
}

/// `len` bytes that differ with `seed` (a chunk store cares only that contents differ).
fn bytes_of(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8 ^ seed).collect()
}

/// A store under test, with a name for failure messages.
type Named = (&'static str, Arc<dyn BlobStore>);

/// Every store under test. The folder lives as long as the stores.
fn stores() -> (Vec<Named>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut stores: Vec<Named> =
        vec![("local", Arc::new(LocalBlobStore::open(dir.path()).unwrap()))];
    if let Ok(url) = std::env::var("SATCHEL_TEST_BLOBS") {
        let (place, query) = url.split_once('?').unwrap_or((&url, ""));
        let unique = format!(
            "{}/conformance-{}?{query}",
            place.trim_end_matches('/'),
            uuid::Uuid::now_v7().simple()
        );
        let location = S3Location::parse(&unique).unwrap().unwrap();
        let store = S3BlobStore::open(&location, &S3Credentials::default()).unwrap();
        stores.push(("s3", Arc::new(store)));
    }
    (stores, dir)
}

#[tokio::test]
async fn chunks_round_trip_and_are_stored_once() {
    let (stores, _dir) = stores();
    for (name, store) in stores {
        store
            .check()
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let small = Bytes::from_static(b"a small chunk");
        let big = Bytes::from(bytes_of(4 << 20, 1));
        let empty = Bytes::new();
        for bytes in [&small, &big, &empty] {
            let id = hash(bytes);
            assert!(!store.contains(id).await.unwrap(), "{name}");
            store.put(id, bytes.clone()).await.unwrap();
            // Storing it again changes nothing and fails nothing.
            store.put(id, bytes.clone()).await.unwrap();
            assert!(store.contains(id).await.unwrap(), "{name}");
            assert_eq!(&store.get(id).await.unwrap(), bytes, "{name}");
            assert!(store.refresh(id).await.unwrap(), "{name}");
        }
        let listed = store.list().await.unwrap();
        for bytes in [&small, &big, &empty] {
            assert!(listed.contains(&hash(bytes)), "{name}: list");
        }
        assert_eq!(listed.len(), 3, "{name}: only chunks are listed");
    }
}

#[tokio::test]
async fn missing_chunks_are_reported_as_missing() {
    let (stores, _dir) = stores();
    for (name, store) in stores {
        let id = hash(b"never stored");
        assert!(
            matches!(store.get(id).await, Err(BlobError::Missing(missing)) if missing == id),
            "{name}"
        );
        assert!(!store.refresh(id).await.unwrap(), "{name}");
        assert!(!store.contains(id).await.unwrap(), "{name}");
        store.delete(id).await.unwrap(); // deleting what is not there is no error
    }
}

#[tokio::test]
async fn delete_removes_and_a_fresh_chunk_is_never_stale() {
    let (stores, _dir) = stores();
    for (name, store) in stores {
        let bytes = Bytes::from(bytes_of(100_000, 2));
        let id = hash(&bytes);
        store.put(id, bytes.clone()).await.unwrap();
        // Stored just now: not stale for a cutoff an hour ago.
        let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
        assert!(
            !store.delete_if_stale(id, an_hour_ago).await.unwrap(),
            "{name}"
        );
        assert!(store.contains(id).await.unwrap(), "{name}");
        store.delete(id).await.unwrap();
        assert!(!store.contains(id).await.unwrap(), "{name}");
        assert!(
            matches!(store.get(id).await, Err(BlobError::Missing(_))),
            "{name}"
        );
    }
}

#[tokio::test]
async fn stale_chunks_go_on_local_disk_and_stay_in_a_bucket() {
    let (stores, _dir) = stores();
    for (name, store) in stores {
        let bytes = Bytes::from_static(b"old and unreferenced");
        let id = hash(&bytes);
        store.put(id, bytes).await.unwrap();
        let future = SystemTime::now() + Duration::from_secs(3600);
        let removed = store.delete_if_stale(id, future).await.unwrap();
        // A bucket keeps what it holds until collection there is safe (see s3.rs).
        assert_eq!(removed, name == "local", "{name}");
        assert_eq!(store.contains(id).await.unwrap(), name != "local", "{name}");
    }
}
