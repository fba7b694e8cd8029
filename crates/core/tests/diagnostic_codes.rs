//! Every diagnostic code has a test: the stable codes the decoder, loader and validator
//! emit (`Diagnostic::error("code", …)`, `Diagnostic::warning(…)` and the decoder's
//! `self.error("code", …)`) are read from `src/`, and each must appear in some test
//! under `tests/`. A new diagnostic without a case fails here, naming it.

mod common;

use common::rust_files;
use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

fn is_code_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
}

/// The codes given as the first argument of `error(` or `warning(` in `text`.
fn codes_in(text: &str) -> BTreeSet<String> {
    let mut codes = BTreeSet::new();
    for opener in ["error(", "warning("] {
        for (at, _) in text.match_indices(opener) {
            let rest = text[at + opener.len()..].trim_start();
            let Some(literal) = rest.strip_prefix('"') else {
                continue;
            };
            let Some((code, _)) = literal.split_once('"') else {
                continue;
            };
            if !code.is_empty() && code.chars().all(is_code_char) && code.contains('-') {
                codes.insert(code.to_string());
            }
        }
    }
    codes
}

/// Whether `code` stands in `text` as a whole word (not inside a longer code).
fn mentions(text: &str, code: &str) -> bool {
    text.match_indices(code).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + code.len()..].chars().next();
        !before.is_some_and(is_code_char) && !after.is_some_and(is_code_char)
    })
}

#[test]
fn every_diagnostic_code_appears_in_a_test() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut codes = BTreeSet::new();
    for file in rust_files(&root.join("src")) {
        codes.extend(codes_in(&fs::read_to_string(&file).expect("a source file")));
    }
    // The reader must see the codes at all, or this test would pass on nothing.
    assert!(
        codes.len() >= 50,
        "only {} codes found: {codes:?}",
        codes.len()
    );
    let this = Path::new(file!()).file_name().expect("this file's name");
    let tests: String = rust_files(&root.join("tests"))
        .into_iter()
        .filter(|f| f.file_name() != Some(this))
        .map(|f| fs::read_to_string(f).expect("a test file"))
        .collect();
    let untested: Vec<&String> = codes.iter().filter(|c| !mentions(&tests, c)).collect();
    assert!(
        untested.is_empty(),
        "diagnostic codes no test asserts: {untested:?}"
    );
}

#[test]
fn the_reader_finds_codes_and_whole_words() {
    let codes = codes_in(
        "Diagnostic::error(\n  \"bad-logo\", loc)\nself.error(\"x\", 1)\nwarning( \"low-contrast\",",
    );
    assert_eq!(codes, ["bad-logo", "low-contrast"].map(String::from).into());
    assert!(mentions("error bad-path c.toml", "bad-path"));
    assert!(!mentions("error bad-path-x", "bad-path"));
}
