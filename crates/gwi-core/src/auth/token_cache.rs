//! A cached access token that is refreshed ahead of expiry, one refresh at a time.
//!
//! OAuth2, Google service accounts and GitHub Apps all trade long-lived credentials for short-lived
//! access tokens. They share this cache so that the freshness rule, the single-flight refresh and the
//! "a 401 refreshes once, not once per failed request" rule live in one place.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;

use crate::auth::{AuthStrategy, Clock, set_bearer};
use crate::error::ConnectorError;
use crate::http::HttpRequest;

/// After a 401, a token younger than this is kept: it was most likely fetched by the refresh another
/// failed request triggered, and fetching yet another one would not help.
const RECENT_TOKEN: Duration = Duration::from_secs(10);

/// An access token as a token endpoint issued it.
pub(crate) struct IssuedToken {
    /// The token to send.
    pub(crate) access_token: SecretString,
    /// When the provider stops accepting it, if it said.
    pub(crate) expires_at: Option<DateTime<Utc>>,
}

struct Cached {
    access_token: SecretString,
    fetched_at: DateTime<Utc>,
    /// When to stop using it: the expiry minus the refresh margin; `None` when the expiry is unknown.
    refresh_at: Option<DateTime<Utc>>,
}

#[derive(Default)]
struct State {
    token: Option<Cached>,
    /// The last failed attempt's number and error, handed to callers that waited on it.
    failure: Option<(u64, ConnectorError)>,
}

/// The current access token of one credential, refreshed under a lock so concurrent callers share one
/// token request.
pub(crate) struct TokenCache {
    connector: String,
    clock: Arc<dyn Clock>,
    skew: Duration,
    state: Mutex<State>,
    /// Fetch finished finished so far; read before waiting on the lock to learn whether an attempt
    /// (in progress or started later) finished meanwhile.
    finished: AtomicU64,
}

impl TokenCache {
    /// A cache that refreshes `skew` before expiry (at most half the token's lifetime).
    pub(crate) fn new(connector: &str, clock: Arc<dyn Clock>, skew: Duration) -> Self {
        Self {
            connector: connector.to_owned(),
            clock,
            skew,
            state: Mutex::new(State::default()),
            finished: AtomicU64::new(0),
        }
    }

    /// The clock expiry is measured with.
    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// A token that is not about to expire, fetching one with `fetch` when needed.
    pub(crate) async fn get<F, Fut>(&self, fetch: F) -> Result<SecretString, ConnectorError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<IssuedToken, ConnectorError>>,
    {
        let seen = self.finished.load(Ordering::SeqCst);
        let mut state = self.state.lock().await;
        if let Some(token) = state.token.as_ref().filter(|t| self.is_fresh(t)) {
            return Ok(token.access_token.clone());
        }
        if let Some(error) = failure_since(&state, seen) {
            return Err(error);
        }
        self.fetch_into(&mut state, fetch).await
    }

    /// Whether the next [`get`](Self::get) would fetch a new token.
    pub(crate) async fn needs_refresh(&self) -> bool {
        let state = self.state.lock().await;
        !state.token.as_ref().is_some_and(|t| self.is_fresh(t))
    }

    /// Replaces the token even if it looks fresh (the provider refused it), unless another caller
    /// replaced it while this one waited or it was fetched moments ago.
    pub(crate) async fn refresh<F, Fut>(&self, fetch: F) -> Result<(), ConnectorError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<IssuedToken, ConnectorError>>,
    {
        let seen = self.finished.load(Ordering::SeqCst);
        let mut state = self.state.lock().await;
        if let Some(error) = failure_since(&state, seen) {
            return Err(error);
        }
        let now = self.clock.now();
        let recent = state.token.as_ref().is_some_and(|t| {
            self.finished.load(Ordering::SeqCst) > seen
                || now.signed_duration_since(t.fetched_at) < to_chrono(RECENT_TOKEN)
        });
        if recent {
            return Ok(());
        }
        self.fetch_into(&mut state, fetch).await.map(|_| ())
    }

    fn is_fresh(&self, token: &Cached) -> bool {
        token.refresh_at.is_none_or(|at| self.clock.now() < at)
    }

    async fn fetch_into<F, Fut>(
        &self,
        state: &mut State,
        fetch: F,
    ) -> Result<SecretString, ConnectorError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<IssuedToken, ConnectorError>>,
    {
        let outcome = fetch().await;
        let attempt = self.finished.fetch_add(1, Ordering::SeqCst) + 1;
        match outcome {
            Ok(issued) => {
                let fetched_at = self.clock.now();
                let refresh_at = issued.expires_at.map(|expires_at| {
                    let lifetime = expires_at.signed_duration_since(fetched_at);
                    let margin = to_chrono(self.skew)
                        .min(lifetime / 2)
                        .max(chrono::Duration::zero());
                    expires_at - margin
                });
                tracing::debug!(
                    connector = %self.connector,
                    expires_in_secs = issued
                        .expires_at
                        .map(|at| at.signed_duration_since(fetched_at).num_seconds()),
                    "obtained a new access token"
                );
                let access_token = issued.access_token.clone();
                state.token = Some(Cached {
                    access_token: issued.access_token,
                    fetched_at,
                    refresh_at,
                });
                state.failure = None;
                Ok(access_token)
            }
            Err(error) => {
                state.token = None;
                if let Some(copy) = duplicate(&error) {
                    state.failure = Some((attempt, copy));
                }
                Err(error)
            }
        }
    }
}

/// The error of an attempt that finished after the caller read `seen`, so a caller that waited on it
/// fails the same way instead of sending its own doomed token request.
fn failure_since(state: &State, seen: u64) -> Option<ConnectorError> {
    state
        .failure
        .as_ref()
        .filter(|(attempt, _)| *attempt > seen)
        .and_then(|(_, error)| duplicate(error))
}

fn to_chrono(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}

/// A copy of the error kinds a token fetch produces; `None` for kinds that cannot be copied.
fn duplicate(error: &ConnectorError) -> Option<ConnectorError> {
    Some(match error {
        ConnectorError::Authentication {
            connector,
            status,
            message,
            required_scopes,
        } => ConnectorError::Authentication {
            connector: connector.clone(),
            status: *status,
            message: message.clone(),
            required_scopes: required_scopes.clone(),
        },
        ConnectorError::RateLimited {
            connector,
            status,
            retry_after,
        } => ConnectorError::RateLimited {
            connector: connector.clone(),
            status: *status,
            retry_after: *retry_after,
        },
        ConnectorError::Network {
            connector,
            url,
            message,
        } => ConnectorError::Network {
            connector: connector.clone(),
            url: url.clone(),
            message: message.clone(),
        },
        ConnectorError::Api {
            connector,
            status,
            url,
            message,
        } => ConnectorError::Api {
            connector: connector.clone(),
            status: *status,
            url: url.clone(),
            message: message.clone(),
        },
        ConnectorError::Validation { connector, errors } => ConnectorError::Validation {
            connector: connector.clone(),
            errors: errors.clone(),
        },
        ConnectorError::Config { connector, errors } => ConnectorError::Config {
            connector: connector.clone(),
            errors: errors.clone(),
        },
        _ => return None,
    })
}

/// Where a cached access token comes from: an OAuth2 token endpoint, a service account's
/// signed JWT, a GitHub App installation. Each fetch trades long-lived credentials for a new
/// short-lived token; [`CachedToken`] does the rest.
#[async_trait]
pub(crate) trait TokenSource: Send + Sync + fmt::Debug {
    /// A new access token; `clock` is the cache's, for the times a request must carry.
    async fn fetch(&self, clock: &dyn Clock) -> Result<IssuedToken, ConnectorError>;

    /// What the credentials are, for logs and errors (never a secret).
    fn describe(&self) -> String;
}

/// The one auth strategy of every token source: the cached token sent as a bearer, refreshed
/// ahead of expiry, and once more when the provider refuses it.
pub struct CachedToken<S> {
    source: S,
    connector: String,
    cache: TokenCache,
}

impl<S> CachedToken<S> {
    /// Caches `source`'s tokens for `connector`, refreshing them `skew` before they expire.
    pub(crate) fn new(source: S, connector: &str, clock: Arc<dyn Clock>, skew: Duration) -> Self {
        Self {
            source,
            connector: connector.to_owned(),
            cache: TokenCache::new(connector, clock, skew),
        }
    }
}

impl<S: fmt::Debug> fmt::Debug for CachedToken<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The source's own `Debug` hides its secrets; the cached token is never shown.
        self.source.fmt(f)
    }
}

#[async_trait]
impl<S: TokenSource> AuthStrategy for CachedToken<S> {
    async fn apply(&self, request: &mut HttpRequest) -> Result<(), ConnectorError> {
        let token = self
            .cache
            .get(|| self.source.fetch(self.cache.clock().as_ref()))
            .await?;
        set_bearer(request, &self.connector, "auth", token.expose_secret())
    }

    async fn on_unauthorized(&self) -> Result<bool, ConnectorError> {
        self.refresh().await?;
        Ok(true)
    }

    fn describe(&self) -> String {
        self.source.describe()
    }

    async fn needs_refresh(&self) -> bool {
        self.cache.needs_refresh().await
    }

    async fn refresh(&self) -> Result<(), ConnectorError> {
        self.cache
            .refresh(|| self.source.fetch(self.cache.clock().as_ref()))
            .await
    }
}
