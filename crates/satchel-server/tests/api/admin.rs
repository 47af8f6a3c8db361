//! The admin API and account self-service: the first account is an admin, everyone else gets
//! `403 forbidden` from `/api/v1/admin/`; admins create, disable (ending sessions), reset and set
//! quotas; users change their own password (current one checked, other sessions ended).

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, expect_json, expect_problem};

const PASSWORD: &str = "correct horse battery";

#[tokio::test]
async fn only_admins_reach_the_admin_api_and_the_first_account_is_one() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let bob = app.user("bob@example.org").await;
    let me = expect_json(app.get(&ana, "/api/v1/me").await, StatusCode::OK).await;
    assert_eq!(me["user"]["is_admin"], true, "{me}");
    let me = expect_json(app.get(&bob, "/api/v1/me").await, StatusCode::OK).await;
    assert_eq!(me["user"]["is_admin"], false, "{me}");

    let users = expect_json(app.get(&ana, "/api/v1/admin/users").await, StatusCode::OK).await;
    let emails: Vec<_> = users["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(emails, ["ana@example.org", "bob@example.org"]);

    let bob_id = users["entries"][1]["id"].as_str().unwrap().to_owned();
    let new_user = json!({"email": "cy@example.org", "password": PASSWORD});
    for response in [
        app.get(&bob, "/api/v1/admin/users").await,
        app.get(&bob, "/api/v1/admin/stats").await,
        app.post(&bob, "/api/v1/admin/users", new_user.clone())
            .await,
        app.patch(
            &bob,
            &format!("/api/v1/admin/users/{bob_id}"),
            json!({"is_admin": true}),
        )
        .await,
        app.post(
            &bob,
            &format!("/api/v1/admin/users/{bob_id}/password"),
            json!({"password": "another passphrase"}),
        )
        .await,
    ] {
        expect_problem(response, StatusCode::FORBIDDEN, "forbidden").await;
    }
    let me = expect_json(app.get(&bob, "/api/v1/me").await, StatusCode::OK).await;
    assert_eq!(
        me["user"]["is_admin"], false,
        "a refused request changed nothing"
    );
    let refused = app
        .post_anonymous(
            "/api/v1/auth/login",
            json!({"email": "cy@example.org", "password": PASSWORD}),
        )
        .await;
    assert_eq!(
        refused.status(),
        StatusCode::UNAUTHORIZED,
        "no account was made"
    );

    // Made an admin, bob reaches the API; unmade, he loses it at once.
    let path = format!("/api/v1/admin/users/{bob_id}");
    let changed = expect_json(
        app.patch(&ana, &path, json!({"is_admin": true})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(changed["is_admin"], true);
    expect_json(app.get(&bob, "/api/v1/admin/users").await, StatusCode::OK).await;
    app.patch(&ana, &path, json!({"is_admin": false})).await;
    let response = app.get(&bob, "/api/v1/admin/users").await;
    expect_problem(response, StatusCode::FORBIDDEN, "forbidden").await;
}

#[tokio::test]
async fn admins_create_disable_reset_and_set_quotas() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let made = expect_json(
        app.post(
            &ana,
            "/api/v1/admin/users",
            json!({"email": "cy@example.org", "password": PASSWORD, "quota_bytes": 5000}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(made["quota_bytes"], 5000);
    assert_eq!(made["is_admin"], false);
    let weak = app
        .post(
            &ana,
            "/api/v1/admin/users",
            json!({"email": "dee@example.org", "password": "short"}),
        )
        .await;
    expect_problem(weak, StatusCode::UNPROCESSABLE_ENTITY, "weak_password").await;
    let taken = app
        .post(
            &ana,
            "/api/v1/admin/users",
            json!({"email": "CY@example.org", "password": PASSWORD}),
        )
        .await;
    expect_problem(taken, StatusCode::CONFLICT, "email_taken").await;

    let cy = app.login("cy@example.org", PASSWORD).await;
    let id = made["id"].as_str().unwrap();
    let path = format!("/api/v1/admin/users/{id}");

    // Disabled: the session ends, signing in is refused; enabled again, signing in works.
    let disabled = expect_json(
        app.patch(&ana, &path, json!({"disabled": true})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(disabled["disabled"], true);
    let response = app.get(&cy, "/api/v1/me").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let login = app
        .post_anonymous(
            "/api/v1/auth/login",
            json!({"email": "cy@example.org", "password": PASSWORD}),
        )
        .await;
    expect_problem(login, StatusCode::FORBIDDEN, "account_disabled").await;
    app.patch(&ana, &path, json!({"disabled": false})).await;
    let cy = app.login("cy@example.org", PASSWORD).await;

    // Quota: set, then lifted with null.
    app.patch(&ana, &path, json!({"quota_bytes": 1234})).await;
    let me = expect_json(app.get(&cy, "/api/v1/me").await, StatusCode::OK).await;
    assert_eq!(me["quota_bytes"], 1234);
    let lifted = expect_json(
        app.patch(&ana, &path, json!({"quota_bytes": null})).await,
        StatusCode::OK,
    )
    .await;
    assert!(lifted["quota_bytes"].is_null(), "{lifted}");

    // Reset: every session ends, the old password no longer works, the new one does.
    let response = app
        .post(
            &ana,
            &format!("{path}/password"),
            json!({"password": "a fresh passphrase"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&cy, "/api/v1/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let old = app
        .post_anonymous(
            "/api/v1/auth/login",
            json!({"email": "cy@example.org", "password": PASSWORD}),
        )
        .await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    app.login("cy@example.org", "a fresh passphrase").await;

    // An admin cannot lock themselves out.
    let users = expect_json(app.get(&ana, "/api/v1/admin/users").await, StatusCode::OK).await;
    let own = users["entries"][0]["id"].as_str().unwrap();
    let response = app
        .patch(
            &ana,
            &format!("/api/v1/admin/users/{own}"),
            json!({"disabled": true}),
        )
        .await;
    expect_problem(response, StatusCode::BAD_REQUEST, "bad_request").await;
    let unknown = app
        .patch(
            &ana,
            "/api/v1/admin/users/00000000-0000-7000-8000-000000000000",
            json!({"disabled": true}),
        )
        .await;
    expect_problem(unknown, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn storage_statistics_count_deduplicated_bytes_once() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let bytes = crate::helpers::noise(200_000, 7);
    app.upload(&ana, "root", "a.bin", bytes.clone()).await;
    app.upload(&ana, "root", "b.bin", bytes).await;
    let stats = expect_json(app.get(&ana, "/api/v1/admin/stats").await, StatusCode::OK).await;
    assert_eq!(stats["logical_bytes"], 400_000, "{stats}");
    assert_eq!(stats["stored_bytes"], 200_000, "{stats}");
    assert_eq!(stats["dedup_ratio"], 2.0, "{stats}");
    assert_eq!(stats["files"], 2, "{stats}");
}

#[tokio::test]
async fn changing_the_password_checks_the_current_one_and_ends_other_sessions() {
    let app = TestApp::spawn().await;
    let here = app.user("ana@example.org").await;
    let elsewhere = app.login("ana@example.org", PASSWORD).await;
    let wrong = app
        .post(
            &here,
            "/api/v1/me/password",
            json!({"current_password": "not the password", "new_password": "a fresh passphrase"}),
        )
        .await;
    expect_problem(wrong, StatusCode::FORBIDDEN, "wrong_current_password").await;
    let weak = app
        .post(
            &here,
            "/api/v1/me/password",
            json!({"current_password": PASSWORD, "new_password": "short"}),
        )
        .await;
    expect_problem(weak, StatusCode::UNPROCESSABLE_ENTITY, "weak_password").await;
    assert_eq!(
        app.get(&elsewhere, "/api/v1/me").await.status(),
        StatusCode::OK,
        "refused changes end nothing"
    );

    let done = app
        .post(
            &here,
            "/api/v1/me/password",
            json!({"current_password": PASSWORD, "new_password": "a fresh passphrase"}),
        )
        .await;
    assert_eq!(done.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.get(&here, "/api/v1/me").await.status(), StatusCode::OK);
    assert_eq!(
        app.get(&elsewhere, "/api/v1/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let old = app
        .post_anonymous(
            "/api/v1/auth/login",
            json!({"email": "ana@example.org", "password": PASSWORD}),
        )
        .await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    app.login("ana@example.org", "a fresh passphrase").await;
}
