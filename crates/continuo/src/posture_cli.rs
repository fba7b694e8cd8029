//! `continuo posture`, `continuo evidence add|list` and `continuo report availability`:
//! the "prove" pillar on the command line (`DESIGN.md` 4b). They read the database
//! `serve` writes (`[server] database`, or `--database`) with the catalog of the
//! configuration, so they work whether a server runs or not, and in CI.
//!
//! The documents themselves (Markdown, CSV, the cells of a verdict) come from
//! `continuo_report::evidence`; this module opens the store, validates what a person
//! typed, and chooses the format.

use crate::local::{self, Database, now_ms, refused, runtime};
use clap::{Args, Subcommand, ValueEnum};
use continuo_core::diag::SourceMap;
use continuo_core::evidence::availability::month_bounds;
use continuo_core::evidence::claims::claims;
use continuo_core::evidence::verdict::{State, Verdict, readiness_by_tier};
use continuo_core::evidence::{
    ClaimKind, Evidence, Measure, Outcome, Posture, Source, SourceKind, Subject, human_ms,
};
use continuo_core::{Catalog, HumanDuration, Lang, Text, tr};
use continuo_report::evidence as doc;
use continuo_store::{EvidenceFilter, Store};
use serde_json::json;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `continuo posture`
#[derive(Args, Debug)]
pub struct PostureArgs {
    /// Only this service's claims.
    #[arg(long)]
    service: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PostureFormat::Table)]
    format: PostureFormat,
    /// Exit with status 1 when a claim is breached (`breached`), or breached or stale
    /// (`stale`); for CI gates.
    #[arg(long, value_enum)]
    fail_on: Option<FailOn>,
    #[command(flatten)]
    database: Database,
}

/// How `continuo posture` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PostureFormat {
    /// A table per subject for a terminal (in colour on one).
    Table,
    /// A stable JSON document for programs.
    Json,
    /// Markdown for documents and wikis.
    Markdown,
}

/// Which verdicts fail `continuo posture`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Any claim breached.
    Breached,
    /// Any claim breached or stale.
    Stale,
}

/// `continuo evidence ...`
#[derive(Args, Debug)]
pub struct EvidenceArgs {
    #[command(subcommand)]
    command: EvidenceCommand,
    #[command(flatten)]
    database: Database,
}

#[derive(Subcommand, Debug)]
enum EvidenceCommand {
    /// Record evidence by hand (an external audit, a test done elsewhere), marked manual.
    Add {
        /// The claim: rto, rpo, redundancy, runbook_current, escalation_reachable,
        /// availability, plan_reviewed, ...
        #[arg(long)]
        claim: String,
        /// What it is about: service:ID or organization.
        #[arg(long)]
        subject: String,
        /// What it shows.
        #[arg(long, value_enum)]
        outcome: OutcomeArg,
        /// What was measured: a duration (42m) or a percentage (99.9%).
        #[arg(long)]
        value: Option<String>,
        /// When it was measured: RFC 3339, a local date-time or a date (default: now).
        #[arg(long)]
        observed: Option<String>,
        /// What it is and where the proof is kept (the attachment note).
        #[arg(long)]
        note: String,
        /// Who records it (default: $USER).
        #[arg(long)]
        by: Option<String>,
    },
    /// List evidence records, newest first.
    List {
        /// Only this claim.
        #[arg(long)]
        claim: Option<String>,
        /// Only this subject: service:ID or organization.
        #[arg(long)]
        subject: Option<String>,
        /// At most this many (0: all).
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
}

/// What a manual record shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum OutcomeArg {
    /// It supports the claim.
    Met,
    /// It contradicts the claim.
    Breached,
    /// It decides nothing.
    Inconclusive,
}

impl From<OutcomeArg> for Outcome {
    fn from(o: OutcomeArg) -> Outcome {
        match o {
            OutcomeArg::Met => Outcome::Met,
            OutcomeArg::Breached => Outcome::Breached,
            OutcomeArg::Inconclusive => Outcome::Inconclusive,
        }
    }
}

/// How `continuo evidence list` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ListFormat {
    /// One line per record.
    Table,
    /// JSON for programs.
    Json,
}

/// `continuo report ...`
#[derive(Args, Debug)]
pub struct ReportArgs {
    #[command(subcommand)]
    command: ReportCommand,
    #[command(flatten)]
    database: Database,
}

#[derive(Subcommand, Debug)]
enum ReportCommand {
    /// The availability (SLA) report of a month: per service measured availability,
    /// downtime, SLO, error budget and incidents.
    Availability {
        /// The month: YYYY-MM.
        #[arg(long)]
        month: String,
        /// Only this service.
        #[arg(long)]
        service: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Markdown)]
        format: ReportFormat,
    },
}

/// How `continuo report availability` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ReportFormat {
    /// Markdown for documents.
    Markdown,
    /// CSV for spreadsheets: one row per service.
    Csv,
    /// JSON for programs.
    Json,
}

const DAY_MS: i64 = 86_400_000;

/// Prints a refusal in the user's language (exit 1); other errors go to `main`.
fn finish(result: anyhow::Result<ExitCode>, lang: Lang) -> anyhow::Result<ExitCode> {
    local::finish(result, lang)
}

/// The catalog and the store of a configuration.
struct Opened {
    catalog: Catalog,
    sources: SourceMap,
    config: PathBuf,
    store: Store,
}

async fn open(database: &Database, lang: Lang) -> anyhow::Result<Opened> {
    let (catalog, sources) = local::catalog(
        &database.config,
        lang,
        tr!(
            "run `continuo check` for details",
            "zie `continuo check` voor details"
        ),
    )?;
    let store = local::open_store(&local::database_url(database, &catalog)).await?;
    Ok(Opened {
        catalog,
        sources,
        config: database.config.clone(),
        store,
    })
}

/// RFC 3339 in UTC: `2026-11-25T10:00:00Z`.
fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| ms.to_string())
}

/// " did you mean `x`?" or nothing.
fn did_you_mean<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Text {
    match continuo_core::suggest::closest(input, candidates) {
        Some(s) => tr!("; did you mean `{s}`?", "; bedoelde je `{s}`?"),
        None => Text::same(""),
    }
}

/// The service `id` of the catalog, or a refusal naming the configuration and the
/// closest id.
fn known_service<'a>(
    catalog: &'a Catalog,
    config: &Path,
    id: &str,
) -> anyhow::Result<&'a continuo_core::catalog::Service> {
    if let Some(s) = catalog.service(id) {
        return Ok(s);
    }
    let hint = did_you_mean(id, catalog.services.iter().map(|s| s.id.value.as_str()));
    let shown = config.display();
    let (hint_en, hint_nl) = (hint.en, hint.nl);
    refused(tr!(
        "no service `{id}` in the catalog of {shown}{hint_en}",
        "geen dienst `{id}` in de catalogus van {shown}{hint_nl}"
    ))
}

fn claim_kind(name: &str) -> anyhow::Result<ClaimKind> {
    if let Some(kind) = ClaimKind::from_name(name.trim()) {
        return Ok(kind);
    }
    let hint = did_you_mean(name, ClaimKind::ALL.iter().map(|k| k.name()));
    let all: Vec<&str> = ClaimKind::ALL.iter().map(|k| k.name()).collect();
    let all = all.join(", ");
    let (hint_en, hint_nl) = (hint.en, hint.nl);
    refused(tr!(
        "`{name}` is not a claim{hint_en} (claims: {all})",
        "`{name}` is geen bewering{hint_nl} (beweringen: {all})"
    ))
}

fn subject_of(text: &str, catalog: &Catalog, config: &Path) -> anyhow::Result<Subject> {
    let Some(subject) = Subject::parse(text) else {
        return refused(tr!(
            "`{text}` is not a subject; write service:ID or organization",
            "`{text}` is geen onderwerp; schrijf service:ID of organization"
        ));
    };
    match &subject {
        Subject::Service(id) => {
            known_service(catalog, config, id)?;
        }
        Subject::Dataset(id) => {
            return refused(tr!(
                "`dataset:{id}`: this catalog makes no claims about datasets yet; write service:ID or organization",
                "`dataset:{id}`: deze catalogus doet nog geen beweringen over datasets; schrijf service:ID of organization"
            ));
        }
        Subject::Organization => {}
    }
    Ok(subject)
}

/// `--value`: `42m` (a duration), `99.9%`, or a plain count.
fn measure(text: &str) -> anyhow::Result<Measure> {
    let text = text.trim();
    if let Some(number) = text.strip_suffix('%') {
        if let Ok(p) = number.trim().parse::<f64>()
            && (0.0..=100.0).contains(&p)
        {
            return Ok(Measure::percent(p));
        }
    } else if let Ok(d) = HumanDuration::parse(text) {
        let ms = i64::try_from(d.get().as_millis()).unwrap_or(i64::MAX);
        return Ok(Measure::ms(ms));
    } else if let Ok(n) = text.parse::<f64>()
        && n.is_finite()
    {
        return Ok(Measure {
            value: n,
            unit: continuo_core::evidence::Unit::Count,
        });
    }
    refused(tr!(
        "--value `{text}` is not a measurement; write a duration (42m, 1h30m), a percentage (99.9%) or a number",
        "--value `{text}` is geen meetwaarde; schrijf een duur (42m, 1h30m), een percentage (99.9%) of een getal"
    ))
}

/// `--observed`: RFC 3339, a local date-time, or a date (its start in the
/// organisation's zone); never in the future.
fn observed(text: &str, catalog: &Catalog, now: i64) -> anyhow::Result<i64> {
    let tz =
        jiff::tz::TimeZone::get(&catalog.organization.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    let text = text.trim();
    let at = continuo_core::oncall::parse_instant(text, &tz).or_else(|| {
        let date: jiff::civil::Date = text.parse().ok()?;
        date.to_zoned_datetime(tz.clone())
            .ok()
            .map(|z| z.timestamp().as_millisecond())
    });
    match at {
        // A minute of grace for clocks that disagree a little.
        Some(at) if at <= now + 60_000 => Ok(at.min(now)),
        Some(_) => refused(tr!(
            "--observed `{text}` is in the future; evidence records what was measured",
            "--observed `{text}` ligt in de toekomst; bewijs legt vast wat gemeten is"
        )),
        None => refused(tr!(
            "--observed `{text}` is not a time; write 2026-11-25T10:00:00Z, 2026-11-25T11:00 (local) or 2026-11-25",
            "--observed `{text}` is geen tijdstip; schrijf 2026-11-25T10:00:00Z, 2026-11-25T11:00 (lokaal) of 2026-11-25"
        )),
    }
}

/// Who is at the keyboard.
fn operator() -> String {
    ["USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "unknown".into())
}

fn paint(text: &str, code: &str, color: bool) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

fn state_color(state: State) -> &'static str {
    match state {
        State::Met => "32",
        State::Breached => "1;31",
        State::Stale => "33",
        State::Unproven => "2",
    }
}

/// `continuo posture`
pub fn posture(args: PostureArgs, lang: Lang, color: bool) -> anyhow::Result<ExitCode> {
    let result = runtime()?.block_on(async {
        let opened = open(&args.database, lang).await?;
        let catalog = &opened.catalog;
        if let Some(id) = &args.service {
            known_service(catalog, &opened.config, id)?;
        }
        let full = opened.store.posture(catalog, now_ms()).await?;
        opened.store.close().await;
        let posture = match &args.service {
            Some(id) => only_service(full, id),
            None => full,
        };
        let text = match args.format {
            PostureFormat::Table => posture_table(&posture, catalog, lang, color),
            PostureFormat::Markdown => doc::posture_markdown(&posture, catalog, lang),
            PostureFormat::Json => {
                // The API's shape (`GET /api/v1/posture`), documented in its OpenAPI.
                let view = continuo_web::posture::PostureView::new(&posture, None);
                let mut s = serde_json::to_string_pretty(&view)?;
                s.push('\n');
                s
            }
        };
        print!("{text}");
        let failing = |s: State| match args.fail_on {
            None => false,
            Some(FailOn::Breached) => s == State::Breached,
            Some(FailOn::Stale) => matches!(s, State::Breached | State::Stale),
        };
        let failed = posture.verdicts.iter().any(|v| failing(v.state));
        Ok(ExitCode::from(u8::from(failed)))
    });
    finish(result, lang)
}

/// The posture of one service: its claims, its readiness and tier, its budget.
fn only_service(posture: Posture, id: &str) -> Posture {
    let subject = Subject::Service(id.to_string());
    let verdicts: Vec<Verdict> = posture
        .verdicts
        .into_iter()
        .filter(|v| v.claim.subject == subject)
        .collect();
    Posture {
        at_ms: posture.at_ms,
        tiers: readiness_by_tier(&verdicts),
        verdicts,
        subjects: posture
            .subjects
            .into_iter()
            .filter(|(s, _)| *s == subject)
            .collect(),
        budgets: posture
            .budgets
            .into_iter()
            .filter(|(s, _)| s == id)
            .collect(),
    }
}

pub(crate) fn posture_table(
    posture: &Posture,
    catalog: &Catalog,
    lang: Lang,
    color: bool,
) -> String {
    let t = |text: Text| text.get(lang).to_string();
    let tz = &catalog.organization.timezone;
    let mut out = String::new();
    let org = &catalog.organization.name;
    let zone = jiff::tz::TimeZone::get(tz).unwrap_or(jiff::tz::TimeZone::UTC);
    let at = jiff::Timestamp::from_millisecond(posture.at_ms)
        .map(|t| {
            t.to_zoned_datetime(zone)
                .strftime("%Y-%m-%d %H:%M %Z")
                .to_string()
        })
        .unwrap_or_default();
    let title = tr!(
        "Continuity posture: {org} (as of {at})",
        "Continuïteitspositie: {org} (stand van {at})"
    );
    let _ = writeln!(out, "{}", paint(&t(title), "1", color));
    let mut previous: Option<&Subject> = None;
    for v in &posture.verdicts {
        if previous != Some(&v.claim.subject) {
            let name = t(doc::subject_name(&v.claim.subject, catalog));
            let heading = match (&v.claim.subject, v.claim.tier) {
                (Subject::Service(id), Some(tier)) => format!("{name} ({id}, tier {tier})"),
                _ => name,
            };
            let _ = writeln!(out, "\n{}", paint(&heading, "1", color));
            previous = Some(&v.claim.subject);
        }
        let c = doc::verdict_cells(v, catalog, lang);
        let state = paint(&format!("{:<11}", c.state), state_color(v.state), color);
        let mut source = c.source.clone();
        if let Some(link) = &c.link {
            source = format!("{source} <{link}>");
        }
        let _ = writeln!(
            out,
            "  {:<22} {state} {:<22} {:<10} {source}",
            c.claim, c.figures, c.age
        );
        if !c.note.is_empty() {
            let _ = writeln!(out, "  {:<22} {:<11} {}", "", "", c.note);
        }
    }
    if posture.verdicts.is_empty() {
        let _ = writeln!(out, "\n{}", t(tr!("  (no claims)", "  (geen beweringen)")));
    }
    let counts = |r: &std::collections::BTreeMap<&'static str, u32>| {
        State::ALL
            .iter()
            .map(|s| {
                let n = r.get(s.name()).copied().unwrap_or(0);
                paint(
                    &format!("{n} {}", t(s.text())),
                    state_color(*s),
                    color && n > 0,
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !posture.tiers.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            paint(
                &t(tr!("Readiness per tier", "Gereedheid per tier")),
                "1",
                color
            )
        );
        for tier in &posture.tiers {
            let _ = writeln!(out, "  tier {}: {}", tier.tier, counts(&tier.totals));
        }
    }
    if !posture.budgets.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            paint(&t(tr!("Error budgets", "Foutbudgetten")), "1", color)
        );
        for (service, b) in &posture.budgets {
            let name = t(doc::subject_name(
                &Subject::Service(service.clone()),
                catalog,
            ));
            let slo = doc::minutes(b.slo * 100.0);
            let window = human_ms(b.window_ms);
            let (allowed, spent, left) = (
                doc::minutes(b.allowed_minutes),
                doc::minutes(b.spent_minutes),
                doc::minutes(b.remaining_minutes),
            );
            let line = tr!(
                "{name}: SLO {slo} % over {window}: {allowed} min allowed, {spent} spent, {left} left",
                "{name}: SLO {slo} % over {window}: {allowed} min toegestaan, {spent} verbruikt, {left} over"
            );
            let code = if b.remaining_minutes < 0.0 { "31" } else { "0" };
            let _ = writeln!(out, "  {}", paint(&t(line), code, color && code != "0"));
        }
    }
    out
}

/// `continuo evidence ...`
pub fn evidence(args: EvidenceArgs, lang: Lang) -> anyhow::Result<ExitCode> {
    let result = runtime()?.block_on(async {
        match args.command {
            EvidenceCommand::Add {
                claim,
                subject,
                outcome,
                value,
                observed: at,
                note,
                by,
            } => {
                // Check what was typed before opening the store: a typo costs nothing.
                let kind = claim_kind(&claim)?;
                let opened = open(&args.database, lang).await?;
                let catalog = &opened.catalog;
                let subject = subject_of(&subject, catalog, &opened.config)?;
                let Some(target) = claims(catalog)
                    .into_iter()
                    .find(|c| c.kind == kind && c.subject == subject)
                else {
                    return refused(no_such_claim(kind, &subject, &opened));
                };
                let note = note.trim().to_string();
                if note.is_empty() {
                    return refused(tr!(
                        "--note is empty; say what the evidence is and where it is kept",
                        "--note is leeg; zeg wat het bewijs is en waar het bewaard wordt"
                    ));
                }
                let value = value.as_deref().map(measure).transpose()?;
                let now = now_ms();
                let observed_ms = match at.as_deref() {
                    Some(text) => observed(text, catalog, now)?,
                    None => now,
                };
                let random = continuo_web::credentials::random_hex(4)?;
                let source = Source {
                    kind: SourceKind::Manual,
                    id: format!("{now}-{random}"),
                };
                let record = Evidence {
                    id: Evidence::id_for(kind, &subject, &source),
                    claim: kind,
                    subject,
                    source,
                    observed_ms,
                    value,
                    target: target.target,
                    outcome: outcome.into(),
                    link: None,
                    note: Some(Text::same(note)),
                    recorded_by: by
                        .map(|b| b.trim().to_string())
                        .filter(|b| !b.is_empty())
                        .unwrap_or_else(operator),
                    recorded_ms: now,
                };
                opened
                    .store
                    .add_evidence(std::slice::from_ref(&record))
                    .await?;
                opened.store.close().await;
                let (id, what) = (&record.id, kind.label());
                let name = doc::subject_name(&record.subject, catalog);
                let state = Outcome::name(record.outcome);
                let (what_en, what_nl, name_en, name_nl) = (what.en, what.nl, name.en, name.nl);
                println!(
                    "{}",
                    tr!(
                        "recorded {id}: {what_en} of {name_en} {state} (manual)",
                        "vastgelegd {id}: {what_nl} van {name_nl} {state} (handmatig)"
                    )
                    .get(lang)
                );
                Ok(ExitCode::SUCCESS)
            }
            EvidenceCommand::List {
                claim,
                subject,
                limit,
                format,
            } => {
                let claim = claim.as_deref().map(claim_kind).transpose()?;
                let opened = open(&args.database, lang).await?;
                let subject = subject
                    .as_deref()
                    .map(|s| subject_of(s, &opened.catalog, &opened.config))
                    .transpose()?;
                let filter = EvidenceFilter {
                    claim,
                    subject,
                    limit,
                    ..EvidenceFilter::default()
                };
                let records = opened.store.evidence(&filter).await?;
                opened.store.close().await;
                print!(
                    "{}",
                    evidence_list(&records, &opened.catalog, format, lang)?
                );
                Ok(ExitCode::SUCCESS)
            }
        }
    });
    finish(result, lang)
}

/// Why there is no such claim, and which claims the subject does make.
fn no_such_claim(kind: ClaimKind, subject: &Subject, opened: &Opened) -> Text {
    let made: Vec<&str> = claims(&opened.catalog)
        .iter()
        .filter(|c| &c.subject == subject)
        .map(|c| c.kind.name())
        .collect();
    let made = made.join(", ");
    let claim = kind.name();
    match subject {
        Subject::Service(id) => {
            let at = opened
                .catalog
                .service(id)
                .map(|s| opened.sources.position(&s.loc).to_string())
                .unwrap_or_else(|| opened.config.display().to_string());
            tr!(
                "service `{id}` ({at}) makes no `{claim}` claim; its claims: {made}",
                "dienst `{id}` ({at}) doet geen bewering `{claim}`; de beweringen: {made}"
            )
        }
        _ => tr!(
            "the organisation makes no `{claim}` claim; its claims: {made}",
            "de organisatie doet geen bewering `{claim}`; de beweringen: {made}"
        ),
    }
}

fn evidence_list(
    records: &[Evidence],
    catalog: &Catalog,
    format: ListFormat,
    lang: Lang,
) -> anyhow::Result<String> {
    if format == ListFormat::Json {
        // The API's shape (`GET /api/v1/evidence`).
        let items: Vec<continuo_web::posture::RecordView> =
            records.iter().map(Into::into).collect();
        let mut s = serde_json::to_string_pretty(&json!({ "evidence": items }))?;
        s.push('\n');
        return Ok(s);
    }
    let mut out = String::new();
    if records.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            tr!("no evidence recorded", "geen bewijs vastgelegd").get(lang)
        );
    }
    let tz =
        jiff::tz::TimeZone::get(&catalog.organization.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    for e in records {
        let when = jiff::Timestamp::from_millisecond(e.observed_ms)
            .map(|t| {
                t.to_zoned_datetime(tz.clone())
                    .strftime("%Y-%m-%d %H:%M %Z")
                    .to_string()
            })
            .unwrap_or_default();
        let figures = match (&e.value, &e.target) {
            (Some(v), Some(t)) => format!("{} / {}", v.display(), t.display()),
            (Some(v), None) => v.display(),
            (None, Some(t)) => format!("— / {}", t.display()),
            (None, None) => "—".into(),
        };
        let outcome = match e.outcome {
            Outcome::Met => tr!("met", "gehaald"),
            Outcome::Breached => tr!("breached", "geschonden"),
            Outcome::Inconclusive => tr!("inconclusive", "onbeslist"),
        };
        let _ = writeln!(
            out,
            "{when:<22} {:<22} {:<20} {:<12} {:<22} {}",
            e.claim.name(),
            e.subject.key(),
            outcome.get(lang),
            figures,
            doc::source_text(e, lang),
        );
        if let Some(note) = &e.note {
            let _ = writeln!(out, "{:<22} {}", "", note.get(lang));
        }
    }
    Ok(out)
}

/// `continuo report ...`
pub fn report(args: ReportArgs, lang: Lang) -> anyhow::Result<ExitCode> {
    let result = runtime()?.block_on(async {
        match args.command {
            ReportCommand::Availability {
                month,
                service,
                format,
            } => {
                let Some((from, until)) = month_bounds(&month) else {
                    return refused(tr!(
                        "--month `{month}` is not a month; write YYYY-MM, e.g. 2026-11",
                        "--month `{month}` is geen maand; schrijf JJJJ-MM, bijv. 2026-11"
                    ));
                };
                let month = month.trim().to_string();
                // The running month ends with today: the days still to come have no
                // data because they have not happened, which is not an outage.
                let today_end = now_ms().div_euclid(DAY_MS) * DAY_MS + DAY_MS;
                if from >= today_end {
                    return refused(tr!(
                        "--month `{month}` has not begun yet",
                        "--month `{month}` is nog niet begonnen"
                    ));
                }
                let until = until.min(today_end);
                let opened = open(&args.database, lang).await?;
                let catalog = &opened.catalog;
                if let Some(id) = &service {
                    known_service(catalog, &opened.config, id)?;
                }
                let months = opened
                    .store
                    .availability_month(catalog, from, until, service.as_deref())
                    .await?;
                opened.store.close().await;
                let text = match format {
                    ReportFormat::Markdown => {
                        doc::availability_markdown(&month, &months, catalog, lang)
                    }
                    ReportFormat::Csv => doc::availability_csv(&month, &months, lang),
                    ReportFormat::Json => {
                        let mut s = serde_json::to_string_pretty(&json!({
                            "month": month,
                            "from": rfc3339(from),
                            "until": rfc3339(until),
                            "services": months,
                        }))?;
                        s.push('\n');
                        s
                    }
                };
                print!("{text}");
                Ok(ExitCode::SUCCESS)
            }
        }
    });
    finish(result, lang)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_durations_percentages_or_counts() {
        assert_eq!(measure("42m").ok(), Some(Measure::ms(42 * 60_000)));
        assert_eq!(measure("99.9%").ok(), Some(Measure::percent(99.9)));
        assert_eq!(measure("3").ok().map(|m| m.value), Some(3.0));
        assert!(measure("fast").is_err());
        assert!(measure("120%").is_err());
    }
}
