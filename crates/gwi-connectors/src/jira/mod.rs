//! The Jira Cloud connector: projects, issues, comments and changelog entries over REST v3 (the
//! `search/jql` API with `nextPageToken`, never the removed `/search`), and Jira webhooks, as
//! the same records.
//!
//! Files: `config` (typed config), `api` (URLs, JQL, the site's time zone and custom fields),
//! `models` (REST and webhook objects), `adf` (Atlassian Document Format to plain text),
//! `records` (objects to records), `sync` (streams and cursors), `webhook` (deliveries to
//! records), `auth` (credentials, refusals, 410s) and `health`.

mod adf;
mod api;
mod auth;
mod config;
mod health;
mod models;
mod records;
mod sync;
mod webhook;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use gwi_core::auth::AuthKind;
use gwi_core::config::CommonConfig;
use gwi_core::connector::{AuthInfo, Capabilities, Connector, ConnectorMetadata, RateLimits};
use gwi_core::context::ConnectorContext;
use gwi_core::error::ConnectorError;
use gwi_core::health::HealthStatus;
use gwi_core::http::Classifier;
use gwi_core::record::ConnectorRecord;
use gwi_core::registry::ConnectorDefinition;
use gwi_core::stream::{StreamDescriptor, SyncItem, SyncOptions};
use gwi_core::webhook::{SchemeKind, WebhookEvent};

use self::api::{JiraApi, SiteCache};
pub use self::config::{JiraConfig, RecordType};
use self::records::SOURCE;

/// Syncs Jira projects and maps Jira webhooks to records.
#[derive(Debug)]
pub struct JiraConnector {
    config: JiraConfig,
    api: JiraApi,
    /// The site's time zone and custom fields, read once per process.
    site: SiteCache,
}

#[async_trait]
impl Connector for JiraConnector {
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
        let run = sync::Run {
            api: &self.api,
            config: &self.config,
            site: &self.site,
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
        let mapper = webhook::Mapper {
            config: &self.config,
            api: &self.api,
            site: &self.site,
            client: &ctx.http,
        };
        mapper.records_for(event).await.map_err(auth::explain)
    }
}

impl ConnectorDefinition for JiraConnector {
    type Config = JiraConfig;

    fn metadata() -> ConnectorMetadata {
        ConnectorMetadata {
            name: SOURCE.to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            description: "Jira Cloud projects, issues, comments and changelogs (REST API v3, search/jql) and webhooks".to_owned(),
            record_types: RecordType::NAMES.iter().map(|t| (*t).to_owned()).collect(),
            capabilities: Capabilities {
                // Basic (email + API token) on Cloud, bearer PATs on Data Center, OAuth 2.0 (3LO).
                auth: vec![AuthKind::Basic, AuthKind::Bearer, AuthKind::OAuth2],
                incremental: true,
                webhooks: Some(SchemeKind::Jira),
            },
            // API-token traffic has burst limits only; 429s with Retry-After and the
            // X-RateLimit-* headers govern.
            rate_limits: RateLimits::default(),
            documentation_url: Some("https://developer.atlassian.com/cloud/jira/platform/rest/v3/".to_owned()),
        }
    }

    fn data_schemas() -> Vec<(&'static str, schemars::Schema)> {
        records::data_schemas()
    }

    fn from_config(config: JiraConfig, common: &CommonConfig) -> Result<Self, ConnectorError> {
        if common.base_url.is_none() {
            return Err(ConnectorError::config(
                SOURCE,
                vec![gwi_core::error::FieldError::new(
                    "base_url",
                    "name the Jira site (https://acme.atlassian.net), or https://api.atlassian.com/ex/jira/{cloudid} for an OAuth 2.0 app",
                )],
            ));
        }
        Ok(Self {
            api: JiraApi::new(common.api_root(SOURCE, "https://api.atlassian.com")?),
            site: SiteCache::default(),
            config,
        })
    }
}
