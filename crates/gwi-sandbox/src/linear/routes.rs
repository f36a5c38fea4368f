//! The HTTP side of the simulated Linear API (`POST /graphql`), and Linear's wording of errors.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Value, json};

use super::Linear;
use super::graphql::LinearSchema;
use crate::core::auth::Refusal;
use crate::core::graphql::execute;
use crate::core::rate_limit::RateLimitStatus;
use crate::core::time::now_secs;
use crate::faults::{FaultKind, FaultResponder};

/// The complexity points a window allows.
pub const COMPLEXITY_LIMIT: u64 = 250_000;

/// The routes under the mount (`/linear`).
pub fn router(linear: Arc<Linear>) -> Router {
    Router::new()
        .route("/graphql", post(graphql))
        .fallback(|| async { (StatusCode::NOT_FOUND, "Not Found").into_response() })
        .with_state(linear)
}

/// The token of `Authorization: <api key>` or `Authorization: Bearer <oauth token>`.
pub fn linear_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Some(token.trim()),
        _ if value.is_empty() => None,
        _ => Some(value),
    }
}

fn json_answer(status: StatusCode, body: &Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn set(r: &mut Response, name: &'static str, value: impl Into<HeaderValue>) {
    r.headers_mut().insert(name, value.into());
}

/// Linear's answer to a used-up budget: HTTP 400 `RATELIMITED`, the reset in epoch ms.
fn ratelimited(limit: u64, reset_ms: i64) -> Response {
    let body = json!({"errors": [{"message": "Rate limit exceeded", "extensions": {
        "code": "RATELIMITED", "type": "ratelimited", "userError": true,
        "userPresentableMessage": "Rate limit exceeded. Please wait before making more requests."}}]});
    let mut r = json_answer(StatusCode::BAD_REQUEST, &body);
    set(&mut r, "x-ratelimit-requests-limit", limit);
    set(&mut r, "x-ratelimit-requests-remaining", 0u64);
    set(&mut r, "x-ratelimit-requests-reset", reset_ms);
    r
}

fn unauthenticated() -> Response {
    let body = json!({"errors": [{"message": "Authentication required, not authenticated",
        "extensions": {"code": "AUTHENTICATION_ERROR", "type": "authentication error",
        "userError": true,
        "userPresentableMessage": "You need to authenticate to access this operation."}}]});
    json_answer(StatusCode::BAD_REQUEST, &body)
}

/// Words injected faults the way Linear words the real ones.
pub struct LinearFaults(pub u64);

impl FaultResponder for LinearFaults {
    fn respond(&self, kind: FaultKind, retry_after: Duration) -> Response {
        match kind {
            FaultKind::TooManyRequests | FaultKind::SecondaryRateLimit => {
                let ms = i64::try_from(retry_after.as_millis()).unwrap_or(i64::MAX / 2);
                ratelimited(self.0, now_secs() * 1000 + ms.max(1))
            }
            FaultKind::Error502 => (StatusCode::BAD_GATEWAY, "Bad Gateway").into_response(),
            FaultKind::Error503 => {
                (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response()
            }
            _ => json_answer(
                StatusCode::INTERNAL_SERVER_ERROR,
                &json!({"errors": [{"message": "Internal server error",
                    "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]}),
            ),
        }
    }
}

async fn graphql(State(linear): State<Arc<Linear>>, headers: HeaderMap, body: Bytes) -> Response {
    let status = match linear.gate.admit(linear_token(&headers), true) {
        Ok(status) => status,
        Err(Refusal::NoToken | Refusal::BadToken) => return unauthenticated(),
        Err(Refusal::RateLimited(rl)) => return ratelimited(rl.limit, rl.reset * 1000),
    };
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        let body = json!({"errors": [{"message": "POST body missing, invalid Content-Type, or JSON object has no keys.",
            "extensions": {"code": "BAD_REQUEST", "type": "graphql error", "userError": true}}]});
        return with_limits(
            json_answer(StatusCode::BAD_REQUEST, &body),
            &status,
            &linear,
            0,
        );
    };
    let result = {
        let data = linear.data.read();
        let schema = LinearSchema {
            data: &data,
            seed: linear.seed,
        };
        execute(&schema, &request)
    };
    match result {
        Ok(answer) => {
            let r = json_answer(StatusCode::OK, &json!({"data": answer.data}));
            with_limits(r, &status, &linear, answer.complexity)
        }
        Err(e) => with_limits(
            json_answer(StatusCode::BAD_REQUEST, &e.body()),
            &status,
            &linear,
            0,
        ),
    }
}

/// Adds the request and complexity budget headers, charging `cost` to the complexity budget.
fn with_limits(mut r: Response, status: &RateLimitStatus, linear: &Linear, cost: u64) -> Response {
    let (remaining, reset) = linear.charge(cost);
    set(&mut r, "x-ratelimit-requests-limit", status.limit);
    set(&mut r, "x-ratelimit-requests-remaining", status.remaining);
    set(&mut r, "x-ratelimit-requests-reset", status.reset * 1000);
    set(&mut r, "x-ratelimit-complexity-limit", COMPLEXITY_LIMIT);
    set(&mut r, "x-ratelimit-complexity-remaining", remaining);
    set(&mut r, "x-ratelimit-complexity-reset", reset * 1000);
    set(&mut r, "x-complexity", cost);
    r
}
