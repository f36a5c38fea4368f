//! An API key in a header or a query parameter.

use async_trait::async_trait;
use http::HeaderName;
use secrecy::ExposeSecret;

use crate::auth::{AuthStrategy, sensitive_header};
use crate::config::Secret;
use crate::error::{ConnectorError, FieldError};
use crate::http::HttpRequest;

/// The header used when the config names neither a header nor a query parameter.
const DEFAULT_HEADER: &str = "X-API-Key";

/// Where an API key travels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiKeyLocation {
    /// In a header, optionally after a prefix (`Token <key>`).
    Header {
        /// Header name.
        name: HeaderName,
        /// Text put before the key.
        prefix: String,
    },
    /// In a query parameter (redacted wherever the URL is shown).
    Query {
        /// Parameter name.
        name: String,
    },
}

impl ApiKeyLocation {
    /// Reads the `header` / `prefix` / `query_param` fields of an `api_key` config.
    pub fn from_config(
        header: Option<&str>,
        prefix: Option<&str>,
        query_param: Option<&str>,
    ) -> Result<Self, FieldError> {
        match (header, query_param) {
            (Some(_), Some(_)) => Err(FieldError::new(
                "auth.query_param",
                "set either `header` or `query_param`, not both",
            )),
            (_, Some(param)) => {
                if prefix.is_some() {
                    return Err(FieldError::new(
                        "auth.prefix",
                        "only applies to a header; remove it or use `header`",
                    ));
                }
                if param.is_empty() {
                    return Err(FieldError::new("auth.query_param", "must not be empty"));
                }
                Ok(Self::Query {
                    name: param.to_owned(),
                })
            }
            (header, None) => {
                let name = HeaderName::from_bytes(header.unwrap_or(DEFAULT_HEADER).as_bytes())
                    .map_err(|_| {
                        FieldError::new("auth.header", "is not a valid HTTP header name")
                    })?;
                Ok(Self::Header {
                    name,
                    prefix: prefix.unwrap_or_default().to_owned(),
                })
            }
        }
    }
}

/// Sends a static API key in a header or a query parameter.
pub struct ApiKeyAuth {
    connector: String,
    key: Secret,
    location: ApiKeyLocation,
}

impl ApiKeyAuth {
    /// An API key strategy for `connector` sending `key` at `location`.
    pub fn new(connector: impl Into<String>, key: Secret, location: ApiKeyLocation) -> Self {
        Self {
            connector: connector.into(),
            key,
            location,
        }
    }
}

impl std::fmt::Debug for ApiKeyAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeyAuth")
            .field("connector", &self.connector)
            .field("key", &self.key)
            .field("location", &self.location)
            .finish()
    }
}

#[async_trait]
impl AuthStrategy for ApiKeyAuth {
    async fn apply(&self, request: &mut HttpRequest) -> Result<(), ConnectorError> {
        let key = self.key.expose().expose_secret();
        match &self.location {
            ApiKeyLocation::Header { name, prefix } => {
                let value =
                    sensitive_header(&self.connector, "auth.key", &format!("{prefix}{key}"))?;
                request.headers.insert(name.clone(), value);
            }
            ApiKeyLocation::Query { name } => {
                // Replace rather than append, so a retried request does not carry the key twice.
                let others: Vec<(String, String)> = request
                    .url
                    .query_pairs()
                    .filter(|(k, _)| k != name.as_str())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                request
                    .url
                    .query_pairs_mut()
                    .clear()
                    .extend_pairs(others)
                    .append_pair(name, key);
            }
        }
        Ok(())
    }

    fn describe(&self) -> String {
        match &self.location {
            ApiKeyLocation::Header { name, .. } => format!("api key in header {name}"),
            ApiKeyLocation::Query { name } => format!("api key in query parameter {name}"),
        }
    }

    fn credential_fingerprint(&self) -> Option<u64> {
        Some(crate::http::credential_fingerprint(
            self.key.expose().expose_secret().as_bytes(),
        ))
    }

    fn secret_query_params(&self) -> Vec<String> {
        match &self.location {
            ApiKeyLocation::Query { name } => vec![name.clone()],
            ApiKeyLocation::Header { .. } => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::test_support::{assert_hidden, get};
    use crate::http::redact_url;

    #[tokio::test]
    async fn api_key_goes_in_the_default_header() {
        let location = ApiKeyLocation::from_config(None, None, None).unwrap();
        let auth = ApiKeyAuth::new("demo", Secret::literal("k-123"), location);
        let request = get(&auth).await;
        assert_eq!(request.headers["x-api-key"], "k-123");
        assert_eq!(request.url.query(), Some("page=1"));
    }

    #[tokio::test]
    async fn api_key_goes_in_a_named_header_with_prefix() {
        let location =
            ApiKeyLocation::from_config(Some("Authorization"), Some("Token "), None).unwrap();
        let auth = ApiKeyAuth::new("demo", Secret::literal("k-123"), location);
        let request = get(&auth).await;
        assert_eq!(request.headers["authorization"], "Token k-123");
        assert!(request.headers["authorization"].is_sensitive());
    }

    #[tokio::test]
    async fn api_key_goes_in_the_query_once_and_is_redacted() {
        let location = ApiKeyLocation::from_config(None, None, Some("sekret_param")).unwrap();
        let auth = ApiKeyAuth::new("demo", Secret::literal("k-123"), location);
        let mut request = HttpRequest::get(
            url::Url::parse("http://127.0.0.1/items?page=2&sekret_param=stale").unwrap(),
        );
        auth.apply(&mut request).await.unwrap();
        auth.apply(&mut request).await.unwrap();
        let pairs: Vec<(String, String)> = request
            .url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("page".to_owned(), "2".to_owned()),
                ("sekret_param".to_owned(), "k-123".to_owned())
            ]
        );
        let params = auth.secret_query_params();
        assert_eq!(params, ["sekret_param"]);
        let names: Vec<&str> = params.iter().map(String::as_str).collect();
        let shown = redact_url(&request.url, &names);
        assert!(!shown.contains("k-123"), "{shown}");
        assert!(shown.contains("sekret_param=[redacted]"), "{shown}");
        assert_hidden(&auth, &["k-123"]);
    }

    #[test]
    fn api_key_location_refuses_header_and_query_together() {
        let err = ApiKeyLocation::from_config(Some("X-Key"), None, Some("key")).unwrap_err();
        assert_eq!(err.field, "auth.query_param");
        let err = ApiKeyLocation::from_config(Some("bad header"), None, None).unwrap_err();
        assert_eq!(err.field, "auth.header");
    }

    #[tokio::test]
    async fn api_key_on_the_wire_through_api_client() {
        use std::sync::Arc;
        use wiremock::matchers::{header, method, path, query_param};
        use wiremock::{Mock, MockServer, ResponseTemplate};

        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/h"))
            .and(header("x-api-key", "k-123"))
            .respond_with(ResponseTemplate::new(200))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/q"))
            .and(query_param("api_key", "k-123"))
            .respond_with(ResponseTemplate::new(200))
            .expect(1)
            .mount(&server)
            .await;
        for (location, route) in [
            (ApiKeyLocation::from_config(None, None, None).unwrap(), "h"),
            (
                ApiKeyLocation::from_config(None, None, Some("api_key")).unwrap(),
                "q",
            ),
        ] {
            let auth = Arc::new(ApiKeyAuth::new("demo", Secret::literal("k-123"), location));
            let client = crate::auth::test_support::api_client(auth);
            let url = url::Url::parse(&format!("{}/{route}", server.uri())).unwrap();
            client.send(HttpRequest::get(url)).await.unwrap();
        }
    }
}
