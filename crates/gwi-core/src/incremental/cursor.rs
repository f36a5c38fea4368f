//! The typed read of a stream's cursor: the stored one, else the configured start, else none.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

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
