//! The web app as the server mounts it: its pages and assets (CSP, `nosniff`, ETag and 304, the
//! page for every client-side route, the API's own 404 kept), the browser session held in an
//! `HttpOnly` cookie and the CSRF rules of the endpoints that read it, and user content that never
//! shows inline when it could run script.

use reqwest::header::{self, HeaderMap};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, expect_json, expect_problem};

const PASSWORD: &str = "correct horse battery";

async fn web_app() -> TestApp {
    TestApp::spawn_with_state(
        |_| {},
        |state| state.front = Some(satchel_web::router(satchel_web::Source::Embedded)),
    )
    .await
}

fn text<'h>(headers: &'h HeaderMap, name: &str) -> &'h str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// The `satchel_refresh=…` pair of a response's `Set-Cookie`, and the whole header.
fn refresh_cookie(headers: &HeaderMap) -> (String, String) {
    let set = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("satchel_refresh="))
        .expect("a refresh cookie")
        .to_owned();
    let pair = set.split(';').next().unwrap_or_default().to_owned();
    (pair, set)
}

#[tokio::test]
async fn every_app_route_answers_the_page_with_strict_headers() {
    let app = web_app().await;
    for path in [
        "/",
        "/files",
        "/files/Photos/2024",
        "/trash",
        "/shared",
        "/links",
        "/account",
        "/admin",
    ] {
        let response = app.client.get(app.url(path)).send().await.expect("request");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let headers = response.headers().clone();
        assert_eq!(text(&headers, "content-type"), "text/html; charset=utf-8");
        let policy = text(&headers, "content-security-policy");
        assert!(
            policy.starts_with("default-src 'self'; script-src 'self';"),
            "{policy}"
        );
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        assert!(!policy.contains("unsafe-inline"), "{policy}");
        assert_eq!(text(&headers, "x-content-type-options"), "nosniff");
        assert_eq!(text(&headers, "referrer-policy"), "no-referrer");
        assert_eq!(text(&headers, "x-frame-options"), "DENY");
        assert_eq!(text(&headers, "cache-control"), "no-cache");
        let page = response.text().await.expect("body");
        let version = satchel_web::embedded_version();
        assert!(
            page.contains(&format!("src=\"/app/{version}/main.js\"")),
            "{page}"
        );
        assert!(!page.contains("<script>"), "no inline script");
    }
}

#[tokio::test]
async fn assets_are_versioned_cached_and_revalidated() {
    let app = web_app().await;
    let version = satchel_web::embedded_version();
    let url = app.url(&format!("/app/{version}/main.js"));
    let response = app.client.get(&url).send().await.expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(
        text(&headers, "content-type"),
        "text/javascript; charset=utf-8"
    );
    assert_eq!(
        text(&headers, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(text(&headers, "x-content-type-options"), "nosniff");
    let etag = text(&headers, "etag").to_owned();
    assert!(etag.starts_with('"'), "{etag}");
    let again = app
        .client
        .get(&url)
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .expect("request");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(text(again.headers(), "etag"), etag);
    // Another build's URL still gets today's file, but only revalidated.
    let old = app
        .client
        .get(app.url("/app/0123456789ab/app.css"))
        .send()
        .await
        .expect("request");
    assert_eq!(old.status(), StatusCode::OK);
    assert_eq!(text(old.headers(), "cache-control"), "no-cache");
    let missing = app
        .client
        .get(app.url(&format!("/app/{version}/nothing.js")))
        .send()
        .await
        .expect("request");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_api_keeps_its_own_answers_beside_the_app() {
    let app = web_app().await;
    let unknown = app
        .client
        .get(app.url("/api/v1/nothing"))
        .send()
        .await
        .expect("request");
    expect_problem(unknown, StatusCode::NOT_FOUND, "not_found").await;
    let elsewhere = app
        .client
        .get(app.url("/nothing-here"))
        .send()
        .await
        .expect("request");
    expect_problem(elsewhere, StatusCode::NOT_FOUND, "not_found").await;
    let health = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("request");
    assert_eq!(health.text().await.expect("body"), "ok");
    let info = app
        .client
        .get(app.url("/api/v1/server-info"))
        .send()
        .await
        .expect("request");
    let info = expect_json(info, StatusCode::OK).await;
    assert_eq!(info["registration_open"], true);
    // Without the app mounted (tests, or a server embedding only the API), `/` is the API's 404.
    let bare = TestApp::spawn().await;
    let root = bare
        .client
        .get(bare.url("/"))
        .send()
        .await
        .expect("request");
    expect_problem(root, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn server_info_says_when_registration_is_closed() {
    let app = TestApp::spawn_with(|c| c.registration = satchel_server::Registration::Closed).await;
    let info = app
        .client
        .get(app.url("/api/v1/server-info"))
        .send()
        .await
        .expect("request");
    assert_eq!(
        expect_json(info, StatusCode::OK).await["registration_open"],
        false
    );
}

/// Registers `email` and signs in through the web endpoint; returns the response.
async fn web_login(app: &TestApp, email: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let body = json!({"email": email, "password": PASSWORD});
    app.post_anonymous("/api/v1/auth/register", body.clone())
        .await;
    let mut request = app
        .client
        .post(app.url("/api/v1/auth/web/login"))
        .json(&body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("request")
}

#[tokio::test]
async fn web_login_puts_the_refresh_token_in_a_strict_http_only_cookie() {
    let app = TestApp::spawn().await;
    let response = web_login(&app, "ana@example.org", &[("x-satchel-csrf", "1")]).await;
    let (pair, set) = refresh_cookie(&response.headers().clone());
    let body = expect_json(response, StatusCode::OK).await;
    assert!(body["access_token"].is_string());
    assert!(
        body.get("refresh_token").is_none(),
        "the body never carries it: {body}"
    );
    assert!(set.contains("; HttpOnly"), "{set}");
    assert!(set.contains("; SameSite=Strict"), "{set}");
    assert!(set.contains("; Path=/api/v1/auth/web"), "{set}");
    assert!(!set.contains("Secure"), "no TLS, no Secure: {set}");

    // The access token works on the API.
    let me = app
        .client
        .get(app.url("/api/v1/me"))
        .bearer_auth(body["access_token"].as_str().unwrap_or_default())
        .send()
        .await
        .expect("request");
    assert_eq!(me.status(), StatusCode::OK);

    // Refresh reads the cookie and rotates it; the spent cookie is refused afterwards.
    let refresh = |cookie: String| {
        app.client
            .post(app.url("/api/v1/auth/web/refresh"))
            .header("x-satchel-csrf", "1")
            .header(header::COOKIE, cookie)
            .send()
    };
    let refreshed = refresh(pair.clone()).await.expect("request");
    let (rotated, _) = refresh_cookie(&refreshed.headers().clone());
    assert_ne!(rotated, pair);
    assert!(expect_json(refreshed, StatusCode::OK).await["access_token"].is_string());

    // Logout ends the session and clears the cookie.
    let logout = app
        .client
        .post(app.url("/api/v1/auth/web/logout"))
        .header("x-satchel-csrf", "1")
        .header(header::COOKIE, rotated.clone())
        .send()
        .await
        .expect("request");
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    let (cleared, set) = refresh_cookie(logout.headers());
    assert_eq!(cleared, "satchel_refresh=");
    assert!(set.contains("Max-Age=0"), "{set}");
    let after = refresh(rotated).await.expect("request");
    expect_problem(after, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn the_cookie_is_secure_when_the_public_url_is_https() {
    let app =
        TestApp::spawn_with(|c| c.public_url = Some("https://files.example.org".into())).await;
    let response = web_login(
        &app,
        "ana@example.org",
        &[
            ("x-satchel-csrf", "1"),
            ("origin", "https://files.example.org"),
        ],
    )
    .await;
    let (_, set) = refresh_cookie(response.headers());
    assert!(set.ends_with("; Secure"), "{set}");
}

#[tokio::test]
async fn cookie_endpoints_refuse_requests_another_site_could_make() {
    let app = TestApp::spawn().await;
    let host = app.address.to_string();
    let own = format!("http://{host}");
    // No CSRF header: a plain form post from anywhere.
    let bare = web_login(&app, "a@example.org", &[]).await;
    expect_problem(bare, StatusCode::FORBIDDEN, "cross_site_request").await;
    // The header, but from another origin or site.
    for headers in [
        vec![("x-satchel-csrf", "1"), ("origin", "http://evil.example")],
        vec![("x-satchel-csrf", "1"), ("sec-fetch-site", "cross-site")],
        vec![("x-satchel-csrf", "1"), ("sec-fetch-site", "same-site")],
        vec![("x-satchel-csrf", "0")],
    ] {
        let refused = web_login(&app, "b@example.org", &headers).await;
        expect_problem(refused, StatusCode::FORBIDDEN, "cross_site_request").await;
    }
    // From the app's own origin it works.
    let allowed = web_login(
        &app,
        "c@example.org",
        &[
            ("x-satchel-csrf", "1"),
            ("origin", &own),
            ("sec-fetch-site", "same-origin"),
        ],
    )
    .await;
    let (pair, _) = refresh_cookie(&allowed.headers().clone());
    assert_eq!(allowed.status(), StatusCode::OK);
    // Refresh and logout with the cookie but without the header are refused, and the session
    // lives on.
    for path in ["/api/v1/auth/web/refresh", "/api/v1/auth/web/logout"] {
        let refused = app
            .client
            .post(app.url(path))
            .header(header::COOKIE, pair.clone())
            .send()
            .await
            .expect("request");
        expect_problem(refused, StatusCode::FORBIDDEN, "cross_site_request").await;
    }
    let still = app
        .client
        .post(app.url("/api/v1/auth/web/refresh"))
        .header("x-satchel-csrf", "1")
        .header(header::COOKIE, pair)
        .send()
        .await
        .expect("request");
    assert_eq!(still.status(), StatusCode::OK);
    // A refresh without a cookie is simply unauthorized.
    let none = app
        .client
        .post(app.url("/api/v1/auth/web/refresh"))
        .header("x-satchel-csrf", "1")
        .send()
        .await
        .expect("request");
    expect_problem(none, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn the_json_api_is_unchanged() {
    let app = TestApp::spawn().await;
    let user = app.user("ana@example.org").await;
    let refreshed = app
        .post_anonymous(
            "/api/v1/auth/refresh",
            json!({"refresh_token": user.refresh}),
        )
        .await;
    let pair = expect_json(refreshed, StatusCode::OK).await;
    assert!(pair["refresh_token"].is_string());
}

/// Uploads `name` declared as `mime` and fetches it with `?inline=1`.
async fn fetch_inline(app: &TestApp, name: &str, mime: &str, bytes: &[u8]) -> HeaderMap {
    let user = app
        .user(&format!("{}@example.org", name.replace('.', "-")))
        .await;
    let node: serde_json::Value = app
        .request(&user, Method::PUT, "/api/v1/files/content")
        .query(&[("parent_id", "root"), ("name", name)])
        .header(header::CONTENT_TYPE, mime)
        .body(bytes.to_vec())
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let id = node["id"].as_str().unwrap_or_default();
    let response = app
        .get(&user, &format!("/api/v1/files/{id}/content?inline=1"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.headers().clone()
}

#[tokio::test]
async fn content_that_could_script_is_never_inline() {
    let app = TestApp::spawn().await;
    let cases = [
        (
            "evil.html",
            "text/html",
            "<script>alert(1)</script>".as_bytes(),
            "attachment",
        ),
        (
            "evil.svg",
            "image/svg+xml",
            b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
            "attachment",
        ),
        (
            "sneaky.html",
            "text/plain",
            b"<script>alert(1)</script>",
            "attachment",
        ),
        (
            "page.xhtml",
            "application/xhtml+xml",
            b"<html/>",
            "attachment",
        ),
        ("photo.png", "image/png", b"\x89PNG\r\n\x1a\n", "inline"),
        ("notes.txt", "text/plain", b"hello", "inline"),
        ("paper.pdf", "application/pdf", b"%PDF-1.4", "inline"),
    ];
    for (name, mime, bytes, expected) in cases {
        let headers = fetch_inline(&app, name, mime, bytes).await;
        let disposition = text(&headers, "content-disposition");
        assert!(disposition.starts_with(expected), "{name}: {disposition}");
        assert_eq!(
            text(&headers, "content-security-policy"),
            "sandbox",
            "{name}"
        );
        assert_eq!(
            text(&headers, "x-content-type-options"),
            "nosniff",
            "{name}"
        );
    }
}
