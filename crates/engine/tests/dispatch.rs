//! Fair, bounded dispatch (issue 16, failure 4): status page subscribers' deliveries can
//! neither hold back an operator's page nor fill the dispatcher with one slow receiver,
//! and every send ends by its deadline.
//!
//! On paused tokio time with the in-memory outbox ([`MemoryPersist`]), so "at once" is
//! exact to the millisecond; deliveries go to a recording [`Deliver`] that does no IO and
//! hangs (never answers, as a subscriber's host whose name never resolves) where told.

use continuo_core::load_text;
use continuo_engine::alerts::{AlertOptions, Alerting, Deliver, Sending};
use continuo_engine::persist::{MemoryPersist, Persist};
use continuo_engine::subscribers::{Message, WEBHOOK_CHANNEL};
use continuo_engine::testing::Switches;
use continuo_engine::{Clock, Engine, EngineOptions};
use continuo_notify::{Delivered, Notice, NoticeEvent};
use continuo_store::{OutboxItem, OutboxState};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const CONFIG: &str = r#"
[organization]
name = "Acme"
timezone = "UTC"
posture_channels = []

[[team]]
id = "ops"
escalation = "ops-default"

[[escalation]]
id = "ops-default"
levels = [{ after = "0m", notify = ["channel:first"] }]

[[channel]]
id = "first"
kind = "webhook"
url = "http://127.0.0.1:9/first"

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

const START_MS: i64 = 1_780_304_400_000;

/// Records what it was asked to send, and when (virtual time); hangs where told.
struct Recorder {
    clock: Clock,
    /// Pages and notices: (when sent, channel, event, when decided).
    pages: Mutex<Vec<(i64, String, NoticeEvent, i64)>>,
    /// Subscriber webhooks whose send began: their URLs.
    webhooks: Mutex<Vec<String>>,
    /// Whether pages hang.
    pages_hang: bool,
    /// Its deadline for every send, when it sets one.
    deadline: Option<Duration>,
}

impl Recorder {
    fn new(clock: Clock, pages_hang: bool, deadline: Option<Duration>) -> Recorder {
        Recorder {
            clock,
            pages: Mutex::new(Vec::new()),
            webhooks: Mutex::new(Vec::new()),
            pages_hang,
            deadline,
        }
    }

    fn pages(&self) -> Vec<(i64, String, NoticeEvent, i64)> {
        self.pages.lock().expect("lock").clone()
    }

    fn webhooks(&self) -> Vec<String> {
        self.webhooks.lock().expect("lock").clone()
    }
}

impl Deliver for Recorder {
    fn deliver<'a>(&'a self, channel: &'a str, notice: &'a Notice) -> Sending<'a> {
        self.pages.lock().expect("lock").push((
            self.clock.now_ms(),
            channel.to_string(),
            notice.event,
            notice.at_ms,
        ));
        let hang = self.pages_hang;
        Box::pin(async move {
            if hang {
                std::future::pending::<()>().await;
            }
            Ok(Delivered {
                detail: "recorded".into(),
            })
        })
    }

    fn deliver_webhook<'a>(
        &'a self,
        url: &'a str,
        _body: &'a serde_json::Value,
        _key: &'a str,
        _allow_internal: bool,
    ) -> Sending<'a> {
        self.webhooks.lock().expect("lock").push(url.to_string());
        Box::pin(async move {
            if url.contains("nowhere.invalid") {
                // A name that never resolves, on a resolver that never answers.
                std::future::pending::<()>().await;
            }
            Ok(Delivered {
                detail: "HTTP 200 OK".into(),
            })
        })
    }

    fn deadline(&self, channel: &str) -> Duration {
        let _ = channel;
        self.deadline.unwrap_or(Duration::from_secs(30))
    }
}

/// A subscriber webhook's test delivery to `url`, due at the start, as
/// `AlertHandle::subscribe` writes it.
fn subscriber_item(n: usize, url: &str) -> OutboxItem {
    let id = format!("s{n:05}");
    let key = format!("sub/{id}/confirm-0000");
    let message = Message::Webhook {
        subscriber: id.clone(),
        needs_confirmed: false,
        url: url.to_string(),
        body: serde_json::json!({"page": {"id": "acme"}}),
        key: key.clone(),
    };
    OutboxItem::new(
        key,
        WEBHOOK_CHANNEL.to_string(),
        format!("subscriber:{id}"),
        "subscriber-test".into(),
        format!("subscriber:{id}"),
        serde_json::to_value(&message).expect("json"),
        START_MS,
    )
}

struct Running {
    down: Arc<AtomicBool>,
    recorder: Arc<Recorder>,
    engine: Engine,
    alerting: Alerting,
    persist: Arc<MemoryPersist>,
    clock: Clock,
}

/// Alerting with `queued` in the outbox already, 8 sends in flight at most per lane.
async fn start(queued: Vec<OutboxItem>, recorder: impl FnOnce(Clock) -> Recorder) -> Running {
    let clock = Clock::starting_at(START_MS);
    let catalog = Arc::new(load_text(CONFIG).expect("valid config"));
    let down = Arc::new(AtomicBool::new(false));
    let mut options = EngineOptions::new("here", ".");
    options.clock = clock;
    options.probes = Arc::new(Switches(down.clone()));
    let engine = Engine::start(catalog.clone(), options, None);
    let persist = Arc::new(MemoryPersist::default());
    persist.outbox_add(&queued).await.expect("queued");
    let recorder = Arc::new(recorder(clock));
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
    Running {
        down,
        recorder,
        engine,
        alerting,
        persist,
        clock,
    }
}

impl Running {
    fn item(&self, key: &str) -> OutboxItem {
        self.persist
            .items()
            .into_iter()
            .find(|i| i.key == key)
            .unwrap_or_else(|| panic!("no item {key}"))
    }

    /// Takes the database down and waits (at most 60 s of virtual time) for the page.
    async fn page(&self) -> Option<(i64, String, NoticeEvent, i64)> {
        self.down.store(true, Ordering::SeqCst);
        for _ in 0..600 {
            if let Some(first) = self.recorder.pages().first() {
                return Some(first.clone());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    }

    async fn stop(self) {
        self.alerting.shutdown().await;
        self.engine.shutdown().await;
    }
}

/// Failure 4: 3,000 subscriber webhooks to a host that never resolves are due (and as
/// many as may be are hanging) when the database goes down: the page goes out the
/// millisecond it is decided. Before, the dispatcher waited for each whole batch, whose
/// sends hung, and the page waited behind all of them.
#[tokio::test(start_paused = true)]
async fn a_page_decided_while_3000_subscriber_deliveries_hang_is_sent_at_once() {
    let queued = (0..3_000)
        .map(|n| subscriber_item(n, &format!("http://nowhere.invalid/{n}")))
        .collect();
    let r = start(queued, |clock| Recorder::new(clock, false, None)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        r.recorder.webhooks().len(),
        8,
        "the subscribers' lane is full"
    );
    let (sent_ms, channel, event, decided_ms) = r.page().await.expect("the page went out");
    assert_eq!((channel.as_str(), event), ("first", NoticeEvent::Firing));
    assert_eq!(sent_ms, decided_ms, "sent the millisecond it was decided");
    // The page is recorded as sent while every subscriber send still hangs.
    tokio::time::sleep(Duration::from_millis(10)).await;
    let page = r
        .persist
        .items()
        .into_iter()
        .find(|i| i.recipient == "channel:first")
        .expect("the page's item");
    assert_eq!(page.state, OutboxState::Sent);
    assert_eq!(r.recorder.webhooks().len(), 8, "still hanging");
    r.stop().await;
}

/// Failure 4: one receiver that never answers holds one slot; the next sends start as
/// the others finish, and all of them go out while it hangs. Before, its batch of
/// `max_in_flight` waited for it.
#[tokio::test(start_paused = true)]
async fn a_hanging_send_holds_one_slot_not_a_batch() {
    let mut queued = vec![subscriber_item(0, "http://nowhere.invalid/")];
    queued.extend((1..=30).map(|n| subscriber_item(n, &format!("http://127.0.0.1:9/{n}"))));
    let r = start(queued, |clock| Recorder::new(clock, false, None)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(r.recorder.webhooks().len(), 31, "every one was started");
    let items = r.persist.items();
    let sent = items
        .iter()
        .filter(|i| i.state == OutboxState::Sent)
        .count();
    assert_eq!(sent, 30, "{items:?}");
    let stuck = r.item("sub/s00000/confirm-0000");
    assert_eq!((stuck.state, stuck.attempts), (OutboxState::Pending, 0));
    r.stop().await;
}

/// Issue 18: in a mass outage the outcome records queue for the database. A send's slot
/// frees when the send is over, not when its record is written, so the next sends go out
/// while the records wait; each key is still sent once, and every record is written.
#[tokio::test(start_paused = true)]
async fn a_slow_database_holds_no_send_slot_and_sends_nothing_twice() {
    let queued: Vec<OutboxItem> = (0..30)
        .map(|n| subscriber_item(n, &format!("http://127.0.0.1:9/{n}")))
        .collect();
    let r = start(Vec::new(), |clock| Recorder::new(clock, false, None)).await;
    r.persist.delay_records(Duration::from_secs(10));
    r.persist.outbox_add(&queued).await.expect("queued");
    r.alerting.handle().wake_dispatcher();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let started = r.recorder.webhooks();
    assert_eq!(
        started.len(),
        30,
        "8 slots, yet every send started: {started:?}"
    );
    let pending = r
        .persist
        .items()
        .iter()
        .filter(|i| i.state == OutboxState::Pending)
        .count();
    assert_eq!(pending, 30, "no record written yet");
    // The dispatcher reads the outbox again meanwhile (at least once a second): the
    // keys whose records wait are not sent again.
    tokio::time::sleep(Duration::from_secs(12)).await;
    let mut sent = r.recorder.webhooks();
    assert_eq!(sent.len(), 30, "each once");
    sent.sort();
    sent.dedup();
    assert_eq!(sent.len(), 30, "each once");
    let items = r.persist.items();
    assert!(
        items
            .iter()
            .all(|i| i.state == OutboxState::Sent && i.attempts == 1),
        "{items:?}"
    );
    r.stop().await;
}

/// Failure 4: a send that never ends is abandoned at its deadline as a failed attempt,
/// retried later with backoff, and its slot is free again.
#[tokio::test(start_paused = true)]
async fn the_deadline_ends_a_hanging_send() {
    let r = start(Vec::new(), |clock| {
        Recorder::new(clock, true, Some(Duration::from_secs(7)))
    })
    .await;
    let (sent_ms, ..) = r.page().await.expect("the page was started");
    let key = r
        .persist
        .items()
        .into_iter()
        .find(|i| i.recipient == "channel:first")
        .expect("the page's item")
        .key;
    let at = |ms: i64| {
        let wait = sent_ms + ms - r.clock.now_ms();
        Duration::from_millis(u64::try_from(wait).unwrap_or(0))
    };
    tokio::time::sleep(at(6_900)).await;
    let item = r.item(&key);
    assert_eq!((item.state, item.attempts), (OutboxState::Pending, 0));
    tokio::time::sleep(at(7_100)).await;
    let item = r.item(&key);
    assert_eq!((item.state, item.attempts), (OutboxState::Pending, 1));
    let error = item.last_error.unwrap_or_default();
    assert!(error.contains("no answer within 7s"), "{error}");
    assert!(
        item.next_ms >= sent_ms + 7_000 + 4_000,
        "retried after its backoff, not at once: {}",
        item.next_ms - sent_ms
    );
    r.stop().await;
}
