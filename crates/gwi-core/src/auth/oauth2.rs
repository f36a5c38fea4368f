//! OAuth 2.0 access tokens from a token endpoint, via the `oauth2` crate over gwi's transport.

use std::sync::Arc;
use std::time::Duration;

use ::oauth2::basic::{BasicClient, BasicErrorResponse};
use ::oauth2::{
    AuthType, ClientId, ClientSecret, EndpointNotSet, EndpointSet, RefreshToken, RequestTokenError,
    Scope, TokenResponse, TokenUrl,
};
use async_trait::async_trait;
use schemars::JsonSchema;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;
use url::Url;

use crate::auth::Clock;
use crate::auth::token_cache::{CachedToken, IssuedToken, TokenSource};
use crate::auth::token_http::{
    OAuth2Http, TokenEndpoint, TokenHttpError, oauth_error, unexpected_response,
};
use crate::auth::{AuthBuild, RefreshTokenSink};
use crate::config::Secret;
use crate::error::{ConnectorError, FieldError};
use crate::http::redact_url;

/// What the user must do after the provider rejected the refresh token.
const REAUTHORISE: &str = "the refresh token is expired or revoked: the user must re-authorise the \
connector and put the new refresh token in `auth.refresh_token`";

/// The grant that obtains access tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OAuth2Grant {
    /// Exchange a refresh token a user granted (RFC 6749 section 6).
    #[default]
    RefreshToken,
    /// The client authenticates as itself (RFC 6749 section 4.4).
    ClientCredentials,
}

/// How the client authenticates to the token endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// An HTTP Basic header with the client id and secret (every server must accept it).
    #[default]
    Basic,
    /// `client_id` and `client_secret` form fields in the request body.
    RequestBody,
}

/// Everything an [`OAuth2Auth`] is built from (the `oauth2` auth config, typed).
#[derive(Debug, Clone)]
pub struct OAuth2Settings {
    /// The token endpoint.
    pub token_url: Url,
    /// The client id.
    pub client_id: String,
    /// The client secret, for confidential clients.
    pub client_secret: Option<Secret>,
    /// Which grant to use.
    pub grant: OAuth2Grant,
    /// The refresh token (required by [`OAuth2Grant::RefreshToken`]).
    pub refresh_token: Option<Secret>,
    /// Scopes to request; empty requests none explicitly.
    pub scopes: Vec<String>,
    /// How the client authenticates to the token endpoint.
    pub client_auth: ClientAuth,
    /// How long before expiry the access token is replaced.
    pub refresh_skew: Duration,
}

type TokenClient =
    BasicClient<EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// The refresh token in use; it changes when the provider rotates it.
struct RefreshState {
    token: Option<SecretString>,
    /// A rotated token the sink failed to save: newer than the stored one, which must not
    /// replace it.
    unsaved: bool,
}

/// Sends `Authorization: Bearer <access token>`, obtaining and refreshing the access token at an
/// OAuth2 token endpoint.
pub struct OAuth2Auth {
    connector: String,
    client: TokenClient,
    grant: OAuth2Grant,
    scopes: Vec<Scope>,
    token_url: Url,
    endpoint: TokenEndpoint,
    sink: Option<Arc<dyn RefreshTokenSink>>,
    refresh: Mutex<RefreshState>,
}

impl OAuth2Auth {
    /// A strategy from `settings`; a refresh-token grant without a refresh token is a config error.
    pub fn new(
        settings: OAuth2Settings,
        build: AuthBuild<'_>,
    ) -> Result<CachedToken<Self>, ConnectorError> {
        let connector = build.connector;
        if settings.grant == OAuth2Grant::RefreshToken && settings.refresh_token.is_none() {
            return Err(ConnectorError::config(
                connector,
                vec![FieldError::new(
                    "auth.refresh_token",
                    "missing (the `refresh_token` grant needs one; use grant = \"client_credentials\" for app-only access)",
                )],
            ));
        }
        if settings.grant == OAuth2Grant::ClientCredentials && settings.client_secret.is_none() {
            return Err(ConnectorError::config(
                connector,
                vec![FieldError::new(
                    "auth.client_secret",
                    "missing (the `client_credentials` grant needs one)",
                )],
            ));
        }
        let mut client = BasicClient::new(ClientId::new(settings.client_id))
            .set_token_uri(TokenUrl::from_url(settings.token_url.clone()))
            .set_auth_type(match settings.client_auth {
                ClientAuth::Basic => AuthType::BasicAuth,
                ClientAuth::RequestBody => AuthType::RequestBody,
            });
        if let Some(secret) = &settings.client_secret {
            client = client.set_client_secret(ClientSecret::new(
                secret.expose().expose_secret().to_owned(),
            ));
        }
        Ok(CachedToken::new(
            Self {
                connector: connector.to_owned(),
                client,
                grant: settings.grant,
                scopes: settings.scopes.into_iter().map(Scope::new).collect(),
                token_url: settings.token_url,
                endpoint: TokenEndpoint {
                    connector: connector.to_owned(),
                    transport: build.transport,
                },
                sink: build.token_sink,
                refresh: Mutex::new(RefreshState {
                    token: settings.refresh_token.map(|s| s.expose().clone()),
                    unsaved: false,
                }),
            },
            connector,
            build.clock,
            settings.refresh_skew,
        ))
    }

    /// Exchanges the latest refresh token (the stored one, which another process may have
    /// rotated since this one last looked) and keeps what the provider rotates it to.
    async fn refresh_latest(
        &self,
        state: &mut RefreshState,
        http: &OAuth2Http<'_>,
    ) -> Result<::oauth2::basic::BasicTokenResponse, ConnectorError> {
        if !state.unsaved
            && let Some(sink) = &self.sink
            && let Some(saved) = sink.load().await?
        {
            state.token = Some(saved);
        }
        let current = state.token.clone().ok_or_else(|| {
            ConnectorError::config(
                self.connector.clone(),
                vec![FieldError::new("auth.refresh_token", "missing")],
            )
        })?;
        let refresh_token = RefreshToken::new(current.expose_secret().to_owned());
        let response = self
            .client
            .exchange_refresh_token(&refresh_token)
            .add_scopes(self.scopes.iter().cloned())
            .request_async(http)
            .await
            .map_err(|e| self.request_error(e))?;
        if let Some(rotated) = response.refresh_token()
            && rotated.secret() != current.expose_secret()
        {
            let rotated = SecretString::from(rotated.secret().clone());
            // Kept even if saving fails: the provider may already have revoked the old one.
            state.token = Some(rotated.clone());
            state.unsaved = true;
            self.keep_rotated(&rotated).await?;
            state.unsaved = false;
        }
        Ok(response)
    }

    async fn keep_rotated(&self, rotated: &SecretString) -> Result<(), ConnectorError> {
        match &self.sink {
            Some(sink) => {
                sink.save(rotated).await.inspect_err(|e| {
                    tracing::error!(
                        connector = %self.connector,
                        error = %e,
                        "could not save the rotated OAuth2 refresh token; it is kept in memory for this run only"
                    );
                })?;
                tracing::info!(connector = %self.connector, "saved the rotated OAuth2 refresh token");
            }
            None => tracing::warn!(
                connector = %self.connector,
                "the provider rotated the OAuth2 refresh token and no store is configured to keep it; \
                 after this run the configured refresh token may no longer work"
            ),
        }
        Ok(())
    }

    fn request_error(
        &self,
        error: RequestTokenError<TokenHttpError, BasicErrorResponse>,
    ) -> ConnectorError {
        let advice = match self.grant {
            OAuth2Grant::RefreshToken => REAUTHORISE,
            OAuth2Grant::ClientCredentials => "check the client id, secret and scopes",
        };
        match error {
            RequestTokenError::ServerResponse(response) => oauth_error(
                &self.connector,
                response.error().as_ref(),
                response.error_description().map(String::as_str),
                advice,
            ),
            RequestTokenError::Request(error) => error.into_connector_error(&self.connector),
            // Some providers refuse behind a 200 (Slack: `{"ok": false, "error": "..."}`); the
            // code says why. Anything else may hold tokens: report only where parsing failed.
            RequestTokenError::Parse(error, body) => match refusal_code(&body) {
                Some((code, description)) => {
                    oauth_error(&self.connector, &code, description.as_deref(), advice)
                }
                None => {
                    unexpected_response(&self.connector, &self.token_url, &error.path().to_string())
                }
            },
            RequestTokenError::Other(message) => ConnectorError::validation(
                self.connector.clone(),
                "",
                format!(
                    "unexpected answer from the token endpoint {}: {message}",
                    redact_url(&self.token_url, &[])
                ),
            ),
        }
    }
}

/// The `error` code (and `error_description`) of a token endpoint's refusal sent with a 2xx
/// status; `None` when the body is anything else. Only these two fields are read: the body of
/// an answer that is not a refusal may hold tokens.
fn refusal_code(body: &[u8]) -> Option<(String, Option<String>)> {
    #[derive(serde::Deserialize)]
    struct Refusal {
        error: String,
        #[serde(default)]
        error_description: Option<String>,
        #[serde(default)]
        access_token: Option<serde::de::IgnoredAny>,
    }
    let refusal: Refusal = serde_json::from_slice(body).ok()?;
    let code_like = !refusal.error.is_empty()
        && refusal.error.len() <= 64
        && refusal
            .error
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-');
    (refusal.access_token.is_none() && code_like)
        .then_some((refusal.error, refusal.error_description))
}

impl std::fmt::Debug for OAuth2Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth2Auth")
            .field("connector", &self.connector)
            .field("token_url", &redact_url(&self.token_url, &[]))
            .field("client_id", self.client.client_id())
            .field("grant", &self.grant)
            .field("client_secret", &"[redacted]")
            .field("refresh_token", &"[redacted]")
            .field("access_token", &"[redacted]")
            .finish()
    }
}

#[async_trait]
impl TokenSource for OAuth2Auth {
    async fn fetch(&self, clock: &dyn Clock) -> Result<IssuedToken, ConnectorError> {
        let http = self.endpoint.oauth2_client();
        tracing::debug!(
            connector = %self.connector,
            token_url = %redact_url(&self.token_url, &[]),
            grant = ?self.grant,
            "requesting an OAuth2 access token"
        );
        let response = match self.grant {
            OAuth2Grant::ClientCredentials => self
                .client
                .exchange_client_credentials()
                .add_scopes(self.scopes.iter().cloned())
                .request_async(&http)
                .await
                .map_err(|e| self.request_error(e))?,
            OAuth2Grant::RefreshToken => {
                // Held across the exchange: refreshes are already serialised by the cache, and the
                // token must not change between being sent and being replaced. The sink's lock
                // does the same across processes.
                let mut state = self.refresh.lock().await;
                if let Some(sink) = &self.sink {
                    sink.lock().await?;
                }
                let refreshed = self.refresh_latest(&mut state, &http).await;
                if let Some(sink) = &self.sink {
                    sink.unlock().await;
                }
                refreshed?
            }
        };
        let now = clock.now();
        let expires_at = response
            .expires_in()
            .and_then(|d| chrono::Duration::from_std(d).ok())
            .and_then(|d| now.checked_add_signed(d));
        Ok(IssuedToken {
            access_token: SecretString::from(response.access_token().secret().clone()),
            expires_at,
        })
    }

    fn describe(&self) -> String {
        let grant = match self.grant {
            OAuth2Grant::RefreshToken => "refresh_token",
            OAuth2Grant::ClientCredentials => "client_credentials",
        };
        format!(
            "oauth2 ({grant} grant at {})",
            redact_url(&self.token_url, &[])
        )
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_refusal_behind_a_200_is_read_by_its_code_and_nothing_else() {
        assert_eq!(
            refusal_code(br#"{"ok":false,"error":"invalid_refresh_token"}"#),
            Some(("invalid_refresh_token".to_owned(), None))
        );
        for body in [
            &br#"{"access_token":"xoxe.xoxb-secret","error":"odd"}"#[..],
            br#"{"error":"xoxe.xoxb-1 looks like a secret, not a code"}"#,
            br#"{"ok":true}"#,
            b"not json",
        ] {
            assert_eq!(
                refusal_code(body),
                None,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
    use std::sync::atomic::Ordering;

    use chrono::Utc;
    use serde_json::json;
    use wiremock::matchers::{body_string_contains, header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;
    use crate::auth::test_support::{
        CountingTokens, RecordingSink, api_client, assert_hidden, capture_logs, form, get,
        transport,
    };
    use crate::auth::{AuthStrategy, ManualClock};
    use crate::http::HttpRequest;

    struct Setup {
        server: MockServer,
        clock: Arc<ManualClock>,
        sink: Arc<RecordingSink>,
    }

    impl Setup {
        async fn new() -> Self {
            Self {
                server: MockServer::start().await,
                clock: Arc::new(ManualClock::new(Utc::now())),
                sink: Arc::new(RecordingSink::default()),
            }
        }

        fn settings(&self, grant: OAuth2Grant) -> OAuth2Settings {
            OAuth2Settings {
                token_url: Url::parse(&format!("{}/token", self.server.uri())).unwrap(),
                client_id: "client-1".to_owned(),
                client_secret: Some(Secret::literal("client-secret-xyz")),
                grant,
                refresh_token: Some(Secret::literal("refresh-secret-1")),
                scopes: vec!["read".to_owned()],
                client_auth: ClientAuth::Basic,
                refresh_skew: Duration::from_secs(60),
            }
        }

        fn auth(&self, settings: OAuth2Settings) -> Arc<CachedToken<OAuth2Auth>> {
            let build = AuthBuild::new("demo", transport())
                .clock(self.clock.clone())
                .token_sink(Some(self.sink.clone()));
            Arc::new(OAuth2Auth::new(settings, build).unwrap())
        }

        async fn token_requests(&self) -> Vec<wiremock::Request> {
            self.server
                .received_requests()
                .await
                .unwrap()
                .into_iter()
                .filter(|r| r.url.path() == "/token")
                .collect()
        }
    }

    fn bearer(request: &HttpRequest) -> &str {
        request.headers["authorization"].to_str().unwrap()
    }

    #[tokio::test]
    async fn oauth2_refresh_grant_sends_refresh_token_and_bearer() {
        let s = Setup::new().await;
        Mock::given(method("POST"))
            .and(path("/token"))
            // base64("client-1:client-secret-xyz")
            .and(header(
                "authorization",
                "Basic Y2xpZW50LTE6Y2xpZW50LXNlY3JldC14eXo=",
            ))
            .respond_with(CountingTokens::new(3600, json!({})))
            .expect(1)
            .mount(&s.server)
            .await;
        let auth = s.auth(s.settings(OAuth2Grant::RefreshToken));
        assert!(auth.needs_refresh().await);
        let request = get(auth.as_ref()).await;
        assert_eq!(bearer(&request), "Bearer at-1");
        assert!(!auth.needs_refresh().await);
        let sent = form(&s.token_requests().await[0]);
        assert_eq!(sent["grant_type"], "refresh_token");
        assert_eq!(sent["refresh_token"], "refresh-secret-1");
        assert_eq!(sent["scope"], "read");
    }

    #[tokio::test]
    async fn oauth2_client_credentials_grant_in_request_body() {
        let s = Setup::new().await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .and(body_string_contains("grant_type=client_credentials"))
            .respond_with(CountingTokens::new(3600, json!({})))
            .expect(1)
            .mount(&s.server)
            .await;
        let mut settings = s.settings(OAuth2Grant::ClientCredentials);
        settings.client_auth = ClientAuth::RequestBody;
        settings.refresh_token = None;
        let auth = s.auth(settings);
        assert_eq!(bearer(&get(auth.as_ref()).await), "Bearer at-1");
        let request = &s.token_requests().await[0];
        let sent = form(request);
        assert_eq!(sent["client_id"], "client-1");
        assert_eq!(sent["client_secret"], "client-secret-xyz");
        assert_eq!(sent["scope"], "read");
        assert!(!request.headers.contains_key("authorization"));
    }

    #[tokio::test]
    async fn oauth2_refreshes_ahead_of_expiry_and_not_before() {
        let s = Setup::new().await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(CountingTokens::new(3600, json!({})))
            .expect(2)
            .mount(&s.server)
            .await;
        let auth = s.auth(s.settings(OAuth2Grant::RefreshToken));
        assert_eq!(bearer(&get(auth.as_ref()).await), "Bearer at-1");
        // 3539 s in: 61 s left, more than the 60 s skew, so the token is still used.
        s.clock.advance(Duration::from_secs(3539));
        assert_eq!(bearer(&get(auth.as_ref()).await), "Bearer at-1");
        // 3541 s in: inside the skew, so it is replaced before it can expire mid-request.
        s.clock.advance(Duration::from_secs(2));
        assert!(auth.needs_refresh().await);
        assert_eq!(bearer(&get(auth.as_ref()).await), "Bearer at-2");
    }

    #[tokio::test]
    async fn oauth2_on_unauthorized_refreshes_once_then_retries() {
        let s = Setup::new().await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(CountingTokens::new(3600, json!({})))
            .expect(2)
            .mount(&s.server)
            .await;
        let auth = s.auth(s.settings(OAuth2Grant::RefreshToken));
        assert_eq!(bearer(&get(auth.as_ref()).await), "Bearer at-1");
        s.clock.advance(Duration::from_secs(600));
        // Many requests fail with the revoked token at once: one refresh serves them all.
        let results = futures::future::join_all((0..20).map(|_| auth.on_unauthorized())).await;
        assert!(results.into_iter().all(|r| r.unwrap()));
        assert_eq!(bearer(&get(auth.as_ref()).await), "Bearer at-2");
    }

    #[tokio::test]
    async fn oauth2_401_through_api_client_is_refreshed_and_retried() {
        let s = Setup::new().await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(CountingTokens::new(3600, json!({})))
            .expect(2)
            .mount(&s.server)
            .await;
        Mock::given(method("GET"))
            .and(path("/api"))
            .and(header("authorization", "Bearer at-1"))
            .respond_with(
                ResponseTemplate::new(401).set_body_json(json!({"message": "Bad credentials"})),
            )
            .mount(&s.server)
            .await;
        Mock::given(method("GET"))
            .and(path("/api"))
            .and(header("authorization", "Bearer at-2"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true})))
            .expect(1)
            .mount(&s.server)
            .await;
        let auth = s.auth(s.settings(OAuth2Grant::RefreshToken));
        let client = api_client(auth.clone());
        let url = Url::parse(&format!("{}/api", s.server.uri())).unwrap();
        let first = client.send(HttpRequest::get(url.clone())).await;
        s.clock.advance(Duration::from_secs(600));
        // What ApiClient does on a 401: ask the strategy, and retry once when it says so.
        let response = match first {
            Ok(response) => response,
            Err(ConnectorError::Authentication { .. }) => {
                assert!(auth.on_unauthorized().await.unwrap());
                client.send(HttpRequest::get(url)).await.unwrap()
            }
            Err(other) => panic!("unexpected error: {other}"),
        };
        assert_eq!(response.status, 200);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn oauth2_hundred_concurrent_requests_on_expired_token_make_one_token_request() {
        let s = Setup::new().await;
        let auth = s.auth(s.settings(OAuth2Grant::RefreshToken));
        {
            let _first = Mock::given(method("POST"))
                .and(path("/token"))
                .respond_with(CountingTokens::new(
                    3600,
                    json!({"access_token": "stale-{n}"}),
                ))
                .expect(1)
                .mount_as_scoped(&s.server)
                .await;
            auth.refresh().await.unwrap();
        }
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(CountingTokens::new(3600, json!({})).delay(Duration::from_millis(200)))
            .expect(1)
            .mount(&s.server)
            .await;
        Mock::given(method("GET"))
            .and(path("/api"))
            .and(header("authorization", "Bearer at-1"))
            .respond_with(ResponseTemplate::new(200))
            .expect(100)
            .mount(&s.server)
            .await;
        // The cached token has expired: the first wave of requests after expiry is the herd.
        s.clock.advance(Duration::from_secs(3600));
        let client = api_client(auth);
        let url = Url::parse(&format!("{}/api", s.server.uri())).unwrap();
        let tasks: Vec<_> = (0..100)
            .map(|_| {
                let client = client.clone();
                let url = url.clone();
                tokio::spawn(async move { client.send(HttpRequest::get(url)).await })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        s.server.verify().await;
    }

    #[tokio::test]
    async fn oauth2_rotated_refresh_token_reaches_the_sink_and_is_used_next() {
        let s = Setup::new().await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(CountingTokens::new(
                3600,
                json!({"refresh_token": "rotated-{n}"}),
            ))
            .expect(2)
            .mount(&s.server)
            .await;
        let auth = s.auth(s.settings(OAuth2Grant::RefreshToken));
        get(auth.as_ref()).await;
        assert_eq!(*s.sink.saved.lock().unwrap(), ["rotated-1"]);
        s.clock.advance(Duration::from_secs(3600));
        get(auth.as_ref()).await;
        assert_eq!(*s.sink.saved.lock().unwrap(), ["rotated-1", "rotated-2"]);
        let requests = s.token_requests().await;
        assert_eq!(form(&requests[1])["refresh_token"], "rotated-1");
    }

    #[tokio::test]
    async fn oauth2_failed_save_of_rotated_token_fails_the_request_and_keeps_the_token() {
        let s = Setup::new().await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(CountingTokens::new(
                3600,
                json!({"refresh_token": "rotated-{n}"}),
            ))
            .expect(2)
            .mount(&s.server)
            .await;
        s.sink.fail.store(true, Ordering::SeqCst);
        let auth = s.auth(s.settings(OAuth2Grant::RefreshToken));
        let mut request = HttpRequest::get(Url::parse("http://127.0.0.1/").unwrap());
        let err = auth.apply(&mut request).await.unwrap_err();
        assert!(err.to_string().contains("store unavailable"), "{err}");
        assert!(!request.headers.contains_key("authorization"));
        // The store is back: the next request refreshes with the rotated token, which was kept.
        s.sink.fail.store(false, Ordering::SeqCst);
        get(auth.as_ref()).await;
        let requests = s.token_requests().await;
        assert_eq!(form(&requests[1])["refresh_token"], "rotated-1");
        assert_eq!(*s.sink.saved.lock().unwrap(), ["rotated-2"]);
    }

    #[tokio::test]
    async fn oauth2_prefers_the_refresh_token_the_sink_saved() {
        let s = Setup::new().await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .and(body_string_contains("refresh_token=from-store"))
            .respond_with(CountingTokens::new(3600, json!({})))
            .expect(1)
            .mount(&s.server)
            .await;
        *s.sink.stored.lock().unwrap() = Some("from-store".to_owned());
        let auth = s.auth(s.settings(OAuth2Grant::RefreshToken));
        assert_eq!(bearer(&get(auth.as_ref()).await), "Bearer at-1");
    }

    #[tokio::test]
    async fn oauth2_invalid_grant_says_the_user_must_reauthorise() {
        let s = Setup::new().await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(ResponseTemplate::new(400).set_body_json(
                json!({"error": "invalid_grant", "error_description": "Token has been expired or revoked."}),
            ))
            .expect(1)
            .mount(&s.server)
            .await;
        let auth = s.auth(s.settings(OAuth2Grant::RefreshToken));
        let mut request = HttpRequest::get(Url::parse("http://127.0.0.1/").unwrap());
        let err = auth.apply(&mut request).await.unwrap_err();
        assert!(
            matches!(err, ConnectorError::Authentication { .. }),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(text.contains("re-authorise"), "{text}");
        assert!(
            text.contains("Token has been expired or revoked."),
            "{text}"
        );
        assert!(!text.contains("refresh-secret-1"), "{text}");
    }

    #[tokio::test]
    async fn oauth2_callers_waiting_on_a_failed_refresh_share_its_error() {
        let s = Setup::new().await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(
                ResponseTemplate::new(400)
                    .set_body_json(json!({"error": "invalid_grant"}))
                    .set_delay(Duration::from_millis(100)),
            )
            .expect(1)
            .mount(&s.server)
            .await;
        let auth = s.auth(s.settings(OAuth2Grant::RefreshToken));
        let results = futures::future::join_all((0..20).map(|_| {
            let auth = auth.clone();
            async move {
                let mut request = HttpRequest::get(Url::parse("http://127.0.0.1/").unwrap());
                auth.apply(&mut request).await
            }
        }))
        .await;
        for result in results {
            let err = result.unwrap_err();
            assert!(err.to_string().contains("re-authorise"), "{err}");
        }
    }

    #[tokio::test]
    async fn oauth2_token_endpoint_outage_is_a_temporary_error() {
        let s = Setup::new().await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(ResponseTemplate::new(503).set_body_string("upstream down"))
            .mount(&s.server)
            .await;
        let auth = s.auth(s.settings(OAuth2Grant::RefreshToken));
        let mut request = HttpRequest::get(Url::parse("http://127.0.0.1/").unwrap());
        let err = auth.apply(&mut request).await.unwrap_err();
        assert!(err.is_temporary(), "{err:?}");
    }

    #[tokio::test]
    async fn oauth2_secrets_stay_out_of_debug_and_logs() {
        let logs = capture_logs();
        let s = Setup::new().await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(CountingTokens::new(
                3600,
                json!({"refresh_token": "rotated-secret-{n}"}),
            ))
            .mount(&s.server)
            .await;
        Mock::given(method("GET"))
            .and(path("/api"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&s.server)
            .await;
        let auth = s.auth(s.settings(OAuth2Grant::RefreshToken));
        let client = api_client(auth.clone());
        let url = Url::parse(&format!("{}/api", s.server.uri())).unwrap();
        client.send(HttpRequest::get(url)).await.unwrap();
        tracing::info!(auth = ?auth, client = ?client, "state after the request");
        let text = logs.text();
        assert!(text.contains("requesting an OAuth2 access token"), "{text}");
        for secret in [
            "client-secret-xyz",
            "refresh-secret-1",
            "rotated-secret-1",
            "at-1",
        ] {
            assert!(!text.contains(secret), "log shows {secret}: {text}");
        }
        assert_hidden(
            auth.as_ref(),
            &[
                "client-secret-xyz",
                "refresh-secret-1",
                "rotated-secret-1",
                "at-1",
            ],
        );
    }

    #[test]
    fn oauth2_refresh_grant_without_refresh_token_is_a_config_error() {
        let settings = OAuth2Settings {
            token_url: Url::parse("http://127.0.0.1/token").unwrap(),
            client_id: "c".to_owned(),
            client_secret: None,
            grant: OAuth2Grant::RefreshToken,
            refresh_token: None,
            scopes: Vec::new(),
            client_auth: ClientAuth::Basic,
            refresh_skew: Duration::from_secs(60),
        };
        let err = OAuth2Auth::new(settings, AuthBuild::new("demo", transport())).unwrap_err();
        assert!(err.to_string().contains("auth.refresh_token"), "{err}");
    }
}
