//! WebDAV at `/dav/`: the RFC 4918 methods and status codes over the same tree as the API, dead
//! properties that follow a MOVE and survive a restart, locks honoured by every server sharing the
//! database, and a folder shared for viewing seen through WebDAV.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::app_passwords::{ACCOUNT_PASSWORD, EMAIL, dav};
use crate::helpers::{TestApp, expect_json, id_of, noise, sha256_hex};

/// A WebDAV request as ana (account password).
fn ana(app: &TestApp, method: &str, path: &str) -> reqwest::RequestBuilder {
    dav(app, EMAIL, ACCOUNT_PASSWORD, method, path)
}

async fn status(request: reqwest::RequestBuilder) -> StatusCode {
    request.send().await.expect("request").status()
}

async fn text(request: reqwest::RequestBuilder) -> (StatusCode, String) {
    let response = request.send().await.expect("request");
    (response.status(), response.text().await.expect("body"))
}

/// The API's view of the node at `path`.
async fn node(app: &TestApp, user: &crate::helpers::User, path: &str) -> Value {
    let response = app
        .get(
            user,
            &format!("/api/v1/nodes/by-path?path={}", urlencode(path)),
        )
        .await;
    expect_json(response, StatusCode::OK).await
}

fn urlencode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

const PROPPATCH: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<D:propertyupdate xmlns:D="DAV:" xmlns:Z="http://example.org/ns">
  <D:set><D:prop><Z:colour>teal</Z:colour></D:prop></D:set>
</D:propertyupdate>"#;

const PROPFIND_COLOUR: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:" xmlns:Z="http://example.org/ns">
  <D:prop><Z:colour/></D:prop>
</D:propfind>"#;

const LOCK_EXCLUSIVE: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<D:lockinfo xmlns:D="DAV:">
  <D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype>
  <D:owner>litmus-like</D:owner>
</D:lockinfo>"#;

#[tokio::test]
async fn webdav_methods_answer_with_rfc_4918_status_codes() {
    let app = TestApp::spawn().await;
    let user = app.user(EMAIL).await;

    let options = ana(&app, "OPTIONS", "/dav/").send().await.unwrap();
    assert!(options.status().is_success());
    assert_eq!(options.headers()["dav"], "1, 2");
    assert_eq!(options.headers()["ms-author-via"], "DAV");

    assert_eq!(
        status(ana(&app, "MKCOL", "/dav/a")).await,
        StatusCode::CREATED
    );
    assert_eq!(
        status(ana(&app, "MKCOL", "/dav/a")).await,
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        status(ana(&app, "MKCOL", "/dav/missing/b")).await,
        StatusCode::CONFLICT
    );
    assert_eq!(
        status(ana(&app, "MKCOL", "/dav/withbody").body("<x/>")).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );

    // PUT creates, then adds a version; bytes and versions are the API's.
    let first = noise(300_000, 1);
    let put = ana(&app, "PUT", "/dav/a/f.bin").body(first.clone());
    assert_eq!(status(put).await, StatusCode::CREATED);
    let second = noise(200_000, 2);
    let put = ana(&app, "PUT", "/dav/a/f.bin")
        .header("x-oc-mtime", "1700000000")
        .body(second.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::NO_CONTENT);
    assert_eq!(put.headers()["x-oc-mtime"], "accepted");
    let file = node(&app, &user, "/a/f.bin").await;
    assert_eq!(file["version"], 2);
    assert_eq!(file["sha256"], sha256_hex(&second));
    assert_eq!(file["modified_at"], "2023-11-14T22:13:20Z");
    assert_eq!(app.download(&user, &id_of(&file)).await, second);
    assert_eq!(
        status(ana(&app, "PUT", "/dav/nowhere/f.txt").body("x")).await,
        StatusCode::CONFLICT
    );

    // GET with validators and ranges.
    let got = ana(&app, "GET", "/dav/a/f.bin").send().await.unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    let etag = got.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(etag, format!("\"{}\"", sha256_hex(&second)));
    assert_eq!(got.bytes().await.unwrap().as_ref(), second.as_slice());
    let again = ana(&app, "GET", "/dav/a/f.bin").header("if-none-match", &etag);
    assert_eq!(status(again).await, StatusCode::NOT_MODIFIED);
    let part = ana(&app, "GET", "/dav/a/f.bin")
        .header("range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.bytes().await.unwrap().as_ref(), &second[10..20]);

    // PROPFIND: one level at a time.
    let (listed, body) = text(ana(&app, "PROPFIND", "/dav/a/").header("depth", "1")).await;
    assert_eq!(listed, StatusCode::MULTI_STATUS);
    assert!(body.contains("/dav/a/f.bin"), "{body}");
    assert!(body.contains("200000"), "{body}");
    let (deep, body) = text(ana(&app, "PROPFIND", "/dav/").header("depth", "infinity")).await;
    assert_eq!(deep, StatusCode::FORBIDDEN);
    assert!(body.contains("propfind-finite-depth"), "{body}");
    let malformed = ana(&app, "PROPFIND", "/dav/")
        .header("depth", "0")
        .body("<D:propfind xmlns:D=\"DAV:\"><D:prop>");
    assert_eq!(status(malformed).await, StatusCode::BAD_REQUEST);

    // COPY and MOVE with Overwrite and a percent-encoded Destination.
    let copy =
        ana(&app, "COPY", "/dav/a/f.bin").header("destination", app.url("/dav/a/copy%20%231.bin"));
    assert_eq!(status(copy).await, StatusCode::CREATED);
    assert!(
        app.names(&user, &id_of(&node(&app, &user, "/a").await))
            .await
            .contains(&"copy #1.bin".to_owned())
    );
    let refused = ana(&app, "COPY", "/dav/a/f.bin")
        .header("destination", app.url("/dav/a/copy%20%231.bin"))
        .header("overwrite", "F");
    assert_eq!(status(refused).await, StatusCode::PRECONDITION_FAILED);
    let moved = ana(&app, "MOVE", "/dav/a/copy%20%231.bin")
        .header("destination", app.url("/dav/moved.bin"));
    assert_eq!(status(moved).await, StatusCode::CREATED);

    // DELETE goes to the trash, a folder as one entry.
    assert_eq!(
        status(ana(&app, "DELETE", "/dav/a/")).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        status(ana(&app, "GET", "/dav/a/f.bin")).await,
        StatusCode::NOT_FOUND
    );
    let trash = expect_json(app.get(&user, "/api/v1/trash").await, StatusCode::OK).await;
    let trashed: Vec<&str> = trash["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(trashed, ["a"]);
}

#[tokio::test]
async fn hostile_names_round_trip() {
    let app = TestApp::spawn().await;
    let user = app.user(EMAIL).await;
    for (encoded, name) in [
        ("with%20space.txt", "with space.txt"),
        ("hash%23tag.txt", "hash#tag.txt"),
        ("per%25cent.txt", "per%cent.txt"),
        ("plus+sign.txt", "plus+sign.txt"),
        ("caf%C3%A9.txt", "café.txt"),
        ("%F0%9F%8E%92.txt", "🎒.txt"),
        ("._AppleDouble", "._AppleDouble"),
        (".DS_Store", ".DS_Store"),
    ] {
        let path = format!("/dav/{encoded}");
        assert_eq!(
            status(ana(&app, "PUT", &path).body(name.to_owned())).await,
            StatusCode::CREATED,
            "{name}"
        );
        let got = ana(&app, "GET", &path).send().await.unwrap();
        assert_eq!(got.text().await.unwrap(), name);
        let file = node(&app, &user, &format!("/{name}")).await;
        assert_eq!(file["name"], name);
    }
    // Empty, then filled: the Windows Explorer pattern.
    assert_eq!(
        status(ana(&app, "PUT", "/dav/empty.txt").body("")).await,
        StatusCode::CREATED
    );
    assert_eq!(
        status(ana(&app, "PUT", "/dav/empty.txt").body("now full")).await,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn dead_properties_follow_a_move_and_survive_a_restart() {
    let mut first = TestApp::spawn().await;
    first.user(EMAIL).await;
    assert_eq!(
        status(ana(&first, "PUT", "/dav/doc.txt").body("words")).await,
        StatusCode::CREATED
    );
    let patched = ana(&first, "PROPPATCH", "/dav/doc.txt").body(PROPPATCH);
    assert_eq!(status(patched).await, StatusCode::MULTI_STATUS);
    let moved =
        ana(&first, "MOVE", "/dav/doc.txt").header("destination", first.url("/dav/kept.txt"));
    assert_eq!(status(moved).await, StatusCode::CREATED);
    let copied =
        ana(&first, "COPY", "/dav/kept.txt").header("destination", first.url("/dav/twin.txt"));
    assert_eq!(status(copied).await, StatusCode::CREATED);

    let config = first.state.config.clone();
    first.shut_down();
    let database = config.database.clone();
    let data = config.data.clone();
    let blobs = config.blobs.clone();
    let second = TestApp::spawn_with(move |c| {
        c.database = database;
        c.data = data;
        c.blobs = blobs;
    })
    .await;
    for path in ["/dav/kept.txt", "/dav/twin.txt"] {
        let (found, body) = text(
            ana(&second, "PROPFIND", path)
                .header("depth", "0")
                .body(PROPFIND_COLOUR),
        )
        .await;
        assert_eq!(found, StatusCode::MULTI_STATUS);
        assert!(body.contains("teal"), "{path}: {body}");
    }
}

#[tokio::test]
async fn locks_hold_across_two_servers_sharing_a_database() {
    let one = TestApp::spawn().await;
    one.user(EMAIL).await;
    let config = one.state.config.clone();
    let (database, data, blobs) = (
        config.database.clone(),
        config.data.clone(),
        config.blobs.clone(),
    );
    let two = TestApp::spawn_with(move |c| {
        c.database = database;
        c.data = data;
        c.blobs = blobs;
    })
    .await;
    assert_eq!(
        status(ana(&one, "PUT", "/dav/shared.txt").body("v1")).await,
        StatusCode::CREATED
    );
    let locked = ana(&one, "LOCK", "/dav/shared.txt")
        .header("timeout", "Second-600")
        .body(LOCK_EXCLUSIVE)
        .send()
        .await
        .unwrap();
    assert_eq!(locked.status(), StatusCode::OK);
    let token = locked.headers()["lock-token"].to_str().unwrap().to_owned();
    let token = token.trim_matches(|c| c == '<' || c == '>').to_owned();

    // The other server refuses writes without the token, and a second lock.
    assert_eq!(
        status(ana(&two, "PUT", "/dav/shared.txt").body("v2")).await,
        StatusCode::LOCKED
    );
    assert_eq!(
        status(ana(&two, "DELETE", "/dav/shared.txt")).await,
        StatusCode::LOCKED
    );
    assert_eq!(
        status(ana(&two, "LOCK", "/dav/shared.txt").body(LOCK_EXCLUSIVE)).await,
        StatusCode::LOCKED
    );
    let (found, body) = text(
        ana(&two, "PROPFIND", "/dav/shared.txt")
            .header("depth", "0")
            .body(r#"<D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/></D:prop></D:propfind>"#),
    )
    .await;
    assert_eq!(found, StatusCode::MULTI_STATUS);
    assert!(body.contains(&token), "{body}");
    // With the token it writes.
    let with_token = ana(&two, "PUT", "/dav/shared.txt")
        .header("if", format!("(<{token}>)"))
        .body("v2");
    assert_eq!(status(with_token).await, StatusCode::NO_CONTENT);
    // Unlocked on the second server, the first writes freely.
    let unlocked =
        ana(&two, "UNLOCK", "/dav/shared.txt").header("lock-token", format!("<{token}>"));
    assert_eq!(status(unlocked).await, StatusCode::NO_CONTENT);
    assert_eq!(
        status(ana(&one, "PUT", "/dav/shared.txt").body("v3")).await,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn a_view_member_sees_a_shared_folder_and_cannot_change_it() {
    let app = TestApp::spawn().await;
    let owner = app.user(EMAIL).await;
    let member = app.user("bob@example.org").await;
    let team = app.mkdir(&owner, "root", "Team").await;
    app.upload(&owner, &id_of(&team), "plan.txt", b"the plan".to_vec())
        .await;
    let shared = app
        .post(
            &owner,
            "/api/v1/shares",
            json!({"node_id": id_of(&team), "email": "bob@example.org", "permission": "view"}),
        )
        .await;
    expect_json(shared, StatusCode::CREATED).await;
    let bob =
        |method: &str, path: &str| dav(&app, "bob@example.org", ACCOUNT_PASSWORD, method, path);

    let (listed, body) = text(
        bob("PROPFIND", "/dav/Team/")
            .header("depth", "1")
            .body(r#"<D:propfind xmlns:D="DAV:" xmlns:oc="http://owncloud.org/ns"><D:prop><oc:permissions/><oc:checksums/></D:prop></D:propfind>"#),
    )
    .await;
    assert_eq!(listed, StatusCode::MULTI_STATUS);
    assert!(body.contains("plan.txt"), "{body}");
    assert!(body.contains(">SG<"), "view-only permissions: {body}");
    assert!(
        body.contains(&format!("SHA256:{}", sha256_hex(b"the plan"))),
        "{body}"
    );
    let got = bob("GET", "/dav/Team/plan.txt").send().await.unwrap();
    assert_eq!(got.bytes().await.unwrap().as_ref(), b"the plan");
    for (method, path) in [
        ("PUT", "/dav/Team/plan.txt"),
        ("PUT", "/dav/Team/new.txt"),
        ("MKCOL", "/dav/Team/sub"),
        ("DELETE", "/dav/Team/plan.txt"),
    ] {
        let request = bob(method, path);
        let request = if method == "PUT" {
            request.body("x")
        } else {
            request
        };
        assert_eq!(
            status(request).await,
            StatusCode::FORBIDDEN,
            "{method} {path}"
        );
    }
    assert_eq!(
        app.download(&owner, &id_of(&node(&app, &owner, "/Team/plan.txt").await))
            .await,
        b"the plan"
    );
    // And the member's own tree stays theirs: the same path of another account is not reachable.
    assert_eq!(
        status(bob("PROPFIND", "/dav/files/ana%40example.org/").header("depth", "0")).await,
        StatusCode::NOT_FOUND
    );
    let own = bob("PROPFIND", "/dav/files/bob%40example.org/Team/").header("depth", "0");
    assert_eq!(status(own).await, StatusCode::MULTI_STATUS);
    drop(member);
}

#[tokio::test]
async fn quota_properties_report_the_account() {
    let app = TestApp::spawn_with(|c| c.default_quota = Some(1_000_000)).await;
    let user = app.user(EMAIL).await;
    app.upload(&user, "root", "f.bin", noise(1000, 3)).await;
    let (found, body) = text(
        ana(&app, "PROPFIND", "/dav/")
            .header("depth", "0")
            .body(r#"<D:propfind xmlns:D="DAV:"><D:prop><D:quota-available-bytes/><D:quota-used-bytes/></D:prop></D:propfind>"#),
    )
    .await;
    assert_eq!(found, StatusCode::MULTI_STATUS);
    assert!(body.contains(">999000<"), "{body}");
    assert!(body.contains(">1000<"), "{body}");
    // A PUT past the quota is refused and changes nothing.
    let big = ana(&app, "PUT", "/dav/big.bin").body(noise(2_000_000, 4));
    assert_eq!(status(big).await, StatusCode::INSUFFICIENT_STORAGE);
    assert_eq!(app.names(&user, "root").await, ["f.bin"]);
}
