//! The pure state machines of detection: one check's state from its observations (with
//! fail/recover thresholds, degradation and flapping), a check's status across locations
//! (quorum), and a service's health from its checks and its dependencies (root cause or
//! only impacted).
//!
//! Time is an argument (UTC unix milliseconds); nothing here reads a clock.

use crate::analysis::Graph;
use crate::catalog::{Catalog, DependencyKind};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// Status of a check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    /// Not enough observations yet, or the probe cannot run here.
    Unknown,
    /// Working.
    Up,
    /// Answering, but not as it should (slow, certificate expiring soon).
    Degraded,
    /// Failing.
    Down,
    /// Deliberately not evaluated.
    Paused,
}

impl CheckStatus {
    /// The lowercase name used in the API and the database.
    pub fn name(self) -> &'static str {
        match self {
            CheckStatus::Unknown => "unknown",
            CheckStatus::Up => "up",
            CheckStatus::Degraded => "degraded",
            CheckStatus::Down => "down",
            CheckStatus::Paused => "paused",
        }
    }

    /// Parses the lowercase name.
    pub fn from_name(name: &str) -> Option<CheckStatus> {
        [
            CheckStatus::Unknown,
            CheckStatus::Up,
            CheckStatus::Degraded,
            CheckStatus::Down,
            CheckStatus::Paused,
        ]
        .into_iter()
        .find(|s| s.name() == name)
    }
}

/// What one observation says, as far as the state machine is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Everything as expected.
    Success,
    /// Answered, but slower than the latency threshold or otherwise below expectations.
    Degraded,
    /// Failed.
    Failure,
    /// The probe could not tell (e.g. ICMP unavailable on this host).
    Unknown,
}

impl Verdict {
    /// Every verdict.
    pub const ALL: [Verdict; 4] = [
        Verdict::Success,
        Verdict::Degraded,
        Verdict::Failure,
        Verdict::Unknown,
    ];

    /// The lowercase name used in the API, the database and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Success => "success",
            Verdict::Degraded => "degraded",
            Verdict::Failure => "failure",
            Verdict::Unknown => "unknown",
        }
    }

    /// Parses the lowercase name.
    pub fn from_name(name: &str) -> Option<Verdict> {
        Verdict::ALL.into_iter().find(|v| v.name() == name)
    }
}

/// How a check turns observations into a status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Consecutive failures before it is down.
    pub fail_threshold: u32,
    /// Consecutive successes before a down or degraded check is up again.
    pub recover_threshold: u32,
    /// The window in which transitions are counted for flapping.
    pub flap_window_ms: i64,
    /// This many transitions within the window mark the check as flapping.
    pub flap_threshold: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            fail_threshold: 2,
            recover_threshold: 2,
            flap_window_ms: 30 * 60 * 1000,
            flap_threshold: 6,
        }
    }
}

/// The evolving state of one check at one location.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckState {
    /// Current status.
    pub status: CheckStatus,
    /// Since when (unix ms), `None` before the first observation.
    pub since_ms: Option<i64>,
    /// Consecutive failures so far.
    pub failures: u32,
    /// Consecutive observations that were not failures, but degraded.
    pub degraded: u32,
    /// Consecutive successes so far.
    pub successes: u32,
    /// Times of recent transitions, for flapping detection.
    pub recent_transitions: VecDeque<i64>,
    /// Too many transitions in the window: alert once, then hold until it settles.
    pub flapping: bool,
    /// The first failing observation of the current failure (kept while down, cleared
    /// once the check is not failing): when an incident started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_failure_ms: Option<i64>,
}

impl Default for CheckState {
    fn default() -> Self {
        CheckState {
            status: CheckStatus::Unknown,
            since_ms: None,
            failures: 0,
            degraded: 0,
            successes: 0,
            recent_transitions: VecDeque::new(),
            flapping: false,
            first_failure_ms: None,
        }
    }
}

/// A change of status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// Status before.
    pub from: CheckStatus,
    /// Status after.
    pub to: CheckStatus,
    /// When (unix ms).
    pub at_ms: i64,
    /// Whether the check is flapping after this transition (alerting stays quiet).
    pub flapping: bool,
}

/// Feeds one observation into the state. Returns the new state and the transition, if
/// the status changed.
pub fn step(
    state: &CheckState,
    policy: &Policy,
    verdict: Verdict,
    at_ms: i64,
) -> (CheckState, Option<Transition>) {
    let mut next = state.clone();
    if state.status == CheckStatus::Paused {
        return (next, None);
    }
    match verdict {
        Verdict::Success => {
            next.successes += 1;
            next.failures = 0;
            next.degraded = 0;
        }
        Verdict::Degraded => {
            next.degraded += 1;
            next.failures = 0;
            next.successes = 0;
        }
        Verdict::Failure => {
            next.failures += 1;
            next.first_failure_ms.get_or_insert(at_ms);
            next.successes = 0;
            next.degraded = 0;
        }
        Verdict::Unknown => {}
    }
    let fail = policy.fail_threshold.max(1);
    let recover = policy.recover_threshold.max(1);
    let target = match (state.status, verdict) {
        (_, Verdict::Unknown) if state.status == CheckStatus::Unknown => CheckStatus::Unknown,
        (_, Verdict::Unknown) => state.status,
        (_, Verdict::Failure) if next.failures >= fail => CheckStatus::Down,
        (_, Verdict::Failure) => state.status,
        // The first evidence that a check works is believed at once; recovering from a
        // bad state needs `recover` confirmations.
        (CheckStatus::Unknown, Verdict::Success) => CheckStatus::Up,
        (CheckStatus::Up, Verdict::Success) => CheckStatus::Up,
        (_, Verdict::Success) if next.successes >= recover => CheckStatus::Up,
        (_, Verdict::Success) => state.status,
        // Degradation: a working check needs `fail` degraded observations to be
        // degraded; a down check that answers again is degraded after `recover`.
        (CheckStatus::Down, Verdict::Degraded) if next.degraded >= recover => CheckStatus::Degraded,
        (CheckStatus::Down, Verdict::Degraded) => CheckStatus::Down,
        (CheckStatus::Degraded, Verdict::Degraded) => CheckStatus::Degraded,
        (_, Verdict::Degraded) if next.degraded >= fail => CheckStatus::Degraded,
        (_, Verdict::Degraded) => state.status,
    };
    while next
        .recent_transitions
        .front()
        .is_some_and(|&t| t <= at_ms - policy.flap_window_ms)
    {
        next.recent_transitions.pop_front();
    }
    let mut transition = None;
    if target != state.status {
        next.status = target;
        next.since_ms = Some(at_ms);
        // The first status after Unknown is not a flap.
        if state.status != CheckStatus::Unknown {
            next.recent_transitions.push_back(at_ms);
        }
        next.flapping = next.recent_transitions.len() >= policy.flap_threshold;
        transition = Some(Transition {
            from: state.status,
            to: target,
            at_ms,
            flapping: next.flapping,
        });
    } else {
        if next.since_ms.is_none() {
            next.since_ms = Some(at_ms);
        }
        // Settled: fewer than half the threshold in the window.
        if next.flapping && next.recent_transitions.len() * 2 < policy.flap_threshold {
            next.flapping = false;
        }
    }
    if target != CheckStatus::Down && !matches!(verdict, Verdict::Failure | Verdict::Unknown) {
        next.first_failure_ms = None;
    }
    (next, transition)
}

/// Pauses or resumes a check.
pub fn set_paused(
    state: &CheckState,
    paused: bool,
    at_ms: i64,
) -> (CheckState, Option<Transition>) {
    let to = if paused {
        CheckStatus::Paused
    } else {
        CheckStatus::Unknown
    };
    if state.status == to || (!paused && state.status != CheckStatus::Paused) {
        return (state.clone(), None);
    }
    let next = CheckState {
        status: to,
        since_ms: Some(at_ms),
        ..CheckState::default()
    };
    let transition = Transition {
        from: state.status,
        to,
        at_ms,
        flapping: false,
    };
    (next, Some(transition))
}

/// A check's status over several locations: down only when at least `quorum` locations
/// see it down. Below the quorum a failing location makes the check degraded (it fails
/// from somewhere, which deserves a look but not a page).
pub fn combine_locations(statuses: &[CheckStatus], quorum: u32) -> CheckStatus {
    let quorum = quorum.max(1) as usize;
    let count = |s: CheckStatus| statuses.iter().filter(|&&x| x == s).count();
    let active = statuses.len() - count(CheckStatus::Paused);
    if statuses.is_empty() || active == 0 {
        return if statuses.is_empty() {
            CheckStatus::Unknown
        } else {
            CheckStatus::Paused
        };
    }
    let down = count(CheckStatus::Down);
    if down >= quorum {
        CheckStatus::Down
    } else if down > 0 || count(CheckStatus::Degraded) > 0 {
        CheckStatus::Degraded
    } else if count(CheckStatus::Up) > 0 {
        CheckStatus::Up
    } else {
        CheckStatus::Unknown
    }
}

/// Health of a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// No check can tell, and nothing it depends on is failing.
    Unknown,
    /// Working.
    Operational,
    /// Working less well: a check is degraded, or a soft dependency is failing.
    Degraded,
    /// Failing because a hard dependency fails: not a root cause of its own.
    Impacted,
    /// Failing, and nothing it hard-depends on fails: a root cause.
    Down,
}

impl Health {
    /// Every health, from working to failing.
    pub const ALL: [Health; 5] = [
        Health::Operational,
        Health::Degraded,
        Health::Impacted,
        Health::Down,
        Health::Unknown,
    ];

    /// The lowercase name used in the API and metrics (as serialised).
    pub fn name(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Operational => "operational",
            Health::Degraded => "degraded",
            Health::Impacted => "impacted",
            Health::Down => "down",
        }
    }
}

/// A service's health with its explanation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceHealth {
    /// The health.
    pub health: Health,
    /// What its own checks say, before looking at dependencies.
    pub own: CheckStatus,
    /// For an impacted or degraded-by-dependency service: the root-cause services.
    pub root_causes: Vec<String>,
    /// For a down service: the first failing observation of its own failing checks
    /// (filled in by the engine, which holds the check states).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing_since_ms: Option<i64>,
}

/// Computes every service's health from its checks' statuses (by check id) and its
/// dependencies. A service whose own checks fail while a hard dependency is down is
/// `Impacted` and names the root causes; a service without checks of its own is
/// `Impacted` when a hard dependency is down.
pub fn service_health(
    catalog: &Catalog,
    checks: &BTreeMap<String, CheckStatus>,
) -> BTreeMap<String, ServiceHealth> {
    service_health_with(catalog, &|id| checks.get(id).copied())
}

/// [`service_health`] with the checks' statuses looked up by id (unknown when `None`),
/// so a caller with many checks need not build a map of them first.
pub fn service_health_with(
    catalog: &Catalog,
    status_of: &dyn Fn(&str) -> Option<CheckStatus>,
) -> BTreeMap<String, ServiceHealth> {
    let graph = Graph::new(catalog);
    let mut result: BTreeMap<String, ServiceHealth> = BTreeMap::new();
    // Dependencies first (hard and soft), so every dependency's health is known when
    // needed. Not the recovery priority order: that one is quadratic in a long chain,
    // and the engine recomputes health on every change.
    for i in graph.dependencies_first() {
        let service = graph.service(i);
        let statuses: Vec<CheckStatus> = service
            .checks
            .iter()
            .map(|c| status_of(&c.id.value).unwrap_or(CheckStatus::Unknown))
            .filter(|s| *s != CheckStatus::Paused)
            .collect();
        // The worst own check decides; checks still warming up (unknown) do not hide
        // the others.
        let own = [CheckStatus::Down, CheckStatus::Degraded, CheckStatus::Up]
            .into_iter()
            .find(|s| statuses.contains(s))
            .unwrap_or(CheckStatus::Unknown);
        let mut hard_causes = Vec::new();
        let mut soft_causes = Vec::new();
        for dep in &service.depends_on {
            let Some(h) = result.get(&dep.service.value) else {
                continue;
            };
            let causes: Vec<String> = match h.health {
                Health::Down => vec![dep.service.value.clone()],
                Health::Impacted => h.root_causes.clone(),
                _ => continue,
            };
            match dep.kind {
                DependencyKind::Hard => hard_causes.extend(causes),
                DependencyKind::Soft => soft_causes.extend(causes),
            }
        }
        hard_causes.sort();
        hard_causes.dedup();
        soft_causes.sort();
        soft_causes.dedup();
        let (health, root_causes) = match own {
            CheckStatus::Down | CheckStatus::Unknown if !hard_causes.is_empty() => {
                (Health::Impacted, hard_causes)
            }
            CheckStatus::Down => (Health::Down, Vec::new()),
            CheckStatus::Degraded => (Health::Degraded, soft_causes),
            CheckStatus::Up if !soft_causes.is_empty() => (Health::Degraded, soft_causes),
            CheckStatus::Up => (Health::Operational, Vec::new()),
            _ if !soft_causes.is_empty() => (Health::Degraded, soft_causes),
            _ => (Health::Unknown, Vec::new()),
        };
        result.insert(
            service.id.value.clone(),
            ServiceHealth {
                health,
                own,
                root_causes,
                failing_since_ms: None,
            },
        );
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 60_000; // one minute between observations

    /// Feeds verdicts (S success, D degraded, F failure, U unknown) one minute apart and
    /// returns the status after each, as a string of letters (u/U/G/D/P).
    fn run(policy: Policy, verdicts: &str) -> String {
        let mut state = CheckState::default();
        let mut out = String::new();
        for (i, c) in verdicts.chars().enumerate() {
            let verdict = match c {
                'S' => Verdict::Success,
                'D' => Verdict::Degraded,
                'F' => Verdict::Failure,
                _ => Verdict::Unknown,
            };
            state = step(&state, &policy, verdict, i as i64 * T).0;
            out.push(match state.status {
                CheckStatus::Unknown => '?',
                CheckStatus::Up => 'U',
                CheckStatus::Degraded => 'G',
                CheckStatus::Down => 'D',
                CheckStatus::Paused => 'P',
            });
        }
        out
    }

    fn policy(fail: u32, recover: u32) -> Policy {
        Policy {
            fail_threshold: fail,
            recover_threshold: recover,
            ..Policy::default()
        }
    }

    #[test]
    fn thresholds() {
        let cases = [
            // (fail, recover, verdicts, statuses)
            (1, 1, "SFS", "UDU"),
            (2, 2, "SFSFS", "UUUUU"),
            (2, 2, "SFFSSS", "UUDDUU"),
            (3, 2, "FFFFSFSS", "??DDDDDU"),
            (2, 3, "SFFSSFSSS", "UUDDDDDDU"),
            (2, 2, "UUU", "???"),
            (2, 2, "SUFUF", "UUUUD"),
        ];
        for (fail, recover, verdicts, expected) in cases {
            assert_eq!(
                run(policy(fail, recover), verdicts),
                expected,
                "fail {fail} recover {recover}: {verdicts}"
            );
        }
    }

    #[test]
    fn degraded() {
        let cases = [
            (2, 2, "SDDS", "UUGG"),
            (2, 2, "SDDSS", "UUGGU"),
            (2, 2, "SDSD", "UUUU"),
            (2, 2, "SDDFF", "UUGGD"),
            (2, 2, "FFDD", "?DDG"),
            (2, 2, "FFDSS", "?DDDU"),
        ];
        for (fail, recover, verdicts, expected) in cases {
            assert_eq!(run(policy(fail, recover), verdicts), expected, "{verdicts}");
        }
    }

    #[test]
    fn transitions_are_reported_once_with_their_time() {
        let p = policy(2, 1);
        let (s1, t1) = step(&CheckState::default(), &p, Verdict::Success, 1000);
        assert_eq!(
            t1.map(|t| (t.from, t.to, t.at_ms)),
            Some((CheckStatus::Unknown, CheckStatus::Up, 1000))
        );
        let (s2, t2) = step(&s1, &p, Verdict::Failure, 2000);
        assert_eq!(t2, None);
        let (s3, t3) = step(&s2, &p, Verdict::Failure, 3000);
        assert_eq!(
            t3.map(|t| (t.from, t.to)),
            Some((CheckStatus::Up, CheckStatus::Down))
        );
        assert_eq!(s3.since_ms, Some(3000));
        let (_, t4) = step(&s3, &p, Verdict::Failure, 4000);
        assert_eq!(t4, None);
    }

    #[test]
    fn flapping_is_flagged_and_clears_when_it_settles() {
        let p = Policy {
            fail_threshold: 1,
            recover_threshold: 1,
            flap_window_ms: 10 * T,
            flap_threshold: 4,
        };
        let mut state = CheckState::default();
        let mut flags = Vec::new();
        // Alternate for 8 minutes, then succeed for 12.
        let verdicts: Vec<Verdict> = (0..8)
            .map(|i| {
                if i % 2 == 0 {
                    Verdict::Success
                } else {
                    Verdict::Failure
                }
            })
            .chain(std::iter::repeat_n(Verdict::Success, 12))
            .collect();
        for (i, v) in verdicts.into_iter().enumerate() {
            let (next, transition) = step(&state, &p, v, i as i64 * T);
            if let Some(t) = transition {
                flags.push(t.flapping);
            }
            state = next;
        }
        // Transitions: U (the first, not counted), D, U, D, U (the 4th: flapping), D, U, D,
        // and back to U when the successes start.
        assert_eq!(
            flags,
            [false, false, false, false, true, true, true, true, true]
        );
        assert!(!state.flapping, "settled after a quiet window");
    }

    #[test]
    fn paused_checks_ignore_observations() {
        let (paused, t) = set_paused(&CheckState::default(), true, 5);
        assert_eq!(t.map(|t| t.to), Some(CheckStatus::Paused));
        let (still, t) = step(&paused, &Policy::default(), Verdict::Failure, 6);
        assert_eq!((still.status, t), (CheckStatus::Paused, None));
        let (resumed, t) = set_paused(&still, false, 7);
        assert_eq!(
            (resumed.status, t.map(|t| t.to)),
            (CheckStatus::Unknown, Some(CheckStatus::Unknown))
        );
    }

    #[test]
    fn quorum_over_locations() {
        use CheckStatus::*;
        let cases: [(&[CheckStatus], u32, CheckStatus); 9] = [
            (&[Down], 1, Down),
            (&[Down, Up, Up], 1, Down),
            (&[Down, Up, Up], 2, Degraded),
            (&[Down, Down, Up], 2, Down),
            (&[Up, Up], 2, Up),
            (&[Unknown, Up], 2, Up),
            (&[Unknown, Unknown], 1, Unknown),
            (&[], 1, Unknown),
            (&[Paused, Paused], 1, Paused),
        ];
        for (statuses, quorum, expected) in cases {
            assert_eq!(
                combine_locations(statuses, quorum),
                expected,
                "{statuses:?} quorum {quorum}"
            );
        }
    }
}
