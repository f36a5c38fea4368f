//! Token endpoint calls over gwi's [`HttpClient`]: the adapter the `oauth2` crate sends through,
//! and the mapping of token endpoint failures to [`ConnectorError`]s shared by every strategy.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use url::Url;

use crate::error::ConnectorError;
use crate::http::headers::retry_after_value;
use crate::http::{HttpClient, HttpError, HttpRequest, HttpResponse, provider_message, redact_url};

/// Longest provider message kept in an error.
const MESSAGE_LIMIT: usize = 300;

/// A token endpoint reached through the raw transport (no auth, no retries: a failed refresh surfaces
/// on the request that needed it, and that request is retried by `ApiClient`).
#[derive(Clone)]
pub(crate) struct TokenEndpoint {
    pub(crate) connector: String,
    pub(crate) transport: Arc<dyn HttpClient>,
}

impl TokenEndpoint {
    /// Sends `request` once; any HTTP answer is returned, a transport failure is a network error.
    pub(crate) async fn send(&self, request: HttpRequest) -> Result<HttpResponse, ConnectorError> {
        let url = request.url.clone();
        self.transport
            .send(request)
            .await
            .map_err(|e| TokenHttpError::transport(&url, e).into_connector_error(&self.connector))
    }

    /// The error for a non-success answer, by status (429 rate limit, 401/403 refused, else API).
    pub(crate) fn failure(&self, response: &HttpResponse) -> ConnectorError {
        status_error(response).into_connector_error(&self.connector)
    }

    /// Like [`failure`](Self::failure), but an OAuth error document (`{"error": "invalid_grant"}`)
    /// becomes an authentication error ending with `advice`.
    pub(crate) fn oauth_failure(&self, response: &HttpResponse, advice: &str) -> ConnectorError {
        #[derive(serde::Deserialize)]
        struct OAuthError {
            error: String,
            error_description: Option<String>,
        }
        match serde_json::from_slice::<OAuthError>(&response.body) {
            // Atlassian refuses a refresh token with a 403.
            Ok(doc) if matches!(response.status.as_u16(), 400 | 401 | 403) => oauth_error(
                &self.connector,
                &doc.error,
                doc.error_description.as_deref(),
                advice,
            ),
            _ => self.failure(response),
        }
    }

    /// An adapter the `oauth2` crate can send requests through.
    pub(crate) fn oauth2_client(&self) -> OAuth2Http<'_> {
        OAuth2Http {
            transport: self.transport.as_ref(),
        }
    }
}

/// Why a token endpoint gave no usable answer (transport failure or an unexpected status).
#[derive(Debug, thiserror::Error)]
pub(crate) enum TokenHttpError {
    /// No HTTP answer.
    #[error("{error}")]
    Transport {
        /// The URL, query secrets redacted.
        url: String,
        /// The transport's error.
        error: HttpError,
    },
    /// An answer whose status is neither success nor an OAuth error document.
    #[error("HTTP {status}: {message}")]
    Status {
        /// The URL, query secrets redacted.
        url: String,
        /// HTTP status.
        status: u16,
        /// The provider's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
        /// The provider's message, trimmed.
        message: String,
    },
    /// The request the `oauth2` crate built could not be sent.
    #[error("invalid token request: {0}")]
    Invalid(String),
}

impl TokenHttpError {
    fn transport(url: &Url, error: HttpError) -> Self {
        Self::Transport {
            url: redact_url(url, &[]),
            error,
        }
    }

    /// The error a connector reports for this failure.
    pub(crate) fn into_connector_error(self, connector: &str) -> ConnectorError {
        let connector = connector.to_owned();
        match self {
            Self::Transport { url, error } => ConnectorError::Network {
                connector,
                url,
                message: error.to_string(),
            },
            Self::Status {
                status: 429,
                retry_after,
                ..
            } => ConnectorError::RateLimited {
                connector,
                status: 429,
                retry_after,
            },
            Self::Status {
                url,
                status: status @ (401 | 403),
                message,
                ..
            } => ConnectorError::Authentication {
                connector,
                status: Some(status),
                message: format!(
                    "the token endpoint {url} refused the credentials (HTTP {status}: {message})"
                ),
                required_scopes: Vec::new(),
            },
            Self::Status {
                url,
                status,
                message,
                ..
            } => ConnectorError::Api {
                connector,
                status,
                url,
                message,
            },
            Self::Invalid(message) => ConnectorError::validation(connector, "auth", message),
        }
    }
}

/// Sends the `oauth2` crate's requests through a gwi transport.
pub(crate) struct OAuth2Http<'a> {
    transport: &'a dyn HttpClient,
}

impl<'c> ::oauth2::AsyncHttpClient<'c> for OAuth2Http<'_> {
    type Error = TokenHttpError;
    type Future = BoxFuture<'c, Result<::oauth2::HttpResponse, TokenHttpError>>;

    fn call(&'c self, request: ::oauth2::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let url = Url::parse(&parts.uri.to_string())
                .map_err(|e| TokenHttpError::Invalid(format!("token URL is not valid: {e}")))?;
            let mut ours = HttpRequest::new(parts.method, url.clone());
            ours.headers = parts.headers;
            ours.body = Some(Bytes::from(body));
            let response = self
                .transport
                .send(ours)
                .await
                .map_err(|e| TokenHttpError::transport(&url, e))?;
            // 200 is a token; 400/401 (Atlassian: 403) with a JSON body is an OAuth error
            // document the crate parses. Anything else (a redirect, 429, 5xx, an HTML error
            // page) is reported by status.
            let oauth_error = matches!(response.status.as_u16(), 400 | 401 | 403)
                && is_oauth_error(&response.body);
            if response.status != http::StatusCode::OK && !oauth_error {
                return Err(status_error(&response));
            }
            let mut converted = http::Response::new(response.body.to_vec());
            *converted.status_mut() = response.status;
            *converted.headers_mut() = response.headers;
            Ok(converted)
        })
    }
}

fn is_oauth_error(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .is_some_and(|v| v.get("error").is_some_and(serde_json::Value::is_string))
}

fn status_error(response: &HttpResponse) -> TokenHttpError {
    TokenHttpError::Status {
        url: redact_url(&response.url, &[]),
        status: response.status.as_u16(),
        retry_after: response
            .header("retry-after")
            .and_then(|value| retry_after_value(value, std::time::SystemTime::now())),
        message: provider_message(&response.body),
    }
}

/// An OAuth error code (`invalid_grant`, ...) turned into an error that says what the user must do.
pub(crate) fn oauth_error(
    connector: &str,
    code: &str,
    description: Option<&str>,
    reauthorise: &str,
) -> ConnectorError {
    let detail = match description {
        Some(text) if !text.is_empty() => {
            format!(
                "{code}: {}",
                text.chars().take(MESSAGE_LIMIT).collect::<String>()
            )
        }
        _ => code.to_owned(),
    };
    let message = match code {
        "invalid_grant" => format!("the grant was rejected ({detail}); {reauthorise}"),
        "invalid_client" | "unauthorized_client" => format!(
            "the token endpoint refused the client ({detail}); check the client id and secret"
        ),
        "invalid_scope" => {
            format!("the requested scopes were refused ({detail}); check `auth.scopes`")
        }
        _ => format!("the token endpoint refused the request ({detail})"),
    };
    ConnectorError::Authentication {
        connector: connector.to_owned(),
        status: None,
        message,
        required_scopes: Vec::new(),
    }
}

/// A token endpoint answered 2xx with a body we cannot read; names the field, never its value.
pub(crate) fn unexpected_response(connector: &str, url: &Url, field: &str) -> ConnectorError {
    ConnectorError::validation(
        connector,
        field,
        format!(
            "unexpected answer from the token endpoint {}",
            redact_url(url, &[])
        ),
    )
}
