//! End to end with the real Jira connector: recorded deletion webhooks over HTTP are verified
//! by `X-Hub-Signature` (an unsigned one is refused once a secret is set), stored once per
//! `X-Atlassian-Webhook-Identifier`, and become tombstones.

use gwi_core::config::Secret;
use gwi_core::store::InboxStatus;
use gwi_core::webhook::sign;
use http::StatusCode;
use serde_json::json;

use crate::support::*;

const SECRET: &str = "jira-e2e-webhook-secret";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../gwi-connectors/tests/fixtures/jira/webhooks/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

async fn deletions(engine: Engine) {
    let jira = gwi_connectors::registry()
        .build(
            "jira",
            json!({
                "projects": ["IDT", "KT"],
                "auth": {"type": "basic", "username": "me@acme.test", "password": "unused-in-this-test"},
                // Never called: a deletion's tombstone is built from the delivery.
                "base_url": "http://127.0.0.1:9",
                "webhook_secret": SECRET,
            }),
        )
        .unwrap();
    let opened = engine.open().await;
    let store = opened.store.clone();
    let running = spawn(server(vec![jira], store.clone(), fast_config())).await;
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let deliver = |body: Vec<u8>, identifier: &str, signed: bool| {
        let mut request = client
            .post(running.url("/webhooks/jira"))
            .header("content-type", "application/json")
            .header("x-atlassian-webhook-identifier", identifier)
            .header("x-atlassian-webhook-retry", "0")
            .body(body.clone());
        if signed {
            for (name, value) in sign::jira(&Secret::literal(SECRET), &body) {
                request = request.header(name, value);
            }
        }
        request.send()
    };
    let issue = fixture("jira_issue_deleted.json");
    let comment = fixture("comment_deleted.json");
    for (body, id, signed, status) in [
        (issue.clone(), "wh-1", false, StatusCode::UNAUTHORIZED),
        (issue.clone(), "wh-1", true, StatusCode::ACCEPTED),
        (issue, "wh-1", true, StatusCode::OK),
        (comment, "wh-2", true, StatusCode::ACCEPTED),
    ] {
        assert_eq!(
            deliver(body, id, signed).await.unwrap().status(),
            status,
            "{id} signed={signed}"
        );
    }
    eventually("both deliveries are processed", || async {
        inbox_count(store.as_ref(), InboxStatus::Done).await == 2
    })
    .await;
    running.stop().await;
    let mut records = records_of(store.as_ref(), "default").await;
    records.sort_by(|a, b| a.id.cmp(&b.id));
    let found: Vec<(&str, &str, bool)> = records
        .iter()
        .map(|r| (r.record_type.as_str(), r.id.as_str(), r.is_tombstone()))
        .collect();
    assert_eq!(
        found,
        [("issue", "10303", true), ("comment", "10757", true)],
        "{engine:?}"
    );
}

#[tokio::test]
async fn jira_deletions_are_verified_deduplicated_and_stored_with_sqlite() {
    deletions(Engine::Sqlite).await;
}

#[tokio::test]
async fn jira_deletions_are_verified_deduplicated_and_stored_in_memory() {
    deletions(Engine::Memory).await;
}
