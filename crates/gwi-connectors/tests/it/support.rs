//! Shared helpers: build a connector pointed at any base URL (wiremock now, the sandbox later),
//! load fixtures, drain sync streams.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use gwi_core::connector::Connector;
use gwi_core::context::ConnectorContext;
use gwi_core::error::ConnectorError;
use gwi_core::http::ReqwestClient;
use gwi_core::incremental::stream_cursor;
use gwi_core::record::ConnectorRecord;
use gwi_core::registry::ConfiguredConnector;
use gwi_core::stream::{Checkpoint, StreamDescriptor, SyncItem, SyncOptions};
use gwi_core::webhook::WebhookEvent;
use serde_json::{Value, json};

/// The token the tests' connectors send.
pub const TOKEN: &str = "ghp_test_token_for_wiremock";

/// A GitHub config for `repositories` against `base_url`, with `extra` keys merged in.
pub fn github_config(base_url: &str, repositories: &[&str], extra: Value) -> Value {
    let mut config = json!({
        "base_url": base_url,
        "repositories": repositories,
        "auth": {"type": "bearer", "token": TOKEN},
        // Pacing is ApiClient's concern; tests must not wait on GitHub's hourly budget.
        "http": {"requests_per_second": 10000.0},
    });
    if let (Value::Object(base), Value::Object(extra)) = (&mut config, extra) {
        base.extend(extra);
    }
    config
}

/// The GitHub connector for `acme/widgets` against `base_url`, built through the registry.
pub fn github(base_url: &str) -> ConfiguredConnector {
    github_with(github_config(base_url, &["acme/widgets"], json!({})))
}

/// The GitHub connector built through the registry from `config`.
pub fn github_with(config: Value) -> ConfiguredConnector {
    gwi_connectors::registry()
        .build("github", config)
        .unwrap_or_else(|e| panic!("config refused: {e}"))
}

/// A context whose HTTP goes through the real reqwest transport.
pub fn context(connector: &ConfiguredConnector) -> ConnectorContext {
    let transport = ReqwestClient::new(Duration::from_secs(10)).unwrap();
    ConnectorContext::new(connector, Arc::new(transport)).unwrap()
}

/// Options with `state` as the stored cursors.
pub fn options_with_state(state: &[(&str, Value)]) -> SyncOptions {
    let mut options = SyncOptions::default();
    for (stream, cursor) in state {
        options.state.insert((*stream).to_owned(), cursor.clone());
    }
    options
}

/// Everything one stream yields, up to and including the first error.
pub async fn drain(
    connector: &dyn Connector,
    ctx: &ConnectorContext,
    stream: &StreamDescriptor,
    options: &SyncOptions,
) -> (Vec<SyncItem>, Option<ConnectorError>) {
    let mut items = Vec::new();
    let mut sync = connector.sync(ctx, stream, options);
    while let Some(item) = sync.next().await {
        match item {
            Ok(item) => items.push(item),
            Err(e) => return (items, Some(e)),
        }
    }
    (items, None)
}

/// Everything one stream yields; panics on an error.
pub async fn drain_ok(
    connector: &dyn Connector,
    ctx: &ConnectorContext,
    stream: &StreamDescriptor,
    options: &SyncOptions,
) -> Vec<SyncItem> {
    let (items, error) = drain(connector, ctx, stream, options).await;
    if let Some(e) = error {
        panic!("stream {} failed: {e}", stream.name);
    }
    items
}

/// The records among `items`.
pub fn records(items: &[SyncItem]) -> Vec<&ConnectorRecord> {
    items
        .iter()
        .filter_map(|i| match i {
            SyncItem::Record(r) => Some(r),
            _ => None,
        })
        .collect()
}

/// The record ids among `items`.
pub fn ids(items: &[SyncItem]) -> Vec<&str> {
    records(items).iter().map(|r| r.id.as_str()).collect()
}

/// The checkpoint cursors among `items`, in order.
pub fn cursors(items: &[SyncItem]) -> Vec<Value> {
    items
        .iter()
        .filter_map(|i| match i {
            SyncItem::Checkpoint(Checkpoint { cursor, .. }) => Some(stream_cursor(cursor).clone()),
            _ => None,
        })
        .collect()
}

/// A shorthand for the items' shape: `r:<id>`, `c:<cursor>`, `t:<total>`.
pub fn shape(items: &[SyncItem]) -> Vec<String> {
    items
        .iter()
        .map(|i| match i {
            SyncItem::Record(r) => format!("r:{}", r.id),
            SyncItem::Checkpoint(c) => format!("c:{}", stream_cursor(&c.cursor)),
            SyncItem::TotalHint(n) => format!("t:{n}"),
        })
        .collect()
}

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/github/webhooks")
}

/// The raw bytes of `webhooks/<event>/<name>.json`.
pub fn fixture_bytes(event: &str, name: &str) -> Vec<u8> {
    let path = fixtures_dir().join(event).join(format!("{name}.json"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `webhooks/<event>/<name>.json` parsed.
pub fn fixture(event: &str, name: &str) -> Value {
    serde_json::from_slice(&fixture_bytes(event, name)).unwrap()
}

/// Every fixture as (event, name).
pub fn all_fixtures() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for dir in std::fs::read_dir(fixtures_dir()).unwrap() {
        let dir = dir.unwrap().path();
        let event = dir.file_name().unwrap().to_string_lossy().into_owned();
        for file in std::fs::read_dir(&dir).unwrap() {
            let file = file.unwrap().path();
            let name = file.file_stem().unwrap().to_string_lossy().into_owned();
            out.push((event.clone(), name));
        }
    }
    out.sort();
    out
}

/// A verified delivery of `body` as event `event_type`.
pub fn webhook(event_type: &str, body: Vec<u8>) -> WebhookEvent {
    WebhookEvent {
        connector: "github".into(),
        tenant: "default".into(),
        event_type: event_type.into(),
        delivery_id: "72d3162e-cc78-11e3-81ab-4c9367dc0958".into(),
        headers: http::HeaderMap::new(),
        body: Bytes::from(body),
    }
}

/// `value` with `patch`'s keys replaced (one level deep).
pub fn with(value: &Value, patch: Value) -> Value {
    let mut value = value.clone();
    if let (Value::Object(base), Value::Object(patch)) = (&mut value, patch) {
        base.extend(patch);
    }
    value
}

/// The raw bytes of `tests/fixtures/<provider>/<dir>/<name>.json`.
pub fn recorded(provider: &str, dir: &str, name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(provider)
        .join(dir)
        .join(format!("{name}.json"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Keeps the refresh tokens a connector rotates to, in the order it saved them.
#[derive(Debug, Default)]
pub struct SavedTokens(pub std::sync::Mutex<Vec<String>>);

#[async_trait::async_trait]
impl gwi_core::auth::RefreshTokenSink for SavedTokens {
    async fn save(&self, token: &secrecy::SecretString) -> Result<(), ConnectorError> {
        use secrecy::ExposeSecret;
        self.0
            .lock()
            .unwrap()
            .push(token.expose_secret().to_owned());
        Ok(())
    }
}

/// A context whose rotated refresh tokens go to `saved`.
pub fn context_saving(
    connector: &ConfiguredConnector,
    saved: Arc<SavedTokens>,
) -> ConnectorContext {
    let transport = ReqwestClient::new(Duration::from_secs(10)).unwrap();
    ConnectorContext::with_token_sink(connector, Arc::new(transport), Some(saved)).unwrap()
}

/// Replaces the value at the `pick`-th place of `value` (depth first) with `with`.
pub fn replace_nth(value: &mut Value, pick: &mut usize, with: &Value) -> bool {
    if *pick == 0 {
        *value = with.clone();
        return true;
    }
    *pick -= 1;
    let children: Vec<&mut Value> = match value {
        Value::Object(map) => map.values_mut().collect(),
        Value::Array(items) => items.iter_mut().collect(),
        _ => Vec::new(),
    };
    children
        .into_iter()
        .any(|child| replace_nth(child, pick, with))
}
