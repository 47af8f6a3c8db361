//! The chunk-store contract, run against every store: the local disk and a replicated store over
//! three folders always, and an S3-compatible server (alone, and as three replicated nodes) when
//! `SATCHEL_TEST_BLOBS=s3://BUCKET?endpoint=…&path_style=true` names one (CI starts one).
//! Credentials come from `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use satchel_blob::{
    BlobError, BlobStore, Fault, FaultyStore, LocalBlobStore, ReplicatedStore, S3BlobStore,
    S3Credentials, S3Location, StorageNode,
};
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

/// A replicated store keeping two copies over three nodes.
fn replicated(stores: Vec<Arc<dyn BlobStore>>) -> ReplicatedStore {
    let nodes = stores
        .into_iter()
        .zip(["a", "b", "c"])
        .map(|(store, name)| StorageNode {
            name: name.to_owned(),
            zone: None,
            store,
        })
        .collect();
    ReplicatedStore::new(nodes, 2).unwrap()
}

/// An S3 store under a prefix of its own in the test bucket.
fn s3(url: &str, tag: &str) -> S3BlobStore {
    let (place, query) = url.split_once('?').unwrap_or((url, ""));
    let unique = format!(
        "{}/conformance-{tag}-{}?{query}",
        place.trim_end_matches('/'),
        uuid::Uuid::now_v7().simple()
    );
    let location = S3Location::parse(&unique).unwrap().unwrap();
    S3BlobStore::open(&location, &S3Credentials::default()).unwrap()
}

/// Every store under test. The folder lives as long as the stores.
fn stores() -> (Vec<Named>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let folder = |name: &str| -> Arc<dyn BlobStore> {
        Arc::new(LocalBlobStore::open(dir.path().join(name)).unwrap())
    };
    let mut stores: Vec<Named> = vec![
        ("local", folder("local")),
        (
            "replicated",
            Arc::new(replicated(vec![folder("a"), folder("b"), folder("c")])),
        ),
    ];
    if let Ok(url) = std::env::var("SATCHEL_TEST_BLOBS") {
        stores.push(("s3", Arc::new(s3(&url, "one"))));
        let nodes: Vec<Arc<dyn BlobStore>> = ["a", "b", "c"]
            .iter()
            .map(|tag| Arc::new(s3(&url, tag)) as Arc<dyn BlobStore>)
            .collect();
        stores.push(("replicated-s3", Arc::new(replicated(nodes))));
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
async fn stale_chunks_go_where_the_store_collects() {
    let (stores, _dir) = stores();
    for (name, store) in stores {
        let bytes = Bytes::from_static(b"old and unreferenced");
        let id = hash(&bytes);
        store.put(id, bytes).await.unwrap();
        let future = SystemTime::now() + Duration::from_secs(3600);
        let removed = store.delete_if_stale(id, future).await.unwrap();
        // A bucket keeps what it holds until collection there is safe (see s3.rs).
        let collects = !name.contains("s3");
        assert_eq!(store.collects(), collects, "{name}");
        assert_eq!(removed, collects, "{name}");
        assert_eq!(store.contains(id).await.unwrap(), !collects, "{name}");
    }
}

/// Three folders behind fault-injecting wrappers, two copies of each chunk.
fn faulty_three(dir: &std::path::Path) -> (ReplicatedStore, Vec<Arc<FaultyStore>>) {
    let faulty: Vec<Arc<FaultyStore>> = ["a", "b", "c"]
        .iter()
        .map(|name| {
            let inner = Arc::new(LocalBlobStore::open(dir.join(name)).unwrap());
            Arc::new(FaultyStore::new(inner))
        })
        .collect();
    let store = replicated(
        faulty
            .iter()
            .map(|f| Arc::clone(f) as Arc<dyn BlobStore>)
            .collect(),
    );
    (store, faulty)
}

#[tokio::test]
async fn writes_need_two_live_nodes_and_reads_survive_bad_copies() {
    let dir = tempfile::tempdir().unwrap();
    let (store, faulty) = faulty_three(dir.path());
    let bytes = Bytes::from(bytes_of(300_000, 7));
    let id = hash(&bytes);
    let order = store.placement(&id);

    // The first preferred node is down: the third takes the copy.
    faulty[order[0]].set(Fault::Down);
    let held = store.put_copies(id, &bytes).await.unwrap();
    let names: Vec<&str> = store.nodes().iter().map(|n| n.name.as_str()).collect();
    assert_eq!(held, [names[order[1]], names[order[2]]]);
    assert_eq!(store.get(id).await.unwrap(), bytes, "read with a node down");

    // Two nodes down: fewer than two copies is refused.
    faulty[order[1]].set(Fault::Down);
    let other = Bytes::from(bytes_of(1000, 8));
    assert!(matches!(
        store.put(hash(&other), other.clone()).await,
        Err(BlobError::Unavailable(_))
    ));
    // One down and one failing its next write: refused; the write after that succeeds.
    faulty[order[1]].set(Fault::FailWrite(1));
    assert!(matches!(
        store.put(hash(&other), other.clone()).await,
        Err(BlobError::Unavailable(_))
    ));
    store.put(hash(&other), other.clone()).await.unwrap();
    faulty[order[0]].set(Fault::None);

    // A copy that reads back wrong is never served: the next one is, and the bad one is set
    // aside (kept under quarantine/, no longer where reads look).
    faulty[order[1]].set(Fault::CorruptReads);
    for _ in 0..2 {
        // order[0] has no copy (it was down), order[1]'s is damaged, order[2]'s is good.
        assert_eq!(store.get(id).await.unwrap(), bytes);
    }
    faulty[order[1]].set(Fault::None);
    faulty[order[2]].set(Fault::TruncateReads);
    assert!(
        matches!(store.get(id).await, Err(BlobError::Missing(_))),
        "every copy bad: the read fails rather than return wrong bytes"
    );
    for bad in [order[1], order[2]] {
        let quarantined = dir.path().join(names[bad]).join("quarantine");
        assert_eq!(std::fs::read_dir(quarantined).unwrap().count(), 1);
    }
}
