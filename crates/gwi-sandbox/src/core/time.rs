//! Timestamps as whole seconds since the Unix epoch, formatted the way provider APIs do.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Serialize, Serializer};

/// Seconds since the Unix epoch, UTC. Provider timestamps have one-second resolution.
pub type Secs = i64;

/// The wall clock, in whole seconds.
pub fn now_secs() -> Secs {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as Secs,
        Err(_) => 0,
    }
}

/// Formats as `YYYY-MM-DDTHH:MM:SSZ` without allocating (serialises as a JSON string).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Iso(pub Secs);

impl fmt::Display for Iso {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(86_400);
        let rem = self.0.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
            rem / 3600,
            (rem / 60) % 60,
            rem % 60
        )
    }
}

impl Serialize for Iso {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Parses an ISO 8601 timestamp as providers accept it: `2024-01-02T03:04:05Z`, with an offset,
/// without a zone (taken as UTC), or a bare date (midnight UTC).
pub fn parse_iso(s: &str) -> Option<Secs> {
    let s = s.trim();
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(dt.timestamp());
    }
    if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S") {
        return Some(dt.and_utc().timestamp());
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|dt| dt.and_utc().timestamp());
    }
    None
}

/// Days since 1970-01-01 to (year, month, day); Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_github() {
        assert_eq!(Iso(0).to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(Iso(1_557_933_633).to_string(), "2019-05-15T15:20:33Z");
        assert_eq!(Iso(1_709_210_096).to_string(), "2024-02-29T12:34:56Z");
    }

    #[test]
    fn parses_what_it_formats_and_common_variants() {
        for t in [0, 1_557_933_633, 1_709_210_096, 1_735_689_599] {
            assert_eq!(parse_iso(&Iso(t).to_string()), Some(t));
        }
        assert_eq!(parse_iso("2019-05-15T17:20:33+02:00"), Some(1_557_933_633));
        assert_eq!(parse_iso("2019-05-15T15:20:33"), Some(1_557_933_633));
        assert_eq!(parse_iso("1970-01-02"), Some(86_400));
        assert_eq!(parse_iso("yesterday"), None);
    }
}
