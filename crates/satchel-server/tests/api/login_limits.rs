//! Login and link-password limits, and the client address they count against: guessing is slowed
//! without letting a guesser lock the owner out, `Retry-After` says what the detail says, and
//! forwarding headers are believed only from `trusted_proxies`.

use reqwest::StatusCode;
use satchel_server::ServerConfig;
use serde_json::{Value, json};

use crate::helpers::{TestApp, expect_json, expect_problem, expect_retry_after, id_of};

const RIGHT: &str = "correct horse battery";

/// A server behind a proxy at 127.0.0.1 (every test request comes from there).
async fn behind_proxy(adjust: impl FnOnce(&mut ServerConfig)) -> TestApp {
    TestApp::spawn_with(|c| {
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        adjust(c);
    })
    .await
}

#[tokio::test]
async fn many_failures_from_one_address_do_not_lock_the_owner_out() {
    let app = behind_proxy(|c| c.login_failures_allowed = 10).await;
    app.user("ana@example.org").await;
    for _ in 0..10 {
        let wrong = app
            .login_from("198.51.100.1", "ana@example.org", "not it")
            .await;
        expect_problem(wrong, StatusCode::UNAUTHORIZED, "bad_credentials").await;
    }
    // The guesser now waits (15 s after its budget of 10), even with the right password…
    let held = app
        .login_from("198.51.100.1", "ana@example.org", RIGHT)
        .await;
    assert!((10..=15).contains(&expect_retry_after(held).await));
    // …while the owner, elsewhere, signs in.
    let owner = app
        .login_from("203.0.113.9", "ana@example.org", RIGHT)
        .await;
    expect_json(owner, StatusCode::OK).await;
}

#[tokio::test]
async fn an_account_under_attack_slows_only_the_addresses_that_failed() {
    let app = behind_proxy(|c| c.login_account_failures_allowed = 4).await;
    app.user("ana@example.org").await;
    for n in 1..=4 {
        let wrong = app
            .login_from(&format!("198.51.100.{n}"), "ana@example.org", "guess")
            .await;
        expect_problem(wrong, StatusCode::UNAUTHORIZED, "bad_credentials").await;
    }
    // Each guessing address has had one failure, far below its own budget, but the account is
    // under attack: they wait for their window…
    let held = app
        .login_from("198.51.100.2", "ana@example.org", RIGHT)
        .await;
    assert!(expect_retry_after(held).await > 800);
    // …and an address without failures is never refused because of the account's tally.
    let owner = app
        .login_from("203.0.113.9", "ana@example.org", RIGHT)
        .await;
    expect_json(owner, StatusCode::OK).await;
}

#[tokio::test]
async fn one_address_failing_on_many_accounts_is_stopped() {
    let app = behind_proxy(|c| c.login_address_failures_allowed = 3).await;
    app.user("ana@example.org").await;
    for email in ["a@example.org", "b@example.org", "c@example.org"] {
        let wrong = app.login_from("198.51.100.1", email, "guess").await;
        expect_problem(wrong, StatusCode::UNAUTHORIZED, "bad_credentials").await;
    }
    let held = app
        .login_from("198.51.100.1", "ana@example.org", RIGHT)
        .await;
    assert!(expect_retry_after(held).await > 800);
    let elsewhere = app
        .login_from("203.0.113.9", "ana@example.org", RIGHT)
        .await;
    expect_json(elsewhere, StatusCode::OK).await;
}

#[tokio::test]
async fn forwarded_addresses_are_ignored_without_trusted_proxies() {
    let app = TestApp::spawn_with(|c| c.login_failures_allowed = 3).await;
    app.user("ana@example.org").await;
    // A client naming a new address each time is still counted as itself.
    for n in 1..=3 {
        let wrong = app
            .login_from(&format!("198.51.100.{n}"), "ana@example.org", "guess")
            .await;
        expect_problem(wrong, StatusCode::UNAUTHORIZED, "bad_credentials").await;
    }
    let held = app
        .login_from("198.51.100.4", "ana@example.org", RIGHT)
        .await;
    assert!((10..=15).contains(&expect_retry_after(held).await));
}

#[tokio::test]
async fn forwarded_addresses_are_honoured_from_trusted_proxies() {
    let app = behind_proxy(|c| c.login_failures_allowed = 3).await;
    app.user("ana@example.org").await;
    for _ in 0..3 {
        let wrong = app
            .login_from("198.51.100.1", "ana@example.org", "guess")
            .await;
        expect_problem(wrong, StatusCode::UNAUTHORIZED, "bad_credentials").await;
    }
    let held = app
        .login_from("198.51.100.1", "ana@example.org", RIGHT)
        .await;
    assert!((10..=15).contains(&expect_retry_after(held).await));
    // The right-most address the proxy did not vouch for is the client: what the client itself
    // wrote further left changes nothing.
    let spoofing = app
        .login_from("203.0.113.9, 198.51.100.1", "ana@example.org", RIGHT)
        .await;
    expect_retry_after(spoofing).await;
    let other = app
        .login_from("198.51.100.1, 203.0.113.9", "ana@example.org", RIGHT)
        .await;
    expect_json(other, StatusCode::OK).await;
}

/// A visitor at `client` asking for the link with `password`.
async fn guess(app: &TestApp, link: &Value, client: &str, password: &str) -> reqwest::Response {
    let token = link["token"].as_str().unwrap();
    app.client
        .get(app.url(&format!("/s/{token}")))
        .header("x-forwarded-for", client)
        .header("x-share-password", password)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_link_password_guessed_from_many_addresses_hits_the_links_ceiling() {
    let app = behind_proxy(|c| {
        c.link_password_failures_allowed = 3;
        c.link_password_failures_per_link = 5;
    })
    .await;
    let ana = app.user("ana@example.org").await;
    let file = app.upload(&ana, "root", "a.txt", b"secret".to_vec()).await;
    let body = json!({"node_id": id_of(&file), "password": "open sesame"});
    let shared = expect_json(
        app.post(&ana, "/api/v1/links", body).await,
        StatusCode::CREATED,
    )
    .await;
    // One address: its own limit, with Retry-After agreeing with the detail.
    for _ in 0..3 {
        let wrong = guess(&app, &shared, "198.51.100.1", "guess").await;
        expect_problem(wrong, StatusCode::UNAUTHORIZED, "wrong_password").await;
    }
    assert!(expect_retry_after(guess(&app, &shared, "198.51.100.1", "guess").await).await > 800);
    let right = guess(&app, &shared, "198.51.100.9", "open sesame").await;
    assert_eq!(right.status(), StatusCode::OK);
    // Two more addresses bring the link to its ceiling: now nobody may guess.
    for n in 2..=3 {
        let wrong = guess(&app, &shared, &format!("198.51.100.{n}"), "guess").await;
        expect_problem(wrong, StatusCode::UNAUTHORIZED, "wrong_password").await;
    }
    let fresh = guess(&app, &shared, "203.0.113.50", "guess").await;
    assert!(expect_retry_after(fresh).await > 800);

    // The access log names the forwarded client.
    let id = shared["id"].as_str().unwrap();
    let log = expect_json(
        app.get(&ana, &format!("/api/v1/links/{id}/accesses")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(log["entries"][0]["address"], "203.0.113.50", "{log}");
}
