//! The change journal: every change in order, paged with opaque cursors, per user.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, User, expect_json, expect_problem, id_of};

async fn all_changes(
    app: &TestApp,
    user: &User,
    cursor: Option<&str>,
    limit: u32,
) -> (Vec<Value>, String) {
    let mut changes = Vec::new();
    let mut cursor = cursor.map(str::to_owned);
    loop {
        let mut path = format!("/api/v1/changes?limit={limit}");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let page = expect_json(app.get(user, &path).await, StatusCode::OK).await;
        changes.extend(page["changes"].as_array().unwrap().iter().cloned());
        cursor = Some(page["cursor"].as_str().unwrap().to_owned());
        if page["has_more"] == false {
            return (changes, cursor.unwrap());
        }
    }
}

#[tokio::test]
async fn every_change_is_journaled_in_order() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let folder = id_of(&app.mkdir(&ana, "root", "f").await);
    let file = id_of(&app.upload(&ana, &folder, "a.txt", b"1".to_vec()).await);
    app.upload(&ana, &folder, "a.txt", b"2".to_vec()).await;
    app.patch(
        &ana,
        &format!("/api/v1/nodes/{file}"),
        json!({"name": "b.txt"}),
    )
    .await;
    app.patch(
        &ana,
        &format!("/api/v1/nodes/{file}"),
        json!({"parent_id": "root"}),
    )
    .await;
    app.delete(&ana, &format!("/api/v1/nodes/{file}")).await;
    app.post(&ana, &format!("/api/v1/nodes/{file}/restore"), json!({}))
        .await;
    app.delete(&ana, &format!("/api/v1/nodes/{file}")).await;
    app.delete(&ana, &format!("/api/v1/trash/{file}")).await;

    let (changes, _) = all_changes(&app, &ana, None, 2).await;
    let summary: Vec<(String, String, String)> = changes
        .iter()
        .map(|c| {
            (
                c["op"].as_str().unwrap().to_owned(),
                c["node"]["path"].as_str().unwrap().to_owned(),
                c["node"]["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let ops: Vec<(&str, &str)> = summary
        .iter()
        .map(|(op, path, _)| (op.as_str(), path.as_str()))
        .collect();
    assert_eq!(
        ops,
        [
            ("upsert", "/f"),
            ("upsert", "/f/a.txt"),
            ("upsert", "/f/a.txt"),
            ("upsert", "/f/b.txt"),
            ("upsert", "/b.txt"),
            ("delete", "/b.txt"),
            ("upsert", "/b.txt"),
            ("delete", "/b.txt"),
            ("delete", "/b.txt"),
        ]
    );
    let seqs: Vec<u64> = changes.iter().map(|c| c["seq"].as_u64().unwrap()).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "seq increases: {seqs:?}"
    );
    assert_eq!(changes[2]["node"]["version"], 2);
    assert_eq!(
        changes[1]["node"]["rev"].as_str().unwrap(),
        format!("{:x}", seqs[1])
    );
}

#[tokio::test]
async fn latest_cursor_starts_from_now_and_users_see_only_their_own() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let bob = app.user("bob@example.org").await;
    app.mkdir(&ana, "root", "before").await;
    let latest = expect_json(
        app.get(&ana, "/api/v1/changes/latest").await,
        StatusCode::OK,
    )
    .await;
    let cursor = latest["cursor"].as_str().unwrap().to_owned();
    app.mkdir(&ana, "root", "after").await;
    app.mkdir(&bob, "root", "bobs").await;
    let (changes, next) = all_changes(&app, &ana, Some(&cursor), 500).await;
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0]["node"]["name"], "after");
    let (nothing, same) = all_changes(&app, &ana, Some(&next), 500).await;
    assert!(nothing.is_empty());
    assert_eq!(same, next);
    let (bobs, _) = all_changes(&app, &bob, None, 500).await;
    assert_eq!(bobs.len(), 1);
    let bad = app.get(&ana, "/api/v1/changes?cursor=garbage").await;
    expect_problem(bad, StatusCode::BAD_REQUEST, "bad_request").await;
}

#[tokio::test]
async fn a_cursor_older_than_the_journal_keeps_is_expired() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let start = expect_json(
        app.get(&ana, "/api/v1/changes/latest").await,
        StatusCode::OK,
    )
    .await;
    let old = start["cursor"].as_str().unwrap().to_owned();
    app.mkdir(&ana, "root", "a").await;
    app.mkdir(&ana, "root", "b").await;
    let pruned = app
        .state
        .store
        .prune_journal(chrono::Utc::now() + chrono::Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(pruned, 2);
    let expired = app
        .get(&ana, &format!("/api/v1/changes?cursor={old}"))
        .await;
    expect_problem(expired, StatusCode::GONE, "cursor_expired").await;
    let waited = app
        .get(
            &ana,
            &format!("/api/v1/changes/wait?cursor={old}&timeout=1"),
        )
        .await;
    expect_problem(waited, StatusCode::GONE, "cursor_expired").await;
    // The client rescans and carries on from the newest position.
    let fresh = expect_json(
        app.get(&ana, "/api/v1/changes/latest").await,
        StatusCode::OK,
    )
    .await;
    let fresh = fresh["cursor"].as_str().unwrap().to_owned();
    app.mkdir(&ana, "root", "c").await;
    let (changes, _) = all_changes(&app, &ana, Some(&fresh), 500).await;
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0]["node"]["name"], "c");
}
