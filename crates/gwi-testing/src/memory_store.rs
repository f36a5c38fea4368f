//! `MemoryStore`: the whole [`Store`] contract in memory, for tests and examples.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use futures::StreamExt;
use futures::stream::BoxStream;
use gwi_core::record::ConnectorRecord;
use gwi_core::store::{
    BudgetGrant, InboundWebhook, InboxAppend, InboxBacklog, InboxCompletion, InboxEntry,
    InboxPruned, InboxStatus, Lease, RecordQuery, Scope, Store, StoreError, StreamState, SyncRun,
    UpsertOutcome,
};
use gwi_core::stream::Checkpoint;
use secrecy::{ExposeSecret, SecretString};

/// Record key: (tenant, connector, type, id).
type RecordKey = (String, String, String, String);

/// An in-memory [`Store`] that passes the same conformance suite as the database engines.
///
/// One mutex guards everything, so each method is trivially atomic. Timestamps are kept to the
/// microsecond, like the database engines.
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
    failing_record_id: Option<String>,
}

#[derive(Default)]
struct Inner {
    /// Each record with when it was last written.
    records: BTreeMap<RecordKey, (ConnectorRecord, DateTime<Utc>)>,
    state: BTreeMap<(String, String, String), StreamState>,
    claims: HashMap<String, DateTime<Utc>>,
    inbox: BTreeMap<i64, Slot>,
    next_inbox_id: i64,
    tokens: HashMap<(String, String), String>,
    /// Named leases: name -> (holder, expiry).
    leases: BTreeMap<String, (String, DateTime<Utc>)>,
    runs: BTreeMap<(String, String), SyncRun>,
    /// Shared rate budgets: key -> (tokens, refilled at, paused until).
    budgets: HashMap<String, (f64, DateTime<Utc>, DateTime<Utc>)>,
}

struct Slot {
    entry: InboxEntry,
    next_attempt_at: DateTime<Utc>,
    /// The holder of its lease, while one is out.
    leased_by: Option<String>,
    /// Kept when the body is pruned: replays are recognised while the entry lives.
    body_hash: [u8; 32],
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every `commit_batch` that contains a record with this id fail, writing nothing
    /// (to test how callers handle storage failures).
    pub fn fail_commits_with_record_id(mut self, id: impl Into<String>) -> Self {
        self.failing_record_id = Some(id.into());
        self
    }

    /// Number of stored records across all tenants.
    pub fn record_count(&self) -> usize {
        self.lock().records.len()
    }

    /// The injected failure, if `records` holds the record it is for.
    fn refuse_injected(&self, records: &[ConnectorRecord]) -> Result<(), StoreError> {
        match &self.failing_record_id {
            Some(bad) if records.iter().any(|r| r.id == *bad) => Err(StoreError::Query(format!(
                "injected failure for record {bad:?}"
            ))),
            _ => Ok(()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-applied change (each method
        // checks before it mutates), so a poisoned lock is still consistent.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

fn expiry(now: DateTime<Utc>, ttl: Duration) -> Result<DateTime<Utc>, StoreError> {
    chrono::Duration::from_std(ttl)
        .ok()
        .and_then(|ttl| now.checked_add_signed(ttl))
        .ok_or_else(|| StoreError::Query(format!("ttl {ttl:?} is out of range")))
}

fn matches(
    query: &RecordQuery,
    key: &RecordKey,
    (record, written): &(ConnectorRecord, DateTime<Utc>),
) -> bool {
    key.0 == query.tenant
        && query.connector.as_ref().is_none_or(|c| *c == key.1)
        && query.record_type.as_ref().is_none_or(|t| *t == key.2)
        && query
            .updated_since
            .is_none_or(|since| record.updated_at >= micros(since))
        && query.written_before.is_none_or(|before| *written < before)
}

impl Inner {
    /// Upserts `records` for `scope`, newest `updated_at` winning (the later one on ties).
    fn upsert(&mut self, scope: &Scope, records: &[ConnectorRecord]) -> UpsertOutcome {
        let mut outcome = UpsertOutcome::default();
        for record in records {
            let mut record = record.clone();
            record.created_at = micros(record.created_at);
            record.updated_at = micros(record.updated_at);
            let key = (
                scope.tenant.clone(),
                scope.connector.clone(),
                record.record_type.clone(),
                record.id.clone(),
            );
            match self.records.get(&key) {
                Some((stored, _)) if stored.updated_at > record.updated_at => {
                    outcome.unchanged += 1;
                }
                _ => {
                    self.records.insert(key, (record, Utc::now()));
                    outcome.written += 1;
                }
            }
        }
        outcome
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn commit_batch(
        &self,
        scope: &Scope,
        records: &[ConnectorRecord],
        checkpoint: Option<&Checkpoint>,
    ) -> Result<UpsertOutcome, StoreError> {
        self.refuse_injected(records)?;
        let mut inner = self.lock();
        let outcome = inner.upsert(scope, records);
        if let Some(checkpoint) = checkpoint {
            inner.state.insert(
                (
                    scope.tenant.clone(),
                    scope.connector.clone(),
                    checkpoint.stream.clone(),
                ),
                StreamState {
                    stream: checkpoint.stream.clone(),
                    cursor: checkpoint.cursor.clone(),
                    updated_at: micros(Utc::now()),
                },
            );
        }
        Ok(outcome)
    }

    async fn load_state(&self, scope: &Scope) -> Result<Vec<StreamState>, StoreError> {
        Ok(self
            .lock()
            .state
            .iter()
            .filter(|((t, c, _), _)| *t == scope.tenant && *c == scope.connector)
            .map(|(_, s)| s.clone())
            .collect())
    }

    async fn reset_state(&self, scope: &Scope, stream: Option<&str>) -> Result<u64, StoreError> {
        let mut inner = self.lock();
        let before = inner.state.len();
        inner.state.retain(|(t, c, s), _| {
            !(*t == scope.tenant && *c == scope.connector && stream.is_none_or(|x| x == s))
        });
        Ok((before - inner.state.len()) as u64)
    }

    async fn claim_idempotency_key(&self, key: &str, ttl: Duration) -> Result<bool, StoreError> {
        let now = micros(Utc::now());
        let expires = expiry(now, ttl)?;
        let mut inner = self.lock();
        match inner.claims.get(key) {
            Some(until) if *until > now => Ok(false),
            _ => {
                inner.claims.insert(key.to_owned(), expires);
                Ok(true)
            }
        }
    }

    async fn release_idempotency_key(&self, key: &str) -> Result<(), StoreError> {
        self.lock().claims.remove(key);
        Ok(())
    }

    async fn inbox_append_batch(
        &self,
        webhooks: &[InboundWebhook],
    ) -> Result<Vec<InboxAppend>, StoreError> {
        let mut inner = self.lock();
        let now = micros(Utc::now());
        let mut appended = Vec::with_capacity(webhooks.len());
        for webhook in webhooks {
            let body_hash = webhook.body_hash();
            let duplicate = inner.inbox.values().any(|s| {
                s.entry.webhook.tenant == webhook.tenant
                    && s.entry.webhook.connector == webhook.connector
                    && (s.entry.webhook.dedupe_key == webhook.dedupe_key
                        || s.body_hash == body_hash)
            });
            if duplicate {
                appended.push(InboxAppend::Duplicate);
                continue;
            }
            inner.next_inbox_id += 1;
            let id = inner.next_inbox_id;
            let mut webhook = webhook.clone();
            webhook.received_at = micros(webhook.received_at);
            inner.inbox.insert(
                id,
                Slot {
                    entry: InboxEntry {
                        id,
                        webhook,
                        status: InboxStatus::Pending,
                        attempts: 0,
                        last_error: None,
                    },
                    next_attempt_at: now,
                    leased_by: None,
                    body_hash,
                },
            );
            appended.push(InboxAppend::Stored(id));
        }
        Ok(appended)
    }

    async fn inbox_fetch_pending(
        &self,
        limit: u32,
        lease: &Lease,
    ) -> Result<Vec<InboxEntry>, StoreError> {
        let now = micros(Utc::now());
        let lease_end = expiry(now, lease.ttl)?;
        let mut inner = self.lock();
        let mut fetched = Vec::new();
        for slot in inner.inbox.values_mut() {
            if fetched.len() >= limit as usize {
                break;
            }
            if slot.entry.status == InboxStatus::Pending && slot.next_attempt_at <= now {
                slot.next_attempt_at = lease_end;
                slot.leased_by = Some(lease.holder.clone());
                fetched.push(slot.entry.clone());
            }
        }
        Ok(fetched)
    }

    async fn inbox_complete_batch(&self, completed: &[InboxCompletion]) -> Result<(), StoreError> {
        for completion in completed {
            self.refuse_injected(&completion.records)?;
        }
        let mut inner = self.lock();
        let mut unknown = std::collections::HashSet::new();
        for completion in completed {
            let Some(slot) = inner.inbox.get_mut(&completion.id) else {
                unknown.insert(completion.id);
                continue;
            };
            slot.entry.status = InboxStatus::Done;
            let scope = Scope::new(
                slot.entry.webhook.tenant.clone(),
                slot.entry.webhook.connector.clone(),
            );
            inner.upsert(&scope, &completion.records);
        }
        if !unknown.is_empty() {
            return Err(StoreError::NotFound(format!(
                "{} of the inbox entries",
                unknown.len()
            )));
        }
        Ok(())
    }

    async fn inbox_mark_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let slot = inner
            .inbox
            .get_mut(&id)
            .ok_or_else(|| StoreError::NotFound(format!("inbox entry {id}")))?;
        if slot.entry.status != InboxStatus::Pending {
            // Completed or given up meanwhile: that outcome stands.
            return Ok(());
        }
        slot.entry.attempts += 1;
        slot.entry.last_error = Some(error.to_owned());
        slot.leased_by = None;
        match retry_at {
            Some(at) => {
                slot.entry.status = InboxStatus::Pending;
                slot.next_attempt_at = micros(at);
            }
            None => slot.entry.status = InboxStatus::Dead,
        }
        Ok(())
    }

    async fn inbox_counts(&self) -> Result<Vec<(InboxStatus, u64)>, StoreError> {
        let inner = self.lock();
        Ok([InboxStatus::Pending, InboxStatus::Done, InboxStatus::Dead]
            .into_iter()
            .map(|status| {
                let n = inner
                    .inbox
                    .values()
                    .filter(|s| s.entry.status == status)
                    .count();
                (status, n as u64)
            })
            .collect())
    }

    async fn inbox_backlog(&self) -> Result<InboxBacklog, StoreError> {
        let inner = self.lock();
        let count = |status| {
            inner
                .inbox
                .values()
                .filter(|s| s.entry.status == status)
                .count() as u64
        };
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
        let mut inner = self.lock();
        let mut pruned = InboxPruned::default();
        inner.inbox.retain(|_, slot| {
            let settled = slot.entry.status != InboxStatus::Pending;
            let received = slot.entry.webhook.received_at;
            if settled && received < entries_before {
                pruned.entries += 1;
                return false;
            }
            if settled && received < bodies_before && !slot.entry.webhook.body.is_empty() {
                slot.entry.webhook.body = bytes::Bytes::new();
                pruned.bodies += 1;
            }
            true
        });
        Ok(pruned)
    }

    async fn save_refresh_token(
        &self,
        scope: &Scope,
        token: &SecretString,
    ) -> Result<(), StoreError> {
        self.lock().tokens.insert(
            (scope.tenant.clone(), scope.connector.clone()),
            token.expose_secret().to_owned(),
        );
        Ok(())
    }

    async fn load_refresh_token(&self, scope: &Scope) -> Result<Option<SecretString>, StoreError> {
        Ok(self
            .lock()
            .tokens
            .get(&(scope.tenant.clone(), scope.connector.clone()))
            .map(|t| SecretString::from(t.clone())))
    }

    /// A snapshot taken when called, like the SQL engines' single statement.
    fn stream_records<'a>(
        &'a self,
        query: &'a RecordQuery,
    ) -> BoxStream<'a, Result<ConnectorRecord, StoreError>> {
        let inner = self.lock();
        let mut found: Vec<(&RecordKey, &ConnectorRecord)> = inner
            .records
            .iter()
            .filter(|(k, r)| matches(query, k, r))
            .map(|(k, (r, _))| (k, r))
            .collect();
        // Newest first; ties in key order, as the SQL engines do.
        found.sort_by(|a, b| b.1.updated_at.cmp(&a.1.updated_at).then(a.0.cmp(b.0)));
        let limit = query
            .limit
            .map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
        let snapshot: Vec<ConnectorRecord> = found
            .into_iter()
            .take(limit)
            .map(|(_, r)| r.clone())
            .collect();
        futures::stream::iter(snapshot.into_iter().map(Ok)).boxed()
    }

    async fn count_records(&self, query: &RecordQuery) -> Result<u64, StoreError> {
        let inner = self.lock();
        Ok(inner
            .records
            .iter()
            .filter(|(k, r)| matches(query, k, r))
            .count() as u64)
    }

    async fn acquire_lease(&self, name: &str, lease: &Lease) -> Result<bool, StoreError> {
        let now = micros(Utc::now());
        let until = expiry(now, lease.ttl)?;
        let mut inner = self.lock();
        match inner.leases.get(name) {
            Some((holder, expires)) if *holder != lease.holder && *expires > now => Ok(false),
            _ => {
                inner
                    .leases
                    .insert(name.to_owned(), (lease.holder.clone(), until));
                Ok(true)
            }
        }
    }

    async fn renew_leases(
        &self,
        lease: &Lease,
        entries: &[i64],
    ) -> Result<Vec<String>, StoreError> {
        let until = expiry(micros(Utc::now()), lease.ttl)?;
        let mut inner = self.lock();
        for id in entries {
            if let Some(slot) = inner.inbox.get_mut(id)
                && slot.entry.status == InboxStatus::Pending
                && slot.leased_by.as_deref() == Some(lease.holder.as_str())
            {
                slot.next_attempt_at = until;
            }
        }
        let mut held = Vec::new();
        for (name, (holder, expires)) in &mut inner.leases {
            if *holder == lease.holder {
                *expires = until;
                held.push(name.clone());
            }
        }
        Ok(held)
    }

    async fn leases(&self) -> Result<Vec<(String, String)>, StoreError> {
        let now = Utc::now();
        Ok(self
            .lock()
            .leases
            .iter()
            .filter(|(_, (_, expires))| *expires > now)
            .map(|(name, (holder, _))| (name.clone(), holder.clone()))
            .collect())
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if inner.leases.get(name).is_some_and(|(h, _)| h == holder) {
            inner.leases.remove(name);
        }
        Ok(())
    }

    async fn release_leases(&self, holder: &str) -> Result<u64, StoreError> {
        let now = micros(Utc::now());
        let mut inner = self.lock();
        let mut released = 0;
        for slot in inner.inbox.values_mut() {
            if slot.entry.status == InboxStatus::Pending
                && slot.leased_by.as_deref() == Some(holder)
            {
                slot.leased_by = None;
                slot.next_attempt_at = now;
                released += 1;
            }
        }
        let before = inner.leases.len();
        inner.leases.retain(|_, (h, _)| h != holder);
        Ok(released + (before - inner.leases.len()) as u64)
    }

    async fn take_budget(
        &self,
        key: &str,
        want: u32,
        rate: f64,
        burst: u32,
    ) -> Result<BudgetGrant, StoreError> {
        let rate = BudgetGrant::usable_rate(rate);
        let now = Utc::now();
        let mut inner = self.lock();
        let (tokens, refilled_at, paused_until) = inner.budgets.entry(key.to_owned()).or_insert((
            f64::from(burst),
            now,
            DateTime::<Utc>::MIN_UTC,
        ));
        let elapsed = (now - *refilled_at).to_std().unwrap_or_default();
        let available = (*tokens + rate * elapsed.as_secs_f64()).min(f64::from(burst));
        let paused_for = (*paused_until - now).to_std().unwrap_or_default();
        let granted = if paused_for.is_zero() {
            (available.floor().max(0.0) as u32).min(want)
        } else {
            0
        };
        *tokens = available - f64::from(granted);
        *refilled_at = now.max(*refilled_at);
        Ok(BudgetGrant::from_bucket(
            i64::from(granted),
            *tokens,
            rate,
            paused_for,
        ))
    }

    async fn pause_budget(&self, key: &str, wait: Duration) -> Result<(), StoreError> {
        let now = Utc::now();
        let until = expiry(now, wait)?;
        let mut inner = self.lock();
        let (_, _, paused_until) =
            inner
                .budgets
                .entry(key.to_owned())
                .or_insert((0.0, now, DateTime::<Utc>::MIN_UTC));
        *paused_until = (*paused_until).max(until);
        Ok(())
    }

    async fn save_sync_run(&self, run: &SyncRun) -> Result<(), StoreError> {
        let mut run = run.clone();
        run.started_at = micros(run.started_at);
        run.finished_at = run.finished_at.map(micros);
        run.next_run_at = run.next_run_at.map(micros);
        self.lock()
            .runs
            .insert((run.tenant.clone(), run.connector.clone()), run);
        Ok(())
    }

    async fn sync_runs(&self) -> Result<Vec<SyncRun>, StoreError> {
        Ok(self.lock().runs.values().cloned().collect())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Nothing to release: the records live as long as the store.
    async fn close(&self) {}
}
