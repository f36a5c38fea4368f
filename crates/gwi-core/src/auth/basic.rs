//! HTTP Basic authentication.

use async_trait::async_trait;
use base64::Engine;
use secrecy::ExposeSecret;

use crate::auth::{AuthStrategy, sensitive_header};
use crate::config::Secret;
use crate::error::ConnectorError;
use crate::http::HttpRequest;

/// Sends `Authorization: Basic base64(username:password)`.
pub struct BasicAuth {
    connector: String,
    username: String,
    password: Secret,
}

impl BasicAuth {
    /// A Basic strategy for `connector`.
    pub fn new(
        connector: impl Into<String>,
        username: impl Into<String>,
        password: Secret,
    ) -> Self {
        Self {
            connector: connector.into(),
            username: username.into(),
            password,
        }
    }
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicAuth")
            .field("connector", &self.connector)
            .field("username", &self.username)
            .field("password", &self.password)
            .finish()
    }
}

#[async_trait]
impl AuthStrategy for BasicAuth {
    async fn apply(&self, request: &mut HttpRequest) -> Result<(), ConnectorError> {
        let credentials = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            self.username,
            self.password.expose().expose_secret()
        ));
        let value = sensitive_header(
            &self.connector,
            "auth.password",
            &format!("Basic {credentials}"),
        )?;
        request.headers.insert(http::header::AUTHORIZATION, value);
        Ok(())
    }

    fn describe(&self) -> String {
        "basic auth".to_owned()
    }

    fn credential_fingerprint(&self) -> Option<u64> {
        let credential = format!(
            "{}:{}",
            self.username,
            self.password.expose().expose_secret()
        );
        Some(crate::http::credential_fingerprint(credential.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::test_support::{assert_hidden, get};

    #[tokio::test]
    async fn basic_sends_encoded_credentials() {
        let auth = BasicAuth::new("demo", "alice@example.com", Secret::literal("pa:ss"));
        let request = get(&auth).await;
        // base64("alice@example.com:pa:ss")
        assert_eq!(
            request.headers["authorization"],
            "Basic YWxpY2VAZXhhbXBsZS5jb206cGE6c3M="
        );
        assert!(request.headers["authorization"].is_sensitive());
    }

    #[test]
    fn basic_debug_and_describe_hide_the_password() {
        let auth = BasicAuth::new("demo", "alice", Secret::literal("hunter2"));
        assert_hidden(&auth, &["hunter2"]);
    }
}
