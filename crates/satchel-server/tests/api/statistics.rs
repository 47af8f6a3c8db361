//! Planner statistics without autovacuum: after many uploads, the statistics job analyses the
//! tables that changed; once fresh, it leaves them alone. (PostgreSQL only: SQLite's `PRAGMA
//! optimize` decides for itself.)

use std::time::Duration;

use futures_util::StreamExt;
use satchel_meta::Backend;

use crate::helpers::{TestApp, noise};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tables_that_changed_a_lot_are_analysed() {
    let app = TestApp::spawn().await;
    if app.state.store.backend() != Backend::Postgres {
        return;
    }
    let ana = app.user("ana@example.org").await;
    let store = app.state.store.clone();
    // Whatever the start left to do, so that what follows is the uploads' doing.
    store.refresh_stale_statistics().await.unwrap();
    futures_util::stream::iter(0..150u64)
        .map(|i| {
            let (app, ana) = (&app, &ana);
            async move {
                app.upload(ana, "root", &format!("f{i}"), noise(100, i))
                    .await
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await;
    // PostgreSQL publishes each connection's counters a moment after its transactions end.
    let mut done = Vec::new();
    for _ in 0..50 {
        done.extend(store.refresh_stale_statistics().await.unwrap());
        if done.iter().any(|d| d == "ANALYZE nodes") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(done.iter().any(|d| d == "ANALYZE nodes"), "{done:?}");
    let again = store.refresh_stale_statistics().await.unwrap();
    assert!(!again.iter().any(|d| d.ends_with(" nodes")), "{again:?}");
}
