//! The public view: everything the status page, its JSON API, the feed, the badges and
//! the live stream show, built in one place from the catalog, service health, incidents,
//! maintenance windows and the day rollups.
//!
//! **Invariant:** this is the only way data reaches a public response, and it holds
//! nothing private: components are named by their `status_page` component name (services
//! without one are left out), incidents carry only their title, status, times, impact and
//! the updates written for customers; never notes, timeline, roles, people, runbooks,
//! checklists, reports, internal or management updates, service or check ids.

use crate::AppState;
use continuo_core::Lang;
use continuo_core::incident::{Audience, Severity, Status};
use continuo_core::maintenance::Window;

use continuo_core::public::slug;
use continuo_core::text::Text;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

/// Days shown on uptime bars.
pub(crate) const DAYS: usize = 90;
const DAY_MS: i64 = 86_400_000;
/// How long a built view is reused: the page is cacheable for a few seconds anyway.
const VIEW_TTL_MS: i64 = 1_000;
/// How long the day rollups are reused: they change slowly.
const UPTIME_TTL_MS: i64 = 60_000;
/// Incidents shown: detected within this many days.
const INCIDENT_DAYS: i64 = 90;

pub(crate) use continuo_core::public::ComponentStatus;

/// What only the web side needs of a component status.
pub(crate) trait Look {
    /// A CSS class name.
    fn class(self) -> &'static str;
    /// The badge colour (white text on it passes WCAG AA).
    fn colour(self) -> &'static str;
}

impl Look for ComponentStatus {
    fn class(self) -> &'static str {
        match self {
            ComponentStatus::Unknown => "unknown",
            other => other.api_name(),
        }
    }

    fn colour(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "#1a7f37",
            ComponentStatus::Unknown => "#57606a",
            ComponentStatus::UnderMaintenance => "#0550ae",
            ComponentStatus::DegradedPerformance => "#9a6700",
            ComponentStatus::PartialOutage => "#bc4c00",
            ComponentStatus::MajorOutage => "#cf222e",
        }
    }
}

/// Statuspage's impact of an incident: SEV1 critical, SEV2 major, SEV3 minor, SEV4 none.
pub(crate) fn impact(severity: Severity) -> &'static str {
    continuo_core::public::impact(severity)
}

/// One UTC day of a component's uptime bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Day {
    /// Start of the day, unix ms.
    pub start_ms: i64,
    /// Observations (0: no data).
    pub count: u64,
    /// Of which failures.
    pub failures: u64,
}

impl Day {
    /// Share of good observations, `None` without data.
    pub(crate) fn availability(&self) -> Option<f64> {
        (self.count > 0)
            .then(|| (self.count - self.failures.min(self.count)) as f64 / self.count as f64)
    }
}

/// Uptime over the days that had data.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Uptime {
    /// Percentage, 0-100.
    pub percent: f64,
    /// Days with data it is computed over.
    pub days: usize,
}

/// A component on the page.
#[derive(Clone, Debug)]
pub(crate) struct Component {
    /// Public id (a slug of its name).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its group's public id.
    pub group: Option<String>,
    /// Position on the page, from 1.
    pub position: usize,
    /// Current status.
    pub status: ComponentStatus,
    /// When its status last changed, as far as we know.
    pub updated_ms: i64,
    /// When it first appeared on the page (never moves; kept in the store).
    pub created_ms: i64,
    /// The last [`DAYS`] UTC days, oldest first.
    pub days: Vec<Day>,
    /// Uptime over the days with data.
    pub uptime: Option<Uptime>,
    /// The first day with data.
    pub first_day_ms: Option<i64>,
}

/// A group of components.
#[derive(Clone, Debug)]
pub(crate) struct Group {
    /// Public id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Position, from 1.
    pub position: usize,
    /// Indexes into [`PublicView::components`].
    pub members: Vec<usize>,
    /// When it first appeared on the page (never moves; kept in the store).
    pub created_ms: i64,
}

impl Group {
    /// The worst status of its members.
    pub(crate) fn status(&self, view: &PublicView) -> ComponentStatus {
        self.members
            .iter()
            .filter_map(|&i| view.components.get(i))
            .map(|c| c.status)
            .max()
            .unwrap_or(ComponentStatus::Operational)
    }
}

/// One update written for customers.
#[derive(Clone, Debug)]
pub(crate) struct PublicUpdate {
    /// Public id.
    pub id: String,
    /// The status it announced.
    pub status: Status,
    /// Its text.
    pub body: Text,
    /// When.
    pub at_ms: i64,
}

/// An incident as customers see it.
#[derive(Clone, Debug)]
pub(crate) struct PublicIncident {
    /// Public id (lower-case incident id).
    pub id: String,
    /// Title, as customers see it (a generated one in each language).
    pub name: Text,
    /// Lifecycle status.
    pub status: Status,
    /// Severity (shown as Statuspage's impact).
    pub severity: Severity,
    /// Detected.
    pub created_ms: i64,
    /// The last public change.
    pub updated_ms: i64,
    /// First customer update that said monitoring.
    pub monitoring_ms: Option<i64>,
    /// Resolved.
    pub resolved_ms: Option<i64>,
    /// Started (first failing observation), else detected.
    pub started_ms: i64,
    /// Customer updates, newest first.
    pub updates: Vec<PublicUpdate>,
    /// Indexes into [`PublicView::components`].
    pub components: Vec<usize>,
}

/// A maintenance window as customers see it.
#[derive(Clone, Debug)]
pub(crate) struct PublicMaintenance {
    /// Public id.
    pub id: String,
    /// Its title.
    pub name: String,
    /// Start.
    pub from_ms: i64,
    /// End.
    pub until_ms: i64,
    /// Running now.
    pub active: bool,
    /// Indexes into [`PublicView::components`].
    pub components: Vec<usize>,
    /// When it was first announced on the page (never moves; kept in the store).
    pub created_ms: i64,
}

/// The page's presentation and identity.
#[derive(Clone, Debug)]
pub(crate) struct PageInfo {
    /// A stable id.
    pub id: String,
    /// Title.
    pub name: String,
    /// A line under the title.
    pub description: Option<String>,
    /// Logo URL.
    pub logo: Option<String>,
    /// Accent colour, `#rrggbb`.
    pub accent: String,
    /// Public URL of the server (`[server] public_url`), without a trailing slash.
    pub public_url: Option<String>,
    /// The organisation's time zone.
    pub time_zone: String,
}

/// Everything public, at one moment.
#[derive(Clone, Debug)]
pub(crate) struct PublicView {
    /// The page.
    pub page: PageInfo,
    /// Components in page order.
    pub components: Vec<Component>,
    /// Groups in page order.
    pub groups: Vec<Group>,
    /// Incidents detected in the last 90 days that have a customer update, newest first.
    pub incidents: Vec<PublicIncident>,
    /// Active and upcoming maintenance, soonest first.
    pub maintenances: Vec<PublicMaintenance>,
    /// When anything shown last changed.
    pub updated_ms: i64,
    /// Which build of the view this is (answers rendered from it are kept per build).
    pub generation: u64,
    /// The overall indicator, as core's public projection defines it (subscriber
    /// webhooks give the same).
    pub indicator: continuo_core::public::Indicator,
}

/// The overall indicator: Statuspage's word and our description.
pub(crate) struct Indicator {
    /// `none`, `minor`, `major` or `critical`.
    pub word: &'static str,
    /// What it means.
    pub text: Text,
}

impl PublicView {
    /// Open incidents.
    pub(crate) fn open_incidents(&self) -> impl Iterator<Item = &PublicIncident> {
        self.incidents
            .iter()
            .filter(|i| i.status != Status::Resolved)
    }

    /// The worst of the components' statuses and the open incidents' impacts.
    pub(crate) fn indicator(&self) -> Indicator {
        Indicator {
            word: self.indicator.word(),
            text: self.indicator.text(),
        }
    }

    /// The component with this public id.
    pub(crate) fn component(&self, id: &str) -> Option<&Component> {
        self.components.iter().find(|c| c.id == id)
    }

    /// A fingerprint of what the live section shows (statuses, incidents), so the live
    /// stream sends only real changes.
    pub(crate) fn live_fingerprint(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for c in &self.components {
            c.id.hash(&mut h);
            c.status.hash(&mut h);
        }
        for i in &self.incidents {
            i.id.hash(&mut h);
            i.status.name().hash(&mut h);
            i.updates.len().hash(&mut h);
            i.severity.0.hash(&mut h);
        }
        for m in &self.maintenances {
            m.id.hash(&mut h);
            m.active.hash(&mut h);
        }
        h.finish()
    }
}

/// Each check's days with data.
type DaysByCheck = Arc<HashMap<String, Vec<Day>>>;

/// One rendered answer and its entity tag, and its gzip variant once a client asked.
pub(crate) struct Rendered {
    /// The body.
    pub body: axum::body::Bytes,
    /// `"<hex of SHA-256>"`.
    pub etag: String,
    /// The gzip variant and its own entity tag (a strong tag names one representation):
    /// compressed the first time a client accepts it, `None` when it would not be smaller.
    gzip: OnceLock<Option<Variant>>,
}

/// A compressed representation of a [`Rendered`] body.
pub(crate) struct Variant {
    /// The compressed bytes.
    pub body: axum::body::Bytes,
    /// `"<hex of SHA-256 of the identity body>-gzip"`.
    pub etag: String,
}

/// Bodies smaller than this are sent as they are: the saving would not pay for the
/// header and the client's work.
const GZIP_FROM: usize = 1024;

impl Rendered {
    /// `body` with its entity tag.
    pub(crate) fn new(body: axum::body::Bytes) -> Rendered {
        Rendered {
            etag: etag_of(&body),
            body,
            gzip: OnceLock::new(),
        }
    }

    /// The gzip variant, compressed now if this is the first time it is asked for.
    pub(crate) fn gzip(&self) -> Option<&Variant> {
        self.gzip
            .get_or_init(|| {
                if self.body.len() < GZIP_FROM {
                    return None;
                }
                let compressed = gzip(&self.body)?;
                (compressed.len() < self.body.len()).then(|| Variant {
                    body: compressed.into(),
                    etag: format!("{}-gzip\"", self.etag.trim_end_matches('"')),
                })
            })
            .as_ref()
    }
}

fn gzip(body: &[u8]) -> Option<Vec<u8>> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4),
        flate2::Compression::default(),
    );
    // Writing to a Vec cannot fail; were it to, the body goes out uncompressed.
    encoder.write_all(body).ok()?;
    encoder.finish().ok()
}

/// The store setting that records when each status page item was first shown.
const FIRST_SEEN: &str = "status_page.first_seen";

/// Most rendered answers kept (page and documents per language and base URL).
const RENDERED_LIMIT: usize = 64;

/// The per-router cache of the view, of the day rollups and of the answers rendered from
/// the current view (so a busy page renders and hashes each answer once per view, not
/// once per request).
#[derive(Default)]
pub(crate) struct Cache {
    view: Mutex<Option<(i64, Arc<PublicView>)>>,
    uptime: Mutex<Option<(i64, DaysByCheck)>>,
    generation: std::sync::atomic::AtomicU64,
    rendered: Mutex<HashMap<String, (u64, Arc<Rendered>)>>,
    /// When each component, group and maintenance window was first shown, by
    /// `<kind>:<public id>`; loaded from the store's settings once, saved when it grows.
    first_seen: tokio::sync::Mutex<Option<BTreeMap<String, i64>>>,
    /// Held by the one request that rebuilds the view; the others meanwhile answer
    /// from the view before (a busy page builds once a second, not once per request
    /// that arrives while the build awaits the store).
    building: tokio::sync::Mutex<()>,
}

/// The entity tag of a body.
pub(crate) fn etag_of(body: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(body);
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Cache {
    /// The answer `key` rendered from `view`, rendered now unless it already was.
    pub(crate) fn rendered(
        &self,
        view: &PublicView,
        key: String,
        render: impl FnOnce() -> String,
    ) -> Arc<Rendered> {
        if let Some((generation, r)) = lock(&self.rendered).get(&key)
            && *generation == view.generation
        {
            return r.clone();
        }
        let rendered = Arc::new(Rendered::new(render().into()));
        let mut map = lock(&self.rendered);
        if map.len() >= RENDERED_LIMIT {
            map.retain(|_, (g, _)| *g == view.generation);
            if map.len() >= RENDERED_LIMIT {
                map.clear();
            }
        }
        map.insert(key, (view.generation, rendered.clone()));
        rendered
    }

    /// The view, rebuilt when older than a second (or when `fresh`: then one whose build
    /// began after this call did). One request rebuilds at a time; while it does, the others get
    /// the view before unless they asked for a fresh one or there is none yet.
    pub(crate) async fn view(&self, state: &AppState, fresh: bool) -> Arc<PublicView> {
        let asked = state.engine.now_ms();
        let current = |at: i64| {
            if fresh {
                // Begun after the ask (not in the same millisecond, which could be
                // before the change the caller wants to see).
                at > asked
            } else {
                asked - at < VIEW_TTL_MS && asked >= at
            }
        };
        let cached = lock(&self.view).clone();
        if let Some((at, view)) = &cached
            && current(*at)
        {
            return view.clone();
        }
        let _building = match self.building.try_lock() {
            Ok(guard) => guard,
            Err(_) => match cached {
                Some((_, view)) if !fresh => return view,
                _ => self.building.lock().await,
            },
        };
        // Another request may have built it while this one waited for the lock.
        if let Some((at, view)) = lock(&self.view).as_ref()
            && current(*at)
        {
            return view.clone();
        }
        let now = state.engine.now_ms();
        let view = Arc::new(self.build(state, now).await);
        *lock(&self.view) = Some((now, view.clone()));
        view
    }

    /// When each of `keys` was first shown: from the store's record, else now (and
    /// recorded). Keys no longer shown are forgotten, so a component removed and added
    /// again is new. Without a store (or when it fails) the record lives as long as
    /// the process, and says so in the log.
    async fn first_seen(
        &self,
        state: &AppState,
        keys: &[String],
        now: i64,
    ) -> BTreeMap<String, i64> {
        let mut guard = self.first_seen.lock().await;
        if guard.is_none() {
            let stored = match &state.store {
                Some(store) => match store.setting(FIRST_SEEN).await {
                    Ok(value) => value
                        .and_then(|v| serde_json::from_value::<BTreeMap<String, i64>>(v).ok())
                        .unwrap_or_default(),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read when status page items were first shown");
                        BTreeMap::new()
                    }
                },
                None => BTreeMap::new(),
            };
            *guard = Some(stored);
        }
        let map = guard.get_or_insert_with(BTreeMap::new);
        let before = map.len();
        let wanted: std::collections::BTreeSet<&str> = keys.iter().map(String::as_str).collect();
        map.retain(|k, _| wanted.contains(k.as_str()));
        let mut changed = map.len() != before;
        for key in keys {
            if !map.contains_key(key) {
                map.insert(key.clone(), now);
                changed = true;
            }
        }
        if changed
            && let Some(store) = &state.store
            && let Err(e) = store.set_setting(FIRST_SEEN, &serde_json::json!(map)).await
        {
            tracing::warn!(error = %e, "cannot record when status page items were first shown");
        }
        map.clone()
    }

    async fn days_by_check(&self, state: &AppState, checks: Vec<String>, now: i64) -> DaysByCheck {
        if let Some((at, days)) = lock(&self.uptime).as_ref()
            && now - at < UPTIME_TTL_MS
            && now >= *at
        {
            return days.clone();
        }
        let today = now - now.rem_euclid(DAY_MS);
        let from = today - (DAYS as i64 - 1) * DAY_MS;
        let mut out: HashMap<String, Vec<Day>> = HashMap::new();
        // Without a store (or when it fails) every day is "no data": never invented.
        if let Some(store) = &state.store
            && let Ok(rows) = store.day_counts(&checks, from, today + DAY_MS).await
        {
            for row in rows {
                out.entry(row.check_id).or_default().push(Day {
                    start_ms: row.day_ms,
                    count: row.count,
                    failures: row.failures,
                });
            }
            let out = Arc::new(out);
            *lock(&self.uptime) = Some((now, out.clone()));
            return out;
        }
        Arc::new(out)
    }

    async fn build(&self, state: &AppState, now: i64) -> PublicView {
        let catalog = state.engine.catalog();
        let settings = &catalog.status_page;
        let health: HashMap<String, _> = state
            .engine
            .services()
            .into_iter()
            .map(|s| (s.id.clone(), s))
            .collect();
        let (active, upcoming) = match &state.alerts {
            Some(alerts) => alerts.windows(),
            None => {
                let active = continuo_core::maintenance::active(&catalog, &[], now);
                let upcoming =
                    continuo_core::maintenance::scheduled(&catalog, &[], now, 30 * DAY_MS, 50)
                        .into_iter()
                        .filter(|w| w.from_ms > now)
                        .collect();
                (active, upcoming)
            }
        };
        let started = state.engine.started_ms();

        // Components and groups, in configuration order, as core projects them.
        let incident_list = match &state.alerts {
            Some(alerts) => alerts
                .incidents(now - INCIDENT_DAYS * DAY_MS, now + 60_000, 200)
                .await
                .unwrap_or_default(),
            None => Vec::new(),
        };
        let projected = continuo_core::public::PublicView::project(
            &catalog,
            |service| {
                continuo_core::public::component_status(
                    &catalog,
                    health.get(service).map(|v| &v.health),
                    active.iter().any(|w| w.covers(service, now)),
                )
            },
            &incident_list,
        );
        let mut components: Vec<Component> = Vec::new();
        let mut by_service: HashMap<String, usize> = HashMap::new();
        let mut checks_of: Vec<Vec<String>> = Vec::new();
        for shown in &projected.components {
            let view = health.get(&shown.service);
            let updated_ms = view
                .and_then(|v| v.health.failing_since_ms)
                .unwrap_or(started);
            let index = components.len();
            by_service.insert(shown.service.clone(), index);
            checks_of.push(view.map(|v| v.checks.clone()).unwrap_or_default());
            components.push(Component {
                id: shown.id.clone(),
                name: shown.name.clone(),
                group: shown.group.clone(),
                position: index + 1,
                status: shown.status,
                updated_ms,
                created_ms: 0,
                days: Vec::new(),
                uptime: None,
                first_day_ms: None,
            });
        }
        let groups: Vec<Group> = projected
            .groups
            .iter()
            .enumerate()
            .map(|(n, g)| Group {
                id: g.id.clone(),
                name: g.name.clone(),
                position: n + 1,
                members: g.members.clone(),
                created_ms: 0,
            })
            .collect();

        // Uptime bars from the day rollups.
        let all_checks: Vec<String> = checks_of.iter().flatten().cloned().collect();
        let by_check = self.days_by_check(state, all_checks, now).await;
        let today = now - now.rem_euclid(DAY_MS);
        for (component, checks) in components.iter_mut().zip(&checks_of) {
            let mut days: Vec<Day> = (0..DAYS as i64)
                .map(|i| Day {
                    start_ms: today - (DAYS as i64 - 1 - i) * DAY_MS,
                    count: 0,
                    failures: 0,
                })
                .collect();
            for check in checks {
                for d in by_check.get(check).into_iter().flatten() {
                    let slot = (d.start_ms - days[0].start_ms) / DAY_MS;
                    if let Some(day) = usize::try_from(slot).ok().and_then(|s| days.get_mut(s)) {
                        day.count += d.count;
                        day.failures += d.failures.min(d.count);
                    }
                }
            }
            let with_data: Vec<&Day> = days.iter().filter(|d| d.count > 0).collect();
            let (count, failures) = with_data
                .iter()
                .fold((0u64, 0u64), |(c, f), d| (c + d.count, f + d.failures));
            component.uptime = (count > 0).then(|| Uptime {
                percent: 100.0 * (count - failures) as f64 / count as f64,
                days: with_data.len(),
            });
            component.first_day_ms = with_data.first().map(|d| d.start_ms);
            component.days = days;
        }

        // Incidents with at least one update for customers.
        let mut incidents = Vec::new();
        {
            for i in &incident_list {
                let mut updates: Vec<PublicUpdate> = i
                    .updates
                    .iter()
                    .enumerate()
                    .filter(|(_, u)| u.audience == Audience::Customers)
                    .map(|(n, u)| PublicUpdate {
                        id: format!("{}-u{}", i.id.to_ascii_lowercase(), n + 1),
                        status: u.status,
                        body: u.body.clone(),
                        at_ms: u.at_ms,
                    })
                    .collect();
                if updates.is_empty() {
                    continue;
                }
                updates.sort_by_key(|u| std::cmp::Reverse(u.at_ms));
                let created_ms = i
                    .milestones
                    .detected_ms
                    .or(i.milestones.started_ms)
                    .unwrap_or(started);
                let resolved_ms = (i.status == Status::Resolved)
                    .then_some(i.milestones.resolved_ms)
                    .flatten();
                let last_update = updates.first().map_or(created_ms, |u| u.at_ms);
                let mut members: Vec<usize> = i
                    .services
                    .iter()
                    .filter_map(|s| by_service.get(&s.service).copied())
                    .collect();
                members.sort_unstable();
                members.dedup();
                incidents.push(PublicIncident {
                    id: i.id.to_ascii_lowercase(),
                    name: i.public_title(),
                    status: i.status,
                    severity: i.severity,
                    created_ms,
                    updated_ms: last_update.max(resolved_ms.unwrap_or(0)),
                    monitoring_ms: updates
                        .iter()
                        .filter(|u| u.status == Status::Monitoring)
                        .map(|u| u.at_ms)
                        .min(),
                    resolved_ms,
                    started_ms: i.milestones.started_ms.unwrap_or(created_ms),
                    updates,
                    components: members,
                });
            }
        }

        // Maintenance that touches a component on the page.
        let mut maintenances = Vec::new();
        for (w, is_active) in active
            .iter()
            .map(|w| (w, true))
            .chain(upcoming.iter().map(|w| (w, false)))
        {
            let mut members: Vec<usize> = w
                .services
                .iter()
                .filter_map(|s| by_service.get(s).copied())
                .collect();
            members.sort_unstable();
            members.dedup();
            if members.is_empty() {
                continue;
            }
            maintenances.push(public_window(w, is_active, members));
        }
        maintenances.sort_by_key(|m| (m.from_ms, m.id.clone()));

        // When each was first shown: Statuspage's `created_at`, which must never move.
        let keys: Vec<String> = components
            .iter()
            .map(|c| format!("component:{}", c.id))
            .chain(groups.iter().map(|g| format!("group:{}", g.id)))
            .chain(maintenances.iter().map(|m| format!("maintenance:{}", m.id)))
            .collect();
        let seen = self.first_seen(state, &keys, now).await;
        let when = |key: String| seen.get(&key).copied().unwrap_or(now);
        for c in &mut components {
            c.created_ms = when(format!("component:{}", c.id));
        }
        let mut groups = groups;
        for g in &mut groups {
            g.created_ms = when(format!("group:{}", g.id));
        }
        for m in &mut maintenances {
            m.created_ms = when(format!("maintenance:{}", m.id)).min(m.from_ms);
        }

        let updated_ms = components
            .iter()
            .map(|c| c.updated_ms)
            .chain(incidents.iter().map(|i| i.updated_ms))
            .chain(maintenances.iter().filter(|m| m.active).map(|m| m.from_ms))
            .max()
            .unwrap_or(started);
        let name = settings
            .title
            .clone()
            .unwrap_or_else(|| catalog.organization.name.clone());
        let page = PageInfo {
            id: projected.page_id.clone(),
            name,
            description: settings.description.clone(),
            logo: settings.logo.clone(),
            accent: settings.accent_or_default().to_string(),
            public_url: catalog
                .server
                .public_url
                .as_ref()
                .map(|u| u.trim_end_matches('/').to_string()),
            time_zone: catalog.organization.timezone.clone(),
        };
        PublicView {
            page,
            components,
            groups,
            incidents,
            maintenances,
            updated_ms,
            generation: self
                .generation
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            indicator: projected.indicator,
        }
    }
}

fn public_window(w: &Window, active: bool, components: Vec<usize>) -> PublicMaintenance {
    PublicMaintenance {
        id: format!("{}-{}", slug(&w.id), w.from_ms.div_euclid(1000)),
        name: w.title.clone(),
        from_ms: w.from_ms,
        until_ms: w.until_ms,
        active,
        components,
        created_ms: 0,
    }
}

/// Groups components by group for display: `(group, members)` with ungrouped components
/// as `None`, in page order.
pub(crate) fn sections(view: &PublicView) -> Vec<(Option<&Group>, Vec<&Component>)> {
    let mut out: Vec<(Option<&Group>, Vec<&Component>)> = Vec::new();
    let mut seen_groups: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &view.components {
        match &c.group {
            Some(gid) => {
                if let Some(&at) = seen_groups.get(gid.as_str()) {
                    out[at].1.push(c);
                } else {
                    let group = view.groups.iter().find(|g| &g.id == gid);
                    seen_groups.insert(gid, out.len());
                    out.push((group, vec![c]));
                }
            }
            None => out.push((None, vec![c])),
        }
    }
    out
}

/// An instant for people, in the page's time zone.
pub(crate) fn local_time(ms: i64, zone: &str) -> String {
    let tz = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| {
            t.to_zoned_datetime(tz)
                .strftime("%Y-%m-%d %H:%M %Z")
                .to_string()
        })
        .unwrap_or_default()
}

/// A day for people (`2026-11-25`).
pub(crate) fn day_label(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// A percentage for people in a language (`99.95 %`, `99,95 %`).
pub(crate) fn percent(value: f64, lang: Lang) -> String {
    let text = if (99.995..100.0).contains(&value) {
        "99.99".to_string()
    } else {
        format!("{value:.2}")
    };
    match lang {
        Lang::En => format!("{text}%"),
        Lang::Nl => format!("{} %", text.replace('.', ",")),
    }
}
