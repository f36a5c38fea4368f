//! Background workers: take due events from the inbox, map them to records, store the records,
//! mark the events done; retry failures with backoff and dead-letter them with the reason.
//!
//! One dispatcher task fetches and hands events to at most `workers` processing tasks. It asks
//! the store for only as many events as it has free tasks: stores lease what they return, so
//! an event fetched but left waiting here would be hidden from every other worker until its
//! lease ran out. It also remembers the ids in flight, so an event returned again (a store that
//! does not lease, or a lease that expired mid-processing) is never given to two tasks of this
//! process at once. It wakes on a new event, on a finished task, at the next retry time, and
//! every `poll_interval` (events left by a crash, or appended by another process).
//!
//! Processing tasks map events to records and hand them to one committer task, which stores the
//! records of every event finished meanwhile and marks those events done in one store
//! transaction (`Store::inbox_complete_batch`), then answers each task. A commit costs about as
//! much for one event as for many, so this is what lets workers keep up with ingest. If a shared
//! commit fails, each of its events is committed alone, so an event is only ever charged a
//! failed attempt for its own records. An event whose commit has not happened is still leased,
//! so no other fetch takes it; if the process dies first, it is processed again after the lease
//! (at least once, as always).
//!
//! Ingest comes first: while deliveries queue for the appender, the dispatcher fetches at most
//! once per [`PRESSURE_PAUSE`], so processing slows to a floor rather than competing with
//! acknowledgements for the store's writer.

use std::collections::{HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use futures::FutureExt;
use gwi_core::error::ConnectorError;
use gwi_core::store::{InboxCompletion, InboxEntry, StoreError};
use gwi_core::webhook::{WebhookEvent, headers_from_pairs};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::group_commit::GroupCommit;
use crate::metrics;
use crate::server::Shared;

/// Extra delay after a retry time before fetching, so the store's clock has surely passed it.
const RETRY_SLACK: Duration = Duration::from_millis(10);
/// Most events completed in one store transaction.
const MAX_COMMIT_BATCH: usize = 512;
/// Deliveries waiting in the appender from which ingest counts as under pressure.
const INGEST_PRESSURE: usize = 32;
/// While ingest is under pressure, workers fetch at most once per this long.
const PRESSURE_PAUSE: Duration = Duration::from_millis(100);
/// Longest wait between fetch attempts while the store keeps failing.
const MAX_FETCH_BACKOFF: Duration = Duration::from_secs(30);

/// The running workers; [`shutdown`](Self::shutdown) stops them after their current event.
#[derive(Debug)]
pub struct Workers {
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Workers {
    pub(crate) fn start(shared: Arc<Shared>) -> Self {
        let cancel = CancellationToken::new();
        let task = tokio::spawn(dispatch(shared, cancel.clone()));
        Self { cancel, task }
    }

    /// Stops fetching, waits for in-flight events (up to the configured shutdown timeout) and
    /// returns. Events not finished stay pending in the store for the next start.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        if let Err(join) = self.task.await {
            tracing::error!("webhook dispatcher failed: {join}");
        }
    }
}

/// Stores finished events' records and marks them done, many per store transaction.
type Committer = GroupCommit<InboxCompletion, Result<(), StoreError>>;

/// Why processing one event failed.
struct Failure {
    message: String,
    /// Retrying cannot help (the connector says the error is permanent): dead-letter now.
    permanent: bool,
}

impl Failure {
    fn temporary(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: false,
        }
    }
}

impl From<ConnectorError> for Failure {
    fn from(error: ConnectorError) -> Self {
        Self {
            permanent: !error.is_temporary(),
            message: error.to_string(),
        }
    }
}

async fn dispatch(shared: Arc<Shared>, cancel: CancellationToken) {
    let workers = shared.config.workers;
    if workers == 0 {
        return;
    }
    // Ids being processed by this process.
    let mut in_flight: HashSet<i64> = HashSet::new();
    let mut tasks: JoinSet<Option<Duration>> = JoinSet::new();
    let mut task_ids: HashMap<tokio::task::Id, i64> = HashMap::new();
    let mut next_retry: Option<tokio::time::Instant> = None;
    let mut fetch_failures: u32 = 0;
    let mut last_fetch: Option<tokio::time::Instant> = None;
    let committer = {
        let shared = shared.clone();
        Arc::new(GroupCommit::start(
            &tokio::runtime::Handle::current(),
            MAX_COMMIT_BATCH,
            move |completed| complete(shared.clone(), completed),
        ))
    };

    loop {
        if cancel.is_cancelled() {
            break;
        }
        let mut wait = shared.config.poll_interval;
        let free = workers.saturating_sub(tasks.len());
        // Ingest first: a delivery not yet acknowledged can be lost (providers give up on slow
        // receivers), a stored one only waits. While deliveries queue for the appender, fetch at
        // most once per pause, so processing slows to a floor instead of taking the writer.
        let pressed = shared.appender.backlog() >= INGEST_PRESSURE;
        let paused_until = last_fetch.map(|at| at + PRESSURE_PAUSE);
        let resume_at =
            paused_until.filter(|until| pressed && *until > tokio::time::Instant::now());
        let deferred = resume_at.is_some();
        // Refill once half the tasks are free, not after each one: every fetch is a store round
        // trip, and fetching one event at a time made those round trips the cost of processing.
        if free > 0 && !deferred && (tasks.is_empty() || free * 2 >= workers) {
            last_fetch = Some(tokio::time::Instant::now());
            let limit = u32::try_from(free).unwrap_or(u32::MAX);
            match shared.store.inbox_fetch_pending(limit, &shared.lease).await {
                Ok(entries) => {
                    fetch_failures = 0;
                    for entry in entries {
                        if in_flight.insert(entry.id) {
                            lock_in_flight(&shared).insert(entry.id);
                            let id = entry.id;
                            let handle =
                                tasks.spawn(process(shared.clone(), entry, committer.clone()));
                            task_ids.insert(handle.id(), id);
                        }
                    }
                }
                Err(failure) => {
                    fetch_failures = fetch_failures.saturating_add(1);
                    wait = fetch_backoff(shared.config.poll_interval, fetch_failures);
                    tracing::warn!("webhook workers cannot read the inbox: {failure}");
                }
            }
        }

        let mut wake_at = tokio::time::Instant::now() + wait;
        if let Some(retry) = next_retry {
            wake_at = wake_at.min(retry);
        }
        if let Some(resume) = resume_at {
            wake_at = wake_at.min(resume);
        }
        tokio::select! {
            biased;
            () = cancel.cancelled() => break,
            Some(joined) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                // Reap every task that has finished by now, not just the first.
                let mut joined = Some(joined);
                while let Some(result) = joined {
                    let (task, retry_in) = match result {
                        Ok((task, retry_in)) => (task, retry_in),
                        Err(join) => (join.id(), None),
                    };
                    if let Some(id) = task_ids.remove(&task) {
                        in_flight.remove(&id);
                        lock_in_flight(&shared).remove(&id);
                    }
                    if let Some(retry_in) = retry_in {
                        let at = tokio::time::Instant::now() + retry_in + RETRY_SLACK;
                        next_retry = Some(next_retry.map_or(at, |current| current.min(at)));
                    }
                    joined = tasks.try_join_next_with_id();
                }
            }
            () = shared.wake.notified() => {}
            () = tokio::time::sleep_until(wake_at) => {
                if next_retry.is_some_and(|retry| retry <= tokio::time::Instant::now()) {
                    next_retry = None;
                }
            }
        }
    }

    // Shutting down: finish the events in flight, within the allowed time.
    let draining = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(shared.config.shutdown_timeout, draining)
        .await
        .is_err()
    {
        tracing::warn!(
            abandoned = tasks.len(),
            "shutdown timeout: leaving unfinished webhook events pending for the next start"
        );
        tasks.abort_all();
    }
    // Aborted tasks withdraw nothing already queued: the committer commits it, then ends.
    committer.drain().await;
}

/// Commits finished events in one store transaction; one answer per event, in order.
async fn complete(
    shared: Arc<Shared>,
    completed: Vec<InboxCompletion>,
) -> Vec<Result<(), StoreError>> {
    match shared.store.inbox_complete_batch(&completed).await {
        Ok(()) => completed.iter().map(|_| Ok(())).collect(),
        Err(failure) if completed.len() == 1 => vec![Err(failure)],
        Err(failure) => {
            // Nothing of the batch is stored (or only an unknown entry was refused): find out
            // which events fail on their own, so the others are not charged for them.
            tracing::debug!(
                events = completed.len(),
                "shared webhook commit failed, committing each event alone: {failure}"
            );
            let mut alone = Vec::with_capacity(completed.len());
            for completion in &completed {
                alone.push(
                    shared
                        .store
                        .inbox_complete_batch(std::slice::from_ref(completion))
                        .await,
                );
            }
            alone
        }
    }
}

/// The ids the heartbeat renews: those this dispatcher is processing.
fn lock_in_flight(shared: &Shared) -> std::sync::MutexGuard<'_, HashSet<i64>> {
    shared
        .in_flight
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn fetch_backoff(poll: Duration, failures: u32) -> Duration {
    let doubled = poll
        .checked_mul(1u32 << failures.min(16))
        .unwrap_or(MAX_FETCH_BACKOFF);
    doubled.min(MAX_FETCH_BACKOFF.max(poll))
}

/// Processes one event and records the outcome; returns how long until its retry, if any.
async fn process(
    shared: Arc<Shared>,
    entry: InboxEntry,
    committer: Arc<Committer>,
) -> Option<Duration> {
    let started = Instant::now();
    let InboxEntry {
        id,
        webhook,
        attempts,
        ..
    } = entry;
    let connector = webhook.connector.clone();
    let result = tokio::time::timeout(
        shared.config.processing_timeout,
        AssertUnwindSafe(map_and_store(&shared, id, webhook, &committer)).catch_unwind(),
    )
    .await;
    let result = match result {
        Ok(Ok(result)) => result,
        Ok(Err(_panic)) => Err(Failure::temporary("processing panicked")),
        Err(_) => Err(Failure::temporary(format!(
            "processing took longer than {} s",
            shared.config.processing_timeout.as_secs_f64()
        ))),
    };
    let seconds = started.elapsed().as_secs_f64();

    match result {
        Ok(records) => {
            metrics::processed(&connector, "done", seconds);
            tracing::debug!(id, connector = %connector, records, "webhook event processed");
            None
        }
        Err(failure) => {
            let failures = attempts.saturating_add(1);
            let retry_in = if failure.permanent {
                None
            } else {
                shared.config.retry.backoff_after(failures)
            };
            let retry_at = retry_in.map(|wait| {
                Utc::now() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX)
            });
            let outcome = if retry_at.is_some() { "retry" } else { "dead" };
            metrics::processed(&connector, outcome, seconds);
            if retry_at.is_some() {
                tracing::warn!(
                    id, connector = %connector, attempt = failures,
                    "webhook event failed, will retry: {}", failure.message
                );
            } else {
                tracing::error!(
                    id, connector = %connector, attempt = failures,
                    "webhook event dead-lettered: {}", failure.message
                );
            }
            if let Err(store_failure) = shared
                .store
                .inbox_mark_failed(id, &failure.message, retry_at)
                .await
            {
                tracing::warn!(id, connector = %connector, "cannot record webhook event failure: {store_failure}");
            }
            retry_in
        }
    }
}

/// Has the connector map the event, then stores its records and marks it done through the
/// committer; returns how many records were stored.
async fn map_and_store(
    shared: &Shared,
    id: i64,
    webhook: gwi_core::store::InboundWebhook,
    committer: &Committer,
) -> Result<usize, Failure> {
    let Some(route) = shared.routes.get(&webhook.connector, Some(&webhook.tenant)) else {
        return Err(Failure::temporary(format!(
            "connector {:?} has no tenant {:?} on this server",
            webhook.connector, webhook.tenant
        )));
    };
    let event = WebhookEvent {
        headers: headers_from_pairs(&webhook.headers),
        body: webhook.body,
        connector: webhook.connector,
        tenant: webhook.tenant,
        event_type: webhook.event_type,
        delivery_id: webhook.dedupe_key,
    };
    let records = route
        .connector
        .connector
        .process_webhook(&route.ctx, &event)
        .await?;
    for record in &records {
        if let Err(errors) = record.validate() {
            return Err(ConnectorError::Validation {
                connector: event.connector.clone(),
                errors,
            }
            .into());
        }
    }
    let count = records.len();
    match committer.submit(InboxCompletion { id, records }).await {
        Some(Ok(())) => Ok(count),
        Some(Err(failure)) => Err(Failure::temporary(format!(
            "storing records failed: {failure}"
        ))),
        None => Err(Failure::temporary("the webhook committer has stopped")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetch_backoff_grows_but_stays_capped() {
        let poll = Duration::from_millis(100);
        assert_eq!(fetch_backoff(poll, 1), Duration::from_millis(200));
        assert_eq!(fetch_backoff(poll, 3), Duration::from_millis(800));
        assert_eq!(fetch_backoff(poll, 40), MAX_FETCH_BACKOFF);
        let slow = Duration::from_secs(60);
        assert_eq!(fetch_backoff(slow, 1), slow);
    }
}
