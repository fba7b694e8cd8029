//! Decodes `[status_page]`: the page's presentation, with its colour checked for
//! contrast.

use super::{Decoder, Value};
use crate::catalog::status_page::*;
use crate::diag::{Diagnostic, Loc};
use crate::tr;

/// The fields of `[status_page]`.
pub(super) const STATUS_PAGE: &[&str] = &[
    "title",
    "description",
    "logo",
    "accent",
    "automatic_incidents",
];

impl Decoder<'_> {
    /// Decodes `[status_page]`.
    pub(crate) fn status_page_settings(
        &mut self,
        value: &Value<'_>,
    ) -> Option<(StatusPageSettings, Loc)> {
        let loc = self.loc(value.span());
        let f = self.open("[status_page]", value, STATUS_PAGE)?;
        let title = self.string(&f, "title").map(|s| s.value);
        let automatic_incidents = self.boolean(&f, "automatic_incidents");
        let description = self.string(&f, "description").map(|s| s.value);
        let logo = self.string(&f, "logo").and_then(|logo| {
            let v = &logo.value;
            let fine = v.starts_with("https://") || v.starts_with("http://") || v.starts_with('/');
            if fine && !v.chars().any(|c| c.is_whitespace() || c == '"' || c == '<') {
                return Some(logo.value);
            }
            self.diags.push(
                Diagnostic::error(
                    "bad-logo",
                    logo.loc.clone(),
                    tr!(
                        "`{v}` is not a usable logo address",
                        "`{v}` is geen bruikbaar logo-adres"
                    ),
                    tr!("not a URL", "geen URL"),
                )
                .with_help(tr!(
                    "give an https:// URL or a path on this server, such as \"https://acme.example/logo.svg\"",
                    "geef een https://-URL of een pad op deze server, zoals \"https://acme.example/logo.svg\""
                )),
            );
            None
        });
        let accent = self.string(&f, "accent").and_then(|accent| {
            let v = &accent.value;
            let Some(rgb) = parse_colour(v) else {
                self.diags.push(
                    Diagnostic::error(
                        "bad-colour",
                        accent.loc.clone(),
                        tr!(
                            "`{v}` is not a colour",
                            "`{v}` is geen kleur"
                        ),
                        tr!("expected #rrggbb", "verwacht: #rrggbb"),
                    )
                    .with_help(tr!(
                        "write the colour in hexadecimal, such as \"#0a5c36\" or \"#06c\"",
                        "schrijf de kleur hexadecimaal, zoals \"#0a5c36\" of \"#06c\""
                    )),
                );
                return None;
            };
            let ratio = contrast_with_white(rgb);
            if ratio < 4.5 {
                let shown = format!("{ratio:.1}");
                self.diags.push(
                    Diagnostic::warning(
                        "low-contrast",
                        accent.loc.clone(),
                        tr!(
                            "white text on `{v}` has a contrast of {shown}:1; readable text needs at least 4.5:1 (WCAG AA)",
                            "witte tekst op `{v}` heeft een contrast van {shown}:1; leesbare tekst vraagt minstens 4,5:1 (WCAG AA)"
                        ),
                        tr!("too light", "te licht"),
                    )
                    .with_help(tr!(
                        "choose a darker colour, such as \"#0a5c36\"",
                        "kies een donkerdere kleur, zoals \"#0a5c36\""
                    )),
                );
            }
            let (r, g, b) = rgb;
            Some(format!("#{r:02x}{g:02x}{b:02x}"))
        });
        Some((
            StatusPageSettings {
                title,
                description,
                logo,
                accent,
                automatic_incidents,
            },
            loc,
        ))
    }
}
