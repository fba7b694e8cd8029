//! Property tests for the dependency-graph analyses, over random acyclic catalogs.

use continuo_core::HumanDuration;
use continuo_core::analysis::{Graph, bia};
use continuo_core::catalog::*;
use continuo_core::diag::{FileId, Loc};
use proptest::prelude::*;
use std::collections::BTreeSet;

fn at() -> Loc {
    Loc::new(FileId(0), 0..0)
}

fn id(text: String) -> Id {
    Located::new(text, at())
}

/// One generated service: tier, RTO in minutes, redundancy, and dependencies on
/// services with a lower index (which keeps the graph acyclic), each hard or soft.
#[derive(Clone, Debug)]
struct Spec {
    tier: u8,
    rto_minutes: u64,
    redundant: bool,
    deps: Vec<(usize, bool)>,
}

fn catalog(specs: &[Spec]) -> Catalog {
    let services = specs
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let mut endpoints = vec![Endpoint {
                name: None,
                url: "http://127.0.0.1:1".into(),
                role: Role::Primary,
            }];
            if spec.redundant {
                endpoints.push(Endpoint {
                    name: None,
                    url: "http://127.0.0.1:2".into(),
                    role: Role::Backup,
                });
            }
            let mut seen = BTreeSet::new();
            Service {
                id: id(format!("s{i}")),
                name: format!("Service {i}"),
                description: None,
                tier: Located::new(Tier(spec.tier), at()),
                owner: id("ops".into()),
                rto: Located::new(HumanDuration::from_secs(spec.rto_minutes * 60), at()),
                rpo: None,
                mtpd: None,
                cost_per_hour: Some(100.0),
                depends_on: spec
                    .deps
                    .iter()
                    .filter(|(d, _)| *d < i && seen.insert(*d))
                    .map(|&(d, hard)| Dependency {
                        service: id(format!("s{d}")),
                        kind: if hard {
                            DependencyKind::Hard
                        } else {
                            DependencyKind::Soft
                        },
                    })
                    .collect(),
                endpoints,
                checks: Vec::new(),
                runbook: None,
                runbook_file: None,
                runbook_review: Default::default(),
                slo: None,
                slo_window: continuo_core::catalog::DEFAULT_SLO_WINDOW,
                status_page: StatusPage::default(),
                integration_key: None,
                incomplete: false,
                loc: at(),
            }
        })
        .collect();
    Catalog {
        services,
        ..Catalog::default()
    }
}

fn specs() -> impl Strategy<Value = Vec<Spec>> {
    prop::collection::vec(
        (
            1u8..=4,
            1u64..=600,
            any::<bool>(),
            prop::collection::vec((0usize..30, any::<bool>()), 0..4),
        ),
        1..30,
    )
    .prop_map(|raw| {
        raw.into_iter()
            .enumerate()
            .map(|(i, (tier, rto_minutes, redundant, deps))| Spec {
                tier,
                rto_minutes,
                redundant,
                deps: deps.into_iter().filter(|(d, _)| *d < i).collect(),
            })
            .collect()
    })
}

proptest! {
    /// If X fails, everything that hard-depends on anything in the closure is in it too.
    #[test]
    fn impact_closure_is_closed_under_dependents(specs in specs()) {
        let catalog = catalog(&specs);
        let graph = Graph::new(&catalog);
        for x in 0..graph.len() {
            let closure = graph.impact_closure(x);
            prop_assert!(!closure.contains(&x));
            let mut members = closure.clone();
            members.insert(x);
            for (s, service) in catalog.services.iter().enumerate() {
                let needs_member = service.hard_dependencies().any(|d| members.contains(&graph.index_of(&d.value).unwrap_or(usize::MAX)));
                if needs_member && s != x {
                    prop_assert!(closure.contains(&s), "s{s} hard-depends on the closure of s{x} but is not in it");
                }
            }
            // And nothing outside the dependents is in it: each member reaches x.
            for &m in &closure {
                prop_assert!(graph.impacted_by(m).contains(&x));
            }
        }
    }

    /// The recovery order holds every service once and never puts a service before one of
    /// its hard dependencies.
    #[test]
    fn priority_order_never_precedes_a_dependency(specs in specs()) {
        let catalog = catalog(&specs);
        let graph = Graph::new(&catalog);
        let order = graph.priority_order();
        prop_assert_eq!(order.iter().copied().collect::<BTreeSet<_>>().len(), catalog.services.len());
        prop_assert_eq!(order.len(), catalog.services.len());
        let position = |i: usize| order.iter().position(|&o| o == i).unwrap_or(usize::MAX);
        for s in 0..graph.len() {
            for d in graph.hard_deps(s) {
                prop_assert!(position(d) < position(s), "s{d} (dependency) placed after s{s}");
            }
        }
        // The catalog's remembered ranks (what incident checklists sort by) are this order.
        for (i, service) in catalog.services.iter().enumerate() {
            prop_assert_eq!(continuo_core::analysis::recovery_rank(&catalog, &service.id.value), Some(position(i)));
        }
        prop_assert_eq!(continuo_core::analysis::recovery_rank(&catalog, "no-such-service"), None);
    }

    /// Without dependencies between them, a lower tier always comes first.
    #[test]
    fn priority_order_follows_tier_for_independent_services(tiers in prop::collection::vec(1u8..=4, 1..20)) {
        let specs: Vec<Spec> = tiers.iter().map(|&tier| Spec { tier, rto_minutes: 60, redundant: true, deps: vec![] }).collect();
        let catalog = catalog(&specs);
        let graph = Graph::new(&catalog);
        let ordered: Vec<u8> = graph.priority_order().into_iter().map(|i| specs[i].tier).collect();
        let mut sorted = ordered.clone();
        sorted.sort_unstable();
        prop_assert_eq!(ordered, sorted);
    }

    /// Effective recovery is at least the service's own RTO, at least own RTO plus the
    /// effective recovery of each hard dependency, and equals the sum over its chain.
    #[test]
    fn effective_recovery_is_the_longest_chain(specs in specs()) {
        let catalog = catalog(&specs);
        let graph = Graph::new(&catalog);
        for s in 0..graph.len() {
            let (total, chain) = graph.effective_recovery(s);
            let own = catalog.services[s].rto.value.get();
            prop_assert!(total >= own);
            for d in graph.hard_deps(s) {
                prop_assert!(total >= own + graph.effective_recovery(d).0);
            }
            prop_assert_eq!(chain.last().copied(), Some(s));
            let sum: std::time::Duration = chain.iter().map(|&c| catalog.services[c].rto.value.get()).sum();
            prop_assert_eq!(sum, total);
            for pair in chain.windows(2) {
                prop_assert!(graph.hard_deps(pair[1]).any(|d| d == pair[0]), "chain is not a dependency path");
            }
        }
    }

    /// A single point of failure is non-redundant and is, or is below, a tier 1-2 service.
    #[test]
    fn single_points_of_failure_are_non_redundant_and_critical(specs in specs()) {
        let catalog = catalog(&specs);
        let graph = Graph::new(&catalog);
        let spofs = graph.single_points_of_failure();
        for (x, threatened) in &spofs {
            prop_assert!(!specs[*x].redundant);
            for &t in threatened {
                prop_assert!(specs[t].tier <= 2);
                prop_assert!(t == *x || graph.impacted_by(t).contains(x));
            }
        }
        // And every non-redundant tier 1-2 service is one.
        for (i, spec) in specs.iter().enumerate() {
            if spec.tier <= 2 && !spec.redundant {
                prop_assert!(spofs.iter().any(|(x, _)| *x == i));
            }
        }
    }

    /// The brief single points of failure the warnings use say what the full sets say:
    /// the same services, the first `shown` of the others each threatens, and whether
    /// there are more. Also with a cycle closed, whose members share what threatens them.
    #[test]
    fn brief_single_points_of_failure_agree_with_the_full_sets(specs in specs(), shown in 0usize..4, close in any::<bool>()) {
        let mut catalog = catalog(&specs);
        if close
            && let Some((i, (d, _))) = specs.iter().enumerate().find_map(|(i, s)| s.deps.first().map(|x| (i, *x)))
        {
            catalog.services[d].depends_on.push(Dependency { service: id(format!("s{i}")), kind: DependencyKind::Hard });
        }
        let graph = Graph::new(&catalog);
        let full = graph.single_points_of_failure();
        let brief = graph.single_points_of_failure_in_brief(shown);
        prop_assert_eq!(brief.len(), full.len());
        for (point, (x, threatened)) in brief.iter().zip(&full) {
            prop_assert_eq!(point.service, *x);
            let others: Vec<usize> = threatened.iter().copied().filter(|t| t != x).collect();
            prop_assert_eq!(&point.threatens, &others.iter().copied().take(shown).collect::<Vec<_>>());
            prop_assert_eq!(point.more, others.len() > shown);
        }
    }

    /// Every service comes once, after each of its dependencies outside a cycle.
    #[test]
    fn dependencies_first_orders_every_dependency_first(specs in specs()) {
        let catalog = catalog(&specs);
        let graph = Graph::new(&catalog);
        let order = graph.dependencies_first();
        let mut position = vec![usize::MAX; specs.len()];
        for (at, &i) in order.iter().enumerate() {
            prop_assert_eq!(position[i], usize::MAX);
            position[i] = at;
        }
        for (i, service) in catalog.services.iter().enumerate() {
            for dep in &service.depends_on {
                let d = graph.index_of(&dep.service.value).expect("generated");
                prop_assert!(position[d] < position[i]);
            }
        }
    }

    /// Acyclic catalogs have no cycles; closing any dependency path adds one.
    #[test]
    fn cycles_found_exactly_when_present(specs in specs()) {
        let catalog_ok = catalog(&specs);
        prop_assert!(Graph::new(&catalog_ok).cycles().is_empty());
        if let Some((i, (d, _))) = specs.iter().enumerate().find_map(|(i, s)| s.deps.first().map(|x| (i, *x))) {
            let mut cyclic = catalog_ok.clone();
            cyclic.services[d].depends_on.push(Dependency { service: id(format!("s{i}")), kind: DependencyKind::Hard });
            let cycles = Graph::new(&cyclic).cycles();
            prop_assert_eq!(cycles.len(), 1);
            prop_assert!(cycles[0].contains(&i) && cycles[0].contains(&d));
        }
    }

    /// The BIA ranks every service once and its cost exposure is cost x RTO.
    #[test]
    fn bia_is_consistent_with_the_graph(specs in specs()) {
        let catalog = catalog(&specs);
        let report = bia(&catalog);
        prop_assert_eq!(report.services.len(), specs.len());
        for (rank, s) in report.services.iter().enumerate() {
            prop_assert_eq!(s.priority_rank, rank + 1);
            let expected = 100.0 * s.rto_seconds as f64 / 3600.0;
            prop_assert!((s.cost_exposure_rto.unwrap_or_default() - expected).abs() < 1e-6);
        }
    }
}

#[test]
fn dependency_inherits_the_urgency_of_what_needs_it() {
    // s0 is tier 4 but tier-1 s2 hard-depends on it: s0 must be restored first; s1 (tier 3,
    // independent) comes after s2.
    let specs = vec![
        Spec {
            tier: 4,
            rto_minutes: 240,
            redundant: true,
            deps: vec![],
        },
        Spec {
            tier: 3,
            rto_minutes: 60,
            redundant: true,
            deps: vec![],
        },
        Spec {
            tier: 1,
            rto_minutes: 15,
            redundant: true,
            deps: vec![(0, true)],
        },
    ];
    let catalog = catalog(&specs);
    assert_eq!(Graph::new(&catalog).priority_order(), vec![0, 2, 1]);
}

#[test]
fn soft_dependents_are_degraded_not_impacted() {
    let specs = vec![
        Spec {
            tier: 3,
            rto_minutes: 60,
            redundant: true,
            deps: vec![],
        },
        Spec {
            tier: 1,
            rto_minutes: 15,
            redundant: true,
            deps: vec![(0, false)],
        },
        Spec {
            tier: 1,
            rto_minutes: 15,
            redundant: true,
            deps: vec![(0, true)],
        },
    ];
    let catalog = catalog(&specs);
    let graph = Graph::new(&catalog);
    assert_eq!(graph.impact_closure(0), BTreeSet::from([2]));
    assert_eq!(graph.degraded_closure(0), BTreeSet::from([1]));
}
