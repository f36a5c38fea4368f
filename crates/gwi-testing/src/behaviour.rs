//! The connector behaviour suite: one set of cases every connector passes against its provider's
//! module in the local sandbox, as every store passes the store conformance suite.
//!
//! Invoke it once per connector with [`connector_behaviour_tests!`](crate::connector_behaviour_tests):
//!
//! ```ignore
//! gwi_testing::connector_behaviour_tests!(github_behaviour, gwi_connectors::registry(), "github");
//! ```
//!
//! Each case starts its own sandbox, builds the connector from the config the sandbox gives for
//! it, syncs into a [`MemoryStore`], and compares the store with the sandbox's expected set in
//! the connector's own words (record type, id, `updated_at`, deleted), never with counts mapped
//! by hand.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use gwi_core::connector::Connector;
use gwi_core::context::ConnectorContext;
use gwi_core::error::ConnectorError;
use gwi_core::record::ConnectorRecord;
use gwi_core::registry::{ConfiguredConnector, Registry};
use gwi_core::schema::RowCheck;
use gwi_core::store::{RecordQuery, Scope, Store, StoreError, StreamState, UpsertOutcome};
use gwi_core::stream::{Checkpoint, StreamDescriptor, SyncOptions};
use gwi_core::sync::{RecordSink, StoreSink, SyncEngine, SyncResult};
use gwi_sandbox::{Change, ChangeAction, FaultConfig, Sandbox, SandboxConfig, SandboxHandle};
use serde_json::{Value, json};

use crate::MemoryStore;

/// What a check found: what passed, or why it failed.
pub type Verdict = Result<String, String>;

/// Fails the check with the message unless `cond` holds.
macro_rules! ensure {
    ($cond:expr, $($message:tt)+) => {
        if !$cond {
            return Err(format!($($message)+));
        }
    };
}

/// The connector under test.
#[derive(Clone)]
pub struct Subject {
    /// A registry holding the connector.
    pub registry: Registry,
    /// Its name, which is also its sandbox provider's name.
    pub connector: String,
    /// The arguments that make this executable, started again with [`DYING_RUN_ENV`] set, reach
    /// [`run_dying_run_if_asked`] (a test binary's filter for the one test; none for `gwi`).
    pub relaunch: Vec<String>,
}

impl Subject {
    /// Connector `connector` from `registry`, in an executable that checks [`DYING_RUN_ENV`]
    /// as it starts.
    pub fn new(registry: Registry, connector: impl Into<String>) -> Self {
        Self {
            registry,
            connector: connector.into(),
            relaunch: Vec::new(),
        }
    }

    /// The same subject in an executable that reaches [`run_dying_run_if_asked`] when started
    /// with `args`.
    pub fn relaunched_with(mut self, args: Vec<String>) -> Self {
        self.relaunch = args;
        self
    }
}

/// Records per commit in the suite's syncs: small, so a sandbox's data takes many commits.
const BATCH_SIZE: usize = 50;

/// Set (to a JSON [`DyingRun`]) in the process that [`an_interrupted_sync_resumes_to_the_same_set`]
/// starts and kills.
pub const DYING_RUN_ENV: &str = "GWI_BEHAVIOUR_DYING_RUN";

/// What the dying run prints after each commit, for the suite to count.
const COMMITTED: &str = "gwi-behaviour: committed";

/// The sync a killed process runs: a connector and its config against the parent's sandbox,
/// into a SQLite file the parent opens afterwards.
#[derive(serde::Serialize, serde::Deserialize)]
struct DyingRun {
    connector: String,
    config: Value,
    store: String,
}

/// In a process started by [`an_interrupted_sync_resumes_to_the_same_set`] (that is, with
/// [`DYING_RUN_ENV`] set), runs the sync it asks for, printing a line after each commit until
/// the suite kills it, and gives the exit code; `None` in any other process.
pub async fn run_dying_run_if_asked(registry: &Registry) -> Option<i32> {
    let spec = std::env::var(DYING_RUN_ENV).ok()?;
    Some(match dying_run(registry, &spec).await {
        Ok(()) => 0,
        Err(reason) => {
            eprintln!("the dying run failed before it was killed: {reason}");
            1
        }
    })
}

async fn dying_run(registry: &Registry, spec: &str) -> Result<(), String> {
    let run: DyingRun = serde_json::from_str(spec).map_err(|e| format!("{DYING_RUN_ENV}: {e}"))?;
    let connector = registry
        .build(&run.connector, run.config)
        .map_err(|e| format!("the config is refused: {e}"))?;
    let store = gwi_store::open(&run.store)
        .await
        .map_err(|e| format!("the store does not open: {e}"))?;
    let sink = Arc::new(Announces(StoreSink::new(store)));
    let ctx =
        ConnectorContext::new(&connector, transport()?).map_err(|e| format!("no context: {e}"))?;
    SyncEngine::with_sink(connector.connector.clone(), ctx, sink)
        .batch_size(BATCH_SIZE)
        .run(SyncOptions::default())
        .await
        .map(drop)
        .map_err(|e| format!("the sync failed: {e}"))
}

/// One sandbox and one store for a case.
struct Bench {
    subject: Subject,
    sandbox: SandboxHandle,
    store: Arc<dyn Store>,
}

impl Bench {
    async fn start(subject: &Subject) -> Result<Self, String> {
        let sandbox = Sandbox::start(SandboxConfig::default())
            .await
            .map_err(|e| format!("the sandbox does not start: {e}"))?;
        if sandbox.connector_config(&subject.connector).is_none() {
            return Err(format!(
                "the sandbox has no provider named {}",
                subject.connector
            ));
        }
        Ok(Self {
            subject: subject.clone(),
            sandbox,
            store: Arc::new(MemoryStore::new()),
        })
    }

    fn name(&self) -> &str {
        &self.subject.connector
    }

    /// The sandbox's config for the connector, with fast retries, `extra` keys merged in.
    fn config(&self, extra: Value) -> Value {
        let mut config = self
            .sandbox
            .connector_config(self.name())
            .unwrap_or(Value::Null);
        let fast = json!({"http": {"initial_backoff_ms": 10, "max_backoff_secs": 1}});
        for patch in [fast, extra] {
            merge(&mut config, patch);
        }
        config
    }

    fn connector(&self) -> Result<ConfiguredConnector, String> {
        self.build(self.config(json!({})))
    }

    fn build(&self, config: Value) -> Result<ConfiguredConnector, String> {
        self.subject
            .registry
            .build(self.name(), config)
            .map_err(|e| format!("the sandbox's config is refused: {e}"))
    }

    /// A run of `connector` into `sink`; the outer error is a set-up failure.
    async fn run(
        &self,
        connector: &ConfiguredConnector,
        sink: Arc<dyn RecordSink>,
    ) -> Result<Result<SyncResult, ConnectorError>, String> {
        self.run_with(connector, sink, SyncOptions::default()).await
    }

    /// A run of `connector` into `sink` with `options`; the outer error is a set-up failure.
    async fn run_with(
        &self,
        connector: &ConfiguredConnector,
        sink: Arc<dyn RecordSink>,
        options: SyncOptions,
    ) -> Result<Result<SyncResult, ConnectorError>, String> {
        let ctx = ConnectorContext::new(connector, transport()?)
            .map_err(|e| format!("no context: {e}"))?;
        let engine: Arc<dyn Connector> = connector.connector.clone();
        Ok(SyncEngine::with_sink(engine, ctx, sink)
            .batch_size(BATCH_SIZE)
            .run(options)
            .await)
    }

    async fn sync(
        &self,
        sink: Arc<dyn RecordSink>,
    ) -> Result<Result<SyncResult, ConnectorError>, String> {
        self.run(&self.connector()?, sink).await
    }

    async fn sync_ok(&self) -> Result<SyncResult, String> {
        let sink = Arc::new(StoreSink::new(self.store.clone()));
        self.sync(sink)
            .await?
            .map_err(|e| format!("the sync failed: {e}"))
    }

    /// The connector's records in the store.
    async fn stored_records(&self) -> Result<Vec<ConnectorRecord>, String> {
        let query = RecordQuery {
            tenant: "default".into(),
            connector: Some(self.name().into()),
            ..RecordQuery::default()
        };
        self.store
            .query_records(&query)
            .await
            .map_err(|e| format!("the store cannot be read: {e}"))
    }

    /// The sandbox's expected set, in the same shape.
    fn expected(&self) -> BTreeSet<RecordKey> {
        expected_keys(&self.sandbox, self.name())
    }

    /// Whether each of `records` is a row its stream's declared schema accepts (as a Singer
    /// target or Airbyte destination is told it), with no field the schema leaves out.
    fn rows_match_their_streams(&self, records: &[ConnectorRecord]) -> Result<(), String> {
        let factory = self
            .subject
            .registry
            .get(self.name())
            .ok_or_else(|| format!("no connector named {}", self.name()))?;
        let streams = factory
            .stream_schemas()
            .map_err(|e| format!("no stream schemas: {e}"))?;
        let mut checks = std::collections::BTreeMap::new();
        for stream in &streams {
            checks.insert(stream.name.as_str(), RowCheck::new(stream)?);
        }
        let mut errors = Vec::new();
        for record in records {
            match checks.get(record.record_type.as_str()) {
                Some(check) => errors.extend(check.errors(record)),
                None => errors.push(format!(
                    "{}: no stream for type {}",
                    record.id, record.record_type
                )),
            }
        }
        ensure!(
            errors.is_empty(),
            "{} of {} rows do not match their stream's schema: {:?}",
            errors.len(),
            records.len(),
            &errors[..errors.len().min(5)]
        );
        Ok(())
    }

    /// Whether the store holds exactly the expected set, each record a row its stream's schema
    /// accepts; says how many records it holds.
    async fn store_equals_expected(&self, when: &str) -> Result<usize, String> {
        let records = self.stored_records().await?;
        self.rows_match_their_streams(&records)
            .map_err(|e| format!("{when}: {e}"))?;
        let stored: BTreeSet<_> = records.iter().map(record_key).collect();
        let expected = self.expected();
        ensure!(!expected.is_empty(), "the sandbox expects no records");
        let missing: Vec<_> = expected.difference(&stored).take(5).collect();
        let extra: Vec<_> = stored.difference(&expected).take(5).collect();
        ensure!(
            missing.is_empty() && extra.is_empty(),
            "{when}: {} stored, {} expected; missing {missing:?}; not expected {extra:?}",
            stored.len(),
            expected.len(),
        );
        Ok(stored.len())
    }

    fn requests(&self) -> u64 {
        self.sandbox.requests().requests.total
    }

    /// Verifies and maps the provider's webhook for each of `changes` with `connector` (built
    /// with [`WEBHOOK_SECRET`]), as `gwi serve` does; gives how many deliveries the provider
    /// sent and the records they map to. A connector without webhooks gets none.
    async fn deliver(
        &self,
        connector: &ConfiguredConnector,
        changes: &[Change],
    ) -> Result<(usize, Vec<ConnectorRecord>), String> {
        let Some(scheme) = connector.webhook.clone() else {
            return Ok((0, Vec::new()));
        };
        let deliveries = self
            .sandbox
            .webhooks_for(self.name(), changes, WEBHOOK_SECRET);
        let ctx = ConnectorContext::new(connector, transport()?)
            .map_err(|e| format!("no context: {e}"))?;
        let mut records = Vec::new();
        for delivery in &deliveries {
            let mut headers = http::HeaderMap::new();
            for (name, value) in &delivery.headers {
                let name = http::HeaderName::try_from(name.as_str()).map_err(|e| e.to_string())?;
                let value =
                    http::HeaderValue::try_from(value.as_str()).map_err(|e| e.to_string())?;
                headers.insert(name, value);
            }
            scheme
                .verify(&headers, &delivery.body, std::time::SystemTime::now())
                .map_err(|e| format!("the provider's signature does not verify: {e}"))?;
            let event = gwi_core::webhook::WebhookEvent {
                connector: self.name().to_owned(),
                tenant: connector.common.tenant_id.clone(),
                event_type: scheme.event_type(&headers, &delivery.body),
                delivery_id: scheme.dedupe_key(&headers, &delivery.body),
                headers,
                body: delivery.body.clone().into(),
            };
            let mapped = connector
                .process_webhook(&ctx, &event)
                .await
                .map_err(|e| format!("{} event not mapped: {e}", event.event_type))?;
            records.extend(mapped);
        }
        Ok((deliveries.len(), records))
    }

    /// Stores webhook records as `gwi serve`'s inbox does (no checkpoint).
    async fn keep(&self, records: &[ConnectorRecord]) -> Result<(), String> {
        if records.is_empty() {
            return Ok(());
        }
        let scope = Scope::new("default", self.name());
        self.store
            .commit_batch(&scope, records, None)
            .await
            .map(|_| ())
            .map_err(|e| format!("webhook records not stored: {e}"))
    }
}

/// Writes `patch`'s keys into `config`; `http` is merged key by key, so the sandbox's pace and
/// the suite's backoff stand side by side, while any other key (`auth`) is replaced whole.
fn merge(config: &mut Value, patch: Value) {
    let (Value::Object(config), Value::Object(patch)) = (config, patch) else {
        return;
    };
    for (key, value) in patch {
        match (config.get_mut(&key), value) {
            (Some(Value::Object(held)), Value::Object(value)) if key == "http" => {
                held.extend(value);
            }
            (_, value) => {
                config.insert(key, value);
            }
        }
    }
}

/// The webhook secret the suite configures and signs with.
const WEBHOOK_SECRET: &str = "gwi-sandbox-webhook-secret";

fn transport() -> Result<Arc<dyn gwi_core::http::HttpClient>, String> {
    gwi_core::http::ReqwestClient::new(std::time::Duration::from_secs(10))
        .map(|client| Arc::new(client) as Arc<dyn gwi_core::http::HttpClient>)
        .map_err(|e| format!("no HTTP client: {e}"))
}

/// A record as the suite compares it: (record type, id, `updated_at` to the second, deleted).
pub type RecordKey = (String, String, String, bool);

/// A stored record as the suite compares it with the sandbox's expected set. A tombstone's time
/// is when the connector learned of the deletion, which the sandbox cannot know, so tombstones
/// compare without it.
pub fn record_key(record: &ConnectorRecord) -> RecordKey {
    let deleted = record.is_tombstone();
    let time = if deleted {
        String::new()
    } else {
        record
            .updated_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    (record.record_type.clone(), record.id.clone(), time, deleted)
}

/// What the sandbox expects a complete sync of `provider` to hold, as [`record_key`]s.
pub fn expected_keys(sandbox: &SandboxHandle, provider: &str) -> BTreeSet<RecordKey> {
    sandbox
        .expected(provider)
        .into_iter()
        .map(|e| {
            let time = if e.deleted {
                String::new()
            } else {
                e.updated_at.to_string()
            };
            (e.record_type.to_owned(), e.id, time, e.deleted)
        })
        .collect()
}

/// A full sync stores exactly the expected set.
pub async fn full_sync_stores_exactly_the_expected_set(subject: &Subject) -> Verdict {
    let bench = Bench::start(subject).await?;
    let result = bench.sync_ok().await?;
    let stored = bench.store_equals_expected("after a full sync").await?;
    ensure!(
        result.records == stored as u64,
        "{} records were yielded for {stored} stored: some more than once",
        result.records
    );
    Ok(format!("{stored} records"))
}

/// The same under 5 % server errors, 429s with `Retry-After`, resets and truncated bodies.
pub async fn a_sync_under_faults_stores_the_same_set(subject: &Subject) -> Verdict {
    let bench = Bench::start(subject).await?;
    let faults: FaultConfig = "error=0.05,429=0.02,reset=0.01,truncate=0.01,retry-after=1s"
        .parse()
        .map_err(|e| format!("bad fault spec: {e}"))?;
    bench
        .sandbox
        .set_faults(faults)
        .map_err(|e| format!("faults refused: {e}"))?;
    bench.sync_ok().await?;
    let stored = bench.store_equals_expected("under faults").await?;
    let injected = bench.sandbox.requests().faults.total;
    ensure!(injected > 0, "no fault was injected");
    Ok(format!(
        "{stored} records through {injected} injected faults"
    ))
}

/// An unchanged upstream costs at most one request per stream, plus authentication and what the
/// provider's sandbox module declares its connector needs beyond that.
pub async fn an_unchanged_upstream_costs_one_request_per_stream(subject: &Subject) -> Verdict {
    let bench = Bench::start(subject).await?;
    bench.sync_ok().await?;
    // The streams of a connector that has run: some are found at sync start (a group's projects).
    let connector = bench.connector()?;
    bench
        .run(&connector, Arc::new(StoreSink::new(bench.store.clone())))
        .await?
        .map_err(|e| format!("the sync failed: {e}"))?;
    let streams = connector
        .streams(&SyncOptions::default())
        .map_err(|e| format!("no streams: {e}"))?;
    let resources: BTreeSet<&str> = streams.iter().map(|s| s.resource.as_str()).collect();
    let before = bench.requests();
    bench.sync_ok().await?;
    let spent = bench.requests() - before;
    let extra = bench
        .sandbox
        .unchanged_extra_requests_per_scope(bench.name());
    let budget = 1 + streams.len() as u64 + extra * resources.len() as u64;
    ensure!(
        spent <= budget,
        "an unchanged upstream cost {spent} requests; the budget is {budget} ({} streams)",
        streams.len()
    );
    bench
        .store_equals_expected("after an unchanged run")
        .await?;
    Ok(format!("{spent} requests for {} streams", streams.len()))
}

/// After updates, creations and deletions upstream, an incremental run fetches far less than a
/// full one and the store equals the expected set again, deletions as tombstones. A provider
/// that reports deletions only by webhook has those webhooks delivered first, as `gwi serve`
/// would have; one that reports none gets a reconciling run after the incremental one, as a
/// scheduled `gwi sync --reconcile` would.
pub async fn an_incremental_sync_picks_up_changes(subject: &Subject) -> Verdict {
    let bench = Bench::start(subject).await?;
    let before = bench.requests();
    bench.sync_ok().await?;
    let full = bench.requests() - before;
    let report = bench
        .sandbox
        .mutate(bench.name(), 20)
        .map_err(|e| e.to_string())?;
    ensure!(
        report.updated + report.created > 0,
        "the sandbox changed nothing"
    );
    let deletions: Vec<Change> = report
        .changes
        .iter()
        .filter(|c| c.action == ChangeAction::Deleted)
        .cloned()
        .collect();
    let connector = bench.build(bench.config(json!({"webhook_secret": WEBHOOK_SECRET})))?;
    let (hooks, tombstones) = bench.deliver(&connector, &deletions).await?;
    bench.keep(&tombstones).await?;
    let before = bench.requests();
    bench.sync_ok().await?;
    let incremental = bench.requests() - before;
    let mut reconciled = 0;
    if !bench.sandbox.announces_deletions(bench.name()) {
        let options = SyncOptions {
            reconcile: true,
            ..SyncOptions::default()
        };
        let sink = Arc::new(StoreSink::new(bench.store.clone()));
        reconciled = bench
            .run_with(&bench.connector()?, sink, options)
            .await?
            .map_err(|e| format!("the reconciling sync failed: {e}"))?
            .deleted;
    }
    bench.store_equals_expected("after changes").await?;
    ensure!(
        incremental * 2 < full,
        "the incremental run cost {incremental} requests, the full one {full}"
    );
    Ok(format!(
        "{} updated, {} created, {} deleted ({hooks} deletion webhooks, {reconciled} found by \
         reconciling) in {incremental} requests (full sync: {full})",
        report.updated, report.created, report.deleted
    ))
}

/// A process SIGKILLed after `k` commits (for several `k`), then a run to the end in another,
/// stores exactly what a clean run does. The dying run is this executable started again (see
/// [`Subject::relaunch`]), syncing into a SQLite file against this process's sandbox.
pub async fn an_interrupted_sync_resumes_to_the_same_set(subject: &Subject) -> Verdict {
    let deaths = [1, 3, 8];
    let mut reached = Vec::new();
    for k in deaths {
        let mut bench = Bench::start(subject).await?;
        let path = std::env::temp_dir().join(format!(
            "gwi-behaviour-{}-{}-{k}.db",
            subject.connector,
            std::process::id()
        ));
        remove_database(&path);
        let url = format!("sqlite://{}", path.display());
        let run = DyingRun {
            connector: subject.connector.clone(),
            config: bench.config(json!({})),
            store: url.clone(),
        };
        let outcome = kill_after_commits(subject, &run, k).await;
        let resumed = async {
            let seen = outcome?;
            bench.store = gwi_store::open(&url)
                .await
                .map_err(|e| format!("the killed run's store does not open: {e}"))?;
            bench.sync_ok().await?;
            bench
                .store_equals_expected(&format!(
                    "after a SIGKILL after commit {seen} and a resumed run"
                ))
                .await?;
            Ok::<_, String>(seen)
        }
        .await;
        bench.store.close().await;
        remove_database(&path);
        reached.push(resumed?);
    }
    Ok(format!("resumed after SIGKILL at commit {reached:?}"))
}

/// Starts the dying `run` and SIGKILLs it once it has printed `k` commits; gives `k`.
async fn kill_after_commits(subject: &Subject, run: &DyingRun, k: usize) -> Result<usize, String> {
    use tokio::io::AsyncBufReadExt;
    let exe = std::env::current_exe().map_err(|e| format!("no executable to start: {e}"))?;
    let spec = serde_json::to_string(run).map_err(|e| e.to_string())?;
    let mut child = tokio::process::Command::new(exe)
        .args(&subject.relaunch)
        .env(DYING_RUN_ENV, spec)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("the dying run does not start: {e}"))?;
    let stdout = child.stdout.take().ok_or("the dying run has no stdout")?;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let mut commits = 0;
    let counted = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(line) = lines.next_line().await.map_err(|e| e.to_string())? {
            if line.trim() == COMMITTED {
                commits += 1;
                if commits == k {
                    return Ok(());
                }
            }
        }
        Err(format!(
            "the run ended after {commits} commits, before the kill at commit {k}"
        ))
    })
    .await;
    // SIGKILL: no destructor, no flush, no closing of the store.
    child
        .start_kill()
        .map_err(|e| format!("the dying run cannot be killed: {e}"))?;
    child.wait().await.map_err(|e| e.to_string())?;
    counted.map_err(|_| format!("no commit {k} within 120 s"))??;
    Ok(k)
}

/// Removes a SQLite database and the files beside it.
fn remove_database(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let _ = std::fs::remove_file(file);
    }
}

/// The webhook the provider sends for each change (deletions included) maps to the very row
/// the next sync writes, or, for a deletion, to a tombstone the next sync leaves alone (same id,
/// type, `updated_at`, `data` and `metadata`). Connectors without webhooks pass.
pub async fn each_changes_webhook_writes_the_row_the_next_sync_writes(
    subject: &Subject,
) -> Verdict {
    let bench = Bench::start(subject).await?;
    let connector = bench.build(bench.config(json!({"webhook_secret": WEBHOOK_SECRET})))?;
    if connector.webhook.is_none() {
        return Ok("takes no webhooks".to_owned());
    }
    bench.sync_ok().await?;
    let report = bench
        .sandbox
        .mutate(bench.name(), 12)
        .map_err(|e| e.to_string())?;
    let (deliveries, hooked) = bench.deliver(&connector, &report.changes).await?;
    ensure!(
        deliveries > 0,
        "the sandbox sent no webhook for {} changes",
        report.changes.len()
    );
    ensure!(
        !hooked.is_empty(),
        "{deliveries} webhooks mapped to no record"
    );
    bench.rows_match_their_streams(&hooked)?;
    bench.keep(&hooked).await?;
    bench.sync_ok().await?;
    let stored = bench.stored_records().await?;
    for record in &hooked {
        let row = stored
            .iter()
            .find(|r| r.id == record.id && r.record_type == record.record_type)
            .ok_or_else(|| {
                format!(
                    "the webhook's {} {} is not stored after the sync",
                    record.record_type, record.id
                )
            })?;
        ensure!(
            row == record,
            "the webhook and the sync disagree on {}: webhook {record:?}, stored {row:?}",
            record.id
        );
    }
    let tombstones = hooked.iter().filter(|r| r.is_tombstone()).count();
    Ok(format!(
        "{deliveries} webhooks, {} rows agree ({tombstones} tombstones)",
        hooked.len()
    ))
}

/// Credentials the provider refuses fail with an authentication error that names no secret.
pub async fn bad_credentials_fail_clearly_without_the_secret(subject: &Subject) -> Verdict {
    let bench = Bench::start(subject).await?;
    let secret = "not-accepted-secret-4711";
    let connector =
        bench.build(bench.config(json!({"auth": {"type": "bearer", "token": secret}})))?;
    let sink = Arc::new(StoreSink::new(bench.store.clone()));
    let Err(error) = bench.run(&connector, sink).await? else {
        return Err("a refused token did not fail the sync".to_owned());
    };
    ensure!(
        error.kind() == "authentication",
        "not an authentication error: {error}"
    );
    let shown = format!("{error} {error:?} {connector:?}");
    ensure!(!shown.contains(secret), "the secret leaked: {shown}");
    Ok(error.to_string())
}

/// A config with an unknown field and an unusable `base_url` names both fields.
pub async fn a_bad_config_names_every_field(subject: &Subject) -> Verdict {
    let bench = Bench::start(subject).await?;
    let config = bench.config(json!({"no_such_setting": true, "base_url": "ftp://nowhere"}));
    let Err(error) = subject.registry.build(&subject.connector, config) else {
        return Err("a bad config was accepted".to_owned());
    };
    let text = error.to_string();
    for field in ["no_such_setting", "base_url"] {
        ensure!(text.contains(field), "{field} is not named: {text}");
    }
    ensure!(error.kind() == "config", "not a config error: {error}");
    Ok("both fields named".to_owned())
}

/// One case of the suite.
pub type Case = for<'a> fn(&'a Subject) -> futures::future::LocalBoxFuture<'a, Verdict>;

/// Every case, by name, in the order `gwi verify` prints them.
pub const CASES: &[(&str, Case)] = &[
    ("a full sync stores exactly the expected set", |s| {
        Box::pin(full_sync_stores_exactly_the_expected_set(s))
    }),
    (
        "the same under faults (5xx, 429, resets, truncated bodies)",
        |s| Box::pin(a_sync_under_faults_stores_the_same_set(s)),
    ),
    ("an unchanged upstream costs one request per stream", |s| {
        Box::pin(an_unchanged_upstream_costs_one_request_per_stream(s))
    }),
    (
        "an incremental sync picks up changes and deletions, and only them",
        |s| Box::pin(an_incremental_sync_picks_up_changes(s)),
    ),
    ("an interrupted sync resumes to the same set", |s| {
        Box::pin(an_interrupted_sync_resumes_to_the_same_set(s))
    }),
    (
        "each change's webhook writes the row the next sync writes",
        |s| Box::pin(each_changes_webhook_writes_the_row_the_next_sync_writes(s)),
    ),
    ("bad credentials fail clearly, without the secret", |s| {
        Box::pin(bad_credentials_fail_clearly_without_the_secret(s))
    }),
    ("a bad config names every field", |s| {
        Box::pin(a_bad_config_names_every_field(s))
    }),
];

/// The read-only checks against a real, configured API: the credentials, the health checks, and
/// the first page of every stream, each record checked against the record schema and the
/// connector's metadata. Nothing is stored.
pub async fn verify_live(
    connector: &ConfiguredConnector,
    transport: Arc<dyn gwi_core::http::HttpClient>,
) -> Vec<LiveCheck> {
    let ctx = match ConnectorContext::new(connector, transport) {
        Ok(ctx) => ctx,
        Err(e) => {
            return vec![LiveCheck {
                check: "set up the HTTP client".to_owned(),
                verdict: Err(e.to_string()),
                took: Duration::ZERO,
            }];
        }
    };
    let mut checks = Vec::new();
    let started = Instant::now();
    let auth = connector.authenticate(&ctx).await;
    checks.push(LiveCheck {
        check: "the credentials are accepted".to_owned(),
        verdict: auth
            .map(|info| info.identity.unwrap_or_else(|| "accepted".to_owned()))
            .map_err(|e| e.to_string()),
        took: started.elapsed(),
    });
    let started = Instant::now();
    let health = connector.health_check(&ctx).await;
    let failed: Vec<String> = health
        .checks
        .iter()
        .filter(|c| c.status == gwi_core::health::CheckStatus::Fail)
        .map(|c| format!("{}: {}", c.name, c.error.as_deref().unwrap_or("failed")))
        .collect();
    checks.push(LiveCheck {
        check: "the health checks pass".to_owned(),
        verdict: if failed.is_empty() {
            Ok(format!("{} checks", health.checks.len()))
        } else {
            Err(failed.join("; "))
        },
        took: started.elapsed(),
    });
    let options = SyncOptions::default();
    match connector.streams(&options) {
        Err(e) => checks.push(LiveCheck {
            check: "the streams are listed".to_owned(),
            verdict: Err(e.to_string()),
            took: Duration::ZERO,
        }),
        Ok(streams) => {
            for stream in streams {
                let started = Instant::now();
                let verdict = first_page(connector, &ctx, &stream, &options).await;
                checks.push(LiveCheck {
                    check: format!("stream {}: first page", stream.name),
                    verdict,
                    took: started.elapsed(),
                });
            }
        }
    }
    checks
}

/// One read-only check of [`verify_live`] and how long it took.
#[derive(Debug, Clone)]
pub struct LiveCheck {
    /// What was checked.
    pub check: String,
    /// What it found.
    pub verdict: Verdict,
    /// How long it took.
    pub took: Duration,
}

/// Reads `stream` up to its first checkpoint (at most 100 records) and checks every record.
async fn first_page(
    connector: &ConfiguredConnector,
    ctx: &ConnectorContext,
    stream: &StreamDescriptor,
    options: &SyncOptions,
) -> Verdict {
    use futures::StreamExt;
    use gwi_core::stream::SyncItem;
    let mut items = connector.sync(ctx, stream, options);
    let mut records = 0;
    while let Some(item) = items.next().await {
        match item.map_err(|e| e.to_string())? {
            SyncItem::Record(record) => {
                record
                    .validate()
                    .map_err(|errors| format!("record {} is invalid: {errors:?}", record.id))?;
                ensure!(
                    record.source == connector.name(),
                    "record {} has source {:?}",
                    record.id,
                    record.source
                );
                ensure!(
                    record.record_type == stream.record_type,
                    "record {} is a {:?} in a {:?} stream",
                    record.id,
                    record.record_type,
                    stream.record_type
                );
                records += 1;
                if records == 100 {
                    break;
                }
            }
            SyncItem::Checkpoint(checkpoint) => {
                ensure!(
                    checkpoint.stream == stream.name,
                    "a checkpoint names stream {:?}",
                    checkpoint.stream
                );
                break;
            }
            SyncItem::TotalHint(_) => {}
        }
    }
    Ok(format!("{records} valid records"))
}

/// A sink that says on stdout when each commit is done, for the suite to kill its process.
struct Announces(StoreSink);

#[async_trait]
impl RecordSink for Announces {
    async fn load_state(&self, scope: &Scope) -> Result<Vec<StreamState>, StoreError> {
        self.0.load_state(scope).await
    }

    async fn commit(
        &self,
        scope: &Scope,
        stream: &StreamDescriptor,
        records: &[ConnectorRecord],
        checkpoint: Option<&Checkpoint>,
    ) -> Result<UpsertOutcome, StoreError> {
        let outcome = self.0.commit(scope, stream, records, checkpoint).await?;
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        // A line the suite does not see is a kill later than asked, never a wrong result.
        let _ = writeln!(out, "{COMMITTED}").and_then(|()| out.flush());
        Ok(outcome)
    }
}

/// Runs the behaviour suite for connector `$name` of `$registry`: a module named `$module` with
/// one test per case, each against a fresh sandbox.
#[macro_export]
macro_rules! connector_behaviour_tests {
    ($module:ident, $registry:expr, $name:expr) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;

            fn subject() -> $crate::behaviour::Subject {
                $crate::behaviour::Subject::new($registry, $name)
            }

            $crate::connector_behaviour_tests!(@cases
                full_sync_stores_exactly_the_expected_set,
                a_sync_under_faults_stores_the_same_set,
                an_unchanged_upstream_costs_one_request_per_stream,
                an_incremental_sync_picks_up_changes,
                an_interrupted_sync_resumes_to_the_same_set,
                each_changes_webhook_writes_the_row_the_next_sync_writes,
                bad_credentials_fail_clearly_without_the_secret,
                a_bad_config_names_every_field,
            );
        }
    };
    (@cases $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                // This test alone, by its name without the crate's: how the suite starts this
                // binary again as the process it kills.
                let path = concat!(module_path!(), "::", stringify!($case));
                let name = path.split_once("::").map_or(path, |(_, name)| name);
                let relaunch = ["--exact", name, "--nocapture"].map(String::from).to_vec();
                let subject = subject().relaunched_with(relaunch);
                if let Some(code) = $crate::behaviour::run_dying_run_if_asked(&subject.registry).await {
                    std::process::exit(code);
                }
                if let Err(reason) = $crate::behaviour::$case(&subject).await {
                    panic!("{}: {reason}", subject.connector);
                }
            }
        )+
    };
}
