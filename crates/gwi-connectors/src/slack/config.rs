//! The Slack connector's typed config.

use std::fmt;

use gwi_core::config::{ValidateConfig, check_types, repeated};
use gwi_core::error::FieldError;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Slack's Web API; every method is `{base_url}/{method}`.
pub const DEFAULT_BASE_URL: &str = "https://slack.com/api";

/// Days an incremental run reads back from a channel's newest message, unless configured.
const DEFAULT_LOOKBACK_DAYS: u16 = 7;

/// The most `lookback_days` allows: past that, re-reading costs more than a full sync is worth.
const MAX_LOOKBACK_DAYS: u16 = 365;

/// The Slack connector's own settings in `[connectors.slack]`, beside the common ones (`auth`:
/// `bearer` with a bot token `xoxb-…`, or `oauth2` with token rotation, whose `token_url` is
/// `https://slack.com/api/oauth.v2.access`; `webhook_secret` or `webhook`, the app's signing
/// secret for the Events API).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct SlackConfig {
    /// Channels whose messages are synced, by id (`C0123456789`); omit for every channel the
    /// bot is a member of, found again at the start of every sync.
    #[serde(default)]
    pub channels: Option<Vec<ChannelId>>,
    /// Record types to sync; omit for all of them.
    #[serde(default)]
    pub types: Option<Vec<RecordType>>,
    /// How many days before a channel's newest stored message each incremental run reads
    /// again, to pick up edits and new replies in threads started in that time (Slack moves
    /// neither a message's `ts` nor its thread's). 0 reads only newer messages, leaving edits
    /// and late replies to the Events API.
    #[serde(default = "default_lookback_days")]
    #[schemars(range(max = 365))]
    pub lookback_days: u16,
    /// How fast Slack lets this app read message history: `standard` for internal apps and
    /// Marketplace apps (about 50 requests a minute per method), `limited` for other
    /// commercially distributed apps, which Slack allows one `conversations.history` or
    /// `conversations.replies` request a minute of at most 15 messages since 2025.
    #[serde(default)]
    pub rate_tier: RateTier,
}

fn default_lookback_days() -> u16 {
    DEFAULT_LOOKBACK_DAYS
}

impl ValidateConfig for SlackConfig {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let Some(channels) = &self.channels {
            if channels.is_empty() {
                errors.push(FieldError::new(
                    "channels",
                    "list at least one channel id, or omit `channels` for every channel the bot is in",
                ));
            }
            for (i, channel) in channels.iter().enumerate() {
                if let Err(problem) = ChannelId::parse(channel.as_str()) {
                    errors.push(FieldError::new(format!("channels[{i}]"), problem));
                }
            }
            errors.extend(repeated("channels", channels, Clone::clone));
        }
        errors.extend(check_types(self.types.as_deref()));
        if self.lookback_days > MAX_LOOKBACK_DAYS {
            errors.push(FieldError::new(
                "lookback_days",
                format!(
                    "{} days is more than {MAX_LOOKBACK_DAYS}; use `gwi sync --full-refresh` to read everything again",
                    self.lookback_days
                ),
            ));
        }
        errors
    }
}

impl SlackConfig {
    /// The record types this config enables, in sync order.
    pub fn enabled_types(&self) -> Vec<RecordType> {
        RecordType::enabled(self.types.as_deref())
    }

    /// Whether this config syncs `record_type`.
    pub(crate) fn syncs_type(&self, record_type: RecordType) -> bool {
        self.enabled_types().contains(&record_type)
    }

    /// Whether this config names `channel` (every channel when it names none: the bot's
    /// channels are what Slack sends events of).
    pub(crate) fn syncs_channel(&self, channel: &str) -> bool {
        self.channels
            .as_ref()
            .is_none_or(|channels| channels.iter().any(|c| c.as_str() == channel))
    }
}

gwi_core::record_types! {
    /// A record type the Slack connector produces.
    pub enum RecordType {
        /// Public channels, and private ones the bot is in (`<channel id>`), archived ones flagged.
        Channel = "channel",
        /// Users of the workspace (`<user id>`), deactivated ones flagged.
        User = "user",
        /// Messages and thread replies (`<channel id>-<ts>`).
        Message = "message",
    }
}

/// How the app is distributed, which sets Slack's limit on reading history.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RateTier {
    /// Internal and Marketplace apps: Tier 3 history, about 50 requests a minute.
    #[default]
    Standard,
    /// Other commercially distributed apps: one history request a minute, 15 messages each.
    Limited,
}

/// Whether `text` is a Slack conversation id: `C` (channels) or `G` (older private channels),
/// then upper-case letters and digits.
fn is_channel_id(text: &str) -> bool {
    let mut chars = text.chars();
    matches!(chars.next(), Some('C' | 'G'))
        && (8..=20).contains(&text.len())
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// A channel by its id (`C0123456789`); names change, ids do not. The form is checked by
/// [`SlackConfig`]'s validation, whose refusal says how to find a channel's id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct ChannelId(String);

impl ChannelId {
    /// Parses a channel id, refusing anything else (a `#name` above all).
    pub fn parse(text: &str) -> Result<Self, String> {
        if is_channel_id(text) {
            Ok(Self(text.to_owned()))
        } else if text.starts_with('#') || text.chars().any(|c| c.is_ascii_lowercase()) {
            Err(format!(
                "{text:?} looks like a channel name; give its id (C0123456789), shown in the channel's details in Slack"
            ))
        } else {
            Err(format!("{text:?} is not a Slack channel id (C0123456789)"))
        }
    }

    /// The id as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gwi_core::config::parse_connector;
    use serde_json::json;

    use crate::slack::SlackConnector;
    use gwi_core::registry::ConnectorDefinition;

    fn parse(config: serde_json::Value) -> Result<SlackConfig, String> {
        parse_connector::<SlackConfig>(&SlackConnector::metadata(), config)
            .map(|config| config.own)
            .map_err(|e| e.to_string())
    }

    fn auth() -> serde_json::Value {
        json!({"type": "bearer", "token": "env:PATH"})
    }

    #[test]
    fn the_documented_config_parses_with_its_defaults() {
        let config = parse(json!({
            "channels": ["C0123456789"],
            "types": ["channel", "message", "user"],
            "auth": auth(),
            "webhook_secret": "env:HOME",
        }))
        .unwrap();
        assert_eq!(config.lookback_days, DEFAULT_LOOKBACK_DAYS);
        assert_eq!(config.rate_tier, RateTier::Standard);
        assert!(config.syncs_channel("C0123456789") && !config.syncs_channel("C0000000000"));
        let all = parse(json!({"auth": auth(), "rate_tier": "limited"})).unwrap();
        assert_eq!(all.enabled_types(), RecordType::ALL);
        assert!(all.syncs_channel("C0000000000"));
        assert_eq!(all.rate_tier, RateTier::Limited);
    }

    #[test]
    fn refusals_name_the_field() {
        for (config, field) in [
            (json!({"channels": ["#general"]}), "channels[0]"),
            (json!({"channels": []}), "channels"),
            (
                json!({"channels": ["C0123456789", "C0123456789"]}),
                "channels[1]",
            ),
            (json!({"types": ["message", "message"]}), "types[1]"),
            (json!({"types": ["reaction"]}), "types"),
            (json!({"lookback_days": 400}), "lookback_days"),
            (json!({"rate_tier": "fast"}), "rate_tier"),
            (json!({"channel": ["C0123456789"]}), "channel"),
        ] {
            let mut config = config;
            config["auth"] = auth();
            let err = parse(config.clone()).expect_err(&config.to_string());
            assert!(err.contains(field), "{config}: {err}");
        }
        let err = parse(json!({"channels": ["#general"], "auth": auth()})).unwrap_err();
        assert!(err.contains("give its id"), "{err}");
    }
}
