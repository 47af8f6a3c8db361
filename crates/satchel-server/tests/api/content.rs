//! Uploading and downloading: streaming, ranges, validators, checksums, dedup and quota.

use futures_util::stream;
use reqwest::{Method, StatusCode};

use crate::helpers::{TestApp, expect_json, expect_problem, id_of, noise, sha256_hex};

#[tokio::test]
async fn round_trips_empty_small_and_multi_chunk_files() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    for (name, bytes) in [
        ("empty", Vec::new()),
        ("one", vec![7u8]),
        ("big.bin", noise(9 * 1024 * 1024 + 3, 2)),
    ] {
        let node = app.upload(&ana, "root", name, bytes.clone()).await;
        assert_eq!(node["size"], bytes.len() as u64);
        assert_eq!(node["sha256"], sha256_hex(&bytes));
        assert_eq!(node["version"], 1);
        assert_eq!(app.download(&ana, &id_of(&node)).await, bytes, "{name}");
    }
    let big = expect_json(
        app.get(&ana, "/api/v1/nodes/by-path?path=/big.bin").await,
        StatusCode::OK,
    )
    .await;
    let chunks = expect_json(
        app.get(&ana, &format!("/api/v1/files/{}/chunks", id_of(&big)))
            .await,
        StatusCode::OK,
    )
    .await;
    let chunks = chunks["entries"].as_array().unwrap();
    assert!(chunks.len() >= 3, "9 MiB is cut into several chunks");
    let mut offset = 0;
    for (i, chunk) in chunks.iter().enumerate() {
        assert_eq!(chunk["index"], i as u64);
        assert_eq!(chunk["offset"], offset);
        offset += chunk["size"].as_u64().unwrap();
    }
    assert_eq!(offset, 9 * 1024 * 1024 + 3);
}

#[tokio::test]
async fn ranges_and_validators() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let bytes = noise(5 * 1024 * 1024, 3);
    let id = id_of(&app.upload(&ana, "root", "r.bin", bytes.clone()).await);
    let path = format!("/api/v1/files/{id}/content");
    let ranged = |range: &'static str| {
        app.request(&ana, Method::GET, &path)
            .header("range", range)
            .send()
    };

    let middle = ranged("bytes=1048570-1048585").await.unwrap();
    assert_eq!(middle.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        middle.headers()["content-range"],
        format!("bytes 1048570-1048585/{}", bytes.len())
    );
    assert_eq!(middle.bytes().await.unwrap(), bytes[1048570..1048586]);
    let tail = ranged("bytes=-10").await.unwrap();
    assert_eq!(tail.bytes().await.unwrap(), bytes[bytes.len() - 10..]);
    let open = ranged("bytes=3000000-").await.unwrap();
    assert_eq!(open.bytes().await.unwrap(), bytes[3000000..]);
    let outside = ranged("bytes=99999999-").await.unwrap();
    assert_eq!(
        outside.headers()["content-range"],
        format!("bytes */{}", bytes.len())
    );
    expect_problem(
        outside,
        StatusCode::RANGE_NOT_SATISFIABLE,
        "range_not_satisfiable",
    )
    .await;

    let full = app.get(&ana, &path).await;
    let etag = full.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(etag, format!("\"{}\"", sha256_hex(&bytes)));
    assert_eq!(full.headers()["accept-ranges"], "bytes");
    let cached = app
        .request(&ana, Method::GET, &path)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
    assert!(cached.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn content_disposition_carries_non_ascii_names() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let id = id_of(
        &app.upload(&ana, "root", "Résumé \"final\" 📄.pdf", b"%PDF".to_vec())
            .await,
    );
    let response = app.get(&ana, &format!("/api/v1/files/{id}/content")).await;
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(response.headers()["content-type"], "application/pdf");
    assert_eq!(
        disposition,
        "attachment; filename=\"R_sum_ _final_ _.pdf\"; filename*=UTF-8''R%C3%A9sum%C3%A9%20%22final%22%20%F0%9F%93%84.pdf"
    );
    let inline = app
        .get(&ana, &format!("/api/v1/files/{id}/content?inline=1"))
        .await;
    assert!(
        inline.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("inline;")
    );
}

#[tokio::test]
async fn a_wrong_checksum_leaves_no_trace() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let response = app
        .request(
            &ana,
            Method::PUT,
            "/api/v1/files/content?parent_id=root&name=bad.bin",
        )
        .header("x-content-sha256", sha256_hex(b"something else"))
        .body(b"the real bytes".to_vec())
        .send()
        .await
        .unwrap();
    expect_problem(response, StatusCode::BAD_REQUEST, "checksum_mismatch").await;
    expect_problem(
        app.get(&ana, "/api/v1/nodes/by-path?path=/bad.bin").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let changes = expect_json(app.get(&ana, "/api/v1/changes").await, StatusCode::OK).await;
    assert!(changes["changes"].as_array().unwrap().is_empty());

    let good = app
        .request(
            &ana,
            Method::PUT,
            "/api/v1/files/content?parent_id=root&name=good.bin",
        )
        .header(
            "x-content-sha256",
            sha256_hex(b"the real bytes").to_uppercase(),
        )
        .body(b"the real bytes".to_vec())
        .send()
        .await
        .unwrap();
    expect_json(good, StatusCode::CREATED).await;
}

#[tokio::test]
async fn chunked_transfer_encoding_and_multipart_forms_work() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let parts: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..20).map(|i| Ok(noise(100_000, i))).collect();
    let expected: Vec<u8> = parts
        .iter()
        .flat_map(|p| p.as_ref().unwrap().clone())
        .collect();
    let response = app
        .request(
            &ana,
            Method::PUT,
            "/api/v1/files/content?parent_id=root&name=streamed.bin",
        )
        .body(reqwest::Body::wrap_stream(stream::iter(parts)))
        .send()
        .await
        .unwrap();
    let node = expect_json(response, StatusCode::CREATED).await;
    assert_eq!(app.download(&ana, &id_of(&node)).await, expected);

    let folder = id_of(&app.mkdir(&ana, "root", "inbox").await);
    let form = reqwest::multipart::Form::new()
        .text("parent_id", folder.clone())
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"from a browser".to_vec()).file_name("form.txt"),
        );
    let response = app
        .request(&ana, Method::POST, "/api/v1/files")
        .multipart(form)
        .send()
        .await
        .unwrap();
    let node = expect_json(response, StatusCode::CREATED).await;
    assert_eq!(node["path"], "/inbox/form.txt");
    assert_eq!(node["mime"], "text/plain");
    assert_eq!(app.download(&ana, &id_of(&node)).await, b"from a browser");
}

fn stored_chunk_files(app: &TestApp) -> usize {
    fn count(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| {
                        if e.path().is_dir() {
                            count(&e.path())
                        } else {
                            1
                        }
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    let chunks = app.state.config.chunk_dir();
    count(&chunks) - count(&chunks.join("tmp"))
}

#[tokio::test]
async fn identical_content_is_stored_once() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let bob = app.user("bob@example.org").await;
    let bytes = noise(6 * 1024 * 1024, 4);
    app.upload(&ana, "root", "a.bin", bytes.clone()).await;
    let after_first = stored_chunk_files(&app);
    app.upload(&ana, "root", "copy.bin", bytes.clone()).await;
    app.upload(&bob, "root", "theirs.bin", bytes.clone()).await;
    assert_eq!(stored_chunk_files(&app), after_first);
}

#[tokio::test]
async fn quota_is_enforced_before_bytes_are_kept() {
    let app = TestApp::spawn_with(|c| c.default_quota = Some(10_000)).await;
    let ana = app.user("ana@example.org").await;
    app.upload(&ana, "root", "fits.bin", noise(6_000, 5)).await;
    let over = app
        .put_content(&ana, "root", "over.bin", noise(6_000, 6))
        .await;
    expect_problem(over, StatusCode::PAYLOAD_TOO_LARGE, "quota_exceeded").await;
    // Without a Content-Length the limit holds while streaming.
    let parts: Vec<Result<Vec<u8>, std::io::Error>> = (0..6).map(|i| Ok(noise(1_000, i))).collect();
    let streamed = app
        .request(
            &ana,
            Method::PUT,
            "/api/v1/files/content?parent_id=root&name=streamed.bin",
        )
        .body(reqwest::Body::wrap_stream(stream::iter(parts)))
        .send()
        .await
        .unwrap();
    expect_problem(streamed, StatusCode::PAYLOAD_TOO_LARGE, "quota_exceeded").await;
    assert_eq!(app.names(&ana, "root").await, ["fits.bin"]);
    // Replacing a file counts only the difference.
    app.upload(&ana, "root", "fits.bin", noise(9_000, 7)).await;
    let me = expect_json(app.get(&ana, "/api/v1/me").await, StatusCode::OK).await;
    assert_eq!(me["used_bytes"], 9_000);
}

#[tokio::test]
async fn small_files_are_kept_with_their_version() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let before = stored_chunk_files(&app);
    let small = noise(10_000, 8);
    let node = app.upload(&ana, "root", "small.bin", small.clone()).await;
    let id = id_of(&node);
    assert_eq!(
        stored_chunk_files(&app),
        before,
        "no chunk file for a small upload"
    );
    assert_eq!(app.download(&ana, &id).await, small);
    let part = app
        .request(&ana, Method::GET, &format!("/api/v1/files/{id}/content"))
        .header("range", "bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(part.bytes().await.unwrap(), small[100..200]);
    let chunks = expect_json(
        app.get(&ana, &format!("/api/v1/files/{id}/chunks")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(chunks["entries"][0]["sha256"], sha256_hex(&small));
    // A second version, a copy and a restore all keep reading the right bytes.
    app.upload(&ana, "root", "small.bin", b"v2".to_vec()).await;
    let copy = app
        .request(&ana, Method::POST, &format!("/api/v1/nodes/{id}/copy"))
        .json(&serde_json::json!({"parent_id": "root", "name": "copy.bin"}))
        .send()
        .await
        .unwrap();
    let copy = id_of(&expect_json(copy, StatusCode::CREATED).await);
    assert_eq!(app.download(&ana, &copy).await, b"v2");
    app.post(
        &ana,
        &format!("/api/v1/files/{id}/versions/1/restore"),
        serde_json::json!({}),
    )
    .await;
    assert_eq!(app.download(&ana, &id).await, small);
    // The largest inline file and the smallest chunked one both round trip.
    for size in [64 * 1024, 64 * 1024 + 1] {
        let bytes = noise(size, size as u64);
        let node = app
            .upload(&ana, "root", &format!("edge-{size}"), bytes.clone())
            .await;
        assert_eq!(app.download(&ana, &id_of(&node)).await, bytes);
    }
}
