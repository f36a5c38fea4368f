//! Shared test helpers: servers over test stores, signed requests, waiting for the workers.

pub mod connector;
pub mod engines;
pub mod store;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use gwi_core::config::Secret;
use gwi_core::registry::ConfiguredConnector;
use gwi_core::store::Store;
use gwi_core::webhook::sign;
use gwi_server::{RetryPolicy, Server, ServerConfig};
use http::{HeaderMap, Request, StatusCode};
use serde_json::Value;
use tokio::sync::oneshot;
use tower::ServiceExt;

pub use connector::{Behaviour, GITHUB_SECRET, TEMPORARY_FAILURE, TestConnector};
pub use engines::{Engine, inbox_count, records_of};
pub use store::TestStore;

/// Settings that make retries and polls fast enough for tests.
pub fn fast_config() -> ServerConfig {
    ServerConfig {
        workers: 2,
        poll_interval: Duration::from_millis(50),
        retry: RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(40),
        },
        request_timeout: Duration::from_secs(10),
        processing_timeout: Duration::from_secs(10),
        ..ServerConfig::default()
    }
}

/// A server over `store` with `connectors`.
pub fn server(
    connectors: Vec<ConfiguredConnector>,
    store: Arc<dyn Store>,
    config: ServerConfig,
) -> Server {
    Server::new(connectors, store, config).unwrap()
}

/// A POST of `body` to `path` with `headers`.
pub fn post(path: &str, headers: &[(&str, String)], body: impl Into<Vec<u8>>) -> Request<Body> {
    let mut request = Request::post(path);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request.body(Body::from(body.into())).unwrap()
}

/// A POST signed the way GitHub signs, with a delivery id and event type.
pub fn github_post(path: &str, delivery: &str, body: &[u8]) -> Request<Body> {
    let mut headers = github_headers(delivery, body);
    headers.push(("content-type", "application/json".to_owned()));
    post(path, &headers, body.to_vec())
}

/// GitHub's headers for `body`.
pub fn github_headers(delivery: &str, body: &[u8]) -> Vec<(&'static str, String)> {
    let mut headers = sign::github(&Secret::literal(GITHUB_SECRET), body);
    headers.push(("x-github-delivery", delivery.to_owned()));
    headers.push(("x-github-event", "issues".to_owned()));
    headers
}

/// The answer to one request sent in-process.
pub struct Answer {
    /// Status code.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body text.
    pub text: String,
}

impl Answer {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text))
    }
}

/// Sends `request` through `router` without a socket.
pub async fn send(router: &Router, request: Request<Body>) -> Answer {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    Answer {
        status,
        headers,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// Waits (up to 10 s) until `check` holds; panics with `what` otherwise.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A server running on a real socket at 127.0.0.1:0, stopped by [`Running::stop`].
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), gwi_server::ServerError>>,
}

impl Running {
    /// `http://ADDR{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Signals a graceful shutdown and waits for `serve` to return.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.await.unwrap().unwrap();
    }

    /// Signals a graceful shutdown without waiting; returns the serve task.
    pub fn begin_stop(mut self) -> tokio::task::JoinHandle<Result<(), gwi_server::ServerError>> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task
    }
}

/// Runs `server` (with its workers) on a fresh local port.
pub async fn spawn(server: Server) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server.serve(listener, async {
        let _ = stopped.await;
    }));
    Running {
        addr,
        stop: Some(stop),
        task,
    }
}

/// The value of the sample of `name` whose labels include all of `labels`, from Prometheus text.
pub fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric_name, rest) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            (metric_name == name).then_some((rest, value))
        })
        .find(|(rest, _)| {
            labels
                .iter()
                .all(|(k, v)| rest.split(',').any(|pair| pair == format!("{k}=\"{v}\"")))
        })
        .and_then(|(_, value)| value.parse().ok())
}
