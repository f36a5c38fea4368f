//! End to end with the real Linear connector: recorded webhooks over HTTP are verified by
//! `Linear-Signature` and the signed `webhookTimestamp` (60 s), stored once per
//! `Linear-Delivery`, and become the rows a sync writes; a `remove` turns the row into a tombstone.

use chrono::Utc;
use gwi_core::config::Secret;
use gwi_core::store::InboxStatus;
use gwi_core::webhook::sign;
use http::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

const SECRET: &str = "lin-e2e-signing-secret";

/// A recorded body, stamped `age_secs` ago in Unix milliseconds as Linear sends it (the
/// recordings carry an ISO string there).
fn stamped(name: &str, age_secs: i64) -> Vec<u8> {
    let path = format!(
        "{}/../gwi-connectors/tests/fixtures/linear/webhooks/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut body: Value = serde_json::from_slice(&bytes).unwrap();
    body["webhookTimestamp"] = json!((Utc::now().timestamp() - age_secs) * 1000);
    serde_json::to_vec(&body).unwrap()
}

async fn deliveries(engine: Engine) {
    let linear = gwi_connectors::registry()
        .build(
            "linear",
            json!({
                "auth": {"type": "api_key", "key": "lin_api_unused_in_this_test"},
                // Never called: without `teams`, mapping a delivery needs no API request.
                "base_url": "http://127.0.0.1:9",
                "webhook_secret": SECRET,
            }),
        )
        .unwrap();
    let opened = engine.open().await;
    let store = opened.store.clone();
    let running = spawn(server(vec![linear], store.clone(), fast_config())).await;
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let secret = Secret::literal(SECRET);
    let deliver = |body: Vec<u8>, signed_with: &Secret, delivery: &str| {
        let mut request = client
            .post(running.url("/webhooks/linear"))
            .header("content-type", "application/json")
            .header("linear-event", "Issue")
            .header("linear-delivery", delivery)
            .body(body.clone());
        for (name, value) in sign::linear(signed_with, &body) {
            request = request.header(name, value);
        }
        request.send()
    };

    let created = stamped("issue_create.json", 0);
    let stale = stamped("issue_create.json", 120);
    for (body, secret, status) in [
        (
            created.clone(),
            &Secret::literal("guess"),
            StatusCode::UNAUTHORIZED,
        ),
        (stale, &secret, StatusCode::UNAUTHORIZED),
        (created.clone(), &secret, StatusCode::ACCEPTED),
        // Linear retries with the same Linear-Delivery.
        (created, &secret, StatusCode::OK),
    ] {
        let answer = deliver(body, secret, "0f9c3f5e-delivery-1").await.unwrap();
        assert_eq!(answer.status(), status);
    }
    let removed = stamped("issue_remove.json", 0);
    let answer = deliver(removed, &secret, "0f9c3f5e-delivery-2")
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::ACCEPTED);

    eventually("both deliveries are processed", || async {
        inbox_count(store.as_ref(), InboxStatus::Done).await == 2
    })
    .await;
    running.stop().await;
    // The recordings create and then remove one issue: one row, now a tombstone.
    let created: Value = serde_json::from_slice(&stamped("issue_create.json", 0)).unwrap();
    let records = records_of(store.as_ref(), "default").await;
    assert_eq!(records.len(), 1, "{engine:?}: {records:?}");
    assert_eq!(records[0].id, created["data"]["id"].as_str().unwrap());
    assert_eq!(
        (records[0].source.as_str(), records[0].record_type.as_str()),
        ("linear", "issue")
    );
    assert!(records[0].is_tombstone(), "{:?}", records[0]);
}

#[tokio::test]
async fn linear_webhooks_are_verified_deduplicated_and_stored_with_sqlite() {
    deliveries(Engine::Sqlite).await;
}

#[tokio::test]
async fn linear_webhooks_are_verified_deduplicated_and_stored_in_memory() {
    deliveries(Engine::Memory).await;
}
