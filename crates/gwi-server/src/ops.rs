//! `GET /healthz`, `GET /readyz` and `GET /metrics`.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::json;

use gwi_core::store::Scope;

use crate::metrics;
use crate::server::Shared;

/// How long a readiness or metrics probe waits for the store.
const STORE_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The process is up and answering.
pub(crate) async fn healthz() -> Response {
    (StatusCode::OK, Json(json!({"status": "ok"}))).into_response()
}

/// Ready when the store takes a write: a load balancer should send webhooks elsewhere
/// otherwise (every delivery would be answered 503).
pub(crate) async fn readyz(State(shared): State<Arc<Shared>>) -> Response {
    match tokio::time::timeout(STORE_PROBE_TIMEOUT, shared.store.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, Json(json!({"status": "ready"}))).into_response(),
        Ok(Err(failure)) => {
            tracing::warn!("readiness: store unavailable: {failure}");
            not_ready("store unavailable")
        }
        Err(_) => {
            tracing::warn!("readiness: store did not answer in time");
            not_ready("store did not answer in time")
        }
    }
}

fn not_ready(message: &str) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({"status": "unavailable", "message": message})),
    )
        .into_response()
}

/// Prometheus text, with the inbox backlog read from the store at scrape time.
pub(crate) async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    match tokio::time::timeout(STORE_PROBE_TIMEOUT, shared.store.inbox_backlog()).await {
        Ok(Ok(backlog)) => metrics::inbox_depth(backlog),
        // A scrape still shows the request counters when the store is down.
        Ok(Err(failure)) => tracing::warn!("metrics: cannot read the inbox backlog: {failure}"),
        Err(_) => tracing::warn!("metrics: the inbox backlog timed out"),
    }
    sync_metrics(&shared).await;
    let text = match &shared.metrics {
        Some(handle) => {
            handle.run_upkeep();
            handle.render()
        }
        None => String::new(),
    };
    let mut response = (StatusCode::OK, text).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// The scheduled syncs' gauges, from the store (runs of every process sharing it).
async fn sync_metrics(shared: &Shared) {
    let scheduled: Vec<Scope> = shared.routes.scheduled().collect();
    if scheduled.is_empty() {
        return;
    }
    let read = async {
        let runs = shared.store.sync_runs().await?;
        metrics::sync_status(&runs);
        let now = chrono::Utc::now();
        for scope in &scheduled {
            let states = shared.store.load_state(scope).await?;
            metrics::stream_lag(scope, &states, now);
        }
        Ok::<(), gwi_core::store::StoreError>(())
    };
    match tokio::time::timeout(STORE_PROBE_TIMEOUT, read).await {
        Ok(Ok(())) => {}
        Ok(Err(failure)) => tracing::warn!("metrics: cannot read the sync status: {failure}"),
        Err(_) => tracing::warn!("metrics: the sync status timed out"),
    }
}
