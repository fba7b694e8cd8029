//! Alerting policies, data-driven: settling and grouping times from the catalog's
//! checks and hard dependencies.

use continuo_core::alerting::policy::{group_wait_ms, settle_ms};
use continuo_core::analysis::Graph;
use continuo_core::catalog::Catalog;
use continuo_core::load_text;

const CONFIG: &str = r#"
[organization]
name = "Acme"
timezone = "UTC"

[[person]]
id = "anna"
name = "Anna"

[[team]]
id = "web"
members = ["anna"]

[[service]]
id = "db"
name = "Database"
tier = 1
owner = "web"
rto = "1h"
  [[service.check]]
  id = "db-tcp"
  kind = "tcp"
  target = "127.0.0.1:5432"
  interval = "20s"
  timeout = "5s"
  fail_threshold = 3
  recover_threshold = 2

[[service]]
id = "cache"
name = "Cache"
tier = 2
owner = "web"
rto = "1h"
  [[service.check]]
  id = "cache-tcp"
  kind = "tcp"
  target = "127.0.0.1:6379"
  interval = "2m"
  timeout = "10s"
  fail_threshold = 3

[[service]]
id = "api"
name = "API"
tier = 1
owner = "web"
rto = "1h"
depends_on = ["db", { service = "cache", kind = "soft" }]
  [[service.check]]
  id = "api-http"
  kind = "http"
  url = "http://127.0.0.1:8080/health"
  interval = "10s"
  timeout = "2s"
  recover_threshold = 4

[[service]]
id = "shop"
name = "Shop"
tier = 1
owner = "web"
rto = "1h"
depends_on = ["api"]
  [[service.check]]
  id = "shop-beat"
  kind = "heartbeat"
  uuid = "0f8d4c2e-6a1b-4b7e-9d3c-2a5e8f1b7c40"
  period = "1h"
  grace = "5m"

[[service]]
id = "slow"
name = "Slow"
tier = 3
owner = "web"
rto = "1h"
  [[service.check]]
  id = "slow-http"
  kind = "http"
  url = "http://127.0.0.1:8081/"
  interval = "10m"
  timeout = "30s"
  fail_threshold = 2

[[service]]
id = "report"
name = "Report"
tier = 3
owner = "web"
rto = "1h"
depends_on = ["slow"]
"#;

fn catalog() -> Catalog {
    load_text(CONFIG).unwrap_or_else(|errors| panic!("{errors:#?}"))
}

#[test]
fn settling_is_the_slowest_check_recovery_and_at_least_thirty_seconds() {
    let catalog = catalog();
    let graph = Graph::new(&catalog);
    let cases: &[(&str, i64)] = &[
        // 20 s x 2 + 5 s.
        ("db", 45_000),
        // 10 s x 4 + 2 s.
        ("api", 42_000),
        // Heartbeats are not probed: the floor.
        ("shop", 30_000),
        // No checks: the floor.
        ("report", 30_000),
        // Unknown services get the floor too.
        ("nothing", 30_000),
    ];
    for (service, expected) in cases {
        assert_eq!(settle_ms(&graph, service), *expected, "{service}");
    }
}

#[test]
fn grouping_waits_for_every_hard_dependency_to_notice_capped_at_five_minutes() {
    let catalog = catalog();
    let graph = Graph::new(&catalog);
    let cases: &[(&str, i64)] = &[
        // No dependencies.
        ("db", 0),
        // db: 20 s x 3 + 5 s, plus a second; the soft cache does not count.
        ("api", 66_000),
        // Transitive: api (seconds) and db (65 s); the slower wins.
        ("shop", 66_000),
        // 10 min x 2 + 30 s is more than the cap.
        ("report", 300_000),
        ("nothing", 0),
    ];
    for (service, expected) in cases {
        assert_eq!(group_wait_ms(&graph, service), *expected, "{service}");
    }
}
