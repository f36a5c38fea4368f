//! `POST /webhooks/{connector}[/{tenant}]`: limit, verify, handshake, validate, store, answer.
//!
//! The order matters: nothing is parsed before the signature is checked over the raw bytes,
//! and nothing is answered 2xx before the inbox append has returned.

use std::sync::Arc;
use std::time::SystemTime;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use chrono::Utc;
use futures::StreamExt;
use gwi_core::store::{InboundWebhook, InboxAppend};
use gwi_core::webhook::{VerifyError, headers_to_keep};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::json;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::metrics;
use crate::server::Shared;

/// `POST /webhooks/{connector}`: the connector's configured tenant.
pub(crate) async fn receive_default_tenant(
    State(shared): State<Arc<Shared>>,
    Path(connector): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    receive(shared, connector, None, headers, body).await
}

/// `POST /webhooks/{connector}/{tenant}`.
pub(crate) async fn receive_for_tenant(
    State(shared): State<Arc<Shared>>,
    Path((connector, tenant)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    receive(shared, connector, Some(tenant), headers, body).await
}

async fn receive(
    shared: Arc<Shared>,
    connector: String,
    tenant: Option<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some((route, scheme)) =
        shared
            .routes
            .get(&connector, tenant.as_deref())
            .and_then(|route| {
                route
                    .connector
                    .webhook
                    .clone()
                    .map(|scheme| (route, scheme))
            })
    else {
        metrics::request(metrics::UNKNOWN_CONNECTOR, "404");
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            "no connector (or no tenant of it) takes webhooks at this path",
        );
    };
    let mut tally = Tally::new(&connector);

    let limit = shared.config.body_limit;
    let declared = declared_length(&headers);
    if declared.is_some_and(|length| length > limit) {
        return tally.answer(too_large(limit));
    }
    let mut budget = BodyBudget::new(&shared.body_bytes);
    let body = match read_body(body, limit, declared, &mut budget).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => return tally.answer(too_large(limit)),
        Err(BodyError::Busy) => {
            return tally.answer(error(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "the server is reading as many bodies as it holds at once; retry later",
            ));
        }
        Err(BodyError::Broken) => {
            return tally.answer(error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "the request body could not be read",
            ));
        }
    };

    let now = SystemTime::now();
    if let Err(refused) = scheme.verify(&headers, &body, now) {
        return tally.answer(unauthorized(&connector, &refused));
    }

    // The route decided the tenant: its configured id, which its secret verified. A GitHub
    // App's deliveries name their installation in the signed body instead: where tenants are
    // configured with installations, that decides, checked again with that tenant's secret.
    let mut tenant = route.connector.common.tenant_id.clone();
    if shared.routes.maps_installations(&connector)
        && let Some(installation) = scheme.installation(&headers, &body)
    {
        let Some(owner) = shared.routes.by_installation(&connector, &installation) else {
            return tally.answer(error(
                StatusCode::NOT_FOUND,
                "not_found",
                "no configured tenant acts as the installation this delivery names",
            ));
        };
        if owner.connector.common.tenant_id != tenant {
            let verified = owner
                .connector
                .webhook
                .as_ref()
                .map(|owner_scheme| owner_scheme.verify(&headers, &body, now));
            match verified {
                Some(Ok(())) => tenant.clone_from(&owner.connector.common.tenant_id),
                Some(Err(refused)) => return tally.answer(unauthorized(&connector, &refused)),
                None => {
                    return tally.answer(error(
                        StatusCode::NOT_FOUND,
                        "not_found",
                        "the tenant of the installation this delivery names takes no webhooks",
                    ));
                }
            }
        }
    }

    if let Some(handshake) = scheme.handshake(&headers, &body) {
        let mut response = (StatusCode::OK, handshake.body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(handshake.content_type),
        );
        return tally.answer(response);
    }

    if requires_json(&headers) && serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_err() {
        return tally.answer(error(
            StatusCode::BAD_REQUEST,
            "malformed_body",
            "the body is not valid JSON",
        ));
    }

    // Only a verified, well-formed delivery waits for a storing slot; the request timeout
    // around the handler bounds the wait (503).
    let Ok(_storing) = shared.storing.acquire().await else {
        return tally.answer(unavailable());
    };
    let delivery = scheme.dedupe_key(&headers, &body);
    let inbound = InboundWebhook {
        dedupe_key: delivery.clone(),
        event_type: scheme.event_type(&headers, &body),
        headers: headers_to_keep(&headers),
        tenant,
        connector: connector.clone(),
        body,
        received_at: Utc::now(),
    };
    // Queued for the next group commit; a timeout or a vanished client dropping this future
    // does not withdraw it, and the answer waits for its commit.
    match shared.appender.append(inbound).await {
        Ok(InboxAppend::Stored(id)) => {
            tracing::debug!(connector = %connector, delivery = %delivery, id, "webhook stored");
            tally.answer(
                (
                    StatusCode::ACCEPTED,
                    Json(json!({"status": "accepted", "id": id})),
                )
                    .into_response(),
            )
        }
        Ok(InboxAppend::Duplicate) => {
            tracing::debug!(connector = %connector, delivery = %delivery, "webhook already stored");
            tally.answer((StatusCode::OK, Json(json!({"duplicate": true}))).into_response())
        }
        Err(failure) => {
            tracing::error!(connector = %connector, "webhook not stored, answering 503: {failure}");
            tally.answer(unavailable())
        }
    }
}

/// Counts the request under the status it was answered with, or as `aborted` if it is dropped
/// unanswered (timed out, or the client went away).
struct Tally {
    connector: String,
    answered: bool,
}

impl Tally {
    fn new(connector: &str) -> Self {
        Self {
            connector: connector.to_owned(),
            answered: false,
        }
    }

    fn answer(&mut self, response: Response) -> Response {
        self.answered = true;
        metrics::request(&self.connector, response.status().as_str());
        response
    }
}

impl Drop for Tally {
    fn drop(&mut self) {
        if !self.answered {
            metrics::request(&self.connector, "aborted");
        }
    }
}

/// 401 naming the reason (never the secret or what came close), counted by reason.
fn unauthorized(connector: &str, refused: &VerifyError) -> Response {
    metrics::verification_failure(connector, refused.reason());
    // Counted by reason in /metrics; at debug, a flood of forged requests floods no log.
    tracing::debug!(
        connector = %connector,
        reason = refused.reason(),
        "webhook refused: {refused}"
    );
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({
            "error": "unauthorized",
            "reason": refused.reason(),
            "message": refused.to_string(),
        })),
    )
        .into_response()
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"error": code, "message": message}))).into_response()
}

fn too_large(limit: usize) -> Response {
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        Json(json!({
            "error": "payload_too_large",
            "message": "the body is larger than the server accepts",
            "limit_bytes": limit,
        })),
    )
        .into_response()
}

/// 503 for a store failure; `Retry-After` is added by the router's middleware. The store's
/// error stays in the log: it is not the provider's business.
fn unavailable() -> Response {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "the event could not be stored; retry later",
    )
}

/// The `Content-Length` the client declared, if it is a number.
fn declared_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

enum BodyError {
    TooLarge,
    /// The server's cap on body bytes in flight is reached.
    Busy,
    Broken,
}

/// The body bytes one request holds of the server's in-flight cap, returned when it is dropped
/// (after the delivery is stored, or refused).
struct BodyBudget<'a> {
    bytes: &'a Arc<Semaphore>,
    held: Option<OwnedSemaphorePermit>,
}

impl<'a> BodyBudget<'a> {
    fn new(bytes: &'a Arc<Semaphore>) -> Self {
        Self { bytes, held: None }
    }

    fn held(&self) -> usize {
        self.held
            .as_ref()
            .map_or(0, OwnedSemaphorePermit::num_permits)
    }

    /// Holds at least `total` bytes; refuses at once rather than wait, so a flood of bodies
    /// is answered 503 instead of queueing in memory.
    fn hold(&mut self, total: usize) -> Result<(), BodyError> {
        let more = total.saturating_sub(self.held());
        if more == 0 {
            return Ok(());
        }
        let more = u32::try_from(more).map_err(|_| BodyError::Busy)?;
        let permit = self
            .bytes
            .clone()
            .try_acquire_many_owned(more)
            .map_err(|_| BodyError::Busy)?;
        match &mut self.held {
            Some(held) => held.merge(permit),
            None => self.held = Some(permit),
        }
        Ok(())
    }
}

/// Reads the body as it streams in, giving up as soon as it passes `limit` (a chunked body
/// declares no length, so the declared one alone cannot be trusted). The declared length is
/// held from the in-flight cap up front; bytes beyond it as they arrive.
async fn read_body(
    body: Body,
    limit: usize,
    declared: Option<usize>,
    budget: &mut BodyBudget<'_>,
) -> Result<Bytes, BodyError> {
    budget.hold(declared.unwrap_or(0))?;
    let mut stream = body.into_data_stream();
    let mut first: Option<Bytes> = None;
    let mut rest: Option<BytesMut> = None;
    let mut total = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| BodyError::Broken)?;
        total = total.saturating_add(chunk.len());
        if total > limit {
            return Err(BodyError::TooLarge);
        }
        budget.hold(total)?;
        // The common case is one chunk: keep it without copying.
        match (&mut first, &mut rest) {
            (None, _) => first = Some(chunk),
            (Some(head), None) => {
                let mut joined = BytesMut::with_capacity(head.len() + chunk.len());
                joined.extend_from_slice(head);
                joined.extend_from_slice(&chunk);
                rest = Some(joined);
            }
            (Some(_), Some(joined)) => joined.extend_from_slice(&chunk),
        }
    }
    Ok(match (first, rest) {
        (_, Some(joined)) => joined.freeze(),
        (Some(head), None) => head,
        (None, None) => Bytes::new(),
    })
}

/// Form posts (Slack slash commands and interactivity, GitHub's form content type) are stored
/// as they are; every other delivery must be JSON.
fn requires_json(headers: &HeaderMap) -> bool {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    !content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_form_posts_skip_the_json_check() {
        let mut headers = HeaderMap::new();
        assert!(requires_json(&headers));
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("Application/X-WWW-Form-Urlencoded; charset=utf-8"),
        );
        assert!(!requires_json(&headers));
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        assert!(requires_json(&headers));
    }

    #[tokio::test]
    async fn a_chunked_body_over_the_limit_is_refused_while_streaming() {
        let chunks = futures::stream::iter(
            (0..10).map(|_| Ok::<_, std::io::Error>(Bytes::from_static(b"0123456789"))),
        );
        let bytes = Arc::new(Semaphore::new(1000));
        let result = read_body(
            Body::from_stream(chunks),
            55,
            None,
            &mut BodyBudget::new(&bytes),
        )
        .await;
        assert!(matches!(result, Err(BodyError::TooLarge)));
    }

    #[tokio::test]
    async fn a_chunked_body_within_the_limit_is_joined_in_order() {
        let chunks = futures::stream::iter(
            [&b"ab"[..], b"cd", b"ef"].map(|c| Ok::<_, std::io::Error>(Bytes::from_static(c))),
        );
        let bytes = Arc::new(Semaphore::new(1000));
        let mut budget = BodyBudget::new(&bytes);
        let body = read_body(Body::from_stream(chunks), 6, None, &mut budget)
            .await
            .ok();
        assert_eq!(body.as_deref(), Some(&b"abcdef"[..]));
        assert_eq!(
            bytes.available_permits(),
            994,
            "the body's bytes are held while it lives"
        );
        drop(budget);
        assert_eq!(bytes.available_permits(), 1000);
    }

    #[tokio::test]
    async fn a_body_past_the_bytes_in_flight_is_refused_not_queued() {
        let chunks = futures::stream::iter(
            [&b"abcd"[..], b"efgh"].map(|c| Ok::<_, std::io::Error>(Bytes::from_static(c))),
        );
        let bytes = Arc::new(Semaphore::new(6));
        let result = read_body(
            Body::from_stream(chunks),
            100,
            None,
            &mut BodyBudget::new(&bytes),
        )
        .await;
        assert!(matches!(result, Err(BodyError::Busy)));
        assert_eq!(
            bytes.available_permits(),
            6,
            "a refused body returns what it held"
        );
        let declared = read_body(Body::empty(), 100, Some(7), &mut BodyBudget::new(&bytes)).await;
        assert!(
            matches!(declared, Err(BodyError::Busy)),
            "a declared length is held up front"
        );
    }

    #[test]
    fn declared_length_ignores_garbage() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("12"));
        assert_eq!(declared_length(&headers), Some(12));
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("lots"));
        assert_eq!(declared_length(&headers), None);
    }
}
