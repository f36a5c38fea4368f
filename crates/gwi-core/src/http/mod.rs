//! HTTP for connectors: a scriptable transport trait, the reqwest transport, retries, rate limits.
//!
//! Connectors never talk to a transport directly: they use [`ApiClient`] from their context, which
//! applies auth, paces requests, retries transient failures and turns error statuses into
//! [`ConnectorError`](crate::error::ConnectorError)s.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use url::Url;

/// A request as gwi sends it: plain data, so tests can inspect and script it.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// HTTP method.
    pub method: Method,
    /// Full URL including query.
    pub url: Url,
    /// Headers (auth is added by the auth layer, not by connectors).
    pub headers: HeaderMap,
    /// Body bytes, if any.
    pub body: Option<Bytes>,
    /// Per-request timeout overriding the client's default.
    pub timeout: Option<Duration>,
    /// The [`RateBucket`] the request counts against beside the connector's budget, if any.
    pub bucket: Option<&'static str>,
    /// Whether another stream of the same sync run asking for this URL may be given this
    /// answer instead of asking again (see [`HttpRequest::share`]).
    pub shared: bool,
}

impl HttpRequest {
    /// A request with no headers or body.
    pub fn new(method: Method, url: Url) -> Self {
        Self {
            method,
            url,
            headers: HeaderMap::new(),
            body: None,
            timeout: None,
            bucket: None,
            shared: false,
        }
    }

    /// The same request, its answer shared with every stream of the sync run that asks for the
    /// same URL (a listing a sibling stream walks too). Only for GETs whose answer any stream
    /// may use, since the others get it as it was when first fetched.
    pub fn share(mut self) -> Self {
        self.shared = true;
        self
    }

    /// The same request, counted against the connector's [`RateBucket`] named `name` too.
    pub fn in_bucket(mut self, name: &'static str) -> Self {
        self.bucket = Some(name);
        self
    }

    /// A GET request.
    pub fn get(url: Url) -> Self {
        Self::new(Method::GET, url)
    }

    /// Adds a header; a name or value that is not valid HTTP is refused.
    pub fn header(mut self, name: &str, value: &str) -> Result<Self, HttpError> {
        let name =
            HeaderName::from_bytes(name.as_bytes()).map_err(|_| HttpError::InvalidRequest {
                message: format!("invalid header name {name:?}"),
            })?;
        let value = HeaderValue::from_str(value).map_err(|_| HttpError::InvalidRequest {
            message: format!("invalid value for header {name}"),
        })?;
        self.headers.insert(name, value);
        Ok(self)
    }

    /// Appends query parameters.
    pub fn query(mut self, pairs: &[(&str, &str)]) -> Self {
        {
            let mut q = self.url.query_pairs_mut();
            for (k, v) in pairs {
                q.append_pair(k, v);
            }
        }
        self
    }

    /// Sets a JSON body and its content type.
    pub fn json_body(mut self, body: &serde_json::Value) -> Self {
        self.body = Some(Bytes::from(body.to_string()));
        self.headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        self
    }
}

/// A response with its whole body read.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// Status code.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
    /// The URL that answered.
    pub url: Url,
}

impl HttpResponse {
    /// A header's value as text, if present and ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Decodes the body as JSON; the error names the path of the offending field.
    pub fn json<T: serde::de::DeserializeOwned>(
        &self,
    ) -> Result<T, serde_path_to_error::Error<serde_json::Error>> {
        let de = &mut serde_json::Deserializer::from_slice(&self.body);
        serde_path_to_error::deserialize(de)
    }
}

/// A transport failure: no usable HTTP answer was received.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// Could not connect (refused, DNS, TLS).
    #[error("could not connect: {message}")]
    Connect {
        /// Transport description.
        message: String,
    },
    /// The request or the body read timed out.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The connection broke mid-request or mid-body.
    #[error("connection error: {message}")]
    Io {
        /// Transport description.
        message: String,
    },
    /// The request could not be built.
    #[error("invalid request: {message}")]
    InvalidRequest {
        /// What is wrong.
        message: String,
    },
}

impl HttpError {
    /// Whether sending the same request again may succeed.
    pub fn is_retryable(&self) -> bool {
        !matches!(self, Self::InvalidRequest { .. })
    }
}

/// Sends one HTTP request and reads the whole answer; implemented by reqwest and by test mocks.
#[async_trait]
pub trait HttpClient: Send + Sync + std::fmt::Debug {
    /// Sends `request` once: no retries, no auth, no pacing (those are [`ApiClient`]'s job).
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError>;
}

/// Query parameter names whose values are always hidden in logs, errors and metrics.
const SECRET_QUERY_PARAMS: &[&str] = &[
    "access_token",
    "api_key",
    "apikey",
    "key",
    "token",
    "client_secret",
    "password",
    "secret",
    "sig",
    "signature",
    "code",
];

/// The URL as text, safe to log: userinfo and secret-looking query values replaced by `[redacted]`.
pub fn redact_url(url: &Url, extra_secret_params: &[&str]) -> String {
    let mut url = url.clone();
    if !url.username().is_empty() || url.password().is_some() {
        let _ = url.set_username("");
        let _ = url.set_password(None);
    }
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let secret = SECRET_QUERY_PARAMS
                    .iter()
                    .chain(extra_secret_params)
                    .any(|s| k.eq_ignore_ascii_case(s));
                let v = if secret {
                    "[redacted]".to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string().replace("%5Bredacted%5D", "[redacted]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_url_hides_query_secrets_and_userinfo() {
        let url =
            Url::parse("https://u:p@api.example.com/x?api_key=s3cret&page=2&my_key=k").unwrap();
        let shown = redact_url(&url, &["my_key"]);
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(!shown.contains("u:p@"), "{shown}");
        assert!(!shown.contains("=k"), "{shown}");
        assert!(shown.contains("page=2"), "{shown}");
        assert!(shown.contains("api_key=[redacted]"), "{shown}");
    }
}

mod answers;
mod api_client;
mod api_root;
mod classify;
pub use api_client::{ApiClient, ApiClientBuilder, RateLimitListener, provider_message};
pub use api_root::ApiRoot;
pub use classify::{Classifier, Verdict};
pub mod headers;
mod metrics;
pub use metrics::{
    HTTP_REQUEST_DURATION_SECONDS, HTTP_REQUESTS_TOTAL, HTTP_RETRIES_TOTAL,
    RATE_LIMIT_WAIT_SECONDS_TOTAL, describe_http_metrics,
};
pub mod rate_limit;
pub use rate_limit::{
    RateBucket, RateLimitConfig, RateLimitKey, RateLimiter, credential_fingerprint,
};
mod reqwest_client;
pub use reqwest_client::{ReqwestClient, USER_AGENT};
pub mod retry;
pub use retry::{Outcome, RetryPolicy, default_retryable};
