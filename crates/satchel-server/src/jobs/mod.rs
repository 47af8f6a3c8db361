//! Background jobs: one runner, each job a [`Worker`] run on its interval until shutdown. Nothing
//! here ever runs on a request's path.

pub mod gc;
pub mod repair;
pub mod stats;

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

/// Starts every worker; they stop when `shutdown` turns true. Each period, a worker first claims
/// its job in the database, so servers sharing one database run it once per period between them.
pub fn spawn(state: AppState, shutdown: watch::Receiver<bool>) {
    let workers: Vec<Box<dyn Worker>> = vec![
        Box::new(gc::Collector),
        Box::new(stats::Statistics),
        Box::new(repair::Repairer),
        Box::new(repair::Scrubber),
    ];
    let instance = uuid::Uuid::now_v7();
    for worker in workers {
        let state = state.clone();
        let mut shutdown = shutdown.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(worker.interval(&state.config)) => {}
                    _ = shutdown.changed() => return,
                }
                let lease = worker
                    .interval(&state.config)
                    .saturating_sub(Duration::from_secs(1));
                match state.store.claim_job(worker.name(), instance, lease).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::debug!(job = worker.name(), "another server has this period");
                        continue;
                    }
                    Err(error) => {
                        tracing::warn!(job = worker.name(), ?error, "could not claim the job");
                        continue;
                    }
                }
                match worker.run(&state).await {
                    Ok(report) if report.is_empty() => {}
                    Ok(report) => tracing::info!(job = worker.name(), "{report}"),
                    Err(error) => {
                        tracing::warn!(job = worker.name(), ?error, "background job failed")
                    }
                }
            }
        });
    }
}
