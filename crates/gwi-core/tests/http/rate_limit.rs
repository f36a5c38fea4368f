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

#[tokio::test(start_paused = true)]
async fn a_buckets_requests_keep_to_its_budget_and_its_pauses_stop_only_it() {
    use gwi_core::http::RateBucket;
    let mock = Arc::new(MockHttpClient::new());
    mock.on(Method::GET, "/history")
        .respond(MockResponse::status(200));
    mock.on(Method::GET, "/users")
        .respond(MockResponse::status(200));
    let client = ApiClient::builder("rate-test-buckets", mock.clone())
        .rate_buckets(vec![RateBucket::per_minute("history", 3)])
        .build();
    let start = Instant::now();
    // Three go at once (the minute's budget), then one every 20 s.
    for _ in 0..5 {
        client
            .send(HttpRequest::get(mock_url("/history")).in_bucket("history"))
            .await
            .unwrap();
    }
    let paced = start.elapsed();
    assert!(
        paced >= Duration::from_secs(39) && paced < Duration::from_secs(45),
        "{paced:?}"
    );
    let before = Instant::now();
    client
        .send(HttpRequest::get(mock_url("/users")))
        .await
        .unwrap();
    assert!(
        before.elapsed() < Duration::from_secs(1),
        "other methods are not held"
    );

    // A Retry-After on a bucket's request holds that bucket only.
    mock.on(Method::GET, "/limited")
        .times(1)
        .respond(MockResponse::status(429).header("retry-after", "30"));
    mock.on(Method::GET, "/limited")
        .respond(MockResponse::status(200));
    let other = ApiClient::builder("rate-test-bucket-pause", mock.clone())
        .rate_buckets(vec![RateBucket::per_minute("limited", 100)])
        .build();
    let waiting = tokio::spawn({
        let other = other.clone();
        async move {
            other
                .send(HttpRequest::get(mock_url("/limited")).in_bucket("limited"))
                .await
        }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = Instant::now();
    other
        .send(HttpRequest::get(mock_url("/users")))
        .await
        .unwrap();
    assert!(
        before.elapsed() < Duration::from_secs(1),
        "the pause held another method"
    );
    waiting.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_configured_rate_replaces_the_buckets() {
    use gwi_core::http::RateBucket;
    let mock = Arc::new(MockHttpClient::new());
    mock.on(Method::GET, "/history")
        .respond(MockResponse::status(200));
    let settings = HttpSettings {
        requests_per_second: Some(1000.0),
        burst: 100,
        ..HttpSettings::default()
    };
    let client = ApiClient::builder("rate-test-bucket-override", mock.clone())
        .settings(&settings)
        .rate_buckets(vec![RateBucket::per_minute("history", 1)])
        .build();
    let start = Instant::now();
    for _ in 0..5 {
        client
            .send(HttpRequest::get(mock_url("/history")).in_bucket("history"))
            .await
            .unwrap();
    }
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
}

/// Two processes' limiters (here: two limiters, one store) draw from one budget: together they
/// send no more than it allows, and a pause one of them learns holds the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limiters_sharing_a_store_share_one_budget_and_its_pauses() {
    use gwi_core::http::{RateLimitConfig, RateLimiter};
    use gwi_core::store::Store;

    let store: Arc<dyn Store> = Arc::new(gwi_testing::MemoryStore::new());
    let config = RateLimitConfig {
        requests_per_second: Some(20.0),
        burst: 2,
        ..RateLimitConfig::default()
    };
    let processes: Vec<Arc<RateLimiter>> = (0..2)
        .map(|_| {
            let limiter = Arc::new(RateLimiter::new(&config));
            assert!(limiter.share_through(store.clone(), "github:acme"));
            limiter
        })
        .collect();
    let started = std::time::Instant::now();
    let runs: Vec<_> = processes
        .iter()
        .map(|limiter| {
            let limiter = limiter.clone();
            tokio::spawn(async move {
                let mut sent = 0u32;
                while started.elapsed() < Duration::from_millis(1_000) {
                    limiter.acquire(Duration::from_secs(5)).await.unwrap();
                    sent += 1;
                }
                sent
            })
        })
        .collect();
    let mut total = 0;
    for run in runs {
        total += run.await.unwrap();
    }
    let allowed = 2.0 + 20.0 * started.elapsed().as_secs_f64();
    // Each limiter may hold one draw (5 requests at 20/s) it had no time to send.
    assert!(
        f64::from(total) <= allowed + 1.0,
        "{total} sent, {allowed:.1} allowed"
    );
    assert!(total >= 15, "the budget should have been used: {total}");

    // A provider's pause seen by one process holds the other.
    processes[0].pause_for(Duration::from_millis(400));
    tokio::time::sleep(Duration::from_millis(50)).await;
    let before = std::time::Instant::now();
    let mut waited = Duration::ZERO;
    for _ in 0..6 {
        let w = processes[1].acquire(Duration::from_secs(5)).await.unwrap();
        waited += w.paused;
    }
    assert!(
        before.elapsed() >= Duration::from_millis(300) && waited > Duration::ZERO,
        "the other process did not pause: {:?}",
        before.elapsed()
    );
    // A limiter with no rate has nothing to share.
    assert!(!RateLimiter::new(&RateLimitConfig::default()).share_through(store, "x"));
}
