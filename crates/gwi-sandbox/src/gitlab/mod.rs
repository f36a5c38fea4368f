//! The simulated GitLab (REST v4 under `/gitlab/api/v4`): projects in nested groups, merge
//! requests, issues, notes, pipelines and commits, paged by page number with `Link` and `x-*`
//! headers, `PRIVATE-TOKEN` or bearer auth, `RateLimit-*` headers, and the `X-Gitlab-Token`
//! webhooks of every change.
//!
//! Behaviour worth knowing: a note's creation sets its merge request's or issue's `updated_at`
//! (GitLab touches the noteable), `updated_after`/`since` are inclusive, totals and `rel="last"`
//! are left out above 10,000 rows, and deletions are never made, because GitLab announces none
//! of these objects' deletions to a connector.

mod data;
mod render;
mod routes;

use std::sync::Arc;

use axum::Router;
use serde_json::{Value, json};

use self::data::{Data, PROJECTS, change};
use self::render::{Templates, View};
use crate::core::auth::{Gate, TokenPolicy};
use crate::core::rate_limit::RateLimitConfig;
use crate::core::rng::{SandboxRng, delivery_seed};
use crate::core::shared::Shared;
use crate::core::time::{Iso, Secs};
use crate::error::SandboxError;
use crate::faults::FaultResponder;
use crate::provider::{Change, ChangeAction, Delivery, Expected, Provider};

/// The simulated GitLab instance.
pub struct GitLab {
    data: Shared<Data>,
    gate: Gate,
    templates: Templates,
    /// Seeds delivery ids (see [`delivery_seed`]).
    deliveries: u64,
}

impl std::fmt::Debug for GitLab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitLab")
            .field("gate", &self.gate)
            .finish_non_exhaustive()
    }
}

impl GitLab {
    /// GitLab data for `seed` at `scale`, accepting `tokens`, limited by `rate_limit`.
    pub fn new(
        seed: u64,
        scale: u32,
        tokens: TokenPolicy,
        rate_limit: RateLimitConfig,
    ) -> Result<Self, SandboxError> {
        Ok(Self {
            data: Shared::new(Data::generate(seed, scale)),
            gate: Gate::new(tokens, rate_limit),
            templates: Templates::load()?,
            deliveries: delivery_seed(),
        })
    }

    fn root(base_url: &str) -> String {
        format!("{}/gitlab", base_url.trim_end_matches('/'))
    }
}

/// The record type and id the connector gives the object `id` of table `kind`.
fn record_key(data: &Data, kind: &str, id: u64) -> Option<(&'static str, String)> {
    let row = data.table(kind)?.get(id)?;
    Some(match kind {
        "merge_request" => ("merge_request", format!("mr-{id}")),
        "issue" => ("issue", format!("issue-{id}")),
        "note" => ("note", format!("note-{id}")),
        "pipeline" => ("pipeline", format!("pipeline-{id}")),
        _ => {
            let project = PROJECTS.get(row.scope).map_or(0, |p| p.0);
            ("commit", format!("commit-{project}-{}", row.str("sha")))
        }
    })
}

/// The events GitLab's deliveries are for here (what `webhook_for` sends).
pub const WEBHOOK_EVENTS: [&str; 4] =
    ["Merge Request Hook", "Issue Hook", "Note Hook", "Push Hook"];

impl Provider for GitLab {
    fn name(&self) -> &'static str {
        "gitlab"
    }

    fn router(self: Arc<Self>, mount: &str) -> Router {
        routes::router(self, mount.to_owned())
    }

    fn fault_responder(&self) -> Arc<dyn FaultResponder> {
        Arc::new(routes::GitLabFaults)
    }

    fn newest_timestamp(&self) -> Secs {
        self.data.read().newest()
    }

    fn mutate(&self, count: usize, at: Secs, rng: &mut SandboxRng) -> Vec<Change> {
        let mut data = self.data.write();
        let touched = data.mutate(count, at, rng);
        touched
            .into_iter()
            .filter_map(|(kind, action, id)| change(&data, kind, action, id))
            .collect()
    }

    fn expected(&self) -> Vec<Expected> {
        let data = self.data.read();
        let mut out = Vec::new();
        for kind in ["merge_request", "issue", "note", "pipeline", "commit"] {
            let Some(table) = data.table(kind) else {
                continue;
            };
            for row in table.all() {
                let Some((record_type, id)) = record_key(&data, kind, row.id) else {
                    continue;
                };
                out.push(Expected {
                    scope: PROJECTS.get(row.scope).map_or("", |p| p.1).to_owned(),
                    record_type,
                    id,
                    updated_at: Iso(row.deleted.unwrap_or(row.updated)),
                    deleted: row.deleted.is_some(),
                });
            }
        }
        out.sort();
        out
    }

    /// Nothing beyond one request per stream: the `note` stream's merge request and issue
    /// listings are the answers those streams got in the same run, a project's settings are
    /// stored with the cursors, and the cursor names the items at its own time. The group
    /// listing that finds the group's projects is the one request more (measured: 14 requests
    /// for 15 streams over 3 projects, `/user` included).
    fn unchanged_extra_requests_per_scope(&self) -> u64 {
        0
    }

    fn announces_deletions(&self) -> bool {
        false
    }

    fn connector_config(&self, base_url: &str) -> Value {
        json!({
            "base_url": Self::root(base_url),
            "projects": ["acme/widgets"],
            "groups": ["acme-platform"],
            "auth": {"type": "bearer", "token": format!("{}-connector", crate::DEFAULT_TOKEN_PREFIX)},
        })
    }

    /// Merge request, issue and note changes get their hook; new commits a `Push Hook`.
    /// Pipelines get none here: a `Pipeline Hook` carries no `updated_at`, so it cannot write
    /// the row a sync writes.
    fn webhook_for(&self, change: &Change, secret: &str, base_url: &str) -> Option<Delivery> {
        let data = self.data.read();
        let root = Self::root(base_url);
        let view = View {
            root: &root,
            t: &self.templates,
            data: &data,
        };
        if change.action == ChangeAction::Deleted {
            // GitLab sends no hook when a merge request, issue or note is deleted.
            return None;
        }
        let row = data.table(change.kind)?.get(change.id)?;
        let action = |closed: &'static str| -> &'static str {
            match (change.action, row.str("state")) {
                (ChangeAction::Created, _) => "open",
                (_, "merged") => "merge",
                (_, "closed") => closed,
                _ => "update",
            }
        };
        let (event, body) = match change.kind {
            "merge_request" => (
                "Merge Request Hook",
                view.merge_request_hook(row, action("close")),
            ),
            "issue" => ("Issue Hook", view.issue_hook(row, action("close"))),
            "note" => ("Note Hook", view.note_hook(row)?),
            "commit" => ("Push Hook", view.push_hook(row)),
            _ => return None,
        };
        let body = serde_json::to_vec(&body).ok()?;
        let mut rng = change.delivery_rng(self.deliveries);
        let event_uuid = rng.uuid();
        let headers = [
            ("user-agent", "GitLab/17.6.0".to_owned()),
            ("x-gitlab-event", event.to_owned()),
            ("x-gitlab-token", secret.to_owned()),
            ("x-gitlab-instance", root.clone()),
            ("x-gitlab-webhook-uuid", rng.uuid()),
            ("x-gitlab-event-uuid", event_uuid.clone()),
            ("idempotency-key", event_uuid.clone()),
        ];
        Some(Delivery::json((event, event_uuid), body, headers))
    }
}
