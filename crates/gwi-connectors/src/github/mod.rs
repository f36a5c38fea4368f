//! The GitHub connector: pull requests, issues, comments, reviews, commits and workflow runs,
//! synced from the REST API (`Link` pagination, incremental cursors per repository and type)
//! and received by webhook, as the same records.
//!
//! Files: `config` (typed config), `core` (URLs and headers), `models` (REST objects),
//! `records` (objects to records), `sync` (streams and cursors), `webhook` (events to records),
//! `auth` and `health` (credential and health checks).

mod auth;
mod config;
mod core;
mod health;
mod models;
mod records;
mod sync;
mod webhook;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use futures::stream::BoxStream;
use gwi_core::config::{CommonConfig, Secret};
use gwi_core::connector::{AuthInfo, Connector, ConnectorMetadata, RateLimits};
use gwi_core::context::ConnectorContext;
use gwi_core::error::{ConnectorError, FieldError};
use gwi_core::health::HealthStatus;
use gwi_core::record::ConnectorRecord;
use gwi_core::registry::ConnectorDefinition;
use gwi_core::stream::{StreamDescriptor, SyncItem, SyncOptions};
use gwi_core::webhook::{GitHubScheme, SignatureScheme, WebhookEvent};

pub use self::config::{DEFAULT_BASE_URL, Features, GithubConfig, RecordType, Repository};
use self::core::GithubApi;
use self::records::SOURCE;

/// GitHub's documented REST budget per token (GitHub App installations on large organizations
/// get more). Secondary limits (bursts, concurrency, costly endpoints) are undocumented figures:
/// `ApiClient` obeys them from the 403/429 and `Retry-After` answers.
const REQUESTS_PER_HOUR: u32 = 5000;

/// Syncs GitHub repositories and maps GitHub webhooks to records.
#[derive(Debug)]
pub struct GithubConnector {
    config: GithubConfig,
    api: GithubApi,
    webhook: Option<Arc<dyn SignatureScheme>>,
}

impl GithubConnector {
    /// The parsed config.
    pub fn config(&self) -> &GithubConfig {
        &self.config
    }

    /// The secret GitHub signs this connector's webhook deliveries with, if configured.
    pub fn webhook_secret(&self) -> Option<&Secret> {
        self.config.webhook_secret.as_ref()
    }
}

#[async_trait]
impl Connector for GithubConnector {
    fn name(&self) -> &str {
        SOURCE
    }

    fn metadata(&self) -> ConnectorMetadata {
        Self::static_metadata()
    }

    fn config_schema(&self) -> schemars::Schema {
        gwi_core::config::config_schema::<GithubConfig>()
    }

    fn common(&self) -> &CommonConfig {
        &self.config.common
    }

    async fn authenticate(&self, ctx: &ConnectorContext) -> Result<AuthInfo, ConnectorError> {
        auth::authenticate(&self.config, &self.api, &ctx.http).await
    }

    async fn health_check(&self, ctx: &ConnectorContext) -> HealthStatus {
        health::health_check(&self.config, &self.api, &ctx.http).await
    }

    fn streams(&self, options: &SyncOptions) -> Result<Vec<StreamDescriptor>, ConnectorError> {
        sync::streams(&self.config, options)
    }

    fn sync<'a>(
        &'a self,
        ctx: &'a ConnectorContext,
        stream: &'a StreamDescriptor,
        options: &'a SyncOptions,
    ) -> BoxStream<'a, Result<SyncItem, ConnectorError>> {
        sync::sync(&self.api, &ctx.http, stream, options)
    }

    fn webhook_scheme(&self) -> Option<Arc<dyn SignatureScheme>> {
        self.webhook.clone()
    }

    async fn process_webhook(
        &self,
        event: &WebhookEvent,
    ) -> Result<Vec<ConnectorRecord>, ConnectorError> {
        webhook::records_for(&self.config, &self.api, event, Utc::now())
    }
}

impl ConnectorDefinition for GithubConnector {
    type Config = GithubConfig;
    const NAME: &'static str = SOURCE;

    fn static_metadata() -> ConnectorMetadata {
        ConnectorMetadata {
            name: SOURCE.to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            description: "GitHub pull requests, issues, comments, reviews, commits and workflow runs (REST API; 5000 requests/hour per token, plus secondary limits)".to_owned(),
            record_types: RecordType::ALL.map(|t| t.as_str().to_owned()).to_vec(),
            auth_methods: vec!["bearer".to_owned(), "github_app".to_owned()],
            supports_incremental: true,
            supports_webhooks: true,
            rate_limits: RateLimits {
                requests_per_second: None,
                requests_per_hour: Some(REQUESTS_PER_HOUR),
            },
            capabilities: ["sync", "incremental", "webhooks", "health_check", "github_enterprise"]
                .map(str::to_owned)
                .to_vec(),
            documentation_url: Some("https://docs.github.com/en/rest".to_owned()),
        }
    }

    fn from_config(config: GithubConfig) -> Result<Self, ConnectorError> {
        let api = GithubApi::new(config.api_root()?);
        let webhook = match &config.webhook_secret {
            Some(secret) => {
                let scheme = GitHubScheme::new(std::slice::from_ref(secret)).map_err(|e| {
                    ConnectorError::config(
                        SOURCE,
                        vec![FieldError::new("webhook_secret", e.to_string())],
                    )
                })?;
                Some(Arc::new(scheme) as Arc<dyn SignatureScheme>)
            }
            None => None,
        };
        Ok(Self {
            config,
            api,
            webhook,
        })
    }
}
