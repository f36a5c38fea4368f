//! Starting and stopping a sandbox, and its state shared by every route.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::response::IntoResponse;
use serde::Serialize;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use url::Url;

use crate::config::SandboxConfig;
use crate::control;
use crate::core::auth::TokenPolicy;
use crate::core::clock::MutationClock;
use crate::core::rate_limit::RateLimitConfig;
use crate::core::rng::{SandboxRng, hash_str};
use crate::core::time::Iso;
use crate::error::SandboxError;
use crate::faults::{FaultConfig, FaultInjector, FaultLayer};
use crate::github::GitHub;
use crate::gitlab::GitLab;
use crate::jira::Jira;
use crate::linear::Linear;
use crate::provider::{Change, ChangeAction, Delivery, Expected, MutationReport, Provider};
use crate::slack::Slack;
use crate::stats::{Faults, RequestStats, Requests};

/// The providers a sandbox can serve, by name.
pub const PROVIDERS: &[&str] = &["github", "gitlab", "slack", "linear", "jira"];

/// The events the sandbox's `name` sends deliveries for, in the provider's words; `None` for a
/// provider it does not know.
pub fn webhook_events(name: &str) -> Option<&'static [&'static str]> {
    Some(match name {
        "github" => &crate::github::WEBHOOK_EVENTS,
        "gitlab" => &crate::gitlab::WEBHOOK_EVENTS,
        "slack" => &crate::slack::WEBHOOK_EVENTS,
        "linear" => &crate::linear::WEBHOOK_EVENTS,
        "jira" => &crate::jira::WEBHOOK_EVENTS,
        _ => return None,
    })
}

/// A fresh instance of the provider `name` at `seed` and `scale`, accepting `tokens`, limited
/// by `limit`.
pub(crate) fn provider_named(
    name: &str,
    (seed, scale): (u64, u32),
    tokens: TokenPolicy,
    limit: RateLimitConfig,
) -> Result<Arc<dyn Provider>, SandboxError> {
    let scale = scale.max(1);
    Ok(match name {
        "github" => Arc::new(GitHub::new(seed, scale, tokens, limit)?),
        "gitlab" => Arc::new(GitLab::new(seed, scale, tokens, limit)?),
        "slack" => Arc::new(Slack::new(seed, scale, tokens, limit)?),
        "linear" => Arc::new(Linear::new(seed, scale, tokens, limit)?),
        "jira" => Arc::new(Jira::new(seed, scale, tokens, limit)?),
        other => {
            return Err(SandboxError::UnknownProvider(
                other.to_owned(),
                PROVIDERS.join(", "),
            ));
        }
    })
}

/// Everything behind one running sandbox.
pub(crate) struct SandboxState {
    pub(crate) seed: u64,
    pub(crate) scale: u32,
    pub(crate) injector: Arc<FaultInjector>,
    /// GitHub, served or not: [`SandboxHandle::github`] hands it out.
    pub(crate) github: Arc<GitHub>,
    /// The providers served, in [`PROVIDERS`] order.
    served: Vec<Arc<dyn Provider>>,
    clock: MutationClock,
    mutations: AtomicU64,
}

impl SandboxState {
    /// Every provider the sandbox serves.
    pub(crate) fn providers(&self) -> Vec<Arc<dyn Provider>> {
        self.served.clone()
    }

    /// The provider named `name`, if the sandbox serves it.
    pub(crate) fn provider(&self, name: &str) -> Option<Arc<dyn Provider>> {
        self.providers().into_iter().find(|p| p.name() == name)
    }

    /// Applies `count` changes to each provider (or only to `provider`), all stamped with one
    /// fresh timestamp.
    pub(crate) fn mutate(
        &self,
        count: usize,
        provider: Option<&str>,
    ) -> Result<MutationReport, String> {
        let targets: Vec<Arc<dyn Provider>> = self
            .providers()
            .into_iter()
            .filter(|p| provider.is_none_or(|name| p.name() == name))
            .collect();
        if targets.is_empty() {
            return Err(format!(
                "unknown provider `{}`",
                provider.unwrap_or_default()
            ));
        }
        let at = self.clock.tick();
        let seq = self.mutations.fetch_add(1, Ordering::Relaxed);
        let mut changes = Vec::new();
        for p in targets {
            let mut rng = SandboxRng::derive(self.seed, "mutate", &[hash_str(p.name()), seq]);
            changes.extend(p.mutate(count, at, &mut rng));
        }
        let count = |action| changes.iter().filter(|c| c.action == action).count();
        Ok(MutationReport {
            at: Iso(at),
            at_unix: at,
            updated: count(ChangeAction::Updated),
            created: count(ChangeAction::Created),
            deleted: count(ChangeAction::Deleted),
            changes,
        })
    }

    /// The stats document served at `/_sandbox/stats`.
    pub(crate) fn stats(&self) -> SandboxStats {
        let counts = self.injector.stats().snapshot();
        SandboxStats {
            seed: self.seed,
            scale: self.scale,
            requests: counts.requests,
            faults: counts.faults,
            fault_config: self.injector.config(),
            mutations: self.mutations.load(Ordering::Relaxed),
            records: self
                .providers()
                .iter()
                .map(|p| (p.name().to_owned(), record_counts(&p.expected())))
                .collect(),
        }
    }
}

/// What `GET /_sandbox/stats` returns.
#[derive(Debug, Clone, Serialize)]
pub struct SandboxStats {
    /// Seed the data and faults come from.
    pub seed: u64,
    /// Data scale.
    pub scale: u32,
    /// Provider requests served (`/_sandbox/*` not included).
    pub requests: Requests,
    /// Faults injected.
    pub faults: Faults,
    /// Fault settings now.
    pub fault_config: FaultConfig,
    /// Mutations applied so far.
    pub mutations: u64,
    /// Records a full sync should hold now (tombstones left out), per provider.
    pub records: BTreeMap<String, RecordCounts>,
}

/// Record counts per scope and record type, in the connector's words.
pub type RecordCounts = BTreeMap<String, BTreeMap<&'static str, usize>>;

/// How many of `expected` are live, per scope and record type.
fn record_counts(expected: &[Expected]) -> RecordCounts {
    let mut counts = RecordCounts::new();
    for e in expected.iter().filter(|e| !e.deleted) {
        *counts
            .entry(e.scope.clone())
            .or_default()
            .entry(e.record_type)
            .or_default() += 1;
    }
    counts
}

/// Entry point: starts simulated provider APIs on a local port.
#[derive(Debug, Clone, Copy)]
pub struct Sandbox;

impl Sandbox {
    /// Binds the port, generates the data and serves until the handle is shut down or dropped.
    pub async fn start(config: SandboxConfig) -> Result<SandboxHandle, SandboxError> {
        config.faults.validate()?;
        let addr = SocketAddr::new(config.bind, config.port);
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| SandboxError::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| SandboxError::Bind { addr, source })?;

        let stats = Arc::new(RequestStats::default());
        let injector = Arc::new(FaultInjector::new(config.seed, config.faults, stats));
        if let Some(name) = (config.providers.iter()).find(|n| !PROVIDERS.contains(&n.as_str())) {
            return Err(SandboxError::UnknownProvider(
                name.clone(),
                PROVIDERS.join(", "),
            ));
        }
        let scale = config.scale.max(1);
        let github = Arc::new(GitHub::new(
            config.seed,
            scale,
            config.tokens.clone(),
            config.rate_limit,
        )?);
        let mut served: Vec<Arc<dyn Provider>> = Vec::new();
        for name in PROVIDERS {
            if !config.providers.is_empty() && !config.providers.iter().any(|n| n == name) {
                continue;
            }
            served.push(match *name {
                "github" => Arc::clone(&github) as Arc<dyn Provider>,
                _ => provider_named(
                    name,
                    (config.seed, scale),
                    config.tokens.clone(),
                    config.rate_limit,
                )?,
            });
        }
        let state = Arc::new(SandboxState {
            seed: config.seed,
            scale,
            injector: Arc::clone(&injector),
            github,
            served,
            clock: MutationClock::new(0),
            mutations: AtomicU64::new(0),
        });
        for provider in state.providers() {
            state.clock.observe(provider.newest_timestamp());
        }

        let mut app = Router::new().merge(control::router(Arc::clone(&state)));
        for provider in state.providers() {
            let layer = FaultLayer::new(Arc::clone(&injector), provider.fault_responder());
            let mount = format!("/{}", provider.name());
            let routes = Arc::clone(&provider).router(&mount).layer(layer.clone());
            app = app.nest(&mount, routes);
            // GitHub is also served at the root, where configs written before the sandbox
            // served several providers point.
            if provider.name() == "github" {
                app = app.merge(provider.router("").layer(layer));
            }
        }
        let app = app.fallback(|| async { crate::github::not_found_response().into_response() });

        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
            if let Err(e) = served {
                tracing::warn!(error = %e, "sandbox server stopped with an error");
            }
        });
        let base_url = Url::parse(&format!("http://{local}/")).map_err(|e| SandboxError::Bind {
            addr,
            source: std::io::Error::other(e.to_string()),
        })?;
        tracing::info!(%base_url, "sandbox listening");
        Ok(SandboxHandle {
            base_url,
            addr: local,
            token: config.tokens.example(),
            state,
            shutdown: Some(tx),
            task: Some(task),
        })
    }
}

/// A running sandbox. Dropping it stops the server (without waiting); [`shutdown`](Self::shutdown)
/// stops it and waits for in-flight requests to finish.
pub struct SandboxHandle {
    base_url: Url,
    addr: SocketAddr,
    token: Option<String>,
    state: Arc<SandboxState>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for SandboxHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxHandle")
            .field("base_url", &self.base_url.as_str())
            .finish_non_exhaustive()
    }
}

impl SandboxHandle {
    /// `http://127.0.0.1:<port>/`: the GitHub API base URL (point a connector's `base_url` here).
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// The same API under `/api/v3`, the GitHub Enterprise Server shape.
    pub fn enterprise_base_url(&self) -> Url {
        self.base_url
            .join("api/v3/")
            .unwrap_or_else(|_| self.base_url.clone())
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A token the sandbox accepts (`None` when the accepted tokens are configured secrets).
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The simulated GitHub: expected counts, repository names, pull request numbers.
    pub fn github(&self) -> &GitHub {
        &self.state.github
    }

    /// Request, fault and record counters (what `GET /_sandbox/stats` returns).
    pub fn stats(&self) -> SandboxStats {
        self.state.stats()
    }

    /// Request and fault counters alone: cheaper than [`SandboxHandle::stats`], which also
    /// lists every record each provider serves to count them.
    pub fn requests(&self) -> crate::stats::RequestCounts {
        self.state.injector.stats().snapshot()
    }

    /// The fault settings now.
    pub fn faults(&self) -> FaultConfig {
        self.state.injector.config()
    }

    /// Replaces the fault settings.
    pub fn set_faults(&self, faults: FaultConfig) -> Result<(), SandboxError> {
        faults.validate()?;
        self.state.injector.set_config(faults);
        Ok(())
    }

    /// What a connector should hold after a full sync of `provider` (what `GET
    /// /_sandbox/expected?provider=NAME` answers); empty for an unknown provider.
    pub fn expected(&self, provider: &str) -> Vec<Expected> {
        self.state
            .provider(provider)
            .map(|p| p.expected())
            .unwrap_or_default()
    }

    /// The config table that points connector `provider` at this sandbox, or `None` for an
    /// unknown provider.
    pub fn connector_config(&self, provider: &str) -> Option<serde_json::Value> {
        let base = self.base_url();
        self.state
            .provider(provider)
            .map(|p| p.connector_config(base.as_str()))
    }

    /// The webhook deliveries `provider` sends for `changes` (those it sends any for), signed
    /// with `secret`.
    pub fn webhooks_for(&self, provider: &str, changes: &[Change], secret: &str) -> Vec<Delivery> {
        let base = self.base_url();
        let Some(provider) = self.state.provider(provider) else {
            return Vec::new();
        };
        changes
            .iter()
            .filter_map(|c| provider.webhook_for(c, secret, base.as_str()))
            .collect()
    }

    /// What an unchanged upstream may cost `provider`'s connector per scope beyond one request
    /// per stream (see [`Provider::unchanged_extra_requests_per_scope`]).
    pub fn unchanged_extra_requests_per_scope(&self, provider: &str) -> u64 {
        self.state
            .provider(provider)
            .map_or(0, |p| p.unchanged_extra_requests_per_scope())
    }

    /// Whether `provider` reports deletions (by webhook or listing); when not, a connector learns
    /// of them only by reconciling (see [`Provider::announces_deletions`]).
    pub fn announces_deletions(&self, provider: &str) -> bool {
        self.state
            .provider(provider)
            .is_none_or(|p| p.announces_deletions())
    }

    /// Changes `count` records of `provider` (what `POST /_sandbox/mutate` with a provider
    /// does); an error names the providers served when `provider` is not one of them.
    pub fn mutate(&self, provider: &str, count: usize) -> Result<MutationReport, SandboxError> {
        self.state.mutate(count, Some(provider)).map_err(|_| {
            let served: Vec<&str> = self.state.served.iter().map(|p| p.name()).collect();
            SandboxError::UnknownProvider(provider.to_owned(), served.join(", "))
        })
    }

    /// Stops accepting connections and waits for in-flight requests to finish.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
