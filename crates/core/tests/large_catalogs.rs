//! Large catalogs validate, and say the right things. Regression for issue 16, failure 8:
//! a dependency chain of 8,000 services took 54 s to validate (the single points of
//! failure were computed, and each warning listed, service by service: quadratic in
//! time and in text), and `serve` and every reload validate too. No timing here (the
//! bench's `--only validate` measures it); these check the answers at that size.

use continuo_core::diag::Severity;
use continuo_core::{SourceProvider, load};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const SERVICES: usize = 10_000;

/// One file in memory.
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

/// Tier-2 services without backups, `s{i}` depending on `deps(i)`.
fn services(count: usize, deps: impl Fn(usize) -> Vec<String>) -> String {
    let mut text = String::from("[[team]]\nid = \"ops\"\n");
    for i in 0..count {
        let deps: Vec<String> = deps(i).iter().map(|d| format!("\"{d}\"")).collect();
        let _ = write!(
            text,
            "\n[[service]]\nid = \"s{i}\"\ntier = 2\nowner = \"ops\"\nrto = \"1h\"\ndepends_on = [{}]\n",
            deps.join(", ")
        );
    }
    text
}

/// `(severity, code, English message)` of every diagnostic, in position order.
fn diagnose(text: String) -> Vec<(Severity, String, String)> {
    let outcome = load(Path::new("c.toml"), &One(text), &|_| None);
    assert!(outcome.catalog.is_some(), "the catalog parses");
    outcome
        .diagnostics
        .sorted()
        .into_iter()
        .map(|d| (d.severity, d.code.to_string(), d.message.en.clone()))
        .collect()
}

/// How many diagnostics have `code`.
fn count(found: &[(Severity, String, String)], code: &str) -> usize {
    found.iter().filter(|(_, c, _)| c == code).count()
}

fn spof_message(found: &[(Severity, String, String)], id: &str) -> String {
    let prefixes = [format!("`{id}` has"), format!("tier-2 service `{id}` has")];
    found
        .iter()
        .find(|(_, code, m)| {
            code == "single-point-of-failure" && prefixes.iter().any(|p| m.starts_with(p))
        })
        .map(|(_, _, m)| m.clone())
        .unwrap_or_else(|| panic!("no single-point-of-failure warning for {id}"))
}

/// Each service of a chain threatens everything above it: every one is a single point
/// of failure, and each warning names the first five it threatens and says there are
/// more, instead of listing up to 9,999 names.
#[test]
fn a_chain_of_10000_services_warns_once_per_service_naming_five() {
    let text = services(SERVICES, |i| {
        if i == 0 {
            Vec::new()
        } else {
            vec![format!("s{}", i - 1)]
        }
    });
    let found = diagnose(text);
    let spof = count(&found, "single-point-of-failure");
    // Recovered one after another, every service but the first takes longer than its RTO;
    // each warning names a few links of the chain, not all of them.
    let recovery = count(&found, "recovery-exceeds-rto");
    assert_eq!(
        (spof, recovery),
        (SERVICES, SERVICES - 1),
        "{:?}",
        &found[..3.min(found.len())]
    );
    assert_eq!(found.len(), spof + recovery);
    assert!(
        found
            .iter()
            .all(|(s, _, m)| *s == Severity::Warning && m.len() < 1_000)
    );
    assert!(
        found.iter().any(|(_, _, m)| m
            == "`s9999` cannot be back within its RTO of 1h if what it needs fails too: recovered one after another, … → `s9996` (1h) → `s9997` (1h) → `s9998` (1h) → `s9999` (1h) take 416d16h"),
        "{:?}",
        found.iter().rev().find(|(_, c, _)| c == "recovery-exceeds-rto")
    );
    assert_eq!(
        spof_message(&found, "s0"),
        "`s0` has no backup endpoint and tier 1-2 services depend on it (`s1`, `s2`, `s3`, `s4`, `s5` and more): a single point of failure"
    );
    assert_eq!(
        spof_message(&found, "s9994"),
        "`s9994` has no backup endpoint and tier 1-2 services depend on it (`s9995`, `s9996`, `s9997`, `s9998`, `s9999`): a single point of failure"
    );
    assert_eq!(
        spof_message(&found, "s9999"),
        "tier-2 service `s9999` has no backup endpoint: it is a single point of failure"
    );
}

/// Closing the chain into a ring of 10,000 is one cycle, reported once with its path.
#[test]
fn a_ring_of_10000_services_is_one_cycle() {
    let text = services(SERVICES, |i| {
        vec![format!("s{}", if i == 0 { SERVICES - 1 } else { i - 1 })]
    });
    let found = diagnose(text);
    let cycles: Vec<_> = found
        .iter()
        .filter(|(_, code, _)| code == "cycle")
        .collect();
    assert_eq!(cycles.len(), 1);
    let path = cycles[0]
        .2
        .strip_prefix("dependency cycle: ")
        .expect("a path");
    let steps: Vec<&str> = path.split(" -> ").collect();
    assert_eq!(
        steps.len(),
        SERVICES + 1,
        "every member, and back to the first"
    );
    assert_eq!(steps.first(), steps.last());
    // In a ring each service threatens all the others.
    assert_eq!(
        spof_message(&found, "s42"),
        "`s42` has no backup endpoint and tier 1-2 services depend on it (`s0`, `s1`, `s2`, `s3`, `s4` and more): a single point of failure"
    );
}

/// A wide graph: every service needs `s0`, and `s{last}` needs every other one (each
/// named twice, which is still one dependency).
#[test]
fn a_wide_graph_of_10000_services_validates() {
    let last = SERVICES - 1;
    let text = services(SERVICES, |i| match i {
        0 => Vec::new(),
        i if i == last => (0..last)
            .flat_map(|d| [format!("s{d}"), format!("s{d}")])
            .collect(),
        _ => vec!["s0".to_string()],
    });
    let found = diagnose(text);
    // Every service but `s0` needs it, and `s{last}` needs them too: all of them take
    // longer than their RTO when recovered one after another.
    assert_eq!(count(&found, "single-point-of-failure"), SERVICES);
    assert_eq!(count(&found, "recovery-exceeds-rto"), SERVICES - 1);
    assert_eq!(found.len(), 2 * SERVICES - 1);
    assert_eq!(
        spof_message(&found, "s0"),
        "`s0` has no backup endpoint and tier 1-2 services depend on it (`s1`, `s2`, `s3`, `s4`, `s5` and more): a single point of failure"
    );
    assert_eq!(
        spof_message(&found, "s1"),
        format!(
            "`s1` has no backup endpoint and tier 1-2 services depend on it (`s{last}`): a single point of failure"
        )
    );
}

/// 10,000 services each depending on one that does not exist: every reference is an
/// error, the first ones with the known ids listed (20 of them, and how many more), and
/// once twenty problems are found the rest get the plain help, instead of every one
/// comparing itself with 10,000 ids and listing them all.
#[test]
fn ten_thousand_dangling_references_are_reported_briefly() {
    let text = services(SERVICES, |i| vec![format!("gone-{i}")]);
    let found = diagnose(text);
    let dangling: Vec<&String> = found
        .iter()
        .filter(|(_, code, _)| code == "dangling-reference")
        .map(|(_, _, m)| m)
        .collect();
    assert_eq!(dangling.len(), SERVICES);
    assert_eq!(
        dangling[0],
        "`depends_on` refers to unknown service `gone-0`"
    );
    let outcome = load(
        Path::new("c.toml"),
        &One(services(SERVICES, |i| vec![format!("gone-{i}")])),
        &|_| None,
    );
    let helps: Vec<String> = outcome
        .diagnostics
        .sorted()
        .into_iter()
        .filter(|d| d.code == "dangling-reference")
        .map(|d| d.help.as_ref().map(|h| h.en.clone()).unwrap_or_default())
        .collect();
    assert!(
        helps[0].starts_with("known service ids: `s0`, `s1`, `s10`, `s100`, ")
            && helps[0].ends_with("` and 9980 more"),
        "{}",
        helps[0]
    );
    assert_eq!(
        helps[SERVICES - 1],
        format!("declare a [[service]] with id = \"gone-{}\"", SERVICES - 1)
    );
    assert!(helps.iter().all(|h| h.len() < 1_000));
}
