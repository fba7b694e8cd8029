//! Scenario 8: loading and validating large catalogs, as `continuo check`, `serve` and a
//! reload do. Generated catalogs of many services in shapes that once made validation
//! quadratic: a dependency chain (every service hard-depends on the one before, so the
//! first is a single point of failure for all the others) and a wide graph (one hub
//! every service depends on, and one service that depends on all of them). Each is
//! loaded through `continuo_core::load` from memory (parse, decode, every cross-check
//! and warning) a few times; the fastest run and the median are reported, with the
//! diagnostics found, so a change in what validation reports shows up beside its time.

use crate::report::thousands;
use crate::sys::Result;
use continuo_core::{Severity, SourceProvider, load};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The shape of a generated catalog.
#[derive(Clone, Copy, Debug)]
pub enum Shape {
    /// `s{i}` hard-depends on `s{i-1}`.
    Chain,
    /// Every `s{i}` hard-depends on `hub`; `top` depends on every `s{i}`.
    Wide,
}

impl Shape {
    fn name(self) -> &'static str {
        match self {
            Shape::Chain => "dependency chain",
            Shape::Wide => "wide (one hub, one service depending on all)",
        }
    }
}

/// A catalog of `services` tier-2 services without backups (so each one that others
/// need is a single point of failure: the warning validation used to spend its time on).
pub fn catalog_text(shape: Shape, services: usize) -> String {
    let mut text = String::from("[organization]\nname = \"Bench\"\n\n[[team]]\nid = \"ops\"\n");
    let service = |text: &mut String, id: &str, deps: &str| {
        let _ = write!(
            text,
            "\n[[service]]\nid = \"{id}\"\ntier = 2\nowner = \"ops\"\nrto = \"1h\"\ndepends_on = [{deps}]\n"
        );
    };
    match shape {
        Shape::Chain => {
            for i in 0..services {
                let deps = if i == 0 {
                    String::new()
                } else {
                    format!("\"s{}\"", i - 1)
                };
                service(&mut text, &format!("s{i}"), &deps);
            }
        }
        Shape::Wide => {
            service(&mut text, "hub", "");
            for i in 0..services {
                service(&mut text, &format!("s{i}"), "\"hub\"");
            }
            let all: Vec<String> = (0..services).map(|i| format!("\"s{i}\"")).collect();
            service(&mut text, "top", &all.join(", "));
        }
    }
    text
}

/// One file in memory.
struct InMemory<'a> {
    path: &'a Path,
    text: &'a str,
}

impl SourceProvider for InMemory<'_> {
    fn read(&self, path: &Path) -> std::result::Result<String, String> {
        if path == self.path {
            Ok(self.text.to_string())
        } else {
            Err("not generated".into())
        }
    }

    fn glob(&self, _: &Path) -> std::result::Result<Vec<PathBuf>, String> {
        Ok(Vec::new())
    }

    fn exists(&self, path: &Path) -> bool {
        path == self.path
    }
}

/// The timings of one catalog.
pub struct ValidateRun {
    shape: Shape,
    services: usize,
    bytes: usize,
    fastest: Duration,
    median: Duration,
    errors: usize,
    warnings: usize,
    runs: usize,
}

/// Loads the catalog of `shape` with `services` services `runs` times.
pub fn run(shape: Shape, services: usize, runs: usize) -> Result<ValidateRun> {
    let text = catalog_text(shape, services);
    let path = Path::new("continuo.toml");
    let provider = InMemory { path, text: &text };
    let runs = runs.max(1);
    let mut times = Vec::with_capacity(runs);
    let mut counts = (0, 0);
    for _ in 0..runs {
        let started = Instant::now();
        let outcome = load(path, &provider, &|_| None);
        times.push(started.elapsed());
        if outcome.catalog.is_none() {
            return Err(format!("the generated {} did not parse", shape.name()));
        }
        let count = |severity| {
            outcome
                .diagnostics
                .iter()
                .filter(|d| d.severity == severity)
                .count()
        };
        counts = (count(Severity::Error), count(Severity::Warning));
    }
    times.sort();
    Ok(ValidateRun {
        shape,
        services,
        bytes: text.len(),
        fastest: times[0],
        median: times[runs / 2],
        runs,
        errors: counts.0,
        warnings: counts.1,
    })
}

/// The section of the report: one row per catalog.
pub fn section(runs: &[ValidateRun]) -> String {
    let mut out = String::from("\n### Loading and validating large catalogs\n\n");
    out.push_str(
        "`continuo_core::load` from memory: parse, decode, every cross-check and warning.\n\n",
    );
    out.push_str("| catalog | services | size | runs | fastest | median | errors / warnings |\n");
    out.push_str("| --- | --- | --- | --- | --- | --- | --- |\n");
    for run in runs {
        let _ = writeln!(
            out,
            "| {} | {} | {} KiB | {} | {:.0} ms | {:.0} ms | {} / {} |",
            run.shape.name(),
            thousands(run.services as f64),
            thousands(run.bytes as f64 / 1024.0),
            run.runs,
            run.fastest.as_secs_f64() * 1000.0,
            run.median.as_secs_f64() * 1000.0,
            thousands(run.errors as f64),
            thousands(run.warnings as f64),
        );
    }
    out
}
