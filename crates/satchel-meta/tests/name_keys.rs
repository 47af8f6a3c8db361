//! Migration 8 rewrites name keys stored under the old rule (lower case only): siblings that now
//! clash are renamed, newest first, names with control characters are repaired, and each rename is
//! journaled like any other.

use std::path::Path;

use satchel_meta::{NewUser, Store};
use sqlx::{Connection, Row};
use uuid::Uuid;

/// A fresh database URL: PostgreSQL when `SATCHEL_TEST_DATABASE_URL` names a server, else SQLite.
async fn fresh_url(dir: &Path) -> String {
    match std::env::var("SATCHEL_TEST_DATABASE_URL") {
        Ok(server) if server.starts_with("postgres") => {
            let server = server.rsplit_once('/').map_or(server.as_str(), |(s, _)| s);
            let url = format!("{server}/satchel_t_{}", Uuid::now_v7().simple());
            satchel_meta::create_postgres_database(&url).await.unwrap();
            url
        }
        _ => format!("sqlite://{}?mode=rwc", dir.join("k.db").display()),
    }
}

/// Inserts a live node as an older server would have: key lower-cased only.
async fn old_node(
    conn: &mut sqlx::AnyConnection,
    user: &satchel_meta::UserRecord,
    parent: Uuid,
    name: &str,
    created_at: i64,
) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO nodes (id, ns_id, owner_id, parent_id, kind, name, name_key, rev, \
         created_at, modified_at) VALUES ($1, $2, $3, $4, 'folder', $5, $6, 1, $7, $7)",
    )
    .bind(id.to_string())
    .bind(user.ns_id.to_string())
    .bind(user.id.to_string())
    .bind(parent.to_string())
    .bind(name)
    .bind(name.to_lowercase())
    .bind(created_at)
    .execute(conn)
    .await
    .unwrap();
    id
}

async fn name_and_rev(conn: &mut sqlx::AnyConnection, id: Uuid) -> (String, i64) {
    let row = sqlx::query("SELECT name, rev FROM nodes WHERE id = $1")
        .bind(id.to_string())
        .fetch_one(conn)
        .await
        .unwrap();
    (row.get("name"), row.get("rev"))
}

#[tokio::test]
async fn clashing_names_under_the_new_key_are_renamed_and_journaled() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_url(dir.path()).await;
    let store = Store::open(&url, 2).await.unwrap();
    let ana = store
        .create_user(NewUser {
            email: "ana@example.org".into(),
            password_hash: "x".into(),
            quota_bytes: None,
        })
        .await
        .unwrap();
    store.close().await;

    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
    let root = ana.root_id;
    let nfc = old_node(&mut conn, &ana, root, "caf\u{e9}", 10).await;
    let nfd = old_node(&mut conn, &ana, root, "cafe\u{301}", 20).await;
    // The newer one is renamed even when it sorts first by id.
    let upper = old_node(&mut conn, &ana, root, "STRASSE", 40).await;
    let sharp = old_node(&mut conn, &ana, root, "Straße", 30).await;
    let taken = old_node(&mut conn, &ana, root, "STRASSE (1)", 5).await;
    let bad = old_node(&mut conn, &ana, root, "bad\nname\u{202e}", 50).await;
    sqlx::query("DELETE FROM schema_migrations WHERE version = 8")
        .execute(&mut conn)
        .await
        .unwrap();
    let before: i64 = sqlx::query_scalar("SELECT last_seq FROM namespaces WHERE id = $1")
        .bind(ana.ns_id.to_string())
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();

    let store = Store::open(&url, 2).await.unwrap();
    store.close().await;
    let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
    assert_eq!(name_and_rev(&mut conn, nfc).await, ("caf\u{e9}".into(), 1));
    assert_eq!(name_and_rev(&mut conn, sharp).await, ("Straße".into(), 1));
    assert_eq!(name_and_rev(&mut conn, taken).await.1, 1);
    let renamed = [
        (nfd, "cafe\u{301} (1)"),
        (upper, "STRASSE (2)"),
        (bad, "bad_name_"),
    ];
    let mut seqs = Vec::new();
    for (id, expected) in renamed {
        let (name, rev) = name_and_rev(&mut conn, id).await;
        assert_eq!(name, expected);
        assert!(rev > before, "{name}: rev {rev} not past {before}");
        let entry = sqlx::query("SELECT op, node FROM journal WHERE ns_id = $1 AND seq = $2")
            .bind(ana.ns_id.to_string())
            .bind(rev)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(entry.get::<String, _>("op"), "upsert");
        let node: serde_json::Value =
            serde_json::from_str(&entry.get::<String, _>("node")).unwrap();
        assert_eq!(node["id"], id.to_string());
        assert_eq!(node["name"], expected);
        assert_eq!(node["path"], format!("/{expected}"));
        seqs.push(rev);
    }
    seqs.sort();
    seqs.dedup();
    assert_eq!(seqs.len(), 3);
    // Keys are the new ones, and unique again.
    let key: String = sqlx::query_scalar("SELECT name_key FROM nodes WHERE id = $1")
        .bind(sharp.to_string())
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(key, "strasse");
    let duplicate = old_node(&mut conn, &ana, root, "x", 60).await;
    let clash = sqlx::query("UPDATE nodes SET name_key = $2 WHERE id = $1")
        .bind(duplicate.to_string())
        .bind("strasse")
        .execute(&mut conn)
        .await;
    assert!(clash.is_err(), "the unique index is back");
}
