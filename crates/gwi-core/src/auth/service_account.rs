//! Google service accounts: an RS256-signed JWT assertion exchanged for access tokens.

use std::time::Duration;

use async_trait::async_trait;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::auth::AuthBuild;
use crate::auth::Clock;
use crate::auth::token_cache::{CachedToken, IssuedToken, TokenSource};
use crate::auth::token_http::{TokenEndpoint, unexpected_response};
use crate::error::{ConnectorError, FieldError};
use crate::http::{HttpRequest, redact_url};

/// The grant type of RFC 7523 JWT bearer assertions.
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Google's token endpoint, for keys that do not name one.
const GOOGLE_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// Lifetime of an assertion; Google accepts at most one hour.
const ASSERTION_LIFETIME_SECS: i64 = 3600;
/// Access tokens are replaced this long before they expire.
const REFRESH_SKEW: Duration = Duration::from_secs(300);
/// What the user must do when Google refuses the assertion.
const ADVICE: &str = "check that the service-account key is still active (not deleted or disabled), \
that `auth.subject` is allowed by domain-wide delegation if set, and that the system clock is correct";

/// The parts of a Google service-account JSON key that signing needs.
pub struct ServiceAccountKey {
    /// The service account's email, the assertion's issuer.
    pub client_email: String,
    /// Which of the account's keys this is (the JWT `kid`).
    pub private_key_id: Option<String>,
    /// Where assertions are exchanged for access tokens.
    pub token_uri: Url,
    private_key: SecretString,
}

impl ServiceAccountKey {
    /// Reads a key as Google issues it; the error names the missing or wrong field, never a value.
    pub fn parse(json: &SecretString) -> Result<Self, String> {
        let value: serde_json::Value = serde_json::from_str(json.expose_secret()).map_err(|e| {
            format!(
                "is not a JSON service-account key (line {}, column {}); download the key from the Google Cloud console",
                e.line(),
                e.column()
            )
        })?;
        let text = |field: &str| value.get(field).and_then(serde_json::Value::as_str);
        if let Some(kind) = text("type")
            && kind != "service_account"
        {
            return Err(format!(
                "is a {kind:?} credential, not a service-account key (\"type\": \"service_account\")"
            ));
        }
        let required = |field: &str| {
            text(field)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| format!("the key has no `{field}` text field"))
        };
        let token_uri = text("token_uri").unwrap_or(GOOGLE_TOKEN_URI);
        Ok(Self {
            client_email: required("client_email")?.to_owned(),
            private_key_id: text("private_key_id").map(str::to_owned),
            token_uri: Url::parse(token_uri)
                .map_err(|e| format!("the key's `token_uri` is not a URL: {e}"))?,
            private_key: SecretString::from(required("private_key")?.to_owned()),
        })
    }
}

impl std::fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("client_email", &self.client_email)
            .field("private_key_id", &self.private_key_id)
            .field("token_uri", &self.token_uri.as_str())
            .field("private_key", &"[redacted]")
            .finish()
    }
}

#[derive(Serialize)]
struct AssertionClaims<'a> {
    iss: &'a str,
    scope: String,
    aud: &'a str,
    iat: i64,
    exp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<&'a str>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: Option<u64>,
}

/// Sends `Authorization: Bearer <access token>` for a Google service account, exchanging a signed
/// JWT assertion for access tokens and refreshing them before they expire.
pub struct ServiceAccountAuth {
    connector: String,
    client_email: String,
    key_id: Option<String>,
    signing_key: EncodingKey,
    token_uri: Url,
    scopes: Vec<String>,
    subject: Option<String>,
    endpoint: TokenEndpoint,
}

impl ServiceAccountAuth {
    /// A strategy for `key` requesting `scopes`, impersonating `subject` if given.
    pub fn new(
        key: ServiceAccountKey,
        scopes: Vec<String>,
        subject: Option<String>,
        build: AuthBuild<'_>,
    ) -> Result<CachedToken<Self>, ConnectorError> {
        let connector = build.connector;
        if scopes.is_empty() {
            return Err(ConnectorError::config(
                connector,
                vec![FieldError::new("auth.scopes", "name at least one scope")],
            ));
        }
        let signing_key = EncodingKey::from_rsa_pem(key.private_key.expose_secret().as_bytes())
            .map_err(|_| {
                ConnectorError::config(
                    connector,
                    vec![FieldError::new(
                        "auth.key",
                        "the key's `private_key` is not an RSA private key in PEM form",
                    )],
                )
            })?;
        Ok(CachedToken::new(
            Self {
                connector: connector.to_owned(),
                client_email: key.client_email,
                key_id: key.private_key_id,
                signing_key,
                token_uri: key.token_uri,
                scopes,
                subject,
                endpoint: TokenEndpoint {
                    connector: connector.to_owned(),
                    transport: build.transport,
                },
            },
            connector,
            build.clock,
            REFRESH_SKEW,
        ))
    }

    fn assertion(&self, clock: &dyn Clock) -> Result<String, ConnectorError> {
        let now = clock.now().timestamp();
        let claims = AssertionClaims {
            iss: &self.client_email,
            scope: self.scopes.join(" "),
            aud: self.token_uri.as_str(),
            iat: now,
            exp: now + ASSERTION_LIFETIME_SECS,
            sub: self.subject.as_deref(),
        };
        let mut header = Header::new(Algorithm::RS256);
        header.kid = self.key_id.clone();
        jsonwebtoken::encode(&header, &claims, &self.signing_key).map_err(|e| {
            ConnectorError::validation(
                self.connector.clone(),
                "auth.key",
                format!("cannot sign the assertion: {e}"),
            )
        })
    }
}

impl std::fmt::Debug for ServiceAccountAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountAuth")
            .field("connector", &self.connector)
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri.as_str())
            .field("scopes", &self.scopes)
            .field("subject", &self.subject)
            .field("private_key", &"[redacted]")
            .field("access_token", &"[redacted]")
            .finish()
    }
}

#[async_trait]
impl TokenSource for ServiceAccountAuth {
    async fn fetch(&self, clock: &dyn Clock) -> Result<IssuedToken, ConnectorError> {
        tracing::debug!(
            connector = %self.connector,
            service_account = %self.client_email,
            token_url = %redact_url(&self.token_uri, &[]),
            "exchanging a service-account assertion for an access token"
        );
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", JWT_BEARER)
            .append_pair("assertion", &self.assertion(clock)?)
            .finish();
        let mut request = HttpRequest::new(http::Method::POST, self.token_uri.clone());
        request.headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        request.headers.insert(
            http::header::ACCEPT,
            http::HeaderValue::from_static("application/json"),
        );
        request.body = Some(body.into());
        let response = self.endpoint.send(request).await?;
        if !response.status.is_success() {
            return Err(self.endpoint.oauth_failure(&response, ADVICE));
        }
        let answer: TokenAnswer = response.json().map_err(|e| {
            unexpected_response(&self.connector, &self.token_uri, &e.path().to_string())
        })?;
        let now = clock.now();
        let expires_at = answer.expires_in.and_then(|secs| {
            now.checked_add_signed(chrono::Duration::seconds(i64::try_from(secs).ok()?))
        });
        Ok(IssuedToken {
            access_token: SecretString::from(answer.access_token),
            expires_at,
        })
    }

    fn describe(&self) -> String {
        format!("google service account {}", self.client_email)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::Utc;
    use jsonwebtoken::{DecodingKey, Validation};
    use serde_json::json;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;
    use crate::auth::test_support::{
        CountingTokens, TEST_KEY, assert_hidden, capture_logs, form, get, transport,
    };
    use crate::auth::{AuthConfig, AuthStrategy, Clock, ManualClock};

    const EMAIL: &str = "sync@demo-project.iam.gserviceaccount.com";

    fn key_json(token_uri: &str) -> String {
        json!({
            "type": "service_account",
            "project_id": "demo-project",
            "private_key_id": "kid-123",
            "private_key": TEST_KEY.pkcs8_pem,
            "client_email": EMAIL,
            "client_id": "1234567890",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": token_uri,
        })
        .to_string()
    }

    async fn setup(expires_in: u64) -> (MockServer, Arc<ManualClock>, Arc<dyn AuthStrategy>) {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(CountingTokens::new(expires_in, json!({})))
            .mount(&server)
            .await;
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let dir = tempfile::tempdir().unwrap();
        let key_path = dir.path().join("key.json");
        std::fs::write(&key_path, key_json(&format!("{}/token", server.uri()))).unwrap();
        // Through the config, as users configure it: the key read from a file.
        let config: AuthConfig = serde_json::from_value(json!({
            "type": "service_account",
            "key": format!("file:{}", key_path.display()),
            "scopes": ["https://www.googleapis.com/auth/cloud-platform", "openid"],
            "subject": "admin@example.com",
        }))
        .unwrap();
        let auth = config
            .build(AuthBuild::new("demo", transport()).clock(clock.clone()))
            .unwrap();
        (server, clock, auth)
    }

    #[tokio::test]
    async fn service_account_assertion_verifies_and_carries_the_claims() {
        let (server, clock, auth) = setup(3600).await;
        let request = get(auth.as_ref()).await;
        assert_eq!(request.headers["authorization"], "Bearer at-1");

        let requests = server.received_requests().await.unwrap();
        let sent = form(&requests[0]);
        assert_eq!(
            sent["grant_type"],
            "urn:ietf:params:oauth:grant-type:jwt-bearer"
        );
        let token_uri = format!("{}/token", server.uri());
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[&token_uri]);
        validation.set_issuer(&[EMAIL]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud"]);
        let decoded = jsonwebtoken::decode::<serde_json::Value>(
            &sent["assertion"],
            &DecodingKey::from_rsa_pem(TEST_KEY.public_pem.as_bytes()).unwrap(),
            &validation,
        )
        .unwrap();
        assert_eq!(decoded.header.kid.as_deref(), Some("kid-123"));
        let claims = decoded.claims;
        assert_eq!(
            claims["scope"],
            "https://www.googleapis.com/auth/cloud-platform openid"
        );
        assert_eq!(claims["sub"], "admin@example.com");
        let iat = claims["iat"].as_i64().unwrap();
        let exp = claims["exp"].as_i64().unwrap();
        assert_eq!(iat, clock.now().timestamp());
        assert!(exp > iat && exp - iat <= 3600, "iat {iat} exp {exp}");
    }

    #[tokio::test]
    async fn service_account_token_is_cached_then_refreshed_before_expiry() {
        let (server, clock, auth) = setup(3600).await;
        assert_eq!(
            get(auth.as_ref()).await.headers["authorization"],
            "Bearer at-1"
        );
        clock.advance(Duration::from_secs(3000));
        assert_eq!(
            get(auth.as_ref()).await.headers["authorization"],
            "Bearer at-1"
        );
        assert_eq!(server.received_requests().await.unwrap().len(), 1);
        // 3301 s in: inside the 5-minute margin, so a new assertion is exchanged.
        clock.advance(Duration::from_secs(301));
        assert_eq!(
            get(auth.as_ref()).await.headers["authorization"],
            "Bearer at-2"
        );
        assert_eq!(server.received_requests().await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn service_account_short_lived_token_is_not_refetched_on_every_request() {
        // A 60 s token with a 5-minute margin would always look stale; the margin is capped at half.
        let (server, clock, auth) = setup(60).await;
        get(auth.as_ref()).await;
        clock.advance(Duration::from_secs(29));
        get(auth.as_ref()).await;
        assert_eq!(server.received_requests().await.unwrap().len(), 1);
        clock.advance(Duration::from_secs(2));
        assert_eq!(
            get(auth.as_ref()).await.headers["authorization"],
            "Bearer at-2"
        );
    }

    #[tokio::test]
    async fn service_account_invalid_grant_explains_what_to_check() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(ResponseTemplate::new(400).set_body_json(
                json!({"error": "invalid_grant", "error_description": "Invalid JWT Signature."}),
            ))
            .mount(&server)
            .await;
        let key = ServiceAccountKey::parse(&SecretString::from(key_json(&format!(
            "{}/token",
            server.uri()
        ))))
        .unwrap();
        let auth = ServiceAccountAuth::new(
            key,
            vec!["s".to_owned()],
            None,
            AuthBuild::new("demo", transport()),
        )
        .unwrap();
        let mut request = HttpRequest::get(Url::parse("http://127.0.0.1/").unwrap());
        let err = auth.apply(&mut request).await.unwrap_err();
        assert!(
            matches!(err, ConnectorError::Authentication { .. }),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(text.contains("Invalid JWT Signature."), "{text}");
        assert!(text.contains("service-account key"), "{text}");
    }

    #[tokio::test]
    async fn service_account_secrets_stay_out_of_debug_and_logs() {
        let logs = capture_logs();
        let (_server, _clock, auth) = setup(3600).await;
        get(auth.as_ref()).await;
        tracing::info!(auth = ?auth, "after");
        let text = logs.text();
        assert!(
            text.contains("exchanging a service-account assertion"),
            "{text}"
        );
        let pem_body = TEST_KEY.pkcs8_pem.lines().nth(1).unwrap();
        for secret in [pem_body, "at-1"] {
            assert!(!text.contains(secret), "log shows {secret}");
        }
        assert_hidden(auth.as_ref(), &[pem_body, "at-1"]);
    }

    #[test]
    fn service_account_key_errors_name_the_field_not_the_value() {
        let parse = |text: &str| ServiceAccountKey::parse(&SecretString::from(text.to_owned()));
        let err = parse("not json secret-ish").unwrap_err();
        assert!(!err.contains("secret-ish"), "{err}");
        let err =
            parse(r#"{"type": "authorized_user", "refresh_token": "rt-secret"}"#).unwrap_err();
        assert!(
            err.contains("authorized_user") && !err.contains("rt-secret"),
            "{err}"
        );
        let err = parse(r#"{"client_email": "a@b", "private_key": 5}"#).unwrap_err();
        assert!(err.contains("`private_key`"), "{err}");
        let key = parse(r#"{"client_email": "a@b", "private_key": "pem-secret"}"#).unwrap();
        assert_eq!(key.token_uri.as_str(), GOOGLE_TOKEN_URI);
        assert!(!format!("{key:?}").contains("pem-secret"));
    }
}
