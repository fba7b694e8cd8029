//! `continuo gateway status|drain|undrain|failback`: the failover gateways of a running
//! server, through its API (state changes need CONTINUO_ADMIN_TOKEN).

use continuo_core::{Lang, tr};
use serde_json::Value;
use std::process::ExitCode;

/// What to do.
pub enum GatewayCommand {
    /// Show every gateway.
    Status {
        /// Print the server's JSON.
        json: bool,
    },
    /// Drain (`true`) or undrain an endpoint.
    Drain {
        /// The gateway.
        gateway: String,
        /// The endpoint's name.
        endpoint: String,
        /// Drain or undrain.
        drained: bool,
    },
    /// Return traffic to the primary tier.
    Failback {
        /// The gateway.
        gateway: String,
    },
}

impl From<crate::GatewayAction> for GatewayCommand {
    fn from(action: crate::GatewayAction) -> GatewayCommand {
        use crate::GatewayAction as A;
        match action {
            A::Status { json } => GatewayCommand::Status { json },
            A::Drain { gateway, endpoint } => GatewayCommand::Drain {
                gateway,
                endpoint,
                drained: true,
            },
            A::Undrain { gateway, endpoint } => GatewayCommand::Drain {
                gateway,
                endpoint,
                drained: false,
            },
            A::Failback { gateway } => GatewayCommand::Failback { gateway },
        }
    }
}

/// Path segments are percent-encoded: endpoint names may be URLs.
fn segment(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub fn run(base: &str, command: GatewayCommand, lang: Lang) -> anyhow::Result<ExitCode> {
    let base = base.trim_end_matches('/');
    let (url, post) = match &command {
        GatewayCommand::Status { .. } => (format!("{base}/api/v1/gateways"), false),
        GatewayCommand::Drain {
            gateway,
            endpoint,
            drained,
        } => (
            format!(
                "{base}/api/v1/gateways/{}/endpoints/{}/{}",
                segment(gateway),
                segment(endpoint),
                if *drained { "drain" } else { "undrain" }
            ),
            true,
        ),
        GatewayCommand::Failback { gateway } => (
            format!("{base}/api/v1/gateways/{}/failback", segment(gateway)),
            true,
        ),
    };
    let Some(token) = crate::users_cli::api_token() else {
        anyhow::bail!(
            tr!(
                "set CONTINUO_TOKEN to an API token (continuo token add), or CONTINUO_ADMIN_TOKEN",
                "zet CONTINUO_TOKEN op een API-token (continuo token add), of CONTINUO_ADMIN_TOKEN"
            )
            .get(lang)
            .to_string()
        );
    };
    continuo_notify::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (status, text) = runtime
        .block_on(async {
            let client = reqwest::Client::new();
            let request = if post {
                client.post(&url)
            } else {
                client.get(&url)
            };
            let request = request.bearer_auth(&token);
            let response = request.send().await?;
            let status = response.status();
            Ok::<_, reqwest::Error>((status, response.text().await?))
        })
        .map_err(|e| anyhow::anyhow!("{}", crate::reach::unreachable(base, &e).get(lang)))?;
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if status == reqwest::StatusCode::NOT_FOUND && body.is_null() {
        eprintln!(
            "{}",
            tr!(
                "{url}: this server runs no gateways",
                "{url}: deze server draait geen gateways"
            )
            .get(lang)
        );
        return Ok(ExitCode::from(1));
    }
    if !status.is_success() {
        let message = body
            .get("error")
            .and_then(Value::as_str)
            .map_or(text.clone(), str::to_string);
        eprintln!("{url}: {status}: {message}");
        return Ok(ExitCode::from(1));
    }
    match command {
        GatewayCommand::Status { json: true } => {
            println!("{}", serde_json::to_string_pretty(&body)?)
        }
        GatewayCommand::Status { json: false } => {
            let empty = Vec::new();
            let list = body
                .get("gateways")
                .and_then(Value::as_array)
                .unwrap_or(&empty);
            if list.is_empty() {
                println!("{}", tr!("no gateways", "geen gateways").get(lang));
            }
            for gateway in list {
                print_gateway(gateway, lang);
            }
        }
        GatewayCommand::Drain {
            gateway,
            endpoint,
            drained,
        } => {
            let done = if drained {
                tr!(
                    "{gateway}: {endpoint} drained",
                    "{gateway}: {endpoint} leeggemaakt"
                )
            } else {
                tr!(
                    "{gateway}: {endpoint} back in rotation",
                    "{gateway}: {endpoint} weer in roulatie"
                )
            };
            println!("{}", done.get(lang));
            print_gateway(&body, lang);
        }
        GatewayCommand::Failback { gateway } => {
            println!(
                "{}",
                tr!(
                    "{gateway}: traffic back on the primary tier",
                    "{gateway}: verkeer terug op de primaire laag"
                )
                .get(lang)
            );
            print_gateway(&body, lang);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn text<'v>(value: &'v Value, key: &str) -> &'v str {
    value.get(key).and_then(Value::as_str).unwrap_or("?")
}

fn print_gateway(gateway: &Value, lang: Lang) {
    let (id, service, listen, serving) = (
        text(gateway, "id"),
        text(gateway, "service"),
        text(gateway, "listen"),
        text(gateway, "serving"),
    );
    let serving = match (serving, lang) {
        ("primary", Lang::Nl) => "primaire laag",
        ("backup", Lang::Nl) => "back-uplaag",
        ("primary", _) => "primary tier",
        ("backup", _) => "backup tier",
        (other, _) => other,
    };
    println!(
        "{}",
        tr!(
            "{id} ({service}, {listen}): serving from the {serving}",
            "{id} ({service}, {listen}): bediend vanuit de {serving}"
        )
        .get(lang)
    );
    let empty = Vec::new();
    for endpoint in gateway
        .get("endpoints")
        .and_then(Value::as_array)
        .unwrap_or(&empty)
    {
        let state = text(endpoint, "state");
        let state = match (state, lang) {
            ("up", Lang::Nl) => "gezond",
            ("down", Lang::Nl) => "uit roulatie",
            ("drained", Lang::Nl) => "leeggemaakt",
            (other, _) => other,
        };
        println!(
            "  {:<20} {:<8} {:<22} {:<12} {}",
            text(endpoint, "name"),
            text(endpoint, "role"),
            text(endpoint, "address"),
            state,
            endpoint
                .get("last_error")
                .and_then(Value::as_str)
                .unwrap_or("")
        );
    }
    let events = gateway
        .get("events")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    for event in events.iter().rev().take(5).rev() {
        if let Ok(parsed) = serde_json::from_value::<EventLine>(event.clone()) {
            println!("  {} {}", parsed.at(), text(event, "event"));
        }
    }
}

#[derive(serde::Deserialize)]
struct EventLine {
    at_ms: i64,
}

impl EventLine {
    fn at(&self) -> String {
        jiff::Timestamp::from_millisecond(self.at_ms)
            .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
            .unwrap_or_default()
    }
}
