//! Every table the configuration has and the fields the decoder accepts in it, read from
//! the same lists the decoder checks unknown fields against (one `const` per table in
//! the section's module, `ChannelKind`'s settings for channels), so this cannot drift
//! from what loading accepts.
//!
//! It exists for the configuration reference: `crates/core/tests/configuration_reference.rs`
//! holds `docs/configuration.md` against it, and `continuo init --full`'s test checks the
//! full example uses every field.

use super::{TOP_LEVEL, channel, check, gateway, maintenance, on_call, organization};
use super::{response, risk, service, status_page};
use crate::catalog::incident::CrisisRole;
use crate::catalog::{ChannelKind, CheckKind};

/// One table of the configuration and the fields it accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// The name the reference uses as its heading: `[[service.check]]`, or for the
    /// fields of one kind `[[service.check]] kind = "http"`, or for a nested inline
    /// table `[[service]] runbook`; `top level` for the file's own keys.
    pub name: String,
    /// Where such tables sit in the TOML tree, as dotted keys with arrays left out:
    /// `service.check`, `service.check.expect`; empty for the top level.
    pub path: &'static str,
    /// For fields that only a table of one kind accepts: that `kind`'s value.
    pub kind: Option<&'static str>,
    /// The fields, in the decoder's order.
    pub fields: Vec<&'static str>,
}

fn section(name: &str, path: &'static str, fields: &[&'static str]) -> Section {
    Section {
        name: name.to_string(),
        path,
        kind: None,
        fields: fields.to_vec(),
    }
}

fn of_kind(
    table: &str,
    path: &'static str,
    kind: &'static str,
    fields: Vec<&'static str>,
) -> Section {
    Section {
        name: format!("{table} kind = \"{kind}\""),
        path,
        kind: Some(kind),
        fields,
    }
}

/// Every section and nested table, in the order of the reference.
pub fn sections() -> Vec<Section> {
    let mut out = vec![
        section("top level", "", TOP_LEVEL),
        section("[organization]", "organization", organization::ORGANIZATION),
        section("[server]", "server", organization::SERVER),
        section("[status_page]", "status_page", status_page::STATUS_PAGE),
        section("[[person]]", "person", on_call::PERSON),
        section("[[team]]", "team", on_call::TEAM),
        section("[[schedule]]", "schedule", on_call::SCHEDULE),
        section(
            "[[schedule.layer]]",
            "schedule.layer",
            on_call::SCHEDULE_LAYER,
        ),
        section(
            "[[schedule.override]]",
            "schedule.override",
            on_call::SCHEDULE_OVERRIDE,
        ),
        section("[[escalation]]", "escalation", on_call::ESCALATION),
        section(
            "[[escalation]] levels",
            "escalation.levels",
            on_call::ESCALATION_LEVEL,
        ),
        section("[[channel]]", "channel", channel::CHANNEL),
    ];
    for (name, kind) in ChannelKind::ALL {
        let settings = kind
            .required_settings()
            .iter()
            .chain(kind.optional_settings())
            .copied()
            .collect();
        out.push(of_kind("[[channel]]", "channel", name, settings));
    }
    out.extend([
        section("[[service]]", "service", service::SERVICE),
        section(
            "[[service]] depends_on",
            "service.depends_on",
            service::DEPENDENCY,
        ),
        section("[[service]] runbook", "service.runbook", service::RUNBOOK),
        section(
            "[[service]] status_page",
            "service.status_page",
            service::SERVICE_STATUS_PAGE,
        ),
        section(
            "[[service.endpoint]]",
            "service.endpoint",
            service::ENDPOINT,
        ),
        section("[[service.check]]", "service.check", check::CHECK),
    ]);
    for (name, kind) in CheckKind::ALL {
        let fields = check::check_kind_fields(kind).to_vec();
        out.push(of_kind("[[service.check]]", "service.check", name, fields));
    }
    let roles: Vec<&'static str> = CrisisRole::ALL.iter().map(|r| r.name()).collect();
    out.extend([
        section(
            "[[service.check]] expect",
            "service.check.expect",
            check::HTTP_EXPECT,
        ),
        section("[[risk]]", "risk", risk::RISK),
        section("[[maintenance]]", "maintenance", maintenance::MAINTENANCE),
        section("[[route]]", "route", response::ROUTE),
        section(
            "[[response_plan]]",
            "response_plan",
            response::RESPONSE_PLAN,
        ),
        section("[[response_plan]] roles", "response_plan.roles", &roles),
        section("[[gateway]]", "gateway", gateway::GATEWAY),
        section(
            "[[gateway.action]]",
            "gateway.action",
            gateway::GATEWAY_ACTION,
        ),
    ]);
    out
}
