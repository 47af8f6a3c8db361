//! Chunks on three storage nodes, two copies each: writes need two live nodes, reads survive bad
//! copies, repair brings copies back, fsck names exactly the files whose data is lost. The nodes
//! are real folders behind fault-injecting wrappers.

use std::collections::BTreeSet;
use std::sync::Arc;

use proptest::prelude::*;
use reqwest::StatusCode;
use satchel_blob::{BlobStore, Fault, FaultyStore, LocalBlobStore, ReplicatedStore, StorageNode};
use satchel_server::storage::{fsck, repair};

use crate::helpers::{TestApp, expect_json, expect_problem, id_of, noise};

/// Three folder nodes `a`, `b`, `c` behind fault injectors, two copies of each chunk.
fn three_nodes(dir: &std::path::Path) -> (Arc<ReplicatedStore>, Vec<Arc<FaultyStore>>) {
    let faulty: Vec<Arc<FaultyStore>> = ["a", "b", "c"]
        .iter()
        .map(|name| {
            let inner = Arc::new(LocalBlobStore::open(dir.join(name)).unwrap());
            Arc::new(FaultyStore::new(inner))
        })
        .collect();
    let nodes = faulty
        .iter()
        .zip(["a", "b", "c"])
        .map(|(store, name)| StorageNode {
            name: name.to_owned(),
            zone: None,
            store: Arc::clone(store) as Arc<dyn BlobStore>,
        })
        .collect();
    (Arc::new(ReplicatedStore::new(nodes, 2).unwrap()), faulty)
}

const ADMIN: &str = "admin@example.org";

async fn app_on(storage: Arc<ReplicatedStore>) -> TestApp {
    TestApp::spawn_on(|_| {}, storage).await
}

#[tokio::test]
async fn writes_are_acknowledged_with_two_copies_or_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (storage, faulty) = three_nodes(dir.path());
    let app = app_on(storage.clone()).await;
    let user = app.user("ana@example.org").await;
    let bytes = noise(900_000, 1);
    let node = app
        .upload(&user, "root", "two-copies.bin", bytes.clone())
        .await;
    let chunks = expect_json(
        app.get(&user, &format!("/api/v1/files/{}/chunks", id_of(&node)))
            .await,
        StatusCode::OK,
    )
    .await;
    for chunk in chunks["entries"].as_array().unwrap() {
        let hash = chunk["sha256"].as_str().unwrap().parse().unwrap();
        let copies = app.state.store.copies_of(&hash).await.unwrap();
        assert_eq!(copies.len(), 2, "recorded copies of {hash}");
        for copy in &copies {
            let on = storage.node(&copy.node).unwrap();
            assert!(
                on.store.contains(hash).await.unwrap(),
                "{hash} on {}",
                copy.node
            );
        }
    }

    // One node down: uploads and downloads go on.
    faulty[0].set(Fault::Down);
    assert_eq!(app.download(&user, &id_of(&node)).await, bytes);
    app.upload(&user, "root", "one-down.bin", noise(500_000, 2))
        .await;

    // Back up: repair moves copies back where placement wants them.
    faulty[0].set(Fault::None);
    let report = repair::repair_all(&app.state).await.unwrap();
    assert!(!report.problems(), "{report:?}");
    for name in ["two-copies.bin", "one-down.bin"] {
        let node = app
            .get(&user, &format!("/api/v1/nodes/by-path?path=/{name}"))
            .await;
        let node = expect_json(node, StatusCode::OK).await;
        let chunks = app
            .get(&user, &format!("/api/v1/files/{}/chunks", id_of(&node)))
            .await;
        for chunk in expect_json(chunks, StatusCode::OK).await["entries"]
            .as_array()
            .unwrap()
        {
            let hash = chunk["sha256"].as_str().unwrap().parse().unwrap();
            for preferred in &storage.placement(&hash)[..2] {
                let on = &storage.nodes()[*preferred];
                assert!(
                    on.store.contains(hash).await.unwrap(),
                    "{hash} on {}",
                    on.name
                );
            }
        }
    }
    faulty[0].set(Fault::Down);

    // Two down: the upload is refused and nothing is committed.
    faulty[1].set(Fault::Down);
    let response = app
        .put_content(&user, "root", "refused.bin", noise(500_000, 3))
        .await;
    expect_problem(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "storage_unavailable",
    )
    .await;
    let names = app.names(&user, "root").await;
    assert_eq!(names, ["one-down.bin", "two-copies.bin"]);
}

#[tokio::test]
async fn bad_copies_are_never_served_and_repair_puts_them_back() {
    let dir = tempfile::tempdir().unwrap();
    let (storage, faulty) = three_nodes(dir.path());
    let app = app_on(storage.clone()).await;
    let user = app.user("bo@example.org").await;
    let files: Vec<(String, Vec<u8>)> = (0..4)
        .map(|i| (format!("f{i}.bin"), noise(700_000, 10 + i)))
        .collect();
    let mut ids = Vec::new();
    for (name, bytes) in &files {
        ids.push(id_of(&app.upload(&user, "root", name, bytes.clone()).await));
    }
    // Copies that read back wrong (flipped, short) are set aside and the next copy is served.
    for (round, fault) in [Fault::CorruptReads, Fault::TruncateReads]
        .into_iter()
        .enumerate()
    {
        // The node a chunk of this round's file is read from first.
        let chunks = expect_json(
            app.get(&user, &format!("/api/v1/files/{}/chunks", ids[round]))
                .await,
            StatusCode::OK,
        )
        .await;
        let first: satchel_proto::Sha256 = chunks["entries"][0]["sha256"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let index = storage.placement(&first)[0];
        faulty[index].set(fault);
        for (id, (_, bytes)) in ids.iter().zip(&files) {
            assert_eq!(&app.download(&user, id).await, bytes, "{fault:?}");
        }
        faulty[index].set(Fault::None);
        let before = fsck::fsck(&app.state, true).await.unwrap();
        assert!(
            before.copies_missing > 0,
            "bad copies were set aside: {before:?}"
        );
        assert_eq!(before.chunks_lost, 0);
        let repaired = repair::repair_queued(&app.state).await.unwrap();
        assert!(repaired.copies_written > 0, "{repaired:?}");
        let after = fsck::fsck(&app.state, true).await.unwrap();
        assert!(!after.problems(), "{after:?}");
        assert_eq!(after.copies_found, after.copies_expected);
    }
    // A bit flipped on disk: the deep check finds it, repair replaces it.
    let damaged = damage_one_copy(&dir.path().join("c"));
    let found = fsck::fsck(&app.state, true).await.unwrap();
    assert_eq!(found.copies_corrupt, 1, "{damaged}: {found:?}");
    assert!(found.problems());
    repair::repair_queued(&app.state).await.unwrap();
    let after = fsck::fsck(&app.state, true).await.unwrap();
    assert!(!after.problems(), "{after:?}");
    for (id, (_, bytes)) in ids.iter().zip(&files) {
        assert_eq!(&app.download(&user, id).await, bytes);
    }

    // The storage log shows it, to administrators only.
    let admin = app.user(ADMIN).await;
    // The first account (the uploader) became the admin; hand that over.
    for (email, is_admin) in [("bo@example.org", false), (ADMIN, true)] {
        let record = app.state.store.user_by_email(email).await.unwrap().unwrap();
        app.state
            .store
            .set_admin(record.id, is_admin)
            .await
            .unwrap();
    }
    let log = expect_json(
        app.get(&admin, "/api/v1/admin/storage/log").await,
        StatusCode::OK,
    )
    .await;
    let events: BTreeSet<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line["event"].as_str().unwrap())
        .collect();
    for event in ["stored", "corrupt", "quarantined", "repaired"] {
        assert!(events.contains(event), "{event} in {events:?}");
    }
    let response = app.get(&user, "/api/v1/admin/storage/log").await;
    expect_problem(response, StatusCode::FORBIDDEN, "forbidden").await;
}

/// Flips a byte in the middle of the first chunk file under a node's folder; returns its path.
fn damage_one_copy(root: &std::path::Path) -> String {
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() && name != "tmp" && name != "quarantine" {
                stack.push(path);
            } else if name.len() == 64 {
                let mut bytes = std::fs::read(&path).unwrap();
                let middle = bytes.len() / 2;
                bytes[middle] ^= 1;
                std::fs::write(&path, bytes).unwrap();
                return path.display().to_string();
            }
        }
    }
    panic!("no chunk under {}", root.display());
}

/// One step of a history of uploads, faults and repairs.
#[derive(Debug, Clone)]
enum Step {
    Upload { size: usize, seed: u64 },
    Fault { node: usize, fault: Fault },
    Vanish { node: usize },
    Heal { node: usize },
    DownloadAll,
    RepairQueued,
}

fn step() -> impl Strategy<Value = Step> {
    let fault = prop_oneof![
        Just(Fault::Down),
        (1u32..3).prop_map(Fault::FailWrite),
        Just(Fault::CorruptReads),
        Just(Fault::TruncateReads),
    ];
    prop_oneof![
        3 => (70_000usize..700_000, any::<u64>()).prop_map(|(size, seed)| Step::Upload { size, seed }),
        2 => (0usize..3, fault).prop_map(|(node, fault)| Step::Fault { node, fault }),
        1 => (0usize..3).prop_map(|node| Step::Vanish { node }),
        1 => (0usize..3).prop_map(|node| Step::Heal { node }),
        2 => Just(Step::DownloadAll),
        1 => Just(Step::RepairQueued),
    ]
}

/// Files uploaded so far: name, id, bytes.
type Model = Vec<(String, String, Vec<u8>)>;

/// Downloads every file: a complete answer is always the right bytes. Returns the files that
/// could not be read.
async fn download_all(
    app: &TestApp,
    user: &crate::helpers::User,
    model: &Model,
) -> BTreeSet<String> {
    let mut failed = BTreeSet::new();
    for (name, id, bytes) in model {
        // A download whose data is lost breaks off (before or after its headers): never wrong.
        let sent = app
            .request(
                user,
                reqwest::Method::GET,
                &format!("/api/v1/files/{id}/content"),
            )
            .send()
            .await;
        let whole = match sent {
            Ok(response) if response.status() == StatusCode::OK => response.bytes().await.ok(),
            _ => None,
        };
        match whole {
            Some(body) => assert_eq!(&body[..], &bytes[..], "{name}: wrong bytes served"),
            None => {
                failed.insert(format!("/{name}"));
            }
        }
    }
    failed
}

async fn run_history(steps: Vec<Step>) {
    let dir = tempfile::tempdir().unwrap();
    let (storage, faulty) = three_nodes(dir.path());
    let app = app_on(storage).await;
    let user = app.user("cy@example.org").await;
    let mut model: Model = Vec::new();
    for (i, step) in steps.into_iter().enumerate() {
        match step {
            Step::Upload { size, seed } => {
                let name = format!("f{i}.bin");
                let bytes = noise(size, seed);
                let response = app.put_content(&user, "root", &name, bytes.clone()).await;
                match response.status() {
                    StatusCode::CREATED => {
                        let node: serde_json::Value = response.json().await.unwrap();
                        model.push((name, id_of(&node), bytes));
                    }
                    status => assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{name}"),
                }
            }
            Step::Fault { node, fault } => faulty[node].set(fault),
            Step::Vanish { node } => faulty[node].vanish().await.unwrap_or(()),
            Step::Heal { node } => faulty[node].set(Fault::None),
            Step::DownloadAll => {
                download_all(&app, &user, &model).await;
            }
            Step::RepairQueued => {
                repair::repair_queued(&app.state).await.unwrap();
            }
        }
        // Whatever the faults, a download never returns wrong bytes.
        download_all(&app, &user, &model).await;
    }
    for node in &faulty {
        node.set(Fault::None);
    }
    let repaired = repair::repair_all(&app.state).await.unwrap();
    let report = fsck::fsck(&app.state, true).await.unwrap();
    assert_eq!(report.copies_corrupt, 0, "{report:?} after {repaired:?}");
    assert_eq!(report.chunks_under_replicated, 0, "{report:?}");
    assert_eq!(
        report.copies_found + report.chunks_lost * 2,
        report.copies_expected,
        "every chunk whole or lost: {report:?}"
    );
    assert!(report.metadata_errors.is_empty(), "{report:?}");
    let unreadable = download_all(&app, &user, &model).await;
    let affected: BTreeSet<String> = report
        .files_affected
        .iter()
        .map(|f| f.path.clone())
        .collect();
    assert_eq!(
        unreadable, affected,
        "fsck names exactly the files that cannot be read"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn after_faults_and_a_repair_every_chunk_is_whole_or_reported_lost(
        steps in proptest::collection::vec(step(), 1..12)
    ) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(run_history(steps));
    }
}
