//! The trash: soft delete, restore to the old place, delete for good.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, expect_json, expect_problem, id_of, noise};

#[tokio::test]
async fn trash_and_restore_a_folder_with_its_contents() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let folder = id_of(&app.mkdir(&ana, "root", "Photos").await);
    let file = id_of(&app.upload(&ana, &folder, "cat.jpg", b"meow".to_vec()).await);
    assert_eq!(
        app.delete(&ana, &format!("/api/v1/nodes/{folder}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert!(app.names(&ana, "root").await.is_empty());
    let trash = expect_json(app.get(&ana, "/api/v1/trash").await, StatusCode::OK).await;
    let trashed: Vec<&str> = trash["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        trashed,
        ["Photos"],
        "the folder is listed once, not its contents"
    );
    let node = expect_json(
        app.get(&ana, &format!("/api/v1/nodes/{file}")).await,
        StatusCode::OK,
    )
    .await;
    assert!(node["deleted_at"].is_string());
    let into_trashed = app
        .post(
            &ana,
            "/api/v1/folders",
            json!({"parent_id": folder, "name": "x"}),
        )
        .await;
    expect_problem(into_trashed, StatusCode::CONFLICT, "trashed").await;

    // Meanwhile a new folder took the name: the restored one is renamed.
    app.mkdir(&ana, "root", "photos").await;
    let restored = expect_json(
        app.post(&ana, &format!("/api/v1/nodes/{folder}/restore"), json!({}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(restored["name"], "Photos (1)");
    assert_eq!(app.names(&ana, &folder).await, ["cat.jpg"]);
    assert_eq!(app.download(&ana, &file).await, b"meow");
    let again = app
        .post(&ana, &format!("/api/v1/nodes/{folder}/restore"), json!({}))
        .await;
    expect_problem(again, StatusCode::CONFLICT, "not_trashed").await;
}

#[tokio::test]
async fn purge_deletes_for_good_and_frees_quota() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let folder = id_of(&app.mkdir(&ana, "root", "old").await);
    let file = id_of(&app.upload(&ana, &folder, "big.bin", noise(50_000, 9)).await);
    let live = app.delete(&ana, &format!("/api/v1/trash/{folder}")).await;
    expect_problem(live, StatusCode::CONFLICT, "not_trashed").await;
    app.delete(&ana, &format!("/api/v1/nodes/{folder}")).await;
    let me = expect_json(app.get(&ana, "/api/v1/me").await, StatusCode::OK).await;
    assert_eq!(me["used_bytes"], 50_000, "the trash still counts");
    assert_eq!(
        app.delete(&ana, &format!("/api/v1/trash/{folder}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    for id in [&folder, &file] {
        expect_problem(
            app.get(&ana, &format!("/api/v1/nodes/{id}")).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    let me = expect_json(app.get(&ana, "/api/v1/me").await, StatusCode::OK).await;
    assert_eq!(me["used_bytes"], 0);
    let trash = expect_json(app.get(&ana, "/api/v1/trash").await, StatusCode::OK).await;
    assert!(trash["entries"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_file_from_a_purged_folder_cannot_come_back_but_one_from_a_trashed_folder_can() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let folder = id_of(&app.mkdir(&ana, "root", "box").await);
    let file = id_of(
        &app.upload(&ana, &folder, "keep.txt", b"keep".to_vec())
            .await,
    );
    app.delete(&ana, &format!("/api/v1/nodes/{folder}")).await;
    // Restoring a file whose folder is still in the trash brings it back into the root.
    let restored = expect_json(
        app.post(&ana, &format!("/api/v1/nodes/{file}/restore"), json!({}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(restored["path"], "/keep.txt");
    assert_eq!(app.download(&ana, &file).await, b"keep");
}
