//! GitHub's wording for the errors the fault layer injects.

use std::time::Duration;

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode};

use crate::faults::{FaultKind, FaultResponder};

/// Words injected faults the way GitHub words the real ones.
pub struct GitHubFaults;

/// GitHub's secondary rate limit message.
pub const SECONDARY_RATE_LIMIT_MESSAGE: &str = "You have exceeded a secondary rate limit. Please wait a \
     few minutes before you try again. If you reach out to GitHub Support for help, please include \
     the request ID 0000:SANDBOX.";

impl FaultResponder for GitHubFaults {
    fn respond(&self, kind: FaultKind, retry_after: Duration) -> Response {
        let (status, message, docs) = match kind {
            FaultKind::Error500 => (StatusCode::INTERNAL_SERVER_ERROR, "Server Error", None),
            FaultKind::Error502 => (StatusCode::BAD_GATEWAY, "Server Error", None),
            FaultKind::Error503 => (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable", None),
            FaultKind::TooManyRequests => (
                StatusCode::TOO_MANY_REQUESTS,
                SECONDARY_RATE_LIMIT_MESSAGE,
                Some(
                    "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
                ),
            ),
            FaultKind::SecondaryRateLimit => (
                StatusCode::FORBIDDEN,
                SECONDARY_RATE_LIMIT_MESSAGE,
                Some(
                    "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
                ),
            ),
            FaultKind::Reset | FaultKind::Truncate | FaultKind::Latency => {
                (StatusCode::INTERNAL_SERVER_ERROR, "Server Error", None)
            }
        };
        let mut body =
            serde_json::json!({ "message": message, "status": status.as_u16().to_string() });
        if let (Some(docs), Some(obj)) = (docs, body.as_object_mut()) {
            obj.insert("documentation_url".into(), docs.into());
        }
        let mut response = (status, axum::Json(body)).into_response();
        if matches!(
            kind,
            FaultKind::TooManyRequests | FaultKind::SecondaryRateLimit
        ) {
            // Retry-After is whole seconds; round up so a sub-second setting still waits.
            let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            response
                .headers_mut()
                .insert(http::header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
