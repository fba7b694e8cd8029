//! What operators do to an incident: declare, acknowledge, change, post updates and
//! notes, assign roles, tick the checklist, submit reports, track actions and review.
//! Each act is recorded on the timeline with who did it.

use super::*;

impl IncidentBook {
    /// Declares an incident by hand. Services must exist; the severity is derived from
    /// them unless given.
    pub fn declare(
        &mut self,
        ctx: &IncidentContext<'_>,
        title: &str,
        services: &[String],
        severity: Option<Severity>,
        by: &str,
    ) -> Result<(String, Vec<Callout>), IncidentError> {
        let title = title.trim();
        if title.is_empty() {
            return Err(IncidentError::Invalid(
                "an incident needs a title: say in a line what is wrong".into(),
            ));
        }
        if title.chars().count() > limits::TITLE {
            return Err(IncidentError::Invalid(
                "the title is longer than 200 characters; put details in a note".into(),
            ));
        }
        for s in services {
            if ctx.catalog.service(s).is_none() {
                return Err(IncidentError::Invalid(format!(
                    "there is no service `{s}` in the catalog"
                )));
            }
        }
        let id = self.open_incident(ctx, title.to_string(), Some(by.to_string()));
        let incident = self.incidents.get_mut(&id).expect("just opened");
        let now = ctx.now_ms;
        incident.milestones.started_ms = Some(now);
        incident.log(
            now,
            by,
            EventKind::Opened,
            tr!(
                "Incident declared by {by}: {title}",
                "Incident gemeld door {by}: {title}"
            ),
        );
        for s in services {
            Self::add_service(ctx, incident, s, true, now, by);
        }
        if let Some(sev) = severity {
            incident.severity = sev;
            incident.severity_by_hand = true;
            let name = sev.name();
            incident.log(
                now,
                by,
                EventKind::Severity,
                tr!("Severity set to {name}", "Ernst ingesteld op {name}"),
            );
        }
        let callouts = Self::reassess(ctx, incident, by);
        Ok((id, callouts))
    }

    /// Acknowledges: someone took it. Returns the alerts to acknowledge with it.
    pub fn acknowledge(
        &mut self,
        ctx: &IncidentContext<'_>,
        id: &str,
        by: &str,
    ) -> Result<Vec<String>, IncidentError> {
        let incident = self.get_mut(id)?;
        if !incident.is_open() {
            return Err(IncidentError::Refused(format!(
                "incident `{id}` is resolved"
            )));
        }
        if incident.milestones.acknowledged_ms.is_none() {
            incident.milestones.acknowledged_ms = Some(ctx.now_ms);
            incident.log(
                ctx.now_ms,
                by,
                EventKind::Milestone,
                tr!("Acknowledged by {by}", "Bevestigd door {by}"),
            );
        }
        Ok(incident.alerts.iter().cloned().collect())
    }

    /// Changes status, severity, title or classification. Returns the alerts to resolve
    /// with it (when it is resolved) and any crisis-team callouts.
    pub fn change(
        &mut self,
        ctx: &IncidentContext<'_>,
        id: &str,
        change: &Change,
        by: &str,
    ) -> Result<(Vec<String>, Vec<Callout>), IncidentError> {
        let now = ctx.now_ms;
        let incident = self.get_mut(id)?;
        if let Some(next) = change.status
            && next != incident.status
            && !incident.status.may_move_to(next)
        {
            let (a, b) = (incident.status.name(), next.name());
            return Err(IncidentError::Refused(format!(
                "incident `{id}` cannot move from {a} to {b}: a resolved incident can only be reopened as investigating"
            )));
        }
        if let Some(title) = &change.title {
            let title = title.trim();
            if title.is_empty() || title.chars().count() > limits::TITLE {
                return Err(IncidentError::Invalid(
                    "a title is 1 to 200 characters".into(),
                ));
            }
            if title != incident.title {
                incident.title = title.to_string();
                incident.public_title = None;
                incident.log(
                    now,
                    by,
                    EventKind::Note,
                    tr!("Title changed to: {title}", "Titel gewijzigd in: {title}"),
                );
            }
        }
        let mut callouts = Vec::new();
        if let Some(sev) = change.severity
            && (sev != incident.severity || !incident.severity_by_hand)
        {
            let (old, new) = (incident.severity.name(), sev.name());
            incident.severity = sev;
            incident.severity_by_hand = true;
            incident.log(
                now,
                by,
                EventKind::Severity,
                tr!("Severity {old} → {new}", "Ernst {old} → {new}"),
            );
            callouts.extend(activate(ctx, incident, by));
        }
        if let Some(significant) = change.significant {
            classify(ctx, incident, significant, by);
        }
        let mut resolve_alerts = Vec::new();
        if let Some(next) = change.status
            && next != incident.status
        {
            match next {
                Status::Resolved => {
                    close(incident, now, by);
                    resolve_alerts = incident.alerts.iter().cloned().collect();
                }
                Status::Investigating if incident.status == Status::Resolved => {
                    incident.status = Status::Investigating;
                    incident.milestones.resolved_ms = None;
                    incident.log(
                        now,
                        by,
                        EventKind::Reopened,
                        tr!("Reopened by {by}", "Heropend door {by}"),
                    );
                }
                _ => {
                    let (a, b) = (incident.status.text(), next.text());
                    incident.status = next;
                    incident.log(
                        now,
                        by,
                        EventKind::Status,
                        tr!(
                            "Status {} → {}",
                            "Status {} → {}",
                            a.en,
                            b.en;
                            a.nl,
                            b.nl
                        ),
                    );
                    if next == Status::Monitoring && incident.milestones.mitigated_ms.is_none() {
                        incident.milestones.mitigated_ms = Some(now);
                        incident.log(
                            now,
                            by,
                            EventKind::Milestone,
                            tr!(
                                "Mitigated: a fix is in place",
                                "Beperkt: een oplossing is aangebracht"
                            ),
                        );
                    }
                }
            }
        }
        Ok((resolve_alerts, callouts))
    }

    /// Posts a status update for an audience (its text rendered by the caller from the
    /// templates), moving the status along when it says so.
    pub fn post_update(
        &mut self,
        ctx: &IncidentContext<'_>,
        id: &str,
        status: Option<Status>,
        audience: Audience,
        body: Text,
        by: &str,
    ) -> Result<Vec<String>, IncidentError> {
        if body.en.trim().is_empty() || body.nl.trim().is_empty() {
            return Err(IncidentError::Invalid(
                "a status update needs a text".into(),
            ));
        }
        let (resolve_alerts, _) = match status {
            Some(s) => self.change(
                ctx,
                id,
                &Change {
                    status: Some(s),
                    ..Change::default()
                },
                by,
            )?,
            None => (Vec::new(), Vec::new()),
        };
        let incident = self.get_mut(id)?;
        let status = incident.status;
        let who = audience.text();
        incident.updates.push(StatusUpdate {
            at_ms: ctx.now_ms,
            by: by.to_string(),
            status,
            audience,
            body: body.clone(),
        });
        incident.log(
            ctx.now_ms,
            by,
            EventKind::Update,
            tr!(
                "Update for {}: {}",
                "Update voor {}: {}",
                who.en,
                body.en;
                who.nl,
                body.nl
            ),
        );
        Ok(resolve_alerts)
    }

    /// Adds a human note.
    pub fn note(
        &mut self,
        ctx: &IncidentContext<'_>,
        id: &str,
        text: &str,
        by: &str,
    ) -> Result<(), IncidentError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(IncidentError::Invalid("a note needs a text".into()));
        }
        if text.chars().count() > limits::TEXT {
            return Err(IncidentError::Invalid(
                "a note is at most 10,000 characters".into(),
            ));
        }
        let incident = self.get_mut(id)?;
        incident.log(ctx.now_ms, by, EventKind::Note, Text::same(text));
        Ok(())
    }

    /// Assigns a crisis role to a person, recording the hand-over.
    pub fn assign(
        &mut self,
        ctx: &IncidentContext<'_>,
        id: &str,
        role: CrisisRole,
        person: &str,
        by: &str,
    ) -> Result<(), IncidentError> {
        if !ctx.catalog.persons.iter().any(|p| p.id.value == person) {
            return Err(IncidentError::Invalid(format!(
                "there is no person `{person}` in the catalog"
            )));
        }
        let incident = self.get_mut(id)?;
        let r = role.text();
        match incident.roles.insert(role, person.to_string()) {
            Some(previous) if previous == person => {}
            Some(previous) => incident.log(
                ctx.now_ms,
                by,
                EventKind::Role,
                tr!(
                    "{} handed over from {previous} to {person}",
                    "{} overgedragen van {previous} aan {person}",
                    r.en;
                    r.nl
                ),
            ),
            None => incident.log(
                ctx.now_ms,
                by,
                EventKind::Role,
                tr!(
                    "{person} is {}",
                    "{person} is {}",
                    r.en;
                    r.nl
                ),
            ),
        }
        Ok(())
    }

    /// Ticks a recovery step off (or unticks it).
    pub fn tick(
        &mut self,
        ctx: &IncidentContext<'_>,
        id: &str,
        service: &str,
        step: usize,
        done: bool,
        by: &str,
    ) -> Result<(), IncidentError> {
        let incident = self.get_mut(id)?;
        let Some(task) = incident.checklist.iter_mut().find(|t| t.service == service) else {
            return Err(IncidentError::Invalid(format!(
                "service `{service}` is not on the recovery checklist of `{id}`"
            )));
        };
        let count = task.steps.len();
        let Some(s) = step.checked_sub(1).and_then(|i| task.steps.get_mut(i)) else {
            return Err(IncidentError::Invalid(format!(
                "`{service}` has steps 1 to {count}, not {step}"
            )));
        };
        if s.done.is_some() == done {
            return Ok(());
        }
        s.done = done.then(|| Act {
            by: by.to_string(),
            at_ms: ctx.now_ms,
        });
        let what = s.text.clone();
        incident.log(
            ctx.now_ms,
            by,
            EventKind::Checklist,
            if done {
                tr!(
                    "Done ({service} step {step}): {}",
                    "Gedaan ({service} stap {step}): {}",
                    what.en;
                    what.nl
                )
            } else {
                tr!(
                    "Not done after all ({service} step {step}): {}",
                    "Toch niet gedaan ({service} stap {step}): {}",
                    what.en;
                    what.nl
                )
            },
        );
        Ok(())
    }

    /// Marks a regulatory report submitted.
    pub fn submit_report(
        &mut self,
        ctx: &IncidentContext<'_>,
        id: &str,
        key: &str,
        by: &str,
    ) -> Result<(), IncidentError> {
        let incident = self.get_mut(id)?;
        let known: Vec<String> = incident
            .reports
            .iter()
            .map(|r| r.deadline.key.clone())
            .collect();
        let Some(report) = incident.reports.iter_mut().find(|r| r.deadline.key == key) else {
            return Err(IncidentError::Invalid(if known.is_empty() {
                format!(
                    "incident `{id}` has no reports due: it is not classified significant, or the organisation declares no regulations"
                )
            } else {
                format!(
                    "incident `{id}` has no report `{key}`; its reports: {}",
                    known.join(", ")
                )
            }));
        };
        if report.submitted.is_some() {
            return Ok(());
        }
        report.submitted = Some(Act {
            by: by.to_string(),
            at_ms: ctx.now_ms,
        });
        let title = report.deadline.title.clone();
        let late = ctx.now_ms > report.deadline.due_ms;
        incident.log(
            ctx.now_ms,
            by,
            EventKind::Report,
            if late {
                tr!(
                    "{} submitted (after its deadline)",
                    "{} ingediend (na de termijn)",
                    title.en;
                    title.nl
                )
            } else {
                tr!(
                    "{} submitted",
                    "{} ingediend",
                    title.en;
                    title.nl
                )
            },
        );
        Ok(())
    }

    /// Adds an action item; returns its number.
    pub fn add_action(
        &mut self,
        ctx: &IncidentContext<'_>,
        id: &str,
        title: &str,
        owner: Option<&str>,
        due: Option<&str>,
        by: &str,
    ) -> Result<u32, IncidentError> {
        let title = title.trim();
        if title.is_empty() {
            return Err(IncidentError::Invalid(
                "an action item needs a title".into(),
            ));
        }
        if let Some(owner) = owner
            && !ctx.catalog.persons.iter().any(|p| p.id.value == owner)
            && !ctx.catalog.teams.iter().any(|t| t.id.value == owner)
        {
            return Err(IncidentError::Invalid(format!(
                "owner `{owner}` is neither a person nor a team in the catalog"
            )));
        }
        if let Some(due) = due
            && due.parse::<jiff::civil::Date>().is_err()
        {
            return Err(IncidentError::Invalid(format!(
                "due date `{due}` is not a date like 2026-12-01"
            )));
        }
        let incident = self.get_mut(id)?;
        let number = incident.actions.iter().map(|a| a.id).max().unwrap_or(0) + 1;
        incident.actions.push(ActionItem {
            id: number,
            title: title.to_string(),
            owner: owner.map(str::to_string),
            due: due.map(str::to_string),
            done: None,
        });
        incident.log(
            ctx.now_ms,
            by,
            EventKind::Action,
            tr!(
                "Action item {number} added: {title}",
                "Actiepunt {number} toegevoegd: {title}"
            ),
        );
        Ok(number)
    }

    /// Marks an action item done (or open again).
    pub fn complete_action(
        &mut self,
        ctx: &IncidentContext<'_>,
        id: &str,
        action: u32,
        done: bool,
        by: &str,
    ) -> Result<(), IncidentError> {
        let incident = self.get_mut(id)?;
        let Some(item) = incident.actions.iter_mut().find(|a| a.id == action) else {
            return Err(IncidentError::Invalid(format!(
                "incident `{id}` has no action item {action}"
            )));
        };
        if item.done.is_some() == done {
            return Ok(());
        }
        item.done = done.then(|| Act {
            by: by.to_string(),
            at_ms: ctx.now_ms,
        });
        let title = item.title.clone();
        incident.log(
            ctx.now_ms,
            by,
            EventKind::Action,
            if done {
                tr!(
                    "Action item {action} done: {title}",
                    "Actiepunt {action} gedaan: {title}"
                )
            } else {
                tr!(
                    "Action item {action} reopened: {title}",
                    "Actiepunt {action} heropend: {title}"
                )
            },
        );
        Ok(())
    }

    /// Replaces the review notes (fields left `None`/empty keep their value).
    pub fn review(
        &mut self,
        ctx: &IncidentContext<'_>,
        id: &str,
        review: Review,
        by: &str,
    ) -> Result<(), IncidentError> {
        let incident = self.get_mut(id)?;
        let r = &mut incident.review;
        let keep = |new: Option<String>, old: &mut Option<String>| {
            if let Some(n) = new.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()) {
                *old = Some(n);
            }
        };
        keep(review.summary, &mut r.summary);
        keep(review.root_causes, &mut r.root_causes);
        keep(review.trigger, &mut r.trigger);
        keep(review.resolution, &mut r.resolution);
        for (new, old) in [
            (review.went_well, &mut r.went_well),
            (review.went_wrong, &mut r.went_wrong),
            (review.lucky, &mut r.lucky),
        ] {
            if !new.is_empty() {
                *old = new;
            }
        }
        if review.malicious.is_some() {
            r.malicious = review.malicious;
        }
        if review.cross_border.is_some() {
            r.cross_border = review.cross_border;
        }
        incident.log(
            ctx.now_ms,
            by,
            EventKind::Review,
            tr!("Review notes updated", "Evaluatienotities bijgewerkt"),
        );
        Ok(())
    }
}

/// Resolves an incident: milestone, status, and every service still down counted as back
/// at the resolution (the incident's owner says it is over).
pub(super) fn close(incident: &mut Incident, at_ms: i64, by: &str) {
    if !incident.is_open() {
        return;
    }
    incident.status = Status::Resolved;
    incident.milestones.resolved_ms = Some(at_ms);
    if incident.milestones.mitigated_ms.is_none() {
        incident.milestones.mitigated_ms = Some(at_ms);
    }
    for s in &mut incident.services {
        if s.up_ms.is_none() {
            s.up_ms = Some(at_ms.max(s.down_ms));
        }
    }
    incident.log(
        at_ms,
        by,
        EventKind::Resolved,
        tr!("Resolved by {by}", "Opgelost door {by}"),
    );
}
