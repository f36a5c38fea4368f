//! A complete connector in one file: typed config, metadata, one stream with page-number
//! pagination and an incremental cursor. `main` syncs it into an in-memory store against a
//! scripted API, so `cargo run -p gwi-connectors --example hello_connector` works offline.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use futures::stream::BoxStream;
use gwi_core::config::{self, CommonConfig, ValidateConfig};
use gwi_core::pagination::{PageNumber, PaginateOptions, paginate_json};
use gwi_core::prelude::*;
use gwi_testing::{MemoryStore, MockHttpClient, MockResponse};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

/// `[connectors.todos]` in gwi.toml.
#[derive(Debug, Deserialize, JsonSchema)]
struct TodosConfig {
    /// Tenant, auth, base URL and HTTP settings, shared by every connector.
    #[serde(flatten)]
    common: CommonConfig,
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

struct TodosConnector {
    config: TodosConfig,
}

#[async_trait]
impl Connector for TodosConnector {
    fn name(&self) -> &str {
        "todos"
    }
    fn metadata(&self) -> ConnectorMetadata {
        Self::static_metadata()
    }
    fn config_schema(&self) -> schemars::Schema {
        config::config_schema::<TodosConfig>()
    }
    fn common(&self) -> &CommonConfig {
        &self.config.common
    }
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
        let since = options
            .cursor_for(&stream.name)
            .and_then(|c| c.as_str())
            .map(str::to_owned);
        Box::pin(async_stream::try_stream! {
            let base = self.config.common.base_url.clone().ok_or_else(|| {
                ConnectorError::config("todos", vec![FieldError::new("base_url", "missing")])
            })?;
            let url = base.join(&format!("projects/{}/todos", stream.resource)).map_err(|e| {
                ConnectorError::config("todos", vec![FieldError::new("base_url", e.to_string())])
            })?;
            let mut first = HttpRequest::get(url).query(&[("sort", "updated_asc")]);
            if let Some(since) = &since {
                first = first.query(&[("since", since)]);
            }
            let mut newest = since.clone();
            // Oldest change first to the end of the list: one page can be decoded ahead.
            let read_ahead = PaginateOptions { read_ahead: 1, ..PaginateOptions::default() };
            let mut pages = paginate_json::<Vec<Todo>, _>(&ctx.http, first, PageNumber::new(2), read_ahead);
            while let Some(page) = pages.next().await {
                let (_, todos) = page?;
                for todo in todos {
                    newest = Some(todo.updated_at.to_rfc3339());
                    let mut record = ConnectorRecord::new(
                        format!("todo-{}", todo.id), "todo", "todos", todo.created_at, todo.updated_at,
                    );
                    record.data = json!({"title": todo.title, "done": todo.done, "project": stream.resource}).into();
                    yield SyncItem::Record(record);
                }
                // Oldest change first: after each page, everything up to `newest` is yielded.
                yield SyncItem::Checkpoint(Checkpoint { stream: stream.name.clone(), cursor: json!(newest) });
            }
        })
    }
}

impl ConnectorDefinition for TodosConnector {
    type Config = TodosConfig;
    const NAME: &'static str = "todos";
    fn static_metadata() -> ConnectorMetadata {
        ConnectorMetadata {
            name: "todos".into(),
            version: "0.1.0".into(),
            description: "Todos of a project-tracking API".into(),
            record_types: vec!["todo".into()],
            auth_methods: vec!["bearer".into()],
            supports_incremental: true,
            supports_webhooks: false,
            rate_limits: RateLimits {
                requests_per_second: Some(10.0),
                requests_per_hour: None,
            },
            capabilities: vec!["sync".into(), "incremental".into()],
            documentation_url: None,
        }
    }
    fn from_config(config: TodosConfig) -> Result<Self, ConnectorError> {
        Ok(Self { config })
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut registry = Registry::new();
    registry.register::<TodosConnector>();
    let connector = registry.build(
        "todos",
        json!({"base_url": "https://todos.example/", "projects": ["home"],
               "auth": {"type": "bearer", "token": "example-token"}}),
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
    let ctx = ConnectorContext::for_connector(&connector, api.clone())?;
    let result = SyncEngine::new(connector, ctx, store.clone())
        .run(SyncOptions::default())
        .await?;
    println!(
        "synced {} todos with {} requests; cursors: {:?}",
        result.records,
        api.request_count(),
        result.cursors
    );
    Ok(())
}
