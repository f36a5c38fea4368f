//! When `gwi serve` runs a connector's sync: `schedule = "every 15m"` or a cron expression.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Deserialize;

/// Shortest interval an `every` schedule accepts: polling faster than this is a webhook's job.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// A sync schedule, as written in a connector's config.
///
/// `every N{s,m,h,d}` (e.g. `every 15m`) runs N after the previous run began; a five-field cron
/// expression (`*/10 * * * *`, evaluated in UTC; `@hourly` and friends too) runs at its times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    kind: Kind,
    /// As written, for messages and `gwi status`.
    text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Every(Duration),
    Cron(Box<croner::Cron>),
}

impl Schedule {
    /// The first time after `previous` (the last run's start) at which the sync is due.
    ///
    /// `None` only for a cron expression that never matches again (e.g. a date past).
    pub fn next_after(&self, previous: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match &self.kind {
            Kind::Every(interval) => chrono::Duration::from_std(*interval)
                .ok()
                .and_then(|d| previous.checked_add_signed(d)),
            Kind::Cron(cron) => cron.find_next_occurrence(&previous, false).ok(),
        }
    }

    /// How long a run may start late, at most, so that processes sharing a schedule (and syncs
    /// sharing a due time) do not all call the provider at the same instant: a tenth of the gap
    /// to the following run, at most a minute.
    pub fn jitter_span(&self, due: DateTime<Utc>) -> Duration {
        let gap = self
            .next_after(due)
            .and_then(|next| (next - due).to_std().ok())
            .unwrap_or_default();
        (gap / 10).min(Duration::from_secs(60))
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for Schedule {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        let kind = match trimmed.strip_prefix("every") {
            Some(rest) if rest.starts_with(char::is_whitespace) => {
                Kind::Every(parse_interval(rest.trim())?)
            }
            _ => Kind::Cron(Box::new(croner::Cron::from_str(trimmed).map_err(|e| {
                format!(
                    "{trimmed:?} is neither \"every N\" with a unit (s, m, h, d), e.g. \"every 15m\", nor a cron expression such as \"*/15 * * * *\" ({e})"
                )
            })?)),
        };
        Ok(Self {
            kind,
            text: trimmed.to_owned(),
        })
    }
}

/// `15m`, `30s`, `2h`, `1d`.
fn parse_interval(text: &str) -> Result<Duration, String> {
    let unit_at = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(|| {
        format!("\"every {text}\" needs a unit: s, m, h or d (e.g. \"every 15m\")")
    })?;
    let (number, unit) = text.split_at(unit_at);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("\"every {text}\" needs a whole number before its unit"))?;
    let seconds = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        other => {
            return Err(format!(
                "\"every {text}\": unknown unit {other:?}; use s, m, h or d"
            ));
        }
    };
    let interval = Duration::from_secs(n.saturating_mul(seconds));
    if interval < MIN_INTERVAL {
        return Err(format!("\"every {text}\" is shorter than one second"));
    }
    Ok(interval)
}

impl<'de> Deserialize<'de> for Schedule {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        // Named here: a field of the flattened common settings loses its path in serde's error.
        text.parse()
            .map_err(|e| serde::de::Error::custom(format!("schedule: {e}")))
    }
}

impl JsonSchema for Schedule {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Schedule".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "minLength": 1,
            "description": "When gwi serve runs this sync: \"every 15m\" (s, m, h, d) or a five-field cron expression in UTC.",
            "examples": ["every 15m", "*/30 * * * *"]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 6, h, m, s).single().unwrap()
    }

    #[test]
    fn every_counts_from_the_previous_start() {
        let schedule: Schedule = "every 15m".parse().unwrap();
        assert_eq!(schedule.next_after(at(10, 3, 0)), Some(at(10, 18, 0)));
        assert_eq!(schedule.to_string(), "every 15m");
        let fast: Schedule = " every 2s ".parse().unwrap();
        assert_eq!(fast.next_after(at(10, 0, 0)), Some(at(10, 0, 2)));
        let daily: Schedule = "every 1d".parse().unwrap();
        assert_eq!(
            daily.next_after(at(10, 0, 0)),
            Some(at(10, 0, 0) + chrono::Duration::days(1))
        );
    }

    #[test]
    fn cron_runs_at_its_times_in_utc() {
        let schedule: Schedule = "*/10 * * * *".parse().unwrap();
        assert_eq!(schedule.next_after(at(10, 3, 0)), Some(at(10, 10, 0)));
        assert_eq!(schedule.next_after(at(10, 10, 0)), Some(at(10, 20, 0)));
        let hourly: Schedule = "@hourly".parse().unwrap();
        assert_eq!(hourly.next_after(at(10, 3, 0)), Some(at(11, 0, 0)));
    }

    #[test]
    fn jitter_is_a_tenth_of_the_gap_at_most_a_minute() {
        let quick: Schedule = "every 30s".parse().unwrap();
        assert_eq!(quick.jitter_span(at(10, 0, 0)), Duration::from_secs(3));
        let slow: Schedule = "every 1h".parse().unwrap();
        assert_eq!(slow.jitter_span(at(10, 0, 0)), Duration::from_secs(60));
    }

    #[test]
    fn bad_schedules_say_what_is_accepted() {
        for (text, expected) in [
            ("every 15", "needs a unit"),
            ("every m", "whole number"),
            ("every 15w", "unknown unit"),
            ("every 0s", "shorter than one second"),
            ("hourly", "neither"),
            ("*/10 * * *", "neither"),
            ("", "neither"),
        ] {
            let err = text.parse::<Schedule>().unwrap_err();
            assert!(err.contains(expected), "{text:?}: {err}");
        }
    }

    proptest! {
        /// Whatever is written, parsing answers (never panics), and an accepted schedule's next
        /// run is after the previous one.
        #[test]
        fn any_text_parses_or_is_refused(text in "\\PC{0,40}", offset in 0i64..4_000_000_000) {
            if let Ok(schedule) = text.parse::<Schedule>() {
                let previous = Utc.timestamp_opt(offset, 0).single().unwrap();
                if let Some(next) = schedule.next_after(previous) {
                    prop_assert!(next > previous);
                }
            }
        }
    }
}
