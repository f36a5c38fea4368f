//! The connector behaviour suite: one set of cases every connector passes against its provider's
//! module in the local sandbox, as every store passes the store conformance suite.
//!
//! Invoke it once per connector with [`connector_behaviour_tests!`](crate::connector_behaviour_tests):
//!
//! ```ignore
//! gwi_testing::connector_behaviour_tests!(github_behaviour, gwi_testing::behaviour::Subject {
//!     extra_requests_per_resource: 2,
//!     ..gwi_testing::behaviour::Subject::new(gwi_connectors::registry(), "github")
//! });
//! ```
//!
//! Each case starts its own sandbox, builds the connector from the config the sandbox gives for
//! it, syncs into a [`MemoryStore`], and compares the store with the sandbox's expected set in
//! the connector's own words (record type, id, `updated_at`, deleted), never with counts mapped
//! by hand.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use gwi_core::connector::Connector;
use gwi_core::context::ConnectorContext;
use gwi_core::error::ConnectorError;
use gwi_core::record::ConnectorRecord;
use gwi_core::registry::{ConfiguredConnector, Registry};
use gwi_core::store::{RecordQuery, Scope, Store, StoreError, StreamState, UpsertOutcome};
use gwi_core::stream::{Checkpoint, StreamDescriptor, SyncOptions};
use gwi_core::sync::{RecordSink, StoreSink, SyncEngine, SyncResult};
use gwi_sandbox::{FaultConfig, Sandbox, SandboxConfig, SandboxHandle};
use serde_json::{Value, json};

use crate::MemoryStore;

/// The connector under test and what it may cost beyond one request per stream.
#[derive(Clone)]
pub struct Subject {
    /// A registry holding the connector.
    pub registry: Registry,
    /// Its name, which is also its sandbox provider's name.
    pub connector: &'static str,
    /// Requests an unchanged upstream may cost per resource beyond one per stream (a stream
    /// that reads two listings, per-item requests for the items at the cursor's own time, which
    /// inclusive filters list again).
    pub extra_requests_per_resource: u64,
}

impl Subject {
    /// Connector `connector` from `registry`, held to one request per stream.
    pub fn new(registry: Registry, connector: &'static str) -> Self {
        Self {
            registry,
            connector,
            extra_requests_per_resource: 0,
        }
    }
}

/// One sandbox and one store for a case.
struct Bench {
    subject: Subject,
    sandbox: SandboxHandle,
    store: Arc<dyn Store>,
}

impl Bench {
    async fn start(subject: &Subject) -> Self {
        let sandbox = Sandbox::start(SandboxConfig::default())
            .await
            .unwrap_or_else(|e| panic!("the sandbox does not start: {e}"));
        Self {
            subject: subject.clone(),
            sandbox,
            store: Arc::new(MemoryStore::new()),
        }
    }

    fn name(&self) -> &'static str {
        self.subject.connector
    }

    /// The sandbox's config for the connector, with fast retries, `extra` keys merged in.
    fn config(&self, extra: Value) -> Value {
        let mut config = self
            .sandbox
            .connector_config(self.name())
            .unwrap_or_else(|| panic!("the sandbox has no provider named {}", self.name()));
        let fast = json!({"http": {"initial_backoff_ms": 10, "max_backoff_secs": 1}});
        for patch in [fast, extra] {
            if let (Value::Object(config), Value::Object(patch)) = (&mut config, patch) {
                config.extend(patch);
            }
        }
        config
    }

    fn connector(&self) -> ConfiguredConnector {
        self.subject
            .registry
            .build(self.name(), self.config(json!({})))
            .unwrap_or_else(|e| panic!("{}: the sandbox's config is refused: {e}", self.name()))
    }

    async fn sync(&self, sink: Arc<dyn RecordSink>) -> Result<SyncResult, ConnectorError> {
        let connector = self.connector();
        let transport = gwi_core::http::ReqwestClient::new(std::time::Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("no HTTP client: {e}"));
        let ctx = ConnectorContext::new(&connector, Arc::new(transport))
            .unwrap_or_else(|e| panic!("{}: no context: {e}", self.name()));
        let engine: Arc<dyn Connector> = connector.connector.clone();
        SyncEngine::with_sink(engine, ctx, sink)
            .batch_size(50)
            .run(SyncOptions::default())
            .await
    }

    async fn sync_ok(&self) -> SyncResult {
        let sink = Arc::new(StoreSink::new(self.store.clone()));
        self.sync(sink)
            .await
            .unwrap_or_else(|e| panic!("{}: sync failed: {e}", self.name()))
    }

    /// The store's records as (type, id, updated_at, deleted).
    async fn stored(&self) -> BTreeSet<(String, String, String, bool)> {
        let query = RecordQuery {
            tenant: "default".into(),
            connector: Some(self.name().into()),
            ..RecordQuery::default()
        };
        let records = self
            .store
            .query_records(&query)
            .await
            .unwrap_or_else(|e| panic!("the store cannot be read: {e}"));
        records.iter().map(key).collect()
    }

    /// The sandbox's expected set, in the same shape.
    fn expected(&self) -> BTreeSet<(String, String, String, bool)> {
        self.sandbox
            .expected(self.name())
            .into_iter()
            .map(|e| {
                (
                    e.record_type.to_owned(),
                    e.id,
                    e.updated_at.to_string(),
                    e.deleted,
                )
            })
            .collect()
    }

    async fn assert_store_equals_expected(&self, when: &str) {
        let stored = self.stored().await;
        let expected = self.expected();
        assert!(!expected.is_empty(), "the sandbox expects no records");
        let missing: Vec<_> = expected.difference(&stored).take(5).collect();
        let extra: Vec<_> = stored.difference(&expected).take(5).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{} {when}: {} stored, {} expected; missing {missing:?}; not expected {extra:?}",
            self.name(),
            stored.len(),
            expected.len(),
        );
    }

    fn requests(&self) -> u64 {
        self.sandbox.stats().requests.total
    }
}

fn key(record: &ConnectorRecord) -> (String, String, String, bool) {
    (
        record.record_type.clone(),
        record.id.clone(),
        record
            .updated_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        record.is_tombstone(),
    )
}

/// A full sync stores exactly the expected set.
pub async fn full_sync_stores_exactly_the_expected_set(subject: &Subject) {
    let bench = Bench::start(subject).await;
    let result = bench.sync_ok().await;
    bench
        .assert_store_equals_expected("after a full sync")
        .await;
    assert_eq!(
        result.records,
        bench.expected().len() as u64,
        "each record is yielded once"
    );
}

/// The same under 5 % server errors, 429s with `Retry-After`, resets and truncated bodies.
pub async fn a_sync_under_faults_stores_the_same_set(subject: &Subject) {
    let bench = Bench::start(subject).await;
    let faults: FaultConfig = "error=0.05,429=0.02,reset=0.01,truncate=0.01,retry-after=1s"
        .parse()
        .unwrap_or_else(|e| panic!("bad fault spec: {e}"));
    bench
        .sandbox
        .set_faults(faults)
        .unwrap_or_else(|e| panic!("faults refused: {e}"));
    bench.sync_ok().await;
    bench.assert_store_equals_expected("under faults").await;
    assert!(
        bench.sandbox.stats().faults.total > 0,
        "no fault was injected"
    );
}

/// An unchanged upstream costs at most one request per stream, plus authentication and the
/// subject's declared allowance.
pub async fn an_unchanged_upstream_costs_one_request_per_stream(subject: &Subject) {
    let bench = Bench::start(subject).await;
    bench.sync_ok().await;
    let streams = bench
        .connector()
        .streams(&SyncOptions::default())
        .unwrap_or_else(|e| panic!("no streams: {e}"));
    let resources: BTreeSet<&str> = streams.iter().map(|s| s.resource.as_str()).collect();
    let before = bench.requests();
    bench.sync_ok().await;
    let spent = bench.requests() - before;
    let budget =
        1 + streams.len() as u64 + subject.extra_requests_per_resource * resources.len() as u64;
    assert!(
        spent <= budget,
        "{}: an unchanged upstream cost {spent} requests; the budget is {budget} ({} streams)",
        bench.name(),
        streams.len()
    );
    bench
        .assert_store_equals_expected("after an unchanged run")
        .await;
}

/// After updates and creations upstream, an incremental run fetches far less than a full one
/// and the store equals the expected set again.
pub async fn an_incremental_sync_picks_up_changes(subject: &Subject) {
    let bench = Bench::start(subject).await;
    let before = bench.requests();
    bench.sync_ok().await;
    let full = bench.requests() - before;
    let report = bench.sandbox.mutate(10);
    assert!(
        report.updated + report.created > 0,
        "the sandbox changed nothing"
    );
    let before = bench.requests();
    bench.sync_ok().await;
    let incremental = bench.requests() - before;
    bench.assert_store_equals_expected("after changes").await;
    assert!(
        incremental * 2 < full,
        "{}: the incremental run cost {incremental} requests, the full one {full}",
        bench.name()
    );
}

/// A run that dies after `k` commits (for several `k`), then a run to the end, stores exactly
/// what a clean run does.
pub async fn an_interrupted_sync_resumes_to_the_same_set(subject: &Subject) {
    for k in [1, 3, 8] {
        let bench = Bench::start(subject).await;
        let dying = Arc::new(DiesAfter {
            inner: StoreSink::new(bench.store.clone()),
            commits_left: AtomicUsize::new(k),
        });
        let interrupted = bench.sync(dying).await;
        assert!(
            interrupted.is_err(),
            "{}: a run that died after {k} commits reported success",
            bench.name()
        );
        bench.sync_ok().await;
        bench
            .assert_store_equals_expected(&format!("after dying at commit {k} and resuming"))
            .await;
    }
}

/// Credentials the provider refuses fail with an authentication error that names no secret.
pub async fn bad_credentials_fail_clearly_without_the_secret(subject: &Subject) {
    let bench = Bench::start(subject).await;
    let secret = "not-accepted-secret-4711";
    let config = bench.config(json!({"auth": {"type": "bearer", "token": secret}}));
    let connector = subject
        .registry
        .build(subject.connector, config)
        .unwrap_or_else(|e| panic!("{}: config refused: {e}", subject.connector));
    let transport = gwi_core::http::ReqwestClient::new(std::time::Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("no HTTP client: {e}"));
    let ctx = ConnectorContext::new(&connector, Arc::new(transport))
        .unwrap_or_else(|e| panic!("no context: {e}"));
    let outcome = SyncEngine::new(connector.connector.clone(), ctx, bench.store.clone())
        .run(SyncOptions::default())
        .await;
    let Err(error) = outcome else {
        panic!(
            "{}: a refused token did not fail the sync",
            subject.connector
        );
    };
    assert_eq!(error.kind(), "authentication", "{error}");
    let shown = format!("{error} {error:?} {connector:?}");
    assert!(!shown.contains(secret), "the secret leaked: {shown}");
}

/// A config with an unknown field and a resource of the wrong type names both fields.
pub async fn a_bad_config_names_every_field(subject: &Subject) {
    let bench = Bench::start(subject).await;
    let config = bench.config(json!({"no_such_setting": true, "base_url": "ftp://nowhere"}));
    let Err(error) = subject.registry.build(subject.connector, config) else {
        panic!("{}: a bad config was accepted", subject.connector);
    };
    let text = error.to_string();
    for field in ["no_such_setting", "base_url"] {
        assert!(text.contains(field), "{}: {text}", subject.connector);
    }
    assert_eq!(error.kind(), "config");
}

/// A sink that fails every commit after its first `commits_left`, like a process killed there.
struct DiesAfter {
    inner: StoreSink,
    commits_left: AtomicUsize,
}

#[async_trait]
impl RecordSink for DiesAfter {
    async fn load_state(&self, scope: &Scope) -> Result<Vec<StreamState>, StoreError> {
        self.inner.load_state(scope).await
    }

    async fn commit(
        &self,
        scope: &Scope,
        stream: &StreamDescriptor,
        records: &[ConnectorRecord],
        checkpoint: Option<&Checkpoint>,
    ) -> Result<UpsertOutcome, StoreError> {
        let left = self
            .commits_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        match left {
            Ok(_) => self.inner.commit(scope, stream, records, checkpoint).await,
            Err(_) => Err(StoreError::Unavailable("the process died here".into())),
        }
    }
}

/// Runs the behaviour suite for one connector: a module named `$module` with one test per case,
/// each against a fresh sandbox. `$subject` is a [`Subject`](crate::behaviour::Subject).
#[macro_export]
macro_rules! connector_behaviour_tests {
    ($module:ident, $subject:expr) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;

            fn subject() -> $crate::behaviour::Subject {
                $subject
            }

            $crate::connector_behaviour_tests!(@cases
                full_sync_stores_exactly_the_expected_set,
                a_sync_under_faults_stores_the_same_set,
                an_unchanged_upstream_costs_one_request_per_stream,
                an_incremental_sync_picks_up_changes,
                an_interrupted_sync_resumes_to_the_same_set,
                bad_credentials_fail_clearly_without_the_secret,
                a_bad_config_names_every_field,
            );
        }
    };
    (@cases $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::behaviour::$case(&subject()).await;
            }
        )+
    };
}
