//! Garbage collection: unreferenced chunks go after the grace period, referenced ones never do.

use std::time::Duration;

use reqwest::StatusCode;
use satchel_server::jobs::gc::collect;
use serde_json::json;

use crate::helpers::{TestApp, expect_json, id_of, noise};

async fn stored_chunks(app: &TestApp) -> usize {
    app.state.blobs.list().await.unwrap().len()
}

#[tokio::test]
async fn purged_content_is_collected_and_shared_content_is_kept() {
    let app = TestApp::spawn_with(|c| c.gc_grace_secs = 0).await;
    let ana = app.user("ana@example.org").await;
    let shared = noise(3 << 20, 1);
    let kept = app.upload(&ana, "root", "kept.bin", shared.clone()).await;
    let doomed = app.upload(&ana, "root", "doomed.bin", shared.clone()).await;
    let alone = app
        .upload(&ana, "root", "alone.bin", noise(2 << 20, 2))
        .await;
    let small = app
        .upload(&ana, "root", "small.txt", b"tiny".to_vec())
        .await;
    let before = stored_chunks(&app).await;
    for node in [&doomed, &alone, &small] {
        app.delete(&ana, &format!("/api/v1/nodes/{}", id_of(node)))
            .await;
        app.delete(&ana, &format!("/api/v1/trash/{}", id_of(node)))
            .await;
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    let report = collect(&app.state).await.unwrap();
    if !app.state.blobs.collects() {
        // A bucket keeps every chunk (collection there is not safe yet): nothing goes, all reads.
        assert_eq!(
            report.chunks_removed, 1,
            "only the small file kept in the database: {report:?}"
        );
        assert_eq!(stored_chunks(&app).await, before);
        assert_eq!(app.download(&ana, &id_of(&kept)).await, shared);
        return;
    }
    assert!(report.chunks_removed >= 2, "{report:?}");
    assert!(report.bytes_freed >= (2 << 20) + 4, "{report:?}");
    assert!(stored_chunks(&app).await < before);
    assert_eq!(
        app.download(&ana, &id_of(&kept)).await,
        shared,
        "chunks still referenced stay"
    );
    let stats = app.state.store.stats().await.unwrap();
    assert_eq!(stats.stored_bytes, 3 << 20);
    // Nothing left to do the second time.
    let again = collect(&app.state).await.unwrap();
    assert_eq!((again.chunks_removed, again.orphans_removed), (0, 0));
}

#[tokio::test]
async fn expired_sessions_and_failed_uploads_are_collected() {
    let app = TestApp::spawn_with(|c| c.gc_grace_secs = 0).await;
    let ana = app.user("ana@example.org").await;
    let bytes = noise(2 << 20, 3);
    let chunk = &bytes[..1 << 20];
    let session = app
        .post(&ana, "/api/v1/uploads", json!({
            "parent_id": "root", "name": "never.bin", "size": bytes.len(), "sha256": crate::helpers::sha256_hex(&bytes),
            "chunks": [
                {"sha256": crate::helpers::sha256_hex(chunk), "size": 1 << 20},
                {"sha256": crate::helpers::sha256_hex(&bytes[1 << 20..]), "size": 1 << 20},
            ],
        }))
        .await;
    let session = expect_json(session, StatusCode::CREATED).await;
    let upload = session["upload_id"].as_str().unwrap();
    app.request(
        &ana,
        reqwest::Method::PUT,
        &format!("/api/v1/uploads/{upload}/chunks/0"),
    )
    .body(chunk.to_vec())
    .send()
    .await
    .unwrap();
    // While the session is open its chunk is referenced.
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(collect(&app.state).await.unwrap().orphans_removed, 0);
    assert_eq!(stored_chunks(&app).await, 1);
    // A simple upload that failed its checksum left chunks nobody names.
    let failed = app
        .request(
            &ana,
            reqwest::Method::PUT,
            "/api/v1/files/content?parent_id=root&name=bad.bin",
        )
        .header("x-content-sha256", "0".repeat(64))
        .body(noise(1 << 20, 4))
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), StatusCode::BAD_REQUEST);
    app.state
        .store
        .expire_uploads(chrono::Utc::now() + chrono::Duration::days(8))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let report = collect(&app.state).await.unwrap();
    if !app.state.blobs.collects() {
        assert_eq!(
            report.orphans_removed, 0,
            "a bucket keeps its chunks: {report:?}"
        );
        return;
    }
    assert!(report.orphans_removed >= 2, "{report:?}");
    assert_eq!(stored_chunks(&app).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn collection_racing_uploads_never_loses_a_referenced_chunk() {
    let app = TestApp::spawn_with(|c| c.gc_grace_secs = 2).await;
    let ana = app.user("ana@example.org").await;
    // A pool of contents whose chunks keep becoming garbage and being uploaded again.
    let contents: Vec<Vec<u8>> = (0..4).map(|i| noise(1 << 20, 10 + i)).collect();
    for (i, bytes) in contents.iter().enumerate() {
        let node = app
            .upload(&ana, "root", &format!("seed-{i}"), bytes.clone())
            .await;
        app.delete(&ana, &format!("/api/v1/nodes/{}", id_of(&node)))
            .await;
        app.delete(&ana, &format!("/api/v1/trash/{}", id_of(&node)))
            .await;
    }
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let collector = {
        let state = app.state.clone();
        tokio::spawn(async move {
            for _ in 0..20 {
                collect(&state).await.unwrap();
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    let mut live = Vec::new();
    for round in 0..12 {
        let bytes = contents[round % contents.len()].clone();
        let name = format!("round-{round}");
        // An upload whose chunk a collection took between storing and committing answers `503`
        // ("retry") and commits nothing: a client retries, as here. What must never happen is a
        // committed file missing a chunk (checked below).
        let mut response = app.put_content(&ana, "root", &name, bytes.clone()).await;
        for _ in 0..5 {
            if response.status() != reqwest::StatusCode::SERVICE_UNAVAILABLE {
                break;
            }
            response = app.put_content(&ana, "root", &name, bytes.clone()).await;
        }
        assert!(
            response.status().is_success(),
            "upload {name}: {}",
            response.status()
        );
        let node: serde_json::Value = response.json().await.expect("json");
        if round % 3 == 0 {
            app.delete(&ana, &format!("/api/v1/nodes/{}", id_of(&node)))
                .await;
            app.delete(&ana, &format!("/api/v1/trash/{}", id_of(&node)))
                .await;
        } else {
            live.push((id_of(&node), bytes));
        }
    }
    collector.await.unwrap();
    collect(&app.state).await.unwrap();
    for (id, bytes) in live {
        assert_eq!(
            app.download(&ana, &id).await,
            bytes,
            "a referenced chunk was collected"
        );
    }
}
