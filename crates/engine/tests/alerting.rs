//! Alerting in the engine: a scripted target goes down, the escalation policy pages
//! level 1 at once and level 2 later unless someone acknowledges, and the resolution
//! reaches exactly those who were paged.
//!
//! - `paused`: at the real scale (level 2 at 10 min, acknowledgement at 5 min) on paused
//!   tokio time, exact to the millisecond, with the in-memory outbox.
//! - the others: in real time with the real SQLite outbox, on a policy scaled down to
//!   seconds (paused time does not mix with SQLite's worker thread, which lets a paused
//!   clock run on while it works).
//!
//! Deliveries are recorded by a [`Deliver`] that does no IO (real channels are tested
//! against real receivers in the notify crate and end to end in the binary).

use continuo_core::load_text;
use continuo_engine::alerts::{AlertOptions, Alerting, Deliver};
use continuo_engine::testing::Switches;
use continuo_engine::{Clock, Engine, EngineOptions};
use continuo_notify::{Delivered, Notice, NoticeEvent, SendError};
use continuo_store::Store;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const CONFIG: &str = r#"
[organization]
name = "Acme"
timezone = "UTC"
# The database has no runbook: its claim is breached. These tests are about pages;
# the posture notice test sends notices to a channel of its own.
posture_channels = []

[[team]]
id = "ops"
escalation = "ops-default"

[[escalation]]
id = "ops-default"
levels = [
  { after = "0m", notify = ["channel:first"] },
  { after = "6s", notify = ["channel:second"] },
]

[[channel]]
id = "first"
kind = "webhook"
url = "http://127.0.0.1:9/first"

[[channel]]
id = "second"
kind = "webhook"
url = "http://127.0.0.1:9/second"

[[service]]
id = "db"
name = "Database"
tier = 1
owner = "ops"
rto = "1h"

[[service.check]]
id = "db-tcp"
kind = "tcp"
target = "127.0.0.1:5432"
interval = "1s"
fail_threshold = 1
recover_threshold = 1
"#;

/// Records every delivery with the (virtual) time it was decided.
struct Recorder {
    clock: Clock,
    sent: Mutex<Vec<(i64, String, NoticeEvent, String)>>,
}

impl Deliver for Recorder {
    fn deliver<'a>(
        &'a self,
        channel: &'a str,
        notice: &'a Notice,
    ) -> Pin<Box<dyn Future<Output = Result<Delivered, SendError>> + Send + 'a>> {
        // The instant the engine decided to send it (delivery follows within the
        // dispatcher's pass; on paused time that pass lets the clock run on while SQLite
        // works on its own thread).
        let _ = self.clock;
        self.sent.lock().expect("lock").push((
            notice.at_ms,
            channel.to_string(),
            notice.event,
            notice.idempotency_key.clone(),
        ));
        Box::pin(async move {
            Ok(Delivered {
                detail: "recorded".into(),
            })
        })
    }
}

struct Setup {
    down: Arc<AtomicBool>,
    recorder: Arc<Recorder>,
    engine: Engine,
    alerting: Alerting,
    start_ms: i64,
    _dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    let clock = Clock::system();
    let start_ms = clock.now_ms();
    let catalog = Arc::new(load_text(CONFIG).expect("valid config"));
    let down = Arc::new(AtomicBool::new(false));
    let mut options = EngineOptions::new("here", ".");
    options.clock = clock;
    options.probes = Arc::new(Switches(down.clone()));
    let engine = Engine::start(catalog.clone(), options, None);
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = Store::open_with(&url, Duration::from_secs(86_400 * 365))
        .await
        .expect("store");
    let recorder = Arc::new(Recorder {
        clock,
        sent: Mutex::new(Vec::new()),
    });
    let alerting = Alerting::start(
        catalog,
        AlertOptions {
            clock,
            store: Arc::new(store),
            deliver: recorder.clone(),
            public_url: "http://127.0.0.1:8080".into(),
            secret: b"test".to_vec(),
            max_in_flight: 8,
            incidents: Default::default(),
        },
        engine.handle().health_watch(),
    )
    .await
    .expect("alerting starts");
    Setup {
        down,
        recorder,
        engine,
        alerting,
        start_ms,
        _dir: dir,
    }
}

impl Setup {
    fn sent(&self) -> Vec<(i64, String, NoticeEvent, String)> {
        self.recorder.sent.lock().expect("lock").clone()
    }

    /// Waits in small steps until `done` holds or `limit` passes.
    async fn until(&self, limit: Duration, done: impl Fn(&Setup) -> bool) {
        let step = Duration::from_millis(100);
        let mut waited = Duration::ZERO;
        while !done(self) && waited < limit {
            tokio::time::sleep(step).await;
            waited += step;
        }
    }

    fn alert_id(&self) -> String {
        self.alerting.handle().alerts()[0].alert.id.clone()
    }

    async fn stop(self) {
        self.alerting.shutdown().await;
        self.engine.shutdown().await;
    }
}

const SECOND: i64 = 1_000;

#[tokio::test]
async fn level_two_after_its_delay_unless_acknowledged() {
    let s = setup().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(s.sent().is_empty(), "nothing while the target is up");
    let down_at = s.recorder.clock.now_ms();
    s.down.store(true, Ordering::SeqCst);
    s.until(Duration::from_secs(20), |s| !s.sent().is_empty())
        .await;
    let first = s.sent();
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(
        (first[0].1.as_str(), first[0].2),
        ("first", NoticeEvent::Firing)
    );
    let fired = first[0].0;
    assert!(
        fired - down_at < 20 * SECOND,
        "paged {} ms after the target failed",
        fired - down_at
    );
    assert!(fired > s.start_ms);

    s.until(Duration::from_secs(30), |s| s.sent().len() >= 2)
        .await;
    let sent = s.sent();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(
        (sent[1].1.as_str(), sent[1].2),
        ("second", NoticeEvent::Firing)
    );
    let gap = sent[1].0 - fired;
    assert!(gap >= 6 * SECOND, "level 2 came {gap} ms after level 1");

    // Recovery: both levels were paged, both hear the resolution, once each.
    s.down.store(false, Ordering::SeqCst);
    s.until(Duration::from_secs(30), |s| s.sent().len() >= 4)
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let sent = s.sent();
    let resolved: Vec<&str> = sent
        .iter()
        .filter(|d| d.2 == NoticeEvent::Resolved)
        .map(|d| d.1.as_str())
        .collect();
    let mut resolved = resolved;
    resolved.sort_unstable();
    assert_eq!(resolved, ["first", "second"], "{sent:?}");
    assert_eq!(sent.len(), 4, "{sent:?}");
    let mut keys: Vec<&str> = sent.iter().map(|d| d.3.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), 4, "every notification has its own key");
    s.stop().await;
}

#[tokio::test]
async fn acknowledgement_before_the_delay_stops_level_two() {
    let s = setup().await;
    s.down.store(true, Ordering::SeqCst);
    s.until(Duration::from_secs(20), |s| !s.sent().is_empty())
        .await;
    let fired = s.sent()[0].0;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let handle = s.alerting.handle();
    handle
        .acknowledge(&s.alert_id(), "anna")
        .await
        .expect("acknowledged");
    s.until(Duration::from_secs(20), |s| s.sent().len() >= 2)
        .await;
    // Well past the level-2 delay: still no level 2.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let sent = s.sent();
    let summary: Vec<(&str, NoticeEvent)> = sent.iter().map(|d| (d.1.as_str(), d.2)).collect();
    assert_eq!(
        summary,
        [
            ("first", NoticeEvent::Firing),
            ("first", NoticeEvent::Acknowledged)
        ]
    );
    assert!(sent[1].0 - fired >= 3 * SECOND);
    // Resolve: exactly those who were notified (not level 2).
    handle
        .resolve(&s.alert_id(), "anna")
        .await
        .expect("resolved");
    s.until(Duration::from_secs(20), |s| s.sent().len() >= 3)
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let sent = s.sent();
    let summary: Vec<(&str, NoticeEvent)> = sent.iter().map(|d| (d.1.as_str(), d.2)).collect();
    assert_eq!(
        summary,
        [
            ("first", NoticeEvent::Firing),
            ("first", NoticeEvent::Acknowledged),
            ("first", NoticeEvent::Resolved)
        ]
    );
    let view = handle.alert(&s.alert_id()).expect("alert");
    assert_eq!(
        view.alert.acknowledged.as_ref().map(|a| a.by.as_str()),
        Some("anna")
    );
    s.stop().await;
}

/// The same rules at their real scale on paused tokio time (exact: nothing here does IO;
/// the outbox is [`MemoryPersist`], with the store's semantics).
mod paused {
    use super::*;
    use continuo_engine::persist::{MemoryPersist, Persist};

    const MIN: i64 = 60_000;

    struct Paused {
        down: Arc<AtomicBool>,
        recorder: Arc<Recorder>,
        engine: Engine,
        alerting: Alerting,
        clock: Clock,
        persist: Arc<MemoryPersist>,
    }

    async fn start() -> Paused {
        start_with(&CONFIG.replace("after = \"6s\"", "after = \"10m\"")).await
    }

    async fn start_with(text: &str) -> Paused {
        let clock = Clock::starting_at(1_780_304_400_000);
        let catalog = Arc::new(load_text(text).expect("valid config"));
        let down = Arc::new(AtomicBool::new(false));
        let mut options = EngineOptions::new("here", ".");
        options.clock = clock;
        options.probes = Arc::new(Switches(down.clone()));
        let engine = Engine::start(catalog.clone(), options, None);
        let recorder = Arc::new(Recorder {
            clock,
            sent: Mutex::new(Vec::new()),
        });
        let persist = Arc::new(MemoryPersist::default());
        let alerting = Alerting::start(
            catalog,
            AlertOptions {
                clock,
                store: persist.clone(),
                deliver: recorder.clone(),
                public_url: "http://127.0.0.1:8080".into(),
                secret: b"test".to_vec(),
                max_in_flight: 8,
                incidents: Default::default(),
            },
            engine.handle().health_watch(),
        )
        .await
        .expect("alerting starts");
        Paused {
            down,
            recorder,
            engine,
            alerting,
            clock,
            persist,
        }
    }

    impl Paused {
        fn sent(&self) -> Vec<(i64, String, NoticeEvent)> {
            self.recorder
                .sent
                .lock()
                .expect("lock")
                .iter()
                .map(|(at, channel, event, _)| (*at, channel.clone(), *event))
                .collect()
        }

        /// Fails the target and returns when level 1 went out (its decision time).
        async fn fail(&self) -> i64 {
            self.down.store(true, Ordering::SeqCst);
            for _ in 0..600 {
                if let Some(first) = self.sent().first() {
                    return first.0;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("level 1 never went out");
        }

        async fn stop(self) {
            self.alerting.shutdown().await;
            self.engine.shutdown().await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn level_one_at_once_level_two_at_ten_minutes() {
        let p = start().await;
        let fired = p.fail().await;
        tokio::time::sleep(Duration::from_secs(9 * 60 + 50)).await;
        assert_eq!(
            p.sent().len(),
            1,
            "no level 2 before 10 min: {:?}",
            p.sent()
        );
        tokio::time::sleep(Duration::from_secs(15)).await;
        let sent = p.sent();
        assert_eq!(sent.len(), 2, "{sent:?}");
        assert_eq!(
            (sent[1].1.as_str(), sent[1].2),
            ("second", NoticeEvent::Firing)
        );
        assert_eq!(
            sent[1].0 - fired,
            10 * MIN,
            "level 2 exactly 10 min after level 1"
        );
        p.stop().await;
    }

    #[tokio::test(start_paused = true)]
    async fn acknowledgement_at_five_minutes_stops_level_two_and_resolution_reaches_those_paged() {
        let p = start().await;
        let fired = p.fail().await;
        // Acknowledge exactly 5 minutes after level 1 went out.
        let wait = fired + 5 * MIN - p.clock.now_ms();
        tokio::time::sleep(Duration::from_millis(wait as u64)).await;
        let handle = p.alerting.handle();
        let id = handle.alerts()[0].alert.id.clone();
        handle.acknowledge(&id, "anna").await.expect("ack");
        tokio::time::sleep(Duration::from_secs(30 * 60)).await;
        let sent = p.sent();
        let events: Vec<(&str, NoticeEvent)> = sent.iter().map(|d| (d.1.as_str(), d.2)).collect();
        assert_eq!(
            events,
            [
                ("first", NoticeEvent::Firing),
                ("first", NoticeEvent::Acknowledged)
            ]
        );
        assert_eq!(sent[1].0 - fired, 5 * MIN);
        // The target recovers: the resolution goes to level 1 only, who was paged.
        p.down.store(false, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(60)).await;
        let sent = p.sent();
        let events: Vec<(&str, NoticeEvent)> = sent.iter().map(|d| (d.1.as_str(), d.2)).collect();
        assert_eq!(
            events,
            [
                ("first", NoticeEvent::Firing),
                ("first", NoticeEvent::Acknowledged),
                ("first", NoticeEvent::Resolved)
            ]
        );
        p.stop().await;
    }

    /// A panic in the decision task (here inside its commit) does not leave an outage
    /// unpaged: the task is reported, restarted from the stored book, decides the page
    /// again, and every channel hears that Continuo's own task failed. Operators'
    /// commands keep working (before the fix: "alerting is not running").
    #[tokio::test(start_paused = true)]
    async fn a_panic_in_the_decision_task_is_reported_restarted_and_paged() {
        let p = start().await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        p.persist.panic_on_commits(1);
        p.down.store(true, Ordering::SeqCst);
        let paged = |recorded: &[(i64, String, NoticeEvent, String)]| {
            recorded
                .iter()
                .filter(|(_, channel, event, key)| {
                    channel == "first"
                        && *event == NoticeEvent::Firing
                        && !key.starts_with("continuo/")
                })
                .count()
        };
        for _ in 0..300 {
            if paged(&p.recorder.sent.lock().expect("lock")) > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let recorded = p.recorder.sent.lock().expect("lock").clone();
        let about_db = paged(&recorded);
        assert_eq!(about_db, 1, "the outage is paged once: {recorded:?}");
        tokio::time::sleep(Duration::from_secs(2)).await;
        let recorded = p.recorder.sent.lock().expect("lock").clone();
        let mut about_continuo: Vec<&str> = recorded
            .iter()
            .filter(|(_, _, event, key)| {
                *event == NoticeEvent::Firing && key.starts_with("continuo/task/alerting.decider/")
            })
            .map(|(_, channel, _, _)| channel.as_str())
            .collect();
        about_continuo.sort_unstable();
        assert_eq!(
            about_continuo,
            ["first", "second"],
            "every escalation channel hears of the failed task: {recorded:?}"
        );
        let handle = p.alerting.handle();
        let decider = handle
            .tasks()
            .into_iter()
            .find(|t| t.name == "alerting.decider")
            .expect("the decision task is supervised");
        assert_eq!(decider.restarts, 1);
        assert!(!decider.healthy, "unhealthy for a minute after a panic");
        assert!(
            decider
                .last_panic
                .as_deref()
                .is_some_and(|m| m.contains("injected")),
            "{decider:?}"
        );
        let id = handle.alerts()[0].alert.id.clone();
        handle
            .acknowledge(&id, "anna")
            .await
            .expect("commands reach the restarted task");
        tokio::time::sleep(Duration::from_secs(61)).await;
        assert!(
            handle.tasks().iter().all(|t| t.healthy),
            "healthy again after a quiet minute: {:?}",
            handle.tasks()
        );
        p.stop().await;
    }

    /// A task outside alerting (a gateway's health check) that panicked and restarted
    /// is reported like alerting's own: unhealthy in `tasks()` and paged to every
    /// escalation channel, also while the store refuses the outbox.
    #[tokio::test(start_paused = true)]
    async fn a_panic_reported_from_outside_is_listed_and_paged_even_without_the_store() {
        let p = start().await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        p.persist.set_unavailable(true);
        let handle = p.alerting.handle();
        handle
            .task_panicked("gateway.gw.check.primary", "injected by a test")
            .await;
        let recorded = p.recorder.sent.lock().expect("lock").clone();
        let mut channels: Vec<&str> = recorded
            .iter()
            .filter(|(_, _, event, key)| {
                *event == NoticeEvent::Firing
                    && key.starts_with("continuo/task/gateway.gw.check.primary/")
            })
            .map(|(_, channel, _, _)| channel.as_str())
            .collect();
        channels.sort_unstable();
        assert_eq!(
            channels,
            ["first", "second"],
            "sent straight through the channels: {recorded:?}"
        );
        let task = handle
            .tasks()
            .into_iter()
            .find(|t| t.name == "gateway.gw.check.primary")
            .expect("listed");
        assert_eq!((task.restarts, task.healthy), (1, false), "{task:?}");
        p.persist.set_unavailable(false);
        p.stop().await;
    }

    /// With the store down, an outage is paged from memory within seconds (before the
    /// fix it waited for the store); when the store answers again the page is stored
    /// as sent with its key, and the dispatcher does not send it a second time.
    #[tokio::test(start_paused = true)]
    async fn with_the_store_down_a_page_goes_out_from_memory_and_is_stored_as_sent() {
        let p = start().await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        p.persist.set_unavailable(true);
        let down_at = p.clock.now_ms();
        let fired = p.fail().await;
        assert!(
            fired - down_at <= 5_000,
            "paged {} ms after the outage began",
            fired - down_at
        );
        let handle = p.alerting.handle();
        assert!(handle.degraded(), "alerting says it pages from memory");
        assert!(
            p.persist.items().is_empty(),
            "nothing reached the store yet"
        );
        p.persist.set_unavailable(false);
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(
            !handle.degraded(),
            "degraded mode ends when the store answers"
        );
        let stored: Vec<_> = p
            .persist
            .items()
            .into_iter()
            .filter(|i| i.event == "firing")
            .collect();
        assert_eq!(stored.len(), 1, "{stored:?}");
        assert_eq!(stored[0].state, continuo_store::OutboxState::Sent);
        assert_eq!(stored[0].attempts, 1);
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(p.sent().len(), 1, "sent once: {:?}", p.sent());
        p.stop().await;
    }

    /// The evidence stage: the acknowledgement 5 minutes after paging proves the
    /// escalation reachable (its second level waits 10), and the incident's resolution
    /// measures the recovery against the 1 h RTO, both committed with their decisions.
    #[tokio::test(start_paused = true)]
    async fn an_acknowledgement_and_a_recovery_become_evidence() {
        use continuo_core::evidence::{ClaimKind, Measure, Outcome, SourceKind, Subject};
        let p = start().await;
        let fired = p.fail().await;
        let wait = fired + 5 * MIN - p.clock.now_ms();
        tokio::time::sleep(Duration::from_millis(wait as u64)).await;
        let handle = p.alerting.handle();
        let id = handle.alerts()[0].alert.id.clone();
        handle.acknowledge(&id, "anna").await.expect("ack");
        tokio::time::sleep(Duration::from_secs(60)).await;
        let evidence = p.persist.evidence();
        assert_eq!(evidence.len(), 1, "{evidence:?}");
        let ack = &evidence[0];
        assert_eq!(ack.claim, ClaimKind::EscalationReachable);
        assert_eq!(ack.subject, Subject::Service("db".into()));
        assert_eq!(ack.source.kind, SourceKind::PageAck);
        assert_eq!(ack.source.id, id);
        assert_eq!(ack.value, Some(Measure::ms(5 * MIN)));
        assert_eq!(ack.target, Some(Measure::ms(10 * MIN)));
        assert_eq!(ack.outcome, Outcome::Met);

        // Twenty minutes down in all, then back: the incident resolves itself.
        tokio::time::sleep(Duration::from_secs(14 * 60)).await;
        p.down.store(false, Ordering::SeqCst);
        let mut rto = None;
        for _ in 0..600 {
            rto = p
                .persist
                .evidence()
                .into_iter()
                .find(|e| e.claim == ClaimKind::Rto);
            if rto.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let rto = rto.expect("the resolution records the recovery");
        assert_eq!(rto.subject, Subject::Service("db".into()));
        assert_eq!(rto.source.kind, SourceKind::Incident);
        assert_eq!(rto.outcome, Outcome::Met);
        assert_eq!(rto.target, Some(Measure::ms(60 * MIN)));
        let took = rto.value.expect("a measured recovery").value as i64;
        assert!(
            (20 * MIN - MIN..=20 * MIN + MIN).contains(&took),
            "about 20 minutes down, measured {took} ms"
        );
        assert_eq!(
            rto.link.as_deref(),
            Some(format!("/incidents/{}", rto.source.id).as_str())
        );
        p.stop().await;
    }

    /// A tier 1 service's breached claim (no runbook) and a proof that went stale raise
    /// one non-paging notice each, to the posture channel only, and never twice.
    #[tokio::test(start_paused = true)]
    async fn a_breached_and_a_newly_stale_claim_raise_one_notice_each() {
        use continuo_core::evidence::{
            ClaimKind, Evidence, Measure, Outcome, Source, SourceKind, Subject,
        };
        let text = CONFIG.replace("posture_channels = []", "posture_channels = [\"second\"]");
        let p = start_with(&text).await;
        let posture = |p: &Paused| -> Vec<(String, String)> {
            p.recorder
                .sent
                .lock()
                .expect("lock")
                .iter()
                .filter(|(_, _, event, _)| *event == NoticeEvent::Posture)
                .map(|(_, channel, _, key)| (channel.clone(), key.clone()))
                .collect()
        };
        tokio::time::sleep(Duration::from_secs(90)).await;
        assert_eq!(
            posture(&p),
            [(
                "second".to_string(),
                "posture/runbook_current/service:db/breached/runbook_current/service:db/review/no-runbook/second"
                    .to_string()
            )]
        );
        // A recovery measured a year and an hour ago: its proof went stale an hour ago.
        let now = p.clock.now_ms();
        let subject = Subject::Service("db".into());
        let source = Source {
            kind: SourceKind::Incident,
            id: "INC-1".into(),
        };
        let old = Evidence {
            id: Evidence::id_for(ClaimKind::Rto, &subject, &source),
            claim: ClaimKind::Rto,
            subject,
            source,
            observed_ms: now - 365 * 24 * 60 * MIN - 60 * MIN,
            value: Some(Measure::ms(9 * MIN)),
            target: Some(Measure::ms(60 * MIN)),
            outcome: Outcome::Met,
            link: Some("/incidents/INC-1".into()),
            note: None,
            recorded_by: "continuo".into(),
            recorded_ms: now,
        };
        p.persist
            .add_evidence(std::slice::from_ref(&old))
            .await
            .expect("add");
        // Two more passes: one new notice, and the first is not sent again.
        tokio::time::sleep(Duration::from_secs(31 * 60)).await;
        let sent = posture(&p);
        assert_eq!(sent.len(), 2, "{sent:?}");
        assert_eq!(
            sent[1].1,
            "posture/rto/service:db/stale/rto/service:db/incident/INC-1/second"
        );
        // Nobody was paged: no page went to the first level's channel.
        assert!(p.sent().iter().all(|(_, channel, _)| channel == "second"));
        p.stop().await;
    }
}
