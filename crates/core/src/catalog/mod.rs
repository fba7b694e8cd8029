//! The catalog: every type the configuration describes, after decoding.
//!
//! Identifiers and references keep the [`Loc`] they were written at, so validation and
//! analyses can point back at the configuration.
//!
//! **Invariant:** the catalog imports no rule module (alerting, incidents, the public
//! view, decoding): it is the vocabulary the rules are written in, so it sits below them.

pub mod gateway;
pub mod incident;
pub mod status_page;

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
    /// Planned maintenance windows.
    pub maintenances: Vec<Maintenance>,
    /// Rules that route inbound alerts (Alertmanager, PagerDuty-style events) to services.
    pub routes: Vec<Route>,
    /// Who responds to an incident of a given severity (crisis team activation).
    pub response_plans: Vec<ResponsePlan>,
    /// Failover gateways in front of services' endpoints.
    pub gateways: Vec<gateway::Gateway>,
    /// How the public status page presents itself (`[status_page]`).
    pub status_page: status_page::StatusPageSettings,
    /// Position of each service by id (first of duplicates), built by [`Catalog::index`].
    #[serde(skip)]
    pub service_index: std::collections::HashMap<String, usize>,
    /// Each service's place in the recovery priority order, computed once on first use
    /// by [`crate::analysis::recovery_rank`] (every incident's checklist asks it);
    /// cleared by [`Catalog::index`].
    #[serde(skip)]
    pub recovery_ranks: std::sync::OnceLock<std::collections::HashMap<String, usize>>,
}

impl Catalog {
    /// The service with this id.
    pub fn service(&self, id: &str) -> Option<&Service> {
        if self.service_index.len() == self.services.len() && !self.services.is_empty() {
            return self
                .service_index
                .get(id)
                .and_then(|&i| self.services.get(i))
                .filter(|s| s.id.value == id);
        }
        self.services.iter().find(|s| s.id.value == id)
    }

    /// Builds the id index that makes [`Catalog::service`] a hash lookup (loading does it;
    /// a catalog built by hand works without, by linear search).
    pub fn index(&mut self) {
        self.recovery_ranks = std::sync::OnceLock::new();
        self.service_index.clear();
        for (i, s) in self.services.iter().enumerate() {
            self.service_index.entry(s.id.value.clone()).or_insert(i);
        }
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
    /// Incident reporting regimes the organisation is subject to (NIS2, DORA).
    pub regulations: Vec<incident::Regime>,
    /// When the continuity plan was last reviewed, and how often it must be
    /// (`reviewed`, `review_every` in `[organization]`): the `plan_reviewed` claim.
    pub plan_review: Review,
    /// Where a notice goes when a tier 1-2 service's continuity claim is breached or
    /// goes stale (`posture_channels` in `[organization]`): these channels for every
    /// claim; `None` (not set) sends a service's notices to the channels its escalation
    /// names and the organisation's to every channel an escalation names; an empty list
    /// sends none.
    pub posture_channels: Option<Vec<Id>>,
}

/// When a document (a runbook, the continuity plan) was last reviewed, and how often it
/// must be. Either may be missing: no date means the review is unproven.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Review {
    /// How often it must be reviewed.
    pub every: Option<HumanDuration>,
    /// The date (`YYYY-MM-DD`, checked when decoded) of the last review.
    pub reviewed: Option<String>,
}

impl Review {
    /// The start (UTC midnight, unix ms) of the review date, if one is set and valid.
    pub fn reviewed_ms(&self) -> Option<i64> {
        let date: jiff::civil::Date = self.reviewed.as_deref()?.parse().ok()?;
        let at = date.to_zoned_datetime(jiff::tz::TimeZone::UTC).ok()?;
        Some(at.timestamp().as_millisecond())
    }
}

/// The default window over which a service level objective is measured.
pub const DEFAULT_SLO_WINDOW: HumanDuration =
    HumanDuration(std::time::Duration::from_secs(30 * 86_400));

impl Default for Organization {
    fn default() -> Self {
        Organization {
            name: "Continuo".into(),
            timezone: "UTC".into(),
            languages: vec![Lang::En],
            currency: "EUR".into(),
            regulations: Vec::new(),
            plan_review: Review::default(),
            posture_channels: None,
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
    /// How long raw observations are kept; rollups and transitions are kept longer.
    pub retention: HumanDuration,
    /// Most probes running at once on this node.
    pub max_concurrent_probes: u32,
    /// Token inbound alert hooks (`/hooks/alertmanager`, `/v2/enqueue`) require; the
    /// hooks are off without one. A secret: never serialised.
    #[serde(skip)]
    pub hooks_token: Option<Located<String>>,
    /// Secret that signs acknowledge links; generated and kept in the database when unset.
    #[serde(skip)]
    pub secret: Option<String>,
    /// Directory with message templates that replace the built-in ones
    /// (`subject.nl.j2`, `text.en.j2`, `html.en.j2`), relative to the config file.
    pub templates: Option<String>,
    /// Addresses of reverse proxies whose `X-Forwarded-For` and `X-Forwarded-Proto`
    /// are believed (for the client address in rate limits and the audit log, and for
    /// marking cookies `Secure`).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Always mark the session cookie `Secure` (TLS ends before an untrusted hop).
    pub secure_cookies: bool,
    /// A session ends this long after sign-in, whatever happens.
    pub session_lifetime: HumanDuration,
    /// A session ends after this long without a request.
    pub session_idle: HumanDuration,
    /// Requests per second one client address may make to public endpoints (pings,
    /// hooks, acknowledge links, sign-in page), with bursts of ten times that; 0 is off.
    /// Read when the server starts (a reload keeps the limiter it has).
    pub public_rate_limit: u32,
    /// The email channel (`[[channel]]` id) that sends status page subscribers' mail;
    /// without it nobody can subscribe by email.
    pub subscriber_email_channel: Option<String>,
    /// Whether subscribers' webhooks may point at loopback, private or link-local
    /// addresses (off: a public form must not make the server call inside its network).
    pub allow_private_webhooks: bool,
}

impl Default for Server {
    fn default() -> Self {
        Server {
            listen: "127.0.0.1:8080".into(),
            database: "sqlite://continuo.db".into(),
            location: "default".into(),
            public_url: None,
            retention: HumanDuration::from_secs(7 * 86_400),
            max_concurrent_probes: 2_048,
            hooks_token: None,
            secret: None,
            templates: None,
            trusted_proxies: Vec::new(),
            secure_cookies: false,
            session_lifetime: HumanDuration::from_secs(12 * 3_600),
            session_idle: HumanDuration::from_secs(3_600),
            public_rate_limit: 20,
            subscriber_email_channel: None,
            allow_private_webhooks: false,
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
    /// Channels this person is paged through (their address filled in); every email
    /// channel when empty and the person has an email address.
    pub contact: Vec<Id>,
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
    /// Mattermost incoming webhook.
    Mattermost,
    /// Rocket.Chat incoming webhook.
    #[serde(rename = "rocketchat")]
    RocketChat,
    /// Discord webhook.
    Discord,
    /// A Matrix room, through the client-server API with an access token.
    Matrix,
    /// Google Chat incoming webhook.
    #[serde(rename = "googlechat")]
    GoogleChat,
}

impl ChannelKind {
    /// Every kind with its configuration name.
    pub const ALL: [(&'static str, ChannelKind); 14] = [
        ("webhook", ChannelKind::Webhook),
        ("slack", ChannelKind::Slack),
        ("teams", ChannelKind::Teams),
        ("email", ChannelKind::Email),
        ("pagerduty", ChannelKind::Pagerduty),
        ("opsgenie", ChannelKind::Opsgenie),
        ("telegram", ChannelKind::Telegram),
        ("ntfy", ChannelKind::Ntfy),
        ("http_template", ChannelKind::HttpTemplate),
        ("mattermost", ChannelKind::Mattermost),
        ("rocketchat", ChannelKind::RocketChat),
        ("discord", ChannelKind::Discord),
        ("matrix", ChannelKind::Matrix),
        ("googlechat", ChannelKind::GoogleChat),
    ];

    /// Settings a channel of this kind cannot work without.
    pub fn required_settings(self) -> &'static [&'static str] {
        match self {
            ChannelKind::Webhook
            | ChannelKind::Slack
            | ChannelKind::Teams
            | ChannelKind::Mattermost
            | ChannelKind::RocketChat
            | ChannelKind::Discord
            | ChannelKind::GoogleChat => &["url"],
            ChannelKind::Email => &["smtp_host", "from", "to"],
            ChannelKind::Pagerduty => &["routing_key"],
            ChannelKind::Opsgenie => &["api_key"],
            ChannelKind::Telegram => &["bot_token", "chat_id"],
            ChannelKind::Ntfy => &["url", "topic"],
            ChannelKind::HttpTemplate => &["url", "body"],
            ChannelKind::Matrix => &["homeserver", "access_token", "room"],
        }
    }

    /// Settings a channel of this kind understands besides the required ones.
    pub fn optional_settings(self) -> &'static [&'static str] {
        match self {
            ChannelKind::Webhook => &["secret", "headers", "method", "timeout", "ca_file"],
            ChannelKind::Slack | ChannelKind::Teams => &["timeout", "ca_file"],
            ChannelKind::Email => &[
                "smtp_port",
                "username",
                "password",
                "tls",
                "timeout",
                "ca_file",
            ],
            ChannelKind::Pagerduty => &["url", "timeout", "ca_file"],
            ChannelKind::Opsgenie => &["url", "region", "timeout", "ca_file"],
            ChannelKind::Telegram => &["url", "parse_mode", "timeout", "ca_file"],
            ChannelKind::Ntfy => &["token", "priority", "timeout", "ca_file"],
            ChannelKind::HttpTemplate => {
                &["method", "headers", "content_type", "timeout", "ca_file"]
            }
            ChannelKind::Mattermost => &["username", "icon_url", "channel", "timeout", "ca_file"],
            ChannelKind::RocketChat => &["alias", "avatar", "channel", "timeout", "ca_file"],
            ChannelKind::Discord => &["username", "avatar_url", "timeout", "ca_file"],
            ChannelKind::Matrix => &["timeout", "ca_file"],
            ChannelKind::GoogleChat => &["timeout", "ca_file"],
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
    /// What to probe and what to expect, by kind.
    pub spec: CheckSpec,
    /// How often to probe (active checks).
    pub interval: HumanDuration,
    /// How long one probe may take.
    pub timeout: HumanDuration,
    /// Consecutive failures before the check is down.
    pub fail_threshold: u32,
    /// Consecutive successes before a down check is up again.
    pub recover_threshold: u32,
    /// Number of locations that must see it down before it counts as down.
    pub quorum: u32,
    /// Locations that run it; empty means every location.
    pub locations: Vec<String>,
}

impl Check {
    /// The kind of probe.
    pub fn kind(&self) -> CheckKind {
        match self.spec {
            CheckSpec::Http(_) => CheckKind::Http,
            CheckSpec::Tcp(_) => CheckKind::Tcp,
            CheckSpec::Dns(_) => CheckKind::Dns,
            CheckSpec::Tls(_) => CheckKind::Tls,
            CheckSpec::Icmp(_) => CheckKind::Icmp,
            CheckSpec::Command(_) => CheckKind::Command,
            CheckSpec::Heartbeat(_) => CheckKind::Heartbeat,
        }
    }
}

/// Kind-specific settings of a check.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum CheckSpec {
    // The larger specs are boxed so every check is as small as the smallest kinds: a
    // catalog of 100,000 TCP checks must not pay for an HTTP spec each.
    /// An HTTP(S) request.
    Http(Box<HttpSpec>),
    /// A TCP connection, optionally with a send/expect exchange.
    Tcp(TcpSpec),
    /// A DNS query.
    Dns(Box<DnsSpec>),
    /// A TLS handshake and certificate check.
    Tls(Box<TlsSpec>),
    /// An ICMP echo.
    Icmp(IcmpSpec),
    /// A local command.
    Command(CommandSpec),
    /// Pings pushed to Continuo.
    Heartbeat(Box<HeartbeatSpec>),
}

/// An HTTP check.
#[derive(Clone, Debug, Serialize)]
pub struct HttpSpec {
    /// The URL, `http://` or `https://`.
    pub url: Located<String>,
    /// Request method.
    pub method: String,
    /// Request headers.
    pub headers: BTreeMap<String, String>,
    /// Request body.
    pub body: Option<String>,
    /// How many redirects to follow (0: none; a redirect is then the response).
    pub follow_redirects: u32,
    /// PEM file of extra trusted CA certificates.
    pub ca_file: Option<Located<String>>,
    /// Accept any certificate. Named loudly on purpose: it defeats TLS.
    pub tls_insecure_skip_verify: bool,
    /// What the response must look like.
    pub expect: HttpExpect,
}

/// Expectations on an HTTP response.
#[derive(Clone, Debug, Default, Serialize)]
pub struct HttpExpect {
    /// Acceptable status codes; empty means 200-399.
    pub status: Vec<u16>,
    /// The body must contain this.
    pub body_contains: Option<String>,
    /// The body must match this regular expression.
    pub body_regex: Option<Located<String>>,
    /// JSON pointer (RFC 6901) to expected value, compared as text.
    pub json: BTreeMap<String, String>,
    /// Header name to a substring its value must contain.
    pub headers: BTreeMap<String, String>,
    /// Slower than this is degraded.
    pub max_latency: Option<HumanDuration>,
    /// A certificate that expires sooner than this is degraded.
    pub cert_valid_for: Option<HumanDuration>,
}

/// A TCP check.
#[derive(Clone, Debug, Serialize)]
pub struct TcpSpec {
    /// `host:port`.
    pub target: Located<String>,
    /// Bytes to send after connecting.
    pub send: Option<String>,
    /// The reply must contain this.
    pub expect_reply: Option<String>,
}

/// DNS record types a check can query.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum RecordType {
    /// IPv4 address.
    A,
    /// IPv6 address.
    Aaaa,
    /// Canonical name.
    Cname,
    /// Mail exchanger.
    Mx,
    /// Name server.
    Ns,
    /// Text.
    Txt,
}

impl RecordType {
    /// Every type with its configuration name.
    pub const ALL: [(&'static str, RecordType); 6] = [
        ("A", RecordType::A),
        ("AAAA", RecordType::Aaaa),
        ("CNAME", RecordType::Cname),
        ("MX", RecordType::Mx),
        ("NS", RecordType::Ns),
        ("TXT", RecordType::Txt),
    ];
}

/// A DNS check.
#[derive(Clone, Debug, Serialize)]
pub struct DnsSpec {
    /// The name to query.
    pub name: Located<String>,
    /// Record type.
    pub record_type: RecordType,
    /// Resolver `ip:port` to ask; the system's when absent.
    pub resolver: Option<Located<String>>,
    /// Values that must all be in the answer (empty: any answer will do).
    pub expect: Vec<String>,
}

/// A TLS check.
#[derive(Clone, Debug, Serialize)]
pub struct TlsSpec {
    /// `host:port`.
    pub target: Located<String>,
    /// Name to verify the certificate for; the host when absent.
    pub server_name: Option<String>,
    /// PEM file of extra trusted CA certificates.
    pub ca_file: Option<Located<String>>,
    /// A certificate that expires sooner than this is degraded.
    pub cert_valid_for: HumanDuration,
}

/// An ICMP echo check.
#[derive(Clone, Debug, Serialize)]
pub struct IcmpSpec {
    /// Host name or address.
    pub host: Located<String>,
}

/// A command check.
#[derive(Clone, Debug, Serialize)]
pub struct CommandSpec {
    /// Program and arguments (no shell).
    pub command: Vec<String>,
    /// Exit statuses that count as success.
    pub success_exit_codes: Vec<i32>,
    /// Bytes of output kept as the observation's message.
    pub max_output: usize,
}

/// A heartbeat: something outside pings `/ping/<uuid>`.
#[derive(Clone, Debug, Serialize)]
pub struct HeartbeatSpec {
    /// The secret part of the ping URL.
    pub uuid: Located<String>,
    /// Expected time between pings (simple schedule).
    pub period: Option<HumanDuration>,
    /// Cron expression of when pings are expected (instead of `period`).
    pub schedule: Option<Located<String>>,
    /// Time zone of the cron schedule; the organisation's when absent.
    pub timezone: Option<Located<String>>,
    /// How late a ping may be.
    pub grace: HumanDuration,
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
    pub checks: Vec<std::sync::Arc<Check>>,
    /// Path of its runbook, relative to the config file that declares it.
    pub runbook: Option<String>,
    /// The runbook's path as the loader found it (the config file's folder joined).
    #[serde(skip)]
    pub runbook_file: Option<String>,
    /// When the runbook was last reviewed and how often it must be (`runbook = { path,
    /// review_every, reviewed }`): the `runbook_current` claim.
    pub runbook_review: Review,
    /// Service level objective: the share of time it must be up, as a fraction
    /// (`slo = "99.9%"` is 0.999), if one is set.
    pub slo: Option<Located<f64>>,
    /// Over how long the SLO is measured (`slo_window`, 30 days unless set).
    pub slo_window: HumanDuration,
    /// Status page presentation.
    pub status_page: StatusPage,
    /// The key a PagerDuty-style sender puts in `routing_key` to address this service
    /// directly (`integration_key = "${ORDERS_KEY}"`). A secret: never serialised.
    #[serde(skip)]
    pub integration_key: Option<Located<String>>,
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

/// Planned maintenance: new pages for its services are held while it is active.
#[derive(Clone, Debug, Serialize)]
pub struct Maintenance {
    /// Identifier.
    pub id: Id,
    /// What is being done, as shown on the status page.
    pub title: String,
    /// The services under maintenance.
    pub services: Vec<Id>,
    /// A one-off window: start (RFC 3339 or local date-time in the organisation's zone).
    pub from: Option<String>,
    /// A one-off window: end, same format.
    pub until: Option<String>,
    /// A recurring window: when it starts, as a five-field cron expression.
    pub schedule: Option<Located<String>>,
    /// A recurring window: how long each occurrence lasts.
    pub duration: Option<HumanDuration>,
    /// Time zone of `schedule` and local times; defaults to the organisation's.
    pub timezone: Option<String>,
}

/// Routes inbound alerts whose labels all match to a service. A route without matchers
/// is the default route: it takes what no other route takes.
#[derive(Clone, Debug, Serialize)]
pub struct Route {
    /// Label name to required value (`alertname`, `job`, `source` for PagerDuty events);
    /// empty for the default route.
    pub matchers: BTreeMap<String, String>,
    /// The service such alerts are about.
    pub service: Id,
    /// Where the `[[route]]` table starts.
    #[serde(skip)]
    pub loc: Loc,
}

impl Route {
    /// True for the default route (no matchers).
    pub fn is_default(&self) -> bool {
        self.matchers.is_empty()
    }
}

/// Who responds to incidents of some severities: the roles of the crisis team, whom
/// to tell, and whether such an incident is significant (NIS2) or major (DORA).
#[derive(Clone, Debug, Serialize)]
pub struct ResponsePlan {
    /// Identifier.
    pub id: Id,
    /// The severities it applies to.
    pub severities: Vec<Located<incident::Severity>>,
    /// Each crisis role and where it is filled from (`schedule:`, `team:`, `person:`).
    pub roles: Vec<(incident::CrisisRole, Target)>,
    /// Who is told when the plan is activated.
    pub notify: Vec<Target>,
    /// An incident under this plan is classified significant (NIS2) / major (DORA).
    pub significant: bool,
    /// How often stakeholders should get an update while the incident is open.
    pub update_every: Option<HumanDuration>,
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
