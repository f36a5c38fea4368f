//! The simulated Jira Cloud site (REST v3 under `/jira/rest/api/3`): projects `ENG`, `OPS` and
//! `DES`, their issues with ADF descriptions, comments and changelog histories, searched by JQL
//! with `nextPageToken` paging, Basic (`email:token`) or bearer auth, burst rate limits in Jira's
//! headers, and HMAC-signed webhooks of every issue and comment change.
//!
//! Behaviour worth knowing: JQL dates are minutes read in the site user's time zone
//! (`Europe/Berlin`, see `GET /myself`), not UTC; `search/jql` has no `total`; the old
//! `/rest/api/{2,3}/search` answers 410 (and is counted by route in the request stats); a
//! comment or a history sets its issue's `updated`.

mod data;
mod jql;
mod render;
mod routes;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use axum::Router;
use serde_json::{Value, json};

use self::data::{Data, PROJECTS, SYNCED};
use self::render::{Templates, View};
use crate::core::auth::{Gate, TokenPolicy};
use crate::core::rate_limit::RateLimitConfig;
use crate::core::rng::{SandboxRng, delivery_seed};
use crate::core::shared::Shared;
use crate::core::time::{Iso, Secs};
use crate::error::SandboxError;
use crate::faults::FaultResponder;
use crate::provider::{Change, ChangeAction, Delivery, Expected, Provider};

/// The simulated Jira Cloud site.
pub struct Jira {
    data: Shared<Data>,
    gate: Gate,
    templates: Templates,
    limit: u64,
    /// Seeds delivery ids (see [`delivery_seed`]).
    deliveries: u64,
}

impl std::fmt::Debug for Jira {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jira")
            .field("gate", &self.gate)
            .finish_non_exhaustive()
    }
}

impl Jira {
    /// Jira data for `seed` at `scale`, accepting `tokens`, limited by `rate_limit`.
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
            limit: rate_limit.limit,
            deliveries: delivery_seed(),
        })
    }

    fn root(base_url: &str) -> String {
        format!("{}/jira", base_url.trim_end_matches('/'))
    }
}

/// The record type the connector gives rows of table `kind`.
fn record_type(kind: &str) -> &'static str {
    match kind {
        "issue" => "issue",
        "comment" => "comment",
        _ => "changelog",
    }
}

/// The events Jira's deliveries are for here (what `webhook_for` sends).
pub const WEBHOOK_EVENTS: [&str; 6] = [
    "jira:issue_created",
    "jira:issue_updated",
    "jira:issue_deleted",
    "comment_created",
    "comment_updated",
    "comment_deleted",
];

impl Provider for Jira {
    fn name(&self) -> &'static str {
        "jira"
    }

    fn router(self: Arc<Self>, mount: &str) -> Router {
        routes::router(self, mount.to_owned())
    }

    fn fault_responder(&self) -> Arc<dyn FaultResponder> {
        Arc::new(routes::JiraFaults { limit: self.limit })
    }

    fn newest_timestamp(&self) -> Secs {
        self.data.read().newest()
    }

    fn mutate(&self, count: usize, at: Secs, rng: &mut SandboxRng) -> Vec<Change> {
        let mut data = self.data.write();
        let touched = data.mutate(count, at, rng);
        touched
            .into_iter()
            .filter_map(|(kind, action, id)| {
                let row = data.table(kind)?.get(id)?;
                let number = (kind == "issue").then(|| row.u64("num"));
                Some(Change {
                    provider: "jira",
                    generation: data.generation,
                    scope: PROJECTS.get(row.scope)?.1.to_owned(),
                    kind,
                    action,
                    id,
                    number,
                    sha: None,
                })
            })
            .collect()
    }

    fn expected(&self) -> Vec<Expected> {
        let data = self.data.read();
        let mut out = Vec::new();
        for (scope, (id, key, _, _)) in PROJECTS.iter().enumerate().take(SYNCED) {
            if let Some(last) = data.last_issue_update(scope) {
                out.push(Expected {
                    scope: (*key).to_owned(),
                    record_type: "project",
                    id: (*id).to_owned(),
                    updated_at: Iso(last),
                    deleted: false,
                });
            }
        }
        for kind in ["issue", "comment", "changelog"] {
            let Some(table) = data.table(kind) else {
                continue;
            };
            for row in table.all().filter(|r| r.scope < SYNCED) {
                // A deleted issue's history entries stay as the connector wrote them: Jira
                // announces the issue's deletion, not theirs (a reconciling sync finds them).
                let deleted = row.deleted.filter(|_| kind != "changelog");
                out.push(Expected {
                    scope: PROJECTS[row.scope].1.to_owned(),
                    record_type: record_type(kind),
                    id: row.id.to_string(),
                    updated_at: Iso(deleted.unwrap_or(row.updated)),
                    deleted: deleted.is_some(),
                });
            }
        }
        out.sort();
        out
    }

    /// Each run reads again the issues changed in the safety window before its cursor (five
    /// minutes, rounded down to the minute), and their comments and history with them; the
    /// newest issues of a project share a minute here, as busy projects' do.
    fn unchanged_extra_requests_per_scope(&self) -> u64 {
        2
    }

    fn connector_config(&self, base_url: &str) -> Value {
        json!({
            "base_url": Self::root(base_url),
            "projects": ["ENG", "OPS"],
            "auth": {"type": "basic", "username": data::SITE_EMAIL,
                     "password": format!("{}-connector", crate::DEFAULT_TOKEN_PREFIX)},
        })
    }

    /// Issue and comment changes get Jira's webhook (REST v2 shapes, as Jira sends them);
    /// changelog histories none of their own (their issue's `jira:issue_updated` carries them).
    fn webhook_for(&self, change: &Change, secret: &str, base_url: &str) -> Option<Delivery> {
        let data = self.data.read();
        let root = Self::root(base_url);
        let view = View {
            root: &root,
            t: &self.templates,
            data: &data,
            api: 2,
        };
        let row = data.table(change.kind)?.get(change.id)?;
        let (event_name, body) = match change.kind {
            "issue" => {
                let at = row.deleted.unwrap_or(row.updated);
                let (event, type_name) = match change.action {
                    ChangeAction::Created => ("jira:issue_created", "issue_created"),
                    ChangeAction::Deleted => ("jira:issue_deleted", "issue_deleted"),
                    ChangeAction::Updated => ("jira:issue_updated", "issue_generic"),
                };
                let history = (change.action == ChangeAction::Updated)
                    .then(|| {
                        data.histories
                            .live()
                            .filter(|h| h.parent == Some(row.id) && h.created == row.updated)
                            .max_by_key(|h| h.id)
                    })
                    .flatten();
                let type_name = match (change.action, history) {
                    (ChangeAction::Updated, None) => "issue_commented",
                    _ => type_name,
                };
                let body = view.hook(event, Some(type_name), row, None, history, at);
                (event, body)
            }
            "comment" => {
                let issue = data.issues.get(row.parent?)?;
                let event = match change.action {
                    ChangeAction::Created => "comment_created",
                    ChangeAction::Updated => "comment_updated",
                    ChangeAction::Deleted => "comment_deleted",
                };
                let at = row.deleted.unwrap_or(row.updated);
                (event, view.hook(event, None, issue, Some(row), None, at))
            }
            _ => return None,
        };
        let body = serde_json::to_vec(&body).ok()?;
        let identifier = change.delivery_rng(self.deliveries).next_u64() >> 1;
        let headers = [
            ("user-agent", "Atlassian Webhook HTTP Client".to_owned()),
            ("x-atlassian-webhook-identifier", identifier.to_string()),
            ("x-atlassian-webhook-retry", "0".to_owned()),
            ("x-atlassian-webhook-flow", "Primary".to_owned()),
            (
                "x-hub-signature",
                crate::webhook::github_signature(secret.as_bytes(), &body),
            ),
        ];
        Some(Delivery::json(
            (event_name, identifier.to_string()),
            body,
            headers,
        ))
    }
}
