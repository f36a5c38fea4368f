//! The process's heartbeat: renews every lease it holds in the store (fetched inbox entries,
//! running syncs) a few times per lease, and cancels a sync whose lease it no longer holds.
//!
//! Leases name this process's instance, so a process that dies stops renewing and loses them
//! within one lease (others then take the work over), and a process that starts again under the
//! same instance hands back at once what its previous life held.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::background::Background;
use crate::server::Shared;

/// Renewals per lease: one failed renewal (a slow store) does not lose a lease, and each waits
/// at most one interval, so the next is on time.
const BEATS_PER_LEASE: u32 = 3;

/// Starts renewing `shared.lease`'s leases; stopping it leaves what is still held to be handed
/// back by the caller, or to run out.
pub(crate) fn start(shared: Arc<Shared>) -> Background {
    Background::spawn("lease heartbeat", |stop| run(shared, stop))
}

/// How often the heartbeat renews leases lasting `ttl`.
pub(crate) fn interval(ttl: Duration) -> Duration {
    (ttl / BEATS_PER_LEASE).max(Duration::from_millis(10))
}

async fn run(shared: Arc<Shared>, stop: CancellationToken) {
    let every = interval(shared.lease.ttl);
    // Past this without a successful renewal, another process may already hold a lease of
    // ours: stop the syncs rather than risk running one twice.
    let give_up = shared.lease.ttl.saturating_sub(every);
    let mut last_renewed = tokio::time::Instant::now();
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        // What runs here before asking: a sync claimed meanwhile is not in the answer yet.
        let running: Vec<String> = lock(&shared.running).keys().cloned().collect();
        let entries: Vec<i64> = lock(&shared.in_flight).iter().copied().collect();
        // A slow store must not delay the next beat past the lease.
        let renewed =
            tokio::time::timeout(every, shared.store.renew_leases(&shared.lease, &entries)).await;
        match renewed {
            Ok(Ok(held)) => {
                last_renewed = tokio::time::Instant::now();
                let held: HashSet<String> = held.into_iter().collect();
                let lost: Vec<&String> = running.iter().filter(|n| !held.contains(*n)).collect();
                cancel(
                    &shared,
                    &lost,
                    "this process lost the sync's lease (it could not renew it in time)",
                );
            }
            Ok(Err(e)) => tracing::warn!("cannot renew this process's leases: {e}"),
            Err(_) => tracing::warn!("renewing this process's leases took longer than {every:?}"),
        }
        if last_renewed.elapsed() >= give_up {
            let all: Vec<&String> = running.iter().collect();
            cancel(&shared, &all, "this process cannot renew its leases");
        }
    }
}

/// Cancels the runs of `names` still going here, saying why.
fn cancel(shared: &Shared, names: &[&String], why: &str) {
    let running = lock(&shared.running);
    for name in names {
        if let Some(token) = running.get(*name)
            && !token.is_cancelled()
        {
            tracing::warn!(lease = %name, "{why}: stopping the run; whoever holds the lease next resumes it");
            token.cancel();
        }
    }
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
