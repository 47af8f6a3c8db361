//! `/s/{token}` for browsers: a page by content negotiation (`Accept: text/html`) while every other
//! client keeps the bytes and listings; `?info` that tells nothing of the owner; grants that stand
//! in for a link's password where a browser cannot send the header.

use reqwest::StatusCode;
use reqwest::header::ACCEPT;
use serde_json::{Value, json};

use crate::helpers::{TestApp, User, expect_json, expect_problem, id_of};

const BROWSER: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

async fn web_app() -> TestApp {
    TestApp::spawn_with_state(
        |_| {},
        |state| state.front = Some(satchel_web::router(satchel_web::Source::Embedded)),
    )
    .await
}

async fn link(app: &TestApp, user: &User, body: Value) -> String {
    let made = expect_json(
        app.post(user, "/api/v1/links", body).await,
        StatusCode::CREATED,
    )
    .await;
    made["token"].as_str().unwrap().to_owned()
}

async fn get(app: &TestApp, path: &str, accept: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .header(ACCEPT, accept)
        .send()
        .await
        .unwrap()
}

async fn downloads(app: &TestApp, user: &User) -> Value {
    let links = expect_json(app.get(user, "/api/v1/links").await, StatusCode::OK).await;
    links["entries"][0]["download_count"].clone()
}

#[tokio::test]
async fn browsers_get_the_page_and_other_clients_keep_the_bytes() {
    let app = web_app().await;
    let ana = app.user("ana@example.org").await;
    let file = app
        .upload(&ana, "root", "notes.txt", b"hello, visitor".to_vec())
        .await;
    let token = link(&app, &ana, json!({"node_id": id_of(&file)})).await;
    let path = format!("/s/{token}");

    let page = get(&app, &path, BROWSER).await;
    assert_eq!(page.status(), StatusCode::OK);
    let headers = page.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(
        policy.starts_with("default-src 'self'; script-src 'self';"),
        "{policy}"
    );
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let body = page.text().await.unwrap();
    let version = satchel_web::embedded_version();
    assert!(
        body.contains(&format!("/app/{version}/public.js")),
        "{body}"
    );
    assert!(!body.contains("<script>"), "no inline script");
    assert!(!body.contains("ana@"), "nothing of the owner");
    assert_eq!(downloads(&app, &ana).await, 0, "the page is not a download");

    // curl, scripts and `fetch` keep today's answer; so does a browser asking for the bytes.
    for (accept, query) in [("*/*", ""), (BROWSER, "?download=1")] {
        let response = get(&app, &format!("{path}{query}"), accept).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.bytes().await.unwrap().as_ref(), b"hello, visitor");
    }
    assert_eq!(downloads(&app, &ana).await, 2);

    // `?info` describes the file, counts nothing, and names nobody.
    let info = get(&app, &format!("{path}?info"), "*/*").await;
    let text = info.text().await.unwrap();
    assert!(
        !text.contains("ana@") && !text.contains(&id_of(&file)),
        "{text}"
    );
    let info: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(info["name"], "notes.txt");
    assert_eq!(info["kind"], "file");
    assert_eq!(info["size"], 14);
    assert_eq!(info["upload_only"], false);
    assert_eq!(downloads(&app, &ana).await, 2);

    // A link that does not exist gets the page too (it says so itself) — nothing is looked up.
    let unknown = get(&app, "/s/no-such-token", BROWSER).await;
    assert_eq!(unknown.status(), StatusCode::OK);
    let unknown = get(&app, "/s/no-such-token?info", "*/*").await;
    expect_problem(unknown, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn folders_negotiate_at_every_depth_and_upload_links_show_nothing_inside() {
    let app = web_app().await;
    let ana = app.user("ana@example.org").await;
    let folder = app.mkdir(&ana, "root", "Trip").await;
    let inner = app.mkdir(&ana, &id_of(&folder), "Day 1").await;
    app.upload(&ana, &id_of(&inner), "a.txt", b"a".to_vec())
        .await;
    let token = link(&app, &ana, json!({"node_id": id_of(&folder)})).await;

    let page = get(&app, &format!("/s/{token}/Day%201"), BROWSER).await;
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let listing = expect_json(
        get(&app, &format!("/s/{token}/Day%201"), "application/json").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listing["entries"][0]["name"], "a.txt");
    let info = expect_json(
        get(&app, &format!("/s/{token}/Day%201?info"), "*/*").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(info["kind"], "folder");
    assert_eq!(info["name"], "Day 1");

    let drop = link(
        &app,
        &ana,
        json!({"node_id": id_of(&folder), "permission": "upload"}),
    )
    .await;
    let info = expect_json(
        get(&app, &format!("/s/{drop}?info"), "*/*").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(info["upload_only"], true);
    assert!(info["size"].is_null(), "{info}");
    let page = get(&app, &format!("/s/{drop}"), BROWSER).await;
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
}

#[tokio::test]
async fn a_grant_stands_in_for_the_password_until_it_changes() {
    let app = web_app().await;
    let ana = app.user("ana@example.org").await;
    let file = app
        .upload(&ana, "root", "secret.txt", b"s3cret".to_vec())
        .await;
    let made = expect_json(
        app.post(
            &ana,
            "/api/v1/links",
            json!({"node_id": id_of(&file), "password": "open sesame"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let token = made["token"].as_str().unwrap();
    let base = format!("/s/{token}");

    let asked = get(&app, &format!("{base}?info"), "*/*").await;
    expect_problem(asked, StatusCode::UNAUTHORIZED, "password_required").await;
    let info = expect_json(
        app.client
            .get(app.url(&format!("{base}?info")))
            .header("x-share-password", "open sesame")
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let grant = info["grant"].as_str().expect("a grant").to_owned();
    let with_grant = get(&app, &format!("{base}?download=1&grant={grant}"), BROWSER).await;
    assert_eq!(with_grant.status(), StatusCode::OK);
    assert_eq!(with_grant.bytes().await.unwrap().as_ref(), b"s3cret");

    let (expires, signature) = grant.split_once('.').unwrap();
    let later = expires.parse::<i64>().unwrap() + 1;
    for forged in [
        format!("{later}.{signature}"),
        format!("{expires}.00"),
        "x".into(),
    ] {
        let response = get(&app, &format!("{base}?download=1&grant={forged}"), "*/*").await;
        expect_problem(response, StatusCode::UNAUTHORIZED, "password_required").await;
    }

    // A new password voids the grants handed out under the old one.
    let id = made["id"].as_str().unwrap();
    app.patch(
        &ana,
        &format!("/api/v1/links/{id}"),
        json!({"password": "new words"}),
    )
    .await;
    let response = get(&app, &format!("{base}?download=1&grant={grant}"), "*/*").await;
    expect_problem(response, StatusCode::UNAUTHORIZED, "password_required").await;
}

#[test]
fn the_server_asks_the_web_app_for_its_link_page_where_it_serves_it() {
    assert_eq!(
        satchel_server::sharing::public_page::PAGE_PATH,
        satchel_web::LINK_PAGE
    );
}

#[tokio::test]
async fn without_the_web_app_browsers_get_the_bytes() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let file = app.upload(&ana, "root", "a.txt", b"plain".to_vec()).await;
    let token = link(&app, &ana, json!({"node_id": id_of(&file)})).await;
    let response = get(&app, &format!("/s/{token}"), BROWSER).await;
    assert_eq!(response.bytes().await.unwrap().as_ref(), b"plain");
}
