//! Names at every door: bytes that are not UTF-8 are refused (never repaired with U+FFFD), control
//! and bidirectional formatting characters are refused, and names clash whatever their case or
//! Unicode normalisation while keeping the spelling they were sent with.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, User, expect_json, expect_problem, id_of};

/// A `multipart/form-data` body with one file part whose `filename` is `name`, byte for byte.
fn raw_form(name: &[u8]) -> (String, Vec<u8>) {
    let boundary = "satchelboundary";
    let mut body =
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"")
            .into_bytes();
    body.extend_from_slice(name);
    body.extend_from_slice(b"\"\r\nContent-Type: text/plain\r\n\r\nbytes\r\n");
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload_link(app: &TestApp, ana: &User) -> String {
    let inbox = app.mkdir(ana, "root", "Inbox").await;
    let link = expect_json(
        app.post(
            ana,
            "/api/v1/links",
            json!({"node_id": id_of(&inbox), "permission": "upload"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    link["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn names_that_are_not_utf8_are_refused_at_every_door() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    // `caf%E9.txt`: Latin-1, not UTF-8.
    let query = app
        .request(
            &ana,
            Method::PUT,
            "/api/v1/files/content?parent_id=root&name=caf%E9.txt",
        )
        .body("x")
        .send()
        .await
        .unwrap();
    expect_problem(query, StatusCode::BAD_REQUEST, "invalid_name").await;
    let by_path = app.get(&ana, "/api/v1/nodes/by-path?path=/caf%E9").await;
    expect_problem(by_path, StatusCode::BAD_REQUEST, "invalid_name").await;
    let cursor = app
        .get(&ana, "/api/v1/folders/root/children?cursor=%FF")
        .await;
    expect_problem(cursor, StatusCode::BAD_REQUEST, "bad_request").await;

    let (content_type, body) = raw_form(b"caf\xe9.txt");
    let form = app
        .request(&ana, Method::POST, "/api/v1/files")
        .header("content-type", &content_type)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    let problem = expect_problem(form, StatusCode::BAD_REQUEST, "invalid_name").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("UTF-8"),
        "{problem}"
    );

    // JSON cannot carry such bytes at all: a malformed body, still a 400 problem document.
    for bad in [
        &b"{\"parent_id\": \"root\", \"name\": \"caf\xe9\"}"[..],
        &b"{\"parent_id\": \"root\", \"name\": \"\\ud800\"}"[..],
    ] {
        let json = app
            .request(&ana, Method::POST, "/api/v1/folders")
            .header("content-type", "application/json")
            .body(bad.to_vec())
            .send()
            .await
            .unwrap();
        expect_problem(json, StatusCode::BAD_REQUEST, "malformed_json").await;
    }

    let token = upload_link(&app, &ana).await;
    let public = app
        .client
        .put(app.url(&format!("/s/{token}/caf%E9.txt")))
        .body("x")
        .send()
        .await
        .unwrap();
    expect_problem(public, StatusCode::BAD_REQUEST, "invalid_name").await;
    let public_form = app
        .client
        .post(app.url(&format!("/s/{token}")))
        .header("content-type", &content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    expect_problem(public_form, StatusCode::BAD_REQUEST, "invalid_name").await;

    assert_eq!(app.names(&ana, "root").await, ["Inbox"]);
}

#[tokio::test]
async fn control_and_bidi_characters_are_refused() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let token = upload_link(&app, &ana).await;
    for name in [
        "tab\there",
        "bell\u{7}",
        "del\u{7f}",
        "c1\u{85}",
        "\u{202e}gpj.exe",
        "iso\u{2066}late",
        "mark\u{200f}",
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
        // ASCII control bytes cannot appear in a form's part headers at all (the parser refuses
        // the form); the others arrive and are refused as names.
        if !name.chars().any(|c| c.is_ascii_control()) {
            let (content_type, body) = raw_form(name.as_bytes());
            let form = app
                .request(&ana, Method::POST, "/api/v1/files")
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .unwrap();
            expect_problem(form, StatusCode::BAD_REQUEST, "invalid_name").await;
        }
        let encoded: String = name.bytes().map(|b| format!("%{b:02X}")).collect();
        let public = app
            .client
            .put(app.url(&format!("/s/{token}/{encoded}")))
            .body("x")
            .send()
            .await
            .unwrap();
        expect_problem(public, StatusCode::BAD_REQUEST, "invalid_name").await;
    }
    assert_eq!(app.names(&ana, "root").await, ["Inbox"]);
}

async fn new_folder(app: &TestApp, ana: &User, body: Value) -> reqwest::Response {
    app.post(ana, "/api/v1/folders", body).await
}

#[tokio::test]
async fn nfc_and_nfd_spellings_are_one_name() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let nfd = "cafe\u{301}.txt";
    let nfc = "caf\u{e9}.txt";
    let first = app.upload(&ana, "root", nfd, b"one".to_vec()).await;
    // The name is kept as sent.
    assert_eq!(first["name"], nfd);

    let clash = new_folder(&app, &ana, json!({"parent_id": "root", "name": nfc})).await;
    expect_problem(clash, StatusCode::CONFLICT, "name_conflict").await;
    let renamed = new_folder(
        &app,
        &ana,
        json!({"parent_id": "root", "name": nfc, "on_conflict": "rename"}),
    )
    .await;
    assert_eq!(
        expect_json(renamed, StatusCode::CREATED).await["name"],
        "caf\u{e9} (1).txt"
    );
    // Uploading under the other spelling is a new version of the same file.
    let again = app.upload(&ana, "root", nfc, b"two".to_vec()).await;
    assert_eq!(id_of(&again), id_of(&first));
    // And a lookup by either spelling finds it.
    let found = app
        .request(&ana, Method::GET, "/api/v1/nodes/by-path")
        .query(&[("path", format!("/{}", nfc.to_uppercase()))])
        .send()
        .await
        .unwrap();
    assert_eq!(
        id_of(&expect_json(found, StatusCode::OK).await),
        id_of(&first)
    );
}

#[tokio::test]
async fn names_fold_fully_not_just_to_lower_case() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    expect_json(
        new_folder(&app, &ana, json!({"parent_id": "root", "name": "Straße"})).await,
        StatusCode::CREATED,
    )
    .await;
    let clash = new_folder(&app, &ana, json!({"parent_id": "root", "name": "STRASSE"})).await;
    expect_problem(clash, StatusCode::CONFLICT, "name_conflict").await;
    expect_json(
        new_folder(&app, &ana, json!({"parent_id": "root", "name": "ΟΔΟΣ"})).await,
        StatusCode::CREATED,
    )
    .await;
    let sigma = new_folder(&app, &ana, json!({"parent_id": "root", "name": "οδοσ"})).await;
    expect_problem(sigma, StatusCode::CONFLICT, "name_conflict").await;
}
