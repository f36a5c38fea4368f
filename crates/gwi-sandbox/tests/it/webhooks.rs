use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use gwi_sandbox::{SendOptions, send_webhooks};
use hmac::{Hmac, Mac};
use http::{HeaderMap, StatusCode};
use sha2::Sha256;
use url::Url;

const SECRET: &str = "sandbox-webhook-secret";

#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<(HeaderMap, Bytes)>>>);

fn verifies(headers: &HeaderMap, body: &[u8]) -> bool {
    let Some(sig) = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some(hex_sig) = sig.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(raw) = hex::decode(hex_sig) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("hmac key");
    mac.update(body);
    mac.verify_slice(&raw).is_ok()
}

async fn receive(State(r): State<Received>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let ok = verifies(&headers, &body);
    r.0.lock().expect("lock").push((headers, body));
    if ok {
        StatusCode::ACCEPTED
    } else {
        StatusCode::UNAUTHORIZED
    }
}

async fn receiver() -> (Url, Received) {
    let received = Received::default();
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (
        Url::parse(&format!("http://{addr}/hook")).expect("url"),
        received,
    )
}

#[tokio::test]
async fn signatures_verify_over_the_received_bytes_and_duplicates_reuse_the_delivery_id() {
    let (url, received) = receiver().await;
    let mut opts = SendOptions::new("github", url, SECRET, 40);
    opts.event = Some("pull_request".to_owned());
    opts.duplicate_rate = 0.25;
    opts.bad_signature_rate = 0.2;
    opts.seed = 8;
    let report = send_webhooks(opts).await.expect("send");

    let got = received.0.lock().expect("lock").clone();
    assert_eq!(got.len(), report.sent);
    assert_eq!(report.sent, 40 + report.duplicates);
    assert!(report.duplicates > 0 && report.bad_signatures > 0);
    let bad_received = got.iter().filter(|(h, b)| !verifies(h, b)).count();
    assert_eq!(bad_received, report.bad_signatures);
    assert_eq!(
        report.status_counts.get(&202).copied().unwrap_or(0),
        report.sent - report.bad_signatures
    );
    assert_eq!(
        report.status_counts.get(&401).copied().unwrap_or(0),
        report.bad_signatures
    );
    assert_eq!(report.transport_errors, 0);

    let mut by_id: HashMap<String, Vec<&Bytes>> = HashMap::new();
    for (h, b) in &got {
        assert_eq!(h["x-github-event"], "pull_request");
        assert_eq!(h["content-type"], "application/json");
        assert!(
            h["user-agent"]
                .to_str()
                .expect("ascii")
                .starts_with("GitHub-Hookshot/")
        );
        assert!(h.contains_key("x-github-hook-id"));
        let id = h["x-github-delivery"].to_str().expect("ascii").to_owned();
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
        let payload: serde_json::Value = serde_json::from_slice(b).expect("json payload");
        assert!(payload["pull_request"]["head"]["sha"].is_string());
        by_id.entry(id).or_default().push(b);
    }
    assert_eq!(by_id.len(), 40);
    let repeated: Vec<_> = by_id.values().filter(|v| v.len() > 1).collect();
    assert_eq!(repeated.len(), report.duplicates);
    assert!(repeated.iter().all(|v| v.len() == 2 && v[0] == v[1]));
}

#[tokio::test]
async fn every_event_type_sends_a_payload_the_receiver_accepts() {
    let (url, received) = receiver().await;
    for event in [
        "pull_request",
        "issues",
        "issue_comment",
        "pull_request_review",
        "push",
        "workflow_run",
    ] {
        let mut o = SendOptions::new("github", url.clone(), SECRET, 3);
        o.event = Some(event.to_owned());
        let report = send_webhooks(o).await.expect("send");
        assert_eq!(report.status_counts.get(&202), Some(&3), "{event}");
    }
    let got = received.0.lock().expect("lock").clone();
    assert_eq!(got.len(), 18);
    let bodies: std::collections::HashSet<&Bytes> = got.iter().map(|(_, b)| b).collect();
    assert_eq!(
        bodies.len(),
        18,
        "each delivery tells of a change of its own"
    );
}

#[tokio::test]
async fn every_provider_sends_its_own_signed_deliveries() {
    let (url, received) = receiver().await;
    let signature_header = [
        ("github", "x-hub-signature-256"),
        ("gitlab", "x-gitlab-token"),
        ("jira", "x-hub-signature"),
        ("slack", "x-slack-signature"),
        ("linear", "linear-signature"),
    ];
    for (provider, header) in signature_header {
        received.0.lock().expect("lock").clear();
        let report = send_webhooks(SendOptions::new(provider, url.clone(), SECRET, 12))
            .await
            .expect("send");
        assert_eq!(
            (report.sent, report.transport_errors),
            (12, 0),
            "{provider}"
        );
        let ids: std::collections::HashSet<&str> = report
            .results
            .iter()
            .map(|r| r.delivery_id.as_str())
            .collect();
        assert_eq!(
            ids.len(),
            12,
            "{provider}: every delivery has an id of its own"
        );
        for (headers, body) in received.0.lock().expect("lock").iter() {
            assert!(headers.contains_key(header), "{provider}: no {header}");
            assert!(serde_json::from_slice::<serde_json::Value>(body).is_ok());
        }
    }
}

#[tokio::test]
async fn same_seed_plans_the_same_faults_but_every_run_sends_new_deliveries() {
    let (url, _received) = receiver().await;
    let plan = |r: &gwi_sandbox::SendReport| {
        r.results
            .iter()
            .map(|d| (d.duplicate, d.bad_signature))
            .collect::<Vec<_>>()
    };
    let ids = |r: &gwi_sandbox::SendReport| {
        r.results
            .iter()
            .filter(|d| !d.duplicate)
            .map(|d| d.delivery_id.clone())
            .collect::<std::collections::BTreeSet<_>>()
    };
    let mut o = SendOptions::new("github", url, SECRET, 10);
    o.event = Some("issues".to_owned());
    o.duplicate_rate = 0.3;
    o.bad_signature_rate = 0.3;
    let a = send_webhooks(o.clone()).await.expect("send");
    let b = send_webhooks(o.clone()).await.expect("send");
    o.seed = 2;
    let c = send_webhooks(o).await.expect("send");
    assert_eq!(plan(&a), plan(&b));
    assert_ne!(plan(&a), plan(&c));
    // A second run is not a redelivery of the first: a receiver must store both.
    assert!(ids(&a).is_disjoint(&ids(&b)));
}

#[tokio::test]
async fn unknown_providers_events_and_bad_rates_are_refused() {
    let url = Url::parse("http://127.0.0.1:9/").expect("url");
    let mut o = SendOptions::new("github", url.clone(), SECRET, 1);
    o.event = Some("deployment".to_owned());
    let err = send_webhooks(o)
        .await
        .expect_err("no such event")
        .to_string();
    assert!(
        err.contains("deployment") && err.contains("pull_request"),
        "{err}"
    );
    let err = send_webhooks(SendOptions::new("gitbucket", url.clone(), SECRET, 1))
        .await
        .expect_err("no such provider")
        .to_string();
    assert!(err.contains("gitbucket") && err.contains("gitlab"), "{err}");
    let mut o = SendOptions::new("github", url, SECRET, 1);
    o.duplicate_rate = 1.5;
    assert!(send_webhooks(o).await.is_err());
}

#[tokio::test]
async fn slack_user_changes_do_not_run_out() {
    let (url, _received) = receiver().await;
    let mut o = SendOptions::new("slack", url, SECRET, 60);
    o.event = Some("user_change".to_owned());
    let report = send_webhooks(o).await.expect("send");
    assert_eq!(report.deliveries, 60);
    assert!(report.results.iter().all(|r| r.event == "user_change"));
}
