//! No import cycle between the web crate's top-level modules: the shared pieces (`app`,
//! `error`, `lang`, `html`, `running`, `audit_log`, `credentials`) sit at the bottom,
//! `auth` above them, the features (`alerting`, `incidents`, `subscribers`, `gateway`,
//! `audit`, `dashboard`, `status`) above those, `openapi` on top of the features, and the
//! crate root above everything (it declares the modules and assembles the router, so no
//! module may use what the root itself defines).
//!
//! The graph is read from the source: every `crate::` path (in `use` declarations and in
//! code) and every `super::` path of a top-level module's files, up to the file's tests
//! (`#[cfg(test)]`). A path to something the root re-exports (`crate::AppState`) counts as
//! a path to the module that defines it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const ROOT: &str = "(crate root)";

fn source_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            source_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The production part of a file: up to its tests, without comment lines.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first names after each `prefix` (`crate::` or `super::`): `a` in `crate::a::b`,
/// and `a`, `b` in `crate::{a::x, b}`.
fn first_segments(code: &str, prefix: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (at, _) in code.match_indices(prefix) {
        // `$crate::` in a macro is the same crate; `foo_crate::` is not ours.
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &code[at + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut end = group.len();
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            end = i;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let mut depth = 0;
            let mut start = 0;
            let inner = &group[..end];
            let mut parts = Vec::new();
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        parts.push(&inner[start..i]);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            parts.push(&inner[start..]);
            for part in parts {
                let name: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    found.push(name);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.push(name);
            }
        }
    }
    found
}

/// The top-level modules the root declares, and what it re-exports from which.
fn root_declarations(lib: &str) -> (BTreeSet<String>, BTreeMap<String, String>) {
    let mut modules = BTreeSet::new();
    let mut reexports = BTreeMap::new();
    for line in lib.lines() {
        let line = line.trim();
        let line = line.strip_prefix("pub ").unwrap_or(line);
        if let Some(name) = line.strip_prefix("mod ").and_then(|l| l.strip_suffix(';')) {
            modules.insert(name.trim().to_string());
        }
    }
    for (at, _) in lib.match_indices("pub use ") {
        let rest = &lib[at + "pub use ".len()..];
        let statement = &rest[..rest.find(';').unwrap_or(rest.len())];
        let Some((module, items)) = statement.split_once("::") else {
            continue;
        };
        if !modules.contains(module) {
            continue;
        }
        let items = items.trim().trim_start_matches('{').trim_end_matches('}');
        for item in items.split(',') {
            let name = item.trim().rsplit(" as ").next().unwrap_or_default().trim();
            if !name.is_empty() {
                reexports.insert(name.to_string(), module.to_string());
            }
        }
    }
    (modules, reexports)
}

/// A cycle in `graph`, as the modules on it, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, done, path) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, graph, &mut done, &mut Vec::new()) {
            return Some(cycle);
        }
    }
    None
}

/// `module -> modules it uses`, the root using every module it declares.
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    let (modules, reexports) = root_declarations(&code(&lib));
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    graph.insert(ROOT.into(), modules.clone());
    let mut files = Vec::new();
    source_files(&src, &mut files);
    for file in files {
        let relative = file.strip_prefix(&src).expect("under src");
        let parts: Vec<String> = relative
            .iter()
            .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
            .collect();
        if parts == ["lib"] {
            continue;
        }
        let module = parts[0].clone();
        assert!(
            modules.contains(&module),
            "{module} is not declared in lib.rs"
        );
        // `super::` of `src/x.rs` or `src/x/mod.rs` is the root; deeper, it is `x`.
        let top_file = parts.len() == 1 || parts[1..] == ["mod"];
        let text = code(&std::fs::read_to_string(&file).expect("read"));
        let mut used: Vec<String> = first_segments(&text, "crate::")
            .into_iter()
            .map(|name| {
                if modules.contains(&name) {
                    name
                } else {
                    reexports.get(&name).cloned().unwrap_or_else(|| ROOT.into())
                }
            })
            .collect();
        if top_file {
            used.extend(
                first_segments(&text, "super::")
                    .into_iter()
                    .map(|name| reexports.get(&name).cloned().unwrap_or_else(|| ROOT.into())),
            );
        }
        let edges = graph.entry(module.clone()).or_default();
        edges.extend(used.into_iter().filter(|m| *m != module));
    }
    graph
}

#[test]
fn web_modules_import_without_cycles() {
    let graph = module_graph();
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "an import cycle between web's modules: {}\n\nthe graph: {graph:#?}",
            cycle.join(" -> ")
        );
    }
    // The shared pieces stay at the bottom: they use no feature module.
    let features = [
        "checks",
        "alerting",
        "incidents",
        "subscribers",
        "gateway",
        "audit",
        "dashboard",
        "status",
        "openapi",
    ];
    // Features never use each other (only `openapi`, on top, lists their handlers).
    for feature in features.iter().filter(|f| **f != "openapi") {
        let uses = graph.get(*feature).cloned().unwrap_or_default();
        let bad: Vec<&String> = uses
            .iter()
            .filter(|m| features.contains(&m.as_str()))
            .collect();
        assert!(bad.is_empty(), "{feature} uses {bad:?}");
    }
    for bottom in [
        "app",
        "error",
        "lang",
        "html",
        "running",
        "audit_log",
        "credentials",
    ] {
        let uses = graph.get(bottom).cloned().unwrap_or_default();
        let bad: Vec<&String> = uses
            .iter()
            .filter(|m| features.contains(&m.as_str()) || *m == "auth")
            .collect();
        assert!(bad.is_empty(), "{bottom} uses {bad:?}");
    }
}

#[test]
fn the_checker_sees_a_cycle() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a".to_string(), BTreeSet::from(["b".to_string()])),
        ("b".to_string(), BTreeSet::from(["c".to_string()])),
        ("c".to_string(), BTreeSet::from(["a".to_string()])),
    ]
    .into();
    assert_eq!(
        find_cycle(&graph).map(|c| c.join(" -> ")),
        Some("a -> b -> c -> a".to_string())
    );
    assert_eq!(
        first_segments("use crate::{app::AppState, lang, x::{y, z}};", "crate::"),
        ["app", "lang", "x"]
    );
    assert_eq!(
        first_segments("$crate::dashboard::refused(); my_crate::no", "crate::"),
        ["dashboard"]
    );
}
