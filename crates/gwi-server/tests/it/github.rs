//! End to end with the real GitHub connector: a signed `issues` delivery over HTTP becomes the
//! same `issue` record a sync stores.

use gwi_core::config::Secret;
use gwi_core::store::InboxStatus;
use gwi_core::webhook::sign;
use http::StatusCode;
use serde_json::json;

use crate::support::*;

const SECRET: &str = "github-e2e-secret";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../gwi-connectors/tests/fixtures/github/webhooks/issues/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// How the delivery's body is sent: GitHub offers JSON and form-encoded (`payload=<json>`).
#[derive(Debug, Clone, Copy)]
enum Encoding {
    Json,
    Form,
}

async fn issues_delivery(engine: Engine, encoding: Encoding) {
    let github = gwi_connectors::registry()
        .build(
            "github",
            json!({
                "repositories": ["Codertocat/Hello-World"],
                "auth": {"type": "bearer", "token": "ghp_unused_in_this_test"},
                // Never called: mapping a webhook needs no API request.
                "base_url": "http://127.0.0.1:9",
                "webhook_secret": SECRET,
            }),
        )
        .unwrap();
    assert!(
        github.webhook.is_some(),
        "webhook_secret configures the scheme"
    );
    let opened = engine.open().await;
    let store = opened.store.clone();
    let running = spawn(server(vec![github], store.clone(), fast_config())).await;

    let json = fixture("opened.json");
    let (body, content_type) = match encoding {
        Encoding::Json => (json, "application/json"),
        Encoding::Form => {
            let form = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("payload", std::str::from_utf8(&json).unwrap())
                .finish();
            (form.into_bytes(), "application/x-www-form-urlencoded")
        }
    };
    let mut request = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(running.url("/webhooks/github"))
        .header("content-type", content_type)
        .header("x-github-event", "issues")
        .header("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
        .body(body.clone());
    for (name, value) in sign::github(&Secret::literal(SECRET), &body) {
        request = request.header(name, value);
    }
    let answer = request.send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::ACCEPTED);

    eventually("the delivery is processed", || async {
        inbox_count(store.as_ref(), InboxStatus::Done).await == 1
    })
    .await;
    running.stop().await;
    let records = records_of(store.as_ref(), "default").await;
    assert_eq!(records.len(), 1, "{engine:?} {encoding:?}: {records:?}");
    assert_eq!(records[0].record_type, "issue");
    assert_eq!(records[0].source, "github");
}

#[tokio::test]
async fn a_github_issues_delivery_becomes_an_issue_record_with_sqlite() {
    issues_delivery(Engine::Sqlite, Encoding::Json).await;
}

#[tokio::test]
async fn a_github_issues_delivery_becomes_an_issue_record_in_memory() {
    issues_delivery(Engine::Memory, Encoding::Json).await;
}

#[tokio::test]
async fn a_form_encoded_github_delivery_is_decoded_not_dead_lettered() {
    issues_delivery(Engine::Sqlite, Encoding::Form).await;
}

async fn sandbox_deliveries(engine: Engine) {
    let github = gwi_connectors::registry()
        .build(
            "github",
            json!({
                "repositories": ["acme/widgets", "acme/gadgets"],
                "auth": {"type": "bearer", "token": "ghp_unused_in_this_test"},
                "base_url": "http://127.0.0.1:9",
                "webhook_secret": SECRET,
            }),
        )
        .unwrap();
    let opened = engine.open().await;
    let store = opened.store.clone();
    let running = spawn(server(vec![github], store.clone(), fast_config())).await;

    let mut options = gwi_sandbox::SendOptions::new(
        "github",
        url::Url::parse(&running.url("/webhooks/github")).unwrap(),
        SECRET,
        60,
    );
    options.event = Some("issues".to_owned());
    options.duplicate_rate = 0.25;
    options.bad_signature_rate = 0.1;
    options.concurrency = 8;
    let report = gwi_sandbox::send_webhooks(options).await.unwrap();

    let count = |f: &dyn Fn(&gwi_sandbox::DeliveryResult) -> bool| {
        report.results.iter().filter(|r| f(r)).count()
    };
    let good_originals = count(&|r| !r.duplicate && !r.bad_signature);
    let good_repeats = count(&|r| r.duplicate && !r.bad_signature);
    assert!(
        good_repeats > 0 && report.bad_signatures > 0,
        "the plan exercises both"
    );
    assert_eq!(report.transport_errors, 0);
    let status = |code| report.status_counts.get(&code).copied().unwrap_or(0);
    assert_eq!(status(202), good_originals, "{:?}", report.status_counts);
    assert_eq!(status(200), good_repeats, "{:?}", report.status_counts);
    assert_eq!(
        status(401),
        report.bad_signatures,
        "{:?}",
        report.status_counts
    );

    eventually("every stored delivery is processed", || async {
        inbox_count(store.as_ref(), InboxStatus::Done).await == good_originals as u64
    })
    .await;
    running.stop().await;
    assert_eq!(
        inbox_count(store.as_ref(), InboxStatus::Pending).await
            + inbox_count(store.as_ref(), InboxStatus::Dead).await,
        0,
        "each delivery stored once, and all processed"
    );
    let records = records_of(store.as_ref(), "default").await;
    assert!(!records.is_empty());
    assert!(
        records
            .iter()
            .all(|r| r.record_type == "issue" && r.source == "github")
    );
}

#[tokio::test]
async fn the_sandbox_sender_is_verified_deduplicated_and_processed_with_sqlite() {
    sandbox_deliveries(Engine::Sqlite).await;
}

#[tokio::test]
async fn the_sandbox_sender_is_verified_deduplicated_and_processed_in_memory() {
    sandbox_deliveries(Engine::Memory).await;
}
