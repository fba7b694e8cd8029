//! The public projection: what customers may see of the system, with one definition for
//! every public surface (the status page, its Statuspage-compatible API, subscriber
//! announcements and webhooks). The page's id, the components' public ids and groups,
//! which incidents are public and the page's overall indicator are derived here, so two
//! surfaces cannot give two answers.
//!
//! **Invariant:** an incident is public only through its updates for the `customers`
//! audience; the indicator is the worst of the components' statuses and the open public
//! incidents' impacts (a declared SEV1 on healthy checks reads `critical` everywhere).

use crate::catalog::Catalog;
use crate::incident::book::Incident;
use crate::incident::{Audience, Severity};
use crate::state::{CheckStatus, Health, ServiceHealth};
use crate::text::Text;
use crate::tr;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// A status page component's status, with Statuspage's names; one type for the page,
/// its API, its badges and its subscribers' announcements.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum ComponentStatus {
    /// Working.
    Operational,
    /// No check has said anything yet (shown as such; `operational` in the JSON API, which
    /// has no word for it).
    Unknown,
    /// Under maintenance.
    UnderMaintenance,
    /// Working less well.
    DegradedPerformance,
    /// Failing because something it needs fails.
    PartialOutage,
    /// Failing.
    MajorOutage,
}

impl ComponentStatus {
    /// Statuspage's name (`major_outage`).
    pub fn api_name(self) -> &'static str {
        match self {
            ComponentStatus::Operational | ComponentStatus::Unknown => "operational",
            ComponentStatus::UnderMaintenance => "under_maintenance",
            ComponentStatus::DegradedPerformance => "degraded_performance",
            ComponentStatus::PartialOutage => "partial_outage",
            ComponentStatus::MajorOutage => "major_outage",
        }
    }

    /// The words shown to people.
    pub fn text(self) -> Text {
        match self {
            ComponentStatus::Operational => tr!("Operational", "Werkt normaal"),
            ComponentStatus::Unknown => tr!("Not yet measured", "Nog niet gemeten"),
            ComponentStatus::UnderMaintenance => tr!("Under maintenance", "In onderhoud"),
            ComponentStatus::DegradedPerformance => {
                tr!("Degraded performance", "Verminderde prestaties")
            }
            ComponentStatus::PartialOutage => tr!("Partial outage", "Gedeeltelijke storing"),
            ComponentStatus::MajorOutage => tr!("Major outage", "Ernstige storing"),
        }
    }

    /// From a service's health: down is a major outage, impacted (down because of a
    /// dependency) a partial outage, degraded degraded performance.
    pub fn from_health(health: Health) -> ComponentStatus {
        match health {
            Health::Unknown => ComponentStatus::Unknown,
            Health::Operational => ComponentStatus::Operational,
            Health::Degraded => ComponentStatus::DegradedPerformance,
            Health::Impacted => ComponentStatus::PartialOutage,
            Health::Down => ComponentStatus::MajorOutage,
        }
    }

    /// How bad, for a page's overall indicator: 0 none .. 3 critical.
    pub fn level(self) -> u8 {
        match self {
            ComponentStatus::Operational
            | ComponentStatus::Unknown
            | ComponentStatus::UnderMaintenance => 0,
            ComponentStatus::DegradedPerformance => 1,
            ComponentStatus::PartialOutage => 2,
            ComponentStatus::MajorOutage => 3,
        }
    }
}

/// A service's component status from its health, as every public surface shows it:
/// maintenance wins; down is a major outage; impacted (down because a hard dependency
/// is) a partial outage, except when its own checks fail and no root cause is on the
/// page, since then nothing on the page shows how bad it is: a major outage. No
/// health yet is [`ComponentStatus::Unknown`].
pub fn component_status(
    catalog: &Catalog,
    health: Option<&ServiceHealth>,
    in_maintenance: bool,
) -> ComponentStatus {
    if in_maintenance {
        return ComponentStatus::UnderMaintenance;
    }
    let Some(h) = health else {
        return ComponentStatus::Unknown;
    };
    let cause_public = || {
        h.root_causes.iter().any(|c| {
            catalog
                .service(c)
                .is_some_and(|s| s.status_page.component.is_some())
        })
    };
    match h.health {
        Health::Impacted if h.own == CheckStatus::Down && !cause_public() => {
            ComponentStatus::MajorOutage
        }
        other => ComponentStatus::from_health(other),
    }
}

/// A lower-case slug: ASCII letters and digits, other runs become one `-`.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        out.push_str("component");
    }
    out
}

/// The public id of every status page component, by service id: the slug of its
/// component name (`Web shop` → `web-shop`; a second one with the same slug gets `-2`,
/// in catalog order). The status page API, its webhooks and subscriptions all use these,
/// so service ids are never shown.
pub fn component_ids(catalog: &Catalog) -> BTreeMap<String, String> {
    let mut taken: HashMap<String, usize> = HashMap::new();
    let mut ids = BTreeMap::new();
    for service in &catalog.services {
        let Some(name) = &service.status_page.component else {
            continue;
        };
        let base = slug(name);
        let n = taken.entry(base.clone()).or_insert(0);
        *n += 1;
        let id = if *n == 1 { base } else { format!("{base}-{n}") };
        ids.entry(service.id.value.clone()).or_insert(id);
    }
    ids
}

/// The public id of a component group (`Shop floor` → `group-shop-floor`).
pub fn group_id(name: &str) -> String {
    format!("group-{}", slug(name))
}

/// The page's stable public id: 12 hex digits of the SHA-256 of the organisation's name
/// (Statuspage's ids are opaque too, and clients already keep this one).
pub fn page_id(catalog: &Catalog) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(catalog.organization.name.as_bytes());
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// Statuspage's impact of a severity: SEV1 critical, SEV2 major, SEV3 minor, SEV4 none.
pub fn impact(severity: Severity) -> &'static str {
    match severity.0 {
        1 => "critical",
        2 => "major",
        3 => "minor",
        _ => "none",
    }
}

/// How bad an impact is for the overall indicator: 0 none .. 3 critical.
fn impact_level(severity: Severity) -> u8 {
    match severity.0 {
        1 => 3,
        2 => 2,
        3 => 1,
        _ => 0,
    }
}

/// Whether customers see an incident: it has at least one update for them.
pub fn is_public(incident: &Incident) -> bool {
    incident
        .updates
        .iter()
        .any(|u| u.audience == Audience::Customers)
}

/// The page's overall status, as Statuspage's `status.indicator` gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Indicator {
    /// Nothing wrong.
    Operational,
    /// Nothing wrong, but a component is under maintenance (still `none`).
    Maintenance,
    /// A minor outage.
    Minor,
    /// A partial outage.
    Major,
    /// A major outage.
    Critical,
}

impl Indicator {
    /// The worst of the components' statuses and the open public incidents' severities.
    pub fn of(
        statuses: impl IntoIterator<Item = ComponentStatus>,
        open_incidents: impl IntoIterator<Item = Severity>,
    ) -> Indicator {
        let mut level = 0;
        let mut maintenance = false;
        for status in statuses {
            level = level.max(status.level());
            maintenance |= status == ComponentStatus::UnderMaintenance;
        }
        for severity in open_incidents {
            level = level.max(impact_level(severity));
        }
        match level {
            0 if maintenance => Indicator::Maintenance,
            0 => Indicator::Operational,
            1 => Indicator::Minor,
            2 => Indicator::Major,
            _ => Indicator::Critical,
        }
    }

    /// Statuspage's word: `none`, `minor`, `major` or `critical`.
    pub fn word(self) -> &'static str {
        match self {
            Indicator::Operational | Indicator::Maintenance => "none",
            Indicator::Minor => "minor",
            Indicator::Major => "major",
            Indicator::Critical => "critical",
        }
    }

    /// Statuspage's description, in English (as its API and webhooks give it).
    pub fn description(self) -> &'static str {
        match self {
            Indicator::Operational => "All Systems Operational",
            Indicator::Maintenance => "Service Under Maintenance",
            Indicator::Minor => "Minor Service Outage",
            Indicator::Major => "Partial System Outage",
            Indicator::Critical => "Major System Outage",
        }
    }

    /// The description for people, in both languages.
    pub fn text(self) -> Text {
        match self {
            Indicator::Operational => {
                tr!("All Systems Operational", "Alle systemen werken normaal")
            }
            Indicator::Maintenance => tr!(
                "Service Under Maintenance",
                "Onderhoud aan de dienstverlening"
            ),
            Indicator::Minor => tr!("Minor Service Outage", "Kleine verstoring"),
            Indicator::Major => tr!("Partial System Outage", "Gedeeltelijke storing"),
            Indicator::Critical => tr!("Major System Outage", "Ernstige storing"),
        }
    }
}

/// A component on the page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicComponent {
    /// The service it shows (never shown itself).
    pub service: String,
    /// Its public id ([`component_ids`]).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its group's public id ([`group_id`]).
    pub group: Option<String>,
    /// Its status now.
    pub status: ComponentStatus,
}

/// A group of components.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicGroup {
    /// Public id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Indexes into [`PublicView::components`].
    pub members: Vec<usize>,
}

/// Everything public that has one definition: the page's id, its components and groups
/// in page order, and its overall indicator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicView {
    /// The page's id ([`page_id`]).
    pub page_id: String,
    /// Components in page (catalog) order.
    pub components: Vec<PublicComponent>,
    /// Groups in the order their first member appears.
    pub groups: Vec<PublicGroup>,
    /// The overall indicator.
    pub indicator: Indicator,
}

impl PublicView {
    /// Projects the catalog, each service's component status (`status_of`, by service
    /// id) and the incidents known onto what customers see. Incidents that are resolved
    /// or have no customer update do not count.
    pub fn project<'a>(
        catalog: &Catalog,
        status_of: impl Fn(&str) -> ComponentStatus,
        incidents: impl IntoIterator<Item = &'a Incident>,
    ) -> PublicView {
        let ids = component_ids(catalog);
        let mut components: Vec<PublicComponent> = Vec::new();
        let mut groups: Vec<PublicGroup> = Vec::new();
        for service in &catalog.services {
            let Some(name) = service.status_page.component.clone() else {
                continue;
            };
            let Some(id) = ids.get(&service.id.value).cloned() else {
                continue;
            };
            let group = service.status_page.group.as_ref().map(|g| {
                let gid = group_id(g);
                let index = components.len();
                match groups.iter_mut().find(|x| x.id == gid) {
                    Some(existing) => existing.members.push(index),
                    None => groups.push(PublicGroup {
                        id: gid.clone(),
                        name: g.clone(),
                        members: vec![index],
                    }),
                }
                gid
            });
            components.push(PublicComponent {
                service: service.id.value.clone(),
                id,
                name,
                group,
                status: status_of(&service.id.value),
            });
        }
        let indicator = Indicator::of(
            components.iter().map(|c| c.status),
            incidents
                .into_iter()
                .filter(|i| i.is_open() && is_public(i))
                .map(|i| i.severity),
        );
        PublicView {
            page_id: page_id(catalog),
            components,
            groups,
            indicator,
        }
    }

    /// The component that shows this service.
    pub fn component_of(&self, service: &str) -> Option<&PublicComponent> {
        self.components.iter().find(|c| c.service == service)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_indicator_is_the_worst_of_components_and_open_incidents() {
        use ComponentStatus::*;
        let cases: &[(&[ComponentStatus], &[u8], Indicator)] = &[
            (&[], &[], Indicator::Operational),
            (&[Operational, Unknown], &[], Indicator::Operational),
            (&[UnderMaintenance], &[], Indicator::Maintenance),
            (&[UnderMaintenance], &[3], Indicator::Minor),
            (&[Operational], &[1], Indicator::Critical),
            (&[DegradedPerformance], &[4], Indicator::Minor),
            (&[PartialOutage], &[3], Indicator::Major),
            (&[MajorOutage], &[], Indicator::Critical),
        ];
        for (statuses, severities, expected) in cases {
            let got = Indicator::of(
                statuses.iter().copied(),
                severities.iter().map(|s| Severity(*s)),
            );
            assert_eq!(got, *expected, "{statuses:?} {severities:?}");
        }
        assert_eq!(Indicator::Maintenance.word(), "none");
        assert_eq!(Indicator::Critical.description(), "Major System Outage");
    }

    #[test]
    fn impacts_follow_the_severity() {
        let words: Vec<&str> = (1..=4).map(|n| impact(Severity(n))).collect();
        assert_eq!(words, ["critical", "major", "minor", "none"]);
    }

    #[test]
    fn group_ids_are_prefixed_slugs() {
        assert_eq!(group_id("Shop floor"), "group-shop-floor");
        assert_eq!(slug("  Web  shop! "), "web-shop");
    }
}
