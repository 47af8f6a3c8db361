//! The contract as a client reads it: the OpenAPI document declares what the server answers, and
//! every refusal — hyper's own, the router's, a query that does not parse — is a problem document.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{TestApp, expect_json, expect_problem, id_of};

/// Sends `request` as raw bytes and returns what the server answers before it closes.
async fn raw(app: &TestApp, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(app.address).await.unwrap();
    // A refused request may be answered before all of it is written: ignore a reset while writing.
    let _ = stream.write_all(request).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

/// Asserts a raw answer is a problem document with `status` and `code`.
fn assert_raw_problem(answer: &str, status: u16, code: &str) {
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no head in {answer:?}"));
    assert!(
        head.starts_with(&format!("HTTP/1.1 {status} ")),
        "status: {head}"
    );
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/problem+json"),
        "type: {head}"
    );
    let problem: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body:?}"));
    assert_eq!(problem["code"], code);
    assert_eq!(problem["status"], status);
}

#[tokio::test]
async fn requests_hyper_cannot_parse_get_problem_documents() {
    let app = TestApp::spawn().await;
    let answer = raw(
        &app,
        b"GET /healthz HTTP/1.1\r\nhost: x\r\nbad header\r\n\r\n",
    )
    .await;
    assert_raw_problem(&answer, 400, "bad_request");
    let long_uri = format!("GET /{} HTTP/1.1\r\nhost: x\r\n\r\n", "a".repeat(70_000));
    assert_raw_problem(&raw(&app, long_uri.as_bytes()).await, 414, "uri_too_long");
    let big_headers = format!(
        "GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: {}\r\n\r\n",
        "b".repeat(600_000)
    );
    assert_raw_problem(
        &raw(&app, big_headers.as_bytes()).await,
        431,
        "headers_too_large",
    );
    // The server still serves afterwards.
    let ok = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
}

#[tokio::test]
async fn query_errors_and_wrong_methods_are_problem_documents() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    // A public link's query, a signed URL without its signature.
    let twice = app
        .client
        .get(app.url("/s/no-such-token?download=zip&download=zip"))
        .send()
        .await
        .unwrap();
    expect_problem(twice, StatusCode::BAD_REQUEST, "bad_request").await;
    let unsigned = app
        .client
        .get(app.url(&format!("/api/v1/signed/{}", uuid::Uuid::nil())))
        .send()
        .await
        .unwrap();
    expect_problem(unsigned, StatusCode::BAD_REQUEST, "bad_request").await;
    // Page sizes outside 1–2000 are refused, not clamped (2^32 once wrapped to a small number).
    for limit in ["0", "2001", "4294967296", "-1", "ten"] {
        let page = app
            .request(&ana, Method::GET, "/api/v1/trash")
            .query(&[("limit", limit)])
            .send()
            .await
            .unwrap();
        expect_problem(page, StatusCode::BAD_REQUEST, "bad_request").await;
    }
    let page = app
        .request(&ana, Method::GET, "/api/v1/folders/root/children")
        .query(&[("limit", "2000")])
        .send()
        .await
        .unwrap();
    expect_json(page, StatusCode::OK).await;
    let wrong = app
        .request(&ana, Method::PUT, "/api/v1/me")
        .send()
        .await
        .unwrap();
    assert!(wrong.headers().contains_key("allow"));
    expect_problem(wrong, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
}

/// Follows a `$ref` inside the document.
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value["$ref"].as_str() {
        Some(reference) => doc
            .pointer(reference.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("dangling {reference}")),
        None => value,
    }
}

#[tokio::test]
async fn the_openapi_document_declares_problem_documents_and_typed_parameters() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    let doc = expect_json(response, StatusCode::OK).await;
    let paths = doc["paths"].as_object().unwrap();
    for public in ["/s/{token}", "/s/{token}/{path}"] {
        assert!(paths.contains_key(public), "{public} is documented");
    }
    let mut operations = 0;
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            operations += 1;
            let responses = operation["responses"].as_object().unwrap();
            for (status, response) in responses {
                if !status.starts_with(['4', '5']) {
                    continue;
                }
                let content = resolve(&doc, response)["content"].as_object().unwrap();
                let types: Vec<&String> = content.keys().collect();
                assert_eq!(
                    types,
                    ["application/problem+json"],
                    "{method} {path} {status}"
                );
            }
            let secured = operation["security"]
                .as_array()
                .is_some_and(|s| !s.is_empty());
            let has_input = operation["parameters"]
                .as_array()
                .is_some_and(|p| !p.is_empty())
                || operation.get("requestBody").is_some();
            for (needed, status) in [
                (secured, "401"),
                (has_input, "400"),
                (has_input, "404"),
                (secured && method != "get", "403"),
            ] {
                if needed {
                    assert!(
                        responses.contains_key(status),
                        "{method} {path} declares {status}"
                    );
                }
            }
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let parameter = resolve(&doc, parameter);
                let schema = resolve(&doc, &parameter["schema"]);
                match parameter["name"].as_str().unwrap() {
                    "limit" => {
                        assert_eq!(schema["minimum"], 1, "{path}");
                        assert_eq!(schema["maximum"], 2000, "{path}");
                    }
                    "cursor" => assert!(schema["pattern"].is_string(), "{path}"),
                    "id" | "upload_id" => assert!(
                        schema["pattern"].is_string() || schema["format"] == "uuid",
                        "{method} {path}: {schema}"
                    ),
                    _ => {}
                }
            }
        }
    }
    assert!(operations >= 51, "{operations} operations");
    let share = &doc["components"]["schemas"]["CreateShare"]["properties"]["permission"];
    let share = resolve(&doc, share);
    assert_eq!(share["enum"], json!(["view", "edit"]), "{share}");
}

#[tokio::test]
async fn a_patch_that_changes_nothing_keeps_the_rev_and_the_journal() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let docs = app.mkdir(&ana, "root", "Docs").await;
    let file = app.upload(&ana, "root", "a.txt", b"hello".to_vec()).await;
    let path = format!("/api/v1/nodes/{}", id_of(&file));
    let latest = |app: &TestApp| {
        let request = app.request(&ana, Method::GET, "/api/v1/changes/latest");
        async move { expect_json(request.send().await.unwrap(), StatusCode::OK).await["cursor"].clone() }
    };
    let before = latest(&app).await;
    // Not an object: refused, whatever serde would make of an array.
    for body in ["[null, null]", "[\"b.txt\", null]", "null", "\"b.txt\""] {
        let refused = app
            .request(&ana, Method::PATCH, &path)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        expect_problem(refused, StatusCode::BAD_REQUEST, "malformed_json").await;
    }
    for body in [
        json!({}),
        json!({"name": null, "parent_id": null}),
        json!({"name": "a.txt"}),
        json!({"parent_id": "root"}),
        json!({"name": "a.txt", "parent_id": "root", "base_rev": file["rev"]}),
    ] {
        let same = expect_json(app.patch(&ana, &path, body.clone()).await, StatusCode::OK).await;
        assert_eq!(same["rev"], file["rev"], "{body}");
        assert_eq!(same["name"], "a.txt");
    }
    let folder_path = format!("/api/v1/nodes/{}", id_of(&docs));
    let same = expect_json(
        app.patch(&ana, &folder_path, json!({"name": "Docs"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(same["rev"], docs["rev"]);
    assert_eq!(latest(&app).await, before, "nothing was journaled");
    // A real change still is one.
    let renamed = expect_json(
        app.patch(&ana, &path, json!({"name": "A.txt"})).await,
        StatusCode::OK,
    )
    .await;
    assert_ne!(renamed["rev"], file["rev"]);
    assert_ne!(latest(&app).await, before);
}
