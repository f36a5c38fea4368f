//! Group commit for incoming deliveries: one task appends whatever handlers have queued in one
//! store transaction, then answers each of them.
//!
//! Every handler still waits for its own delivery's commit before it answers, so a 2xx still
//! means "durably stored".

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::FutureExt;
use gwi_core::store::{InboundWebhook, InboxAppend, Store, StoreError};
use tokio::sync::Notify;

use crate::group_commit::GroupCommit;

/// Most deliveries appended in one transaction.
const MAX_BATCH: usize = 256;

/// Most body bytes appended in one transaction (a single larger delivery goes alone): a batch
/// of large deliveries is a few bounded transactions, not one that holds the writer and copies
/// hundreds of megabytes.
const MAX_BATCH_BYTES: usize = 8 * 1024 * 1024;

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

type Appended = Result<InboxAppend, AppendError>;

/// The handle handlers append through; the task behind it runs until [`drain`](Self::drain).
pub(crate) struct Appender {
    group: GroupCommit<InboundWebhook, Appended>,
}

impl Appender {
    /// Starts the appending task on `runtime`; `wake` is notified after a commit that stored
    /// something.
    pub(crate) fn start(
        runtime: &tokio::runtime::Handle,
        store: Arc<dyn Store>,
        wake: Arc<Notify>,
    ) -> Self {
        let group = GroupCommit::start(runtime, MAX_BATCH, move |webhooks| {
            append(store.clone(), wake.clone(), webhooks)
        });
        Self { group }
    }

    /// Appends `webhook` with whatever else is queued and returns once that commit is done.
    ///
    /// Dropping the future after the delivery was queued does not withdraw it: it is still
    /// appended (a provider's retry then finds it as a duplicate).
    pub(crate) async fn append(&self, webhook: InboundWebhook) -> Appended {
        self.group
            .submit(webhook)
            .await
            .unwrap_or(Err(AppendError::Stopped))
    }

    /// How many deliveries are waiting to be appended or answered: the ingest backlog that
    /// workers defer to.
    pub(crate) fn backlog(&self) -> usize {
        self.group.backlog()
    }

    /// Stops taking deliveries, appends those already queued, and waits for the task to end.
    pub(crate) async fn drain(&self) {
        self.group.drain().await;
    }
}

/// Appends one batch, in transactions of at most [`MAX_BATCH_BYTES`]: one answer per delivery,
/// in order.
async fn append(
    store: Arc<dyn Store>,
    wake: Arc<Notify>,
    webhooks: Vec<InboundWebhook>,
) -> Vec<Appended> {
    let mut answers = Vec::with_capacity(webhooks.len());
    let mut rest = webhooks.as_slice();
    while !rest.is_empty() {
        let split = byte_bounded_prefix(rest, MAX_BATCH_BYTES);
        let (chunk, tail) = rest.split_at(split);
        answers.extend(append_chunk(&store, &wake, chunk).await);
        rest = tail;
    }
    answers
}

/// How many of `webhooks` (at least one) fit in `max_bytes` of bodies.
fn byte_bounded_prefix(webhooks: &[InboundWebhook], max_bytes: usize) -> usize {
    let mut bytes = 0usize;
    let fitting = webhooks
        .iter()
        .take_while(|webhook| {
            bytes = bytes.saturating_add(webhook.body.len());
            bytes <= max_bytes
        })
        .count();
    fitting.max(1).min(webhooks.len())
}

/// Appends one transaction's deliveries.
async fn append_chunk(
    store: &Arc<dyn Store>,
    wake: &Notify,
    webhooks: &[InboundWebhook],
) -> Vec<Appended> {
    // A panicking store fails this batch only; the task keeps serving later ones.
    let appended = AssertUnwindSafe(store.inbox_append_batch(webhooks))
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
            appended.into_iter().map(Ok).collect()
        }
        Err(failure) => {
            let failure = Arc::new(failure);
            webhooks
                .iter()
                .map(|_| Err(AppendError::Store(failure.clone())))
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use chrono::Utc;

    use super::*;

    fn delivery(bytes: usize) -> InboundWebhook {
        InboundWebhook {
            tenant: "t".to_owned(),
            connector: "c".to_owned(),
            dedupe_key: format!("d-{bytes}"),
            event_type: "e".to_owned(),
            headers: Vec::new(),
            body: Bytes::from(vec![b' '; bytes]),
            received_at: Utc::now(),
        }
    }

    #[test]
    fn batches_are_cut_by_body_bytes_and_a_large_delivery_goes_alone() {
        let batch: Vec<_> = [4, 4, 4, 20, 1].into_iter().map(delivery).collect();
        assert_eq!(byte_bounded_prefix(&batch, 10), 2);
        assert_eq!(byte_bounded_prefix(&batch[2..], 10), 1);
        assert_eq!(
            byte_bounded_prefix(&batch[3..], 10),
            1,
            "larger than the cap, alone"
        );
        assert_eq!(byte_bounded_prefix(&batch[4..], 10), 1);
        assert_eq!(byte_bounded_prefix(&batch, 1000), 5);
    }
}
