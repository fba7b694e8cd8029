//! Status page subscribers: who is told what, in which words, and the Statuspage-shaped
//! webhook payloads. Pure: the engine passes the incidents, the components' health and
//! the time in, and gets announcements, recipients and message texts back.
//!
//! An *announcement* is one thing customers are told about: an incident was created, a
//! customer update was posted on it, it was resolved, or a component changed status.
//! Each has a key that is the same however often it is derived, so the engine can derive
//! them again after a crash and the outbox (keyed by announcement and subscriber) drops
//! the repeats.
//!
//! **Invariant:** only what the status page shows is announced: incidents that hit at
//! least one service with a status page component, and only their updates for the
//! `customers` audience; internal and management updates never reach a subscriber.

use crate::Lang;
use crate::catalog::Catalog;
use crate::incident::book::{AUTOMATIC, Incident};
use crate::incident::{Audience, Status};
use crate::public::{Indicator, PublicView, group_id, impact, slug};
use crate::state::ServiceHealth;
use crate::text::Text;
use crate::tr;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How a subscriber is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriberKind {
    /// Email, confirmed by a link (double opt-in).
    Email,
    /// An HTTP endpoint that receives Statuspage-shaped JSON.
    Webhook,
}

impl SubscriberKind {
    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            SubscriberKind::Email => "email",
            SubscriberKind::Webhook => "webhook",
        }
    }

    /// The kind with this stored name.
    pub fn from_name(name: &str) -> Option<SubscriberKind> {
        [SubscriberKind::Email, SubscriberKind::Webhook]
            .into_iter()
            .find(|k| k.name() == name)
    }
}

/// Where a subscriber is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriberState {
    /// Subscribed, not yet confirmed: told nothing but the confirmation request.
    Pending,
    /// Confirmed: told about incidents and component changes.
    Confirmed,
    /// Unsubscribed: told nothing any more.
    Unsubscribed,
}

impl SubscriberState {
    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            SubscriberState::Pending => "pending",
            SubscriberState::Confirmed => "confirmed",
            SubscriberState::Unsubscribed => "unsubscribed",
        }
    }

    /// The state with this stored name.
    pub fn from_name(name: &str) -> Option<SubscriberState> {
        [
            SubscriberState::Pending,
            SubscriberState::Confirmed,
            SubscriberState::Unsubscribed,
        ]
        .into_iter()
        .find(|s| s.name() == name)
    }
}

/// One subscriber of the status page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscriber {
    /// Random identifier.
    pub id: String,
    /// Email or webhook.
    pub kind: SubscriberKind,
    /// The email address or the webhook URL.
    pub address: String,
    /// Component (service) ids to hear about; empty for every component.
    pub components: Vec<String>,
    /// The language messages are written in.
    pub language: Lang,
    /// Pending, confirmed or unsubscribed.
    pub state: SubscriberState,
    /// When it subscribed, UTC unix milliseconds.
    pub created_ms: i64,
    /// When it confirmed.
    pub confirmed_ms: Option<i64>,
}

/// Checks an email address as subscribers type it: one `@`, a local part and a domain
/// with a dot, no spaces or angle brackets, at most 254 characters. Returns it trimmed,
/// with the domain in lowercase (the local part is the receiver's business).
pub fn check_email(text: &str) -> Result<String, Text> {
    let text = text.trim();
    let bad = || {
        tr!(
            "\"{text}\" is not an email address; write name@example.com",
            "\"{text}\" is geen e-mailadres; schrijf naam@example.com"
        )
    };
    if text.is_empty() || text.len() > 254 {
        return Err(bad());
    }
    let (local, domain) = text.rsplit_once('@').ok_or_else(bad)?;
    let forbidden = |c: char| c.is_whitespace() || c.is_control() || "<>()[],;:\\\"@".contains(c);
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    if local.is_empty()
        || local.len() > 64
        || local.chars().any(forbidden)
        || local.starts_with('.')
        || local.ends_with('.')
        || local.contains("..")
        || !domain.contains('.')
        || !domain.split('.').all(label_ok)
    {
        return Err(bad());
    }
    Ok(format!("{local}@{}", domain.to_lowercase()))
}

/// Checks the components a subscriber asks for against the catalog's status page
/// components, each named by its public id (as the status page API gives it), its
/// name, or its service's id; returns service ids, without duplicates.
pub fn check_components(catalog: &Catalog, asked: &[String]) -> Result<Vec<String>, Text> {
    let known = components(catalog);
    let public = crate::public::component_ids(catalog);
    let mut out: Vec<String> = Vec::new();
    for id in asked {
        let id = id.trim();
        if id.is_empty() {
            continue;
        }
        let found = known.iter().find(|(service, name)| {
            service == id
                || name.eq_ignore_ascii_case(id)
                || public.get(service).is_some_and(|p| p == id)
        });
        let Some((service, _)) = found else {
            let list = known
                .iter()
                .filter_map(|(s, _)| public.get(s).map(String::as_str))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(tr!(
                "\"{id}\" is not a component of this status page; choose from: {list}",
                "\"{id}\" is geen onderdeel van deze statuspagina; kies uit: {list}"
            ));
        };
        if !out.iter().any(|o| o == service) {
            out.push(service.clone());
        }
    }
    Ok(out)
}

/// The status page's components: (service id, component name), in catalog order.
pub fn components(catalog: &Catalog) -> Vec<(String, String)> {
    catalog
        .services
        .iter()
        .filter_map(|s| {
            s.status_page
                .component
                .as_ref()
                .map(|c| (s.id.value.clone(), c.clone()))
        })
        .collect()
}

pub use crate::public::ComponentStatus;

/// A component's status as announced: [`crate::public::component_status`], with no data
/// announced as operational (no data is not an outage, and Statuspage has no word for
/// it).
pub fn component_status(
    catalog: &Catalog,
    health: Option<&ServiceHealth>,
    in_maintenance: bool,
) -> ComponentStatus {
    match crate::public::component_status(catalog, health, in_maintenance) {
        ComponentStatus::Unknown => ComponentStatus::Operational,
        status => status,
    }
}

/// Every component's status (by service id).
pub fn component_statuses(
    catalog: &Catalog,
    health: &BTreeMap<String, ServiceHealth>,
    in_maintenance: &dyn Fn(&str) -> bool,
) -> BTreeMap<String, ComponentStatus> {
    components(catalog)
        .into_iter()
        .map(|(id, _)| {
            let status = component_status(catalog, health.get(&id), in_maintenance(&id));
            (id, status)
        })
        .collect()
}

/// The page's overall status from the components alone, as Statuspage gives it:
/// `(indicator, description)`. Payloads use [`PublicView::indicator`], which also counts
/// the open incidents.
pub fn page_status(statuses: &BTreeMap<String, ComponentStatus>) -> (&'static str, &'static str) {
    let indicator = Indicator::of(statuses.values().copied(), []);
    (indicator.word(), indicator.description())
}

/// What an announcement tells.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum News {
    /// A new incident.
    IncidentCreated {
        /// The incident's id.
        incident: String,
    },
    /// A customer update on an incident.
    IncidentUpdated {
        /// The incident's id.
        incident: String,
        /// The update's position among the incident's updates.
        update: usize,
    },
    /// The incident is over.
    IncidentResolved {
        /// The incident's id.
        incident: String,
    },
    /// A component changed status.
    ComponentChanged {
        /// The service id.
        component: String,
        /// The status before.
        old: ComponentStatus,
        /// The status now.
        new: ComponentStatus,
    },
}

impl News {
    /// The outbox event name (`incident-created`).
    pub fn event(&self) -> &'static str {
        match self {
            News::IncidentCreated { .. } => "incident-created",
            News::IncidentUpdated { .. } => "incident-update",
            News::IncidentResolved { .. } => "incident-resolved",
            News::ComponentChanged { .. } => "component-update",
        }
    }
}

/// One thing subscribers are told about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Announcement {
    /// The same every time it is derived: `INC-4/created`, `component/db/at1700000`.
    pub key: String,
    /// When it happened; subscribers confirmed after this are not told.
    pub at_ms: i64,
    /// What it tells.
    pub news: News,
    /// The components (service ids) it is about.
    pub components: Vec<String>,
}

/// The services of an incident that are status page components.
fn incident_components(catalog: &Catalog, incident: &Incident) -> Vec<String> {
    incident
        .services
        .iter()
        .filter(|a| {
            catalog
                .service(&a.service)
                .is_some_and(|s| s.status_page.component.is_some())
        })
        .map(|a| a.service.clone())
        .collect()
}

/// Everything about one incident that subscribers are told, in order: its creation,
/// each customer update, its resolution. Nothing for an incident that hits no component.
pub fn incident_announcements(catalog: &Catalog, incident: &Incident) -> Vec<Announcement> {
    let components = incident_components(catalog, incident);
    if components.is_empty() {
        return Vec::new();
    }
    let id = &incident.id;
    let created = incident
        .milestones
        .detected_ms
        .or(incident.milestones.started_ms)
        .unwrap_or(0);
    let mut out = vec![Announcement {
        key: format!("{id}/created"),
        at_ms: created,
        news: News::IncidentCreated {
            incident: id.clone(),
        },
        components: components.clone(),
    }];
    for (index, update) in incident.updates.iter().enumerate() {
        // Automatic updates say what the creation and the resolution announce already:
        // told once, not twice.
        if update.audience != Audience::Customers || update.by == AUTOMATIC {
            continue;
        }
        out.push(Announcement {
            key: format!("{id}/update-{index}"),
            at_ms: update.at_ms,
            news: News::IncidentUpdated {
                incident: id.clone(),
                update: index,
            },
            components: components.clone(),
        });
    }
    if incident.status == Status::Resolved {
        out.push(Announcement {
            key: format!("{id}/resolved"),
            at_ms: incident.milestones.resolved_ms.unwrap_or(created),
            news: News::IncidentResolved {
                incident: id.clone(),
            },
            components,
        });
    }
    out
}

/// The component changes between two sets of statuses, at `at_ms`. Components new in
/// `after` are not changes (a reload added them).
pub fn component_announcements(
    before: &BTreeMap<String, ComponentStatus>,
    after: &BTreeMap<String, ComponentStatus>,
    at_ms: i64,
) -> Vec<Announcement> {
    after
        .iter()
        .filter_map(|(id, new)| {
            let old = *before.get(id)?;
            (old != *new).then(|| Announcement {
                key: format!("component/{id}/at{at_ms}"),
                at_ms,
                news: News::ComponentChanged {
                    component: id.clone(),
                    old,
                    new: *new,
                },
                components: vec![id.clone()],
            })
        })
        .collect()
}

/// Whether `subscriber` is told `announcement`: confirmed at or before it happened, and
/// interested in one of its components (or in all).
pub fn is_told(subscriber: &Subscriber, announcement: &Announcement) -> bool {
    subscriber.state == SubscriberState::Confirmed
        && subscriber
            .confirmed_ms
            .is_some_and(|c| c <= announcement.at_ms)
        && (subscriber.components.is_empty()
            || subscriber
                .components
                .iter()
                .any(|c| announcement.components.contains(c)))
}

/// A message to one subscriber, before it is sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mail {
    /// One line.
    pub subject: String,
    /// Plain text body.
    pub text: String,
}

/// Instants as the organisation reads them: `2026-11-25 14:03 CET`.
fn local_time(ms: i64, timezone: &str) -> String {
    let tz = jiff::tz::TimeZone::get(timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(t) => t
            .to_zoned_datetime(tz)
            .strftime("%Y-%m-%d %H:%M %Z")
            .to_string(),
        Err(_) => String::new(),
    }
}

/// The mail that asks a new email subscriber to confirm.
pub fn confirmation_mail(organization: &str, lang: Lang, confirm_url: &str) -> Mail {
    let subject = tr!(
        "Confirm your subscription to {organization} status updates",
        "Bevestig je abonnement op statusberichten van {organization}"
    );
    let text = tr!(
        "Someone (we hope you) asked to receive status updates from {organization} at this address.\n\nConfirm here: {confirm_url}\n\nIf it was not you, ignore this message: nothing will be sent without confirmation.\n",
        "Iemand (hopelijk jij) vroeg om statusberichten van {organization} op dit adres.\n\nBevestig hier: {confirm_url}\n\nWas jij het niet, negeer dan dit bericht: zonder bevestiging wordt niets verstuurd.\n"
    );
    Mail {
        subject: subject.get(lang).to_string(),
        text: text.get(lang).to_string(),
    }
}

/// Where a subscriber's message links to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Links {
    /// The public status page.
    pub status_page: String,
    /// The subscriber's own unsubscribe link.
    pub unsubscribe: String,
}

/// The mail that tells a subscriber about an announcement; `None` when the incident it
/// is about is not given.
pub fn announcement_mail(
    catalog: &Catalog,
    lang: Lang,
    announcement: &Announcement,
    incident: Option<&Incident>,
    links: &Links,
) -> Option<Mail> {
    let org = &catalog.organization.name;
    let tz = &catalog.organization.timezone;
    let when = local_time(announcement.at_ms, tz);
    let names = |ids: &[String]| {
        ids.iter()
            .map(|id| {
                catalog
                    .service(id)
                    .and_then(|s| s.status_page.component.clone())
                    .unwrap_or_else(|| id.clone())
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let affected = names(&announcement.components);
    let (subject, body) = match &announcement.news {
        News::ComponentChanged {
            component,
            old,
            new,
        } => {
            let name = names(std::slice::from_ref(component));
            let lower = |t: Text| Text::new(t.en.to_lowercase(), t.nl.to_lowercase());
            let (old, new) = (lower(old.text()), lower(new.text()));
            (
                tr!(
                    "[{org}] {name} is {}",
                    "[{org}] {name} is {}",
                    new.en;
                    new.nl
                ),
                tr!(
                    "{name} changed from {} to {} at {when}.",
                    "{name} ging van {} naar {} om {when}.",
                    old.en, new.en;
                    old.nl, new.nl
                ),
            )
        }
        news => {
            let incident = incident?;
            let title = incident.public_title();
            let status = incident.status.text();
            match news {
                News::IncidentCreated { .. } => (
                    tr!(
                        "[{org}] New incident: {}",
                        "[{org}] Nieuwe storing: {}",
                        title.en;
                        title.nl
                    ),
                    tr!(
                        "We are looking into a problem affecting {affected} since {when}.\nStatus: {}.",
                        "We onderzoeken een probleem met {affected} sinds {when}.\nStatus: {}.",
                        status.en;
                        status.nl
                    ),
                ),
                News::IncidentUpdated { update, .. } => {
                    let u = incident.updates.get(*update)?;
                    let (ustatus, ubody) = (u.status.text(), &u.body);
                    (
                        tr!("[{org}] Update: {}", "[{org}] Update: {}", title.en; title.nl),
                        tr!(
                            "{} ({when}, status: {})",
                            "{} ({when}, status: {})",
                            ubody.en, ustatus.en;
                            ubody.nl, ustatus.nl
                        ),
                    )
                }
                _ => (
                    tr!("[{org}] Resolved: {}", "[{org}] Opgelost: {}", title.en; title.nl),
                    tr!(
                        "The problem affecting {affected} is resolved ({when}).",
                        "Het probleem met {affected} is opgelost ({when})."
                    ),
                ),
            }
        }
    };
    let status_page = &links.status_page;
    let unsubscribe = &links.unsubscribe;
    let footer = tr!(
        "\n\nStatus page: {status_page}\nUnsubscribe: {unsubscribe}\n",
        "\n\nStatuspagina: {status_page}\nAfmelden: {unsubscribe}\n"
    );
    Some(Mail {
        subject: subject.get(lang).to_string(),
        text: format!("{}{}", body.get(lang), footer.get(lang)),
    })
}

/// RFC 3339 in UTC with milliseconds, as Statuspage writes instants.
pub fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| format!("{t:.3}"))
        .unwrap_or_default()
}

/// `meta` of a webhook payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PayloadMeta {
    /// The subscriber's unsubscribe link.
    pub unsubscribe: String,
    /// Where the payload is described.
    pub documentation: String,
}

/// `page` of a webhook payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PayloadPage {
    /// The page's id.
    pub id: String,
    /// `none`, `minor`, `major`, `critical` or `maintenance`.
    pub status_indicator: String,
    /// `All Systems Operational`, ...
    pub status_description: String,
}

/// An incident update as Statuspage's incidents API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PayloadUpdate {
    /// `<incident>-u<n>`.
    pub id: String,
    /// The incident's id.
    pub incident_id: String,
    /// The incident status it announced.
    pub status: String,
    /// The text, in the subscriber's language.
    pub body: String,
    /// When it was posted.
    pub created_at: String,
    /// Same as `created_at`.
    pub updated_at: String,
    /// Same as `created_at`.
    pub display_at: String,
}

/// A component as Statuspage shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PayloadComponent {
    /// The service id.
    pub id: String,
    /// The component's name.
    pub name: String,
    /// Its status now.
    pub status: String,
    /// The page's id.
    pub page_id: String,
    /// The component's group, if any.
    pub group_id: Option<String>,
}

/// An incident as Statuspage's incidents API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PayloadIncident {
    /// `INC-4`.
    pub id: String,
    /// The title.
    pub name: String,
    /// `investigating`, `identified`, `monitoring`, `resolved`.
    pub status: String,
    /// `none`, `minor`, `major`, `critical` (from the severity).
    pub impact: String,
    /// Created (detected).
    pub created_at: String,
    /// Last update or change.
    pub updated_at: String,
    /// When monitoring started, if it did.
    pub monitoring_at: Option<String>,
    /// When resolved.
    pub resolved_at: Option<String>,
    /// The page's id.
    pub page_id: String,
    /// A link to the status page.
    pub shortlink: String,
    /// Always false: Continuo records incidents as they happen.
    pub backfilled: bool,
    /// Customer updates, newest first.
    pub incident_updates: Vec<PayloadUpdate>,
    /// The components it hits.
    pub components: Vec<PayloadComponent>,
}

/// `component_update` of a webhook payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PayloadComponentUpdate {
    /// When it changed.
    pub created_at: String,
    /// The status now.
    pub new_status: String,
    /// The status before.
    pub old_status: String,
    /// The announcement's key.
    pub id: String,
    /// The component's public id (as the status page API gives it).
    pub component_id: String,
}

/// A Statuspage-shaped webhook payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Payload {
    /// Links.
    pub meta: PayloadMeta,
    /// The page's status.
    pub page: PayloadPage,
    /// For incident announcements.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident: Option<PayloadIncident>,
    /// For component changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component_update: Option<PayloadComponentUpdate>,
    /// For component changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component: Option<PayloadComponent>,
}

/// Where the payload format is described.
pub const PAYLOAD_DOCUMENTATION: &str =
    "https://support.atlassian.com/statuspage/docs/enable-webhook-notifications/";

/// What a payload needs besides the announcement.
pub struct PayloadContext<'a> {
    /// The catalog (services that are not on the page).
    pub catalog: &'a Catalog,
    /// What the page shows now: its id, components and indicator.
    pub view: &'a PublicView,
    /// Links for this subscriber.
    pub links: &'a Links,
}

/// The public id of a service's component (as the status page API gives it).
fn public_id(ctx: &PayloadContext<'_>, service: &str) -> String {
    ctx.view
        .component_of(service)
        .map_or_else(|| slug(service), |c| c.id.clone())
}

fn payload_component(ctx: &PayloadContext<'_>, id: &str) -> PayloadComponent {
    let shown = ctx.view.component_of(id);
    PayloadComponent {
        id: public_id(ctx, id),
        name: shown.map_or_else(|| id.to_string(), |c| c.name.clone()),
        status: shown
            .map_or(ComponentStatus::Operational, |c| c.status)
            .api_name()
            .to_string(),
        page_id: ctx.view.page_id.clone(),
        // As the status page API names groups.
        group_id: match shown {
            Some(c) => c.group.clone(),
            None => ctx
                .catalog
                .service(id)
                .and_then(|s| s.status_page.group.as_deref().map(group_id)),
        },
    }
}

fn payload_page(ctx: &PayloadContext<'_>) -> PayloadPage {
    PayloadPage {
        id: ctx.view.page_id.clone(),
        status_indicator: ctx.view.indicator.word().to_string(),
        status_description: ctx.view.indicator.description().to_string(),
    }
}

/// The Statuspage-shaped payload of an announcement for a webhook subscriber; `None`
/// when the incident it is about is not given.
pub fn payload(
    ctx: &PayloadContext<'_>,
    lang: Lang,
    announcement: &Announcement,
    incident: Option<&Incident>,
) -> Option<Payload> {
    // The page's status and links; what the announcement tells is added below.
    let mut out = test_payload(ctx);
    match &announcement.news {
        News::ComponentChanged {
            component,
            old,
            new,
        } => {
            out.component_update = Some(PayloadComponentUpdate {
                created_at: rfc3339(announcement.at_ms),
                new_status: new.api_name().to_string(),
                old_status: old.api_name().to_string(),
                id: announcement.key.clone(),
                component_id: public_id(ctx, component),
            });
            let mut c = payload_component(ctx, component);
            c.status = new.api_name().to_string();
            out.component = Some(c);
        }
        _ => {
            let incident = incident?;
            let created = incident
                .milestones
                .detected_ms
                .or(incident.milestones.started_ms)
                .unwrap_or(announcement.at_ms);
            let updates: Vec<PayloadUpdate> = incident
                .updates
                .iter()
                .enumerate()
                .filter(|(_, u)| u.audience == Audience::Customers)
                .map(|(i, u)| PayloadUpdate {
                    id: format!("{}-u{i}", incident.id),
                    incident_id: incident.id.clone(),
                    status: u.status.name().to_string(),
                    body: u.body.get(lang).to_string(),
                    created_at: rfc3339(u.at_ms),
                    updated_at: rfc3339(u.at_ms),
                    display_at: rfc3339(u.at_ms),
                })
                .rev()
                .collect();
            let last = incident
                .updates
                .iter()
                .map(|u| u.at_ms)
                .chain(incident.milestones.resolved_ms)
                .chain([created, announcement.at_ms])
                .max()
                .unwrap_or(created);
            let monitoring = incident
                .updates
                .iter()
                .find(|u| u.status == Status::Monitoring)
                .map(|u| rfc3339(u.at_ms));
            out.incident = Some(PayloadIncident {
                id: incident.id.clone(),
                // Statuspage's payloads are English.
                name: incident.public_title().en,
                status: incident.status.name().to_string(),
                impact: impact(incident.severity).to_string(),
                created_at: rfc3339(created),
                updated_at: rfc3339(last),
                monitoring_at: monitoring,
                resolved_at: incident.milestones.resolved_ms.map(rfc3339),
                page_id: ctx.view.page_id.clone(),
                shortlink: ctx.links.status_page.clone(),
                backfilled: false,
                incident_updates: updates,
                components: incident_components(ctx.catalog, incident)
                    .iter()
                    .map(|id| payload_component(ctx, id))
                    .collect(),
            });
        }
    }
    Some(out)
}

/// The payload of the test delivery that confirms a webhook subscriber: the page's status
/// and no incident.
pub fn test_payload(ctx: &PayloadContext<'_>) -> Payload {
    Payload {
        meta: PayloadMeta {
            unsubscribe: ctx.links.unsubscribe.clone(),
            documentation: PAYLOAD_DOCUMENTATION.to_string(),
        },
        page: payload_page(ctx),
        incident: None,
        component_update: None,
        component: None,
    }
}
