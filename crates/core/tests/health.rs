//! Service health from check statuses and dependencies: root cause or only impacted.

use continuo_core::state::{CheckStatus, service_health};
use continuo_core::{SourceProvider, load};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

struct One(String);

impl SourceProvider for One {
    fn read(&self, _: &Path) -> Result<String, String> {
        Ok(self.0.clone())
    }
    fn glob(&self, _: &Path) -> Result<Vec<PathBuf>, String> {
        Ok(Vec::new())
    }
    fn exists(&self, _: &Path) -> bool {
        false
    }
}

/// db <- api <- shop (hard), shop -> recs (soft), report (no checks) -> db (hard).
const CATALOG: &str = r#"
[[team]]
id = "ops"
[[service]]
id = "db"
tier = 3
owner = "ops"
rto = "1h"
[[service.check]]
kind = "tcp"
target = "127.0.0.1:5432"
[[service]]
id = "api"
tier = 3
owner = "ops"
rto = "1h"
depends_on = ["db"]
[[service.check]]
kind = "http"
url = "http://127.0.0.1:1/"
[[service]]
id = "recs"
tier = 3
owner = "ops"
rto = "1h"
[[service.check]]
kind = "http"
url = "http://127.0.0.1:2/"
[[service]]
id = "shop"
tier = 3
owner = "ops"
rto = "1h"
depends_on = ["api", { service = "recs", kind = "soft" }]
[[service.check]]
kind = "http"
url = "http://127.0.0.1:3/"
[[service]]
id = "report"
tier = 3
owner = "ops"
rto = "1d"
depends_on = ["db"]
"#;

/// `statuses` like "db=down api=up"; returns "service=health[causes]" for every service.
fn check(statuses: &str, expected: &str) {
    let outcome = load(Path::new("c.toml"), &One(CATALOG.into()), &|_| None);
    assert!(
        !outcome.diagnostics.has_errors(),
        "{:?}",
        outcome.diagnostics
    );
    let catalog = outcome.catalog.expect("catalog");
    let checks: BTreeMap<String, CheckStatus> = statuses
        .split_whitespace()
        .map(|pair| {
            let (service, status) = pair.split_once('=').expect("service=status");
            let kind = if service == "db" { "tcp" } else { "http" };
            (
                format!("{service}-{kind}"),
                CheckStatus::from_name(status).expect("status"),
            )
        })
        .collect();
    let health = service_health(&catalog, &checks);
    let found: Vec<String> = health
        .iter()
        .map(|(id, h)| {
            let name = format!("{:?}", h.health).to_lowercase();
            if h.root_causes.is_empty() {
                format!("{id}={name}")
            } else {
                format!("{id}={name}[{}]", h.root_causes.join(","))
            }
        })
        .collect();
    assert_eq!(found.join(" "), expected, "statuses: {statuses}");
}

#[test]
fn health_over_the_dependency_graph() {
    check(
        "db=up api=up recs=up shop=up",
        "api=operational db=operational recs=operational report=unknown shop=operational",
    );
    // The database is the root cause; api and shop fail only because of it; report has
    // no checks but hard-depends on it.
    check(
        "db=down api=down recs=up shop=down",
        "api=impacted[db] db=down recs=operational report=impacted[db] shop=impacted[db]",
    );
    // The api fails on its own while the database works: the api is the root cause.
    check(
        "db=up api=down recs=up shop=down",
        "api=down db=operational recs=operational report=unknown shop=impacted[api]",
    );
    // A failing soft dependency degrades, it does not take down.
    check(
        "db=up api=up recs=down shop=up",
        "api=operational db=operational recs=down report=unknown shop=degraded[recs]",
    );
    // A service whose own checks are up stays operational even if a dependency is down:
    // measurement wins over inference.
    check(
        "db=down api=up recs=up shop=up",
        "api=operational db=down recs=operational report=impacted[db] shop=operational",
    );
    // Degraded checks, and unknown (warming up) checks that do not hide a failure.
    check(
        "db=degraded api=up recs=unknown shop=down",
        "api=operational db=degraded recs=unknown report=unknown shop=down",
    );
    check(
        "db=paused api=paused recs=paused shop=paused",
        "api=unknown db=unknown recs=unknown report=unknown shop=unknown",
    );
}
