//! Public links on a shared folder made by its members: a `view` member may not publish it, an
//! `edit` member's links are the owner's to see, change and delete, and they stop working when the
//! member loses the access that made them.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, User, expect_json, expect_problem, id_of};

/// Ana's folder `Team` holding `plan.txt`, shared with Bob as `permission`; (folder, file, share).
async fn team(app: &TestApp, ana: &User, permission: &str) -> (String, String, String) {
    let folder = id_of(&app.mkdir(ana, "root", "Team").await);
    let file = id_of(
        &app.upload(ana, &folder, "plan.txt", b"secret plan".to_vec())
            .await,
    );
    let made = app
        .post(
            ana,
            "/api/v1/shares",
            json!({"node_id": folder, "email": "bob@example.org", "permission": permission}),
        )
        .await;
    let share = id_of(&expect_json(made, StatusCode::CREATED).await);
    (folder, file, share)
}

async fn links_of(app: &TestApp, user: &User) -> Vec<Value> {
    let page = expect_json(app.get(user, "/api/v1/links").await, StatusCode::OK).await;
    page["entries"].as_array().unwrap().clone()
}

async fn visit(app: &TestApp, link: &Value) -> reqwest::Response {
    app.client
        .get(link["url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
}

/// The audit's case: `POST /links` by a `view` member on the shared folder answered `201`, and the
/// owner could neither see nor delete the link.
#[tokio::test]
async fn view_members_cannot_publish_the_owners_folder() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let bob = app.user("bob@example.org").await;
    let (folder, file, _) = team(&app, &ana, "view").await;
    for body in [
        json!({"node_id": folder}),
        json!({"node_id": folder, "permission": "upload"}),
        json!({"node_id": file}),
    ] {
        let refused = app.post(&bob, "/api/v1/links", body).await;
        expect_problem(refused, StatusCode::FORBIDDEN, "read_only").await;
    }
    assert!(links_of(&app, &ana).await.is_empty());
    assert!(links_of(&app, &bob).await.is_empty());
}

#[tokio::test]
async fn edit_members_links_are_the_owners_to_see_change_and_delete() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let bob = app.user("bob@example.org").await;
    let eve = app.user("eve@example.org").await;
    let (folder, file, _) = team(&app, &ana, "edit").await;
    let made = app
        .post(&bob, "/api/v1/links", json!({"node_id": folder}))
        .await;
    let link = expect_json(made, StatusCode::CREATED).await;
    assert_eq!(link["created_by"], "bob@example.org");
    assert_eq!(visit(&app, &link).await.status(), StatusCode::OK);

    // The owner and the member both see it; nobody else does.
    for user in [&ana, &bob] {
        let listed = links_of(&app, user).await;
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert_eq!(listed[0]["id"], link["id"]);
    }
    assert!(links_of(&app, &eve).await.is_empty());
    let path = format!("/api/v1/links/{}", link["id"].as_str().unwrap());
    expect_problem(
        app.patch(&eve, &path, json!({"disabled": true})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        app.delete(&eve, &path).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let accesses = app.get(&ana, &format!("{path}/accesses")).await;
    assert_eq!(accesses.status(), StatusCode::OK);

    // The owner disables it, then deletes it.
    let patched = app.patch(&ana, &path, json!({"disabled": true})).await;
    assert_eq!(expect_json(patched, StatusCode::OK).await["disabled"], true);
    expect_problem(visit(&app, &link).await, StatusCode::GONE, "link_disabled").await;
    assert_eq!(
        app.delete(&ana, &path).await.status(),
        StatusCode::NO_CONTENT
    );
    expect_problem(visit(&app, &link).await, StatusCode::NOT_FOUND, "not_found").await;
    assert!(links_of(&app, &bob).await.is_empty());

    // The member still manages their own links.
    let made = app
        .post(&bob, "/api/v1/links", json!({"node_id": file}))
        .await;
    let own = expect_json(made, StatusCode::CREATED).await;
    let own_path = format!("/api/v1/links/{}", own["id"].as_str().unwrap());
    let patched = app
        .patch(&bob, &own_path, json!({"max_downloads": 5}))
        .await;
    assert_eq!(
        expect_json(patched, StatusCode::OK).await["max_downloads"],
        5
    );
    assert_eq!(
        app.delete(&bob, &own_path).await.status(),
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn a_members_link_stops_when_the_member_loses_access() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let bob = app.user("bob@example.org").await;
    let (folder, _, share) = team(&app, &ana, "edit").await;
    let made = app
        .post(&bob, "/api/v1/links", json!({"node_id": folder}))
        .await;
    let link = expect_json(made, StatusCode::CREATED).await;
    assert_eq!(visit(&app, &link).await.status(), StatusCode::OK);
    let share_path = format!("/api/v1/shares/{share}");

    // Bob kept only `view`: he may no longer publish the folder.
    let downgraded = app
        .patch(&ana, &share_path, json!({"permission": "view"}))
        .await;
    expect_json(downgraded, StatusCode::OK).await;
    expect_problem(visit(&app, &link).await, StatusCode::NOT_FOUND, "not_found").await;
    let upgraded = app
        .patch(&ana, &share_path, json!({"permission": "edit"}))
        .await;
    expect_json(upgraded, StatusCode::OK).await;
    assert_eq!(visit(&app, &link).await.status(), StatusCode::OK);

    // The share revoked: gone for good, and still on Ana's list to delete.
    assert_eq!(
        app.delete(&ana, &share_path).await.status(),
        StatusCode::NO_CONTENT
    );
    expect_problem(visit(&app, &link).await, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(links_of(&app, &ana).await.len(), 1);
}

/// An upload link made by a member fills the folder owner's quota, not the member's: a member with
/// no room of their own can still collect files into the owner's folder.
#[tokio::test]
async fn a_members_upload_link_uses_the_owners_quota() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let bob = app.user("bob@example.org").await;
    let (folder, _, _) = team(&app, &ana, "edit").await;
    let me = expect_json(app.get(&bob, "/api/v1/me").await, StatusCode::OK).await;
    let bob_id = me["user"]["id"].as_str().unwrap().parse().unwrap();
    app.state.store.set_quota(bob_id, Some(10)).await.unwrap();
    let link = expect_json(
        app.post(
            &bob,
            "/api/v1/links",
            json!({"node_id": folder, "permission": "upload"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let token = link["token"].as_str().unwrap();
    let sent = app
        .client
        .put(app.url(&format!("/s/{token}/report.bin")))
        .body(vec![7u8; 1000])
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), StatusCode::CREATED);
    assert!(
        app.names(&ana, &folder)
            .await
            .contains(&"report.bin".to_owned())
    );
}
