//! The production transport: reqwest with rustls, pooling, gzip and timeouts.

use std::time::Duration;

use async_trait::async_trait;

use crate::http::{HttpClient, HttpError, HttpRequest, HttpResponse, redact_url};

/// The User-Agent gwi sends: providers ask clients to name themselves.
pub const USER_AGENT: &str = concat!(
    "gwi/",
    env!("CARGO_PKG_VERSION"),
    " (+https://github.com/gwi-dev/gwi)"
);

/// HTTP transport over one pooled reqwest client (rustls, gzip, keep-alive).
#[derive(Debug, Clone)]
pub struct ReqwestClient {
    client: reqwest::Client,
    timeout: Duration,
}

impl ReqwestClient {
    /// A client whose requests time out after `timeout` unless a request says otherwise.
    pub fn new(timeout: Duration) -> Result<Self, HttpError> {
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .gzip(true)
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(90))
            // Redirects could carry credentials to another host; APIs answer directly.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| HttpError::InvalidRequest {
                message: format!("cannot build HTTP client: {e}"),
            })?;
        Ok(Self { client, timeout })
    }
}

#[async_trait]
impl HttpClient for ReqwestClient {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let timeout = request.timeout.unwrap_or(self.timeout);
        let mut builder = self
            .client
            .request(request.method, request.url)
            .headers(request.headers)
            .timeout(timeout);
        if let Some(body) = request.body {
            builder = builder.body(body);
        }
        let response = builder.send().await.map_err(|e| classify(&e, timeout))?;
        let status = response.status();
        let headers = response.headers().clone();
        let url = response.url().clone();
        let body = response.bytes().await.map_err(|e| classify(&e, timeout))?;
        Ok(HttpResponse {
            status,
            headers,
            body,
            url,
        })
    }
}

fn classify(error: &reqwest::Error, timeout: Duration) -> HttpError {
    // reqwest's Display includes the URL, query secrets and all; show it redacted.
    let mut message = error.to_string();
    if let Some(url) = error.url() {
        message = message.replace(url.as_str(), &redact_url(url, &[]));
    }
    if let Some(source) = std::error::Error::source(error) {
        message = format!("{message}: {source}");
    }
    if error.is_timeout() {
        HttpError::Timeout(timeout)
    } else if error.is_connect() {
        HttpError::Connect { message }
    } else if error.is_builder() {
        HttpError::InvalidRequest { message }
    } else {
        HttpError::Io { message }
    }
}
