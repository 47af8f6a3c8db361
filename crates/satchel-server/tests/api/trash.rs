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

/// The audit's case: a file trashed out of a shared folder, its name taken by a new folder, then
/// the shared folder trashed. Restoring the file must not bring it into the still-trashed shared
/// folder (where members could still find it), and restoring the shared folder afterwards must
/// work (it answered 500 on a unique-name violation).
#[tokio::test]
async fn restoring_out_of_a_trashed_shared_folder_goes_to_the_owners_root() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let bob = app.user("bob@example.org").await;
    let shared = id_of(&app.mkdir(&ana, "root", "S").await);
    let share = app
        .post(
            &ana,
            "/api/v1/shares",
            json!({"node_id": shared, "email": "bob@example.org", "permission": "edit"}),
        )
        .await;
    expect_json(share, StatusCode::CREATED).await;
    let file = id_of(&app.upload(&ana, &shared, "a.txt", b"kept".to_vec()).await);
    let trashed = app.delete(&ana, &format!("/api/v1/nodes/{file}")).await;
    assert_eq!(trashed.status(), StatusCode::NO_CONTENT);
    let taken = id_of(&app.mkdir(&ana, &shared, "a.txt").await);
    let trashed = app.delete(&ana, &format!("/api/v1/nodes/{shared}")).await;
    assert_eq!(trashed.status(), StatusCode::NO_CONTENT);

    // Bob cannot bring it back into a folder that was taken from him.
    let by_bob = app
        .post(&bob, &format!("/api/v1/nodes/{file}/restore"), json!({}))
        .await;
    assert_eq!(by_bob.status(), StatusCode::NOT_FOUND);

    let restored = expect_json(
        app.post(&ana, &format!("/api/v1/nodes/{file}/restore"), json!({}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(restored["path"], "/a.txt", "back in ana's root: {restored}");
    assert_eq!(app.download(&ana, &file).await, b"kept");
    let found = expect_json(
        app.get(&bob, "/api/v1/search?q=a.txt").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(found["entries"], json!([]), "bob no longer finds it");

    let restored = expect_json(
        app.post(&ana, &format!("/api/v1/nodes/{shared}/restore"), json!({}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(restored["path"], "/S");
    assert_eq!(app.names(&ana, &shared).await, ["a.txt"]);
    let node = expect_json(
        app.get(&ana, &format!("/api/v1/nodes/{taken}")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(node["kind"], "folder");
    assert!(node["deleted_at"].is_null());
    assert_eq!(
        app.names(&bob, &shared).await,
        ["a.txt"],
        "bob sees it again"
    );
}
