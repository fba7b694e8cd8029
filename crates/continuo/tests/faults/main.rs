//! Fault injection, end to end: the real `continuo serve` binary under a fault it must
//! survive (issue 16). In each, a real outage during the fault is paged within 5 s, no
//! healthy check goes DOWN, and every acknowledged record is in the store afterwards.
//!
//! Each fault is its own module; they share the harness in `../common/mod.rs` and the
//! scenario below. A fault that needs something this machine may lack (root for a tmpfs,
//! PostgreSQL's server binaries) skips with one line saying what to install, unless `CI`
//! is set, where a missing tool is a failure.

#![allow(
    clippy::disallowed_methods,
    reason = "fault tests start the real `continuo` binary and the tools that cause faults"
)]

// `common/mod.rs` allows dead code itself: each test binary uses part of it.
#[path = "../common/mod.rs"]
mod common;

#[allow(unused_imports, reason = "used by the faults that need a tool")]
pub(crate) use common::tools_required;

/// Skips the current test with one line saying what is missing, or fails it under CI.
#[allow(unused_macros, reason = "used by the faults that need a tool")]
macro_rules! skip_or_fail {
    ($($reason:tt)*) => {{
        let reason = format!($($reason)*);
        if crate::tools_required() {
            panic!("CI requires this test to run: {reason}");
        }
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            format!("skipped: {reason}\n").as_bytes(),
        );
        return;
    }};
}
#[allow(unused_imports, reason = "used by the faults that need a tool")]
pub(crate) use skip_or_fail;

mod disk;
mod flood;
mod pings;
mod store;
mod subscriptions;

use common::*;
use serde_json::Value;
use std::time::{Duration, Instant};

/// The scenario every fault runs: `continuo serve` watching two tier-1 services that page
/// the webhook receiver `hook` at once, `db` (TCP `db_target`) and `web` (HTTP `web`), both
/// up; [`Scenario::outage`] takes `db` down during the fault.
#[allow(dead_code, reason = "each fault uses part of the scenario")]
pub struct Scenario {
    /// The workspace: `continuo.toml` and the `state` folder.
    pub dir: tempfile::TempDir,
    /// The webhook receiver every page goes to.
    pub hook: HttpServer,
    /// The healthy service's HTTP endpoint.
    pub web: HttpServer,
    /// `db`'s TCP endpoint, until [`Scenario::outage`] takes it down.
    pub db_target: Option<HttpServer>,
    /// The running server, once started.
    pub continuo: Option<Continuo>,
}

#[allow(dead_code, reason = "each fault uses part of the scenario")]
impl Scenario {
    /// A configuration with the database URL `database` (`sqlite://state/continuo.db` is
    /// the default of [`db_paging_a_webhook`]) and `extra` appended; not started yet.
    pub fn new(database: Option<&str>, extra: &str) -> Scenario {
        let hook = HttpServer::ok(0);
        let web = HttpServer::ok(0);
        let db_target = HttpServer::ok(0);
        let mut config = db_paging_a_webhook("Faults", hook.port, db_target.port);
        if let Some(url) = database {
            config = config.replace("sqlite://state/continuo.db", url);
        }
        config.push_str(&format!(
            r#"
[[service]]
id = "web"
name = "Web shop"
tier = 1
owner = "ops"
rto = "30m"

[[service.check]]
id = "web-http"
kind = "http"
url = "http://127.0.0.1:{}/"
interval = "1s"
timeout = "900ms"
fail_threshold = 1
recover_threshold = 1
"#,
            web.port
        ));
        config.push_str(extra);
        let dir = workspace(&config);
        Scenario {
            dir,
            hook,
            web,
            db_target: Some(db_target),
            continuo: None,
        }
    }

    /// Starts `continuo serve` with `args` and waits until both services were seen up.
    pub fn start(&mut self, args: &[&str]) -> &Continuo {
        self.start_under(&[], args)
    }

    /// [`Scenario::start`] under a wrapper command (see [`Continuo::start_under`]).
    pub fn start_under(&mut self, wrapper: &[&str], args: &[&str]) -> &Continuo {
        let continuo = Continuo::start_under(self.dir.path(), wrapper, args);
        wait_for("both checks up", 30, || {
            let (status, body) = continuo.admin("GET", "/api/v1/checks", "");
            status == 200
                && serde_json::from_str::<Value>(&body).is_ok_and(|checks| {
                    checks["checks"].as_array().is_some_and(|all| {
                        all.len() == 2 && all.iter().all(|c| c["status"] == "up")
                    })
                })
        });
        self.continuo = Some(continuo);
        self.continuo.as_ref().expect("started")
    }

    /// Takes `db` down (its listener closes) and gives the instant it happened.
    pub fn outage(&mut self) -> Instant {
        if let Some(mut target) = self.db_target.take() {
            target.stop();
        }
        Instant::now()
    }

    /// Webhook notifications received so far with `event` about `service`.
    pub fn notices(&self, event: &str, service: &str) -> Vec<Value> {
        self.hook
            .requests()
            .iter()
            .map(Request::json)
            .filter(|n| n["event"] == event && n["service"]["id"] == service)
            .collect()
    }

    /// Asserts that `db`'s outage, begun at `since`, was paged within 5 s of it.
    pub fn assert_paged_within_5s(&self, since: Instant) {
        let deadline = since + Duration::from_secs(5);
        while Instant::now() < deadline {
            if !self.notices("firing", "db").is_empty() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let log = self
            .continuo
            .as_ref()
            .map(Continuo::log)
            .unwrap_or_default();
        panic!("the outage of `db` was not paged within 5 s; continuo's log:\n{log}");
    }

    /// Asserts that the healthy service `web` was never paged about.
    pub fn assert_web_never_down(&self) {
        let about_web = self.notices("firing", "web");
        assert!(
            about_web.is_empty(),
            "the healthy service `web` was paged: {about_web:?}"
        );
    }
}

/// Without a fault, the scenario itself holds: the outage is paged within 5 s and the
/// healthy service is not (the baseline every fault is measured against).
#[test]
fn without_a_fault_an_outage_is_paged_within_5s() {
    let mut scenario = Scenario::new(None, "");
    scenario.start(&[]);
    let since = scenario.outage();
    scenario.assert_paged_within_5s(since);
    std::thread::sleep(Duration::from_secs(2));
    scenario.assert_web_never_down();
}
