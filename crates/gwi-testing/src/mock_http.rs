//! `MockHttpClient`: a scripted [`HttpClient`] that records every request.
//!
//! Script answers in order ([`MockHttpClient::push`]) or by route ([`MockHttpClient::on`]: method,
//! path, optionally query parameters). Routes are tried first, in the order they were added; a
//! request no route matches takes the next in-order answer. A request nothing answers is
//! *unexpected*: it fails with an error naming it and the scripts that were left, and the mock
//! panics when dropped (unless the test already failed), so it cannot go unnoticed.
//!
//! Time is tokio's: answers with a [`MockResponse::delay`] and the recorded
//! [`RecordedRequest::at`] follow paused test time.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use gwi_core::http::{HttpClient, HttpError, HttpRequest, HttpResponse};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};

/// One scripted answer: a response, or a transport failure.
#[derive(Debug, Clone)]
pub struct MockResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    error: Option<HttpError>,
    delay: Option<Duration>,
}

impl MockResponse {
    /// An empty response with `status`.
    ///
    /// # Panics
    /// When `status` is not a valid HTTP status code.
    pub fn status(status: u16) -> Self {
        let Ok(status) = StatusCode::from_u16(status) else {
            panic!("MockResponse: {status} is not an HTTP status code");
        };
        Self {
            status,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            error: None,
            delay: None,
        }
    }

    /// A response with `status` and a JSON body.
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        Self::status(status)
            .header("content-type", "application/json")
            .body(body.to_string())
    }

    /// A `200 OK` with a JSON body.
    pub fn ok_json(body: &serde_json::Value) -> Self {
        Self::json(200, body)
    }

    /// A response with `status` and a plain-text body.
    pub fn text(status: u16, body: &str) -> Self {
        Self::status(status)
            .header("content-type", "text/plain")
            .body(body.to_owned())
    }

    /// A transport failure instead of a response (connection refused, timeout, ...).
    pub fn error(error: HttpError) -> Self {
        Self {
            error: Some(error),
            ..Self::status(599)
        }
    }

    /// Adds a header (several calls with one name add several values).
    ///
    /// # Panics
    /// When `name` or `value` is not valid HTTP.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) else {
            panic!("MockResponse: invalid header {name}: {value:?}");
        };
        self.headers.append(name, value);
        self
    }

    /// Replaces the body.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Answers only after `delay` (tokio time, so paused tests do not sleep).
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    fn answer(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError> {
        if let Some(error) = &self.error {
            return Err(error.clone());
        }
        Ok(HttpResponse {
            status: self.status,
            headers: self.headers.clone(),
            body: self.body.clone(),
            url: request.url.clone(),
        })
    }
}

/// A request the mock received, with the (tokio) time it arrived.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// The request as sent (auth headers included).
    pub request: HttpRequest,
    /// When it arrived.
    pub at: tokio::time::Instant,
}

impl RecordedRequest {
    /// The request's method.
    pub fn method(&self) -> &Method {
        &self.request.method
    }

    /// The URL's path.
    pub fn path(&self) -> &str {
        self.request.url.path()
    }

    /// The first value of query parameter `name`.
    pub fn query(&self, name: &str) -> Option<String> {
        self.request
            .url
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.request.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body parsed as JSON (`Null` when absent or not JSON).
    pub fn json_body(&self) -> serde_json::Value {
        self.request
            .body
            .as_deref()
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or(serde_json::Value::Null)
    }
}

struct Route {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    remaining: Option<usize>,
    response: MockResponse,
}

impl Route {
    fn matches(&self, request: &HttpRequest) -> bool {
        self.remaining != Some(0)
            && self.method == request.method
            && self.path == request.url.path()
            && self.query.iter().all(|(name, value)| {
                request
                    .url
                    .query_pairs()
                    .any(|(k, v)| k == name.as_str() && v == value.as_str())
            })
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        for (i, (k, v)) in self.query.iter().enumerate() {
            write!(f, "{}{k}={v}", if i == 0 { '?' } else { '&' })?;
        }
        match self.remaining {
            Some(n) => write!(f, " ({n} left)"),
            None => write!(f, " (any number)"),
        }
    }
}

#[derive(Default)]
struct State {
    routes: Vec<Route>,
    queue: VecDeque<MockResponse>,
    requests: Vec<RecordedRequest>,
    unexpected: Vec<String>,
}

/// A scripted [`HttpClient`] for tests; see the [module docs](self).
#[derive(Default)]
pub struct MockHttpClient {
    state: Mutex<State>,
}

impl fmt::Debug for MockHttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("MockHttpClient")
            .field("routes", &state.routes.len())
            .field("queued", &state.queue.len())
            .field("requests", &state.requests.len())
            .finish()
    }
}

/// Adds a route to a [`MockHttpClient`]; finish with [`respond`](Self::respond).
#[must_use = "a route does nothing until `respond` is called"]
pub struct RouteBuilder<'a> {
    mock: &'a MockHttpClient,
    route: Route,
}

impl RouteBuilder<'_> {
    /// Matches only requests carrying query parameter `name=value` (others may be present too).
    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.route.query.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Answers at most `n` requests; then later routes (or the queue) take over.
    pub fn times(mut self, n: usize) -> Self {
        self.route.remaining = Some(n);
        self
    }

    /// Answers matching requests with `response`.
    pub fn respond(mut self, response: MockResponse) {
        self.route.response = response;
        self.mock.lock().routes.push(self.route);
    }
}

impl MockHttpClient {
    /// An empty mock: every request is unexpected until something is scripted.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues an answer for the next request no route matches.
    pub fn push(&self, response: MockResponse) -> &Self {
        self.lock().queue.push_back(response);
        self
    }

    /// Starts a route for `method` and `path` (the URL path, without query).
    pub fn on(&self, method: Method, path: &str) -> RouteBuilder<'_> {
        RouteBuilder {
            mock: self,
            route: Route {
                method,
                path: path.to_owned(),
                query: Vec::new(),
                remaining: None,
                response: MockResponse::status(200),
            },
        }
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    /// How many requests were received.
    pub fn request_count(&self) -> usize {
        self.lock().requests.len()
    }

    /// Descriptions of the requests nothing answered, clearing them (so drop will not panic).
    pub fn take_unexpected(&self) -> Vec<String> {
        std::mem::take(&mut self.lock().unexpected)
    }

    /// Panics unless every queued answer and every limited route was used, and nothing was unexpected.
    pub fn verify(&self) {
        let state = self.lock();
        let mut problems = Vec::new();
        if !state.unexpected.is_empty() {
            problems.push(format!("unexpected requests: {:?}", state.unexpected));
        }
        if !state.queue.is_empty() {
            problems.push(format!("{} queued answers never used", state.queue.len()));
        }
        for route in &state.routes {
            if matches!(route.remaining, Some(n) if n > 0) {
                problems.push(format!("route not used up: {route}"));
            }
        }
        if !problems.is_empty() {
            panic!("MockHttpClient: {}", problems.join("; "));
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn pick(&self, request: &HttpRequest) -> Option<MockResponse> {
        let mut state = self.lock();
        state.requests.push(RecordedRequest {
            request: request.clone(),
            at: tokio::time::Instant::now(),
        });
        if let Some(route) = state.routes.iter_mut().find(|r| r.matches(request)) {
            if let Some(n) = &mut route.remaining {
                *n -= 1;
            }
            return Some(route.response.clone());
        }
        if let Some(response) = state.queue.pop_front() {
            return Some(response);
        }
        let routes: Vec<String> = state.routes.iter().map(ToString::to_string).collect();
        let description = format!(
            "unexpected request {} {} (no route matched, no queued answer left; routes: [{}])",
            request.method,
            gwi_core::http::redact_url(&request.url, &[]),
            routes.join(", ")
        );
        state.unexpected.push(description);
        None
    }
}

#[async_trait]
impl HttpClient for MockHttpClient {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let Some(response) = self.pick(&request) else {
            let message = self.lock().unexpected.last().cloned().unwrap_or_default();
            return Err(HttpError::InvalidRequest {
                message: format!("MockHttpClient: {message}"),
            });
        };
        if let Some(delay) = response.delay {
            tokio::time::sleep(delay).await;
        }
        response.answer(&request)
    }
}

impl Drop for MockHttpClient {
    fn drop(&mut self) {
        let unexpected = &self.lock().unexpected;
        if !unexpected.is_empty() && !std::thread::panicking() {
            panic!("MockHttpClient received unexpected requests: {unexpected:#?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use url::Url;

    fn get(url: &str) -> HttpRequest {
        HttpRequest::get(Url::parse(url).unwrap())
    }

    #[tokio::test]
    async fn queued_answers_come_in_order() {
        let mock = MockHttpClient::new();
        mock.push(MockResponse::status(502))
            .push(MockResponse::ok_json(&json!({"ok": true})));
        let first = mock.send(get("http://127.0.0.1/a")).await.unwrap();
        let second = mock.send(get("http://127.0.0.1/b")).await.unwrap();
        assert_eq!(first.status, 502);
        assert_eq!(second.status, 200);
        assert_eq!(&second.body[..], br#"{"ok":true}"#);
        assert_eq!(second.header("content-type"), Some("application/json"));
        assert_eq!(mock.requests()[1].path(), "/b");
        mock.verify();
    }

    #[tokio::test]
    async fn routes_match_method_path_and_query() {
        let mock = MockHttpClient::new();
        mock.on(Method::GET, "/items")
            .query("page", "2")
            .respond(MockResponse::text(200, "two"));
        mock.on(Method::GET, "/items")
            .respond(MockResponse::text(200, "any"));
        let two = mock
            .send(get("http://127.0.0.1/items?x=1&page=2"))
            .await
            .unwrap();
        let any = mock
            .send(get("http://127.0.0.1/items?page=3"))
            .await
            .unwrap();
        assert_eq!(&two.body[..], b"two");
        assert_eq!(&any.body[..], b"any");
        assert_eq!(mock.requests()[0].query("x").as_deref(), Some("1"));
    }

    #[tokio::test]
    async fn limited_routes_hand_over_to_later_ones() {
        let mock = MockHttpClient::new();
        mock.on(Method::GET, "/x")
            .times(2)
            .respond(MockResponse::status(503));
        mock.on(Method::GET, "/x")
            .respond(MockResponse::status(200));
        let mut statuses = Vec::new();
        for _ in 0..3 {
            statuses.push(mock.send(get("http://127.0.0.1/x")).await.unwrap().status);
        }
        assert_eq!(statuses, [503, 503, 200]);
        mock.verify();
    }

    #[tokio::test]
    async fn an_unexpected_request_fails_and_says_what_it_was() {
        let mock = MockHttpClient::new();
        mock.on(Method::GET, "/known")
            .respond(MockResponse::status(200));
        let err = mock
            .send(get("http://127.0.0.1/unknown?token=hunter2"))
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("unexpected request GET"), "{text}");
        assert!(text.contains("/unknown"), "{text}");
        assert!(text.contains("GET /known"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        assert_eq!(mock.take_unexpected().len(), 1);
    }

    #[test]
    #[should_panic(expected = "unexpected requests")]
    fn dropping_after_an_unexpected_request_panics() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let mock = MockHttpClient::new();
        let _ = runtime.block_on(mock.send(get("http://127.0.0.1/nope")));
        drop(mock);
    }

    #[test]
    #[should_panic(expected = "queued answers never used")]
    fn verify_reports_unused_answers() {
        let mock = MockHttpClient::new();
        mock.push(MockResponse::status(200));
        mock.verify();
    }

    #[tokio::test]
    async fn transport_errors_can_be_scripted() {
        let mock = MockHttpClient::new();
        mock.push(MockResponse::error(HttpError::Connect {
            message: "refused".into(),
        }));
        let err = mock.send(get("http://127.0.0.1/")).await.unwrap_err();
        assert!(matches!(err, HttpError::Connect { .. }));
    }

    #[tokio::test(start_paused = true)]
    async fn delays_follow_tokio_time() {
        let mock = MockHttpClient::new();
        mock.push(MockResponse::status(200).delay(Duration::from_secs(30)));
        let start = tokio::time::Instant::now();
        mock.send(get("http://127.0.0.1/")).await.unwrap();
        assert!(start.elapsed() >= Duration::from_secs(30));
    }
}
