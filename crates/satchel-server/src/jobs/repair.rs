//! The storage workers: the repair worker takes the repair queue every `repair_interval_secs`;
//! the scrubber runs a presence pass and repair over every chunk every `presence_interval_secs`,
//! then verifies the next slice of the deep pass, sized so that the whole pass takes
//! `scrub_interval_days` and using about a fifth of the time it runs.

use std::time::Duration;

use super::Worker;
use crate::config::ServerConfig;
use crate::error::ApiError;
use crate::state::AppState;
use crate::storage::repair;

/// Share of its running time the deep pass spends reading (it sleeps the rest).
const DEEP_SHARE: f64 = 0.2;

/// Works through the repair queue.
pub struct Repairer;

impl Worker for Repairer {
    fn name(&self) -> &'static str {
        "repair"
    }

    fn interval(&self, config: &ServerConfig) -> Duration {
        Duration::from_secs(config.repair_interval_secs.max(1))
    }

    fn run<'a>(
        &'a self,
        state: &'a AppState,
    ) -> satchel_blob::BoxFuture<'a, Result<String, ApiError>> {
        Box::pin(async move {
            let report = repair::repair_queued(state).await?;
            Ok(format!(
                "checked {} queued chunks, wrote {} copies, set {} aside, {} lost",
                report.chunks_checked,
                report.copies_written,
                report.copies_quarantined,
                report.chunks_lost
            ))
        })
    }
}

/// Presence pass, repair, and a slice of the deep pass.
pub struct Scrubber;

impl Worker for Scrubber {
    fn name(&self) -> &'static str {
        "scrub"
    }

    fn interval(&self, config: &ServerConfig) -> Duration {
        Duration::from_secs(config.presence_interval_secs.max(1))
    }

    fn run<'a>(
        &'a self,
        state: &'a AppState,
    ) -> satchel_blob::BoxFuture<'a, Result<String, ApiError>> {
        Box::pin(async move {
            let report = repair::repair_all(state).await?;
            let runs_per_pass = (state.config.scrub_interval_days.max(1) * 86_400)
                / state.config.presence_interval_secs.max(1);
            let slice = report.chunks_checked.div_ceil(runs_per_pass.max(1)).max(1);
            let slice = u32::try_from(slice).unwrap_or(u32::MAX);
            let verified = repair::deep_slice(state, slice, DEEP_SHARE).await?;
            Ok(format!(
                "presence pass over {} chunks: wrote {} copies, set {} aside, {} lost, {} short; \
                 deep pass verified {verified} copies",
                report.chunks_checked,
                report.copies_written,
                report.copies_quarantined,
                report.chunks_lost,
                report.chunks_under_replicated
            ))
        })
    }
}
