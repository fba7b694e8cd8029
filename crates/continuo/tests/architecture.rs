//! The workspace's structure rules that a compiler does not check: no import cycle
//! between the modules of a crate, and each crate's layers.
//!
//! Why: a cycle means two modules can only be understood (and changed) together, and the
//! seams the next capabilities plug into (stages in the engine, the public view in core,
//! the web layer's error and language modules) only stay seams while imports point one
//! way. The check reads every `.rs` file under a crate's `src`, finds the paths it names
//! with `crate::` and `super::` (in `use` items, grouped imports and inline paths; comments
//! and string literals skipped; inline `mod name { .. }` blocks followed; a name the crate
//! root re-exports, such as `crate::Catalog`, counts as the module that defines it), and
//! lifts each reference to the pair of sibling modules it crosses: `crate::a::x` named in
//! `b::c` is an edge `b -> a` among the root's children; `super::d` named in `b::c` is an
//! edge `c -> d` among `b`'s children. A module naming its own descendants or ancestors is
//! no edge. Every strongly connected group of siblings larger than one module fails the
//! test, with one place for each edge of the cycle; so does every edge a [`Rule`] forbids.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Crates whose modules must not import each other in a cycle.
const CRATES: &[&str] = &[
    "core", "engine", "web", "store", "notify", "probe", "gateway", "report", "net",
];

/// Crates whose root only declares modules and assembles them (web's router), so no
/// module may use an item the root itself defines. Elsewhere the root may hold the crate's
/// central type (`Store`, `Engine`) that modules extend, and `#[macro_export]` macros
/// (`tr!`) always live there.
const ROOT_ON_TOP: &[&str] = &["web"];

/// A layering rule between the top-level modules of one crate.
struct Rule {
    /// The crate's folder under `crates/`.
    krate: &'static str,
    /// The modules the rule binds.
    modules: &'static [&'static str],
    /// What they may not import (the lists together); with `only`, everything not listed.
    imports: &'static [&'static [&'static str]],
    /// Whether `imports` lists the only modules allowed instead of the forbidden ones.
    only: bool,
    /// Why, for the failure message.
    why: &'static str,
}

/// The engine's alerting stages and the tasks that run them.
const ENGINE_ABOVE_BOTTOM: &[&str] = &[
    "alerts",
    "decider",
    "degraded",
    "dispatch",
    "evidence",
    "incidents",
    "paging",
    "stage",
    "subscribers",
];

/// The web crate's features, each a set of routes.
const WEB_FEATURES: &[&str] = &[
    "checks",
    "alerting",
    "incidents",
    "subscribers",
    "gateway",
    "audit",
    "dashboard",
    "status",
    "posture",
];

const RULES: &[Rule] = &[
    Rule {
        krate: "core",
        modules: &["catalog"],
        imports: &[&["diag", "duration", "text"]],
        only: true,
        why: "the catalog is the vocabulary every rule is written in; rules sit on it",
    },
    Rule {
        krate: "engine",
        modules: &["shared", "links", "recipient", "deliver", "supervise"],
        imports: &[ENGINE_ABOVE_BOTTOM],
        only: false,
        why: "the bottom of alerting knows no stage, task or the module that starts them",
    },
    Rule {
        krate: "engine",
        modules: &[
            "decider",
            "degraded",
            "dispatch",
            "evidence",
            "incidents",
            "paging",
            "stage",
            "subscribers",
        ],
        imports: &[&["alerts"]],
        only: false,
        why: "stages and tasks do not reach back to the module that starts them",
    },
    Rule {
        krate: "web",
        modules: WEB_FEATURES,
        imports: &[WEB_FEATURES],
        only: false,
        why: "a feature uses the shared pieces, never another feature (openapi, on top, lists them all)",
    },
    Rule {
        krate: "web",
        modules: &[
            "app",
            "error",
            "lang",
            "html",
            "running",
            "audit_log",
            "credentials",
        ],
        imports: &[&["auth", "openapi"], WEB_FEATURES],
        only: false,
        why: "the shared pieces sit below authentication and every feature",
    },
];

#[test]
fn no_module_import_cycles_and_every_layer_holds() {
    let crates_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut failures = Vec::new();
    for name in CRATES {
        let src = crates_dir.join(name).join("src");
        assert!(src.is_dir(), "crates/{name}/src is not a folder");
        let graph = Graph::read(&src);
        // A reader that found nothing would pass every rule: the crates with layer rules
        // have many modules that import each other.
        if RULES.iter().any(|r| r.krate == *name) {
            assert!(
                graph
                    .edges
                    .get(&Vec::new())
                    .is_some_and(|top| top.len() > 3),
                "crates/{name}: too few imports read to check its layers"
            );
        }
        for cycle in graph.cycles() {
            failures.push(format!("crates/{name}: a cycle: {cycle}"));
        }
        let root_items = graph
            .root_items
            .iter()
            .filter(|_| ROOT_ON_TOP.contains(name));
        for (module, item, place) in root_items {
            failures.push(format!(
                "crates/{name}: {module} uses `crate::{item}`, which the crate root defines \
                 ({}:{}; the root declares every module, so move the item into a module the \
                 root re-exports)",
                place.file.display(),
                place.line
            ));
        }
        for rule in RULES.iter().filter(|r| r.krate == *name) {
            for broken in graph.broken(rule) {
                failures.push(format!("crates/{name}: {broken} ({})", rule.why));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "module structure broken:\n{}",
        failures.join("\n")
    );
}

#[test]
fn the_checker_finds_cycles_and_broken_layers_and_ignores_comments_and_strings() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let src = dir.path();
    let write = |path: &str, text: &str| {
        let path = src.join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("folder");
        std::fs::write(path, text).expect("write");
    };
    write(
        "lib.rs",
        "mod a; mod b; mod c; mod d; mod g; mod h;\npub use h::Thing;\npub use c as alias;\npub struct Root;\n",
    );
    write("a.rs", "use crate::{b::Thing, c};\n");
    write(
        "b.rs",
        "fn f() { crate::a::g(); }\n#[cfg(test)] mod tests { use super::*; }\n",
    );
    // Neither a comment nor a string literal is an import.
    write(
        "c.rs",
        "// use crate::a;\nconst S: &str = \"crate::a::x\";\nfn f() -> crate::Root { crate::Root }\n",
    );
    write("d/mod.rs", "mod e; mod f;\n");
    write("d/e.rs", "use super::f::X;\n");
    write("d/f.rs", "use super::e::Y; use crate::c;\n");
    // Through the root's re-exports: g -> h (Thing) and h -> g; c is reached as `alias`.
    write("g.rs", "use crate::Thing;\n");
    write(
        "h.rs",
        "pub struct Thing; fn f() { crate::g::x(); crate::alias::y(); }\n",
    );
    let graph = Graph::read(src);
    let found = graph.cycles();
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(found[0].starts_with("a -> b -> a"), "{}", found[0]);
    assert!(found[1].starts_with("g -> h -> g"), "{}", found[1]);
    assert!(found[2].starts_with("d::e -> d::f -> d::e"), "{}", found[2]);
    let root_users: Vec<(&str, &str, usize)> = graph
        .root_items
        .iter()
        .map(|(m, item, place)| (m.as_str(), item.as_str(), place.line))
        .collect();
    assert_eq!(root_users, [("c", "Root", 3), ("c", "Root", 3)]);
    let rule = |imports: &'static [&'static [&'static str]], only| Rule {
        krate: "x",
        modules: &["h"],
        imports,
        only,
        why: "",
    };
    assert_eq!(
        graph.broken(&rule(&[&["c"]], false)),
        ["h imports c at h.rs:1"]
    );
    assert_eq!(
        graph.broken(&rule(&[&["c"], &["g"]], true)),
        Vec::<String>::new()
    );
    assert_eq!(
        graph.broken(&rule(&[&["g"]], true)),
        ["h imports c at h.rs:1"]
    );
}

/// One reference from a module to another: where it was written.
#[derive(Clone, Debug)]
struct Place {
    file: PathBuf,
    line: usize,
}

/// The import edges of one crate, lifted to sibling modules.
struct Graph {
    /// Edges per parent module: parent -> (from child -> (to child -> first place)).
    edges: BTreeMap<Vec<String>, BTreeMap<String, BTreeMap<String, Place>>>,
    /// Items the crate root itself defines that a module names: (module, item, place).
    /// The root declares every module, so a module using it closes a cycle.
    root_items: Vec<(String, String, Place)>,
}

impl Graph {
    /// Reads every file of the crate whose source folder is `src`.
    fn read(src: &Path) -> Graph {
        let files = rust_files(src);
        let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(src, f)).collect();
        let reexports = root_reexports(src);
        let mut edges: BTreeMap<Vec<String>, BTreeMap<String, BTreeMap<String, Place>>> =
            BTreeMap::new();
        let mut root_items = Vec::new();
        for file in &files {
            let text = std::fs::read_to_string(file).expect("read a source file");
            let here = module_of(src, file);
            for (from, mut target, line) in references(&here, &text) {
                // `crate::Catalog` is wherever the root's `pub use` takes it from.
                if let Some(first) = target.first()
                    && !modules.contains(&vec![first.clone()])
                    && let Some(real) = reexports.get(first)
                {
                    target.splice(..1, real.iter().cloned());
                }
                let Some(to) = longest_module(&modules, &target) else {
                    continue;
                };
                let place = Place {
                    file: file.strip_prefix(src).unwrap_or(file).to_path_buf(),
                    line,
                };
                if to.is_empty() && !from.is_empty() && !target.is_empty() {
                    root_items.push((from.join("::"), target.join("::"), place));
                    continue;
                }
                let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
                if common == from.len() || common == to.len() {
                    continue; // an ancestor or a descendant
                }
                edges
                    .entry(from[..common].to_vec())
                    .or_default()
                    .entry(from[common].clone())
                    .or_default()
                    .entry(to[common].clone())
                    .or_insert(place);
            }
        }
        Graph { edges, root_items }
    }

    /// The cycles among sibling modules, each as `a -> b -> a (a at file:line; ..)`.
    fn cycles(&self) -> Vec<String> {
        let mut found = Vec::new();
        for (parent, graph) in &self.edges {
            for group in strongly_connected(graph) {
                if group.len() < 2 {
                    continue;
                }
                found.push(describe(parent, graph, &group));
            }
        }
        found
    }

    /// The imports between top-level modules that `rule` forbids, with their places.
    fn broken(&self, rule: &Rule) -> Vec<String> {
        let Some(top) = self.edges.get(&Vec::new()) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for module in rule.modules {
            for (target, place) in top.get(*module).into_iter().flatten() {
                let listed = rule
                    .imports
                    .iter()
                    .any(|list| list.contains(&target.as_str()));
                if listed != rule.only && target != module {
                    out.push(format!(
                        "{module} imports {target} at {}:{}",
                        place.file.display(),
                        place.line
                    ));
                }
            }
        }
        out
    }
}

/// The names the crate root brings in with `use` (`pub use catalog::Catalog;`, `pub use
/// catalog as model;`), each with the path it stands for.
fn root_reexports(src: &Path) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    let Ok(text) = std::fs::read_to_string(src.join("lib.rs")) else {
        return out;
    };
    let tokens = tokens(&text);
    for (i, (token, _)) in tokens.iter().enumerate() {
        if *token != Token::Ident("use".into()) {
            continue;
        }
        // Read the tree as if it followed `crate::`.
        let start = match tokens.get(i + 1).map(|t| &t.0) {
            Some(Token::Ident(w)) if w == "crate" => i + 2,
            Some(Token::Ident(_)) => i,
            _ => continue,
        };
        let mut paths = Vec::new();
        let mut shifted = tokens.clone();
        shifted[start] = (Token::PathSep, 0);
        path_tree(&shifted, start, Vec::new(), &mut paths);
        for (path, alias) in paths {
            if let Some(name) = alias.or_else(|| path.last().cloned()) {
                out.insert(name, path);
            }
        }
    }
    out
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let pattern = format!("{}/**/*.rs", glob::Pattern::escape(&dir.to_string_lossy()));
    let mut out: Vec<PathBuf> = glob::glob(&pattern)
        .expect("a valid pattern")
        .map(|entry| entry.expect("a readable source folder"))
        .collect();
    out.sort();
    out
}

/// The module a file defines: `a/b.rs` and `a/b/mod.rs` are `[a, b]`; `lib.rs` is `[]`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).unwrap_or(file);
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.trim_end_matches(".rs");
    if !matches!(stem, "lib" | "main" | "mod") {
        parts.push(stem.to_string());
    }
    parts
}

/// The longest prefix of `path` that is a module of the crate.
fn longest_module(modules: &BTreeSet<Vec<String>>, path: &[String]) -> Option<Vec<String>> {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|p| modules.contains(p))
}

/// A token of Rust source, as far as paths are concerned.
#[derive(Clone, Debug, PartialEq)]
enum Token {
    Ident(String),
    PathSep,
    Open,
    Close,
    Comma,
    Star,
    /// `$`, so `$crate::` in macros is not taken for this crate's path.
    Dollar,
    Other,
}

/// Splits source text into tokens with their line numbers, skipping comments, string and
/// character literals.
fn tokens(text: &str) -> Vec<(Token, usize)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 1;
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if c == 'r' && (at(i + 1) == '"' || (at(i + 1) == '#' && raw_start(&chars, i + 1))) {
            // r"..." or r#"..."#: ends at a quote followed by as many hashes.
            let mut j = i + 1;
            let mut hashes = 0;
            while at(j) == '#' {
                hashes += 1;
                j += 1;
            }
            j += 1; // the opening quote
            while j < chars.len() {
                if chars[j] == '"' && (1..=hashes).all(|k| at(j + k) == '#') {
                    j += 1 + hashes;
                    break;
                }
                if chars[j] == '\n' {
                    line += 1;
                }
                j += 1;
            }
            i = j;
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                if at(i) == '\n' {
                    line += 1;
                }
                i += 1;
            }
            i += 1;
        } else if c == '\'' {
            // A character literal ('a', '\n', '\u{..}') or a lifetime ('a).
            if at(i + 1) == '\\' {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                i += 1;
            }
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while at(i).is_alphanumeric() || at(i) == '_' {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            // Byte strings and raw identifiers start like identifiers.
            if (word == "b" || word == "br") && (at(i) == '"' || at(i) == '#') {
                continue;
            }
            out.push((Token::Ident(word), line));
        } else {
            let token = match c {
                ':' if at(i + 1) == ':' => {
                    i += 1;
                    Token::PathSep
                }
                '{' => Token::Open,
                '}' => Token::Close,
                ',' => Token::Comma,
                '*' => Token::Star,
                '$' => Token::Dollar,
                _ => Token::Other,
            };
            out.push((token, line));
            i += 1;
        }
    }
    out
}

/// Whether `r#` at `i` starts a raw string (`r#"`, `r##"`) rather than a raw identifier.
fn raw_start(chars: &[char], mut i: usize) -> bool {
    while chars.get(i) == Some(&'#') {
        i += 1;
    }
    chars.get(i) == Some(&'"')
}

/// The module paths a file names, each as (the module it is named in, the absolute path
/// named, the line).
fn references(file_module: &[String], text: &str) -> Vec<(Vec<String>, Vec<String>, usize)> {
    let tokens = tokens(text);
    let mut out = Vec::new();
    // Inline modules: (name, the brace depth their body opened at).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut pending_mod: Option<String> = None;
    let mut i = 0;
    while i < tokens.len() {
        let current = || {
            let mut m = file_module.to_vec();
            m.extend(inline.iter().map(|(name, _)| name.clone()));
            m
        };
        match &tokens[i].0 {
            Token::Open => {
                depth += 1;
                if let Some(name) = pending_mod.take() {
                    inline.push((name, depth));
                }
            }
            Token::Close => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
            }
            Token::Ident(word) if word == "mod" => {
                if let Some((Token::Ident(name), _)) = tokens.get(i + 1) {
                    pending_mod = Some(name.clone());
                    i += 2;
                    continue;
                }
            }
            Token::Ident(word)
                if (word == "crate" || word == "super")
                    && tokens.get(i + 1).map(|t| &t.0) == Some(&Token::PathSep)
                    && (i == 0 || tokens[i - 1].0 != Token::Dollar)
                    && (i == 0 || tokens[i - 1].0 != Token::PathSep) =>
            {
                let here = current();
                let line = tokens[i].1;
                let mut base: Vec<String> = if word == "crate" {
                    Vec::new()
                } else {
                    let mut b = here.clone();
                    b.pop();
                    b
                };
                let mut j = i + 1;
                // Further `super::` segments climb on.
                while tokens.get(j).map(|t| &t.0) == Some(&Token::PathSep)
                    && matches!(tokens.get(j + 1).map(|t| &t.0), Some(Token::Ident(w)) if w == "super")
                {
                    base.pop();
                    j += 2;
                }
                let mut paths = Vec::new();
                let end = path_tree(&tokens, j, base, &mut paths);
                for (p, _) in paths {
                    out.push((here.clone(), p, line));
                }
                i = end;
                continue;
            }
            Token::Other | Token::Comma => pending_mod = None,
            _ => {}
        }
        i += 1;
    }
    out
}

/// Reads `::a::b`, `::a::{b, c::d}`, `::a as b` or `::*` starting at the `::` at `i`,
/// appending every full path below `prefix` (with its `as` name) to `out`. Returns the
/// index after the tree.
fn path_tree(
    tokens: &[(Token, usize)],
    mut i: usize,
    prefix: Vec<String>,
    out: &mut Vec<(Vec<String>, Option<String>)>,
) -> usize {
    let mut path = prefix;
    while tokens.get(i).map(|t| &t.0) == Some(&Token::PathSep) {
        match tokens.get(i + 1).map(|t| &t.0) {
            Some(Token::Ident(name)) => {
                path.push(name.clone());
                i += 2;
            }
            Some(Token::Open) => {
                i += 2;
                loop {
                    match tokens.get(i).map(|t| &t.0) {
                        Some(Token::Ident(name)) => {
                            let mut inner = path.clone();
                            if name != "self" {
                                inner.push(name.clone());
                            }
                            i = path_tree(tokens, i + 1, inner, out);
                        }
                        Some(Token::Comma) | Some(Token::Star) => i += 1,
                        Some(Token::Close) => return i + 1,
                        None => return i,
                        Some(_) => i += 1,
                    }
                }
            }
            _ => {
                i += 2;
                break;
            }
        }
    }
    let alias = match (tokens.get(i), tokens.get(i + 1)) {
        (Some((Token::Ident(word), _)), Some((Token::Ident(name), _))) if word == "as" => {
            i += 2;
            Some(name.clone())
        }
        _ => None,
    };
    out.push((path, alias));
    i
}

/// Tarjan's strongly connected components of a small graph (recursion is fine: a folder
/// has tens of modules).
fn strongly_connected(graph: &BTreeMap<String, BTreeMap<String, Place>>) -> Vec<Vec<String>> {
    struct State<'g> {
        graph: &'g BTreeMap<String, BTreeMap<String, Place>>,
        index: BTreeMap<String, usize>,
        low: BTreeMap<String, usize>,
        stack: Vec<String>,
        on_stack: BTreeSet<String>,
        groups: Vec<Vec<String>>,
    }
    fn visit(s: &mut State<'_>, v: &str) {
        let n = s.index.len();
        s.index.insert(v.to_string(), n);
        s.low.insert(v.to_string(), n);
        s.stack.push(v.to_string());
        s.on_stack.insert(v.to_string());
        let targets: Vec<String> = s
            .graph
            .get(v)
            .map(|t| t.keys().cloned().collect())
            .unwrap_or_default();
        for w in targets {
            if !s.index.contains_key(&w) {
                visit(s, &w);
                let low = s.low[v].min(s.low[&w]);
                s.low.insert(v.to_string(), low);
            } else if s.on_stack.contains(&w) {
                let low = s.low[v].min(s.index[&w]);
                s.low.insert(v.to_string(), low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut group = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(&w);
                let done = w == v;
                group.push(w);
                if done {
                    break;
                }
            }
            group.sort();
            s.groups.push(group);
        }
    }
    let mut state = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        groups: Vec::new(),
    };
    for v in graph.keys() {
        if !state.index.contains_key(v) {
            visit(&mut state, v);
        }
    }
    state.groups.sort();
    state.groups
}

/// One cycle through a strongly connected group, with the place of each edge.
fn describe(
    parent: &[String],
    graph: &BTreeMap<String, BTreeMap<String, Place>>,
    group: &[String],
) -> String {
    let members: BTreeSet<&String> = group.iter().collect();
    let name = |m: &str| {
        let mut full = parent.to_vec();
        full.push(m.to_string());
        full.join("::")
    };
    // Walk from the first member along edges inside the group until a module repeats.
    let mut walk = vec![group[0].clone()];
    loop {
        let last = walk.last().expect("walk is never empty");
        let next = graph[last]
            .keys()
            .find(|t| members.contains(t))
            .expect("a member of a strongly connected group has an edge inside it")
            .clone();
        if let Some(start) = walk.iter().position(|m| *m == next) {
            walk.drain(..start);
            walk.push(next);
            break;
        }
        walk.push(next);
    }
    let arrows: Vec<String> = walk.iter().map(|m| name(m)).collect();
    let places: Vec<String> = walk
        .windows(2)
        .map(|pair| {
            let place = &graph[&pair[0]][&pair[1]];
            format!(
                "{} at {}:{}",
                name(&pair[0]),
                place.file.display(),
                place.line
            )
        })
        .collect();
    let all: Vec<String> = group.iter().map(|m| name(m)).collect();
    format!(
        "{} ({}); the group: {}",
        arrows.join(" -> "),
        places.join("; "),
        all.join(", ")
    )
}
