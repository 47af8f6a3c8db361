//! tus 1.0 at `/api/v1/tus/`: creation (with upload), offsets, checksums, termination, and an
//! upload continued on another server that shares the database and chunk store.

use base64::Engine;
use reqwest::{Method, Response, StatusCode};
use serde_json::Value;
use sha2::Digest;

use crate::helpers::{TestApp, User, expect_json, expect_problem, id_of, noise, sha256_hex};

const STREAM: &str = "application/offset+octet-stream";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn header(response: &Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("a {name} header"))
        .to_str()
        .expect("text")
        .to_owned()
}

/// `POST` creating an upload of `length` bytes with `metadata` pairs; returns its path.
async fn create(app: &TestApp, user: &User, length: usize, metadata: &[(&str, &str)]) -> String {
    let metadata: Vec<String> = metadata
        .iter()
        .map(|(k, v)| format!("{k} {}", b64(v.as_bytes())))
        .collect();
    let response = app
        .request(user, Method::POST, "/api/v1/tus/")
        .header("tus-resumable", "1.0.0")
        .header("upload-length", length.to_string())
        .header("upload-metadata", metadata.join(","))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(header(&response, "tus-resumable"), "1.0.0");
    assert!(response.headers().contains_key("upload-expires"));
    header(&response, "location")
}

async fn patch(app: &TestApp, user: &User, path: &str, offset: usize, bytes: &[u8]) -> Response {
    app.request(user, Method::PATCH, path)
        .header("tus-resumable", "1.0.0")
        .header("content-type", STREAM)
        .header("upload-offset", offset.to_string())
        .body(bytes.to_vec())
        .send()
        .await
        .expect("request")
}

async fn offset(app: &TestApp, user: &User, path: &str) -> usize {
    let response = app
        .request(user, Method::HEAD, path)
        .header("tus-resumable", "1.0.0")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "cache-control"), "no-store");
    header(&response, "upload-offset").parse().expect("number")
}

async fn chunk_hashes(app: &TestApp, user: &User, id: &str) -> Vec<Value> {
    let response = app.get(user, &format!("/api/v1/files/{id}/chunks")).await;
    let page = expect_json(response, StatusCode::OK).await;
    page["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|c| c["sha256"].clone())
        .collect()
}

#[tokio::test]
async fn an_upload_in_odd_pieces_with_checksums_becomes_the_file_cut_like_any_other() {
    let app = TestApp::spawn().await;
    let user = app.user("tus@example.com").await;
    let options = app
        .client
        .request(Method::OPTIONS, app.url("/api/v1/tus/"))
        .send()
        .await
        .expect("request");
    assert_eq!(options.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(&options, "tus-version"), "1.0.0");
    let extensions = header(&options, "tus-extension");
    for wanted in [
        "creation",
        "creation-with-upload",
        "termination",
        "checksum",
        "expiration",
    ] {
        assert!(extensions.split(',').any(|e| e == wanted), "{extensions}");
    }
    assert!(header(&options, "tus-checksum-algorithm").contains("sha1"));

    let bytes = noise(9 * 1024 * 1024 + 12_345, 7);
    let path = create(&app, &user, bytes.len(), &[("filename", "movie.bin")]).await;
    // Pieces that end mid-chunk, each with a checksum of its own.
    let cuts = [0, 1_000_003, 5 * 1024 * 1024 + 17, bytes.len()];
    let mut node = None;
    for (i, window) in cuts.windows(2).enumerate() {
        let piece = &bytes[window[0]..window[1]];
        let checksum = if i % 2 == 0 {
            format!("sha1 {}", b64(&sha1::Sha1::digest(piece)))
        } else {
            format!("sha256 {}", b64(&sha2::Sha256::digest(piece)))
        };
        let response = app
            .request(&user, Method::PATCH, &path)
            .header("tus-resumable", "1.0.0")
            .header("content-type", STREAM)
            .header("upload-offset", window[0].to_string())
            .header("upload-checksum", checksum)
            .body(piece.to_vec())
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(header(&response, "upload-offset"), window[1].to_string());
        node = response
            .headers()
            .get("satchel-node-id")
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(node.is_some(), window[1] == bytes.len());
        if window[1] < bytes.len() {
            assert_eq!(offset(&app, &user, &path).await, window[1]);
        }
    }
    let node = node.expect("the last PATCH names the file");
    assert_eq!(app.download(&user, &node).await, bytes);
    let info = expect_json(
        app.get(&user, &format!("/api/v1/nodes/{node}")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(info["name"], "movie.bin");
    assert_eq!(info["sha256"], sha256_hex(&bytes));

    // The same bytes through a plain upload are cut into the same chunks.
    let plain = app.upload(&user, "root", "plain.bin", bytes.clone()).await;
    assert_eq!(
        chunk_hashes(&app, &user, &node).await,
        chunk_hashes(&app, &user, &id_of(&plain)).await
    );
    assert!(chunk_hashes(&app, &user, &node).await.len() > 2);
}

#[tokio::test]
async fn bad_requests_change_nothing() {
    let app = TestApp::spawn().await;
    let user = app.user("tus@example.com").await;
    let other = app.user("other@example.com").await;
    let bytes = noise(300_000, 3);
    let path = create(&app, &user, bytes.len(), &[("filename", "a.bin")]).await;
    assert_eq!(
        patch(&app, &user, &path, 0, &bytes[..1000]).await.status(),
        StatusCode::NO_CONTENT
    );

    // Wrong offset: 409, offset unchanged.
    let response = patch(&app, &user, &path, 0, &bytes[..10]).await;
    expect_problem(response, StatusCode::CONFLICT, "offset_mismatch").await;
    // A checksum that does not match: 460, nothing of the piece kept.
    let response = app
        .request(&user, Method::PATCH, &path)
        .header("tus-resumable", "1.0.0")
        .header("content-type", STREAM)
        .header("upload-offset", "1000")
        .header(
            "upload-checksum",
            format!("sha1 {}", b64(&sha1::Sha1::digest(b"not it"))),
        )
        .body(bytes[1000..2000].to_vec())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 460);
    assert_eq!(offset(&app, &user, &path).await, 1000);
    // No Tus-Resumable: 412. Not an offset stream: 415.
    let response = app
        .request(&user, Method::PATCH, &path)
        .header("content-type", STREAM)
        .header("upload-offset", "1000")
        .body(bytes[1000..2000].to_vec())
        .send()
        .await
        .expect("request");
    expect_problem(
        response,
        StatusCode::PRECONDITION_FAILED,
        "unsupported_version",
    )
    .await;
    let response = app
        .request(&user, Method::PATCH, &path)
        .header("tus-resumable", "1.0.0")
        .header("content-type", "application/octet-stream")
        .header("upload-offset", "1000")
        .body(bytes[1000..2000].to_vec())
        .send()
        .await
        .expect("request");
    expect_problem(
        response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    // More than Upload-Length: 413.
    let response = patch(&app, &user, &path, 1000, &noise(400_000, 4)).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Another user does not see it.
    let response = app
        .request(&other, Method::HEAD, &path)
        .header("tus-resumable", "1.0.0")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        patch(&app, &other, &path, 1000, &bytes[1000..])
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(offset(&app, &user, &path).await, 1000);

    // Termination: gone afterwards, and no file appeared.
    let response = app
        .request(&user, Method::DELETE, &path)
        .header("tus-resumable", "1.0.0")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = app
        .request(&user, Method::HEAD, &path)
        .header("tus-resumable", "1.0.0")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(app.names(&user, "root").await.is_empty());
}

#[tokio::test]
async fn creation_with_upload_into_a_path_and_an_empty_file() {
    let app = TestApp::spawn().await;
    let user = app.user("tus@example.com").await;
    let bytes = noise(70_000, 5);
    let metadata = format!(
        "filename {},path {},modified_at {}",
        b64(b"note.txt"),
        b64(b"/Inbox/2026"),
        b64(b"2020-01-02T03:04:05Z")
    );
    let response = app
        .request(&user, Method::POST, "/api/v1/tus")
        .header("tus-resumable", "1.0.0")
        .header("upload-length", bytes.len().to_string())
        .header("upload-metadata", metadata)
        .header("content-type", STREAM)
        .body(bytes.clone())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(header(&response, "upload-offset"), bytes.len().to_string());
    let node = header(&response, "satchel-node-id");
    assert_eq!(app.download(&user, &node).await, bytes);
    let found = app
        .get(&user, "/api/v1/nodes/by-path?path=/Inbox/2026/note.txt")
        .await;
    let found = expect_json(found, StatusCode::OK).await;
    assert_eq!(id_of(&found), node);
    assert!(
        found["modified_at"]
            .as_str()
            .unwrap()
            .starts_with("2020-01-02T03:04:05")
    );

    // A second upload of that name is a new version of the same file.
    let again = noise(10, 6);
    let response = app
        .request(&user, Method::POST, "/api/v1/tus")
        .header("tus-resumable", "1.0.0")
        .header("upload-length", "10")
        .header(
            "upload-metadata",
            format!("filename {},path {}", b64(b"note.txt"), b64(b"Inbox/2026")),
        )
        .header("content-type", STREAM)
        .body(again.clone())
        .send()
        .await
        .expect("request");
    assert_eq!(header(&response, "satchel-node-id"), node);
    assert_eq!(app.download(&user, &node).await, again);

    // Zero bytes: complete at creation.
    let path = create(&app, &user, 0, &[("filename", "empty")]).await;
    let response = app
        .request(&user, Method::HEAD, &path)
        .header("tus-resumable", "1.0.0")
        .send()
        .await
        .expect("request");
    assert_eq!(header(&response, "upload-offset"), "0");
    let empty = header(&response, "satchel-node-id");
    assert!(app.download(&user, &empty).await.is_empty());
}

#[tokio::test]
async fn an_upload_begun_on_one_server_is_finished_on_another() {
    let first = TestApp::spawn().await;
    let user = first.user("tus@example.com").await;
    let config = first.state.config.clone();
    let second = TestApp::spawn_with(|c| {
        c.data = config.data.clone();
        c.database = config.database.clone();
        c.blobs = config.blobs.clone();
    })
    .await;
    let bytes = noise(6 * 1024 * 1024 + 999, 9);
    let path = create(&first, &user, bytes.len(), &[("filename", "big.bin")]).await;
    let half = 4 * 1024 * 1024 + 4321;
    let response = patch(&first, &user, &path, 0, &bytes[..half]).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    // The second server knows where it stands and takes the rest.
    assert_eq!(offset(&second, &user, &path).await, half);
    let response = patch(&second, &user, &path, half, &bytes[half..]).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let node = header(&response, "satchel-node-id");
    assert_eq!(second.download(&user, &node).await, bytes);
    let info = expect_json(
        first.get(&user, &format!("/api/v1/nodes/{node}")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(info["sha256"], sha256_hex(&bytes));
    // A retried final PATCH answers the same file.
    let response = patch(&second, &user, &path, bytes.len(), &[]).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(&response, "satchel-node-id"), node);
}

#[tokio::test]
async fn app_passwords_sign_in_and_a_read_only_one_cannot_upload() {
    let app = TestApp::spawn().await;
    let user = app.user("tus@example.com").await;
    let mut passwords = Vec::new();
    for scope in ["full", "read_only"] {
        let made = app
            .post(
                &user,
                "/api/v1/app-passwords",
                serde_json::json!({"name": scope, "scope": scope}),
            )
            .await;
        let made = expect_json(made, StatusCode::CREATED).await;
        passwords.push(made["password"].as_str().expect("password").to_owned());
    }
    let basic = |password: &str, method: Method, path: &str| {
        app.client
            .request(method, app.url(path))
            .basic_auth("tus@example.com", Some(password))
            .header("tus-resumable", "1.0.0")
    };
    let bytes = noise(5000, 11);
    let response = basic(&passwords[0], Method::POST, "/api/v1/tus/")
        .header("upload-length", bytes.len().to_string())
        .header("upload-metadata", format!("filename {}", b64(b"basic.bin")))
        .header("content-type", STREAM)
        .body(bytes.clone())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::CREATED);
    let node = header(&response, "satchel-node-id");
    assert_eq!(app.download(&user, &node).await, bytes);

    let response = basic(&passwords[1], Method::POST, "/api/v1/tus/")
        .header("upload-length", "10")
        .header("upload-metadata", format!("filename {}", b64(b"no.bin")))
        .send()
        .await
        .expect("request");
    expect_problem(response, StatusCode::FORBIDDEN, "read_only").await;
    let response = basic("wrong-password", Method::POST, "/api/v1/tus/")
        .header("upload-length", "10")
        .header("upload-metadata", format!("filename {}", b64(b"no.bin")))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.names(&user, "root").await, ["basic.bin"]);
}
