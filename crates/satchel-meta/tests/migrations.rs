//! The SQLite and PostgreSQL migration trees must stay in step: the same numbered files, and (when a
//! PostgreSQL server is available) the same tables and columns once applied.

use std::collections::BTreeSet;
use std::path::Path;

use satchel_meta::Store;

fn migration_files(dialect: &str) -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(dialect);
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn both_trees_have_the_same_migrations() {
    let sqlite = migration_files("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, migration_files("postgres"));
}

#[tokio::test]
async fn both_dialects_build_the_same_schema() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Store::open(
        &format!("sqlite://{}", dir.path().join("m.db").display()),
        1,
    )
    .await
    .unwrap();
    let sqlite_columns = sqlite.schema_columns().await.unwrap();
    assert!(sqlite_columns.contains(&("nodes".to_owned(), "name_key".to_owned())));
    let Ok(server) = std::env::var("SATCHEL_TEST_DATABASE_URL") else {
        return;
    };
    let server = server
        .rsplit_once('/')
        .map_or(server.as_str(), |(s, _)| s)
        .to_owned();
    let url = format!("{server}/satchel_t_{}", uuid::Uuid::now_v7().simple());
    satchel_meta::create_postgres_database(&url).await.unwrap();
    let postgres = Store::open(&url, 1).await.unwrap();
    // Running the migrations again is a no-op.
    let postgres_again = Store::open(&url, 1).await.unwrap();
    assert_eq!(postgres.schema_columns().await.unwrap(), sqlite_columns);
    assert_eq!(
        postgres_again.schema_columns().await.unwrap(),
        sqlite_columns
    );
}

/// A fresh database for a test: PostgreSQL when `SATCHEL_TEST_DATABASE_URL` names a server, else
/// SQLite under `dir`.
async fn fresh_store(dir: &Path) -> Store {
    match std::env::var("SATCHEL_TEST_DATABASE_URL") {
        Ok(server) if server.starts_with("postgres") => {
            let server = server
                .rsplit_once('/')
                .map_or(server.as_str(), |(s, _)| s)
                .to_owned();
            let url = format!("{server}/satchel_t_{}", uuid::Uuid::now_v7().simple());
            satchel_meta::create_postgres_database(&url).await.unwrap();
            Store::open(&url, 2).await.unwrap()
        }
        _ => Store::open(&format!("sqlite://{}", dir.join("j.db").display()), 2)
            .await
            .unwrap(),
    }
}

#[tokio::test]
async fn one_holder_claims_a_job_per_lease() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(dir.path()).await;
    let (one, two) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let lease = std::time::Duration::from_millis(300);
    assert!(store.claim_job("gc", one, lease).await.unwrap());
    assert!(!store.claim_job("gc", two, lease).await.unwrap());
    assert!(store.claim_job("other", two, lease).await.unwrap());
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert!(store.claim_job("gc", two, lease).await.unwrap());
    assert!(!store.claim_job("gc", one, lease).await.unwrap());
}
