//! End to end with the real GitLab connector: a recorded `Merge Request Hook` over HTTP is
//! checked by its `X-Gitlab-Token`, stored once however often it is delivered, and becomes the
//! `merge_request` record a sync stores under the same id.

use gwi_core::store::InboxStatus;
use http::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

const TOKEN: &str = "gitlab-e2e-token";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../gwi-connectors/tests/fixtures/gitlab/webhooks/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

async fn merge_request_hook(engine: Engine) {
    let gitlab = gwi_connectors::registry()
        .build(
            "gitlab",
            json!({
                "projects": ["gitlab-org/hello-world"],
                "auth": {"type": "bearer", "token": "glpat-unused-in-this-test"},
                // Never called: mapping a webhook needs no API request.
                "base_url": "http://127.0.0.1:9",
                "webhook_secret": TOKEN,
            }),
        )
        .unwrap();
    let opened = engine.open().await;
    let store = opened.store.clone();
    let running = spawn(server(vec![gitlab], store.clone(), fast_config())).await;
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let body = fixture("merge_request_open.json");
    let deliver = |token: Option<&str>| {
        let mut request = client
            .post(running.url("/webhooks/gitlab"))
            .header("content-type", "application/json")
            .header("x-gitlab-event", "Merge Request Hook")
            .header("idempotency-key", "6f1ad1d4-2b35-4c4e-9d5c-3c1f0f7a9e11")
            .body(body.clone());
        if let Some(token) = token {
            request = request.header("x-gitlab-token", token);
        }
        request.send()
    };

    assert_eq!(
        deliver(Some("not-the-token")).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        deliver(None).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        deliver(Some(TOKEN)).await.unwrap().status(),
        StatusCode::ACCEPTED
    );
    // GitLab retries a delivery it thinks failed, with the same Idempotency-Key.
    assert_eq!(deliver(Some(TOKEN)).await.unwrap().status(), StatusCode::OK);

    eventually("the delivery is processed", || async {
        inbox_count(store.as_ref(), InboxStatus::Done).await == 1
    })
    .await;
    running.stop().await;
    let hook: Value = serde_json::from_slice(&body).unwrap();
    let records = records_of(store.as_ref(), "default").await;
    assert_eq!(records.len(), 1, "{engine:?}: {records:?}");
    assert_eq!(records[0].record_type, "merge_request");
    assert_eq!(records[0].source, "gitlab");
    // The id a sync gives the merge request: its instance-wide id, not the per-project iid.
    let id = hook["object_attributes"]["id"].as_u64().unwrap();
    assert_eq!(records[0].id, format!("mr-{id}"));
}

#[tokio::test]
async fn a_gitlab_merge_request_hook_is_checked_deduplicated_and_stored_with_sqlite() {
    merge_request_hook(Engine::Sqlite).await;
}

#[tokio::test]
async fn a_gitlab_merge_request_hook_is_checked_deduplicated_and_stored_in_memory() {
    merge_request_hook(Engine::Memory).await;
}
