//! With Redis (`SATCHEL_TEST_REDIS=redis://…`; CI sets it): announcements cross servers through
//! pub/sub, and login limits hold across servers. Without a reachable Redis a server still works.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, expect_problem};

/// Two servers of one deployment (one Redis key prefix of this test's own).
async fn two_servers(
    adjust: impl Fn(&mut satchel_server::ServerConfig),
) -> Option<(TestApp, TestApp)> {
    let url = std::env::var("SATCHEL_TEST_REDIS").ok()?;
    let prefix = format!("satchel-test-{}", uuid::Uuid::now_v7().simple());
    let configure = |c: &mut satchel_server::ServerConfig| {
        c.redis = Some(url.clone());
        c.redis_prefix.clone_from(&prefix);
        adjust(c);
    };
    Some((
        TestApp::spawn_with(&configure).await,
        TestApp::spawn_with(&configure).await,
    ))
}

#[tokio::test]
async fn announcements_reach_the_other_server_through_redis() {
    let Some((one, two)) = two_servers(|_| {}).await else {
        return;
    };
    let ana = one.user("ana@example.org").await;
    let mut heard = two.state.store.subscribe();
    // Let the other server's subscription settle before the first announcement.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let made = one
        .post(
            &ana,
            "/api/v1/folders",
            json!({"parent_id": "root", "name": "x"}),
        )
        .await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let ns = tokio::time::timeout(Duration::from_secs(5), heard.recv())
        .await
        .expect("the other server hears of the change within 5 s")
        .expect("an announcement");
    assert!(!ns.is_nil());
}

#[tokio::test]
async fn login_limits_hold_across_servers() {
    let Some((one, two)) = two_servers(|c| c.login_failures_allowed = 3).await else {
        return;
    };
    one.user("ana@example.org").await;
    let wrong = json!({"email": "ana@example.org", "password": "not her password"});
    for app in [&one, &one, &two] {
        let answer = app
            .post_anonymous("/api/v1/auth/login", wrong.clone())
            .await;
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    }
    // Three failures, spread over two servers: both now refuse.
    for app in [&one, &two] {
        let answer = app
            .post_anonymous("/api/v1/auth/login", wrong.clone())
            .await;
        assert!(answer.headers().contains_key("retry-after"));
        expect_problem(answer, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
    }
}

#[tokio::test]
async fn an_unreachable_redis_makes_no_difference_to_correctness() {
    let app = TestApp::spawn_with(|c| {
        c.redis = Some("redis://127.0.0.1:9/0".to_owned());
        c.login_failures_allowed = 2;
    })
    .await;
    let ana = app.user("ana@example.org").await;
    let made = app
        .post(
            &ana,
            "/api/v1/folders",
            json!({"parent_id": "root", "name": "x"}),
        )
        .await;
    assert_eq!(made.status(), StatusCode::CREATED);
    // Limits still hold, counted by this server.
    let wrong = json!({"email": "ana@example.org", "password": "nope nope nope"});
    for _ in 0..2 {
        app.post_anonymous("/api/v1/auth/login", wrong.clone())
            .await;
    }
    expect_problem(
        app.post_anonymous("/api/v1/auth/login", wrong).await,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_requests",
    )
    .await;
}
