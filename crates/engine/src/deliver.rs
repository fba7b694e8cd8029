//! The delivery seam: [`Deliver`] sends one notice, one subscriber mail or one
//! subscriber webhook; [`Channels`] does it through the catalog's real channels, tests
//! put a recorder in its place. The dispatcher also asks it how far apart two sends on
//! one channel must be.

use continuo_core::catalog::{Catalog, ChannelKind};
use continuo_notify::direct::{Mail, Poster};
use continuo_notify::{Delivered, Notice, Notifier, SendError, SendErrorKind};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// The longest one send may take when the channel sets no longer `timeout`: name
/// resolution, connecting, the exchange, all of it.
pub const SEND_DEADLINE: Duration = Duration::from_secs(30);

/// What the dispatcher adds to a channel's own `timeout` for its deadline: the channel
/// times out first and says why; the deadline catches what its timeout does not cover.
const DEADLINE_MARGIN: Duration = Duration::from_secs(5);

/// A send in flight.
pub type Sending<'a> = Pin<Box<dyn Future<Output = Result<Delivered, SendError>> + Send + 'a>>;

/// Sends one notice through one channel: the real channels, or a recorder in tests.
pub trait Deliver: Send + Sync {
    /// Delivers `notice` through the channel with id `channel`.
    fn deliver<'a>(&'a self, channel: &'a str, notice: &'a Notice) -> Sending<'a>;

    /// Delivers a status page subscriber's finished mail through the email channel
    /// `channel`. Only the real channels can.
    fn deliver_mail<'a>(&'a self, channel: &'a str, mail: &'a Mail) -> Sending<'a> {
        let _ = mail;
        Box::pin(async move { Err(permanent(format!("`{channel}` cannot send mail here"))) })
    }

    /// Posts a status page subscriber's webhook payload to its URL (to an internal
    /// address only when `allow_internal`).
    fn deliver_webhook<'a>(
        &'a self,
        url: &'a str,
        body: &'a serde_json::Value,
        key: &'a str,
        allow_internal: bool,
    ) -> Sending<'a> {
        Box::pin(post_webhook(url, body, key, allow_internal))
    }

    /// The least time between two sends through `channel` (of `kind` in the catalog,
    /// when it is there): what the channel kind's receivers allow.
    fn min_spacing(&self, channel: &str, kind: Option<ChannelKind>) -> Duration {
        let _ = channel;
        kind.map_or(Duration::ZERO, Notifier::spacing_of)
    }

    /// The longest one send through `channel` may take, all of it (name resolution
    /// included): the dispatcher abandons a send still going then, as a failed attempt
    /// worth another try.
    fn deadline(&self, channel: &str) -> Duration {
        let _ = channel;
        SEND_DEADLINE
    }
}

/// The real channels of a catalog; rebuilt on reload.
pub struct Channels {
    notifiers: std::sync::RwLock<HashMap<String, Arc<Notifier>>>,
    templates: Arc<continuo_notify::Templates>,
}

impl Channels {
    /// Builds every channel of the catalog; the errors of the ones that cannot be built.
    pub fn build(
        catalog: &Catalog,
        templates: Arc<continuo_notify::Templates>,
    ) -> (Channels, Vec<String>) {
        let channels = Channels {
            notifiers: std::sync::RwLock::new(HashMap::new()),
            templates,
        };
        let errors = channels.rebuild(catalog);
        (channels, errors)
    }

    /// Rebuilds every channel from a new catalog; the errors of the ones that cannot be
    /// built (those are left out).
    pub fn rebuild(&self, catalog: &Catalog) -> Vec<String> {
        let mut notifiers = HashMap::new();
        let mut errors = Vec::new();
        for channel in &catalog.channels {
            match Notifier::build(channel, self.templates.clone()) {
                Ok(n) => {
                    notifiers.insert(channel.id.value.clone(), Arc::new(n));
                }
                Err(e) => errors.push(e.to_string()),
            }
        }
        *self
            .notifiers
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = notifiers;
        errors
    }

    fn notifier(&self, channel: &str) -> Option<Arc<Notifier>> {
        self.notifiers
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(channel)
            .cloned()
    }
}

impl Deliver for Channels {
    fn deliver<'a>(&'a self, channel: &'a str, notice: &'a Notice) -> Sending<'a> {
        let notifier = self.notifier(channel);
        Box::pin(async move {
            match notifier {
                Some(n) => n.send(notice).await,
                // Retryable: a reload may be rebuilding it, and a resolution must not be
                // dead-lettered for that.
                None => Err(SendError {
                    kind: SendErrorKind::Retryable,
                    retry_after: None,
                    message: format!(
                        "channel `{channel}` is not configured (or could not be built)"
                    ),
                }),
            }
        })
    }

    fn deliver_mail<'a>(&'a self, channel: &'a str, mail: &'a Mail) -> Sending<'a> {
        Box::pin(mail_through(self.notifier(channel), channel, mail))
    }

    fn deadline(&self, channel: &str) -> Duration {
        // A channel whose `timeout` is longer than the default keeps it.
        self.notifier(channel).map_or(SEND_DEADLINE, |n| {
            n.timeout()
                .saturating_add(DEADLINE_MARGIN)
                .max(SEND_DEADLINE)
        })
    }

    fn min_spacing(&self, channel: &str, kind: Option<ChannelKind>) -> Duration {
        match self.notifier(channel) {
            Some(n) => n.min_spacing(),
            // Not built: still paced by what the catalog says it is.
            None => kind.map_or(Duration::ZERO, Notifier::spacing_of),
        }
    }
}

/// A failure no retry can fix.
pub(crate) fn permanent(message: String) -> SendError {
    failure(SendErrorKind::Permanent, message)
}

pub(crate) fn failure(kind: SendErrorKind, message: String) -> SendError {
    SendError {
        kind,
        retry_after: None,
        message,
    }
}

/// Sends a subscriber's mail through an email channel of `channels`.
async fn mail_through(
    notifier: Option<Arc<Notifier>>,
    channel: &str,
    mail: &Mail,
) -> Result<Delivered, SendError> {
    match notifier {
        Some(n) if n.kind() == ChannelKind::Email => n.send_mail(mail).await,
        Some(_) => Err(failure(
            SendErrorKind::Permanent,
            format!("channel `{channel}` is not an email channel"),
        )),
        None => Err(failure(
            SendErrorKind::Retryable,
            format!("channel `{channel}` is not configured (or could not be built)"),
        )),
    }
}

fn poster(allow_internal: bool) -> Result<&'static Poster, SendError> {
    static PUBLIC: OnceLock<Result<Poster, String>> = OnceLock::new();
    static ANY: OnceLock<Result<Poster, String>> = OnceLock::new();
    let cell = if allow_internal { &ANY } else { &PUBLIC };
    cell.get_or_init(|| Poster::new(Duration::from_secs(10), allow_internal).map_err(|e| e.en))
        .as_ref()
        .map_err(|e| failure(SendErrorKind::Retryable, e.clone()))
}

/// Posts a subscriber's webhook payload.
async fn post_webhook(
    url: &str,
    body: &serde_json::Value,
    key: &str,
    allow_internal: bool,
) -> Result<Delivered, SendError> {
    poster(allow_internal)?.post(url, body, key).await
}
