//! Cross-checks over the whole catalog, after every file was decoded: duplicate ids,
//! dangling references, dependency cycles, contradictory objectives, and the warnings
//! that point at weak continuity claims.

use crate::analysis::{CRITICAL_RISK_SCORE, Graph};
use crate::catalog::{Catalog, Id, TargetKind};
use crate::diag::{Diagnostic, Diagnostics, FileId};
use crate::suggest::closest;
use crate::text::Text;
use crate::tr;
use std::collections::HashMap;

/// Runs every cross-check. `runbook_exists(file, path)` tells whether a runbook path,
/// relative to the file that declares it, exists.
pub(crate) fn validate(
    catalog: &Catalog,
    diags: &mut Diagnostics,
    runbook_exists: &dyn Fn(FileId, &str) -> bool,
) {
    let ids = Ids::new(catalog, diags);
    references(catalog, &ids, diags);
    let graph = Graph::new(catalog);
    cycles(&graph, diags);
    objectives(catalog, &graph, diags);
    recovery_times(&graph, diags);
    coverage(catalog, &graph, diags, runbook_exists);
    risks(catalog, diags);
    inbound(catalog, diags);
    crate::decode::gateway::validate(catalog, diags);
}

/// Links that leave this server (acknowledge links in pages, the status page's URL in
/// its API, feed and subscriber mail) need `[server] public_url`; without it they are
/// built from the listen address, which nobody elsewhere can reach.
fn public_url(catalog: &Catalog, diags: &mut Diagnostics) {
    if catalog.server.public_url.is_some() {
        return;
    }
    let page = catalog
        .services
        .iter()
        .find(|s| s.status_page.component.is_some())
        .map(|s| s.id.loc.clone());
    // Pages carry acknowledge links: any escalation that notifies someone needs them.
    let paging = catalog
        .escalations
        .iter()
        .find(|e| e.levels.iter().any(|l| !l.notify.is_empty()))
        .map(|e| e.id.loc.clone());
    let Some(loc) = paging.or(page) else {
        return;
    };
    diags.push(
        Diagnostic::warning(
            "no-public-url",
            loc,
            tr!(
                "[server] public_url is not set: links in notifications and on the status page point at the listen address",
                "[server] public_url is niet ingesteld: links in meldingen en op de statuspagina wijzen naar het luisteradres"
            ),
            tr!("needs absolute links", "heeft absolute links nodig"),
        )
        .with_help(tr!(
            "set `public_url` in [server] to the address people reach Continuo at, e.g. \"https://status.example.com\"",
            "zet `public_url` in [server] op het adres waarop mensen Continuo bereiken, bijv. \"https://status.example.com\""
        )),
    );
}

/// Where inbound alerts can go: a default route when the hooks are on, at most one
/// default route, and integration keys that address one service each.
fn inbound(catalog: &Catalog, diags: &mut Diagnostics) {
    let hooks = catalog
        .server
        .hooks_token
        .as_ref()
        .filter(|t| !t.value.is_empty());
    let mut default_route: Option<&crate::catalog::Route> = None;
    for route in catalog.routes.iter().filter(|r| r.is_default()) {
        match default_route {
            None => default_route = Some(route),
            Some(first) => diags.push(
                Diagnostic::warning(
                    "second-default-route",
                    route.loc.clone(),
                    tr!(
                        "a second [[route]] without `match`: only the first default route takes alerts",
                        "een tweede [[route]] zonder `match`: alleen de eerste standaardroute krijgt meldingen"
                    ),
                    tr!("never used", "nooit gebruikt"),
                )
                .with_related(first.loc.clone(), tr!("the default route", "de standaardroute"))
                .with_help(tr!(
                    "give this route a `match`, or remove it",
                    "geef deze route een `match`, of verwijder hem"
                )),
            ),
        }
    }
    public_url(catalog, diags);
    if let Some(token) = hooks
        && default_route.is_none()
    {
        diags.push(
            Diagnostic::warning(
                "no-default-route",
                token.loc.clone(),
                tr!(
                    "inbound hooks are on, but no default [[route]] takes alerts that no other route matches",
                    "inkomende hooks staan aan, maar geen standaard-[[route]] neemt meldingen die bij geen andere route passen"
                ),
                tr!("unrouted alerts page nobody", "niet-gerouteerde meldingen bereiken niemand"),
            )
            .with_help(tr!(
                "add a [[route]] without `match`, e.g. `service = \"platform\"`, so every inbound alert pages someone",
                "voeg een [[route]] zonder `match` toe, bijv. `service = \"platform\"`, zodat elke inkomende melding iemand bereikt"
            )),
        );
    }
    let mut keys: HashMap<&str, &crate::catalog::Service> = HashMap::new();
    for service in &catalog.services {
        let Some(key) = &service.integration_key else {
            continue;
        };
        let id = &service.id.value;
        if key.value.trim().is_empty() {
            diags.push(
                Diagnostic::error(
                    "empty-integration-key",
                    key.loc.clone(),
                    tr!(
                        "the integration key of `{id}` is empty",
                        "de integratiesleutel van `{id}` is leeg"
                    ),
                    tr!("empty", "leeg"),
                )
                .with_help(tr!(
                    "set it from the environment, e.g. `integration_key = \"${{ORDERS_KEY}}\"`, or remove it",
                    "zet hem vanuit de omgeving, bijv. `integration_key = \"${{ORDERS_KEY}}\"`, of verwijder hem"
                )),
            );
            continue;
        }
        if hooks.is_some_and(|t| t.value == key.value) {
            diags.push(
                Diagnostic::error(
                    "integration-key-is-hooks-token",
                    key.loc.clone(),
                    tr!(
                        "the integration key of `{id}` equals [server] hooks_token",
                        "de integratiesleutel van `{id}` is gelijk aan [server] hooks_token"
                    ),
                    tr!("ambiguous key", "dubbelzinnige sleutel"),
                )
                .with_help(tr!(
                    "a routing_key equal to the hooks token routes by labels; give `{id}` a key of its own",
                    "een routing_key gelijk aan het hooks-token routeert op labels; geef `{id}` een eigen sleutel"
                )),
            );
        }
        if let Some(first) = keys.get(key.value.as_str()) {
            let other = &first.id.value;
            diags.push(
                Diagnostic::error(
                    "duplicate-integration-key",
                    key.loc.clone(),
                    tr!(
                        "`{id}` and `{other}` have the same integration key",
                        "`{id}` en `{other}` hebben dezelfde integratiesleutel"
                    ),
                    tr!("used twice", "twee keer gebruikt"),
                )
                .with_related(
                    first
                        .integration_key
                        .as_ref()
                        .map_or(first.loc.clone(), |k| k.loc.clone()),
                    tr!("also here", "ook hier"),
                )
                .with_help(tr!(
                    "each key addresses one service: give each its own",
                    "elke sleutel adresseert één dienst: geef elke dienst een eigen sleutel"
                )),
            );
        } else {
            keys.insert(&key.value, service);
        }
    }
}

/// The declared ids of each kind of thing.
struct Ids<'c> {
    persons: HashMap<&'c str, &'c Id>,
    teams: HashMap<&'c str, &'c Id>,
    schedules: HashMap<&'c str, &'c Id>,
    escalations: HashMap<&'c str, &'c Id>,
    channels: HashMap<&'c str, &'c Id>,
    services: HashMap<&'c str, &'c Id>,
}

fn collect<'c>(
    kind: &str,
    items: impl Iterator<Item = &'c Id>,
    diags: &mut Diagnostics,
) -> HashMap<&'c str, &'c Id> {
    let kind_nl = noun_nl(kind);
    let mut seen: HashMap<&'c str, &'c Id> = HashMap::new();
    for id in items {
        if let Some(first) = seen.get(id.value.as_str()) {
            let value = &id.value;
            diags.push(
                Diagnostic::error(
                    "duplicate-id",
                    id.loc.clone(),
                    tr!(
                        "{kind} id `{value}` is used twice",
                        "{kind_nl}-id `{value}` wordt twee keer gebruikt"
                    ),
                    tr!("duplicate id", "dubbele id"),
                )
                .with_related(
                    first.loc.clone(),
                    tr!("first used here", "eerst hier gebruikt"),
                )
                .with_help(tr!(
                    "give each {kind} its own id",
                    "geef elk(e) {kind_nl} een eigen id"
                )),
            );
        } else {
            seen.insert(&id.value, id);
        }
    }
    seen
}

impl<'c> Ids<'c> {
    fn new(catalog: &'c Catalog, diags: &mut Diagnostics) -> Ids<'c> {
        let ids = Ids {
            persons: collect("person", catalog.persons.iter().map(|p| &p.id), diags),
            teams: collect("team", catalog.teams.iter().map(|t| &t.id), diags),
            schedules: collect("schedule", catalog.schedules.iter().map(|s| &s.id), diags),
            escalations: collect(
                "escalation",
                catalog.escalations.iter().map(|e| &e.id),
                diags,
            ),
            channels: collect("channel", catalog.channels.iter().map(|c| &c.id), diags),
            services: collect("service", catalog.services.iter().map(|s| &s.id), diags),
        };
        collect("risk", catalog.risks.iter().map(|r| &r.id), diags);
        collect(
            "response_plan",
            catalog.response_plans.iter().map(|p| &p.id),
            diags,
        );
        collect(
            "maintenance",
            catalog.maintenances.iter().map(|m| &m.id),
            diags,
        );
        collect(
            "check",
            catalog
                .services
                .iter()
                .flat_map(|s| s.checks.iter().map(|c| &c.id)),
            diags,
        );
        ids
    }

    fn of(&self, kind: TargetKind) -> &HashMap<&'c str, &'c Id> {
        match kind {
            TargetKind::Person => &self.persons,
            TargetKind::Team => &self.teams,
            TargetKind::Schedule => &self.schedules,
            TargetKind::Channel => &self.channels,
        }
    }
}

/// The Dutch noun for a kind of catalog item, as used in messages.
fn noun_nl(kind: &str) -> &str {
    match kind {
        "person" => "persoon",
        "schedule" => "rooster",
        "escalation" => "escalatie",
        "channel" => "kanaal",
        "service" => "dienst",
        "risk" => "risico",
        "maintenance" => "onderhoud",
        "response_plan" => "responsplan",
        other => other,
    }
}

/// Response plans: their targets exist, a role is filled by people (not a channel), and
/// each severity has one plan at most.
fn response_plans(catalog: &Catalog, ids: &Ids<'_>, diags: &mut Diagnostics) {
    let mut covered: HashMap<u8, &Id> = HashMap::new();
    for plan in &catalog.response_plans {
        for (role, target) in &plan.roles {
            let field = role.name();
            if target.kind == TargetKind::Channel {
                let value = &target.id.value;
                diags.push(
                    Diagnostic::error(
                        "role-needs-person",
                        target.id.loc.clone(),
                        tr!(
                            "the role {field} cannot be filled by channel `{value}`",
                            "de rol {field} kan niet door kanaal `{value}` worden vervuld"
                        ),
                        tr!("a channel is not a person", "een kanaal is geen persoon"),
                    )
                    .with_help(tr!(
                        "use person:, team: or schedule:",
                        "gebruik person:, team: of schedule:"
                    )),
                );
                continue;
            }
            dangling(
                &target.id,
                target.kind.prefix(),
                field,
                ids.of(target.kind),
                diags,
            );
        }
        for target in &plan.notify {
            dangling(
                &target.id,
                target.kind.prefix(),
                "notify",
                ids.of(target.kind),
                diags,
            );
        }
        for severity in &plan.severities {
            let name = severity.value.name();
            if let Some(first) = covered.get(&severity.value.0) {
                let other = &first.value;
                diags.push(
                    Diagnostic::error(
                        "severity-planned-twice",
                        severity.loc.clone(),
                        tr!(
                            "{name} already has response plan `{other}`",
                            "{name} heeft al responsplan `{other}`"
                        ),
                        tr!("second plan for {name}", "tweede plan voor {name}"),
                    )
                    .with_related(first.loc.clone(), tr!("planned here", "hier gepland"))
                    .with_help(tr!(
                        "give each severity one response plan",
                        "geef elke ernst één responsplan"
                    )),
                );
            } else {
                covered.insert(severity.value.0, &plan.id);
            }
        }
    }
}

/// Diagnostics after which a dangling reference gets no suggestion.
const SUGGESTIONS_UP_TO: usize = 20;

/// Known ids a dangling reference's help lists at most.
const KNOWN_IDS_SHOWN: usize = 20;

/// Reports a reference to an id that is not declared, suggesting the closest one.
fn dangling(
    reference: &Id,
    kind: &str,
    field: &str,
    known: &HashMap<&str, &Id>,
    diags: &mut Diagnostics,
) {
    // An empty reference is the placeholder for a required value that was missing or
    // unreadable: that problem was reported where it is, and "unknown team ``" would
    // only repeat it wrongly.
    if reference.value.is_empty() || known.contains_key(reference.value.as_str()) {
        return;
    }
    let value = &reference.value;
    let kind_nl = noun_nl(kind);
    // A suggestion compares the reference with every known id of about its length: once
    // a configuration has this many problems, the rest get the plain help, so a broken
    // file of 10,000 services costs no 10,000 x 10,000 comparisons.
    let suggest = diags.len() < SUGGESTIONS_UP_TO;
    let help = match suggest
        .then(|| closest(value, known.keys().copied()))
        .flatten()
    {
        Some(s) => tr!("did you mean `{s}`?", "bedoelde je `{s}`?"),
        None if known.is_empty() || !suggest => tr!(
            "declare a [[{kind}]] with id = \"{value}\"",
            "declareer een [[{kind}]] met id = \"{value}\""
        ),
        None => {
            let mut names: Vec<&str> = known.keys().copied().collect();
            names.sort_unstable();
            let more = names.len().saturating_sub(KNOWN_IDS_SHOWN);
            names.truncate(KNOWN_IDS_SHOWN);
            let list = names.join("`, `");
            if more > 0 {
                tr!(
                    "known {kind} ids: `{list}` and {more} more",
                    "bekende {kind_nl}-id's: `{list}` en {more} meer"
                )
            } else {
                tr!(
                    "known {kind} ids: `{list}`",
                    "bekende {kind_nl}-id's: `{list}`"
                )
            }
        }
    };
    diags.push(
        Diagnostic::error(
            "dangling-reference",
            reference.loc.clone(),
            tr!(
                "`{field}` refers to unknown {kind} `{value}`",
                "`{field}` verwijst naar onbekend(e) {kind_nl} `{value}`"
            ),
            tr!("no {kind} with this id", "geen {kind_nl} met deze id"),
        )
        .with_help(help),
    );
}

fn references(catalog: &Catalog, ids: &Ids<'_>, diags: &mut Diagnostics) {
    for team in &catalog.teams {
        for member in &team.members {
            dangling(member, "person", "members", &ids.persons, diags);
        }
        if let Some(escalation) = &team.escalation {
            dangling(
                escalation,
                "escalation",
                "escalation",
                &ids.escalations,
                diags,
            );
        }
    }
    for channel in catalog.organization.posture_channels.iter().flatten() {
        dangling(channel, "channel", "posture_channels", &ids.channels, diags);
    }
    for person in &catalog.persons {
        for channel in &person.contact {
            dangling(channel, "channel", "contact", &ids.channels, diags);
        }
    }
    for maintenance in &catalog.maintenances {
        for service in &maintenance.services {
            dangling(service, "service", "services", &ids.services, diags);
        }
    }
    for route in &catalog.routes {
        dangling(&route.service, "service", "service", &ids.services, diags);
    }
    for schedule in &catalog.schedules {
        for layer in &schedule.layers {
            for member in &layer.members {
                dangling(member, "person", "members", &ids.persons, diags);
            }
        }
        for o in &schedule.overrides {
            dangling(&o.person, "person", "person", &ids.persons, diags);
        }
    }
    for escalation in &catalog.escalations {
        for level in &escalation.levels {
            for target in &level.notify {
                dangling(
                    &target.id,
                    target.kind.prefix(),
                    "notify",
                    ids.of(target.kind),
                    diags,
                );
            }
        }
    }
    response_plans(catalog, ids, diags);
    for service in &catalog.services {
        dangling(&service.owner, "team", "owner", &ids.teams, diags);
        for dep in &service.depends_on {
            dangling(&dep.service, "service", "depends_on", &ids.services, diags);
        }
    }
    for risk in &catalog.risks {
        for affected in &risk.affects {
            dangling(affected, "service", "affects", &ids.services, diags);
        }
        if let Some(owner) = &risk.owner {
            // A risk is owned by a team or by a person. Both maps are joined only for a
            // dangling owner, so 10,000 risks owned by teams do not copy them 10,000 times.
            let name = owner.value.as_str();
            if !ids.persons.contains_key(name) && !ids.teams.contains_key(name) {
                let mut either = ids.teams.clone();
                either.extend(ids.persons.iter().map(|(k, v)| (*k, *v)));
                dangling(owner, "team", "owner", &either, diags);
            }
        }
    }
}

fn cycles(graph: &Graph<'_>, diags: &mut Diagnostics) {
    for cycle in graph.cycles() {
        let mut names: Vec<&str> = cycle
            .iter()
            .map(|&i| graph.service(i).id.value.as_str())
            .collect();
        names.push(names[0]);
        let path = names.join(" -> ");
        // Blame the edge that closes the cycle: the last service's reference to the first.
        let (&last, &first) = (cycle.last().unwrap_or(&cycle[0]), &cycle[0]);
        let first_id = &graph.service(first).id.value;
        let closing = graph
            .service(last)
            .depends_on
            .iter()
            .find(|d| &d.service.value == first_id)
            .map_or_else(
                || graph.service(last).id.loc.clone(),
                |d| d.service.loc.clone(),
            );
        let mut diagnostic = Diagnostic::error(
            "cycle",
            closing,
            tr!("dependency cycle: {path}", "afhankelijkheidscyclus: {path}"),
            tr!("this dependency closes the cycle", "deze afhankelijkheid sluit de cyclus"),
        )
        .with_help(tr!(
            "services in a cycle can never be restored one after the other; remove one of these dependencies",
            "diensten in een cyclus kunnen nooit na elkaar hersteld worden; verwijder een van deze afhankelijkheden"
        ));
        // Show every edge of the cycle except the closing one, which is the main label.
        for pair in cycle.windows(2) {
            let s = graph.service(pair[0]);
            let next = &graph.service(pair[1]).id.value;
            if let Some(dep) = s.depends_on.iter().find(|d| &d.service.value == next) {
                let from = &s.id.value;
                diagnostic = diagnostic.with_related(
                    dep.service.loc.clone(),
                    tr!(
                        "`{from}` depends on `{next}`",
                        "`{from}` hangt af van `{next}`"
                    ),
                );
            }
        }
        diags.push(diagnostic);
    }
}

fn objectives(catalog: &Catalog, graph: &Graph<'_>, diags: &mut Diagnostics) {
    for (i, service) in catalog.services.iter().enumerate() {
        let id = &service.id.value;
        let rto = service.rto.value;
        if let Some(mtpd) = &service.mtpd
            && rto > mtpd.value
        {
            let m = mtpd.value;
            diags.push(
                Diagnostic::error(
                    "rto-exceeds-mtpd",
                    service.rto.loc.clone(),
                    tr!("the RTO of `{id}` ({rto}) is longer than its MTPD ({m})", "de RTO van `{id}` ({rto}) is langer dan de MTPD ({m})"),
                    tr!("longer than the MTPD", "langer dan de MTPD"),
                )
                .with_related(mtpd.loc.clone(), tr!("MTPD declared here", "MTPD hier gedeclareerd"))
                .with_help(tr!(
                    "the recovery time objective must fit within the maximum tolerable period of disruption",
                    "de hersteltijd (RTO) moet binnen de maximaal toelaatbare uitvaltijd (MTPD) passen"
                )),
            );
        }
        if graph.index_of(id) != Some(i) || service.incomplete {
            continue; // A duplicate (already reported), or values we could not read.
        }
        for d in graph.hard_deps(i) {
            let dep = graph.service(d);
            let (dep_id, dep_rto) = (&dep.id.value, dep.rto.value);
            if dep_rto > rto && d != i && !dep.incomplete {
                diags.push(
                    Diagnostic::warning(
                        "rto-shorter-than-dependency",
                        service.rto.loc.clone(),
                        tr!(
                            "`{id}` has an RTO of {rto}, but it depends on `{dep_id}` whose RTO is {dep_rto}",
                            "`{id}` heeft een RTO van {rto}, maar hangt af van `{dep_id}` met een RTO van {dep_rto}"
                        ),
                        tr!("RTO {rto}", "RTO {rto}"),
                    )
                    .with_related(dep.rto.loc.clone(), tr!("`{dep_id}`: RTO {dep_rto}", "`{dep_id}`: RTO {dep_rto}"))
                    .with_help(tr!(
                        "`{id}` cannot be back before `{dep_id}`: shorten the RTO of `{dep_id}`, lengthen that of `{id}`, or make the dependency `kind = \"soft\"` if `{id}` works without it",
                        "`{id}` kan niet terug zijn voordat `{dep_id}` terug is: verkort de RTO van `{dep_id}`, verleng die van `{id}`, of maak de afhankelijkheid `kind = \"soft\"` als `{id}` zonder kan"
                    )),
                );
            }
        }
    }
}

/// How many services of a recovery chain a warning names.
const CHAIN_NAMES_SHOWN: usize = 4;

/// Effective recovery times, as `bia` computes them (the longest chain of hard
/// dependencies, each recovered after the one it needs), against each service's RTO:
/// a warning where the chain does not fit, unless a direct dependency's longer RTO was
/// already reported or the service is in a cycle (reported as an error). One pass in
/// dependency order, linear in services and edges; a warning walks at most a few links.
fn recovery_times(graph: &Graph<'_>, diags: &mut Diagnostics) {
    use std::time::Duration;
    let n = graph.len();
    let in_cycle: std::collections::HashSet<usize> = graph.cycles().into_iter().flatten().collect();
    // Per service: effective recovery time and the dependency the longest chain runs
    // through.
    let mut effective: Vec<Option<(Duration, Option<usize>)>> = vec![None; n];
    for i in graph.dependencies_first() {
        let mut best: Option<(Duration, usize)> = None;
        for d in graph.hard_deps(i).filter(|&d| d != i) {
            if let Some((t, _)) = effective[d]
                && best.is_none_or(|(b, _)| t > b)
            {
                best = Some((t, d));
            }
        }
        let own = graph.service(i).rto.value.get();
        effective[i] = Some((
            own.saturating_add(best.map_or(Duration::ZERO, |b| b.0)),
            best.map(|b| b.1),
        ));
    }
    for i in 0..n {
        let service = graph.service(i);
        let rto = service.rto.value;
        if service.incomplete
            || in_cycle.contains(&i)
            || graph
                .hard_deps(i)
                .any(|d| d != i && graph.service(d).rto.value > rto)
        {
            continue;
        }
        let Some((total, Some(_))) = effective[i] else {
            continue;
        };
        if total <= rto.get() {
            continue;
        }
        // The end of the chain that reaches this service, deepest dependency first as
        // bia prints it: a few names (walking a chain of 10,000 for each of its
        // services would make validation quadratic).
        let mut chain = vec![i];
        let mut at = i;
        let mut longer = false;
        while let Some((_, Some(next))) = effective[at] {
            if chain.len() == CHAIN_NAMES_SHOWN || chain.contains(&next) {
                longer = chain.len() == CHAIN_NAMES_SHOWN;
                break;
            }
            chain.push(next);
            at = next;
        }
        chain.reverse();
        let mut names: Vec<String> = Vec::new();
        if longer {
            names.push("…".into());
        }
        names.extend(chain.iter().map(|&j| {
            let s = graph.service(j);
            format!("`{}` ({})", s.id.value, s.rto.value)
        }));
        let path = names.join(" → ");
        let (id, total) = (&service.id.value, crate::duration::HumanDuration(total));
        diags.push(
            Diagnostic::warning(
                "recovery-exceeds-rto",
                service.rto.loc.clone(),
                tr!(
                    "`{id}` cannot be back within its RTO of {rto} if what it needs fails too: recovered one after another, {path} take {total}",
                    "`{id}` kan niet binnen zijn RTO van {rto} terug zijn als ook uitvalt wat hij nodig heeft: na elkaar hersteld duren {path} samen {total}"
                ),
                tr!("RTO {rto}, effective {total}", "RTO {rto}, effectief {total}"),
            )
            .with_help(tr!(
                "shorten the RTOs along the chain, lengthen that of `{id}`, or make a dependency `kind = \"soft\"` where `{id}` works without it (`continuo bia` shows every chain)",
                "verkort de RTO's in de keten, verleng die van `{id}`, of maak een afhankelijkheid `kind = \"soft\"` waar `{id}` zonder kan (`continuo bia` toont elke keten)"
            )),
        );
    }
}

/// How many of the tier 1-2 services a single point of failure threatens its warning
/// names.
const SPOF_NAMES_SHOWN: usize = 5;

fn coverage(
    catalog: &Catalog,
    graph: &Graph<'_>,
    diags: &mut Diagnostics,
    runbook_exists: &dyn Fn(FileId, &str) -> bool,
) {
    for service in &catalog.services {
        let id = &service.id.value;
        if service.incomplete {
            continue;
        }
        if service.tier.value.0 == 1 && service.checks.is_empty() {
            diags.push(
                Diagnostic::warning(
                    "unmonitored-tier-1",
                    service.id.loc.clone(),
                    tr!("tier-1 service `{id}` has no check", "tier-1-dienst `{id}` heeft geen check"),
                    tr!("nothing detects its failure", "niets detecteert een storing"),
                )
                .with_help(tr!(
                    "add a [[service.check]], e.g. kind = \"http\" with the URL of its health endpoint",
                    "voeg een [[service.check]] toe, bijv. kind = \"http\" met de URL van het health-endpoint"
                )),
            );
        }
        if let Some(runbook) = &service.runbook
            && !runbook_exists(service.loc.file, runbook)
        {
            diags.push(
                Diagnostic::warning(
                    "missing-runbook",
                    service.id.loc.clone(),
                    tr!("the runbook of `{id}` (`{runbook}`) does not exist", "het runbook van `{id}` (`{runbook}`) bestaat niet"),
                    tr!("runbook not found", "runbook niet gevonden"),
                )
                .with_help(tr!(
                    "runbook paths are relative to the config file that declares the service",
                    "runbook-paden zijn relatief aan het configuratiebestand dat de dienst declareert"
                )),
            );
        }
    }
    // A few names say enough; listing every one made a chain of 10,000 services a
    // quadratic amount of text (and time).
    for spof in graph.single_points_of_failure_in_brief(SPOF_NAMES_SHOWN) {
        let service = graph.service(spof.service);
        let id = &service.id.value;
        let others: Vec<&str> = spof
            .threatens
            .iter()
            .map(|&t| graph.service(t).id.value.as_str())
            .collect();
        let list = others.join("`, `");
        let tier = service.tier.value.0;
        let message: Text = if others.is_empty() {
            tr!(
                "tier-{tier} service `{id}` has no backup endpoint: it is a single point of failure",
                "tier-{tier}-dienst `{id}` heeft geen backup-endpoint: het is een single point of failure"
            )
        } else if spof.more {
            tr!(
                "`{id}` has no backup endpoint and tier 1-2 services depend on it (`{list}` and more): a single point of failure",
                "`{id}` heeft geen backup-endpoint en tier-1-2-diensten hangen ervan af (`{list}` en meer): een single point of failure"
            )
        } else {
            tr!(
                "`{id}` has no backup endpoint and tier 1-2 services depend on it (`{list}`): a single point of failure",
                "`{id}` heeft geen backup-endpoint en tier-1-2-diensten hangen ervan af (`{list}`): een single point of failure"
            )
        };
        diags.push(
            Diagnostic::warning("single-point-of-failure", service.id.loc.clone(), message, tr!("no redundancy", "geen redundantie")).with_help(tr!(
                "add a [[service.endpoint]] with role = \"backup\", or record the accepted risk in a [[risk]] with mitigations",
                "voeg een [[service.endpoint]] met role = \"backup\" toe, of leg het geaccepteerde risico vast in een [[risk]] met maatregelen"
            )),
        );
    }
}

fn risks(catalog: &Catalog, diags: &mut Diagnostics) {
    for risk in &catalog.risks {
        let score = risk.score();
        if score >= CRITICAL_RISK_SCORE && risk.mitigations.is_empty() {
            let (id, l, i) = (&risk.id.value, risk.likelihood.value, risk.impact.value);
            diags.push(
                Diagnostic::warning(
                    "unmitigated-risk",
                    risk.id.loc.clone(),
                    tr!(
                        "risk `{id}` scores {score} (likelihood {l} x impact {i}) and has no mitigations",
                        "risico `{id}` scoort {score} (kans {l} x impact {i}) en heeft geen maatregelen"
                    ),
                    tr!("score {score}", "score {score}"),
                )
                .with_help(tr!(
                    "list what reduces it: `mitigations = [\"offline immutable backups\", ...]`",
                    "noem wat het verkleint: `mitigations = [\"offline onveranderbare back-ups\", ...]`"
                )),
            );
        }
    }
}
