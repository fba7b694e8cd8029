//! Figures over a period: mean time to detect, acknowledge, mitigate and resolve, per
//! service and per tier, and how often recovery breached the RTO.

use super::Recovery;
use super::book::Incident;
use serde::Serialize;
use std::collections::BTreeMap;

/// Means and counts for one group (a service, a tier, or everything).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Figures {
    /// Incidents counted.
    pub incidents: usize,
    /// Mean time to detect (started → detected), over those that have both.
    pub mttd_ms: Option<i64>,
    /// Mean time to acknowledge (detected → acknowledged).
    pub mtta_ms: Option<i64>,
    /// Mean time to mitigate (started → mitigated).
    pub mttm_ms: Option<i64>,
    /// Mean time to resolve (started → resolved).
    pub mttr_ms: Option<i64>,
    /// Services recovered later than their RTO.
    pub rto_breaches: usize,
    /// Services recovered within their RTO.
    pub rto_met: usize,
}

#[derive(Default)]
struct Sums {
    incidents: usize,
    sums: [(i64, i64); 4],
    breaches: usize,
    met: usize,
}

impl Sums {
    fn add_incident(&mut self, incident: &Incident) {
        self.incidents += 1;
        let d = incident.milestones.durations();
        for (slot, value) in [
            d.to_detect_ms,
            d.to_acknowledge_ms,
            d.to_mitigate_ms,
            d.to_resolve_ms,
        ]
        .into_iter()
        .enumerate()
        {
            if let Some(v) = value {
                self.sums[slot].0 += v;
                self.sums[slot].1 += 1;
            }
        }
    }

    fn add_recovery(&mut self, recovery: Recovery) {
        match recovery {
            Recovery::Met { .. } => self.met += 1,
            Recovery::Breached { .. } => self.breaches += 1,
            Recovery::Open { .. } => {}
        }
    }

    fn figures(&self) -> Figures {
        let mean = |(sum, n): (i64, i64)| (n > 0).then(|| sum / n);
        Figures {
            incidents: self.incidents,
            mttd_ms: mean(self.sums[0]),
            mtta_ms: mean(self.sums[1]),
            mttm_ms: mean(self.sums[2]),
            mttr_ms: mean(self.sums[3]),
            rto_breaches: self.breaches,
            rto_met: self.met,
        }
    }
}

/// The figures of a period.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Stats {
    /// Start of the period (UTC ms, inclusive).
    pub from_ms: i64,
    /// End of the period (UTC ms, exclusive).
    pub until_ms: i64,
    /// Over every incident.
    pub all: Figures,
    /// Per tier (1..4) of the services hit.
    pub by_tier: BTreeMap<u8, Figures>,
    /// Per service hit.
    pub by_service: BTreeMap<String, Figures>,
}

/// Figures over the incidents detected in `[from_ms, until_ms)`. An incident counts once
/// for each service it hit and once for each tier; RTO verdicts count per service, for
/// services that recovered.
pub fn stats(incidents: &[Incident], from_ms: i64, until_ms: i64, now_ms: i64) -> Stats {
    let mut all = Sums::default();
    let mut by_tier: BTreeMap<u8, Sums> = BTreeMap::new();
    let mut by_service: BTreeMap<String, Sums> = BTreeMap::new();
    for incident in incidents {
        let at = incident
            .milestones
            .detected_ms
            .or(incident.milestones.started_ms);
        if !at.is_some_and(|t| t >= from_ms && t < until_ms) {
            continue;
        }
        all.add_incident(incident);
        let mut tiers: Vec<u8> = incident.services.iter().map(|s| s.tier).collect();
        tiers.sort_unstable();
        tiers.dedup();
        for tier in tiers {
            by_tier.entry(tier).or_default().add_incident(incident);
        }
        for s in &incident.services {
            let sums = by_service.entry(s.service.clone()).or_default();
            sums.add_incident(incident);
            let r = s.recovery(now_ms);
            sums.add_recovery(r);
            all.add_recovery(r);
            by_tier.entry(s.tier).or_default().add_recovery(r);
        }
    }
    Stats {
        from_ms,
        until_ms,
        all: all.figures(),
        by_tier: by_tier.into_iter().map(|(k, v)| (k, v.figures())).collect(),
        by_service: by_service
            .into_iter()
            .map(|(k, v)| (k, v.figures()))
            .collect(),
    }
}
