//! Auth strategies: how credentials get onto every request and stay fresh.
//!
//! A connector's config names a strategy in its `auth` table ([`AuthConfig`]); the framework builds
//! it ([`AuthConfig::build`]) and [`ApiClient`](crate::http::ApiClient) applies it to every request.
//! Static credentials ([`BearerAuth`], [`BasicAuth`], [`ApiKeyAuth`]) are copied onto the request;
//! token-based ones ([`OAuth2Auth`], [`ServiceAccountAuth`], [`GithubAppAuth`]) keep a short-lived
//! access token, refresh it ahead of expiry with one token request however many callers need it,
//! and refresh once more when the provider answers 401.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use schemars::JsonSchema;
use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

use crate::config::Secret;
use crate::error::{ConnectorError, FieldError};
use crate::http::{HttpClient, HttpRequest};

mod api_key;
mod basic;
mod bearer;
mod clock;
mod github_app;
mod oauth2;
mod service_account;
mod token_cache;
mod token_http;

#[cfg(test)]
mod test_support;

pub use self::api_key::{ApiKeyAuth, ApiKeyLocation};
pub use self::basic::BasicAuth;
pub use self::bearer::BearerAuth;
pub use self::clock::{Clock, ManualClock, SystemClock};
pub use self::github_app::{GithubAppAuth, GithubAppId, GithubAppSettings};
pub use self::oauth2::{ClientAuth, OAuth2Auth, OAuth2Grant, OAuth2Settings};
pub use self::service_account::{ServiceAccountAuth, ServiceAccountKey};
pub use self::token_cache::CachedToken;

/// How a connector proves who it is; applied by [`ApiClient`](crate::http::ApiClient) to every request.
#[async_trait]
pub trait AuthStrategy: Send + Sync + std::fmt::Debug {
    /// Puts the credentials on `request`, refreshing them first when they are about to expire.
    async fn apply(&self, request: &mut HttpRequest) -> Result<(), ConnectorError>;

    /// Called after a 401: refresh if this strategy can. `Ok(true)` means "retry the request once".
    ///
    /// Many requests failing with the same stale token cause one refresh, not one each.
    async fn on_unauthorized(&self) -> Result<bool, ConnectorError> {
        Ok(false)
    }

    /// A description safe to show in metadata, health output and logs (never a secret).
    fn describe(&self) -> String;

    /// Whether the next [`apply`](Self::apply) would fetch new credentials first.
    async fn needs_refresh(&self) -> bool {
        false
    }

    /// Fetches new credentials now (a no-op for static credentials).
    async fn refresh(&self) -> Result<(), ConnectorError> {
        Ok(())
    }

    /// Query parameters this strategy puts secrets in; their values must be redacted wherever a URL
    /// is logged or reported (pass them to [`redact_url`](crate::http::redact_url)).
    fn secret_query_params(&self) -> Vec<String> {
        Vec::new()
    }

    /// Tells credentials apart so each gets its own rate limiter; see
    /// [`credential_fingerprint`](crate::http::credential_fingerprint). `None` shares one limiter
    /// among every credential of the same [`describe`](Self::describe) (slower, never too fast).
    fn credential_fingerprint(&self) -> Option<u64> {
        None
    }
}

/// Keeps refresh tokens that the provider rotated, so the next run starts from the newest one.
///
/// Some providers invalidate a refresh token once it has been used: losing the rotated one means the
/// user has to authorise the connector again. The store implements this; without a sink a rotated
/// token lives only as long as the process.
#[async_trait]
pub trait RefreshTokenSink: Send + Sync + std::fmt::Debug {
    /// Persists `token` durably, replacing the previous one; an error fails the request that
    /// triggered the refresh.
    async fn save(&self, token: &SecretString) -> Result<(), ConnectorError>;

    /// The most recently saved token, which takes precedence over the one in the config.
    async fn load(&self) -> Result<Option<SecretString>, ConnectorError> {
        Ok(None)
    }

    /// Keeps every other process sharing the store from refreshing this token until
    /// [`unlock`](Self::unlock): a provider that rotates refresh tokens accepts each once, so
    /// two processes refreshing with one token would leave one refused and its chain broken.
    /// The default holds nothing (a sink private to one process).
    async fn lock(&self) -> Result<(), ConnectorError> {
        Ok(())
    }

    /// Lets the next process refresh.
    async fn unlock(&self) {}
}

/// What building an auth strategy needs besides its config.
#[derive(Clone)]
pub struct AuthBuild<'a> {
    /// Connector name, for errors and logs.
    pub connector: &'a str,
    /// Raw transport for token endpoints (no auth, no retries); must not follow redirects.
    pub transport: Arc<dyn HttpClient>,
    /// Where OAuth2 persists rotated refresh tokens.
    pub token_sink: Option<Arc<dyn RefreshTokenSink>>,
    /// The clock token expiry and JWT claims are measured with.
    pub clock: Arc<dyn Clock>,
}

impl<'a> AuthBuild<'a> {
    /// Build inputs for `connector` over `transport`, with no token sink and the system clock.
    pub fn new(connector: &'a str, transport: Arc<dyn HttpClient>) -> Self {
        Self {
            connector,
            transport,
            token_sink: None,
            clock: Arc::new(SystemClock),
        }
    }

    /// Sets where rotated refresh tokens are persisted.
    pub fn token_sink(mut self, sink: Option<Arc<dyn RefreshTokenSink>>) -> Self {
        self.token_sink = sink;
        self
    }

    /// Sets the clock (tests use [`ManualClock`]).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

impl std::fmt::Debug for AuthBuild<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthBuild")
            .field("connector", &self.connector)
            .field("token_sink", &self.token_sink.is_some())
            .finish_non_exhaustive()
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

fn default_refresh_skew_secs() -> u64 {
    60
}

/// The `auth` table of a connector config, tagged by `type`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AuthConfig {
    /// No credentials (public APIs, the local sandbox).
    None,
    /// A bearer token (personal access token, API token), sent as `Authorization: Bearer <token>`.
    Bearer {
        /// The token: `env:NAME`, `file:PATH` or a literal.
        token: Secret,
    },
    /// HTTP Basic authentication (`Authorization: Basic base64(username:password)`).
    Basic {
        /// The user name or account email; not treated as a secret.
        username: String,
        /// The password or API token: `env:NAME`, `file:PATH` or a literal.
        password: Secret,
    },
    /// An API key sent in a header (default `X-API-Key`) or a query parameter.
    ApiKey {
        /// The key: `env:NAME`, `file:PATH` or a literal.
        key: Secret,
        /// Header that carries the key (default `X-API-Key` when `query_param` is not set).
        #[serde(default)]
        header: Option<String>,
        /// Text put before the key in the header, e.g. `"Token "`; header only.
        #[serde(default)]
        prefix: Option<String>,
        /// Query parameter that carries the key instead of a header; its value is redacted in every
        /// log, error and metric.
        #[serde(default)]
        query_param: Option<String>,
    },
    /// OAuth 2.0 access tokens from a token endpoint (refresh-token or client-credentials grant).
    #[serde(rename = "oauth2")]
    OAuth2 {
        /// The provider's token endpoint, e.g. `https://oauth2.googleapis.com/token`.
        token_url: Url,
        /// The OAuth client id.
        client_id: String,
        /// The OAuth client secret (confidential clients): `env:NAME`, `file:PATH` or a literal.
        #[serde(default)]
        client_secret: Option<Secret>,
        /// Which grant obtains access tokens: `refresh_token` (a user authorised the connector) or
        /// `client_credentials` (the client acts as itself).
        #[serde(default)]
        grant: OAuth2Grant,
        /// The refresh token from the user's authorisation (required by the `refresh_token` grant).
        /// Providers may rotate it; rotated tokens are saved to the state store.
        #[serde(default)]
        refresh_token: Option<Secret>,
        /// Scopes to request; empty keeps the scopes of the original grant.
        #[serde(default)]
        scopes: Vec<String>,
        /// How the client authenticates to the token endpoint: `basic` (HTTP Basic header) or
        /// `request_body` (`client_id`/`client_secret` form fields).
        #[serde(default)]
        client_auth: ClientAuth,
        /// Refresh the access token this many seconds before it expires.
        #[serde(default = "default_refresh_skew_secs")]
        refresh_skew_secs: u64,
    },
    /// A Google Cloud service account: a signed JWT exchanged for access tokens.
    ServiceAccount {
        /// The service-account JSON key exactly as Google issues it, usually `file:/path/key.json`
        /// or `env:NAME`.
        key: Secret,
        /// OAuth scopes to request, e.g. `https://www.googleapis.com/auth/cloud-platform`.
        #[schemars(length(min = 1))]
        scopes: Vec<String>,
        /// User to impersonate with domain-wide delegation (Google Workspace), if any.
        #[serde(default)]
        subject: Option<String>,
    },
    /// A GitHub App installation: an app JWT exchanged for hourly installation tokens.
    GithubApp {
        /// The app's numeric id (or its client id), from the app's settings page.
        app_id: GithubAppId,
        /// The installation to act as (in the installation's settings URL).
        installation_id: u64,
        /// The app's private key PEM: `file:/path/app.private-key.pem`, `env:NAME` or a literal.
        private_key: Secret,
        /// GitHub's REST API root: `https://api.github.com` when unset; for GitHub Enterprise
        /// Server use `https://HOST/api/v3`.
        #[serde(default)]
        base_url: Option<Url>,
    },
}

impl AuthConfig {
    /// The provider installation these credentials act as (a GitHub App's `installation_id`):
    /// deliveries naming it belong to this config's tenant.
    pub fn installation(&self) -> Option<String> {
        match self {
            Self::GithubApp {
                installation_id, ..
            } => Some(installation_id.to_string()),
            _ => None,
        }
    }

    /// Builds the strategy this config describes; config problems are reported by field path.
    pub fn build(&self, build: AuthBuild<'_>) -> Result<Arc<dyn AuthStrategy>, ConnectorError> {
        let connector = build.connector;
        Ok(match self {
            Self::None => Arc::new(NoAuth),
            Self::Bearer { token } => Arc::new(BearerAuth::new(connector, token.clone())),
            Self::Basic { username, password } => Arc::new(BasicAuth::new(
                connector,
                username.clone(),
                password.clone(),
            )),
            Self::ApiKey {
                key,
                header,
                prefix,
                query_param,
            } => {
                let location = ApiKeyLocation::from_config(
                    header.as_deref(),
                    prefix.as_deref(),
                    query_param.as_deref(),
                )
                .map_err(|e| ConnectorError::config(connector, vec![e]))?;
                Arc::new(ApiKeyAuth::new(connector, key.clone(), location))
            }
            Self::OAuth2 {
                token_url,
                client_id,
                client_secret,
                grant,
                refresh_token,
                scopes,
                client_auth,
                refresh_skew_secs,
            } => Arc::new(OAuth2Auth::new(
                OAuth2Settings {
                    token_url: token_url.clone(),
                    client_id: client_id.clone(),
                    client_secret: client_secret.clone(),
                    grant: *grant,
                    refresh_token: refresh_token.clone(),
                    scopes: scopes.clone(),
                    client_auth: *client_auth,
                    refresh_skew: Duration::from_secs(*refresh_skew_secs),
                },
                build,
            )?),
            Self::ServiceAccount {
                key,
                scopes,
                subject,
            } => {
                let parsed = ServiceAccountKey::parse(key.expose()).map_err(|message| {
                    ConnectorError::config(connector, vec![FieldError::new("auth.key", message)])
                })?;
                Arc::new(ServiceAccountAuth::new(
                    parsed,
                    scopes.clone(),
                    subject.clone(),
                    build,
                )?)
            }
            Self::GithubApp {
                app_id,
                installation_id,
                private_key,
                base_url,
            } => Arc::new(GithubAppAuth::new(
                GithubAppSettings {
                    app_id: app_id.clone(),
                    installation_id: *installation_id,
                    private_key: private_key.clone(),
                    base_url: base_url.clone(),
                },
                build,
            )?),
        })
    }

    /// The config's `type`.
    pub fn kind(&self) -> AuthKind {
        match self {
            Self::None => AuthKind::None,
            Self::Bearer { .. } => AuthKind::Bearer,
            Self::Basic { .. } => AuthKind::Basic,
            Self::ApiKey { .. } => AuthKind::ApiKey,
            Self::OAuth2 { .. } => AuthKind::OAuth2,
            Self::ServiceAccount { .. } => AuthKind::ServiceAccount,
            Self::GithubApp { .. } => AuthKind::GithubApp,
        }
    }
}

/// The `type` of an `auth` table: which credentials a connector accepts, and which a config holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    /// No credentials.
    None,
    /// A bearer token.
    Bearer,
    /// HTTP Basic.
    Basic,
    /// An API key in a header or query parameter.
    ApiKey,
    /// OAuth 2.0 tokens from a token endpoint.
    #[serde(rename = "oauth2")]
    OAuth2,
    /// A Google Cloud service account.
    ServiceAccount,
    /// A GitHub App installation.
    GithubApp,
}

impl AuthKind {
    /// The `type` value in a config.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Bearer => "bearer",
            Self::Basic => "basic",
            Self::ApiKey => "api_key",
            Self::OAuth2 => "oauth2",
            Self::ServiceAccount => "service_account",
            Self::GithubApp => "github_app",
        }
    }
}

impl std::fmt::Display for AuthKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Puts `Authorization: Bearer <token>` on `request`, marked sensitive; `field` names the config
/// field the token came from, for the error if it cannot be a header.
fn set_bearer(
    request: &mut HttpRequest,
    connector: &str,
    field: &str,
    token: &str,
) -> Result<(), ConnectorError> {
    let value = sensitive_header(connector, field, &format!("Bearer {token}"))?;
    request.headers.insert(http::header::AUTHORIZATION, value);
    Ok(())
}

/// An `Authorization`-style header value marked sensitive, so HTTP tooling never logs it.
fn sensitive_header(
    connector: &str,
    field: &str,
    value: &str,
) -> Result<http::HeaderValue, ConnectorError> {
    let mut value = http::HeaderValue::from_str(value).map_err(|_| {
        ConnectorError::validation(
            connector,
            field,
            "contains characters not allowed in an HTTP header",
        )
    })?;
    value.set_sensitive(true);
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CommonConfig, ValidateConfig, from_value};
    use serde_json::json;

    #[derive(Debug, Deserialize, JsonSchema)]
    struct Demo {
        #[serde(flatten)]
        common: CommonConfig,
    }
    impl ValidateConfig for Demo {}

    fn parse(auth: serde_json::Value) -> Result<AuthConfig, ConnectorError> {
        from_value::<Demo>("demo", json!({ "auth": auth })).map(|d| d.common.auth)
    }

    #[test]
    fn every_auth_type_parses_from_config() {
        let cases = [
            json!({"type": "none"}),
            json!({"type": "bearer", "token": "t"}),
            json!({"type": "basic", "username": "u", "password": "p"}),
            json!({"type": "api_key", "key": "k", "query_param": "api_key"}),
            json!({"type": "oauth2", "token_url": "https://example.com/token", "client_id": "c",
                   "client_secret": "s", "refresh_token": "r"}),
            json!({"type": "service_account", "key": "{}", "scopes": ["a"]}),
            json!({"type": "github_app", "app_id": 12345, "installation_id": 7, "private_key": "pem"}),
        ];
        let kinds: Vec<&str> = cases
            .into_iter()
            .map(|c| parse(c).map(|a| a.kind().as_str()).unwrap())
            .collect();
        assert_eq!(
            kinds,
            [
                "none",
                "bearer",
                "basic",
                "api_key",
                "oauth2",
                "service_account",
                "github_app"
            ]
        );
    }

    #[test]
    fn auth_config_defaults_apply() {
        let AuthConfig::OAuth2 {
            grant,
            client_auth,
            refresh_skew_secs,
            ..
        } = parse(
            json!({"type": "oauth2", "token_url": "https://example.com/token",
                          "client_id": "c", "refresh_token": "r"}),
        )
        .unwrap()
        else {
            panic!("not oauth2")
        };
        assert_eq!(grant, OAuth2Grant::RefreshToken);
        assert_eq!(client_auth, ClientAuth::Basic);
        assert_eq!(refresh_skew_secs, 60);
        let AuthConfig::GithubApp { app_id, base_url, .. } = parse(
            json!({"type": "github_app", "app_id": "Iv1.abc", "installation_id": 7, "private_key": "pem"}),
        )
        .unwrap() else {
            panic!("not github_app")
        };
        assert_eq!(app_id.as_str(), "Iv1.abc");
        assert!(base_url.is_none());
    }

    #[test]
    fn unknown_auth_field_is_refused() {
        let err = parse(json!({"type": "bearer", "token": "t", "tokne": "x"})).unwrap_err();
        assert!(err.to_string().contains("auth"), "{err}");
    }

    #[test]
    fn auth_config_debug_hides_every_secret() {
        let configs = [
            json!({"type": "bearer", "token": "secret-bearer-value"}),
            json!({"type": "basic", "username": "u", "password": "secret-basic-value"}),
            json!({"type": "api_key", "key": "secret-key-value"}),
            json!({"type": "oauth2", "token_url": "https://example.com/token", "client_id": "c",
                   "client_secret": "secret-client-value", "refresh_token": "secret-refresh-value"}),
            json!({"type": "service_account", "key": "secret-sa-value", "scopes": ["a"]}),
            json!({"type": "github_app", "app_id": 1, "installation_id": 7, "private_key": "secret-pem-value"}),
        ];
        for config in configs {
            let debug = format!("{:?}", parse(config).unwrap());
            assert!(debug.contains("[redacted]"), "{debug}");
            assert!(!debug.contains("secret-"), "{debug}");
        }
    }

    #[test]
    fn auth_schema_documents_every_type() {
        let schema = serde_json::to_string(&schemars::schema_for!(AuthConfig)).unwrap();
        for needle in [
            "\"bearer\"",
            "\"basic\"",
            "\"api_key\"",
            "\"oauth2\"",
            "\"service_account\"",
            "\"github_app\"",
            "Refresh the access token this many seconds before it expires.",
        ] {
            assert!(schema.contains(needle), "schema lacks {needle}");
        }
    }

    #[tokio::test]
    async fn static_strategies_put_credentials_on_the_wire_and_not_in_logs() {
        use wiremock::matchers::{header, method, path, query_param};
        use wiremock::{Mock, MockServer, ResponseTemplate};

        let logs = test_support::capture_logs();
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/bearer"))
            .and(header("authorization", "Bearer wire-bearer-secret"))
            .respond_with(ResponseTemplate::new(200))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/basic"))
            // base64("u:wire-basic-secret")
            .and(header(
                "authorization",
                "Basic dTp3aXJlLWJhc2ljLXNlY3JldA==",
            ))
            .respond_with(ResponseTemplate::new(200))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/api_key"))
            .and(query_param("api_key", "wire-key-secret"))
            .respond_with(ResponseTemplate::new(200))
            .expect(1)
            .mount(&server)
            .await;
        let configs = [
            (
                "bearer",
                json!({"type": "bearer", "token": "wire-bearer-secret"}),
            ),
            (
                "basic",
                json!({"type": "basic", "username": "u", "password": "wire-basic-secret"}),
            ),
            (
                "api_key",
                json!({"type": "api_key", "key": "wire-key-secret", "query_param": "api_key"}),
            ),
        ];
        for (route, config) in configs {
            let auth = parse(config)
                .unwrap()
                .build(AuthBuild::new("demo", test_support::transport()))
                .unwrap();
            let client = test_support::api_client(auth.clone());
            let url = Url::parse(&format!("{}/{route}", server.uri())).unwrap();
            client.send(HttpRequest::get(url)).await.unwrap();
            tracing::info!(auth = ?auth, client = ?client, described = %auth.describe(), "sent");
        }
        let text = logs.text();
        assert_eq!(text.matches(" sent ").count(), 3, "{text}");
        assert!(!text.contains("wire-"), "{text}");
    }

    #[test]
    fn build_reports_bad_service_account_key_by_field() {
        let config = parse(
            json!({"type": "service_account", "key": "{\"client_email\": 1}", "scopes": ["a"]}),
        )
        .unwrap();
        let transport: Arc<dyn HttpClient> = Arc::new(test_support::UnreachableTransport);
        let err = config.build(AuthBuild::new("demo", transport)).unwrap_err();
        let ConnectorError::Config { errors, .. } = err else {
            panic!("not a config error: {err}")
        };
        assert_eq!(errors[0].field, "auth.key");
    }
}
