//! The sync engine: drives a connector's streams into a [`Store`] (or another [`RecordSink`])
//! with checkpoints.
//!
//! The engine's one promise: a stored cursor never runs ahead of the stored records. A
//! [`Checkpoint`] means "everything yielded before me may be resumed past", so each batch is
//! committed together with the latest checkpoint seen *before* the batch's end, in one
//! transaction. Records yielded after the last checkpoint are still written (at the next size or
//! time bound, or at the end of the stream) with the previous checkpoint; a resumed run fetches
//! them again and the upsert makes that harmless.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::connector::Connector;
use crate::context::ConnectorContext;
use crate::error::ConnectorError;
use crate::progress::ProgressSnapshot;
use crate::record::ConnectorRecord;
use crate::store::{RecordQuery, Scope, Store, StoreError, StreamState, UpsertOutcome};
use crate::stream::{Checkpoint, StreamDescriptor, SyncItem, SyncOptions};

/// What a finished sync did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SyncResult {
    /// Records yielded by the connector and committed (or emitted).
    pub records: u64,
    /// Wall-clock time of the run.
    #[serde(rename = "duration_ms", serialize_with = "as_millis")]
    pub duration: Duration,
    /// The last committed cursor of each stream.
    pub cursors: BTreeMap<String, serde_json::Value>,
    /// Records that were new or newer than the stored copy.
    pub written: u64,
    /// Records whose stored copy was already as new (nothing changed).
    pub unchanged: u64,
    /// Records committed per stream.
    pub streams: BTreeMap<String, u64>,
    /// Whether the run stopped early because `limit` was reached.
    pub limit_reached: bool,
    /// Stored records a reconciling run marked deleted because the provider lists them no more.
    pub deleted: u64,
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Where a sync's records go: the store, or a protocol writer (NDJSON, Singer, Airbyte).
///
/// `commit` must be atomic for a store: the records and the checkpoint are saved together or not
/// at all. Protocol writers emit the records, then the checkpoint as a state message.
#[async_trait]
pub trait RecordSink: Send + Sync {
    /// Stored resume points of `scope`, used unless the run is a full refresh (default: none).
    async fn load_state(&self, scope: &Scope) -> Result<Vec<StreamState>, StoreError> {
        let _ = scope;
        Ok(Vec::new())
    }

    /// The stored, live records of `record_type` in `scope` that are not in `seen` and were
    /// last written before `before`, for a reconciling run to mark deleted (one written since
    /// may come from a webhook that arrived after the listing passed its place); `None` when
    /// the sink keeps no records (a protocol writer), so there is nothing to reconcile.
    async fn missing(
        &self,
        scope: &Scope,
        record_type: &str,
        seen: &HashSet<String>,
        before: DateTime<Utc>,
    ) -> Result<Option<Vec<ConnectorRecord>>, StoreError> {
        let _ = (scope, record_type, seen, before);
        Ok(None)
    }

    /// Writes one batch of `stream` and, with it, the checkpoint covering everything before it.
    async fn commit(
        &self,
        scope: &Scope,
        stream: &StreamDescriptor,
        records: &[ConnectorRecord],
        checkpoint: Option<&Checkpoint>,
    ) -> Result<UpsertOutcome, StoreError>;
}

/// The [`RecordSink`] that writes into a [`Store`] and reads state from it.
#[derive(Clone)]
pub struct StoreSink {
    store: Arc<dyn Store>,
}

impl StoreSink {
    /// Wraps a store.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }
}

impl std::fmt::Debug for StoreSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreSink").finish_non_exhaustive()
    }
}

#[async_trait]
impl RecordSink for StoreSink {
    async fn load_state(&self, scope: &Scope) -> Result<Vec<StreamState>, StoreError> {
        self.store.load_state(scope).await
    }

    async fn missing(
        &self,
        scope: &Scope,
        record_type: &str,
        seen: &HashSet<String>,
        before: DateTime<Utc>,
    ) -> Result<Option<Vec<ConnectorRecord>>, StoreError> {
        let query = RecordQuery {
            tenant: scope.tenant.clone(),
            connector: Some(scope.connector.clone()),
            record_type: Some(record_type.to_owned()),
            written_before: Some(before),
            ..RecordQuery::default()
        };
        // Streamed, so only the missing records are held, however many are stored.
        let missing = self
            .store
            .stream_records(&query)
            .try_filter(|r| futures::future::ready(listed_no_more(r, seen)))
            .try_collect()
            .await?;
        Ok(Some(missing))
    }

    async fn commit(
        &self,
        scope: &Scope,
        _stream: &StreamDescriptor,
        records: &[ConnectorRecord],
        checkpoint: Option<&Checkpoint>,
    ) -> Result<UpsertOutcome, StoreError> {
        self.store.commit_batch(scope, records, checkpoint).await
    }
}

/// Something that happened during a sync, for progress display.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SyncEvent {
    /// A stream started reading.
    StreamStarted {
        /// Stream name.
        stream: String,
    },
    /// A batch of a stream was committed.
    BatchCommitted {
        /// Stream name.
        stream: String,
        /// Records in the batch.
        records: u64,
        /// The checkpoint committed with it, if any.
        cursor: Option<serde_json::Value>,
        /// The run's counters after the commit.
        progress: ProgressSnapshot,
    },
    /// A stream ended (completed, stopped by the limit, failed or cancelled).
    StreamFinished {
        /// Stream name.
        stream: String,
        /// Records it committed.
        records: u64,
    },
    /// The run's counters, sent periodically while streams run.
    Progress(ProgressSnapshot),
}

/// Receives [`SyncEvent`]s; called from the engine's task, so it must return quickly.
pub type SyncEventCallback = Arc<dyn Fn(&SyncEvent) + Send + Sync>;

/// Records a stream buffers before they are committed, unless [`EngineSettings`] say otherwise.
///
/// A commit has a fixed cost (a transaction, its WAL pages, a task hand-off), so larger batches
/// are faster: a 200k-record sync into SQLite took 3.3 s at 1,000, 2.7 s at 2,500 and 2.6 s at
/// 5,000 records per batch. Two batches are in memory at once (one filling, one committing),
/// so peak RSS grows with it: 50, 53 and 58 MiB.
pub const DEFAULT_BATCH_SIZE: usize = 2_500;

/// Bytes of record JSON a stream buffers before they are committed, whatever the count.
///
/// A count alone let memory grow with record size: 2,500 records of about 6.5 KB (a long
/// description each) held two batches of 16 MB and took `--output ndjson` to 122 MiB peak RSS.
/// At 2 MiB, 8 KB records peak at 45–47 MiB into SQLite instead of 53 (4 MiB); records of about
/// 1 KB commit about 1,900 at a time instead of 2,500, which measured within the runs' spread
/// but for random ids, up to 4 % slower.
pub const DEFAULT_BATCH_BYTES: usize = 2 << 20;

/// How the engine batches and schedules.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineSettings {
    /// Commit when a stream has buffered this many records.
    pub batch_size: usize,
    /// Commit when a stream's buffered records hold this many bytes of JSON.
    pub batch_bytes: usize,
    /// Commit a non-empty buffer at least this often, so slow streams still save progress.
    pub batch_interval: Duration,
    /// Streams read at the same time (they share the context's HTTP client and rate limiter).
    pub concurrency: usize,
    /// How often a [`SyncEvent::Progress`] is sent.
    pub progress_interval: Duration,
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self {
            batch_size: DEFAULT_BATCH_SIZE,
            batch_bytes: DEFAULT_BATCH_BYTES,
            batch_interval: Duration::from_secs(1),
            concurrency: 4,
            progress_interval: Duration::from_millis(500),
        }
    }
}

/// Runs a connector's sync: authenticate, hooks, stored state, streams, batched commits.
pub struct SyncEngine {
    connector: Arc<dyn Connector>,
    ctx: ConnectorContext,
    sink: Arc<dyn RecordSink>,
    settings: EngineSettings,
    on_event: Option<SyncEventCallback>,
    cancel: CancellationToken,
}

impl std::fmt::Debug for SyncEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncEngine")
            .field("connector", &self.ctx.connector)
            .field("tenant", &self.ctx.tenant)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl SyncEngine {
    /// An engine that commits into `store` and resumes from the state stored there.
    pub fn new(
        connector: Arc<dyn Connector>,
        ctx: ConnectorContext,
        store: Arc<dyn Store>,
    ) -> Self {
        Self::with_sink(connector, ctx, Arc::new(StoreSink::new(store)))
    }

    /// An engine that writes to `sink` (which also supplies stored state).
    pub fn with_sink(
        connector: Arc<dyn Connector>,
        ctx: ConnectorContext,
        sink: Arc<dyn RecordSink>,
    ) -> Self {
        Self {
            connector,
            ctx,
            sink,
            settings: EngineSettings::default(),
            on_event: None,
            cancel: CancellationToken::new(),
        }
    }

    /// Replaces all batching and scheduling settings.
    pub fn settings(mut self, settings: EngineSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Commits when a stream has buffered `n` records (at least 1).
    pub fn batch_size(mut self, n: usize) -> Self {
        self.settings.batch_size = n.max(1);
        self
    }

    /// Commits when a stream's buffered records hold `n` bytes of JSON (at least 1).
    pub fn batch_bytes(mut self, n: usize) -> Self {
        self.settings.batch_bytes = n.max(1);
        self
    }

    /// Commits a non-empty buffer at least every `interval`.
    pub fn batch_interval(mut self, interval: Duration) -> Self {
        self.settings.batch_interval = interval;
        self
    }

    /// Reads at most `n` streams at a time (at least 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.settings.concurrency = n.max(1);
        self
    }

    /// Calls `callback` with each [`SyncEvent`].
    pub fn on_event(mut self, callback: impl Fn(&SyncEvent) + Send + Sync + 'static) -> Self {
        self.on_event = Some(Arc::new(callback));
        self
    }

    /// Stops the run when `token` is cancelled (e.g. on Ctrl-C).
    pub fn cancel_token(mut self, token: CancellationToken) -> Self {
        self.cancel = token;
        self
    }

    /// The token that cancels this engine's runs.
    pub fn cancellation(&self) -> &CancellationToken {
        &self.cancel
    }

    /// The context the connector runs with (its progress counters, HTTP client).
    pub fn context(&self) -> &ConnectorContext {
        &self.ctx
    }

    /// Runs one sync.
    ///
    /// On failure the connector's `on_error` hook runs and the typed error is returned; whatever
    /// was committed before stays committed. On cancellation, complete batches are committed and
    /// [`ConnectorError::Cancelled`] is returned.
    pub async fn run(&self, options: SyncOptions) -> Result<SyncResult, ConnectorError> {
        let started = Instant::now();
        match self.run_inner(options, started).await {
            Ok(result) => {
                self.connector.on_after_sync(&self.ctx, &result).await;
                Ok(result)
            }
            Err(error) => {
                self.connector.on_error(&self.ctx, &error).await;
                Err(error)
            }
        }
    }

    async fn run_inner(
        &self,
        mut options: SyncOptions,
        started: Instant,
    ) -> Result<SyncResult, ConnectorError> {
        self.cancellable(self.connector.authenticate(&self.ctx))
            .await?;
        self.cancellable(self.connector.on_before_sync(&self.ctx, &options))
            .await?;
        let scope = Scope::new(self.ctx.tenant.clone(), self.ctx.connector.clone());
        // A record written after this instant may come from a webhook that arrived after the
        // listing passed its place, so reconciling never marks those deleted.
        let listed_from = Utc::now();
        options.full_refresh |= options.reconcile;
        if !options.full_refresh {
            let states = self
                .cancellable(async {
                    self.sink
                        .load_state(&scope)
                        .await
                        .map_err(|e| self.storage(e))
                })
                .await?;
            for state in states {
                options.state.insert(state.stream, state.cursor);
            }
        }
        let streams: Vec<StreamDescriptor> = self
            .connector
            .streams(&options)?
            .into_iter()
            .filter(|s| is_selected(s, &options))
            .collect();
        let options = &options;
        // The run's streams share the answers to requests marked shared, and only this run's.
        let run = ConnectorContext {
            http: self.ctx.http.sharing_answers(),
            ..self.ctx.clone()
        };
        let budget = Budget::new(options.limit);
        // Child token: a failing stream stops its siblings without cancelling the caller's token.
        let stop = self.cancel.child_token();
        let seen = options.reconcile.then(Seen::default);
        // The futures are made up front (they do nothing until polled): a closure in the
        // stream's type would make this future not provably `Send` for `tokio::spawn` (the
        // scheduler of `gwi serve` spawns syncs).
        let pending: Vec<_> = streams
            .iter()
            .map(|stream| self.run_stream(&run, stream, options, &budget, &stop, seen.as_ref()))
            .collect();
        let mut runs =
            futures::stream::iter(pending).buffer_unordered(self.settings.concurrency.max(1));

        let mut result = SyncResult::default();
        let mut failure: Option<ConnectorError> = None;
        let mut ticker = tokio::time::interval(self.settings.progress_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        loop {
            let outcome = tokio::select! {
                outcome = runs.next() => outcome,
                _ = ticker.tick(), if self.on_event.is_some() => {
                    self.emit(SyncEvent::Progress(self.ctx.progress.snapshot()));
                    continue;
                }
            };
            let Some(outcome) = outcome else { break };
            result.records += outcome.records;
            result.written += outcome.outcome.written;
            result.unchanged += outcome.outcome.unchanged;
            result
                .streams
                .insert(outcome.stream.clone(), outcome.records);
            if let Some(cursor) = outcome.cursor {
                result.cursors.insert(outcome.stream, cursor);
            }
            if let Some(error) = outcome.error {
                stop.cancel();
                // The first real failure wins over the cancellations it caused in other streams.
                let replace = match &failure {
                    None => true,
                    Some(ConnectorError::Cancelled { .. }) => {
                        !matches!(error, ConnectorError::Cancelled { .. })
                    }
                    Some(_) => false,
                };
                if replace {
                    failure = Some(error);
                }
            }
        }
        // The streams borrow `seen`; they are all finished here.
        drop(runs);
        if let Some(error) = failure {
            return Err(error);
        }
        result.limit_reached = budget.was_hit();
        if let Some(seen) = seen {
            result.deleted = self
                .cancellable(self.reconcile(&scope, &streams, options, seen, listed_from))
                .await?;
        }
        result.duration = started.elapsed();
        Ok(result)
    }

    async fn run_stream(
        &self,
        ctx: &ConnectorContext,
        stream: &StreamDescriptor,
        options: &SyncOptions,
        budget: &Budget,
        stop: &CancellationToken,
        seen: Option<&Seen>,
    ) -> StreamOutcome {
        let scope = &Scope::new(ctx.tenant.clone(), ctx.connector.clone());
        let mut out = StreamOutcome {
            stream: stream.name.clone(),
            records: 0,
            outcome: UpsertOutcome::default(),
            // As stored (checkpoints below replace it the same way), facts and all.
            cursor: (!options.full_refresh)
                .then(|| options.state.get(&stream.name).cloned())
                .flatten(),
            error: None,
        };
        if stop.is_cancelled() {
            out.error = Some(self.cancelled());
            return out;
        }
        if budget.exhausted() {
            return out;
        }
        self.emit(SyncEvent::StreamStarted {
            stream: stream.name.clone(),
        });
        let mut items = self.connector.sync(ctx, stream, options);
        let mut batch = Batch::default();
        let mut deadline: Option<Instant> = None;
        // At most one commit of this stream is in flight while the next page is fetched and
        // decoded, so the store and the connector use both cores; commits stay in order because
        // a new one starts only after the previous one finished.
        let mut pending: Option<PendingCommit<'_>> = None;
        let end = loop {
            let next = tokio::select! {
                biased;
                _ = stop.cancelled() => break End::Error(self.cancelled()),
                committed = async { match pending.as_mut() {
                    Some(commit) => commit.await,
                    None => std::future::pending().await,
                } } => {
                    pending = None;
                    match committed {
                        Ok(committed) => self.applied(stream, committed, &mut out),
                        Err(e) => break End::Flushed(e),
                    }
                    continue;
                }
                _ = sleep_until(deadline) => {
                    if let Err(e) = self.start_commit(scope, stream, &mut batch, &mut pending, &mut out).await {
                        break End::Flushed(e);
                    }
                    deadline = None;
                    continue;
                }
                next = items.next() => next,
            };
            match next {
                None => break End::Complete,
                Some(Err(error)) => break End::Error(error),
                Some(Ok(SyncItem::Record(record))) => {
                    if !budget.take() {
                        break End::Complete;
                    }
                    if let Some(seen) = seen {
                        seen.add(&record);
                    }
                    batch.bytes += record.data.as_str().len() + record.metadata.as_str().len();
                    batch.records.push(record);
                }
                Some(Ok(SyncItem::Checkpoint(mut checkpoint))) => {
                    if checkpoint.stream != stream.name {
                        // The state key must be the descriptor's name, or the next run's
                        // `cursor_for` would never find it.
                        tracing::warn!(
                            connector = %self.ctx.connector,
                            stream = %stream.name,
                            checkpoint_stream = %checkpoint.stream,
                            "checkpoint named another stream; stored under the stream's name"
                        );
                        checkpoint.stream.clone_from(&stream.name);
                    }
                    batch.checkpoint = Some(checkpoint);
                }
                Some(Ok(SyncItem::TotalHint(n))) => {
                    self.ctx.progress.add_total_hint(n);
                    continue;
                }
            }
            if deadline.is_none() {
                deadline = Some(Instant::now() + self.settings.batch_interval);
            }
            if batch.records.len() >= self.settings.batch_size
                || batch.bytes >= self.settings.batch_bytes
            {
                if let Err(e) = self
                    .start_commit(scope, stream, &mut batch, &mut pending, &mut out)
                    .await
                {
                    break End::Flushed(e);
                }
                deadline = None;
            }
        };
        // Stop the connector's stream (and its in-flight request) before the final commit.
        drop(items);
        let final_commit = if matches!(end, End::Flushed(_)) {
            Ok(())
        } else {
            match self
                .start_commit(scope, stream, &mut batch, &mut pending, &mut out)
                .await
            {
                Ok(()) => self.finish_commit(stream, &mut pending, &mut out).await,
                Err(e) => Err(e),
            }
        };
        match end {
            End::Complete => {
                if let Err(e) = final_commit {
                    out.error = Some(e);
                }
            }
            End::Error(error) => {
                // What was yielded before the failure is valid: keep it.
                if let Err(e) = final_commit {
                    tracing::warn!(
                        connector = %self.ctx.connector,
                        stream = %stream.name,
                        error = %e,
                        "could not commit the records read before the failure"
                    );
                }
                out.error = Some(error);
            }
            End::Flushed(error) => out.error = Some(error),
        }
        self.emit(SyncEvent::StreamFinished {
            stream: stream.name.clone(),
            records: out.records,
        });
        out
    }

    /// Waits for the commit in flight, then starts committing the buffered records with the
    /// latest checkpoint seen; the buffer is empty afterwards.
    async fn start_commit<'a>(
        &'a self,
        scope: &'a Scope,
        stream: &'a StreamDescriptor,
        batch: &mut Batch,
        pending: &mut Option<PendingCommit<'a>>,
        out: &mut StreamOutcome,
    ) -> Result<(), ConnectorError> {
        self.finish_commit(stream, pending, out).await?;
        if batch.records.is_empty() && batch.checkpoint.is_none() {
            return Ok(());
        }
        let records = std::mem::take(&mut batch.records);
        batch.bytes = 0;
        let checkpoint = batch.checkpoint.take();
        // On its own task, so encoding the batch for the sink runs beside the connector's
        // decoding instead of taking turns with it.
        let sink = Arc::clone(&self.sink);
        let (scope, descriptor) = (scope.clone(), stream.clone());
        let commit = tokio::spawn(
            async move {
                let outcome = sink
                    .commit(&scope, &descriptor, &records, checkpoint.as_ref())
                    .await;
                (records.len() as u64, outcome, checkpoint.map(|c| c.cursor))
            }
            .in_current_span(),
        );
        *pending = Some(Box::pin(async move {
            let (records, outcome, cursor) = commit.await.map_err(|e| {
                self.storage(StoreError::Unavailable(format!(
                    "the commit was interrupted: {e}"
                )))
            })?;
            Ok(Committed {
                records,
                outcome: outcome.map_err(|e| self.storage(e))?,
                cursor,
            })
        }));
        Ok(())
    }

    /// Waits for the commit in flight, if any, and counts it.
    async fn finish_commit(
        &self,
        stream: &StreamDescriptor,
        pending: &mut Option<PendingCommit<'_>>,
        out: &mut StreamOutcome,
    ) -> Result<(), ConnectorError> {
        if let Some(commit) = pending.take() {
            let committed = commit.await?;
            self.applied(stream, committed, out);
        }
        Ok(())
    }

    /// Counts a finished commit and reports it.
    fn applied(&self, stream: &StreamDescriptor, committed: Committed, out: &mut StreamOutcome) {
        let n = committed.records;
        self.ctx.progress.add_records(n);
        out.records += n;
        out.outcome.written += committed.outcome.written;
        out.outcome.unchanged += committed.outcome.unchanged;
        if let Some(cursor) = &committed.cursor {
            out.cursor = Some(cursor.clone());
        }
        self.emit(SyncEvent::BatchCommitted {
            stream: stream.name.clone(),
            records: n,
            cursor: committed.cursor,
            progress: self.ctx.progress.snapshot(),
        });
    }

    async fn cancellable<T>(
        &self,
        fut: impl Future<Output = Result<T, ConnectorError>>,
    ) -> Result<T, ConnectorError> {
        tokio::select! {
            biased;
            _ = self.cancel.cancelled() => Err(self.cancelled()),
            r = fut => r,
        }
    }

    fn emit(&self, event: SyncEvent) {
        if let Some(callback) = &self.on_event {
            callback(&event);
        }
    }

    fn cancelled(&self) -> ConnectorError {
        ConnectorError::Cancelled {
            connector: self.ctx.connector.clone(),
        }
    }

    /// Marks deleted the stored records of each type the run read that the provider did not
    /// list, once every stream has read every resource to its end; gives how many.
    async fn reconcile(
        &self,
        scope: &Scope,
        streams: &[StreamDescriptor],
        options: &SyncOptions,
        seen: Seen,
        listed_from: DateTime<Utc>,
    ) -> Result<u64, ConnectorError> {
        if options.resources.is_some() || options.limit.is_some() {
            // A partial listing would make every record it skipped look deleted.
            tracing::warn!(
                connector = %self.ctx.connector,
                "not reconciling deletions: the run did not read every resource to its end"
            );
            return Ok(0);
        }
        let seen = seen.into_inner();
        let empty = HashSet::new();
        let mut types = HashSet::new();
        let mut deleted = 0;
        let now = Utc::now();
        for stream in streams
            .iter()
            .filter(|s| types.insert(s.record_type.clone()))
        {
            let ids = seen.get(&stream.record_type).unwrap_or(&empty);
            let missing = self
                .sink
                .missing(scope, &stream.record_type, ids, listed_from)
                .await
                .map_err(|e| self.storage(e))?;
            let Some(missing) = missing else {
                tracing::warn!(
                    connector = %self.ctx.connector,
                    "not reconciling deletions: this output keeps no records to compare with"
                );
                return Ok(0);
            };
            let tombstones: Vec<ConnectorRecord> =
                missing.into_iter().map(|r| r.into_tombstone(now)).collect();
            for chunk in tombstones.chunks(self.settings.batch_size.max(1)) {
                self.sink
                    .commit(scope, stream, chunk, None)
                    .await
                    .map_err(|e| self.storage(e))?;
            }
            deleted += tombstones.len() as u64;
        }
        Ok(deleted)
    }

    fn storage(&self, source: StoreError) -> ConnectorError {
        ConnectorError::Storage {
            connector: self.ctx.connector.clone(),
            source,
        }
    }
}

fn is_selected(stream: &StreamDescriptor, options: &SyncOptions) -> bool {
    options.wants_type(&stream.record_type)
        && options
            .resources
            .as_ref()
            .is_none_or(|r| r.contains(&stream.resource))
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Records buffered since the last commit and the latest checkpoint seen since then.
/// A batch commit in flight.
type PendingCommit<'a> =
    std::pin::Pin<Box<dyn Future<Output = Result<Committed, ConnectorError>> + Send + 'a>>;

/// What a finished batch commit wrote.
struct Committed {
    records: u64,
    outcome: UpsertOutcome,
    cursor: Option<serde_json::Value>,
}

#[derive(Default)]
struct Batch {
    records: Vec<ConnectorRecord>,
    /// JSON bytes of `records`' data and metadata.
    bytes: usize,
    checkpoint: Option<Checkpoint>,
}

enum End {
    /// The connector's stream ended, or the limit was reached.
    Complete,
    /// The connector failed or the run was cancelled: commit what is buffered, then report.
    Error(ConnectorError),
    /// A commit failed: nothing more can be written.
    Flushed(ConnectorError),
}

/// Whether a stored record is live and was not read by a reconciling run.
fn listed_no_more(record: &ConnectorRecord, seen: &HashSet<String>) -> bool {
    !record.is_tombstone() && !seen.contains(&record.id)
}

/// The ids a reconciling run has read, per record type.
#[derive(Default)]
struct Seen(Mutex<HashMap<String, HashSet<String>>>);

impl Seen {
    fn add(&self, record: &ConnectorRecord) {
        let mut seen = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match seen.get_mut(&record.record_type) {
            Some(ids) => {
                ids.insert(record.id.clone());
            }
            None => {
                seen.insert(
                    record.record_type.clone(),
                    HashSet::from([record.id.clone()]),
                );
            }
        }
    }

    fn into_inner(self) -> HashMap<String, HashSet<String>> {
        self.0.into_inner().unwrap_or_else(PoisonError::into_inner)
    }
}

struct StreamOutcome {
    stream: String,
    records: u64,
    outcome: UpsertOutcome,
    cursor: Option<serde_json::Value>,
    error: Option<ConnectorError>,
}

/// The run's `limit`, shared by all streams.
struct Budget {
    remaining: Option<AtomicU64>,
    /// Set when a record or a stream was skipped because the limit was used up.
    hit: AtomicBool,
}

impl Budget {
    fn new(limit: Option<u64>) -> Self {
        Self {
            remaining: limit.map(AtomicU64::new),
            hit: AtomicBool::new(false),
        }
    }

    /// Takes one record's worth; `false` when the limit is used up.
    fn take(&self) -> bool {
        let taken = match &self.remaining {
            None => true,
            Some(left) => left
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
                .is_ok(),
        };
        if !taken {
            self.hit.store(true, Ordering::Release);
        }
        taken
    }

    /// Whether the limit is used up; counts as hitting it (a stream is being skipped).
    fn exhausted(&self) -> bool {
        let exhausted = self
            .remaining
            .as_ref()
            .is_some_and(|left| left.load(Ordering::Acquire) == 0);
        if exhausted {
            self.hit.store(true, Ordering::Release);
        }
        exhausted
    }

    fn was_hit(&self) -> bool {
        self.hit.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;
    use std::sync::atomic::AtomicUsize;

    use chrono::{DateTime, Utc};
    use futures::stream::BoxStream;
    use serde_json::{Value, json};

    use super::*;
    use crate::connector::AuthInfo;
    use crate::health::HealthStatus;
    use crate::http::{ApiClient, HttpClient, HttpError, HttpRequest, HttpResponse};
    use crate::progress::Progress;

    #[derive(Clone)]
    enum Step {
        Item(SyncItem),
        Fail(u16),
        Sleep(Duration),
        Cancel(CancellationToken),
        Pending,
    }

    fn rec(id: &str) -> Step {
        Step::Item(SyncItem::Record(record(id)))
    }

    fn record(id: &str) -> ConnectorRecord {
        let t = DateTime::parse_from_rfc3339("2024-05-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        ConnectorRecord::new(id, "item", "script", t, t)
    }

    fn cp(stream: &str, cursor: Value) -> Step {
        Step::Item(SyncItem::Checkpoint(Checkpoint {
            stream: stream.into(),
            cursor,
        }))
    }

    /// A connector whose streams replay scripted steps and which records what the engine did.
    struct Script {
        streams: Vec<StreamDescriptor>,
        steps: HashMap<String, Vec<Step>>,
        auth_fails: bool,
        calls: Mutex<Vec<String>>,
        seen_cursors: Mutex<BTreeMap<String, Option<Value>>>,
        active: AtomicUsize,
        max_active: AtomicUsize,
    }

    impl Script {
        fn new(streams: Vec<(StreamDescriptor, Vec<Step>)>) -> Self {
            Self {
                streams: streams.iter().map(|(s, _)| s.clone()).collect(),
                steps: streams.into_iter().map(|(s, st)| (s.name, st)).collect(),
                auth_fails: false,
                calls: Mutex::new(Vec::new()),
                seen_cursors: Mutex::new(BTreeMap::new()),
                active: AtomicUsize::new(0),
                max_active: AtomicUsize::new(0),
            }
        }

        fn one(steps: Vec<Step>) -> Self {
            Self::new(vec![(stream("r1"), steps)])
        }

        fn call(&self, what: impl Into<String>) {
            self.calls.lock().unwrap().push(what.into());
        }

        fn calls(&self) -> Vec<String> {
            self.calls.lock().unwrap().clone()
        }
    }

    fn stream(resource: &str) -> StreamDescriptor {
        StreamDescriptor::new(resource, "item")
    }

    struct ActiveGuard<'a>(&'a AtomicUsize);
    impl Drop for ActiveGuard<'_> {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }

    #[async_trait]
    impl Connector for Script {
        async fn authenticate(&self, _ctx: &ConnectorContext) -> Result<AuthInfo, ConnectorError> {
            self.call("authenticate");
            if self.auth_fails {
                return Err(ConnectorError::Authentication {
                    connector: "script".into(),
                    status: Some(401),
                    message: "bad token".into(),
                    required_scopes: vec![],
                });
            }
            Ok(AuthInfo::default())
        }
        async fn health_check(&self, _ctx: &ConnectorContext) -> HealthStatus {
            HealthStatus::from_checks("script", vec![])
        }
        fn streams(&self, _options: &SyncOptions) -> Result<Vec<StreamDescriptor>, ConnectorError> {
            Ok(self.streams.clone())
        }
        fn sync<'a>(
            &'a self,
            _ctx: &'a ConnectorContext,
            stream: &'a StreamDescriptor,
            options: &'a SyncOptions,
        ) -> BoxStream<'a, Result<SyncItem, ConnectorError>> {
            self.call(format!("sync:{}", stream.name));
            self.seen_cursors.lock().unwrap().insert(
                stream.name.clone(),
                options.cursor_for(&stream.name).cloned(),
            );
            let steps = self.steps.get(&stream.name).cloned().unwrap_or_default();
            Box::pin(async_stream::stream! {
                let now = self.active.fetch_add(1, Ordering::SeqCst) + 1;
                self.max_active.fetch_max(now, Ordering::SeqCst);
                let _guard = ActiveGuard(&self.active);
                for step in steps {
                    match step {
                        Step::Item(item) => yield Ok(item),
                        Step::Fail(status) => {
                            yield Err(ConnectorError::Api {
                                connector: "script".into(),
                                status,
                                url: "http://127.0.0.1/x".into(),
                                message: "boom".into(),
                            });
                            return;
                        }
                        Step::Sleep(d) => tokio::time::sleep(d).await,
                        Step::Cancel(token) => token.cancel(),
                        Step::Pending => std::future::pending::<()>().await,
                    }
                }
            })
        }
        async fn on_before_sync(
            &self,
            _ctx: &ConnectorContext,
            _options: &SyncOptions,
        ) -> Result<(), ConnectorError> {
            self.call("on_before_sync");
            Ok(())
        }
        async fn on_after_sync(&self, _ctx: &ConnectorContext, result: &SyncResult) {
            self.call(format!("on_after_sync:{}", result.records));
        }
        async fn on_error(&self, _ctx: &ConnectorContext, error: &ConnectorError) {
            self.call(format!("on_error:{}", error.kind()));
        }
    }

    #[derive(Debug)]
    struct NoTransport;

    #[async_trait]
    impl HttpClient for NoTransport {
        async fn send(&self, _request: HttpRequest) -> Result<HttpResponse, HttpError> {
            Err(HttpError::Connect {
                message: "no network in engine tests".into(),
            })
        }
    }

    fn context() -> ConnectorContext {
        let progress = Arc::new(Progress::default());
        ConnectorContext {
            connector: "script".into(),
            tenant: "t1".into(),
            http: ApiClient::builder("script", Arc::new(NoTransport))
                .progress(progress.clone())
                .build(),
            progress,
        }
    }

    #[derive(Debug, Clone, PartialEq)]
    struct Commit {
        stream: String,
        ids: Vec<String>,
        cursor: Option<Value>,
    }

    /// Records every commit; can hold stored state and records and fail on demand.
    #[derive(Default)]
    struct VecSink {
        commits: Mutex<Vec<Commit>>,
        state: Vec<StreamState>,
        /// Stored records with when each was written.
        stored: Vec<(ConnectorRecord, DateTime<Utc>)>,
        fail_commits: bool,
    }

    impl VecSink {
        fn commits(&self) -> Vec<Commit> {
            self.commits.lock().unwrap().clone()
        }
        fn ids(&self) -> Vec<String> {
            self.commits().into_iter().flat_map(|c| c.ids).collect()
        }
    }

    #[async_trait]
    impl RecordSink for VecSink {
        async fn load_state(&self, scope: &Scope) -> Result<Vec<StreamState>, StoreError> {
            assert_eq!(scope, &Scope::new("t1", "script"));
            Ok(self.state.clone())
        }
        async fn missing(
            &self,
            _scope: &Scope,
            record_type: &str,
            seen: &HashSet<String>,
            before: DateTime<Utc>,
        ) -> Result<Option<Vec<ConnectorRecord>>, StoreError> {
            let missing = self.stored.iter().filter(|(r, written)| {
                r.record_type == record_type && *written < before && listed_no_more(r, seen)
            });
            Ok(Some(missing.map(|(r, _)| r.clone()).collect()))
        }
        async fn commit(
            &self,
            _scope: &Scope,
            stream: &StreamDescriptor,
            records: &[ConnectorRecord],
            checkpoint: Option<&Checkpoint>,
        ) -> Result<UpsertOutcome, StoreError> {
            if self.fail_commits {
                return Err(StoreError::Unavailable("disk full".into()));
            }
            if let Some(c) = checkpoint {
                assert_eq!(c.stream, stream.name);
            }
            self.commits.lock().unwrap().push(Commit {
                stream: stream.name.clone(),
                ids: records.iter().map(|r| r.id.clone()).collect(),
                cursor: checkpoint.map(|c| c.cursor.clone()),
            });
            Ok(UpsertOutcome {
                written: records.len() as u64,
                unchanged: 0,
            })
        }
    }

    fn engine(script: &Arc<Script>, sink: &Arc<VecSink>) -> SyncEngine {
        SyncEngine::with_sink(script.clone(), context(), sink.clone())
    }

    fn commit(ids: &[&str], cursor: Option<Value>) -> Commit {
        Commit {
            stream: "r1/item".into(),
            ids: ids.iter().map(|s| (*s).to_owned()).collect(),
            cursor,
        }
    }

    #[tokio::test]
    async fn sync_commits_each_batch_with_the_latest_checkpoint_before_its_end() {
        let script = Arc::new(Script::one(vec![
            rec("a"),
            rec("b"),
            cp("r1/item", json!(1)),
            rec("c"),
            rec("d"),
            cp("r1/item", json!(2)),
            rec("e"),
        ]));
        let sink = Arc::new(VecSink::default());
        let result = engine(&script, &sink)
            .batch_size(2)
            .run(SyncOptions::default())
            .await
            .unwrap();
        assert_eq!(
            sink.commits(),
            vec![
                commit(&["a", "b"], None),
                commit(&["c", "d"], Some(json!(1))),
                // "e" came after the last checkpoint: written at the end, with that checkpoint.
                commit(&["e"], Some(json!(2))),
            ]
        );
        assert_eq!(result.records, 5);
        assert_eq!(result.written, 5);
        assert_eq!(result.cursors.get("r1/item"), Some(&json!(2)));
        assert_eq!(result.streams.get("r1/item"), Some(&5));
        assert!(!result.limit_reached);
    }

    proptest::proptest! {
        #[test]
        fn sync_never_stores_a_cursor_ahead_of_the_stored_records(
            script in proptest::collection::vec(proptest::bool::weighted(0.7), 0..60),
            batch_size in 1usize..7,
        ) {
            // A checkpoint's cursor is the number of records yielded before it.
            let mut steps = Vec::new();
            let mut yielded = 0u64;
            let mut last_cursor = None;
            for is_record in &script {
                if *is_record {
                    steps.push(rec(&format!("r{yielded}")));
                    yielded += 1;
                } else {
                    steps.push(cp("r1/item", json!(yielded)));
                    last_cursor = Some(json!(yielded));
                }
            }
            let script = Arc::new(Script::one(steps));
            let sink = Arc::new(VecSink::default());
            let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
            let result = rt
                .block_on(engine(&script, &sink).batch_size(batch_size).run(SyncOptions::default()))
                .unwrap();
            let mut written = 0u64;
            for c in sink.commits() {
                written += c.ids.len() as u64;
                if let Some(cursor) = c.cursor {
                    proptest::prop_assert!(cursor.as_u64().unwrap() <= written);
                }
            }
            let expected: Vec<String> = (0..yielded).map(|i| format!("r{i}")).collect();
            proptest::prop_assert_eq!(sink.ids(), expected);
            proptest::prop_assert_eq!(result.cursors.get("r1/item").cloned(), last_cursor);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn sync_commits_a_slow_stream_on_the_time_bound() {
        let script = Arc::new(Script::one(vec![
            rec("a"),
            cp("r1/item", json!(1)),
            Step::Sleep(Duration::from_secs(5)),
            rec("b"),
        ]));
        let sink = Arc::new(VecSink::default());
        engine(&script, &sink)
            .batch_size(100)
            .batch_interval(Duration::from_secs(1))
            .run(SyncOptions::default())
            .await
            .unwrap();
        assert_eq!(
            sink.commits(),
            vec![commit(&["a"], Some(json!(1))), commit(&["b"], None)]
        );
    }

    #[tokio::test]
    async fn a_batch_is_committed_when_its_records_reach_the_byte_bound() {
        let big = |id: &str| {
            let mut r = record(id);
            r.data = json!({ "body": "x".repeat(1_000) }).into();
            Step::Item(SyncItem::Record(r))
        };
        let script = Arc::new(Script::one(vec![big("a"), big("b"), big("c"), rec("d")]));
        let sink = Arc::new(VecSink::default());
        engine(&script, &sink)
            .batch_size(100)
            .batch_bytes(2_000)
            .run(SyncOptions::default())
            .await
            .unwrap();
        assert_eq!(
            sink.commits(),
            vec![commit(&["a", "b"], None), commit(&["c", "d"], None)]
        );
    }

    #[tokio::test]
    async fn sync_limit_caps_records_across_all_streams() {
        let steps = |p: &str| (0..10).map(|i| rec(&format!("{p}{i}"))).collect::<Vec<_>>();
        let script = Arc::new(Script::new(vec![
            (stream("r1"), steps("a")),
            (stream("r2"), steps("b")),
            (stream("r3"), steps("c")),
        ]));
        let sink = Arc::new(VecSink::default());
        let result = engine(&script, &sink)
            .concurrency(2)
            .batch_size(3)
            .run(SyncOptions {
                limit: Some(15),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(result.records, 15);
        assert_eq!(sink.ids().len(), 15);
        assert!(result.limit_reached);
        assert_eq!(
            script.calls().last().map(String::as_str),
            Some("on_after_sync:15")
        );
    }

    #[tokio::test]
    async fn sync_reads_only_the_selected_types_and_resources() {
        let script = Arc::new(Script::new(vec![
            (StreamDescriptor::new("r1", "issue"), vec![rec("a")]),
            (StreamDescriptor::new("r1", "pull_request"), vec![rec("b")]),
            (StreamDescriptor::new("r2", "issue"), vec![rec("c")]),
        ]));
        let sink = Arc::new(VecSink::default());
        engine(&script, &sink)
            .run(SyncOptions {
                types: Some(vec!["issue".into()]),
                resources: Some(vec!["r1".into()]),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(sink.ids(), vec!["a"]);
        let synced: Vec<_> = script
            .calls()
            .into_iter()
            .filter(|c| c.starts_with("sync:"))
            .collect();
        assert_eq!(synced, vec!["sync:r1/issue"]);
    }

    #[tokio::test]
    async fn sync_resumes_from_the_stored_cursor_unless_full_refresh() {
        let stored = StreamState {
            stream: "r1/item".into(),
            cursor: json!({"page": 7}),
            updated_at: Utc::now(),
        };
        let sink = Arc::new(VecSink {
            state: vec![stored],
            ..Default::default()
        });
        let script = Arc::new(Script::one(vec![rec("a")]));
        let result = engine(&script, &sink)
            .run(SyncOptions::default())
            .await
            .unwrap();
        assert_eq!(
            script.seen_cursors.lock().unwrap().get("r1/item"),
            Some(&Some(json!({"page": 7})))
        );
        // No new checkpoint: the result still reports where the stream stands.
        assert_eq!(result.cursors.get("r1/item"), Some(&json!({"page": 7})));

        let script = Arc::new(Script::one(vec![rec("a")]));
        engine(&script, &sink)
            .run(SyncOptions {
                full_refresh: true,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            script.seen_cursors.lock().unwrap().get("r1/item"),
            Some(&None)
        );
    }

    #[tokio::test]
    async fn reconciling_marks_deleted_what_a_full_listing_no_longer_shows() {
        let now = Utc::now();
        let before = now - chrono::Duration::seconds(60);
        // As a webhook delivered while the listing runs would store it.
        let later = now + chrono::Duration::seconds(60);
        let old = record("x");
        let other_type =
            ConnectorRecord::new("z", "note", "script", old.created_at, old.updated_at);
        let gone_before = record("w").into_tombstone(old.updated_at);
        let sink = Arc::new(VecSink {
            state: vec![StreamState {
                stream: "r1/item".into(),
                cursor: json!(9),
                updated_at: now,
            }],
            stored: vec![
                (record("a"), before),
                (old, before),
                (record("y"), later),
                (other_type, before),
                (gone_before, before),
            ],
            ..Default::default()
        });
        let script = Arc::new(Script::one(vec![rec("a"), cp("r1/item", json!(1))]));
        let result = engine(&script, &sink)
            .run(SyncOptions {
                reconcile: true,
                ..Default::default()
            })
            .await
            .unwrap();
        // Reconciling reads everything: the stored cursor is not used.
        assert_eq!(
            script.seen_cursors.lock().unwrap().get("r1/item"),
            Some(&None)
        );
        // Only "x": "a" was listed, "y" was written after the listing began, "z" is of a type
        // no stream read, "w" is deleted already.
        assert_eq!(result.deleted, 1);
        assert_eq!(
            sink.commits(),
            vec![commit(&["a"], Some(json!(1))), commit(&["x"], None)]
        );
    }

    #[tokio::test]
    async fn reconciling_a_partial_run_marks_nothing_deleted() {
        for options in [
            SyncOptions {
                reconcile: true,
                limit: Some(1),
                ..Default::default()
            },
            SyncOptions {
                reconcile: true,
                resources: Some(vec!["r1".into()]),
                ..Default::default()
            },
        ] {
            let sink = Arc::new(VecSink {
                stored: vec![(record("x"), Utc::now() - chrono::Duration::seconds(60))],
                ..Default::default()
            });
            let script = Arc::new(Script::one(vec![rec("a"), rec("b")]));
            let result = engine(&script, &sink).run(options).await.unwrap();
            assert_eq!(result.deleted, 0);
            assert!(!sink.ids().contains(&"x".to_owned()));
        }
    }

    #[tokio::test]
    async fn sync_failure_keeps_what_was_read_and_calls_on_error() {
        let script = Arc::new(Script::one(vec![
            rec("a"),
            cp("r1/item", json!(1)),
            rec("b"),
            Step::Fail(502),
        ]));
        let sink = Arc::new(VecSink::default());
        let err = engine(&script, &sink)
            .run(SyncOptions::default())
            .await
            .unwrap_err();
        assert!(
            matches!(err, ConnectorError::Api { status: 502, .. }),
            "{err}"
        );
        assert_eq!(sink.commits(), vec![commit(&["a", "b"], Some(json!(1)))]);
        let calls = script.calls();
        assert_eq!(calls.last().map(String::as_str), Some("on_error:api"));
        assert!(!calls.iter().any(|c| c.starts_with("on_after_sync")));
    }

    #[tokio::test]
    async fn sync_reports_a_failed_commit_as_a_storage_error() {
        let script = Arc::new(Script::one(vec![rec("a"), cp("r1/item", json!(1))]));
        let sink = Arc::new(VecSink {
            fail_commits: true,
            ..Default::default()
        });
        let err = engine(&script, &sink)
            .run(SyncOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(err, ConnectorError::Storage { .. }), "{err}");
        assert_eq!(
            script.calls().last().map(String::as_str),
            Some("on_error:storage")
        );
    }

    #[tokio::test]
    async fn sync_stops_before_reading_when_authentication_fails() {
        let mut script = Script::one(vec![rec("a")]);
        script.auth_fails = true;
        let script = Arc::new(script);
        let sink = Arc::new(VecSink::default());
        let err = engine(&script, &sink)
            .run(SyncOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(err, ConnectorError::Authentication { .. }));
        assert_eq!(
            script.calls(),
            vec!["authenticate", "on_error:authentication"]
        );
        assert!(sink.commits().is_empty());
    }

    #[tokio::test]
    async fn sync_runs_hooks_in_lifecycle_order() {
        let script = Arc::new(Script::one(vec![rec("a"), rec("b")]));
        let sink = Arc::new(VecSink::default());
        engine(&script, &sink)
            .run(SyncOptions::default())
            .await
            .unwrap();
        assert_eq!(
            script.calls(),
            vec![
                "authenticate",
                "on_before_sync",
                "sync:r1/item",
                "on_after_sync:2"
            ]
        );
    }

    #[tokio::test]
    async fn sync_cancellation_commits_what_was_read_and_returns_cancelled() {
        let token = CancellationToken::new();
        let script = Arc::new(Script::one(vec![
            rec("a"),
            cp("r1/item", json!(1)),
            rec("b"),
            Step::Cancel(token.clone()),
            Step::Pending,
        ]));
        let sink = Arc::new(VecSink::default());
        let err = engine(&script, &sink)
            .cancel_token(token)
            .run(SyncOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(err, ConnectorError::Cancelled { .. }), "{err}");
        assert_eq!(sink.commits(), vec![commit(&["a", "b"], Some(json!(1)))]);
    }

    #[tokio::test(start_paused = true)]
    async fn sync_failing_stream_stops_its_siblings_and_wins_over_their_cancellation() {
        let script = Arc::new(Script::new(vec![
            (
                stream("r1"),
                vec![Step::Sleep(Duration::from_secs(1)), Step::Fail(500)],
            ),
            (stream("r2"), vec![rec("b1"), Step::Pending]),
        ]));
        let sink = Arc::new(VecSink::default());
        let err = engine(&script, &sink)
            .concurrency(2)
            .run(SyncOptions::default())
            .await
            .unwrap_err();
        assert!(
            matches!(err, ConnectorError::Api { status: 500, .. }),
            "{err}"
        );
        assert_eq!(sink.ids(), vec!["b1"]);
    }

    #[tokio::test(start_paused = true)]
    async fn sync_runs_streams_concurrently_up_to_the_bound() {
        let streams = (0..5)
            .map(|i| {
                (
                    stream(&format!("r{i}")),
                    vec![Step::Sleep(Duration::from_secs(1)), rec(&format!("x{i}"))],
                )
            })
            .collect();
        let script = Arc::new(Script::new(streams));
        let sink = Arc::new(VecSink::default());
        let result = engine(&script, &sink)
            .concurrency(2)
            .run(SyncOptions::default())
            .await
            .unwrap();
        assert_eq!(result.records, 5);
        assert_eq!(script.max_active.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn sync_reports_progress_and_events() {
        let script = Arc::new(Script::one(vec![
            Step::Item(SyncItem::TotalHint(3)),
            rec("a"),
            rec("b"),
            cp("r1/item", json!(1)),
            rec("c"),
        ]));
        let sink = Arc::new(VecSink::default());
        let events = Arc::new(Mutex::new(Vec::new()));
        let seen = events.clone();
        let engine = engine(&script, &sink)
            .batch_size(2)
            .on_event(move |e| seen.lock().unwrap().push(e.clone()));
        engine.run(SyncOptions::default()).await.unwrap();
        let progress = engine.context().progress.snapshot();
        assert_eq!(progress.records, 3);
        assert_eq!(progress.total_hint, 3);
        let events: Vec<SyncEvent> = events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| !matches!(e, SyncEvent::Progress(_)))
            .cloned()
            .collect();
        assert_eq!(events.len(), 4, "{events:?}");
        assert!(matches!(&events[0], SyncEvent::StreamStarted { stream } if stream == "r1/item"));
        assert!(matches!(
            &events[1],
            SyncEvent::BatchCommitted {
                records: 2,
                cursor: None,
                ..
            }
        ));
        assert!(matches!(
            &events[2],
            SyncEvent::BatchCommitted { records: 1, cursor: Some(_), progress, .. } if progress.records == 3
        ));
        assert!(matches!(
            &events[3],
            SyncEvent::StreamFinished { records: 3, .. }
        ));
    }

    #[tokio::test]
    async fn sync_stores_a_checkpoint_under_its_streams_name() {
        let script = Arc::new(Script::one(vec![rec("a"), cp("wrong/name", json!(9))]));
        let sink = Arc::new(VecSink::default());
        let result = engine(&script, &sink)
            .run(SyncOptions::default())
            .await
            .unwrap();
        assert_eq!(sink.commits(), vec![commit(&["a"], Some(json!(9)))]);
        assert_eq!(result.cursors.get("r1/item"), Some(&json!(9)));
    }
}
