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

use async_trait::async_trait;
use chrono::Utc;
use futures::stream::BoxStream;
use gwi_core::auth::AuthKind;
use gwi_core::config::CommonConfig;
use gwi_core::connector::{AuthInfo, Capabilities, Connector, ConnectorMetadata, RateLimits};
use gwi_core::context::ConnectorContext;
use gwi_core::error::ConnectorError;
use gwi_core::health::HealthStatus;
use gwi_core::record::ConnectorRecord;
use gwi_core::registry::ConnectorDefinition;
use gwi_core::stream::{StreamDescriptor, SyncItem, SyncOptions};
use gwi_core::webhook::{SchemeKind, WebhookEvent};

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
    /// GitHub App installations cannot call `/user`, so `authenticate` asks another endpoint.
    app_installation: bool,
}

#[async_trait]
impl Connector for GithubConnector {
    async fn authenticate(&self, ctx: &ConnectorContext) -> Result<AuthInfo, ConnectorError> {
        auth::authenticate(self.app_installation, &self.api, &ctx.http).await
    }

    async fn health_check(&self, ctx: &ConnectorContext) -> HealthStatus {
        health::health_check(self.app_installation, &self.api, &ctx.http).await
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

    async fn process_webhook(
        &self,
        _ctx: &ConnectorContext,
        event: &WebhookEvent,
    ) -> Result<Vec<ConnectorRecord>, ConnectorError> {
        webhook::records_for(&self.config, &self.api, event, Utc::now())
    }
}

impl ConnectorDefinition for GithubConnector {
    type Config = GithubConfig;

    fn metadata() -> ConnectorMetadata {
        ConnectorMetadata {
            name: SOURCE.to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            description: "GitHub pull requests, issues, comments, reviews, commits and workflow runs (REST API; 5000 requests/hour per token, plus secondary limits)".to_owned(),
            record_types: RecordType::NAMES.iter().map(|t| (*t).to_owned()).collect(),
            capabilities: Capabilities {
                auth: vec![AuthKind::None, AuthKind::Bearer, AuthKind::GithubApp],
                incremental: true,
                webhooks: Some(SchemeKind::GitHub),
            },
            rate_limits: RateLimits {
                requests_per_second: None,
                requests_per_hour: Some(REQUESTS_PER_HOUR),
            },
            documentation_url: Some("https://docs.github.com/en/rest".to_owned()),
        }
    }

    fn data_schemas() -> Vec<(&'static str, schemars::Schema)> {
        records::data_schemas()
    }

    fn from_config(config: GithubConfig, common: &CommonConfig) -> Result<Self, ConnectorError> {
        Ok(Self {
            api: GithubApi::new(common.api_root(SOURCE, DEFAULT_BASE_URL)?),
            app_installation: common.auth.kind() == AuthKind::GithubApp,
            config,
        })
    }
}
