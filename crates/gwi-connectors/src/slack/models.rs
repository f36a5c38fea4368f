//! Slack's objects as the Web API and the Events API give them: only the fields gwi keeps.

use std::cmp::Ordering;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A Slack timestamp (`"1512085950.000216"`): when a message was posted and, within its
/// channel, its id. Read as whole seconds and microseconds, compared as those integers, never as
/// a float, and written back exactly as Slack sent it.
#[derive(Debug, Clone)]
pub(crate) struct Ts {
    text: String,
    secs: i64,
    micros: u32,
}

impl Ts {
    /// Parses `secs.micros` (up to six fraction digits, as Slack writes them).
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("{text:?} is not a Slack timestamp such as 1512085950.000216");
        let (secs, fraction) = text.split_once('.').unwrap_or((text, ""));
        if secs.is_empty()
            || secs.len() > 12
            || fraction.len() > 6
            || !secs.bytes().all(|b| b.is_ascii_digit())
            || !fraction.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let secs: i64 = secs.parse().map_err(|_| bad())?;
        let padded = format!("{fraction:0<6}");
        let micros: u32 = padded.parse().map_err(|_| bad())?;
        Ok(Self {
            text: text.to_owned(),
            secs,
            micros,
        })
    }

    /// The timestamp of `time`, to the microsecond, as Slack writes it.
    pub(crate) fn from_time(time: DateTime<Utc>) -> Self {
        let secs = time.timestamp();
        let micros = time.timestamp_subsec_micros().min(999_999);
        Self {
            text: format!("{secs}.{micros:06}"),
            secs,
            micros,
        }
    }

    /// The timestamp as Slack sent it.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// The same instant as a time (exact: both keep microseconds).
    pub(crate) fn time(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.secs, self.micros * 1_000).unwrap_or_default()
    }

    fn key(&self) -> (i64, u32) {
        (self.secs, self.micros)
    }
}

impl PartialEq for Ts {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Ts {}

impl PartialOrd for Ts {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ts {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

impl fmt::Display for Ts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Ts {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl Serialize for Ts {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

/// A message or thread reply (`conversations.history`, `conversations.replies`, events).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Message {
    pub ts: Ts,
    #[serde(default)]
    pub subtype: Option<String>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub bot_id: Option<String>,
    #[serde(default)]
    pub text: String,
    /// The thread's parent: the message's own `ts` on a parent, the parent's on a reply.
    #[serde(default)]
    pub thread_ts: Option<Ts>,
    #[serde(default)]
    pub reply_count: Option<u64>,
    #[serde(default)]
    pub latest_reply: Option<Ts>,
    #[serde(default)]
    pub edited: Option<Edited>,
    #[serde(default)]
    pub reactions: Vec<Reaction>,
    #[serde(default)]
    pub files: Vec<File>,
}

impl Message {
    /// Whether it is a reply in a thread (not the thread's parent).
    pub(crate) fn is_reply(&self) -> bool {
        self.thread_ts.as_ref().is_some_and(|t| *t != self.ts)
    }

    /// When it last changed as far as a listing shows: posted, edited, or replied to.
    pub(crate) fn changed(&self) -> &Ts {
        let mut newest = &self.ts;
        for ts in [
            self.edited.as_ref().map(|e| &e.ts),
            self.latest_reply.as_ref(),
        ]
        .into_iter()
        .flatten()
        {
            newest = newest.max(ts);
        }
        newest
    }
}

/// Who edited a message, and when.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Edited {
    #[serde(default)]
    pub user: Option<String>,
    pub ts: Ts,
}

/// One emoji's reactions on a message.
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
pub(crate) struct Reaction {
    pub name: String,
    #[serde(default)]
    pub count: u64,
    #[serde(default)]
    pub users: Vec<String>,
}

/// A file shared in a message: its metadata only, never its content.
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
pub(crate) struct File {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub mimetype: Option<String>,
    #[serde(default)]
    pub filetype: Option<String>,
    #[serde(default)]
    pub size: Option<u64>,
}

/// A channel (`conversations.list`, `channel_created`).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Channel {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub is_private: bool,
    #[serde(default)]
    pub is_archived: bool,
    #[serde(default)]
    pub is_general: bool,
    #[serde(default)]
    pub is_member: bool,
    #[serde(default)]
    pub created: i64,
    #[serde(default)]
    pub creator: Option<String>,
    #[serde(default)]
    pub topic: Option<Topic>,
    #[serde(default)]
    pub purpose: Option<Topic>,
    #[serde(default)]
    pub num_members: Option<u64>,
    /// Milliseconds since the epoch, in answers that carry it.
    #[serde(default)]
    pub updated: Option<i64>,
}

/// A channel's topic or purpose.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Topic {
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub last_set: i64,
}

/// A member of the workspace (`users.list`, `user_change`).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct User {
    pub id: String,
    #[serde(default)]
    pub team_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub real_name: Option<String>,
    #[serde(default)]
    pub deleted: bool,
    #[serde(default)]
    pub is_bot: bool,
    #[serde(default)]
    pub is_admin: bool,
    #[serde(default)]
    pub is_owner: bool,
    #[serde(default)]
    pub is_restricted: bool,
    #[serde(default)]
    pub is_ultra_restricted: bool,
    #[serde(default)]
    pub tz: Option<String>,
    #[serde(default)]
    pub updated: i64,
    #[serde(default)]
    pub profile: Profile,
}

/// A user's profile; `email` only reaches a token with `users:read.email`.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Profile {
    #[serde(default)]
    pub real_name: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

/// `conversations.list`.
#[derive(Debug, Deserialize)]
pub(crate) struct ChannelPage {
    #[serde(default)]
    pub channels: Vec<Channel>,
}

/// `conversations.info`.
#[derive(Debug, Deserialize)]
pub(crate) struct ChannelInfo {
    pub channel: Channel,
}

/// `conversations.history` and `conversations.replies`.
#[derive(Debug, Deserialize)]
pub(crate) struct MessagePage {
    #[serde(default)]
    pub messages: Vec<Message>,
}

/// `users.list`.
#[derive(Debug, Deserialize)]
pub(crate) struct UserPage {
    #[serde(default)]
    pub members: Vec<User>,
}

/// `auth.test`: who the token is.
#[derive(Debug, Deserialize)]
pub(crate) struct AuthTest {
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub team: Option<String>,
    #[serde(default)]
    pub team_id: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn timestamps_compare_as_integers_and_keep_their_text() {
        let a = Ts::parse("1512085950.000216").unwrap();
        let b = Ts::parse("1512085950.0003").unwrap();
        assert!(a < b, "000216 µs is before 000300 µs");
        assert_eq!(b.as_str(), "1512085950.0003");
        assert_eq!(Ts::parse("1512085950.000300").unwrap(), b);
        assert_eq!(
            a.time().to_rfc3339(),
            "2017-11-30T23:52:30.000216+00:00",
            "no float rounding"
        );
        assert_eq!(Ts::from_time(a.time()), a);
        assert_eq!(Ts::from_time(a.time()).as_str(), "1512085950.000216");
        for bad in ["", ".5", "1.2345678", "-1.5", "1e9", "12a.000001", " 1.0"] {
            assert!(Ts::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_message_changed_when_posted_edited_or_replied_to() {
        let message: Message = serde_json::from_str(
            r#"{"ts":"1700000000.000100","thread_ts":"1700000000.000100","reply_count":2,
                "latest_reply":"1700000500.000001","edited":{"user":"U1","ts":"1700000300.000000"}}"#,
        )
        .unwrap();
        assert_eq!(message.changed().as_str(), "1700000500.000001");
        assert!(!message.is_reply());
        let reply: Message = serde_json::from_str(
            r#"{"ts":"1700000500.000001","thread_ts":"1700000000.000100","text":"ok"}"#,
        )
        .unwrap();
        assert!(reply.is_reply());
        assert_eq!(reply.changed(), &reply.ts);
    }

    proptest! {
        #[test]
        fn any_text_parses_or_is_refused_and_valid_ones_round_trip(text in "\\PC{0,24}", secs in 0i64..99_999_999_999, micros in 0u32..1_000_000) {
            let _ = Ts::parse(&text);
            let written = format!("{secs}.{micros:06}");
            let ts = Ts::parse(&written).unwrap();
            prop_assert_eq!(ts.as_str(), written.as_str());
            prop_assert_eq!(Ts::from_time(ts.time()), ts);
        }
    }
}
