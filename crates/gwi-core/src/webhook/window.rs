//! The replay window: a signed timestamp must be within a tolerance of our clock, both ways.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::error::VerifyError;

/// Refuses a signature made more than `tolerance` before or after `now`.
///
/// Providers' own libraries differ (some check only the past); we check both directions so a
/// signature minted with a future date cannot be replayed for longer than the window.
pub(crate) fn check_window_ms(
    signed_at_ms: i128,
    now: SystemTime,
    tolerance: Duration,
) -> Result<(), VerifyError> {
    let now_ms = match now.duration_since(UNIX_EPOCH) {
        Ok(d) => i128::try_from(d.as_millis()).unwrap_or(i128::MAX),
        Err(e) => -i128::try_from(e.duration().as_millis()).unwrap_or(i128::MAX),
    };
    let tolerance_ms = i128::try_from(tolerance.as_millis()).unwrap_or(i128::MAX);
    let tolerance_secs = tolerance.as_secs();
    let age_ms = now_ms.saturating_sub(signed_at_ms);
    if age_ms > tolerance_ms {
        Err(VerifyError::Expired {
            age_secs: whole_secs(age_ms),
            tolerance_secs,
        })
    } else if -age_ms > tolerance_ms {
        Err(VerifyError::FromFuture {
            ahead_secs: whole_secs(-age_ms),
            tolerance_secs,
        })
    } else {
        Ok(())
    }
}

/// Same as [`check_window_ms`] for a timestamp in Unix seconds.
pub(crate) fn check_window_secs(
    signed_at_secs: i64,
    now: SystemTime,
    tolerance: Duration,
) -> Result<(), VerifyError> {
    check_window_ms(i128::from(signed_at_secs) * 1000, now, tolerance)
}

fn whole_secs(ms: i128) -> u64 {
    u64::try_from(ms / 1000).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000;
    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(NOW)
    }
    const FIVE_MIN: Duration = Duration::from_secs(300);

    #[test]
    fn accepts_the_edges_of_the_window() {
        let now_secs = NOW as i64;
        assert!(check_window_secs(now_secs, now(), FIVE_MIN).is_ok());
        assert!(check_window_secs(now_secs - 300, now(), FIVE_MIN).is_ok());
        assert!(check_window_secs(now_secs + 300, now(), FIVE_MIN).is_ok());
    }

    #[test]
    fn refuses_old_and_future_timestamps_with_their_distance() {
        let now_secs = NOW as i64;
        assert_eq!(
            check_window_secs(now_secs - 301, now(), FIVE_MIN),
            Err(VerifyError::Expired {
                age_secs: 301,
                tolerance_secs: 300
            })
        );
        assert_eq!(
            check_window_secs(now_secs + 3600, now(), FIVE_MIN),
            Err(VerifyError::FromFuture {
                ahead_secs: 3600,
                tolerance_secs: 300
            })
        );
    }

    #[test]
    fn millisecond_precision_counts() {
        let now_ms = i128::from(NOW) * 1000;
        let minute = Duration::from_secs(60);
        assert!(check_window_ms(now_ms - 60_000, now(), minute).is_ok());
        assert!(check_window_ms(now_ms - 60_001, now(), minute).is_err());
    }

    #[test]
    fn extreme_timestamps_do_not_overflow() {
        assert!(check_window_secs(i64::MIN, now(), FIVE_MIN).is_err());
        assert!(check_window_secs(i64::MAX, now(), FIVE_MIN).is_err());
        assert!(check_window_secs(0, UNIX_EPOCH - Duration::from_secs(10), FIVE_MIN).is_ok());
    }
}
