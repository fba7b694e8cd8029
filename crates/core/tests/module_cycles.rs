//! No import cycle between the top-level modules of `core`: rules sit on the catalog,
//! never the other way round. Every `crate::…` path (and `super::…` in a top-level file)
//! under `src/` is read as an edge from the file's top-level module to the module it
//! names; names re-exported at the crate root (`crate::Catalog`, `crate::tr!`) count as
//! their home module. The test fails with the cycle it found.
//!
//! The reading is textual on purpose (no parser dependency): comment lines are skipped,
//! the unit tests that close a file are left out, and anything else that names
//! `crate::x` is an edge.

mod common;

use common::rust_files;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The code of a file without its comment lines and without its unit tests (a
/// `#[cfg(test)]` module closes a file by convention; tests may load a whole catalog).
fn code(path: &Path) -> String {
    fs::read_to_string(path)
        .expect("a readable source file")
        .lines()
        .take_while(|l| l.trim() != "#[cfg(test)]")
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The first path segments named after each `prefix` in `text` (`crate::a::b` → `a`,
/// `crate::{a, b::c}` → `a`, `b`).
fn named_after(text: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(prefix) {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + prefix.len()..];
        if before.is_some_and(is_ident) {
            continue;
        }
        if let Some(list) = rest.strip_prefix('{') {
            let inner = list.split('}').next().unwrap_or_default();
            for item in inner.split(',') {
                let name: String = item.trim().chars().take_while(|c| is_ident(*c)).collect();
                out.push(name);
            }
        } else {
            out.push(rest.chars().take_while(|c| is_ident(*c)).collect());
        }
    }
    out.retain(|n| !n.is_empty() && n != "self");
    out
}

/// The top-level module a file belongs to; `None` for the crate root.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).expect("a file below src");
    let first = rel.components().next()?.as_os_str().to_string_lossy();
    let name = first.trim_end_matches(".rs").to_string();
    (name != "lib" && name != "main").then_some(name)
}

/// Where the crate root's re-exports and exported macros come from: name → module.
fn root_names(
    src: &Path,
    files: &[PathBuf],
    modules: &BTreeSet<String>,
) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    let root = code(&src.join("lib.rs"));
    for statement in root.split(';') {
        let Some(used) = statement.trim().strip_prefix("pub use ") else {
            continue;
        };
        let home: String = used.chars().take_while(|c| is_ident(*c)).collect();
        if !modules.contains(&home) {
            continue;
        }
        if let Some((_, alias)) = used.split_once(" as ") {
            names.insert(alias.trim().to_string(), home.clone());
        }
        let tail = used.rsplit("::").next().unwrap_or_default();
        for item in tail.trim_matches(|c| c == '{' || c == '}').split(',') {
            let item = item.trim();
            if !item.is_empty() && !item.contains(' ') {
                names.insert(item.to_string(), home.clone());
            }
        }
    }
    for file in files {
        let Some(module) = module_of(src, file) else {
            continue;
        };
        let text = code(file);
        for name in named_after(&text, "macro_rules! ") {
            names.insert(name, module.clone());
        }
    }
    names
}

/// The import graph of a crate's top-level modules, read from `src`.
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let files = rust_files(src);
    let modules: BTreeSet<String> = files.iter().filter_map(|f| module_of(src, f)).collect();
    let roots = root_names(src, &files, &modules);
    let mut graph: BTreeMap<String, BTreeSet<String>> = modules
        .iter()
        .map(|m| (m.clone(), BTreeSet::new()))
        .collect();
    for file in &files {
        let Some(from) = module_of(src, file) else {
            continue;
        };
        let text = code(file);
        let top_level = file.parent() == Some(src);
        let mut named = named_after(&text, "crate::");
        if top_level {
            named.extend(named_after(&text, "super::"));
        }
        for name in named {
            let to = if modules.contains(&name) {
                Some(name)
            } else {
                roots.get(&name).cloned()
            };
            if let Some(to) = to.filter(|t| *t != from) {
                graph.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    graph
}

/// A cycle in `graph`, as the path of modules that closes it, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        marks: &mut BTreeMap<String, Mark>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let at = path.iter().position(|p| p == node).unwrap_or(0);
                let mut cycle = path[at..].to_vec();
                cycle.push(node.to_string());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(node.to_string(), Mark::Open);
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, marks, path) {
                return Some(cycle);
            }
        }
        path.pop();
        marks.insert(node.to_string(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, graph, &mut marks, &mut Vec::new()) {
            return Some(cycle);
        }
    }
    None
}

#[test]
fn core_modules_import_each_other_without_a_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = module_graph(&src);
    assert!(
        graph.contains_key("catalog"),
        "the graph was read: {graph:?}"
    );
    if let Some(cycle) = find_cycle(&graph) {
        let edges: Vec<String> = graph
            .iter()
            .map(|(m, to)| {
                format!(
                    "  {m} -> {}",
                    to.iter().cloned().collect::<Vec<_>>().join(", ")
                )
            })
            .collect();
        panic!(
            "import cycle between core's modules: {}\n\nall edges:\n{}",
            cycle.join(" -> "),
            edges.join("\n")
        );
    }
}

#[test]
fn the_catalog_imports_no_rule_module() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = module_graph(&src);
    // The vocabulary the catalog is written in; everything else is a rule over it.
    let allowed: BTreeSet<&str> = ["diag", "duration", "text"].into();
    let imported: Vec<&String> = graph["catalog"]
        .iter()
        .filter(|m| !allowed.contains(m.as_str()))
        .collect();
    assert!(imported.is_empty(), "catalog imports {imported:?}");
}

#[test]
fn the_reader_finds_cycles() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec![]),
    ]
    .into_iter()
    .map(|(m, to)| (m.to_string(), to.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(
        find_cycle(&graph),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    assert_eq!(
        named_after(
            "use crate::{a, b::c};\nlet x = crate::d::e(); mycrate::f",
            "crate::"
        ),
        ["a", "b", "d"]
    );
}
