//! Group commit: callers queue items and wait; one task takes whatever is queued, commits it
//! with one store call, and answers each caller.
//!
//! A commit costs about as much for one item as for hundreds (with SQLite it is the WAL append
//! on the single writer), so sharing it is what lets the service keep up under load. Nothing
//! waits for a batch to fill: a lone item is committed at once, and a busy queue gathers what
//! arrived while the previous commit ran. Both the inbox appender and the workers' committer
//! are one of these.

use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

type Queued<T, R> = (T, oneshot::Sender<R>);

/// The queue callers submit through; the task behind it runs until [`drain`](Self::drain) or
/// until the handle is dropped.
pub(crate) struct GroupCommit<T, R> {
    queue: mpsc::Sender<Queued<T, R>>,
    /// Items handed to [`submit`](Self::submit) and not yet answered.
    waiting: AtomicUsize,
    closing: CancellationToken,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl<T: Send + 'static, R: Send + 'static> GroupCommit<T, R> {
    /// Starts the committing task on `runtime`. `commit` gets up to `max_batch` items and
    /// returns one answer per item, in order; up to `max_batch` more wait in the queue before
    /// callers wait to enqueue (backpressure).
    pub(crate) fn start<F, Fut>(
        runtime: &tokio::runtime::Handle,
        max_batch: usize,
        commit: F,
    ) -> Self
    where
        F: FnMut(Vec<T>) -> Fut + Send + 'static,
        Fut: Future<Output = Vec<R>> + Send + 'static,
    {
        let (queue, receiver) = mpsc::channel(max_batch);
        let closing = CancellationToken::new();
        let task = runtime.spawn(run(receiver, closing.clone(), max_batch, commit));
        Self {
            queue,
            waiting: AtomicUsize::new(0),
            closing,
            task: Mutex::new(Some(task)),
        }
    }

    /// Queues `item` with whatever else is queued and returns its answer once that commit is
    /// done; `None` if the task has stopped.
    ///
    /// Dropping the future after the item was queued does not withdraw it: it is still committed.
    pub(crate) async fn submit(&self, item: T) -> Option<R> {
        let _waiting = Waiting::new(&self.waiting);
        let (reply, answer) = oneshot::channel();
        self.queue.send((item, reply)).await.ok()?;
        answer.await.ok()
    }

    /// How many items are waiting to be committed or answered.
    pub(crate) fn backlog(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Stops taking items, commits those already queued, and waits for the task to end.
    pub(crate) async fn drain(&self) {
        self.closing.cancel();
        let task = self.task.lock().ok().and_then(|mut task| task.take());
        if let Some(task) = task
            && let Err(join) = task.await
        {
            tracing::error!("group commit task failed: {join}");
        }
    }
}

/// Counts one item as waiting for as long as it lives (also when the caller is dropped).
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

async fn run<T, R, F, Fut>(
    mut receiver: mpsc::Receiver<Queued<T, R>>,
    closing: CancellationToken,
    max_batch: usize,
    mut commit: F,
) where
    F: FnMut(Vec<T>) -> Fut,
    Fut: Future<Output = Vec<R>>,
{
    let mut queued = Vec::with_capacity(max_batch);
    let mut closed = false;
    loop {
        let received = tokio::select! {
            biased;
            () = closing.cancelled(), if !closed => {
                // Refuses new items; those already queued are still received below.
                receiver.close();
                closed = true;
                continue;
            }
            received = receiver.recv_many(&mut queued, max_batch) => received,
        };
        if received == 0 {
            break;
        }
        let (items, replies): (Vec<_>, Vec<_>) = queued.drain(..).unzip();
        for (reply, answer) in replies.into_iter().zip(commit(items).await) {
            // The caller may have given up waiting; its item is committed all the same.
            let _ = reply.send(answer);
        }
    }
}
