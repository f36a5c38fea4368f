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

/// Counts one pruning pass.
pub(crate) fn pruned(pruned: InboxPruned) {
    metrics::counter!(PRUNED, "what" => "body").increment(pruned.bodies);
    metrics::counter!(PRUNED, "what" => "entry").increment(pruned.entries);
}
