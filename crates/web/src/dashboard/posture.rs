//! The dashboard's proof pages: `/posture` (readiness per tier, then a matrix of
//! services and the organisation against kinds of claim, each cell the verdict, the
//! age of the record that decided it and a link to its source; error budgets below),
//! `/posture/{subject}` (one service's, or the organisation's, evidence timeline, newest
//! first) and `/reports/availability?month=` (the monthly SLA report).
//!
//! Everything comes from the store's posture and month reads, which hand the records
//! and day rollups to core's pure functions, the same as the API and the CLI.

use super::pages::{path_of, when};
use super::{Chrome, dashboard_lang, html, problem};
use crate::app::Shared;
use crate::auth::{Authed, Viewer};
use crate::error::ApiError;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use continuo_core::Catalog;
use continuo_core::evidence::availability::{ServiceMonth, month_bounds};
use continuo_core::evidence::verdict::{State as Standing, Verdict};
use continuo_core::evidence::{
    ClaimKind, Evidence, Outcome, SourceKind, Subject, claims, human_ms,
};
use continuo_core::{Lang, Text};
use continuo_store::EvidenceFilter;
use serde::Deserialize;

/// How many records a timeline shows.
const TIMELINE_RECORDS: u32 = 500;

#[derive(Deserialize, Default)]
pub(crate) struct PostureQuery {
    lang: Option<String>,
}

#[derive(Deserialize, Default)]
pub(crate) struct MonthQuery {
    lang: Option<String>,
    month: Option<String>,
}

/// The CSS class of a verdict (`state-met`...).
fn state_class(s: Standing) -> &'static str {
    match s {
        Standing::Met => "state-met",
        Standing::Breached => "state-breached",
        Standing::Stale => "state-stale",
        Standing::Unproven => "state-unproven",
    }
}

fn outcome_text(o: Outcome) -> (&'static str, Text) {
    match o {
        Outcome::Met => ("state-met", Text::new("met", "gehaald")),
        Outcome::Breached => ("state-breached", Text::new("breached", "geschonden")),
        Outcome::Inconclusive => ("state-unproven", Text::new("inconclusive", "onbeslist")),
    }
}

/// Where a record's source can be seen: its own link, else (a manual record) the
/// timeline that shows its note.
fn source_href(e: &Evidence) -> String {
    match (&e.link, e.is_manual()) {
        (Some(link), _) => link.clone(),
        (None, true) => format!("/posture/{}", timeline_id(&e.subject)),
        (None, false) => String::new(),
    }
}

/// The path segment of a subject's timeline.
fn timeline_id(s: &Subject) -> String {
    match s {
        Subject::Service(id) => id.clone(),
        Subject::Dataset(id) => format!("dataset:{id}"),
        Subject::Organization => "organization".into(),
    }
}

/// What produced a record: `incident INC-1`; a manual record's id (who, when, a
/// random part) says nothing a reader needs, so only "recorded by hand". The catalog's
/// own records (review dates, a missing runbook) have no page to link to, and their
/// note says more than their source id.
fn source_text(e: &Evidence, lang: Lang) -> String {
    let kind = e.source.kind.text();
    match (&e.note, &e.link) {
        _ if e.is_manual() => kind.get(lang).to_string(),
        (Some(note), None) if e.source.kind == SourceKind::Review => note.get(lang).to_string(),
        _ => format!("{} {}", kind.get(lang), e.source.id),
    }
}

fn age_text(age_ms: i64, lang: Lang) -> String {
    if age_ms < 60_000 {
        return Text::new("just now", "zojuist").get(lang).to_string();
    }
    let age = human_ms(age_ms);
    Text::new(format!("{age} ago"), format!("{age} geleden"))
        .get(lang)
        .to_string()
}

/// One cell of the matrix.
pub(crate) struct Cell {
    /// Whether the subject makes this claim at all.
    claimed: bool,
    class: &'static str,
    word: String,
    age: String,
    source: String,
    href: String,
    summary: String,
}

impl Cell {
    fn none() -> Cell {
        Cell {
            claimed: false,
            class: "",
            word: String::new(),
            age: String::new(),
            source: String::new(),
            href: String::new(),
            summary: String::new(),
        }
    }

    fn of(v: &Verdict, lang: Lang) -> Cell {
        let e = v.evidence.as_ref();
        Cell {
            claimed: true,
            class: state_class(v.state),
            word: v.state.text().get(lang).to_string(),
            age: v.age_ms.map(|a| age_text(a, lang)).unwrap_or_default(),
            source: e.map(|e| source_text(e, lang)).unwrap_or_default(),
            href: e.map(source_href).unwrap_or_default(),
            summary: v.summary().get(lang).to_string(),
        }
    }
}

pub(crate) struct MatrixRow {
    name: String,
    id: String,
    tier: String,
    href: String,
    cells: Vec<Cell>,
}

pub(crate) struct Column {
    name: &'static str,
    label: String,
}

pub(crate) struct TierRow {
    tier: u8,
    /// Per state: how many claims, and which kinds (`RTO (2), Redundancy (1)`).
    states: Vec<TierState>,
}

pub(crate) struct TierState {
    class: &'static str,
    count: u32,
    kinds: String,
}

pub(crate) struct BudgetRow {
    service: String,
    slo: String,
    window: String,
    allowed: String,
    spent: String,
    remaining: String,
    overspent: bool,
}

/// A state's column header.
pub(crate) struct StateHeader {
    class: &'static str,
    label: String,
}

#[derive(Template)]
#[template(path = "dashboard/posture.html")]
pub(crate) struct PosturePage {
    c: Chrome,
    note: String,
    columns: Vec<Column>,
    rows: Vec<MatrixRow>,
    states: Vec<StateHeader>,
    tiers: Vec<TierRow>,
    budgets: Vec<BudgetRow>,
    at: String,
}

fn minutes(m: f64) -> String {
    format!("{m:.1} min")
}

/// `/posture`: the matrix.
pub(crate) async fn posture(
    State(state): State<Shared>,
    who: Result<Authed<Viewer>, ApiError>,
    Query(q): Query<PostureQuery>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let who = authed!(who, state, headers, &path_of(&uri), q.lang.as_deref());
    let catalog = state.engine.catalog();
    let lang = dashboard_lang(q.lang.as_deref(), &headers, &catalog);
    let c = Chrome::new(&who, &catalog, lang, "posture", "/posture");
    let now = state.engine.now_ms();
    let posture = match &state.store {
        None => Err(c
            .t(
                "This node has no database: there is no evidence to show.",
                "Deze node heeft geen database: er is geen bewijs te tonen.",
            )
            .to_string()),
        Some(store) => store.posture(&catalog, now).await.map_err(|e| {
            tracing::warn!(error = %e, "the posture cannot be read for the dashboard");
            c.t(
                "The evidence cannot be read now; try again shortly.",
                "Het bewijs is nu niet te lezen; probeer het zo opnieuw.",
            )
            .to_string()
        }),
    };
    let mut page = PosturePage {
        note: String::new(),
        columns: Vec::new(),
        rows: Vec::new(),
        states: Standing::ALL
            .into_iter()
            .map(|s| StateHeader {
                class: state_class(s),
                label: s.text().get(lang).to_string(),
            })
            .collect(),
        tiers: Vec::new(),
        budgets: Vec::new(),
        at: when(&catalog, now),
        c,
    };
    let p = match posture {
        Ok(p) => p,
        Err(note) => {
            page.note = note;
            return html(page.render(), q.lang.as_deref().and_then(Lang::from_code));
        }
    };
    // Only kinds some subject claims: a kind nobody claims yet would be an empty column.
    let kinds: Vec<ClaimKind> = ClaimKind::ALL
        .into_iter()
        .filter(|k| p.verdicts.iter().any(|v| v.claim.kind == *k))
        .collect();
    page.columns = kinds
        .iter()
        .map(|k| Column {
            name: k.name(),
            label: k.label().get(lang).to_string(),
        })
        .collect();
    let subjects = catalog
        .services
        .iter()
        .map(|s| {
            (
                Subject::Service(s.id.value.clone()),
                s.name.clone(),
                s.id.value.clone(),
                s.tier.value.0.to_string(),
            )
        })
        .chain(std::iter::once((
            Subject::Organization,
            Text::new("Organisation", "Organisatie")
                .get(lang)
                .to_string(),
            String::new(),
            String::new(),
        )));
    page.rows = subjects
        .map(|(subject, name, id, tier)| MatrixRow {
            href: format!("/posture/{}", timeline_id(&subject)),
            cells: kinds
                .iter()
                .map(|k| {
                    p.verdicts
                        .iter()
                        .find(|v| v.claim.kind == *k && v.claim.subject == subject)
                        .map_or_else(Cell::none, |v| Cell::of(v, lang))
                })
                .collect(),
            name,
            id,
            tier,
        })
        .collect();
    page.tiers = p
        .tiers
        .iter()
        .map(|t| TierRow {
            tier: t.tier,
            states: Standing::ALL
                .into_iter()
                .map(|s| TierState {
                    class: state_class(s),
                    count: t.totals.get(s.name()).copied().unwrap_or(0),
                    kinds: ClaimKind::ALL
                        .into_iter()
                        .filter_map(|k| {
                            let n = t.counts.get(k.name())?.get(s.name()).copied()?;
                            (n > 0).then(|| format!("{} ({n})", k.label().get(lang)))
                        })
                        .collect::<Vec<_>>()
                        .join(", "),
                })
                .collect(),
        })
        .collect();
    page.budgets = p
        .budgets
        .iter()
        .map(|(service, b)| BudgetRow {
            service: catalog
                .service(service)
                .map_or_else(|| service.clone(), |s| s.name.clone()),
            slo: format!("{} %", trim(b.slo * 100.0)),
            window: human_ms(b.window_ms),
            allowed: minutes(b.allowed_minutes),
            spent: minutes(b.spent_minutes),
            remaining: minutes(b.remaining_minutes),
            overspent: b.remaining_minutes < 0.0,
        })
        .collect();
    html(page.render(), q.lang.as_deref().and_then(Lang::from_code))
}

/// A number with at most three decimals and no trailing zeros: `99.9`, `100`.
fn trim(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

pub(crate) struct ClaimRow {
    label: String,
    class: &'static str,
    word: String,
    summary: String,
}

pub(crate) struct RecordRow {
    when: String,
    claim: String,
    class: &'static str,
    outcome: String,
    value: String,
    target: String,
    source: String,
    href: String,
    manual: bool,
    recorded_by: String,
    note: String,
}

#[derive(Template)]
#[template(path = "dashboard/posture_subject.html")]
pub(crate) struct SubjectPage {
    c: Chrome,
    name: String,
    note: String,
    claims: Vec<ClaimRow>,
    records: Vec<RecordRow>,
}

/// `/posture/{subject}`: one service's (or `organization`'s) claims and evidence.
pub(crate) async fn subject(
    State(state): State<Shared>,
    who: Result<Authed<Viewer>, ApiError>,
    Path(id): Path<String>,
    Query(q): Query<PostureQuery>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let who = authed!(who, state, headers, &path_of(&uri), q.lang.as_deref());
    let catalog = state.engine.catalog();
    let lang = dashboard_lang(q.lang.as_deref(), &headers, &catalog);
    let Some((subject, name)) = named_subject(&catalog, &id, lang) else {
        let message = Text::new(
            format!("No service `{id}`."),
            format!("Geen dienst `{id}`."),
        );
        return problem(lang, StatusCode::NOT_FOUND, message.get(lang), "/posture");
    };
    let c = Chrome::new(&who, &catalog, lang, "posture", uri.path());
    let now = state.engine.now_ms();
    let mut page = SubjectPage {
        name,
        note: String::new(),
        claims: Vec::new(),
        records: Vec::new(),
        c,
    };
    let Some(store) = &state.store else {
        page.note = page
            .c
            .t(
                "This node has no database: there is no evidence to show.",
                "Deze node heeft geen database: er is geen bewijs te tonen.",
            )
            .to_string();
        return html(page.render(), q.lang.as_deref().and_then(Lang::from_code));
    };
    let filter = EvidenceFilter {
        subject: Some(subject.clone()),
        limit: TIMELINE_RECORDS,
        ..EvidenceFilter::default()
    };
    let read = async {
        Ok::<_, continuo_store::StoreError>((
            store.posture(&catalog, now).await?,
            store.evidence(&filter).await?,
        ))
    };
    let (posture, mut records) = match read.await {
        Ok(both) => both,
        Err(e) => {
            tracing::warn!(error = %e, "the evidence cannot be read for the dashboard");
            page.note = page
                .c
                .t(
                    "The evidence cannot be read now; try again shortly.",
                    "Het bewijs is nu niet te lezen; probeer het zo opnieuw.",
                )
                .to_string();
            return html(page.render(), q.lang.as_deref().and_then(Lang::from_code));
        }
    };
    // The catalog's own records (review dates) are never stored: show them too.
    records.extend(
        claims::catalog_evidence(&catalog, now)
            .into_iter()
            .filter(|e| e.subject == subject),
    );
    records.sort_by(|a, b| {
        b.observed_ms
            .cmp(&a.observed_ms)
            .then(b.recorded_ms.cmp(&a.recorded_ms))
            .then(b.id.cmp(&a.id))
    });
    page.claims = posture
        .verdicts
        .iter()
        .filter(|v| v.claim.subject == subject)
        .map(|v| ClaimRow {
            label: v.claim.kind.label().get(lang).to_string(),
            class: state_class(v.state),
            word: v.state.text().get(lang).to_string(),
            summary: v.summary().get(lang).to_string(),
        })
        .collect();
    page.records = records
        .iter()
        .map(|e| {
            let (class, outcome) = outcome_text(e.outcome);
            RecordRow {
                when: when(&catalog, e.observed_ms),
                claim: e.claim.label().get(lang).to_string(),
                class,
                outcome: outcome.get(lang).to_string(),
                value: e.value.map(|v| v.display()).unwrap_or_default(),
                target: e.target.map(|t| t.display()).unwrap_or_default(),
                source: source_text(e, lang),
                href: e.link.clone().unwrap_or_default(),
                manual: e.is_manual(),
                recorded_by: e.recorded_by.clone(),
                note: e
                    .note
                    .as_ref()
                    .map(|n| n.get(lang).to_string())
                    .unwrap_or_default(),
            }
        })
        .collect();
    html(page.render(), q.lang.as_deref().and_then(Lang::from_code))
}

/// The subject a timeline path names (a service of the catalog or `organization`),
/// with its name.
fn named_subject(catalog: &Catalog, id: &str, lang: Lang) -> Option<(Subject, String)> {
    match Subject::parse(id)? {
        Subject::Organization => Some((
            Subject::Organization,
            Text::new("Organisation", "Organisatie")
                .get(lang)
                .to_string(),
        )),
        Subject::Service(id) => {
            let name = catalog.service(&id)?.name.clone();
            Some((Subject::Service(id), name))
        }
        Subject::Dataset(_) => None,
    }
}

pub(crate) struct MonthRow {
    name: String,
    id: String,
    tier: u8,
    availability: String,
    has_data: bool,
    days_without_data: u32,
    downtime: String,
    slo: String,
    slo_class: &'static str,
    slo_word: String,
    budget: String,
    incidents: Vec<MonthIncident>,
    days: Vec<DayRow>,
}

pub(crate) struct MonthIncident {
    id: String,
    text: String,
}

pub(crate) struct DayRow {
    date: String,
    availability: String,
    downtime: String,
    has_data: bool,
}

#[derive(Template)]
#[template(path = "dashboard/availability.html")]
pub(crate) struct AvailabilityPage {
    c: Chrome,
    month: String,
    previous: String,
    next: String,
    note: String,
    rows: Vec<MonthRow>,
}

/// The month `YYYY-MM` (UTC) an instant falls in.
fn month_of(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m").to_string())
        .unwrap_or_default()
}

fn month_row(m: &ServiceMonth, catalog: &Catalog, lang: Lang) -> MonthRow {
    let no_data = Text::new("no data", "geen gegevens").get(lang).to_string();
    let (slo_class, slo_word) = match m.slo_met {
        Some(true) => ("state-met", Text::new("met", "gehaald")),
        Some(false) => ("state-breached", Text::new("missed", "niet gehaald")),
        None => ("state-unproven", Text::new("—", "—")),
    };
    MonthRow {
        name: m.name.clone(),
        id: m.service.clone(),
        tier: m.tier,
        availability: m
            .period
            .availability
            .map_or_else(|| no_data.clone(), |a| format!("{} %", trim(a))),
        has_data: m.period.availability.is_some(),
        days_without_data: m.period.days_without_data,
        downtime: minutes(m.period.down_minutes),
        slo: m.slo.map(|s| format!("{} %", trim(s))).unwrap_or_default(),
        slo_class,
        slo_word: slo_word.get(lang).to_string(),
        budget: m
            .budget
            .map(|b| {
                Text::new(
                    format!(
                        "{} left of {}",
                        minutes(b.remaining_minutes),
                        minutes(b.allowed_minutes)
                    ),
                    format!(
                        "{} over van {}",
                        minutes(b.remaining_minutes),
                        minutes(b.allowed_minutes)
                    ),
                )
                .get(lang)
                .to_string()
            })
            .unwrap_or_default(),
        incidents: m
            .incidents
            .iter()
            .map(|i| {
                let took = i.duration_ms.map(human_ms);
                let rto = match i.rto {
                    "met" => Text::new("RTO met", "RTO gehaald"),
                    "breached" => Text::new("RTO breached", "RTO geschonden"),
                    _ => Text::new("still open", "nog open"),
                };
                let rto = rto.get(lang);
                MonthIncident {
                    id: i.id.clone(),
                    text: match took {
                        Some(t) => format!("{}: {t}, {rto}", i.title),
                        None => format!(
                            "{}: {} {}, {rto}",
                            i.title,
                            Text::new("down since", "uit sinds").get(lang),
                            when(catalog, i.down_ms)
                        ),
                    },
                }
            })
            .collect(),
        days: m
            .period
            .days
            .iter()
            .map(|d| DayRow {
                date: d.date.clone(),
                availability: d
                    .availability
                    .map_or_else(|| no_data.clone(), |a| format!("{} %", trim(a))),
                downtime: d.down_minutes.map(minutes).unwrap_or_default(),
                has_data: d.availability.is_some(),
            })
            .collect(),
    }
}

/// `/reports/availability?month=YYYY-MM`: the month's SLA report (this month unless
/// given).
pub(crate) async fn availability(
    State(state): State<Shared>,
    who: Result<Authed<Viewer>, ApiError>,
    Query(q): Query<MonthQuery>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let who = authed!(who, state, headers, &path_of(&uri), q.lang.as_deref());
    let catalog = state.engine.catalog();
    let lang = dashboard_lang(q.lang.as_deref(), &headers, &catalog);
    let month = q
        .month
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map_or_else(|| month_of(state.engine.now_ms()), str::to_string);
    let Some((from, until)) = month_bounds(&month) else {
        let message = Text::new(
            format!("`{month}` is not a month: write it YYYY-MM, e.g. 2026-11."),
            format!("`{month}` is geen maand: schrijf JJJJ-MM, bijv. 2026-11."),
        );
        return problem(
            lang,
            StatusCode::BAD_REQUEST,
            message.get(lang),
            "/reports/availability",
        );
    };
    let mut c = Chrome::new(
        &who,
        &catalog,
        lang,
        "availability",
        "/reports/availability",
    );
    // The language switch keeps the month.
    c.switch_href = format!(
        "/reports/availability?month={}&lang={}",
        month_of(from),
        c.switch_code
    );
    let mut page = AvailabilityPage {
        month: month_of(from),
        previous: month_of(from - 1),
        next: month_of(until),
        note: String::new(),
        rows: Vec::new(),
        c,
    };
    match &state.store {
        None => {
            page.note = page
                .c
                .t(
                    "This node has no database: there is nothing to report.",
                    "Deze node heeft geen database: er is niets te rapporteren.",
                )
                .to_string();
        }
        Some(store) => match store.availability_month(&catalog, from, until, None).await {
            Ok(months) => {
                page.rows = months
                    .iter()
                    .map(|m| month_row(m, &catalog, lang))
                    .collect();
            }
            Err(e) => {
                tracing::warn!(error = %e, "the availability report cannot be read");
                page.note = page
                    .c
                    .t(
                        "The report cannot be read now; try again shortly.",
                        "Het rapport is nu niet te lezen; probeer het zo opnieuw.",
                    )
                    .to_string();
            }
        },
    }
    html(page.render(), q.lang.as_deref().and_then(Lang::from_code))
}
