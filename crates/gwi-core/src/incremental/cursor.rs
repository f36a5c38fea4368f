//! The typed read of a stream's cursor: the stored one, else the configured start, else none.

use std::marker::PhantomData;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use super::ascending::Mark;
use crate::error::{ConnectorError, FieldError};
use crate::stream::{StreamDescriptor, SyncOptions};

/// A cursor a connector stores for a stream and can also take from `--start`.
pub trait Cursor: Sized {
    /// Parses a cursor as this connector stored it; the error says what is wrong with it.
    fn from_stored(value: &Value) -> Result<Self, String>;

    /// Parses the configured start point (`start_cursor`, `gwi sync --since`).
    fn from_start(text: &str) -> Result<Self, String>;
}

impl Cursor for DateTime<Utc> {
    fn from_stored(value: &Value) -> Result<Self, String> {
        match value {
            Value::String(text) => parse_time(text),
            other => Err(format!("expected an RFC 3339 time, found {other}")),
        }
    }

    fn from_start(text: &str) -> Result<Self, String> {
        parse_time(text)
    }
}

/// An opaque token (a change feed's sync token), stored as a string.
impl Cursor for String {
    fn from_stored(value: &Value) -> Result<Self, String> {
        match value {
            Value::String(token) if !token.is_empty() => Ok(token.clone()),
            other => Err(format!("expected a sync token, found {other}")),
        }
    }

    fn from_start(text: &str) -> Result<Self, String> {
        if text.is_empty() {
            Err("a sync token must not be empty".to_owned())
        } else {
            Ok(text.to_owned())
        }
    }
}

/// Parses an RFC 3339 time, saying what was expected when it is not one.
pub(crate) fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    crate::time::parse(text)
        .map_err(|e| format!("{text:?} is not an RFC 3339 time such as 2024-01-31T00:00:00Z: {e}"))
}

/// A time cursor as stored: an RFC 3339 string, or `null` for "from the beginning".
pub fn time_value(time: Option<DateTime<Utc>>) -> Value {
    time.map_or(Value::Null, |t| {
        Value::String(t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    })
}

/// Names the two listings a [`PairCursor`] keeps a mark for, as they are stored.
pub trait PairNames: 'static {
    /// The stored keys of the first and the second listing.
    const NAMES: [&'static str; 2];
}

/// The cursor of a stream that reads two oldest-first listings one after the other (GitHub's
/// issue and review comments, GitLab's notes through merge requests and issues): a [`Mark`] for
/// each, so a run stopped between them skips neither. A plain time (the start, or a cursor
/// stored before the stream read two listings) applies to both.
pub struct PairCursor<N> {
    /// Where the first and the second listing stand.
    pub marks: [Mark; 2],
    names: PhantomData<fn() -> N>,
}

impl<N: PairNames> PairCursor<N> {
    /// Both listings from `time`.
    pub fn both(time: DateTime<Utc>) -> Self {
        Self::new([Mark::at(time), Mark::at(time)])
    }

    /// A cursor at `marks`.
    pub fn new(marks: [Mark; 2]) -> Self {
        Self {
            marks,
            names: PhantomData,
        }
    }

    /// The cursor as stored: an object with each listing's mark under its name.
    pub fn value(&self) -> Value {
        let parts = N::NAMES
            .iter()
            .zip(&self.marks)
            .map(|(name, mark)| ((*name).to_owned(), mark.value()));
        Value::Object(parts.collect())
    }
}

impl<N: PairNames> Cursor for PairCursor<N> {
    fn from_stored(value: &Value) -> Result<Self, String> {
        let Value::Object(parts) = value else {
            return DateTime::<Utc>::from_stored(value).map(Self::both);
        };
        let mut marks = [Mark::default(), Mark::default()];
        for (mark, name) in marks.iter_mut().zip(N::NAMES) {
            if let Some(stored) = parts.get(name).filter(|v| !v.is_null()) {
                *mark = Mark::from_stored(stored).map_err(|e| format!("{name}: {e}"))?;
            }
        }
        Ok(Self::new(marks))
    }

    fn from_start(text: &str) -> Result<Self, String> {
        DateTime::<Utc>::from_start(text).map(Self::both)
    }
}

// By hand: derived impls would ask the same of the names type, which only names.
impl<N> Clone for PairCursor<N> {
    fn clone(&self) -> Self {
        Self {
            marks: self.marks.clone(),
            names: PhantomData,
        }
    }
}

impl<N> Default for PairCursor<N> {
    fn default() -> Self {
        Self {
            marks: [Mark::default(), Mark::default()],
            names: PhantomData,
        }
    }
}

impl<N> PartialEq for PairCursor<N> {
    fn eq(&self, other: &Self) -> bool {
        self.marks == other.marks
    }
}

impl<N: PairNames> std::fmt::Debug for PairCursor<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(N::NAMES.iter().zip(&self.marks))
            .finish()
    }
}

/// Where `stream` starts: its stored cursor (unless `full_refresh`), else `options.start_cursor`,
/// else `None` (the beginning).
///
/// A stored cursor of the wrong shape is an error naming the stream and the command that resets
/// it; a bad start point is a config error on `start_cursor`.
pub fn read_cursor<C: Cursor>(
    connector: &str,
    stream: &StreamDescriptor,
    options: &SyncOptions,
) -> Result<Option<C>, ConnectorError> {
    match options.cursor_for(&stream.name) {
        None | Some(Value::Null) => {}
        Some(stored) => {
            return C::from_stored(stored).map(Some).map_err(|detail| {
                ConnectorError::validation(
                    connector,
                    format!("state.{}", stream.name),
                    format!(
                        "the stored cursor is not one this connector wrote ({detail}); reset it with `gwi state reset {connector} --stream {}`",
                        stream.name
                    ),
                )
            });
        }
    }
    match &options.start_cursor {
        None => Ok(None),
        Some(text) => C::from_start(text).map(Some).map_err(|e| {
            ConnectorError::config(connector, vec![FieldError::new("start_cursor", e)])
        }),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn options(stored: Option<Value>, start: Option<&str>) -> SyncOptions {
        let mut options = SyncOptions {
            start_cursor: start.map(str::to_owned),
            ..Default::default()
        };
        if let Some(value) = stored {
            options.state.insert("a/b/issue".into(), value);
        }
        options
    }

    fn read(options: &SyncOptions) -> Result<Option<DateTime<Utc>>, ConnectorError> {
        read_cursor("demo", &StreamDescriptor::new("a/b", "issue"), options)
    }

    fn at(text: &str) -> DateTime<Utc> {
        parse_time(text).unwrap()
    }

    struct Comments;

    impl PairNames for Comments {
        const NAMES: [&'static str; 2] = ["issue_comments", "review_comments"];
    }

    type Pair = PairCursor<Comments>;

    #[test]
    fn a_pair_cursor_keeps_a_time_per_listing_under_its_name() {
        let stored = json!({"issue_comments": "2024-01-01T00:00:00Z", "review_comments": null});
        let cursor = Pair::from_stored(&stored).unwrap();
        assert_eq!(
            cursor.marks,
            [Mark::at(at("2024-01-01T00:00:00Z")), Mark::default()]
        );
        assert_eq!(cursor.value(), stored);
        assert_eq!(Pair::from_stored(&json!({})).unwrap(), Pair::default());
        let with_ids = json!({"issue_comments": {"time": "2024-01-01T00:00:00Z", "ids": ["7"]}});
        let cursor = Pair::from_stored(&with_ids).unwrap();
        assert_eq!(cursor.marks[0].ids, ["7"]);
        assert_eq!(cursor.value()["issue_comments"], with_ids["issue_comments"]);
    }

    #[test]
    fn a_plain_time_starts_both_listings_of_a_pair() {
        let both = Pair::both(at("2024-01-01T00:00:00Z"));
        assert_eq!(
            both.marks,
            [
                Mark::at(at("2024-01-01T00:00:00Z")),
                Mark::at(at("2024-01-01T00:00:00Z"))
            ]
        );
        assert_eq!(
            Pair::from_stored(&json!("2024-01-01T00:00:00Z")).unwrap(),
            both
        );
        assert_eq!(Pair::from_start("2024-01-01T00:00:00Z").unwrap(), both);
    }

    #[test]
    fn a_pair_cursor_of_the_wrong_shape_names_the_listing() {
        let err = Pair::from_stored(&json!({"review_comments": 42})).unwrap_err();
        assert!(err.starts_with("review_comments:"), "{err}");
        assert!(Pair::from_stored(&json!(42)).is_err());
        assert!(Pair::from_start("yesterday").is_err());
    }

    #[test]
    fn stored_wins_then_start_then_nothing() {
        let both = options(
            Some(json!("2024-01-01T00:00:00Z")),
            Some("2020-01-01T00:00:00Z"),
        );
        assert_eq!(read(&both).unwrap(), Some(at("2024-01-01T00:00:00Z")));
        let start_only = options(Some(Value::Null), Some("2020-01-01T00:00:00Z"));
        assert_eq!(read(&start_only).unwrap(), Some(at("2020-01-01T00:00:00Z")));
        assert_eq!(read(&options(None, None)).unwrap(), None);
    }

    #[test]
    fn full_refresh_ignores_the_stored_cursor_but_not_the_start() {
        let mut opts = options(
            Some(json!("2024-01-01T00:00:00Z")),
            Some("2020-01-01T00:00:00Z"),
        );
        opts.full_refresh = true;
        assert_eq!(read(&opts).unwrap(), Some(at("2020-01-01T00:00:00Z")));
    }

    #[test]
    fn a_stored_cursor_of_the_wrong_shape_names_the_stream_and_the_reset_command() {
        let err = read(&options(Some(json!(42)), None)).unwrap_err();
        assert_eq!(err.kind(), "validation");
        let text = err.to_string();
        assert!(text.contains("state.a/b/issue"), "{text}");
        assert!(
            text.contains("gwi state reset demo --stream a/b/issue"),
            "{text}"
        );
    }

    #[test]
    fn a_bad_start_is_a_config_error_on_start_cursor() {
        let err = read(&options(None, Some("yesterday"))).unwrap_err();
        assert_eq!(err.kind(), "config");
        assert!(err.to_string().contains("start_cursor"), "{err}");
    }

    #[test]
    fn sync_tokens_are_non_empty_strings() {
        assert_eq!(String::from_stored(&json!("tok-1")).unwrap(), "tok-1");
        assert!(String::from_stored(&json!("")).is_err());
        assert!(String::from_stored(&json!(7)).is_err());
        assert!(String::from_start("").is_err());
    }

    #[test]
    fn time_values_round_trip_and_keep_sub_second_precision() {
        for text in ["2024-05-06T07:08:09Z", "2024-05-06T07:08:09.250Z"] {
            let value = time_value(Some(at(text)));
            assert_eq!(value, json!(text));
            assert_eq!(DateTime::<Utc>::from_stored(&value).unwrap(), at(text));
        }
        assert_eq!(time_value(None), Value::Null);
    }
}
