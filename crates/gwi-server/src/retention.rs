//! Inbox retention: settled deliveries lose their bodies after `body_retention` and go whole
//! after `dedupe_window`, so the inbox does not grow forever while replays and redeliveries
//! within the window are still answered as duplicates.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio_util::sync::CancellationToken;

use crate::background::Background;
use crate::metrics;
use crate::server::Shared;

/// Starts the background task that prunes the inbox every `prune_interval`, starting at once;
/// stopping it waits for the pass in progress, if any.
pub(crate) fn start(shared: Arc<Shared>) -> Background {
    Background::spawn("inbox pruning task", |stop| run(shared, stop))
}

async fn run(shared: Arc<Shared>, stop: CancellationToken) {
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = prune_once(&shared) => {}
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(shared.config.prune_interval) => {}
        }
    }
}

async fn prune_once(shared: &Shared) {
    let now = Utc::now();
    let config = &shared.config;
    let bodies_before = cutoff(now, config.body_retention);
    let entries_before = cutoff(now, config.dedupe_window);
    match shared
        .store
        .inbox_prune(bodies_before, entries_before)
        .await
    {
        Ok(pruned) => {
            metrics::pruned(pruned);
            if pruned.bodies + pruned.entries > 0 {
                tracing::info!(
                    bodies = pruned.bodies,
                    entries = pruned.entries,
                    "pruned settled webhook deliveries"
                );
            }
        }
        // Retried at the next interval; nothing waits on it.
        Err(failure) => tracing::warn!("inbox pruning failed: {failure}"),
    }
}

/// `now - age`, or the earliest time when `age` reaches past it (then nothing is old enough).
fn cutoff(now: DateTime<Utc>, age: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(age)
        .ok()
        .and_then(|age| now.checked_sub_signed(age))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_age_past_the_calendar_prunes_nothing() {
        let now = Utc::now();
        assert_eq!(
            cutoff(now, Duration::from_secs(60)),
            now - TimeDelta::seconds(60)
        );
        assert_eq!(cutoff(now, Duration::MAX), DateTime::<Utc>::MIN_UTC);
    }
}
