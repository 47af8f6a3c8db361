//! Hostile and malformed input: each gets a problem document with a stable code, and changes nothing.

use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{TestApp, expect_json, expect_problem, id_of};

#[tokio::test]
async fn invalid_names_are_refused() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let long = "x".repeat(300);
    for name in [
        "a/b",
        "..",
        ".",
        "",
        long.as_str(),
        "nul\0byte",
        "line\nbreak.txt",
        "\u{202e}rtl.txt",
    ] {
        let folder = app
            .post(
                &ana,
                "/api/v1/folders",
                json!({"parent_id": "root", "name": name}),
            )
            .await;
        expect_problem(folder, StatusCode::BAD_REQUEST, "invalid_name").await;
        let upload = app.put_content(&ana, "root", name, b"x".to_vec()).await;
        expect_problem(upload, StatusCode::BAD_REQUEST, "invalid_name").await;
    }
    assert!(app.names(&ana, "root").await.is_empty());
}

#[tokio::test]
async fn odd_but_valid_names_round_trip() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let max = "é".repeat(127);
    for name in [
        "emoji 🎉.txt",
        "cafe\u{301} (NFD).txt",
        "עברית.txt",
        " leading space",
        "trailing dot.",
        max.as_str(),
        "#?&=%.txt",
    ] {
        let node = app
            .upload(&ana, "root", name, name.as_bytes().to_vec())
            .await;
        assert_eq!(node["name"], name);
        let path = format!("/{name}");
        let found = app
            .request(&ana, Method::GET, "/api/v1/nodes/by-path")
            .query(&[("path", path.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(
            id_of(&expect_json(found, StatusCode::OK).await),
            id_of(&node)
        );
        assert_eq!(app.download(&ana, &id_of(&node)).await, name.as_bytes());
    }
}

#[tokio::test]
async fn malformed_and_unknown_ids() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    expect_problem(
        app.get(&ana, "/api/v1/nodes/not-a-uuid").await,
        StatusCode::BAD_REQUEST,
        "invalid_id",
    )
    .await;
    expect_problem(
        app.get(&ana, "/api/v1/files/123/content").await,
        StatusCode::BAD_REQUEST,
        "invalid_id",
    )
    .await;
    let unknown = uuid::Uuid::now_v7();
    expect_problem(
        app.get(&ana, &format!("/api/v1/nodes/{unknown}")).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let bad_parent = app
        .post(
            &ana,
            "/api/v1/folders",
            json!({"parent_id": "nope", "name": "x"}),
        )
        .await;
    expect_problem(bad_parent, StatusCode::BAD_REQUEST, "malformed_json").await;
    let upload = app.put_content(&ana, "nope", "x", b"x".to_vec()).await;
    expect_problem(upload, StatusCode::BAD_REQUEST, "invalid_id").await;
    expect_problem(
        app.get(&ana, "/api/v1/no/such/route").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn malformed_and_oversized_json() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let broken = app
        .request(&ana, Method::POST, "/api/v1/folders")
        .header("content-type", "application/json")
        .body("{\"parent_id\": ")
        .send()
        .await
        .unwrap();
    expect_problem(broken, StatusCode::BAD_REQUEST, "malformed_json").await;
    let huge = json!({"parent_id": "root", "name": "x", "padding": "y".repeat(2 * 1024 * 1024)});
    let oversized = app.post(&ana, "/api/v1/folders", huge).await;
    expect_problem(
        oversized,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    )
    .await;
    let wrong_type = app
        .post(
            &ana,
            "/api/v1/folders",
            json!({"parent_id": "root", "name": 5}),
        )
        .await;
    expect_problem(wrong_type, StatusCode::BAD_REQUEST, "malformed_json").await;
    assert!(app.names(&ana, "root").await.is_empty());
}

#[tokio::test]
async fn a_body_shorter_than_its_content_length_is_refused() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let mut socket = tokio::net::TcpStream::connect(app.address).await.unwrap();
    let request = format!(
        "PUT /api/v1/files/content?parent_id=root&name=short.bin HTTP/1.1\r\nHost: x\r\n\
         Authorization: Bearer {}\r\nContent-Length: 1000\r\n\r\nonly a few bytes",
        ana.token
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    socket.shutdown().await.unwrap();
    let mut answer = String::new();
    socket.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("checksum_mismatch"), "{answer}");
    assert!(app.names(&ana, "root").await.is_empty());
}
