//! The dashboard's pages: what each shows, gathered from the engine, the alerting task
//! and the store, turned into plain rows for the templates.

use super::{Chrome, dashboard_lang, html, problem, sparkline};
use crate::app::{AppState, Shared};
use crate::auth::{Authed, Viewer};
use crate::error::ApiError;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use continuo_core::alerting::Act;
use continuo_core::catalog::Catalog;
use continuo_core::incident::book::{Incident, Review, rto_text};
use continuo_core::incident::{Audience, CrisisRole, Status, countdown};
use continuo_core::state::{CheckStatus, Health, Verdict};
use continuo_core::{Lang, Text};
use continuo_store::outbox::OutboxState;
use serde::Deserialize;

/// How many observations a sparkline on the overview draws.
const SPARK_POINTS: u32 = 30;
/// How many checks the overview lists (failing ones first); the rest are in the API.
const OVERVIEW_CHECKS: usize = 200;
/// How many observations a check's page lists.
const CHECK_OBSERVATIONS: u32 = 50;
/// How many pings a heartbeat check's page lists.
const CHECK_PINGS: u32 = 50;

#[derive(Deserialize, Default)]
pub(crate) struct PageQuery {
    lang: Option<String>,
}

/// A refusal page for the problem template.
#[derive(Template)]
#[template(path = "dashboard/problem.html")]
pub(crate) struct Problem {
    pub lang: &'static str,
    pub title: String,
    pub message: String,
    pub back: String,
    pub back_label: String,
}

pub(crate) struct ServiceRow {
    id: String,
    name: String,
    tier: u8,
    health: &'static str,
    health_label: String,
    root_causes: String,
}

pub(crate) struct CheckRow {
    id: String,
    service: String,
    kind: &'static str,
    status: &'static str,
    status_label: String,
    latency: String,
    spark: String,
}

pub(crate) struct IncidentRow {
    id: String,
    title: String,
    status: String,
    severity: String,
    detected: String,
    acknowledged: bool,
    open: bool,
}

pub(crate) struct OnCallRow {
    schedule: String,
    person: String,
    until: String,
}

pub(crate) struct WindowRow {
    id: String,
    title: String,
    services: String,
    from: String,
    until: String,
    active: bool,
}

pub(crate) struct OutboxRow {
    key: String,
    channel: String,
    recipient: String,
    event: String,
    attempts: u32,
    when: String,
    error: String,
}

pub(crate) struct ServiceChoice {
    id: String,
    name: String,
}

#[derive(Template)]
#[template(path = "dashboard/overview.html")]
pub(crate) struct Overview {
    c: Chrome,
    services: Vec<ServiceRow>,
    checks: Vec<CheckRow>,
    checks_note: String,
    incidents: Vec<IncidentRow>,
    incidents_note: String,
    oncall: Vec<OnCallRow>,
    windows: Vec<WindowRow>,
    choices: Vec<ServiceChoice>,
    alerting: bool,
    outbox_pending: Vec<OutboxRow>,
    outbox_dead: Vec<OutboxRow>,
    outbox_counts: String,
    outbox_note: String,
}

/// A local date and time in the organisation's zone, e.g. `2026-11-25 18:04:05`.
pub(crate) fn when(catalog: &Catalog, ms: i64) -> String {
    let tz =
        jiff::tz::TimeZone::get(&catalog.organization.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(t) => t
            .to_zoned_datetime(tz)
            .strftime("%Y-%m-%d %H:%M:%S")
            .to_string(),
        Err(_) => ms.to_string(),
    }
}

fn health_text(h: Health) -> (&'static str, Text) {
    match h {
        Health::Unknown => ("unknown", Text::new("Unknown", "Onbekend")),
        Health::Operational => ("operational", Text::new("Operational", "Werkt")),
        Health::Degraded => ("degraded", Text::new("Degraded", "Verminderd")),
        Health::Impacted => (
            "impacted",
            Text::new(
                "Impacted (by a dependency)",
                "Getroffen (door een afhankelijkheid)",
            ),
        ),
        Health::Down => ("down", Text::new("Down (root cause)", "Uit (grondoorzaak)")),
    }
}

fn check_text(s: CheckStatus) -> (&'static str, Text) {
    match s {
        CheckStatus::Unknown => ("unknown", Text::new("Unknown", "Onbekend")),
        CheckStatus::Up => ("operational", Text::new("Up", "Werkt")),
        CheckStatus::Degraded => ("degraded", Text::new("Degraded", "Verminderd")),
        CheckStatus::Down => ("down", Text::new("Down", "Uit")),
        CheckStatus::Paused => ("unknown", Text::new("Paused", "Gepauzeerd")),
    }
}

/// A sparkline point: the latency of an answer, none for a failure.
fn point(o: &continuo_core::observation::Observation) -> sparkline::Point {
    matches!(o.measurement.verdict, Verdict::Success | Verdict::Degraded)
        .then(|| o.measurement.timings.total_us as f64 / 1000.0)
}

fn ms_text(us: u64) -> String {
    format!("{:.1} ms", us as f64 / 1000.0)
}

fn incident_row(i: &Incident, catalog: &Catalog, lang: Lang) -> IncidentRow {
    IncidentRow {
        id: i.id.clone(),
        title: i.title.clone(),
        status: i.status.text().get(lang).to_string(),
        severity: i.severity.name(),
        detected: i
            .milestones
            .detected_ms
            .or(i.milestones.started_ms)
            .map(|ms| when(catalog, ms))
            .unwrap_or_default(),
        acknowledged: i.milestones.acknowledged_ms.is_some(),
        open: i.is_open(),
    }
}

/// The rows of the incidents of the last `days` days (at most `limit`), or none and a
/// note that says why.
async fn recent_incidents(
    h: &continuo_engine::alerts::AlertHandle,
    catalog: &Catalog,
    lang: Lang,
    now: i64,
    days: i64,
    limit: u32,
) -> (Vec<IncidentRow>, String) {
    match h
        .incidents(now - days * 86_400_000, now + 60_000, limit)
        .await
    {
        Ok(list) => (
            list.iter()
                .map(|i| incident_row(i, catalog, lang))
                .collect(),
            String::new(),
        ),
        Err(e) => (
            Vec::new(),
            Text::new(
                format!("Incidents cannot be read: {e}"),
                format!("Incidenten zijn niet te lezen: {e}"),
            )
            .get(lang)
            .to_string(),
        ),
    }
}

fn persons(catalog: &Catalog) -> Vec<Pick> {
    catalog
        .persons
        .iter()
        .map(|p| Pick {
            id: p.id.value.clone(),
            name: p.name.clone(),
        })
        .collect()
}

/// A person's or team's name, or the id when neither.
fn owner_name(catalog: &Catalog, id: &str) -> String {
    match catalog.teams.iter().find(|t| t.id.value == id) {
        Some(t) => t.name.clone(),
        None => person_name(catalog, id),
    }
}

/// Who did something, and when: `anna, 2026-11-25 18:04:05`.
fn act(catalog: &Catalog, a: &Act) -> String {
    format!("{}, {}", a.by, when(catalog, a.at_ms))
}

fn review_form(r: &Review) -> ReviewForm {
    let yes_no = |v: Option<bool>| match v {
        None => "",
        Some(true) => "yes",
        Some(false) => "no",
    };
    ReviewForm {
        summary: r.summary.clone().unwrap_or_default(),
        root_causes: r.root_causes.clone().unwrap_or_default(),
        trigger: r.trigger.clone().unwrap_or_default(),
        resolution: r.resolution.clone().unwrap_or_default(),
        went_well: r.went_well.join("\n"),
        went_wrong: r.went_wrong.join("\n"),
        lucky: r.lucky.join("\n"),
        malicious: yes_no(r.malicious),
        cross_border: yes_no(r.cross_border),
    }
}

fn person_name(catalog: &Catalog, id: &str) -> String {
    catalog
        .persons
        .iter()
        .find(|p| p.id.value == id)
        .map_or_else(|| id.to_string(), |p| p.name.clone())
}

pub(crate) fn path_of(uri: &Uri) -> String {
    uri.path_and_query()
        .map_or_else(|| "/".to_string(), |p| p.as_str().to_string())
}

/// `/`: everything at a glance.
pub(crate) async fn overview(
    State(state): State<Shared>,
    who: Result<Authed<Viewer>, ApiError>,
    Query(q): Query<PageQuery>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let who = authed!(who, state, headers, &path_of(&uri), q.lang.as_deref());
    let catalog = state.engine.catalog();
    let lang = dashboard_lang(q.lang.as_deref(), &headers, &catalog);
    let c = Chrome::new(&who, &catalog, lang, "overview", "/");
    let services = state
        .engine
        .services()
        .into_iter()
        .map(|s| {
            let (class, label) = health_text(s.health.health);
            ServiceRow {
                id: s.id,
                name: s.name,
                tier: s.tier,
                health: class,
                health_label: label.get(lang).to_string(),
                root_causes: s.health.root_causes.join(", "),
            }
        })
        .collect();
    let mut checks = Vec::new();
    let mut all = state.engine.checks();
    let total = all.len();
    // Failing and degraded checks first, so a large catalog still shows what matters.
    all.sort_by_key(|v| {
        (
            !matches!(v.status, CheckStatus::Down),
            !matches!(v.status, CheckStatus::Degraded),
            v.id.clone(),
        )
    });
    let checks_note = if total > OVERVIEW_CHECKS {
        Text::new(
            format!("Showing {OVERVIEW_CHECKS} of {total} checks, failing ones first; all are in /api/v1/checks."),
            format!("{OVERVIEW_CHECKS} van {total} controles, falende eerst; alle staan in /api/v1/checks."),
        )
        .get(lang)
        .to_string()
    } else {
        String::new()
    };
    for view in all.into_iter().take(OVERVIEW_CHECKS) {
        let (class, label) = check_text(view.status);
        let points: Vec<sparkline::Point> = match &state.store {
            Some(store) => store
                .observations(&view.id, SPARK_POINTS)
                .await
                .unwrap_or_default()
                .iter()
                .rev()
                .map(point)
                .collect(),
            None => Vec::new(),
        };
        let spark_label = Text::new(
            format!("latency of the last {} observations", points.len()),
            format!("latentie van de laatste {} waarnemingen", points.len()),
        );
        checks.push(CheckRow {
            spark: sparkline::svg(&points, spark_label.get(lang)),
            latency: view
                .last
                .as_ref()
                .map(|o| ms_text(o.measurement.timings.total_us))
                .unwrap_or_default(),
            id: view.id,
            service: view.service,
            kind: view.kind,
            status: class,
            status_label: label.get(lang).to_string(),
        });
    }
    let now = state.engine.now_ms();
    let (incidents, incidents_note, windows, alerting) = match &state.alerts {
        Some(h) => {
            let (incidents, note) = recent_incidents(h, &catalog, lang, now, 30, 20).await;
            let (active, upcoming) = h.windows();
            let windows = active
                .iter()
                .map(|w| (w, true))
                .chain(upcoming.iter().map(|w| (w, false)))
                .map(|(w, active)| WindowRow {
                    id: w.id.clone(),
                    title: w.title.clone(),
                    services: w.services.join(", "),
                    from: when(&catalog, w.from_ms),
                    until: when(&catalog, w.until_ms),
                    active,
                })
                .collect();
            (incidents, note, windows, true)
        }
        None => (
            Vec::new(),
            c.t(
                "Alerting and incidents do not run on this node.",
                "Alarmering en incidenten draaien niet op deze node.",
            )
            .to_string(),
            Vec::new(),
            false,
        ),
    };
    let oncall = continuo_engine::alerts::on_call(&catalog, now)
        .into_iter()
        .map(|v| OnCallRow {
            schedule: v.name,
            person: v
                .now
                .as_ref()
                .map(|o| person_name(&catalog, &o.person))
                .unwrap_or_else(|| c.t("nobody", "niemand").to_string()),
            until: v
                .now
                .as_ref()
                .map(|o| when(&catalog, o.until_ms))
                .unwrap_or_default(),
        })
        .collect();
    let (outbox_pending, outbox_dead, outbox_counts, outbox_note) =
        outbox(&state, &catalog, &c).await;
    let page = Overview {
        services,
        checks,
        checks_note,
        incidents,
        incidents_note,
        oncall,
        windows,
        choices: catalog
            .services
            .iter()
            .map(|s| ServiceChoice {
                id: s.id.value.clone(),
                name: s.name.clone(),
            })
            .collect(),
        alerting,
        outbox_pending,
        outbox_dead,
        outbox_counts,
        outbox_note,
        c,
    };
    html(page.render(), q.lang.as_deref().and_then(Lang::from_code))
}

async fn outbox(
    state: &AppState,
    catalog: &Catalog,
    c: &Chrome,
) -> (Vec<OutboxRow>, Vec<OutboxRow>, String, String) {
    if !c.is_admin {
        return (
            Vec::new(),
            Vec::new(),
            String::new(),
            c.t(
                "The outbox is shown to admins.",
                "De uitgaande berichten zijn zichtbaar voor beheerders.",
            )
            .to_string(),
        );
    }
    let Some(store) = &state.store else {
        return (
            Vec::new(),
            Vec::new(),
            String::new(),
            c.t(
                "This node has no database.",
                "Deze node heeft geen database.",
            )
            .to_string(),
        );
    };
    let rows = |items: Vec<continuo_store::outbox::OutboxItem>| -> Vec<OutboxRow> {
        items
            .into_iter()
            .map(|i| OutboxRow {
                when: when(catalog, i.next_ms),
                key: i.key,
                channel: i.channel,
                recipient: i.recipient,
                event: i.event,
                attempts: i.attempts,
                error: i.last_error.unwrap_or_default(),
            })
            .collect()
    };
    match (
        store.outbox(Some(OutboxState::Pending), 25).await,
        store.outbox(Some(OutboxState::Dead), 25).await,
        store.outbox_counts().await,
    ) {
        (Ok(p), Ok(d), Ok(n)) => {
            let counts = Text::new(
                format!(
                    "{} pending, {} sent, {} dead-lettered, {} cancelled",
                    n.pending, n.sent, n.dead, n.cancelled
                ),
                format!(
                    "{} wachtend, {} verzonden, {} opgegeven, {} geannuleerd",
                    n.pending, n.sent, n.dead, n.cancelled
                ),
            );
            (
                rows(p),
                rows(d),
                counts.get(c.lang).to_string(),
                String::new(),
            )
        }
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => (
            Vec::new(),
            Vec::new(),
            String::new(),
            Text::new(
                format!("The outbox cannot be read: {e}"),
                format!("De uitgaande berichten zijn niet te lezen: {e}"),
            )
            .get(c.lang)
            .to_string(),
        ),
    }
}

pub(crate) struct ObservationRow {
    at: String,
    location: String,
    ok: bool,
    /// The latency of an active probe's answer, or a heartbeat's run time (empty when
    /// the observation measured none: a missed deadline, a ping without a `/start`).
    duration: String,
    message: String,
}

/// One ping of a heartbeat, as its check's page lists it.
pub(crate) struct PingRow {
    at: String,
    /// `start`, `success`, `fail` or `log`: the class of the cell.
    kind: &'static str,
    kind_label: String,
    exit_code: String,
    /// The run's time from its `/start`, for a finish paired with one.
    run_time: String,
    body: String,
    body_truncated: bool,
    source: String,
}

fn ping_kind_text(kind: &continuo_store::PingKind) -> Text {
    use continuo_store::PingKind;
    match kind {
        PingKind::Start => Text::new("start", "start"),
        PingKind::Success => Text::new("success", "gelukt"),
        PingKind::Fail => Text::new("failure", "mislukt"),
        PingKind::Log => Text::new("log", "log"),
    }
}

/// A job's run time: milliseconds under a second, then seconds, minutes and hours.
fn run_time_text(ms: i64, lang: Lang) -> String {
    let hour = Text::new("h", "u");
    match ms {
        ..1_000 => format!("{} ms", ms.max(0)),
        1_000..60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        60_000..3_600_000 => format!("{} min {} s", ms / 60_000, ms % 60_000 / 1000),
        _ => format!(
            "{} {} {} min",
            ms / 3_600_000,
            hour.get(lang),
            ms % 3_600_000 / 60_000
        ),
    }
}

#[derive(Template)]
#[template(path = "dashboard/check.html")]
pub(crate) struct CheckPage {
    c: Chrome,
    id: String,
    service: String,
    kind: &'static str,
    status: &'static str,
    status_label: String,
    spark: String,
    /// A heartbeat: its observations measure a job's run time, not a latency, and its
    /// pings are listed.
    heartbeat: bool,
    observations: Vec<ObservationRow>,
    note: String,
    pings: Vec<PingRow>,
    /// Why the pings cannot be shown, if they cannot.
    pings_note: String,
    /// Most bytes of a ping body kept.
    body_limit: usize,
}

/// `/checks/{id}`: one check's recent observations.
pub(crate) async fn check(
    State(state): State<Shared>,
    who: Result<Authed<Viewer>, ApiError>,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let who = authed!(who, state, headers, &path_of(&uri), q.lang.as_deref());
    let catalog = state.engine.catalog();
    let lang = dashboard_lang(q.lang.as_deref(), &headers, &catalog);
    let Some(view) = state.engine.check(&id) else {
        let message = Text::new(
            format!("No check `{id}`."),
            format!("Geen controle `{id}`."),
        );
        return problem(lang, StatusCode::NOT_FOUND, message.get(lang), "/");
    };
    let c = Chrome::new(&who, &catalog, lang, "overview", uri.path());
    let (observations, note) = match &state.store {
        Some(store) => match store.observations(&id, CHECK_OBSERVATIONS).await {
            Ok(list) => (list, String::new()),
            Err(e) => (
                Vec::new(),
                Text::new(
                    format!("Observations cannot be read: {e}"),
                    format!("Waarnemingen zijn niet te lezen: {e}"),
                )
                .get(lang)
                .to_string(),
            ),
        },
        None => (
            Vec::new(),
            c.t(
                "This node has no database.",
                "Deze node heeft geen database.",
            )
            .to_string(),
        ),
    };
    // A heartbeat's observation holds the run time of the job that pinged (or none),
    // which is not a latency, and a missed deadline measured nothing: no sparkline.
    let heartbeat = view.kind == "heartbeat";
    let spark = if heartbeat {
        String::new()
    } else {
        let points: Vec<sparkline::Point> = observations.iter().rev().map(point).collect();
        sparkline::svg(
            &points,
            c.t(
                "latency of the observations below",
                "latentie van de waarnemingen hieronder",
            ),
        )
    };
    let (pings, pings_note) = if heartbeat {
        heartbeat_pings(&state, &catalog, &id, lang).await
    } else {
        (Vec::new(), String::new())
    };
    let (class, label) = check_text(view.status);
    let page = CheckPage {
        id: view.id,
        service: view.service,
        kind: view.kind,
        status: class,
        status_label: label.get(lang).to_string(),
        spark,
        heartbeat,
        observations: observations
            .iter()
            .map(|o| ObservationRow {
                at: when(&catalog, o.at_ms),
                location: o.location.clone(),
                ok: matches!(o.measurement.verdict, Verdict::Success),
                duration: match (heartbeat, o.measurement.timings.total_us) {
                    (true, 0) => String::new(),
                    (true, us) => run_time_text((us / 1000) as i64, lang),
                    (false, us) => ms_text(us),
                },
                message: o.measurement.message.clone(),
            })
            .collect(),
        note,
        pings,
        pings_note,
        body_limit: state.engine.ping_body_limit(),
        c,
    };
    html(page.render(), q.lang.as_deref().and_then(Lang::from_code))
}

/// A heartbeat's recent pings as rows, or none and a note that says why.
async fn heartbeat_pings(
    state: &AppState,
    catalog: &Catalog,
    id: &str,
    lang: Lang,
) -> (Vec<PingRow>, String) {
    let Some(store) = &state.store else {
        return (Vec::new(), String::new());
    };
    match store.pings(id, CHECK_PINGS).await {
        Ok(list) => (
            list.into_iter()
                .map(|p| PingRow {
                    at: when(catalog, p.at_ms),
                    kind: p.kind.name(),
                    kind_label: ping_kind_text(&p.kind).get(lang).to_string(),
                    exit_code: p.exit_code.map(|c| c.to_string()).unwrap_or_default(),
                    run_time: p
                        .duration_ms
                        .map(|ms| run_time_text(ms, lang))
                        .unwrap_or_default(),
                    body_truncated: state.engine.ping_body_truncated(&p.body),
                    body: p.body,
                    source: p.source,
                })
                .collect(),
            String::new(),
        ),
        Err(e) => (
            Vec::new(),
            Text::new(
                format!("Pings cannot be read: {e}"),
                format!("Pings zijn niet te lezen: {e}"),
            )
            .get(lang)
            .to_string(),
        ),
    }
}

#[derive(Template)]
#[template(path = "dashboard/incidents.html")]
pub(crate) struct IncidentsPage {
    c: Chrome,
    incidents: Vec<IncidentRow>,
    note: String,
}

/// `/incidents`: the last 90 days' incidents.
pub(crate) async fn incidents(
    State(state): State<Shared>,
    who: Result<Authed<Viewer>, ApiError>,
    Query(q): Query<PageQuery>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let who = authed!(who, state, headers, &path_of(&uri), q.lang.as_deref());
    let catalog = state.engine.catalog();
    let lang = dashboard_lang(q.lang.as_deref(), &headers, &catalog);
    let c = Chrome::new(&who, &catalog, lang, "incidents", "/incidents");
    let now = state.engine.now_ms();
    let (incidents, note) = match &state.alerts {
        None => (
            Vec::new(),
            c.t(
                "Alerting and incidents do not run on this node.",
                "Alarmering en incidenten draaien niet op deze node.",
            )
            .to_string(),
        ),
        Some(h) => recent_incidents(h, &catalog, lang, now, 90, 500).await,
    };
    let page = IncidentsPage { c, incidents, note };
    html(page.render(), q.lang.as_deref().and_then(Lang::from_code))
}

pub(crate) struct Milestone {
    name: String,
    at: String,
}

pub(crate) struct AffectedRow {
    name: String,
    root_cause: bool,
    rto: String,
}

pub(crate) struct TaskRow {
    service: String,
    steps: Vec<StepRow>,
}

pub(crate) struct StepRow {
    /// From 1, as the form posts it.
    number: usize,
    text: String,
    /// Who ticked it off, and when; empty when open.
    done_by: String,
    done: bool,
}

pub(crate) struct RoleRow {
    value: &'static str,
    label: String,
    holder: String,
}

pub(crate) struct ActionRow {
    number: u32,
    title: String,
    owner: String,
    due: String,
    done: bool,
    done_by: String,
}

/// A person or team to choose in a form.
pub(crate) struct Pick {
    id: String,
    name: String,
}

/// The review notes as the form shows them (lists one item a line).
pub(crate) struct ReviewForm {
    summary: String,
    root_causes: String,
    trigger: String,
    resolution: String,
    went_well: String,
    went_wrong: String,
    lucky: String,
    malicious: &'static str,
    cross_border: &'static str,
}

pub(crate) struct UpdateRow {
    at: String,
    by: String,
    status: String,
    audience: String,
    body: String,
}

pub(crate) struct EventRow {
    at: String,
    by: String,
    text: String,
}

pub(crate) struct DeadlineRow {
    key: String,
    title: String,
    due: String,
    countdown: String,
    submitted: bool,
}

pub(crate) struct Choice {
    value: &'static str,
    label: String,
}

#[derive(Template)]
#[template(path = "dashboard/incident.html")]
pub(crate) struct IncidentPage {
    c: Chrome,
    id: String,
    title: String,
    status: String,
    severity: String,
    open: bool,
    acknowledged: bool,
    milestones: Vec<Milestone>,
    affected: Vec<AffectedRow>,
    checklist: Vec<TaskRow>,
    updates: Vec<UpdateRow>,
    timeline: Vec<EventRow>,
    deadlines: Vec<DeadlineRow>,
    statuses: Vec<Choice>,
    audiences: Vec<Choice>,
    roles: Vec<RoleRow>,
    persons: Vec<Pick>,
    owners: Vec<Pick>,
    actions: Vec<ActionRow>,
    review: ReviewForm,
}

/// `/incidents/{id}`: one incident, with the forms to act on it.
pub(crate) async fn incident(
    State(state): State<Shared>,
    who: Result<Authed<Viewer>, ApiError>,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let who = authed!(who, state, headers, &path_of(&uri), q.lang.as_deref());
    let catalog = state.engine.catalog();
    let lang = dashboard_lang(q.lang.as_deref(), &headers, &catalog);
    let Some(h) = &state.alerts else {
        let message = Text::new(
            "Alerting and incidents do not run on this node.",
            "Alarmering en incidenten draaien niet op deze node.",
        );
        return problem(
            lang,
            StatusCode::SERVICE_UNAVAILABLE,
            message.get(lang),
            "/",
        );
    };
    let incident = match h.incident(&id).await {
        Ok(Some(i)) => i,
        Ok(None) => {
            let message = Text::new(
                format!("No incident `{id}`."),
                format!("Geen incident `{id}`."),
            );
            return problem(lang, StatusCode::NOT_FOUND, message.get(lang), "/incidents");
        }
        Err(e) => {
            let message = Text::new(
                format!("The incident cannot be read: {e}"),
                format!("Het incident is niet te lezen: {e}"),
            );
            return problem(
                lang,
                StatusCode::SERVICE_UNAVAILABLE,
                message.get(lang),
                "/",
            );
        }
    };
    let c = Chrome::new(&who, &catalog, lang, "incidents", uri.path());
    let now = state.engine.now_ms();
    let m = &incident.milestones;
    let milestones = [
        (Text::new("Started", "Begonnen"), m.started_ms),
        (Text::new("Detected", "Gedetecteerd"), m.detected_ms),
        (Text::new("Acknowledged", "Bevestigd"), m.acknowledged_ms),
        (Text::new("Mitigated", "Beperkt"), m.mitigated_ms),
        (Text::new("Resolved", "Opgelost"), m.resolved_ms),
    ]
    .into_iter()
    .map(|(name, at)| Milestone {
        name: name.get(lang).to_string(),
        at: at
            .map(|ms| when(&catalog, ms))
            .unwrap_or_else(|| "—".into()),
    })
    .collect();
    let page = IncidentPage {
        id: incident.id.clone(),
        title: incident.title.clone(),
        status: incident.status.text().get(lang).to_string(),
        severity: incident.severity.name(),
        open: incident.is_open(),
        acknowledged: m.acknowledged_ms.is_some(),
        milestones,
        affected: incident
            .services
            .iter()
            .map(|s| AffectedRow {
                name: s.name.clone(),
                root_cause: s.root_cause,
                rto: rto_text(s, now).get(lang).to_string(),
            })
            .collect(),
        checklist: incident
            .checklist
            .iter()
            .map(|t| TaskRow {
                service: t.service.clone(),
                steps: t
                    .steps
                    .iter()
                    .enumerate()
                    .map(|(i, s)| StepRow {
                        number: i + 1,
                        text: s.text.get(lang).to_string(),
                        done_by: s
                            .done
                            .as_ref()
                            .map(|a| act(&catalog, a))
                            .unwrap_or_default(),
                        done: s.done.is_some(),
                    })
                    .collect(),
            })
            .collect(),
        updates: incident
            .updates
            .iter()
            .rev()
            .map(|u| UpdateRow {
                at: when(&catalog, u.at_ms),
                by: u.by.clone(),
                status: u.status.text().get(lang).to_string(),
                audience: u.audience.text().get(lang).to_string(),
                body: u.body.get(lang).to_string(),
            })
            .collect(),
        timeline: incident
            .timeline
            .iter()
            .rev()
            .map(|e| EventRow {
                at: when(&catalog, e.at_ms),
                by: e.by.clone(),
                text: e.text.get(lang).to_string(),
            })
            .collect(),
        deadlines: incident
            .reports
            .iter()
            .map(|r| DeadlineRow {
                key: r.deadline.key.clone(),
                title: r.deadline.title.get(lang).to_string(),
                due: when(&catalog, r.deadline.due_ms),
                countdown: countdown(r.deadline.due_ms - now).get(lang).to_string(),
                submitted: r.submitted.is_some(),
            })
            .collect(),
        statuses: Status::ALL
            .into_iter()
            .filter(|s| *s != Status::Resolved)
            .map(|s| Choice {
                value: s.name(),
                label: s.text().get(lang).to_string(),
            })
            .collect(),
        audiences: Audience::ALL
            .into_iter()
            .map(|a| Choice {
                value: a.name(),
                label: a.text().get(lang).to_string(),
            })
            .collect(),
        roles: CrisisRole::ALL
            .into_iter()
            .map(|r| RoleRow {
                value: r.name(),
                label: r.text().get(lang).to_string(),
                holder: incident
                    .roles
                    .get(&r)
                    .map(|p| person_name(&catalog, p))
                    .unwrap_or_default(),
            })
            .collect(),
        persons: persons(&catalog),
        owners: persons(&catalog)
            .into_iter()
            .chain(catalog.teams.iter().map(|t| Pick {
                id: t.id.value.clone(),
                name: t.name.clone(),
            }))
            .collect(),
        actions: incident
            .actions
            .iter()
            .map(|a| ActionRow {
                number: a.id,
                title: a.title.clone(),
                owner: a
                    .owner
                    .as_deref()
                    .map(|o| owner_name(&catalog, o))
                    .unwrap_or_default(),
                due: a.due.clone().unwrap_or_default(),
                done: a.done.is_some(),
                done_by: a
                    .done
                    .as_ref()
                    .map(|d| act(&catalog, d))
                    .unwrap_or_default(),
            })
            .collect(),
        review: review_form(&incident.review),
        c,
    };
    html(page.render(), q.lang.as_deref().and_then(Lang::from_code))
}
