//! Facts about a stream's resource kept beside its cursor, so an unchanged run need not ask for
//! them again.
//!
//! Some listings need something about their resource first (GitLab's default branch, and which
//! features a project has turned off). Reading it every run would cost a request per resource
//! even when nothing changed, so a stream stores what it read beside its cursor and reads it
//! again only once it is older than the connector's `max_age`, or on a full refresh.
//!
//! Stored form: `{"cursor": <the stream's own cursor>, "facts": …, "facts_read_at": <RFC 3339>}`.
//! [`SyncOptions::cursor_for`] hands a stream its own cursor from either form, so a cursor
//! stored before the stream kept facts still reads, and a stream that stops keeping them reads
//! its old cursor.

use chrono::{DateTime, TimeDelta, Utc};
use futures::StreamExt;
use futures::stream::BoxStream;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::time_value;
use crate::error::ConnectorError;
use crate::stream::{Checkpoint, SyncItem, SyncOptions};

const CURSOR: &str = "cursor";
const FACTS: &str = "facts";
const READ_AT: &str = "facts_read_at";

/// Facts about a stream's resource and when they were read from the provider.
#[derive(Debug, Clone, PartialEq)]
pub struct Remembered<F> {
    /// What the stream knows of its resource.
    pub facts: F,
    /// When the provider answered with them.
    pub read_at: DateTime<Utc>,
}

/// The stream's own cursor inside a stored value, without the facts kept beside it.
pub fn stream_cursor(stored: &Value) -> &Value {
    match parts(stored) {
        Some((cursor, _, _)) => cursor,
        None => stored,
    }
}

/// The cursor, facts and read time of a value stored with facts; `None` for a bare cursor.
fn parts(stored: &Value) -> Option<(&Value, &Value, &Value)> {
    let Value::Object(map) = stored else {
        return None;
    };
    let facts = map.get(FACTS)?;
    let read_at = map.get(READ_AT)?;
    Some((map.get(CURSOR).unwrap_or(&Value::Null), facts, read_at))
}

impl SyncOptions {
    /// The facts `stream` stored beside its cursor, when read at most `max_age` before `now`.
    ///
    /// Facts are a cache: stale, unreadable or absent ones (and every one on a full refresh)
    /// come back as `None`, and the stream reads them again.
    pub fn facts_for<F: DeserializeOwned>(
        &self,
        stream: &str,
        max_age: TimeDelta,
        now: DateTime<Utc>,
    ) -> Option<Remembered<F>> {
        if self.full_refresh {
            return None;
        }
        let (_, facts, read_at) = parts(self.state.get(stream)?)?;
        let read_at = crate::time::parse(read_at.as_str()?).ok()?;
        // A read time in the future (another host's clock) is as good as stale.
        if read_at > now || now - read_at > max_age {
            return None;
        }
        match serde_json::from_value(facts.clone()) {
            Ok(facts) => Some(Remembered { facts, read_at }),
            Err(error) => {
                tracing::debug!(%stream, %error, "stored facts unreadable; reading them again");
                None
            }
        }
    }
}

/// `items` with `remembered` (the facts as stored) stored beside every checkpoint's cursor.
///
/// When the facts are new to the store (`fresh`) and the stream ends without a checkpoint (an
/// unchanged upstream), one more checkpoint stores them with the cursor the stream started from
/// (`start`, as stored), which commits nothing that was not committed before.
pub fn remember<'a>(
    mut items: BoxStream<'a, Result<SyncItem, ConnectorError>>,
    stream: &'a str,
    start: Option<Value>,
    remembered: Remembered<Value>,
    fresh: bool,
) -> BoxStream<'a, Result<SyncItem, ConnectorError>> {
    let Remembered { facts, read_at } = remembered;
    Box::pin(async_stream::try_stream! {
        let wrap = |cursor: Value| {
            let mut map = Map::new();
            map.insert(CURSOR.to_owned(), cursor);
            map.insert(FACTS.to_owned(), facts.clone());
            map.insert(READ_AT.to_owned(), time_value(Some(read_at)));
            Value::Object(map)
        };
        let mut checkpointed = false;
        while let Some(item) = items.next().await {
            match item? {
                SyncItem::Checkpoint(Checkpoint { stream, cursor }) => {
                    checkpointed = true;
                    yield SyncItem::Checkpoint(Checkpoint { stream, cursor: wrap(cursor) });
                }
                other => yield other,
            }
        }
        if fresh && !checkpointed {
            yield SyncItem::Checkpoint(Checkpoint {
                stream: stream.to_owned(),
                cursor: wrap(start.unwrap_or(Value::Null)),
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 2, hour, 0, 0).unwrap()
    }

    fn options(stored: Value) -> SyncOptions {
        let mut options = SyncOptions::default();
        options.state.insert("p/commit".into(), stored);
        options
    }

    #[test]
    fn a_cursor_stored_with_facts_reads_as_the_stream_s_own() {
        let stored = json!({"cursor": "2026-01-01T00:00:00Z", "facts": {"branch": "main"}, "facts_read_at": "2026-01-02T09:00:00Z"});
        let options = options(stored);
        assert_eq!(
            options.cursor_for("p/commit"),
            Some(&json!("2026-01-01T00:00:00Z"))
        );
        let facts: Remembered<Value> = options
            .facts_for("p/commit", TimeDelta::hours(1), at(10))
            .unwrap();
        assert_eq!(facts.facts, json!({"branch": "main"}));
        assert_eq!(facts.read_at, at(9));
    }

    #[test]
    fn stale_future_unreadable_and_full_refresh_facts_are_read_again() {
        let stored =
            json!({"cursor": null, "facts": {"n": 1}, "facts_read_at": "2026-01-02T09:00:00Z"});
        let mut options = options(stored);
        let age = TimeDelta::hours(1);
        assert!(
            options
                .facts_for::<Value>("p/commit", age, at(11))
                .is_none()
        );
        assert!(options.facts_for::<Value>("p/commit", age, at(8)).is_none());
        assert!(
            options
                .facts_for::<String>("p/commit", age, at(9))
                .is_none()
        );
        assert!(options.facts_for::<Value>("p/commit", age, at(9)).is_some());
        options.full_refresh = true;
        assert!(options.facts_for::<Value>("p/commit", age, at(9)).is_none());
        assert_eq!(options.cursor_for("p/commit"), None);
    }

    #[test]
    fn a_bare_cursor_has_no_facts_and_reads_as_before() {
        // Mark's own object form has no `facts` key.
        let stored = json!({"time": "2026-01-01T00:00:00Z", "ids": ["1"]});
        let options = options(stored.clone());
        assert_eq!(options.cursor_for("p/commit"), Some(&stored));
        assert!(
            options
                .facts_for::<Value>("p/commit", TimeDelta::hours(1), at(9))
                .is_none()
        );
    }

    fn run(items: Vec<SyncItem>, fresh: bool) -> Vec<SyncItem> {
        let items = futures::stream::iter(items.into_iter().map(Ok)).boxed();
        let remembered = Remembered {
            facts: json!({"branch": "main"}),
            read_at: at(9),
        };
        let out = remember(items, "p/commit", Some(json!("old")), remembered, fresh);
        futures::executor::block_on(out.map(Result::unwrap).collect())
    }

    fn checkpoint(cursor: Value) -> SyncItem {
        SyncItem::Checkpoint(Checkpoint {
            stream: "p/commit".into(),
            cursor,
        })
    }

    #[test]
    fn every_checkpoint_carries_the_facts() {
        let out = run(
            vec![SyncItem::TotalHint(3), checkpoint(json!("new"))],
            false,
        );
        let wrapped = json!({"cursor": "new", "facts": {"branch": "main"}, "facts_read_at": "2026-01-02T09:00:00Z"});
        assert_eq!(out, [SyncItem::TotalHint(3), checkpoint(wrapped)]);
    }

    #[test]
    fn fresh_facts_are_stored_with_the_start_cursor_when_nothing_changed() {
        let stored = json!({"cursor": "old", "facts": {"branch": "main"}, "facts_read_at": "2026-01-02T09:00:00Z"});
        assert_eq!(run(Vec::new(), true), [checkpoint(stored)]);
        // Facts the store already has need no checkpoint of their own.
        assert_eq!(run(Vec::new(), false), []);
    }
}
