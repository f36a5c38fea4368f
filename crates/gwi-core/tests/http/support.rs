//! Shared helpers for the HTTP tests.

use std::sync::Arc;
use std::time::Duration;

use gwi_core::http::{ApiClient, ApiClientBuilder, HttpClient, RateLimiter, RetryPolicy};
use gwi_testing::MockHttpClient;
use url::Url;

/// A retry policy with millisecond backoffs, so wiremock tests run fast in real time.
pub fn fast_policy(max_attempts: u32) -> RetryPolicy {
    let mut policy = RetryPolicy::default();
    policy.initial_delay = Duration::from_millis(1);
    policy.max_delay = Duration::from_millis(5);
    policy.max_attempts = max_attempts;
    policy
}

/// A builder with its own rate limiter, so concurrent tests never share a pause.
pub fn builder(transport: Arc<dyn HttpClient>) -> ApiClientBuilder {
    ApiClient::builder("test", transport).rate_limiter(Arc::new(RateLimiter::default()))
}

/// A client over a scripted transport with the default (second-scale) policy: use paused time.
pub fn mock_client(mock: &Arc<MockHttpClient>) -> ApiClient {
    builder(mock.clone()).build()
}

/// A URL on the scripted transport's pretend host.
pub fn mock_url(path: &str) -> Url {
    Url::parse("http://127.0.0.1:9")
        .unwrap()
        .join(path)
        .unwrap()
}
