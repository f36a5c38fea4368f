//! GitHub Apps: an RS256 app JWT exchanged for hourly installation access tokens.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use schemars::JsonSchema;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize};
use url::Url;

use crate::auth::Clock;
use crate::auth::token_cache::{CachedToken, IssuedToken, TokenSource};
use crate::auth::token_http::{TokenEndpoint, unexpected_response};
use crate::auth::{AuthBuild, sensitive_header};
use crate::config::Secret;
use crate::error::{ConnectorError, FieldError};
use crate::http::{HttpRequest, redact_url};

/// GitHub.com's REST API root.
const GITHUB_API: &str = "https://api.github.com";
/// The app JWT's `iat` is backdated by this much, as GitHub advises, to absorb clock drift.
const JWT_BACKDATE_SECS: i64 = 60;
/// The app JWT expires this long after now: `exp - iat` stays within GitHub's 10-minute limit.
const JWT_LIFETIME_SECS: i64 = 540;
/// Installation tokens (valid one hour) are replaced this long before they expire.
const REFRESH_SKEW: Duration = Duration::from_secs(300);

/// A GitHub App's id: the numeric app id or the app's client id (`Iv1.…`), both accepted as `iss`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GithubAppId(String);

impl GithubAppId {
    /// An app id from text.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as sent in the JWT `iss` claim.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for GithubAppId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Number(n) => Ok(Self(n.to_string())),
            Raw::Text(s) if !s.trim().is_empty() => Ok(Self(s.trim().to_owned())),
            Raw::Text(_) => Err(serde::de::Error::custom("must not be empty")),
        }
    }
}

impl JsonSchema for GithubAppId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "GithubAppId".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": ["integer", "string"],
            "description": "The GitHub App's numeric id or its client id."
        })
    }
}

/// Everything a [`GithubAppAuth`] is built from (the `github_app` auth config, typed).
#[derive(Debug, Clone)]
pub struct GithubAppSettings {
    /// The app's id.
    pub app_id: GithubAppId,
    /// The installation to act as.
    pub installation_id: u64,
    /// The app's private key, PEM (PKCS#1 as GitHub issues it, or PKCS#8).
    pub private_key: Secret,
    /// The REST API root: `None` for `https://api.github.com`, `https://HOST/api/v3` for GHES.
    pub base_url: Option<Url>,
}

#[derive(Serialize)]
struct AppClaims<'a> {
    iat: i64,
    exp: i64,
    iss: &'a str,
}

#[derive(Deserialize)]
struct InstallationToken {
    token: String,
    expires_at: Option<DateTime<Utc>>,
}

/// Sends `Authorization: Bearer <installation token>` for a GitHub App installation, exchanging a
/// freshly signed app JWT for a new token before the current one expires.
pub struct GithubAppAuth {
    connector: String,
    app_id: GithubAppId,
    installation_id: u64,
    signing_key: EncodingKey,
    token_url: Url,
    endpoint: TokenEndpoint,
}

impl GithubAppAuth {
    /// A strategy from `settings`; a key that is not an RSA PEM is a config error.
    pub fn new(
        settings: GithubAppSettings,
        build: AuthBuild<'_>,
    ) -> Result<CachedToken<Self>, ConnectorError> {
        let connector = build.connector;
        // Keys pasted into environment variables often arrive with literal `\n` for newlines.
        let pem = settings
            .private_key
            .expose()
            .expose_secret()
            .replace("\\n", "\n");
        let signing_key = EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|_| {
            ConnectorError::config(
                connector,
                vec![FieldError::new(
                    "auth.private_key",
                    "is not an RSA private key in PEM form (generate one in the app's settings and point `file:` at the downloaded .pem)",
                )],
            )
        })?;
        let base_url = settings
            .base_url
            .as_ref()
            .map_or(GITHUB_API, Url::as_str)
            .trim_end_matches('/');
        let token_url = Url::parse(&format!(
            "{base_url}/app/installations/{}/access_tokens",
            settings.installation_id
        ))
        .map_err(|e| {
            ConnectorError::config(
                connector,
                vec![FieldError::new(
                    "auth.base_url",
                    format!("cannot build the token URL: {e}"),
                )],
            )
        })?;
        Ok(CachedToken::new(
            Self {
                connector: connector.to_owned(),
                app_id: settings.app_id,
                installation_id: settings.installation_id,
                signing_key,
                token_url,
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

    fn app_jwt(&self, clock: &dyn Clock) -> Result<String, ConnectorError> {
        let now = clock.now().timestamp();
        let claims = AppClaims {
            iat: now - JWT_BACKDATE_SECS,
            exp: now + JWT_LIFETIME_SECS,
            iss: self.app_id.as_str(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &self.signing_key).map_err(
            |e| {
                ConnectorError::validation(
                    self.connector.clone(),
                    "auth.private_key",
                    format!("cannot sign the app JWT: {e}"),
                )
            },
        )
    }

    fn refused(&self, message: &str) -> ConnectorError {
        ConnectorError::Authentication {
            connector: self.connector.clone(),
            status: None,
            message: message.to_owned(),
            required_scopes: Vec::new(),
        }
    }
}

impl std::fmt::Debug for GithubAppAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubAppAuth")
            .field("connector", &self.connector)
            .field("app_id", &self.app_id.as_str())
            .field("installation_id", &self.installation_id)
            .field("token_url", &self.token_url.as_str())
            .field("private_key", &"[redacted]")
            .field("installation_token", &"[redacted]")
            .finish()
    }
}

#[async_trait]
impl TokenSource for GithubAppAuth {
    async fn fetch(&self, clock: &dyn Clock) -> Result<IssuedToken, ConnectorError> {
        tracing::debug!(
            connector = %self.connector,
            app_id = %self.app_id.as_str(),
            installation_id = self.installation_id,
            url = %redact_url(&self.token_url, &[]),
            "requesting a GitHub App installation token"
        );
        let mut request = HttpRequest::new(http::Method::POST, self.token_url.clone());
        let jwt = self.app_jwt(clock)?;
        request.headers.insert(
            http::header::AUTHORIZATION,
            sensitive_header(
                &self.connector,
                "auth.private_key",
                &format!("Bearer {jwt}"),
            )?,
        );
        request.headers.insert(
            http::header::ACCEPT,
            http::HeaderValue::from_static("application/vnd.github+json"),
        );
        request.headers.insert(
            "x-github-api-version",
            http::HeaderValue::from_static("2022-11-28"),
        );
        let response = self.endpoint.send(request).await?;
        match response.status.as_u16() {
            200 | 201 => {}
            401 => {
                return Err(self.refused(
                    "GitHub refused the app JWT; check `auth.app_id` and `auth.private_key` (the key may have been revoked) and that the system clock is correct",
                ));
            }
            404 => {
                return Err(self.refused(&format!(
                    "installation {} was not found for app {}; check `auth.installation_id` and that the app is still installed",
                    self.installation_id,
                    self.app_id.as_str()
                )));
            }
            _ => return Err(self.endpoint.failure(&response)),
        }
        let answer: InstallationToken = response.json().map_err(|e| {
            unexpected_response(&self.connector, &self.token_url, &e.path().to_string())
        })?;
        Ok(IssuedToken {
            access_token: SecretString::from(answer.token),
            expires_at: answer.expires_at,
        })
    }

    fn describe(&self) -> String {
        format!(
            "github app {} installation {}",
            self.app_id.as_str(),
            self.installation_id
        )
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use jsonwebtoken::{DecodingKey, Validation};
    use serde_json::json;
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

    use super::*;
    use crate::auth::test_support::{TEST_KEY, assert_hidden, capture_logs, get, transport};
    use crate::auth::{AuthStrategy, Clock, ManualClock};

    /// Answers like GitHub: 201 with `ghs_<n>` expiring one hour after the clock's now.
    struct InstallationTokens {
        clock: Arc<ManualClock>,
        count: AtomicUsize,
    }

    impl Respond for InstallationTokens {
        fn respond(&self, _request: &Request) -> ResponseTemplate {
            let n = self.count.fetch_add(1, Ordering::SeqCst) + 1;
            let expires_at = self.clock.now() + chrono::Duration::hours(1);
            ResponseTemplate::new(201).set_body_json(json!({
                "token": format!("ghs_{n}"),
                "expires_at": expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "permissions": {"contents": "read"},
                "repository_selection": "all",
            }))
        }
    }

    async fn setup(pem: &str) -> (MockServer, Arc<ManualClock>, CachedToken<GithubAppAuth>) {
        let server = MockServer::start().await;
        let clock = Arc::new(ManualClock::new(Utc::now()));
        Mock::given(method("POST"))
            // Served under a path prefix, as GitHub Enterprise Server serves /api/v3.
            .and(path("/api/v3/app/installations/42/access_tokens"))
            .and(header("accept", "application/vnd.github+json"))
            .respond_with(InstallationTokens {
                clock: clock.clone(),
                count: AtomicUsize::new(0),
            })
            .mount(&server)
            .await;
        let settings = GithubAppSettings {
            app_id: GithubAppId::new("12345"),
            installation_id: 42,
            private_key: Secret::literal(pem),
            base_url: Some(Url::parse(&format!("{}/api/v3/", server.uri())).unwrap()),
        };
        let auth = GithubAppAuth::new(
            settings,
            AuthBuild::new("demo", transport()).clock(clock.clone()),
        )
        .unwrap();
        (server, clock, auth)
    }

    #[tokio::test]
    async fn github_app_jwt_verifies_and_carries_the_claims() {
        let (server, clock, auth) = setup(&TEST_KEY.pkcs1_pem).await;
        assert_eq!(get(&auth).await.headers["authorization"], "Bearer ghs_1");

        let requests = server.received_requests().await.unwrap();
        let authorization = requests[0].headers["authorization"].to_str().unwrap();
        let jwt = authorization.strip_prefix("Bearer ").unwrap();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&["12345"]);
        validation.set_required_spec_claims(&["exp", "iat", "iss"]);
        let claims = jsonwebtoken::decode::<serde_json::Value>(
            jwt,
            &DecodingKey::from_rsa_pem(TEST_KEY.public_pem.as_bytes()).unwrap(),
            &validation,
        )
        .unwrap()
        .claims;
        let now = clock.now().timestamp();
        let iat = claims["iat"].as_i64().unwrap();
        let exp = claims["exp"].as_i64().unwrap();
        assert_eq!(iat, now - 60, "iat is backdated 60 s");
        assert!(exp > now && exp - iat <= 600, "iat {iat} exp {exp}");
    }

    #[tokio::test]
    async fn github_app_accepts_a_pkcs8_key_with_escaped_newlines() {
        let escaped = TEST_KEY.pkcs8_pem.replace('\n', "\\n");
        let (_server, _clock, auth) = setup(&escaped).await;
        assert_eq!(get(&auth).await.headers["authorization"], "Bearer ghs_1");
    }

    #[tokio::test]
    async fn github_app_token_is_cached_then_refreshed_before_expiry() {
        let (server, clock, auth) = setup(&TEST_KEY.pkcs1_pem).await;
        assert_eq!(get(&auth).await.headers["authorization"], "Bearer ghs_1");
        clock.advance(Duration::from_secs(50 * 60));
        assert_eq!(get(&auth).await.headers["authorization"], "Bearer ghs_1");
        assert_eq!(server.received_requests().await.unwrap().len(), 1);
        // 55 min 1 s in: within 5 minutes of the 1-hour expiry, so a new token is requested.
        clock.advance(Duration::from_secs(5 * 60 + 1));
        assert!(auth.needs_refresh().await);
        assert_eq!(get(&auth).await.headers["authorization"], "Bearer ghs_2");
        assert_eq!(server.received_requests().await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn github_app_unknown_installation_is_an_authentication_error() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
            .mount(&server)
            .await;
        let settings = GithubAppSettings {
            app_id: GithubAppId::new("12345"),
            installation_id: 7,
            private_key: Secret::literal(TEST_KEY.pkcs1_pem.clone()),
            base_url: Some(Url::parse(&server.uri()).unwrap()),
        };
        let auth = GithubAppAuth::new(settings, AuthBuild::new("demo", transport())).unwrap();
        let mut request = HttpRequest::get(Url::parse("http://127.0.0.1/").unwrap());
        let err = auth.apply(&mut request).await.unwrap_err();
        assert!(
            matches!(err, ConnectorError::Authentication { .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("installation 7"), "{err}");
    }

    #[tokio::test]
    async fn github_app_secrets_stay_out_of_debug_and_logs() {
        let logs = capture_logs();
        let (_server, _clock, auth) = setup(&TEST_KEY.pkcs1_pem).await;
        get(&auth).await;
        tracing::info!(auth = ?auth, "after");
        let text = logs.text();
        assert!(
            text.contains("requesting a GitHub App installation token"),
            "{text}"
        );
        let pem_body = TEST_KEY.pkcs1_pem.lines().nth(1).unwrap();
        for secret in [pem_body, "ghs_1", "eyJ"] {
            assert!(!text.contains(secret), "log shows {secret}");
        }
        assert_hidden(&auth, &[pem_body, "ghs_1"]);
    }

    #[test]
    fn github_app_bad_key_is_a_config_error_naming_the_field() {
        let settings = GithubAppSettings {
            app_id: GithubAppId::new("1"),
            installation_id: 1,
            private_key: Secret::literal(
                "-----BEGIN RSA PRIVATE KEY-----\nnope\n-----END RSA PRIVATE KEY-----",
            ),
            base_url: None,
        };
        let err = GithubAppAuth::new(settings, AuthBuild::new("demo", transport())).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("auth.private_key"), "{text}");
        assert!(!text.contains("nope"), "{text}");
    }
}
