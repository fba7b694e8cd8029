//! Presenting the catalog summary (`check`) and the business impact analysis (`bia`) as a
//! table, Markdown or JSON, in English or Dutch.

use continuo_core::analysis::{Bia, RecoveryVerdict, RiskLevel};
use continuo_core::catalog::{Catalog, CheckKind};
use continuo_core::diag::SourceMap;
use continuo_core::{Lang, Text, tr};
use std::fmt::Write;

/// Output formats of `continuo bia`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BiaFormat {
    /// Aligned columns for a terminal.
    Table,
    /// JSON for programs.
    Json,
    /// Markdown for documents and wikis.
    Markdown,
}

/// The one-screen summary `continuo check` prints for a valid configuration.
pub fn summary(catalog: &Catalog, sources: &SourceMap, lang: Lang) -> String {
    let mut out = String::new();
    let files: Vec<&str> = sources.files().map(|(_, s)| s.path.as_str()).collect();
    let root = files.first().copied().unwrap_or_default();
    let extra = files.len().saturating_sub(1);
    let _ = writeln!(
        out,
        "{}",
        tr!("{name} ({root}, {extra} included files)", "{name} ({root}, {extra} ingevoegde bestanden)"; name = catalog.organization.name).get(lang)
    );
    let tiers: Vec<String> = (1..=4)
        .map(|t| {
            let n = catalog
                .services
                .iter()
                .filter(|s| s.tier.value.0 == t)
                .count();
            format!("tier {t}: {n}")
        })
        .collect();
    let row = |label: Text, count: usize, detail: String| {
        let detail = if detail.is_empty() {
            String::new()
        } else {
            format!("  ({detail})")
        };
        format!("  {:<22}{count:>4}{detail}\n", label.get(lang))
    };
    out.push_str(&row(
        tr!("services", "diensten"),
        catalog.services.len(),
        tiers.join(", "),
    ));
    let checks: Vec<_> = catalog.services.iter().flat_map(|s| &s.checks).collect();
    let kinds: Vec<String> = CheckKind::ALL
        .iter()
        .filter_map(|(name, kind)| {
            let n = checks.iter().filter(|c| c.kind() == *kind).count();
            (n > 0).then(|| format!("{name} {n}"))
        })
        .collect();
    out.push_str(&row(
        tr!("checks", "checks"),
        checks.len(),
        kinds.join(", "),
    ));
    let endpoints: usize = catalog.services.iter().map(|s| s.endpoints.len()).sum();
    let redundant = catalog.services.iter().filter(|s| s.is_redundant()).count();
    out.push_str(&row(
        tr!("endpoints", "endpoints"),
        endpoints,
        tr!(
            "{redundant} services redundant",
            "{redundant} diensten redundant"
        )
        .get(lang)
        .to_string(),
    ));
    out.push_str(&row(
        tr!("teams", "teams"),
        catalog.teams.len(),
        String::new(),
    ));
    out.push_str(&row(
        tr!("people", "personen"),
        catalog.persons.len(),
        String::new(),
    ));
    out.push_str(&row(
        tr!("on-call schedules", "roosters"),
        catalog.schedules.len(),
        String::new(),
    ));
    out.push_str(&row(
        tr!("escalation policies", "escalatiebeleid"),
        catalog.escalations.len(),
        String::new(),
    ));
    out.push_str(&row(
        tr!("channels", "kanalen"),
        catalog.channels.len(),
        String::new(),
    ));
    let levels: Vec<String> = [
        RiskLevel::Critical,
        RiskLevel::High,
        RiskLevel::Medium,
        RiskLevel::Low,
    ]
    .iter()
    .filter_map(|level| {
        let n = catalog
            .risks
            .iter()
            .filter(|r| RiskLevel::of(r.score()) == *level)
            .count();
        (n > 0).then(|| format!("{} {n}", level_text(*level).get(lang)))
    })
    .collect();
    out.push_str(&row(
        tr!("risks", "risico's"),
        catalog.risks.len(),
        levels.join(", "),
    ));
    let graph = continuo_core::analysis::Graph::new(catalog);
    let spofs: Vec<&str> = graph
        .single_points_of_failure()
        .into_iter()
        .map(|(i, _)| graph.service(i).id.value.as_str())
        .collect();
    let spof_list = if spofs.is_empty() {
        "-".to_string()
    } else {
        spofs.join(", ")
    };
    let _ = writeln!(
        out,
        "  {:<26}{spof_list}",
        tr!("single points of failure", "single points of failure").get(lang)
    );
    out
}

fn level_text(level: RiskLevel) -> Text {
    match level {
        RiskLevel::Low => tr!("low", "laag"),
        RiskLevel::Medium => tr!("medium", "middel"),
        RiskLevel::High => tr!("high", "hoog"),
        RiskLevel::Critical => tr!("critical", "kritiek"),
    }
}

fn verdict_text(verdict: RecoveryVerdict) -> Text {
    match verdict {
        RecoveryVerdict::WithinRto => tr!("within RTO", "binnen RTO"),
        RecoveryVerdict::ExceedsRto => tr!("exceeds RTO", "boven RTO"),
        RecoveryVerdict::ExceedsMtpd => tr!("exceeds MTPD", "boven MTPD"),
    }
}

/// `EUR 12,500` (English) or `EUR 12.500` (Dutch), rounded to whole units.
fn money(amount: f64, currency: &str, lang: Lang) -> String {
    let whole = amount.round() as u64;
    let digits = whole.to_string();
    let separator = if lang == Lang::Nl { '.' } else { ',' };
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(separator);
        }
        grouped.push(c);
    }
    format!("{currency} {grouped}")
}

fn or_dash(text: Option<String>) -> String {
    text.filter(|t| !t.is_empty()).unwrap_or_else(|| "-".into())
}

/// One row of the services table, as plain cells.
fn service_cells(bia: &Bia, lang: Lang) -> Vec<Vec<String>> {
    bia.services
        .iter()
        .map(|s| {
            vec![
                s.priority_rank.to_string(),
                s.id.clone(),
                s.tier.to_string(),
                s.owner.clone(),
                s.rto.to_string(),
                or_dash(s.rpo.map(|d| d.to_string())),
                or_dash(s.mtpd.map(|d| d.to_string())),
                s.effective_recovery.to_string(),
                verdict_text(s.recovery_verdict).get(lang).to_string(),
                if s.spof {
                    tr!("yes", "ja")
                } else {
                    tr!("no", "nee")
                }
                .get(lang)
                .to_string(),
                or_dash(Some(s.depends_on.join(", "))),
                or_dash(Some(s.impacted_by.join(", "))),
                or_dash(s.cost_exposure_rto.map(|c| money(c, &bia.currency, lang))),
            ]
        })
        .collect()
}

fn service_headers(lang: Lang) -> Vec<String> {
    [
        tr!("#", "#"),
        tr!("service", "dienst"),
        tr!("tier", "tier"),
        tr!("owner", "eigenaar"),
        tr!("RTO", "RTO"),
        tr!("RPO", "RPO"),
        tr!("MTPD", "MTPD"),
        tr!("effective", "effectief"),
        tr!("verdict", "oordeel"),
        tr!("SPOF", "SPOF"),
        tr!("depends on", "hangt af van"),
        tr!("impacted by", "geraakt door"),
        tr!("cost for RTO", "kosten over RTO"),
    ]
    .iter()
    .map(|t| t.get(lang).to_string())
    .collect()
}

/// Renders the BIA in the chosen format.
pub fn render(bia: &Bia, format: BiaFormat, lang: Lang, color: bool) -> anyhow::Result<String> {
    Ok(match format {
        BiaFormat::Json => serde_json::to_string_pretty(bia)? + "\n",
        BiaFormat::Table => table(bia, lang, color),
        BiaFormat::Markdown => markdown(bia, lang),
    })
}

fn paint(text: &str, code: &str, color: bool) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

fn table(bia: &Bia, lang: Lang, color: bool) -> String {
    let mut out = String::new();
    let title = tr!("Business impact analysis: {name}", "Bedrijfsimpactanalyse: {name}"; name = bia.organization);
    let _ = writeln!(out, "{}\n", paint(title.get(lang), "1", color));
    let _ = writeln!(
        out,
        "{}",
        tr!("Services in recovery order", "Diensten in herstelvolgorde").get(lang)
    );
    let headers = service_headers(lang);
    let rows = service_cells(bia, lang);
    let widths: Vec<usize> = (0..headers.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .chain([headers[c].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String], row: Option<usize>| {
        let mut text = String::new();
        for (c, cell) in cells.iter().enumerate() {
            let padded = format!("{cell:<w$}", w = widths[c]);
            let painted = match (row, c) {
                (Some(r), 8) => match bia.services[r].recovery_verdict {
                    RecoveryVerdict::WithinRto => padded,
                    RecoveryVerdict::ExceedsRto => paint(&padded, "33", color),
                    RecoveryVerdict::ExceedsMtpd => paint(&padded, "31", color),
                },
                (Some(r), 9) if bia.services[r].spof => paint(&padded, "31", color),
                (None, _) => paint(&padded, "1", color),
                _ => padded,
            };
            text.push_str(&painted);
            text.push_str("  ");
        }
        text.trim_end().to_string() + "\n"
    };
    out.push_str(&line(&headers, None));
    for (r, row) in rows.iter().enumerate() {
        out.push_str(&line(row, Some(r)));
    }
    let _ = writeln!(
        out,
        "\n{}",
        tr!(
            "effective = longest chain of RTOs below the service, if it and what it depends on fail together",
            "effectief = langste keten van RTO's onder de dienst, als die en alles waarvan hij afhangt samen uitvallen"
        )
        .get(lang)
    );
    let _ = writeln!(
        out,
        "{}: {}",
        tr!(
            "Total cost exposure over the declared RTOs",
            "Totale kosten over de gedeclareerde RTO's"
        )
        .get(lang),
        money(bia.total_cost_exposure_rto, &bia.currency, lang)
    );

    let spofs: Vec<_> = bia.services.iter().filter(|s| s.spof).collect();
    let _ = writeln!(
        out,
        "\n{}",
        tr!("Single points of failure", "Single points of failure").get(lang)
    );
    if spofs.is_empty() {
        let _ = writeln!(out, "  {}", tr!("none", "geen").get(lang));
    }
    for s in spofs {
        let list = s.spof_for.join(", ");
        let _ = writeln!(
            out,
            "  {:<20} {}",
            s.id,
            tr!("threatens {list}", "bedreigt {list}").get(lang)
        );
    }

    let _ = writeln!(
        out,
        "\n{}",
        tr!(
            "Risk matrix (impact x likelihood)",
            "Risicomatrix (impact x kans)"
        )
        .get(lang)
    );
    let cell_width = bia
        .risk_matrix
        .iter()
        .flatten()
        .map(|ids| ids.join(",").chars().count())
        .max()
        .unwrap_or(1)
        .max(3);
    let likelihood = tr!("likelihood", "kans");
    let _ = write!(out, "  {:<10}", tr!("impact", "impact").get(lang));
    for l in 1..=5 {
        let _ = write!(
            out,
            " | {:<cell_width$}",
            format!("{} {l}", &likelihood.get(lang)[..1].to_uppercase())
        );
    }
    out.push('\n');
    for i in (1..=5).rev() {
        let _ = write!(out, "  {:<10}", format!("I {i}"));
        for l in 1..=5 {
            let ids = &bia.risk_matrix[i - 1][l - 1];
            let text = if ids.is_empty() {
                ".".to_string()
            } else {
                ids.join(",")
            };
            let padded = format!("{text:<cell_width$}");
            let code = match RiskLevel::of((i * l) as u8) {
                RiskLevel::Critical => "31",
                RiskLevel::High => "33",
                _ => "0",
            };
            let _ = write!(
                out,
                " | {}",
                if ids.is_empty() {
                    padded
                } else {
                    paint(&padded, code, color)
                }
            );
        }
        out.push('\n');
    }

    let _ = writeln!(
        out,
        "\n{}",
        tr!("Risks by score", "Risico's op score").get(lang)
    );
    for r in &bia.risks {
        let hits = r.hits.join(", ");
        let _ = writeln!(
            out,
            "  {:>2}  {:<9} {:<22} {}  [{}]",
            r.score,
            level_text(r.level).get(lang),
            r.id,
            r.title,
            tr!("hits: {hits}", "raakt: {hits}").get(lang)
        );
    }
    out
}

fn markdown(bia: &Bia, lang: Lang) -> String {
    let mut out = String::new();
    let title = tr!("Business impact analysis: {name}", "Bedrijfsimpactanalyse: {name}"; name = bia.organization);
    let _ = writeln!(out, "# {}\n", title.get(lang));
    let _ = writeln!(
        out,
        "## {}\n",
        tr!("Services in recovery order", "Diensten in herstelvolgorde").get(lang)
    );
    let escape = |s: &str| s.replace('|', "\\|");
    let headers = service_headers(lang);
    let _ = writeln!(out, "| {} |", headers.join(" | "));
    let _ = writeln!(out, "|{}|", vec!["---"; headers.len()].join("|"));
    for row in service_cells(bia, lang) {
        let cells: Vec<String> = row.iter().map(|c| escape(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    let _ = writeln!(
        out,
        "\n{}: **{}**",
        tr!(
            "Total cost exposure over the declared RTOs",
            "Totale kosten over de gedeclareerde RTO's"
        )
        .get(lang),
        money(bia.total_cost_exposure_rto, &bia.currency, lang)
    );
    let _ = writeln!(
        out,
        "\n## {}\n",
        tr!("Single points of failure", "Single points of failure").get(lang)
    );
    let mut any = false;
    for s in bia.services.iter().filter(|s| s.spof) {
        any = true;
        let list = s.spof_for.join("`, `");
        let _ = writeln!(
            out,
            "- `{}`: {}",
            s.id,
            tr!("threatens `{list}`", "bedreigt `{list}`").get(lang)
        );
    }
    if !any {
        let _ = writeln!(out, "{}", tr!("None.", "Geen.").get(lang));
    }
    let _ = writeln!(
        out,
        "\n## {}\n",
        tr!(
            "Risk matrix (impact x likelihood)",
            "Risicomatrix (impact x kans)"
        )
        .get(lang)
    );
    let likelihood = tr!("likelihood", "kans");
    let _ = write!(out, "| {} |", tr!("impact", "impact").get(lang));
    for l in 1..=5 {
        let _ = write!(out, " {} {l} |", likelihood.get(lang));
    }
    let _ = writeln!(out, "\n|---|---|---|---|---|---|");
    for i in (1..=5).rev() {
        let _ = write!(out, "| {i} |");
        for l in 1..=5 {
            let ids = &bia.risk_matrix[i - 1][l - 1];
            let _ = write!(out, " {} |", ids.join(", "));
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "\n## {}\n",
        tr!("Risks by score", "Risico's op score").get(lang)
    );
    let _ = writeln!(
        out,
        "| {} |\n|---|---|---|---|---|",
        [
            tr!("score", "score"),
            tr!("level", "niveau"),
            tr!("risk", "risico"),
            tr!("title", "titel"),
            tr!("hits", "raakt")
        ]
        .iter()
        .map(|t| t.get(lang))
        .collect::<Vec<_>>()
        .join(" | ")
    );
    for r in &bia.risks {
        let _ = writeln!(
            out,
            "| {} | {} | `{}` | {} | {} |",
            r.score,
            level_text(r.level).get(lang),
            r.id,
            escape(&r.title),
            r.hits.join(", ")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::money;
    use continuo_core::Lang;

    #[test]
    fn money_groups_thousands_per_language() {
        assert_eq!(money(1_234_567.4, "EUR", Lang::En), "EUR 1,234,567");
        assert_eq!(money(1_234_567.5, "EUR", Lang::Nl), "EUR 1.234.568");
        assert_eq!(money(999.0, "EUR", Lang::En), "EUR 999");
        assert_eq!(money(0.0, "USD", Lang::En), "USD 0");
    }
}
