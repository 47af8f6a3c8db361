//! Every content write is a version; versions list, download and restore; `If-Match` guards writes.

use reqwest::{Method, StatusCode};

use crate::helpers::{TestApp, expect_json, expect_problem, id_of};

#[tokio::test]
async fn writes_make_versions_that_can_be_read_and_restored() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let first = app.upload(&ana, "root", "notes.txt", b"one".to_vec()).await;
    let id = id_of(&first);
    let second = app.upload(&ana, "root", "NOTES.txt", b"two".to_vec()).await;
    assert_eq!(
        id_of(&second),
        id,
        "writing to the same name makes a version"
    );
    assert_eq!(second["version"], 2);
    assert_eq!(
        second["name"], "notes.txt",
        "the stored name keeps its case"
    );

    let versions = expect_json(
        app.get(&ana, &format!("/api/v1/files/{id}/versions")).await,
        StatusCode::OK,
    )
    .await;
    let numbers: Vec<u64> = versions["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [2, 1]);
    assert_eq!(versions["entries"][0]["device"], "test");

    let old = app
        .get(&ana, &format!("/api/v1/files/{id}/content?version=1"))
        .await;
    assert_eq!(old.bytes().await.unwrap(), "one");
    let restored = app
        .post(
            &ana,
            &format!("/api/v1/files/{id}/versions/1/restore"),
            serde_json::json!({}),
        )
        .await;
    let restored = expect_json(restored, StatusCode::OK).await;
    assert_eq!(restored["version"], 3);
    assert_eq!(app.download(&ana, &id).await, b"one");
    let missing = app
        .get(&ana, &format!("/api/v1/files/{id}/content?version=9"))
        .await;
    expect_problem(missing, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn if_match_rejects_a_stale_write() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let node = app.upload(&ana, "root", "doc.txt", b"base".to_vec()).await;
    let id = id_of(&node);
    let rev = node["rev"].as_str().unwrap().to_owned();
    let put = |body: &'static str, rev: String| {
        app.request(&ana, Method::PUT, &format!("/api/v1/files/{id}/content"))
            .header("if-match", format!("\"{rev}\""))
            .body(body)
            .send()
    };
    let mine = expect_json(put("mine", rev.clone()).await.unwrap(), StatusCode::OK).await;
    assert_eq!(mine["version"], 2);
    let theirs = put("theirs", rev).await.unwrap();
    expect_problem(theirs, StatusCode::PRECONDITION_FAILED, "rev_mismatch").await;
    assert_eq!(app.download(&ana, &id).await, b"mine");
    let by_name = app
        .request(
            &ana,
            Method::PUT,
            "/api/v1/files/content?parent_id=root&name=doc.txt",
        )
        .header("if-match", "\"0\"")
        .body("late")
        .send()
        .await
        .unwrap();
    expect_problem(by_name, StatusCode::PRECONDITION_FAILED, "rev_mismatch").await;
    assert_eq!(app.download(&ana, &id).await, b"mine");
}
