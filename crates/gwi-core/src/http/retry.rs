//! `RetryPolicy`: which failures to retry, and how long to wait between attempts.
//!
//! Backoff is exponential with *full jitter* (a uniform wait between zero and the exponential
//! ceiling), which spreads out clients that failed together better than additive jitter does.
//! A wait the provider names (`Retry-After`, a rate-limit reset) replaces the backoff; see
//! [`ApiClient`](crate::http::ApiClient) for how the two combine.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use rand::Rng;

use crate::config::HttpSettings;
use crate::http::{HttpError, HttpResponse, headers};

/// What one attempt produced, as the retry predicate sees it.
#[derive(Debug, Clone, Copy)]
pub enum Outcome<'a> {
    /// No HTTP answer was received.
    Transport(&'a HttpError),
    /// The provider answered with a non-success status.
    Response(&'a HttpResponse),
}

/// Decides whether an attempt's outcome is worth retrying.
pub type RetryPredicate = Arc<dyn Fn(Outcome<'_>) -> bool + Send + Sync>;

/// How [`ApiClient`](crate::http::ApiClient) retries: attempts, backoff, and what is retryable.
#[derive(Clone)]
pub struct RetryPolicy {
    /// Backoff ceiling before the first retry; it doubles for each later retry.
    pub initial_delay: Duration,
    /// Cap on the backoff ceiling.
    pub max_delay: Duration,
    /// Attempts per request, the first included (1 = never retry).
    pub max_attempts: u32,
    /// No retry starts once this much time has passed since the first attempt.
    pub max_elapsed: Duration,
    /// Longest wait accepted from the provider (`Retry-After`, reset); longer fails at once.
    pub max_wait: Duration,
    predicate: Option<RetryPredicate>,
}

impl fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("initial_delay", &self.initial_delay)
            .field("max_delay", &self.max_delay)
            .field("max_attempts", &self.max_attempts)
            .field("max_elapsed", &self.max_elapsed)
            .field("max_wait", &self.max_wait)
            .field("custom_predicate", &self.predicate.is_some())
            .finish()
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::from_settings(&HttpSettings::default())
    }
}

impl RetryPolicy {
    /// The policy a connector's `[http]` settings describe.
    pub fn from_settings(settings: &HttpSettings) -> Self {
        Self {
            initial_delay: Duration::from_millis(settings.initial_backoff_ms.max(1)),
            max_delay: Duration::from_secs(settings.max_backoff_secs.max(1)),
            max_attempts: settings.max_attempts.max(1),
            max_elapsed: Duration::from_secs(settings.max_elapsed_secs),
            max_wait: Duration::from_secs(settings.max_wait_secs),
            predicate: None,
        }
    }

    /// A policy that sends each request once.
    pub fn never() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Replaces the retryable predicate (the default is [`default_retryable`]).
    pub fn with_predicate(
        mut self,
        predicate: impl Fn(Outcome<'_>) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.predicate = Some(Arc::new(predicate));
        self
    }

    /// Whether `outcome` should be retried (attempts and time permitting).
    pub fn is_retryable(&self, outcome: Outcome<'_>) -> bool {
        match &self.predicate {
            Some(predicate) => predicate(outcome),
            None => default_retryable(outcome),
        }
    }

    /// The most the backoff before retry number `retry` (1 = first retry) may be.
    pub fn backoff_ceiling(&self, retry: u32) -> Duration {
        let doublings = retry.saturating_sub(1).min(31);
        self.initial_delay
            .saturating_mul(1u32 << doublings)
            .min(self.max_delay)
    }

    /// The wait before retry number `retry`: uniform in `[0, backoff_ceiling(retry)]`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let ceiling = self.backoff_ceiling(retry);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rand::rng().random_range(0..=nanos))
    }
}

/// The default predicate: transport failures, 5xx, 429, and a 403 that is a rate limit.
///
/// A 403 counts as a rate limit when it names a wait (`Retry-After`) or reports no requests left
/// (`X-RateLimit-Remaining: 0`), as GitHub's primary and secondary limits do. Any other 4xx means
/// the request itself is wrong, so sending it again cannot help.
pub fn default_retryable(outcome: Outcome<'_>) -> bool {
    match outcome {
        Outcome::Transport(error) => error.is_retryable(),
        Outcome::Response(response) => {
            let status = response.status;
            status.is_server_error()
                || status == StatusCode::TOO_MANY_REQUESTS
                || (status == StatusCode::FORBIDDEN && headers::is_rate_limited(&response.headers))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http::{HeaderMap, HeaderValue};
    use url::Url;

    fn response(status: u16, pairs: &[(&'static str, &'static str)]) -> HttpResponse {
        let mut headers = HeaderMap::new();
        for (k, v) in pairs {
            headers.insert(*k, HeaderValue::from_static(v));
        }
        HttpResponse {
            status: StatusCode::from_u16(status).unwrap(),
            headers,
            body: Bytes::new(),
            url: Url::parse("http://127.0.0.1/").unwrap(),
        }
    }

    fn retryable(status: u16, pairs: &[(&'static str, &'static str)]) -> bool {
        default_retryable(Outcome::Response(&response(status, pairs)))
    }

    #[test]
    fn server_errors_and_429_are_retryable() {
        assert!(retryable(500, &[]));
        assert!(retryable(502, &[]));
        assert!(retryable(503, &[]));
        assert!(retryable(429, &[]));
    }

    #[test]
    fn client_errors_are_not_retryable() {
        for status in [400, 401, 404, 409, 422] {
            assert!(!retryable(status, &[]), "{status}");
        }
    }

    #[test]
    fn a_403_is_retryable_only_when_it_is_a_rate_limit() {
        assert!(!retryable(403, &[]));
        assert!(retryable(403, &[("retry-after", "60")]));
        assert!(retryable(403, &[("x-ratelimit-remaining", "0")]));
        assert!(!retryable(403, &[("x-ratelimit-remaining", "10")]));
    }

    #[test]
    fn transport_errors_are_retryable_but_invalid_requests_are_not() {
        let connect = HttpError::Connect {
            message: "refused".into(),
        };
        assert!(default_retryable(Outcome::Transport(&connect)));
        assert!(default_retryable(Outcome::Transport(&HttpError::Timeout(
            Duration::from_secs(1)
        ))));
        let invalid = HttpError::InvalidRequest {
            message: "bad header".into(),
        };
        assert!(!default_retryable(Outcome::Transport(&invalid)));
    }

    #[test]
    fn backoff_ceiling_doubles_up_to_the_cap() {
        let policy = RetryPolicy {
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            ..RetryPolicy::default()
        };
        let ceilings: Vec<u128> = (1..=6)
            .map(|n| policy.backoff_ceiling(n).as_millis())
            .collect();
        assert_eq!(ceilings, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(policy.backoff_ceiling(200), Duration::from_millis(1000));
    }

    #[test]
    fn backoff_is_jittered_within_the_ceiling() {
        let policy = RetryPolicy {
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(10),
            ..RetryPolicy::default()
        };
        let waits: Vec<Duration> = (0..200).map(|_| policy.backoff(3)).collect();
        assert!(waits.iter().all(|w| *w <= Duration::from_millis(400)));
        let distinct: std::collections::HashSet<_> = waits.iter().collect();
        assert!(distinct.len() > 100, "full jitter should spread the waits");
    }

    #[test]
    fn a_custom_predicate_replaces_the_default() {
        let policy = RetryPolicy::default()
            .with_predicate(|o| matches!(o, Outcome::Response(r) if r.status.as_u16() == 409));
        assert!(policy.is_retryable(Outcome::Response(&response(409, &[]))));
        assert!(!policy.is_retryable(Outcome::Response(&response(503, &[]))));
    }

    #[test]
    fn settings_shape_the_policy() {
        let settings = HttpSettings {
            max_attempts: 3,
            initial_backoff_ms: 250,
            max_backoff_secs: 4,
            max_wait_secs: 60,
            max_elapsed_secs: 120,
            ..HttpSettings::default()
        };
        let policy = RetryPolicy::from_settings(&settings);
        assert_eq!(policy.max_attempts, 3);
        assert_eq!(policy.initial_delay, Duration::from_millis(250));
        assert_eq!(policy.max_delay, Duration::from_secs(4));
        assert_eq!(policy.max_wait, Duration::from_secs(60));
        assert_eq!(policy.max_elapsed, Duration::from_secs(120));
    }
}
