//! `TestStore`: a small recording store with switches to make it fail or stall, for the tests
//! that need to look inside the inbox or break the store (the end-to-end tests use the real
//! engines).

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use futures::stream::BoxStream;
use gwi_core::record::ConnectorRecord;
use gwi_core::store::{
    BudgetGrant, InboundWebhook, InboxAppend, InboxBacklog, InboxCompletion, InboxEntry,
    InboxPruned, InboxStatus, LEASE_TTL, Lease, RecordQuery, Scope, Store, StoreError, StreamState,
    SyncRun, UpsertOutcome,
};
use gwi_core::stream::Checkpoint;
use secrecy::SecretString;
use tokio::sync::Semaphore;

#[derive(Default)]
struct State {
    inbox: Vec<Slot>,
    /// (tenant, connector, type, id) -> record.
    records: BTreeMap<String, ConnectorRecord>,
    /// `tenant/connector/dedupe_key` of every inbox entry.
    keys: HashSet<String>,
}

#[derive(Clone)]
struct Slot {
    id: i64,
    tenant: String,
    connector: String,
    dedupe_key: String,
    event_type: String,
    headers: Vec<(String, String)>,
    body: bytes::Bytes,
    received_at: DateTime<Utc>,
    status: String,
    attempts: u32,
    last_error: Option<String>,
    retry_at: Option<DateTime<Utc>>,
}

impl Slot {
    fn entry(&self) -> InboxEntry {
        InboxEntry {
            id: self.id,
            webhook: InboundWebhook {
                tenant: self.tenant.clone(),
                connector: self.connector.clone(),
                dedupe_key: self.dedupe_key.clone(),
                event_type: self.event_type.clone(),
                headers: self.headers.clone(),
                body: self.body.clone(),
                received_at: self.received_at,
            },
            status: match self.status.as_str() {
                "done" => InboxStatus::Done,
                "dead" => InboxStatus::Dead,
                _ => InboxStatus::Pending,
            },
            attempts: self.attempts,
            last_error: self.last_error.clone(),
        }
    }
}

/// An in-memory store that records what it was asked and can be told to fail.
#[derive(Default)]
pub struct TestStore {
    state: Mutex<State>,
    /// Appends answer `Unavailable`.
    pub fail_append: AtomicBool,
    /// `ping` answers `Unavailable`.
    pub fail_ping: AtomicBool,
    /// `inbox_fetch_pending` leases nothing, so in-flight entries are returned again.
    pub no_lease: AtomicBool,
    /// Deliveries handed to the inbox append so far.
    pub append_calls: AtomicUsize,
    /// Size of each batch appended successfully, in order.
    pub batches: Mutex<Vec<usize>>,
    /// When set, each batch append waits for a permit (tests release them to let appends finish).
    gate: Mutex<Option<std::sync::Arc<Semaphore>>>,
    /// A record id whose completion fails the whole batch it is in (nothing of it is stored).
    pub refuse_record: Mutex<Option<String>>,
    /// Number of events in each `inbox_complete_batch` call, in order.
    pub completions: Mutex<Vec<usize>>,
    /// When set, each completion batch waits for a permit.
    complete_gate: Mutex<Option<std::sync::Arc<Semaphore>>>,
}

impl TestStore {
    /// An empty in-memory store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every later batch append wait until the returned semaphore gets permits.
    pub fn hold_appends(&self) -> std::sync::Arc<Semaphore> {
        let gate = std::sync::Arc::new(Semaphore::new(0));
        *self.gate.lock().unwrap() = Some(gate.clone());
        gate
    }

    /// Makes every later completion batch wait until the returned semaphore gets permits.
    pub fn hold_completions(&self) -> std::sync::Arc<Semaphore> {
        let gate = std::sync::Arc::new(Semaphore::new(0));
        *self.complete_gate.lock().unwrap() = Some(gate.clone());
        gate
    }

    /// Every inbox entry, by id.
    pub fn entries(&self) -> Vec<InboxEntry> {
        self.state
            .lock()
            .unwrap()
            .inbox
            .iter()
            .map(Slot::entry)
            .collect()
    }

    /// Every stored record.
    pub fn records(&self) -> Vec<ConnectorRecord> {
        self.state
            .lock()
            .unwrap()
            .records
            .values()
            .cloned()
            .collect()
    }

    fn change<T>(
        &self,
        f: impl FnOnce(&mut State) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut state = self.state.lock().unwrap();
        f(&mut state)
    }
}

/// Upserts `records` for `scope`, newest `updated_at` winning (the later one on ties).
fn upsert(state: &mut State, scope: &Scope, records: &[ConnectorRecord]) -> UpsertOutcome {
    let mut outcome = UpsertOutcome::default();
    for record in records {
        let key = format!(
            "{}/{}/{}/{}",
            scope.tenant, scope.connector, record.record_type, record.id
        );
        match state.records.get(&key) {
            Some(old) if old.updated_at > record.updated_at => outcome.unchanged += 1,
            _ => {
                state.records.insert(key, record.clone());
                outcome.written += 1;
            }
        }
    }
    outcome
}

fn unavailable() -> StoreError {
    StoreError::Unavailable("test store switched off".to_owned())
}

#[async_trait]
impl Store for TestStore {
    async fn commit_batch(
        &self,
        scope: &Scope,
        records: &[ConnectorRecord],
        _checkpoint: Option<&Checkpoint>,
    ) -> Result<UpsertOutcome, StoreError> {
        self.change(|state| Ok(upsert(state, scope, records)))
    }

    async fn load_state(&self, _scope: &Scope) -> Result<Vec<StreamState>, StoreError> {
        Ok(Vec::new())
    }

    async fn reset_state(&self, _scope: &Scope, _stream: Option<&str>) -> Result<u64, StoreError> {
        Ok(0)
    }

    async fn claim_idempotency_key(&self, _key: &str, _ttl: Duration) -> Result<bool, StoreError> {
        Ok(true)
    }

    async fn release_idempotency_key(&self, _key: &str) -> Result<(), StoreError> {
        Ok(())
    }

    async fn inbox_append_batch(
        &self,
        webhooks: &[InboundWebhook],
    ) -> Result<Vec<InboxAppend>, StoreError> {
        self.append_calls
            .fetch_add(webhooks.len(), Ordering::SeqCst);
        let gate = self.gate.lock().unwrap().clone();
        if let Some(gate) = gate {
            gate.acquire().await.map_err(|_| unavailable())?.forget();
        }
        if self.fail_append.load(Ordering::SeqCst) {
            return Err(unavailable());
        }
        self.batches.lock().unwrap().push(webhooks.len());
        self.change(|state| {
            Ok(webhooks
                .iter()
                .map(|webhook| {
                    if !state.keys.insert(format!(
                        "{}/{}/{}",
                        webhook.tenant, webhook.connector, webhook.dedupe_key
                    )) {
                        return InboxAppend::Duplicate;
                    }
                    let id = state.inbox.len() as i64 + 1;
                    state.inbox.push(Slot {
                        id,
                        tenant: webhook.tenant.clone(),
                        connector: webhook.connector.clone(),
                        dedupe_key: webhook.dedupe_key.clone(),
                        event_type: webhook.event_type.clone(),
                        headers: webhook.headers.clone(),
                        body: webhook.body.clone(),
                        received_at: webhook.received_at,
                        status: "pending".to_owned(),
                        attempts: 0,
                        last_error: None,
                        retry_at: None,
                    });
                    InboxAppend::Stored(id)
                })
                .collect())
        })
    }

    /// Leases what it returns for [`LEASE_TTL`], as the real engines do (renewals and holders
    /// are not modelled: the worker tests end well within a lease).
    async fn inbox_fetch_pending(
        &self,
        limit: u32,
        _lease: &Lease,
    ) -> Result<Vec<InboxEntry>, StoreError> {
        let now = Utc::now();
        let lease = !self.no_lease.load(Ordering::SeqCst);
        let lease_span = chrono::Duration::from_std(LEASE_TTL).unwrap();
        self.change(|state| {
            Ok(state
                .inbox
                .iter_mut()
                .filter(|s| s.status == "pending" && s.retry_at.is_none_or(|at| at <= now))
                .take(limit as usize)
                .map(|slot| {
                    if lease {
                        slot.retry_at = Some(now + lease_span);
                    }
                    slot.entry()
                })
                .collect())
        })
    }

    async fn inbox_complete_batch(&self, completed: &[InboxCompletion]) -> Result<(), StoreError> {
        let gate = self.complete_gate.lock().unwrap().clone();
        if let Some(gate) = gate {
            gate.acquire().await.map_err(|_| unavailable())?.forget();
        }
        self.completions.lock().unwrap().push(completed.len());
        let refused = self.refuse_record.lock().unwrap().clone();
        if let Some(refused) = refused
            && completed
                .iter()
                .any(|c| c.records.iter().any(|r| r.id == refused))
        {
            return Err(StoreError::Query(format!("record {refused} refused")));
        }
        self.change(|state| {
            let mut unknown = Ok(());
            for completion in completed {
                match slot(state, completion.id) {
                    Ok(slot) => {
                        slot.status = "done".to_owned();
                        let scope = Scope::new(slot.tenant.clone(), slot.connector.clone());
                        upsert(state, &scope, &completion.records);
                    }
                    Err(e) => unknown = Err(e),
                }
            }
            unknown
        })
    }

    async fn inbox_mark_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        self.change(|state| {
            let slot = slot(state, id)?;
            slot.attempts += 1;
            slot.last_error = Some(error.to_owned());
            slot.retry_at = retry_at;
            if retry_at.is_none() {
                slot.status = "dead".to_owned();
            }
            Ok(())
        })
    }

    async fn inbox_counts(&self) -> Result<Vec<(InboxStatus, u64)>, StoreError> {
        let entries = self.entries();
        Ok([InboxStatus::Pending, InboxStatus::Done, InboxStatus::Dead]
            .into_iter()
            .map(|status| {
                let n = entries.iter().filter(|e| e.status == status).count();
                (status, n as u64)
            })
            .filter(|(_, n)| *n > 0)
            .collect())
    }

    async fn inbox_backlog(&self) -> Result<InboxBacklog, StoreError> {
        let entries = self.entries();
        let count = |status| entries.iter().filter(|e| e.status == status).count() as u64;
        Ok(InboxBacklog {
            pending: count(InboxStatus::Pending),
            dead: count(InboxStatus::Dead),
        })
    }

    async fn inbox_prune(
        &self,
        bodies_before: DateTime<Utc>,
        entries_before: DateTime<Utc>,
    ) -> Result<InboxPruned, StoreError> {
        let mut state = self.state.lock().unwrap();
        let mut pruned = InboxPruned::default();
        state.inbox.retain_mut(|slot| {
            let settled = slot.status != "pending";
            if settled && slot.received_at < entries_before {
                pruned.entries += 1;
                return false;
            }
            if settled && slot.received_at < bodies_before && !slot.body.is_empty() {
                slot.body = bytes::Bytes::new();
                pruned.bodies += 1;
            }
            true
        });
        Ok(pruned)
    }

    async fn save_refresh_token(
        &self,
        _scope: &Scope,
        _token: &SecretString,
    ) -> Result<(), StoreError> {
        Ok(())
    }

    async fn load_refresh_token(&self, _scope: &Scope) -> Result<Option<SecretString>, StoreError> {
        Ok(None)
    }

    fn stream_records<'a>(
        &'a self,
        query: &'a RecordQuery,
    ) -> BoxStream<'a, Result<ConnectorRecord, StoreError>> {
        let prefix = format!("{}/", query.tenant);
        let snapshot: Vec<ConnectorRecord> = self
            .state
            .lock()
            .unwrap()
            .records
            .iter()
            .filter(|(key, _)| key.starts_with(&prefix))
            .map(|(_, record)| record.clone())
            .collect();
        futures::stream::iter(snapshot.into_iter().map(Ok)).boxed()
    }

    async fn count_records(&self, query: &RecordQuery) -> Result<u64, StoreError> {
        Ok(self.query_records(query).await?.len() as u64)
    }

    async fn acquire_lease(&self, _name: &str, _lease: &Lease) -> Result<bool, StoreError> {
        Ok(true)
    }

    async fn renew_leases(
        &self,
        _lease: &Lease,
        _entries: &[i64],
    ) -> Result<Vec<String>, StoreError> {
        Ok(Vec::new())
    }

    async fn leases(&self) -> Result<Vec<(String, String)>, StoreError> {
        Ok(Vec::new())
    }

    async fn release_lease(&self, _name: &str, _holder: &str) -> Result<(), StoreError> {
        Ok(())
    }

    async fn release_leases(&self, _holder: &str) -> Result<u64, StoreError> {
        Ok(0)
    }

    /// Grants everything: the worker tests pace nothing.
    async fn take_budget(
        &self,
        _key: &str,
        want: u32,
        _rate: f64,
        _burst: u32,
    ) -> Result<BudgetGrant, StoreError> {
        Ok(BudgetGrant {
            granted: want,
            ..BudgetGrant::default()
        })
    }

    async fn pause_budget(&self, _key: &str, _wait: Duration) -> Result<(), StoreError> {
        Ok(())
    }

    async fn save_sync_run(&self, _run: &SyncRun) -> Result<(), StoreError> {
        Ok(())
    }

    async fn sync_runs(&self) -> Result<Vec<SyncRun>, StoreError> {
        Ok(Vec::new())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        if self.fail_ping.load(Ordering::SeqCst) {
            Err(unavailable())
        } else {
            Ok(())
        }
    }

    async fn close(&self) {}
}

fn slot(state: &mut State, id: i64) -> Result<&mut Slot, StoreError> {
    state
        .inbox
        .iter_mut()
        .find(|s| s.id == id)
        .ok_or_else(|| StoreError::NotFound(format!("inbox entry {id}")))
}
