//! The store's behaviour, one suite run against both backends: every case is an
//! `async fn(&TestDb)`, and `backends!` (the shared harness in `continuo_store::testing`)
//! turns it into `sqlite::<case>` (a temporary file) and `postgres::<case>` (the local
//! server at `continuo_store::testing::POSTGRES_URL`, trust auth, which `.ci/run` sets up). Each PostgreSQL test
//! gets its own schema, so the tests run in parallel.
//!
//! No timing thresholds: writes are awaited with `Writer::flush`, and waiting for the
//! writer to recover polls with a generous deadline.

use continuo_core::observation::{Measurement, Observation, Timings};
use continuo_core::state::{CheckState, CheckStatus, Transition, Verdict};
use continuo_store::backends;
use continuo_store::testing::{TestDb, drop_schema};
use continuo_store::writer::{NotStored, Record, Writer, WriterConfig, WriterStatus};
use continuo_store::{
    BookChanges, Histogram, Outcome, Ping, PingKind, Resolution, Rollup, Store, StoredTransition,
};
use serde_json::json;
use std::collections::VecDeque;
use std::time::Duration;

/// 2026-01-01T00:00:00Z: the start of a UTC day, hour and minute.
const DAY0: i64 = 1_767_225_600_000;
const SECOND: i64 = 1_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

backends!(
    migrations_are_idempotent,
    observations_round_trip_newest_first,
    transitions_round_trip_newest_first,
    check_states_keep_the_newest_per_check_and_location,
    pings_newest_first_with_limit,
    rollups_per_minute_hour_and_day,
    rollups_of_later_batches_add_up,
    prune_drops_old_raw_data_but_keeps_history,
    settings_round_trip,
    outbox_keeps_one_row_per_key_and_walks_its_states,
    outbox_never_sends_a_resolution_before_its_page,
    maintenance_windows_round_trip,
    incidents_are_saved_with_the_alert_book_and_listed,
    service_events_are_listed_newest_first,
    writer_buffers_through_an_outage_and_catches_up,
    a_refused_batch_is_a_warning_event_and_recovery_an_info_event,
    writer_keeps_the_newest_when_the_buffer_overflows,
    submit_wait_pushes_back_but_never_hangs_on_an_outage,
    a_panicking_writer_restarts_with_its_buffer,
    submit_durable_answers_after_the_commit,
);

fn writer(store: &Store) -> Writer {
    Writer::spawn(store.clone(), WriterConfig::default())
}

fn timings(total_us: u64) -> Timings {
    Timings {
        total_us,
        ..Timings::default()
    }
}

fn observation(
    check: &str,
    location: &str,
    at_ms: i64,
    verdict: Verdict,
    total_us: u64,
) -> Observation {
    Observation {
        check_id: check.to_string(),
        location: location.to_string(),
        at_ms,
        measurement: Measurement {
            verdict,
            message: format!("{verdict:?} at {at_ms}"),
            code: None,
            timings: timings(total_us),
        },
    }
}

fn transition(from: CheckStatus, to: CheckStatus, at_ms: i64, flapping: bool) -> Transition {
    Transition {
        from,
        to,
        at_ms,
        flapping,
    }
}

fn ping(check: &str, at_ms: i64, kind: PingKind, body: &str) -> Ping {
    Ping {
        check_id: check.to_string(),
        at_ms,
        kind,
        exit_code: None,
        rid: None,
        duration_ms: None,
        body: body.to_string(),
        source: "127.0.0.1".to_string(),
    }
}

/// Flushes until `done` holds, failing after a deadline far beyond any backoff.
async fn flush_until(writer: &Writer, what: &str, done: impl Fn(&WriterStatus) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        writer.flush().await;
        if done(writer.status()) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting for the writer: {what}; status {:?}",
            writer.status()
        );
    }
}

async fn migrations_are_idempotent(db: &TestDb) {
    let writer = writer(&db.store);
    writer.submit(Record::Observation(observation(
        "api",
        "home",
        DAY0,
        Verdict::Success,
        1_000,
    )));
    writer.flush().await;
    db.store
        .set_setting("secret", &json!("s3cr3t"))
        .await
        .expect("set");

    // Opening again migrates again: that must neither fail nor touch the data.
    let again = db.reopen().await;
    let third = db.reopen().await;
    assert_eq!(again.observations("api", 10).await.expect("read").len(), 1);
    assert_eq!(
        third.setting("secret").await.expect("read"),
        Some(json!("s3cr3t"))
    );
    // And the reopened schema takes writes.
    let writer = Writer::spawn(third.clone(), WriterConfig::default());
    writer.submit(Record::Observation(observation(
        "api",
        "home",
        DAY0 + SECOND,
        Verdict::Success,
        1_000,
    )));
    writer.flush().await;
    assert!(writer.status().healthy(), "{:?}", writer.status());
    assert_eq!(
        db.store.observations("api", 10).await.expect("read").len(),
        2
    );
}

async fn observations_round_trip_newest_first(db: &TestDb) {
    let full = Observation {
        check_id: "shop-http".to_string(),
        location: "paris".to_string(),
        at_ms: DAY0 + 2 * SECOND,
        measurement: Measurement {
            verdict: Verdict::Success,
            message: "200 OK in 42 ms".to_string(),
            code: Some(200),
            timings: Timings {
                dns_us: Some(1_200),
                connect_us: Some(3_400),
                tls_us: Some(15_000),
                first_byte_us: Some(20_000),
                total_us: 42_000,
            },
        },
    };
    let failed = Observation {
        check_id: "shop-http".to_string(),
        location: "paris".to_string(),
        at_ms: DAY0 + 3 * SECOND,
        measurement: Measurement::failure(
            "connection refused (os error 111): l'hôte « shop » ne répond pas",
            Timings {
                dns_us: Some(900),
                total_us: 1_500,
                ..Timings::default()
            },
        ),
    };
    let degraded = Observation {
        check_id: "shop-http".to_string(),
        location: "london".to_string(),
        at_ms: DAY0 + 4 * SECOND,
        measurement: Measurement {
            verdict: Verdict::Degraded,
            message: "slow: 2.1 s".to_string(),
            code: Some(-1),
            timings: timings(2_100_000),
        },
    };
    let unknown = Observation {
        check_id: "shop-http".to_string(),
        location: "paris".to_string(),
        at_ms: DAY0 + SECOND,
        measurement: Measurement {
            verdict: Verdict::Unknown,
            message: String::new(),
            code: None,
            timings: timings(0),
        },
    };
    let other = observation("db-tcp", "paris", DAY0 + 5 * SECOND, Verdict::Success, 300);

    let writer = writer(&db.store);
    for o in [&full, &failed, &degraded, &unknown, &other] {
        writer.submit(Record::Observation(o.clone()));
    }
    writer.flush().await;
    assert!(writer.status().healthy(), "{:?}", writer.status());
    assert_eq!(writer.status().written(), 5);
    assert_eq!(writer.status().pending(), 0);

    let newest_first = vec![degraded.clone(), failed.clone(), full.clone(), unknown];
    assert_eq!(
        db.store.observations("shop-http", 10).await.expect("read"),
        newest_first
    );
    assert_eq!(
        db.store.observations("shop-http", 2).await.expect("read"),
        vec![degraded, failed]
    );
    assert_eq!(
        db.store.observations("db-tcp", 10).await.expect("read"),
        vec![other]
    );
    assert!(
        db.store
            .observations("nobody", 10)
            .await
            .expect("read")
            .is_empty()
    );
}

async fn transitions_round_trip_newest_first(db: &TestDb) {
    use CheckStatus::*;
    let stored = |location: &str, t: Transition| StoredTransition {
        check_id: "api".to_string(),
        location: location.to_string(),
        transition: t,
    };
    let history = [
        stored("paris", transition(Unknown, Up, DAY0, false)),
        stored("paris", transition(Up, Down, DAY0 + MINUTE, false)),
        stored("london", transition(Up, Degraded, DAY0 + 2 * MINUTE, false)),
        stored("paris", transition(Down, Up, DAY0 + 3 * MINUTE, true)),
        stored("paris", transition(Up, Paused, DAY0 + 4 * MINUTE, true)),
    ];
    let writer = writer(&db.store);
    // Across two batches, to see that later batches append.
    for (i, t) in history.iter().enumerate() {
        writer.submit(Record::Transition {
            check_id: t.check_id.clone(),
            location: t.location.clone(),
            transition: t.transition,
        });
        if i == 1 {
            writer.flush().await;
        }
    }
    writer.submit(Record::Transition {
        check_id: "db".to_string(),
        location: "paris".to_string(),
        transition: transition(Unknown, Down, DAY0 + 10 * MINUTE, false),
    });
    writer.flush().await;
    assert!(writer.status().healthy(), "{:?}", writer.status());

    let mut newest_first = history.to_vec();
    newest_first.reverse();
    assert_eq!(
        db.store.transitions("api", 100).await.expect("read"),
        newest_first
    );
    assert_eq!(
        db.store.transitions("api", 2).await.expect("read"),
        newest_first[..2]
    );
    assert_eq!(
        db.store.transitions("db", 100).await.expect("read").len(),
        1
    );
}

async fn check_states_keep_the_newest_per_check_and_location(db: &TestDb) {
    let state = |status: CheckStatus, failures: u32, since_ms: i64| CheckState {
        status,
        since_ms: Some(since_ms),
        failures,
        degraded: 1,
        successes: 2,
        recent_transitions: VecDeque::from([since_ms - MINUTE, since_ms]),
        flapping: failures > 2,
        first_failure_ms: (failures > 0).then_some(since_ms - MINUTE),
    };
    let record = |check: &str, location: &str, state: &CheckState, at_ms: i64| Record::State {
        check_id: check.to_string(),
        location: location.to_string(),
        state: state.clone(),
        at_ms,
    };
    let writer = writer(&db.store);
    let api_first = state(CheckStatus::Up, 0, DAY0);
    let api_second = state(CheckStatus::Down, 1, DAY0 + MINUTE);
    let api_third = state(CheckStatus::Down, 3, DAY0 + 2 * MINUTE);
    let db_state = state(CheckStatus::Degraded, 0, DAY0);
    let api_london = state(CheckStatus::Up, 0, DAY0 + 5 * MINUTE);
    // The same check and location twice in one batch: PostgreSQL refuses an upsert that
    // touches a row twice, so the writer must keep only the newest.
    writer.submit(record("api", "paris", &api_first, DAY0));
    writer.submit(record("db", "paris", &db_state, DAY0));
    writer.submit(record("api", "paris", &api_second, DAY0 + MINUTE));
    writer.submit(record("api", "london", &api_london, DAY0 + 5 * MINUTE));
    writer.flush().await;
    assert!(writer.status().healthy(), "{:?}", writer.status());
    assert_eq!(
        db.store.check_states("paris").await.expect("read"),
        vec![
            ("api".to_string(), api_second),
            ("db".to_string(), db_state.clone())
        ]
    );
    // A later batch replaces the row.
    writer.submit(record("api", "paris", &api_third, DAY0 + 2 * MINUTE));
    writer.flush().await;
    assert_eq!(
        db.store.check_states("paris").await.expect("read"),
        vec![("api".to_string(), api_third), ("db".to_string(), db_state)]
    );
    assert_eq!(
        db.store.check_states("london").await.expect("read"),
        vec![("api".to_string(), api_london)]
    );
    assert!(
        db.store
            .check_states("tokyo")
            .await
            .expect("read")
            .is_empty()
    );
}

async fn pings_newest_first_with_limit(db: &TestDb) {
    let start = Ping {
        rid: Some("run-1".to_string()),
        ..ping("backup", DAY0, PingKind::Start, "")
    };
    let log = ping(
        "backup",
        DAY0 + SECOND,
        PingKind::Log,
        "copied 10 GB\nstill going",
    );
    let success = Ping {
        rid: Some("run-1".to_string()),
        exit_code: Some(0),
        duration_ms: Some(95_000),
        source: "::1".to_string(),
        ..ping("backup", DAY0 + 95 * SECOND, PingKind::Success, "done ✓")
    };
    // Two pings in the same millisecond: the later arrival is the newer one.
    let fail = Ping {
        exit_code: Some(2),
        ..ping("backup", DAY0 + 200 * SECOND, PingKind::Fail, "disk full")
    };
    let fail_again = Ping {
        exit_code: Some(3),
        ..ping("backup", DAY0 + 200 * SECOND, PingKind::Fail, "still full")
    };
    let other = ping("nightly", DAY0, PingKind::Success, "");
    let writer = writer(&db.store);
    for p in [&start, &log, &success, &fail] {
        writer.submit(Record::Ping(p.clone()));
    }
    writer.flush().await;
    // The tie must hold across batches too.
    writer.submit(Record::Ping(fail_again.clone()));
    writer.submit(Record::Ping(other.clone()));
    writer.flush().await;
    assert!(writer.status().healthy(), "{:?}", writer.status());

    assert_eq!(
        db.store.pings("backup", 10).await.expect("read"),
        vec![fail_again.clone(), fail.clone(), success, log, start]
    );
    assert_eq!(
        db.store.pings("backup", 2).await.expect("read"),
        vec![fail_again, fail]
    );
    assert_eq!(
        db.store.pings("nightly", 10).await.expect("read"),
        vec![other]
    );
}

fn histogram_of(latencies: &[u64]) -> Histogram {
    let mut h = Histogram::default();
    for &us in latencies {
        h.record(us);
    }
    h
}

async fn rollups_per_minute_hour_and_day(db: &TestDb) {
    let v = Verdict::Success;
    let observations = [
        // Minute 0 of hour 0: one failure in three.
        observation("api", "paris", DAY0 + 10 * SECOND, v, 1_000),
        observation(
            "api",
            "paris",
            DAY0 + 20 * SECOND,
            Verdict::Failure,
            300_000,
        ),
        observation("api", "paris", DAY0 + 59 * SECOND, Verdict::Degraded, 5_000),
        // Minute 1 of hour 0.
        observation("api", "paris", DAY0 + MINUTE, v, 100),
        // Hour 5; the same minute at another location.
        observation("api", "paris", DAY0 + 5 * HOUR, v, 2_000),
        observation(
            "api",
            "london",
            DAY0 + 5 * HOUR + SECOND,
            Verdict::Failure,
            9_000,
        ),
        // The next day.
        observation("api", "paris", DAY0 + DAY, v, 700),
        // Another check in the same buckets: kept apart.
        observation("db", "paris", DAY0, Verdict::Failure, 1),
    ];
    let writer = writer(&db.store);
    for o in &observations {
        writer.submit(Record::Observation(o.clone()));
    }
    writer.flush().await;
    assert!(writer.status().healthy(), "{:?}", writer.status());

    let rollup = |location: &str,
                  resolution: Resolution,
                  bucket_ms: i64,
                  (count, failures, degraded): (u64, u64, u64),
                  latencies: &[u64]| Rollup {
        check_id: "api".to_string(),
        location: location.to_string(),
        resolution,
        bucket_ms,
        count,
        failures,
        degraded,
        latency: histogram_of(latencies),
    };
    let minutes = db
        .store
        .rollups("api", Resolution::Minute, DAY0, DAY0 + 2 * DAY)
        .await
        .expect("read");
    assert_eq!(
        minutes,
        vec![
            rollup(
                "paris",
                Resolution::Minute,
                DAY0,
                (3, 1, 1),
                &[1_000, 300_000, 5_000]
            ),
            rollup(
                "paris",
                Resolution::Minute,
                DAY0 + MINUTE,
                (1, 0, 0),
                &[100]
            ),
            rollup(
                "london",
                Resolution::Minute,
                DAY0 + 5 * HOUR,
                (1, 1, 0),
                &[9_000]
            ),
            rollup(
                "paris",
                Resolution::Minute,
                DAY0 + 5 * HOUR,
                (1, 0, 0),
                &[2_000]
            ),
            rollup("paris", Resolution::Minute, DAY0 + DAY, (1, 0, 0), &[700]),
        ]
    );
    let hours = db
        .store
        .rollups("api", Resolution::Hour, DAY0, DAY0 + 2 * DAY)
        .await
        .expect("read");
    assert_eq!(
        hours,
        vec![
            rollup(
                "paris",
                Resolution::Hour,
                DAY0,
                (4, 1, 1),
                &[1_000, 300_000, 5_000, 100]
            ),
            rollup(
                "london",
                Resolution::Hour,
                DAY0 + 5 * HOUR,
                (1, 1, 0),
                &[9_000]
            ),
            rollup(
                "paris",
                Resolution::Hour,
                DAY0 + 5 * HOUR,
                (1, 0, 0),
                &[2_000]
            ),
            rollup("paris", Resolution::Hour, DAY0 + DAY, (1, 0, 0), &[700]),
        ]
    );
    let days = db
        .store
        .rollups("api", Resolution::Day, DAY0, DAY0 + 2 * DAY)
        .await
        .expect("read");
    let paris_day = rollup(
        "paris",
        Resolution::Day,
        DAY0,
        (5, 1, 1),
        &[1_000, 300_000, 5_000, 100, 2_000],
    );
    assert_eq!(
        days,
        vec![
            rollup("london", Resolution::Day, DAY0, (1, 1, 0), &[9_000]),
            paris_day.clone(),
            rollup("paris", Resolution::Day, DAY0 + DAY, (1, 0, 0), &[700]),
        ]
    );
    // What a report reads off a rollup: availability and latency quantiles.
    assert_eq!(paris_day.availability(), Some(0.8));
    assert_eq!(days[0].availability(), Some(0.0));
    let latency = &days[1].latency;
    assert_eq!(latency.count(), 5);
    assert_eq!(latency.sum_us, 308_100);
    assert_eq!(latency.max_us, 300_000);
    assert_eq!(latency.quantile_us(0.0), Some(250)); // 100 us: the first bucket
    assert_eq!(latency.quantile_us(0.5), Some(2_000)); // 2 ms: bucket (1 ms, 2 ms]
    assert_eq!(latency.quantile_us(0.8), Some(8_000)); // 5 ms: bucket (4 ms, 8 ms]
    assert_eq!(latency.quantile_us(1.0), Some(300_000)); // capped by the maximum

    // The range is inclusive of its start, exclusive of its end.
    let first_hour = db
        .store
        .rollups("api", Resolution::Minute, DAY0, DAY0 + MINUTE)
        .await
        .expect("read");
    assert_eq!(first_hour.len(), 1);
    assert_eq!(first_hour[0].bucket_ms, DAY0);
    let db_minutes = db
        .store
        .rollups("db", Resolution::Minute, DAY0, DAY0 + DAY)
        .await
        .expect("read");
    assert_eq!(db_minutes.len(), 1);
    assert_eq!(db_minutes[0].availability(), Some(0.0));
}

async fn rollups_of_later_batches_add_up(db: &TestDb) {
    let at = |s: i64| DAY0 + HOUR + s * SECOND;
    let first = writer(&db.store);
    first.submit(Record::Observation(observation(
        "api",
        "paris",
        at(1),
        Verdict::Success,
        1_000,
    )));
    first.submit(Record::Observation(observation(
        "api",
        "paris",
        at(2),
        Verdict::Failure,
        50_000,
    )));
    first.flush().await;
    first.submit(Record::Observation(observation(
        "api",
        "paris",
        at(3),
        Verdict::Degraded,
        400,
    )));
    first.submit(Record::Observation(observation(
        "api",
        "paris",
        at(4),
        Verdict::Failure,
        70_000,
    )));
    first.flush().await;
    // A second writer, as after a restart: its deltas add to the same rows.
    let second = writer(&db.store);
    second.submit(Record::Observation(observation(
        "api",
        "paris",
        at(5),
        Verdict::Success,
        600,
    )));
    second.flush().await;
    assert!(first.status().healthy(), "{:?}", first.status());
    assert!(second.status().healthy(), "{:?}", second.status());

    let all = histogram_of(&[1_000, 50_000, 400, 70_000, 600]);
    for resolution in Resolution::ALL {
        let rows = db
            .store
            .rollups("api", resolution, DAY0, DAY0 + DAY)
            .await
            .expect("read");
        assert_eq!(
            rows,
            vec![Rollup {
                check_id: "api".to_string(),
                location: "paris".to_string(),
                resolution,
                bucket_ms: resolution.bucket(at(1)),
                count: 5,
                failures: 2,
                degraded: 1,
                latency: all.clone(),
            }],
            "{resolution:?}"
        );
        assert_eq!(rows[0].availability(), Some(0.6));
        assert_eq!(rows[0].latency.max_us, 70_000);
    }
}

async fn prune_drops_old_raw_data_but_keeps_history(db: &TestDb) {
    let now = DAY0 + 30 * DAY;
    let old = now - 10 * DAY;
    let recent = now - HOUR;
    let writer = writer(&db.store);
    writer.submit(Record::Observation(observation(
        "api",
        "paris",
        old,
        Verdict::Failure,
        1_000,
    )));
    writer.submit(Record::Observation(observation(
        "api",
        "paris",
        recent,
        Verdict::Success,
        2_000,
    )));
    writer.submit(Record::Transition {
        check_id: "api".to_string(),
        location: "paris".to_string(),
        transition: transition(CheckStatus::Up, CheckStatus::Down, old, false),
    });
    writer.submit(Record::Ping(ping("backup", old, PingKind::Success, "old")));
    writer.submit(Record::Ping(ping(
        "backup",
        recent,
        PingKind::Success,
        "recent",
    )));
    writer.flush().await;
    assert!(writer.status().healthy(), "{:?}", writer.status());

    let deleted = db
        .store
        .prune(now, Duration::from_secs(7 * 86_400))
        .await
        .expect("prune");
    // The old observation, the old ping, and the old minute rollup (kept two days).
    assert_eq!(deleted, 3);
    let observations = db.store.observations("api", 10).await.expect("read");
    assert_eq!(observations.len(), 1);
    assert_eq!(observations[0].at_ms, recent);
    let pings = db.store.pings("backup", 10).await.expect("read");
    assert_eq!(pings.len(), 1);
    assert_eq!(pings[0].body, "recent");
    // Transitions and the coarser rollups outlive the raw data.
    assert_eq!(
        db.store.transitions("api", 10).await.expect("read").len(),
        1
    );
    let count_at = |rows: Vec<Rollup>, bucket: i64| {
        rows.iter()
            .find(|r| r.bucket_ms == bucket)
            .map(|r| (r.count, r.failures))
    };
    let minutes = db
        .store
        .rollups("api", Resolution::Minute, 0, now)
        .await
        .expect("read");
    assert_eq!(
        count_at(minutes.clone(), Resolution::Minute.bucket(old)),
        None
    );
    assert_eq!(
        count_at(minutes, Resolution::Minute.bucket(recent)),
        Some((1, 0))
    );
    for resolution in [Resolution::Hour, Resolution::Day] {
        let rows = db
            .store
            .rollups("api", resolution, 0, now)
            .await
            .expect("read");
        assert_eq!(
            count_at(rows, resolution.bucket(old)),
            Some((1, 1)),
            "{resolution:?}"
        );
    }

    // Pruning again finds nothing more.
    assert_eq!(
        db.store
            .prune(now, Duration::from_secs(7 * 86_400))
            .await
            .expect("prune"),
        0
    );
}

async fn settings_round_trip(db: &TestDb) {
    assert_eq!(db.store.setting("leader").await.expect("read"), None);
    let first = json!({"node": "a", "term": 1, "since_ms": DAY0, "tags": ["x", "ü"], "nested": {"ok": true}});
    db.store.set_setting("leader", &first).await.expect("set");
    db.store
        .set_setting("secret", &json!("k3y"))
        .await
        .expect("set");
    assert_eq!(db.store.setting("leader").await.expect("read"), Some(first));
    // Setting again replaces.
    let second = json!({"node": "b", "term": 2});
    db.store.set_setting("leader", &second).await.expect("set");
    assert_eq!(
        db.store.setting("leader").await.expect("read"),
        Some(second)
    );
    assert_eq!(
        db.store.setting("secret").await.expect("read"),
        Some(json!("k3y"))
    );
    db.store
        .set_setting("nothing", &serde_json::Value::Null)
        .await
        .expect("set");
    assert_eq!(
        db.store.setting("nothing").await.expect("read"),
        Some(serde_json::Value::Null)
    );
}

/// Takes the observations table away, as an outage would: every write fails until
/// [`restore_observations`] puts it back.
async fn break_observations(db: &TestDb) {
    db.execute("ALTER TABLE observations RENAME TO observations_away")
        .await;
}

async fn restore_observations(db: &TestDb) {
    db.execute("ALTER TABLE observations_away RENAME TO observations")
        .await;
}

async fn writer_buffers_through_an_outage_and_catches_up(db: &TestDb) {
    let writer = writer(&db.store);
    let before = observation("api", "paris", DAY0, Verdict::Success, 1_000);
    writer.submit(Record::Observation(before.clone()));
    writer.flush().await;
    assert!(writer.status().healthy(), "{:?}", writer.status());

    break_observations(db).await;
    let during: Vec<Observation> = (1..=5)
        .map(|i| observation("api", "paris", DAY0 + i * SECOND, Verdict::Failure, 2_000))
        .collect();
    for o in &during {
        writer.submit(Record::Observation(o.clone()));
    }
    writer.submit(Record::Transition {
        check_id: "api".to_string(),
        location: "paris".to_string(),
        transition: transition(CheckStatus::Up, CheckStatus::Down, DAY0 + 5 * SECOND, false),
    });
    writer.flush().await;
    let status = writer.status();
    assert!(!status.healthy(), "the write must fail: {status:?}");
    let error = status.last_error().expect("a last error while unhealthy");
    assert!(error.contains("observations"), "{error}");
    assert_eq!(status.pending(), 6, "{status:?}");
    assert_eq!(status.written(), 1);
    assert_eq!(status.dropped(), 0);
    // A failed batch is all or nothing: the transition waits with the observations.
    assert!(
        db.store
            .transitions("api", 10)
            .await
            .expect("read")
            .is_empty()
    );
    // Reads of what is already stored still work.
    db.store.ping().await.expect("the database itself answers");

    restore_observations(db).await;
    flush_until(&writer, "catch up after the outage", |s| {
        s.healthy() && s.pending() == 0
    })
    .await;
    assert_eq!(writer.status().last_error(), None);
    assert_eq!(writer.status().written(), 7);
    let mut expected: Vec<Observation> = during.clone();
    expected.insert(0, before);
    expected.reverse();
    assert_eq!(
        db.store.observations("api", 10).await.expect("read"),
        expected
    );
    assert_eq!(
        db.store.transitions("api", 10).await.expect("read").len(),
        1
    );
    // The rollups held back during the outage were applied exactly once.
    let minute = db
        .store
        .rollups("api", Resolution::Minute, DAY0, DAY0 + MINUTE)
        .await
        .expect("read");
    assert_eq!(minute.len(), 1);
    assert_eq!((minute[0].count, minute[0].failures), (6, 5));
}

async fn writer_keeps_the_newest_when_the_buffer_overflows(db: &TestDb) {
    let config = WriterConfig {
        buffer_capacity: 4,
        ..WriterConfig::default()
    };
    let writer = Writer::spawn(db.store.clone(), config);
    break_observations(db).await;
    let all: Vec<Observation> = (0..10)
        .map(|i| observation("api", "paris", DAY0 + i * SECOND, Verdict::Success, 1_000))
        .collect();
    for o in &all {
        // `submit` is not async: it cannot wait for the database.
        writer.submit(Record::Observation(o.clone()));
    }
    writer.flush().await;
    let status = writer.status();
    assert!(!status.healthy(), "{status:?}");
    assert!(status.last_error().is_some(), "{status:?}");
    assert_eq!(status.pending(), 4, "{status:?}");
    assert_eq!(status.dropped(), 6, "{status:?}");

    restore_observations(db).await;
    flush_until(&writer, "catch up after the outage", |s| {
        s.healthy() && s.pending() == 0
    })
    .await;
    assert_eq!(writer.status().dropped(), 6);
    assert_eq!(writer.status().written(), 4);
    // The oldest went; the newest four remain.
    let mut newest: Vec<Observation> = all[6..].to_vec();
    newest.reverse();
    assert_eq!(
        db.store.observations("api", 100).await.expect("read"),
        newest
    );
    // Rollups are counted from the batches written, so they agree with the raw rows.
    let minute = db
        .store
        .rollups("api", Resolution::Minute, DAY0, DAY0 + MINUTE)
        .await
        .expect("read");
    assert_eq!(minute[0].count, 4);
}

async fn submit_wait_pushes_back_but_never_hangs_on_an_outage(db: &TestDb) {
    let config = WriterConfig {
        batch_size: 2,
        buffer_capacity: 3,
        ..WriterConfig::default()
    };
    let writer = Writer::spawn(db.store.clone(), config);
    // While the database keeps up, a full buffer makes the producer wait: nothing lost.
    let healthy: Vec<Observation> = (0..10)
        .map(|i| observation("api", "paris", DAY0 + i * SECOND, Verdict::Success, 1_000))
        .collect();
    for o in &healthy {
        writer.submit_wait(Record::Observation(o.clone())).await;
    }
    writer.flush().await;
    assert_eq!(writer.status().dropped(), 0, "{:?}", writer.status());
    assert_eq!(
        db.store.observations("api", 100).await.expect("read").len(),
        10
    );

    // While it is down, waiting could last forever: the oldest go instead.
    break_observations(db).await;
    writer.submit(Record::Observation(observation(
        "api",
        "paris",
        DAY0 + MINUTE,
        Verdict::Success,
        1,
    )));
    writer.flush().await;
    assert!(!writer.status().healthy(), "{:?}", writer.status());
    for i in 1..=5 {
        let at = DAY0 + MINUTE + i * SECOND;
        writer
            .submit_wait(Record::Observation(observation(
                "api",
                "paris",
                at,
                Verdict::Success,
                1,
            )))
            .await;
    }
    assert_eq!(writer.status().pending(), 3, "{:?}", writer.status());
    assert_eq!(writer.status().dropped(), 3, "{:?}", writer.status());
    restore_observations(db).await;
    flush_until(&writer, "catch up after the outage", |s| {
        s.healthy() && s.pending() == 0
    })
    .await;
    let stored = db.store.observations("api", 3).await.expect("read");
    let times: Vec<i64> = stored.iter().map(|o| o.at_ms).collect();
    assert_eq!(
        times,
        [5, 4, 3].map(|i| DAY0 + MINUTE + i * SECOND),
        "the newest three"
    );
}

/// What a [`Recorder`] saw: the level, target and fields (`message` included) of one
/// event, each field as its `Debug` text.
#[derive(Debug)]
struct RecordedEvent {
    level: tracing::Level,
    target: String,
    fields: std::collections::BTreeMap<String, String>,
}

/// A `tracing` subscriber that keeps every event, for tests that assert a failure was
/// reported rather than swallowed.
#[derive(Clone, Default)]
struct Recorder {
    events: std::sync::Arc<std::sync::Mutex<Vec<RecordedEvent>>>,
}

struct FieldText<'a>(&'a mut std::collections::BTreeMap<String, String>);

impl tracing::field::Visit for FieldText<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
}

impl tracing::Subscriber for Recorder {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = std::collections::BTreeMap::new();
        event.record(&mut FieldText(&mut fields));
        let recorded = RecordedEvent {
            level: *event.metadata().level(),
            target: event.metadata().target().to_string(),
            fields,
        };
        self.events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(recorded);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

impl Recorder {
    /// The writer's events at `level` so far.
    fn writer_events(
        &self,
        level: tracing::Level,
    ) -> Vec<std::collections::BTreeMap<String, String>> {
        self.events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .filter(|e| e.level == level && e.target == "continuo_store::writer")
            .map(|e| e.fields.clone())
            .collect()
    }
}

/// The writer keeps a refused batch and retries it, so nothing fails its caller: the
/// failure must show as an event (error, batch size, records dropped, attempt, backoff),
/// and so must the recovery.
async fn a_refused_batch_is_a_warning_event_and_recovery_an_info_event(db: &TestDb) {
    let recorder = Recorder::default();
    // The test's runtime runs the writer task on this thread, so a thread default sees
    // its events.
    let _default = tracing::subscriber::set_default(recorder.clone());
    let writer = writer(&db.store);
    break_observations(db).await;
    writer.submit(Record::Observation(observation(
        "api",
        "paris",
        DAY0,
        Verdict::Failure,
        2_000,
    )));
    writer.flush().await;
    assert!(!writer.status().healthy(), "{:?}", writer.status());
    let warnings = recorder.writer_events(tracing::Level::WARN);
    let first = warnings
        .first()
        .expect("a warning event for the refused batch");
    assert!(
        first
            .get("error")
            .is_some_and(|e| e.contains("observations")),
        "{first:?}"
    );
    let field = |name: &str| first.get(name).map(String::as_str);
    assert_eq!(field("batch"), Some("1"), "{first:?}");
    assert_eq!(field("dropped"), Some("0"), "{first:?}");
    assert_eq!(field("attempt"), Some("1"), "{first:?}");
    assert_eq!(field("backoff_ms"), Some("200"), "{first:?}");
    assert!(recorder.writer_events(tracing::Level::INFO).is_empty());

    restore_observations(db).await;
    flush_until(&writer, "recover", |s| s.healthy() && s.pending() == 0).await;
    let news = recorder.writer_events(tracing::Level::INFO);
    assert_eq!(news.len(), 1, "{news:?}");
    assert!(news[0].contains_key("failed_attempts"), "{news:?}");
}

/// A TCP relay in front of the local PostgreSQL, to take the server away and bring it
/// back: stopping it cuts every connection and refuses new ones, as a server that went
/// down does; starting it again listens on the same port.
struct Relay {
    port: u16,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Relay {
    async fn start(port: u16) -> Relay {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_reuseaddr(true).expect("SO_REUSEADDR");
        socket
            .bind(std::net::SocketAddr::from(([127, 0, 0, 1], port)))
            .expect("bind the relay");
        let listener = socket.listen(64).expect("listen");
        let port = listener.local_addr().expect("address").port();
        let task = tokio::spawn(async move {
            // Owned by this task: aborting it drops every connection.
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                connections.spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(postgres_address()).await
                    {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        Relay {
            port,
            task: Some(task),
        }
    }

    async fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    fn url(&self) -> String {
        let options: sqlx::postgres::PgConnectOptions = continuo_store::testing::postgres_url()
            .parse()
            .expect("a PostgreSQL URL");
        let db = options.get_database().unwrap_or("test");
        format!(
            "postgres://{}@127.0.0.1:{}/{db}",
            options.get_username(),
            self.port
        )
    }
}

/// Where the suites' PostgreSQL listens (`host:port` of its URL).
fn postgres_address() -> String {
    let options: sqlx::postgres::PgConnectOptions = continuo_store::testing::postgres_url()
        .parse()
        .expect("a PostgreSQL URL");
    format!("{}:{}", options.get_host(), options.get_port())
}

/// The server itself goes away (connections cut, new ones refused) while records keep
/// coming faster than the writer can try the database, which takes a while per attempt
/// (connecting is retried until the pool gives up). Submitting must still return at
/// once, the buffer must keep the newest records, and they must be written once the
/// server is back.
#[tokio::test]
async fn postgres_server_outage_keeps_the_newest_records() {
    if !continuo_store::testing::postgres_or_skip("postgres_server_outage_keeps_the_newest_records")
        .await
    {
        return;
    }
    let mut relay = Relay::start(0).await;
    let schema = format!("store_test_{}_server_outage", std::process::id());
    drop_schema(&schema).await;
    let store = Store::open_postgres_schema(&relay.url(), &schema)
        .await
        .expect("open PostgreSQL through the relay");
    let config = WriterConfig {
        batch_size: 1,
        buffer_capacity: 4,
        ..WriterConfig::default()
    };
    let writer = Writer::spawn(store.clone(), config);
    writer.submit(Record::Observation(observation(
        "api",
        "paris",
        DAY0,
        Verdict::Success,
        1_000,
    )));
    writer.flush().await;
    assert!(writer.status().healthy(), "{:?}", writer.status());

    relay.stop().await;
    let during: Vec<Observation> = (1..=20)
        .map(|i| observation("api", "paris", DAY0 + i * SECOND, Verdict::Failure, 2_000))
        .collect();
    for o in &during {
        writer.submit(Record::Observation(o.clone()));
    }
    writer.flush().await;
    let status = writer.status();
    assert!(!status.healthy(), "{status:?}");
    assert!(status.last_error().is_some(), "{status:?}");
    assert_eq!(status.pending(), 4, "{status:?}");
    assert_eq!(status.dropped(), 16, "{status:?}");

    let relay = Relay::start(relay.port).await;
    flush_until(&writer, "catch up after the server came back", |s| {
        s.healthy() && s.pending() == 0
    })
    .await;
    let mut expected: Vec<Observation> = during[16..].to_vec();
    expected.reverse();
    expected.push(observation("api", "paris", DAY0, Verdict::Success, 1_000));
    assert_eq!(
        store.observations("api", 100).await.expect("read"),
        expected
    );
    store.close().await;
    drop(relay);
    drop_schema(&schema).await;
}

fn outbox_item(key: &str, now: i64) -> continuo_store::OutboxItem {
    continuo_store::OutboxItem::new(
        key.to_string(),
        "ops-chat".into(),
        "db-1".into(),
        "firing".into(),
        // A recipient per key: items of one recipient are sent in order (see below).
        format!("person:{key}"),
        json!({"summary": "db is down", "key": key}),
        now,
    )
}

async fn outbox_keeps_one_row_per_key_and_walks_its_states(db: &TestDb) {
    use continuo_store::OutboxState;
    let book = json!({"alerts": {}});
    let items: Vec<_> = (0..5)
        .map(|i| outbox_item(&format!("k{i}"), DAY0 + i))
        .collect();
    db.store
        .commit_alerting(&BookChanges::whole(&book), &items, &[])
        .await
        .expect("commit");
    assert_eq!(db.store.alert_book().await.expect("book"), Some(book));
    // Deciding the same notifications again (after a crash) adds nothing and keeps state.
    db.store
        .outbox_sent("k0", DAY0 + 10, "200 OK")
        .await
        .expect("sent");
    let again = json!({"alerts": {"x": 1}});
    db.store
        .commit_alerting(&BookChanges::whole(&again), &items[..2], &[])
        .await
        .expect("commit again");
    assert_eq!(db.store.alert_book().await.expect("book"), Some(again));
    // A decision writes only what it changed: an alert added, one dropped, the rest of
    // the book left as saved.
    let change = BookChanges {
        rest: None,
        alerts: vec![("y".into(), json!({"id": "y"}))],
        dropped: vec!["x".into()],
    };
    db.store
        .commit_alerting(&change, &[], &[])
        .await
        .expect("commit a change");
    assert_eq!(
        db.store.alert_book().await.expect("book"),
        Some(json!({"alerts": {"y": {"id": "y"}}}))
    );
    let counts = db.store.outbox_counts().await.expect("counts");
    assert_eq!((counts.pending, counts.sent, counts.dead), (4, 1, 0));

    // Due items, oldest first; k0 is sent so not due.
    let due = db.store.outbox_due(DAY0 + 3, 10).await.expect("due");
    let keys: Vec<&str> = due.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(keys, ["k1", "k2", "k3"]);
    assert_eq!(due[0].notice, json!({"summary": "db is down", "key": "k1"}));
    assert_eq!(
        db.store.outbox_next_due().await.expect("next"),
        Some(DAY0 + 1)
    );

    // A retry moves it later and counts the attempt; dead ends it. The dispatcher
    // writes many outcomes in one transaction.
    db.store
        .outbox_record(&[
            Outcome::Failed {
                key: "k1".into(),
                next_ms: Some(DAY0 + 1_000),
                error: "503".into(),
            },
            Outcome::Failed {
                key: "k2".into(),
                next_ms: None,
                error: "400 bad request".into(),
            },
        ])
        .await
        .expect("retry and dead");
    let due = db.store.outbox_due(DAY0 + 999, 10).await.expect("due");
    let keys: Vec<&str> = due.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(keys, ["k3", "k4"]);
    let dead = db
        .store
        .outbox(Some(OutboxState::Dead), 10)
        .await
        .expect("dead");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].key, "k2");
    assert_eq!(dead[0].attempts, 1);
    assert_eq!(dead[0].last_error.as_deref(), Some("400 bad request"));
    let retried = db.store.outbox(None, 10).await.expect("all");
    let k1 = retried.iter().find(|i| i.key == "k1").expect("k1");
    assert_eq!(
        (k1.state, k1.attempts, k1.next_ms),
        (OutboxState::Pending, 1, DAY0 + 1_000)
    );
    let k0 = retried.iter().find(|i| i.key == "k0").expect("k0");
    assert_eq!((k0.state, k0.sent_ms), (OutboxState::Sent, Some(DAY0 + 10)));

    // A dead item can be put back.
    assert!(db.store.outbox_retry("k2", DAY0 + 5).await.expect("retry"));
    assert!(
        !db.store
            .outbox_retry("k0", DAY0 + 5)
            .await
            .expect("not dead")
    );
    let counts = db.store.outbox_counts().await.expect("counts");
    assert_eq!((counts.pending, counts.sent, counts.dead), (4, 1, 0));
    // Survives reopening.
    let again = db.reopen().await;
    assert_eq!(again.outbox(None, 100).await.expect("all").len(), 5);
}

async fn maintenance_windows_round_trip(db: &TestDb) {
    use continuo_core::maintenance::Window;
    let mut w = Window {
        id: "w1".into(),
        title: "Database failover test".into(),
        services: vec!["db".into(), "shop".into()],
        from_ms: DAY0,
        until_ms: DAY0 + 3_600_000,
        origin: "api".into(),
    };
    db.store.put_window(&w).await.expect("put");
    assert_eq!(db.store.windows(DAY0).await.expect("read"), [w.clone()]);
    // Ending it early replaces it; windows that ended are not listed.
    w.until_ms = DAY0 + 60_000;
    db.store.put_window(&w).await.expect("end");
    assert_eq!(db.store.windows(DAY0).await.expect("read"), [w.clone()]);
    assert!(
        db.store
            .windows(DAY0 + 60_000)
            .await
            .expect("read")
            .is_empty()
    );
}

async fn outbox_never_sends_a_resolution_before_its_page(db: &TestDb) {
    let book = json!({});
    let mut page = outbox_item("db-1/firing-L1R0/channel:ops-chat/ops-chat", DAY0);
    page.recipient = "channel:ops-chat".into();
    let mut resolution = outbox_item("db-1/resolved/channel:ops-chat/ops-chat", DAY0 + 60_000);
    resolution.event = "resolved".into();
    resolution.recipient = "channel:ops-chat".into();
    // Another channel's item of the same alert is independent.
    let mut other = outbox_item("db-1/firing-L1R0/channel:pager/pager", DAY0);
    other.channel = "pager".into();
    other.recipient = "channel:pager".into();
    db.store
        .commit_alerting(
            &BookChanges::whole(&book),
            &[page.clone(), resolution.clone(), other],
            &[],
        )
        .await
        .expect("commit");
    // The page failed and waits for a retry; the resolution is due but must wait too.
    db.store
        .outbox_failed(&page.key, Some(DAY0 + 300_000), "503")
        .await
        .expect("retry later");
    let due = db.store.outbox_due(DAY0 + 120_000, 10).await.expect("due");
    let keys: Vec<&str> = due.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(keys, ["db-1/firing-L1R0/channel:pager/pager"]);
    // Once the page is sent, the resolution goes.
    db.store
        .outbox_sent(&page.key, DAY0 + 300_000, "200")
        .await
        .expect("sent");
    let due = db.store.outbox_due(DAY0 + 300_000, 10).await.expect("due");
    let keys: Vec<&str> = due.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "db-1/firing-L1R0/channel:pager/pager",
            "db-1/resolved/channel:ops-chat/ops-chat"
        ]
    );
}

async fn incidents_are_saved_with_the_alert_book_and_listed(db: &TestDb) {
    use continuo_store::IncidentRow;
    let row = |n: i64, status: &str, detected: i64, resolved: Option<i64>| IncidentRow {
        id: format!("INC-{n}"),
        number: n,
        status: status.into(),
        severity: 2,
        detected_ms: Some(detected),
        resolved_ms: resolved,
        body: serde_json::json!({ "id": format!("INC-{n}"), "status": status }),
    };
    assert_eq!(db.store.last_incident_number().await.expect("max"), 0);
    let book = serde_json::json!({ "alerts": {} });
    let rows = [
        row(1, "resolved", DAY0, Some(DAY0 + 60_000)),
        row(2, "investigating", DAY0 + 3_600_000, None),
        row(3, "resolved", DAY0 + 7_200_000, Some(DAY0 + 7_300_000)),
    ];
    db.store
        .commit_alerting(&BookChanges::whole(&book), &[], &rows)
        .await
        .expect("commit");
    assert_eq!(db.store.last_incident_number().await.expect("max"), 3);
    // Saving again replaces the row.
    let mut resolved = row(2, "resolved", DAY0 + 3_600_000, Some(DAY0 + 3_700_000));
    resolved.body["note"] = "over".into();
    db.store
        .commit_alerting(
            &BookChanges::whole(&book),
            &[],
            std::slice::from_ref(&resolved),
        )
        .await
        .expect("commit");
    let one = db
        .store
        .incident("INC-2")
        .await
        .expect("read")
        .expect("INC-2");
    assert_eq!(one["note"], "over");
    assert!(db.store.incident("INC-9").await.expect("read").is_none());
    // Open or resolved since: 2 and 3 resolved after DAY0 + 3_650_000 → only 2 and 3.
    let recent = db
        .store
        .incidents_recent(DAY0 + 3_650_000)
        .await
        .expect("recent");
    let ids: Vec<&str> = recent
        .iter()
        .map(|v| v["id"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(ids, ["INC-2", "INC-3"]);
    // Detected in a period, newest first, limited.
    let between = db
        .store
        .incidents_between(DAY0, DAY0 + 7_200_000, 10)
        .await
        .expect("between");
    let ids: Vec<&str> = between
        .iter()
        .map(|v| v["id"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(ids, ["INC-2", "INC-1"]);
    let limited = db
        .store
        .incidents_between(0, i64::MAX, 1)
        .await
        .expect("limited");
    assert_eq!(limited.len(), 1);
}

async fn service_events_are_listed_newest_first(db: &TestDb) {
    for (i, at) in [DAY0, DAY0 + 2_000, DAY0 + 1_000].into_iter().enumerate() {
        let body = serde_json::json!({ "at_ms": at, "n": i });
        db.store
            .add_service_event("shop", at, "failover", &body)
            .await
            .expect("add");
    }
    db.store
        .add_service_event("db", DAY0, "failover", &serde_json::json!({}))
        .await
        .expect("add");
    let events = db.store.service_events("shop", 2).await.expect("list");
    let at: Vec<i64> = events
        .iter()
        .map(|e| e["at_ms"].as_i64().unwrap_or(0))
        .collect();
    assert_eq!(at, [DAY0 + 2_000, DAY0 + 1_000]);
    assert!(
        db.store
            .service_events("nope", 10)
            .await
            .expect("list")
            .is_empty()
    );
}

/// Supervision (issue 16, build item 1): a panic inside the writer task is caught,
/// counted and shown, the task restarts, and the batch it was writing is written after
/// all; a batch that makes it panic twice in a row is dropped, and counted.
async fn a_panicking_writer_restarts_with_its_buffer(db: &TestDb) {
    let writer = writer(&db.store);
    writer.inject_panics(1);
    for i in 0..3 {
        writer.submit(Record::Observation(observation(
            "api",
            "paris",
            DAY0 + i * SECOND,
            Verdict::Success,
            1_000,
        )));
    }
    flush_until(&writer, "restart and write", |s| {
        s.restarts() == 1 && s.healthy() && s.pending() == 0
    })
    .await;
    assert_eq!(writer.status().written(), 3, "{:?}", writer.status());
    assert_eq!(writer.status().dropped(), 0);
    assert_eq!(
        db.store.observations("api", 10).await.expect("read").len(),
        3
    );

    writer.inject_panics(2);
    let poisoned = writer.submit_durable(vec![Record::Observation(observation(
        "api",
        "paris",
        DAY0 + MINUTE,
        Verdict::Success,
        1,
    ))]);
    assert_eq!(poisoned.await, Err(NotStored::Dropped));
    assert_eq!(writer.status().restarts(), 3);
    assert_eq!(writer.status().dropped(), 1);
    writer
        .submit_durable(vec![Record::Observation(observation(
            "api",
            "paris",
            DAY0 + 2 * MINUTE,
            Verdict::Success,
            1,
        ))])
        .await
        .expect("written after the restarts");
    assert!(writer.status().healthy(), "{:?}", writer.status());
}

/// Group commit: `submit_durable` answers once the batch holding the records committed
/// (the rows are there when it returns, without a flush), and with the reason while the
/// database refuses.
async fn submit_durable_answers_after_the_commit(db: &TestDb) {
    let writer = writer(&db.store);
    let records = (0..3)
        .map(|i| {
            Record::Ping(Ping {
                check_id: "nightly".to_string(),
                at_ms: DAY0 + i,
                kind: PingKind::Success,
                exit_code: None,
                rid: None,
                duration_ms: None,
                body: format!("run {i}"),
                source: "127.0.0.1".to_string(),
            })
        })
        .collect();
    writer.submit_durable(records).await.expect("stored");
    assert_eq!(db.store.pings("nightly", 10).await.expect("read").len(), 3);

    break_observations(db).await;
    let refused = writer
        .submit_durable(vec![Record::Observation(observation(
            "api",
            "paris",
            DAY0,
            Verdict::Success,
            1,
        ))])
        .await;
    assert!(
        matches!(&refused, Err(NotStored::Refused(e)) if e.contains("observations")),
        "{refused:?}"
    );
    assert!(writer.status().failing_for().is_some());
    assert!(writer.status().write_errors() >= 1);
    restore_observations(db).await;
    flush_until(&writer, "catch up", |s| s.healthy() && s.pending() == 0).await;
    // Refused is "not stored yet": the record stayed buffered and is written now.
    assert_eq!(
        db.store.observations("api", 10).await.expect("read").len(),
        1
    );
}
