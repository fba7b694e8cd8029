//! Latency sparklines as inline SVG, drawn on the server from recent observations so the
//! dashboard needs no charting script. Pure: points in, markup out.

use std::fmt::Write;

/// Width and height of the drawing's coordinate system.
const WIDTH: f64 = 120.0;
const HEIGHT: f64 = 28.0;

/// One point of a sparkline: the latency in milliseconds, or `None` for a failed
/// observation (drawn as a red tick at the bottom, since a failure has no latency).
pub type Point = Option<f64>;

/// An inline SVG of `points` (oldest first), labelled for screen readers with `label`.
/// Empty input gives an empty string (the page shows "no data" itself).
pub fn svg(points: &[Point], label: &str) -> String {
    if points.is_empty() {
        return String::new();
    }
    let max = points
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let step = if points.len() > 1 {
        WIDTH / (points.len() - 1) as f64
    } else {
        0.0
    };
    let mut line = String::new();
    let mut failures = String::new();
    for (i, point) in points.iter().enumerate() {
        let x = i as f64 * step;
        match point {
            Some(v) if v.is_finite() => {
                let y = HEIGHT - 2.0 - (v.max(0.0) / max) * (HEIGHT - 4.0);
                let _ = write!(line, "{x:.1},{y:.1} ");
            }
            _ => {
                let _ = write!(
                    failures,
                    "<line x1=\"{x:.1}\" y1=\"{HEIGHT}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#b00020\" stroke-width=\"2\"/>",
                    HEIGHT - 8.0
                );
            }
        }
    }
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg class=\"spark\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"{WIDTH}\" height=\"{HEIGHT}\" role=\"img\" aria-label=\"{}\"><title>{}</title>",
        escape(label),
        escape(label)
    );
    if !line.is_empty() {
        let _ = write!(
            out,
            "<polyline fill=\"none\" stroke=\"currentColor\" stroke-width=\"1.5\" points=\"{}\"/>",
            line.trim_end()
        );
    }
    out.push_str(&failures);
    out.push_str("</svg>");
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(points: &[Point], contains: &[&str], absent: &[&str]) {
        let out = svg(points, "latency <1 & 2>");
        for c in contains {
            assert!(out.contains(c), "{out} should contain {c}");
        }
        for a in absent {
            assert!(!out.contains(a), "{out} should not contain {a}");
        }
    }

    #[test]
    fn sparklines() {
        check(&[], &[], &["<svg"]);
        check(&[Some(10.0)], &["points=\"0.0,2.0\""], &["<line"]);
        check(
            &[Some(0.0), Some(10.0)],
            &[
                "points=\"0.0,26.0 120.0,2.0\"",
                "aria-label=\"latency &lt;1 &amp; 2&gt;\"",
            ],
            &["<line"],
        );
        check(
            &[None, Some(5.0)],
            &["<line x1=\"0.0\"", "points=\"120.0,2.0\""],
            &[],
        );
        check(&[None], &["<line"], &["polyline"]);
        check(&[Some(f64::NAN)], &["<line"], &["NaN"]);
    }
}
