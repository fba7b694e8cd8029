//! `continuo oncall` (who is on call, from the configuration alone) and `continuo ack` /
//! `continuo resolve` (against a running server's API, with the admin token).

use continuo_core::{Catalog, Lang, tr};
use continuo_engine::alerts::on_call;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use std::process::ExitCode;

fn local(ms: i64, tz: &TimeZone) -> String {
    Timestamp::from_millisecond(ms)
        .map(|t| {
            t.to_zoned_datetime(tz.clone())
                .strftime("%Y-%m-%d %H:%M %Z")
                .to_string()
        })
        .unwrap_or_else(|_| ms.to_string())
}

/// Prints who is on call in every schedule at `at` (now when absent).
pub fn oncall(
    catalog: &Catalog,
    at: Option<&str>,
    json: bool,
    lang: Lang,
) -> anyhow::Result<ExitCode> {
    let tz = TimeZone::get(&catalog.organization.timezone).unwrap_or(TimeZone::UTC);
    let at_ms = match at {
        None => Timestamp::now().as_millisecond(),
        Some(text) => continuo_core::oncall::parse_instant(text, &tz).ok_or_else(|| {
            anyhow::anyhow!(
                tr!(
                    "--at `{text}` is not a date and time; write 2026-12-24T18:00 (local) or 2026-12-24T17:00:00Z",
                    "--at `{text}` is geen datum en tijd; schrijf 2026-12-24T18:00 (lokaal) of 2026-12-24T17:00:00Z"
                )
                .get(lang)
                .to_string()
            )
        })?,
    };
    let views = on_call(catalog, at_ms);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "at_ms": at_ms, "schedules": views })
            )?
        );
        return Ok(ExitCode::SUCCESS);
    }
    let name_of = |id: &str| {
        catalog
            .persons
            .iter()
            .find(|p| p.id.value == id)
            .map_or_else(|| id.to_string(), |p| p.name.clone())
    };
    println!(
        "{}",
        tr!("On call at {when}", "Dienst op {when}"; when = local(at_ms, &tz)).get(lang)
    );
    if views.is_empty() {
        println!(
            "{}",
            tr!("  (no schedules configured)", "  (geen roosters ingesteld)").get(lang)
        );
    }
    for view in views {
        match &view.now {
            Some(who) => println!(
                "  {:<24} {}  {}",
                view.name,
                name_of(&who.person),
                tr!("until {t}", "tot {t}"; t = local(who.until_ms, &tz)).get(lang)
            ),
            None => println!("  {:<24} {}", view.name, tr!("nobody", "niemand").get(lang)),
        }
        for next in &view.next {
            println!(
                "  {:<24}   {} {} {}",
                "",
                tr!("then", "daarna").get(lang),
                name_of(&next.person),
                tr!("from {t}", "vanaf {t}"; t = local(next.from_ms, &tz)).get(lang)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Acknowledges (`action` = `ack`) or resolves an alert on a running server.
pub fn act(
    base: &str,
    alert: &str,
    action: &str,
    by: Option<&str>,
    lang: Lang,
) -> anyhow::Result<ExitCode> {
    let Some(token) = crate::users_cli::api_token() else {
        anyhow::bail!(
            tr!(
                "set CONTINUO_TOKEN to an API token with the responder role (`continuo token add`), or CONTINUO_ADMIN_TOKEN to the server's admin token",
                "zet CONTINUO_TOKEN op een API-token met de rol responder (`continuo token add`), of CONTINUO_ADMIN_TOKEN op het beheertoken van de server"
            )
            .get(lang)
            .to_string()
        );
    };
    let url = format!(
        "{}/api/v1/alerts/{alert}/{action}",
        base.trim_end_matches('/')
    );
    let body = serde_json::json!({ "by": by.unwrap_or("cli") });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (status, text) = runtime
        .block_on(async {
            let response = reqwest::Client::new()
                .post(&url)
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await?;
            let status = response.status();
            Ok::<_, reqwest::Error>((status, response.text().await?))
        })
        .map_err(|e| anyhow::anyhow!("{}", crate::reach::unreachable(base, &e).get(lang)))?;
    if status.is_success() {
        let done = if action == "ack" {
            tr!("acknowledged {alert}", "{alert} bevestigd")
        } else {
            tr!("resolved {alert}", "{alert} opgelost")
        };
        println!("{}", done.get(lang));
        Ok(ExitCode::SUCCESS)
    } else {
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
            .unwrap_or(text);
        eprintln!("{url}: {status}: {message}");
        Ok(ExitCode::from(1))
    }
}
