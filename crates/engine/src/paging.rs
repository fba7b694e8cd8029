//! The alerts stage: turns the pages of every decision into notices, one outbox item
//! per channel per recipient, with acknowledge links; and the handle's operator acts on
//! alerts and maintenance windows.

use crate::links::ACK_LINK_LIFETIME_MS;
use crate::recipient::Recipient as Addressee;
use crate::shared::{AlertHandle, AlertingError, Command, UNROUTED_KEPT, Unrouted, lock};
use crate::stage::{Decided, Stage};
use continuo_core::Lang;
use continuo_core::alerting::{Alert, AlertBook, AlertState, Inbound, Page, PageEvent, Recipient};
use continuo_core::analysis::Graph;
use continuo_core::catalog::{Catalog, ChannelKind, Service};
use continuo_core::maintenance::{self, Window};
use continuo_notify::{Notice, NoticeEvent, NoticeService};
use continuo_store::OutboxItem;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;

/// An alert as the API shows it.
#[derive(Clone, Debug, Serialize)]
pub struct AlertView {
    /// The alert.
    #[serde(flatten)]
    pub alert: Alert,
    /// The service's display name.
    pub service_name: String,
}

/// The alerts stage.
pub(crate) struct Paging;

impl Stage for Paging {
    fn after_decision(&self, decided: &mut Decided<'_>) {
        if decided.pages.is_empty() {
            decided.paged = Vec::new();
            return;
        }
        // Built once per decision that pages: a root cause's page names everything that
        // hard-depends on it, not only what was already seen failing.
        let graph = Graph::new(decided.catalog);
        let paged = decided
            .pages
            .iter()
            .map(|page| {
                items_for(
                    decided.handle,
                    decided.catalog,
                    &graph,
                    decided.alerts,
                    page,
                    decided.now_ms,
                )
            })
            .collect();
        decided.paged = paged;
    }
}

/// What an alert takes down: the services seen impacted by it and every service that
/// hard-depends on its service (the impact closure), the most critical first.
fn takes_down<'c>(catalog: &'c Catalog, graph: &Graph<'_>, alert: &Alert) -> Vec<&'c Service> {
    let mut ids: BTreeSet<&str> = alert.impacted.iter().map(String::as_str).collect();
    if let Some(i) = graph.index_of(&alert.service) {
        ids.extend(
            graph
                .impact_closure(i)
                .into_iter()
                .map(|j| graph.service(j).id.value.as_str()),
        );
    }
    let mut services: Vec<&Service> = ids
        .into_iter()
        .filter(|id| *id != alert.service)
        .filter_map(|id| catalog.service(id))
        .collect();
    services.sort_by(|a, b| {
        (a.tier.value.0, &a.name, &a.id.value).cmp(&(b.tier.value.0, &b.name, &b.id.value))
    });
    services
}

/// The outbox items of a page: one per channel per recipient.
fn items_for(
    handle: &AlertHandle,
    catalog: &Catalog,
    graph: &Graph<'_>,
    book: &AlertBook,
    page: &Page,
    now: i64,
) -> Vec<OutboxItem> {
    let Some(alert) = book.alerts.get(&page.alert) else {
        return Vec::new();
    };
    let down = takes_down(catalog, graph, alert);
    let mut items = Vec::new();
    for recipient in &page.recipients {
        for (channel, person) in channels_of(catalog, recipient) {
            let who = Addressee::from(recipient).to_string();
            let suffix = match page.event {
                PageEvent::Firing => format!("L{}R{}", page.level, page.round),
                PageEvent::Reminder => format!("at{now}"),
                _ => String::new(),
            };
            let key = format!(
                "{}/{}{}/{}/{}",
                alert.id,
                page.event.name(),
                if suffix.is_empty() {
                    String::new()
                } else {
                    format!("-{suffix}")
                },
                who,
                channel
            );
            let notice = notice(
                handle, catalog, alert, &down, page, &key, &channel, person, now,
            );
            let Ok(notice) = serde_json::to_value(&notice) else {
                continue;
            };
            items.push(OutboxItem::new(
                key,
                channel,
                alert.id.clone(),
                page.event.name().into(),
                who,
                notice,
                now,
            ));
        }
    }
    items
}

#[allow(clippy::too_many_arguments)]
fn notice(
    handle: &AlertHandle,
    catalog: &Catalog,
    alert: &Alert,
    down: &[&continuo_core::catalog::Service],
    page: &Page,
    key: &str,
    channel: &str,
    person: Option<&continuo_core::catalog::Person>,
    now: i64,
) -> Notice {
    let service_of = |id: &str| NoticeService {
        id: id.to_string(),
        name: catalog
            .service(id)
            .map_or_else(|| id.to_string(), |s| s.name.clone()),
        tier: catalog.service(id).map_or(4, |s| s.tier.value.0),
    };
    let channel_lang = catalog
        .channels
        .iter()
        .find(|c| c.id.value == channel)
        .and_then(|c| c.language);
    let language = person
        .and_then(|p| p.language)
        .or(channel_lang)
        .or_else(|| catalog.organization.languages.first().copied())
        .unwrap_or(Lang::En);
    let who = person.map_or_else(|| format!("channel:{channel}"), |p| p.id.value.clone());
    let ack_url = matches!(page.event, PageEvent::Firing | PageEvent::Reminder)
        .then(|| handle.ack_link(&alert.id, &who, now + ACK_LINK_LIFETIME_MS));
    Notice {
        idempotency_key: key.to_string(),
        alert_key: alert.id.clone(),
        event: match page.event {
            PageEvent::Firing => NoticeEvent::Firing,
            PageEvent::Acknowledged => NoticeEvent::Acknowledged,
            PageEvent::Resolved => NoticeEvent::Resolved,
            PageEvent::Reminder => NoticeEvent::Reminder,
        },
        language,
        organization: catalog.organization.name.clone(),
        service: service_of(&alert.service),
        impacted: down.iter().map(|s| service_of(&s.id.value)).collect(),
        summary: alert.summary.clone(),
        started_ms: alert.started_ms,
        at_ms: now,
        timezone: catalog.organization.timezone.clone(),
        level: page.level.max(1),
        ack_url,
        dashboard_url: Some(format!("{}/api/v1/alerts/{}", handle.public_url, alert.id)),
        acknowledged_by: alert.acknowledged.as_ref().map(|a| a.by.clone()),
        recipient: person.map(|p| continuo_notify::Recipient {
            id: p.id.value.clone(),
            name: p.name.clone(),
            email: p.email.clone(),
            phone: p.phone.clone(),
        }),
    }
}

/// Which channels reach a recipient, with the person when it is one: a person's
/// `contact` channels, or every email channel when they list none and have an address.
pub(crate) fn channels_of<'c>(
    catalog: &'c Catalog,
    recipient: &Recipient,
) -> Vec<(String, Option<&'c continuo_core::catalog::Person>)> {
    match recipient {
        Recipient::Channel(id) => vec![(id.clone(), None)],
        Recipient::Person(id) => {
            let Some(person) = catalog.persons.iter().find(|p| &p.id.value == id) else {
                return Vec::new();
            };
            if !person.contact.is_empty() {
                return person
                    .contact
                    .iter()
                    .map(|c| (c.value.clone(), Some(person)))
                    .collect();
            }
            if person.email.is_none() {
                return Vec::new();
            }
            catalog
                .channels
                .iter()
                .filter(|c| c.kind == ChannelKind::Email)
                .map(|c| (c.id.value.clone(), Some(person)))
                .collect()
        }
    }
}

impl AlertHandle {
    /// Every alert (open first, then recently resolved, newest first).
    pub fn alerts(&self) -> Vec<AlertView> {
        let catalog = self.catalog();
        let book = lock(&self.shared.book);
        let mut list: Vec<AlertView> = book
            .alerts
            .values()
            .map(|a| AlertView {
                service_name: catalog
                    .service(&a.service)
                    .map_or_else(|| a.service.clone(), |s| s.name.clone()),
                alert: a.clone(),
            })
            .collect();
        list.sort_by_key(|v| {
            (
                v.alert.state == AlertState::Resolved,
                std::cmp::Reverse(v.alert.started_ms),
            )
        });
        list
    }

    /// One alert.
    pub fn alert(&self, id: &str) -> Option<AlertView> {
        self.alerts().into_iter().find(|a| a.alert.id == id)
    }

    /// Acknowledges an alert for `by`.
    pub async fn acknowledge(&self, id: &str, by: &str) -> Result<(), AlertingError> {
        self.ask(|r| Command::Acknowledge(id.into(), by.into(), r))
            .await
    }

    /// Resolves an alert for `by`.
    pub async fn resolve(&self, id: &str, by: &str) -> Result<(), AlertingError> {
        self.ask(|r| Command::Resolve(id.into(), by.into(), r))
            .await
    }

    /// Takes in inbound alerts; returns how many changed something.
    pub async fn inbound(&self, events: Vec<Inbound>) -> Result<usize, AlertingError> {
        self.ask(|r| Command::Inbound(events, r)).await
    }

    /// Keeps an inbound alert that no route took, so it is seen rather than lost: in the
    /// log (warn), `/api/v1/inbound/unrouted` and `continuo_inbound_unrouted_total`.
    pub fn unrouted(&self, source: &str, summary: &str, labels: BTreeMap<String, String>) {
        tracing::warn!(
            source,
            summary,
            labels = ?labels,
            "inbound alert matches no [[route]] and there is no default route: nobody is paged"
        );
        self.shared.unrouted_total.fetch_add(1, Ordering::Relaxed);
        let mut kept = lock(&self.shared.unrouted);
        if kept.len() >= UNROUTED_KEPT {
            kept.pop_front();
        }
        kept.push_back(Unrouted {
            at_ms: self.clock.now_ms(),
            source: source.to_string(),
            summary: summary.to_string(),
            labels,
        });
    }

    /// Unrouted inbound alerts since start: how many, and the newest kept, newest first.
    pub fn unrouted_list(&self) -> (u64, Vec<Unrouted>) {
        let kept = lock(&self.shared.unrouted);
        (
            self.shared.unrouted_total.load(Ordering::Relaxed),
            kept.iter().rev().cloned().collect(),
        )
    }

    /// Creates (or replaces) a maintenance window.
    pub async fn put_window(&self, window: Window) -> Result<(), AlertingError> {
        self.ask(|r| Command::PutWindow(window, r)).await
    }

    /// Ends a maintenance window created at run time now.
    pub async fn end_window(&self, id: &str) -> Result<Window, AlertingError> {
        self.ask(|r| Command::EndWindow(id.into(), r)).await
    }

    /// Active and upcoming (next 30 days) maintenance windows.
    pub fn windows(&self) -> (Vec<Window>, Vec<Window>) {
        let now = self.clock.now_ms();
        let catalog = self.catalog();
        let extra = lock(&self.shared.windows).clone();
        let active = maintenance::active(&catalog, &extra, now);
        let upcoming = maintenance::scheduled(&catalog, &extra, now, 30 * 86_400_000, 50)
            .into_iter()
            .filter(|w| w.from_ms > now)
            .collect();
        (active, upcoming)
    }
}
