//! The same service over real sockets: signed deliveries, limits, and graceful shutdown.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use gwi_core::store::InboxStatus;
use gwi_server::ServerConfig;
use http::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

async fn json_of(response: reqwest::Response) -> Value {
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

async fn deliver(
    client: &reqwest::Client,
    url: &str,
    headers: &[(&'static str, String)],
    body: Vec<u8>,
) -> reqwest::Response {
    let mut request = client
        .post(url)
        .header("content-type", "application/json")
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request.send().await.unwrap()
}

async fn delivered_over_http(engine: Engine) {
    let opened = engine.open().await;
    let store = opened.store.clone();
    let connector = TestConnector::github("sock", Behaviour::Map);
    let running = spawn(server(
        vec![connector.configured()],
        store.clone(),
        fast_config(),
    ))
    .await;
    let client = client();
    let body = br#"{"id":"issue-42","title":"over the wire"}"#.to_vec();
    let url = running.url("/webhooks/sock");

    let answer = deliver(&client, &url, &github_headers("s-1", &body), body.clone()).await;
    assert_eq!(answer.status(), StatusCode::ACCEPTED, "{engine:?}");
    assert!(json_of(answer).await["id"].is_i64());

    let again = deliver(&client, &url, &github_headers("s-1", &body), body.clone()).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(json_of(again).await, json!({"duplicate": true}));

    let forged = deliver(&client, &url, &github_headers("s-2", b"other bytes"), body).await;
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json_of(forged).await["reason"], "bad_signature");

    eventually("the event is done", || async {
        inbox_count(store.as_ref(), InboxStatus::Done).await == 1
    })
    .await;
    assert_eq!(inbox_count(store.as_ref(), InboxStatus::Pending).await, 0);
    let records = records_of(store.as_ref(), "acme").await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].id, "issue-42");
    assert_eq!(records[0].data.to_value()["title"], "over the wire");

    let health = client.get(running.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let ready = client.get(running.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    running.stop().await;
}

#[tokio::test]
async fn a_signed_delivery_over_http_is_stored_processed_and_deduplicated_with_sqlite() {
    delivered_over_http(Engine::Sqlite).await;
}

#[tokio::test]
async fn a_signed_delivery_over_http_is_stored_processed_and_deduplicated_in_memory() {
    delivered_over_http(Engine::Memory).await;
}

#[tokio::test]
async fn an_oversized_body_over_http_is_413() {
    let opened = Engine::Sqlite.open().await;
    let store = opened.store.clone();
    let config = ServerConfig {
        body_limit: 1024,
        ..fast_config()
    };
    let connector = TestConnector::github("sock-limit", Behaviour::Map);
    let running = spawn(server(vec![connector.configured()], store.clone(), config)).await;
    let body = serde_json::to_vec(&json!({"id": "x", "pad": "a".repeat(4096)})).unwrap();
    let answer = deliver(
        &client(),
        &running.url("/webhooks/sock-limit"),
        &github_headers("big", &body),
        body,
    )
    .await;
    assert_eq!(answer.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(inbox_count(store.as_ref(), InboxStatus::Pending).await, 0);
    running.stop().await;
}

#[tokio::test]
async fn a_store_failure_over_http_is_503_with_retry_after() {
    let store = Arc::new(TestStore::new());
    store.fail_append.store(true, Ordering::SeqCst);
    let connector = TestConnector::github("sock-down", Behaviour::Map);
    let running = spawn(server(
        vec![connector.configured()],
        store.clone(),
        fast_config(),
    ))
    .await;
    let body = br#"{"id":"x"}"#.to_vec();
    let answer = deliver(
        &client(),
        &running.url("/webhooks/sock-down"),
        &github_headers("d", &body),
        body,
    )
    .await;
    assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.headers()["retry-after"], "5");
    running.stop().await;
}

#[tokio::test]
async fn graceful_shutdown_finishes_the_request_in_flight_then_stops_accepting() {
    let store = Arc::new(TestStore::new());
    let connector = TestConnector::github("sock-drain", Behaviour::Map);
    let running = spawn(server(
        vec![connector.configured()],
        store.clone(),
        fast_config(),
    ))
    .await;
    let gate = store.hold_appends();
    let client = client();
    let url = running.url("/webhooks/sock-drain");
    let body = br#"{"id":"in-flight"}"#.to_vec();
    let in_flight = tokio::spawn({
        let client = client.clone();
        let url = url.clone();
        let headers = github_headers("inflight", &body);
        async move { deliver(&client, &url, &headers, body).await.status() }
    });
    eventually("the request reached the store", || async {
        store.append_calls.load(Ordering::SeqCst) == 1
    })
    .await;

    let addr = running.addr;
    let serving = running.begin_stop();
    eventually("the listener is closed", || async {
        tokio::net::TcpStream::connect(addr).await.is_err()
    })
    .await;
    // Only now may the held request finish: it was in flight through the whole shutdown.
    gate.add_permits(1);
    assert_eq!(in_flight.await.unwrap(), StatusCode::ACCEPTED);
    serving.await.unwrap().unwrap();
    assert_eq!(store.entries().len(), 1, "the acknowledged event is stored");
}

#[tokio::test]
async fn graceful_shutdown_appends_deliveries_still_queued_before_returning() {
    let store = Arc::new(TestStore::new());
    let connector = TestConnector::github("sock-queued", Behaviour::Map);
    let config = ServerConfig {
        request_timeout: std::time::Duration::from_millis(200),
        ..fast_config()
    };
    let running = spawn(server(vec![connector.configured()], store.clone(), config)).await;
    let gate = store.hold_appends();
    let client = client();
    let url = running.url("/webhooks/sock-queued");
    let body = br#"{"id":"queued"}"#.to_vec();
    // The first delivery's commit is held; the second waits behind it. Both time out (503),
    // but neither is withdrawn.
    let (held_headers, queued_headers) = (
        github_headers("held", &body),
        github_headers("queued", &body),
    );
    let held = deliver(&client, &url, &held_headers, body.clone());
    let queued = deliver(&client, &url, &queued_headers, body);
    let (held, queued) = tokio::join!(held, queued);
    assert_eq!(held.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(queued.status(), StatusCode::SERVICE_UNAVAILABLE);

    let addr = running.addr;
    let serving = running.begin_stop();
    eventually("the listener is closed", || async {
        tokio::net::TcpStream::connect(addr).await.is_err()
    })
    .await;
    assert!(
        !serving.is_finished(),
        "the server stopped with deliveries still queued"
    );
    gate.add_permits(10);
    serving.await.unwrap().unwrap();
    let mut stored: Vec<String> = store
        .entries()
        .into_iter()
        .map(|e| e.webhook.dedupe_key)
        .collect();
    stored.sort();
    assert_eq!(stored, ["held", "queued"]);
}
