//! The sandbox's own routes under `/_sandbox` (never faulted, never counted).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use http::StatusCode;
use serde::Deserialize;

use crate::faults::FaultConfig;
use crate::server::SandboxState;

/// `/_sandbox`, `/_sandbox/stats`, `/_sandbox/faults`, `/_sandbox/mutate`.
pub(crate) fn router(state: Arc<SandboxState>) -> Router {
    Router::new()
        .route("/_sandbox", get(index))
        .route("/_sandbox/stats", get(stats))
        .route("/_sandbox/faults", get(get_faults).post(set_faults))
        .route("/_sandbox/mutate", axum::routing::post(mutate))
        .route("/_sandbox/expected", get(expected))
        .with_state(state)
}

fn bad_request(message: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(serde_json::json!({ "error": message })),
    )
        .into_response()
}

async fn index(State(state): State<Arc<SandboxState>>, headers: axum::http::HeaderMap) -> Response {
    // The sandbox's address as the caller reached it, for configs it can use as they are.
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let base = format!("http://{host}/");
    let providers: serde_json::Map<String, serde_json::Value> = state
        .providers()
        .iter()
        .map(|p| {
            (
                p.name().to_owned(),
                serde_json::json!({
                    "base_url": format!("/{}", p.name()),
                    "config": p.connector_config(&base),
                }),
            )
        })
        .collect();
    axum::Json(serde_json::json!({
        // Each provider's `config` is the connector table (as JSON) that reads this sandbox.
        "providers": providers,
        "routes": {
            "GET /_sandbox/stats": "request, fault and record counters",
            "GET /_sandbox/faults": "current fault settings",
            "POST /_sandbox/faults": "change fault settings: {\"spec\": \"error=0.05,429=0.01\"} or {\"429\": 0.01, \"latency\": \"20ms\"}",
            "POST /_sandbox/mutate": "change records: {\"count\": N, \"provider\": \"gitlab\"} (every provider without \"provider\")",
            "GET /_sandbox/expected?provider=github": "every record a connector should hold after a full sync: scope, record_type, id, updated_at, deleted",
        },
    }))
    .into_response()
}

/// The query of `GET /_sandbox/expected`.
#[derive(Debug, Deserialize)]
struct ExpectedQuery {
    provider: String,
}

async fn expected(
    State(state): State<Arc<SandboxState>>,
    query: axum::extract::Query<ExpectedQuery>,
) -> Response {
    let Some(provider) = state.provider(&query.provider) else {
        return bad_request(format!("no provider named {:?}", query.provider));
    };
    axum::Json(provider.expected()).into_response()
}

async fn stats(State(state): State<Arc<SandboxState>>) -> Response {
    axum::Json(state.stats()).into_response()
}

async fn get_faults(State(state): State<Arc<SandboxState>>) -> Response {
    axum::Json(state.injector.config()).into_response()
}

async fn set_faults(State(state): State<Arc<SandboxState>>, body: Bytes) -> Response {
    let value: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return bad_request(format!("body is not JSON: {e}")),
    };
    match FaultConfig::from_json(state.injector.config(), &value) {
        Ok(cfg) => {
            state.injector.set_config(cfg);
            axum::Json(cfg).into_response()
        }
        Err(e) => bad_request(e.to_string()),
    }
}

#[derive(Debug, Deserialize)]
struct MutateRequest {
    #[serde(default = "one")]
    count: usize,
    #[serde(default)]
    provider: Option<String>,
}

fn one() -> usize {
    1
}

/// Upper bound on one mutate call, so a typo cannot stall the server.
const MAX_MUTATIONS: usize = 100_000;

async fn mutate(State(state): State<Arc<SandboxState>>, body: Bytes) -> Response {
    let req = if body.iter().all(u8::is_ascii_whitespace) {
        MutateRequest {
            count: 1,
            provider: None,
        }
    } else {
        match serde_json::from_slice::<MutateRequest>(&body) {
            Ok(r) => r,
            Err(e) => return bad_request(format!("expected {{\"count\": N}}: {e}")),
        }
    };
    if req.count > MAX_MUTATIONS {
        return bad_request(format!("count must be at most {MAX_MUTATIONS}"));
    }
    match state.mutate(req.count, req.provider.as_deref()) {
        Ok(report) => axum::Json(report).into_response(),
        Err(e) => bad_request(e),
    }
}
