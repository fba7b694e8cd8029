//! `continuo incident ...`: incidents on a running server, through its JSON API, with
//! the token in CONTINUO_TOKEN (or CONTINUO_ADMIN_TOKEN): reads need a viewer, changes a
//! responder.

use clap::Subcommand;
use continuo_core::{Lang, Text, tr};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::ExitCode;

/// What to do with incidents.
#[derive(Subcommand, Debug)]
pub enum IncidentCommand {
    /// List incidents (the last 90 days by default).
    List {
        /// Only `open`, or one status (investigating, identified, monitoring, resolved).
        #[arg(long)]
        status: Option<String>,
        /// From (RFC 3339 or local date-time).
        #[arg(long)]
        from: Option<String>,
        /// Until.
        #[arg(long)]
        until: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one incident: services with RTO countdowns, crisis team, checklist,
    /// deadlines, updates and timeline.
    Show {
        /// Incident id (INC-3).
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Declare an incident by hand.
    Declare {
        /// What is wrong, in a line.
        title: String,
        /// A service hit (repeat for more).
        #[arg(long = "service")]
        services: Vec<String>,
        /// SEV1..SEV4 (derived from the services when absent).
        #[arg(long)]
        severity: Option<String>,
        /// Who declares it.
        #[arg(long)]
        by: Option<String>,
    },
    /// Post a status update, and/or change status, severity or classification.
    Update {
        /// Incident id.
        id: String,
        /// investigating, identified, monitoring or resolved.
        #[arg(long)]
        status: Option<String>,
        /// Your words for the update.
        #[arg(long)]
        message: Option<String>,
        /// customers (public), internal or management.
        #[arg(long)]
        audience: Option<String>,
        /// SEV1..SEV4.
        #[arg(long)]
        severity: Option<String>,
        /// Classify significant (NIS2) / major (DORA): true or false.
        #[arg(long)]
        significant: Option<bool>,
        /// Give a crisis role to a person: incident_commander=anna (repeatable).
        #[arg(long = "role")]
        roles: Vec<String>,
        /// Tick a recovery step off: SERVICE:STEP (repeatable).
        #[arg(long = "done")]
        done: Vec<String>,
        /// Mark a regulatory report submitted: nis2-early-warning (repeatable).
        #[arg(long = "submitted")]
        submitted: Vec<String>,
        /// Who.
        #[arg(long)]
        by: Option<String>,
    },
    /// Acknowledge: you take it (its alerts stop escalating).
    Ack {
        /// Incident id.
        id: String,
        /// Who.
        #[arg(long)]
        by: Option<String>,
    },
    /// Resolve it (its alerts too).
    Resolve {
        /// Incident id.
        id: String,
        /// A closing word for customers.
        #[arg(long)]
        message: Option<String>,
        /// Who.
        #[arg(long)]
        by: Option<String>,
    },
    /// Add a note to the timeline.
    Note {
        /// Incident id.
        id: String,
        /// The note.
        text: String,
        /// Who.
        #[arg(long)]
        by: Option<String>,
    },
    /// Write the postmortem (Markdown) to standard output or a file.
    Postmortem {
        /// Incident id.
        id: String,
        /// Write it here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Add an action item: "title" or "title;owner;2026-12-01" (repeatable).
        #[arg(long = "action")]
        actions: Vec<String>,
    },
    /// Mean time to detect, acknowledge, mitigate and resolve, and RTO breaches.
    Stats {
        /// From (RFC 3339 or local date-time); 90 days ago by default.
        #[arg(long)]
        from: Option<String>,
        /// Until; now by default.
        #[arg(long)]
        until: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

struct Api {
    base: String,
    lang: Lang,
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl Api {
    fn new(base: &str, lang: Lang) -> anyhow::Result<Api> {
        Ok(Api {
            base: base.trim_end_matches('/').to_string(),
            lang,
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?,
            client: reqwest::Client::new(),
        })
    }

    fn token(&self) -> anyhow::Result<String> {
        crate::users_cli::api_token().ok_or_else(|| {
            anyhow::anyhow!(
                tr!(
                    "set CONTINUO_TOKEN to an API token (continuo token add), or CONTINUO_ADMIN_TOKEN",
                    "zet CONTINUO_TOKEN op een API-token (continuo token add), of CONTINUO_ADMIN_TOKEN"
                )
                .get(self.lang)
                .to_string()
            )
        })
    }

    /// GET or POST; the body on success, or the server's error message.
    fn call(
        &self,
        path: &str,
        post: Option<Value>,
        query: &[(&str, &str)],
    ) -> anyhow::Result<Result<String, String>> {
        let url = format!("{}{path}", self.base);
        let token = self.token()?;
        let mut request = match &post {
            Some(body) => self.client.post(&url).json(body),
            None => self.client.get(&url),
        };
        request = request.bearer_auth(token);
        request = request
            .query(query)
            .header("Accept-Language", self.lang.code());
        let (status, text) = self
            .runtime
            .block_on(async {
                let response = request.send().await?;
                let status = response.status();
                Ok::<_, reqwest::Error>((status, response.text().await?))
            })
            .map_err(|e| {
                anyhow::anyhow!(
                    "{}",
                    crate::reach::unreachable(&self.base, &e).get(self.lang)
                )
            })?;
        if status.is_success() {
            return Ok(Ok(text));
        }
        let message = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
            .unwrap_or(text);
        Ok(Err(format!("{url}: {status}: {message}")))
    }
}

fn t(text: Text, lang: Lang) -> String {
    text.get(lang).to_string()
}

fn text_of(v: &Value, lang: Lang) -> String {
    v.get(lang.code())
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn when(ms: Option<i64>) -> String {
    ms.and_then(|m| jiff::Timestamp::from_millisecond(m).ok())
        .map_or_else(
            || "—".into(),
            |t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string(),
        )
}

fn span(ms: Option<i64>) -> String {
    ms.map_or_else(|| "—".into(), continuo_core::incident::span_text)
}

/// Prints one incident for people.
fn print_incident(v: &Value, lang: Lang) {
    let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
    println!(
        "{} SEV{} {} — {}",
        s("id"),
        v["severity"].as_u64().unwrap_or(0),
        s("status"),
        s("title")
    );
    let m = &v["milestones"];
    let d = &v["durations"];
    for (label, key, dur) in [
        (tr!("started", "begonnen"), "started_ms", None),
        (
            tr!("detected", "gedetecteerd"),
            "detected_ms",
            Some("to_detect_ms"),
        ),
        (
            tr!("acknowledged", "bevestigd"),
            "acknowledged_ms",
            Some("to_acknowledge_ms"),
        ),
        (
            tr!("mitigated", "beperkt"),
            "mitigated_ms",
            Some("to_mitigate_ms"),
        ),
        (
            tr!("resolved", "opgelost"),
            "resolved_ms",
            Some("to_resolve_ms"),
        ),
    ] {
        let extra = dur.map_or_else(String::new, |k| format!("  (+{})", span(d[k].as_i64())));
        println!("  {:<14} {}{extra}", t(label, lang), when(m[key].as_i64()));
    }
    println!("{}", t(tr!("Services:", "Diensten:"), lang));
    for r in v["recovery"].as_array().into_iter().flatten() {
        let loss = r["data_loss"]
            .as_object()
            .map(|l| {
                let w = l.get("window_ms").and_then(Value::as_i64);
                format!(
                    "; {} {}",
                    t(tr!("data-loss window", "verliesvenster"), lang),
                    span(w)
                )
            })
            .unwrap_or_default();
        println!(
            "  {:<20} {}{loss}",
            r["service"].as_str().unwrap_or_default(),
            text_of(&r["rto"], lang)
        );
    }
    if let Some(roles) = v["roles"].as_object().filter(|r| !r.is_empty()) {
        println!("{}", t(tr!("Crisis team:", "Crisisteam:"), lang));
        for (role, who) in roles {
            println!("  {role:<22} {}", who.as_str().unwrap_or_default());
        }
    }
    let checklist = v["checklist"].as_array().cloned().unwrap_or_default();
    if !checklist.is_empty() {
        println!(
            "{}",
            t(
                tr!(
                    "Recovery checklist (in order):",
                    "Herstelchecklist (op volgorde):"
                ),
                lang
            )
        );
        for task in &checklist {
            println!("  {}", task["service"].as_str().unwrap_or_default());
            for (i, step) in task["steps"].as_array().into_iter().flatten().enumerate() {
                let mark = if step["done"].is_null() { "[ ]" } else { "[x]" };
                println!("    {mark} {}. {}", i + 1, text_of(&step["text"], lang));
            }
        }
    }
    let deadlines = v["deadlines"].as_array().cloned().unwrap_or_default();
    if !deadlines.is_empty() {
        println!("{}", t(tr!("Reporting deadlines:", "Meldtermijnen:"), lang));
        for dl in &deadlines {
            let state = if dl["submitted"].is_null() {
                text_of(&dl["countdown"], lang)
            } else {
                t(tr!("submitted", "ingediend"), lang)
            };
            println!(
                "  {:<22} {}  {}  ({state})",
                dl["key"].as_str().unwrap_or_default(),
                text_of(&dl["title"], lang),
                when(dl["due_ms"].as_i64())
            );
        }
    }
    for u in v["updates"].as_array().into_iter().flatten() {
        println!(
            "{} {} [{}]\n{}",
            t(tr!("Update", "Update"), lang),
            when(u["at_ms"].as_i64()),
            u["audience"].as_str().unwrap_or_default(),
            text_of(&u["body"], lang)
        );
    }
    println!("{}", t(tr!("Timeline:", "Tijdlijn:"), lang));
    for e in v["timeline"].as_array().into_iter().flatten() {
        println!(
            "  {}  {:<10} {}",
            when(e["at_ms"].as_i64()),
            e["by"].as_str().unwrap_or_default(),
            text_of(&e["text"], lang)
        );
    }
}

/// Runs an incident command against the server at `base`.
pub fn run(base: &str, command: IncidentCommand, lang: Lang) -> anyhow::Result<ExitCode> {
    let api = Api::new(base, lang)?;
    let fail = |message: String| {
        eprintln!("{message}");
        Ok(ExitCode::from(1))
    };
    let by = |b: Option<String>| json!(b.unwrap_or_else(|| "cli".into()));
    let show = |text: String, as_json: bool| -> anyhow::Result<ExitCode> {
        let v: Value = serde_json::from_str(&text)?;
        if as_json {
            println!("{}", serde_json::to_string_pretty(&v)?);
        } else {
            print_incident(&v, lang);
        }
        Ok(ExitCode::SUCCESS)
    };
    match command {
        IncidentCommand::List {
            status,
            from,
            until,
            json: as_json,
        } => {
            let mut q = Vec::new();
            for (k, v) in [("status", &status), ("from", &from), ("until", &until)] {
                if let Some(v) = v {
                    q.push((k, v.as_str()));
                }
            }
            match api.call("/api/v1/incidents", None, &q)? {
                Err(e) => fail(e),
                Ok(text) => {
                    let v: Value = serde_json::from_str(&text)?;
                    if as_json {
                        println!("{}", serde_json::to_string_pretty(&v)?);
                        return Ok(ExitCode::SUCCESS);
                    }
                    let list = v["incidents"].as_array().cloned().unwrap_or_default();
                    if list.is_empty() {
                        println!("{}", t(tr!("No incidents.", "Geen incidenten."), lang));
                    }
                    for i in list {
                        println!(
                            "{:<8} SEV{} {:<14} {}  {}",
                            i["id"].as_str().unwrap_or_default(),
                            i["severity"].as_u64().unwrap_or(0),
                            i["status"].as_str().unwrap_or_default(),
                            when(i["milestones"]["detected_ms"].as_i64()),
                            i["title"].as_str().unwrap_or_default()
                        );
                    }
                    Ok(ExitCode::SUCCESS)
                }
            }
        }
        IncidentCommand::Show { id, json: as_json } => {
            match api.call(&format!("/api/v1/incidents/{id}"), None, &[])? {
                Err(e) => fail(e),
                Ok(text) => show(text, as_json),
            }
        }
        IncidentCommand::Declare {
            title,
            services,
            severity,
            by: who,
        } => {
            let body = json!({ "title": title, "services": services, "severity": severity, "by": by(who) });
            match api.call("/api/v1/incidents", Some(body), &[])? {
                Err(e) => fail(e),
                Ok(text) => show(text, false),
            }
        }
        IncidentCommand::Update {
            id,
            status,
            message,
            audience,
            severity,
            significant,
            roles,
            done,
            submitted,
            by: who,
        } => {
            let who = by(who);
            let mut last = None;
            for role in &roles {
                let Some((role, person)) = role.split_once('=') else {
                    return fail(t(
                        tr!(
                            "--role `{role}`: write ROLE=PERSON, e.g. incident_commander=anna",
                            "--role `{role}`: schrijf ROL=PERSOON, bijv. incident_commander=anna"
                        ),
                        lang,
                    ));
                };
                let body = json!({ "role": role, "person": person, "by": who });
                match api.call(&format!("/api/v1/incidents/{id}/roles"), Some(body), &[])? {
                    Err(e) => return fail(e),
                    Ok(text) => last = Some(text),
                }
            }
            for step in &done {
                let parsed = step
                    .rsplit_once(':')
                    .and_then(|(s, n)| n.parse::<usize>().ok().map(|n| (s, n)));
                let Some((service, n)) = parsed else {
                    return fail(t(
                        tr!(
                            "--done `{step}`: write SERVICE:STEP, e.g. orders-db:2",
                            "--done `{step}`: schrijf DIENST:STAP, bijv. orders-db:2"
                        ),
                        lang,
                    ));
                };
                let body = json!({ "service": service, "step": n, "done": true, "by": who });
                match api.call(
                    &format!("/api/v1/incidents/{id}/checklist"),
                    Some(body),
                    &[],
                )? {
                    Err(e) => return fail(e),
                    Ok(text) => last = Some(text),
                }
            }
            for key in &submitted {
                match api.call(
                    &format!("/api/v1/incidents/{id}/reports/{key}/submit"),
                    Some(json!({ "by": who })),
                    &[],
                )? {
                    Err(e) => return fail(e),
                    Ok(text) => last = Some(text),
                }
            }
            if status.is_some()
                || message.is_some()
                || audience.is_some()
                || severity.is_some()
                || significant.is_some()
            {
                let body = json!({
                    "status": status, "message": message, "audience": audience,
                    "severity": severity, "significant": significant, "by": who,
                });
                match api.call(&format!("/api/v1/incidents/{id}/update"), Some(body), &[])? {
                    Err(e) => return fail(e),
                    Ok(text) => last = Some(text),
                }
            }
            match last {
                Some(text) => show(text, false),
                None => fail(t(
                    tr!(
                        "nothing to update: give --status, --message, --severity, --significant, --role, --done or --submitted",
                        "niets bij te werken: geef --status, --message, --severity, --significant, --role, --done of --submitted"
                    ),
                    lang,
                )),
            }
        }
        IncidentCommand::Ack { id, by: who } => {
            match api.call(
                &format!("/api/v1/incidents/{id}/ack"),
                Some(json!({ "by": by(who) })),
                &[],
            )? {
                Err(e) => fail(e),
                Ok(_) => {
                    println!("{}", t(tr!("acknowledged {id}", "{id} bevestigd"), lang));
                    Ok(ExitCode::SUCCESS)
                }
            }
        }
        IncidentCommand::Resolve {
            id,
            message,
            by: who,
        } => {
            let body = json!({ "message": message, "by": by(who) });
            match api.call(&format!("/api/v1/incidents/{id}/resolve"), Some(body), &[])? {
                Err(e) => fail(e),
                Ok(_) => {
                    println!("{}", t(tr!("resolved {id}", "{id} opgelost"), lang));
                    Ok(ExitCode::SUCCESS)
                }
            }
        }
        IncidentCommand::Note { id, text, by: who } => {
            match api.call(
                &format!("/api/v1/incidents/{id}/notes"),
                Some(json!({ "text": text, "by": by(who) })),
                &[],
            )? {
                Err(e) => fail(e),
                Ok(_) => {
                    println!("{}", t(tr!("noted on {id}", "genoteerd bij {id}"), lang));
                    Ok(ExitCode::SUCCESS)
                }
            }
        }
        IncidentCommand::Postmortem { id, out, actions } => {
            for action in &actions {
                let mut parts = action.splitn(3, ';');
                let title = parts.next().unwrap_or_default();
                let owner = parts.next().filter(|s| !s.is_empty());
                let due = parts.next().filter(|s| !s.is_empty());
                let body = json!({ "title": title, "owner": owner, "due": due, "by": "cli" });
                if let Err(e) =
                    api.call(&format!("/api/v1/incidents/{id}/actions"), Some(body), &[])?
                {
                    return fail(e);
                }
            }
            match api.call(
                &format!("/api/v1/incidents/{id}/postmortem"),
                None,
                &[("lang", lang.code())],
            )? {
                Err(e) => fail(e),
                Ok(markdown) => {
                    match out {
                        Some(path) => {
                            std::fs::write(&path, &markdown)
                                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
                            let p = path.display();
                            println!(
                                "{}",
                                t(
                                    tr!(
                                        "postmortem written to {p}",
                                        "postmortem geschreven naar {p}"
                                    ),
                                    lang
                                )
                            );
                        }
                        None => print!("{markdown}"),
                    }
                    Ok(ExitCode::SUCCESS)
                }
            }
        }
        IncidentCommand::Stats {
            from,
            until,
            json: as_json,
        } => {
            let mut q = Vec::new();
            for (k, v) in [("from", &from), ("until", &until)] {
                if let Some(v) = v {
                    q.push((k, v.as_str()));
                }
            }
            match api.call("/api/v1/incidents/stats", None, &q)? {
                Err(e) => fail(e),
                Ok(text) => {
                    let v: Value = serde_json::from_str(&text)?;
                    if as_json {
                        println!("{}", serde_json::to_string_pretty(&v)?);
                        return Ok(ExitCode::SUCCESS);
                    }
                    println!(
                        "{:<22} {:>9} {:>9} {:>9} {:>9} {:>9} {:>12}",
                        "",
                        t(tr!("incidents", "incidenten"), lang),
                        "MTTD",
                        "MTTA",
                        "MTTM",
                        "MTTR",
                        t(tr!("RTO breaches", "RTO-overschr."), lang)
                    );
                    let row = |name: String, f: &Value| {
                        println!(
                            "{name:<22} {:>9} {:>9} {:>9} {:>9} {:>9} {:>12}",
                            f["incidents"].as_u64().unwrap_or(0),
                            span(f["mttd_ms"].as_i64()),
                            span(f["mtta_ms"].as_i64()),
                            span(f["mttm_ms"].as_i64()),
                            span(f["mttr_ms"].as_i64()),
                            f["rto_breaches"].as_u64().unwrap_or(0)
                        );
                    };
                    row(t(tr!("all", "alles"), lang), &v["all"]);
                    for (tier, f) in v["by_tier"].as_object().into_iter().flatten() {
                        row(format!("tier {tier}"), f);
                    }
                    for (service, f) in v["by_service"].as_object().into_iter().flatten() {
                        row(service.clone(), f);
                    }
                    Ok(ExitCode::SUCCESS)
                }
            }
        }
    }
}
