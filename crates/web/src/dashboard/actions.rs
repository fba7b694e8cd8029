//! The dashboard's forms: on an incident, acknowledge, post an update, resolve, annotate,
//! tick recovery steps off and on, assign crisis roles, mark regulatory reports
//! submitted, add and complete action items, and write review notes; create and end
//! maintenance windows; requeue a dead-lettered notification. Each is a plain POST
//! (works without JavaScript) that answers with a redirect back to the page
//! (post/redirect/get) or a page that says what was wrong.
//!
//! The same [`Authed`] extractor as the JSON API checks the role, the session's CSRF token
//! (the `csrf` field, taken out by the guard) and the `Origin`; the changes go through
//! the same alerting calls as the API, so both are audited and behave alike.
//!
//! Every incident form has one shape, [`incident_form`]: a `read_*` function turns the
//! fields into one [`Op`] or says, in English and Dutch, what is wrong with them.

use super::{dashboard_lang, problem};
use crate::app::Shared;
use crate::auth::{Admin, Authed, Responder};
use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use continuo_core::catalog::Catalog;
use continuo_core::incident::CrisisRole;
use continuo_core::incident::book::{Change, Incident, Review};
use continuo_core::incident::{Audience, Status};
use continuo_core::maintenance::{WindowRequest, validate_window};
use continuo_core::{Lang, Text};
use continuo_engine::alerts::AlertingError;
use continuo_engine::incidents::Op;
use std::collections::BTreeMap;

/// A form's fields; a name given several times (checkboxes) keeps every value.
struct Fields(BTreeMap<String, Vec<String>>);

impl Fields {
    fn parse(body: &Bytes) -> Fields {
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in url::form_urlencoded::parse(body) {
            map.entry(k.into_owned()).or_default().push(v.into_owned());
        }
        Fields(map)
    }

    /// The first value of a field, trimmed; `None` when absent or blank.
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .and_then(|v| v.first())
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// [`Fields::get`], owned.
    fn text(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_string)
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.0.get(name).cloned().unwrap_or_default()
    }

    /// The non-blank lines of a text area.
    fn lines(&self, name: &str) -> Vec<String> {
        self.get(name)
            .map(|v| {
                v.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A yes/no field (`true`/`false` as the buttons send it, or yes/no, on/off, 1/0);
    /// `None` when blank.
    fn yes_no(&self, name: &str) -> Result<Option<bool>, Text> {
        match self.get(name).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(None),
            Some("true" | "yes" | "on" | "1") => Ok(Some(true)),
            Some("false" | "no" | "off" | "0") => Ok(Some(false)),
            Some(other) => Err(Text::new(
                format!("`{name}` is yes or no, not `{other}`."),
                format!("`{name}` is ja (yes) of nee (no), niet `{other}`."),
            )),
        }
    }
}

/// Everything a form handler starts with.
struct Ctx {
    state: Shared,
    lang: Lang,
    fields: Fields,
}

fn ctx(state: Shared, headers: &HeaderMap, body: &Bytes) -> Ctx {
    let fields = Fields::parse(body);
    let catalog = state.engine.catalog();
    let lang = dashboard_lang(fields.get("lang"), headers, &catalog);
    Ctx {
        state,
        lang,
        fields,
    }
}

fn alerting_off(lang: Lang, back: &str) -> Response {
    let message = Text::new(
        "Alerting and incidents do not run on this node.",
        "Alarmering en incidenten draaien niet op deze node.",
    );
    problem(
        lang,
        StatusCode::SERVICE_UNAVAILABLE,
        message.get(lang),
        back,
    )
}

fn failed(lang: Lang, e: AlertingError, back: &str) -> Response {
    let status = match e {
        AlertingError::Store(_) | AlertingError::NotSaved | AlertingError::Stopped => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        AlertingError::Unreadable(_) => StatusCode::INTERNAL_SERVER_ERROR,
        AlertingError::UnknownIncident(_) => StatusCode::NOT_FOUND,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    // The API's wording, so the page says the same and never shows the store's own error.
    let said = ApiError::from(e);
    let message = Text::new(
        format!("Not done: {}", said.message(Lang::En)),
        format!("Niet uitgevoerd: {}", said.message(Lang::Nl)),
    );
    problem(lang, status, message.get(lang), back)
}

fn invalid(lang: Lang, message: Text, back: &str) -> Response {
    problem(
        lang,
        StatusCode::UNPROCESSABLE_ENTITY,
        message.get(lang),
        back,
    )
}

/// What reading an incident form sees.
struct Form<'a> {
    fields: &'a Fields,
    catalog: &'a Catalog,
    /// The incident as it is now; `None` when there is none with that id, and then the
    /// operation itself answers 404 (so bad input is reported first either way).
    incident: Option<&'a Incident>,
}

/// The one shape of every incident form: a responder (checked by `who`), the fields read
/// into one operation by `read`, the operation run as the API runs it, and a redirect
/// back to the incident; otherwise a page that says what was wrong in the form's language.
async fn incident_form(
    state: Shared,
    id: &str,
    uri: &Uri,
    who: Result<Authed<Responder>, ApiError>,
    headers: &HeaderMap,
    body: &Bytes,
    read: fn(&Form<'_>) -> Result<Op, Text>,
) -> Response {
    let fields = Fields::parse(body);
    let who = authed!(who, state, headers, uri.path(), fields.get("lang"));
    let lang = dashboard_lang(fields.get("lang"), headers, &state.engine.catalog());
    let back = format!("/incidents/{id}");
    let Some(h) = &state.alerts else {
        return alerting_off(lang, &back);
    };
    let incident = match h.incident(id).await {
        Ok(i) => i,
        Err(e) => return failed(lang, e, &back),
    };
    let catalog = h.catalog();
    let form = Form {
        fields: &fields,
        catalog: &catalog,
        incident: incident.as_ref(),
    };
    let op = match read(&form).and_then(|op| crate::text_limits::within_limits(&op).map(|()| op)) {
        Ok(op) => op,
        Err(text) => return invalid(lang, text, &back),
    };
    match h.incident_op(Some(id), op, &who.actor.who).await {
        Ok(_) => Redirect::to(&back).into_response(),
        Err(e) => failed(lang, e, &back),
    }
}

/// The handlers of the incident forms, `POST /incidents/{id}/...`: each one reader run
/// through [`incident_form`].
macro_rules! incident_forms {
    ($($(#[$doc:meta])* $name:ident => $read:path;)*) => {$(
        $(#[$doc])*
        pub(crate) async fn $name(
            State(state): State<Shared>,
            Path(id): Path<String>,
            uri: Uri,
            who: Result<Authed<Responder>, ApiError>,
            headers: HeaderMap,
            body: Bytes,
        ) -> Response {
            incident_form(state, &id, &uri, who, &headers, &body, $read).await
        }
    )*};
}

incident_forms! {
    /// `POST /incidents/{id}/ack`.
    acknowledge => read_acknowledge;
    /// `POST /incidents/{id}/update`: a status update for an audience, with a new status.
    update => read_update;
    /// `POST /incidents/{id}/resolve`, with an optional closing message for customers.
    resolve => read_resolve;
    /// `POST /incidents/{id}/note`.
    note => read_note;
    /// `POST /incidents/{id}/checklist`: `service`, `step` (from 1), `done` (default true).
    tick => read_tick;
    /// `POST /incidents/{id}/roles`: `role` to `person` (a person of the catalog).
    assign => read_assign;
    /// `POST /incidents/{id}/reports`: the report `key` marked submitted.
    submit => read_submit;
    /// `POST /incidents/{id}/actions`: `title`, optional `owner` and `due` date.
    add_action => read_add_action;
    /// `POST /incidents/{id}/actions/done`: action item `number` done (or, with
    /// `done=false`, open again).
    action_done => read_action_done;
    /// `POST /incidents/{id}/review`: review notes; blank fields keep what was written.
    review => read_review;
}

fn read_acknowledge(_: &Form<'_>) -> Result<Op, Text> {
    Ok(Op::Acknowledge)
}

fn read_update(f: &Form<'_>) -> Result<Op, Text> {
    let status = match f.fields.get("status") {
        None => None,
        Some(name) => Some(Status::from_name(name).ok_or_else(|| {
            Text::new(
                format!(
                    "The status is investigating, identified, monitoring or resolved, not `{name}`."
                ),
                format!(
                    "De status is investigating, identified, monitoring of resolved, niet `{name}`."
                ),
            )
        })?),
    };
    let audience = match f.fields.get("audience") {
        None => Audience::Customers,
        Some(name) => Audience::from_name(name).ok_or_else(|| {
            Text::new(
                format!("The audience is customers, internal or management, not `{name}`."),
                format!("Het publiek is customers, internal of management, niet `{name}`."),
            )
        })?,
    };
    let message = f.fields.text("message");
    if message.is_none() && status.is_none() {
        return Err(Text::new(
            "Write a message or choose a status.",
            "Schrijf een bericht of kies een status.",
        ));
    }
    Ok(Op::Update {
        status,
        audience,
        message,
    })
}

fn read_resolve(f: &Form<'_>) -> Result<Op, Text> {
    Ok(match f.fields.text("message") {
        Some(message) => Op::Update {
            status: Some(Status::Resolved),
            audience: Audience::Customers,
            message: Some(message),
        },
        None => Op::Change(Change {
            status: Some(Status::Resolved),
            ..Change::default()
        }),
    })
}

fn read_note(f: &Form<'_>) -> Result<Op, Text> {
    f.fields
        .text("text")
        .map(Op::Note)
        .ok_or_else(|| Text::new("The note is empty.", "De notitie is leeg."))
}

fn read_tick(f: &Form<'_>) -> Result<Op, Text> {
    let Some(service) = f.fields.text("service") else {
        return Err(Text::new(
            "Which service? The service is missing.",
            "Welke dienst? De dienst ontbreekt.",
        ));
    };
    let given = f.fields.get("step").unwrap_or_default();
    let Ok(step) = given.parse::<usize>() else {
        return Err(Text::new(
            format!("The step is a number from 1, not `{given}`."),
            format!("De stap is een getal vanaf 1, niet `{given}`."),
        ));
    };
    if let Some(incident) = f.incident {
        let Some(task) = incident.checklist.iter().find(|t| t.service == service) else {
            return Err(Text::new(
                format!("`{service}` is not on the recovery checklist of this incident."),
                format!("`{service}` staat niet op de herstelchecklist van dit incident."),
            ));
        };
        let count = task.steps.len();
        if step == 0 || step > count {
            return Err(Text::new(
                format!("`{service}` has steps 1 to {count}, not {step}."),
                format!("`{service}` heeft stappen 1 tot en met {count}, niet {step}."),
            ));
        }
    }
    let done = f.fields.yes_no("done")?.unwrap_or(true);
    Ok(Op::Tick(service, step, done))
}

fn read_assign(f: &Form<'_>) -> Result<Op, Text> {
    let given = f.fields.get("role").unwrap_or_default();
    let Some(role) = CrisisRole::from_name(given) else {
        return Err(Text::new(
            format!(
                "The role is incident_commander, communications_lead, operations_lead or scribe, not `{given}`."
            ),
            format!(
                "De rol is incident_commander, communications_lead, operations_lead of scribe, niet `{given}`."
            ),
        ));
    };
    let Some(person) = f.fields.text("person") else {
        return Err(Text::new("Choose a person.", "Kies een persoon."));
    };
    if !f.catalog.persons.iter().any(|p| p.id.value == person) {
        return Err(Text::new(
            format!("There is no person `{person}` in the catalog."),
            format!("Er is geen persoon `{person}` in de catalogus."),
        ));
    }
    Ok(Op::Assign(role, person))
}

fn read_submit(f: &Form<'_>) -> Result<Op, Text> {
    let Some(key) = f.fields.text("key") else {
        return Err(Text::new(
            "Which report? The key is missing.",
            "Welke melding? De sleutel ontbreekt.",
        ));
    };
    if let Some(incident) = f.incident
        && !incident.reports.iter().any(|r| r.deadline.key == key)
    {
        return Err(Text::new(
            format!("This incident has no report `{key}` due."),
            format!("Voor dit incident is geen melding `{key}` verplicht."),
        ));
    }
    Ok(Op::Submit(key))
}

fn read_add_action(f: &Form<'_>) -> Result<Op, Text> {
    let Some(title) = f.fields.text("title") else {
        return Err(Text::new(
            "Give the action item a title.",
            "Geef het actiepunt een titel.",
        ));
    };
    let owner = f.fields.text("owner");
    if let Some(owner) = &owner
        && !f.catalog.persons.iter().any(|p| &p.id.value == owner)
        && !f.catalog.teams.iter().any(|t| &t.id.value == owner)
    {
        return Err(Text::new(
            format!("There is no person or team `{owner}` in the catalog."),
            format!("Er is geen persoon of team `{owner}` in de catalogus."),
        ));
    }
    let due = f.fields.text("due");
    if let Some(due) = &due
        && due.parse::<jiff::civil::Date>().is_err()
    {
        return Err(Text::new(
            format!("The due date `{due}` is not a date like 2026-12-01."),
            format!("De streefdatum `{due}` is geen datum zoals 2026-12-01."),
        ));
    }
    Ok(Op::AddAction(title, owner, due))
}

fn read_action_done(f: &Form<'_>) -> Result<Op, Text> {
    let given = f.fields.get("number").unwrap_or_default();
    let Ok(number) = given.parse::<u32>() else {
        return Err(Text::new(
            format!("The action item number is a number, not `{given}`."),
            format!("Het nummer van het actiepunt is een getal, niet `{given}`."),
        ));
    };
    if let Some(incident) = f.incident
        && !incident.actions.iter().any(|a| a.id == number)
    {
        return Err(Text::new(
            format!("This incident has no action item {number}."),
            format!("Dit incident heeft geen actiepunt {number}."),
        ));
    }
    let done = f.fields.yes_no("done")?.unwrap_or(true);
    Ok(Op::Action(number, done))
}

fn read_review(f: &Form<'_>) -> Result<Op, Text> {
    let review = Review {
        summary: f.fields.text("summary"),
        root_causes: f.fields.text("root_causes"),
        trigger: f.fields.text("trigger"),
        resolution: f.fields.text("resolution"),
        went_well: f.fields.lines("went_well"),
        went_wrong: f.fields.lines("went_wrong"),
        lucky: f.fields.lines("lucky"),
        malicious: f.fields.yes_no("malicious")?,
        cross_border: f.fields.yes_no("cross_border")?,
    };
    if review == Review::default() {
        return Err(Text::new(
            "Write at least one review note.",
            "Schrijf minstens één evaluatienotitie.",
        ));
    }
    Ok(Op::Review(review))
}

/// `POST /maintenance`: a window from now (or `from`) for a `duration` or `until`.
pub(crate) async fn create_window(
    State(state): State<Shared>,
    uri: Uri,
    who: Result<Authed<Responder>, ApiError>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let _who = authed!(who, state, headers, uri.path(), None);
    let ctx = ctx(state, &headers, &body);
    let back = "/#maintenance";
    let Some(h) = &ctx.state.alerts else {
        return alerting_off(ctx.lang, back);
    };
    let Some(title) = ctx.fields.get("title").map(str::to_string) else {
        let text = Text::new("Give the window a title.", "Geef het venster een titel.");
        return invalid(ctx.lang, text, back);
    };
    let request = WindowRequest {
        id: None,
        title,
        services: ctx.fields.all("services"),
        from: ctx.fields.get("from").map(str::to_string),
        until: ctx.fields.get("until").map(str::to_string),
        duration: match (ctx.fields.get("until"), ctx.fields.get("duration")) {
            (Some(_), _) => None,
            (None, d) => Some(d.unwrap_or("1h").to_string()),
        },
    };
    let window = match validate_window(&h.catalog(), h.now_ms(), request) {
        Ok(w) => w,
        // The rules and their words are core's (the API says the same).
        Err(e) => {
            let why = e.text();
            let text = Text::new(
                format!("The window is not valid: {}", why.en),
                format!("Het venster is niet geldig: {}", why.nl),
            );
            return invalid(ctx.lang, text, back);
        }
    };
    match h.put_window(window).await {
        Ok(()) => Redirect::to(back).into_response(),
        Err(e) => failed(ctx.lang, e, back),
    }
}

/// `POST /maintenance/{id}/end`.
pub(crate) async fn end_window(
    State(state): State<Shared>,
    Path(id): Path<String>,
    uri: Uri,
    who: Result<Authed<Responder>, ApiError>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let _who = authed!(who, state, headers, uri.path(), None);
    let ctx = ctx(state, &headers, &body);
    let back = "/#maintenance";
    let Some(h) = &ctx.state.alerts else {
        return alerting_off(ctx.lang, back);
    };
    match h.end_window(&id).await {
        Ok(_) => Redirect::to(back).into_response(),
        Err(e) => failed(ctx.lang, e, back),
    }
}

/// `POST /outbox/requeue` (admin): sends a dead-lettered notification again.
pub(crate) async fn requeue(
    State(state): State<Shared>,
    uri: Uri,
    who: Result<Authed<Admin>, ApiError>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let _who = authed!(who, state, headers, uri.path(), None);
    let ctx = ctx(state, &headers, &body);
    let back = "/#outbox";
    let Some(store) = &ctx.state.store else {
        let text = Text::new(
            "This node has no database.",
            "Deze node heeft geen database.",
        );
        return problem(
            ctx.lang,
            StatusCode::SERVICE_UNAVAILABLE,
            text.get(ctx.lang),
            back,
        );
    };
    let Some(key) = ctx.fields.get("key").map(str::to_string) else {
        let text = Text::new(
            "Which notification? The key is missing.",
            "Welk bericht? De sleutel ontbreekt.",
        );
        return invalid(ctx.lang, text, back);
    };
    match store.outbox_retry(&key, ctx.state.engine.now_ms()).await {
        Ok(true) => {
            if let Some(h) = &ctx.state.alerts {
                h.wake_dispatcher();
            }
            Redirect::to(back).into_response()
        }
        Ok(false) => {
            let text = Text::new(
                format!("No dead-lettered notification with key `{key}`."),
                format!("Geen opgegeven bericht met sleutel `{key}`."),
            );
            problem(ctx.lang, StatusCode::NOT_FOUND, text.get(ctx.lang), back)
        }
        Err(e) => {
            let text = Text::new(
                format!("The outbox cannot be written: {e}"),
                format!("De uitgaande berichten zijn niet te schrijven: {e}"),
            );
            problem(
                ctx.lang,
                StatusCode::SERVICE_UNAVAILABLE,
                text.get(ctx.lang),
                back,
            )
        }
    }
}
