//! Chunked, resumable, deduplicated uploads.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, User, expect_json, expect_problem, id_of, noise, sha256_hex};

/// A file cut into fixed pieces (the server accepts any cut).
fn pieces(bytes: &[u8], size: usize) -> Vec<Vec<u8>> {
    bytes.chunks(size).map(<[u8]>::to_vec).collect()
}

fn init_body(parent: &str, name: &str, bytes: &[u8], chunks: &[Vec<u8>]) -> Value {
    json!({
        "parent_id": parent,
        "name": name,
        "size": bytes.len(),
        "sha256": sha256_hex(bytes),
        "chunks": chunks.iter().map(|c| json!({"sha256": sha256_hex(c), "size": c.len()})).collect::<Vec<_>>(),
    })
}

async fn init(app: &TestApp, user: &User, body: Value) -> Value {
    expect_json(
        app.post(user, "/api/v1/uploads", body).await,
        StatusCode::CREATED,
    )
    .await
}

async fn send(
    app: &TestApp,
    user: &User,
    upload: &str,
    index: usize,
    bytes: &[u8],
) -> reqwest::Response {
    app.request(
        user,
        Method::PUT,
        &format!("/api/v1/uploads/{upload}/chunks/{index}"),
    )
    .body(bytes.to_vec())
    .send()
    .await
    .unwrap()
}

fn missing(session: &Value) -> Vec<u64> {
    session["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn upload_in_chunks_resume_and_commit() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let bytes = noise(10 * 1024 * 1024 + 123, 1);
    let chunks = pieces(&bytes, 1024 * 1024);
    let session = init(&app, &ana, init_body("root", "big.bin", &bytes, &chunks)).await;
    let upload = session["upload_id"].as_str().unwrap().to_owned();
    assert_eq!(missing(&session), (0..11).collect::<Vec<_>>());
    assert_eq!(session["max_chunk_size"], 16 * 1024 * 1024);

    // Half the chunks, out of order; then the client "crashes" and asks where it stands.
    for index in [5, 0, 9, 2, 7] {
        assert_eq!(
            send(&app, &ana, &upload, index, &chunks[index])
                .await
                .status(),
            StatusCode::NO_CONTENT
        );
    }
    let early = app
        .post(&ana, &format!("/api/v1/uploads/{upload}/commit"), json!({}))
        .await;
    expect_problem(early, StatusCode::CONFLICT, "incomplete").await;
    let resumed = expect_json(
        app.get(&ana, &format!("/api/v1/uploads/{upload}")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(missing(&resumed), [1, 3, 4, 6, 8, 10]);
    assert_eq!(resumed["received_bytes"], 5 * 1024 * 1024);
    for index in missing(&resumed) {
        send(&app, &ana, &upload, index as usize, &chunks[index as usize]).await;
    }
    let node = expect_json(
        app.post(&ana, &format!("/api/v1/uploads/{upload}/commit"), json!({}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(node["sha256"], sha256_hex(&bytes));
    assert_eq!(app.download(&ana, &id_of(&node)).await, bytes);
    // A retried commit answers with the same node and changes nothing.
    let again = expect_json(
        app.post(&ana, &format!("/api/v1/uploads/{upload}/commit"), json!({}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(id_of(&again), id_of(&node));
    assert_eq!(again["version"], 1);
    let listed = expect_json(
        app.get(&ana, &format!("/api/v1/files/{}/chunks", id_of(&node)))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed["entries"].as_array().unwrap().len(), 11);
}

#[tokio::test]
async fn owned_content_is_not_sent_twice_but_others_content_is() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let bob = app.user("bob@example.org").await;
    let bytes = noise(3 * 1024 * 1024, 2);
    let chunks = pieces(&bytes, 1024 * 1024);
    let first = init(&app, &ana, init_body("root", "a.bin", &bytes, &chunks)).await;
    let upload = first["upload_id"].as_str().unwrap();
    for (i, chunk) in chunks.iter().enumerate() {
        send(&app, &ana, upload, i, chunk).await;
    }
    app.post(&ana, &format!("/api/v1/uploads/{upload}/commit"), json!({}))
        .await;

    // The same content again for Ana: nothing is missing; commit straight away.
    let again = init(&app, &ana, init_body("root", "copy.bin", &bytes, &chunks)).await;
    assert!(missing(&again).is_empty());
    let copy = app
        .post(
            &ana,
            &format!(
                "/api/v1/uploads/{}/commit",
                again["upload_id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    let copy = expect_json(copy, StatusCode::CREATED).await;
    assert_eq!(app.download(&ana, &id_of(&copy)).await, bytes);

    // Bob knows the hashes but not the bytes: he must send every chunk.
    let theirs = init(&app, &bob, init_body("root", "b.bin", &bytes, &chunks)).await;
    assert_eq!(missing(&theirs), [0, 1, 2]);
    let stolen = app
        .get(&bob, &format!("/api/v1/chunks/{}", sha256_hex(&chunks[0])))
        .await;
    expect_problem(stolen, StatusCode::NOT_FOUND, "not_found").await;
    let own = app
        .get(&ana, &format!("/api/v1/chunks/{}", sha256_hex(&chunks[0])))
        .await;
    assert_eq!(own.bytes().await.unwrap(), chunks[0]);
}

#[tokio::test]
async fn wrong_chunks_are_refused_and_stay_missing() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let bytes = noise(2 * 1024 * 1024, 3);
    let chunks = pieces(&bytes, 1024 * 1024);
    let session = init(&app, &ana, init_body("root", "f.bin", &bytes, &chunks)).await;
    let upload = session["upload_id"].as_str().unwrap();
    let wrong = send(&app, &ana, upload, 0, &chunks[1]).await;
    expect_problem(wrong, StatusCode::BAD_REQUEST, "checksum_mismatch").await;
    let short = send(&app, &ana, upload, 0, &chunks[0][..1000]).await;
    expect_problem(short, StatusCode::BAD_REQUEST, "size_mismatch").await;
    let mut long = chunks[0].clone();
    long.push(0);
    expect_problem(
        send(&app, &ana, upload, 0, &long).await,
        StatusCode::BAD_REQUEST,
        "size_mismatch",
    )
    .await;
    expect_problem(
        send(&app, &ana, upload, 7, &chunks[0]).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let status = expect_json(
        app.get(&ana, &format!("/api/v1/uploads/{upload}")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(missing(&status), [0, 1]);
    // Another user cannot touch the session.
    let bob = app.user("bob@example.org").await;
    expect_problem(
        send(&app, &bob, upload, 0, &chunks[0]).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        app.get(&bob, &format!("/api/v1/uploads/{upload}")).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn bad_sessions_are_refused() {
    let app = TestApp::spawn_with(|c| c.default_quota = Some(5 * 1024 * 1024)).await;
    let ana = app.user("ana@example.org").await;
    let bytes = noise(1024 * 1024, 4);
    let chunks = pieces(&bytes, 512 * 1024);
    let mut body = init_body("root", "f.bin", &bytes, &chunks);
    body["size"] = json!(12);
    expect_problem(
        app.post(&ana, "/api/v1/uploads", body).await,
        StatusCode::BAD_REQUEST,
        "size_mismatch",
    )
    .await;
    let huge = noise(17 * 1024 * 1024, 5);
    let one = vec![huge.clone()];
    let too_big = app
        .post(
            &ana,
            "/api/v1/uploads",
            init_body("root", "huge.bin", &huge, &one),
        )
        .await;
    expect_problem(too_big, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    let over_quota = app
        .post(
            &ana,
            "/api/v1/uploads",
            init_body("root", "huge.bin", &huge, &pieces(&huge, 4 << 20)),
        )
        .await;
    expect_problem(over_quota, StatusCode::PAYLOAD_TOO_LARGE, "quota_exceeded").await;
    let bad_name = app
        .post(
            &ana,
            "/api/v1/uploads",
            init_body("root", "a/b", &bytes, &chunks),
        )
        .await;
    expect_problem(bad_name, StatusCode::BAD_REQUEST, "invalid_name").await;

    // An aborted session is gone; an expired one says so.
    let session = init(&app, &ana, init_body("root", "f.bin", &bytes, &chunks)).await;
    let upload = session["upload_id"].as_str().unwrap();
    assert_eq!(
        app.delete(&ana, &format!("/api/v1/uploads/{upload}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    expect_problem(
        send(&app, &ana, upload, 0, &chunks[0]).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let expiring = init(&app, &ana, init_body("root", "g.bin", &bytes, &chunks)).await;
    app.state
        .store
        .expire_uploads(chrono::Utc::now() + chrono::Duration::days(8))
        .await
        .unwrap();
    let late = send(
        &app,
        &ana,
        expiring["upload_id"].as_str().unwrap(),
        0,
        &chunks[0],
    )
    .await;
    expect_problem(late, StatusCode::GONE, "upload_expired").await;
}

#[tokio::test]
async fn commit_makes_a_version_and_honours_base_rev() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let old = app.upload(&ana, "root", "doc.bin", b"old".to_vec()).await;
    let bytes = noise(300_000, 6);
    let chunks = pieces(&bytes, 100_000);
    let mut stale = init_body("root", "doc.bin", &bytes, &chunks);
    stale["base_rev"] = json!("0");
    let stale = init(&app, &ana, stale).await;
    let mut fresh = init_body("root", "doc.bin", &bytes, &chunks);
    fresh["base_rev"] = old["rev"].clone();
    let fresh = init(&app, &ana, fresh).await;
    for (i, chunk) in chunks.iter().enumerate() {
        send(&app, &ana, fresh["upload_id"].as_str().unwrap(), i, chunk).await;
    }
    let stale_commit = app
        .post(
            &ana,
            &format!(
                "/api/v1/uploads/{}/commit",
                stale["upload_id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    expect_problem(
        stale_commit,
        StatusCode::PRECONDITION_FAILED,
        "rev_mismatch",
    )
    .await;
    let node = app
        .post(
            &ana,
            &format!(
                "/api/v1/uploads/{}/commit",
                fresh["upload_id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    let node = expect_json(node, StatusCode::CREATED).await;
    assert_eq!(id_of(&node), id_of(&old));
    assert_eq!(node["version"], 2);
    assert_eq!(app.download(&ana, &id_of(&node)).await, bytes);
}

#[tokio::test]
async fn a_chunk_list_can_come_in_pieces_while_chunks_go_up() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let bytes = noise(3 << 20, 7);
    let chunks = pieces(&bytes, 1 << 20);
    let spec = |c: &Vec<u8>| json!({"sha256": sha256_hex(c), "size": c.len()});
    let first = init(
        &app,
        &ana,
        json!({
            "parent_id": "root", "name": "piecewise.bin", "size": bytes.len(),
            "chunks": [spec(&chunks[0])], "more_chunks": true,
        }),
    )
    .await;
    let upload = first["upload_id"].as_str().unwrap().to_owned();
    assert_eq!(missing(&first), [0]);
    send(&app, &ana, &upload, 0, &chunks[0]).await;
    let early = app
        .post(&ana, &format!("/api/v1/uploads/{upload}/commit"), json!({}))
        .await;
    expect_problem(early, StatusCode::CONFLICT, "incomplete").await;
    let second = app
        .post(
            &ana,
            &format!("/api/v1/uploads/{upload}/chunks"),
            json!({
                "chunks": [spec(&chunks[1]), spec(&chunks[2])], "more_chunks": false,
            }),
        )
        .await;
    assert_eq!(missing(&expect_json(second, StatusCode::OK).await), [1, 2]);
    let closed = app
        .post(
            &ana,
            &format!("/api/v1/uploads/{upload}/chunks"),
            json!({"chunks": [spec(&chunks[0])]}),
        )
        .await;
    expect_problem(closed, StatusCode::CONFLICT, "list_closed").await;
    send(&app, &ana, &upload, 1, &chunks[1]).await;
    send(&app, &ana, &upload, 2, &chunks[2]).await;
    // No hash at init nor at commit: the server's own is the file's.
    let node = app
        .post(&ana, &format!("/api/v1/uploads/{upload}/commit"), json!({}))
        .await;
    let node = expect_json(node, StatusCode::CREATED).await;
    assert_eq!(node["sha256"], sha256_hex(&bytes));
    assert_eq!(app.download(&ana, &id_of(&node)).await, bytes);
}

#[tokio::test]
async fn chunks_go_straight_to_the_bucket_through_presigned_urls() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let bob = app.user("bob@example.org").await;
    let bytes = noise(2 << 20, 41);
    let (first, second) = bytes.split_at(1 << 20);
    let body = |name: &str| {
        json!({
            "parent_id": "root", "name": name, "size": bytes.len(), "sha256": sha256_hex(&bytes),
            "chunks": [
                {"sha256": sha256_hex(first), "size": first.len()},
                {"sha256": sha256_hex(second), "size": second.len()},
            ],
        })
    };
    let session = expect_json(
        app.post(&ana, "/api/v1/uploads", body("direct.bin")).await,
        StatusCode::CREATED,
    )
    .await;
    if !app.state.blobs.presigns() {
        assert!(
            session.get("chunk_urls").is_none(),
            "local disk offers none"
        );
        return;
    }
    let urls = &session["chunk_urls"];
    let target = &urls["0"];
    let url = target["url"].as_str().unwrap();
    let checksum = target["headers"]["x-amz-checksum-sha256"].as_str().unwrap();
    let plain = reqwest::Client::new();
    // The bucket refuses other bytes, and a request without the signed checksum.
    // (A refusal may also come as a closed connection before the whole body went.)
    let refused = |answer: reqwest::Result<reqwest::Response>| {
        answer.map_or(true, |answer| !answer.status().is_success())
    };
    let wrong = plain
        .put(url)
        .header("x-amz-checksum-sha256", checksum)
        .body(second.to_vec())
        .send()
        .await;
    assert!(refused(wrong), "wrong bytes are refused");
    let unsigned = plain.put(url).body(first.to_vec()).send().await;
    assert!(
        refused(unsigned),
        "a request without the checksum is refused"
    );
    let stored = plain
        .put(url)
        .header("x-amz-checksum-sha256", checksum)
        .body(first.to_vec())
        .send()
        .await
        .unwrap();
    assert!(stored.status().is_success(), "{}", stored.status());
    // The other chunk through the server, then the commit finds the first in the bucket.
    let upload = session["upload_id"].as_str().unwrap();
    let sent = app
        .request(
            &ana,
            Method::PUT,
            &format!("/api/v1/uploads/{upload}/chunks/1"),
        )
        .body(second.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), StatusCode::NO_CONTENT);
    let node = expect_json(
        app.post(&ana, &format!("/api/v1/uploads/{upload}/commit"), json!({}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(app.download(&ana, &id_of(&node)).await, bytes);

    // Bob lists Ana's chunks without having them: no URL for what the bucket holds, and a commit
    // without sending them finds them missing.
    let theirs = expect_json(
        app.post(&bob, "/api/v1/uploads", body("claimed.bin")).await,
        StatusCode::CREATED,
    )
    .await;
    assert!(theirs["chunk_urls"].get("0").is_none(), "{theirs}");
    assert_eq!(theirs["missing"], json!([0, 1]));
    let upload = theirs["upload_id"].as_str().unwrap();
    expect_problem(
        app.post(&bob, &format!("/api/v1/uploads/{upload}/commit"), json!({}))
            .await,
        StatusCode::CONFLICT,
        "incomplete",
    )
    .await;
}
