//! `docs/configuration.md` documents exactly the fields the decoder accepts: every field
//! of every section in `continuo_core::schema::sections()` (the lists the decoder reports
//! unknown fields from) has a row under its section's heading, no row names a field the
//! decoder does not accept there, and every diagnostic code the page names exists. And
//! the lists hold no dead entry: every field in them is read, so a wrong value for it is
//! an error at that value; and every example the page gives loads without an error at it.
//!
//! The page's shape, which this reads: a heading whose first `code span` is a section's
//! name (`## \`[[service.check]] kind = "http"\``), then a table with one row per field,
//! `| \`field\` | type | default | example | meaning | diagnostics |`.

mod common;

use common::rust_files;
use continuo_core::schema::{Section, sections};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const COLUMNS: usize = 6;

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn reference() -> String {
    fs::read_to_string(repository().join("docs/configuration.md"))
        .expect("docs/configuration.md is readable")
}

/// The cells of a table row, with `\|` kept as a `|` inside a cell.
fn cells(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    let mut out = vec![String::new()];
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                out.last_mut().expect("a cell").push('|');
                chars.next();
            }
            '|' => out.push(String::new()),
            c => out.last_mut().expect("a cell").push(c),
        }
    }
    out.into_iter().map(|c| c.trim().to_string()).collect()
}

/// The text of the first code span of `text`.
fn first_code(text: &str) -> Option<&str> {
    let (_, rest) = text.split_once('`')?;
    Some(rest.split_once('`')?.0)
}

/// One documented field: its section, its cells and the line it is on.
struct Row {
    section: String,
    field: String,
    cells: Vec<String>,
    line: usize,
}

/// The field rows of the page, under the section heading they follow.
fn rows(doc: &str) -> (Vec<Row>, BTreeMap<String, usize>) {
    let mut out = Vec::new();
    let mut headings = BTreeMap::new();
    let mut section: Option<String> = None;
    for (index, line) in doc.lines().enumerate() {
        let line_no = index + 1;
        if line.starts_with('#') {
            section = first_code(line).map(str::to_string);
            if let Some(name) = &section {
                headings.insert(name.clone(), line_no);
            }
            continue;
        }
        let (Some(section), true) = (&section, line.starts_with("| `")) else {
            continue;
        };
        let cells = cells(line);
        let Some(field) = first_code(&cells[0]) else {
            continue;
        };
        out.push(Row {
            section: section.clone(),
            field: field.to_string(),
            cells,
            line: line_no,
        });
    }
    (out, headings)
}

/// Every way `doc` and `schema` disagree, each message saying what to change.
fn differences(doc: &str, schema: &[Section]) -> Vec<String> {
    let (rows, headings) = rows(doc);
    let mut problems = Vec::new();
    let mut documented: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for row in &rows {
        if let Some(first) = documented.insert((&row.section, &row.field), row.line) {
            problems.push(format!(
                "docs/configuration.md:{}: `{}` in `{}` is documented twice (also line {first})",
                row.line, row.field, row.section
            ));
        }
        if row.cells.len() != COLUMNS {
            problems.push(format!(
                "docs/configuration.md:{}: the row of `{}` in `{}` has {} cells; write | field | type | default | example | meaning | diagnostics |",
                row.line,
                row.field,
                row.section,
                row.cells.len()
            ));
        } else if let Some(empty) = ["type", "default", "example", "meaning"]
            .iter()
            .zip(&row.cells[1..5])
            .find(|(_, cell)| cell.is_empty())
        {
            problems.push(format!(
                "docs/configuration.md:{}: the row of `{}` in `{}` has no {}",
                row.line, row.field, row.section, empty.0
            ));
        }
    }
    for section in schema {
        let name = section.name.as_str();
        if !headings.contains_key(name) {
            problems.push(format!(
                "section `{name}` is accepted by the decoder but not documented: add a heading \"## `{name}`\" to docs/configuration.md with a row per field"
            ));
            continue;
        }
        for field in &section.fields {
            if !documented.contains_key(&(name, *field)) {
                problems.push(format!(
                    "field `{field}` of `{name}` is accepted by the decoder but not documented: add a row \"| `{field}` | type | default | example | meaning | diagnostics |\" under \"## `{name}`\" in docs/configuration.md"
                ));
            }
        }
    }
    let accepted: BTreeSet<(&str, &str)> = schema
        .iter()
        .flat_map(|s| s.fields.iter().map(move |f| (s.name.as_str(), *f)))
        .collect();
    let known_sections: BTreeSet<&str> = schema.iter().map(|s| s.name.as_str()).collect();
    for (name, line) in &headings {
        if !known_sections.contains(name.as_str()) {
            problems.push(format!(
                "docs/configuration.md:{line}: heading `{name}` names no section the decoder has (its sections: {known_sections:?})"
            ));
        }
    }
    for row in &rows {
        if known_sections.contains(row.section.as_str())
            && !accepted.contains(&(row.section.as_str(), row.field.as_str()))
        {
            problems.push(format!(
                "docs/configuration.md:{}: `{}` is documented in `{}`, but the decoder does not accept it there: remove the row, or add the field to the decoder's list",
                row.line, row.field, row.section
            ));
        }
    }
    problems
}

fn is_code_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
}

/// Whether a code span looks like a diagnostic code (`bad-url`).
fn looks_like_code(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_lowercase())
        && text.chars().all(is_code_char)
        && text.contains('-')
        && !text.ends_with('-')
}

/// The codes in `text` given as `error("code"`, `warning("code"` or `code: "code"`.
fn codes_in(text: &str) -> BTreeSet<String> {
    let mut codes = BTreeSet::new();
    for opener in ["error(", "warning(", "code:"] {
        for (at, _) in text.match_indices(opener) {
            let rest = text[at + opener.len()..].trim_start();
            let Some(literal) = rest.strip_prefix('"') else {
                continue;
            };
            if let Some((code, _)) = literal.split_once('"')
                && looks_like_code(code)
            {
                codes.insert(code.to_string());
            }
        }
    }
    codes
}

/// Every code `continuo check` can show: the loader's and the decoder's, and those the
/// probe and notify crates add when they validate checks and channels.
fn known_codes() -> BTreeSet<String> {
    let mut codes = BTreeSet::new();
    for krate in ["core", "probe", "notify", "continuo"] {
        for file in rust_files(&repository().join("crates").join(krate).join("src")) {
            codes.extend(codes_in(&fs::read_to_string(&file).expect("a source file")));
        }
    }
    codes
}

/// The code spans of `doc` that look like diagnostic codes, with their lines.
fn codes_named(doc: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (index, line) in doc.lines().enumerate() {
        for (i, span) in line.split('`').enumerate() {
            if i % 2 == 1 && looks_like_code(span) {
                out.push((index + 1, span.to_string()));
            }
        }
    }
    out
}

#[test]
fn the_reference_documents_every_field_the_decoder_accepts_and_no_other() {
    let problems = differences(&reference(), &sections());
    assert!(
        problems.is_empty(),
        "docs/configuration.md and the decoder disagree:\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_diagnostic_code_the_reference_names_exists() {
    let known = known_codes();
    // The reader must see the codes at all, or this test would pass on nothing.
    assert!(known.len() >= 50, "only {} codes found", known.len());
    for code in ["bad-channel", "bad-check", "missing-field", "unknown-field"] {
        assert!(known.contains(code), "{code} not found in {known:?}");
    }
    let unknown: Vec<String> = codes_named(&reference())
        .into_iter()
        .filter(|(_, code)| !known.contains(code))
        .map(|(line, code)| format!("docs/configuration.md:{line}: no diagnostic `{code}`"))
        .collect();
    assert!(unknown.is_empty(), "{}", unknown.join("\n"));
}

#[test]
fn every_section_the_decoder_has_is_in_the_schema() {
    // The schema lists nested tables and each kind's fields as sections of their own.
    let names: BTreeSet<String> = sections().into_iter().map(|s| s.name).collect();
    for name in [
        "top level",
        "[server]",
        "[[escalation]] levels",
        "[[schedule.layer]]",
        "[[service.check]] expect",
        "[[service.check]] kind = \"heartbeat\"",
        "[[channel]] kind = \"email\"",
        "[[response_plan]] roles",
        "[[gateway.action]]",
    ] {
        assert!(names.contains(name), "{name} missing from {names:?}");
    }
    let server = sections()
        .into_iter()
        .find(|s| s.name == "[server]")
        .expect("[server]");
    for field in [
        "public_url",
        "retention",
        "max_concurrent_probes",
        "templates",
    ] {
        assert!(server.fields.contains(&field), "{field}");
    }
}

fn section(name: &str, fields: &[&'static str]) -> Section {
    Section {
        name: name.to_string(),
        path: "",
        kind: None,
        fields: fields.to_vec(),
    }
}

fn check(doc: &str, schema: &[Section], expected: &[&str]) {
    let problems = differences(doc, schema);
    assert_eq!(
        problems.len(),
        expected.len(),
        "expected {expected:?}, got {problems:#?}"
    );
    for (problem, wanted) in problems.iter().zip(expected) {
        assert!(problem.contains(wanted), "{problem:?} lacks {wanted:?}");
    }
}

const HEAD: &str = "| field | type | default | example | meaning | diagnostics |\n| --- | --- | --- | --- | --- | --- |\n";

#[test]
fn differences_name_the_section_the_field_and_what_to_do() {
    let route = [section("[[route]]", &["match", "service"])];
    let row =
        |f: &str| format!("| `{f}` | string | required | `\"x\"` | what | `missing-field` |\n");
    let full = format!("## `[[route]]`\n\n{HEAD}{}{}", row("match"), row("service"));
    check(&full, &route, &[]);
    // An undocumented field: the section, the field and the row to add.
    check(
        &format!("## `[[route]]`\n\n{HEAD}{}", row("match")),
        &route,
        &[
            "field `service` of `[[route]]` is accepted by the decoder but not documented: add a row",
        ],
    );
    // A documented field the decoder does not accept, at its line.
    check(
        &format!("{full}{}", row("priority")),
        &route,
        &[
            "docs/configuration.md:7: `priority` is documented in `[[route]]`, but the decoder does not accept it there",
        ],
    );
    // A section without a heading, and a heading of no section.
    check(
        &full.replace("[[route]]", "[[routes]]"),
        &route,
        &[
            "section `[[route]]` is accepted by the decoder but not documented",
            "docs/configuration.md:1: heading `[[routes]]` names no section",
        ],
    );
    // A field twice, and a row with a missing cell.
    check(
        &format!("{full}{}", row("match")),
        &route,
        &["`match` in `[[route]]` is documented twice (also line 5)"],
    );
    check(
        &format!(
            "## `[[route]]`\n\n{HEAD}{}| `service` | id | required | `\"erp\"` | where |\n",
            row("match")
        ),
        &route,
        &["the row of `service` in `[[route]]` has 5 cells"],
    );
    // Rows under a heading without a section name are prose, not fields.
    check(
        &format!("{full}\n## Notes\n\n{HEAD}{}", row("x")),
        &route,
        &[],
    );
}

#[test]
fn cells_keep_escaped_bars_and_codes_are_read_from_spans() {
    assert_eq!(
        cells("| `body` | `{{ a\\|tojson }}` | x |"),
        ["`body`", "`{{ a|tojson }}`", "x"]
    );
    assert_eq!(
        codes_named("see `bad-url`, `2026-01-05`, `round_robin` and `X-Forwarded-For`"),
        [(1, "bad-url".to_string())]
    );
    assert_eq!(
        codes_in("Diagnostic::error(\n \"bad-check\", l)\ncode: \"bad-channel\",\nerror(\"x\")"),
        ["bad-channel", "bad-check"].map(String::from).into()
    );
}

/// A TOML value no field takes, so each getter reports it at the value.
const NO_FIELD_TAKES: &str = "1979-05-27T07:32:00Z";

const TEAM: &str = "[[team]]\nid = \"t\"\n\n";
const SERVICE: &str =
    "[[team]]\nid = \"t\"\n\n[[service]]\nid = \"s\"\ntier = 2\nowner = \"t\"\nrto = \"1h\"\n\n";

/// Where a table of `section` can stand: the text before it, its header and the lines
/// that make it valid. Nested tables are written as sub-tables, so every section has a
/// header the tested field can follow.
fn context(section: &Section, field: &str) -> (String, String, Vec<String>) {
    let lines = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let (before, header, body): (&str, &str, Vec<String>) = match section.name.as_str() {
        "top level" => ("", "", vec![]),
        "[organization]" => ("", "[organization]", lines(&["name = \"A\""])),
        "[server]" => ("", "[server]", vec![]),
        "[status_page]" => ("", "[status_page]", vec![]),
        "[[person]]" => ("", "[[person]]", lines(&["id = \"p\"", "name = \"P\""])),
        "[[team]]" => ("", "[[team]]", lines(&["id = \"t\""])),
        "[[schedule]]" => ("", "[[schedule]]", lines(&["id = \"r\""])),
        "[[schedule.layer]]" => (
            "[[schedule]]\nid = \"r\"\n",
            "[[schedule.layer]]",
            lines(&["members = [\"p\"]"]),
        ),
        "[[schedule.override]]" => (
            "[[schedule]]\nid = \"r\"\n",
            "[[schedule.override]]",
            lines(&[
                "person = \"p\"",
                "from = \"2026-01-01T00:00\"",
                "until = \"2026-01-02T00:00\"",
            ]),
        ),
        "[[escalation]]" => ("", "[[escalation]]", lines(&["id = \"e\""])),
        "[[escalation]] levels" => (
            "[[escalation]]\nid = \"e\"\n",
            "[[escalation.levels]]",
            lines(&["notify = [\"team:t\"]"]),
        ),
        "[[channel]]" => (
            "",
            "[[channel]]",
            lines(&[
                "id = \"c\"",
                "kind = \"slack\"",
                "url = \"https://x.example\"",
            ]),
        ),
        "[[service]]" => (
            TEAM,
            "[[service]]",
            lines(&["id = \"s\"", "tier = 2", "owner = \"t\"", "rto = \"1h\""]),
        ),
        "[[service]] depends_on" => (
            SERVICE,
            "[[service.depends_on]]",
            lines(&["service = \"s\""]),
        ),
        "[[service]] runbook" => (SERVICE, "[service.runbook]", lines(&["path = \"r.md\""])),
        "[[service]] status_page" => (SERVICE, "[service.status_page]", vec![]),
        "[[service.endpoint]]" => (
            SERVICE,
            "[[service.endpoint]]",
            lines(&["url = \"http://127.0.0.1:1\""]),
        ),
        "[[service.check]]" => (
            SERVICE,
            "[[service.check]]",
            lines(&["kind = \"tcp\"", "target = \"127.0.0.1:1\""]),
        ),
        "[[service.check]] expect" => (
            "[[team]]\nid = \"t\"\n\n[[service]]\nid = \"s\"\ntier = 2\nowner = \"t\"\nrto = \"1h\"\n\n[[service.check]]\nkind = \"http\"\nurl = \"http://127.0.0.1/\"\n",
            "[service.check.expect]",
            vec![],
        ),
        "[[risk]]" => (
            "",
            "[[risk]]",
            lines(&[
                "id = \"r\"",
                "title = \"R\"",
                "likelihood = 1",
                "impact = 1",
            ]),
        ),
        // One-off or recurring, as the field belongs to.
        "[[maintenance]]" => (
            "",
            "[[maintenance]]",
            match field {
                "schedule" | "duration" => lines(&[
                    "id = \"m\"",
                    "services = [\"s\"]",
                    "schedule = \"0 2 * * *\"",
                    "duration = \"1h\"",
                ]),
                _ => lines(&[
                    "id = \"m\"",
                    "services = [\"s\"]",
                    "from = \"2026-01-01T00:00\"",
                    "until = \"2026-01-02T00:00\"",
                ]),
            },
        ),
        "[[route]]" => (
            "",
            "[[route]]",
            lines(&["match = { a = \"b\" }", "service = \"s\""]),
        ),
        "[[response_plan]]" => (
            "",
            "[[response_plan]]",
            lines(&["id = \"p\"", "severity = [\"SEV1\"]"]),
        ),
        "[[response_plan]] roles" => (
            "[[response_plan]]\nid = \"p\"\nseverity = [\"SEV1\"]\n",
            "[response_plan.roles]",
            vec![],
        ),
        "[[gateway]]" => (
            "",
            "[[gateway]]",
            lines(&["id = \"g\"", "listen = \"127.0.0.1:1\"", "service = \"s\""]),
        ),
        // An action reads only its kind's fields: test each under its kind.
        "[[gateway.action]]" => (
            "[[gateway]]\nid = \"g\"\nlisten = \"127.0.0.1:1\"\nservice = \"s\"\n",
            "[[gateway.action]]",
            match field {
                "url" | "headers" => lines(&["kind = \"webhook\"", "url = \"http://127.0.0.1/\""]),
                "socket" | "backend" | "server" | "state" => lines(&[
                    "kind = \"haproxy\"",
                    "socket = \"/run/h.sock\"",
                    "backend = \"b\"",
                    "server = \"s\"",
                    "state = \"maint\"",
                ]),
                _ => lines(&["kind = \"command\"", "command = [\"true\"]"]),
            },
        ),
        other => match (other.split_once(' '), section.kind) {
            (Some(("[[channel]]", _)), Some(kind)) => (
                "",
                "[[channel]]",
                vec!["id = \"c\"".into(), format!("kind = \"{kind}\"")],
            ),
            // A check missing a required field stops there, so give each its own.
            (Some(("[[service.check]]", _)), Some(kind)) => {
                let required = match kind {
                    "tcp" | "tls" => "target = \"127.0.0.1:1\"",
                    "command" => "command = [\"true\"]",
                    _ => "",
                };
                (
                    SERVICE,
                    "[[service.check]]",
                    vec![format!("kind = \"{kind}\""), required.to_string()],
                )
            }
            _ => panic!(
                "add a valid context for section `{other}` to `context` in {}",
                file!()
            ),
        },
    };
    (before.to_string(), header.to_string(), body)
}

#[test]
fn every_field_the_decoder_accepts_is_read_and_type_checked() {
    let mut unread = Vec::new();
    for section in sections() {
        for field in &section.fields {
            let (text, line) = with_field(&section, field, NO_FIELD_TAKES);
            let at = format!("continuo.toml:{line}:{}:", field.len() + 4);
            let errors = continuo_core::load_text(&text).err().unwrap_or_default();
            if !errors.iter().any(|e| e.starts_with(&at)) {
                unread.push(format!(
                    "`{field}` of `{}`: a wrong value gave no error at it ({errors:?})",
                    section.name
                ));
            }
        }
    }
    assert!(
        unread.is_empty(),
        "fields the decoder accepts but does not read (remove them from the list, or read them):\n{}",
        unread.join("\n")
    );
}

/// `text` with `field = value` as the last line of a `section` table; the line's number.
fn with_field(section: &Section, field: &str, value: &str) -> (String, usize) {
    let (before, header, body) = context(section, field);
    let mut text = format!("{before}{header}\n");
    for line in body
        .iter()
        .filter(|l| !l.starts_with(&format!("{field} = ")))
    {
        text.push_str(line);
        text.push('\n');
    }
    let line = text.lines().count() + 1;
    text.push_str(&format!("{field} = {value}\n"));
    (text, line)
}

#[test]
fn every_example_in_the_reference_loads() {
    let schema = sections();
    let (rows, _) = rows(&reference());
    let mut wrong = Vec::new();
    for row in &rows {
        let Some(section) = schema.iter().find(|s| s.name == row.section) else {
            continue;
        };
        let Some(example) = row.cells.get(3).and_then(|c| first_code(c)) else {
            continue;
        };
        // A table list's example is its header (`[[service.check]]`), shown below it.
        if example.starts_with('[') && example.ends_with(']') && !example.contains('"') {
            continue;
        }
        let (text, line) = with_field(section, &row.field, example);
        let at = format!("continuo.toml:{line}:");
        let errors: Vec<String> = continuo_core::load_text(&text)
            .err()
            .unwrap_or_default()
            .into_iter()
            // The context declares nothing an example may refer to, and has no
            // environment and no other files: those errors are about the context.
            .filter(|e| {
                e.starts_with(&at)
                    && !e.contains("refers to unknown")
                    && !e.contains("is not set")
                    && !e.contains("matches no file")
                    && !e.contains("cannot be read")
            })
            .collect();
        if !errors.is_empty() {
            wrong.push(format!(
                "docs/configuration.md:{}: the example of `{}` in `{}` does not load: {errors:?}",
                row.line, row.field, row.section
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
