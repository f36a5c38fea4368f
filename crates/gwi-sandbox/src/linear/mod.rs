//! The simulated Linear GraphQL API (`POST /linear/graphql`): one workspace (`Acme`) with teams
//! `ENG`, `OPS` and `DES`, users, workflow states, labels, projects, cycles, issues and comments,
//! answered by the core's GraphQL executor ([`crate::core::graphql`]) over Linear's schema.
//!
//! Behaviour worth knowing: root connections `teams`, `users`, `projects`, `cycles`, `issues`
//! and `comments` (and nested `labels`, `teams`, `comments`, `children`) are Relay connections
//! taking `first` (default 50, 1..=250), `after` (opaque, see [`crate::core::cursor`]),
//! `orderBy: createdAt` (oldest first, the default) or `updatedAt` (newest first),
//! `includeArchived` (default false; deleted rows are never listed) and `filter` (`id`,
//! `createdAt`, `updatedAt` everywhere; `team: {key}` on issues and cycles, `key` on teams,
//! `issue: {team: {key}}` on comments, `accessibleTeams: {some: {key}}` on projects). Every
//! error is HTTP 400 with Linear's `errors` document (`GRAPHQL_PARSE_FAILED`,
//! `GRAPHQL_VALIDATION_FAILED`, `INPUT_ERROR`, `AUTHENTICATION_ERROR`, `RATELIMITED`), except
//! injected 5xx. Rate-limit resets are epoch milliseconds. Webhooks (`Issue`, `Comment`,
//! `Project`, `Cycle`) are signed with `linear-signature: <hex hmac-sha256(secret, body)>`.

mod data;
mod graphql;
mod render;
mod routes;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use serde_json::{Value, json};

use self::data::{Data, Kind, TEAMS, uuid};
use self::render::{Event, Templates};
pub use self::routes::linear_token;
use crate::core::auth::{Gate, TokenPolicy};
use crate::core::rate_limit::RateLimitConfig;
use crate::core::rng::hash_str;
use crate::core::rng::{SandboxRng, delivery_seed};
use crate::core::shared::Shared;
use crate::core::time::{Iso, Secs, now_secs};
use crate::error::SandboxError;
use crate::faults::FaultResponder;
use crate::provider::{Change, ChangeAction, Delivery, Expected, Provider};

/// The simulated Linear workspace.
pub struct Linear {
    data: Shared<Data>,
    gate: Gate,
    templates: Templates,
    seed: u64,
    /// Seeds delivery ids (see [`delivery_seed`]).
    deliveries: u64,
    limit: u64,
    window: Secs,
    /// Complexity budget: window start and points used.
    complexity: Mutex<(Secs, u64)>,
}

impl std::fmt::Debug for Linear {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Linear")
            .field("gate", &self.gate)
            .finish_non_exhaustive()
    }
}

impl Linear {
    /// Linear data for `seed` at `scale`, accepting `tokens`, limited by `rate_limit`.
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
            seed,
            deliveries: delivery_seed(),
            limit: rate_limit.limit,
            window: rate_limit.window.as_secs().max(1) as Secs,
            complexity: Mutex::new((now_secs(), 0)),
        })
    }

    /// Charges `cost` complexity points: the points left and the window's reset (Unix seconds).
    fn charge(&self, cost: u64) -> (u64, Secs) {
        let mut state = self
            .complexity
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let now = now_secs();
        if now >= state.0 + self.window {
            *state = (now, 0);
        }
        state.1 = state.1.saturating_add(cost);
        (
            routes::COMPLEXITY_LIMIT.saturating_sub(state.1),
            state.0 + self.window,
        )
    }
}

fn kind_of(name: &str) -> Option<Kind> {
    [Kind::Issue, Kind::Comment, Kind::Project, Kind::Cycle]
        .into_iter()
        .find(|k| k.record() == name)
}

/// A row's scope in the connector's words: its team key, or `workspace`.
fn scope(kind: Kind, row: &crate::core::table::Row) -> String {
    match kind {
        Kind::Issue | Kind::Cycle | Kind::Comment => {
            TEAMS.get(row.scope).map_or("workspace", |t| t.0).to_owned()
        }
        _ => "workspace".to_owned(),
    }
}

/// Hex HMAC-SHA256 of the raw body, Linear's `linear-signature`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    crate::webhook::hmac_sha256_hex(secret.as_bytes(), &[body])
}

/// The events Linear's deliveries are for here (what `webhook_for` sends).
pub const WEBHOOK_EVENTS: [&str; 4] = ["Issue", "Comment", "Project", "Cycle"];

impl Provider for Linear {
    fn name(&self) -> &'static str {
        "linear"
    }

    fn router(self: Arc<Self>, _mount: &str) -> Router {
        routes::router(self)
    }

    fn fault_responder(&self) -> Arc<dyn FaultResponder> {
        Arc::new(routes::LinearFaults(self.limit))
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
                let row = data.get(kind, id)?;
                Some(Change {
                    provider: "linear",
                    generation: data.generation,
                    scope: scope(kind, row),
                    kind: kind.record(),
                    action,
                    id,
                    number: (kind == Kind::Issue).then(|| row.u64("number")),
                    sha: None,
                })
            })
            .collect()
    }

    fn expected(&self) -> Vec<Expected> {
        let data = self.data.read();
        let kinds = [
            Kind::Team,
            Kind::User,
            Kind::Project,
            Kind::Cycle,
            Kind::Issue,
            Kind::Comment,
        ];
        let mut out: Vec<Expected> = kinds
            .into_iter()
            .flat_map(|kind| {
                data.table(kind).all().map(move |r| Expected {
                    scope: scope(kind, r),
                    record_type: kind.record(),
                    id: r.str("id").to_owned(),
                    updated_at: Iso(r.deleted.unwrap_or(r.updated)),
                    deleted: r.deleted.is_some(),
                })
            })
            .collect();
        out.sort();
        out
    }

    /// Pages of 20 nodes, so a workspace this small still takes several pages per stream, as a
    /// real one does at Linear's largest page.
    fn connector_config(&self, base_url: &str) -> Value {
        json!({
            "base_url": format!("{}/linear", base_url.trim_end_matches('/')),
            "auth": {"type": "api_key", "key": format!("{}-connector", crate::DEFAULT_TOKEN_PREFIX)},
            "page_size": 20,
        })
    }

    /// Every change of an issue, comment, project or cycle gets its delivery; an archive is an
    /// `update` with `archivedAt` set, a deletion a `remove` carrying the record as it was.
    fn webhook_for(&self, change: &Change, secret: &str, _base_url: &str) -> Option<Delivery> {
        let data = self.data.read();
        let kind = kind_of(change.kind)?;
        let row = data.get(kind, change.id)?;
        let at = match change.action {
            ChangeAction::Created => row.created,
            ChangeAction::Updated => row.updated,
            ChangeAction::Deleted => row.deleted?,
        };
        let event = Event {
            kind,
            action: change.action,
            row,
            before: data.previous.get(&change.id),
            at,
        };
        let organization = uuid(self.seed, 0);
        let mut body = self.templates.body(&data, &event, &organization)?;
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let delivery = change.delivery_rng(self.deliveries).uuid();
        let root = body.as_object_mut()?;
        root.insert("webhookTimestamp".into(), json!(now_ms));
        root.insert(
            "webhookId".into(),
            json!(uuid(self.seed ^ hash_str("linear-webhook"), 0)),
        );
        let body = serde_json::to_vec(&body).ok()?;
        let headers = [
            ("linear-event", kind.type_name().to_owned()),
            ("linear-delivery", delivery.clone()),
            ("linear-signature", signature(secret, &body)),
        ];
        Some(Delivery::json((kind.type_name(), delivery), body, headers))
    }
}

#[cfg(test)]
mod tests;
