//! The status page's uptime query (`Store::day_counts`): day rollups of a set of checks,
//! summed over locations; a day without observations is absent (the page shows "no
//! data"). On SQLite and on PostgreSQL (the shared harness in `continuo_store::testing`).

use continuo_core::observation::{Measurement, Observation, Timings};
use continuo_core::state::Verdict;
use continuo_store::writer::{Record, Writer, WriterConfig};
use continuo_store::{DayCount, Store, backends};

backends!(day_counts_sum_locations_and_leave_out_days_without_data);

/// 2026-01-01T00:00:00Z.
const DAY0: i64 = 1_767_225_600_000;
const DAY: i64 = 86_400_000;

fn observation(check: &str, location: &str, at_ms: i64, verdict: Verdict) -> Observation {
    Observation {
        check_id: check.to_string(),
        location: location.to_string(),
        at_ms,
        measurement: Measurement {
            verdict,
            message: String::new(),
            code: None,
            timings: Timings {
                total_us: 1_000,
                ..Timings::default()
            },
        },
    }
}

async fn day_counts_sum_locations_and_leave_out_days_without_data(store: Store) {
    let writer = Writer::spawn(store.clone(), WriterConfig::default());
    // Day 0: two locations, one failure of four. Day 1: nothing. Day 2: one success.
    for (check, location, at, verdict) in [
        ("web", "ams", DAY0 + 1_000, Verdict::Success),
        ("web", "ams", DAY0 + 2_000, Verdict::Failure),
        ("web", "fra", DAY0 + 3_000, Verdict::Success),
        ("web", "fra", DAY0 + 4_000, Verdict::Success),
        ("web", "ams", DAY0 + 2 * DAY + 5, Verdict::Success),
        ("db", "ams", DAY0 + 5, Verdict::Failure),
        ("other", "ams", DAY0 + 5, Verdict::Success),
    ] {
        writer.submit(Record::Observation(observation(
            check, location, at, verdict,
        )));
    }
    writer.flush().await;
    assert!(writer.status().healthy(), "{:?}", writer.status());
    let checks = vec!["web".to_string(), "db".to_string()];
    let rows = store
        .day_counts(&checks, DAY0, DAY0 + 90 * DAY)
        .await
        .expect("query");
    let day = |check: &str, day_ms: i64, count: u64, failures: u64| DayCount {
        check_id: check.into(),
        day_ms,
        count,
        failures,
    };
    assert_eq!(
        rows,
        vec![
            day("db", DAY0, 1, 1),
            day("web", DAY0, 4, 1),
            day("web", DAY0 + 2 * DAY, 1, 0),
        ]
    );
    // The period's end is exclusive, and no checks means no query.
    let first_day = store
        .day_counts(&checks, DAY0, DAY0 + DAY)
        .await
        .expect("query");
    assert_eq!(first_day.len(), 2);
    assert!(
        store
            .day_counts(&[], DAY0, DAY0 + DAY)
            .await
            .expect("query")
            .is_empty()
    );
}
