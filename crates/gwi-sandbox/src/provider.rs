//! What a simulated provider plugs into the sandbox: its routes, its error wording for injected
//! faults, its expected record counts and its mutations.

use std::sync::Arc;

use axum::Router;
use serde::Serialize;

use crate::core::rng::{SandboxRng, hash_str};
use crate::core::time::{Iso, Secs};
use crate::faults::FaultResponder;

/// One simulated provider API (GitHub now; GitLab, Jira, Slack, Linear, Google later).
pub trait Provider: Send + Sync + 'static {
    /// Short name used in stats and reports (`"github"`).
    fn name(&self) -> &'static str;
    /// The provider's routes at their real paths, for serving under `mount` (`/gitlab`); the
    /// server nests them there and wraps them in the fault layer.
    fn router(self: Arc<Self>, mount: &str) -> Router;
    /// How the provider words injected 429/403/5xx answers.
    fn fault_responder(&self) -> Arc<dyn FaultResponder>;
    /// The newest timestamp in its data (mutations are stamped after it).
    fn newest_timestamp(&self) -> Secs;
    /// Changes `count` records (updates, sometimes creations), all stamped `at`.
    fn mutate(&self, count: usize, at: Secs, rng: &mut SandboxRng) -> Vec<Change>;
    /// Every record a connector should hold after a full sync, in the connector's words.
    fn expected(&self) -> Vec<Expected>;
    /// The webhook delivery the provider sends for `change`, signed with `secret` the way the
    /// provider signs, its URLs under `base_url` as the API's are; `None` when the provider
    /// sends none for it.
    fn webhook_for(&self, change: &Change, secret: &str, base_url: &str) -> Option<Delivery>;
    /// The connector's config table for this sandbox served at `base_url`: credentials the
    /// sandbox accepts and every resource it serves.
    fn connector_config(&self, base_url: &str) -> serde_json::Value;
    /// Requests per scope beyond one per stream that the connector's sync of an unchanged
    /// upstream may cost (a stream that reads two listings, per-item requests for the items at
    /// the cursor's own time, which inclusive filters list again).
    fn unchanged_extra_requests_per_scope(&self) -> u64 {
        0
    }
    /// Whether the provider tells of the deletions its mutations make, by webhook or in a
    /// listing; `false` when records just vanish (GitLab), which a connector catches only by
    /// reconciling a full read with its store (`gwi sync --reconcile`).
    fn announces_deletions(&self) -> bool {
        true
    }
}

/// A webhook delivery as the provider sends it: headers (signature included) and body.
#[derive(Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The provider's name for the event (`pull_request`, `Merge Request Hook`, `message`).
    pub event: &'static str,
    /// The provider's id of this delivery, the one a redelivery repeats.
    pub id: String,
    /// Header names and values.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
}

/// Header names only: some providers sign by sending the secret itself (GitLab's token).
impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("Delivery")
            .field("event", &self.event)
            .field("id", &self.id)
            .field("headers", &names)
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

impl Delivery {
    /// The delivery `id` of `event`: a JSON `body` with `content-type: application/json` and
    /// the provider's own `headers`.
    pub fn json(
        (event, id): (&'static str, String),
        body: Vec<u8>,
        headers: impl IntoIterator<Item = (&'static str, String)>,
    ) -> Self {
        let headers = std::iter::once(("content-type", "application/json".to_owned()))
            .chain(headers)
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        Self {
            event,
            id,
            headers,
            body,
        }
    }
}

/// One record as a connector stores it: what tests compare a store with, instead of counts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Expected {
    /// Where the record lives (GitHub: `owner/repo`).
    pub scope: String,
    /// The connector's record type (`pull_request`, `comment`, ...).
    pub record_type: &'static str,
    /// The connector's record id (`pr-<id>`, `commit-<sha>`, ...).
    pub id: String,
    /// The `updated_at` the connector's record carries.
    pub updated_at: Iso,
    /// Whether the record is a tombstone (its `updated_at` is then when the deletion happened;
    /// a connector stamps a tombstone when it learns of it, which may be later).
    pub deleted: bool,
}

/// What a mutation did to a record; declared from least to most telling, so the largest of
/// several actions on one record is the one to report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeAction {
    /// An existing record got a new `updated_at`.
    Updated,
    /// A record was created.
    Created,
    /// A record was deleted (the provider lists it no more; a webhook may report it).
    Deleted,
}

impl ChangeAction {
    /// Each `(kind, id)` of `touched` once, with the strongest action done to it (a
    /// record created and then updated in one mutation was created), in `(kind, id)` order.
    pub fn strongest<K: Ord>(touched: Vec<(K, Self, u64)>) -> Vec<(K, Self, u64)> {
        let mut strongest = std::collections::BTreeMap::new();
        for (kind, action, id) in touched {
            let held = strongest.entry((kind, id)).or_insert(action);
            *held = (*held).max(action);
        }
        (strongest.into_iter())
            .map(|((kind, id), action)| (kind, action, id))
            .collect()
    }
}

/// One record a mutation touched.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Change {
    /// Provider name.
    pub provider: &'static str,
    /// Where the record lives (GitHub: `owner/repo`).
    pub scope: String,
    /// Record kind (`issue`, `pull`, `issue_comment`, `review_comment`, `review`, `commit`,
    /// `workflow_run`).
    pub kind: &'static str,
    /// Updated, created or deleted.
    pub action: ChangeAction,
    /// The record's id (GitHub: the id its list endpoint shows, so a pull request's id from
    /// `/pulls`, not its issue id; commits: 0, see `sha`).
    pub id: u64,
    /// Issue or pull request number, where the kind has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<u64>,
    /// Commit sha, for commits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha: Option<String>,
    /// The data generation of the mutation that made it: a delivery for the change derives its
    /// id from it, so one change keeps its id however late its delivery is built.
    #[serde(skip)]
    pub generation: u64,
}

impl Change {
    /// Draws for this change's delivery ids, from `deliveries` (a provider instance's
    /// [`delivery_seed`](crate::core::rng::delivery_seed)): the same for one change however
    /// often its delivery is built, and different for any other change.
    pub fn delivery_rng(&self, deliveries: u64) -> SandboxRng {
        let sha = hash_str(self.sha.as_deref().unwrap_or(""));
        let parts = [
            hash_str(self.kind),
            self.id,
            sha,
            self.generation,
            self.action as u64,
        ];
        SandboxRng::derive(deliveries, "delivery", &parts)
    }
}

/// What `POST /_sandbox/mutate` changed.
#[derive(Debug, Clone, Serialize)]
pub struct MutationReport {
    /// The timestamp every change carries (`updated_at`, or `created_at` for new records); strictly
    /// later than any timestamp served before.
    pub at: Iso,
    /// The same, as Unix seconds.
    pub at_unix: Secs,
    /// Existing records changed.
    pub updated: usize,
    /// Records created.
    pub created: usize,
    /// Records deleted.
    pub deleted: usize,
    /// Every record touched, once each.
    pub changes: Vec<Change>,
}
