//! `/healthz`, `/readyz` and `/metrics`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Body;
use http::{Request, StatusCode};

use crate::support::*;

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn healthz_answers_while_the_store_is_down() {
    let store = Arc::new(TestStore::new());
    store.fail_ping.store(true, Ordering::SeqCst);
    let router = server(vec![], store, fast_config()).router();
    assert_eq!(send(&router, get("/healthz")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn readyz_follows_the_store() {
    let store = Arc::new(TestStore::new());
    let router = server(vec![], store.clone(), fast_config()).router();
    let ready = send(&router, get("/readyz")).await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(ready.json()["status"], "ready");

    store.fail_ping.store(true, Ordering::SeqCst);
    let down = send(&router, get("/readyz")).await;
    assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(!down.text.contains("switched off"), "{}", down.text);

    store.fail_ping.store(false, Ordering::SeqCst);
    assert_eq!(send(&router, get("/readyz")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn metrics_count_requests_refusals_processing_and_inbox_depth() {
    let store = Arc::new(TestStore::new());
    let connector = TestConnector::github("metered", Behaviour::Map);
    let server = server(vec![connector.configured()], store.clone(), fast_config());
    let router = server.router();
    let workers = server.start_workers();

    let ok = send(
        &router,
        github_post("/webhooks/metered", "m-1", br#"{"id":"x"}"#),
    )
    .await;
    assert_eq!(ok.status, StatusCode::ACCEPTED);
    let dup = send(
        &router,
        github_post("/webhooks/metered", "m-1", br#"{"id":"x"}"#),
    )
    .await;
    assert_eq!(dup.status, StatusCode::OK);
    let unsigned = send(&router, post("/webhooks/metered", &[], b"{}".to_vec())).await;
    assert_eq!(unsigned.status, StatusCode::UNAUTHORIZED);
    eventually("the event is processed", || async {
        store.records().len() == 1
    })
    .await;
    workers.shutdown().await;

    let scrape = send(&router, get("/metrics")).await;
    assert_eq!(scrape.status, StatusCode::OK);
    assert!(
        scrape.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"),
    );
    let text = &scrape.text;
    let requests = |status| {
        metric(
            text,
            "gwi_webhook_requests_total",
            &[("connector", "metered"), ("status", status)],
        )
    };
    assert_eq!(requests("202"), Some(1.0), "{text}");
    assert_eq!(requests("200"), Some(1.0), "{text}");
    assert_eq!(requests("401"), Some(1.0), "{text}");
    let failures = |reason| {
        metric(
            text,
            "gwi_webhook_verification_failures_total",
            &[("connector", "metered"), ("reason", reason)],
        )
    };
    assert_eq!(failures("missing_signature"), Some(1.0), "{text}");
    assert_eq!(
        failures("expired"),
        Some(0.0),
        "reasons are registered at zero"
    );
    assert_eq!(
        metric(
            text,
            "gwi_webhook_processed_total",
            &[("connector", "metered"), ("outcome", "done")]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        metric(
            text,
            "gwi_webhook_processing_seconds_count",
            &[("connector", "metered")]
        ),
        Some(1.0),
        "{text}"
    );
    // The depth gauges are process-wide and read at scrape time; done entries are not among
    // them (counting those would read the whole inbox on every scrape).
    assert!(
        metric(text, "gwi_webhook_inbox_depth", &[("status", "pending")]).is_some(),
        "{text}"
    );
    assert!(
        metric(text, "gwi_webhook_inbox_depth", &[("status", "done")]).is_none(),
        "{text}"
    );
}

#[tokio::test]
async fn unknown_connector_names_share_one_series() {
    let router = server(vec![], Arc::new(TestStore::new()), fast_config()).router();
    for name in ["a-random-name", "another-random-name"] {
        let path = format!("/webhooks/{name}");
        assert_eq!(
            send(&router, post(&path, &[], b"{}".to_vec())).await.status,
            StatusCode::NOT_FOUND
        );
    }
    let text = send(&router, get("/metrics")).await.text;
    assert!(!text.contains("a-random-name"), "{text}");
    assert!(
        metric(
            &text,
            "gwi_webhook_requests_total",
            &[("connector", "_unknown"), ("status", "404")]
        )
        .is_some_and(|n| n >= 2.0),
        "{text}"
    );
}
