//! Latency percentiles from raw samples (a sorted `Vec` is exact and cheap at benchmark sizes).

use serde::Serialize;

/// Percentiles of a set of latencies, in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LatencySummary {
    /// Number of samples.
    pub count: usize,
    /// Median.
    pub p50_us: u64,
    /// 90th percentile.
    pub p90_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Largest sample.
    pub max_us: u64,
    /// Arithmetic mean.
    pub mean_us: u64,
}

impl LatencySummary {
    /// Summarises `samples` (sorted in place); all zeros when there are none.
    pub fn from_micros(samples: &mut [u64]) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        samples.sort_unstable();
        let sum: u128 = samples.iter().map(|&s| u128::from(s)).sum();
        Self {
            count: samples.len(),
            p50_us: percentile(samples, 50.0),
            p90_us: percentile(samples, 90.0),
            p99_us: percentile(samples, 99.0),
            p999_us: percentile(samples, 99.9),
            max_us: samples[samples.len() - 1],
            mean_us: (sum / samples.len() as u128) as u64,
        }
    }
}

/// The nearest-rank percentile `p` (0-100) of sorted, non-empty `sorted`.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles_of_one_to_a_hundred() {
        let mut v: Vec<u64> = (1..=100).rev().collect();
        let s = LatencySummary::from_micros(&mut v);
        assert_eq!((s.p50_us, s.p90_us, s.p99_us, s.max_us), (50, 90, 99, 100));
        assert_eq!(s.count, 100);
        assert_eq!(s.mean_us, 50);
    }

    #[test]
    fn single_sample_is_every_percentile() {
        let s = LatencySummary::from_micros(&mut [7]);
        assert_eq!((s.p50_us, s.p99_us, s.p999_us, s.max_us), (7, 7, 7, 7));
    }

    #[test]
    fn no_samples_gives_zeros() {
        assert_eq!(
            LatencySummary::from_micros(&mut []),
            LatencySummary::default()
        );
    }
}
