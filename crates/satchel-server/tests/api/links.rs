//! Public links: every status a visitor can get, limits under
//! concurrency, upload-only links, the access log, and links that follow their node.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, expect_json, expect_problem, id_of, noise};

/// Creates a link with `body` (plus the node) and returns it.
async fn link(app: &TestApp, user: &crate::helpers::User, node: &str, body: Value) -> Value {
    let mut body = body;
    body["node_id"] = json!(node);
    expect_json(
        app.post(user, "/api/v1/links", body).await,
        StatusCode::CREATED,
    )
    .await
}

/// A visitor's GET of `path` under the link (no account).
async fn visit(app: &TestApp, link: &Value, path: &str) -> reqwest::Response {
    let token = link["token"].as_str().unwrap();
    app.client
        .get(app.url(&format!("/s/{token}{path}")))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_file_link_serves_bytes_with_ranges_and_follows_its_node() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let folder = app.mkdir(&ana, "root", "Public").await;
    let bytes = noise(200_000, 1);
    let file = app
        .upload(&ana, &id_of(&folder), "report.pdf", bytes.clone())
        .await;
    let shared = link(&app, &ana, &id_of(&file), json!({})).await;
    let token = shared["token"].as_str().unwrap();
    assert!(token.len() >= 22, "at least 128 bits: {token}");
    assert!(
        shared["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/s/{token}"))
    );

    let whole = visit(&app, &shared, "").await;
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(whole.bytes().await.unwrap().to_vec(), bytes);
    let part = app
        .client
        .get(app.url(&format!("/s/{token}")))
        .header("range", "bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.bytes().await.unwrap().to_vec(), bytes[100..200]);

    // Renamed and moved: the link still works.
    let elsewhere = app.mkdir(&ana, "root", "Elsewhere").await;
    let moved = app
        .patch(
            &ana,
            &format!("/api/v1/nodes/{}", id_of(&file)),
            json!({"name": "final.pdf", "parent_id": id_of(&elsewhere)}),
        )
        .await;
    assert_eq!(moved.status(), StatusCode::OK);
    assert_eq!(visit(&app, &shared, "").await.status(), StatusCode::OK);
    // Trashed: 404; restored: works again.
    app.delete(&ana, &format!("/api/v1/nodes/{}", id_of(&file)))
        .await;
    expect_problem(
        visit(&app, &shared, "").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    app.post(
        &ana,
        &format!("/api/v1/nodes/{}/restore", id_of(&file)),
        json!({}),
    )
    .await;
    assert_eq!(visit(&app, &shared, "").await.status(), StatusCode::OK);

    // Unknown tokens: 404, the same problem.
    let unknown = json!({"token": "A".repeat(43)});
    expect_problem(
        visit(&app, &unknown, "").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    // The owner sees the link with its count and its access log.
    let links = expect_json(app.get(&ana, "/api/v1/links").await, StatusCode::OK).await;
    // Whole-file GETs count; a range from the middle (a player seeking) does not.
    assert_eq!(links["entries"][0]["download_count"], 3, "{links}");
    let log = expect_json(
        app.get(
            &ana,
            &format!("/api/v1/links/{}/accesses", shared["id"].as_str().unwrap()),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let statuses: Vec<u64> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [200, 404, 200, 206, 200], "newest first: {log}");
    assert_eq!(log["entries"][0]["address"], "127.0.0.1");

    // Another user cannot see, change or delete it.
    let bob = app.user("bob@example.org").await;
    let id = shared["id"].as_str().unwrap();
    expect_problem(
        app.delete(&bob, &format!("/api/v1/links/{id}")).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let bobs = expect_json(app.get(&bob, "/api/v1/links").await, StatusCode::OK).await;
    assert_eq!(bobs["entries"], json!([]));
    expect_problem(
        app.post(&bob, "/api/v1/links", json!({"node_id": id_of(&file)}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // Deleted: 404.
    assert_eq!(
        app.delete(&ana, &format!("/api/v1/links/{id}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    expect_problem(
        visit(&app, &shared, "").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn expired_disabled_and_password_protected_links_answer_their_codes() {
    let app = TestApp::spawn_with(|config| config.link_password_failures_allowed = 3).await;
    let ana = app.user("ana@example.org").await;
    let file = app.upload(&ana, "root", "a.txt", b"secret".to_vec()).await;
    let shared = link(
        &app,
        &ana,
        &id_of(&file),
        json!({"password": "open sesame"}),
    )
    .await;
    assert_eq!(shared["has_password"], true);
    let token = shared["token"].as_str().unwrap();
    let id = shared["id"].as_str().unwrap();
    let with = |password: &str| {
        app.client
            .get(app.url(&format!("/s/{token}")))
            .header("x-share-password", password)
            .send()
    };
    expect_problem(
        visit(&app, &shared, "").await,
        StatusCode::UNAUTHORIZED,
        "password_required",
    )
    .await;
    expect_problem(
        with("wrong").await.unwrap(),
        StatusCode::UNAUTHORIZED,
        "wrong_password",
    )
    .await;
    let right = with("open sesame").await.unwrap();
    assert_eq!(right.status(), StatusCode::OK);
    assert_eq!(right.bytes().await.unwrap().as_ref(), b"secret");
    // Guessing is limited per link and address.
    for _ in 0..2 {
        with("guess").await.unwrap();
    }
    let limited = with("open sesame").await.unwrap();
    assert!(limited.headers().contains_key("retry-after"));
    expect_problem(limited, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;

    // Password removed, then disabled, enabled, expired.
    let patched = app
        .patch(
            &ana,
            &format!("/api/v1/links/{id}"),
            json!({"password": null, "disabled": true}),
        )
        .await;
    let patched = expect_json(patched, StatusCode::OK).await;
    assert_eq!(
        (patched["has_password"].clone(), patched["disabled"].clone()),
        (json!(false), json!(true))
    );
    expect_problem(
        visit(&app, &shared, "").await,
        StatusCode::GONE,
        "link_disabled",
    )
    .await;
    app.patch(
        &ana,
        &format!("/api/v1/links/{id}"),
        json!({"disabled": false}),
    )
    .await;
    assert_eq!(visit(&app, &shared, "").await.status(), StatusCode::OK);
    // A link cannot be changed to, or made, already expired: both answer the same 400.
    let past = (chrono::Utc::now() - chrono::Duration::seconds(1)).to_rfc3339();
    let refused = app
        .patch(
            &ana,
            &format!("/api/v1/links/{id}"),
            json!({"expires_at": past}),
        )
        .await;
    let problem = expect_problem(refused, StatusCode::BAD_REQUEST, "bad_request").await;
    assert_eq!(problem["detail"], "expires_at is in the past");
    assert_eq!(visit(&app, &shared, "").await.status(), StatusCode::OK);
    let soon = (chrono::Utc::now() + chrono::Duration::milliseconds(300)).to_rfc3339();
    let patched = app
        .patch(
            &ana,
            &format!("/api/v1/links/{id}"),
            json!({"expires_at": soon}),
        )
        .await;
    expect_json(patched, StatusCode::OK).await;
    let mut answer = visit(&app, &shared, "").await;
    for _ in 0..50 {
        if answer.status() != StatusCode::OK {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        answer = visit(&app, &shared, "").await;
    }
    expect_problem(answer, StatusCode::GONE, "link_expired").await;
    expect_problem(
        app.post(
            &ana,
            "/api/v1/links",
            json!({"node_id": id_of(&file), "expires_at": past}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    // Clearing the expiry is not a time in the past.
    let cleared = app
        .patch(
            &ana,
            &format!("/api/v1/links/{id}"),
            json!({"expires_at": null}),
        )
        .await;
    assert_eq!(
        expect_json(cleared, StatusCode::OK).await["expires_at"],
        Value::Null
    );
    assert_eq!(visit(&app, &shared, "").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn twenty_parallel_downloads_of_a_five_download_link_give_exactly_five() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let file = app
        .upload(&ana, "root", "popular.bin", noise(100_000, 3))
        .await;
    let shared = link(&app, &ana, &id_of(&file), json!({"max_downloads": 5})).await;
    let attempts = (0..20).map(|_| visit(&app, &shared, ""));
    let answers = futures_util::future::join_all(attempts).await;
    let mut ok = 0;
    for answer in answers {
        match answer.status() {
            StatusCode::OK => {
                assert_eq!(answer.bytes().await.unwrap().len(), 100_000);
                ok += 1;
            }
            status => {
                assert_eq!(status, StatusCode::GONE);
                expect_problem(answer, StatusCode::GONE, "download_limit").await;
            }
        }
    }
    assert_eq!(ok, 5);
    let links = expect_json(app.get(&ana, "/api/v1/links").await, StatusCode::OK).await;
    assert_eq!(links["entries"][0]["download_count"], 5);
}

#[tokio::test]
async fn a_folder_link_lists_and_serves_what_is_inside_and_nothing_else() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let outside = app
        .upload(&ana, "root", "private.txt", b"not shared".to_vec())
        .await;
    let folder = app.mkdir(&ana, "root", "Trip").await;
    let day = app.mkdir(&ana, &id_of(&folder), "Day 1").await;
    app.upload(&ana, &id_of(&day), "été 🎉.jpg", b"photo".to_vec())
        .await;
    app.upload(&ana, &id_of(&folder), "notes.txt", b"notes".to_vec())
        .await;
    let shared = link(&app, &ana, &id_of(&folder), json!({})).await;

    let listing = expect_json(visit(&app, &shared, "").await, StatusCode::OK).await;
    assert_eq!(listing["name"], "Trip");
    let names: Vec<&str> = listing["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Day 1", "notes.txt"]);
    assert!(
        listing["entries"][0].get("id").is_none(),
        "no ids leak: {listing}"
    );
    let inner = expect_json(visit(&app, &shared, "/Day%201").await, StatusCode::OK).await;
    assert_eq!(inner["entries"][0]["name"], "été 🎉.jpg");
    let photo = visit(&app, &shared, "/Day%201/%C3%A9t%C3%A9%20%F0%9F%8E%89.jpg").await;
    assert_eq!(photo.status(), StatusCode::OK);
    assert_eq!(photo.bytes().await.unwrap().as_ref(), b"photo");
    // Nothing outside the folder, however the path is written.
    for path in [
        "/../private.txt",
        "/..%2Fprivate.txt",
        "/private.txt",
        "/Day 1/../../private.txt",
    ] {
        let answer = visit(&app, &shared, path).await;
        assert_eq!(answer.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let _ = outside;

    // The whole folder as one zip, checked by another implementation (Python's zipfile).
    app.upload(&ana, &id_of(&day), "big.bin", noise(3 << 20, 4))
        .await;
    let zip = visit(&app, &shared, "?download=zip").await;
    assert_eq!(zip.status(), StatusCode::OK);
    assert_eq!(zip.headers()["content-type"], "application/zip");
    let archive = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(archive.path(), zip.bytes().await.unwrap()).unwrap();
    let out = tempfile::tempdir().unwrap();
    let check = std::process::Command::new("python3")
        .args(["-c", "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; z.extractall(sys.argv[2]); print(sorted(z.namelist()))"])
        .arg(archive.path())
        .arg(out.path())
        .output()
        .expect("python3 runs");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&check.stdout).trim(),
        "['Day 1/', 'Day 1/big.bin', 'Day 1/été 🎉.jpg', 'notes.txt']"
    );
    assert_eq!(
        std::fs::read(out.path().join("Day 1/big.bin")).unwrap(),
        noise(3 << 20, 4)
    );
    assert_eq!(
        std::fs::read(out.path().join("Day 1/été 🎉.jpg")).unwrap(),
        b"photo"
    );
    assert_eq!(
        std::fs::read(out.path().join("notes.txt")).unwrap(),
        b"notes"
    );
}

#[tokio::test]
async fn upload_only_links_take_files_and_show_nothing() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let inbox = app.mkdir(&ana, "root", "Inbox").await;
    app.upload(&ana, &id_of(&inbox), "existing.txt", b"mine".to_vec())
        .await;
    let file = app.upload(&ana, "root", "f.txt", b"f".to_vec()).await;
    expect_problem(
        app.post(
            &ana,
            "/api/v1/links",
            json!({"node_id": id_of(&file), "permission": "upload"}),
        )
        .await,
        StatusCode::CONFLICT,
        "not_a_folder",
    )
    .await;
    let drop = link(
        &app,
        &ana,
        &id_of(&inbox),
        json!({"permission": "upload", "max_upload_bytes": 1000}),
    )
    .await;
    let token = drop["token"].as_str().unwrap();

    let shown = expect_json(visit(&app, &drop, "").await, StatusCode::OK).await;
    assert_eq!(shown, json!({"name": "Inbox", "upload_only": true}));
    expect_problem(
        visit(&app, &drop, "/existing.txt").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    let put = |name: &str, body: Vec<u8>| {
        app.client
            .put(app.url(&format!("/s/{token}/{name}")))
            .body(body)
            .send()
    };
    let sent = expect_json(
        put("cv.pdf", b"my cv".to_vec()).await.unwrap(),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(sent, json!({"name": "cv.pdf", "size": 5}));
    // The same name again is kept under another name, never over the first.
    let again = expect_json(
        put("cv.pdf", b"my cv, v2".to_vec()).await.unwrap(),
        StatusCode::CREATED,
    )
    .await;
    assert_ne!(again["name"], "cv.pdf");
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"from a form".to_vec()).file_name("form.txt"),
    );
    let posted = app
        .client
        .post(app.url(&format!("/s/{token}")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    expect_json(posted, StatusCode::CREATED).await;
    expect_problem(
        put("big.bin", noise(2000, 1)).await.unwrap(),
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    )
    .await;
    expect_problem(
        put(&"a".repeat(300), b"x".to_vec()).await.unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_name",
    )
    .await;
    let mut names = app.names(&ana, &id_of(&inbox)).await;
    names.sort();
    assert_eq!(names.len(), 4, "{names:?}");
    assert!(names.contains(&"form.txt".to_owned()) && names.contains(&"existing.txt".to_owned()));

    // A view link takes no uploads.
    let view = link(&app, &ana, &id_of(&inbox), json!({})).await;
    let refused = app
        .client
        .put(app.url(&format!("/s/{}/x.txt", view["token"].as_str().unwrap())))
        .body("x")
        .send()
        .await
        .unwrap();
    expect_problem(refused, StatusCode::FORBIDDEN, "read_only").await;
}
