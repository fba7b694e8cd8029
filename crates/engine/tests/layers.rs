//! The engine's modules form layers: no import cycle between the top-level modules of
//! `src/`, and the bottom of alerting (`shared`) imports none of the modules built on
//! it. Read from the source: every `crate::<module>` path (in `use` or in code, doc
//! comments aside) is an edge.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The top-level modules and the modules each one names.
fn edges() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(&src).expect("src is readable") {
        let path = entry.expect("src is listable").path();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        if path.extension().is_some_and(|e| e == "rs") && stem != "lib" {
            files.insert(stem.to_string(), path.clone());
        }
    }
    let modules: BTreeSet<String> = files.keys().cloned().collect();
    files
        .iter()
        .map(|(module, path)| {
            let text = std::fs::read_to_string(path).expect("module is readable");
            let mut named = BTreeSet::new();
            for line in text.lines() {
                let code = line.trim_start();
                if code.starts_with("//") {
                    continue;
                }
                for name in crate_paths(code) {
                    if modules.contains(&name) && &name != module {
                        named.insert(name);
                    }
                }
            }
            (module.clone(), named)
        })
        .collect()
}

/// The first segment of every `crate::` path on a line, `crate::{a, b::C}` included.
fn crate_paths(line: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut names = Vec::new();
    for (at, _) in line.match_indices("crate::") {
        let rest = &line[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = group.split('}').next().unwrap_or("");
            names.extend(group.split(',').map(ident));
        } else {
            names.push(ident(rest));
        }
    }
    names
}

/// A cycle through `from`, if there is one.
fn cycle(
    edges: &BTreeMap<String, BTreeSet<String>>,
    path: &mut Vec<String>,
    done: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    let here = path.last().cloned()?;
    for next in edges.get(&here).into_iter().flatten() {
        if let Some(start) = path.iter().position(|m| m == next) {
            let mut found = path[start..].to_vec();
            found.push(next.clone());
            return Some(found);
        }
        if done.contains(next) {
            continue;
        }
        path.push(next.clone());
        if let Some(found) = cycle(edges, path, done) {
            return Some(found);
        }
        path.pop();
    }
    done.insert(here);
    None
}

#[test]
fn no_import_cycle_between_modules() {
    let edges = edges();
    assert!(edges.len() > 10, "modules found: {:?}", edges.keys());
    let mut done = BTreeSet::new();
    for module in edges.keys() {
        let mut path = vec![module.clone()];
        if let Some(found) = cycle(&edges, &mut path, &mut done) {
            panic!("import cycle: {}", found.join(" -> "));
        }
    }
}

#[test]
fn the_bottom_of_alerting_imports_nothing_above_it() {
    let edges = edges();
    let above = [
        "alerts",
        "decider",
        "dispatch",
        "incidents",
        "paging",
        "stage",
        "subscribers",
    ];
    for bottom in ["shared", "links", "recipient", "deliver"] {
        let named = &edges[bottom];
        for module in above {
            assert!(!named.contains(module), "{bottom} imports {module}");
        }
    }
    // The stages and the tasks do not reach back to the module that starts them.
    for module in [
        "decider",
        "dispatch",
        "incidents",
        "paging",
        "stage",
        "subscribers",
    ] {
        assert!(!edges[module].contains("alerts"), "{module} imports alerts");
    }
}

#[test]
fn crate_paths_are_read_from_uses_and_code() {
    assert_eq!(crate_paths("use crate::shared::{A, B};"), vec!["shared"]);
    assert_eq!(
        crate_paths("use crate::{clock::Clock, persist};"),
        vec!["clock", "persist"]
    );
    assert_eq!(crate_paths("let x = crate::links::mac(s);"), vec!["links"]);
}
