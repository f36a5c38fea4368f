//! End to end with the real Slack connector: recorded Events API deliveries over HTTP are
//! verified by their `v0` signature within Slack's window, stored once however often Slack
//! retries them, and become the rows a sync writes; a deletion becomes a tombstone.

use chrono::Utc;
use gwi_core::config::Secret;
use gwi_core::store::InboxStatus;
use gwi_core::webhook::sign;
use http::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

const SIGNING_SECRET: &str = "slack-e2e-signing-secret";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../gwi-connectors/tests/fixtures/slack/webhooks/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

async fn events(engine: Engine) {
    let slack = gwi_connectors::registry()
        .build(
            "slack",
            json!({
                "auth": {"type": "bearer", "token": "xoxb-unused-in-this-test"},
                // Never called: mapping an event needs no API request.
                "base_url": "http://127.0.0.1:9",
                "webhook_secret": SIGNING_SECRET,
            }),
        )
        .unwrap();
    let opened = engine.open().await;
    let store = opened.store.clone();
    let running = spawn(server(vec![slack], store.clone(), fast_config())).await;
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let secret = Secret::literal(SIGNING_SECRET);
    let deliver = |body: Vec<u8>, headers: Vec<(&'static str, String)>| {
        let mut request = client
            .post(running.url("/webhooks/slack"))
            .header("content-type", "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send()
    };
    let now = Utc::now().timestamp();

    // A url_verification without a valid signature gets no challenge back.
    let challenge = fixture("url_verification.json");
    let forged = deliver(
        challenge.clone(),
        sign::slack(&Secret::literal("guess"), now, &challenge),
    )
    .await
    .unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    assert!(!forged.text().await.unwrap().contains("challenge"));
    let answered = deliver(challenge.clone(), sign::slack(&secret, now, &challenge))
        .await
        .unwrap();
    assert_eq!(answered.status(), StatusCode::OK);
    let expected: Value = serde_json::from_slice(&challenge).unwrap();
    let answer: Value = serde_json::from_str(&answered.text().await.unwrap()).unwrap();
    assert_eq!(answer["challenge"], expected["challenge"]);

    let posted = fixture("event_callback_message.json");
    // Forged, stale (outside the five minutes), then right.
    for (headers, status) in [
        (
            sign::slack(&Secret::literal("guess"), now, &posted),
            StatusCode::UNAUTHORIZED,
        ),
        (
            sign::slack(&secret, now - 600, &posted),
            StatusCode::UNAUTHORIZED,
        ),
        (sign::slack(&secret, now, &posted), StatusCode::ACCEPTED),
    ] {
        assert_eq!(
            deliver(posted.clone(), headers).await.unwrap().status(),
            status
        );
    }
    // Slack's retry: the same event_id, a new signature, X-Slack-Retry-Num.
    let mut retry = sign::slack(&secret, now + 1, &posted);
    retry.push(("x-slack-retry-num", "1".to_owned()));
    retry.push(("x-slack-retry-reason", "http_timeout".to_owned()));
    assert_eq!(
        deliver(posted.clone(), retry).await.unwrap().status(),
        StatusCode::OK
    );

    let deleted = fixture("event_callback_message_deleted.json");
    // The recorded deletion reuses the posted event's id; Slack's ids are unique per event.
    let mut deletion: Value = serde_json::from_slice(&deleted).unwrap();
    deletion["event_id"] = json!("Ev222");
    let deletion = serde_json::to_vec(&deletion).unwrap();
    assert_eq!(
        deliver(deletion.clone(), sign::slack(&secret, now, &deletion))
            .await
            .unwrap()
            .status(),
        StatusCode::ACCEPTED
    );

    eventually("both deliveries are processed", || async {
        inbox_count(store.as_ref(), InboxStatus::Done).await == 2
    })
    .await;
    running.stop().await;
    let mut records = records_of(store.as_ref(), "default").await;
    records.sort_by(|a, b| a.id.cmp(&b.id));
    let ids: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        ["C111-1606810819.000800", "C111-1665368619.804829"],
        "{engine:?}"
    );
    assert!(
        records
            .iter()
            .all(|r| r.source == "slack" && r.record_type == "message")
    );
    assert!(!records[0].is_tombstone());
    assert!(records[1].is_tombstone(), "{:?}", records[1]);
}

#[tokio::test]
async fn slack_events_are_verified_deduplicated_and_stored_with_sqlite() {
    events(Engine::Sqlite).await;
}

#[tokio::test]
async fn slack_events_are_verified_deduplicated_and_stored_in_memory() {
    events(Engine::Memory).await;
}
