//! Slack objects to [`ConnectorRecord`]s: the one place record ids and `data` fields are decided.
//!
//! | record | id | `updated_at` | `metadata` |
//! |---|---|---|---|
//! | `channel` | the channel id (`C0123456789`) | the newest of `created`, the topic's and the purpose's `last_set`, `updated` | `{}` |
//! | `user` | the user id (`U0123456789`) | `updated` | `team_id` |
//! | `message` | `<channel id>-<ts>` | the newest of `ts`, `edited.ts` and `latest_reply` | `channel_id` |
//!
//! A sync and an event give one message the same row: both carry the fields kept here, in the
//! same shape. Record times are whole seconds, as Slack's other times are; a message's exact
//! `ts` is its id and stays in `data`. A parent's `updated_at` moves with its newest reply, so
//! the row with the newer `reply_count` wins. Deactivated users (`deactivated`, Slack's `deleted`)
//! and archived channels are flags in `data`, never tombstones: Slack keeps listing them, and
//! they can come back. A deleted message becomes a tombstone.

use chrono::{DateTime, SubsecRound, Utc};
use gwi_core::error::ConnectorError;
use gwi_core::record::{ConnectorRecord, Envelope};
use schemars::JsonSchema;
use serde::Serialize;

use super::config::RecordType;
use super::models::{Channel, File, Message, Reaction, User};

/// The `source` of every record, and the connector's name.
pub(crate) const SOURCE: &str = "slack";

/// What the record functions return: a record, or why its fields could not be encoded.
pub(crate) type RecordResult = Result<ConnectorRecord, ConnectorError>;

fn secs(unix: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(unix, 0).unwrap_or_default()
}

fn record(
    record_type: RecordType,
    id: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    data: &impl Serialize,
    metadata: &impl Serialize,
) -> RecordResult {
    Envelope {
        source: SOURCE,
        record_type: record_type.as_str(),
        id,
        created_at: created_at.trunc_subsecs(0),
        updated_at: updated_at.trunc_subsecs(0),
    }
    .encode(data, metadata)
}

/// A message's `data`.
#[derive(Serialize, JsonSchema)]
struct MessageData<'a> {
    channel: &'a str,
    ts: &'a str,
    thread_ts: Option<&'a str>,
    is_reply: bool,
    user: Option<&'a str>,
    bot_id: Option<&'a str>,
    subtype: Option<&'a str>,
    text: &'a str,
    reply_count: Option<u64>,
    latest_reply: Option<&'a str>,
    edited_at: Option<&'a str>,
    edited_by: Option<&'a str>,
    reactions: &'a [Reaction],
    files: &'a [File],
}

#[derive(Serialize)]
struct MessageMetadata<'a> {
    channel_id: &'a str,
}

/// The record id of the message `ts` of `channel`.
pub(crate) fn message_id(channel: &str, ts: &str) -> String {
    format!("{channel}-{ts}")
}

/// The message `message` of `channel`.
pub(crate) fn message(channel: &str, message: &Message) -> RecordResult {
    let data = MessageData {
        channel,
        ts: message.ts.as_str(),
        thread_ts: message.thread_ts.as_ref().map(|t| t.as_str()),
        is_reply: message.is_reply(),
        user: message.user.as_deref(),
        bot_id: message.bot_id.as_deref(),
        subtype: message.subtype.as_deref(),
        text: &message.text,
        reply_count: message.reply_count,
        latest_reply: message.latest_reply.as_ref().map(|t| t.as_str()),
        edited_at: message.edited.as_ref().map(|e| e.ts.as_str()),
        edited_by: message.edited.as_ref().and_then(|e| e.user.as_deref()),
        reactions: &message.reactions,
        files: &message.files,
    };
    record(
        RecordType::Message,
        message_id(channel, message.ts.as_str()),
        message.ts.time(),
        message.changed().time(),
        &data,
        &MessageMetadata {
            channel_id: channel,
        },
    )
}

/// A channel's `data`.
#[derive(Serialize, JsonSchema)]
struct ChannelData<'a> {
    name: Option<&'a str>,
    is_private: bool,
    is_archived: bool,
    is_general: bool,
    is_member: bool,
    creator: Option<&'a str>,
    topic: &'a str,
    purpose: &'a str,
    num_members: Option<u64>,
}

#[derive(Serialize)]
struct NoMetadata {}

/// The channel `channel`.
pub(crate) fn channel(channel: &Channel) -> RecordResult {
    let topic = channel.topic.clone().unwrap_or_default();
    let purpose = channel.purpose.clone().unwrap_or_default();
    let updated = [
        channel.created,
        topic.last_set,
        purpose.last_set,
        channel.updated.map_or(0, |ms| ms.div_euclid(1000)),
    ]
    .into_iter()
    .max()
    .unwrap_or(channel.created);
    let data = ChannelData {
        name: channel.name.as_deref(),
        is_private: channel.is_private,
        is_archived: channel.is_archived,
        is_general: channel.is_general,
        is_member: channel.is_member,
        creator: channel.creator.as_deref(),
        topic: &topic.value,
        purpose: &purpose.value,
        num_members: channel.num_members,
    };
    record(
        RecordType::Channel,
        channel.id.clone(),
        secs(channel.created),
        secs(updated),
        &data,
        &NoMetadata {},
    )
}

/// A user's `data`.
#[derive(Serialize, JsonSchema)]
struct UserData<'a> {
    name: Option<&'a str>,
    real_name: Option<&'a str>,
    display_name: Option<&'a str>,
    title: Option<&'a str>,
    email: Option<&'a str>,
    /// Slack's `deleted`: the account is deactivated (Slack still lists it, and it may come
    /// back); `data.deleted` is gwi's tombstone mark, so the flag has Slack's UI name.
    deactivated: bool,
    is_bot: bool,
    is_admin: bool,
    is_owner: bool,
    is_restricted: bool,
    is_ultra_restricted: bool,
    tz: Option<&'a str>,
}

#[derive(Serialize)]
struct UserMetadata<'a> {
    team_id: Option<&'a str>,
}

/// The user `user`; Slack gives no creation time, so `created_at` is its `updated` too.
pub(crate) fn user(user: &User) -> RecordResult {
    let data = UserData {
        name: user.name.as_deref(),
        real_name: user
            .profile
            .real_name
            .as_deref()
            .or(user.real_name.as_deref()),
        display_name: user.profile.display_name.as_deref(),
        title: user.profile.title.as_deref(),
        email: user.profile.email.as_deref(),
        deactivated: user.deleted,
        is_bot: user.is_bot,
        is_admin: user.is_admin,
        is_owner: user.is_owner,
        is_restricted: user.is_restricted,
        is_ultra_restricted: user.is_ultra_restricted,
        tz: user.tz.as_deref(),
    };
    record(
        RecordType::User,
        user.id.clone(),
        secs(user.updated),
        secs(user.updated),
        &data,
        &UserMetadata {
            team_id: user.team_id.as_deref(),
        },
    )
}

/// Each record type's `data` schema, generated from the struct its records are serialized from.
pub(crate) fn data_schemas() -> Vec<(&'static str, schemars::Schema)> {
    use gwi_core::schema::data_schema;
    vec![
        (
            RecordType::Channel.as_str(),
            data_schema::<ChannelData<'static>>(),
        ),
        (
            RecordType::User.as_str(),
            data_schema::<UserData<'static>>(),
        ),
        (
            RecordType::Message.as_str(),
            data_schema::<MessageData<'static>>(),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slack::models::{ChannelPage, MessagePage, UserPage};

    const HISTORY: &str =
        include_str!("../../tests/fixtures/slack/rest/conversations.history.json");
    const REPLIES: &str =
        include_str!("../../tests/fixtures/slack/rest/conversations.replies.json");
    const CHANNELS: &str = include_str!("../../tests/fixtures/slack/rest/conversations.list.json");
    const USERS: &str = include_str!("../../tests/fixtures/slack/rest/users.list.json");

    #[test]
    fn recorded_messages_become_records_keyed_by_channel_and_ts() {
        let page: MessagePage = serde_json::from_str(HISTORY).unwrap();
        let records: Vec<ConnectorRecord> = page
            .messages
            .iter()
            .map(|m| message("C012AB3CD", m).unwrap())
            .collect();
        assert_eq!(records[0].id, "C012AB3CD-1512085950.000216");
        assert_eq!(
            records[0].updated_at.to_rfc3339(),
            "2017-11-30T23:52:30+00:00"
        );
        let data = records[0].data.to_value();
        assert_eq!(data["ts"], "1512085950.000216");
        assert_eq!(data["user"], "U012AB3CDE");
        assert_eq!(data["is_reply"], false);
        assert_eq!(records[0].metadata.to_value()["channel_id"], "C012AB3CD");
        for record in &records {
            assert!(record.validate().is_ok(), "{record:?}");
        }
    }

    #[test]
    fn a_thread_parent_moves_with_its_newest_reply_and_replies_point_to_it() {
        let page: MessagePage = serde_json::from_str(REPLIES).unwrap();
        let parent = page.messages.first().unwrap();
        let parent_record = message("C1", parent).unwrap();
        let data = parent_record.data.to_value();
        assert!(
            data["reply_count"].as_u64().is_some_and(|n| n > 0),
            "{data}"
        );
        assert_eq!(
            parent_record.updated_at.timestamp(),
            parent.changed().time().timestamp()
        );
        for reply in page.messages.iter().skip(1) {
            let data = message("C1", reply).unwrap().data.to_value();
            assert_eq!(data["is_reply"], true, "{data}");
            assert_eq!(data["thread_ts"], parent.ts.as_str());
        }
    }

    #[test]
    fn recorded_channels_and_users_become_records() {
        let channels: ChannelPage = serde_json::from_str(CHANNELS).unwrap();
        let general = channel(&channels.channels[0]).unwrap();
        assert_eq!(general.id, "C012AB3CD");
        let data = general.data.to_value();
        assert_eq!(data["name"], "general");
        assert_eq!(data["is_archived"], false);
        assert_eq!(
            data["topic"],
            "Company-wide announcements and work-based matters"
        );
        let users: UserPage = serde_json::from_str(USERS).unwrap();
        let spengler = user(&users.members[0]).unwrap();
        assert_eq!(spengler.id, "W012A3CDE");
        let data = spengler.data.to_value();
        assert_eq!(data["real_name"], "Egon Spengler");
        assert_eq!(data["email"], "spengler@ghostbusters.example.com");
        assert_eq!(data["deactivated"], false);
        assert!(!spengler.is_tombstone());
        assert_eq!(spengler.metadata.to_value()["team_id"], "T012AB3C4");
        assert_eq!(spengler.updated_at.timestamp(), 1_502_138_686);
    }
}
