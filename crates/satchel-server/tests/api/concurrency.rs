//! Many writers at once: no 500s, no lost writes, no "database is locked".

use reqwest::StatusCode;

use crate::helpers::{TestApp, expect_json, id_of, noise};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_uploads_all_land() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let folder = id_of(&app.mkdir(&ana, "root", "burst").await);
    let names: Vec<String> = (0..50).map(|i| format!("file-{i:02}.bin")).collect();
    let distinct = names
        .iter()
        .zip(0..)
        .map(|(name, i)| app.put_content(&ana, &folder, name, noise(4096, i)));
    for response in futures_util::future::join_all(distinct).await {
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "{}",
            response.text().await.unwrap()
        );
    }
    assert_eq!(app.names(&ana, &folder).await.len(), 50);

    let same = (0..50).map(|i| app.put_content(&ana, &folder, "same.bin", noise(4096, 100 + i)));
    for response in futures_util::future::join_all(same).await {
        let status = response.status();
        assert!(
            status == StatusCode::CREATED || status == StatusCode::OK,
            "{status}: {}",
            response.text().await.unwrap()
        );
    }
    let node = expect_json(
        app.get(&ana, "/api/v1/nodes/by-path?path=/burst/same.bin")
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(node["version"], 50);
    let versions = expect_json(
        app.get(&ana, &format!("/api/v1/files/{}/versions", id_of(&node)))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(versions["entries"].as_array().unwrap().len(), 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failing_writes_in_a_busy_moment_change_nothing_else() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    app.mkdir(&ana, "root", "taken").await;
    let names: Vec<String> = (0..40)
        .map(|i| {
            if i % 2 == 0 {
                format!("new-{i}")
            } else {
                "TAKEN".to_owned()
            }
        })
        .collect();
    let creates = names.iter().map(|name| {
        app.post(
            &ana,
            "/api/v1/folders",
            serde_json::json!({"parent_id": "root", "name": name}),
        )
    });
    let mut created = 0;
    for response in futures_util::future::join_all(creates).await {
        match response.status() {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => {}
            other => panic!("unexpected {other}: {}", response.text().await.unwrap()),
        }
    }
    assert_eq!(created, 20);
    assert_eq!(app.names(&ana, "root").await.len(), 21);
    let changes = expect_json(app.get(&ana, "/api/v1/changes").await, StatusCode::OK).await;
    assert_eq!(
        changes["changes"].as_array().unwrap().len(),
        21,
        "only the writes that succeeded are journaled"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_abandoned_mid_write_leave_the_database_writable() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    // Clients that give up after a few hundred microseconds, at every point of the write path.
    for round in 0..10u64 {
        let attempts = (0..40u64).map(|i| {
            app.request(&ana, reqwest::Method::POST, "/api/v1/folders")
                .timeout(std::time::Duration::from_micros(
                    200 + 50 * ((round * 40 + i) % 20),
                ))
                .json(&serde_json::json!({"parent_id": "root", "name": format!("f{round}-{i}")}))
                .send()
        });
        futures_util::future::join_all(attempts).await;
    }
    // Every write still goes through, and the journal holds every folder that was created.
    let names: Vec<String> = (0..20).map(|i| format!("after {i}")).collect();
    let writes = names.iter().map(|name| app.mkdir(&ana, "root", name));
    futures_util::future::join_all(writes).await;
    let listed = app.names(&ana, "root").await;
    assert!(listed.iter().filter(|n| n.starts_with("after ")).count() == 20);
    let changes = app.get(&ana, "/api/v1/changes?limit=2000").await;
    let changes = crate::helpers::expect_json(changes, reqwest::StatusCode::OK).await;
    assert_eq!(changes["changes"].as_array().unwrap().len(), listed.len());
}
