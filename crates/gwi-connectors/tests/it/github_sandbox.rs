//! The GitHub connector against the sandbox, beyond the behaviour suite (`main.rs`): which
//! listings an unchanged upstream costs, endpoint by endpoint.

use std::collections::BTreeMap;
use std::sync::Arc;

use gwi_core::store::{RecordQuery, Store};
use gwi_core::stream::SyncOptions;
use gwi_core::sync::SyncEngine;
use gwi_sandbox::{FaultConfig, Sandbox, SandboxConfig, SandboxHandle};
use gwi_testing::MemoryStore;
use serde_json::json;

use crate::support::*;

async fn sandbox(faults: &str) -> SandboxHandle {
    Sandbox::start(SandboxConfig {
        faults: faults.parse::<FaultConfig>().unwrap(),
        ..SandboxConfig::default()
    })
    .await
    .unwrap()
}

fn connector(sandbox: &SandboxHandle) -> gwi_core::registry::ConfiguredConnector {
    github_with(json!({
        "base_url": sandbox.base_url().as_str(),
        "repositories": ["acme/widgets", "acme/gadgets"],
        "auth": {"type": "bearer", "token": "gwi-sandbox-test"},
        "http": {"initial_backoff_ms": 10, "max_backoff_secs": 1},
    }))
}

async fn sync(sandbox: &SandboxHandle, store: &Arc<dyn Store>) -> gwi_core::sync::SyncResult {
    let connector = connector(sandbox);
    let ctx = context(&connector);
    SyncEngine::new(connector.connector.clone(), ctx, store.clone())
        .run(SyncOptions::default())
        .await
        .unwrap()
}

async fn stored_by_type(store: &Arc<dyn Store>) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for t in [
        "pull_request",
        "issue",
        "comment",
        "review",
        "commit",
        "workflow_run",
    ] {
        let query = RecordQuery {
            tenant: "default".into(),
            connector: Some("github".into()),
            record_type: Some(t.into()),
            ..RecordQuery::default()
        };
        counts.insert(t.to_owned(), store.count_records(&query).await.unwrap());
    }
    counts
}

fn expected(sandbox: &SandboxHandle) -> BTreeMap<String, u64> {
    let t = sandbox.github().counts().total;
    let n = |v: usize| v as u64;
    BTreeMap::from([
        ("pull_request".to_owned(), n(t.pulls)),
        ("issue".to_owned(), n(t.issues)),
        (
            "comment".to_owned(),
            n(t.issue_comments + t.review_comments),
        ),
        ("review".to_owned(), n(t.reviews)),
        ("commit".to_owned(), n(t.commits)),
        ("workflow_run".to_owned(), n(t.workflow_runs)),
    ])
}

#[tokio::test]
async fn an_unchanged_upstream_costs_one_request_per_endpoint_and_changes_are_picked_up() {
    let sandbox = sandbox("none").await;
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    sync(&sandbox, &store).await;
    let before = sandbox.stats().requests.by_route;
    sync(&sandbox, &store).await;
    let after = sandbox.stats().requests.by_route;
    let delta = |route: &str| {
        after.get(route).copied().unwrap_or(0) - before.get(route).copied().unwrap_or(0)
    };
    // Every listing is read to its first page only: one request per repository (pulls twice,
    // for the pull_request and review streams).
    for route in [
        "issues",
        "issues/comments",
        "pulls/comments",
        "commits",
        "actions/runs",
    ] {
        assert_eq!(
            delta(&format!("GET /repos/{{owner}}/{{repo}}/{route}")),
            2,
            "{route}"
        );
    }
    assert_eq!(delta("GET /repos/{owner}/{repo}/pulls"), 4);
    // Reviews are re-read only for pull requests changed at the cursor's second (a tie can hide
    // a change made in that same second), never for the whole history.
    let reviews = delta("GET /repos/{owner}/{repo}/pulls/{number}/reviews");
    assert!(
        reviews * 10 < expected(&sandbox)["pull_request"],
        "an unchanged upstream re-read {reviews} review listings"
    );

    let changes = sandbox.mutate("github", 10).unwrap();
    assert!(changes.updated + changes.created > 0);
    sync(&sandbox, &store).await;
    assert_eq!(stored_by_type(&store).await, expected(&sandbox));
    let query = RecordQuery {
        tenant: "default".into(),
        connector: Some("github".into()),
        updated_since: Some(chrono::DateTime::from_timestamp(changes.at_unix as i64, 0).unwrap()),
        ..RecordQuery::default()
    };
    assert!(store.count_records(&query).await.unwrap() >= changes.changes.len() as u64);
}
