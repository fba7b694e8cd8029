//! Showing diagnostics to a person (miette's graphical report, with the source snippet),
//! or to a program (`short` lines, or JSON).

use continuo_core::diag::{Diagnostic, Diagnostics, Severity, SourceMap};
use continuo_core::{Lang, tr};
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};
use std::fmt;

/// A core diagnostic dressed for miette, in one language.
struct Rendered {
    message: String,
    code: &'static str,
    severity: Severity,
    help: Option<String>,
    labels: Vec<LabeledSpan>,
    source: Option<NamedSource<String>>,
}

impl fmt::Debug for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Rendered {}

impl miette::Diagnostic for Rendered {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.iter().cloned()))
        }
    }
}

/// How to show diagnostics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DiagnosticFormat {
    /// A report with the source snippet, for people.
    Human,
    /// One line each: `path:line:column: error[code]: message`, then `help:`.
    Short,
    /// A JSON array, for programs.
    Json,
}

/// Renders one diagnostic as a human report.
fn human(d: &Diagnostic, sources: &SourceMap, lang: Lang, color: bool) -> String {
    let mut help_lines: Vec<String> = d.help.iter().map(|h| h.get(lang).to_string()).collect();
    let mut labels = Vec::new();
    let mut source = None;
    if let Some(loc) = &d.loc
        && let Some(file) = sources.get(loc.file)
    {
        source = Some(NamedSource::new(&file.path, file.text.clone()));
        let len = loc.span.end.saturating_sub(loc.span.start);
        labels.push(LabeledSpan::new_primary_with_span(
            Some(d.label.get(lang).to_string()).filter(|l| !l.is_empty()),
            (loc.span.start, len),
        ));
        for related in &d.related {
            if related.loc.file == loc.file {
                let len = related.loc.span.end.saturating_sub(related.loc.span.start);
                labels.push(LabeledSpan::new_with_span(
                    Some(related.label.get(lang).to_string()),
                    (related.loc.span.start, len),
                ));
            }
        }
    }
    // miette shows one file per report; places in other files become notes.
    for related in &d.related {
        if d.loc.as_ref().map(|l| l.file) != Some(related.loc.file) {
            let at = sources.position(&related.loc);
            help_lines.push(format!("{}: {at}", related.label.get(lang)));
        }
    }
    let rendered = Rendered {
        message: d.message.get(lang).to_string(),
        code: d.code,
        severity: d.severity,
        help: (!help_lines.is_empty()).then(|| help_lines.join("\n")),
        labels,
        source,
    };
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let mut out = String::new();
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    if handler.render_report(&mut out, &rendered).is_err() {
        out = format!("{}\n", rendered.message);
    }
    out
}

/// Renders one diagnostic as `path:line:column: severity[code]: message` plus help.
fn short(d: &Diagnostic, sources: &SourceMap, lang: Lang) -> String {
    let severity = severity_word(d.severity, lang);
    let mut out = match &d.loc {
        Some(loc) => format!(
            "{}: {severity}[{}]: {}\n",
            sources.position(loc),
            d.code,
            d.message.get(lang)
        ),
        None => format!("{severity}[{}]: {}\n", d.code, d.message.get(lang)),
    };
    for related in &d.related {
        out.push_str(&format!(
            "  {}: {}\n",
            sources.position(&related.loc),
            related.label.get(lang)
        ));
    }
    if let Some(help) = &d.help {
        out.push_str(&format!("  help: {}\n", help.get(lang)));
    }
    out
}

fn severity_word(severity: Severity, lang: Lang) -> &'static str {
    match (severity, lang) {
        (Severity::Error, Lang::En) => "error",
        (Severity::Error, Lang::Nl) => "fout",
        (Severity::Warning, Lang::En) => "warning",
        (Severity::Warning, Lang::Nl) => "waarschuwing",
    }
}

/// The diagnostics as JSON, with positions resolved.
pub fn json(diagnostics: &Diagnostics, sources: &SourceMap, lang: Lang) -> serde_json::Value {
    let items: Vec<serde_json::Value> = diagnostics
        .sorted()
        .into_iter()
        .map(|d| {
            let position = d.loc.as_ref().map(|l| sources.position(l));
            serde_json::json!({
                "severity": d.severity,
                "code": d.code,
                "message": d.message.get(lang),
                "file": position.as_ref().map(|p| p.path.clone()),
                "line": position.as_ref().map(|p| p.line),
                "column": position.as_ref().map(|p| p.column),
                "label": d.label.get(lang),
                "help": d.help.as_ref().map(|h| h.get(lang)),
                "related": d.related.iter().map(|r| {
                    let p = sources.position(&r.loc);
                    serde_json::json!({"file": p.path, "line": p.line, "column": p.column, "label": r.label.get(lang)})
                }).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::Value::Array(items)
}

/// All diagnostics, sorted by place, in the chosen format (JSON is handled by the caller).
pub fn diagnostics(
    diagnostics: &Diagnostics,
    sources: &SourceMap,
    lang: Lang,
    format: DiagnosticFormat,
    color: bool,
) -> String {
    diagnostics
        .sorted()
        .into_iter()
        .map(|d| match format {
            DiagnosticFormat::Short => short(d, sources, lang),
            _ => human(d, sources, lang, color),
        })
        .collect::<Vec<_>>()
        .join(if format == DiagnosticFormat::Short {
            ""
        } else {
            "\n"
        })
}

/// `2 errors, 1 warning` in the chosen language.
pub fn counts(diagnostics: &Diagnostics, lang: Lang) -> String {
    let (e, w) = (diagnostics.error_count(), diagnostics.warning_count());
    let text = match (e == 1, w == 1) {
        (true, true) => tr!("{e} error, {w} warning", "{e} fout, {w} waarschuwing"),
        (true, false) => tr!("{e} error, {w} warnings", "{e} fout, {w} waarschuwingen"),
        (false, true) => tr!("{e} errors, {w} warning", "{e} fouten, {w} waarschuwing"),
        (false, false) => tr!("{e} errors, {w} warnings", "{e} fouten, {w} waarschuwingen"),
    };
    text.get(lang).to_string()
}
