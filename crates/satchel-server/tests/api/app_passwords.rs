//! App passwords: made, listed (with their last use) and revoked through the API, and used with
//! HTTP Basic on `/dav/`: revocation is immediate, `read_only` refuses every write, the account
//! password works too, and wrong passwords count against the login limits.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, User, expect_json, expect_problem, expect_retry_after, id_of};

pub const EMAIL: &str = "ana@example.org";
pub const ACCOUNT_PASSWORD: &str = "correct horse battery";

/// Makes an app password for `user`; returns its answer (with the secret).
pub async fn app_password(app: &TestApp, user: &User, name: &str, scope: Option<&str>) -> Value {
    let mut body = json!({"name": name});
    if let Some(scope) = scope {
        body["scope"] = json!(scope);
    }
    let made = app.post(user, "/api/v1/app-passwords", body).await;
    expect_json(made, StatusCode::CREATED).await
}

/// A WebDAV request signed in with `email:password`.
pub fn dav(
    app: &TestApp,
    email: &str,
    password: &str,
    method: &str,
    path: &str,
) -> reqwest::RequestBuilder {
    app.client
        .request(
            Method::from_bytes(method.as_bytes()).expect("method"),
            app.url(path),
        )
        .basic_auth(email, Some(password))
}

async fn propfind_status(app: &TestApp, email: &str, password: &str) -> StatusCode {
    dav(app, email, password, "PROPFIND", "/dav/")
        .header("depth", "0")
        .send()
        .await
        .expect("request")
        .status()
}

#[tokio::test]
async fn an_app_password_signs_in_to_webdav_until_it_is_revoked() {
    let app = TestApp::spawn().await;
    let ana = app.user(EMAIL).await;
    let made = app_password(&app, &ana, "rclone on the laptop", None).await;
    assert_eq!(made["scope"], "full");
    assert_eq!(made["name"], "rclone on the laptop");
    let secret = made["password"]
        .as_str()
        .expect("the secret, once")
        .to_owned();
    assert!(secret.len() >= 32);

    let listed = expect_json(app.get(&ana, "/api/v1/app-passwords").await, StatusCode::OK).await;
    let entry = &listed["entries"][0];
    assert_eq!(entry["id"], made["id"]);
    assert!(entry.get("password").is_none(), "never listed: {entry}");
    assert!(entry["last_used_at"].is_null());

    assert_eq!(
        propfind_status(&app, EMAIL, &secret).await,
        StatusCode::MULTI_STATUS
    );
    let listed = expect_json(app.get(&ana, "/api/v1/app-passwords").await, StatusCode::OK).await;
    assert!(listed["entries"][0]["last_used_at"].is_string());
    assert_eq!(listed["entries"][0]["last_used_from"], "127.0.0.1");

    // Another account cannot see or revoke it.
    let bob = app.user("bob@example.org").await;
    let path = format!("/api/v1/app-passwords/{}", id_of(&made));
    expect_problem(
        app.delete(&bob, &path).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let theirs = expect_json(app.get(&bob, "/api/v1/app-passwords").await, StatusCode::OK).await;
    assert_eq!(theirs["entries"], json!([]));
    // Nor sign in as bob with it.
    assert_eq!(
        propfind_status(&app, "bob@example.org", &secret).await,
        StatusCode::UNAUTHORIZED
    );

    assert_eq!(
        app.delete(&ana, &path).await.status(),
        StatusCode::NO_CONTENT
    );
    let refused = dav(&app, EMAIL, &secret, "PROPFIND", "/dav/")
        .header("depth", "0")
        .send()
        .await
        .expect("request");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let challenge = refused.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Basic "), "{challenge}");
    expect_problem(
        app.delete(&ana, &path).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn a_read_only_app_password_reads_but_every_write_is_refused() {
    let app = TestApp::spawn().await;
    let ana = app.user(EMAIL).await;
    app.upload(&ana, "root", "notes.txt", b"kept".to_vec())
        .await;
    let made = app_password(&app, &ana, "phone", Some("read_only")).await;
    assert_eq!(made["scope"], "read_only");
    let secret = made["password"].as_str().unwrap();

    let read = dav(&app, EMAIL, secret, "GET", "/dav/notes.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    assert_eq!(read.bytes().await.unwrap().as_ref(), b"kept");
    for (method, path) in [
        ("PUT", "/dav/notes.txt"),
        ("PUT", "/dav/new.txt"),
        ("MKCOL", "/dav/folder"),
        ("DELETE", "/dav/notes.txt"),
        ("MOVE", "/dav/notes.txt"),
        ("COPY", "/dav/notes.txt"),
        ("PROPPATCH", "/dav/notes.txt"),
        ("LOCK", "/dav/notes.txt"),
    ] {
        let refused = dav(&app, EMAIL, secret, method, path)
            .header("destination", app.url("/dav/elsewhere.txt"))
            .body("changed")
            .send()
            .await
            .unwrap();
        expect_problem(refused, StatusCode::FORBIDDEN, "read_only").await;
    }
    assert_eq!(app.names(&ana, "root").await, ["notes.txt"]);
    let file = &expect_json(
        app.get(&ana, "/api/v1/folders/root/children").await,
        StatusCode::OK,
    )
    .await["entries"][0];
    assert_eq!(app.download(&ana, &id_of(file)).await, b"kept");
}

#[tokio::test]
async fn the_account_password_works_and_wrong_ones_count_against_the_login_limits() {
    let app = TestApp::spawn_with(|c| c.login_failures_allowed = 2).await;
    let ana = app.user(EMAIL).await;
    let secret = app_password(&app, &ana, "drive", None).await["password"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        propfind_status(&app, EMAIL, ACCOUNT_PASSWORD).await,
        StatusCode::MULTI_STATUS
    );
    let anonymous = app
        .client
        .request(Method::from_bytes(b"PROPFIND").unwrap(), app.url("/dav/"))
        .send()
        .await
        .unwrap();
    expect_problem(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;
    for _ in 0..2 {
        let wrong = dav(&app, EMAIL, "not it", "PROPFIND", "/dav/")
            .send()
            .await
            .unwrap();
        expect_problem(wrong, StatusCode::UNAUTHORIZED, "bad_credentials").await;
    }
    // The address now backs off, whatever it sends — on WebDAV and on the API's login alike.
    let held = dav(&app, EMAIL, &secret, "PROPFIND", "/dav/")
        .send()
        .await
        .unwrap();
    assert!(expect_retry_after(held).await > 0);
    let login = app
        .post_anonymous(
            "/api/v1/auth/login",
            json!({"email": EMAIL, "password": ACCOUNT_PASSWORD}),
        )
        .await;
    assert!(expect_retry_after(login).await > 0);
}

#[tokio::test]
async fn app_password_names_are_checked() {
    let app = TestApp::spawn().await;
    let ana = app.user(EMAIL).await;
    for name in ["", "   ", "line\nbreak"] {
        let refused = app
            .post(&ana, "/api/v1/app-passwords", json!({"name": name}))
            .await;
        expect_problem(refused, StatusCode::BAD_REQUEST, "bad_request").await;
    }
    let bad_scope = app
        .post(
            &ana,
            "/api/v1/app-passwords",
            json!({"name": "x", "scope": "admin"}),
        )
        .await;
    expect_problem(bad_scope, StatusCode::BAD_REQUEST, "malformed_json").await;
    let listed = expect_json(app.get(&ana, "/api/v1/app-passwords").await, StatusCode::OK).await;
    assert_eq!(listed["entries"], json!([]));
}
