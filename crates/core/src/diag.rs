//! Diagnostics: what is wrong (or suspicious) in the configuration, and exactly where.
//!
//! A [`Diagnostic`] points at a byte range in one source file through a [`Loc`]; the
//! [`SourceMap`] owns the files and turns a location into `file:line:column`.

use crate::text::Text;
use serde::Serialize;
use std::ops::Range;

/// Index of a file in a [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct FileId(pub u32);

/// A byte range in one source file.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Loc {
    /// The file.
    pub file: FileId,
    /// Byte offsets into the file's text.
    pub span: Range<usize>,
}

impl Loc {
    /// A location in `file` covering `span`.
    pub fn new(file: FileId, span: Range<usize>) -> Loc {
        Loc { file, span }
    }
}

/// One loaded configuration file.
#[derive(Clone, Debug)]
pub struct Source {
    /// The path as the user should see it (relative to where they ran the command when
    /// possible).
    pub path: String,
    /// The full text of the file.
    pub text: String,
}

/// All files that make up a configuration.
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    files: Vec<Source>,
}

/// A resolved position: 1-based line and column (columns count characters).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Position {
    /// The file's path as shown to users.
    pub path: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.path, self.line, self.column)
    }
}

impl SourceMap {
    /// Adds a file and returns its id.
    pub fn add(&mut self, path: impl Into<String>, text: impl Into<String>) -> FileId {
        self.files.push(Source {
            path: path.into(),
            text: text.into(),
        });
        FileId(u32::try_from(self.files.len() - 1).unwrap_or(u32::MAX))
    }

    /// The file with this id.
    pub fn get(&self, id: FileId) -> Option<&Source> {
        self.files.get(id.0 as usize)
    }

    /// Every file, in load order.
    pub fn files(&self) -> impl Iterator<Item = (FileId, &Source)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, s)| (FileId(i as u32), s))
    }

    /// Resolves a location to `path:line:column`.
    pub fn position(&self, loc: &Loc) -> Position {
        let Some(source) = self.get(loc.file) else {
            return Position {
                path: "<unknown>".into(),
                line: 0,
                column: 0,
            };
        };
        let offset = loc.span.start.min(source.text.len());
        let before = source.text.get(..offset).unwrap_or_default();
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Position {
            path: source.path.clone(),
            line,
            column,
        }
    }
}

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The configuration cannot be used.
    Error,
    /// The configuration works, but a continuity claim is weak or contradictory.
    Warning,
}

/// A secondary place that explains a diagnostic ("the dependency's RTO is here").
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Related {
    /// Where.
    pub loc: Loc,
    /// What is there.
    pub label: Text,
}

/// One problem found in the configuration.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// A stable, short machine name for the kind of problem (`unknown-field`, `cycle`).
    pub code: &'static str,
    /// What is wrong, in one sentence.
    pub message: Text,
    /// Where it is wrong; `None` only for problems that belong to no file.
    pub loc: Option<Loc>,
    /// A short label shown at the spot.
    pub label: Text,
    /// What would be right.
    pub help: Option<Text>,
    /// Other places that explain the problem.
    pub related: Vec<Related>,
}

impl Diagnostic {
    /// A new error at `loc`.
    pub fn error(code: &'static str, loc: Loc, message: Text, label: Text) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message,
            loc: Some(loc),
            label,
            help: None,
            related: Vec::new(),
        }
    }

    /// A new warning at `loc`.
    pub fn warning(code: &'static str, loc: Loc, message: Text, label: Text) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, loc, message, label)
        }
    }

    /// Adds the help line.
    pub fn with_help(mut self, help: Text) -> Diagnostic {
        self.help = Some(help);
        self
    }

    /// Adds a related place.
    pub fn with_related(mut self, loc: Loc, label: Text) -> Diagnostic {
        self.related.push(Related { loc, label });
        self
    }
}

/// The diagnostics of one run, in the order they were found.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Records a diagnostic.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    /// The diagnostic pushed last, to add a help line or related place to it.
    pub(crate) fn last_mut(&mut self) -> &mut Diagnostic {
        // Callers push first; an empty list here is a bug in this crate, not bad input.
        self.items.last_mut().expect("a diagnostic was pushed")
    }

    /// All diagnostics, sorted by file and position with errors before warnings at the same
    /// spot.
    pub fn sorted(&self) -> Vec<&Diagnostic> {
        let mut items: Vec<&Diagnostic> = self.items.iter().collect();
        items.sort_by(|a, b| {
            let key = |d: &Diagnostic| {
                d.loc
                    .as_ref()
                    .map(|l| (l.file, l.span.start))
                    .unwrap_or((FileId(u32::MAX), 0))
            };
            key(a).cmp(&key(b)).then(a.severity.cmp(&b.severity))
        });
        items
    }

    /// Every diagnostic, in the order found.
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }

    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.items
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    /// Number of warnings.
    pub fn warning_count(&self) -> usize {
        self.items
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .count()
    }

    /// True when there is at least one error.
    pub fn has_errors(&self) -> bool {
        self.error_count() > 0
    }

    /// Number of diagnostics.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when nothing was found.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}
