//! The tower middleware that injects faults in front of a provider's routes.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::StreamExt as _;
use http::StatusCode;
use tower::{Layer, Service};

use super::{FaultInjector, FaultKind, FaultResponder};

/// Wraps a provider's router: counts requests and injects faults per [`FaultInjector`].
#[derive(Clone)]
pub struct FaultLayer {
    injector: Arc<FaultInjector>,
    responder: Arc<dyn FaultResponder>,
}

impl FaultLayer {
    /// A layer drawing from `injector`, wording its errors with `responder`.
    pub fn new(injector: Arc<FaultInjector>, responder: Arc<dyn FaultResponder>) -> Self {
        Self {
            injector,
            responder,
        }
    }
}

impl<S> Layer<S> for FaultLayer {
    type Service = FaultService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        FaultService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`FaultLayer`] produces.
#[derive(Clone)]
pub struct FaultService<S> {
    inner: S,
    layer: FaultLayer,
}

impl<S> Service<Request> for FaultService<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        // The clone that was polled ready goes into the future; a fresh clone stays behind.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        Box::pin(async move {
            let injector = &layer.injector;
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map_or("unmatched", MatchedPath::as_str);
            injector
                .stats()
                .record_request(req.method().as_str(), route);
            let target = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
            let decision = injector.decide(req.method().as_str(), target);
            if let Some(delay) = decision.latency {
                injector.stats().record_fault(FaultKind::Latency);
                tokio::time::sleep(delay).await;
            }
            let Some(kind) = decision.kind else {
                return inner.call(req).await;
            };
            injector.stats().record_fault(kind);
            match kind {
                FaultKind::Reset => {
                    let response = inner.call(req).await?;
                    Ok(reset_mid_body(response, decision.cut).await)
                }
                FaultKind::Truncate => {
                    let response = inner.call(req).await?;
                    Ok(truncate_body(response, decision.cut).await)
                }
                status_fault => Ok(layer
                    .responder
                    .respond(status_fault, injector.config().retry_after)),
            }
        })
    }
}

/// Largest body the reset/truncate faults buffer (rendered pages are far smaller).
const MAX_BUFFERED_BODY: usize = 64 << 20;

async fn buffered(response: Response) -> Result<(http::response::Parts, Bytes), Response> {
    let (parts, body) = response.into_parts();
    match axum::body::to_bytes(body, MAX_BUFFERED_BODY).await {
        Ok(bytes) => Ok((parts, bytes)),
        Err(_) => Err(StatusCode::INTERNAL_SERVER_ERROR.into_response()),
    }
}

/// Sends the headers (announcing the full length) and part of the body, then fails the body so
/// the server drops the connection, as a reset would.
async fn reset_mid_body(response: Response, cut: f64) -> Response {
    let (mut parts, bytes) = match buffered(response).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let keep = ((bytes.len() as f64 * cut) as usize).min(bytes.len().saturating_sub(1));
    parts
        .headers
        .insert(http::header::CONTENT_LENGTH, bytes.len().into());
    let first = futures::stream::iter([Ok::<Bytes, std::io::Error>(bytes.slice(..keep))]);
    // Pausing before the failure lets the server flush the headers and the first part of the
    // body, so the client sees a response start and then lose its connection.
    let failure = futures::stream::once(async {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "sandbox: injected connection reset",
        ))
    });
    Response::from_parts(parts, Body::from_stream(first.chain(failure)))
}

/// Cuts the body short and frames the cut body as complete (matching `Content-Length`), so the
/// transport succeeds and only decoding notices.
async fn truncate_body(response: Response, cut: f64) -> Response {
    let (mut parts, bytes) = match buffered(response).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let keep = ((bytes.len() as f64 * cut) as usize).clamp(
        usize::from(!bytes.is_empty()),
        bytes.len().saturating_sub(1).max(1),
    );
    let cut_body = bytes.slice(..keep.min(bytes.len()));
    parts.headers.remove(http::header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(cut_body))
}
