//! The registry of channel kinds: build a channel's sender, validate it, send through it.
//! Adding a kind is a module under `channels` plus one line in each match here.

use crate::channels::{
    self, Common, discord, email, googlechat, http_template, matrix, mattermost, ntfy, opsgenie,
    pagerduty, rocketchat, slack, teams, telegram, webhook,
};
use crate::error::{ConfigError, ConfigProblem, Delivered, SendError};
use crate::http;
use crate::notice::Notice;
use crate::settings::Settings;
use crate::template::Templates;
use continuo_core::HumanDuration;
use continuo_core::catalog::{Channel, ChannelKind};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// How long one send may take unless the channel's `timeout` says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The range `timeout` may take.
const TIMEOUT_RANGE: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(600));

/// A channel, ready to send: built once (HTTP client, SMTP transport, compiled
/// templates) and shared by every send. `Send + Sync`; share it behind an `Arc`.
pub struct Notifier {
    id: String,
    kind: ChannelKind,
    timeout: Duration,
    templates: Arc<Templates>,
    sender: Sender,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Settings hold secrets (keys, tokens, webhook URLs): show none of them.
        f.debug_struct("Notifier")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// The ready sender of each kind.
enum Sender {
    Webhook(webhook::Webhook),
    Slack(slack::Slack),
    Teams(teams::Teams),
    Email(Box<email::Email>),
    Pagerduty(pagerduty::Pagerduty),
    Opsgenie(opsgenie::Opsgenie),
    Telegram(telegram::Telegram),
    Ntfy(ntfy::Ntfy),
    HttpTemplate(Box<http_template::HttpTemplate>),
    Mattermost(mattermost::Mattermost),
    RocketChat(rocketchat::RocketChat),
    Discord(discord::Discord),
    Matrix(matrix::Matrix),
    GoogleChat(googlechat::GoogleChat),
}

/// A kind's parsed configuration, before anything is built from it.
enum Parsed {
    Webhook(webhook::Config),
    Slack(slack::Config),
    Teams(teams::Config),
    Email(email::Config),
    Pagerduty(pagerduty::Config),
    Opsgenie(opsgenie::Config),
    Telegram(telegram::Config),
    Ntfy(ntfy::Config),
    HttpTemplate(Box<http_template::Config>),
    Mattermost(mattermost::Config),
    RocketChat(rocketchat::Config),
    Discord(discord::Config),
    Matrix(matrix::Config),
    GoogleChat(googlechat::Config),
}

fn parse(kind: ChannelKind, s: &mut Settings<'_>) -> Option<Parsed> {
    Some(match kind {
        ChannelKind::Webhook => Parsed::Webhook(webhook::Config::parse(s)?),
        ChannelKind::Slack => Parsed::Slack(slack::Config::parse(s)?),
        ChannelKind::Teams => Parsed::Teams(teams::Config::parse(s)?),
        ChannelKind::Email => Parsed::Email(email::Config::parse(s)?),
        ChannelKind::Pagerduty => Parsed::Pagerduty(pagerduty::Config::parse(s)?),
        ChannelKind::Opsgenie => Parsed::Opsgenie(opsgenie::Config::parse(s)?),
        ChannelKind::Telegram => Parsed::Telegram(telegram::Config::parse(s)?),
        ChannelKind::Ntfy => Parsed::Ntfy(ntfy::Config::parse(s)?),
        ChannelKind::HttpTemplate => {
            Parsed::HttpTemplate(Box::new(http_template::Config::parse(s)?))
        }
        ChannelKind::Mattermost => Parsed::Mattermost(mattermost::Config::parse(s)?),
        ChannelKind::RocketChat => Parsed::RocketChat(rocketchat::Config::parse(s)?),
        ChannelKind::Discord => Parsed::Discord(discord::Config::parse(s)?),
        ChannelKind::Matrix => Parsed::Matrix(matrix::Config::parse(s)?),
        ChannelKind::GoogleChat => Parsed::GoogleChat(googlechat::Config::parse(s)?),
    })
}

/// The settings every kind reads: `timeout` and `ca_file`.
fn common(s: &mut Settings<'_>) -> Common {
    let timeout = s
        .duration("timeout", TIMEOUT_RANGE.0, TIMEOUT_RANGE.1)
        .unwrap_or(DEFAULT_TIMEOUT);
    let ca = match s.path("ca_file") {
        Some(path) => match http::read_ca_file(&path) {
            Ok(certs) => certs,
            Err(message) => {
                s.problem("ca_file", message);
                Vec::new()
            }
        },
        None => Vec::new(),
    };
    Common { timeout, ca }
}

/// The problem of a sender that could not be built from a valid configuration.
fn build_problem(
    channel: &Channel,
    setting: Option<&str>,
    message: continuo_core::Text,
) -> ConfigProblem {
    let loc = setting
        .and_then(|name| channel.settings.get(name))
        .map_or_else(|| channel.id.loc.clone(), |v| v.loc.clone());
    ConfigProblem {
        channel: channel.id.value.clone(),
        setting: setting.map(str::to_string),
        message,
        loc,
    }
}

impl Notifier {
    /// Reads the channel's settings and builds its sender; every problem in the settings
    /// is reported at once. Relative `ca_file` paths are resolved against the working
    /// directory.
    pub fn build(channel: &Channel, templates: Arc<Templates>) -> Result<Notifier, ConfigError> {
        let mut s = Settings::new(channel);
        let common = common(&mut s);
        let parsed = parse(channel.kind, &mut s);
        let parsed = s
            .finish(parsed)
            .map_err(|problems| ConfigError { problems })?;
        let fail = |setting: Option<&str>, message| ConfigError {
            problems: vec![build_problem(channel, setting, message)],
        };
        let client = || {
            channels::http_client(&common)
                .map_err(|message| fail((!common.ca.is_empty()).then_some("ca_file"), message))
        };
        let sender = match parsed {
            Parsed::Webhook(c) => Sender::Webhook(webhook::Webhook::build(c, client()?)),
            Parsed::Slack(c) => Sender::Slack(slack::Slack::build(c, client()?)),
            Parsed::Teams(c) => Sender::Teams(teams::Teams::build(c, client()?)),
            Parsed::Email(c) => Sender::Email(Box::new(
                email::Email::build(c, &common)
                    .map_err(|(setting, message)| fail(setting, message))?,
            )),
            Parsed::Pagerduty(c) => Sender::Pagerduty(pagerduty::Pagerduty::build(c, client()?)),
            Parsed::Opsgenie(c) => Sender::Opsgenie(opsgenie::Opsgenie::build(c, client()?)),
            Parsed::Telegram(c) => Sender::Telegram(telegram::Telegram::build(c, client()?)),
            Parsed::Ntfy(c) => Sender::Ntfy(ntfy::Ntfy::build(c, client()?)),
            Parsed::HttpTemplate(c) => {
                Sender::HttpTemplate(Box::new(http_template::HttpTemplate::build(*c, client()?)))
            }
            Parsed::Mattermost(c) => {
                Sender::Mattermost(mattermost::Mattermost::build(c, client()?))
            }
            Parsed::RocketChat(c) => {
                Sender::RocketChat(rocketchat::RocketChat::build(c, client()?))
            }
            Parsed::Discord(c) => Sender::Discord(discord::Discord::build(c, client()?)),
            Parsed::Matrix(c) => Sender::Matrix(matrix::Matrix::build(c, client()?)),
            Parsed::GoogleChat(c) => {
                Sender::GoogleChat(googlechat::GoogleChat::build(c, client()?))
            }
        };
        Ok(Notifier {
            id: channel.id.value.clone(),
            kind: channel.kind,
            timeout: common.timeout,
            templates,
            sender,
        })
    }

    /// The channel's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The channel's kind.
    pub fn kind(&self) -> ChannelKind {
        self.kind
    }

    /// The longest one send may take (the `timeout` setting).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The least time between two sends through this channel, so the dispatcher stays
    /// under the receiver's published limit.
    pub fn min_spacing(&self) -> Duration {
        Notifier::spacing_of(self.kind)
    }

    /// The least time between two sends through a channel of `kind`: the receivers'
    /// published limits (Slack and Teams about one message per second per webhook,
    /// Google Chat one per second per space, Discord 5 per 2 seconds per webhook,
    /// Telegram 30 per second per bot), a little room for mail servers and for Mattermost
    /// and Rocket.Chat (whose limiters, when turned on, allow 10 a second), none for the
    /// rest (a Matrix homeserver sets its own limit and says how long to wait in its
    /// 429). Asked also when the channel could not be built, so pacing never depends on
    /// whether a reload succeeded.
    pub fn spacing_of(kind: ChannelKind) -> Duration {
        match kind {
            ChannelKind::Slack | ChannelKind::Teams | ChannelKind::GoogleChat => {
                Duration::from_millis(1_000)
            }
            ChannelKind::Discord => Duration::from_millis(400),
            ChannelKind::Mattermost | ChannelKind::RocketChat => Duration::from_millis(100),
            ChannelKind::Telegram => Duration::from_millis(50),
            ChannelKind::Email => Duration::from_millis(20),
            ChannelKind::Webhook
            | ChannelKind::Pagerduty
            | ChannelKind::Opsgenie
            | ChannelKind::Ntfy
            | ChannelKind::HttpTemplate
            | ChannelKind::Matrix => Duration::ZERO,
        }
    }

    /// Sends a finished mail through this channel's SMTP server, from its sender
    /// (status page subscribers); only email channels can.
    pub async fn send_mail(&self, mail: &crate::direct::Mail) -> Result<Delivered, SendError> {
        let Sender::Email(email) = &self.sender else {
            return Err(SendError::permanent(format!(
                "channel `{}` is not an email channel",
                self.id
            )));
        };
        match tokio::time::timeout(self.timeout, email.send_mail(mail)).await {
            Ok(result) => result,
            Err(_) => Err(SendError::retryable(format!(
                "timed out after {}",
                HumanDuration(self.timeout)
            ))),
        }
    }

    /// Renders `notice` in its language and delivers it. Never takes much longer than the
    /// channel's timeout; never retries (see [`SendError`] for what the caller may do).
    pub async fn send(&self, notice: &Notice) -> Result<Delivered, SendError> {
        let message = self
            .templates
            .render(notice)
            .map_err(|e| SendError::permanent(format!("cannot render the message: {e}")))?;
        let work = async {
            match &self.sender {
                Sender::Webhook(s) => s.send(notice, &message).await,
                Sender::Slack(s) => s.send(notice, &message).await,
                Sender::Teams(s) => s.send(notice, &message).await,
                Sender::Email(s) => s.send(notice, &message).await,
                Sender::Pagerduty(s) => s.send(notice, &message).await,
                Sender::Opsgenie(s) => s.send(notice, &message).await,
                Sender::Telegram(s) => s.send(notice, &message).await,
                Sender::Ntfy(s) => s.send(notice, &message).await,
                Sender::HttpTemplate(s) => s.send(notice, &message).await,
                Sender::Mattermost(s) => s.send(notice, &message).await,
                Sender::RocketChat(s) => s.send(notice, &message).await,
                Sender::Discord(s) => s.send(notice, &message).await,
                Sender::Matrix(s) => s.send(notice, &message).await,
                Sender::GoogleChat(s) => s.send(notice, &message).await,
            }
        };
        match tokio::time::timeout(self.timeout, work).await {
            Ok(result) => result,
            Err(_) => Err(SendError::retryable(format!(
                "timed out after {}",
                HumanDuration(self.timeout)
            ))),
        }
    }
}

/// Every problem in a channel's settings, for `continuo check`: the same reading and
/// building [`Notifier::build`] does (CA files are read, templates compiled), without
/// sending anything. Empty when the channel can be built.
pub fn validate(channel: &Channel) -> Vec<ConfigProblem> {
    static BUILTIN: OnceLock<Arc<Templates>> = OnceLock::new();
    let templates = BUILTIN
        .get_or_init(|| Arc::new(Templates::builtin()))
        .clone();
    match Notifier::build(channel, templates) {
        Ok(_) => Vec::new(),
        Err(e) => e.problems,
    }
}
