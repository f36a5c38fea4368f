//! Reading a provider's rate-limit headers: `Retry-After`, `X-RateLimit-Remaining/Limit/Reset`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderMap;
use http::header::{HeaderName, RETRY_AFTER};

/// `X-RateLimit-Remaining`: requests left in the current window.
pub const X_RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
/// `X-RateLimit-Limit`: the window's size in requests.
pub const X_RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
/// `X-RateLimit-Reset`: when the window resets.
pub const X_RATELIMIT_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");
/// `RateLimit-Remaining` (GitLab, IETF draft).
pub const RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
/// `RateLimit-Limit` (GitLab, IETF draft).
pub const RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
/// `RateLimit-Reset` (GitLab, IETF draft).
pub const RATELIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

/// `X-RateLimit-Requests-Remaining` (Linear; `-Limit`, `-Reset` likewise, reset in epoch ms).
pub const X_RATELIMIT_REQUESTS_REMAINING: HeaderName =
    HeaderName::from_static("x-ratelimit-requests-remaining");
/// `X-RateLimit-Requests-Limit` (Linear).
pub const X_RATELIMIT_REQUESTS_LIMIT: HeaderName =
    HeaderName::from_static("x-ratelimit-requests-limit");
/// `X-RateLimit-Requests-Reset` (Linear).
pub const X_RATELIMIT_REQUESTS_RESET: HeaderName =
    HeaderName::from_static("x-ratelimit-requests-reset");
/// `X-RateLimit-Complexity-Remaining`: query-cost points left (Linear).
pub const X_RATELIMIT_COMPLEXITY_REMAINING: HeaderName =
    HeaderName::from_static("x-ratelimit-complexity-remaining");
/// `X-RateLimit-Complexity-Limit` (Linear).
pub const X_RATELIMIT_COMPLEXITY_LIMIT: HeaderName =
    HeaderName::from_static("x-ratelimit-complexity-limit");
/// `X-RateLimit-Complexity-Reset` (Linear).
pub const X_RATELIMIT_COMPLEXITY_RESET: HeaderName =
    HeaderName::from_static("x-ratelimit-complexity-reset");

/// Reset values below this are read as seconds from now, above it as a Unix time: providers differ
/// (GitHub and GitLab send epoch seconds, the IETF draft sends a delta), and 10^9 seconds is 2001.
const EPOCH_THRESHOLD: u64 = 1_000_000_000;
/// Reset values above this are epoch milliseconds (Linear).
const EPOCH_MILLIS_THRESHOLD: u64 = 100_000_000_000;

/// `Retry-After` as a wait from `now`: delta seconds or an HTTP-date (a past date means no wait).
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    retry_after_value(headers.get(RETRY_AFTER)?.to_str().ok()?, now)
}

/// One `Retry-After` value as a wait from `now` (see [`retry_after`]).
pub fn retry_after_value(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(secs).ok();
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Requests left in the window (`X-RateLimit-Remaining`, `RateLimit-Remaining` or
/// `X-RateLimit-Requests-Remaining`).
pub fn remaining(headers: &HeaderMap) -> Option<u64> {
    header_u64(headers, &X_RATELIMIT_REMAINING)
        .or_else(|| header_u64(headers, &RATELIMIT_REMAINING))
        .or_else(|| header_u64(headers, &X_RATELIMIT_REQUESTS_REMAINING))
}

/// The window's size (`X-RateLimit-Limit`, `RateLimit-Limit` or `X-RateLimit-Requests-Limit`).
pub fn limit(headers: &HeaderMap) -> Option<u64> {
    header_u64(headers, &X_RATELIMIT_LIMIT)
        .or_else(|| header_u64(headers, &RATELIMIT_LIMIT))
        .or_else(|| header_u64(headers, &X_RATELIMIT_REQUESTS_LIMIT))
}

/// A budget of query cost beside the request budget (Linear's complexity points): what is
/// left, its size, and the time until it resets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CostWindow {
    /// Points left.
    pub remaining: u64,
    /// The window's size, if sent.
    pub limit: Option<u64>,
    /// Time until it resets, if sent.
    pub reset_in: Option<Duration>,
}

/// The query-cost window (`X-RateLimit-Complexity-*`), if the answer carries one.
pub fn cost_window(headers: &HeaderMap, now: SystemTime) -> Option<CostWindow> {
    Some(CostWindow {
        remaining: header_u64(headers, &X_RATELIMIT_COMPLEXITY_REMAINING)?,
        limit: header_u64(headers, &X_RATELIMIT_COMPLEXITY_LIMIT),
        reset_in: headers
            .get(&X_RATELIMIT_COMPLEXITY_RESET)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| reset_value(v.trim(), now)),
    })
}

/// Time from `now` until the window resets (`X-RateLimit-Reset` or `RateLimit-Reset`).
///
/// Accepts epoch seconds, epoch milliseconds, delta seconds and RFC 3339 timestamps, because
/// providers disagree; a reset in the past is no wait.
pub fn reset_in(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers
        .get(&X_RATELIMIT_RESET)
        .or_else(|| headers.get(&RATELIMIT_RESET))
        .or_else(|| headers.get(&X_RATELIMIT_REQUESTS_RESET))?
        .to_str()
        .ok()?
        .trim();
    reset_value(value, now)
}

/// A reset header's value as a wait from `now` (see [`reset_in`]).
fn reset_value(value: &str, now: SystemTime) -> Option<Duration> {
    let at = if let Ok(n) = value.parse::<f64>() {
        // Integers and fractions alike: small is a delta, large an epoch in seconds or millis.
        let n = Duration::try_from_secs_f64(n).ok()?;
        if n.as_secs() < EPOCH_THRESHOLD {
            return Some(n);
        } else if n.as_secs() < EPOCH_MILLIS_THRESHOLD {
            UNIX_EPOCH + n
        } else {
            UNIX_EPOCH + n / 1000
        }
    } else if let Ok(parsed) = chrono::DateTime::parse_from_rfc3339(value) {
        SystemTime::from(parsed)
    } else {
        // Jira: ISO 8601 to the minute, `2024-05-01T10:00Z`.
        let minute = chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%MZ").ok()?;
        SystemTime::from(minute.and_utc())
    };
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Whether a response says the client is rate limited: it names a wait, or has no requests left.
pub fn is_rate_limited(headers: &HeaderMap) -> bool {
    headers.contains_key(RETRY_AFTER) || remaining(headers) == Some(0)
}

/// How long the provider asked us to wait before the next request, if it said.
///
/// `Retry-After` wins; otherwise the reset time counts only when no requests are left.
pub fn provider_wait(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    retry_after(headers, now)
        .or_else(|| {
            if remaining(headers) == Some(0) {
                reset_in(headers, now)
            } else {
                None
            }
        })
        .or_else(|| {
            cost_window(headers, now)
                .filter(|w| w.remaining == 0)
                .and_then(|w| w.reset_in)
        })
}

fn header_u64(headers: &HeaderMap, name: &HeaderName) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_reset_to_the_minute_is_read_as_jira_sends_it() {
        let now = UNIX_EPOCH + Duration::from_secs(1_714_557_570); // 2024-05-01T09:59:30Z
        let h = headers(&[("x-ratelimit-reset", "2024-05-01T10:00Z")]);
        assert_eq!(reset_in(&h, now), Some(Duration::from_secs(30)));
    }

    #[test]
    fn linear_request_and_complexity_windows_are_read_with_millisecond_resets() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let h = headers(&[
            ("x-ratelimit-requests-limit", "5000"),
            ("x-ratelimit-requests-remaining", "0"),
            ("x-ratelimit-requests-reset", "1700000030000"),
            ("x-ratelimit-complexity-limit", "250000"),
            ("x-ratelimit-complexity-remaining", "12"),
            ("x-ratelimit-complexity-reset", "1700000060000"),
        ]);
        assert_eq!((remaining(&h), limit(&h)), (Some(0), Some(5000)));
        assert_eq!(reset_in(&h, now), Some(Duration::from_secs(30)));
        assert_eq!(provider_wait(&h, now), Some(Duration::from_secs(30)));
        let cost = cost_window(&h, now);
        assert_eq!(
            cost,
            Some(CostWindow {
                remaining: 12,
                limit: Some(250_000),
                reset_in: Some(Duration::from_secs(60))
            })
        );
        let spent = headers(&[
            ("x-ratelimit-complexity-remaining", "0"),
            ("x-ratelimit-complexity-reset", "1700000045000"),
        ]);
        assert_eq!(provider_wait(&spent, now), Some(Duration::from_secs(45)));
    }
    use super::*;
    use http::HeaderValue;
    use proptest::prelude::*;

    /// Every reader of rate-limit headers, on one header map: what a response from the network
    /// goes through.
    fn read_all(h: &HeaderMap, now: SystemTime) {
        let _ = (
            retry_after(h, now),
            remaining(h),
            limit(h),
            reset_in(h, now),
        );
        let _ = (
            cost_window(h, now),
            provider_wait(h, now),
            is_rate_limited(h),
        );
    }

    const NAMES: [&str; 10] = [
        "retry-after",
        "x-ratelimit-remaining",
        "x-ratelimit-limit",
        "x-ratelimit-reset",
        "ratelimit-reset",
        "ratelimit-remaining",
        "x-ratelimit-requests-reset",
        "x-ratelimit-complexity-remaining",
        "x-ratelimit-complexity-reset",
        "x-ratelimit-complexity-limit",
    ];

    proptest! {
        #[test]
        fn any_header_values_are_read_without_panicking(
            values in prop::collection::vec(
                prop_oneof![
                    "[ -~]{0,40}",
                    any::<u64>().prop_map(|n| n.to_string()),
                    any::<f64>().prop_map(|n| n.to_string()),
                    "-?[0-9]{1,30}(\\.[0-9]{0,20})?",
                    "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?Z?",
                ],
                NAMES.len(),
            ),
            now in 0u64..4_000_000_000,
        ) {
            let mut h = HeaderMap::new();
            for (name, value) in NAMES.iter().zip(&values) {
                if let Ok(value) = HeaderValue::from_str(value) {
                    h.insert(*name, value);
                }
            }
            read_all(&h, UNIX_EPOCH + Duration::from_secs(now));
        }

        #[test]
        fn delta_seconds_are_the_wait_and_epochs_are_read_against_now(
            delta in 0u64..EPOCH_THRESHOLD,
            ahead in 0u64..1_000_000,
            now in EPOCH_THRESHOLD..4_000_000_000u64,
        ) {
            let at = |n: u64| UNIX_EPOCH + Duration::from_secs(n);
            let h = headers(&[("retry-after", &delta.to_string())]);
            prop_assert_eq!(retry_after(&h, at(now)), Some(Duration::from_secs(delta)));
            let h = headers(&[("x-ratelimit-reset", &(now + ahead).to_string())]);
            prop_assert_eq!(reset_in(&h, at(now)), Some(Duration::from_secs(ahead)));
            let millis = ((now + ahead) * 1000).to_string();
            let h = headers(&[("x-ratelimit-requests-reset", &millis)]);
            prop_assert_eq!(reset_in(&h, at(now)), Some(Duration::from_secs(ahead)));
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn retry_after_reads_delta_seconds() {
        let h = headers(&[("retry-after", "2")]);
        assert_eq!(retry_after(&h, at(0)), Some(Duration::from_secs(2)));
    }

    #[test]
    fn retry_after_reads_an_http_date_relative_to_now() {
        let now = at(1_700_000_000);
        let date = httpdate::fmt_http_date(now + Duration::from_secs(30));
        let h = headers(&[("retry-after", &date)]);
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(30)));
    }

    #[test]
    fn retry_after_in_the_past_is_no_wait() {
        let now = at(1_700_000_000);
        let date = httpdate::fmt_http_date(now - Duration::from_secs(30));
        let h = headers(&[("retry-after", &date)]);
        assert_eq!(retry_after(&h, now), Some(Duration::ZERO));
    }

    #[test]
    fn garbage_retry_after_is_ignored() {
        let h = headers(&[("retry-after", "soon")]);
        assert_eq!(retry_after(&h, at(0)), None);
    }

    #[test]
    fn reset_reads_epoch_seconds_millis_delta_and_rfc3339() {
        let now = at(1_700_000_000);
        let epoch = headers(&[("x-ratelimit-reset", "1700000060")]);
        assert_eq!(reset_in(&epoch, now), Some(Duration::from_secs(60)));
        let millis = headers(&[("x-ratelimit-reset", "1700000060000")]);
        assert_eq!(reset_in(&millis, now), Some(Duration::from_secs(60)));
        let delta = headers(&[("ratelimit-reset", "42")]);
        assert_eq!(reset_in(&delta, now), Some(Duration::from_secs(42)));
        let date = headers(&[("x-ratelimit-reset", "2023-11-14T22:14:20Z")]);
        assert_eq!(reset_in(&date, now), Some(Duration::from_secs(60)));
        let fraction = headers(&[("x-ratelimit-reset", "1700000060.5")]);
        assert_eq!(
            reset_in(&fraction, now),
            Some(Duration::from_millis(60_500))
        );
        let past = headers(&[("x-ratelimit-reset", "1699999000")]);
        assert_eq!(reset_in(&past, now), Some(Duration::ZERO));
    }

    #[test]
    fn reset_counts_as_a_wait_only_when_nothing_remains() {
        let now = at(1_700_000_000);
        let some_left = headers(&[
            ("x-ratelimit-remaining", "3"),
            ("x-ratelimit-reset", "1700000060"),
        ]);
        assert_eq!(provider_wait(&some_left, now), None);
        assert!(!is_rate_limited(&some_left));
        let none_left = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1700000060"),
        ]);
        assert_eq!(
            provider_wait(&none_left, now),
            Some(Duration::from_secs(60))
        );
        assert!(is_rate_limited(&none_left));
    }

    #[test]
    fn retry_after_wins_over_reset() {
        let now = at(1_700_000_000);
        let h = headers(&[
            ("retry-after", "5"),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1700000060"),
        ]);
        assert_eq!(provider_wait(&h, now), Some(Duration::from_secs(5)));
    }
}
