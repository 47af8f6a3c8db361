//! Registering, signing in, refreshing and revoking sessions.

use reqwest::StatusCode;
use satchel_server::Registration;
use serde_json::json;

use crate::helpers::{TestApp, expect_json, expect_problem};

#[tokio::test]
async fn register_login_and_me() {
    let app = TestApp::spawn().await;
    let ana = app.user("Ana@Example.org").await;
    let me = expect_json(app.get(&ana, "/api/v1/me").await, StatusCode::OK).await;
    assert_eq!(me["user"]["email"], "Ana@Example.org");
    assert_eq!(me["used_bytes"], 0);
    assert!(me["quota_bytes"].is_null());
    // Emails are unique case-insensitively, and sign-in ignores case.
    let again = app
        .post_anonymous(
            "/api/v1/auth/register",
            json!({"email": "ana@example.ORG", "password": "another password"}),
        )
        .await;
    expect_problem(again, StatusCode::CONFLICT, "email_taken").await;
    app.login("ANA@example.org", "correct horse battery").await;
}

#[tokio::test]
async fn weak_passwords_and_bad_emails_are_refused() {
    let app = TestApp::spawn().await;
    for (email, password, code) in [
        ("bo@example.org", "short", "weak_password"),
        ("bo@example.org", "aaaaaaaaaaaa", "weak_password"),
        ("not-an-email", "long enough pass", "invalid_email"),
        ("bo @example.org", "long enough pass", "invalid_email"),
    ] {
        let response = app
            .post_anonymous(
                "/api/v1/auth/register",
                json!({"email": email, "password": password}),
            )
            .await;
        expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY, code).await;
    }
}

#[tokio::test]
async fn wrong_credentials_are_401_and_then_rate_limited() {
    let app = TestApp::spawn_with(|c| c.login_failures_allowed = 3).await;
    app.user("cy@example.org").await;
    let unknown = app
        .post_anonymous(
            "/api/v1/auth/login",
            json!({"email": "nobody@example.org", "password": "x"}),
        )
        .await;
    expect_problem(unknown, StatusCode::UNAUTHORIZED, "bad_credentials").await;
    for _ in 0..3 {
        let wrong = app
            .post_anonymous(
                "/api/v1/auth/login",
                json!({"email": "cy@example.org", "password": "wrong one"}),
            )
            .await;
        expect_problem(wrong, StatusCode::UNAUTHORIZED, "bad_credentials").await;
    }
    // Even the right password waits, from this address, once it has failed too often on the account.
    let blocked = app
        .post_anonymous(
            "/api/v1/auth/login",
            json!({"email": "cy@example.org", "password": "correct horse battery"}),
        )
        .await;
    assert!(blocked.headers().get("retry-after").is_some());
    expect_problem(blocked, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
}

#[tokio::test]
async fn refresh_rotates_and_reuse_after_the_grace_revokes_the_session() {
    // No grace: the replay below comes after it.
    let app = TestApp::spawn_with(|c| c.refresh_grace_secs = 0).await;
    let dee = app.user("dee@example.org").await;
    let first = app
        .post_anonymous(
            "/api/v1/auth/refresh",
            json!({"refresh_token": dee.refresh}),
        )
        .await;
    let pair = expect_json(first, StatusCode::OK).await;
    let new_refresh = pair["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(new_refresh, dee.refresh);
    let fresh = crate::helpers::User {
        token: pair["access_token"].as_str().unwrap().to_owned(),
        ..dee.clone()
    };
    expect_json(app.get(&fresh, "/api/v1/me").await, StatusCode::OK).await;

    // The spent token comes back (a thief replaying it): the whole session ends.
    let replay = app
        .post_anonymous(
            "/api/v1/auth/refresh",
            json!({"refresh_token": dee.refresh}),
        )
        .await;
    expect_problem(replay, StatusCode::UNAUTHORIZED, "token_reused").await;
    let after = app
        .post_anonymous(
            "/api/v1/auth/refresh",
            json!({"refresh_token": new_refresh}),
        )
        .await;
    expect_problem(after, StatusCode::UNAUTHORIZED, "unauthorized").await;
    expect_problem(
        app.get(&fresh, "/api/v1/me").await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
}

async fn refresh(app: &TestApp, token: &str) -> reqwest::Response {
    app.post_anonymous("/api/v1/auth/refresh", json!({"refresh_token": token}))
        .await
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_get_the_same_pair() {
    let app = TestApp::spawn().await;
    for trial in 0..5 {
        let user = app.user(&format!("fay{trial}@example.org")).await;
        let (one, two) = tokio::join!(refresh(&app, &user.refresh), refresh(&app, &user.refresh));
        let one = expect_json(one, StatusCode::OK).await;
        let two = expect_json(two, StatusCode::OK).await;
        assert_eq!(one, two, "trial {trial}");
        // The session lives on, and the pair works.
        let fresh = crate::helpers::User {
            token: one["access_token"].as_str().unwrap().to_owned(),
            refresh: one["refresh_token"].as_str().unwrap().to_owned(),
        };
        expect_json(app.get(&fresh, "/api/v1/me").await, StatusCode::OK).await;
        expect_json(refresh(&app, &fresh.refresh).await, StatusCode::OK).await;
    }
}

#[tokio::test]
async fn a_retried_refresh_gets_the_same_pair_until_the_new_token_is_used() {
    let app = TestApp::spawn().await;
    let gus = app.user("gus@example.org").await;
    let first = expect_json(refresh(&app, &gus.refresh).await, StatusCode::OK).await;
    // The answer was lost; the client retries within the grace.
    let retried = expect_json(refresh(&app, &gus.refresh).await, StatusCode::OK).await;
    assert_eq!(first, retried);
    // Once the new token has been used, the old one coming back is a replay, grace or not.
    let next = first["refresh_token"].as_str().unwrap();
    let second = expect_json(refresh(&app, next).await, StatusCode::OK).await;
    expect_problem(
        refresh(&app, &gus.refresh).await,
        StatusCode::UNAUTHORIZED,
        "token_reused",
    )
    .await;
    expect_problem(
        refresh(&app, second["refresh_token"].as_str().unwrap()).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = TestApp::spawn().await;
    let eve = app.user("eve@example.org").await;
    let out = app
        .post_anonymous("/api/v1/auth/logout", json!({"refresh_token": eve.refresh}))
        .await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let refresh = app
        .post_anonymous(
            "/api/v1/auth/refresh",
            json!({"refresh_token": eve.refresh}),
        )
        .await;
    expect_problem(refresh, StatusCode::UNAUTHORIZED, "unauthorized").await;
    expect_problem(
        app.get(&eve, "/api/v1/me").await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
}

#[tokio::test]
async fn missing_forged_and_expired_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let fay = app.user("fay@example.org").await;
    let anonymous = app.client.get(app.url("/api/v1/me")).send().await.unwrap();
    expect_problem(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;

    let mut forged = fay.clone();
    let (body, _) = fay.token.rsplit_once('.').unwrap();
    forged.token = format!("{body}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    expect_problem(
        app.get(&forged, "/api/v1/me").await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;

    let me = expect_json(app.get(&fay, "/api/v1/me").await, StatusCode::OK).await;
    let user_id = uuid::Uuid::parse_str(me["user"]["id"].as_str().unwrap()).unwrap();
    let sessions = expect_json(app.get(&fay, "/api/v1/sessions").await, StatusCode::OK).await;
    let session_id = uuid::Uuid::parse_str(sessions["entries"][0]["id"].as_str().unwrap()).unwrap();
    let mut expired = fay.clone();
    expired.token = app
        .state
        .tokens
        .issue(user_id, session_id, chrono_now() - 3600);
    expect_problem(
        app.get(&expired, "/api/v1/me").await,
        StatusCode::UNAUTHORIZED,
        "token_expired",
    )
    .await;
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn sessions_list_and_revoke() {
    let app = TestApp::spawn().await;
    let gil = app.user("gil@example.org").await;
    let phone = app.login("gil@example.org", "correct horse battery").await;
    let sessions = expect_json(app.get(&gil, "/api/v1/sessions").await, StatusCode::OK).await;
    let entries = sessions["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    let other = entries.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoked = app.delete(&gil, &format!("/api/v1/sessions/{other}")).await;
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    expect_problem(
        app.get(&phone, "/api/v1/me").await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    expect_json(app.get(&gil, "/api/v1/me").await, StatusCode::OK).await;
    // Another user's session id is simply not found.
    let hal = app.user("hal@example.org").await;
    let theirs = app.delete(&hal, &format!("/api/v1/sessions/{other}")).await;
    expect_problem(theirs, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn closed_registration_and_default_quota() {
    let closed = TestApp::spawn_with(|c| c.registration = Registration::Closed).await;
    let response = closed
        .post_anonymous(
            "/api/v1/auth/register",
            json!({"email": "ivy@example.org", "password": "long enough pass"}),
        )
        .await;
    expect_problem(response, StatusCode::FORBIDDEN, "registration_closed").await;

    let quota = TestApp::spawn_with(|c| c.default_quota = Some(1234)).await;
    let ivy = quota.user("ivy@example.org").await;
    let me = expect_json(quota.get(&ivy, "/api/v1/me").await, StatusCode::OK).await;
    assert_eq!(me["quota_bytes"], 1234);
}
