//! The HTML status page at `/status`: server-rendered (askama), complete without
//! JavaScript, every asset in the binary; a small script refreshes the live section over
//! `/status/events` when JavaScript is on.

use super::model::{self, ComponentStatus, Look, PublicView, sections};
use askama::Template;
use continuo_core::Lang;
use continuo_core::incident::Status;
use continuo_core::text::Text;
use continuo_core::tr;

/// The style sheet, embedded (inline in the page, so a visit is one request).
const STYLE: &str = include_str!("../../assets/status.css");
/// The live-refresh script, served from `/status/status.js`.
pub(crate) const SCRIPT: &str = include_str!("../../assets/status.js");

#[derive(Template)]
#[template(path = "status.html")]
struct PageTemplate<'a> {
    lang: &'static str,
    title: &'a str,
    description: Option<&'a str>,
    logo: Option<&'a str>,
    accent: &'a str,
    style: &'static str,
    switch_href: &'static str,
    switch_lang: &'static str,
    switch_label: &'static str,
    language_label: &'a str,
    skip: &'a str,
    feed_label: &'a str,
    api_label: &'a str,
    live: &'a str,
    footer: &'a str,
}

#[derive(Template)]
#[template(path = "status_live.html")]
struct LiveTemplate<'a> {
    overall_class: &'a str,
    overall: &'a str,
    updated: &'a str,
    incidents_heading: &'a str,
    no_incidents: &'a str,
    incidents: Vec<IncidentItem>,
    maintenance_heading: &'a str,
    maintenances: Vec<MaintenanceItem>,
    components_heading: &'a str,
    uptime_note: &'a str,
    legend: Vec<(&'static str, String)>,
    sections: Vec<SectionItem>,
    recent_heading: &'a str,
    recent: Vec<IncidentItem>,
}

struct IncidentItem {
    id: String,
    name: String,
    status: String,
    impact_class: &'static str,
    impact: String,
    affected: String,
    updates: Vec<UpdateItem>,
}

struct UpdateItem {
    status: String,
    body: String,
    at: String,
}

struct MaintenanceItem {
    name: String,
    when: String,
    state: String,
    affected: String,
}

struct SectionItem {
    heading: Option<String>,
    heading_status: String,
    heading_class: &'static str,
    components: Vec<ComponentItem>,
}

struct ComponentItem {
    id: String,
    name: String,
    status_class: &'static str,
    status: String,
    uptime: String,
    days_text: String,
    days: Vec<DayItem>,
}

/// One day of a bar: a short class (`u` up, `m` 99 % or more, `p` 95 % or more, `x`
/// below, `n` no data) and, for days with some failures, a tooltip. The bar itself is
/// hidden from screen readers; `days_text` says the same in words.
struct DayItem {
    class: &'static str,
    title: Option<String>,
}

fn t(text: &Text, lang: Lang) -> String {
    text.get(lang).to_string()
}

fn update_status(status: Status) -> Text {
    status.text()
}

fn impact_text(severity: continuo_core::incident::Severity) -> Text {
    match model::impact(severity) {
        "critical" => tr!("Critical impact", "Kritieke impact"),
        "major" => tr!("Major impact", "Grote impact"),
        "minor" => tr!("Minor impact", "Kleine impact"),
        _ => tr!("No impact", "Geen impact"),
    }
}

fn names(view: &PublicView, members: &[usize]) -> String {
    members
        .iter()
        .filter_map(|&i| view.components.get(i))
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn incident_item(view: &PublicView, i: &model::PublicIncident, lang: Lang) -> IncidentItem {
    let affected = names(view, &i.components);
    IncidentItem {
        id: i.id.clone(),
        name: i.name.get(lang).to_string(),
        status: t(&update_status(i.status), lang),
        impact_class: model::impact(i.severity),
        impact: t(&impact_text(i.severity), lang),
        affected: if affected.is_empty() {
            String::new()
        } else {
            t(&tr!("Affects: {affected}", "Betreft: {affected}"), lang)
        },
        updates: i
            .updates
            .iter()
            .map(|u| UpdateItem {
                status: t(&update_status(u.status), lang),
                body: u.body.get(lang).to_string(),
                at: model::local_time(u.at_ms, &view.page.time_zone),
            })
            .collect(),
    }
}

fn day_class(day: &model::Day) -> &'static str {
    match day.availability() {
        None => "n",
        Some(a) if a >= 0.9999 => "u",
        Some(a) if a >= 0.99 => "m",
        Some(a) if a >= 0.95 => "p",
        Some(_) => "x",
    }
}

fn day_item(day: &model::Day, lang: Lang) -> DayItem {
    let class = day_class(day);
    let title = match (class, day.availability()) {
        ("m" | "p" | "x", Some(a)) => {
            let date = model::day_label(day.start_ms);
            let shown = model::percent(a * 100.0, lang);
            Some(t(
                &tr!("{date}: {shown} up", "{date}: {shown} beschikbaar"),
                lang,
            ))
        }
        _ => None,
    };
    DayItem { class, title }
}

/// The bar in words: how many days had data, and every day that was not fully up.
fn days_text(days: &[model::Day], lang: Lang) -> String {
    let with_data = days.iter().filter(|d| d.count > 0).count();
    let without = days.len() - with_data;
    let worse: Vec<String> = days
        .iter()
        .filter(|d| matches!(day_class(d), "m" | "p" | "x"))
        .filter_map(|d| {
            let a = d.availability()?;
            Some(format!(
                "{} ({})",
                model::day_label(d.start_ms),
                model::percent(a * 100.0, lang)
            ))
        })
        .collect();
    let mut text = t(
        &tr!(
            "Last 90 days: {with_data} with data, {without} without (no data).",
            "Laatste 90 dagen: {with_data} met gegevens, {without} zonder (geen gegevens)."
        ),
        lang,
    );
    if !worse.is_empty() {
        let list = worse.join(", ");
        text.push(' ');
        text.push_str(&t(
            &tr!(
                "Not fully up: {list}.",
                "Niet volledig beschikbaar: {list}."
            ),
            lang,
        ));
    }
    text
}

/// The live section (status, incidents, maintenance, components): the part the script
/// replaces when the stream says something changed.
pub(crate) fn live_html(view: &PublicView, lang: Lang) -> String {
    let indicator = view.indicator();
    let updated_at = model::local_time(view.updated_ms, &view.page.time_zone);
    let updated = t(
        &tr!(
            "Last change: {updated_at}",
            "Laatste wijziging: {updated_at}"
        ),
        lang,
    );
    let incidents: Vec<IncidentItem> = view
        .open_incidents()
        .map(|i| incident_item(view, i, lang))
        .collect();
    let recent: Vec<IncidentItem> = view
        .incidents
        .iter()
        .filter(|i| i.status == Status::Resolved)
        .take(10)
        .map(|i| incident_item(view, i, lang))
        .collect();
    let maintenances = view
        .maintenances
        .iter()
        .map(|m| {
            let from = model::local_time(m.from_ms, &view.page.time_zone);
            let until = model::local_time(m.until_ms, &view.page.time_zone);
            MaintenanceItem {
                name: m.name.clone(),
                when: t(&tr!("{from} to {until}", "{from} tot {until}"), lang),
                state: if m.active {
                    t(&tr!("In progress", "Bezig"), lang)
                } else {
                    t(&tr!("Scheduled", "Gepland"), lang)
                },
                affected: names(view, &m.components),
            }
        })
        .collect();
    let sections = sections(view)
        .into_iter()
        .map(|(group, members)| {
            let worst = members
                .iter()
                .map(|c| c.status)
                .max()
                .unwrap_or(ComponentStatus::Operational);
            SectionItem {
                heading: group.map(|g| g.name.clone()),
                heading_status: t(&worst.text(), lang),
                heading_class: worst.class(),
                components: members
                    .into_iter()
                    .map(|c| {
                        let uptime = match c.uptime {
                            None => t(
                                &tr!(
                                    "No measurements in the last 90 days",
                                    "Geen metingen in de laatste 90 dagen"
                                ),
                                lang,
                            ),
                            Some(u) => {
                                let p = model::percent(u.percent, lang);
                                let days = u.days;
                                t(
                                    &tr!(
                                        "{p} uptime over {days} of the last 90 days with data",
                                        "{p} beschikbaar over {days} van de laatste 90 dagen met gegevens"
                                    ),
                                    lang,
                                )
                            }
                        };
                        // "Not yet measured" beside a bar of measured days would be
                        // untrue: it was measured, just not now.
                        let status = if c.status == ComponentStatus::Unknown && c.uptime.is_some() {
                            tr!("No current measurement", "Geen actuele meting")
                        } else {
                            c.status.text()
                        };
                        ComponentItem {
                            id: c.id.clone(),
                            days_text: days_text(&c.days, lang),
                            name: c.name.clone(),
                            status_class: c.status.class(),
                            status: t(&status, lang),
                            uptime,
                            days: c.days.iter().map(|d| day_item(d, lang)).collect(),
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    let legend = vec![
        ("u", t(&tr!("fully up", "volledig beschikbaar"), lang)),
        ("m", t(&tr!("99% or more", "99% of meer"), lang)),
        ("p", t(&tr!("95% or more", "95% of meer"), lang)),
        ("x", t(&tr!("below 95%", "onder 95%"), lang)),
        ("n", t(&tr!("no data", "geen gegevens"), lang)),
    ];
    let overall = t(&indicator.text, lang);
    LiveTemplate {
        overall_class: indicator.word,
        overall: &overall,
        updated: &updated,
        incidents_heading: &t(&tr!("Current incidents", "Huidige storingen"), lang),
        no_incidents: &t(&no_incidents(view), lang),
        incidents,
        maintenance_heading: &t(&tr!("Scheduled maintenance", "Gepland onderhoud"), lang),
        maintenances,
        components_heading: &t(&tr!("Components", "Onderdelen"), lang),
        uptime_note: &t(
            &tr!(
                "Bars show measured uptime per day (UTC); days without measurements say \"no data\" and do not count.",
                "De balken tonen de gemeten beschikbaarheid per dag (UTC); dagen zonder metingen staan als \"geen gegevens\" en tellen niet mee."
            ),
            lang,
        ),
        legend,
        sections,
        recent_heading: &t(&tr!("Resolved recently", "Onlangs opgelost"), lang),
        recent,
    }
    .render()
    .unwrap_or_else(|e| format!("<p>{}</p>", askama_escape(&e.to_string())))
}

/// What the incidents section says when no incident is public: never "no incidents"
/// while a component shows a problem (the automatic incident is off, or not yet
/// posted), but that it is being looked into, naming the components.
fn no_incidents(view: &PublicView) -> continuo_core::Text {
    let troubled: Vec<&str> = view
        .components
        .iter()
        .filter(|c| c.status.level() > 0)
        .map(|c| c.name.as_str())
        .collect();
    if troubled.is_empty() {
        return tr!("No incidents right now.", "Op dit moment geen storingen.");
    }
    let names = continuo_core::Text::list(&troubled);
    tr!(
        "We are investigating a problem with {}. Updates will follow here.",
        "We onderzoeken een probleem met {}. Updates volgen hier.",
        names.en;
        names.nl
    )
}

fn askama_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The whole page.
pub(crate) fn page_html(view: &PublicView, lang: Lang) -> String {
    let live = live_html(view, lang);
    let (switch_href, switch_lang, switch_label) = match lang {
        Lang::En => ("?lang=nl", "nl", "Nederlands"),
        Lang::Nl => ("?lang=en", "en", "English"),
    };
    PageTemplate {
        lang: lang.code(),
        title: &view.page.name,
        description: view.page.description.as_deref(),
        logo: view.page.logo.as_deref(),
        accent: &view.page.accent,
        style: STYLE,
        switch_href,
        switch_lang,
        switch_label,
        language_label: &t(&tr!("Language", "Taal"), lang),
        skip: &t(&tr!("Skip to the status", "Naar de status"), lang),
        feed_label: &t(&tr!("Incident feed (Atom)", "Storingsfeed (Atom)"), lang),
        api_label: &t(&tr!("Status API (JSON)", "Status-API (JSON)"), lang),
        live: &live,
        footer: &t(
            &tr!(
                "This page refreshes itself when JavaScript is on; otherwise reload it.",
                "Deze pagina ververst zichzelf als JavaScript aan staat; laad haar anders opnieuw."
            ),
            lang,
        ),
    }
    .render()
    .unwrap_or_else(|e| {
        format!(
            "<!doctype html><title>error</title><p>{}</p>",
            askama_escape(&e.to_string())
        )
    })
}
