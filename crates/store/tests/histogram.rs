//! The latency histogram's properties, on many deterministic pseudo-random samples:
//! merging is the same as recording everything into one, and quantiles are monotone,
//! never below the true quantile, never above the maximum, and within one bucket of it.

use continuo_store::{BUCKETS, Histogram};

/// xorshift64*: deterministic samples without a dependency.
struct Samples(u64);

impl Samples {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Latencies spread over every bucket: a random magnitude, then a random value in it.
    fn latencies(&mut self, n: usize) -> Vec<u64> {
        (0..n)
            .map(|_| {
                let bits = self.next() % 40;
                self.next() % (1u64 << bits).max(2)
            })
            .collect()
    }
}

fn histogram_of(latencies: &[u64]) -> Histogram {
    let mut h = Histogram::default();
    for &us in latencies {
        h.record(us);
    }
    h
}

/// The exact `q` quantile under the histogram's rank rule: the `ceil(q * n)`-th smallest.
fn exact_quantile(latencies: &[u64], q: f64) -> u64 {
    let mut sorted = latencies.to_vec();
    sorted.sort_unstable();
    let rank = ((q * sorted.len() as f64).ceil() as usize).max(1);
    sorted[rank - 1]
}

/// Upper bound of the last bounded bucket: 250 us doubled 19 times (~131 s).
const LAST_BOUND_US: u64 = 250 << (BUCKETS - 2);

const QUANTILES: [f64; 9] = [0.0, 0.01, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0];

#[test]
fn merging_equals_recording_everything() {
    let mut samples = Samples(0x5eed);
    for round in 0..200 {
        let n = (samples.next() % 50) as usize;
        let m = (samples.next() % 50) as usize;
        let a = samples.latencies(n);
        let b = samples.latencies(m);
        let mut merged = histogram_of(&a);
        merged.merge(&histogram_of(&b));
        let all: Vec<u64> = a.iter().chain(&b).copied().collect();
        assert_eq!(merged, histogram_of(&all), "round {round}");
        assert_eq!(merged.count(), (n + m) as u64);
        assert_eq!(merged.sum_us, all.iter().sum::<u64>());
        assert_eq!(merged.max_us, all.iter().copied().max().unwrap_or(0));
        // Merging is order-independent.
        let mut other_way = histogram_of(&b);
        other_way.merge(&histogram_of(&a));
        assert_eq!(merged, other_way, "round {round}");
    }
}

#[test]
fn merging_an_empty_histogram_changes_nothing() {
    let mut h = histogram_of(&[10, 2_000, 3_000_000]);
    let before = h.clone();
    h.merge(&Histogram::default());
    assert_eq!(h, before);
}

#[test]
fn quantiles_are_monotone_and_bounded() {
    let mut samples = Samples(42);
    for round in 0..300 {
        let n = 1 + (samples.next() % 200) as usize;
        let latencies = samples.latencies(n);
        let h = histogram_of(&latencies);
        let max = h.max_us;
        let mut previous = 0;
        for q in QUANTILES {
            let estimate = h.quantile_us(q).expect("not empty");
            let exact = exact_quantile(&latencies, q);
            assert!(estimate >= previous, "round {round}: q {q} went down");
            assert!(estimate <= max, "round {round}: q {q} above the maximum");
            assert!(
                estimate >= exact,
                "round {round}: q {q}: {estimate} < {exact}"
            );
            // Buckets double, so the bucket's upper bound is at most twice the value
            // (the first bucket is 0-250 us; the last is open-ended, capped by the max).
            if exact <= LAST_BOUND_US {
                assert!(
                    estimate <= exact.saturating_mul(2).max(250),
                    "round {round}: q {q}: {estimate} far above {exact}"
                );
            }
            previous = estimate;
        }
        assert_eq!(h.quantile_us(1.0), Some(max), "round {round}");
    }
}

/// One case: latencies recorded, then (quantile, expected estimate) pairs.
fn check(latencies: &[u64], expected: &[(f64, Option<u64>)]) {
    let h = histogram_of(latencies);
    for &(q, want) in expected {
        assert_eq!(h.quantile_us(q), want, "q {q} of {latencies:?}");
    }
}

#[test]
fn quantile_cases() {
    check(&[], &[(0.0, None), (0.5, None), (1.0, None)]);
    check(&[0], &[(0.0, Some(0)), (1.0, Some(0))]);
    // Bucket bounds: 250, 500, 1000, ... microseconds, capped by the maximum.
    check(&[250], &[(0.5, Some(250))]);
    check(&[251], &[(0.5, Some(251))]);
    check(&[251, 10_000], &[(0.5, Some(500)), (1.0, Some(10_000))]);
    check(&[1_000; 10], &[(0.1, Some(1_000)), (0.9, Some(1_000))]);
    check(
        &[100, 100, 100, 100, 100, 100, 100, 100, 100, 900_000],
        &[(0.5, Some(250)), (0.9, Some(250)), (0.91, Some(900_000))],
    );
    // Out-of-range quantiles are clamped.
    check(&[100, 5_000], &[(-1.0, Some(250)), (2.0, Some(5_000))]);
    // Beyond the last bounded bucket (~131 s) everything shares the open-ended one.
    check(&[u64::MAX / 2], &[(0.5, Some(u64::MAX / 2))]);
}

#[test]
fn every_latency_lands_in_exactly_one_bucket() {
    for us in [
        0,
        1,
        249,
        250,
        251,
        500,
        501,
        131_072_000,
        131_072_001,
        u64::MAX,
    ] {
        let h = histogram_of(&[us]);
        assert_eq!(h.count(), 1, "{us}");
        assert_eq!(h.counts.iter().filter(|&&c| c == 1).count(), 1, "{us}");
    }
    let h = histogram_of(&[u64::MAX]);
    assert_eq!(h.counts[BUCKETS - 1], 1);
    // The sum saturates rather than wrapping.
    let h = histogram_of(&[u64::MAX, u64::MAX]);
    assert_eq!(h.sum_us, u64::MAX);
}
