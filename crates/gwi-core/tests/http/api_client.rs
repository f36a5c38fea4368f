//! ApiClient: retries, provider waits, 401 refresh, failure mapping, progress and metrics.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use gwi_core::auth::AuthStrategy;
use gwi_core::error::ConnectorError;
use gwi_core::http::{HttpRequest, ReqwestClient, RetryPolicy};
use gwi_testing::{MockHttpClient, MockResponse};
use http::Method;
use serde_json::json;
use tokio::time::Instant;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{builder, fast_policy, mock_client, mock_url};

fn reqwest() -> Arc<ReqwestClient> {
    Arc::new(ReqwestClient::new(Duration::from_secs(5)).unwrap())
}

fn server_url(server: &MockServer, p: &str) -> url::Url {
    url::Url::parse(&server.uri()).unwrap().join(p).unwrap()
}

#[tokio::test]
async fn retries_on_502_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/items"))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/items"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([1, 2])))
        .expect(1)
        .mount(&server)
        .await;
    let client = builder(reqwest()).retry_policy(fast_policy(3)).build();

    let response = client
        .send(HttpRequest::get(server_url(&server, "/items")))
        .await
        .unwrap();

    assert_eq!(response.status, 200);
    assert_eq!(&response.body[..], b"[1,2]");
    let progress = client.progress().snapshot();
    assert_eq!((progress.requests, progress.retries), (2, 1));
}

#[tokio::test]
async fn does_not_retry_a_404() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
        .expect(1)
        .mount(&server)
        .await;
    let client = builder(reqwest()).retry_policy(fast_policy(5)).build();

    let err = client
        .send(HttpRequest::get(server_url(&server, "/repos/a/b")))
        .await
        .unwrap_err();

    match err {
        ConnectorError::Api {
            status, message, ..
        } => {
            assert_eq!(status, 404);
            assert_eq!(message, "Not Found");
        }
        other => panic!("expected an Api error, got {other:?}"),
    }
}

#[tokio::test]
async fn gives_up_after_max_attempts_with_the_last_server_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .expect(3)
        .mount(&server)
        .await;
    let client = builder(reqwest()).retry_policy(fast_policy(3)).build();

    let err = client
        .send(HttpRequest::get(server_url(&server, "/x")))
        .await
        .unwrap_err();

    assert!(
        matches!(err, ConnectorError::Api { status: 503, .. }),
        "{err:?}"
    );
    assert!(err.is_temporary());
}

#[tokio::test]
async fn gives_up_after_max_attempts_with_rate_limited_carrying_429() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429))
        .expect(2)
        .mount(&server)
        .await;
    let client = builder(reqwest()).retry_policy(fast_policy(2)).build();

    let err = client
        .send(HttpRequest::get(server_url(&server, "/x")))
        .await
        .unwrap_err();

    assert!(
        matches!(
            err,
            ConnectorError::RateLimited {
                status: 429,
                retry_after: None,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_plain_403_is_an_authentication_error_and_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(403).set_body_json(json!({"message": "Resource not accessible"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = builder(reqwest()).retry_policy(fast_policy(5)).build();

    let err = client
        .send(HttpRequest::get(server_url(&server, "/x")))
        .await
        .unwrap_err();

    assert!(
        matches!(err, ConnectorError::Authentication { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_reported_as_network() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let client = builder(reqwest()).retry_policy(fast_policy(2)).build();
    let url = url::Url::parse(&format!("http://127.0.0.1:{port}/x")).unwrap();

    let err = client.send(HttpRequest::get(url)).await.unwrap_err();

    assert!(matches!(err, ConnectorError::Network { .. }), "{err:?}");
    assert_eq!(client.progress().snapshot().requests, 2);
}

#[tokio::test(start_paused = true)]
async fn honours_retry_after_in_seconds() {
    let mock = Arc::new(MockHttpClient::new());
    mock.push(MockResponse::status(429).header("retry-after", "2"))
        .push(MockResponse::ok_json(&json!({"ok": true})));
    let waits = Arc::new(Mutex::new(Vec::new()));
    let seen = waits.clone();
    let client = builder(mock.clone())
        .on_rate_limit(Arc::new(move |wait| seen.lock().unwrap().push(wait)))
        .build();
    let start = Instant::now();

    client.send(HttpRequest::get(mock_url("/x"))).await.unwrap();

    let requests = mock.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests[1].at - requests[0].at >= Duration::from_secs(2));
    assert!(start.elapsed() < Duration::from_secs(3));
    assert_eq!(*waits.lock().unwrap(), [Duration::from_secs(2)]);
    let progress = client.progress().snapshot();
    assert_eq!(progress.rate_limit_waits, 1);
    assert_eq!(progress.rate_limit_wait_ms, 2000);
}

#[tokio::test(start_paused = true)]
async fn honours_retry_after_as_an_http_date() {
    let mock = Arc::new(MockHttpClient::new());
    let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(5));
    mock.push(MockResponse::status(503).header("retry-after", &date))
        .push(MockResponse::status(200));
    let client = mock_client(&mock);

    client.send(HttpRequest::get(mock_url("/x"))).await.unwrap();

    let requests = mock.requests();
    let gap = requests[1].at - requests[0].at;
    // The date has whole seconds, so the wait is between 4 and 5 seconds.
    assert!(gap >= Duration::from_secs(4), "{gap:?}");
    assert!(gap <= Duration::from_secs(5), "{gap:?}");
}

#[tokio::test(start_paused = true)]
async fn a_403_with_no_requests_left_waits_for_the_reset() {
    let mock = Arc::new(MockHttpClient::new());
    let reset = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 30;
    mock.push(
        MockResponse::status(403)
            .header("x-ratelimit-remaining", "0")
            .header("x-ratelimit-reset", &reset.to_string()),
    )
    .push(MockResponse::status(200));
    let client = mock_client(&mock);

    client.send(HttpRequest::get(mock_url("/x"))).await.unwrap();

    let requests = mock.requests();
    assert!(requests[1].at - requests[0].at >= Duration::from_secs(29));
}

#[tokio::test(start_paused = true)]
async fn a_wait_longer_than_max_wait_fails_fast() {
    let mock = Arc::new(MockHttpClient::new());
    mock.push(MockResponse::status(429).header("retry-after", "3600"));
    let mut policy = RetryPolicy::default();
    policy.max_wait = Duration::from_secs(60);
    let client = builder(mock.clone()).retry_policy(policy).build();
    let start = Instant::now();

    let err = client
        .send(HttpRequest::get(mock_url("/x")))
        .await
        .unwrap_err();

    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(mock.request_count(), 1);
    match &err {
        ConnectorError::RateLimited {
            status,
            retry_after,
            ..
        } => {
            assert_eq!(*status, 429);
            assert_eq!(*retry_after, Some(Duration::from_secs(3600)));
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert!(err.to_string().contains("wait 3600s"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_provider_pause_holds_every_stream_sharing_the_client() {
    let mock = Arc::new(MockHttpClient::new());
    mock.on(Method::GET, "/a")
        .times(1)
        .respond(MockResponse::status(429).header("retry-after", "10"));
    mock.on(Method::GET, "/a")
        .respond(MockResponse::status(200));
    mock.on(Method::GET, "/b")
        .respond(MockResponse::status(200));
    let client = mock_client(&mock);
    let start = Instant::now();

    let a = tokio::spawn({
        let client = client.clone();
        async move { client.send(HttpRequest::get(mock_url("/a"))).await }
    });
    let b = tokio::spawn({
        let client = client.clone();
        async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            client.send(HttpRequest::get(mock_url("/b"))).await
        }
    });
    a.await.unwrap().unwrap();
    b.await.unwrap().unwrap();

    let b_sent = mock
        .requests()
        .into_iter()
        .find(|r| r.path() == "/b")
        .unwrap();
    assert!(b_sent.at - start >= Duration::from_secs(10));
    assert_eq!(client.progress().snapshot().rate_limit_waits, 2);
}

#[tokio::test(start_paused = true)]
async fn stops_retrying_when_max_elapsed_has_passed() {
    let mock = Arc::new(MockHttpClient::new());
    mock.on(Method::GET, "/x")
        .respond(MockResponse::status(500).header("retry-after", "4"));
    let mut policy = RetryPolicy::default();
    policy.max_attempts = 100;
    policy.max_elapsed = Duration::from_secs(10);
    let client = builder(mock.clone()).retry_policy(policy).build();

    let err = client
        .send(HttpRequest::get(mock_url("/x")))
        .await
        .unwrap_err();

    assert!(
        matches!(err, ConnectorError::Api { status: 500, .. }),
        "{err:?}"
    );
    // Waits of 4s fit twice into 10s: attempts at 0, 4 and 8s.
    assert_eq!(mock.request_count(), 3);
}

/// Auth that hands out a new token each time it is told about a 401.
#[derive(Debug)]
struct RotatingAuth {
    version: AtomicU32,
    refreshes: AtomicU32,
    can_refresh: bool,
}

impl RotatingAuth {
    fn new(can_refresh: bool) -> Arc<Self> {
        Arc::new(Self {
            version: AtomicU32::new(1),
            refreshes: AtomicU32::new(0),
            can_refresh,
        })
    }
}

#[async_trait]
impl AuthStrategy for RotatingAuth {
    async fn apply(&self, request: &mut HttpRequest) -> Result<(), ConnectorError> {
        let token = format!("Bearer t{}", self.version.load(Ordering::SeqCst));
        request
            .headers
            .insert(http::header::AUTHORIZATION, token.parse().unwrap());
        Ok(())
    }
    async fn on_unauthorized(&self) -> Result<bool, ConnectorError> {
        self.refreshes.fetch_add(1, Ordering::SeqCst);
        if self.can_refresh {
            self.version.fetch_add(1, Ordering::SeqCst);
        }
        Ok(self.can_refresh)
    }
    fn describe(&self) -> String {
        "rotating test token".into()
    }
}

#[tokio::test]
async fn a_401_refreshes_the_credentials_and_retries_once() {
    let mock = Arc::new(MockHttpClient::new());
    mock.push(MockResponse::status(401))
        .push(MockResponse::status(200));
    let auth = RotatingAuth::new(true);
    let client = builder(mock.clone())
        .auth(auth.clone())
        .retry_policy(RetryPolicy::never())
        .build();

    client
        .send(HttpRequest::get(mock_url("/me")))
        .await
        .unwrap();

    assert_eq!(auth.refreshes.load(Ordering::SeqCst), 1);
    let requests = mock.requests();
    assert_eq!(requests[0].header("authorization"), Some("Bearer t1"));
    assert_eq!(requests[1].header("authorization"), Some("Bearer t2"));
}

#[tokio::test]
async fn a_second_401_after_refreshing_is_an_authentication_error() {
    let mock = Arc::new(MockHttpClient::new());
    mock.on(Method::GET, "/me")
        .respond(MockResponse::status(401));
    let auth = RotatingAuth::new(true);
    let client = builder(mock.clone()).auth(auth.clone()).build();

    let err = client
        .send(HttpRequest::get(mock_url("/me")))
        .await
        .unwrap_err();

    assert!(
        matches!(err, ConnectorError::Authentication { .. }),
        "{err:?}"
    );
    assert_eq!(mock.request_count(), 2);
    assert_eq!(auth.refreshes.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_401_without_a_refresh_is_not_resent() {
    let mock = Arc::new(MockHttpClient::new());
    mock.push(MockResponse::status(401));
    let auth = RotatingAuth::new(false);
    let client = builder(mock.clone()).auth(auth.clone()).build();

    let err = client
        .send(HttpRequest::get(mock_url("/me")))
        .await
        .unwrap_err();

    assert!(matches!(err, ConnectorError::Authentication { .. }));
    assert_eq!(mock.request_count(), 1);
}

/// A metrics recorder that keeps counters by name and labels, for asserting what was emitted.
#[derive(Default)]
struct CountingRecorder {
    counters: Mutex<Vec<(String, Arc<AtomicU64>)>>,
}

impl CountingRecorder {
    fn value(&self, key: &str) -> u64 {
        self.counters
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.load(Ordering::SeqCst))
            .sum()
    }
}

struct AtomicCounter(Arc<AtomicU64>);

impl metrics::CounterFn for AtomicCounter {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::SeqCst);
    }
    fn absolute(&self, value: u64) {
        self.0.store(value, Ordering::SeqCst);
    }
}

impl metrics::Recorder for CountingRecorder {
    fn describe_counter(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_gauge(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_histogram(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn register_counter(&self, key: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        let mut labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        labels.sort();
        let name = format!("{}{{{}}}", key.name(), labels.join(","));
        let cell = Arc::new(AtomicU64::new(0));
        self.counters.lock().unwrap().push((name, cell.clone()));
        metrics::Counter::from_arc(Arc::new(AtomicCounter(cell)))
    }
    fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::noop()
    }
    fn register_histogram(
        &self,
        _: &metrics::Key,
        _: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        metrics::Histogram::noop()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn every_attempt_is_counted_by_connector_method_and_status() {
    let recorder = CountingRecorder::default();
    let _guard = metrics::set_default_local_recorder(&recorder);
    let mock = Arc::new(MockHttpClient::new());
    mock.push(MockResponse::status(502))
        .push(MockResponse::status(200))
        .push(MockResponse::status(200));
    let client = builder(mock.clone()).retry_policy(fast_policy(3)).build();

    client.send(HttpRequest::get(mock_url("/x"))).await.unwrap();
    client.send(HttpRequest::get(mock_url("/x"))).await.unwrap();

    let requests = "gwi_http_requests_total{connector=test,method=GET,status=";
    assert_eq!(recorder.value(&format!("{requests}502}}")), 1);
    assert_eq!(recorder.value(&format!("{requests}200}}")), 2);
    assert_eq!(recorder.value("gwi_http_retries_total{connector=test}"), 1);
}

#[tokio::test]
async fn refetches_a_200_whose_json_body_was_cut() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/items"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(&b"[{\"id\":1},{\"id\""[..], "application/json"),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/items"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"id": 1}, {"id": 2}])))
        .expect(1)
        .mount(&server)
        .await;
    let client = builder(reqwest()).retry_policy(fast_policy(3)).build();

    let response = client
        .send(HttpRequest::get(server_url(&server, "/items")))
        .await
        .unwrap();

    assert_eq!(&response.body[..], br#"[{"id":1},{"id":2}]"#);
    assert_eq!(client.progress().snapshot().retries, 1);
}

#[tokio::test]
async fn a_body_that_stays_cut_fails_as_a_network_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/items"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(&b"{\"a\":"[..], "application/json"))
        .mount(&server)
        .await;
    let client = builder(reqwest()).retry_policy(fast_policy(2)).build();

    let err = client
        .send(HttpRequest::get(server_url(&server, "/items")))
        .await
        .unwrap_err();

    assert_eq!(err.kind(), "network", "{err}");
    assert!(err.to_string().contains("incomplete JSON body"), "{err}");
}

#[tokio::test]
async fn execute_json_refetches_a_cut_body_and_decodes_the_whole_one() {
    let mock = Arc::new(MockHttpClient::new());
    mock.push(MockResponse::ok_json(&json!([])).body(&b"[{\"id\":1},{\"id\""[..]))
        .push(MockResponse::ok_json(&json!([{"id": 1}, {"id": 2}])));
    let client = builder(mock.clone()).retry_policy(fast_policy(3)).build();

    let (_, items): (_, Vec<Item>) = client
        .execute_json(&HttpRequest::get(mock_url("/items")))
        .await
        .unwrap();

    assert_eq!(items, vec![Item { id: 1 }, Item { id: 2 }]);
    assert_eq!(mock.request_count(), 2);
    assert_eq!(client.progress().snapshot().retries, 1);
}

/// Decodes the one scripted `answer` as a list of items, which must fail; returns the error and
/// how many requests were made.
async fn execute_json_failure(answer: MockResponse) -> (ConnectorError, usize) {
    let mock = Arc::new(MockHttpClient::new());
    mock.push(answer);
    let client = builder(mock.clone()).retry_policy(fast_policy(3)).build();
    let err = client
        .execute_json::<Vec<Item>>(&HttpRequest::get(mock_url("/items")))
        .await
        .unwrap_err();
    (err, mock.request_count())
}

#[tokio::test]
async fn execute_json_names_the_field_of_a_whole_body_that_does_not_fit_and_does_not_retry() {
    let whole = MockResponse::ok_json(&json!([{"id": 1}, {"id": "two"}]));
    let (err, requests) = execute_json_failure(whole).await;

    assert_eq!(err.kind(), "validation", "{err}");
    assert!(err.to_string().contains("[1].id"), "names the field: {err}");
    assert_eq!(requests, 1, "a whole body is not fetched again");
}

#[tokio::test]
async fn execute_json_does_not_retry_an_answer_that_is_not_json() {
    let html = MockResponse::text(200, "<html>maintenance</html>");
    let (err, requests) = execute_json_failure(html).await;

    assert_eq!(err.kind(), "validation", "{err}");
    assert_eq!(requests, 1);
}

/// A listed item, for the decoding tests.
#[derive(Debug, PartialEq, serde::Deserialize)]
struct Item {
    id: u64,
}

#[tokio::test]
async fn a_run_shares_answers_to_requests_marked_shared_and_only_those() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/items"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([1]))
                .set_delay(Duration::from_millis(50)),
        )
        .mount(&server)
        .await;
    let client = builder(reqwest()).build();
    let url = server_url(&server, "/items");
    let run = client.sharing_answers();
    let shared = HttpRequest::get(url.clone()).share();
    // Two streams asking at once: the second waits for the first's answer.
    let (a, b) = tokio::join!(run.execute(&shared), run.execute(&shared));
    assert_eq!(&a.unwrap().body[..], b"[1]");
    assert_eq!(&b.unwrap().body[..], b"[1]");
    run.execute(&shared).await.unwrap();
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    // Unmarked requests, and another run, ask again.
    run.execute(&HttpRequest::get(url.clone())).await.unwrap();
    client.sharing_answers().execute(&shared).await.unwrap();
    client.execute(&shared).await.unwrap();
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}

#[tokio::test]
async fn a_failed_shared_request_is_not_kept() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/items"))
        .respond_with(ResponseTemplate::new(404))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/items"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([2])))
        .mount(&server)
        .await;
    let run = builder(reqwest()).build().sharing_answers();
    let shared = HttpRequest::get(server_url(&server, "/items")).share();
    assert!(run.execute(&shared).await.is_err());
    assert_eq!(&run.execute(&shared).await.unwrap().body[..], b"[2]");
    assert_eq!(&run.execute(&shared).await.unwrap().body[..], b"[2]");
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}
