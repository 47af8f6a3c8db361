//! Satchel's HTTP server, as a library with a test seam: [`AppState::open`] opens the stores,
//! [`http::router`] builds the application, and [`serve`] runs it on a bound listener until a
//! shutdown signal. Tests bind `127.0.0.1:0`, start it, and talk HTTP to it.
//!
//! Handlers translate requests into calls on the metadata and chunk stores and their errors into
//! problem documents (`error.rs`); no SQL and no file paths live here.

pub mod accounts;
pub mod budget;
pub mod config;
pub mod connections;
pub mod dav;
pub mod error;
pub mod files;
pub mod http;
pub mod jobs;
mod parse_errors;
pub mod redis;
pub mod sharing;
pub mod state;
pub mod storage;
pub mod sync;

use std::future::Future;
use std::time::Duration;

pub use config::{BlobNodeConfig, IpRange, Registration, Secret, ServerConfig};
pub use http::router;
pub use state::AppState;
use tokio::net::TcpListener;

/// Serves `state` on `listener` until `shutdown` completes, then finishes in-flight requests.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let store = state.store.clone();
    let draining = state.draining.clone();
    let limits = connections::Limits {
        max_connections: state
            .config
            .max_connections
            .unwrap_or_else(connections::default_max_connections),
        header_timeout: Duration::from_secs(state.config.header_timeout_secs.max(1)),
        body_idle_timeout: Duration::from_secs(state.config.body_idle_timeout_secs.max(1)),
    };
    // Draining first: load balancers see /readyz fail, sockets and long polls end with a hint to
    // reconnect (elsewhere), then in-flight requests finish.
    let shutdown = async move {
        shutdown.await;
        draining.send_replace(true);
    };
    // The background workers (collection, repair, scrub) stop when draining begins.
    jobs::spawn(state.clone(), state.draining.subscribe());
    connections::run(listener, router(state), limits, shutdown).await?;
    store.close().await;
    Ok(())
}
