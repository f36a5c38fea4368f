//! The service's background tasks (pruning, lease heartbeat, scheduler): each runs until its
//! stop token is cancelled, and stopping waits for it to end.

use std::future::Future;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A running background task; [`stop`](Self::stop) ends it.
pub(crate) struct Background {
    /// What it does, for the log if it fails.
    name: &'static str,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl Background {
    /// Spawns `run` with the token that asks it to stop.
    pub(crate) fn spawn<F, Fut>(name: &'static str, run: F) -> Self
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let stop = CancellationToken::new();
        let task = tokio::spawn(run(stop.clone()));
        Self { name, stop, task }
    }

    /// Asks the task to stop and waits until it has.
    pub(crate) async fn stop(self) {
        self.stop.cancel();
        if let Err(join) = self.task.await {
            tracing::error!("the {} failed: {join}", self.name);
        }
    }
}
