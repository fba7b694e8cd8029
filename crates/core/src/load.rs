//! Loading a configuration: the root file, its includes (by glob), `${VAR}` interpolation,
//! decoding and validation, reporting every problem found in one run.
//!
//! Files and environment variables come in through [`SourceProvider`] and a lookup
//! function, so this module does no IO of its own.

use crate::catalog::Catalog;
use crate::decode::gateway::CaFileUnread;
use crate::decode::{Decoder, FileItems};
use crate::diag::{Diagnostic, Diagnostics, FileId, Loc, SourceMap};
use crate::tr;
use std::path::{Path, PathBuf};
use toml::de::DeTable;

/// The largest configuration file read (a catalog of 100,000 services is about 10 MiB):
/// `-c /dev/zero` must end in a diagnostic.
pub const MAX_CONFIG_FILE_BYTES: u64 = 32 * 1024 * 1024;

/// The largest `ca_file` read; the same as `continuo_net::tls::MAX_CA_FILE_BYTES`, which
/// the gateway applies when it reads the file again.
pub const MAX_CA_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Why a file could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadError {
    /// It has more than the limit for its kind of file, in bytes.
    TooLarge(u64),
    /// Anything else, as the system says it.
    Other(String),
}

/// Why an include pattern could not be expanded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GlobError {
    /// It is not a valid pattern.
    Pattern(String),
    /// Expanding it came upon a symbolic link to a folder it was already in.
    SymlinkLoop(PathBuf),
    /// Anything else (an unreadable folder, too many entries), as the provider says it.
    Other(String),
}

/// Where configuration files come from: the disk in the binary, a map in tests.
pub trait SourceProvider {
    /// Reads a file as UTF-8 text; the error says why it could not be read.
    fn read(&self, path: &Path) -> Result<String, String>;
    /// Reads a file's bytes, at most `limit` of them. By default through
    /// [`SourceProvider::read`]; the disk reads no more than `limit + 1` bytes.
    fn read_bytes(&self, path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
        let text = self.read(path).map_err(ReadError::Other)?;
        if text.len() as u64 > limit {
            return Err(ReadError::TooLarge(limit));
        }
        Ok(text.into_bytes())
    }
    /// Expands a glob pattern to the matching files, sorted.
    fn glob(&self, pattern: &Path) -> Result<Vec<PathBuf>, String>;
    /// [`SourceProvider::glob`] with the reason it failed told apart; the disk never
    /// follows a symbolic link loop.
    fn glob_files(&self, pattern: &Path) -> Result<Vec<PathBuf>, GlobError> {
        self.glob(pattern).map_err(GlobError::Pattern)
    }
    /// Whether a file exists (for runbooks).
    fn exists(&self, path: &Path) -> bool;
    /// Where a path really leads (symbolic links resolved, absolute) when it exists; by
    /// default the path with `.` and `..` resolved lexically. Includes are confined to
    /// the root file's folder by it, and a file reached twice is loaded once.
    fn canonical(&self, path: &Path) -> PathBuf {
        normalize(path)
    }
}

/// The result of loading: the files read, what was wrong with them, and the catalog.
#[derive(Debug)]
pub struct LoadOutcome {
    /// Every file read, for showing diagnostics.
    pub sources: SourceMap,
    /// Errors and warnings, in the order found.
    pub diagnostics: Diagnostics,
    /// The catalog, when every file could at least be parsed as TOML. It may still be
    /// invalid: check [`Diagnostics::has_errors`] before trusting it.
    pub catalog: Option<Catalog>,
}

/// Loads the configuration whose root file is `root`.
pub fn load(
    root: &Path,
    provider: &dyn SourceProvider,
    env: &dyn Fn(&str) -> Option<String>,
) -> LoadOutcome {
    let folder = parent_of(root);
    let folder = if folder.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        folder
    };
    let mut loader = Loader {
        provider,
        env,
        root_folder: provider.canonical(&folder),
        sources: SourceMap::default(),
        diagnostics: Diagnostics::default(),
        loaded: std::collections::HashSet::new(),
        parse_failed: false,
        items: Vec::new(),
    };
    loader.load_file(root, None);
    let Loader {
        sources,
        mut diagnostics,
        parse_failed,
        items,
        ..
    } = loader;
    if parse_failed {
        return LoadOutcome {
            sources,
            diagnostics,
            catalog: None,
        };
    }
    let mut catalog = merge(items, &mut diagnostics);
    catalog.index();
    let runbook_exists = |file: FileId, runbook: &str| {
        let base = sources
            .get(file)
            .map(|s| parent_of(Path::new(&s.path)))
            .unwrap_or_default();
        provider.exists(&base.join(runbook))
    };
    crate::validate::validate(&catalog, &mut diagnostics, &runbook_exists);
    for service in &mut catalog.services {
        if let Some(runbook) = &service.runbook {
            let base = sources
                .get(service.loc.file)
                .map(|s| parent_of(Path::new(&s.path)))
                .unwrap_or_default();
            service.runbook_file = Some(base.join(runbook).display().to_string());
        }
    }
    // A gateway's CA bundle is read here, like a runbook is looked up: relative to the
    // file that declares it, through the provider (so tests need no disk).
    for gateway in &mut catalog.gateways {
        let Some(ca_file) = &gateway.ca_file else {
            continue;
        };
        if ca_file.value.trim().is_empty()
            || gateway.mode != crate::catalog::gateway::GatewayMode::Http
        {
            continue;
        }
        let base = sources
            .get(ca_file.loc.file)
            .map(|s| parent_of(Path::new(&s.path)))
            .unwrap_or_default();
        let path = base.join(&ca_file.value);
        let contents = provider
            .read_bytes(&path, MAX_CA_FILE_BYTES)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .map_err(|e| match e {
                ReadError::TooLarge(limit) => CaFileUnread::TooLarge(limit),
                ReadError::Other(why) => CaFileUnread::Failed(why),
            });
        crate::decode::gateway::check_ca_file(ca_file, contents, &mut diagnostics);
        gateway.ca_file_path = Some(path.display().to_string());
    }
    LoadOutcome {
        sources,
        diagnostics,
        catalog: Some(catalog),
    }
}

fn parent_of(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}

struct Loader<'a> {
    provider: &'a dyn SourceProvider,
    env: &'a dyn Fn(&str) -> Option<String>,
    /// Where the root file's folder really is: relative includes stay inside it.
    root_folder: PathBuf,
    sources: SourceMap,
    diagnostics: Diagnostics,
    /// Every file read or tried, where it really is.
    loaded: std::collections::HashSet<PathBuf>,
    parse_failed: bool,
    items: Vec<(FileId, FileItems)>,
}

impl Loader<'_> {
    /// Reads, parses and decodes one file, then the files it includes. `included_at` is the
    /// include entry that named this file, to blame when it cannot be read.
    fn load_file(&mut self, path: &Path, included_at: Option<&Loc>) {
        if !self.loaded.insert(self.provider.canonical(path)) {
            return; // Included twice (or in a cycle): once is enough.
        }
        let shown = path.display().to_string();
        let bytes = match self.provider.read_bytes(path, MAX_CONFIG_FILE_BYTES) {
            Ok(bytes) => bytes,
            Err(error) => {
                let (code, message) = match error {
                    ReadError::TooLarge(limit) => {
                        let limit = shown_size(limit);
                        (
                            "file-too-large",
                            tr!(
                                "config file `{shown}` is larger than {limit}",
                                "configuratiebestand `{shown}` is groter dan {limit}"
                            ),
                        )
                    }
                    ReadError::Other(reason) => (
                        "unreadable-file",
                        tr!(
                            "cannot read config file `{shown}`: {reason}",
                            "kan configuratiebestand `{shown}` niet lezen: {reason}"
                        ),
                    ),
                };
                let diagnostic = match included_at {
                    Some(loc) => Diagnostic::error(
                        code,
                        loc.clone(),
                        message,
                        tr!("included here", "hier ingevoegd"),
                    ),
                    None => Diagnostic {
                        loc: None,
                        ..Diagnostic::error(code, Loc::new(FileId(0), 0..0), message, tr!("", ""))
                    },
                };
                let help = if code == "file-too-large" {
                    tr!(
                        "point to the configuration file itself, or split it with `include`",
                        "wijs het configuratiebestand zelf aan, of splits het met `include`"
                    )
                } else {
                    tr!(
                        "create it with `continuo init`, or point to another file with `-c PATH`",
                        "maak het aan met `continuo init`, of wijs een ander bestand aan met `-c PAD`"
                    )
                };
                self.diagnostics.push(diagnostic.with_help(help));
                return;
            }
        };
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                // Shown as far as it is readable, so the position of the first bad byte
                // can be told as line and column.
                let at = e.utf8_error().valid_up_to();
                let byte = e.as_bytes()[at];
                let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
                let file = self.sources.add(shown, text);
                self.parse_failed = true;
                self.diagnostics.push(
                    Diagnostic::error(
                        "invalid-utf8",
                        Loc::new(file, at..at + '\u{fffd}'.len_utf8()),
                        tr!(
                            "the config file is not valid UTF-8: byte 0x{byte:02x} here is not part of a character",
                            "het configuratiebestand is geen geldige UTF-8: byte 0x{byte:02x} hier hoort niet bij een teken"
                        ),
                        tr!("not UTF-8", "geen UTF-8"),
                    )
                    .with_help(tr!(
                        "save the file as UTF-8 (a configuration file is TOML, which is UTF-8)",
                        "sla het bestand op als UTF-8 (een configuratiebestand is TOML, en dat is UTF-8)"
                    )),
                );
                return;
            }
        };
        let file = self.sources.add(shown, text);
        let text = self
            .sources
            .get(file)
            .map(|s| s.text.clone())
            .unwrap_or_default();
        let (root, errors) = DeTable::parse_recoverable(&text);
        if !errors.is_empty() {
            self.parse_failed = true;
            for error in errors {
                let span = error.span().unwrap_or(0..0);
                let message = error.message().trim().to_string();
                self.diagnostics.push(
                    Diagnostic::error(
                        "syntax",
                        Loc::new(file, span),
                        tr!("invalid TOML: {message}", "ongeldige TOML: {message}"),
                        tr!("here", "hier"),
                    )
                    .with_help(tr!(
                        "see https://toml.io for the TOML syntax",
                        "zie https://toml.io voor de TOML-syntaxis"
                    )),
                );
            }
            return;
        }
        let root_value =
            toml::Spanned::new(root.span(), toml::de::DeValue::Table(root.into_inner()));
        let items = Decoder::new(file, &mut self.diagnostics, self.env).file(&root_value);
        let includes = items.includes.clone();
        self.items.push((file, items));
        let base = parent_of(path);
        for include in includes {
            self.include(&base, &include.value, &include.loc);
        }
    }

    fn include(&mut self, base: &Path, pattern: &str, loc: &Loc) {
        let full = base.join(pattern);
        let is_glob = pattern.contains(['*', '?', '[']);
        let files = if is_glob {
            match self.provider.glob_files(&full) {
                Ok(files) => files,
                Err(GlobError::Pattern(reason)) => {
                    self.diagnostics.push(Diagnostic::error(
                        "bad-include",
                        loc.clone(),
                        tr!(
                            "`{pattern}` is not a valid glob pattern: {reason}",
                            "`{pattern}` is geen geldig glob-patroon: {reason}"
                        ),
                        tr!("invalid pattern", "ongeldig patroon"),
                    ));
                    return;
                }
                Err(GlobError::SymlinkLoop(at)) => {
                    let at = at.display();
                    self.diagnostics.push(
                        Diagnostic::error(
                            "include-symlink-loop",
                            loc.clone(),
                            tr!(
                                "include `{pattern}` runs into a symbolic link loop at `{at}`",
                                "include `{pattern}` loopt vast in een lus van symbolische links bij `{at}`"
                            ),
                            tr!("not followed", "niet gevolgd"),
                        )
                        .with_help(tr!(
                            "remove the link that points back to a folder above it, or narrow the pattern",
                            "verwijder de link die terugwijst naar een map erboven, of maak het patroon nauwer"
                        )),
                    );
                    return;
                }
                Err(GlobError::Other(reason)) => {
                    self.diagnostics.push(Diagnostic::error(
                        "bad-include",
                        loc.clone(),
                        tr!(
                            "include `{pattern}` cannot be expanded: {reason}",
                            "include `{pattern}` kan niet uitgevouwen worden: {reason}"
                        ),
                        tr!("not expanded", "niet uitgevouwen"),
                    ));
                    return;
                }
            }
        } else if self.provider.exists(&full) {
            vec![full.clone()]
        } else {
            Vec::new()
        };
        if files.is_empty() {
            let shown = full.display().to_string();
            self.diagnostics.push(
                Diagnostic::error(
                    "dangling-include",
                    loc.clone(),
                    tr!("include `{pattern}` matches no file", "include `{pattern}` vindt geen bestand"),
                    tr!("nothing at {shown}", "niets op {shown}"),
                )
                .with_help(tr!(
                    "paths are relative to the file that includes them; check the path or remove the entry",
                    "paden zijn relatief aan het bestand dat ze invoegt; controleer het pad of verwijder de regel"
                )),
            );
        }
        // A relative include stays inside the root file's folder, also where a symbolic
        // link leads; an absolute one was written on purpose and may point anywhere.
        let on_purpose = Path::new(pattern).is_absolute();
        for file in files {
            let real = self.provider.canonical(&file);
            if !on_purpose && !inside(&self.root_folder, &real) {
                let shown = real.display().to_string();
                let root = self.root_folder.display().to_string();
                self.diagnostics.push(
                    Diagnostic::error(
                        "include-outside-root",
                        loc.clone(),
                        tr!(
                            "include `{pattern}` leads to `{shown}`, outside the configuration folder `{root}`",
                            "include `{pattern}` leidt naar `{shown}`, buiten de configuratiemap `{root}`"
                        ),
                        tr!("not loaded", "niet geladen"),
                    )
                    .with_help(tr!(
                        "move the file into the folder of the main config file, or include it by its absolute path if it is meant to live elsewhere",
                        "zet het bestand in de map van het hoofdbestand, of voeg het in met zijn absolute pad als het bewust elders staat"
                    )),
                );
                continue;
            }
            self.load_file(&file, Some(loc));
        }
    }
}

/// Whether `path` is `folder` or below it (both as [`SourceProvider::canonical`] gives
/// them; a lexical path that still climbs with `..` is outside).
fn inside(folder: &Path, path: &Path) -> bool {
    path.starts_with(folder)
        && !path
            .components()
            .any(|c| c == std::path::Component::ParentDir)
}

/// A size limit as people say it: `32 MiB`, `4 KiB`, `100 bytes`.
fn shown_size(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// Removes `.` components and resolves `..` lexically (a leading `..` stays): the
/// default of [`SourceProvider::canonical`], and the disk's for a path that does not
/// exist.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// Merges the files' items into one catalog; `[organization]`, `[server]` and
/// `[status_page]` may appear once in the whole configuration.
fn merge(files: Vec<(FileId, FileItems)>, diagnostics: &mut Diagnostics) -> Catalog {
    let mut catalog = Catalog::default();
    let mut organization_at: Option<Loc> = None;
    let mut server_at: Option<Loc> = None;
    let mut status_page_at: Option<Loc> = None;
    let (mut organization_taken, mut server_taken) = (false, false);
    for (_, items) in files {
        for (table, found, seen) in [
            (
                "[organization]",
                items.organization.as_ref().map(|(_, l)| l.clone()),
                &mut organization_at,
            ),
            (
                "[server]",
                items.server.as_ref().map(|(_, l)| l.clone()),
                &mut server_at,
            ),
            (
                "[status_page]",
                items.status_page.as_ref().map(|(_, l)| l.clone()),
                &mut status_page_at,
            ),
        ] {
            if let Some(loc) = found {
                if let Some(first) = seen.as_ref() {
                    diagnostics.push(
                        Diagnostic::error(
                            "duplicate-table",
                            loc,
                            tr!(
                                "{table} is defined more than once",
                                "{table} is meer dan eens gedefinieerd"
                            ),
                            tr!("second definition", "tweede definitie"),
                        )
                        .with_related(
                            first.clone(),
                            tr!("first defined here", "eerst hier gedefinieerd"),
                        )
                        .with_help(tr!(
                            "keep one {table}, in the root config file",
                            "houd één {table} over, in het hoofdbestand"
                        )),
                    );
                } else {
                    *seen = Some(loc);
                }
            }
        }
        // The first definition wins; a second one was reported above.
        if let Some((organization, _)) = items.organization
            && !organization_taken
        {
            catalog.organization = organization;
            organization_taken = true;
        }
        if let Some((server, _)) = items.server
            && !server_taken
        {
            catalog.server = server;
            server_taken = true;
        }
        catalog.persons.extend(items.persons);
        catalog.teams.extend(items.teams);
        catalog.schedules.extend(items.schedules);
        catalog.escalations.extend(items.escalations);
        catalog.channels.extend(items.channels);
        catalog.services.extend(items.services);
        catalog.risks.extend(items.risks);
        catalog.maintenances.extend(items.maintenances);
        catalog.routes.extend(items.routes);
        catalog.response_plans.extend(items.response_plans);
        catalog.gateways.extend(items.gateways);
        if let Some((settings, loc)) = items.status_page
            && status_page_at.as_ref() == Some(&loc)
        {
            catalog.status_page = settings;
        }
    }
    catalog
}

/// One file held in memory: the provider behind [`load_text`].
struct SingleFile<'a> {
    path: &'a Path,
    text: &'a str,
}

impl SourceProvider for SingleFile<'_> {
    fn read(&self, path: &Path) -> Result<String, String> {
        if path == self.path {
            Ok(self.text.to_string())
        } else {
            Err("No such file or directory".into())
        }
    }

    fn glob(&self, _pattern: &Path) -> Result<Vec<PathBuf>, String> {
        Ok(Vec::new())
    }

    fn exists(&self, path: &Path) -> bool {
        path == self.path
    }
}

/// Loads a configuration held in one string (named `continuo.toml`, no includes, no
/// environment); errors are returned as `line:column: message` lines. For generated
/// configurations (the demo, benchmarks) and tests.
pub fn load_text(text: &str) -> Result<Catalog, Vec<String>> {
    let path = Path::new("continuo.toml");
    let outcome = load(path, &SingleFile { path, text }, &|_| None);
    if outcome.diagnostics.has_errors() {
        return Err(outcome
            .diagnostics
            .sorted()
            .into_iter()
            .filter(|d| d.severity == crate::diag::Severity::Error)
            .map(|d| {
                let at = d
                    .loc
                    .as_ref()
                    .map(|l| {
                        let p = outcome.sources.position(l);
                        format!("{}:{}:{}", p.path, p.line, p.column)
                    })
                    .unwrap_or_default();
                format!("{at}: {}", d.message.en)
            })
            .collect());
    }
    outcome
        .catalog
        .ok_or_else(|| vec!["no catalog".to_string()])
}
