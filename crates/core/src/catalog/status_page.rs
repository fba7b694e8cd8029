//! `[status_page]`: how the public status page presents itself (title, description,
//! logo, accent colour). Which services appear on it, and in which group, is set per
//! service (`[service.status_page]`, [`crate::catalog::StatusPage`]).
//!
//! Decoding is in `crate::decode::status_page`.

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
    /// Whether an incident that takes a public component down is published at once
    /// with an automatic "investigating" update (`automatic_incidents`, on unless set to
    /// `false`); when off, the page shows a neutral "we are investigating" line instead.
    pub automatic_incidents: Option<bool>,
}

impl StatusPageSettings {
    /// Whether incidents that take a public component down are published automatically.
    pub fn automatic_incidents(&self) -> bool {
        self.automatic_incidents.unwrap_or(true)
    }

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
