//! The Slack connector: channels, users and messages with their thread replies, synced from the
//! Web API (cursor pages in the body, `ok:false` failures behind HTTP 200, per-method rate
//! tiers) and received from the Events API, as the same records.
//!
//! Files: `config` (typed config), `core` (methods, page sizes, rate tiers), `models` (Web API
//! and event objects, and `Ts`, Slack's timestamps), `records` (objects to records), `sync`
//! (streams, channel discovery, cursors), `webhook` (events to records), `auth` (the token,
//! and `ok:false` answers read) and `health`.

mod auth;
mod config;
mod core;
mod health;
mod models;
mod records;
mod sync;
mod webhook;

use async_trait::async_trait;
use chrono::Duration;
use futures::stream::BoxStream;
use gwi_core::auth::AuthKind;
use gwi_core::config::CommonConfig;
use gwi_core::connector::{AuthInfo, Capabilities, Connector, ConnectorMetadata, RateLimits};
use gwi_core::context::ConnectorContext;
use gwi_core::error::ConnectorError;
use gwi_core::health::HealthStatus;
use gwi_core::http::{Classifier, RateBucket};
use gwi_core::record::ConnectorRecord;
use gwi_core::registry::ConnectorDefinition;
use gwi_core::stream::{StreamDescriptor, SyncItem, SyncOptions};
use gwi_core::webhook::{SchemeKind, WebhookEvent};

pub use self::config::{ChannelId, DEFAULT_BASE_URL, RateTier, RecordType, SlackConfig};
use self::core::SlackApi;
use self::records::SOURCE;
use self::sync::Directory;

/// Syncs a Slack workspace and maps Events API deliveries to records.
#[derive(Debug)]
pub struct SlackConnector {
    config: SlackConfig,
    api: SlackApi,
    /// The channels of the current sync, listed at its start.
    directory: Directory,
}

#[async_trait]
impl Connector for SlackConnector {
    async fn authenticate(&self, ctx: &ConnectorContext) -> Result<AuthInfo, ConnectorError> {
        auth::authenticate(&self.api, &ctx.http).await
    }

    async fn health_check(&self, ctx: &ConnectorContext) -> HealthStatus {
        health::health_check(&self.api, &ctx.http).await
    }

    /// Lists the workspace's channels: the `channel` stream's records, and the bot's channels
    /// when the config names none.
    async fn on_before_sync(
        &self,
        ctx: &ConnectorContext,
        options: &SyncOptions,
    ) -> Result<(), ConnectorError> {
        self.directory
            .discover(&self.config, &self.api, &ctx.http, options)
            .await
            .map_err(auth::explain)
    }

    fn streams(&self, options: &SyncOptions) -> Result<Vec<StreamDescriptor>, ConnectorError> {
        sync::streams(&self.config, &self.directory, options)
    }

    fn sync<'a>(
        &'a self,
        ctx: &'a ConnectorContext,
        stream: &'a StreamDescriptor,
        options: &'a SyncOptions,
    ) -> BoxStream<'a, Result<SyncItem, ConnectorError>> {
        let lookback = Duration::days(i64::from(self.config.lookback_days));
        sync::sync(
            &self.api,
            &self.directory,
            &ctx.http,
            stream,
            options,
            lookback,
        )
    }

    fn rate_buckets(&self) -> Vec<RateBucket> {
        self.api.buckets()
    }

    fn classifier(&self) -> Option<Classifier> {
        Some(auth::classifier())
    }

    async fn process_webhook(
        &self,
        ctx: &ConnectorContext,
        event: &WebhookEvent,
    ) -> Result<Vec<ConnectorRecord>, ConnectorError> {
        webhook::records_for(&self.config, &self.api, &ctx.http, event)
            .await
            .map_err(auth::explain)
    }
}

impl ConnectorDefinition for SlackConnector {
    type Config = SlackConfig;

    fn metadata() -> ConnectorMetadata {
        ConnectorMetadata {
            name: SOURCE.to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            description:
                "Slack channels, users, and messages with thread replies (Web API and Events API)"
                    .to_owned(),
            record_types: RecordType::NAMES.iter().map(|t| (*t).to_owned()).collect(),
            capabilities: Capabilities {
                // Bot tokens (`xoxb-`) as bearer tokens; OAuth 2.0 for token rotation.
                auth: vec![AuthKind::Bearer, AuthKind::OAuth2],
                incremental: true,
                webhooks: Some(SchemeKind::Slack),
            },
            // Slack limits each method on its own (see `rate_buckets`), not the app as a whole.
            rate_limits: RateLimits::default(),
            documentation_url: Some("https://docs.slack.dev/apis/web-api/".to_owned()),
        }
    }

    fn data_schemas() -> Vec<(&'static str, schemars::Schema)> {
        records::data_schemas()
    }

    fn from_config(config: SlackConfig, common: &CommonConfig) -> Result<Self, ConnectorError> {
        Ok(Self {
            api: SlackApi::new(common.api_root(SOURCE, DEFAULT_BASE_URL)?, config.rate_tier),
            directory: Directory::default(),
            config,
        })
    }
}
