//! `[status_page]`: title, description, logo and accent colour, with colours and logos
//! checked and every problem located, in English and Dutch.

use continuo_core::catalog::status_page::{contrast_with_white, parse_colour};
use continuo_core::{Lang, SourceProvider, load};
use std::path::{Path, PathBuf};

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

/// `severity code path:line:column message` of every diagnostic, in `lang`.
fn diagnostics(text: &str, lang: Lang) -> Vec<String> {
    let outcome = load(Path::new("c.toml"), &One(text.to_string()), &|_| None);
    outcome
        .diagnostics
        .sorted()
        .into_iter()
        .map(|d| {
            let at = d
                .loc
                .as_ref()
                .map(|l| outcome.sources.position(l).to_string())
                .unwrap_or_default();
            format!("{:?} {} {at} {}", d.severity, d.code, d.message.get(lang))
        })
        .collect()
}

fn check(text: &str, lang: Lang, expected: &[&str]) {
    let found = diagnostics(text, lang);
    assert_eq!(found, expected, "\nfound:\n{}\n", found.join("\n"));
}

#[test]
fn a_valid_table_decodes_and_normalises_the_colour() {
    let catalog = continuo_core::load_text(
        "[status_page]\ntitle = \"Acme status\"\ndescription = \"Live\"\nlogo = \"https://acme.example/logo.svg\"\naccent = \"#06C\"\n",
    )
    .expect("valid");
    let s = &catalog.status_page;
    assert_eq!(s.title.as_deref(), Some("Acme status"));
    assert_eq!(s.description.as_deref(), Some("Live"));
    assert_eq!(s.logo.as_deref(), Some("https://acme.example/logo.svg"));
    assert_eq!(s.accent.as_deref(), Some("#0066cc"));
    assert_eq!(s.accent_or_default(), "#0066cc");
    let empty = continuo_core::load_text("").expect("valid");
    assert_eq!(empty.status_page.accent_or_default(), "#0a5c36");
}

#[test]
fn bad_values_are_located_in_both_languages() {
    let text = "[status_page]\ntitel = \"x\"\naccent = \"green\"\nlogo = \"javascript:alert(1)\"\n";
    check(
        text,
        Lang::En,
        &[
            "Error unknown-field c.toml:2:1 unknown field `titel` in [status_page]",
            "Error bad-colour c.toml:3:10 `green` is not a colour",
            "Error bad-logo c.toml:4:8 `javascript:alert(1)` is not a usable logo address",
        ],
    );
    check(
        text,
        Lang::Nl,
        &[
            "Error unknown-field c.toml:2:1 onbekend veld `titel` in [status_page]",
            "Error bad-colour c.toml:3:10 `green` is geen kleur",
            "Error bad-logo c.toml:4:8 `javascript:alert(1)` is geen bruikbaar logo-adres",
        ],
    );
}

#[test]
fn a_light_accent_is_a_contrast_warning() {
    check(
        "[status_page]\naccent = \"#ffff00\"\n",
        Lang::En,
        &[
            "Warning low-contrast c.toml:2:10 white text on `#ffff00` has a contrast of 1.1:1; readable text needs at least 4.5:1 (WCAG AA)",
        ],
    );
}

#[test]
fn the_table_may_appear_once() {
    let found = diagnostics("[status_page]\ntitle = \"a\"\n", Lang::En);
    assert!(found.is_empty(), "{found:?}");
    let twice =
        continuo_core::load_text("[status_page]\ntitle = \"a\"\n[status_page]\ntitle = \"b\"\n");
    assert!(twice.is_err(), "a TOML table defined twice does not parse");
}

#[test]
fn colours_parse_and_contrast_is_wcag() {
    assert_eq!(parse_colour("#000"), Some((0, 0, 0)));
    assert_eq!(parse_colour("#0a5C36"), Some((10, 92, 54)));
    for bad in ["000", "#00", "#0000", "#ggg", "#1234567", "", "#+12"] {
        assert_eq!(parse_colour(bad), None, "{bad}");
    }
    assert!((contrast_with_white((0, 0, 0)) - 21.0).abs() < 0.01);
    assert!((contrast_with_white((255, 255, 255)) - 1.0).abs() < 0.01);
    assert!(contrast_with_white((10, 92, 54)) >= 4.5);
}
