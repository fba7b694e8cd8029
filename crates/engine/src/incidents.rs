//! Incidents in the running system. The [`IncidentBook`] lives beside the alert book in
//! the decision task: after every alerting decision this stage syncs it with the
//! alerts, and operators change it through [`AlertHandle::incident_op`], a decision the
//! decision task runs for this stage. Changed incidents are committed
//! with the alert book and the outbox in one transaction; crisis-team callouts go out
//! through the outbox like every other notification, and what was paged, delivered or
//! failed is written on the incident's timeline.

use crate::paging::channels_of;
use crate::persist::Persist;
use crate::recipient::Recipient;
use crate::shared::{
    AlertHandle, AlertingError, Books, Command, Decision, Reply, ServiceEventKind, Shared, lock,
};
use crate::stage::{Decided, Heard, Sent, Stage};
use continuo_core::alerting::{Page, PageEvent};
use continuo_core::catalog::Catalog;
use continuo_core::incident::book::{
    Callout, Change, EventKind, Incident, IncidentBook, IncidentError, Review,
};
use continuo_core::incident::stats::{Stats, stats};
use continuo_core::incident::{Audience, CrisisRole, Severity, Status};
use continuo_core::{Lang, Text, tr};
use continuo_notify::{Notice, NoticeEvent, NoticeService, Templates};
use continuo_store::{IncidentRow, OutboxItem};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

pub use crate::shared::{IncidentOptions, LastGoodFn, RunbookFn};

/// The incidents stage.
pub(crate) struct Incidents;

impl Stage for Incidents {
    fn after_decision(&self, decided: &mut Decided<'_>) {
        let now = decided.now_ms;
        let callouts = decided
            .incidents
            .sync_in(decided.ictx, decided.alerts, decided.scope);
        for (page, items) in decided.pages.iter().zip(&decided.paged) {
            record_page(decided.incidents, page, items, now);
        }
        for callout in &callouts {
            let items = callout_items(
                &decided.handle.public_url,
                decided.catalog,
                decided.incidents.get(&callout.incident),
                callout,
                now,
            );
            record_callout(decided.incidents, callout, &items, now);
            decided.items.extend(items);
        }
        decided.changed_incidents = rows(decided.incidents);
    }

    fn on_delivered<'a>(&'a self, sent: Sent<'a>) -> Heard<'a> {
        // A subscriber's message is about the status page, not a step of the response.
        if !sent.recipient.is_some_and(Recipient::is_subscriber) {
            record_delivery(sent.shared, sent.item, sent.result, sent.now_ms);
        }
        Box::pin(async {})
    }
}

const WEEK_MS: i64 = 7 * 86_400_000;

/// Loads the incidents open or resolved in the last week, and the next number.
pub(crate) async fn load(store: &dyn Persist, now_ms: i64) -> Result<IncidentBook, AlertingError> {
    let values = store
        .incidents_recent(now_ms - WEEK_MS)
        .await
        .map_err(AlertingError::Store)?;
    let mut book = IncidentBook::default();
    for value in values {
        let incident: Incident = serde_json::from_value(value)
            .map_err(|e| AlertingError::Unreadable(format!("a saved incident: {e}")))?;
        book.incidents.insert(incident.id.clone(), incident);
    }
    let last = store
        .last_incident_number()
        .await
        .map_err(AlertingError::Store)?;
    book.next_number = u64::try_from(last).unwrap_or(0) + 1;
    Ok(book)
}

/// The stored rows of the incidents changed since the last call.
fn rows(book: &mut IncidentBook) -> Vec<(String, IncidentRow)> {
    book.take_changed()
        .into_iter()
        .filter_map(|id| book.get(&id).map(row))
        .map(|r| (r.id.clone(), r))
        .collect()
}

fn row(incident: &Incident) -> IncidentRow {
    IncidentRow {
        id: incident.id.clone(),
        number: i64::try_from(incident.number).unwrap_or(i64::MAX),
        status: incident.status.name().to_string(),
        severity: i64::from(incident.severity.0),
        detected_ms: incident.milestones.detected_ms,
        resolved_ms: incident.milestones.resolved_ms,
        body: serde_json::to_value(incident).unwrap_or(Value::Null),
    }
}

/// Who an outbox item goes to, for the timeline: `person:anna (email)`.
fn targets(items: &[OutboxItem]) -> String {
    items
        .iter()
        .map(|i| format!("{} ({})", i.recipient, i.channel))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Writes a page on the timeline of the incident holding its alert.
fn record_page(book: &mut IncidentBook, page: &Page, items: &[OutboxItem], now: i64) {
    if items.is_empty() && page.unreachable.is_empty() {
        return;
    }
    let who = targets(items);
    let text = match page.event {
        PageEvent::Firing => {
            let level = page.level;
            tr!(
                "Paged (level {level}): {who}",
                "Opgeroepen (niveau {level}): {who}"
            )
        }
        PageEvent::Reminder => tr!("Reminder sent: {who}", "Herinnering verstuurd: {who}"),
        PageEvent::Acknowledged => tr!(
            "Told of the acknowledgement: {who}",
            "Bevestiging gemeld aan: {who}"
        ),
        PageEvent::Resolved => tr!(
            "Told of the resolution: {who}",
            "Oplossing gemeld aan: {who}"
        ),
    };
    book.record_for_alert(&page.alert, now, "continuo", EventKind::Notified, text);
    if !page.unreachable.is_empty() {
        let nobody = page.unreachable.join(", ");
        book.record_for_alert(
            &page.alert,
            now,
            "continuo",
            EventKind::Notified,
            tr!(
                "Nobody to page in: {nobody}",
                "Niemand op te roepen in: {nobody}"
            ),
        );
    }
}

/// Writes a crisis-team callout on its incident's timeline.
fn record_callout(book: &mut IncidentBook, callout: &Callout, items: &[OutboxItem], now: i64) {
    let who = if items.is_empty() {
        tr!("nobody reachable", "niemand bereikbaar")
    } else {
        Text::same(targets(items))
    };
    book.record_for_alert(
        &callout.incident,
        now,
        "continuo",
        EventKind::Notified,
        tr!(
            "Crisis team called out: {}",
            "Crisisteam opgeroepen: {}",
            who.en;
            who.nl
        ),
    );
}

/// Writes a delivery (or a failed attempt) on the timeline of the incident it is about.
fn record_delivery(
    shared: &Shared,
    item: &OutboxItem,
    result: &Result<continuo_notify::Delivered, continuo_notify::SendError>,
    now: i64,
) {
    let (who, channel) = (&item.recipient, &item.channel);
    let text = match result {
        Ok(_) => tr!(
            "Delivered to {who} through {channel}",
            "Afgeleverd bij {who} via {channel}"
        ),
        Err(e) => {
            let why = &e.message;
            tr!(
                "Could not deliver to {who} through {channel}: {why}",
                "Kon niet afleveren bij {who} via {channel}: {why}"
            )
        }
    };
    lock(&shared.incidents).record_for_alert(
        &item.alert,
        now,
        "continuo",
        EventKind::Delivery,
        text,
    );
}

/// An operator's request about incidents.
#[derive(Clone, Debug)]
pub enum Op {
    /// Declare a new incident.
    Declare {
        /// What is wrong.
        title: String,
        /// Services hit.
        services: Vec<String>,
        /// Severity, or derived.
        severity: Option<Severity>,
    },
    /// Someone takes it.
    Acknowledge,
    /// Status, severity, title, classification.
    Change(Change),
    /// A status update for an audience (status optional).
    Update {
        /// New status.
        status: Option<Status>,
        /// For whom.
        audience: Audience,
        /// The operator's own words.
        message: Option<String>,
    },
    /// A note.
    Note(String),
    /// A crisis role to a person.
    Assign(CrisisRole, String),
    /// Tick a recovery step (1-based) off or on.
    Tick(String, usize, bool),
    /// Mark a regulatory report submitted.
    Submit(String),
    /// Add an action item (title, owner, due).
    AddAction(String, Option<String>, Option<String>),
    /// Complete (or reopen) an action item.
    Action(u32, bool),
    /// Review notes.
    Review(Review),
}

/// An operator's request on the incident book, run by the decision task.
struct IncidentRequest {
    /// The incident (`None` only to declare).
    id: Option<String>,
    /// The request; taken when it runs.
    op: Option<Op>,
    /// Who asks.
    by: String,
    /// Templates for status updates.
    templates: Arc<Templates>,
    /// The id of the incident it changed, or why it was refused.
    outcome: Option<Result<String, IncidentError>>,
    reply: Reply<Option<Incident>>,
}

impl Decision for IncidentRequest {
    fn decide(&mut self, books: &mut Books<'_>) -> Vec<Page> {
        let Some(op) = self.op.take() else {
            return Vec::new();
        };
        let (outcome, pages) = apply(books, self.id.take(), op, &self.by, &self.templates);
        self.outcome = Some(outcome);
        pages
    }

    fn answer(self: Box<Self>, shared: &Shared, saved: Result<(), AlertingError>) {
        let answer = match self.outcome {
            None => Err(AlertingError::Stopped),
            Some(Err(IncidentError::Unknown(id))) => Err(AlertingError::UnknownIncident(id)),
            Some(Err(other)) => Err(AlertingError::Invalid(other.to_string())),
            Some(Ok(id)) => saved.map(|()| lock(&shared.incidents).get(&id).cloned()),
        };
        let _ = self.reply.send(answer);
    }
}

/// Runs an operator's request on the books (id `None` only to declare): the id of the
/// incident it changed, and the pages it caused (acknowledging or resolving alerts).
fn apply(
    books: &mut Books<'_>,
    id: Option<String>,
    op: Op,
    by: &str,
    templates: &Templates,
) -> (Result<String, IncidentError>, Vec<Page>) {
    let Books {
        alerts,
        incidents: book,
        ctx,
        ictx,
    } = books;
    let (ctx, ictx) = (*ctx, *ictx);
    let mut pages = Vec::new();
    let id = id.unwrap_or_default();
    let outcome: Result<String, IncidentError> = (|| {
        match op {
            Op::Declare {
                title,
                services,
                severity,
            } => {
                let (new, _) = book.declare(ictx, &title, &services, severity, by)?;
                // Callouts of a declared incident go out with the next sync.
                return Ok(new);
            }
            Op::Acknowledge => {
                for alert in book.acknowledge(ictx, &id, by)? {
                    pages.extend(alerts.acknowledge(ctx, &alert, by).unwrap_or_default());
                }
            }
            Op::Change(change) => {
                let (resolve, _) = book.change(ictx, &id, &change, by)?;
                for alert in resolve {
                    pages.extend(alerts.resolve(ctx, &alert, by).unwrap_or_default());
                }
            }
            Op::Update {
                status,
                audience,
                message,
            } => {
                let incident = book
                    .get(&id)
                    .ok_or_else(|| IncidentError::Unknown(id.clone()))?;
                let facts = incident.update_facts(
                    ictx.catalog,
                    status.unwrap_or(incident.status),
                    audience,
                    message,
                    ictx.now_ms,
                );
                let body = templates.render_update(&facts).map_err(|e| {
                    IncidentError::Invalid(format!("the update template failed: {e}"))
                })?;
                for alert in book.post_update(ictx, &id, status, audience, body, by)? {
                    pages.extend(alerts.resolve(ctx, &alert, by).unwrap_or_default());
                }
            }
            Op::Note(text) => book.note(ictx, &id, &text, by)?,
            Op::Assign(role, person) => book.assign(ictx, &id, role, &person, by)?,
            Op::Tick(service, step, done) => book.tick(ictx, &id, &service, step, done, by)?,
            Op::Submit(key) => book.submit_report(ictx, &id, &key, by)?,
            Op::AddAction(title, owner, due) => {
                book.add_action(ictx, &id, &title, owner.as_deref(), due.as_deref(), by)?;
            }
            Op::Action(n, done) => book.complete_action(ictx, &id, n, done, by)?,
            Op::Review(review) => book.review(ictx, &id, review, by)?,
        }
        Ok(id.clone())
    })();
    (outcome, pages)
}

/// The outbox items of a crisis-team callout: one per channel per recipient.
fn callout_items(
    public_url: &str,
    catalog: &Catalog,
    incident: Option<&Incident>,
    callout: &Callout,
    now: i64,
) -> Vec<OutboxItem> {
    let mut items = Vec::new();
    let first = incident.and_then(|i| i.services.first());
    let service = NoticeService {
        id: first.map_or_else(String::new, |s| s.service.clone()),
        name: first.map_or_else(|| catalog.organization.name.clone(), |s| s.name.clone()),
        tier: first.map_or(4, |s| s.tier),
    };
    for recipient in &callout.recipients {
        for (channel, person) in channels_of(catalog, recipient) {
            let language = person
                .and_then(|p| p.language)
                .or_else(|| catalog.organization.languages.first().copied())
                .unwrap_or(Lang::En);
            let who = recipient.to_string();
            let key = format!(
                "{}/callout/{}/{who}/{channel}",
                callout.incident, callout.key
            );
            let notice = Notice {
                idempotency_key: key.clone(),
                alert_key: callout.incident.clone(),
                event: NoticeEvent::Firing,
                language,
                organization: catalog.organization.name.clone(),
                service: service.clone(),
                impacted: Vec::new(),
                summary: callout.text.get(language).to_string(),
                started_ms: incident
                    .and_then(|i| i.milestones.started_ms)
                    .unwrap_or(now),
                at_ms: now,
                timezone: catalog.organization.timezone.clone(),
                level: 1,
                ack_url: None,
                dashboard_url: Some(format!(
                    "{}/api/v1/incidents/{}",
                    public_url, callout.incident
                )),
                acknowledged_by: None,
                recipient: person.map(|p| continuo_notify::Recipient {
                    id: p.id.value.clone(),
                    name: p.name.clone(),
                    email: p.email.clone(),
                    phone: p.phone.clone(),
                }),
            };
            let Ok(notice) = serde_json::to_value(&notice) else {
                continue;
            };
            items.push(OutboxItem::new(
                key,
                channel,
                callout.incident.clone(),
                "callout".into(),
                who,
                notice,
                now,
            ));
        }
    }
    items
}

impl AlertHandle {
    /// Runs an operator's request about an incident; returns the incident after it.
    pub async fn incident_op(
        &self,
        id: Option<&str>,
        op: Op,
        by: &str,
    ) -> Result<Incident, AlertingError> {
        let templates = self.shared.incident_options.templates.clone();
        let incident = self
            .ask(|reply| {
                Command::Decide(Box::new(IncidentRequest {
                    id: id.map(str::to_string),
                    op: Some(op),
                    by: by.to_string(),
                    templates,
                    outcome: None,
                    reply,
                }))
            })
            .await?;
        incident.ok_or_else(|| {
            AlertingError::Unreadable("the incident could not be read back: it is gone".into())
        })
    }

    /// Open (not resolved) incidents by severity, SEV1 to SEV4: every open incident is
    /// held in memory, so this reads no store.
    pub fn open_incidents_by_severity(&self) -> [u64; 4] {
        let mut counts = [0u64; 4];
        for incident in lock(&self.shared.incidents).incidents.values() {
            if incident.status == continuo_core::incident::Status::Resolved {
                continue;
            }
            let index = usize::from(incident.severity.0.clamp(1, 4)) - 1;
            counts[index] += 1;
        }
        counts
    }

    /// One incident: the live one, or the stored one.
    pub async fn incident(&self, id: &str) -> Result<Option<Incident>, AlertingError> {
        if let Some(i) = lock(&self.shared.incidents).get(id) {
            return Ok(Some(i.clone()));
        }
        match self
            .store
            .incident(id)
            .await
            .map_err(AlertingError::Store)?
        {
            None => Ok(None),
            Some(v) => serde_json::from_value(v)
                .map(Some)
                .map_err(|e| AlertingError::Unreadable(format!("incident {id}: {e}"))),
        }
    }

    /// Incidents detected in `[from_ms, until_ms)`, newest first, at most `limit`: the
    /// stored ones, with the live state of those in memory.
    pub async fn incidents(
        &self,
        from_ms: i64,
        until_ms: i64,
        limit: u32,
    ) -> Result<Vec<Incident>, AlertingError> {
        let stored = self
            .store
            .incidents_between(from_ms, until_ms, limit)
            .await
            .map_err(AlertingError::Store)?;
        let mut by_number: BTreeMap<u64, Incident> = BTreeMap::new();
        for v in stored {
            let i: Incident = serde_json::from_value(v)
                .map_err(|e| AlertingError::Unreadable(format!("a stored incident: {e}")))?;
            by_number.insert(i.number, i);
        }
        for i in lock(&self.shared.incidents).incidents.values() {
            let at = i.milestones.detected_ms.unwrap_or(0);
            if at >= from_ms && at < until_ms {
                by_number.insert(i.number, i.clone());
            }
        }
        Ok(by_number.into_values().rev().take(limit as usize).collect())
    }

    /// Records a failover or failback of a service (on its timeline and its open
    /// incidents), with what a finished failover measured (`failover`: evidence of
    /// redundancy); never blocks the caller for long.
    pub async fn service_event(
        &self,
        service: &str,
        at_ms: i64,
        text: Text,
        failover: Option<continuo_core::evidence::records::Failover>,
    ) {
        let _ = self
            .commands
            .send(Command::ServiceEvent(
                ServiceEventKind::Failover,
                service.to_string(),
                at_ms,
                text,
                failover,
            ))
            .await;
    }

    /// Records a change another system reported (a PagerDuty change event: a deploy, a
    /// configuration change) on the service's timeline and its open incidents.
    pub async fn change_event(&self, service: &str, at_ms: i64, text: Text) {
        let _ = self
            .commands
            .send(Command::ServiceEvent(
                ServiceEventKind::Change,
                service.to_string(),
                at_ms,
                text,
                None,
            ))
            .await;
    }

    /// A service's own timeline (failovers and failbacks), newest first.
    pub async fn service_events(
        &self,
        service: &str,
        limit: u32,
    ) -> Result<Vec<Value>, AlertingError> {
        self.store
            .service_events(service, limit)
            .await
            .map_err(AlertingError::Store)
    }

    /// Figures over the incidents detected in a period.
    pub async fn incident_stats(
        &self,
        from_ms: i64,
        until_ms: i64,
    ) -> Result<Stats, AlertingError> {
        let list = self.incidents(from_ms, until_ms, 100_000).await?;
        Ok(stats(&list, from_ms, until_ms, self.now_ms()))
    }
}
