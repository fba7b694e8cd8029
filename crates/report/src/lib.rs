//! Documents written from measured facts: the postmortem of an incident (Google SRE
//! shape), drafts of the reports NIS2 and DORA require, and the posture and monthly
//! availability report ([`evidence`]), in English or Dutch.
//! Everything here is pure: an incident and the catalog in, Markdown out.

// Libraries speak through `tracing` events (or return errors); only the binary prints.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod evidence;

use continuo_core::catalog::Catalog;
use continuo_core::incident::book::{EventKind, Incident, data_loss_text};
use continuo_core::incident::{Recovery, Regime, countdown, span_text};
use continuo_core::{Lang, Text, tr};
use std::fmt::Write;

/// An instant in the organisation's zone: `2026-06-01 11:02:05 CEST`.
fn when(ms: i64, tz: &str) -> String {
    let zone = jiff::tz::TimeZone::get(tz).unwrap_or(jiff::tz::TimeZone::UTC);
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| {
            t.to_zoned_datetime(zone)
                .strftime("%Y-%m-%d %H:%M:%S %Z")
                .to_string()
        })
        .unwrap_or_else(|_| ms.to_string())
}

fn opt_when(ms: Option<i64>, tz: &str, lang: Lang) -> String {
    ms.map_or_else(|| tr!("—", "—").get(lang).to_string(), |t| when(t, tz))
}

fn opt_span(ms: Option<i64>) -> String {
    ms.map_or_else(|| "—".to_string(), span_text)
}

/// Escapes a table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn todo(lang: Lang) -> String {
    tr!("_To be written._", "_Nog te schrijven._")
        .get(lang)
        .to_string()
}

fn para(text: &Option<String>, lang: Lang) -> String {
    text.clone().unwrap_or_else(|| todo(lang))
}

fn list(items: &[String], lang: Lang) -> String {
    if items.is_empty() {
        return todo(lang);
    }
    items
        .iter()
        .map(|i| format!("- {i}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The verdict of one service's recovery, as the postmortem writes it.
pub fn verdict(recovery: Recovery) -> Text {
    match recovery {
        Recovery::Met { .. } => tr!("RTO met", "RTO gehaald"),
        Recovery::Breached { .. } => tr!("RTO breached", "RTO overschreden"),
        Recovery::Open { .. } => tr!("not recovered", "niet hersteld"),
    }
}

/// The postmortem of an incident in Markdown: summary, impact, root causes, trigger,
/// resolution, detection, the measured milestones and durations, per service the
/// recovery time against the RTO and the data-loss window against the RPO,
/// notifications, action items, lessons learned and the timeline.
pub fn postmortem(incident: &Incident, catalog: &Catalog, now_ms: i64, lang: Lang) -> String {
    let tz = catalog.organization.timezone.as_str();
    let t = |text: Text| text.get(lang).to_string();
    let mut out = String::new();
    let id = &incident.id;
    let title = &incident.title;
    let _ = writeln!(
        out,
        "# {}: {id} — {title}\n",
        t(tr!("Postmortem", "Postmortem"))
    );
    let m = &incident.milestones;
    let d = m.durations();
    let _ = writeln!(
        out,
        "{}: {} · {}: {} · {}: {}\n",
        t(tr!("Severity", "Ernst")),
        incident.severity.name(),
        t(tr!("Status", "Status")),
        t(incident.status.text()),
        t(tr!("Written", "Geschreven")),
        when(now_ms, tz)
    );

    let hit: Vec<&str> = incident.services.iter().map(|s| s.name.as_str()).collect();
    let names = Text::list(&hit);
    let took = opt_span(d.to_resolve_ms);
    let auto_summary = match hit.len() {
        0 => tr!(
            "The incident lasted {took} from the first failing observation to its resolution.",
            "Het incident duurde {took} van de eerste falende waarneming tot de oplossing."
        ),
        1 => tr!(
            "{} was disrupted; the incident lasted {took} from the first failing observation to its resolution.",
            "{} was verstoord; het incident duurde {took} van de eerste falende waarneming tot de oplossing.",
            names.en;
            names.nl
        ),
        _ => tr!(
            "{} were disrupted; the incident lasted {took} from the first failing observation to its resolution.",
            "{} waren verstoord; het incident duurde {took} van de eerste falende waarneming tot de oplossing.",
            names.en;
            names.nl
        ),
    };
    let _ = writeln!(out, "## {}\n", t(tr!("Summary", "Samenvatting")));
    let _ = writeln!(
        out,
        "{}\n",
        incident
            .review
            .summary
            .clone()
            .unwrap_or_else(|| t(auto_summary))
    );

    let _ = writeln!(out, "## {}\n", t(tr!("Impact", "Impact")));
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} | {} | {} |",
        t(tr!("Service", "Dienst")),
        t(tr!("Tier", "Tier")),
        t(tr!("Down", "Uit de lucht")),
        t(tr!("Back", "Hersteld")),
        t(tr!("Recovery time", "Hersteltijd")),
        t(tr!("RTO", "RTO")),
        t(tr!("Verdict", "Oordeel")),
        t(tr!("Data loss (RPO)", "Gegevensverlies (RPO)")),
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
    let mut cost = 0.0;
    for s in &incident.services {
        let r = s.recovery(now_ms);
        let took = match r {
            Recovery::Met { took_ms } | Recovery::Breached { took_ms, .. } => span_text(took_ms),
            Recovery::Open { .. } => "—".into(),
        };
        let mut v = t(verdict(r));
        if let Recovery::Breached { over_ms, .. } = r {
            let over = span_text(over_ms);
            v = format!("{v} ({})", t(tr!("by {over}", "met {over}")));
        }
        let loss = s
            .data_loss()
            .map_or_else(|| t(tr!("unknown", "onbekend")), |l| t(data_loss_text(&l)));
        let role = if s.root_cause {
            t(tr!(" (root cause)", " (oorzaak)"))
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "| {}{role} | {} | {} | {} | {took} | {} | **{v}** | {} |",
            cell(&s.name),
            s.tier,
            when(s.down_ms, tz),
            opt_when(s.up_ms, tz, lang),
            span_text(s.rto_ms),
            cell(&loss),
        );
        if let Some(per_hour) = catalog.service(&s.service).and_then(|c| c.cost_per_hour) {
            let end = s.up_ms.unwrap_or(now_ms);
            cost += per_hour * ((end - s.down_ms).max(0) as f64) / 3_600_000.0;
        }
    }
    if cost > 0.0 {
        let currency = &catalog.organization.currency;
        let _ = writeln!(
            out,
            "\n{}",
            t(tr!(
                "Estimated cost of the downtime: {currency} {cost:.2}.",
                "Geschatte kosten van de uitval: {currency} {cost:.2}."
            ))
        );
    }
    out.push('\n');

    for (heading, text) in [
        (tr!("Root causes", "Oorzaken"), &incident.review.root_causes),
        (tr!("Trigger", "Aanleiding"), &incident.review.trigger),
        (tr!("Resolution", "Oplossing"), &incident.review.resolution),
    ] {
        let _ = writeln!(out, "## {}\n\n{}\n", t(heading), para(text, lang));
    }

    let _ = writeln!(out, "## {}\n", t(tr!("Detection", "Detectie")));
    let detect = opt_span(d.to_detect_ms);
    let how = if incident.declared_by.is_some() {
        let by = incident.declared_by.clone().unwrap_or_default();
        tr!(
            "Declared by {by}, {detect} after it started.",
            "Gemeld door {by}, {detect} nadat het begon."
        )
    } else {
        let alerts: Vec<&str> = incident.alerts.iter().map(String::as_str).collect();
        let alerts = alerts.join(", ");
        tr!(
            "Detected by Continuo's checks (alert {alerts}), {detect} after the first failing observation.",
            "Gedetecteerd door de controles van Continuo (melding {alerts}), {detect} na de eerste falende waarneming."
        )
    };
    let _ = writeln!(out, "{}\n", t(how));

    let _ = writeln!(out, "## {}\n", t(tr!("Milestones", "Mijlpalen")));
    let _ = writeln!(
        out,
        "| {} | {} | {} |\n|---|---|---|",
        t(tr!("Milestone", "Mijlpaal")),
        t(tr!("Time", "Tijd")),
        t(tr!("Measured", "Gemeten")),
    );
    let rows = [
        (
            tr!(
                "Started (first failing observation)",
                "Begonnen (eerste falende waarneming)"
            ),
            m.started_ms,
            String::new(),
        ),
        (
            tr!("Detected", "Gedetecteerd"),
            m.detected_ms,
            format!(
                "{}: {}",
                t(tr!("time to detect", "tijd tot detectie")),
                opt_span(d.to_detect_ms)
            ),
        ),
        (
            tr!("Acknowledged", "Bevestigd"),
            m.acknowledged_ms,
            format!(
                "{}: {}",
                t(tr!("time to acknowledge", "tijd tot bevestiging")),
                opt_span(d.to_acknowledge_ms)
            ),
        ),
        (
            tr!("Mitigated", "Beperkt"),
            m.mitigated_ms,
            format!(
                "{}: {}",
                t(tr!("time to mitigate", "tijd tot beperking")),
                opt_span(d.to_mitigate_ms)
            ),
        ),
        (
            tr!("Resolved", "Opgelost"),
            m.resolved_ms,
            format!(
                "{}: {}",
                t(tr!("time to resolve", "tijd tot oplossing")),
                opt_span(d.to_resolve_ms)
            ),
        ),
    ];
    for (name, at, measured) in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {measured} |",
            t(name),
            opt_when(at, tz, lang)
        );
    }
    out.push('\n');

    let notified: Vec<_> = incident
        .timeline
        .iter()
        .filter(|e| e.kind == EventKind::Notified)
        .collect();
    let delivered = incident
        .timeline
        .iter()
        .filter(|e| e.kind == EventKind::Delivery)
        .count();
    let _ = writeln!(out, "## {}\n", t(tr!("Notifications", "Meldingen")));
    let (n, dl) = (notified.len(), delivered);
    let _ = writeln!(
        out,
        "{}\n",
        t(match (n, dl) {
            (1, 1) => tr!(
                "1 notification round sent, 1 delivery recorded.",
                "1 meldingsronde verstuurd, 1 aflevering vastgelegd."
            ),
            (1, _) => tr!(
                "1 notification round sent, {dl} deliveries recorded.",
                "1 meldingsronde verstuurd, {dl} afleveringen vastgelegd."
            ),
            (_, 1) => tr!(
                "{n} notification rounds sent, 1 delivery recorded.",
                "{n} meldingsrondes verstuurd, 1 aflevering vastgelegd."
            ),
            _ => tr!(
                "{n} notification rounds sent, {dl} deliveries recorded.",
                "{n} meldingsrondes verstuurd, {dl} afleveringen vastgelegd."
            ),
        })
    );
    for e in notified {
        let _ = writeln!(out, "- {} — {}", when(e.at_ms, tz), e.text.get(lang));
    }
    out.push('\n');

    let _ = writeln!(out, "## {}\n", t(tr!("Action items", "Actiepunten")));
    if incident.actions.is_empty() {
        let _ = writeln!(out, "{}\n", todo(lang));
    } else {
        let _ = writeln!(
            out,
            "| # | {} | {} | {} | {} |\n|---|---|---|---|---|",
            t(tr!("Action", "Actie")),
            t(tr!("Owner", "Eigenaar")),
            t(tr!("Due", "Deadline")),
            t(tr!("Done", "Gedaan")),
        );
        for a in &incident.actions {
            let done = a.done.as_ref().map_or_else(
                || t(tr!("no", "nee")),
                |d| format!("{} ({})", t(tr!("yes", "ja")), when(d.at_ms, tz)),
            );
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {done} |",
                a.id,
                cell(&a.title),
                a.owner.as_deref().unwrap_or("—"),
                a.due.as_deref().unwrap_or("—"),
            );
        }
        out.push('\n');
    }

    let _ = writeln!(out, "## {}\n", t(tr!("Lessons learned", "Lessen")));
    for (heading, items) in [
        (
            tr!("What went well", "Wat ging goed"),
            &incident.review.went_well,
        ),
        (
            tr!("What went wrong", "Wat ging mis"),
            &incident.review.went_wrong,
        ),
        (
            tr!("Where we got lucky", "Waar we geluk hadden"),
            &incident.review.lucky,
        ),
    ] {
        let _ = writeln!(out, "### {}\n\n{}\n", t(heading), list(items, lang));
    }

    if !incident.reports.is_empty() {
        let _ = writeln!(
            out,
            "## {}\n",
            t(tr!("Regulatory reports", "Meldingen aan toezichthouders"))
        );
        for r in &incident.reports {
            let state = match &r.submitted {
                Some(s) => format!("{} {}", t(tr!("submitted", "ingediend")), when(s.at_ms, tz)),
                None => t(tr!("not submitted", "niet ingediend")),
            };
            let _ = writeln!(
                out,
                "- {} — {} {} — {state}",
                r.deadline.title.get(lang),
                t(tr!("due", "uiterlijk")),
                when(r.deadline.due_ms, tz)
            );
        }
        out.push('\n');
    }

    let _ = writeln!(out, "## {}\n", t(tr!("Timeline", "Tijdlijn")));
    let _ = writeln!(
        out,
        "| {} | {} | {} |\n|---|---|---|",
        t(tr!("Time", "Tijd")),
        t(tr!("Who", "Wie")),
        t(tr!("Event", "Gebeurtenis"))
    );
    for e in &incident.timeline {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            when(e.at_ms, tz),
            cell(&e.by),
            cell(e.text.get(lang))
        );
    }
    out
}

/// A draft of the reports one regime requires, with the fields the incident can fill
/// filled, and what only people can say marked as such.
pub fn report_draft(
    incident: &Incident,
    catalog: &Catalog,
    regime: Regime,
    now_ms: i64,
    lang: Lang,
) -> String {
    let tz = catalog.organization.timezone.as_str();
    let t = |text: Text| text.get(lang).to_string();
    let unknown = || t(tr!("_to be completed_", "_in te vullen_"));
    let yes_no = |v: Option<bool>| match v {
        Some(true) => t(tr!("yes", "ja")),
        Some(false) => t(tr!("no", "nee")),
        None => unknown(),
    };
    let mut out = String::new();
    let name = regime.title();
    let _ = writeln!(
        out,
        "# {} — {} {}\n",
        t(tr!("Report draft", "Conceptmelding")),
        name,
        incident.id
    );
    let _ = writeln!(
        out,
        "_{}_\n",
        t(tr!(
            "Drafted by Continuo from the incident's measured facts; check and complete before submitting.",
            "Opgesteld door Continuo uit de gemeten feiten van het incident; controleer en vul aan voor indienen."
        ))
    );
    let m = &incident.milestones;
    let field = |out: &mut String, label: Text, value: String| {
        let _ = writeln!(out, "- **{}**: {value}", label.get(lang));
    };
    field(
        &mut out,
        tr!("Entity", "Entiteit"),
        catalog.organization.name.clone(),
    );
    field(
        &mut out,
        tr!("Incident reference", "Incidentreferentie"),
        incident.id.clone(),
    );
    field(&mut out, tr!("Title", "Titel"), incident.title.clone());
    field(&mut out, tr!("Severity", "Ernst"), incident.severity.name());
    field(&mut out, tr!("Status", "Status"), t(incident.status.text()));
    field(
        &mut out,
        tr!("Started", "Begonnen"),
        opt_when(m.started_ms, tz, lang),
    );
    field(
        &mut out,
        tr!("Became aware (detected)", "Kennisname (gedetecteerd)"),
        opt_when(m.detected_ms, tz, lang),
    );
    field(
        &mut out,
        tr!(
            "Classified significant/major",
            "Aangemerkt als significant/ernstig"
        ),
        opt_when(incident.significant_ms, tz, lang),
    );
    field(
        &mut out,
        tr!("Resolved", "Opgelost"),
        opt_when(m.resolved_ms, tz, lang),
    );
    let duration = match (m.started_ms, m.resolved_ms) {
        (Some(a), Some(b)) => span_text(b - a),
        (Some(a), None) => format!(
            "{} ({})",
            span_text(now_ms - a),
            t(tr!("ongoing", "lopend"))
        ),
        _ => unknown(),
    };
    field(&mut out, tr!("Duration", "Duur"), duration);
    let services: Vec<String> = incident
        .services
        .iter()
        .map(|s| format!("{} (tier {})", s.name, s.tier))
        .collect();
    field(
        &mut out,
        tr!("Services affected", "Getroffen diensten"),
        services.join(", "),
    );
    let losses: Vec<String> = incident
        .services
        .iter()
        .filter_map(|s| {
            s.data_loss()
                .map(|d| format!("{}: {}", s.name, t(data_loss_text(&d))))
        })
        .collect();
    field(
        &mut out,
        tr!("Data losses", "Gegevensverlies"),
        if losses.is_empty() {
            unknown()
        } else {
            losses.join("; ")
        },
    );
    field(
        &mut out,
        tr!(
            "Suspected unlawful or malicious act",
            "Vermoeden van onrechtmatige of kwaadwillige handeling"
        ),
        yes_no(incident.review.malicious),
    );
    field(
        &mut out,
        tr!("Cross-border impact", "Grensoverschrijdende gevolgen"),
        yes_no(incident.review.cross_border),
    );
    field(
        &mut out,
        tr!("Root cause", "Oorzaak"),
        incident.review.root_causes.clone().unwrap_or_else(unknown),
    );
    field(
        &mut out,
        tr!("Mitigation measures", "Beperkende maatregelen"),
        incident.review.resolution.clone().unwrap_or_else(unknown),
    );
    out.push('\n');
    let _ = writeln!(out, "## {}\n", t(tr!("Deadlines", "Termijnen")));
    for r in incident
        .reports
        .iter()
        .filter(|r| r.deadline.regime == regime)
    {
        let state = match &r.submitted {
            Some(s) => format!("{} {}", t(tr!("submitted", "ingediend")), when(s.at_ms, tz)),
            None => t(countdown(r.deadline.due_ms - now_ms)),
        };
        let _ = writeln!(
            out,
            "- {}: {} ({state})",
            r.deadline.title.get(lang),
            when(r.deadline.due_ms, tz)
        );
    }
    out
}
