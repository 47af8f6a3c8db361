//! Connection limits: a client that never finishes its headers is dropped, a body that stops
//! arriving fails with `408 request_timeout` (and stores nothing), a malformed body is `400
//! bad_body`, and a full connection table frees itself instead of locking everyone out.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::TestApp;

/// Generous bounds: these wait for the server's 1-second limits, they do not measure them.
const PATIENCE: Duration = Duration::from_secs(15);

async fn quick_app() -> TestApp {
    TestApp::spawn_with(|config| {
        config.header_timeout_secs = 1;
        config.body_idle_timeout_secs = 1;
        config.max_connections = Some(4);
    })
    .await
}

/// Everything the server sends until it closes the connection.
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut answer))
        .await
        .expect("the server closes the connection")
        .ok();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn unfinished_headers_are_dropped() {
    let app = quick_app().await;
    let mut stream = TcpStream::connect(app.address).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let answer = read_to_close(&mut stream).await;
    assert!(!answer.contains("200 OK"), "{answer}");
}

#[tokio::test]
async fn a_stalled_body_times_out_and_stores_nothing() {
    let app = quick_app().await;
    let ana = app.user("ana@example.org").await;
    let mut stream = TcpStream::connect(app.address).await.unwrap();
    let head = format!(
        "PUT /api/v1/files/content?parent_id=root&name=stalled.bin HTTP/1.1\r\nHost: x\r\n\
         Authorization: Bearer {}\r\nContent-Length: 100000\r\n\r\n",
        ana.token
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&[7; 1000]).await.unwrap();
    let answer = read_to_close(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
    assert!(app.names(&ana, "root").await.is_empty());
}

#[tokio::test]
async fn a_malformed_chunked_body_is_bad_body() {
    let app = quick_app().await;
    let ana = app.user("ana@example.org").await;
    let mut stream = TcpStream::connect(app.address).await.unwrap();
    let head = format!(
        "PUT /api/v1/files/content?parent_id=root&name=bad.bin HTTP/1.1\r\nHost: x\r\n\
         Authorization: Bearer {}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
         5\r\nhello\r\nzz\r\nnot a chunk size\r\n0\r\n\r\n",
        ana.token
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let answer = read_to_close(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    let body: Value =
        serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap_or("")).unwrap_or_default();
    assert_eq!(body["code"], "bad_body", "{answer}");
    assert!(app.names(&ana, "root").await.is_empty());
}

#[tokio::test]
async fn past_the_connection_cap_clients_wait_and_are_served_once_a_place_frees() {
    let app = TestApp::spawn_with(|config| config.max_connections = Some(2)).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(TcpStream::connect(app.address).await.unwrap());
    }
    let client = reqwest::Client::new();
    let waiting = client
        .get(app.url("/healthz"))
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert!(waiting.is_err(), "a third connection waits: {waiting:?}");
    drop(held);
    let health = tokio::time::timeout(PATIENCE, client.get(app.url("/healthz")).send())
        .await
        .expect("answered once places free up")
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}
