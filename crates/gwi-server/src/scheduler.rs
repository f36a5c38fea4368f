//! Scheduled syncs: each connector and tenant with a `schedule` is synced by `gwi serve`, by one
//! process at a time however many share the store.
//!
//! One task looks at the schedule every `tick` (and whenever a run ends). A sync is due when it
//! never ran, when its last run did not finish (its process stopped or died: the run resumes
//! from its last committed checkpoint), or when its schedule says so after the last run's start,
//! plus a jitter that spreads processes and syncs. A due sync runs only in the process that
//! takes its lease (`sync:{connector}:{tenant}`) from the store; the lease is renewed by the
//! process's heartbeat ([`crate::leases`]), and a run whose lease was lost (the process stalled
//! past it and another took over) is cancelled. A process runs at most `max_syncs` at once, so
//! processes sharing a store share the syncs too. The latest run of each sync is kept in the
//! store, for the schedule of every process and for `gwi status`.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use gwi_core::error::ConnectorError;
use gwi_core::schedule::Schedule;
use gwi_core::store::{Scope, SyncRun};
use gwi_core::stream::SyncOptions;
use gwi_core::sync::SyncEngine;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::background::Background;
use crate::metrics;
use crate::server::Shared;

/// One scheduled sync of this server.
#[derive(Debug, Clone)]
struct Job {
    scope: Scope,
    schedule: Schedule,
    /// The store lease that makes one process at a time run it.
    lease: String,
}

impl Job {
    /// When this job is next due, given its latest run anywhere; `None` when never again.
    fn due(&self, last: Option<&SyncRun>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let Some(last) = last else {
            return Some(now);
        };
        if last.finished_at.is_none() {
            // Running elsewhere (its lease says so), or cut short: resume it.
            return Some(now);
        }
        let due = self.schedule.next_after(last.started_at)?;
        Some(due + self.jitter(last.started_at, due))
    }

    /// The same delay in every process for one run, so they agree on when it is due.
    fn jitter(&self, previous: DateTime<Utc>, due: DateTime<Utc>) -> chrono::Duration {
        let span = self.schedule.jitter_span(due).as_millis();
        if span == 0 {
            return chrono::Duration::zero();
        }
        let mut hasher = std::hash::DefaultHasher::new();
        (&self.lease, previous.timestamp_micros()).hash(&mut hasher);
        let millis = u128::from(hasher.finish()) % span;
        chrono::Duration::milliseconds(i64::try_from(millis).unwrap_or(0))
    }
}

/// Starts scheduling the syncs of every route with a schedule; `None` when none has one.
///
/// Stopping it cancels the runs in progress (they commit their complete batches, are recorded
/// as not finished and hand back their leases, so another process resumes them at once).
pub(crate) fn start(shared: Arc<Shared>) -> Option<Background> {
    let jobs: Vec<Job> = shared
        .routes
        .iter()
        .filter_map(|((connector, tenant), route)| {
            let schedule = route.connector.common.schedule.clone()?;
            Some(Job {
                scope: Scope::new(tenant.clone(), connector.clone()),
                schedule,
                lease: gwi_core::store::sync_lease_name(connector, tenant),
            })
        })
        .collect();
    if jobs.is_empty() {
        return None;
    }
    for job in &jobs {
        tracing::info!(
            connector = %job.scope.connector, tenant = %job.scope.tenant,
            schedule = %job.schedule, "sync scheduled"
        );
    }
    Some(Background::spawn("sync scheduler", |stop| {
        run(shared, jobs, stop)
    }))
}

async fn run(shared: Arc<Shared>, jobs: Vec<Job>, stop: CancellationToken) {
    let tick = shared.config.schedule_tick;
    let mut running: JoinSet<()> = JoinSet::new();
    let mut busy: HashMap<tokio::task::Id, String> = HashMap::new();
    loop {
        let mut wake = tick;
        match shared.store.sync_runs().await {
            Ok(runs) => {
                let now = Utc::now();
                let last: HashMap<&Scope, SyncRun> = HashMap::new();
                let last = runs.iter().fold(last, |mut map, run| {
                    if let Some(job) = jobs.iter().find(|j| {
                        j.scope.tenant == run.tenant && j.scope.connector == run.connector
                    }) {
                        map.insert(&job.scope, run.clone());
                    }
                    map
                });
                let in_progress: HashSet<&String> = busy.values().collect();
                let mut start = Vec::new();
                for job in &jobs {
                    if in_progress.contains(&job.lease) {
                        continue;
                    }
                    let Some(due) = job.due(last.get(&job.scope), now) else {
                        continue;
                    };
                    match (due - now).to_std() {
                        Ok(wait) if !wait.is_zero() => wake = wake.min(wait),
                        _ => start.push(job.clone()),
                    }
                }
                for job in start {
                    // Beyond its share, a process leaves due syncs to the others.
                    if busy.len() >= shared.config.max_syncs {
                        break;
                    }
                    if let Some(token) = claim(&shared, &job).await {
                        let name = job.lease.clone();
                        let handle = running.spawn(run_once(shared.clone(), job, token));
                        busy.insert(handle.id(), name);
                    }
                }
            }
            Err(e) => tracing::warn!("cannot read the sync schedule from the store: {e}"),
        }
        tokio::select! {
            () = stop.cancelled() => break,
            Some(done) = running.join_next_with_id(), if !running.is_empty() => {
                let id = match done {
                    Ok((id, ())) => id,
                    Err(join) => join.id(),
                };
                busy.remove(&id);
            }
            () = tokio::time::sleep(wake) => {}
        }
    }
    for token in shared
        .running
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .values()
    {
        token.cancel();
    }
    // A hung store must not hold shutdown: what is left runs out with its lease.
    let finishing = async { while running.join_next().await.is_some() {} };
    if tokio::time::timeout(shared.config.shutdown_timeout, finishing)
        .await
        .is_err()
    {
        tracing::warn!(
            "shutdown timeout: leaving scheduled syncs unrecorded; their leases run out"
        );
        running.abort_all();
    }
}

/// Takes the job's lease if it is still due once held (another process may have run it
/// meanwhile); returns the token that cancels its run.
async fn claim(shared: &Shared, job: &Job) -> Option<CancellationToken> {
    match shared.store.acquire_lease(&job.lease, &shared.lease).await {
        Ok(true) => {}
        Ok(false) => return None,
        Err(e) => {
            tracing::warn!(lease = %job.lease, "cannot take the sync's lease: {e}");
            return None;
        }
    }
    let still_due = match shared.store.sync_runs().await {
        Ok(runs) => {
            let last = runs
                .into_iter()
                .find(|r| r.tenant == job.scope.tenant && r.connector == job.scope.connector);
            let now = Utc::now();
            job.due(last.as_ref(), now).is_some_and(|due| due <= now)
        }
        Err(e) => {
            tracing::warn!("cannot read the sync schedule from the store: {e}");
            false
        }
    };
    if !still_due {
        release(shared, &job.lease).await;
        return None;
    }
    let token = CancellationToken::new();
    shared
        .running
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(job.lease.clone(), token.clone());
    Some(token)
}

async fn release(shared: &Shared, lease: &str) {
    if let Err(e) = shared
        .store
        .release_lease(lease, &shared.lease.holder)
        .await
    {
        tracing::warn!(
            lease,
            "cannot hand back the sync's lease (it runs out by itself): {e}"
        );
    }
}

/// Runs the job's sync once, recording it in the store before and after.
async fn run_once(shared: Arc<Shared>, job: Job, token: CancellationToken) {
    let Scope { tenant, connector } = &job.scope;
    let Some(route) = shared.routes.get(connector, Some(tenant)) else {
        // Jobs come from the routes, so this does not happen; leave nothing held if it does.
        shared
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&job.lease);
        release(&shared, &job.lease).await;
        return;
    };
    let started_at = Utc::now();
    let mut record = SyncRun {
        tenant: tenant.clone(),
        connector: connector.clone(),
        holder: shared.lease.holder.clone(),
        started_at,
        finished_at: None,
        records: 0,
        error: None,
        next_run_at: None,
    };
    if let Err(e) = shared.store.save_sync_run(&record).await {
        tracing::warn!(connector = %connector, tenant = %tenant, "cannot record the sync's start: {e}");
    }
    tracing::info!(connector = %connector, tenant = %tenant, holder = %record.holder, "scheduled sync started");
    let engine = SyncEngine::new(
        route.connector.connector.clone(),
        route.ctx.clone(),
        shared.store.clone(),
    )
    .cancel_token(token.clone());
    let outcome = engine.run(SyncOptions::default()).await;
    let finished = Utc::now();
    shared
        .running
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&job.lease);
    // Still ours? A lease lost to another process leaves the record to the new holder.
    match shared.store.acquire_lease(&job.lease, &shared.lease).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(connector = %connector, tenant = %tenant, "the sync's lease was taken over; its new holder resumes it");
            return;
        }
        Err(e) => {
            tracing::warn!(connector = %connector, tenant = %tenant, "cannot confirm the sync's lease, leaving its record: {e}");
            return;
        }
    }
    match &outcome {
        Ok(result) => {
            record.records = result.records;
            record.finished_at = Some(finished);
            tracing::info!(
                connector = %connector, tenant = %tenant, records = result.records,
                seconds = result.duration.as_secs_f64(), "scheduled sync finished"
            );
        }
        Err(ConnectorError::Cancelled { .. }) => {
            record.error = Some("stopped before the end; resumed from its last checkpoint".into());
            tracing::info!(connector = %connector, tenant = %tenant, "scheduled sync stopped; it resumes from its last checkpoint");
        }
        Err(e) => {
            record.finished_at = Some(finished);
            record.error = Some(e.to_string());
            tracing::warn!(connector = %connector, tenant = %tenant, "scheduled sync failed: {e}");
        }
    }
    if record.finished_at.is_some() {
        record.next_run_at = job.due(Some(&record), finished);
    }
    metrics::sync_run(&job.scope, &record);
    if let Err(e) = shared.store.save_sync_run(&record).await {
        tracing::warn!(connector = %connector, tenant = %tenant, "cannot record the sync's end: {e}");
    }
    release(&shared, &job.lease).await;
}
