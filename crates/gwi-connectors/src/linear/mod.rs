//! The Linear connector: teams, users, projects, cycles, issues and comments over Linear's
//! GraphQL API (one endpoint, Relay pages, errors inside the answer, request and complexity
//! budgets), and its webhooks, as the same records.
//!
//! Files: `config` (typed config), `queries` (each query written once, the filters), `models`
//! (query nodes and webhook objects in one shape each), `records` (objects to records),
//! `sync` (streams and cursors), `webhook` (deliveries to records), `auth` (credentials, and
//! GraphQL errors read) and `health`.

mod auth;
mod config;
mod health;
mod models;
mod queries;
mod records;
mod sync;
mod webhook;

use async_trait::async_trait;
use futures::stream::BoxStream;
use gwi_core::auth::AuthKind;
use gwi_core::config::CommonConfig;
use gwi_core::connector::{AuthInfo, Capabilities, Connector, ConnectorMetadata, RateLimits};
use gwi_core::context::ConnectorContext;
use gwi_core::error::ConnectorError;
use gwi_core::graphql::GraphQl;
use gwi_core::health::HealthStatus;
use gwi_core::http::Classifier;
use gwi_core::record::ConnectorRecord;
use gwi_core::registry::ConnectorDefinition;
use gwi_core::stream::{StreamDescriptor, SyncItem, SyncOptions};
use gwi_core::webhook::{SchemeKind, WebhookEvent};

pub use self::config::{DEFAULT_BASE_URL, LinearConfig, RecordType};
use self::records::SOURCE;
use self::webhook::TeamIds;

/// Syncs a Linear workspace and maps Linear webhooks to records.
#[derive(Debug)]
pub struct LinearConnector {
    config: LinearConfig,
    api: GraphQl,
    /// The configured teams' ids, looked up by the first webhook that needs them.
    team_ids: TeamIds,
}

#[async_trait]
impl Connector for LinearConnector {
    async fn authenticate(&self, ctx: &ConnectorContext) -> Result<AuthInfo, ConnectorError> {
        auth::authenticate(&self.api, &ctx.http).await
    }

    async fn health_check(&self, ctx: &ConnectorContext) -> HealthStatus {
        health::health_check(&self.api, &ctx.http).await
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
        use futures::StreamExt;
        let run = sync::Run {
            api: &self.api,
            config: &self.config,
            client: &ctx.http,
            stream,
            options,
        };
        Box::pin(sync::sync(run).map(|item| item.map_err(auth::explain)))
    }

    fn classifier(&self) -> Option<Classifier> {
        Some(auth::classifier())
    }

    async fn process_webhook(
        &self,
        ctx: &ConnectorContext,
        event: &WebhookEvent,
    ) -> Result<Vec<ConnectorRecord>, ConnectorError> {
        webhook::records_for(&self.config, &self.api, &ctx.http, &self.team_ids, event)
            .await
            .map_err(auth::explain)
    }
}

impl ConnectorDefinition for LinearConnector {
    type Config = LinearConfig;

    fn metadata() -> ConnectorMetadata {
        ConnectorMetadata {
            name: SOURCE.to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            description: "Linear issues, comments, projects, cycles, teams and users (GraphQL API and webhooks)".to_owned(),
            record_types: RecordType::NAMES.iter().map(|t| (*t).to_owned()).collect(),
            capabilities: Capabilities {
                // A personal API key goes in `Authorization` as it is; OAuth tokens as bearer.
                auth: vec![AuthKind::ApiKey, AuthKind::OAuth2, AuthKind::Bearer],
                incremental: true,
                webhooks: Some(SchemeKind::Linear),
            },
            // Linear publishes no fixed figures; its request and complexity headers govern.
            rate_limits: RateLimits::default(),
            documentation_url: Some("https://linear.app/developers/graphql".to_owned()),
        }
    }

    fn data_schemas() -> Vec<(&'static str, schemars::Schema)> {
        records::data_schemas()
    }

    fn from_config(config: LinearConfig, common: &CommonConfig) -> Result<Self, ConnectorError> {
        Ok(Self {
            api: queries::endpoint(&common.api_root(SOURCE, DEFAULT_BASE_URL)?),
            team_ids: TeamIds::default(),
            config,
        })
    }

    fn api_key_header() -> Option<&'static str> {
        Some("Authorization")
    }
}
