//! With Redis (`SATCHEL_TEST_REDIS=redis://…`; CI sets it): announcements cross servers through
//! pub/sub, and login limits hold across servers. Without a reachable Redis a server still works.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, expect_problem, expect_retry_after};

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
async fn an_attack_spread_over_servers_slows_only_the_addresses_that_failed() {
    let Some((one, two)) = two_servers(|c| {
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        c.login_account_failures_allowed = 2;
    })
    .await
    else {
        return;
    };
    one.user("ana@example.org").await;
    let right = "correct horse battery";
    for (app, client) in [(&one, "198.51.100.1"), (&two, "198.51.100.2")] {
        let wrong = app.login_from(client, "ana@example.org", "guess").await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    }
    // Two failures over two servers put the account under attack: a guessing address waits on
    // either server, with Retry-After agreeing with the detail…
    let held = two
        .login_from("198.51.100.1", "ana@example.org", right)
        .await;
    assert!(expect_retry_after(held).await > 800);
    // …and the owner, from an address without failures, signs in.
    let owner = one
        .login_from("203.0.113.9", "ana@example.org", right)
        .await;
    assert_eq!(owner.status(), StatusCode::OK);
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

/// One server with Redis (a key prefix of this test's own), or `None` without `SATCHEL_TEST_REDIS`.
async fn with_redis() -> Option<TestApp> {
    let url = std::env::var("SATCHEL_TEST_REDIS").ok()?;
    let prefix = format!("satchel-test-{}", uuid::Uuid::now_v7().simple());
    Some(
        TestApp::spawn_with(|c| {
            c.redis = Some(url);
            c.redis_prefix = prefix;
        })
        .await,
    )
}

/// Lets a generation bump (sent right after a commit) reach Redis.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(50)).await;
}

#[tokio::test]
async fn cached_actors_never_outlive_what_they_were_made_of() {
    let Some(app) = with_redis().await else {
        return;
    };
    let ana = app.user("ana@example.org").await;
    let bob = app.user("bob@example.org").await;
    // Both actors are cached.
    for user in [&ana, &bob] {
        for _ in 0..2 {
            assert_eq!(
                app.get(user, "/api/v1/nodes/root").await.status(),
                StatusCode::OK
            );
        }
    }
    // A share reaches Bob's cached actor at once.
    let folder = app.mkdir(&ana, "root", "Team").await;
    let share = app
        .post(
            &ana,
            "/api/v1/shares",
            json!({"node_id": folder["id"], "email": "bob@example.org", "permission": "view"}),
        )
        .await;
    let share: serde_json::Value = share.json().await.unwrap();
    settle().await;
    assert_eq!(app.names(&bob, "root").await, ["Team"]);
    let inside = format!("/api/v1/nodes/{}", folder["id"].as_str().unwrap());
    assert_eq!(app.get(&bob, &inside).await.status(), StatusCode::OK);
    // So does its end.
    let ended = app
        .delete(
            &ana,
            &format!("/api/v1/shares/{}", share["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(ended.status(), StatusCode::NO_CONTENT);
    settle().await;
    expect_problem(
        app.get(&bob, &inside).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // Signing out ends the cached session.
    let out = app
        .post_anonymous("/api/v1/auth/logout", json!({"refresh_token": ana.refresh}))
        .await;
    assert!(out.status().is_success());
    settle().await;
    expect_problem(
        app.get(&ana, "/api/v1/nodes/root").await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    // Disabling an account (as `satchel admin` does, through the store) ends its cached sessions.
    let bob_id = app
        .state
        .store
        .user_by_email("bob@example.org")
        .await
        .unwrap()
        .unwrap()
        .id;
    app.state.store.set_disabled(bob_id, true).await.unwrap();
    settle().await;
    expect_problem(
        app.get(&bob, "/api/v1/nodes/root").await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
}
