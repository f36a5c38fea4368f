//! The `Server`: connectors, store and settings, the router built from them, and `serve`.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use gwi_core::auth::RefreshTokenSink;
use gwi_core::context::ConnectorContext;
use gwi_core::http::ReqwestClient;
use gwi_core::registry::ConfiguredConnector;
use gwi_core::store::{Lease, Scope, Store, StoreTokenSink};
use gwi_core::webhook::SENSITIVE_HEADERS;
use http::{HeaderValue, StatusCode, header};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::appender::Appender;
use crate::config::ServerConfig;
use crate::error::ServerError;
use crate::worker::Workers;
use crate::{leases, listen, metrics, ops, retention, scheduler, webhook};

/// One configured connector: its settings and webhook scheme, and the context through which
/// its webhook mapping may read the provider (with its credentials, pacing and retries).
pub(crate) struct Route {
    pub(crate) connector: ConfiguredConnector,
    pub(crate) ctx: ConnectorContext,
}

impl Route {
    /// The route of `connector`, whose rotated OAuth2 refresh tokens go to `store`, sealed
    /// with `key` when there is one.
    fn new(
        connector: ConfiguredConnector,
        store: &Arc<dyn Store>,
        key: Option<&gwi_core::store::TokenKey>,
    ) -> Result<Self, ServerError> {
        let name = connector.name().to_owned();
        let timeout = Duration::from_secs(connector.common.http.timeout_secs);
        let transport = ReqwestClient::new(timeout).map_err(|e| ServerError::Http {
            connector: name.clone(),
            message: e.to_string(),
        })?;
        let sink: Arc<dyn RefreshTokenSink> = Arc::new(
            StoreTokenSink::for_connector(store.clone(), &connector).sealed_with(key.cloned()),
        );
        let ctx = ConnectorContext::with_token_sink(&connector, Arc::new(transport), Some(sink))
            .map_err(|e| ServerError::Http {
                connector: name,
                message: e.to_string(),
            })?;
        // Every process serving this tenant paces its requests from one budget in the store.
        ctx.http.share_budgets(store, &connector.common.tenant_id);
        Ok(Self { connector, ctx })
    }
}

/// Routes by connector name and tenant: each tenant has its own settings and secret.
pub(crate) struct Routes {
    by_tenant: HashMap<(String, String), Route>,
    /// Each connector's default tenant, the one `/webhooks/{connector}` serves.
    defaults: HashMap<String, String>,
    /// (connector, installation) -> the tenant whose credentials act as that installation.
    installations: HashMap<(String, String), String>,
}

impl Routes {
    /// The route of `connector` for `tenant`, or for its default tenant; `None` for a tenant
    /// the config does not name (its deliveries are refused, never stored under a made-up one).
    pub(crate) fn get(&self, connector: &str, tenant: Option<&str>) -> Option<&Route> {
        let tenant = match tenant {
            Some(tenant) => tenant,
            None => self.defaults.get(connector)?,
        };
        self.by_tenant
            .get(&(connector.to_owned(), tenant.to_owned()))
    }

    /// Whether some tenant of `connector` is configured with an installation.
    pub(crate) fn maps_installations(&self, connector: &str) -> bool {
        self.installations.keys().any(|(name, _)| name == connector)
    }

    /// The route of the tenant configured with `installation` of `connector`.
    pub(crate) fn by_installation(&self, connector: &str, installation: &str) -> Option<&Route> {
        let tenant = self
            .installations
            .get(&(connector.to_owned(), installation.to_owned()))?;
        self.get(connector, Some(tenant))
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&(String, String), &Route)> {
        self.by_tenant.iter()
    }

    /// The (tenant, connector) of every route with a sync schedule.
    pub(crate) fn scheduled(&self) -> impl Iterator<Item = Scope> + '_ {
        self.by_tenant
            .iter()
            .filter(|(_, route)| route.connector.common.schedule.is_some())
            .map(|((connector, tenant), _)| Scope::new(tenant.clone(), connector.clone()))
    }
}

/// What every handler and worker shares.
pub(crate) struct Shared {
    pub(crate) routes: Routes,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) config: ServerConfig,
    /// Wakes the workers when an event is appended, so they need not wait for the next poll.
    pub(crate) wake: Arc<Notify>,
    /// Appends verified deliveries to the store's inbox, many per transaction.
    pub(crate) appender: Appender,
    pub(crate) metrics: Option<PrometheusHandle>,
    /// Slots for verified requests being stored (`concurrency_limit`).
    pub(crate) storing: Semaphore,
    /// Permits for body bytes being read or stored (`body_bytes_in_flight`), one per byte.
    pub(crate) body_bytes: Arc<Semaphore>,
    /// This process's leases in the store: its instance name and their length.
    pub(crate) lease: Lease,
    /// The scheduled syncs running here, by lease name, with what cancels each.
    pub(crate) running: std::sync::Mutex<HashMap<String, tokio_util::sync::CancellationToken>>,
    /// The inbox entries being processed here, whose leases the heartbeat renews.
    pub(crate) in_flight: std::sync::Mutex<std::collections::HashSet<i64>>,
}

/// The webhook service for a set of connectors over one store.
#[derive(Clone)]
pub struct Server {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<_> = self.shared.routes.iter().map(|(key, _)| key).collect();
        names.sort();
        f.debug_struct("Server")
            .field("connectors", &names)
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Builds the service. Each connector is reachable at `/webhooks/{its name}` if it has a
    /// webhook scheme (built once, when it was configured), for the tenant of the first of its
    /// name; every configured tenant at `/webhooks/{name}/{tenant}`, with its own secret.
    ///
    /// Call it within a Tokio runtime: it starts the task that appends deliveries to the store.
    pub fn new(
        connectors: impl IntoIterator<Item = ConfiguredConnector>,
        store: Arc<dyn Store>,
        config: ServerConfig,
    ) -> Result<Self, ServerError> {
        validate(&config)?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| ServerError::NoRuntime)?;
        let mut by_tenant = HashMap::new();
        let mut defaults = HashMap::new();
        let mut installations = HashMap::new();
        for connector in connectors {
            let name = connector.name().to_owned();
            let tenant = connector.common.tenant_id.clone();
            if let Some(installation) = connector.common.auth.installation()
                && let Some(other) =
                    installations.insert((name.clone(), installation.clone()), tenant.clone())
            {
                return Err(ServerError::DuplicateInstallation {
                    connector: name,
                    installation,
                    tenants: [other, tenant],
                });
            }
            defaults
                .entry(name.clone())
                .or_insert_with(|| tenant.clone());
            if by_tenant
                .insert(
                    (name.clone(), tenant.clone()),
                    Route::new(connector, &store, config.token_key.as_ref())?,
                )
                .is_some()
            {
                return Err(ServerError::DuplicateConnector(format!("{name}/{tenant}")));
            }
        }
        let handle = metrics::install();
        for name in defaults.keys() {
            metrics::register_connector(name);
        }
        let routes = Routes {
            by_tenant,
            defaults,
            installations,
        };
        let wake = Arc::new(Notify::new());
        let appender = Appender::start(&runtime, store.clone(), wake.clone());
        let storing = Semaphore::new(config.concurrency_limit);
        let lease = Lease {
            holder: config.instance.clone(),
            ttl: config.lease_ttl,
        };
        let body_bytes = Arc::new(Semaphore::new(config.body_bytes_in_flight));
        Ok(Self {
            shared: Arc::new(Shared {
                routes,
                store,
                config,
                wake,
                appender,
                metrics: handle,
                storing,
                body_bytes,
                lease,
                running: std::sync::Mutex::new(HashMap::new()),
                in_flight: std::sync::Mutex::new(std::collections::HashSet::new()),
            }),
        })
    }

    /// The settings it was built with.
    pub fn config(&self) -> &ServerConfig {
        &self.shared.config
    }

    /// Names of the connectors that take webhooks, sorted.
    pub fn webhook_connectors(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .shared
            .routes
            .iter()
            .filter(|(_, route)| route.connector.webhook.is_some())
            .map(|((name, _), _)| name.clone())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// The HTTP routes with their limits, timeout and tracing, for `serve` or in-process tests.
    ///
    /// Workers are not started: call [`start_workers`](Self::start_workers) to process events.
    pub fn router(&self) -> Router {
        let config = &self.shared.config;
        let mut webhooks = Router::new().route(
            "/webhooks/{connector}",
            post(webhook::receive_default_tenant),
        );
        if config.tenant_routes {
            webhooks = webhooks.route(
                "/webhooks/{connector}/{tenant}",
                post(webhook::receive_for_tenant),
            );
        }
        let webhooks = webhooks
            // A request waiting for a storing slot or its body is still under this timeout, so
            // an overloaded server answers 503, not a hung socket.
            .layer(TimeoutLayer::with_status_code(
                StatusCode::SERVICE_UNAVAILABLE,
                config.request_timeout,
            ))
            .layer(axum::middleware::map_response_with_state(
                self.shared.clone(),
                add_retry_after,
            ));
        let ops = Router::new()
            .route("/healthz", get(ops::healthz))
            .route("/readyz", get(ops::readyz))
            .route("/metrics", get(ops::metrics));
        webhooks
            .merge(ops)
            .with_state(self.shared.clone())
            .layer(TraceLayer::new_for_http())
            // Outside the trace layer, so signatures are already marked when it records headers.
            .layer(SetSensitiveRequestHeadersLayer::new(
                SENSITIVE_HEADERS.iter().cloned(),
            ))
    }

    /// Starts the background workers that drain the inbox (none when `workers` is 0).
    pub fn start_workers(&self) -> Workers {
        Workers::start(self.shared.clone())
    }

    /// Serves on `listener` with the workers and the scheduled syncs until `shutdown`
    /// completes, then stops accepting, finishes in-flight requests, appends deliveries still
    /// queued (those whose request timed out), stops the syncs in progress after their complete
    /// batches, lets workers finish their current event, hands back every lease this instance
    /// still holds (so other processes take the rest over at once), and returns.
    ///
    /// It first hands back what a previous life of this instance left leased.
    pub async fn serve<F>(self, listener: TcpListener, shutdown: F) -> Result<(), ServerError>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let shared = self.shared.clone();
        let holder = &shared.lease.holder;
        match shared.store.release_leases(holder).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                instance = %holder, leases = n,
                "handed back what this instance held before it stopped"
            ),
            Err(e) => {
                tracing::warn!(instance = %holder, "cannot hand back earlier leases (they run out by themselves): {e}");
            }
        }
        let heartbeat = leases::start(shared.clone());
        let workers = self.start_workers();
        let pruner = retention::start(shared.clone());
        let scheduler = scheduler::start(shared.clone());
        listen::serve(listener, self.router(), &shared.config, shutdown).await;
        shared.appender.drain().await;
        if let Some(scheduler) = scheduler {
            scheduler.stop().await;
        }
        workers.shutdown().await;
        pruner.stop().await;
        heartbeat.stop().await;
        if let Err(e) = shared.store.release_leases(holder).await {
            tracing::warn!(instance = %holder, "cannot hand back leases at shutdown (they run out by themselves): {e}");
        }
        Ok(())
    }
}

fn validate(config: &ServerConfig) -> Result<(), ServerError> {
    let invalid = |field, problem| Err(ServerError::InvalidConfig { field, problem });
    if config.body_limit == 0 {
        return invalid("body_limit", "must be at least 1 byte");
    }
    if config.concurrency_limit == 0 {
        return invalid("concurrency_limit", "must be at least 1");
    }
    if config.request_timeout.is_zero() {
        return invalid("request_timeout", "must be longer than zero");
    }
    if config.max_connections == 0 {
        return invalid("max_connections", "must be at least 1");
    }
    if config.header_read_timeout.is_zero() {
        return invalid("header_read_timeout", "must be longer than zero");
    }
    if config.body_bytes_in_flight < config.body_limit {
        return invalid(
            "body_bytes_in_flight",
            "must be at least body_limit, or no body of the largest accepted size could be read",
        );
    }
    if config.body_bytes_in_flight > Semaphore::MAX_PERMITS {
        return invalid(
            "body_bytes_in_flight",
            "is larger than this platform can count",
        );
    }
    if config.poll_interval.is_zero() {
        return invalid("poll_interval", "must be longer than zero");
    }
    if config.processing_timeout.is_zero() {
        return invalid("processing_timeout", "must be longer than zero");
    }
    if config.instance.trim().is_empty() {
        return invalid(
            "instance",
            "must name this process (each process sharing a store its own)",
        );
    }
    if config.lease_ttl < Duration::from_secs(1) {
        return invalid("lease_ttl", "must be at least a second");
    }
    if config.max_syncs == 0 {
        return invalid("max_syncs", "must be at least 1");
    }
    if config.schedule_tick.is_zero() {
        return invalid("schedule_tick", "must be longer than zero");
    }
    if config.prune_interval.is_zero() {
        return invalid("prune_interval", "must be longer than zero");
    }
    if config.dedupe_window < config.body_retention {
        // A settled entry goes whole at the end of the window, its body with it.
        return invalid(
            "dedupe_window",
            "must be at least body_retention (an entry is removed with its body)",
        );
    }
    if config.retry.max_attempts == 0 {
        return invalid("retry.max_attempts", "must be at least 1");
    }
    Ok(())
}

/// Every 503 of a webhook route (store down, timeout) tells the provider when to retry.
async fn add_retry_after(State(shared): State<Arc<Shared>>, mut response: Response) -> Response {
    if response.status() == StatusCode::SERVICE_UNAVAILABLE
        && !response.headers().contains_key(header::RETRY_AFTER)
    {
        let secs = shared.config.retry_after.as_secs().max(1);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::DEFAULT_BODY_LIMIT;

    #[test]
    fn the_defaults_are_valid() {
        assert!(validate(&ServerConfig::default()).is_ok());
    }

    #[test]
    fn settings_that_cannot_work_are_named() {
        let field = |config: ServerConfig| match validate(&config) {
            Err(ServerError::InvalidConfig { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        let base = ServerConfig::default;
        assert_eq!(
            field(ServerConfig {
                body_limit: 0,
                ..base()
            }),
            "body_limit"
        );
        assert_eq!(
            field(ServerConfig {
                concurrency_limit: 0,
                ..base()
            }),
            "concurrency_limit"
        );
        assert_eq!(
            field(ServerConfig {
                max_connections: 0,
                ..base()
            }),
            "max_connections"
        );
        assert_eq!(
            field(ServerConfig {
                body_bytes_in_flight: DEFAULT_BODY_LIMIT - 1,
                ..base()
            }),
            "body_bytes_in_flight"
        );
        assert_eq!(
            field(ServerConfig {
                instance: " ".into(),
                ..base()
            }),
            "instance"
        );
        assert_eq!(
            field(ServerConfig {
                lease_ttl: Duration::from_millis(10),
                ..base()
            }),
            "lease_ttl"
        );
        let mut retry = base().retry;
        retry.max_attempts = 0;
        assert_eq!(
            field(ServerConfig { retry, ..base() }),
            "retry.max_attempts"
        );
    }
}
