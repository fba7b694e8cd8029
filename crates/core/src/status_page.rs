//! `[status_page]`: how the public status page presents itself (title, description,
//! logo, accent colour). Which services appear on it, and in which group, is set per
//! service (`[service.status_page]`, [`crate::model::StatusPage`]).
//!
//! This file is a child module of `decode` (declared there with `#[path]` and re-exported
//! as `continuo_core::status_page`) so it can use the decoder's private field getters.

use super::{Decoder, Value};
use crate::diag::{Diagnostic, Loc};
use crate::tr;
use serde::Serialize;

/// The accent colour when none is configured (passes WCAG AA against white text).
pub const DEFAULT_ACCENT: &str = "#0a5c36";

/// The public status page's presentation.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct StatusPageSettings {
    /// Page title; the organisation's name when absent.
    pub title: Option<String>,
    /// A line under the title.
    pub description: Option<String>,
    /// URL of a logo image (`https://…` or a path on this server).
    pub logo: Option<String>,
    /// Accent colour, `#rrggbb` (lower case), used behind white text.
    pub accent: Option<String>,
}

impl StatusPageSettings {
    /// The accent colour to use.
    pub fn accent_or_default(&self) -> &str {
        self.accent.as_deref().unwrap_or(DEFAULT_ACCENT)
    }
}

/// Parses `#rgb` or `#rrggbb` (any case) into red, green and blue.
pub fn parse_colour(text: &str) -> Option<(u8, u8, u8)> {
    let hex = text.strip_prefix('#')?;
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let digit = |i: usize, width: usize| u8::from_str_radix(hex.get(i..i + width)?, 16).ok();
    match hex.len() {
        3 => {
            let (r, g, b) = (digit(0, 1)?, digit(1, 1)?, digit(2, 1)?);
            Some((r * 17, g * 17, b * 17))
        }
        6 => Some((digit(0, 2)?, digit(2, 2)?, digit(4, 2)?)),
        _ => None,
    }
}

/// WCAG 2 contrast ratio of a colour against white (1.0 to 21.0).
pub fn contrast_with_white((r, g, b): (u8, u8, u8)) -> f64 {
    let channel = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.039_28 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let luminance = 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
    1.05 / (luminance + 0.05)
}

impl Decoder<'_> {
    /// Decodes `[status_page]`.
    pub(crate) fn status_page_settings(
        &mut self,
        value: &Value<'_>,
    ) -> Option<(StatusPageSettings, Loc)> {
        let loc = self.loc(value.span());
        let f = self.open(
            "[status_page]",
            value,
            &["title", "description", "logo", "accent"],
        )?;
        let title = self.string(&f, "title").map(|s| s.value);
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
            },
            loc,
        ))
    }
}

// The public ids and statuses moved to `crate::public` (one definition for every public
// surface); they stay reachable here for existing callers.
pub use crate::public::{ComponentStatus, component_ids, slug};
