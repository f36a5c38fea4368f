//! The GitLab connector: merge requests, issues, notes, pipelines and commits of gitlab.com or
//! self-managed projects, synced from the REST API v4 (offset pages with `Link` headers,
//! incremental cursors per project and type) and received by webhook, as the same records.
//!
//! Files: `config` (typed config), `core` (URLs under `/api/v4`), `models` (REST and webhook
//! objects), `records` (objects to records), `projects` (group discovery and project reads),
//! `sync` (streams and cursors), `webhook` (events to records), `auth` and `health` (credential
//! and health checks).

mod auth;
mod config;
mod core;
mod health;
mod models;
mod projects;
mod records;
mod sync;
mod webhook;

use async_trait::async_trait;
use futures::stream::BoxStream;
use gwi_core::auth::{AuthConfig, AuthKind};
use gwi_core::config::CommonConfig;
use gwi_core::connector::{AuthInfo, Capabilities, Connector, ConnectorMetadata, RateLimits};
use gwi_core::context::ConnectorContext;
use gwi_core::error::{ConnectorError, FieldError};
use gwi_core::health::HealthStatus;
use gwi_core::http::Classifier;
use gwi_core::record::ConnectorRecord;
use gwi_core::registry::ConnectorDefinition;
use gwi_core::stream::{StreamDescriptor, SyncItem, SyncOptions};
use gwi_core::webhook::{SchemeKind, WebhookEvent};

pub use self::config::{DEFAULT_BASE_URL, GitlabConfig, GroupRef, ProjectRef, RecordType};
use self::core::GitlabApi;
use self::projects::Directory;
use self::records::SOURCE;

/// gitlab.com's documented limit for authenticated API traffic, 2,000 requests a minute per
/// user, as an hourly window (the limiter lets it go in bursts and refills it evenly).
/// Self-managed instances set their own limits, or none: the `RateLimit-*` headers of every
/// answer and the `Retry-After` of a 429 govern there.
const REQUESTS_PER_HOUR: u32 = 120_000;

/// Syncs GitLab projects and maps GitLab webhooks to records.
#[derive(Debug)]
pub struct GitlabConnector {
    config: GitlabConfig,
    api: GitlabApi,
    /// The projects of the current sync: group members found at its start, projects read.
    directory: Directory,
}

#[async_trait]
impl Connector for GitlabConnector {
    async fn authenticate(&self, ctx: &ConnectorContext) -> Result<AuthInfo, ConnectorError> {
        auth::authenticate(&self.api, &ctx.http).await
    }

    async fn health_check(&self, ctx: &ConnectorContext) -> HealthStatus {
        health::health_check(&self.api, &ctx.http).await
    }

    /// Lists the configured groups' projects, which become streams of this sync.
    async fn on_before_sync(
        &self,
        ctx: &ConnectorContext,
        _options: &SyncOptions,
    ) -> Result<(), ConnectorError> {
        self.directory
            .discover(&self.config, &self.api, &ctx.http)
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
        sync::sync(&self.api, &self.directory, &ctx.http, stream, options)
    }

    fn classifier(&self) -> Option<Classifier> {
        Some(auth::classifier())
    }

    async fn process_webhook(
        &self,
        _ctx: &ConnectorContext,
        event: &WebhookEvent,
    ) -> Result<Vec<ConnectorRecord>, ConnectorError> {
        webhook::records_for(&self.config, event)
    }
}

impl ConnectorDefinition for GitlabConnector {
    type Config = GitlabConfig;

    fn metadata() -> ConnectorMetadata {
        ConnectorMetadata {
            name: SOURCE.to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            description: "GitLab merge requests, issues, notes, pipelines and commits of gitlab.com or self-managed projects and groups (REST API v4)".to_owned(),
            record_types: RecordType::NAMES.iter().map(|t| (*t).to_owned()).collect(),
            capabilities: Capabilities {
                // `api_key` is for `PRIVATE-TOKEN` (`header = "PRIVATE-TOKEN"`); GitLab takes
                // every token kind as a bearer token too.
                auth: vec![AuthKind::Bearer, AuthKind::OAuth2, AuthKind::ApiKey],
                incremental: true,
                webhooks: Some(SchemeKind::GitLab),
            },
            rate_limits: RateLimits {
                requests_per_second: None,
                requests_per_hour: Some(REQUESTS_PER_HOUR),
            },
            documentation_url: Some("https://docs.gitlab.com/api/rest/".to_owned()),
        }
    }

    fn data_schemas() -> Vec<(&'static str, schemars::Schema)> {
        records::data_schemas()
    }

    fn from_config(config: GitlabConfig, common: &CommonConfig) -> Result<Self, ConnectorError> {
        let mut errors = Vec::new();
        if let Some(url) = &common.base_url
            && url.path().trim_end_matches('/').ends_with("/api/v4")
        {
            errors.push(FieldError::new(
                "base_url",
                format!(
                    "{url} is the API's address; give the instance root (without /api/v4), e.g. https://gitlab.example.com"
                ),
            ));
        }
        if let AuthConfig::ApiKey {
            header,
            query_param,
            ..
        } = &common.auth
        {
            match (header, query_param) {
                (_, Some(param)) if param != "private_token" => errors.push(FieldError::new(
                    "auth.query_param",
                    format!("GitLab reads a token from private_token, not {param:?}"),
                )),
                (_, Some(_)) => {}
                (Some(name), None) if name.eq_ignore_ascii_case("PRIVATE-TOKEN") => {}
                _ => errors.push(FieldError::new(
                    "auth.header",
                    "GitLab reads an API key from the PRIVATE-TOKEN header: set header = \"PRIVATE-TOKEN\" (or use type = \"bearer\")",
                )),
            }
        }
        if common.webhook_settings().is_some() {
            // A hook body names its project's path, never its group's id.
            for (i, group) in config.groups.iter().enumerate() {
                if group.is_id() {
                    errors.push(FieldError::new(
                        format!("groups[{i}]"),
                        "webhooks name a project by its path only, so give this group by path (e.g. acme-platform) to take its projects' webhooks",
                    ));
                }
            }
        }
        if !errors.is_empty() {
            return Err(ConnectorError::config(SOURCE, errors));
        }
        Ok(Self {
            api: GitlabApi::new(common.api_root(SOURCE, DEFAULT_BASE_URL)?),
            directory: Directory::default(),
            config,
        })
    }
}
