//! Background jobs: one runner, each job a [`Worker`] run on its interval until shutdown. Nothing
//! here ever runs on a request's path.

pub mod gc;

use std::time::Duration;

use tokio::sync::watch;

use crate::config::ServerConfig;
use crate::error::ApiError;
use crate::state::AppState;

/// A periodic background job.
pub trait Worker: Send + Sync + 'static {
    /// Name for the logs.
    fn name(&self) -> &'static str;
    /// How long to wait between runs.
    fn interval(&self, config: &ServerConfig) -> Duration;
    /// One run.
    fn run<'a>(
        &'a self,
        state: &'a AppState,
    ) -> satchel_blob::BoxFuture<'a, Result<String, ApiError>>;
}

/// Starts every worker; they stop when `shutdown` turns true.
pub fn spawn(state: AppState, shutdown: watch::Receiver<bool>) {
    let workers: Vec<Box<dyn Worker>> = vec![Box::new(gc::Collector)];
    for worker in workers {
        let state = state.clone();
        let mut shutdown = shutdown.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(worker.interval(&state.config)) => {}
                    _ = shutdown.changed() => return,
                }
                match worker.run(&state).await {
                    Ok(report) => tracing::info!(job = worker.name(), "{report}"),
                    Err(error) => {
                        tracing::warn!(job = worker.name(), ?error, "background job failed")
                    }
                }
            }
        });
    }
}
