//! The language of an answer, chosen one way everywhere: the API's errors, the
//! dashboard, the status page, sign-in, the postmortem and report drafts, and the
//! acknowledge and subscription pages.
//!
//! Accept-Language is read as RFC 9110 (section 12.5.4) says: each language has a
//! weight (`q`, 1 when absent); the highest weight wins, ties go to the one written
//! first, and `q=0` means "not this one". So `de, nl;q=0.9` is Dutch: German comes first
//! but is not spoken here.

use axum::http::{HeaderMap, header};
use continuo_core::Lang;
use continuo_core::catalog::Catalog;

/// The language we speak that an Accept-Language value prefers most, if any.
pub fn negotiate(accept: &str) -> Option<Lang> {
    // (weight in thousandths, position, language); the best so far.
    let mut best: Option<(u16, usize, Lang)> = None;
    for (position, entry) in accept.split(',').enumerate() {
        let (tag, weight) = weighted(entry);
        // An unreadable weight makes the entry worthless rather than the best.
        let weight = weight.unwrap_or(0);
        if weight == 0 || tag == "*" {
            continue;
        }
        let Some(lang) = Lang::from_code(tag) else {
            continue;
        };
        if best.is_none_or(|(w, _, _)| weight > w) {
            best = Some((weight, position, lang));
        }
    }
    best.map(|(_, _, lang)| lang)
}

/// One entry of a weighted header list (RFC 9110 section 12.4.2: `nl;q=0.9`,
/// `gzip;q=0`): its name, and its weight in thousandths (1,000 without a `q`; `None`
/// when the `q` given is not a weight, which each caller decides how to take).
pub(crate) fn weighted(entry: &str) -> (&str, Option<u16>) {
    let mut parts = entry.split(';');
    let name = parts.next().unwrap_or_default().trim();
    let mut weight = Some(1_000);
    for parameter in parts {
        if let Some((key, value)) = parameter.split_once('=')
            && key.trim().eq_ignore_ascii_case("q")
        {
            weight = quality(value.trim());
        }
    }
    (name, weight)
}

/// A weight (`0`, `0.5`, `1.000`) in thousandths; `None` when it is not one.
fn quality(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths: u16 = format!("{fraction:0<3}").parse().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1_000),
        _ => None,
    }
}

/// The language the request's Accept-Language prefers, if we speak one it accepts.
pub fn accepted(headers: &HeaderMap) -> Option<Lang> {
    headers
        .get_all(header::ACCEPT_LANGUAGE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(negotiate)
}

/// The organisation's first language: what a request that says nothing gets.
pub fn organisation(catalog: &Catalog) -> Lang {
    catalog
        .organization
        .languages
        .first()
        .copied()
        .unwrap_or(Lang::En)
}

/// The language of an answer: an explicit choice (`?lang=`, a form's `language`) when it
/// names one we speak, else Accept-Language, else the organisation's first language.
pub fn of_request(explicit: Option<&str>, headers: &HeaderMap, catalog: &Catalog) -> Lang {
    explicit
        .and_then(Lang::from_code)
        .or_else(|| accepted(headers))
        .unwrap_or_else(|| organisation(catalog))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_with_weights() {
        for (accept, expected) in [
            ("", None),
            ("nl", Some(Lang::Nl)),
            ("nl-NL,nl;q=0.9,en;q=0.5", Some(Lang::Nl)),
            ("de, nl;q=0.9", Some(Lang::Nl)),
            ("de, nl;q=0.9, en;q=0.8", Some(Lang::Nl)),
            ("en;q=0.5, nl;q=0.6", Some(Lang::Nl)),
            ("en, nl", Some(Lang::En)),
            ("nl;q=0, en;q=0.1", Some(Lang::En)),
            ("nl;q=0", None),
            ("nl;q=0.000", None),
            ("*, nl;q=0.2", Some(Lang::Nl)),
            ("EN-gb;Q=0.7, fr", Some(Lang::En)),
            ("nl;q=bogus, en;q=0.1", Some(Lang::En)),
            ("nl;q=1.5, en;q=0.1", Some(Lang::En)),
            ("fr, de", None),
        ] {
            assert_eq!(negotiate(accept), expected, "{accept:?}");
        }
    }
}
