//! Fresh planner statistics and no piles of dead rows: every `analyze_interval_secs`, the tables
//! that changed a lot since their last analysis are analysed again, and those full of dead row
//! versions vacuumed (see `Store::refresh_stale_statistics`). PostgreSQL's autovacuum does this when
//! it runs; this job makes the server independent of it, so plans and lookups stay fast after a bulk
//! load (a first sync of 100,000 files) or where autovacuum is off.

use std::time::Duration;

use super::Worker;
use crate::config::ServerConfig;
use crate::error::ApiError;
use crate::state::AppState;

/// The statistics job.
pub struct Statistics;

impl Worker for Statistics {
    fn name(&self) -> &'static str {
        "statistics"
    }

    fn interval(&self, config: &ServerConfig) -> Duration {
        Duration::from_secs(config.analyze_interval_secs.max(1))
    }

    fn run<'a>(
        &'a self,
        state: &'a AppState,
    ) -> satchel_blob::BoxFuture<'a, Result<String, ApiError>> {
        Box::pin(async move {
            let tables = state.store.refresh_stale_statistics().await?;
            // Nothing to say (and nothing logged) when every table's statistics were fresh.
            Ok(if tables.is_empty() {
                String::new()
            } else {
                tables.join(", ")
            })
        })
    }
}
