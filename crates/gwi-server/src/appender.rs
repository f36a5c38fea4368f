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

/// Appends one batch: one answer per delivery, in order.
async fn append(
    store: Arc<dyn Store>,
    wake: Arc<Notify>,
    webhooks: Vec<InboundWebhook>,
) -> Vec<Appended> {
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
