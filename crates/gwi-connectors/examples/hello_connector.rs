//! A complete connector in one file: its own config, its metadata, one stream read with an
//! incremental strategy. `main` syncs it into an in-memory store against a scripted API, so
//! `cargo run -p gwi-connectors --example hello_connector` works offline.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use futures::stream::BoxStream;
use gwi_core::pagination::{PageNumber, PaginateOptions, paginate_json};
use gwi_core::prelude::*;
use gwi_testing::{MemoryStore, MockHttpClient, MockResponse};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The connector's own settings in `[connectors.todos]`; the framework parses the common ones
/// (tenant, auth, base_url, http) beside them.
#[derive(Debug, Deserialize, JsonSchema)]
struct TodosConfig {
    /// Projects to sync.
    projects: Vec<String>,
}

impl ValidateConfig for TodosConfig {}

/// One item of the API's `/projects/{p}/todos` listing.
#[derive(Debug, Deserialize)]
struct Todo {
    id: u64,
    title: String,
    done: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// A todo record's `data`: the one struct records are serialized from, and the source of the
/// typed schema Singer and Airbyte streams get (`data_schemas`).
#[derive(Serialize, JsonSchema)]
struct TodoData<'a> {
    title: &'a str,
    done: bool,
    project: &'a str,
}

struct TodosConnector {
    config: TodosConfig,
    root: ApiRoot,
}

#[async_trait]
impl Connector for TodosConnector {
    async fn authenticate(&self, _ctx: &ConnectorContext) -> Result<AuthInfo, ConnectorError> {
        Ok(AuthInfo::default())
    }
    async fn health_check(&self, _ctx: &ConnectorContext) -> HealthStatus {
        HealthStatus::from_checks("todos", Vec::new())
    }
    fn streams(&self, options: &SyncOptions) -> Result<Vec<StreamDescriptor>, ConnectorError> {
        Ok(self
            .config
            .projects
            .iter()
            .filter(|p| options.resources.as_ref().is_none_or(|r| r.contains(p)))
            .map(|p| StreamDescriptor::new(p.as_str(), "todo"))
            .collect())
    }
    fn sync<'a>(
        &'a self,
        ctx: &'a ConnectorContext,
        stream: &'a StreamDescriptor,
        options: &'a SyncOptions,
    ) -> BoxStream<'a, Result<SyncItem, ConnectorError>> {
        Box::pin(async_stream::try_stream! {
            let since = read_cursor::<Mark>("todos", stream, options)?.unwrap_or_default();
            // Oldest change first, paged by number: each next page is a new query from the
            // newest change read, so a todo edited mid-sync cannot push an unread one away.
            let mut steps = ascending(since, Paging::Offset, |t: &Todo| (t.updated_at, t.id), |since| {
                let mut first = self.root.get(&["projects", &stream.resource, "todos"]).query(&[("sort", "updated_asc")]);
                if let Some(since) = since {
                    first = first.query(&[("since", &since.to_rfc3339())]);
                }
                listing(paginate_json(&ctx.http, first, PageNumber::new(2), PaginateOptions::default()))
            });
            while let Some(step) = steps.next().await {
                match step? {
                    Step::Item(todo) => {
                        let envelope = Envelope {
                            source: "todos",
                            record_type: "todo",
                            id: format!("todo-{}", todo.id),
                            created_at: todo.created_at,
                            updated_at: todo.updated_at,
                        };
                        let data = TodoData { title: &todo.title, done: todo.done, project: &stream.resource };
                        yield SyncItem::Record(envelope.encode(&data, &json!({}))?);
                    }
                    // Everything yielded before it is covered: the engine commits it with this cursor.
                    Step::Checkpoint(mark) => yield SyncItem::Checkpoint(Checkpoint { stream: stream.name.clone(), cursor: mark.value() }),
                    Step::Total(total) => yield SyncItem::TotalHint(total),
                }
            }
        })
    }
}

impl ConnectorDefinition for TodosConnector {
    type Config = TodosConfig;
    fn metadata() -> ConnectorMetadata {
        ConnectorMetadata {
            name: "todos".into(),
            version: "0.1.0".into(),
            description: "Todos of a project-tracking API".into(),
            record_types: vec!["todo".into()],
            capabilities: Capabilities {
                auth: vec![AuthKind::Bearer],
                incremental: true,
                webhooks: None,
            },
            rate_limits: RateLimits {
                requests_per_second: Some(10.0),
                requests_per_hour: None,
            },
            documentation_url: None,
        }
    }
    fn from_config(config: TodosConfig, common: &CommonConfig) -> Result<Self, ConnectorError> {
        let root = common.api_root("todos", "https://todos.example/api/v1")?;
        Ok(Self { config, root })
    }
    fn data_schemas() -> Vec<(&'static str, schemars::Schema)> {
        vec![("todo", schemars::schema_for!(TodoData<'static>))]
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut registry = Registry::new();
    registry.register::<TodosConnector>();
    let todos = registry.build(
        "todos",
        json!({"projects": ["home"], "auth": {"type": "bearer", "token": "example-token"}}),
    )?;

    // A scripted API: two full pages and an empty one.
    let api = Arc::new(MockHttpClient::new());
    let todo = |id: u64, day: u32| {
        json!({"id": id, "title": format!("todo {id}"), "done": id.is_multiple_of(2),
               "created_at": "2024-01-01T00:00:00Z", "updated_at": format!("2024-01-{day:02}T00:00:00Z")})
    };
    api.push(MockResponse::ok_json(&json!([todo(1, 1), todo(2, 2)])));
    api.push(MockResponse::ok_json(&json!([todo(3, 3), todo(4, 4)])));
    api.push(MockResponse::ok_json(&json!([])));

    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let ctx = ConnectorContext::new(&todos, api.clone())?;
    let result = SyncEngine::new(todos.connector.clone(), ctx, store.clone())
        .run(SyncOptions::default())
        .await?;
    println!(
        "synced {} todos with {} requests; cursors: {:?}; first request: {}",
        result.records,
        api.request_count(),
        result.cursors,
        api.requests()[0].path(),
    );
    Ok(())
}
