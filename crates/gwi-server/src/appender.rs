//! Group commit for incoming deliveries: one task appends whatever handlers have queued in one
//! store transaction, then answers each of them.
//!
//! A commit costs about as much for one delivery as for hundreds (with SQLite it is the WAL
//! append on the single writer), so sharing it is what lets the service keep up under load.
//! Nothing waits for a batch to fill: an idle server appends a lone delivery at once, and a busy
//! one gathers what arrived while the previous commit ran. Every handler still waits for its own
//! delivery's commit before it answers, so a 2xx still means "durably stored".

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use gwi_core::store::{InboundWebhook, InboxAppend, Store, StoreError};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Most deliveries appended in one transaction.
pub(crate) const MAX_BATCH: usize = 256;
/// Deliveries waiting for the next commit before handlers wait to enqueue (backpressure).
const QUEUE: usize = MAX_BATCH;

/// Why a delivery was not appended.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AppendError {
    /// The store failed the batch the delivery was in.
    #[error("{0}")]
    Store(Arc<StoreError>),
    /// The appender stopped (the server is shutting down) before taking the delivery.
    #[error("the inbox appender has stopped")]
    Stopped,
}

type Reply = oneshot::Sender<Result<InboxAppend, AppendError>>;

/// The handle handlers append through; the task behind it runs until [`drain`](Self::drain)
/// or until every handle is gone.
pub(crate) struct Appender {
    queue: mpsc::Sender<(InboundWebhook, Reply)>,
    /// Deliveries handed to [`append`](Self::append) and not yet answered.
    waiting: AtomicUsize,
    closing: CancellationToken,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Appender {
    /// Starts the appending task on the current Tokio runtime; `wake` is notified after a commit
    /// that stored something.
    pub(crate) fn start(
        runtime: &tokio::runtime::Handle,
        store: Arc<dyn Store>,
        wake: Arc<Notify>,
    ) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE);
        let closing = CancellationToken::new();
        let task = runtime.spawn(run(store, wake, receiver, closing.clone()));
        Self {
            queue,
            waiting: AtomicUsize::new(0),
            closing,
            task: Mutex::new(Some(task)),
        }
    }

    /// Appends `webhook` with whatever else is queued and returns once that commit is done.
    ///
    /// Dropping the future after the delivery was queued does not withdraw it: it is still
    /// appended (a provider's retry then finds it as a duplicate).
    pub(crate) async fn append(&self, webhook: InboundWebhook) -> Result<InboxAppend, AppendError> {
        let _waiting = Waiting::new(&self.waiting);
        let (reply, answer) = oneshot::channel();
        self.queue
            .send((webhook, reply))
            .await
            .map_err(|_| AppendError::Stopped)?;
        answer.await.unwrap_or(Err(AppendError::Stopped))
    }

    /// How many deliveries are waiting to be appended or answered: the ingest backlog that
    /// workers defer to.
    pub(crate) fn backlog(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Stops taking deliveries, appends those already queued, and waits for the task to end.
    pub(crate) async fn drain(&self) {
        self.closing.cancel();
        let task = self.task.lock().ok().and_then(|mut task| task.take());
        if let Some(task) = task
            && let Err(join) = task.await
        {
            tracing::error!("webhook inbox appender failed: {join}");
        }
    }
}

/// Counts one delivery as waiting for as long as it lives (also when the handler is dropped).
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Self(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn run(
    store: Arc<dyn Store>,
    wake: Arc<Notify>,
    mut receiver: mpsc::Receiver<(InboundWebhook, Reply)>,
    closing: CancellationToken,
) {
    let mut queued = Vec::with_capacity(MAX_BATCH);
    let mut closed = false;
    loop {
        let received = tokio::select! {
            biased;
            () = closing.cancelled(), if !closed => {
                // Refuses new deliveries; those already queued are still received below.
                receiver.close();
                closed = true;
                continue;
            }
            received = receiver.recv_many(&mut queued, MAX_BATCH) => received,
        };
        if received == 0 {
            break;
        }
        let (webhooks, replies): (Vec<_>, Vec<_>) = queued.drain(..).unzip();
        // A panicking store fails this batch only; the task keeps serving later ones.
        let appended = AssertUnwindSafe(store.inbox_append_batch(&webhooks))
            .catch_unwind()
            .await
            .unwrap_or_else(|_| Err(StoreError::Query("the inbox append panicked".to_owned())))
            .and_then(|appended| {
                if appended.len() == webhooks.len() {
                    Ok(appended)
                } else {
                    Err(StoreError::Query(format!(
                        "the inbox append returned {} results for {} deliveries",
                        appended.len(),
                        webhooks.len()
                    )))
                }
            });
        match appended {
            Ok(appended) => {
                if appended.iter().any(|a| matches!(a, InboxAppend::Stored(_))) {
                    wake.notify_one();
                }
                for (reply, appended) in replies.into_iter().zip(appended) {
                    // The handler may have timed out; its delivery is stored all the same.
                    let _ = reply.send(Ok(appended));
                }
            }
            Err(failure) => {
                let failure = Arc::new(failure);
                for reply in replies {
                    let _ = reply.send(Err(AppendError::Store(failure.clone())));
                }
            }
        }
    }
}
