//! Folders shared between accounts: the member's view of them, what `view` members cannot do, the
//! owner's quota, journals and notifications reaching every member, revocation, and nesting.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, User, expect_json, expect_problem, id_of, noise, sha256_hex};

/// Shares `node` with `email`, expecting success.
async fn share(app: &TestApp, owner: &User, node: &str, email: &str, permission: &str) -> Value {
    expect_json(
        app.post(
            owner,
            "/api/v1/shares",
            json!({"node_id": node, "email": email, "permission": permission}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await
}

/// Every change after `cursor` (from the beginning when `None`), and the cursor after them.
async fn changes_since(app: &TestApp, user: &User, cursor: Option<&str>) -> (Vec<Value>, String) {
    let mut cursor = cursor.map(str::to_owned);
    let mut changes = Vec::new();
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/api/v1/changes?cursor={cursor}&limit=3"),
            None => "/api/v1/changes?limit=3".to_owned(),
        };
        let page = expect_json(app.get(user, &path).await, StatusCode::OK).await;
        changes.extend(page["changes"].as_array().unwrap().iter().cloned());
        cursor = Some(page["cursor"].as_str().unwrap().to_owned());
        if page["has_more"] == false {
            return (changes, cursor.unwrap());
        }
    }
}

async fn latest(app: &TestApp, user: &User) -> String {
    let latest = expect_json(
        app.get(user, "/api/v1/changes/latest").await,
        StatusCode::OK,
    )
    .await;
    latest["cursor"].as_str().unwrap().to_owned()
}

async fn used_bytes(app: &TestApp, user: &User) -> u64 {
    let me = expect_json(app.get(user, "/api/v1/me").await, StatusCode::OK).await;
    me["used_bytes"].as_u64().unwrap()
}

/// Ana's folder `Team` holding `a.txt` and `sub/b.txt`.
struct Team {
    folder: String,
    a: String,
    sub: String,
    b: String,
}

async fn team(app: &TestApp, ana: &User) -> Team {
    let folder = id_of(&app.mkdir(ana, "root", "Team").await);
    let a = id_of(&app.upload(ana, &folder, "a.txt", b"alpha".to_vec()).await);
    let sub = id_of(&app.mkdir(ana, &folder, "sub").await);
    let b = id_of(&app.upload(ana, &sub, "b.txt", b"bravo".to_vec()).await);
    Team { folder, a, sub, b }
}

#[tokio::test]
async fn a_shared_folder_appears_in_the_members_root_and_edit_members_change_it() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let bob = app.user("bob@example.org").await;
    let team = team(&app, &ana).await;
    app.upload(&bob, "root", "own.txt", b"mine".to_vec()).await;

    let made = share(&app, &ana, &team.folder, "Bob@Example.org", "edit").await;
    assert_eq!(made["node_id"], team.folder.as_str());
    assert_eq!(made["permission"], "edit");
    assert_eq!(made["mount_name"], "Team");
    assert_eq!(made["owner_email"], "ana@example.org");

    // Bob's root lists it among his own; its contents list, download and carry his paths.
    assert_eq!(app.names(&bob, "root").await, ["own.txt", "Team"]);
    let listed = expect_json(
        app.get(&bob, "/api/v1/folders/root/children").await,
        StatusCode::OK,
    )
    .await;
    let mount = listed["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "Team")
        .unwrap()
        .clone();
    assert_eq!(mount["id"], team.folder.as_str());
    assert_eq!(mount["path"], "/Team");
    let root = expect_json(app.get(&bob, "/api/v1/nodes/root").await, StatusCode::OK).await;
    assert_eq!(mount["parent_id"], root["id"]);
    assert_eq!(app.names(&bob, &team.folder).await, ["a.txt", "sub"]);
    assert_eq!(app.download(&bob, &team.b).await, b"bravo");
    let b = expect_json(
        app.get(&bob, &format!("/api/v1/nodes/{}", team.b)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(b["path"], "/Team/sub/b.txt");
    let found = expect_json(
        app.get(&bob, "/api/v1/search?q=b.txt").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(found["entries"][0]["path"], "/Team/sub/b.txt");
    let by_path = app
        .get(&bob, "/api/v1/nodes/by-path?path=/Team/sub/b.txt")
        .await;
    assert_eq!(
        expect_json(by_path, StatusCode::OK).await["id"],
        team.b.as_str()
    );

    // Bob writes inside: a new file, a new version, a rename, a trash and a restore. The bytes count
    // against Ana's quota, not Bob's.
    let (ana_before, bob_before) = (used_bytes(&app, &ana).await, used_bytes(&app, &bob).await);
    let c = app.upload(&bob, &team.sub, "c.bin", noise(10_000, 3)).await;
    app.upload(&bob, &team.folder, "a.txt", b"alpha two".to_vec())
        .await;
    assert_eq!(used_bytes(&app, &ana).await, ana_before + 10_000 + 4);
    assert_eq!(used_bytes(&app, &bob).await, bob_before);
    assert_eq!(app.names(&ana, &team.sub).await, ["b.txt", "c.bin"]);
    assert_eq!(app.download(&ana, &team.a).await, b"alpha two");
    let renamed = app
        .patch(
            &bob,
            &format!("/api/v1/nodes/{}", id_of(&c)),
            json!({"name": "c2.bin"}),
        )
        .await;
    assert_eq!(renamed.status(), StatusCode::OK);
    let trashed = app.delete(&bob, &format!("/api/v1/nodes/{}", team.b)).await;
    assert_eq!(trashed.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.names(&ana, &team.sub).await, ["c2.bin"]);
    let restored = app
        .post(
            &bob,
            &format!("/api/v1/nodes/{}/restore", team.b),
            json!({}),
        )
        .await;
    assert_eq!(restored.status(), StatusCode::OK);
    assert_eq!(app.names(&ana, &team.sub).await, ["b.txt", "c2.bin"]);

    // A public link to a file inside keeps working when a member moves the file.
    let link = expect_json(
        app.post(&ana, "/api/v1/links", json!({"node_id": team.a}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let moved = app
        .patch(
            &bob,
            &format!("/api/v1/nodes/{}", team.a),
            json!({"parent_id": team.sub}),
        )
        .await;
    assert_eq!(
        expect_json(moved, StatusCode::OK).await["path"],
        "/Team/sub/a.txt"
    );
    let token = link["token"].as_str().unwrap();
    let visit = app
        .client
        .get(app.url(&format!("/s/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(visit.status(), StatusCode::OK);
    assert_eq!(visit.bytes().await.unwrap().as_ref(), b"alpha two");

    // Both see the same versions of a.txt.
    let versions = expect_json(
        app.get(&ana, &format!("/api/v1/files/{}/versions", team.a))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(versions["entries"].as_array().unwrap().len(), 2);

    // The shares, from both sides.
    let outgoing = expect_json(app.get(&ana, "/api/v1/shares").await, StatusCode::OK).await;
    assert_eq!(outgoing["entries"][0]["member_email"], "bob@example.org");
    let incoming = expect_json(
        app.get(&bob, "/api/v1/shares?direction=incoming").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(incoming["entries"][0]["id"], made["id"]);
    let none = expect_json(app.get(&bob, "/api/v1/shares").await, StatusCode::OK).await;
    assert!(none["entries"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn view_members_fail_every_kind_of_write() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let carol = app.user("carol@example.org").await;
    let team = team(&app, &ana).await;
    let own = id_of(
        &app.upload(&carol, "root", "own.txt", b"carol's".to_vec())
            .await,
    );
    let own_folder = id_of(&app.mkdir(&carol, "root", "Mine").await);
    share(&app, &ana, &team.folder, "carol@example.org", "view").await;
    assert_eq!(app.download(&carol, &team.a).await, b"alpha");

    let read_only = |response: reqwest::Response| async move {
        expect_problem(response, StatusCode::FORBIDDEN, "read_only").await;
    };
    read_only(
        app.post(
            &carol,
            "/api/v1/folders",
            json!({"parent_id": team.folder, "name": "x"}),
        )
        .await,
    )
    .await;
    read_only(
        app.put_content(&carol, &team.folder, "new.txt", b"x".to_vec())
            .await,
    )
    .await;
    read_only(
        app.put_content(&carol, &team.folder, "a.txt", b"x".to_vec())
            .await,
    )
    .await;
    read_only(
        app.request(
            &carol,
            Method::PUT,
            &format!("/api/v1/files/{}/content", team.a),
        )
        .body(b"x".to_vec())
        .send()
        .await
        .unwrap(),
    )
    .await;
    read_only(
        app.patch(
            &carol,
            &format!("/api/v1/nodes/{}", team.a),
            json!({"name": "z.txt"}),
        )
        .await,
    )
    .await;
    // Moves out of the folder and into it.
    read_only(
        app.patch(
            &carol,
            &format!("/api/v1/nodes/{}", team.a),
            json!({"parent_id": own_folder}),
        )
        .await,
    )
    .await;
    read_only(
        app.patch(
            &carol,
            &format!("/api/v1/nodes/{own}"),
            json!({"parent_id": team.sub}),
        )
        .await,
    )
    .await;
    read_only(
        app.post(
            &carol,
            &format!("/api/v1/nodes/{own}/copy"),
            json!({"parent_id": team.folder}),
        )
        .await,
    )
    .await;
    read_only(
        app.delete(&carol, &format!("/api/v1/nodes/{}", team.b))
            .await,
    )
    .await;
    read_only(
        app.post(
            &carol,
            &format!("/api/v1/files/{}/versions/1/restore", team.a),
            json!({}),
        )
        .await,
    )
    .await;
    // Chunked uploads are refused when the session opens.
    let bytes = b"chunked".to_vec();
    read_only(
        app.post(
            &carol,
            "/api/v1/uploads",
            json!({
                "parent_id": team.folder, "name": "big.bin", "size": bytes.len(),
                "sha256": sha256_hex(&bytes),
                "chunks": [{"sha256": sha256_hex(&bytes), "size": bytes.len()}],
            }),
        )
        .await,
    )
    .await;
    // Nothing changed; copying out into her own tree is reading, and works.
    assert_eq!(app.names(&ana, &team.folder).await, ["a.txt", "sub"]);
    assert_eq!(app.download(&ana, &team.a).await, b"alpha");
    let copied = app
        .post(
            &carol,
            &format!("/api/v1/nodes/{}/copy", team.a),
            json!({"parent_id": "root"}),
        )
        .await;
    assert_eq!(copied.status(), StatusCode::CREATED);

    // A session opened while she could edit stops taking chunks once she cannot.
    let shared = share(&app, &ana, &team.folder, "carol@example.org", "edit").await;
    let chunk = noise(2_000_000, 9);
    let session = expect_json(
        app.post(
            &carol,
            "/api/v1/uploads",
            json!({
                "parent_id": team.folder, "name": "late.bin", "size": chunk.len(),
                "sha256": sha256_hex(&chunk),
                "chunks": [{"sha256": sha256_hex(&chunk), "size": chunk.len()}],
            }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let changed = app
        .patch(
            &ana,
            &format!("/api/v1/shares/{}", id_of(&shared)),
            json!({"permission": "view"}),
        )
        .await;
    assert_eq!(
        expect_json(changed, StatusCode::OK).await["permission"],
        "view"
    );
    let upload = session["upload_id"].as_str().unwrap();
    read_only(
        app.request(
            &carol,
            Method::PUT,
            &format!("/api/v1/uploads/{upload}/chunks/0"),
        )
        .body(chunk)
        .send()
        .await
        .unwrap(),
    )
    .await;
    read_only(
        app.post(
            &carol,
            &format!("/api/v1/uploads/{upload}/commit"),
            json!({}),
        )
        .await,
    )
    .await;
}

#[tokio::test]
async fn members_rename_their_mount_for_themselves_and_leave_by_trashing_it() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let bob = app.user("bob@example.org").await;
    let carol = app.user("carol@example.org").await;
    let team = team(&app, &ana).await;
    // Bob already has a "Team": the mount takes a free name.
    app.mkdir(&bob, "root", "team").await;
    let to_bob = share(&app, &ana, &team.folder, "bob@example.org", "view").await;
    assert_eq!(to_bob["mount_name"], "Team (1)");
    share(&app, &ana, &team.folder, "carol@example.org", "edit").await;

    // Even a view member names the folder as they like; nobody else sees it.
    let renamed = app
        .patch(
            &bob,
            &format!("/api/v1/nodes/{}", team.folder),
            json!({"name": "Ana's"}),
        )
        .await;
    let renamed = expect_json(renamed, StatusCode::OK).await;
    assert_eq!(renamed["name"], "Ana's");
    assert_eq!(renamed["path"], "/Ana's");
    assert_eq!(app.names(&bob, "root").await, ["Ana's", "team"]);
    assert_eq!(app.names(&ana, "root").await, ["Team"]);
    assert_eq!(app.names(&carol, "root").await, ["Team"]);
    let inside = expect_json(
        app.get(&bob, &format!("/api/v1/nodes/{}", team.a)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(inside["path"], "/Ana's/a.txt");
    // Its name is taken in his root; it stays there.
    expect_problem(
        app.post(
            &bob,
            "/api/v1/folders",
            json!({"parent_id": "root", "name": "ana's"}),
        )
        .await,
        StatusCode::CONFLICT,
        "name_conflict",
    )
    .await;
    let elsewhere = id_of(&app.mkdir(&bob, "root", "Elsewhere").await);
    expect_problem(
        app.patch(
            &bob,
            &format!("/api/v1/nodes/{}", team.folder),
            json!({"parent_id": elsewhere}),
        )
        .await,
        StatusCode::CONFLICT,
        "mount_fixed",
    )
    .await;

    // Trashing the mount leaves the share; the folder is untouched for everyone else.
    let left = app
        .delete(&bob, &format!("/api/v1/nodes/{}", team.folder))
        .await;
    assert_eq!(left.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.names(&bob, "root").await, ["Elsewhere", "team"]);
    assert_eq!(app.names(&carol, &team.folder).await, ["a.txt", "sub"]);
    let outgoing = expect_json(app.get(&ana, "/api/v1/shares").await, StatusCode::OK).await;
    assert_eq!(outgoing["entries"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_revoked_member_loses_every_id_inside() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let bob = app.user("bob@example.org").await;
    let carol = app.user("carol@example.org").await;
    let team = team(&app, &ana).await;
    let to_bob = share(&app, &ana, &team.folder, "bob@example.org", "edit").await;
    share(&app, &ana, &team.folder, "carol@example.org", "edit").await;
    let link = app
        .post(&bob, "/api/v1/links", json!({"node_id": team.a}))
        .await;
    let link = expect_json(link, StatusCode::CREATED).await;
    let cursor = latest(&app, &bob).await;

    let revoked = app
        .delete(&ana, &format!("/api/v1/shares/{}", id_of(&to_bob)))
        .await;
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    for id in [&team.folder, &team.a, &team.sub, &team.b] {
        expect_problem(
            app.get(&bob, &format!("/api/v1/nodes/{id}")).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    for path in [
        format!("/api/v1/files/{}/content", team.a),
        format!("/api/v1/folders/{}/children", team.folder),
        format!("/api/v1/files/{}/versions", team.b),
    ] {
        expect_problem(
            app.get(&bob, &path).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    expect_problem(
        app.put_content(&bob, &team.folder, "late.txt", b"x".to_vec())
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // His public link to a file inside stops working too.
    let token = link["token"].as_str().unwrap();
    let visit = app
        .client
        .get(app.url(&format!("/s/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(visit.status(), StatusCode::NOT_FOUND);
    assert!(app.names(&bob, "root").await.is_empty());
    let found = expect_json(app.get(&bob, "/api/v1/search?q=txt").await, StatusCode::OK).await;
    assert!(found["entries"].as_array().unwrap().is_empty());

    // His journal says the folder left his tree without being trashed.
    let (changes, _) = changes_since(&app, &bob, Some(&cursor)).await;
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["op"], "delete");
    assert_eq!(changes[0]["unshared"], true);
    assert_eq!(changes[0]["node"]["id"], team.folder.as_str());
    // Carol keeps her access.
    assert_eq!(app.download(&carol, &team.a).await, b"alpha");
    // Revoking twice, or someone else's share: 404.
    for who in [&ana, &carol] {
        expect_problem(
            app.delete(who, &format!("/api/v1/shares/{}", id_of(&to_bob)))
                .await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
}

#[tokio::test]
async fn changes_inside_a_shared_folder_reach_every_members_journal_and_notifications() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let bob = app.user("bob@example.org").await;
    let team = team(&app, &ana).await;
    let bob_root =
        id_of(&expect_json(app.get(&bob, "/api/v1/nodes/root").await, StatusCode::OK).await);
    // Bob's cursor from before the share: the share brings the whole folder, mount first.
    let before = latest(&app, &bob).await;
    let ana_before = latest(&app, &ana).await;
    share(&app, &ana, &team.folder, "bob@example.org", "edit").await;
    let (changes, cursor) = changes_since(&app, &bob, Some(&before)).await;
    let seen: Vec<(String, String, String)> = changes
        .iter()
        .map(|c| {
            (
                c["op"].as_str().unwrap().to_owned(),
                c["node"]["path"].as_str().unwrap().to_owned(),
                c["node"]["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(seen[0].1, "/Team", "{seen:?}");
    assert_eq!(changes[0]["node"]["parent_id"], bob_root.as_str());
    for path in ["/Team/a.txt", "/Team/sub", "/Team/sub/b.txt"] {
        assert!(
            seen.iter().any(|(op, p, _)| op == "upsert" && p == path),
            "{path}: {seen:?}"
        );
    }
    // The owner's journal shows the nodes where they are in her tree.
    let (ana_changes, _) = changes_since(&app, &ana, Some(&ana_before)).await;
    assert!(
        ana_changes
            .iter()
            .all(|c| c["node"]["path"].as_str().unwrap().starts_with("/Team"))
    );

    // A change by the owner wakes the member's long poll and reaches his journal with his paths.
    let waiting = {
        let request = app
            .request(
                &bob,
                Method::GET,
                &format!("/api/v1/changes/wait?cursor={cursor}&timeout=20"),
            )
            .send();
        tokio::spawn(request)
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let x = app.upload(&ana, &team.sub, "x.txt", b"x".to_vec()).await;
    let woke = waiting.await.unwrap().unwrap();
    assert_eq!(expect_json(woke, StatusCode::OK).await["changed"], true);
    // Bob renames his mount; Ana renames the folder: Bob's journal keeps his name.
    app.patch(
        &bob,
        &format!("/api/v1/nodes/{}", team.folder),
        json!({"name": "Work"}),
    )
    .await;
    app.patch(
        &ana,
        &format!("/api/v1/nodes/{}", team.folder),
        json!({"name": "Team 2"}),
    )
    .await;
    let (changes, _) = changes_since(&app, &bob, Some(&cursor)).await;
    let paths: Vec<&str> = changes
        .iter()
        .map(|c| c["node"]["path"].as_str().unwrap())
        .collect();
    // Paths are where the reader sees things now: under his current name for the folder.
    assert_eq!(paths.first(), Some(&"/Work/sub/x.txt"), "{paths:?}");
    assert_eq!(changes[0]["node"]["id"], id_of(&x).as_str());
    assert!(paths[1..].iter().all(|p| *p == "/Work"), "{paths:?}");
    assert!(changes.iter().all(|c| c["node"]["name"] != "Team 2"));
    assert_eq!(app.names(&ana, "root").await, ["Team 2"]);
    assert_eq!(app.names(&bob, "root").await, ["Work"]);
}

#[tokio::test]
async fn moves_into_and_out_of_a_shared_folder_carry_quota_and_journal() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let bob = app.user("bob@example.org").await;
    let team = team(&app, &ana).await;
    share(&app, &ana, &team.folder, "bob@example.org", "edit").await;
    let folder = id_of(&app.mkdir(&bob, "root", "Drafts").await);
    let draft = id_of(&app.upload(&bob, &folder, "d.bin", noise(50_000, 4)).await);
    let (ana_used, bob_used) = (used_bytes(&app, &ana).await, used_bytes(&app, &bob).await);
    let ana_cursor = latest(&app, &ana).await;

    // Bob moves his folder in: it is Ana's to see and to pay for.
    let moved = app
        .patch(
            &bob,
            &format!("/api/v1/nodes/{folder}"),
            json!({"parent_id": team.folder}),
        )
        .await;
    assert_eq!(
        expect_json(moved, StatusCode::OK).await["path"],
        "/Team/Drafts"
    );
    assert_eq!(used_bytes(&app, &ana).await, ana_used + 50_000);
    assert_eq!(used_bytes(&app, &bob).await, bob_used - 50_000);
    assert_eq!(app.download(&ana, &draft).await, noise(50_000, 4));
    let (changes, ana_cursor) = changes_since(&app, &ana, Some(&ana_cursor)).await;
    let paths: Vec<&str> = changes
        .iter()
        .map(|c| c["node"]["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/Team/Drafts", "/Team/Drafts/d.bin"]);

    // And out again into his own tree: gone for Ana.
    let out = app
        .patch(
            &bob,
            &format!("/api/v1/nodes/{folder}"),
            json!({"parent_id": "root"}),
        )
        .await;
    assert_eq!(out.status(), StatusCode::OK);
    expect_problem(
        app.get(&ana, &format!("/api/v1/nodes/{draft}")).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(used_bytes(&app, &ana).await, ana_used);
    assert_eq!(used_bytes(&app, &bob).await, bob_used);
    let (changes, _) = changes_since(&app, &ana, Some(&ana_cursor)).await;
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["op"], "delete");
    assert_eq!(changes[0]["node"]["id"], folder.as_str());
}

#[tokio::test]
async fn shared_folders_do_not_nest_and_bad_shares_are_refused() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let bob = app.user("bob@example.org").await;
    app.user("carol@example.org").await;
    let team = team(&app, &ana).await;
    let other = id_of(&app.mkdir(&ana, "root", "Other").await);
    share(&app, &ana, &team.folder, "bob@example.org", "edit").await;
    // Only the owner invites.
    expect_problem(
        app.post(
            &bob,
            "/api/v1/shares",
            json!({"node_id": team.folder, "email": "carol@example.org", "permission": "view"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    let attempt = |node: String, email: &'static str, permission: &'static str| {
        let ana = &ana;
        let app = &app;
        async move {
            app.post(
                ana,
                "/api/v1/shares",
                json!({"node_id": node, "email": email, "permission": permission}),
            )
            .await
        }
    };
    expect_problem(
        attempt(team.sub.clone(), "bob@example.org", "view").await,
        StatusCode::CONFLICT,
        "shared_nesting",
    )
    .await;
    // Moving a shared folder into another one, or a folder holding one into a shared one.
    share(&app, &ana, &other, "bob@example.org", "view").await;
    expect_problem(
        app.patch(
            &ana,
            &format!("/api/v1/nodes/{other}"),
            json!({"parent_id": team.folder}),
        )
        .await,
        StatusCode::CONFLICT,
        "shared_nesting",
    )
    .await;
    let outer = id_of(&app.mkdir(&ana, "root", "Outer").await);
    app.patch(
        &ana,
        &format!("/api/v1/nodes/{other}"),
        json!({"parent_id": outer}),
    )
    .await;
    expect_problem(
        app.patch(
            &ana,
            &format!("/api/v1/nodes/{outer}"),
            json!({"parent_id": team.folder}),
        )
        .await,
        StatusCode::CONFLICT,
        "shared_nesting",
    )
    .await;
    expect_problem(
        attempt(outer.clone(), "bob@example.org", "view").await,
        StatusCode::CONFLICT,
        "shared_nesting",
    )
    .await;
    // With oneself, with nobody, a bad permission, the root, someone else's node.
    expect_problem(
        attempt(team.folder.clone(), "ana@example.org", "view").await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    expect_problem(
        attempt(team.folder.clone(), "nobody@example.org", "view").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        attempt(team.folder.clone(), "bob@example.org", "admin").await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    let mallory = app.user("mallory@example.org").await;
    let theirs = app
        .post(
            &mallory,
            "/api/v1/shares",
            json!({"node_id": team.a, "email": "bob@example.org", "permission": "view"}),
        )
        .await;
    expect_problem(theirs, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn members_write_within_the_owners_quota() {
    let app = TestApp::spawn_with(|c| c.default_quota = Some(100_000)).await;
    let ana = app.user("ana@example.org").await;
    let bob = app.user("bob@example.org").await;
    let team = team(&app, &ana).await;
    share(&app, &ana, &team.folder, "bob@example.org", "edit").await;
    app.upload(&ana, "root", "filler.bin", noise(90_000, 1))
        .await;
    // Bob has room of his own, but the folder is Ana's.
    expect_problem(
        app.put_content(&bob, &team.folder, "big.bin", noise(20_000, 2))
            .await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "quota_exceeded",
    )
    .await;
    app.upload(&bob, "root", "fits.bin", noise(20_000, 2)).await;
    app.upload(&bob, &team.folder, "small.bin", noise(5_000, 3))
        .await;
}

#[tokio::test]
async fn trashing_a_shared_folder_takes_it_from_members_until_restored() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let bob = app.user("bob@example.org").await;
    let team = team(&app, &ana).await;
    share(&app, &ana, &team.folder, "bob@example.org", "edit").await;
    let cursor = latest(&app, &bob).await;
    app.delete(&ana, &format!("/api/v1/nodes/{}", team.folder))
        .await;
    assert!(app.names(&bob, "root").await.is_empty());
    let (changes, cursor) = changes_since(&app, &bob, Some(&cursor)).await;
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0]["op"], "delete");
    assert!(changes[0].get("unshared").is_none());
    // Bob cannot bring it back; Ana can.
    expect_problem(
        app.post(
            &bob,
            &format!("/api/v1/nodes/{}/restore", team.folder),
            json!({}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "read_only",
    )
    .await;
    let restored = app
        .post(
            &ana,
            &format!("/api/v1/nodes/{}/restore", team.folder),
            json!({}),
        )
        .await;
    assert_eq!(restored.status(), StatusCode::OK);
    assert_eq!(app.names(&bob, "root").await, ["Team"]);
    let (changes, _) = changes_since(&app, &bob, Some(&cursor)).await;
    assert_eq!(changes[0]["node"]["path"], "/Team");
    assert!(
        changes.len() >= 4,
        "the whole folder comes back: {changes:?}"
    );
    // Purged: the share ends.
    app.delete(&ana, &format!("/api/v1/nodes/{}", team.folder))
        .await;
    let purged = app
        .delete(&ana, &format!("/api/v1/trash/{}", team.folder))
        .await;
    assert!(purged.status().is_success(), "{}", purged.status());
    let incoming = expect_json(
        app.get(&bob, "/api/v1/shares?direction=incoming").await,
        StatusCode::OK,
    )
    .await;
    assert!(incoming["entries"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn share_lists_come_in_pages() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    app.user("bob@example.org").await;
    let bob = app.login("bob@example.org", "correct horse battery").await;
    for name in ["One", "Two", "Three"] {
        let folder = id_of(&app.mkdir(&ana, "root", name).await);
        share(&app, &ana, &folder, "bob@example.org", "view").await;
    }
    for (user, direction) in [(&ana, "outgoing"), (&bob, "incoming")] {
        let mut names = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let mut path = format!("/api/v1/shares?direction={direction}&limit=2");
            if let Some(cursor) = &cursor {
                path.push_str(&format!("&cursor={cursor}"));
            }
            let page = expect_json(app.get(user, &path).await, StatusCode::OK).await;
            pages += 1;
            for entry in page["entries"].as_array().unwrap() {
                names.push(entry["mount_name"].as_str().unwrap().to_owned());
            }
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        assert_eq!(
            (pages, names),
            (2, vec!["One".to_owned(), "Two".into(), "Three".into()])
        );
    }
    expect_problem(
        app.get(&ana, "/api/v1/shares?cursor=garbage").await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
}

#[tokio::test]
async fn a_single_file_can_be_shared() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let bob = app.user("bob@example.org").await;
    let folder = id_of(&app.mkdir(&ana, "root", "Reports").await);
    let file = id_of(
        &app.upload(&ana, &folder, "q3.pdf", b"numbers".to_vec())
            .await,
    );
    share(&app, &ana, &file, "bob@example.org", "view").await;
    assert_eq!(app.names(&bob, "root").await, ["q3.pdf"]);
    let seen = expect_json(
        app.get(&bob, &format!("/api/v1/nodes/{file}")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(seen["path"], "/q3.pdf");
    assert_eq!(app.download(&bob, &file).await, b"numbers");
    // Not the folder around it.
    expect_problem(
        app.get(&bob, &format!("/api/v1/nodes/{folder}")).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        app.request(&bob, Method::PUT, &format!("/api/v1/files/{file}/content"))
            .body(b"changed".to_vec())
            .send()
            .await
            .unwrap(),
        StatusCode::FORBIDDEN,
        "read_only",
    )
    .await;
    // The owner still changes it where it is; the member reads the new version.
    app.upload(&ana, &folder, "q3.pdf", b"new numbers".to_vec())
        .await;
    assert_eq!(app.download(&bob, &file).await, b"new numbers");
}
