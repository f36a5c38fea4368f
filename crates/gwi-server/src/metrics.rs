//! Prometheus metrics: their names, the process-wide recorder, and `/metrics` rendering.
//!
//! The `metrics` facade has one global recorder per process, and a test binary builds many
//! servers, so the recorder is installed at most once ([`install`]) and shared. Counters carry
//! the connector's name as a label; unknown connector names in URLs are all counted as
//! [`UNKNOWN_CONNECTOR`] so a stranger cannot create new series.

use std::sync::OnceLock;

use gwi_core::store::{InboxBacklog, InboxPruned};
use gwi_core::webhook::VerifyError;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Webhook requests answered, by `connector` and `status` (HTTP code, or `aborted` when the
/// request was dropped before an answer: timeout or client gone).
pub const REQUESTS: &str = "gwi_webhook_requests_total";
/// Deliveries refused with 401, by `connector` and `reason` ([`VerifyError::reason`]).
pub const VERIFICATION_FAILURES: &str = "gwi_webhook_verification_failures_total";
/// Inbox entries still needing attention by `status` (`pending`, `dead`), refreshed on each
/// scrape (done ones are counted by [`PROCESSED`], not by reading the store).
pub const INBOX_DEPTH: &str = "gwi_webhook_inbox_depth";
/// Settled deliveries pruned, by `what`: `body` (the body dropped) or `entry` (removed whole).
pub const PRUNED: &str = "gwi_webhook_inbox_pruned_total";
/// Time to map and store one event, by `connector`.
pub const PROCESSING_SECONDS: &str = "gwi_webhook_processing_seconds";
/// Events processed, by `connector` and `outcome` (`done`, `retry`, `dead`).
pub const PROCESSED: &str = "gwi_webhook_processed_total";

/// Scheduled sync runs ended by this process, by `connector`, `tenant` and `outcome`
/// (`done`, `failed`, `stopped`).
pub const SYNC_RUNS: &str = "gwi_sync_runs_total";
/// Start of each scheduled sync's latest run (Unix seconds), by `connector` and `tenant`, as
/// the store holds it (whichever process ran it).
pub const SYNC_LAST_RUN: &str = "gwi_sync_last_run_timestamp_seconds";
/// Duration of each scheduled sync's latest finished run.
pub const SYNC_LAST_DURATION: &str = "gwi_sync_last_run_duration_seconds";
/// Records committed by each scheduled sync's latest run.
pub const SYNC_LAST_RECORDS: &str = "gwi_sync_last_run_records";
/// 1 when each scheduled sync's latest finished run failed, else 0.
pub const SYNC_LAST_FAILED: &str = "gwi_sync_last_run_failed";
/// When each scheduled sync runs next (Unix seconds).
pub const SYNC_NEXT_RUN: &str = "gwi_sync_next_run_timestamp_seconds";
/// Seconds since each stream of a scheduled sync last committed a checkpoint, by `connector`,
/// `tenant` and `stream`.
pub const SYNC_STREAM_LAG: &str = "gwi_sync_stream_lag_seconds";

/// The `connector` label of requests for a name no connector has.
pub const UNKNOWN_CONNECTOR: &str = "_unknown";

const PROCESSING_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs gwi's Prometheus recorder as the process's global one, once; later calls return the
/// same handle.
///
/// `None` when another recorder was installed first (by the embedding program): metrics then
/// go to that recorder and `/metrics` renders nothing of its own.
pub fn install() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new();
            let builder = builder
                .set_buckets_for_metric(
                    Matcher::Full(PROCESSING_SECONDS.to_owned()),
                    PROCESSING_BUCKETS,
                )
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            match metrics::set_global_recorder(recorder) {
                Ok(()) => Some(handle),
                Err(_) => {
                    tracing::warn!(
                        "a metrics recorder was already installed; /metrics will not show gwi's metrics"
                    );
                    None
                }
            }
        })
        .clone()
}

/// Registers a connector's series at zero so dashboards see them before the first event.
pub(crate) fn register_connector(connector: &str) {
    for reason in VerifyError::REASONS {
        metrics::counter!(VERIFICATION_FAILURES, "connector" => connector.to_owned(), "reason" => *reason)
            .increment(0);
    }
    for outcome in ["done", "retry", "dead"] {
        metrics::counter!(PROCESSED, "connector" => connector.to_owned(), "outcome" => outcome)
            .increment(0);
    }
}

/// Counts one answered webhook request.
pub(crate) fn request(connector: &str, status: &str) {
    metrics::counter!(REQUESTS, "connector" => connector.to_owned(), "status" => status.to_owned())
        .increment(1);
}

/// Counts one refused signature.
pub(crate) fn verification_failure(connector: &str, reason: &'static str) {
    metrics::counter!(VERIFICATION_FAILURES, "connector" => connector.to_owned(), "reason" => reason)
        .increment(1);
}

/// Counts one processing outcome and its duration.
pub(crate) fn processed(connector: &str, outcome: &'static str, seconds: f64) {
    metrics::counter!(PROCESSED, "connector" => connector.to_owned(), "outcome" => outcome)
        .increment(1);
    metrics::histogram!(PROCESSING_SECONDS, "connector" => connector.to_owned()).record(seconds);
}

/// Sets the inbox depth gauges from the store's backlog.
pub(crate) fn inbox_depth(backlog: InboxBacklog) {
    // Gauges are f64; inbox sizes stay far below 2^53.
    metrics::gauge!(INBOX_DEPTH, "status" => "pending").set(backlog.pending as f64);
    metrics::gauge!(INBOX_DEPTH, "status" => "dead").set(backlog.dead as f64);
}

/// Counts one scheduled run this process ended.
pub(crate) fn sync_run(scope: &gwi_core::store::Scope, run: &gwi_core::store::SyncRun) {
    let outcome = match (&run.finished_at, &run.error) {
        (None, _) => "stopped",
        (Some(_), Some(_)) => "failed",
        (Some(_), None) => "done",
    };
    metrics::counter!(SYNC_RUNS, "connector" => scope.connector.clone(), "tenant" => scope.tenant.clone(), "outcome" => outcome)
        .increment(1);
}

/// Sets the scheduled syncs' gauges from their latest runs, as the store holds them.
#[allow(clippy::cast_precision_loss)] // Unix seconds and record counts stay far below 2^53.
pub(crate) fn sync_status(runs: &[gwi_core::store::SyncRun]) {
    for run in runs {
        let labels = [
            ("connector", run.connector.clone()),
            ("tenant", run.tenant.clone()),
        ];
        metrics::gauge!(SYNC_LAST_RUN, &labels).set(run.started_at.timestamp_micros() as f64 / 1e6);
        metrics::gauge!(SYNC_LAST_RECORDS, &labels).set(run.records as f64);
        if let Some(finished) = run.finished_at {
            let seconds = (finished - run.started_at).num_microseconds().unwrap_or(0) as f64 / 1e6;
            metrics::gauge!(SYNC_LAST_DURATION, &labels).set(seconds);
            metrics::gauge!(SYNC_LAST_FAILED, &labels)
                .set(f64::from(u8::from(run.error.is_some())));
        }
        if let Some(next) = run.next_run_at {
            metrics::gauge!(SYNC_NEXT_RUN, &labels).set(next.timestamp_micros() as f64 / 1e6);
        }
    }
}

/// Sets the lag of each stream of one scheduled sync from its stored states.
#[allow(clippy::cast_precision_loss)]
pub(crate) fn stream_lag(
    scope: &gwi_core::store::Scope,
    states: &[gwi_core::store::StreamState],
    now: chrono::DateTime<chrono::Utc>,
) {
    for state in states {
        let lag = (now - state.updated_at).num_milliseconds().max(0) as f64 / 1e3;
        metrics::gauge!(SYNC_STREAM_LAG, "connector" => scope.connector.clone(), "tenant" => scope.tenant.clone(), "stream" => state.stream.clone())
            .set(lag);
    }
}

/// Counts one pruning pass.
pub(crate) fn pruned(pruned: InboxPruned) {
    metrics::counter!(PRUNED, "what" => "body").increment(pruned.bodies);
    metrics::counter!(PRUNED, "what" => "entry").increment(pruned.entries);
}
