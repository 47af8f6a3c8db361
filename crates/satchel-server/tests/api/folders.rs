//! Folders and the tree: create, list, rename, move, copy, and what other users cannot see.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, expect_json, expect_problem, id_of, noise};

#[tokio::test]
async fn create_list_and_look_up() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let docs = app.mkdir(&ana, "root", "Docs").await;
    assert_eq!(docs["path"], "/Docs");
    assert_eq!(docs["kind"], "folder");
    app.mkdir(&ana, "root", "archive").await;
    app.mkdir(&ana, &id_of(&docs), "Taxes").await;
    assert_eq!(app.names(&ana, "root").await, ["archive", "Docs"]);

    let response = app
        .get(&ana, &format!("/api/v1/nodes/{}", id_of(&docs)))
        .await;
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let node = expect_json(response, StatusCode::OK).await;
    assert_eq!(etag, format!("\"{}\"", node["rev"].as_str().unwrap()));

    let by_path = expect_json(
        app.get(&ana, "/api/v1/nodes/by-path?path=/docs/TAXES")
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(by_path["path"], "/Docs/Taxes");
    let missing = app.get(&ana, "/api/v1/nodes/by-path?path=/Docs/none").await;
    expect_problem(missing, StatusCode::NOT_FOUND, "not_found").await;
    let root = expect_json(app.get(&ana, "/api/v1/nodes/root").await, StatusCode::OK).await;
    assert_eq!(root["path"], "/");
    assert!(root["parent_id"].is_null());
}

#[tokio::test]
async fn names_clash_case_insensitively_unless_renaming() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    app.mkdir(&ana, "root", "Report.txt").await;
    let clash = app
        .post(
            &ana,
            "/api/v1/folders",
            json!({"parent_id": "root", "name": "report.TXT"}),
        )
        .await;
    expect_problem(clash, StatusCode::CONFLICT, "name_conflict").await;
    let renamed = app
        .post(
            &ana,
            "/api/v1/folders",
            json!({"parent_id": "root", "name": "REPORT.txt", "on_conflict": "rename"}),
        )
        .await;
    assert_eq!(
        expect_json(renamed, StatusCode::CREATED).await["name"],
        "REPORT (1).txt"
    );
}

#[tokio::test]
async fn rename_move_and_cycles() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let a = id_of(&app.mkdir(&ana, "root", "a").await);
    let b = id_of(&app.mkdir(&ana, &a, "b").await);
    let file = id_of(&app.upload(&ana, &b, "f.txt", b"hello".to_vec()).await);

    let moved = app
        .patch(
            &ana,
            &format!("/api/v1/nodes/{file}"),
            json!({"parent_id": "root", "name": "g.txt"}),
        )
        .await;
    let moved = expect_json(moved, StatusCode::OK).await;
    assert_eq!(moved["path"], "/g.txt");
    assert_eq!(app.download(&ana, &file).await, b"hello");

    // Changing only the case of a name is a rename, not a clash with itself.
    let recased = app
        .patch(
            &ana,
            &format!("/api/v1/nodes/{file}"),
            json!({"name": "G.txt"}),
        )
        .await;
    assert_eq!(expect_json(recased, StatusCode::OK).await["name"], "G.txt");

    let into_self = app
        .patch(&ana, &format!("/api/v1/nodes/{a}"), json!({"parent_id": b}))
        .await;
    expect_problem(into_self, StatusCode::CONFLICT, "cycle").await;
    let into_itself = app
        .patch(&ana, &format!("/api/v1/nodes/{a}"), json!({"parent_id": a}))
        .await;
    expect_problem(into_itself, StatusCode::CONFLICT, "cycle").await;
    let into_file = app
        .patch(
            &ana,
            &format!("/api/v1/nodes/{b}"),
            json!({"parent_id": file}),
        )
        .await;
    expect_problem(into_file, StatusCode::CONFLICT, "not_a_folder").await;
    let root = app
        .patch(&ana, "/api/v1/nodes/root", json!({"name": "x"}))
        .await;
    expect_problem(root, StatusCode::CONFLICT, "root_immutable").await;

    // The folder moves with everything in it.
    let b_moved = app
        .patch(
            &ana,
            &format!("/api/v1/nodes/{b}"),
            json!({"parent_id": "root"}),
        )
        .await;
    assert_eq!(expect_json(b_moved, StatusCode::OK).await["path"], "/b");
    assert_eq!(app.names(&ana, "root").await, ["a", "b", "G.txt"]);
}

#[tokio::test]
async fn stale_if_match_changes_nothing() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let folder = app.mkdir(&ana, "root", "old").await;
    let id = id_of(&folder);
    let rev = folder["rev"].as_str().unwrap().to_owned();
    let renamed = app
        .patch(
            &ana,
            &format!("/api/v1/nodes/{id}"),
            json!({"name": "new", "base_rev": rev}),
        )
        .await;
    let renamed = expect_json(renamed, StatusCode::OK).await;
    assert_ne!(renamed["rev"], rev.as_str());

    let stale = app
        .request(&ana, Method::PATCH, &format!("/api/v1/nodes/{id}"))
        .header("if-match", format!("\"{rev}\""))
        .json(&json!({"name": "newer"}))
        .send()
        .await
        .unwrap();
    expect_problem(stale, StatusCode::PRECONDITION_FAILED, "rev_mismatch").await;
    let delete = app
        .request(&ana, Method::DELETE, &format!("/api/v1/nodes/{id}"))
        .header("if-match", rev)
        .send()
        .await
        .unwrap();
    expect_problem(delete, StatusCode::PRECONDITION_FAILED, "rev_mismatch").await;
    assert_eq!(app.names(&ana, "root").await, ["new"]);
}

#[tokio::test]
async fn copy_shares_content_recursively() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let src = id_of(&app.mkdir(&ana, "root", "src").await);
    let inner = id_of(&app.mkdir(&ana, &src, "inner").await);
    let bytes = noise(300_000, 1);
    app.upload(&ana, &inner, "data.bin", bytes.clone()).await;
    let copy = app
        .post(
            &ana,
            &format!("/api/v1/nodes/{src}/copy"),
            json!({"parent_id": "root", "name": "dst"}),
        )
        .await;
    let copy = expect_json(copy, StatusCode::CREATED).await;
    assert_eq!(copy["path"], "/dst");
    let copied = expect_json(
        app.get(&ana, "/api/v1/nodes/by-path?path=/dst/inner/data.bin")
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(app.download(&ana, &id_of(&copied)).await, bytes);
    let me = expect_json(app.get(&ana, "/api/v1/me").await, StatusCode::OK).await;
    assert_eq!(me["used_bytes"], 600_000, "a copy counts against the quota");
    let into_itself = app
        .post(
            &ana,
            &format!("/api/v1/nodes/{src}/copy"),
            json!({"parent_id": inner}),
        )
        .await;
    expect_problem(into_itself, StatusCode::CONFLICT, "cycle").await;
}

#[tokio::test]
async fn listings_page_through_every_child() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    for i in 0..25 {
        app.mkdir(&ana, "root", &format!("folder {i:02}")).await;
    }
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut path = "/api/v1/folders/root/children?limit=10".to_owned();
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let page = expect_json(app.get(&ana, &path).await, StatusCode::OK).await;
        pages += 1;
        names.extend(
            page["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["name"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = (0..25).map(|i| format!("folder {i:02}")).collect();
    assert_eq!(names, expected);
}

#[tokio::test]
async fn other_users_nodes_are_not_found() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let bob = app.user("bob@example.org").await;
    let folder = id_of(&app.mkdir(&ana, "root", "private").await);
    let file = id_of(
        &app.upload(&ana, &folder, "secret.txt", b"mine".to_vec())
            .await,
    );
    for path in [
        format!("/api/v1/nodes/{folder}"),
        format!("/api/v1/nodes/{file}"),
        format!("/api/v1/folders/{folder}/children"),
        format!("/api/v1/files/{file}/content"),
        format!("/api/v1/files/{file}/versions"),
        format!("/api/v1/files/{file}/chunks"),
    ] {
        expect_problem(
            app.get(&bob, &path).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    let rename = app
        .patch(&bob, &format!("/api/v1/nodes/{file}"), json!({"name": "x"}))
        .await;
    expect_problem(rename, StatusCode::NOT_FOUND, "not_found").await;
    let into = app
        .post(
            &bob,
            "/api/v1/folders",
            json!({"parent_id": folder, "name": "x"}),
        )
        .await;
    expect_problem(into, StatusCode::NOT_FOUND, "not_found").await;
    let upload = app.put_content(&bob, &folder, "x.txt", b"x".to_vec()).await;
    expect_problem(upload, StatusCode::NOT_FOUND, "not_found").await;
    let overwrite = app
        .request(&bob, Method::PUT, &format!("/api/v1/files/{file}/content"))
        .body("x")
        .send()
        .await
        .unwrap();
    expect_problem(overwrite, StatusCode::NOT_FOUND, "not_found").await;
    expect_problem(
        app.delete(&bob, &format!("/api/v1/nodes/{file}")).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // Ana's things are untouched.
    assert_eq!(app.download(&ana, &file).await, b"mine");
}
