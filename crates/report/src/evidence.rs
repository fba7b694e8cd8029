//! The posture and the availability report (the SLA report) as documents: every claim
//! beside the evidence for it, and per service and month the measured availability
//! against its SLO. Pure: core's [`Posture`] or [`ServiceMonth`]s and the catalog in,
//! Markdown or CSV out, in English or Dutch.
//!
//! The cells of one verdict ([`verdict_cells`]) are built here once, so the terminal
//! table of `continuo posture` and this Markdown say the same thing in the same words.

use continuo_core::catalog::Catalog;
use continuo_core::evidence::availability::{ReportIncident, ServiceMonth};
use continuo_core::evidence::verdict::{ErrorBudget, Readiness, State, Verdict};
use continuo_core::evidence::{ClaimKind, Evidence, Posture, Subject, human_ms};
use continuo_core::{Lang, Text, tr};
use std::fmt::Write;

/// An instant in the organisation's zone, to the minute: `2026-11-25 11:00 CET`.
fn minute(ms: i64, tz: &str) -> String {
    let zone = jiff::tz::TimeZone::get(tz).unwrap_or(jiff::tz::TimeZone::UTC);
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| {
            t.to_zoned_datetime(zone)
                .strftime("%Y-%m-%d %H:%M %Z")
                .to_string()
        })
        .unwrap_or_else(|_| ms.to_string())
}

/// A number of minutes as exact as the rollups measured them: `30`, `30.5`, `0.417`.
pub fn minutes(value: f64) -> String {
    let s = format!("{value:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// A percentage with up to three decimals: `99.931 %`.
fn percent(value: f64) -> String {
    format!("{} %", minutes(value))
}

/// How a subject reads: the service's name, `dataset orders`, the organisation.
pub fn subject_name(subject: &Subject, catalog: &Catalog) -> Text {
    match subject {
        Subject::Service(id) => Text::same(
            catalog
                .service(id)
                .map_or_else(|| id.clone(), |s| s.name.clone()),
        ),
        Subject::Dataset(id) => tr!("dataset {id}", "dataset {id}"),
        Subject::Organization => tr!("Organisation", "Organisatie"),
    }
}

/// One verdict as every posture surface shows it, in one language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerdictCells {
    /// The claim's label: `RTO`, `Runbook current`.
    pub claim: String,
    /// The verdict word: `met`, `breached`, `stale`, `unproven`.
    pub state: String,
    /// Measured against target: `9 min 12 s / 1 h`, `— / 1 h`, or `—`.
    pub figures: String,
    /// When the deciding record was observed (organisation's zone), or `—`.
    pub observed: String,
    /// How old that record is: `10 d 2 h`, or `—`.
    pub age: String,
    /// Where it came from: `incident INC-1`, `recorded by hand (anna)`, or `—`.
    pub source: String,
    /// The source's dashboard path, if it has one.
    pub link: Option<String>,
    /// The record's note (for manual records: the attachment note), or empty.
    pub note: String,
}

/// The cells of `verdict`, times in the organisation's zone.
pub fn verdict_cells(verdict: &Verdict, catalog: &Catalog, lang: Lang) -> VerdictCells {
    let none = "—".to_string();
    let tz = &catalog.organization.timezone;
    let target = verdict
        .claim
        .target
        .as_ref()
        .or(verdict.evidence.as_ref().and_then(|e| e.target.as_ref()))
        .map(|t| t.display());
    let value = verdict
        .evidence
        .as_ref()
        .and_then(|e| e.value.as_ref())
        .map(|v| v.display());
    let figures = match (value, target) {
        (Some(v), Some(t)) => format!("{v} / {t}"),
        (Some(v), None) => v,
        (None, Some(t)) => format!("— / {t}"),
        (None, None) => none.clone(),
    };
    let e = verdict.evidence.as_ref();
    VerdictCells {
        claim: verdict.claim.kind.label().get(lang).to_string(),
        state: verdict.state.text().get(lang).to_string(),
        figures,
        observed: e.map_or_else(|| none.clone(), |e| minute(e.observed_ms, tz)),
        age: verdict.age_ms.map_or_else(|| none.clone(), human_ms),
        source: e.map_or_else(|| none.clone(), |e| source_text(e, lang)),
        link: e.and_then(|e| e.link.clone()),
        note: e
            .and_then(|e| e.note.as_ref())
            .map(|n| n.get(lang).to_string())
            .unwrap_or_default(),
    }
}

/// Where a record came from: `incident INC-1`; a manual record names who recorded it
/// instead of its generated id.
pub fn source_text(record: &Evidence, lang: Lang) -> String {
    let kind = record.source.kind.text();
    if record.is_manual() {
        format!("{} ({})", kind.get(lang), record.recorded_by)
    } else {
        format!("{} {}", kind.get(lang), record.source.id)
    }
}

/// Escapes a table cell.
fn cell(text: &str) -> String {
    super::cell(text)
}

fn kinds(list: &[ClaimKind], lang: Lang) -> String {
    if list.is_empty() {
        return "—".into();
    }
    list.iter()
        .map(|k| k.label().get(lang).to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The posture as a Markdown document: every claim grouped by subject with its verdict,
/// measured value against its target, the age of its evidence and a link to its source;
/// readiness per subject and per tier; the error budgets.
pub fn posture_markdown(posture: &Posture, catalog: &Catalog, lang: Lang) -> String {
    let t = |text: Text| text.get(lang).to_string();
    let tz = &catalog.organization.timezone;
    let mut out = String::new();
    let org = &catalog.organization.name;
    let _ = writeln!(
        out,
        "# {}\n",
        t(tr!(
            "Continuity posture: {org}",
            "Continuïteitspositie: {org}"
        ))
    );
    let at = minute(posture.at_ms, tz);
    let _ = writeln!(
        out,
        "{}\n",
        t(tr!(
            "As of {at}. Every claim the catalog makes, beside the freshest evidence for it: *met* or *breached* by a record inside the claim's validity window, *stale* when it was proven only before that, *unproven* when nothing ever measured it.",
            "Stand van {at}. Elke bewering uit de catalogus naast het recentste bewijs ervoor: *gehaald* of *geschonden* volgens een meting binnen de geldigheidsduur van de bewering, *verouderd* als die alleen eerder bewezen is, *onbewezen* als niets haar ooit gemeten heeft."
        ))
    );

    let _ = writeln!(out, "## {}\n", t(tr!("Claims", "Beweringen")));
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} | {} | {} |",
        t(tr!("Subject", "Onderwerp")),
        t(tr!("Claim", "Bewering")),
        t(tr!("Verdict", "Oordeel")),
        t(tr!("Measured / target", "Gemeten / doel")),
        t(tr!("Evidence from", "Bewijs van")),
        t(tr!("Age", "Leeftijd")),
        t(tr!("Source", "Bron")),
        t(tr!("Note", "Toelichting")),
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
    let mut previous: Option<&Subject> = None;
    for v in &posture.verdicts {
        let c = verdict_cells(v, catalog, lang);
        let subject = if previous == Some(&v.claim.subject) {
            String::new()
        } else {
            let name = t(subject_name(&v.claim.subject, catalog));
            match v.claim.tier {
                Some(tier) => t(tr!("{name} (tier {tier})", "{name} (tier {tier})")),
                None => name,
            }
        };
        previous = Some(&v.claim.subject);
        let state = match v.state {
            State::Met => c.state.clone(),
            _ => format!("**{}**", c.state),
        };
        let source = match &c.link {
            Some(link) => format!("[{}]({link})", cell(&c.source)),
            None => cell(&c.source),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {state} | {} | {} | {} | {source} | {} |",
            cell(&subject),
            cell(&c.claim),
            cell(&c.figures),
            c.observed,
            c.age,
            cell(&c.note),
        );
    }
    out.push('\n');

    let _ = writeln!(
        out,
        "## {}\n",
        t(tr!("Readiness per subject", "Gereedheid per onderwerp"))
    );
    readiness_header(&mut out, t(tr!("Subject", "Onderwerp")), lang);
    for (subject, r) in &posture.subjects {
        readiness_row(&mut out, &t(subject_name(subject, catalog)), r, lang);
    }
    out.push('\n');

    let _ = writeln!(
        out,
        "## {}\n",
        t(tr!("Readiness per tier", "Gereedheid per tier"))
    );
    if posture.tiers.is_empty() {
        let _ = writeln!(
            out,
            "{}\n",
            t(tr!("No service claims.", "Geen dienstbeweringen."))
        );
    } else {
        readiness_header(&mut out, t(tr!("Tier", "Tier")), lang);
        for tier in &posture.tiers {
            let n = |s: State| tier.totals.get(s.name()).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                tier.tier,
                n(State::Met),
                n(State::Breached),
                n(State::Stale),
                n(State::Unproven),
            );
        }
        out.push('\n');
    }

    let _ = writeln!(out, "## {}\n", t(tr!("Error budgets", "Foutbudgetten")));
    if posture.budgets.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            t(tr!(
                "No service has an SLO (`slo = \"99.9%\"` in its configuration).",
                "Geen dienst heeft een SLO (`slo = \"99.9%\"` in de configuratie)."
            ))
        );
    } else {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            t(tr!("Service", "Dienst")),
            t(tr!("SLO", "SLO")),
            t(tr!("Window", "Periode")),
            t(tr!("Allowed (min)", "Toegestaan (min)")),
            t(tr!("Spent (min)", "Verbruikt (min)")),
            t(tr!("Remaining (min)", "Resterend (min)")),
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|");
        for (service, b) in &posture.budgets {
            let name = t(subject_name(&Subject::Service(service.clone()), catalog));
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                cell(&name),
                percent(b.slo * 100.0),
                human_ms(b.window_ms),
                minutes(b.allowed_minutes),
                minutes(b.spent_minutes),
                remaining(b, lang),
            );
        }
    }
    out
}

fn readiness_header(out: &mut String, first: String, lang: Lang) {
    let [met, breached, stale, unproven] = state_headings(lang);
    let _ = writeln!(
        out,
        "| {first} | {met} | {breached} | {stale} | {unproven} |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|");
}

/// Column headings for the four states, met first.
fn state_headings(lang: Lang) -> [String; 4] {
    [
        tr!("Met", "Gehaald"),
        tr!("Breached", "Geschonden"),
        tr!("Stale", "Verouderd"),
        tr!("Unproven", "Onbewezen"),
    ]
    .map(|t| t.get(lang).to_string())
}

fn readiness_row(out: &mut String, name: &str, r: &Readiness, lang: Lang) {
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} |",
        cell(name),
        kinds(&r.met, lang),
        kinds(&r.breached, lang),
        kinds(&r.stale, lang),
        kinds(&r.unproven, lang),
    );
}

/// The remaining budget, with a word when it is overspent.
fn remaining(b: &ErrorBudget, lang: Lang) -> String {
    let left = minutes(b.remaining_minutes);
    if b.remaining_minutes < 0.0 {
        tr!("{left} (overspent)", "{left} (overschreden)")
            .get(lang)
            .to_string()
    } else {
        left
    }
}

/// The word for "no data", the same everywhere a day or month has none.
fn no_data(lang: Lang) -> String {
    tr!("no data", "geen gegevens").get(lang).to_string()
}

fn slo_verdict(m: &ServiceMonth, lang: Lang) -> String {
    let text = match m.slo_met {
        Some(true) => tr!("met", "gehaald"),
        Some(false) => tr!("missed", "niet gehaald"),
        None if m.slo.is_some() => tr!("no data", "geen gegevens"),
        None => tr!("no SLO", "geen SLO"),
    };
    text.get(lang).to_string()
}

fn rto_word(incident: &ReportIncident, lang: Lang) -> String {
    let text = match incident.rto {
        "met" => tr!("RTO met", "RTO gehaald"),
        "breached" => tr!("RTO breached", "RTO overschreden"),
        _ => tr!("still down", "nog niet hersteld"),
    };
    text.get(lang).to_string()
}

/// The availability report of `month` (`2026-11`) as Markdown: per service its measured
/// availability over the days with data (days without are listed as "no data", never
/// counted as up), the exact downtime in minutes, the SLO and whether it was met, the
/// error budget left, every day, and the incidents with their durations and RTO verdicts.
pub fn availability_markdown(
    month: &str,
    services: &[ServiceMonth],
    catalog: &Catalog,
    lang: Lang,
) -> String {
    let t = |text: Text| text.get(lang).to_string();
    let tz = &catalog.organization.timezone;
    let org = &catalog.organization.name;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# {}\n",
        t(tr!(
            "Availability report {month}: {org}",
            "Beschikbaarheidsrapport {month}: {org}"
        ))
    );
    let _ = writeln!(
        out,
        "{}\n",
        t(tr!(
            "Measured by Continuo's checks, per UTC day: a day's downtime is the share of failed observations of the service's worst check. Days without observations are shown as *no data* and are not counted as up.",
            "Gemeten door de controles van Continuo, per UTC-dag: de uitval van een dag is het aandeel mislukte waarnemingen van de slechtste controle van de dienst. Dagen zonder waarnemingen staan er als *geen gegevens* en tellen niet als beschikbaar."
        ))
    );
    if services.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            t(tr!(
                "No services in the catalog.",
                "Geen diensten in de catalogus."
            ))
        );
        return out;
    }

    let _ = writeln!(out, "## {}\n", t(tr!("Summary", "Samenvatting")));
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} | {} | {} |",
        t(tr!("Service", "Dienst")),
        t(tr!("Tier", "Tier")),
        t(tr!("Availability", "Beschikbaarheid")),
        t(tr!("Downtime (min)", "Uitval (min)")),
        t(tr!("Days without data", "Dagen zonder gegevens")),
        t(tr!("SLO", "SLO")),
        t(tr!("Error budget left (min)", "Foutbudget over (min)")),
        t(tr!("Incidents", "Incidenten")),
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
    for m in services {
        let slo = match m.slo {
            Some(s) => format!("{} ({})", percent(s), slo_verdict(m, lang)),
            None => slo_verdict(m, lang),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(&m.name),
            m.tier,
            m.period.availability.map_or_else(|| no_data(lang), percent),
            if m.period.days_with_data == 0 {
                no_data(lang)
            } else {
                minutes(m.period.down_minutes)
            },
            m.period.days_without_data,
            slo,
            m.budget
                .as_ref()
                .map_or_else(|| "—".into(), |b| remaining(b, lang)),
            m.incidents.len(),
        );
    }
    out.push('\n');

    for m in services {
        let _ = writeln!(out, "## {} (`{}`)\n", m.name, m.service);
        let days = m.period.days.len();
        let with = m.period.days_with_data;
        let measured = match m.period.availability {
            Some(a) => {
                let a = percent(a);
                let down = minutes(m.period.down_minutes);
                tr!(
                    "Measured availability {a} over {with} of {days} days, {down} minutes down.",
                    "Gemeten beschikbaarheid {a} over {with} van {days} dagen, {down} minuten uitval."
                )
            }
            None => tr!(
                "No data: none of the {days} days has observations.",
                "Geen gegevens: geen van de {days} dagen heeft waarnemingen."
            ),
        };
        let _ = writeln!(out, "{}\n", t(measured));
        if let (Some(slo), Some(b)) = (m.slo, &m.budget) {
            let (slo, verdict) = (percent(slo), slo_verdict(m, lang));
            let (allowed, spent, left) = (
                minutes(b.allowed_minutes),
                minutes(b.spent_minutes),
                remaining(b, lang),
            );
            let _ = writeln!(
                out,
                "{}",
                t(tr!(
                    "SLO {slo}: {verdict}. Error budget over the days with data: {allowed} minutes allowed, {spent} spent, {left} left.",
                    "SLO {slo}: {verdict}. Foutbudget over de dagen met gegevens: {allowed} minuten toegestaan, {spent} verbruikt, {left} over."
                ))
            );
        } else {
            let _ = writeln!(
                out,
                "{}",
                t(tr!(
                    "No SLO is set for this service.",
                    "Voor deze dienst is geen SLO ingesteld."
                ))
            );
        }
        out.push('\n');

        let _ = writeln!(out, "### {}\n", t(tr!("Incidents", "Incidenten")));
        if m.incidents.is_empty() {
            let _ = writeln!(
                out,
                "{}\n",
                t(tr!(
                    "No incident took it down this month.",
                    "Geen incident legde de dienst deze maand plat."
                ))
            );
        } else {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                t(tr!("Incident", "Incident")),
                t(tr!("Title", "Titel")),
                t(tr!("Down", "Uit de lucht")),
                t(tr!("Back", "Hersteld")),
                t(tr!("Duration", "Duur")),
                t(tr!("RTO", "RTO")),
            );
            let _ = writeln!(out, "|---|---|---|---|---|---|");
            for i in &m.incidents {
                let _ = writeln!(
                    out,
                    "| [{}](/incidents/{}) | {} | {} | {} | {} | {} |",
                    i.id,
                    i.id,
                    cell(&i.title),
                    minute(i.down_ms, tz),
                    i.up_ms.map_or_else(|| "—".into(), |up| minute(up, tz)),
                    i.duration_ms.map_or_else(|| "—".into(), human_ms),
                    rto_word(i, lang),
                );
            }
            out.push('\n');
        }

        let _ = writeln!(out, "### {}\n", t(tr!("Days", "Dagen")));
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            t(tr!("Date (UTC)", "Datum (UTC)")),
            t(tr!("Availability", "Beschikbaarheid")),
            t(tr!("Downtime (min)", "Uitval (min)")),
        );
        let _ = writeln!(out, "|---|---|---|");
        for d in &m.period.days {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                d.date,
                d.availability.map_or_else(|| no_data(lang), percent),
                d.down_minutes.map_or_else(|| no_data(lang), minutes),
            );
        }
        out.push('\n');
    }
    out
}

/// Quotes a CSV field when it needs it (RFC 4180).
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// The availability report of `month` as CSV (RFC 4180, `.` as decimal point): one row
/// per service with the month's figures; a service or day without data says "no data"
/// and its dates are listed, never counted as up. Incidents are one field:
/// `INC-1 30 min RTO met; INC-2 ...`.
pub fn availability_csv(month: &str, services: &[ServiceMonth], lang: Lang) -> String {
    let t = |text: Text| text.get(lang).to_string();
    let header = [
        tr!("month", "maand"),
        tr!("service", "dienst"),
        tr!("name", "naam"),
        tr!("tier", "tier"),
        tr!("availability_percent", "beschikbaarheid_procent"),
        tr!("downtime_minutes", "uitval_minuten"),
        tr!("days_with_data", "dagen_met_gegevens"),
        tr!("days_without_data", "dagen_zonder_gegevens"),
        tr!("dates_without_data", "datums_zonder_gegevens"),
        tr!("slo_percent", "slo_procent"),
        tr!("slo", "slo"),
        tr!("budget_allowed_minutes", "budget_toegestaan_minuten"),
        tr!("budget_spent_minutes", "budget_verbruikt_minuten"),
        tr!("budget_remaining_minutes", "budget_resterend_minuten"),
        tr!("incidents", "incidenten"),
    ];
    let mut out = header.map(t).join(",");
    out.push_str("\r\n");
    for m in services {
        let missing: Vec<&str> = m
            .period
            .days
            .iter()
            .filter(|d| d.availability.is_none())
            .map(|d| d.date.as_str())
            .collect();
        let incidents: Vec<String> = m
            .incidents
            .iter()
            .map(|i| {
                let took = i.duration_ms.map_or_else(|| "—".into(), human_ms);
                format!("{} {took} {}", i.id, rto_word(i, lang))
            })
            .collect();
        let budget = |f: fn(&ErrorBudget) -> f64| {
            m.budget.as_ref().map(|b| minutes(f(b))).unwrap_or_default()
        };
        let fields = [
            month.to_string(),
            m.service.clone(),
            m.name.clone(),
            m.tier.to_string(),
            m.period.availability.map_or_else(|| no_data(lang), minutes),
            if m.period.days_with_data == 0 {
                no_data(lang)
            } else {
                minutes(m.period.down_minutes)
            },
            m.period.days_with_data.to_string(),
            m.period.days_without_data.to_string(),
            missing.join(" "),
            m.slo.map(minutes).unwrap_or_default(),
            slo_verdict(m, lang),
            budget(|b| b.allowed_minutes),
            budget(|b| b.spent_minutes),
            budget(|b| b.remaining_minutes),
            incidents.join("; "),
        ];
        out.push_str(
            &fields
                .iter()
                .map(|f| csv_field(f))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push_str("\r\n");
    }
    out
}
