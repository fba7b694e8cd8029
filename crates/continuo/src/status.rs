//! `continuo status`: the live state of a running server, in the terminal.

use anyhow::Context;
use continuo_core::{Lang, tr};
use serde_json::Value;
use std::fmt::Write as _;
use std::process::ExitCode;

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum StatusFormat {
    /// A table per service.
    Table,
    /// The API's JSON.
    Json,
}

fn ago(now_ms: i64, at_ms: Option<i64>, lang: Lang) -> String {
    let Some(at) = at_ms else {
        return "-".into();
    };
    let secs = ((now_ms - at) / 1000).max(0) as u64;
    let d = continuo_core::HumanDuration::from_secs(secs);
    tr!("{d} ago", "{d} geleden").get(lang).to_string()
}

pub fn run(base: &str, format: StatusFormat, lang: Lang) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let base = base.trim_end_matches('/').to_string();
    // Private reads need a role: an API token (CONTINUO_TOKEN) or the admin token.
    let token = crate::users_cli::api_token().unwrap_or_default();
    let fetched = runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()?;
        let services: Value = client
            .get(format!("{base}/api/v1/services"))
            .bearer_auth(&token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let checks: Value = client
            .get(format!("{base}/api/v1/checks"))
            .bearer_auth(&token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        Ok::<_, reqwest::Error>((services, checks))
    });
    let (services, checks) = match fetched {
        Ok(v) => v,
        Err(e) => {
            eprintln!("{}", crate::reach::unreachable(&base, &e).get(lang));
            return Ok(ExitCode::from(1));
        }
    };
    if format == StatusFormat::Json {
        let both =
            serde_json::json!({ "services": services["services"], "checks": checks["checks"] });
        println!("{}", serde_json::to_string_pretty(&both)?);
        return Ok(ExitCode::SUCCESS);
    }
    let now_ms = jiff::Timestamp::now().as_millisecond();
    let empty = Vec::new();
    let checks = checks["checks"].as_array().unwrap_or(&empty);
    let mut out = String::new();
    let (service_word, health_word) = if lang == Lang::Nl {
        ("dienst", "gezondheid")
    } else {
        ("service", "health")
    };
    let _ = writeln!(
        out,
        "{service_word:<20} {:<5} {health_word:<12} checks",
        "tier"
    );
    for service in services["services"].as_array().unwrap_or(&empty) {
        let id = service["id"].as_str().unwrap_or("?");
        let mut health = service["health"].as_str().unwrap_or("unknown").to_string();
        if let Some(causes) = service["root_causes"].as_array().filter(|c| !c.is_empty()) {
            let list: Vec<&str> = causes.iter().filter_map(Value::as_str).collect();
            let by = tr!("by", "door").get(lang).to_string();
            health = format!("{health} ({by} {})", list.join(", "));
        }
        let _ = writeln!(
            out,
            "{:<20} {:<5} {:<12}",
            id,
            service["tier"].as_u64().unwrap_or(0),
            health
        );
        for check in checks.iter().filter(|c| c["service"] == id) {
            let last = &check["last"];
            let message = last["message"]
                .as_str()
                .or_else(|| check["problem"].as_str())
                .unwrap_or("");
            let latency = last["timings"]["total_us"]
                .as_u64()
                .map(|us| format!("{:.1} ms", us as f64 / 1000.0))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "    {:<28} {:<9} {:<10} {:<12} {}",
                check["id"].as_str().unwrap_or("?"),
                check["kind"].as_str().unwrap_or("?"),
                check["status"].as_str().unwrap_or("?"),
                ago(now_ms, check["since_ms"].as_i64(), lang),
                if message.is_empty() {
                    latency
                } else {
                    format!("{latency} {message}")
                }
            );
        }
    }
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}
