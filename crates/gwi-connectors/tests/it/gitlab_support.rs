//! GitLab test helpers: the connector against any base URL, the recorded payloads, deliveries.

use std::path::PathBuf;

use bytes::Bytes;
use gwi_core::registry::ConfiguredConnector;
use gwi_core::webhook::WebhookEvent;
use serde_json::{Value, json};

/// The token the tests' connectors send.
pub const TOKEN: &str = "glpat-test-token-for-wiremock";

/// A GitLab config for `projects` against the instance root `base_url`, `extra` merged in.
pub fn gitlab_config(base_url: &str, projects: &[&str], extra: Value) -> Value {
    let mut config = json!({
        "base_url": base_url,
        "projects": projects,
        "auth": {"type": "bearer", "token": TOKEN},
        // Pacing and backoff are ApiClient's concern; tests must not wait on them.
        "http": {"requests_per_second": 10000.0, "initial_backoff_ms": 10, "max_backoff_secs": 1},
    });
    if let (Value::Object(base), Value::Object(extra)) = (&mut config, extra) {
        base.extend(extra);
    }
    config
}

/// The GitLab connector built through the registry from `config`.
pub fn gitlab_with(config: Value) -> ConfiguredConnector {
    gwi_connectors::registry()
        .build("gitlab", config)
        .unwrap_or_else(|e| panic!("config refused: {e}"))
}

/// The GitLab connector for `acme/widgets` against `base_url`.
pub fn gitlab(base_url: &str) -> ConfiguredConnector {
    gitlab_with(gitlab_config(base_url, &["acme/widgets"], json!({})))
}

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gitlab")
}

/// The raw bytes of `<dir>/<name>.json` (`dir` is `rest` or `webhooks`).
pub fn fixture_bytes(dir: &str, name: &str) -> Vec<u8> {
    let path = fixtures_dir().join(dir).join(format!("{name}.json"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `<dir>/<name>.json` parsed.
pub fn fixture(dir: &str, name: &str) -> Value {
    serde_json::from_slice(&fixture_bytes(dir, name)).unwrap()
}

/// The names of every fixture in `dir`, sorted.
pub fn fixture_names(dir: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures_dir().join(dir))
        .unwrap()
        .map(|f| {
            f.unwrap()
                .path()
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

/// The `X-Gitlab-Event` a webhook fixture was delivered as, from its `object_kind`.
pub fn event_of(body: &Value) -> &'static str {
    match body["object_kind"].as_str() {
        Some("merge_request") => "Merge Request Hook",
        Some("issue") => "Issue Hook",
        Some("note") => "Note Hook",
        Some("push") => "Push Hook",
        Some("pipeline") => "Pipeline Hook",
        other => panic!("no event for object_kind {other:?}"),
    }
}

/// A verified delivery of `body` as `X-Gitlab-Event: event_type`.
pub fn delivery(event_type: &str, body: Vec<u8>) -> WebhookEvent {
    WebhookEvent {
        connector: "gitlab".into(),
        tenant: "default".into(),
        event_type: event_type.into(),
        delivery_id: "6a9e8a2c-1b2f-4b8e-9c4e-0d0c2b1f7a11".into(),
        headers: http::HeaderMap::new(),
        body: Bytes::from(body),
    }
}

/// The projects of the webhook fixtures.
pub const FIXTURE_PROJECTS: &[&str] = &[
    "gitlab-org/hello-world",
    "gitlab-org/gitlab-test",
    "gitlabhq/gitlab-test",
];

/// A connector syncing the webhook fixtures' projects, with `extra` config keys.
pub fn fixture_projects(extra: Value) -> ConfiguredConnector {
    gitlab_with(gitlab_config("https://gitlab.com", FIXTURE_PROJECTS, extra))
}
