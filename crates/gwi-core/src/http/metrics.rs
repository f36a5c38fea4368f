//! The HTTP layer's metrics, with the handles of the hot path cached per client.
//!
//! Registering a metric by name and labels costs an allocation and a registry lookup; a sync sends
//! thousands of `GET 200`s, so their handles are registered once per client and reused. Handles
//! bind to the recorder installed when they are first used, so install the exporter before
//! building clients (the CLI does it at start-up).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http::{Method, StatusCode};
use metrics::{Counter, Histogram, SharedString};

/// Counter of HTTP attempts, labelled `connector`, `method`, `status` (`error` without an answer).
pub const HTTP_REQUESTS_TOTAL: &str = "gwi_http_requests_total";
/// Histogram of attempt latency in seconds, labelled `connector`, `method`.
pub const HTTP_REQUEST_DURATION_SECONDS: &str = "gwi_http_request_duration_seconds";
/// Counter of retried attempts, labelled `connector`.
pub const HTTP_RETRIES_TOTAL: &str = "gwi_http_retries_total";
/// Seconds spent waiting for rate limits, labelled `connector`, `reason` (`pacing`, `provider`).
///
/// A gauge that only grows, because `metrics` counters are integers and waits are fractional.
pub const RATE_LIMIT_WAIT_SECONDS_TOTAL: &str = "gwi_rate_limit_wait_seconds_total";

/// Registers the descriptions of the HTTP metrics with the installed recorder.
pub fn describe_http_metrics() {
    metrics::describe_counter!(HTTP_REQUESTS_TOTAL, "HTTP attempts sent to providers");
    metrics::describe_histogram!(
        HTTP_REQUEST_DURATION_SECONDS,
        metrics::Unit::Seconds,
        "Latency of HTTP attempts to providers"
    );
    metrics::describe_counter!(HTTP_RETRIES_TOTAL, "HTTP attempts that were retries");
    metrics::describe_gauge!(
        RATE_LIMIT_WAIT_SECONDS_TOTAL,
        metrics::Unit::Seconds,
        "Time spent waiting for rate limits"
    );
}

/// One client's metric handles.
#[derive(Debug)]
pub(crate) struct HttpMetrics {
    connector: SharedString,
    get_ok: OnceLock<Counter>,
    post_ok: OnceLock<Counter>,
    get_duration: OnceLock<Histogram>,
    post_duration: OnceLock<Histogram>,
    retries: OnceLock<Counter>,
}

impl HttpMetrics {
    pub(crate) fn new(connector: &str) -> Self {
        Self {
            connector: SharedString::from(Arc::<str>::from(connector)),
            get_ok: OnceLock::new(),
            post_ok: OnceLock::new(),
            get_duration: OnceLock::new(),
            post_duration: OnceLock::new(),
            retries: OnceLock::new(),
        }
    }

    /// Counts one attempt and records its latency.
    pub(crate) fn request(&self, method: &Method, status: Option<StatusCode>, latency: Duration) {
        let secs = latency.as_secs_f64();
        let cached = |cell: &OnceLock<Counter>, method: &'static str| {
            cell.get_or_init(|| {
                metrics::counter!(HTTP_REQUESTS_TOTAL, "connector" => self.connector.clone(), "method" => method, "status" => "200")
            })
            .increment(1);
        };
        match (method, status) {
            (&Method::GET, Some(StatusCode::OK)) => cached(&self.get_ok, "GET"),
            (&Method::POST, Some(StatusCode::OK)) => cached(&self.post_ok, "POST"),
            _ => {
                let status: SharedString = match status {
                    Some(status) => status.as_str().to_owned().into(),
                    None => "error".into(),
                };
                metrics::counter!(HTTP_REQUESTS_TOTAL, "connector" => self.connector.clone(), "method" => method_label(method), "status" => status)
                    .increment(1);
            }
        }
        let histogram = |cell: &OnceLock<Histogram>, method: &'static str| {
            cell.get_or_init(|| {
                metrics::histogram!(HTTP_REQUEST_DURATION_SECONDS, "connector" => self.connector.clone(), "method" => method)
            })
            .record(secs);
        };
        match *method {
            Method::GET => histogram(&self.get_duration, "GET"),
            Method::POST => histogram(&self.post_duration, "POST"),
            _ => metrics::histogram!(HTTP_REQUEST_DURATION_SECONDS, "connector" => self.connector.clone(), "method" => method_label(method))
                .record(secs),
        }
    }

    /// Counts one retry.
    pub(crate) fn retry(&self) {
        self.retries
            .get_or_init(
                || metrics::counter!(HTTP_RETRIES_TOTAL, "connector" => self.connector.clone()),
            )
            .increment(1);
    }

    /// Adds a rate-limit wait; `reason` is `pacing` or `provider`.
    pub(crate) fn rate_limit_wait(&self, reason: &'static str, wait: Duration) {
        metrics::gauge!(RATE_LIMIT_WAIT_SECONDS_TOTAL, "connector" => self.connector.clone(), "reason" => reason)
            .increment(wait.as_secs_f64());
    }
}

fn method_label(method: &Method) -> SharedString {
    match *method {
        Method::GET => "GET".into(),
        Method::POST => "POST".into(),
        Method::PUT => "PUT".into(),
        Method::PATCH => "PATCH".into(),
        Method::DELETE => "DELETE".into(),
        Method::HEAD => "HEAD".into(),
        _ => method.as_str().to_owned().into(),
    }
}
