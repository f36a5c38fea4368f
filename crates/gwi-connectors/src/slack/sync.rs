//! Sync: the workspace's channels and users, and one message stream per channel.
//!
//! | stream              | requests                                                                   | cursor |
//! |---------------------|----------------------------------------------------------------------------|--------|
//! | `workspace/channel` | `conversations.list` (public and private channels, archived ones too), read once at sync start | none: every run lists them all |
//! | `workspace/user`    | `users.list`                                                                | none |
//! | `<channel>/message` | `conversations.history` newest first with `oldest` = cursor minus `lookback_days`; then `conversations.replies` of each thread whose newest reply is past the cursor, from the cursor on | the newest `ts` read (a message or a reply), never past the history answer's `Date` |
//!
//! Slack moves neither a message's `ts` when it is edited nor a thread parent's when someone
//! replies. So each run reads the channel again from `lookback_days` before its cursor: an
//! edited message there is written again, and a parent there whose `latest_reply` is past the
//! cursor has its new replies read. A reply is never lost to a run that stops or overlaps a
//! post: the cursor is held to the history answer's `Date`, so a reply posted after the history
//! was read is newer than the cursor the next run compares its thread's `latest_reply` with, and
//! one posted before shows in that `latest_reply` already.
//!
//! Requests when nothing changed: the channel listing, the user listing and one history page
//! per channel (two when the look-back window holds more than a page of messages).
//!
//! Known limits: edits and replies to threads older than the look-back window reach gwi only by
//! the Events API. A channel the bot is not a member of answers `not_in_channel`: its stream is
//! skipped with a warning (invite the app to read it). Deleted messages vanish from history;
//! the Events API's `message_deleted` turns them into tombstones.

use std::sync::{Arc, Mutex, PoisonError, RwLock};

use chrono::{DateTime, Duration, Utc};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use gwi_core::error::ConnectorError;
use gwi_core::http::{ApiClient, HttpRequest};
use gwi_core::incremental::{
    Listed, Listing, NewestFirst, Step, newest_first, read_cursor, time_value,
};
use gwi_core::pagination::{Page, PaginateOptions, paginate_json};
use gwi_core::stream::{Catalog, Checkpoint, StreamDescriptor, SyncItem, SyncOptions};
use serde::de::DeserializeOwned;

use super::auth::{self, error_code};
use super::config::{ChannelId, RecordType, SlackConfig};
use super::core::{CONVERSATIONS_LIST, HISTORY, REPLIES, SlackApi, USERS_LIST, next_cursor};
use super::models::{Channel, ChannelPage, Message, MessagePage, Ts, UserPage};
use super::records::{self, SOURCE};

/// The resource of the workspace-wide streams (channels, users).
pub(crate) const WORKSPACE: &str = "workspace";

/// The channels of the current sync, listed at its start.
#[derive(Debug, Default)]
pub(crate) struct Directory {
    channels: RwLock<Option<Arc<Vec<Channel>>>>,
}

impl Directory {
    /// Lists the workspace's channels when this run needs them: for the `channel` stream, or
    /// to find the bot's channels when the config names none.
    pub(crate) async fn discover(
        &self,
        config: &SlackConfig,
        api: &SlackApi,
        client: &ApiClient,
        options: &SyncOptions,
    ) -> Result<(), ConnectorError> {
        let wants = |t: RecordType| config.syncs_type(t) && options.wants_type(t.as_str());
        let needed =
            wants(RecordType::Channel) || (wants(RecordType::Message) && config.channels.is_none());
        let channels = if needed {
            Some(Arc::new(list_channels(api, client).await?))
        } else {
            None
        };
        *self
            .channels
            .write()
            .unwrap_or_else(PoisonError::into_inner) = channels;
        Ok(())
    }

    fn channels(&self) -> Option<Arc<Vec<Channel>>> {
        self.channels
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The workspace, then the channels whose messages are synced: the configured ones, else
    /// those the bot is a member of.
    fn resources(&self, config: &SlackConfig) -> Vec<String> {
        let mut resources = vec![WORKSPACE.to_owned()];
        match &config.channels {
            Some(channels) => resources.extend(channels.iter().map(ToString::to_string)),
            None => resources.extend(
                self.channels()
                    .iter()
                    .flat_map(|c| c.iter())
                    .filter(|c| c.is_member)
                    .map(|c| c.id.clone()),
            ),
        }
        resources
    }
}

/// Every channel the token may list: public ones, and private ones the bot is in.
async fn list_channels(api: &SlackApi, client: &ApiClient) -> Result<Vec<Channel>, ConnectorError> {
    let first = api.list(
        CONVERSATIONS_LIST,
        &[
            ("types", "public_channel,private_channel"),
            ("exclude_archived", "false"),
        ],
    );
    pages::<ChannelPage>(client, first, "/channels")
        .map_ok(|(_, page)| page.channels)
        .try_concat()
        .await
}

/// The pages of a listing whose items sit at `items_at`, decoded as `T`.
fn pages<'a, T: DeserializeOwned + Send + 'static>(
    client: &'a ApiClient,
    first: HttpRequest,
    items_at: &'static str,
) -> BoxStream<'a, Result<(Page, T), ConnectorError>> {
    paginate_json(
        client,
        first,
        next_cursor(items_at),
        PaginateOptions::default(),
    )
}

/// The streams a run with `options` reads: the workspace's channel and user streams, and a
/// message stream per channel.
pub(crate) fn streams(
    config: &SlackConfig,
    directory: &Directory,
    options: &SyncOptions,
) -> Result<Vec<StreamDescriptor>, ConnectorError> {
    let catalog = Catalog {
        resources: directory.resources(config),
        known_types: RecordType::NAMES,
        enabled_types: config
            .enabled_types()
            .into_iter()
            .map(RecordType::as_str)
            .collect(),
    };
    let streams = catalog.select(SOURCE, options, |name| {
        if name == WORKSPACE {
            Ok(())
        } else {
            ChannelId::parse(name)
                .map(drop)
                .map_err(|e| format!("{e}, or {WORKSPACE} for channels and users"))
        }
    })?;
    // Messages live in channels; channels and users in the workspace.
    Ok(streams
        .into_iter()
        .filter(|s| (s.resource == WORKSPACE) != (s.record_type == RecordType::Message.as_str()))
        .collect())
}

/// Reads one stream; refusals come out saying what to fix.
pub(crate) fn sync<'a>(
    api: &'a SlackApi,
    directory: &'a Directory,
    client: &'a ApiClient,
    stream: &'a StreamDescriptor,
    options: &'a SyncOptions,
    lookback: Duration,
) -> BoxStream<'a, Result<SyncItem, ConnectorError>> {
    let items = async_stream::try_stream! {
        let record_type = RecordType::parse(&stream.record_type).ok_or_else(|| {
            ConnectorError::validation(
                SOURCE,
                "stream.record_type",
                format!("unknown record type {:?}", stream.record_type),
            )
        })?;
        let mut items = match record_type {
            RecordType::Channel => channels(api, client, directory),
            RecordType::User => users(api, client),
            RecordType::Message => {
                ChannelId::parse(&stream.resource)
                    .map_err(|e| ConnectorError::validation(SOURCE, "stream.resource", e))?;
                let stored = read_cursor::<DateTime<Utc>>(SOURCE, stream, options)?;
                messages(api, client, stream, stored, lookback)
            }
        };
        while let Some(item) = items.next().await {
            yield item?;
        }
    };
    Box::pin(items.map(|item| item.map_err(auth::explain)))
}

/// Every channel, from the listing made at sync start.
fn channels<'a>(
    api: &'a SlackApi,
    client: &'a ApiClient,
    directory: &'a Directory,
) -> BoxStream<'a, Result<SyncItem, ConnectorError>> {
    Box::pin(async_stream::try_stream! {
        let listed = match directory.channels() {
            Some(channels) => channels,
            None => Arc::new(list_channels(api, client).await?),
        };
        for channel in listed.iter() {
            yield SyncItem::Record(records::channel(channel)?);
        }
    })
}

/// Every member of the workspace, deleted ones included.
fn users<'a>(
    api: &'a SlackApi,
    client: &'a ApiClient,
) -> BoxStream<'a, Result<SyncItem, ConnectorError>> {
    let first = api.list(USERS_LIST, &[]);
    let pages = pages::<UserPage>(client, first, "/members");
    Box::pin(
        pages
            .map_ok(|(_, page)| {
                futures::stream::iter(
                    page.members
                        .into_iter()
                        .map(|user| records::user(&user).map(SyncItem::Record)),
                )
            })
            .try_flatten(),
    )
}

/// Whether `message` is a thread with replies posted after `stored` (any, without a cursor).
fn has_new_replies(message: &Message, stored: Option<DateTime<Utc>>) -> bool {
    message.reply_count.unwrap_or(0) > 0
        && message
            .latest_reply
            .as_ref()
            .is_some_and(|latest| stored.is_none_or(|cursor| latest.time() > cursor))
}

/// A channel's messages from `lookback` before the cursor, with the new replies of the threads
/// among them.
fn messages<'a>(
    api: &'a SlackApi,
    client: &'a ApiClient,
    stream: &'a StreamDescriptor,
    stored: Option<DateTime<Utc>>,
    lookback: Duration,
) -> BoxStream<'a, Result<SyncItem, ConnectorError>> {
    let channel = stream.resource.as_str();
    Box::pin(async_stream::try_stream! {
        let since = stored.map(|cursor| cursor - lookback);
        let mut first = api.list(HISTORY, &[("channel", channel)]);
        if let Some(since) = since {
            // `oldest` is exclusive and a `ts` is unique in its channel: the message at the
            // cursor itself is stored already.
            first = first.query(&[("oldest", Ts::from_time(since).as_str())]);
        }
        // The newest `Date` of the history answers: no reply read later moves the cursor past it.
        let listed_at = Arc::new(Mutex::new(None));
        let seen = Arc::clone(&listed_at);
        let pages: Listing<'_, Message> = Box::pin(
            pages::<MessagePage>(client, first, "/messages").map_ok(move |(page, body)| {
                let listed = Listed::from_page(&page, body.messages);
                let mut at = seen.lock().unwrap_or_else(PoisonError::into_inner);
                *at = (*at).max(listed.server_time);
                listed
            }),
        );
        let mut steps = newest_first(since, NewestFirst::by(|m: &Message| m.ts.time()), move |_| pages);
        let mut read_any = false;
        let mut cursor = stored;
        let mut newest_reply: Option<DateTime<Utc>> = None;
        while let Some(step) = steps.next().await {
            let step = match step {
                Err(e) if !read_any && error_code(&e) == Some("not_in_channel") => {
                    tracing::warn!(
                        connector = SOURCE,
                        channel,
                        "the bot is not a member of this channel, so its messages are skipped; invite the app to the channel to sync it"
                    );
                    break;
                }
                other => other?,
            };
            read_any = true;
            match step {
                Step::Item(message) => {
                    yield SyncItem::Record(records::message(channel, &message)?);
                    if has_new_replies(&message, stored) {
                        let mut replies = thread(api, client, channel, &message.ts, stored);
                        while let Some(reply) = replies.next().await {
                            let reply = reply?;
                            newest_reply = newest_reply.max(Some(reply.ts.time()));
                            yield SyncItem::Record(records::message(channel, &reply)?);
                        }
                    }
                }
                // Until the walk ends each checkpoint repeats where it started, which the
                // look-back put before the stored cursor: the cursor never moves back.
                Step::Checkpoint(time) => {
                    cursor = time.max(stored);
                    yield SyncItem::Checkpoint(Checkpoint {
                        stream: stream.name.clone(),
                        cursor: time_value(cursor),
                    });
                }
                Step::Total(total) => yield SyncItem::TotalHint(total),
            }
        }
        // A thread's replies may be newer than every message of the channel: the cursor
        // takes them too (not past the history's `Date`), or each run would read them again.
        let listed_at = *listed_at.lock().unwrap_or_else(PoisonError::into_inner);
        let past_replies = newest_reply.zip(listed_at).map(|(reply, at)| reply.min(at));
        if past_replies > cursor {
            yield SyncItem::Checkpoint(Checkpoint {
                stream: stream.name.clone(),
                cursor: time_value(past_replies),
            });
        }
    })
}

/// The replies of the thread `parent` posted after `stored` (all without a cursor).
fn thread<'a>(
    api: &'a SlackApi,
    client: &'a ApiClient,
    channel: &'a str,
    parent: &Ts,
    stored: Option<DateTime<Utc>>,
) -> BoxStream<'a, Result<Message, ConnectorError>> {
    let mut first = api.list(REPLIES, &[("channel", channel), ("ts", parent.as_str())]);
    if let Some(cursor) = stored {
        first = first.query(&[("oldest", Ts::from_time(cursor).as_str())]);
    }
    let pages = pages::<MessagePage>(client, first, "/messages");
    Box::pin(
        pages
            .map_ok(|(_, page)| {
                // Slack puts the parent first on every thread page; history gave it already.
                futures::stream::iter(page.messages.into_iter().filter(Message::is_reply).map(Ok))
            })
            .try_flatten(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(json: &str) -> Message {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn threads_are_read_again_only_for_replies_past_the_cursor() {
        let parent = message(
            r#"{"ts":"1700000000.000100","thread_ts":"1700000000.000100","reply_count":1,"latest_reply":"1700000100.000001"}"#,
        );
        let at = |text: &str| Some(Ts::parse(text).unwrap().time());
        assert!(has_new_replies(&parent, None));
        assert!(has_new_replies(&parent, at("1700000100.000000")));
        assert!(
            !has_new_replies(&parent, at("1700000100.000001")),
            "the cursor's own reply was read"
        );
        let plain = message(r#"{"ts":"1700000000.000100"}"#);
        assert!(!has_new_replies(&plain, None));
    }
}
