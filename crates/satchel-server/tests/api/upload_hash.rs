//! A chunked upload's whole-file SHA-256 is the server's own: a client's false one is refused, a
//! missing one is computed, and the node's `sha256` and download `ETag` always hash its bytes —
//! whatever order the chunks came in and whichever of them the user already owned.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, User, expect_json, expect_problem, noise, sha256_hex};

/// Opens a session for `bytes` cut in 256 KiB pieces, claiming `claimed` as the file's hash.
async fn open(
    app: &TestApp,
    user: &User,
    name: &str,
    bytes: &[u8],
    claimed: Option<String>,
) -> (String, Vec<u64>) {
    let chunks: Vec<Value> = bytes
        .chunks(256 * 1024)
        .map(|c| json!({"sha256": sha256_hex(c), "size": c.len()}))
        .collect();
    let mut body =
        json!({"parent_id": "root", "name": name, "size": bytes.len(), "chunks": chunks});
    if let Some(claimed) = claimed {
        body["sha256"] = json!(claimed);
    }
    let session = expect_json(
        app.post(user, "/api/v1/uploads", body).await,
        StatusCode::CREATED,
    )
    .await;
    let missing = session["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_u64().unwrap())
        .collect();
    (session["upload_id"].as_str().unwrap().to_owned(), missing)
}

async fn send(app: &TestApp, user: &User, upload: &str, bytes: &[u8], order: &[u64]) {
    for &index in order {
        let start = index as usize * 256 * 1024;
        let piece = &bytes[start..(start + 256 * 1024).min(bytes.len())];
        let sent = app
            .request(
                user,
                Method::PUT,
                &format!("/api/v1/uploads/{upload}/chunks/{index}"),
            )
            .body(piece.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(sent.status(), StatusCode::NO_CONTENT);
    }
}

async fn commit(app: &TestApp, user: &User, upload: &str, body: Value) -> reqwest::Response {
    app.post(user, &format!("/api/v1/uploads/{upload}/commit"), body)
        .await
}

/// The node's advertised identity, by every route a client reads it.
async fn advertised(app: &TestApp, user: &User, node: &Value) -> (String, String) {
    let id = node["id"].as_str().unwrap();
    let fetched = expect_json(
        app.get(user, &format!("/api/v1/nodes/{id}")).await,
        StatusCode::OK,
    )
    .await;
    let download = app.get(user, &format!("/api/v1/files/{id}/content")).await;
    let etag = download.headers()["etag"]
        .to_str()
        .unwrap()
        .trim_matches('"')
        .to_owned();
    (fetched["sha256"].as_str().unwrap().to_owned(), etag)
}

#[tokio::test]
async fn a_false_whole_file_hash_is_refused_and_the_session_stays_open() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let bytes = noise(1024 * 1024 + 77, 11);
    let truth = sha256_hex(&bytes);
    let lie = sha256_hex(b"something else");

    // A lie at init: every chunk right, the commit still refuses.
    let (upload, missing) = open(&app, &ana, "a.bin", &bytes, Some(lie.clone())).await;
    send(&app, &ana, &upload, &bytes, &missing).await;
    expect_problem(
        commit(&app, &ana, &upload, json!({})).await,
        StatusCode::BAD_REQUEST,
        "checksum_mismatch",
    )
    .await;
    // A lie at commit too.
    let wrong = commit(&app, &ana, &upload, json!({"sha256": lie})).await;
    expect_problem(wrong, StatusCode::BAD_REQUEST, "checksum_mismatch").await;
    assert!(
        app.names(&ana, "root").await.is_empty(),
        "nothing was committed"
    );
    // The truth, given at commit, goes through.
    let node = expect_json(
        commit(&app, &ana, &upload, json!({"sha256": truth})).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(node["sha256"], truth);
    assert_eq!(advertised(&app, &ana, &node).await, (truth.clone(), truth));
}

#[tokio::test]
async fn chunks_out_of_order_or_already_owned_still_give_the_true_hash() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let bytes = noise(2 * 1024 * 1024 + 5, 12);
    let truth = sha256_hex(&bytes);
    // Out of order, and no hash given at all: the server computes it.
    let (upload, missing) = open(&app, &ana, "b.bin", &bytes, None).await;
    assert_eq!(missing.len(), 9);
    send(&app, &ana, &upload, &bytes, &[3, 1, 0, 2, 8, 5, 4, 7, 6]).await;
    let node = expect_json(
        commit(&app, &ana, &upload, json!({})).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        advertised(&app, &ana, &node).await,
        (truth.clone(), truth.clone())
    );

    // The same file again under another name: every chunk is already owned (none sent), and a
    // false hash is still refused.
    let lie = sha256_hex(b"not these bytes");
    let (again, missing) = open(&app, &ana, "c.bin", &bytes, Some(lie)).await;
    assert!(missing.is_empty());
    expect_problem(
        commit(&app, &ana, &again, json!({})).await,
        StatusCode::BAD_REQUEST,
        "checksum_mismatch",
    )
    .await;
    let node = expect_json(
        commit(&app, &ana, &again, json!({"sha256": truth})).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(advertised(&app, &ana, &node).await, (truth.clone(), truth));
}
