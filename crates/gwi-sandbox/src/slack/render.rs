//! Slack's JSON, rendered from the recorded payloads in `templates/slack/`.

use serde_json::{Value, json};

use super::data::{BOT_ID, CHANNELS, Channel, TEAM_ID, format_ts};
use crate::core::table::Row;
use crate::core::template::Template;
use crate::core::time::Secs;
use crate::error::SandboxError;

/// One template per object shape Slack sends.
#[derive(Debug)]
pub struct Templates {
    pub(super) list: Template,
    channel: Template,
    pub(super) history: Template,
    message: Template,
    pub(super) replies: Template,
    pub(super) users: Template,
    user: Template,
    error: Template,
    envelope: Template,
    authorization: Template,
    changed: Template,
    deleted: Template,
}

macro_rules! template {
    ($file:literal, $pointer:literal) => {
        Template::parse(
            concat!("slack/", $file),
            include_str!(concat!("../../templates/slack/", $file)),
            $pointer,
        )
    };
}

/// The keys of a message row that are the message's own (rendered as they are kept).
const MESSAGE_KEYS: [&str; 14] = [
    "user",
    "text",
    "ts",
    "subtype",
    "bot_id",
    "thread_ts",
    "reply_count",
    "reply_users_count",
    "reply_users",
    "latest_reply",
    "parent_user_id",
    "edited",
    "reactions",
    "files",
];

fn without(mut value: Value, keys: &[&str]) -> Value {
    if let Value::Object(map) = &mut value {
        for key in keys {
            map.remove(*key);
        }
    }
    value
}

impl Templates {
    /// Parses every template (they are compiled in; a failure means a broken build).
    pub fn load() -> Result<Self, SandboxError> {
        Ok(Self {
            list: template!("conversations.list.json", "")?,
            channel: template!("conversations.list.json", "/channels/0")?,
            history: template!("conversations.history.json", "")?,
            message: template!("conversations.history.json", "/messages/0")?,
            replies: template!("conversations.replies.json", "")?,
            users: template!("users.list.json", "")?,
            user: template!("users.list.json", "/members/0")?,
            error: template!("error_ratelimited.json", "")?,
            envelope: template!("event_callback_message.json", "")?,
            authorization: template!("event_callback_message.json", "/authorizations/0")?,
            changed: template!("event_callback_message_changed.json", "/event")?,
            deleted: template!("event_callback_message_deleted.json", "/event")?,
        })
    }

    /// `{"ok": false, "error": <error>}` plus `extra` keys.
    pub fn error(&self, error: &str, extra: &[(&str, &str)]) -> Value {
        let extra: Vec<(String, Value)> = extra
            .iter()
            .map(|(k, v)| (format!("/{k}"), json!(v)))
            .collect();
        let extra = extra.iter().map(|(k, v)| (k.as_str(), v.clone()));
        self.error
            .render([("/error", json!(error))].into_iter().chain(extra))
    }

    /// A channel as `conversations.list` shows it.
    pub fn channel(&self, c: &Channel) -> Value {
        let creator = "U0SBX0001";
        let set_by = |at: Secs| if at > 0 { creator } else { "" };
        self.channel.render([
            ("/id", json!(c.id)),
            ("/name", json!(c.name)),
            ("/name_normalized", json!(c.name)),
            ("/created", json!(c.created)),
            ("/creator", json!(creator)),
            ("/is_channel", json!(!c.private)),
            ("/is_group", json!(c.private)),
            ("/is_private", json!(c.private)),
            ("/is_archived", json!(c.archived)),
            ("/is_general", json!(c.name == "general")),
            ("/is_member", json!(c.member)),
            ("/num_members", json!(if c.private { 4 } else { 10 })),
            ("/topic/value", json!(c.topic.0)),
            ("/topic/last_set", json!(c.topic.1)),
            ("/topic/creator", json!(set_by(c.topic.1))),
            ("/purpose/value", json!(c.purpose.0)),
            ("/purpose/last_set", json!(c.purpose.1)),
            ("/purpose/creator", json!(set_by(c.purpose.1))),
        ])
    }

    /// A message (or reply) as `conversations.history` and `conversations.replies` list it, and
    /// as message events carry it.
    pub fn message(&self, row: &Row) -> Value {
        let fields: Vec<(String, Value)> = MESSAGE_KEYS
            .iter()
            .filter_map(|k| row.fields.get(*k).map(|v| (format!("/{k}"), v.clone())))
            .collect();
        let out = self.message.render(
            [("/team", json!(TEAM_ID))]
                .into_iter()
                .chain(fields.iter().map(|(k, v)| (k.as_str(), v.clone()))),
        );
        if row.fields.contains_key("user") {
            out
        } else {
            without(out, &["user"])
        }
    }

    /// The message as it was before its last edit.
    fn previous(&self, row: &Row) -> Value {
        let mut out = self.message(row);
        let Some(previous) = row.fields.get("_previous") else {
            return out;
        };
        if let Value::Object(map) = &mut out {
            map.insert("text".into(), previous["text"].clone());
            match &previous["edited"] {
                Value::Null => map.remove("edited"),
                edited => map.insert("edited".into(), edited.clone()),
            };
        }
        out
    }

    /// A user as `users.list` shows one (and `user_change` carries it).
    pub fn user(&self, row: &Row) -> Value {
        let bot = row.field("is_bot") == true;
        let (name, real) = (row.str("name"), row.str("real_name"));
        let out = self.user.render([
            ("/id", json!(row.str("id"))),
            ("/team_id", json!(TEAM_ID)),
            ("/name", json!(name)),
            ("/real_name", json!(real)),
            ("/deleted", row.field("deleted")),
            ("/is_bot", json!(bot)),
            ("/is_admin", json!(row.id == 1)),
            ("/updated", json!(row.updated)),
            ("/profile/display_name", json!(name)),
            ("/profile/display_name_normalized", json!(name)),
            ("/profile/real_name", json!(real)),
            ("/profile/real_name_normalized", json!(real)),
            ("/profile/email", json!(row.str("email"))),
            ("/profile/title", json!(row.str("title"))),
            ("/profile/team", json!(TEAM_ID)),
            ("/profile/status_text", json!("")),
            ("/profile/status_emoji", json!("")),
            ("/profile/avatar_hash", json!(format!("g{:011x}", row.id))),
        ]);
        if !bot {
            return out;
        }
        let mut out = out;
        if let Some(profile) = out.get_mut("profile").and_then(Value::as_object_mut) {
            profile.remove("email");
            profile.insert("bot_id".into(), json!(BOT_ID));
        }
        out
    }

    /// The Events API envelope around `event`.
    pub fn envelope(&self, event: Value, event_id: &str, at: Secs, context: &str) -> Value {
        let authorization = self.authorization.render([
            ("/enterprise_id", Value::Null),
            ("/team_id", json!(TEAM_ID)),
            ("/user_id", json!(super::data::BOT_USER)),
            ("/is_bot", json!(true)),
            ("/is_enterprise_install", json!(false)),
        ]);
        let out = self.envelope.render([
            ("/token", json!("gwi-sandbox-verification-token")),
            ("/team_id", json!(TEAM_ID)),
            ("/api_app_id", json!("A0SBXAPP")),
            ("/event", event),
            ("/event_id", json!(event_id)),
            ("/event_time", json!(at)),
            ("/authorizations", json!([authorization])),
            ("/is_ext_shared_channel", json!(false)),
            ("/event_context", json!(context)),
        ]);
        without(out, &["enterprise_id"])
    }

    /// The inner event of a created message or reply.
    pub fn message_event(&self, row: &Row) -> Value {
        let mut event = self.message(row);
        let ts = row.str("ts");
        crate::core::template::set(&mut event, "/channel", json!(channel(row).id));
        crate::core::template::set(&mut event, "/event_ts", json!(ts));
        crate::core::template::set(&mut event, "/channel_type", json!(channel_type(row)));
        event
    }

    /// The inner `message_changed` event of an edit at `at`.
    pub fn changed_event(&self, row: &Row, at: Secs) -> Value {
        let ts = format_ts((at, 0));
        self.changed.render([
            ("/message", self.message(row)),
            ("/previous_message", self.previous(row)),
            ("/channel", json!(channel(row).id)),
            ("/hidden", json!(true)),
            ("/ts", json!(ts)),
            ("/event_ts", json!(ts)),
            ("/channel_type", json!(channel_type(row))),
        ])
    }

    /// The inner `message_deleted` event of a deletion at `at`.
    pub fn deleted_event(&self, row: &Row, at: Secs) -> Value {
        let ts = format_ts((at, 0));
        self.deleted.render([
            ("/previous_message", self.message(row)),
            ("/channel", json!(channel(row).id)),
            ("/hidden", json!(true)),
            ("/deleted_ts", json!(row.str("ts"))),
            ("/ts", json!(ts)),
            ("/event_ts", json!(ts)),
            ("/channel_type", json!(channel_type(row))),
        ])
    }

    /// The inner `user_change` event (no recorded payload: the shape of Slack's docs).
    pub fn user_change_event(&self, row: &Row, at: Secs) -> Value {
        json!({
            "type": "user_change",
            "user": self.user(row),
            "event_ts": format_ts((at, 0)),
            "cache_ts": at,
        })
    }
}

fn channel(row: &Row) -> &'static Channel {
    CHANNELS.get(row.scope).unwrap_or(&CHANNELS[0])
}

/// `channel` for public channels, `group` for private ones.
fn channel_type(row: &Row) -> &'static str {
    if channel(row).private {
        "group"
    } else {
        "channel"
    }
}
