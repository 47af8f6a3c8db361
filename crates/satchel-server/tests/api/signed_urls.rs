//! Signed download URLs: what they serve, how they refuse, and that they end with the access that
//! made them (a revoked share, a logout, a revocation by the maker or the file's owner), who sees
//! them and who may revoke them.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, User, expect_json, expect_problem, id_of, noise};

/// Makes a signed URL for `file` as `user`, expecting success.
async fn make_url(app: &TestApp, user: &User, file: &str, ttl: u64) -> Value {
    let made = app
        .post(
            user,
            &format!("/api/v1/files/{file}/download-url"),
            json!({"ttl_seconds": ttl}),
        )
        .await;
    expect_json(made, StatusCode::OK).await
}

async fn fetch(app: &TestApp, url: &Value) -> reqwest::Response {
    app.client
        .get(url["url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
}

/// Shares `folder` with `email`, returning the share's id.
async fn share(app: &TestApp, owner: &User, folder: &str, email: &str, permission: &str) -> String {
    let made = app
        .post(
            owner,
            "/api/v1/shares",
            json!({"node_id": folder, "email": email, "permission": permission}),
        )
        .await;
    id_of(&expect_json(made, StatusCode::CREATED).await)
}

/// The entries of `GET path`.
async fn entries(app: &TestApp, user: &User, path: &str) -> Vec<Value> {
    let page = expect_json(app.get(user, path).await, StatusCode::OK).await;
    page["entries"].as_array().unwrap().clone()
}

#[tokio::test]
async fn signed_urls_download_their_version_without_a_token_until_they_expire() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let file = app
        .upload(&ana, "root", "movie.mkv", noise(300_000, 9))
        .await;
    let made = make_url(&app, &ana, &id_of(&file), 60).await;
    assert_eq!(made["version"], 1);
    let url = made["url"].as_str().unwrap().to_owned();
    let fetched = fetch(&app, &made).await;
    assert_eq!(fetched.status(), StatusCode::OK);
    assert_eq!(fetched.bytes().await.unwrap().to_vec(), noise(300_000, 9));

    // A new version does not change what the URL serves: the version current when it was made.
    app.upload(&ana, "root", "movie.mkv", b"new".to_vec()).await;
    let again = fetch(&app, &made).await.bytes().await.unwrap();
    assert_eq!(again.len(), 300_000);

    // Any alteration breaks the signature, before any lookup.
    for altered in [
        // The signature's last digit, changed (to a digit it is not).
        format!(
            "{}{}",
            &url[..url.len() - 1],
            if url.ends_with('0') { '1' } else { '0' }
        ),
        url.replace(
            made["id"].as_str().unwrap(),
            &uuid::Uuid::now_v7().to_string(),
        ),
        url.replace("kid=", "kid=0"),
        // The form before URLs were records: node, version and expiry signed.
        format!(
            "{}?version=1&expires=9999999999&{}",
            app.url(&format!("/api/v1/signed/{}", id_of(&file))),
            url.split_once('?').unwrap().1
        ),
    ] {
        let answer = app.client.get(&altered).send().await.unwrap();
        expect_problem(answer, StatusCode::FORBIDDEN, "bad_signature").await;
    }
    // Expired.
    let short = make_url(&app, &ana, &id_of(&file), 1).await;
    let mut late = fetch(&app, &short).await;
    for _ in 0..40 {
        if late.status() != StatusCode::OK {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        late = fetch(&app, &short).await;
    }
    expect_problem(late, StatusCode::GONE, "url_expired").await;
    // Only for files one reaches.
    let bob = app.user("bob@example.org").await;
    expect_problem(
        app.post(
            &bob,
            &format!("/api/v1/files/{}/download-url", id_of(&file)),
            json!({}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

/// The audit's case: a `view` member makes a week-long URL; the owner revokes the share and the
/// member logs out. The URL must not serve the file any more.
#[tokio::test]
async fn a_view_members_url_ends_when_the_share_is_revoked_and_the_member_logs_out() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let bob = app.user("bob@example.org").await;
    let team = id_of(&app.mkdir(&ana, "root", "Team").await);
    let plan = id_of(
        &app.upload(&ana, &team, "plan.txt", b"secret plan".to_vec())
            .await,
    );
    let share_id = share(&app, &ana, &team, "bob@example.org", "view").await;

    let url = make_url(&app, &bob, &plan, 7 * 24 * 3600).await;
    let served = fetch(&app, &url).await;
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.bytes().await.unwrap().as_ref(), b"secret plan");
    // Ana sees the URL Bob made on her file.
    let listed = entries(&app, &ana, "/api/v1/download-urls").await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["id"], url["id"]);
    assert_eq!(listed[0]["created_by"], "bob@example.org");
    assert_eq!(listed[0]["state"], "active");

    let revoked = app
        .delete(&ana, &format!("/api/v1/shares/{share_id}"))
        .await;
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    expect_problem(fetch(&app, &url).await, StatusCode::NOT_FOUND, "not_found").await;

    let out = app
        .post_anonymous("/api/v1/auth/logout", json!({"refresh_token": bob.refresh}))
        .await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    expect_problem(fetch(&app, &url).await, StatusCode::GONE, "url_revoked").await;
    let listed = entries(&app, &ana, "/api/v1/download-urls").await;
    assert_eq!(listed[0]["state"], "session_ended");
}

#[tokio::test]
async fn logging_out_ends_the_urls_of_that_session_only() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let laptop = app.login("ana@example.org", "correct horse battery").await;
    let file = id_of(&app.upload(&ana, "root", "a.txt", b"alpha".to_vec()).await);
    let from_phone = make_url(&app, &ana, &file, 3600).await;
    let from_laptop = make_url(&app, &laptop, &file, 3600).await;

    let out = app
        .post_anonymous(
            "/api/v1/auth/logout",
            json!({"refresh_token": laptop.refresh}),
        )
        .await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    expect_problem(
        fetch(&app, &from_laptop).await,
        StatusCode::GONE,
        "url_revoked",
    )
    .await;
    assert_eq!(fetch(&app, &from_phone).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn owners_list_and_revoke_the_urls_on_their_files_and_members_their_own() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let bob = app.user("bob@example.org").await;
    let eve = app.user("eve@example.org").await;
    let team = id_of(&app.mkdir(&ana, "root", "Team").await);
    let a = id_of(&app.upload(&ana, &team, "a.txt", b"alpha".to_vec()).await);
    let b = id_of(&app.upload(&ana, &team, "b.txt", b"bravo".to_vec()).await);
    share(&app, &ana, &team, "bob@example.org", "edit").await;

    let anas = make_url(&app, &ana, &a, 3600).await;
    let bobs_a = make_url(&app, &bob, &a, 3600).await;
    let bobs_b = make_url(&app, &bob, &b, 3600).await;
    let ids = |list: &[Value]| -> Vec<Value> { list.iter().map(|e| e["id"].clone()).collect() };

    // Ana sees all three, in pages; Bob his two; Eve nothing.
    let first = expect_json(
        app.get(&ana, "/api/v1/download-urls?limit=2").await,
        StatusCode::OK,
    )
    .await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = entries(
        &app,
        &ana,
        &format!("/api/v1/download-urls?limit=2&cursor={cursor}"),
    )
    .await;
    let mut all = first["entries"].as_array().unwrap().clone();
    all.extend(rest);
    assert_eq!(
        ids(&all),
        vec![
            anas["id"].clone(),
            bobs_a["id"].clone(),
            bobs_b["id"].clone()
        ]
    );
    let on_a = entries(&app, &ana, &format!("/api/v1/download-urls?node_id={a}")).await;
    assert_eq!(ids(&on_a), vec![anas["id"].clone(), bobs_a["id"].clone()]);
    let bobs = entries(&app, &bob, "/api/v1/download-urls").await;
    assert_eq!(ids(&bobs), vec![bobs_a["id"].clone(), bobs_b["id"].clone()]);
    assert!(
        entries(&app, &eve, "/api/v1/download-urls")
            .await
            .is_empty()
    );

    // Neither Eve nor Bob may revoke what is not theirs to manage.
    let path = |url: &Value| format!("/api/v1/download-urls/{}", url["id"].as_str().unwrap());
    expect_problem(
        app.delete(&eve, &path(&bobs_a)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        app.delete(&bob, &path(&anas)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    // Ana revokes Bob's URL, Bob his other one.
    assert_eq!(
        app.delete(&ana, &path(&bobs_a)).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.delete(&bob, &path(&bobs_b)).await.status(),
        StatusCode::NO_CONTENT
    );
    for url in [&bobs_a, &bobs_b] {
        expect_problem(fetch(&app, url).await, StatusCode::GONE, "url_revoked").await;
    }
    assert_eq!(fetch(&app, &anas).await.status(), StatusCode::OK);
    let states: Vec<Value> = entries(&app, &ana, "/api/v1/download-urls")
        .await
        .iter()
        .map(|e| e["state"].clone())
        .collect();
    assert_eq!(
        states,
        vec![json!("active"), json!("revoked"), json!("revoked")]
    );
}
