//! The process's heartbeat: renews every lease it holds in the store (fetched inbox entries,
//! running syncs) a few times per lease, and cancels a sync whose lease it no longer holds.
//!
//! Leases name this process's instance, so a process that dies stops renewing and loses them
//! within one lease (others then take the work over), and a process that starts again under the
//! same instance hands back at once what its previous life held.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::server::Shared;

/// Renewals per lease: one missed heartbeat (a slow store) does not lose a lease.
const BEATS_PER_LEASE: u32 = 3;

/// The running heartbeat; [`stop`](Self::stop) ends it.
pub(crate) struct Heartbeat {
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl Heartbeat {
    /// Starts renewing `shared.lease`'s leases.
    pub(crate) fn start(shared: Arc<Shared>) -> Self {
        let stop = CancellationToken::new();
        let task = tokio::spawn(run(shared, stop.clone()));
        Self { stop, task }
    }

    /// Stops renewing (what is still held is handed back by the caller, or runs out).
    pub(crate) async fn stop(self) {
        self.stop.cancel();
        if let Err(join) = self.task.await {
            tracing::error!("the lease heartbeat failed: {join}");
        }
    }
}

/// How often the heartbeat renews leases lasting `ttl`.
pub(crate) fn interval(ttl: Duration) -> Duration {
    (ttl / BEATS_PER_LEASE).max(Duration::from_millis(10))
}

async fn run(shared: Arc<Shared>, stop: CancellationToken) {
    let every = interval(shared.lease.ttl);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
        match shared.store.renew_leases(&shared.lease).await {
            Ok(held) => {
                let held: HashSet<String> = held.into_iter().collect();
                let running = shared.running.lock().unwrap_or_else(|p| p.into_inner());
                for (name, token) in running.iter() {
                    if !held.contains(name) && !token.is_cancelled() {
                        tracing::warn!(
                            lease = %name,
                            "this process lost the sync's lease (it could not renew it in time): stopping the run, its new holder resumes it"
                        );
                        token.cancel();
                    }
                }
            }
            Err(e) => tracing::warn!("cannot renew this process's leases: {e}"),
        }
    }
}
