//! Fixtures the core tests share: fixed instants and the people, teams and rota of a
//! small on-call setup, so each test's configuration only adds what it is about.

// Each test crate uses some of these.
#![allow(dead_code)]

/// A minute in milliseconds.
pub const MIN: i64 = 60_000;
/// An hour in milliseconds.
pub const HOUR: i64 = 60 * MIN;
/// 2026-06-01T09:00:00Z, a Monday: anna is on call (the rotation started then).
pub const T0: i64 = 1_780_304_400_000;

/// Anna, Bram and Chen; the `web` team (anna, bram) and the `db` team (chen) with the
/// escalation policies given; and the `web-primary` rotation of anna and bram, weekly
/// with a 09:00 handoff from [`T0`].
pub fn people_and_rota(web_escalation: &str, db_escalation: &str) -> String {
    format!(
        r#"[[person]]
id = "anna"
name = "Anna"
[[person]]
id = "bram"
name = "Bram"
[[person]]
id = "chen"
name = "Chen"

[[team]]
id = "web"
members = ["anna", "bram"]
escalation = "{web_escalation}"

[[team]]
id = "db"
members = ["chen"]
escalation = "{db_escalation}"

[[schedule]]
id = "web-primary"
[[schedule.layer]]
members = ["anna", "bram"]
rotation = "1w"
handoff = "09:00"
start = "2026-06-01"

"#
    )
}

/// Every `.rs` file below `dir`, sorted (for the tests that read the sources).
pub fn rust_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("a readable folder") {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}
