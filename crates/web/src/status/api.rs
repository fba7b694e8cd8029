//! The Atlassian Statuspage public API (v2) shape: `/api/v2/summary.json`, `status.json`,
//! `components.json`, `incidents.json`, `incidents/unresolved.json`,
//! `scheduled-maintenances.json`, `scheduled-maintenances/upcoming.json` and
//! `scheduled-maintenances/active.json`, with Statuspage's field names and enum values so
//! widgets and aggregators written for Statuspage read them unchanged.
//!
//! Mappings (documented in the README): severity SEV1 → impact `critical`, SEV2 →
//! `major`, SEV3 → `minor`, SEV4 → `none`; service health operational → `operational`,
//! degraded → `degraded_performance`, impacted → `partial_outage` (`major_outage` when
//! its own checks fail and no root cause is on the page), down → `major_outage`, an
//! active maintenance window → `under_maintenance`; a service no check has measured yet
//! is `operational` here (Statuspage has no word for "unknown"; the HTML page says "not
//! yet measured"). The documents are English unless `?lang=` or `Accept-Language` asks
//! for Dutch, and links are built from `[server] public_url` (relative without one),
//! never from the request's `Host`.

use super::model::{self, PublicIncident, PublicMaintenance, PublicView};
use continuo_core::subscribers::rfc3339;
use continuo_core::{Lang, tr};
use serde_json::{Value, json};

/// Which list of incidents or maintenance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Which {
    /// Everything recent.
    All,
    /// Open incidents / upcoming maintenance.
    Unresolved,
    /// Maintenance in progress.
    Active,
}

/// Base URL for links: `[server] public_url`; without one, links are relative to this
/// server (`/status`). Never the request's `Host` header: anyone can send any host, and
/// the answers are cached for everyone.
pub(crate) fn base_url(view: &PublicView) -> String {
    view.page.public_url.clone().unwrap_or_default()
}

/// `page`.
pub(crate) fn page(view: &PublicView, base: &str) -> Value {
    json!({
        "id": view.page.id,
        "name": view.page.name,
        "url": format!("{base}/status"),
        "time_zone": view.page.time_zone,
        "updated_at": rfc3339(view.updated_ms),
    })
}

fn component(view: &PublicView, c: &model::Component) -> Value {
    json!({
        "id": c.id,
        "name": c.name,
        "status": c.status.api_name(),
        "created_at": rfc3339(c.created_ms),
        "updated_at": rfc3339(c.updated_ms.max(c.created_ms)),
        "position": c.position,
        "description": Value::Null,
        "showcase": true,
        "start_date": c.first_day_ms.map(model::day_label),
        "group_id": c.group,
        "page_id": view.page.id,
        "group": false,
        "only_show_if_degraded": false,
    })
}

/// `components`: every component, then the groups (Statuspage lists groups as
/// components with `group: true` and the ids of their members).
pub(crate) fn components(view: &PublicView) -> Value {
    let mut list: Vec<Value> = view.components.iter().map(|c| component(view, c)).collect();
    for g in &view.groups {
        let updated = g
            .members
            .iter()
            .filter_map(|&i| view.components.get(i))
            .map(|c| c.updated_ms)
            .max()
            .unwrap_or(view.updated_ms);
        list.push(json!({
            "id": g.id,
            "name": g.name,
            "status": g.status(view).api_name(),
            "created_at": rfc3339(g.created_ms),
            "updated_at": rfc3339(updated.max(g.created_ms)),
            "position": view.components.len() + g.position,
            "description": Value::Null,
            "showcase": false,
            "start_date": Value::Null,
            "group_id": Value::Null,
            "page_id": view.page.id,
            "group": true,
            "only_show_if_degraded": false,
            "components": g.members.iter().filter_map(|&i| view.components.get(i)).map(|c| c.id.clone()).collect::<Vec<_>>(),
        }));
    }
    Value::Array(list)
}

fn incident(view: &PublicView, i: &PublicIncident, base: &str, lang: Lang) -> Value {
    let affected = affected_components(view, &i.components);
    let updates: Vec<Value> = i
        .updates
        .iter()
        .map(|u| {
            json!({
                "id": u.id,
                "status": u.status.name(),
                "body": u.body.get(lang),
                "incident_id": i.id,
                "created_at": rfc3339(u.at_ms),
                "updated_at": rfc3339(u.at_ms),
                "display_at": rfc3339(u.at_ms),
                "affected_components": affected,
                "deliver_notifications": true,
                "custom_tweet": Value::Null,
                "tweet_id": Value::Null,
            })
        })
        .collect();
    json!({
        "id": i.id,
        "name": i.name.get(lang),
        "status": i.status.name(),
        "created_at": rfc3339(i.created_ms),
        "updated_at": rfc3339(i.updated_ms),
        "monitoring_at": i.monitoring_ms.map(rfc3339),
        "resolved_at": i.resolved_ms.map(rfc3339),
        "impact": model::impact(i.severity),
        "shortlink": format!("{base}/status#{}", i.id),
        "started_at": rfc3339(i.started_ms),
        "page_id": view.page.id,
        "incident_updates": updates,
        "components": i.components.iter().filter_map(|&n| view.components.get(n)).map(|c| component(view, c)).collect::<Vec<_>>(),
    })
}

/// `incidents`: all recent (newest first, at most 50) or the unresolved ones.
pub(crate) fn incidents(view: &PublicView, which: Which, base: &str, lang: Lang) -> Value {
    let list: Vec<Value> = view
        .incidents
        .iter()
        .filter(|i| which == Which::All || i.status != continuo_core::incident::Status::Resolved)
        .take(50)
        .map(|i| incident(view, i, base, lang))
        .collect();
    Value::Array(list)
}

/// Statuspage's `affected_components` of an update: each component with its status now.
fn affected_components(view: &PublicView, members: &[usize]) -> Value {
    members
        .iter()
        .filter_map(|&n| view.components.get(n))
        .map(|c| {
            json!({
                "code": c.id,
                "name": c.name,
                "old_status": c.status.api_name(),
                "new_status": c.status.api_name(),
            })
        })
        .collect()
}

fn maintenance(view: &PublicView, m: &PublicMaintenance, base: &str, lang: Lang) -> Value {
    let status = if m.active { "in_progress" } else { "scheduled" };
    let zone = &view.page.time_zone;
    let (from, until) = (
        model::local_time(m.from_ms, zone),
        model::local_time(m.until_ms, zone),
    );
    let affected = affected_components(view, &m.components);
    let update = |id: &str, status: &str, at_ms: i64, body: continuo_core::Text| {
        json!({
            "id": format!("{}-{id}", m.id),
            "status": status,
            "body": body.get(lang),
            "incident_id": m.id,
            "created_at": rfc3339(at_ms),
            "updated_at": rfc3339(at_ms),
            "display_at": rfc3339(at_ms),
            "affected_components": affected,
            "deliver_notifications": true,
            "custom_tweet": Value::Null,
            "tweet_id": Value::Null,
        })
    };
    // What was said, newest first: announced when first shown, then under way from its
    // start. The document changes only when one of them does.
    let name = &m.name;
    let mut updates = Vec::new();
    if m.active {
        updates.push(update(
            "in-progress",
            "in_progress",
            m.from_ms,
            tr!(
                "{name}: maintenance is in progress until {until}.",
                "{name}: het onderhoud is bezig tot {until}."
            ),
        ));
    }
    updates.push(update(
        "scheduled",
        "scheduled",
        m.created_ms,
        tr!(
            "{name}: maintenance is scheduled from {from} to {until}.",
            "{name}: onderhoud gepland van {from} tot {until}."
        ),
    ));
    let updated = if m.active { m.from_ms } else { m.created_ms };
    json!({
        "id": m.id,
        "name": m.name,
        "status": status,
        "created_at": rfc3339(m.created_ms),
        "updated_at": rfc3339(updated),
        "monitoring_at": Value::Null,
        "resolved_at": Value::Null,
        "impact": "maintenance",
        "shortlink": format!("{base}/status#maintenance"),
        "started_at": rfc3339(m.from_ms),
        "page_id": view.page.id,
        "incident_updates": updates,
        "components": m.components.iter().filter_map(|&n| view.components.get(n)).map(|c| component(view, c)).collect::<Vec<_>>(),
        "scheduled_for": rfc3339(m.from_ms),
        "scheduled_until": rfc3339(m.until_ms),
    })
}

/// `scheduled_maintenances`: all known (active and upcoming), upcoming or active.
pub(crate) fn maintenances(view: &PublicView, which: Which, base: &str, lang: Lang) -> Value {
    Value::Array(
        view.maintenances
            .iter()
            .filter(|m| match which {
                Which::All => true,
                Which::Unresolved => !m.active,
                Which::Active => m.active,
            })
            .map(|m| maintenance(view, m, base, lang))
            .collect(),
    )
}

/// `status`.
pub(crate) fn status(view: &PublicView, lang: Lang) -> Value {
    let indicator = view.indicator();
    json!({ "indicator": indicator.word, "description": indicator.text.get(lang) })
}

/// The documents [`document`] knows, by their path after `/api/v2/`.
pub(crate) const DOCUMENTS: [&str; 8] = [
    "summary.json",
    "status.json",
    "components.json",
    "incidents.json",
    "incidents/unresolved.json",
    "scheduled-maintenances.json",
    "scheduled-maintenances/upcoming.json",
    "scheduled-maintenances/active.json",
];

/// The body of one API document, by its path after `/api/v2/`; `None` when unknown.
pub(crate) fn document(view: &PublicView, path: &str, base: &str, lang: Lang) -> Option<Value> {
    let page = page(view, base);
    Some(match path {
        "summary.json" => {
            let mut upcoming_or_active = maintenances(view, Which::All, base, lang);
            if let Value::Array(list) = &mut upcoming_or_active {
                list.truncate(50);
            }
            json!({
                "page": page,
                "components": components(view),
                "incidents": incidents(view, Which::Unresolved, base, lang),
                "scheduled_maintenances": upcoming_or_active,
                "status": status(view, lang),
            })
        }
        "status.json" => json!({ "page": page, "status": status(view, lang) }),
        "components.json" => json!({ "page": page, "components": components(view) }),
        "incidents.json" => {
            json!({ "page": page, "incidents": incidents(view, Which::All, base, lang) })
        }
        "incidents/unresolved.json" => {
            json!({ "page": page, "incidents": incidents(view, Which::Unresolved, base, lang) })
        }
        "scheduled-maintenances.json" => json!({
            "page": page,
            "scheduled_maintenances": maintenances(view, Which::All, base, lang),
        }),
        "scheduled-maintenances/upcoming.json" => json!({
            "page": page,
            "scheduled_maintenances": maintenances(view, Which::Unresolved, base, lang),
        }),
        "scheduled-maintenances/active.json" => json!({
            "page": page,
            "scheduled_maintenances": maintenances(view, Which::Active, base, lang),
        }),
        _ => return None,
    })
}
