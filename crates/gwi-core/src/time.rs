//! RFC 3339 timestamps as providers send them and as stores keep them, on a fast path.
//!
//! chrono's serde support parses with its lenient parser, about 200 ns a timestamp on the
//! benchmark machine; its strict RFC 3339 parser takes about 27 ns, and a pull request carries
//! four timestamps. Providers send strict RFC 3339, so [`parse`] tries that first and the
//! lenient parser only when it fails: what is accepted, and every error, is chrono's.

use std::fmt;

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};
use serde::Deserializer;
use serde::de::{Error, Visitor};

/// Parses a timestamp: strict RFC 3339 first, then chrono's lenient form.
pub fn parse(text: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    match DateTime::parse_from_rfc3339(text) {
        Ok(time) => Ok(time.with_timezone(&Utc)),
        Err(_) => text.parse(),
    }
}

/// `time` as fixed-width RFC 3339 in UTC with microseconds (`2024-05-01T12:00:00.000000Z`).
///
/// The same text as `to_rfc3339_opts(SecondsFormat::Micros, true)`, written digit by digit
/// (about a tenth of the cost); years outside 0–9999 and leap seconds take chrono's path.
pub fn format_micros(time: DateTime<Utc>) -> String {
    let year = time.year();
    let nanos = time.nanosecond();
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        return time.to_rfc3339_opts(SecondsFormat::Micros, true);
    }
    let mut text = String::with_capacity(27);
    for (value, width, then) in [
        (year.unsigned_abs(), 4, '-'),
        (time.month(), 2, '-'),
        (time.day(), 2, 'T'),
        (time.hour(), 2, ':'),
        (time.minute(), 2, ':'),
        (time.second(), 2, '.'),
        (nanos / 1_000, 6, 'Z'),
    ] {
        push_digits(&mut text, value, width);
        text.push(then);
    }
    text
}

/// Appends the last `width` decimal digits of `value`, zero-padded.
fn push_digits(text: &mut String, value: u32, width: u32) {
    for place in (0..width).rev() {
        let digit = value / 10u32.pow(place) % 10;
        // `digit` is below 10, so this is always Some.
        text.extend(char::from_digit(digit, 10));
    }
}

/// `#[serde(deserialize_with = "gwi_core::time::deserialize")]`: a `DateTime<Utc>` field,
/// parsed by [`parse`].
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    deserializer.deserialize_str(TimestampVisitor)
}

/// `#[serde(default, deserialize_with = "gwi_core::time::deserialize_option")]`: an
/// `Option<DateTime<Utc>>` field, `null` (or, with `default`, absent) as `None`.
pub fn deserialize_option<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    deserializer.deserialize_option(OptionalTimestampVisitor)
}

struct TimestampVisitor;

impl Visitor<'_> for TimestampVisitor {
    type Value = DateTime<Utc>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an RFC 3339 timestamp")
    }

    fn visit_str<E: Error>(self, text: &str) -> Result<Self::Value, E> {
        parse(text).map_err(E::custom)
    }
}

struct OptionalTimestampVisitor;

impl<'de> Visitor<'de> for OptionalTimestampVisitor {
    type Value = Option<DateTime<Utc>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an RFC 3339 timestamp or null")
    }

    fn visit_none<E: Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserialize(deserializer).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Times {
        #[serde(deserialize_with = "deserialize")]
        at: DateTime<Utc>,
        #[serde(default, deserialize_with = "deserialize_option")]
        maybe: Option<DateTime<Utc>>,
    }

    #[test]
    fn fields_parse_like_chrono_and_null_or_absent_is_none() {
        let times: Times =
            serde_json::from_str(r#"{"at":"2024-05-01T12:00:00+02:00","maybe":null}"#).unwrap();
        assert_eq!(
            times.at,
            Utc.with_ymd_and_hms(2024, 5, 1, 10, 0, 0).unwrap()
        );
        assert_eq!(times.maybe, None);
        let times: Times = serde_json::from_str(r#"{"at":"2024-05-01 12:00:00Z"}"#).unwrap();
        assert_eq!(
            times.at,
            Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap()
        );
        assert_eq!(times.maybe, None);
        let times: Times =
            serde_json::from_str(r#"{"at":"2024-05-01T12:00:00Z","maybe":"2024-05-02T00:00:00Z"}"#)
                .unwrap();
        assert_eq!(
            times.maybe,
            Some(Utc.with_ymd_and_hms(2024, 5, 2, 0, 0, 0).unwrap())
        );
    }

    #[test]
    fn a_bad_timestamp_fails_with_chronos_message() {
        let chrono_says = "2024-13-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap_err();
        let error = serde_json::from_str::<Times>(r#"{"at":"2024-13-01T00:00:00Z"}"#).unwrap_err();
        assert!(
            error.to_string().contains(&chrono_says.to_string()),
            "{error}"
        );
        assert!(serde_json::from_str::<Times>(r#"{"at":12}"#).is_err());
        assert!(serde_json::from_str::<Times>(r#"{"at":null}"#).is_err());
    }

    #[test]
    fn years_outside_four_digits_and_leap_seconds_format_like_chrono() {
        let far = Utc.with_ymd_and_hms(12345, 1, 2, 3, 4, 5).unwrap();
        let leap = Utc
            .with_ymd_and_hms(2016, 12, 31, 23, 59, 59)
            .unwrap()
            .with_nanosecond(1_500_000_000)
            .unwrap();
        for time in [far, leap] {
            assert_eq!(
                format_micros(time),
                time.to_rfc3339_opts(SecondsFormat::Micros, true)
            );
        }
    }

    proptest! {
        #[test]
        fn format_and_parse_agree_with_chrono(
            seconds in -62_135_596_800i64..253_402_300_799,
            micros in 0u32..1_000_000,
        ) {
            let time = DateTime::from_timestamp(seconds, micros * 1_000).unwrap();
            let text = format_micros(time);
            prop_assert_eq!(&text, &time.to_rfc3339_opts(SecondsFormat::Micros, true));
            prop_assert_eq!(parse(&text).unwrap(), time);
            let seconds_only = time.to_rfc3339_opts(SecondsFormat::Secs, true);
            prop_assert_eq!(parse(&seconds_only).unwrap(), seconds_only.parse::<DateTime<Utc>>().unwrap());
        }
    }
}
