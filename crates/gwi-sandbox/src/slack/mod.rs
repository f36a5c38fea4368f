//! The simulated Slack Web API (methods under `/slack/api/<method>`): channels, users, messages
//! and threads of one workspace, paged by body cursors (`response_metadata.next_cursor`), errors
//! as HTTP 200 `{"ok": false, "error": ...}`, bearer or `token` parameter auth, and signed
//! Events API deliveries (`message`, `message_changed`, `message_deleted`, `user_change`).
//!
//! Behaviour worth knowing: `conversations.history` lists top-level messages and thread parents
//! newest first, `oldest`/`latest` are exclusive unless `inclusive`, and timestamps compare as
//! integers; `conversations.replies` puts the parent first on every page. Mutations only touch
//! recent messages (within 3 days of their channel's newest) of member channels that are not
//! archived, and a reply moves its parent's `latest_reply` without a webhook for the parent.

mod data;
mod render;
mod routes;

use std::sync::Arc;

use axum::Router;
use serde_json::{Value, json};

use self::data::{CHANNELS, Data, TEAM_ID, change};
use self::render::Templates;
use crate::core::auth::{Gate, TokenPolicy};
use crate::core::rate_limit::RateLimitConfig;
use crate::core::rng::{SandboxRng, delivery_seed};
use crate::core::shared::Shared;
use crate::core::time::{Iso, Secs, now_secs};
use crate::error::SandboxError;
use crate::faults::FaultResponder;
use crate::provider::{Change, ChangeAction, Delivery, Expected, Provider};

/// The simulated Slack workspace.
pub struct Slack {
    data: Shared<Data>,
    gate: Gate,
    templates: Arc<Templates>,
    /// Seeds delivery ids (see [`delivery_seed`]).
    deliveries: u64,
}

impl std::fmt::Debug for Slack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slack")
            .field("gate", &self.gate)
            .finish_non_exhaustive()
    }
}

impl Slack {
    /// Slack data for `seed` at `scale`, accepting `tokens`, limited by `rate_limit`.
    pub fn new(
        seed: u64,
        scale: u32,
        tokens: TokenPolicy,
        rate_limit: RateLimitConfig,
    ) -> Result<Self, SandboxError> {
        Ok(Self {
            data: Shared::new(Data::generate(seed, scale)),
            gate: Gate::new(tokens, rate_limit),
            templates: Arc::new(Templates::load()?),
            deliveries: delivery_seed(),
        })
    }
}

/// `v0=<hex hmac-sha256(secret, "v0:{timestamp}:{body}")>`, Slack's request signature.
fn signature(secret: &str, timestamp: Secs, body: &[u8]) -> String {
    let base = format!("v0:{timestamp}:");
    let mac = crate::webhook::hmac_sha256_hex(secret.as_bytes(), &[base.as_bytes(), body]);
    format!("v0={mac}")
}

/// The events Slack's deliveries are for here (what `webhook_for` sends).
pub const WEBHOOK_EVENTS: [&str; 2] = ["message", "user_change"];

impl Provider for Slack {
    fn name(&self) -> &'static str {
        "slack"
    }

    fn router(self: Arc<Self>, _mount: &str) -> Router {
        routes::router(self)
    }

    fn fault_responder(&self) -> Arc<dyn FaultResponder> {
        Arc::new(routes::SlackFaults(Arc::clone(&self.templates)))
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
        let mut out: Vec<Expected> = CHANNELS
            .iter()
            .map(|c| Expected {
                scope: TEAM_ID.to_owned(),
                record_type: "channel",
                id: c.id.to_owned(),
                updated_at: Iso(c.updated()),
                deleted: false,
            })
            .collect();
        out.extend(data.users.all().map(|u| Expected {
            scope: TEAM_ID.to_owned(),
            record_type: "user",
            id: u.str("id").to_owned(),
            updated_at: Iso(u.updated),
            deleted: false,
        }));
        out.extend(data.messages.all().filter_map(|m| {
            let channel = CHANNELS.get(m.scope).filter(|c| c.member)?;
            Some(Expected {
                scope: channel.id.to_owned(),
                record_type: "message",
                id: format!("{}-{}", channel.id, m.str("ts")),
                updated_at: Iso(m.deleted.unwrap_or(m.updated)),
                deleted: m.deleted.is_some(),
            })
        }));
        out.sort();
        out
    }

    /// The sandbox limits no method on its own, so the config sets a pace of its own, which
    /// replaces Slack's per-method tiers (about 50 history requests a minute).
    fn connector_config(&self, base_url: &str) -> Value {
        json!({
            "base_url": format!("{}/slack/api", base_url.trim_end_matches('/')),
            "auth": {"type": "bearer", "token": format!("{}-connector", crate::DEFAULT_TOKEN_PREFIX)},
            "http": {"requests_per_second": 1000.0, "burst": 100},
        })
    }

    /// Created, edited and deleted messages get their `message` event, user changes a
    /// `user_change`; a parent bumped by a reply (kind `thread`) gets none.
    fn webhook_for(&self, change: &Change, secret: &str, _base_url: &str) -> Option<Delivery> {
        let data = self.data.read();
        let t = &self.templates;
        let (event, at, event_type) = match (change.kind, change.action) {
            ("user", _) => {
                let row = data.users.get(change.id)?;
                (
                    t.user_change_event(row, row.updated),
                    row.updated,
                    "user_change",
                )
            }
            ("message", action) => {
                let row = data.messages.get(change.id)?;
                match action {
                    ChangeAction::Created => (t.message_event(row), row.created, "message"),
                    ChangeAction::Updated => {
                        (t.changed_event(row, row.updated), row.updated, "message")
                    }
                    ChangeAction::Deleted => {
                        let at = row.deleted?;
                        (t.deleted_event(row, at), at, "message")
                    }
                }
            }
            _ => return None,
        };
        let event_id = format!(
            "Ev0SBX{:013X}",
            change.delivery_rng(self.deliveries).next_u64() >> 12
        );
        let context = format!("1-{event_type}-{TEAM_ID}-{}", change.scope);
        let body = t.envelope(event, &event_id, at, &context);
        let body = serde_json::to_vec(&body).ok()?;
        let timestamp = now_secs();
        let headers = [
            ("x-slack-request-timestamp", timestamp.to_string()),
            ("x-slack-signature", signature(secret, timestamp, &body)),
        ];
        Some(Delivery::json((event_type, event_id), body, headers))
    }
}

#[cfg(test)]
mod tests;
