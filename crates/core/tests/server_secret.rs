//! `check` warns when `[server] secret` is unset (issue 16, failure 7): the key that
//! signs acknowledge links is then generated and lives only in the database, so whoever
//! reads the database (or a backup of it) can forge acknowledge links.

use continuo_core::diag::Severity;
use continuo_core::{Lang, SourceProvider, load};
use std::path::{Path, PathBuf};

/// One file in memory.
struct One(String);

impl SourceProvider for One {
    fn read(&self, _path: &Path) -> Result<String, String> {
        Ok(self.0.clone())
    }

    fn glob(&self, _pattern: &Path) -> Result<Vec<PathBuf>, String> {
        Ok(Vec::new())
    }

    fn exists(&self, _path: &Path) -> bool {
        false
    }
}

/// `(code, path:line:column, English, Dutch)` of every warning.
fn warnings(toml: &str) -> Vec<(String, String, String, String)> {
    let outcome = load(Path::new("c.toml"), &One(toml.to_string()), &|_| None);
    outcome
        .diagnostics
        .sorted()
        .into_iter()
        .filter(|d| d.severity == Severity::Warning)
        .map(|d| {
            let at = d
                .loc
                .as_ref()
                .map(|l| outcome.sources.position(l).to_string())
                .unwrap_or_default();
            (
                d.code.to_string(),
                at,
                d.message.get(Lang::En).to_string(),
                d.message.get(Lang::Nl).to_string(),
            )
        })
        .collect()
}

#[test]
fn an_unset_link_secret_is_a_located_warning_in_both_languages() {
    let found = warnings("[server]\nlisten = \"127.0.0.1:8080\"\n");
    assert_eq!(found.len(), 1, "{found:?}");
    let (code, at, en, nl) = &found[0];
    assert_eq!(code, "no-link-secret");
    assert!(at.starts_with("c.toml:"), "located in the file: {at}");
    assert!(en.contains("[server] secret is not set"), "{en}");
    assert!(nl.contains("[server] secret is niet ingesteld"), "{nl}");
}

#[test]
fn a_set_link_secret_gets_no_warning() {
    let found = warnings("[server]\nsecret = \"0123456789abcdef0123\"\n");
    assert!(found.is_empty(), "{found:?}");
}
