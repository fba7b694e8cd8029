//! Pure analyses over the catalog: the dependency graph, recovery priority, impact
//! closure, effective recovery time, single points of failure, the risk matrix and
//! downtime cost exposure, assembled into a business impact analysis ([`Bia`]).
//!
//! Every function here tolerates an invalid catalog (dangling references, cycles): it
//! ignores what it cannot resolve and never loops, so callers may show partial results.

use crate::catalog::{Catalog, DependencyKind, Service};
use crate::duration::HumanDuration;
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

/// The services and their dependency edges, by index into `catalog.services`.
pub struct Graph<'c> {
    catalog: &'c Catalog,
    index: HashMap<&'c str, usize>,
    /// `deps[i]`: services `i` depends on, with the kind of dependency.
    deps: Vec<Vec<(usize, DependencyKind)>>,
    /// `dependents[i]`: services that depend on `i`.
    dependents: Vec<Vec<(usize, DependencyKind)>>,
}

/// A service's place in the catalog's recovery priority order
/// ([`Graph::priority_order`], most urgent first), computed for the whole catalog once
/// and remembered in it: a catalog is not changed after it is loaded (one changed by hand
/// calls [`Catalog::index`] again, which forgets it).
pub fn recovery_rank(catalog: &Catalog, id: &str) -> Option<usize> {
    catalog
        .recovery_ranks
        .get_or_init(|| {
            let graph = Graph::new(catalog);
            graph
                .priority_order()
                .into_iter()
                .enumerate()
                .map(|(rank, i)| (graph.service(i).id.value.clone(), rank))
                .collect()
        })
        .get(id)
        .copied()
}

impl<'c> Graph<'c> {
    /// Builds the graph; references to unknown services are left out.
    pub fn new(catalog: &'c Catalog) -> Graph<'c> {
        let mut index = HashMap::new();
        for (i, service) in catalog.services.iter().enumerate() {
            index.entry(service.id.value.as_str()).or_insert(i);
        }
        let n = catalog.services.len();
        let mut deps = vec![Vec::new(); n];
        let mut dependents = vec![Vec::new(); n];
        // `added_for[j] == i` once `i -> j` is in: a service naming one dependency twice
        // gets one edge, without scanning its list (a service depending on 10,000 others
        // would make that quadratic).
        let mut added_for = vec![usize::MAX; n];
        for (i, service) in catalog.services.iter().enumerate() {
            for dep in &service.depends_on {
                if let Some(&j) = index.get(dep.service.value.as_str())
                    && added_for[j] != i
                {
                    added_for[j] = i;
                    deps[i].push((j, dep.kind));
                    dependents[j].push((i, dep.kind));
                }
            }
        }
        Graph {
            catalog,
            index,
            deps,
            dependents,
        }
    }

    /// The service at an index.
    pub fn service(&self, i: usize) -> &'c Service {
        &self.catalog.services[i]
    }

    /// Index of a service by id.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// Number of services.
    pub fn len(&self) -> usize {
        self.deps.len()
    }

    /// True when the catalog has no services.
    pub fn is_empty(&self) -> bool {
        self.deps.is_empty()
    }

    fn hard(edges: &[(usize, DependencyKind)]) -> impl Iterator<Item = usize> + '_ {
        edges
            .iter()
            .filter(|(_, k)| *k == DependencyKind::Hard)
            .map(|(i, _)| *i)
    }

    /// Services `i` depends on directly, hard dependencies only.
    pub fn hard_deps(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        Self::hard(&self.deps[i])
    }

    /// Everything reachable from `start` (not including it) following `next`.
    fn reach(&self, start: usize, next: impl Fn(usize) -> Vec<usize>) -> BTreeSet<usize> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![start];
        while let Some(i) = stack.pop() {
            for j in next(i) {
                if j != start && seen.insert(j) {
                    stack.push(j);
                }
            }
        }
        seen
    }

    /// Impact closure: every service that goes down, transitively, when `i` fails (hard
    /// dependencies), not including `i` itself.
    pub fn impact_closure(&self, i: usize) -> BTreeSet<usize> {
        self.reach(i, |j| Self::hard(&self.dependents[j]).collect())
    }

    /// Services that are only degraded when `i` fails: they soft-depend on `i` or on
    /// something in its impact closure, and are not themselves impacted.
    pub fn degraded_closure(&self, i: usize) -> BTreeSet<usize> {
        let impacted = self.impact_closure(i);
        let mut degraded = BTreeSet::new();
        for &j in impacted.iter().chain(std::iter::once(&i)) {
            for &(k, kind) in &self.dependents[j] {
                if kind == DependencyKind::Soft && k != i && !impacted.contains(&k) {
                    degraded.insert(k);
                }
            }
        }
        degraded
    }

    /// Impacted-by set: every service whose failure takes `i` down (its transitive hard
    /// dependencies).
    pub fn impacted_by(&self, i: usize) -> BTreeSet<usize> {
        self.reach(i, |j| Self::hard(&self.deps[j]).collect())
    }

    /// Cycles in the dependency graph (hard and soft edges), each as a path of indices
    /// whose last element depends on the first. Each strongly connected component yields
    /// one cycle.
    pub fn cycles(&self) -> Vec<Vec<usize>> {
        let mut cycles = Vec::new();
        for component in self.strongly_connected() {
            let first = component[0];
            let self_loop = self.deps[first].iter().any(|&(d, _)| d == first);
            if component.len() == 1 && !self_loop {
                continue;
            }
            // Walk from the component's first service to find a path back to it.
            let members: BTreeSet<usize> = component.iter().copied().collect();
            if let Some(path) = self.path_back(first, &members) {
                cycles.push(path);
            }
        }
        cycles
    }

    /// A shortest path first -> ... -> x where x depends on `first`, inside `members`.
    fn path_back(&self, first: usize, members: &BTreeSet<usize>) -> Option<Vec<usize>> {
        let mut previous: HashMap<usize, usize> = HashMap::new();
        let mut queue = std::collections::VecDeque::from([first]);
        let mut visited = BTreeSet::from([first]);
        while let Some(i) = queue.pop_front() {
            for &(j, _) in &self.deps[i] {
                if j == first {
                    let mut path = vec![i];
                    let mut at = i;
                    while let Some(&p) = previous.get(&at) {
                        path.push(p);
                        at = p;
                    }
                    path.reverse();
                    return Some(path);
                }
                if members.contains(&j) && visited.insert(j) {
                    previous.insert(j, i);
                    queue.push_back(j);
                }
            }
        }
        None
    }

    /// Tarjan's strongly connected components over every edge, sorted.
    fn strongly_connected(&self) -> Vec<Vec<usize>> {
        let mut components = self.components(|_| true);
        components.sort();
        components
    }

    /// Tarjan's strongly connected components over the edges `keep` accepts, iteratively
    /// (deep catalogs must not overflow the stack). Each component is sorted; they come
    /// out dependencies first: a component appears after every component it depends on.
    fn components(&self, keep: impl Fn(DependencyKind) -> bool) -> Vec<Vec<usize>> {
        let n = self.len();
        let mut index = vec![usize::MAX; n];
        let mut low = vec![0; n];
        let mut on_stack = vec![false; n];
        let mut stack = Vec::new();
        let mut next_index = 0;
        let mut components = Vec::new();
        for root in 0..n {
            if index[root] != usize::MAX {
                continue;
            }
            let mut work: Vec<(usize, usize)> = vec![(root, 0)];
            index[root] = next_index;
            low[root] = next_index;
            next_index += 1;
            stack.push(root);
            on_stack[root] = true;
            while let Some(&mut (v, ref mut edge)) = work.last_mut() {
                if let Some(&(w, kind)) = self.deps[v].get(*edge) {
                    *edge += 1;
                    if !keep(kind) {
                        continue;
                    }
                    if index[w] == usize::MAX {
                        index[w] = next_index;
                        low[w] = next_index;
                        next_index += 1;
                        stack.push(w);
                        on_stack[w] = true;
                        work.push((w, 0));
                    } else if on_stack[w] {
                        low[v] = low[v].min(index[w]);
                    }
                } else {
                    work.pop();
                    if let Some(&(parent, _)) = work.last() {
                        low[parent] = low[parent].min(low[v]);
                    }
                    if low[v] == index[v] {
                        let mut component = Vec::new();
                        while let Some(w) = stack.pop() {
                            on_stack[w] = false;
                            component.push(w);
                            if w == v {
                                break;
                            }
                        }
                        component.sort_unstable();
                        components.push(component);
                    }
                }
            }
        }
        components
    }

    /// Every service once, each after the services it depends on (hard and soft); the
    /// members of a cycle come together, in index order. Linear in services and edges.
    pub fn dependencies_first(&self) -> Vec<usize> {
        self.components(|_| true).into_iter().flatten().collect()
    }

    /// The ordering key of a service on its own: lower tier first, then shorter RTO, then
    /// more (transitive) dependents.
    fn own_key(&self, i: usize) -> (u8, Duration, Reverse<usize>) {
        let s = self.service(i);
        (
            s.tier.value.0,
            s.rto.value.get(),
            Reverse(self.impact_closure(i).len()),
        )
    }

    /// Recovery priority order: the order in which to restore services after a wide
    /// outage. Most urgent first (tier, then RTO, then number of dependents), and a hard
    /// dependency is never placed after a service that needs it: a dependency inherits
    /// the urgency of the most urgent service that needs it.
    pub fn priority_order(&self) -> Vec<usize> {
        let n = self.len();
        let own: Vec<_> = (0..n).map(|i| self.own_key(i)).collect();
        let inherited: Vec<_> = (0..n)
            .map(|i| {
                self.impact_closure(i)
                    .into_iter()
                    .map(|j| own[j])
                    .chain(std::iter::once(own[i]))
                    .min()
                    .unwrap_or(own[i])
            })
            .collect();
        let mut waiting: Vec<usize> = (0..n)
            .map(|i| self.hard_deps(i).filter(|&d| d != i).count())
            .collect();
        // Kahn's algorithm with the most urgent ready service first: `ready` holds what
        // has all its dependencies placed, `unplaced` everything not placed yet, both in
        // urgency order, so each step is a logarithmic pick instead of a scan of all.
        let key = |i: usize| (inherited[i], own[i], self.service(i).id.value.as_str(), i);
        let mut ready: BTreeSet<_> = (0..n).filter(|&i| waiting[i] == 0).map(key).collect();
        let mut unplaced: BTreeSet<_> = (0..n).map(key).collect();
        let mut order = Vec::with_capacity(n);
        while order.len() < n {
            // In a cycle nothing is ready; take the most urgent remaining one so the
            // analysis still finishes (the cycle itself is reported by validation).
            let Some(next) = ready.pop_first().or_else(|| unplaced.first().copied()) else {
                break;
            };
            // Never placed before: a service enters `ready` once, when its last
            // dependency is placed, and only while it is unplaced.
            unplaced.remove(&next);
            let i = next.3;
            order.push(i);
            for j in Self::hard(&self.dependents[i]) {
                if j != i && waiting[j] > 0 {
                    waiting[j] -= 1;
                    if waiting[j] == 0 && unplaced.contains(&key(j)) {
                        ready.insert(key(j));
                    }
                }
            }
        }
        order
    }

    /// Effective recovery time: the longest chain of RTOs below and including `i`. In the
    /// worst case a service and everything it hard-depends on fail together, and each is
    /// restored only once what it needs is back. Returns the total and the chain, from
    /// the deepest dependency up to `i`.
    pub fn effective_recovery(&self, i: usize) -> (Duration, Vec<usize>) {
        let mut memo: HashMap<usize, (Duration, Vec<usize>)> = HashMap::new();
        let mut visiting = BTreeSet::new();
        self.longest_chain(i, &mut memo, &mut visiting)
    }

    fn longest_chain(
        &self,
        i: usize,
        memo: &mut HashMap<usize, (Duration, Vec<usize>)>,
        visiting: &mut BTreeSet<usize>,
    ) -> (Duration, Vec<usize>) {
        if let Some(found) = memo.get(&i) {
            return found.clone();
        }
        visiting.insert(i);
        let mut best: (Duration, Vec<usize>) = (Duration::ZERO, Vec::new());
        let deps: Vec<usize> = self.hard_deps(i).collect();
        for d in deps {
            if visiting.contains(&d) {
                continue; // A cycle: reported by validation, ignored here.
            }
            let below = self.longest_chain(d, memo, visiting);
            if below.0 > best.0 || best.1.is_empty() {
                best = below;
            }
        }
        visiting.remove(&i);
        let mut chain = best.1;
        chain.push(i);
        let result = (best.0 + self.service(i).rto.value.get(), chain);
        memo.insert(i, result.clone());
        result
    }

    /// Single points of failure in brief, for a warning per service: each non-redundant
    /// service that a tier 1-2 service is or hard-depends on (transitively), with at
    /// most `shown` of the other tier 1-2 services it threatens (the first declared)
    /// and whether there are more.
    ///
    /// Near-linear, unlike [`Graph::single_points_of_failure`] whose answer alone is
    /// quadratic in a dependency chain (the last service of a chain of 10,000 threatens
    /// 9,999 others): the tier 1-2 services flow down the hard dependencies, once per
    /// strongly connected component, dependents first, and each keeps only the first
    /// few it was handed (the first `k` of a union are the first `k` of the parts' first
    /// `k`).
    pub fn single_points_of_failure_in_brief(&self, shown: usize) -> Vec<SinglePoint> {
        let n = self.len();
        // Room for the service itself besides `shown` others, and one more to know
        // whether there are more.
        let keep = shown.saturating_add(2);
        let mut component_of = vec![0; n];
        let components = self.components(|k| k == DependencyKind::Hard);
        for (c, members) in components.iter().enumerate() {
            for &i in members {
                component_of[i] = c;
            }
        }
        let mut threats: Vec<Vec<usize>> = vec![Vec::new(); components.len()];
        // Dependents first: a component hands its threats to what it hard-depends on.
        for c in (0..components.len()).rev() {
            let mut mine = std::mem::take(&mut threats[c]);
            mine.extend(
                components[c]
                    .iter()
                    .copied()
                    .filter(|&i| self.service(i).tier.value.0 <= 2),
            );
            first_distinct(&mut mine, keep);
            for &i in &components[c] {
                for d in self.hard_deps(i) {
                    let target = component_of[d];
                    if target != c {
                        threats[target].extend_from_slice(&mine);
                        // Bounded as it grows, so a service with 10,000 dependents
                        // holds `keep`, not 10,000 x `keep`.
                        if threats[target].len() > keep.saturating_mul(8) {
                            first_distinct(&mut threats[target], keep);
                        }
                    }
                }
            }
            threats[c] = mine;
        }
        (0..n)
            .filter(|&x| !self.service(x).is_redundant())
            .filter_map(|x| {
                let found = &threats[component_of[x]];
                if found.is_empty() {
                    return None;
                }
                let others: Vec<usize> = found.iter().copied().filter(|&t| t != x).collect();
                Some(SinglePoint {
                    service: x,
                    more: others.len() > shown,
                    threatens: others.into_iter().take(shown).collect(),
                })
            })
            .collect()
    }

    /// Single points of failure: each non-redundant service that a tier 1-2 service is or
    /// hard-depends on (transitively), with the tier 1-2 services it threatens. The sets
    /// can be quadratic in size; warnings use [`Graph::single_points_of_failure_in_brief`].
    pub fn single_points_of_failure(&self) -> Vec<(usize, BTreeSet<usize>)> {
        let mut threatens: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); self.len()];
        for t in 0..self.len() {
            if self.service(t).tier.value.0 > 2 {
                continue;
            }
            for x in self.impacted_by(t).into_iter().chain(std::iter::once(t)) {
                if !self.service(x).is_redundant() {
                    threatens[x].insert(t);
                }
            }
        }
        threatens
            .into_iter()
            .enumerate()
            .filter(|(_, t)| !t.is_empty())
            .collect()
    }
}

/// Sorts, drops repeats and keeps the first `keep`.
fn first_distinct(items: &mut Vec<usize>, keep: usize) {
    items.sort_unstable();
    items.dedup();
    items.truncate(keep);
}

/// A single point of failure, in brief: see [`Graph::single_points_of_failure_in_brief`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SinglePoint {
    /// The non-redundant service.
    pub service: usize,
    /// Tier 1-2 services other than itself that are down when it is, the first declared.
    pub threatens: Vec<usize>,
    /// Whether more tier 1-2 services than those are.
    pub more: bool,
}

/// How bad a risk score is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RiskLevel {
    /// Score 1-4.
    Low,
    /// Score 5-9.
    Medium,
    /// Score 10-14.
    High,
    /// Score 15-25.
    Critical,
}

impl RiskLevel {
    /// The level for a likelihood x impact score.
    pub fn of(score: u8) -> RiskLevel {
        match score {
            0..=4 => RiskLevel::Low,
            5..=9 => RiskLevel::Medium,
            10..=14 => RiskLevel::High,
            _ => RiskLevel::Critical,
        }
    }
}

/// Score at or above which a risk must have mitigations.
pub const CRITICAL_RISK_SCORE: u8 = 15;

/// Whether a service can be back within its objectives in the worst case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecoveryVerdict {
    /// The longest chain fits within the service's own RTO.
    WithinRto,
    /// Longer than the RTO, but within the MTPD (or no MTPD declared).
    ExceedsRto,
    /// Longer than the maximum tolerable period of disruption.
    ExceedsMtpd,
}

/// One service in the business impact analysis.
#[derive(Clone, Debug, Serialize)]
pub struct BiaService {
    /// Position in the recovery order, 1 first.
    pub priority_rank: usize,
    /// Service id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Tier 1-4.
    pub tier: u8,
    /// Owning team id.
    pub owner: String,
    /// Declared RTO.
    pub rto: HumanDuration,
    /// Declared RTO in seconds.
    pub rto_seconds: u64,
    /// Declared RPO, if any.
    pub rpo: Option<HumanDuration>,
    /// Declared MTPD, if any.
    pub mtpd: Option<HumanDuration>,
    /// Direct dependencies (hard and soft).
    pub depends_on: Vec<String>,
    /// Services whose failure takes this one down (transitive hard dependencies).
    pub impacted_by: Vec<String>,
    /// Services that go down when this one fails (transitive hard dependents).
    pub impacts: Vec<String>,
    /// Services that are only degraded when this one fails.
    pub degrades: Vec<String>,
    /// Longest RTO chain below and including this service.
    pub effective_recovery: HumanDuration,
    /// The same, in seconds.
    pub effective_recovery_seconds: u64,
    /// The chain, deepest dependency first.
    pub effective_recovery_chain: Vec<String>,
    /// How the effective recovery time compares with RTO and MTPD.
    pub recovery_verdict: RecoveryVerdict,
    /// Has a backup endpoint besides a primary.
    pub redundant: bool,
    /// Is a single point of failure for some tier 1-2 service.
    pub spof: bool,
    /// The tier 1-2 services it is a single point of failure for.
    pub spof_for: Vec<String>,
    /// Cost of one hour of downtime.
    pub cost_per_hour: Option<f64>,
    /// Cost of downtime for the declared RTO.
    pub cost_exposure_rto: Option<f64>,
    /// Cost of downtime for the effective recovery time.
    pub cost_exposure_effective: Option<f64>,
    /// Ids of risks that hit it, directly or through a dependency.
    pub risks: Vec<String>,
}

/// One risk in the business impact analysis.
#[derive(Clone, Debug, Serialize)]
pub struct BiaRisk {
    /// Risk id.
    pub id: String,
    /// Title.
    pub title: String,
    /// 1-5.
    pub likelihood: u8,
    /// 1-5.
    pub impact: u8,
    /// likelihood x impact.
    pub score: u8,
    /// Level of the score.
    pub level: RiskLevel,
    /// Services named in `affects`.
    pub affects: Vec<String>,
    /// Every service it hits: those named, and everything impacted by them.
    pub hits: Vec<String>,
    /// Number of mitigations declared.
    pub mitigations: usize,
    /// Owner, if any.
    pub owner: Option<String>,
}

/// The business impact analysis of a catalog.
#[derive(Clone, Debug, Serialize)]
pub struct Bia {
    /// Organisation name.
    pub organization: String,
    /// Currency of the cost figures.
    pub currency: String,
    /// Services in recovery priority order.
    pub services: Vec<BiaService>,
    /// Risks, highest score first.
    pub risks: Vec<BiaRisk>,
    /// The 5x5 matrix: `risk_matrix[impact - 1][likelihood - 1]` lists risk ids.
    pub risk_matrix: Vec<Vec<Vec<String>>>,
    /// Sum of cost exposure over all services, for the declared RTOs.
    pub total_cost_exposure_rto: f64,
}

/// Computes the business impact analysis.
pub fn bia(catalog: &Catalog) -> Bia {
    let graph = Graph::new(catalog);
    let ids = |set: &BTreeSet<usize>| -> Vec<String> {
        let mut v: Vec<String> = set
            .iter()
            .map(|&i| graph.service(i).id.value.clone())
            .collect();
        v.sort();
        v
    };
    let spofs: HashMap<usize, BTreeSet<usize>> =
        graph.single_points_of_failure().into_iter().collect();

    let mut risks: Vec<BiaRisk> = catalog
        .risks
        .iter()
        .map(|r| {
            let mut hit = BTreeSet::new();
            for a in &r.affects {
                if let Some(i) = graph.index_of(&a.value) {
                    hit.insert(i);
                    hit.extend(graph.impact_closure(i));
                }
            }
            BiaRisk {
                id: r.id.value.clone(),
                title: r.title.clone(),
                likelihood: r.likelihood.value,
                impact: r.impact.value,
                score: r.score(),
                level: RiskLevel::of(r.score()),
                affects: r.affects.iter().map(|a| a.value.clone()).collect(),
                hits: ids(&hit),
                mitigations: r.mitigations.len(),
                owner: r.owner.as_ref().map(|o| o.value.clone()),
            }
        })
        .collect();
    risks.sort_by(|a, b| b.score.cmp(&a.score).then_with(|| a.id.cmp(&b.id)));

    let mut risk_matrix = vec![vec![Vec::new(); 5]; 5];
    for r in &risks {
        let (i, l) = (
            usize::from(r.impact.clamp(1, 5)) - 1,
            usize::from(r.likelihood.clamp(1, 5)) - 1,
        );
        risk_matrix[i][l].push(r.id.clone());
    }

    let hours = |d: Duration| d.as_secs_f64() / 3600.0;
    let services: Vec<BiaService> = graph
        .priority_order()
        .into_iter()
        .enumerate()
        .map(|(rank, i)| {
            let s = graph.service(i);
            let (effective, chain) = graph.effective_recovery(i);
            let rto = s.rto.value.get();
            let recovery_verdict = if effective <= rto {
                RecoveryVerdict::WithinRto
            } else if s.mtpd.as_ref().is_some_and(|m| effective > m.value.get()) {
                RecoveryVerdict::ExceedsMtpd
            } else {
                RecoveryVerdict::ExceedsRto
            };
            let spof_for = spofs.get(&i).map(&ids).unwrap_or_default();
            BiaService {
                priority_rank: rank + 1,
                id: s.id.value.clone(),
                name: s.name.clone(),
                tier: s.tier.value.0,
                owner: s.owner.value.clone(),
                rto: s.rto.value,
                rto_seconds: s.rto.value.as_secs(),
                rpo: s.rpo.as_ref().map(|r| r.value),
                mtpd: s.mtpd.as_ref().map(|m| m.value),
                depends_on: s
                    .depends_on
                    .iter()
                    .map(|d| d.service.value.clone())
                    .collect(),
                impacted_by: ids(&graph.impacted_by(i)),
                impacts: ids(&graph.impact_closure(i)),
                degrades: ids(&graph.degraded_closure(i)),
                effective_recovery: HumanDuration(effective),
                effective_recovery_seconds: effective.as_secs(),
                effective_recovery_chain: chain
                    .iter()
                    .map(|&c| graph.service(c).id.value.clone())
                    .collect(),
                recovery_verdict,
                redundant: s.is_redundant(),
                spof: !spof_for.is_empty(),
                spof_for,
                cost_per_hour: s.cost_per_hour,
                cost_exposure_rto: s.cost_per_hour.map(|c| c * hours(rto)),
                cost_exposure_effective: s.cost_per_hour.map(|c| c * hours(effective)),
                risks: risks
                    .iter()
                    .filter(|r| r.hits.contains(&s.id.value))
                    .map(|r| r.id.clone())
                    .collect(),
            }
        })
        .collect();
    let total_cost_exposure_rto = services.iter().filter_map(|s| s.cost_exposure_rto).sum();
    Bia {
        organization: catalog.organization.name.clone(),
        currency: catalog.organization.currency.clone(),
        services,
        risks,
        risk_matrix,
        total_cost_exposure_rto,
    }
}
