//! The mutation clock: every mutation gets a timestamp strictly later than any before it.

use std::sync::Mutex;
use std::sync::PoisonError;

use super::time::{Secs, now_secs};

/// Hands out mutation timestamps: the wall clock, but never equal to or before the last one.
///
/// Provider timestamps have one-second resolution, so two mutations within a second would collide
/// and an incremental sync keyed on `updated_at` could not tell them apart. Bumping by one second
/// instead lets the clock run slightly ahead of the wall clock under heavy mutation.
#[derive(Debug)]
pub struct MutationClock {
    last: Mutex<Secs>,
}

impl MutationClock {
    /// A clock whose first tick is after `floor` (the newest timestamp in the generated data).
    pub fn new(floor: Secs) -> Self {
        Self {
            last: Mutex::new(floor),
        }
    }

    /// The next timestamp: `max(now, last + 1)`.
    pub fn tick(&self) -> Secs {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        let next = now_secs().max(*last + 1);
        *last = next;
        next
    }

    /// Makes sure later ticks are after `t` (for data created outside `tick`).
    pub fn observe(&self, t: Secs) {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        *last = (*last).max(t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_strictly_increase_even_within_one_second() {
        let c = MutationClock::new(0);
        let a = c.tick();
        let b = c.tick();
        let d = c.tick();
        assert!(a < b && b < d);
    }

    #[test]
    fn ticks_after_a_future_floor() {
        let far = now_secs() + 10_000;
        let c = MutationClock::new(far);
        assert_eq!(c.tick(), far + 1);
    }
}
