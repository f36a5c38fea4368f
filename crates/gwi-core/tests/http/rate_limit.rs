//! The rate limiter seen through ApiClient: concurrent streams stay within the configured rate.

use std::sync::Arc;
use std::time::Duration;

use gwi_core::auth::BearerAuth;
use gwi_core::config::{HttpSettings, Secret};
use gwi_core::connector::RateLimits;
use gwi_core::http::{ApiClient, HttpRequest};
use gwi_testing::{MockHttpClient, MockResponse};
use http::Method;
use tokio::time::Instant;

use crate::support::mock_url;

/// The most requests that arrived within any `window` starting at a request.
fn max_in_window(mut times: Vec<Instant>, window: Duration) -> usize {
    times.sort();
    (0..times.len())
        .map(|i| {
            times[i..]
                .iter()
                .take_while(|t| **t - times[i] < window)
                .count()
        })
        .max()
        .unwrap_or(0)
}

async fn run_streams(clients: Vec<ApiClient>, per_stream: usize) {
    let mut tasks = Vec::new();
    for client in clients {
        tasks.push(tokio::spawn(async move {
            for _ in 0..per_stream {
                client
                    .send(HttpRequest::get(mock_url("/items")))
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn concurrent_streams_are_held_to_the_configured_rate() {
    let mock = Arc::new(MockHttpClient::new());
    mock.on(Method::GET, "/items")
        .respond(MockResponse::status(200).delay(Duration::from_millis(20)));
    let settings = HttpSettings {
        requests_per_second: Some(5.0),
        ..HttpSettings::default()
    };
    let client = ApiClient::builder("rate-test-settings", mock.clone())
        .settings(&settings)
        .build();
    let start = Instant::now();

    run_streams(vec![client.clone(); 4], 10).await;

    let times: Vec<Instant> = mock.requests().iter().map(|r| r.at).collect();
    assert_eq!(times.len(), 40);
    assert!(max_in_window(times, Duration::from_secs(1)) <= 5);
    assert!(start.elapsed() >= Duration::from_millis(7_800));
}

#[tokio::test(start_paused = true)]
async fn clients_built_for_the_same_credential_share_one_budget() {
    let mock = Arc::new(MockHttpClient::new());
    mock.on(Method::GET, "/items")
        .respond(MockResponse::status(200));
    let limits = RateLimits {
        requests_per_second: Some(4.0),
        requests_per_hour: None,
    };
    let client = |token: &str| {
        ApiClient::builder("rate-test-shared", mock.clone())
            .auth(Arc::new(BearerAuth::new(
                "rate-test-shared",
                Secret::literal(token),
            )))
            .rate_limits(limits)
            .build()
    };
    // Two independently built clients with one token, as two contexts in one process would be.
    let same = vec![client("token-a"), client("token-a")];
    assert!(Arc::ptr_eq(same[0].rate_limiter(), same[1].rate_limiter()));
    let other = client("token-b");
    assert!(!Arc::ptr_eq(same[0].rate_limiter(), other.rate_limiter()));

    run_streams(same, 12).await;

    let times: Vec<Instant> = mock.requests().iter().map(|r| r.at).collect();
    assert_eq!(times.len(), 24);
    assert!(max_in_window(times, Duration::from_secs(1)) <= 4);
}

#[tokio::test(start_paused = true)]
async fn without_a_configured_rate_nothing_is_paced() {
    let mock = Arc::new(MockHttpClient::new());
    mock.on(Method::GET, "/items")
        .respond(MockResponse::status(200));
    let client = ApiClient::builder("rate-test-unlimited", mock.clone()).build();
    let start = Instant::now();

    run_streams(vec![client; 4], 50).await;

    assert_eq!(mock.request_count(), 200);
    assert_eq!(start.elapsed(), Duration::ZERO);
}
