//! Events API deliveries to records, through the same transforms a sync uses.
//!
//! `gwi serve` verifies the `v0` signature over the raw body within Slack's 5-minute window,
//! answers `url_verification` (only once verified), and deduplicates by `event_id`, which a
//! retry (`X-Slack-Retry-Num`) repeats. The inner event's `type` decides:
//!
//! | event | records |
//! |---|---|
//! | `message` (posts, replies, bot messages, shares ...) | the message, as history lists it |
//! | `message` / `message_changed` | the message as it is now (an edit, or new reactions and reply counts) |
//! | `message` / `message_replied` | the thread parent as it is now |
//! | `message` / `message_deleted` | a tombstone of the message, stamped when it was deleted |
//! | `user_change` | the user |
//! | `channel_created` | the channel, as a new public channel is |
//! | `channel_rename`, `channel_archive`, `channel_unarchive` (and their `group_` twins for private channels) | the channel as `conversations.info` gives it now: these events name the channel without describing it, and a row built from them would blank the rest |
//! | anything else (`member_joined_channel` too: a channel the bot joins is synced from the next run on) | nothing |
//!
//! Messages of direct messages and of channels the config does not name give nothing, nor do
//! record types the config turns off: webhooks and syncs keep the same set.

use gwi_core::error::ConnectorError;
use gwi_core::record::ConnectorRecord;
use gwi_core::webhook::WebhookEvent;
use serde::Deserialize;
use serde_json::Value;

use gwi_core::http::ApiClient;

use super::config::{RecordType, SlackConfig};
use super::core::{CONVERSATIONS_INFO, SlackApi};
use super::models::{Channel, ChannelInfo, Message, Ts, User};
use super::records::{self, SOURCE};

/// The `event_callback` envelope around one event.
#[derive(Deserialize)]
struct Envelope<E> {
    event: E,
}

/// What every `message` event carries, whatever its subtype.
#[derive(Deserialize)]
struct MessageEvent {
    channel: String,
    #[serde(default)]
    channel_type: Option<String>,
    #[serde(default)]
    subtype: Option<String>,
    /// The message as it is now (`message_changed`, `message_replied`); Slack may leave out its
    /// `ts`, which `previous_message` then gives.
    #[serde(default)]
    message: Option<Value>,
    #[serde(default)]
    previous_message: Option<Message>,
    #[serde(default)]
    deleted_ts: Option<Ts>,
    /// When the event happened (for a deletion, when the message was deleted).
    #[serde(default)]
    ts: Option<Ts>,
    #[serde(default)]
    event_ts: Option<Ts>,
}

#[derive(Deserialize)]
struct UserChange {
    user: User,
}

#[derive(Deserialize)]
struct ChannelCreated {
    channel: Channel,
}

/// A channel event's `channel`: an id (`channel_archive`) or an object with one (`channel_rename`).
#[derive(Deserialize)]
#[serde(untagged)]
enum ChannelRef {
    Id(String),
    Object { id: String },
}

#[derive(Deserialize)]
struct ChannelChanged {
    channel: ChannelRef,
}

/// Maps one verified event to records, reading what a channel event leaves out through `client`.
pub(crate) async fn records_for(
    config: &SlackConfig,
    api: &SlackApi,
    client: &ApiClient,
    event: &WebhookEvent,
) -> Result<Vec<ConnectorRecord>, ConnectorError> {
    match event.event_type.as_str() {
        "channel_rename" | "channel_archive" | "channel_unarchive" | "group_rename"
        | "group_archive" | "group_unarchive"
            if config.syncs_type(RecordType::Channel) =>
        {
            let changed: Envelope<ChannelChanged> = event.decode()?;
            let id = match changed.event.channel {
                ChannelRef::Id(id) | ChannelRef::Object { id } => id,
            };
            let request = api.call(CONVERSATIONS_INFO, &[("channel", id.as_str())]);
            let (_, info) = client.execute_json::<ChannelInfo>(&request).await?;
            Ok(vec![records::channel(&info.channel)?])
        }
        "message" if config.syncs_type(RecordType::Message) => message(config, event),
        "user_change" if config.syncs_type(RecordType::User) => {
            let change: Envelope<UserChange> = event.decode()?;
            Ok(vec![records::user(&change.event.user)?])
        }
        "channel_created" if config.syncs_type(RecordType::Channel) => {
            let created: Envelope<ChannelCreated> = event.decode()?;
            let mut channel = created.event.channel;
            // The event names only the channel; a new channel is public, open and unarchived.
            channel.is_private = false;
            channel.is_archived = false;
            Ok(vec![records::channel(&channel)?])
        }
        other => {
            tracing::debug!(
                connector = SOURCE,
                event = other,
                "event maps to no records (the next sync reads what it changed)"
            );
            Ok(Vec::new())
        }
    }
}

fn message(
    config: &SlackConfig,
    event: &WebhookEvent,
) -> Result<Vec<ConnectorRecord>, ConnectorError> {
    let outer: Envelope<MessageEvent> = event.decode()?;
    let outer = outer.event;
    let direct = matches!(outer.channel_type.as_deref(), Some("im" | "mpim"));
    if direct || !config.syncs_channel(&outer.channel) {
        return Ok(Vec::new());
    }
    let channel = outer.channel.as_str();
    match outer.subtype.as_deref() {
        Some("message_changed" | "message_replied") => {
            let Some(mut now) = outer.message else {
                return Err(event.missing("event.message"));
            };
            if now.get("ts").is_none()
                && let (Value::Object(fields), Some(previous)) = (&mut now, &outer.previous_message)
            {
                fields.insert("ts".to_owned(), Value::String(previous.ts.to_string()));
            }
            let current: Message = event.decode_part("event.message", now)?;
            Ok(vec![records::message(channel, &current)?])
        }
        Some("message_deleted") => {
            let deleted = match (outer.previous_message, outer.deleted_ts) {
                (Some(previous), _) => previous,
                (None, Some(ts)) => {
                    event.decode_part("event.deleted_ts", serde_json::json!({"ts": ts}))?
                }
                (None, None) => return Err(event.missing("event.deleted_ts")),
            };
            let at = outer
                .ts
                .or(outer.event_ts)
                .unwrap_or_else(|| deleted.ts.clone());
            Ok(vec![
                records::message(channel, &deleted)?.into_tombstone(at.time()),
            ])
        }
        _ => {
            let posted: Envelope<Message> = event.decode()?;
            Ok(vec![records::message(channel, &posted.event)?])
        }
    }
}
