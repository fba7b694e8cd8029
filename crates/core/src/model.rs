//! The catalog: every type the configuration describes, after decoding.
//!
//! Identifiers and references keep the [`Loc`] they were written at, so validation and
//! analyses can point back at the configuration.

use crate::diag::Loc;
use crate::duration::HumanDuration;
use crate::text::Lang;
use serde::Serialize;
use std::collections::BTreeMap;

/// A value together with where it was written.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Located<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    #[serde(skip)]
    pub loc: Loc,
}

impl<T> Located<T> {
    /// Wraps a value with its location.
    pub fn new(value: T, loc: Loc) -> Located<T> {
        Located { value, loc }
    }
}

/// An identifier (`checkout`) or a reference to one, with its location.
pub type Id = Located<String>;

/// The whole validated configuration.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Catalog {
    /// Who this is for.
    pub organization: Organization,
    /// How this node runs.
    pub server: Server,
    /// People who can be paged or own things.
    pub persons: Vec<Person>,
    /// Teams that own services.
    pub teams: Vec<Team>,
    /// On-call schedules.
    pub schedules: Vec<Schedule>,
    /// Escalation policies.
    pub escalations: Vec<Escalation>,
    /// Notification channels.
    pub channels: Vec<Channel>,
    /// The services the organisation depends on.
    pub services: Vec<Service>,
    /// The risk register.
    pub risks: Vec<Risk>,
}

impl Catalog {
    /// The service with this id.
    pub fn service(&self, id: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.id.value == id)
    }
}

/// The organisation that runs Continuo.
#[derive(Clone, Debug, Serialize)]
pub struct Organization {
    /// Display name.
    pub name: String,
    /// IANA time zone in which times are shown (`Europe/Amsterdam`).
    pub timezone: String,
    /// Languages for user-facing text, the first is the default.
    pub languages: Vec<Lang>,
    /// ISO 4217 currency for downtime costs (`EUR`).
    pub currency: String,
}

impl Default for Organization {
    fn default() -> Self {
        Organization {
            name: "Continuo".into(),
            timezone: "UTC".into(),
            languages: vec![Lang::En],
            currency: "EUR".into(),
        }
    }
}

/// How this Continuo node runs.
#[derive(Clone, Debug, Serialize)]
pub struct Server {
    /// Address of the HTTP listener.
    pub listen: String,
    /// `sqlite://path` or `postgres://...`.
    pub database: String,
    /// Name of the place this node probes from.
    pub location: String,
    /// Public base URL used in links (acknowledge links, status page), if any.
    pub public_url: Option<String>,
}

impl Default for Server {
    fn default() -> Self {
        Server {
            listen: "127.0.0.1:8080".into(),
            database: "sqlite://continuo.db".into(),
            location: "default".into(),
            public_url: None,
        }
    }
}

/// Someone who can be paged or own something.
#[derive(Clone, Debug, Serialize)]
pub struct Person {
    /// Identifier.
    pub id: Id,
    /// Full name.
    pub name: String,
    /// Email address.
    pub email: Option<String>,
    /// Phone number (E.164) for SMS and voice channels.
    pub phone: Option<String>,
    /// Preferred language for messages to this person.
    pub language: Option<Lang>,
}

/// A group of people that owns services.
#[derive(Clone, Debug, Serialize)]
pub struct Team {
    /// Identifier.
    pub id: Id,
    /// Display name.
    pub name: String,
    /// Member person ids.
    pub members: Vec<Id>,
    /// Escalation policy used for this team's services.
    pub escalation: Option<Id>,
}

/// An on-call schedule made of rotation layers and overrides.
#[derive(Clone, Debug, Serialize)]
pub struct Schedule {
    /// Identifier.
    pub id: Id,
    /// Display name.
    pub name: String,
    /// Time zone for hand-offs; defaults to the organisation's.
    pub timezone: Option<String>,
    /// Rotation layers; a later layer wins where it has someone on call.
    pub layers: Vec<Layer>,
    /// Time-bounded replacements.
    pub overrides: Vec<Override>,
}

/// One rotation in a schedule.
#[derive(Clone, Debug, Serialize)]
pub struct Layer {
    /// People in rotation order.
    pub members: Vec<Id>,
    /// Length of one shift.
    pub rotation: HumanDuration,
    /// Hand-off time of day, `HH:MM`.
    pub handoff: String,
    /// First day of the rotation, `YYYY-MM-DD`.
    pub start: String,
}

/// Someone else on call for a while.
#[derive(Clone, Debug, Serialize)]
pub struct Override {
    /// Who is on call instead.
    pub person: Id,
    /// Start, RFC 3339 or a local date-time in the schedule's time zone.
    pub from: String,
    /// End, same format.
    pub until: String,
}

/// What an escalation step can notify.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// One person, by their preferred contact.
    Person,
    /// Every member of a team.
    Team,
    /// Whoever is on call in a schedule.
    Schedule,
    /// A channel (chat room, webhook).
    Channel,
}

impl TargetKind {
    /// The prefix used in configuration (`schedule:`).
    pub fn prefix(self) -> &'static str {
        match self {
            TargetKind::Person => "person",
            TargetKind::Team => "team",
            TargetKind::Schedule => "schedule",
            TargetKind::Channel => "channel",
        }
    }

    /// Every kind.
    pub const ALL: [TargetKind; 4] = [
        TargetKind::Person,
        TargetKind::Team,
        TargetKind::Schedule,
        TargetKind::Channel,
    ];
}

/// A notification target such as `schedule:platform-primary`.
#[derive(Clone, Debug, Serialize)]
pub struct Target {
    /// What kind of thing is notified.
    pub kind: TargetKind,
    /// Its id, with the location of the whole target string.
    pub id: Id,
}

/// An escalation policy.
#[derive(Clone, Debug, Serialize)]
pub struct Escalation {
    /// Identifier.
    pub id: Id,
    /// Levels in order.
    pub levels: Vec<EscalationLevel>,
    /// How many times the whole policy repeats when nobody acknowledges.
    pub repeat: u32,
    /// Remind acknowledged-but-open incidents this often.
    pub reminder: Option<HumanDuration>,
}

/// One step of an escalation policy.
#[derive(Clone, Debug, Serialize)]
pub struct EscalationLevel {
    /// Delay after the alert starts.
    pub after: HumanDuration,
    /// Who is told at this level.
    pub notify: Vec<Target>,
}

/// The kinds of notification channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// Generic JSON webhook.
    Webhook,
    /// Slack incoming webhook.
    Slack,
    /// Microsoft Teams workflow webhook.
    Teams,
    /// Email over SMTP.
    Email,
    /// PagerDuty Events API v2.
    Pagerduty,
    /// Opsgenie alerts API.
    Opsgenie,
    /// Telegram bot.
    Telegram,
    /// ntfy topic.
    Ntfy,
    /// A templated HTTP request, for SMS gateways.
    HttpTemplate,
}

impl ChannelKind {
    /// Every kind with its configuration name.
    pub const ALL: [(&'static str, ChannelKind); 9] = [
        ("webhook", ChannelKind::Webhook),
        ("slack", ChannelKind::Slack),
        ("teams", ChannelKind::Teams),
        ("email", ChannelKind::Email),
        ("pagerduty", ChannelKind::Pagerduty),
        ("opsgenie", ChannelKind::Opsgenie),
        ("telegram", ChannelKind::Telegram),
        ("ntfy", ChannelKind::Ntfy),
        ("http_template", ChannelKind::HttpTemplate),
    ];

    /// Settings a channel of this kind cannot work without.
    pub fn required_settings(self) -> &'static [&'static str] {
        match self {
            ChannelKind::Webhook | ChannelKind::Slack | ChannelKind::Teams => &["url"],
            ChannelKind::Email => &["smtp_host", "from", "to"],
            ChannelKind::Pagerduty => &["routing_key"],
            ChannelKind::Opsgenie => &["api_key"],
            ChannelKind::Telegram => &["bot_token", "chat_id"],
            ChannelKind::Ntfy => &["url", "topic"],
            ChannelKind::HttpTemplate => &["url", "body"],
        }
    }

    /// Settings a channel of this kind understands besides the required ones.
    pub fn optional_settings(self) -> &'static [&'static str] {
        match self {
            ChannelKind::Webhook => &["secret", "headers", "method"],
            ChannelKind::Slack | ChannelKind::Teams => &[],
            ChannelKind::Email => &["smtp_port", "username", "password", "tls"],
            ChannelKind::Pagerduty => &["url"],
            ChannelKind::Opsgenie => &["url", "region"],
            ChannelKind::Telegram => &["url"],
            ChannelKind::Ntfy => &["token", "priority"],
            ChannelKind::HttpTemplate => &["method", "headers", "content_type"],
        }
    }
}

/// A notification channel. Its behaviour lives in the `notify` crate; here is its shape.
#[derive(Clone, Debug, Serialize)]
pub struct Channel {
    /// Identifier.
    pub id: Id,
    /// What it is.
    pub kind: ChannelKind,
    /// Language of messages sent here; defaults to the organisation's first language.
    pub language: Option<Lang>,
    /// Kind-specific settings, after `${VAR}` interpolation.
    #[serde(skip)]
    pub settings: BTreeMap<String, Located<SettingValue>>,
}

/// A kind-specific channel setting.
#[derive(Clone, Debug, PartialEq)]
pub enum SettingValue {
    /// A string (URLs, keys, templates).
    Text(String),
    /// A number (ports).
    Integer(i64),
    /// A flag.
    Bool(bool),
    /// A table of strings (headers).
    Map(BTreeMap<String, String>),
    /// A list of strings (recipients).
    List(Vec<String>),
}

/// Business criticality, 1 (mission-critical) to 4 (deferrable).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Tier(pub u8);

/// Whether a service cannot work without a dependency, or only works less well.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DependencyKind {
    /// Down when the dependency is down.
    Hard,
    /// Degraded when the dependency is down.
    Soft,
}

/// A dependency of one service on another.
#[derive(Clone, Debug, Serialize)]
pub struct Dependency {
    /// The service depended on.
    pub service: Id,
    /// Hard or soft.
    pub kind: DependencyKind,
}

/// The role of an endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Serves traffic normally.
    Primary,
    /// Takes over when no primary is healthy.
    Backup,
}

/// One place a service is served from.
#[derive(Clone, Debug, Serialize)]
pub struct Endpoint {
    /// Optional name (`ams-1`).
    pub name: Option<String>,
    /// URL or `host:port`.
    pub url: String,
    /// Primary or backup.
    pub role: Role,
}

/// The kinds of check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckKind {
    /// HTTP(S) request.
    Http,
    /// TCP connect, optionally with a send/expect exchange.
    Tcp,
    /// DNS query.
    Dns,
    /// TLS handshake and certificate checks on any TCP port.
    Tls,
    /// ICMP echo.
    Icmp,
    /// A local command's exit status.
    Command,
    /// A push check: something outside pings Continuo.
    Heartbeat,
}

impl CheckKind {
    /// Every kind with its configuration name.
    pub const ALL: [(&'static str, CheckKind); 7] = [
        ("http", CheckKind::Http),
        ("tcp", CheckKind::Tcp),
        ("dns", CheckKind::Dns),
        ("tls", CheckKind::Tls),
        ("icmp", CheckKind::Icmp),
        ("command", CheckKind::Command),
        ("heartbeat", CheckKind::Heartbeat),
    ];

    /// The configuration name.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, k)| *k == self)
            .map_or("?", |(n, _)| n)
    }
}

/// A probe definition. Probing itself lives in the `probe` crate; here is its shape.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// Identifier, unique across the catalog (defaults to `<service>-<kind>[-n]`).
    pub id: Id,
    /// What kind of probe.
    pub kind: CheckKind,
    /// URL (http), or `host:port` (tcp, tls), or host (icmp), or name (dns).
    pub target: Option<String>,
    /// Command and arguments (command checks).
    pub command: Vec<String>,
    /// How often to probe (active checks).
    pub interval: HumanDuration,
    /// How long one probe may take.
    pub timeout: HumanDuration,
    /// Consecutive failures before the check is down.
    pub fail_threshold: u32,
    /// Consecutive successes before a down check is up again.
    pub recover_threshold: u32,
    /// Number of locations that must agree before the check is down.
    pub quorum: u32,
    /// Kind-specific settings (method, headers, record type, expectations, heartbeat
    /// period and schedule), kept as written for the probe to validate.
    #[serde(skip)]
    pub settings: BTreeMap<String, Located<SettingValue>>,
}

/// How the service appears on the public status page.
#[derive(Clone, Debug, Default, Serialize)]
pub struct StatusPage {
    /// Component name shown to customers; `None` hides the service.
    pub component: Option<String>,
    /// Group the component belongs to.
    pub group: Option<String>,
}

/// Something the business depends on.
#[derive(Clone, Debug, Serialize)]
pub struct Service {
    /// Identifier.
    pub id: Id,
    /// Display name.
    pub name: String,
    /// What it is for.
    pub description: Option<String>,
    /// Criticality.
    pub tier: Located<Tier>,
    /// Owning team.
    pub owner: Id,
    /// Recovery time objective: the longest acceptable time to restore it.
    pub rto: Located<HumanDuration>,
    /// Recovery point objective: the most data loss acceptable, if it holds data.
    pub rpo: Option<Located<HumanDuration>>,
    /// Maximum tolerable period of disruption.
    pub mtpd: Option<Located<HumanDuration>>,
    /// Cost of one hour of downtime, in the organisation's currency.
    pub cost_per_hour: Option<f64>,
    /// What it depends on.
    pub depends_on: Vec<Dependency>,
    /// Where it is served from.
    pub endpoints: Vec<Endpoint>,
    /// How it is monitored.
    pub checks: Vec<Check>,
    /// Path of its runbook, relative to the config file that declares it.
    pub runbook: Option<String>,
    /// Status page presentation.
    pub status_page: StatusPage,
    /// Set when a required value (tier, owner, RTO) was missing or invalid and a
    /// placeholder stands in; such a catalog has errors and no warning is derived from it.
    #[serde(skip)]
    pub incomplete: bool,
    /// Where the `[[service]]` table starts.
    #[serde(skip)]
    pub loc: Loc,
}

impl Service {
    /// True when it has at least one backup endpoint besides a primary.
    pub fn is_redundant(&self) -> bool {
        let primaries = self
            .endpoints
            .iter()
            .filter(|e| e.role == Role::Primary)
            .count();
        let backups = self
            .endpoints
            .iter()
            .filter(|e| e.role == Role::Backup)
            .count();
        backups >= 1 && primaries + backups >= 2
    }

    /// Hard dependencies only.
    pub fn hard_dependencies(&self) -> impl Iterator<Item = &Id> {
        self.depends_on
            .iter()
            .filter(|d| d.kind == DependencyKind::Hard)
            .map(|d| &d.service)
    }
}

/// A threat to one or more services.
#[derive(Clone, Debug, Serialize)]
pub struct Risk {
    /// Identifier.
    pub id: Id,
    /// One-line title.
    pub title: String,
    /// Longer description.
    pub description: Option<String>,
    /// How likely, 1 (rare) to 5 (almost certain).
    pub likelihood: Located<u8>,
    /// How bad, 1 (negligible) to 5 (catastrophic).
    pub impact: Located<u8>,
    /// Services it hits directly.
    pub affects: Vec<Id>,
    /// What reduces it.
    pub mitigations: Vec<String>,
    /// Person or team that owns it.
    pub owner: Option<Id>,
    /// Where the `[[risk]]` table starts.
    #[serde(skip)]
    pub loc: Loc,
}

impl Risk {
    /// Likelihood x impact, 1 to 25.
    pub fn score(&self) -> u8 {
        self.likelihood.value * self.impact.value
    }
}
