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

/// Opens a connection and sends `bytes`, leaving it open.
async fn send_raw(addr: std::net::SocketAddr, bytes: &[u8]) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(bytes).await.unwrap();
    tcp
}

/// Whether the server closes `tcp` (reads EOF or a reset) within `within`, reading whatever
/// it answers first.
async fn closed_within(tcp: &mut tokio::net::TcpStream, within: std::time::Duration) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buffer = [0u8; 1024];
    tokio::time::timeout(within, async {
        loop {
            match tcp.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

/// The head of a signed delivery to `path` that declares `length` body bytes and sends none.
fn head_declaring(path: &str, length: usize) -> Vec<u8> {
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: {length}\r\n"
    );
    for (name, value) in github_headers("slow", b"{}") {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    head.into_bytes()
}

#[tokio::test]
async fn a_half_sent_head_and_an_idle_connection_are_closed_after_the_header_timeout() {
    let connector = TestConnector::github("sock-slowloris", Behaviour::Map);
    let config = ServerConfig {
        header_read_timeout: std::time::Duration::from_millis(300),
        ..fast_config()
    };
    let store = Arc::new(TestStore::new());
    let running = spawn(server(vec![connector.configured()], store, config)).await;
    let mut half = send_raw(
        running.addr,
        b"POST /webhooks/sock-slowloris HTTP/1.1\r\nhost: x\r\n",
    )
    .await;
    let mut idle = send_raw(running.addr, b"").await;
    let wait = std::time::Duration::from_secs(5);
    assert!(
        closed_within(&mut half, wait).await,
        "a half-sent head stays open"
    );
    assert!(
        closed_within(&mut idle, wait).await,
        "an idle connection stays open"
    );
    running.stop().await;
}

#[tokio::test]
async fn clients_trickling_bodies_hold_no_storing_slot() {
    let store = Arc::new(TestStore::new());
    let connector = TestConnector::github("sock-trickle", Behaviour::Map);
    let config = ServerConfig {
        concurrency_limit: 1,
        request_timeout: std::time::Duration::from_secs(3),
        ..fast_config()
    };
    let running = spawn(server(vec![connector.configured()], store.clone(), config)).await;
    // Two clients send a head, then a few bytes of a body they never finish.
    let mut slow = Vec::new();
    for _ in 0..2 {
        let mut bytes = head_declaring("/webhooks/sock-trickle", 1000);
        bytes.extend_from_slice(b"{\"id\":");
        slow.push(send_raw(running.addr, &bytes).await);
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let body = br#"{"id":"on-time"}"#.to_vec();
    let answer = deliver(
        &client(),
        &running.url("/webhooks/sock-trickle"),
        &github_headers("on-time", &body),
        body,
    )
    .await;
    assert_eq!(answer.status(), StatusCode::ACCEPTED);
    assert_eq!(store.entries().len(), 1);
    drop(slow);
    running.stop().await;
}

#[tokio::test]
async fn body_bytes_in_flight_are_capped_and_returned() {
    let store = Arc::new(TestStore::new());
    let connector = TestConnector::github("sock-bytes", Behaviour::Map);
    let config = ServerConfig {
        body_limit: 4096,
        body_bytes_in_flight: 4096,
        ..fast_config()
    };
    let running = spawn(server(vec![connector.configured()], store.clone(), config)).await;
    let url = running.url("/webhooks/sock-bytes");
    let body = br#"{"id":"waits-its-turn"}"#.to_vec();
    // A client declaring 4,090 bytes holds them while it sends nothing more.
    let hog = send_raw(running.addr, &head_declaring("/webhooks/sock-bytes", 4090)).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let refused = deliver(
        &client(),
        &url,
        &github_headers("turn-1", &body),
        body.clone(),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(json_of(refused).await["error"], "busy");
    // Once that client goes, its bytes are free again.
    drop(hog);
    eventually("the budget is returned", || {
        let client = client();
        let (url, body) = (url.clone(), body.clone());
        async move {
            deliver(&client, &url, &github_headers("turn-2", &body), body)
                .await
                .status()
                == StatusCode::ACCEPTED
        }
    })
    .await;
    assert_eq!(store.entries().len(), 1);
    running.stop().await;
}

#[tokio::test]
async fn connections_past_the_cap_wait_until_one_closes() {
    let store = Arc::new(TestStore::new());
    let connector = TestConnector::github("sock-conns", Behaviour::Map);
    let config = ServerConfig {
        max_connections: 2,
        ..fast_config()
    };
    let running = spawn(server(vec![connector.configured()], store.clone(), config)).await;
    let first = send_raw(running.addr, b"").await;
    let second = send_raw(running.addr, b"").await;
    let body = br#"{"id":"third"}"#.to_vec();
    let third = tokio::spawn({
        let url = running.url("/webhooks/sock-conns");
        let headers = github_headers("third", &body);
        async move { deliver(&client(), &url, &headers, body).await.status() }
    });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(
        !third.is_finished(),
        "a third connection was served past the cap of two"
    );
    drop(first);
    let status = tokio::time::timeout(std::time::Duration::from_secs(5), third)
        .await
        .expect("the third connection is served once one closes")
        .unwrap();
    assert_eq!(status, StatusCode::ACCEPTED);
    drop(second);
    running.stop().await;
}
