//! The GitHub connector against the sandbox, beyond the behaviour suite (`main.rs`): which
//! listings an unchanged upstream costs, endpoint by endpoint.

use std::sync::Arc;

use gwi_core::store::Store;
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

#[tokio::test]
async fn an_unchanged_upstream_costs_one_request_per_endpoint() {
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
    let pulls = sandbox.github().counts().total.pulls as u64;
    assert!(
        reviews * 10 < pulls,
        "an unchanged upstream re-read {reviews} review listings for {pulls} pull requests"
    );
}
