//! SVG badges per component: `/badge/{component}.svg` (its status) and
//! `/badge/{component}/uptime.svg` (its uptime over the days with data in the last 90).
//! Small, self-contained, with a `<title>` so the text is there for screen readers.

use super::feed::xml;
use super::model::{self, Component, Look};
use continuo_core::Lang;
use continuo_core::tr;

/// Rough width of a text at 11px in the usual sans-serif (no font metrics in the binary).
fn width(text: &str) -> usize {
    text.chars()
        .map(|c| {
            if c.is_ascii_uppercase() || c == 'm' || c == 'w' {
                8
            } else {
                7
            }
        })
        .sum::<usize>()
        + 10
}

fn svg(label: &str, value: &str, colour: &str) -> String {
    let (lw, vw) = (width(label), width(value));
    let total = lw + vw;
    let (label, value) = (xml(label), xml(value));
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{total}\" height=\"20\" role=\"img\" aria-label=\"{label}: {value}\">\
<title>{label}: {value}</title>\
<rect width=\"{lw}\" height=\"20\" fill=\"#24292f\"/>\
<rect x=\"{lw}\" width=\"{vw}\" height=\"20\" fill=\"{colour}\"/>\
<g fill=\"#fff\" font-family=\"Verdana,DejaVu Sans,sans-serif\" font-size=\"11\" text-anchor=\"middle\">\
<text x=\"{lx}\" y=\"14\">{label}</text><text x=\"{vx}\" y=\"14\">{value}</text></g></svg>\n",
        lx = lw / 2,
        vx = lw + vw / 2,
    )
}

/// The status badge.
pub(crate) fn status(component: &Component, lang: Lang) -> String {
    let status = component.status;
    svg(&component.name, status.text().get(lang), status.colour())
}

/// The uptime badge.
pub(crate) fn uptime(component: &Component, lang: Lang) -> String {
    let label = tr!("{} uptime", "{} beschikbaar"; component.name);
    match component.uptime {
        None => svg(
            label.get(lang),
            tr!("no data", "geen gegevens").get(lang),
            "#57606a",
        ),
        Some(u) => {
            let colour = if u.percent >= 99.9 {
                "#1a7f37"
            } else if u.percent >= 99.0 {
                "#9a6700"
            } else if u.percent >= 95.0 {
                "#bc4c00"
            } else {
                "#cf222e"
            };
            let days = u.days;
            let p = model::percent(u.percent, lang);
            let value = tr!("{p} ({days} d)", "{p} ({days} d)");
            svg(label.get(lang), value.get(lang), colour)
        }
    }
}
