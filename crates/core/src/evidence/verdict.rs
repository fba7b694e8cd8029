//! The verdict of a claim now: a pure function of the claim, its records and the time.
//! The freshest conclusive record inside the claim's validity window decides (met or
//! breached); a conclusive record only older than that leaves the claim *stale* (it was
//! proven once); none at all leaves it *unproven*. Inconclusive records are shown but
//! never decide. Readiness per service and per tier lists the claims in each state; it
//! is never a score.

use super::{Claim, ClaimKind, Evidence, Outcome, Subject};
use crate::text::Text;
use crate::tr;
use serde::Serialize;
use std::collections::BTreeMap;

/// Where a claim stands now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// The freshest record inside the window supports it.
    Met,
    /// The freshest record inside the window contradicts it.
    Breached,
    /// It was proven (or contradicted) once, but not inside the window.
    Stale,
    /// Nothing ever measured it.
    Unproven,
}

impl State {
    /// Every state, worst first as surfaces list them.
    pub const ALL: [State; 4] = [State::Breached, State::Stale, State::Unproven, State::Met];

    /// The API name.
    pub fn name(self) -> &'static str {
        match self {
            State::Met => "met",
            State::Breached => "breached",
            State::Stale => "stale",
            State::Unproven => "unproven",
        }
    }

    /// How it reads.
    pub fn text(self) -> Text {
        match self {
            State::Met => tr!("met", "gehaald"),
            State::Breached => tr!("breached", "geschonden"),
            State::Stale => tr!("stale", "verouderd"),
            State::Unproven => tr!("unproven", "onbewezen"),
        }
    }

    /// The value of the `continuo_claim_verdict` metric: 1 met, 0 unproven, -1 stale,
    /// -2 breached.
    pub fn metric(self) -> i64 {
        match self {
            State::Met => 1,
            State::Unproven => 0,
            State::Stale => -1,
            State::Breached => -2,
        }
    }
}

/// A claim with its verdict and the record that decided it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verdict {
    /// The claim.
    pub claim: Claim,
    /// Where it stands.
    pub state: State,
    /// The record that decided it (for `stale`: the last conclusive one, out of the
    /// window).
    pub evidence: Option<Evidence>,
    /// How old that record is at the time of the verdict (ms).
    pub age_ms: Option<i64>,
}

impl Verdict {
    /// One line about it, for a notice or a terminal: the claim, where it stands and
    /// the proof, e.g. "RTO breached: 2 h 5 min against 1 h (incident INC-3)" or
    /// "Runbook current stale: last proven 2026-01-04, valid for 90 d".
    pub fn summary(&self) -> Text {
        let claim = self.claim.kind.label();
        let state = self.state.text();
        let line = |en: String, nl: String| Text::new(en, nl);
        let Some(e) = &self.evidence else {
            return line(
                format!("{} {}: no evidence yet", claim.en, state.en),
                format!("{} {}: nog geen bewijs", claim.nl, state.nl),
            );
        };
        if self.state == State::Stale {
            let date = super::date_of(e.observed_ms);
            let valid = super::human_ms(self.claim.valid_ms);
            return line(
                format!(
                    "{} {}: last proven {date}, valid for {valid}",
                    claim.en, state.en
                ),
                format!(
                    "{} {}: laatst bewezen op {date}, geldig voor {valid}",
                    claim.nl, state.nl
                ),
            );
        }
        let source = e.source.kind.text();
        // A failover's id carries its instant after `@`: the gateway is what reads.
        let id = e.source.id.split('@').next().unwrap_or_default();
        let figures = match (&e.value, &e.target) {
            (Some(v), Some(t)) => Some((
                format!("{} against {}", v.display(), t.display()),
                format!(
                    "{} tegenover {}",
                    decimal_comma(&v.display()),
                    decimal_comma(&t.display())
                ),
            )),
            (Some(v), None) => Some((v.display(), decimal_comma(&v.display()))),
            _ => None,
        };
        match (figures, &e.note) {
            (Some((en, nl)), _) => line(
                format!("{} {}: {en} ({} {id})", claim.en, state.en, source.en),
                format!("{} {}: {nl} ({} {id})", claim.nl, state.nl, source.nl),
            ),
            // Without a figure the note says what the record is (a catalog fact, a
            // manual record's text).
            (None, Some(note)) => line(
                format!("{} {}: {}", claim.en, state.en, note.en),
                format!("{} {}: {}", claim.nl, state.nl, note.nl),
            ),
            (None, None) => line(
                format!("{} {} ({} {id})", claim.en, state.en, source.en),
                format!("{} {} ({} {id})", claim.nl, state.nl, source.nl),
            ),
        }
    }
}

/// A figure as Dutch writes it: `2.1 s` becomes `2,1 s`.
fn decimal_comma(figure: &str) -> String {
    let chars: Vec<char> = figure.chars().collect();
    chars
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let digit = |j: Option<&char>| j.is_some_and(char::is_ascii_digit);
            if c == '.'
                && digit(i.checked_sub(1).and_then(|j| chars.get(j)))
                && digit(chars.get(i + 1))
            {
                ','
            } else {
                c
            }
        })
        .collect()
}

/// The verdict of `claim` at `now_ms` from `records` (any records: those about other
/// claims or subjects, and those observed after `now_ms`, are ignored).
pub fn verdict(claim: &Claim, records: &[Evidence], now_ms: i64) -> Verdict {
    let freshest = records
        .iter()
        .filter(|r| r.claim == claim.kind && r.subject == claim.subject)
        .filter(|r| r.outcome != Outcome::Inconclusive && r.observed_ms <= now_ms)
        .max_by(|a, b| {
            a.observed_ms
                .cmp(&b.observed_ms)
                .then(a.recorded_ms.cmp(&b.recorded_ms))
                .then(a.id.cmp(&b.id))
        });
    let Some(record) = freshest else {
        return Verdict {
            claim: claim.clone(),
            state: State::Unproven,
            evidence: None,
            age_ms: None,
        };
    };
    let age = now_ms - record.observed_ms;
    let state = if age > claim.valid_ms {
        State::Stale
    } else if record.outcome == Outcome::Met {
        State::Met
    } else {
        State::Breached
    };
    Verdict {
        claim: claim.clone(),
        state,
        evidence: Some(record.clone()),
        age_ms: Some(age),
    }
}

/// The verdict of every claim.
pub fn verdicts(claims: &[Claim], records: &[Evidence], now_ms: i64) -> Vec<Verdict> {
    // Index once: each claim reads only its own records.
    let mut by_claim: BTreeMap<(ClaimKind, &Subject), Vec<Evidence>> = BTreeMap::new();
    for r in records {
        by_claim
            .entry((r.claim, &r.subject))
            .or_default()
            .push(r.clone());
    }
    claims
        .iter()
        .map(|c| {
            let own = by_claim
                .get(&(c.kind, &c.subject))
                .map(Vec::as_slice)
                .unwrap_or_default();
            verdict(c, own, now_ms)
        })
        .collect()
}

/// Which claims of a subject (or a tier) are in which state: names only, no score.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Readiness {
    /// Claims met.
    pub met: Vec<ClaimKind>,
    /// Claims breached.
    pub breached: Vec<ClaimKind>,
    /// Claims stale.
    pub stale: Vec<ClaimKind>,
    /// Claims unproven.
    pub unproven: Vec<ClaimKind>,
}

impl Readiness {
    fn add(&mut self, verdict: &Verdict) {
        let list = match verdict.state {
            State::Met => &mut self.met,
            State::Breached => &mut self.breached,
            State::Stale => &mut self.stale,
            State::Unproven => &mut self.unproven,
        };
        if !list.contains(&verdict.claim.kind) {
            list.push(verdict.claim.kind);
        }
    }

    /// Whether every claim is met.
    pub fn all_met(&self) -> bool {
        self.breached.is_empty() && self.stale.is_empty() && self.unproven.is_empty()
    }
}

/// Readiness per subject, in the order subjects first appear in `verdicts`.
pub fn readiness_by_subject(verdicts: &[Verdict]) -> Vec<(Subject, Readiness)> {
    let mut out: Vec<(Subject, Readiness)> = Vec::new();
    for v in verdicts {
        match out.iter_mut().find(|(s, _)| *s == v.claim.subject) {
            Some((_, r)) => r.add(v),
            None => {
                let mut r = Readiness::default();
                r.add(v);
                out.push((v.claim.subject.clone(), r));
            }
        }
    }
    out
}

/// Per tier, how many claims of its services are in each state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TierReadiness {
    /// The tier.
    pub tier: u8,
    /// Claims met, breached, stale and unproven, by kind.
    pub counts: BTreeMap<&'static str, BTreeMap<&'static str, u32>>,
    /// Claims per state over every kind.
    pub totals: BTreeMap<&'static str, u32>,
}

/// Readiness per tier, tiers ascending; service claims only.
pub fn readiness_by_tier(verdicts: &[Verdict]) -> Vec<TierReadiness> {
    let mut tiers: BTreeMap<u8, TierReadiness> = BTreeMap::new();
    for v in verdicts {
        let Some(tier) = v.claim.tier else { continue };
        let t = tiers.entry(tier).or_insert_with(|| TierReadiness {
            tier,
            ..TierReadiness::default()
        });
        *t.counts
            .entry(v.claim.kind.name())
            .or_default()
            .entry(v.state.name())
            .or_default() += 1;
        *t.totals.entry(v.state.name()).or_default() += 1;
    }
    tiers.into_values().collect()
}

/// An SLO's error budget over its window.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ErrorBudget {
    /// The objective, as a fraction.
    pub slo: f64,
    /// The window (ms).
    pub window_ms: i64,
    /// Downtime the window allows (minutes).
    pub allowed_minutes: f64,
    /// Downtime measured in it (minutes).
    pub spent_minutes: f64,
    /// What is left (negative: overspent).
    pub remaining_minutes: f64,
}

/// The error budget of an `slo` over `window_ms` with `down_minutes` measured.
pub fn error_budget(slo: f64, window_ms: i64, down_minutes: f64) -> ErrorBudget {
    let allowed = (1.0 - slo).max(0.0) * window_ms as f64 / 60_000.0;
    ErrorBudget {
        slo,
        window_ms,
        allowed_minutes: allowed,
        spent_minutes: down_minutes,
        remaining_minutes: allowed - down_minutes,
    }
}
