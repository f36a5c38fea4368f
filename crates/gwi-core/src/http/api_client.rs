//! `ApiClient`: the HTTP client connectors use, with auth, pacing, retries and typed errors.

use std::sync::Arc;

use url::Url;

use crate::auth::{AuthStrategy, NoAuth};
use crate::config::HttpSettings;
use crate::connector::RateLimits;
use crate::error::ConnectorError;
use crate::http::{HttpClient, HttpError, HttpRequest, HttpResponse, redact_url};
use crate::progress::Progress;

/// Sends connector requests: applies auth, paces, retries, and maps failures to [`ConnectorError`].
#[derive(Clone)]
pub struct ApiClient {
    inner: Arc<Inner>,
}

struct Inner {
    connector: String,
    transport: Arc<dyn HttpClient>,
    auth: Arc<dyn AuthStrategy>,
    settings: HttpSettings,
    rate_limits: RateLimits,
    progress: Arc<Progress>,
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient")
            .field("connector", &self.inner.connector)
            .field("auth", &self.inner.auth.describe())
            .finish_non_exhaustive()
    }
}

/// Builds an [`ApiClient`].
pub struct ApiClientBuilder {
    connector: String,
    transport: Arc<dyn HttpClient>,
    auth: Arc<dyn AuthStrategy>,
    settings: HttpSettings,
    rate_limits: RateLimits,
    progress: Arc<Progress>,
}

impl ApiClientBuilder {
    /// Sets the auth strategy (default: none).
    pub fn auth(mut self, auth: Arc<dyn AuthStrategy>) -> Self {
        self.auth = auth;
        self
    }
    /// Sets timeouts, retry and pacing settings.
    pub fn settings(mut self, settings: &HttpSettings) -> Self {
        self.settings = settings.clone();
        self
    }
    /// Sets the provider's documented budget (used unless settings override it).
    pub fn rate_limits(mut self, limits: RateLimits) -> Self {
        self.rate_limits = limits;
        self
    }
    /// Shares progress counters with the caller.
    pub fn progress(mut self, progress: Arc<Progress>) -> Self {
        self.progress = progress;
        self
    }
    /// Finishes the client.
    pub fn build(self) -> ApiClient {
        ApiClient {
            inner: Arc::new(Inner {
                connector: self.connector,
                transport: self.transport,
                auth: self.auth,
                settings: self.settings,
                rate_limits: self.rate_limits,
                progress: self.progress,
            }),
        }
    }
}

impl ApiClient {
    /// Starts building a client for `connector` over `transport`.
    pub fn builder(
        connector: impl Into<String>,
        transport: Arc<dyn HttpClient>,
    ) -> ApiClientBuilder {
        ApiClientBuilder {
            connector: connector.into(),
            transport,
            auth: Arc::new(NoAuth),
            settings: HttpSettings::default(),
            rate_limits: RateLimits::default(),
            progress: Arc::new(Progress::default()),
        }
    }

    /// The connector this client belongs to.
    pub fn connector(&self) -> &str {
        &self.inner.connector
    }

    /// Progress counters this client updates.
    pub fn progress(&self) -> &Arc<Progress> {
        &self.inner.progress
    }

    /// Sends a request; a non-2xx answer becomes a typed error.
    pub async fn send(&self, mut request: HttpRequest) -> Result<HttpResponse, ConnectorError> {
        let _ = (&self.inner.settings, &self.inner.rate_limits);
        self.inner.auth.apply(&mut request).await?;
        let url = request.url.clone();
        self.inner.progress.add_request(false);
        let response = self
            .inner
            .transport
            .send(request)
            .await
            .map_err(|e| self.network_error(&url, &e))?;
        if response.status.is_success() {
            Ok(response)
        } else {
            Err(self.status_error(&response))
        }
    }

    /// GETs `url` and decodes the JSON body; a decode error names the field.
    pub async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: Url,
    ) -> Result<(T, HttpResponse), ConnectorError> {
        let response = self.send(HttpRequest::get(url)).await?;
        let value = self.decode(&response)?;
        Ok((value, response))
    }

    /// Decodes a response body as JSON into `T`, naming the field on failure.
    pub fn decode<T: serde::de::DeserializeOwned>(
        &self,
        response: &HttpResponse,
    ) -> Result<T, ConnectorError> {
        response.json().map_err(|e| {
            ConnectorError::validation(
                self.inner.connector.clone(),
                e.path().to_string(),
                format!(
                    "unexpected response from {}: {}",
                    redact_url(&response.url, &[]),
                    e.inner()
                ),
            )
        })
    }

    fn network_error(&self, url: &Url, error: &HttpError) -> ConnectorError {
        ConnectorError::Network {
            connector: self.inner.connector.clone(),
            url: redact_url(url, &[]),
            message: error.to_string(),
        }
    }

    fn status_error(&self, response: &HttpResponse) -> ConnectorError {
        let connector = self.inner.connector.clone();
        let status = response.status.as_u16();
        let message = provider_message(&response.body);
        match status {
            401 | 403 => ConnectorError::Authentication {
                connector,
                message,
                required_scopes: Vec::new(),
            },
            429 => ConnectorError::RateLimited {
                connector,
                status,
                retry_after: None,
            },
            _ => ConnectorError::Api {
                connector,
                status,
                url: redact_url(&response.url, &[]),
                message,
            },
        }
    }
}

/// The provider's error message: a JSON `message`/`error` field, else the start of the body.
pub fn provider_message(body: &[u8]) -> String {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
        for key in ["message", "error_description", "error"] {
            if let Some(text) = value.get(key).and_then(|v| v.as_str()) {
                return text.chars().take(300).collect();
            }
        }
    }
    String::from_utf8_lossy(body).chars().take(300).collect()
}
