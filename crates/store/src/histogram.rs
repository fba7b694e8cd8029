//! A fixed-bucket latency histogram: mergeable by adding counts, so minute rollups add
//! up to hours and days in SQL without reading anything back.

/// Number of buckets: upper bounds 250 us, 500 us, 1 ms, ... doubling, up to ~2 min, plus
/// one open-ended bucket.
pub const BUCKETS: usize = 21;

/// Upper bound of bucket `i` in microseconds (`u64::MAX` for the last).
pub fn upper_bound_us(i: usize) -> u64 {
    if i + 1 >= BUCKETS {
        u64::MAX
    } else {
        250u64 << i
    }
}

/// Counts of latencies per bucket, with their sum and maximum.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Histogram {
    /// Count per bucket.
    pub counts: [u64; BUCKETS],
    /// Sum of all latencies, microseconds.
    pub sum_us: u64,
    /// Largest latency, microseconds.
    pub max_us: u64,
}

impl Histogram {
    /// Records one latency.
    pub fn record(&mut self, us: u64) {
        let i = (0..BUCKETS)
            .find(|&i| us <= upper_bound_us(i))
            .unwrap_or(BUCKETS - 1);
        self.counts[i] += 1;
        self.sum_us = self.sum_us.saturating_add(us);
        self.max_us = self.max_us.max(us);
    }

    /// Adds another histogram into this one.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            *a += b;
        }
        self.sum_us = self.sum_us.saturating_add(other.sum_us);
        self.max_us = self.max_us.max(other.max_us);
    }

    /// Number of latencies recorded.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The `q` quantile (0.0-1.0) as the upper bound of its bucket, capped by the maximum
    /// seen; `None` when empty.
    pub fn quantile_us(&self, q: f64) -> Option<u64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(upper_bound_us(i).min(self.max_us));
            }
        }
        Some(self.max_us)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_come_from_bucket_bounds() {
        let mut h = Histogram::default();
        assert_eq!(h.quantile_us(0.5), None);
        for us in [100, 200, 300, 900, 1_500, 40_000] {
            h.record(us);
        }
        assert_eq!(h.count(), 6);
        assert_eq!(h.quantile_us(0.5), Some(500)); // 3rd of 6 falls in (250, 500]
        assert_eq!(h.quantile_us(0.99), Some(40_000)); // capped by the max
        assert_eq!(h.max_us, 40_000);
        let mut other = Histogram::default();
        other.record(10);
        h.merge(&other);
        assert_eq!(h.count(), 7);
        assert_eq!(h.sum_us, 100 + 200 + 300 + 900 + 1_500 + 40_000 + 10);
        let mut huge = Histogram::default();
        huge.record(u64::MAX / 2);
        assert_eq!(huge.counts[BUCKETS - 1], 1);
    }
}
