//! Message texts: minijinja templates, built in for every language and replaceable by
//! operators, file by file.
//!
//! Three templates per language make one [`Message`]: `subject` (one line: email subject,
//! chat title, pager summary), `text` (plain text body) and `html` (the email's HTML
//! part, autoescaped). The built-in ones live in `src/templates/<name>.<lang>.j2` and are
//! compiled into the binary. [`Templates::with_overrides`] reads a directory in which a
//! file with the same name (`text.nl.j2`) replaces the built-in template.
//!
//! Every template sees the notice's fields (`event`, `service.name`, `impacted`,
//! `summary`, `level`, `ack_url`, `recipient.phone`, ...; absent optional fields are
//! undefined, so `{% if ack_url %}` works and `recipient.phone` is empty without a
//! recipient) and values made for display in the notice's language and time zone:
//! `started` and `at` (`2026-11-25 14:03 CET`), `duration` (from start to `at`: `1h 12m`),
//! `impacted_names` (`Checkout, Webshop`) and `lang` (`en`). The `html` template also sees
//! `subject`, the rendered subject line.
//!
//! `event` is `firing`, `acknowledged`, `resolved`, `reminder`, `test` or `posture`: a
//! continuity claim breached or gone stale, where `summary` is the verdict in one line,
//! `started` is when it changed, `level` is 0, nobody is paged and there is no
//! acknowledge link. An organisation-wide claim has `service.id` `organization`.
//!
//! Why minijinja and not askama (which the rest of Continuo uses for HTML): these
//! templates are edited by operators at run time, so they cannot be compiled in.

use crate::notice::{Notice, NoticeEvent};
use crate::text;
use continuo_core::incident::Audience;
use continuo_core::incident::book::{UpdateFacts, UpdateService};
use continuo_core::{Lang, Text, tr};
use minijinja::value::{Serde, Value};
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The three templates of a message and the incident status update, by file name stem.
const NAMES: [&str; 4] = ["subject", "text", "html", "update"];

/// The built-in templates: (name, language, source).
const BUILTIN: [(&str, Lang, &str); 8] = [
    ("update", Lang::En, include_str!("templates/update.en.j2")),
    ("update", Lang::Nl, include_str!("templates/update.nl.j2")),
    ("subject", Lang::En, include_str!("templates/subject.en.j2")),
    ("subject", Lang::Nl, include_str!("templates/subject.nl.j2")),
    ("text", Lang::En, include_str!("templates/text.en.j2")),
    ("text", Lang::Nl, include_str!("templates/text.nl.j2")),
    ("html", Lang::En, include_str!("templates/html.en.j2")),
    ("html", Lang::Nl, include_str!("templates/html.nl.j2")),
];

/// A rendered message, in the notice's language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// One line, whitespace collapsed: `[FIRING] Payments API is down — impacts Checkout`.
    pub subject: String,
    /// Plain text body, without trailing spaces or repeated blank lines.
    pub text: String,
    /// A complete HTML document for email, every value escaped.
    pub html: String,
}

/// The largest template file read: the built-in ones are a few KiB, and a mistaken
/// path (a log file, a device) must end in an error.
pub const MAX_TEMPLATE_BYTES: u64 = 1024 * 1024;

/// Why templates could not be loaded or rendered.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The override directory (or a file in it) could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// What could not be read.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A template file larger than [`MAX_TEMPLATE_BYTES`].
    #[error(
        "{path} is larger than {}, too large for a template",
        continuo_net::file::shown(MAX_TEMPLATE_BYTES)
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// A `.j2` file whose name is not `<subject|text|html>.<en|nl>.j2`: most likely a typo
    /// that would otherwise be silently ignored.
    #[error(
        "{path}: not a template Continuo knows; name it <name>.<lang>.j2 with name subject, text or html and lang en or nl"
    )]
    UnknownFile {
        /// The file.
        path: PathBuf,
    },
    /// A template that does not parse.
    #[error("{origin}:{line}: {message}")]
    Syntax {
        /// The file (or `built-in <name>.<lang>.j2`).
        origin: String,
        /// 1-based line of the error.
        line: usize,
        /// What the parser said.
        message: String,
    },
    /// A template that parses but fails when rendered (an unknown filter, a bad operation).
    #[error("{origin}:{line}: cannot render: {message}")]
    Render {
        /// The file (or `built-in <name>.<lang>.j2`).
        origin: String,
        /// 1-based line of the error, 0 when unknown.
        line: usize,
        /// What went wrong.
        message: String,
    },
}

impl TemplateError {
    /// The error in English and Dutch (the parser's own words stay English).
    pub fn text(&self) -> Text {
        match self {
            TemplateError::Read { path, source } => {
                let path = path.display();
                tr!(
                    "cannot read {path}: {source}",
                    "kan {path} niet lezen: {source}"
                )
            }
            TemplateError::TooLarge { path } => {
                let path = path.display();
                let limit = continuo_net::file::shown(MAX_TEMPLATE_BYTES);
                tr!(
                    "{path} is larger than {limit}, too large for a template",
                    "{path} is groter dan {limit}, te groot voor een sjabloon"
                )
            }
            TemplateError::UnknownFile { path } => {
                let path = path.display();
                tr!(
                    "{path}: not a template Continuo knows; name it <name>.<lang>.j2 with name subject, text or html and lang en or nl",
                    "{path}: geen sjabloon dat Continuo kent; noem het <naam>.<taal>.j2 met naam subject, text of html en taal en of nl"
                )
            }
            TemplateError::Syntax {
                origin,
                line,
                message,
            } => tr!("{origin}:{line}: {message}", "{origin}:{line}: {message}"),
            TemplateError::Render {
                origin,
                line,
                message,
            } => tr!(
                "{origin}:{line}: cannot render: {message}",
                "{origin}:{line}: kan niet invullen: {message}"
            ),
        }
    }
}

/// The message templates of every language, compiled once; share it behind an `Arc`.
pub struct Templates {
    env: Environment<'static>,
    /// Where each template came from, by its key (`text.nl`), for error messages.
    origins: BTreeMap<String, String>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("origins", &self.origins)
            .finish_non_exhaustive()
    }
}

/// The key of a template in the environment: `text.nl`.
fn key(name: &str, lang: Lang) -> String {
    format!("{name}.{}", lang.code())
}

/// An environment configured the way every Continuo template expects: block tags on lines
/// of their own leave no blank lines, undefined values (absent optional fields) print as
/// nothing and can be looked into, and HTML templates escape every value.
pub(crate) fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    // Only custom delimiters can fail to build; the defaults never do.
    if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .build()
    {
        env.set_syntax(syntax);
    }
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    env.set_auto_escape_callback(|name| {
        if name.starts_with("html.") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env
}

/// A minijinja error as a [`TemplateError::Syntax`] of `origin`.
fn syntax_error(origin: &str, e: &minijinja::Error) -> TemplateError {
    TemplateError::Syntax {
        origin: origin.to_string(),
        line: e.line().unwrap_or(0),
        message: describe(e),
    }
}

/// A minijinja error as a [`TemplateError::Render`] of `origin`.
pub(crate) fn render_error(origin: &str, e: &minijinja::Error) -> TemplateError {
    TemplateError::Render {
        origin: origin.to_string(),
        line: e.line().unwrap_or(0),
        message: describe(e),
    }
}

/// The error's kind and detail, without minijinja's own "(in name:line)" suffix, since
/// callers name the file themselves.
pub(crate) fn describe(e: &minijinja::Error) -> String {
    match e.detail() {
        Some(detail) => format!("{}: {detail}", e.kind()),
        None => e.kind().to_string(),
    }
}

impl Templates {
    /// The built-in templates only.
    pub fn builtin() -> Templates {
        let mut env = environment();
        let mut origins = BTreeMap::new();
        for (name, lang, source) in BUILTIN {
            let key = key(name, lang);
            // The built-in templates are tested; a failure here is a bug in this crate,
            // and the test `builtin_templates_parse` names it.
            if env.add_template_owned(key.clone(), source).is_err() {
                continue;
            }
            origins.insert(key.clone(), format!("built-in {key}.j2"));
        }
        Templates { env, origins }
    }

    /// The built-in templates, with every `<name>.<lang>.j2` file in `dir` replacing its
    /// built-in counterpart (`text.nl.j2` replaces the Dutch plain text body). Files not
    /// ending in `.j2` are ignored; a `.j2` file with another name is an error, as is a
    /// template that does not parse or does not render the example notices of every
    /// event.
    pub fn with_overrides(dir: &Path) -> Result<Templates, TemplateError> {
        let mut templates = Templates::builtin();
        let read_error = |path: &Path, source| TemplateError::Read {
            path: path.to_path_buf(),
            source,
        };
        let entries = std::fs::read_dir(dir).map_err(|e| read_error(dir, e))?;
        let mut files = Vec::new();
        for entry in entries {
            let path = entry.map_err(|e| read_error(dir, e))?.path();
            if path.extension().is_some_and(|ext| ext == "j2") {
                files.push(path);
            }
        }
        // Sorted, so the first error reported does not depend on the directory's order.
        files.sort();
        let mut replaced = Vec::new();
        for path in files {
            let Some((name, lang)) = template_file_name(&path) else {
                return Err(TemplateError::UnknownFile { path });
            };
            let bytes = continuo_net::file::read_bounded(&path, MAX_TEMPLATE_BYTES).map_err(
                |e| match e {
                    continuo_net::file::BoundedReadError::TooLarge { .. } => {
                        TemplateError::TooLarge { path: path.clone() }
                    }
                    continuo_net::file::BoundedReadError::Io(e) => read_error(&path, e),
                },
            )?;
            let source = String::from_utf8(bytes).map_err(|e| {
                read_error(
                    &path,
                    std::io::Error::new(std::io::ErrorKind::InvalidData, e.utf8_error()),
                )
            })?;
            let key = key(name, lang);
            let origin = path.display().to_string();
            templates
                .env
                .add_template_owned(key.clone(), source)
                .map_err(|e| syntax_error(&origin, &e))?;
            templates.origins.insert(key.clone(), origin);
            replaced.push(key);
        }
        // Render every replaced template once per event, so a template that parses but
        // cannot render fails now, at start-up, and not on the first real page.
        for lang in Lang::ALL {
            for event in NoticeEvent::ALL {
                let mut notice = Notice::example(event, lang);
                templates.render(&notice)?;
                notice.impacted.clear();
                notice.ack_url = None;
                notice.dashboard_url = None;
                notice.acknowledged_by = None;
                notice.recipient = None;
                templates.render(&notice)?;
            }
        }
        for audience in continuo_core::incident::Audience::ALL {
            templates.render_update(&example_update(audience))?;
        }
        Ok(templates)
    }

    /// Renders a status update about an incident in English and Dutch.
    pub fn render_update(&self, facts: &UpdateFacts) -> Result<Text, TemplateError> {
        // Customers read only what the status page shows: the components' names, never
        // a service that is not on the page (a root cause behind it, say).
        let mut names: Vec<&str> = Vec::new();
        for s in &facts.services {
            let name = if facts.audience == Audience::Customers.name() {
                s.component.as_deref()
            } else {
                Some(s.name.as_str())
            };
            if let Some(name) = name
                && !names.contains(&name)
            {
                names.push(name);
            }
        }
        let service_names = if names.is_empty() {
            Text::same(facts.organization.clone())
        } else {
            Text::list(&names)
        };
        let reports: Vec<Value> = facts
            .reports_due
            .iter()
            .map(|r| {
                minijinja::context! {
                    key => r.deadline.key.clone(),
                    title => Value::from(Serde(&r.deadline.title)),
                    due => text::local_time(r.deadline.due_ms, &facts.timezone),
                }
            })
            .collect();
        let context = |lang: Lang| {
            minijinja::context! {
                started => facts.started_ms.map(|t| text::local_time(t, &facts.timezone)),
                now => text::local_time(facts.now_ms, &facts.timezone),
                next_update => facts.next_update_ms.map(|t| text::local_time(t, &facts.timezone)),
                service_names => service_names.get(lang),
                reports_due => reports.clone(),
                ..Value::from(Serde(facts))
            }
        };
        let en = tidy(&self.render_one("update", Lang::En, &context(Lang::En))?);
        let nl = tidy(&self.render_one("update", Lang::Nl, &context(Lang::Nl))?);
        Ok(Text::new(en, nl))
    }

    /// Renders the subject, plain text and HTML of `notice` in its language.
    pub fn render(&self, notice: &Notice) -> Result<Message, TemplateError> {
        let lang = notice.language;
        let context = context(notice, None);
        let subject = one_line(&self.render_one("subject", lang, &context)?);
        let text = tidy(&self.render_one("text", lang, &context)?);
        let with_subject = minijinja::context! { subject => subject.clone(), ..context.clone() };
        let html = self
            .render_one("html", lang, &with_subject)?
            .trim()
            .to_string();
        Ok(Message {
            subject,
            text,
            html,
        })
    }

    fn render_one(&self, name: &str, lang: Lang, context: &Value) -> Result<String, TemplateError> {
        let key = key(name, lang);
        let origin = self
            .origins
            .get(&key)
            .cloned()
            .unwrap_or_else(|| key.clone());
        let template = self
            .env
            .get_template(&key)
            .map_err(|e| render_error(&origin, &e))?;
        template
            .render(context)
            .map_err(|e| render_error(&origin, &e))
    }
}

/// An example update (for checking templates): a database down, two services hit.
pub fn example_update(audience: continuo_core::incident::Audience) -> UpdateFacts {
    let started_ms = 1_795_611_780_000;
    let service = |id: &str, name: &str, recovered: bool| UpdateService {
        id: id.into(),
        name: name.into(),
        // The database is not on the status page; the checkout is.
        component: (id != "orders-db").then(|| name.into()),
        tier: 1,
        recovered,
        rto: Text::new("RTO breached in 7 min", "RTO overschreden over 7 min"),
        data_loss: Some(Text::new(
            "possible data loss 12 min (within the RPO of 15 min)",
            "mogelijk gegevensverlies 12 min (binnen het RPO van 15 min)",
        )),
    };
    UpdateFacts {
        id: "INC-7".into(),
        title: "Orders database: connection refused".into(),
        severity: "SEV1".into(),
        status: "identified".into(),
        status_text: continuo_core::incident::Status::Identified.text(),
        audience: audience.name().into(),
        message: Some("The replica is being promoted.".into()),
        organization: "Acme Retail".into(),
        services: vec![
            service("orders-db", "Orders database", false),
            service("checkout", "Checkout", true),
        ],
        started_ms: Some(started_ms),
        resolved_ms: None,
        now_ms: started_ms + 23 * 60_000,
        next_update_ms: Some(started_ms + 53 * 60_000),
        reports_due: Vec::new(),
        cost_so_far: Some(2300.0),
        currency: "EUR".into(),
        timezone: "Europe/Amsterdam".into(),
    }
}

/// `text.nl.j2` → `("text", Lang::Nl)`.
fn template_file_name(path: &Path) -> Option<(&'static str, Lang)> {
    let file = path.file_name()?.to_str()?;
    let stem = file.strip_suffix(".j2")?;
    let (name, lang) = stem.split_once('.')?;
    let name = NAMES.into_iter().find(|n| *n == name)?;
    let lang = Lang::ALL.into_iter().find(|l| l.code() == lang)?;
    Some((name, lang))
}

/// What templates see: the notice's fields, and values prepared for display.
#[derive(Serialize)]
struct Context<'a> {
    #[serde(flatten)]
    notice: &'a Notice,
    lang: &'static str,
    started: String,
    at: String,
    duration: String,
    impacted_names: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
}

/// The template context of `notice`; with `message`, its rendered `subject` and `text`
/// too (for operator templates of the `http_template` channel).
pub(crate) fn context(notice: &Notice, message: Option<&Message>) -> Value {
    let impacted_names = names_in_brief(notice);
    Value::from(Serde(Context {
        notice,
        lang: notice.language.code(),
        started: text::local_time(notice.started_ms, &notice.timezone),
        at: text::local_time(notice.at_ms, &notice.timezone),
        duration: text::elapsed(notice.started_ms, notice.at_ms, notice.language),
        impacted_names,
        subject: message.map(|m| m.subject.as_str()),
        text: message.map(|m| m.text.as_str()),
    }))
}

/// How many impacted services a message names before it counts the rest.
const IMPACTED_NAMED: usize = 8;

/// The impacted services' names (`Checkout, Webshop`), the first [`IMPACTED_NAMED`] of
/// them and then how many more: a database that takes down 300 services must still
/// give a subject line a person can read.
fn names_in_brief(notice: &Notice) -> String {
    let names: Vec<&str> = notice
        .impacted
        .iter()
        .take(IMPACTED_NAMED)
        .map(|s| s.name.as_str())
        .collect();
    let rest = notice.impacted.len().saturating_sub(IMPACTED_NAMED);
    let mut text = names.join(", ");
    if rest > 0 {
        text.push_str(&match notice.language {
            Lang::Nl => format!(" en {rest} andere"),
            Lang::En => format!(" and {rest} more"),
        });
    }
    text
}

/// Collapses every run of whitespace (line breaks included) into one space: a subject is
/// one line, whatever the template or the summary contain.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Removes trailing spaces, leading and trailing blank lines, and repeated blank lines.
fn tidy(text: &str) -> String {
    let mut out = String::new();
    let mut blank = false;
    for line in text.lines().map(str::trim_end) {
        if line.is_empty() {
            blank = !out.is_empty();
            continue;
        }
        if blank {
            out.push('\n');
            blank = false;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.truncate(out.trim_end().len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_templates_parse() {
        let mut env = environment();
        for (name, lang, source) in BUILTIN {
            let key = key(name, lang);
            if let Err(e) = env.add_template_owned(key.clone(), source) {
                panic!("built-in {key}.j2: {e}");
            }
        }
    }

    #[test]
    fn status_updates_render_per_audience_in_both_languages() {
        use continuo_core::incident::Audience;
        let t = Templates::builtin();
        let customers = t
            .render_update(&example_update(Audience::Customers))
            .expect("renders");
        assert!(
            customers.en.starts_with(
                "We have found the cause of the disruption of Checkout and are working on recovery."
            ),
            "{}",
            customers.en
        );
        assert!(
            !customers.en.contains("Orders database") && !customers.nl.contains("Orders database"),
            "customers never read a service that is not on the page: {customers:?}"
        );
        assert!(
            customers.nl.contains("We hebben de oorzaak"),
            "{}",
            customers.nl
        );
        assert!(
            !customers.en.contains("RTO"),
            "customers are not shown internals: {}",
            customers.en
        );
        assert!(
            customers.en.contains("Next update by 2026-11-25 14:56 CET"),
            "{}",
            customers.en
        );
        let management = t
            .render_update(&example_update(Audience::Management))
            .expect("renders");
        assert!(
            management.en.contains("[INC-7 SEV1] Identified"),
            "{}",
            management.en
        );
        assert!(
            management.en.contains(
                "Orders database (tier 1): down; RTO breached in 7 min; possible data loss 12 min"
            ),
            "{}",
            management.en
        );
        assert!(management.en.contains("EUR 2300"), "{}", management.en);
        assert!(
            management
                .nl
                .contains("uit de lucht; RTO overschreden over 7 min"),
            "{}",
            management.nl
        );
        assert!(
            management.nl.contains("Geschatte kosten"),
            "{}",
            management.nl
        );
        let internal = t
            .render_update(&example_update(Audience::Internal))
            .expect("renders");
        assert!(!internal.en.contains("cost"), "{}", internal.en);
    }

    #[test]
    fn tidy_keeps_single_blank_lines() {
        assert_eq!(tidy("\n\na  \n\n\n b\n\n"), "a\n\n b");
        assert_eq!(tidy("a\nb"), "a\nb");
    }

    #[test]
    fn template_file_names() {
        let check = |file: &str, expected: Option<(&str, Lang)>| {
            assert_eq!(template_file_name(Path::new(file)), expected, "{file}");
        };
        check("text.nl.j2", Some(("text", Lang::Nl)));
        check("dir/html.en.j2", Some(("html", Lang::En)));
        check("subject.de.j2", None);
        check("txt.en.j2", None);
        check("text.j2", None);
    }
}
