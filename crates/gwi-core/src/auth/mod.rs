//! Auth strategies: how credentials get onto every request and stay fresh.

use async_trait::async_trait;
use schemars::JsonSchema;
use secrecy::ExposeSecret;
use serde::Deserialize;

use crate::config::Secret;
use crate::error::ConnectorError;
use crate::http::HttpRequest;

/// How a connector proves who it is; applied by [`ApiClient`](crate::http::ApiClient) to every request.
#[async_trait]
pub trait AuthStrategy: Send + Sync + std::fmt::Debug {
    /// Puts the credentials on `request`, refreshing them first when they are about to expire.
    async fn apply(&self, request: &mut HttpRequest) -> Result<(), ConnectorError>;

    /// Called after a 401: refresh if this strategy can. `Ok(true)` means "retry the request once".
    async fn on_unauthorized(&self) -> Result<bool, ConnectorError> {
        Ok(false)
    }

    /// A description safe to show in metadata, health output and logs (never a secret).
    fn describe(&self) -> String;

    /// Tells credentials apart so each gets its own rate limiter; see
    /// [`credential_fingerprint`](crate::http::credential_fingerprint). `None` shares one limiter
    /// among every credential of the same [`describe`](Self::describe) (slower, never too fast).
    fn credential_fingerprint(&self) -> Option<u64> {
        None
    }
}

/// Sends no credentials.
#[derive(Debug, Default)]
pub struct NoAuth;

#[async_trait]
impl AuthStrategy for NoAuth {
    async fn apply(&self, _request: &mut HttpRequest) -> Result<(), ConnectorError> {
        Ok(())
    }
    fn describe(&self) -> String {
        "none".to_owned()
    }
}

/// `Authorization: Bearer <token>`.
#[derive(Debug)]
pub struct BearerAuth {
    connector: String,
    token: Secret,
}

impl BearerAuth {
    /// A bearer strategy for `connector` with `token`.
    pub fn new(connector: impl Into<String>, token: Secret) -> Self {
        Self {
            connector: connector.into(),
            token,
        }
    }
}

#[async_trait]
impl AuthStrategy for BearerAuth {
    async fn apply(&self, request: &mut HttpRequest) -> Result<(), ConnectorError> {
        let value = format!("Bearer {}", self.token.expose().expose_secret());
        let mut value = http::HeaderValue::from_str(&value).map_err(|_| {
            ConnectorError::validation(
                self.connector.clone(),
                "auth.token",
                "contains characters not allowed in an HTTP header",
            )
        })?;
        value.set_sensitive(true);
        request.headers.insert(http::header::AUTHORIZATION, value);
        Ok(())
    }
    fn describe(&self) -> String {
        "bearer token".to_owned()
    }
    fn credential_fingerprint(&self) -> Option<u64> {
        Some(crate::http::credential_fingerprint(
            self.token.expose().expose_secret().as_bytes(),
        ))
    }
}

/// The `auth` table of a connector config, tagged by `type`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AuthConfig {
    /// No credentials (public APIs, the local sandbox).
    None,
    /// A bearer token (personal access token, API token).
    Bearer {
        /// The token: `env:NAME`, `file:PATH` or a literal.
        token: Secret,
    },
}

impl AuthConfig {
    /// Builds the strategy this config describes.
    pub fn build(
        &self,
        connector: &str,
    ) -> Result<std::sync::Arc<dyn AuthStrategy>, ConnectorError> {
        Ok(match self {
            Self::None => std::sync::Arc::new(NoAuth),
            Self::Bearer { token } => {
                std::sync::Arc::new(BearerAuth::new(connector, token.clone()))
            }
        })
    }

    /// The config's `type` tag, for metadata and health output.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Bearer { .. } => "bearer",
        }
    }
}
