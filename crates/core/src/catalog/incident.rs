//! The incident vocabulary the configuration speaks: crisis roles, severities and
//! reporting regimes. The rules that use them live in `crate::incident`.

use crate::text::Text;
use crate::tr;
use serde::{Deserialize, Serialize};

/// A role in the crisis team.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrisisRole {
    /// Leads the response and decides.
    IncidentCommander,
    /// Keeps customers, staff, management and partners informed.
    CommunicationsLead,
    /// Leads the technical recovery.
    OperationsLead,
    /// Keeps the timeline.
    Scribe,
}

impl CrisisRole {
    /// Every role, most senior first.
    pub const ALL: [CrisisRole; 4] = [
        CrisisRole::IncidentCommander,
        CrisisRole::CommunicationsLead,
        CrisisRole::OperationsLead,
        CrisisRole::Scribe,
    ];

    /// The config and API name (`incident_commander`).
    pub fn name(self) -> &'static str {
        match self {
            CrisisRole::IncidentCommander => "incident_commander",
            CrisisRole::CommunicationsLead => "communications_lead",
            CrisisRole::OperationsLead => "operations_lead",
            CrisisRole::Scribe => "scribe",
        }
    }

    /// The role with this name (`-` may stand for `_`).
    pub fn from_name(name: &str) -> Option<CrisisRole> {
        let name = name.trim().replace('-', "_").to_ascii_lowercase();
        CrisisRole::ALL.into_iter().find(|r| r.name() == name)
    }

    /// The name shown to people.
    pub fn text(self) -> Text {
        match self {
            CrisisRole::IncidentCommander => tr!("incident commander", "incidentcommandant"),
            CrisisRole::CommunicationsLead => {
                tr!("communications lead", "communicatieverantwoordelijke")
            }
            CrisisRole::OperationsLead => tr!("operations lead", "operationeel leider"),
            CrisisRole::Scribe => tr!("scribe", "notulist"),
        }
    }
}

/// How bad an incident is, SEV1 (worst) to SEV4.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Severity(pub u8);

impl Severity {
    /// `SEV1` .. `SEV4`.
    pub fn name(self) -> String {
        format!("SEV{}", self.0)
    }

    /// Parses `SEV1`..`SEV4` (any case) or `1`..`4`.
    pub fn parse(text: &str) -> Option<Severity> {
        let t = text.trim();
        let digits = t
            .strip_prefix("SEV")
            .or_else(|| t.strip_prefix("sev"))
            .unwrap_or(t);
        match digits.parse::<u8>() {
            Ok(n @ 1..=4) => Some(Severity(n)),
            _ => None,
        }
    }
}

/// A reporting regime an organisation can be subject to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Regime {
    /// EU NIS2 directive (significant incidents).
    Nis2,
    /// EU DORA regulation (major ICT-related incidents).
    Dora,
}

impl Regime {
    /// The config name.
    pub fn name(self) -> &'static str {
        match self {
            Regime::Nis2 => "nis2",
            Regime::Dora => "dora",
        }
    }

    /// The name shown to people.
    pub fn title(self) -> &'static str {
        match self {
            Regime::Nis2 => "NIS2",
            Regime::Dora => "DORA",
        }
    }
}
