//! `Authorization: Bearer <token>` with a static token.

use async_trait::async_trait;
use secrecy::ExposeSecret;

use crate::auth::{AuthStrategy, set_bearer};
use crate::config::Secret;
use crate::error::ConnectorError;
use crate::http::HttpRequest;

/// Sends a static token as `Authorization: Bearer <token>`.
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

impl std::fmt::Debug for BearerAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerAuth")
            .field("connector", &self.connector)
            .field("token", &self.token)
            .finish()
    }
}

#[async_trait]
impl AuthStrategy for BearerAuth {
    async fn apply(&self, request: &mut HttpRequest) -> Result<(), ConnectorError> {
        set_bearer(
            request,
            &self.connector,
            "auth.token",
            self.token.expose().expose_secret(),
        )
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::test_support::{assert_hidden, get};

    #[tokio::test]
    async fn bearer_sends_authorization_header() {
        let auth = BearerAuth::new("demo", Secret::literal("tok-123"));
        let request = get(&auth).await;
        assert_eq!(request.headers["authorization"], "Bearer tok-123");
        assert!(request.headers["authorization"].is_sensitive());
    }

    #[test]
    fn bearer_debug_and_describe_hide_the_token() {
        let auth = BearerAuth::new("demo", Secret::literal("tok-123"));
        assert_hidden(&auth, &["tok-123"]);
    }

    #[tokio::test]
    async fn bearer_token_with_newline_is_refused_without_echoing_it() {
        let auth = BearerAuth::new("demo", Secret::literal("tok\nsecretvalue"));
        let mut request = HttpRequest::get(url::Url::parse("http://127.0.0.1/").unwrap());
        let err = auth.apply(&mut request).await.unwrap_err();
        assert!(err.to_string().contains("auth.token"), "{err}");
        assert!(!err.to_string().contains("secretvalue"), "{err}");
    }
}
