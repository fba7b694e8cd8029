//! Status page subscribers in the running system: the glue between the decision task,
//! the outbox and `continuo_core::subscribers`.
//!
//! - Subscribing ([`AlertHandle::subscribe`]) writes the pending subscriber and the
//!   message that asks to confirm it (a mail with a link, or a test delivery to the
//!   webhook) in one transaction; the dispatcher sends it.
//! - After every alerting decision, this stage turns what changed (incidents, components'
//!   status) into announcements and outbox items, one per confirmed subscriber who wants
//!   it, keyed `sub/<announcement>/<subscriber>`; they are committed with the decision.
//! - The dispatcher lets this stage send subscriber items: mail through the configured
//!   email channel (`[server] subscriber_email_channel`), webhooks straight to the
//!   subscriber's URL. A webhook's test delivery answered 2xx confirms it.
//!
//! Unsubscribe links are `<id>.<HMAC-SHA256(link secret, "unsubscribe." + id)>` (see
//! `links.rs`): they need nothing stored and cannot be guessed. Confirmation tokens are random (made by the
//! web layer) and stored only as SHA-256.
//!
//! **Invariant:** a subscriber is never told anything that was not in the outbox first;
//! one who unsubscribed gets nothing more, even from items queued before (cancelled in
//! the transaction that unsubscribes or deletes, and checked again when sending).
//!
//! Bounded: at most [`MAX_PENDING_SUBSCRIBERS`] wait for confirmation at once, and one
//! unconfirmed after [`CONFIRM_LINK_LIFETIME_MS`] is removed at the next request (the web
//! layer adds a limit per client address).

use crate::deliver::{Deliver, Sending, failure};
use crate::persist::Persist;
use crate::recipient::Recipient;
use crate::shared::{AlertHandle, Shared, lock};
use crate::stage::{Decided, Heard, Sent, Stage};
use continuo_core::Lang;
use continuo_core::catalog::{Catalog, ChannelKind};
use continuo_core::incident::book::IncidentBook;
use continuo_core::maintenance::Window;
use continuo_core::public::PublicView;
use continuo_core::subscribers::{
    self as rules, Announcement, ComponentStatus, Links, PayloadContext, Subscriber,
    SubscriberKind, SubscriberState,
};
use continuo_notify::direct::Mail;
use continuo_notify::{Delivered, SendError, SendErrorKind};
use continuo_store::{IncidentRow, OutboxItem, Store};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

pub use crate::links::{unsubscribe_token, verify_unsubscribe};

/// The outbox channel of subscribers' webhooks (posted to each subscriber's own URL).
pub const WEBHOOK_CHANNEL: &str = "subscriber-webhook";
/// How long a pending subscriber waits before asking again sends another confirmation.
pub const RESEND_AFTER_MS: i64 = 10 * 60_000;
/// How long a confirmation link works; a subscriber still unconfirmed after it is
/// removed (with whatever is queued for it) at the next subscription request.
pub const CONFIRM_LINK_LIFETIME_MS: i64 = 7 * 86_400_000;
/// The most subscribers waiting for confirmation at once: past it, new subscriptions
/// are refused until some confirm or expire, so the public form cannot queue without
/// bound (issue 16: 3,000 unauthenticated webhook subscriptions starved real pages).
pub const MAX_PENDING_SUBSCRIBERS: u64 = 1_000;

/// The subscribers stage, with what it remembers between decisions.
#[derive(Default)]
pub(crate) struct Subscribers {
    /// The components' statuses last announced (`None` until health is first known).
    statuses: Mutex<Option<BTreeMap<String, ComponentStatus>>>,
    /// Announcements already turned into items by this process (a restart derives them
    /// again; their outbox keys drop the repeats).
    told: Mutex<HashSet<String>>,
}

impl Stage for Subscribers {
    fn after_decision(&self, decided: &mut Decided<'_>) {
        let items = self.decide(
            decided.handle,
            decided.catalog,
            decided.windows,
            decided.incidents,
            &decided.changed_incidents,
            decided.now_ms,
        );
        decided.items.extend(items);
    }

    fn send<'a>(
        &'a self,
        shared: &'a Shared,
        deliver: &'a dyn Deliver,
        item: &'a OutboxItem,
        recipient: Option<&'a Recipient>,
    ) -> Option<Sending<'a>> {
        recipient
            .is_some_and(Recipient::is_subscriber)
            .then(|| -> Sending<'a> { Box::pin(send(shared, deliver, item)) })
    }

    fn on_delivered<'a>(&'a self, sent: Sent<'a>) -> Heard<'a> {
        Box::pin(delivered(sent))
    }
}

/// Loads the confirmed subscribers (none without a store that keeps them).
pub(crate) async fn load_confirmed(
    store: &dyn Persist,
) -> Result<Vec<Subscriber>, continuo_store::StoreError> {
    match store.subscriber_store() {
        Some(s) => s.subscribers(Some(SubscriberState::Confirmed)).await,
        None => Ok(Vec::new()),
    }
}

/// A subscriber's message as the outbox keeps it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Message {
    /// A mail through the subscriber email channel.
    Email {
        /// The subscriber.
        subscriber: String,
        /// Whether it may only go to a confirmed subscriber (everything but the
        /// confirmation request).
        needs_confirmed: bool,
        /// The mail.
        mail: Mail,
    },
    /// A Statuspage-shaped payload for the subscriber's webhook.
    Webhook {
        /// The subscriber.
        subscriber: String,
        /// Whether it may only go to a confirmed subscriber (everything but the test
        /// delivery, whose success confirms).
        needs_confirmed: bool,
        /// Where it goes.
        url: String,
        /// The payload.
        body: serde_json::Value,
        /// The `Idempotency-Key` header.
        key: String,
    },
}

/// What the status page shows now, from the components' statuses and the incidents in
/// memory (every open one is): the same page id and indicator as `/api/v2/status.json`.
fn public_view(
    catalog: &Catalog,
    statuses: &BTreeMap<String, ComponentStatus>,
    incidents: &IncidentBook,
) -> PublicView {
    PublicView::project(
        catalog,
        |service| {
            statuses
                .get(service)
                .copied()
                .unwrap_or(ComponentStatus::Operational)
        },
        incidents.incidents.values(),
    )
}

fn links(handle: &AlertHandle, subscriber: &str) -> Links {
    Links {
        status_page: format!("{}/status", handle.public_url),
        unsubscribe: handle.unsubscribe_link(subscriber),
    }
}

fn statuses_now(
    shared: &Shared,
    catalog: &Catalog,
    windows: &[Window],
    now: i64,
) -> Option<BTreeMap<String, ComponentStatus>> {
    Some(statuses_known(shared, catalog, windows, now)?.0)
}

/// Every component's status now, and those of them that are known: a component whose
/// health is unknown (not probed yet after a start) shows as operational but is no
/// baseline for a change, so a restart does not announce what was already so.
fn statuses_known(
    shared: &Shared,
    catalog: &Catalog,
    windows: &[Window],
    now: i64,
) -> Option<(
    BTreeMap<String, ComponentStatus>,
    BTreeMap<String, ComponentStatus>,
)> {
    let health = lock(&shared.health).clone()?;
    let in_maintenance = |service: &str| windows.iter().any(|w| w.covers(service, now));
    let all = rules::component_statuses(catalog, &health, &in_maintenance);
    let known = all
        .iter()
        .filter(|(id, status)| {
            **status == ComponentStatus::UnderMaintenance
                || health
                    .get(id.as_str())
                    .is_some_and(|h| h.health != continuo_core::state::Health::Unknown)
        })
        .map(|(id, status)| (id.clone(), *status))
        .collect();
    Some((all, known))
}

impl Subscribers {
    /// The outbox items of everything subscribers are told after a decision: the changed
    /// incidents' announcements and the components whose status changed.
    fn decide(
        &self,
        handle: &AlertHandle,
        catalog: &Catalog,
        windows: &[Window],
        incidents: &IncidentBook,
        changed: &[(String, IncidentRow)],
        now: i64,
    ) -> Vec<OutboxItem> {
        let shared = &handle.shared;
        let current = statuses_known(shared, catalog, windows, now);
        let mut announcements: Vec<Announcement> = Vec::new();
        if let Some((_, known)) = &current {
            let mut last = lock(&self.statuses);
            if let Some(before) = last.as_ref() {
                announcements.extend(rules::component_announcements(before, known, now));
            }
            *last = Some(known.clone());
        }
        let statuses = current.map(|(all, _)| all);
        for (id, _) in changed {
            if let Some(incident) = incidents.get(id) {
                announcements.extend(rules::incident_announcements(catalog, incident));
            }
        }
        {
            let mut told = lock(&self.told);
            // Bounded memory: forgetting only means deriving again, and the outbox keys
            // drop the repeats.
            if told.len() > 100_000 {
                told.clear();
            }
            announcements.retain(|a| told.insert(a.key.clone()));
        }
        if announcements.is_empty() {
            return Vec::new();
        }
        let confirmed = lock(&shared.confirmed_subscribers).clone();
        let statuses = statuses.unwrap_or_default();
        let view = public_view(catalog, &statuses, incidents);
        let mut items = Vec::new();
        for announcement in &announcements {
            let incident = match &announcement.news {
                rules::News::IncidentCreated { incident }
                | rules::News::IncidentUpdated { incident, .. }
                | rules::News::IncidentResolved { incident } => incidents.get(incident),
                rules::News::ComponentChanged { .. } => None,
            };
            for subscriber in confirmed.iter().filter(|s| rules::is_told(s, announcement)) {
                let key = format!("sub/{}/{}", announcement.key, subscriber.id);
                let links = links(handle, &subscriber.id);
                let (channel, message) = match subscriber.kind {
                    SubscriberKind::Email => {
                        let Some(channel) = catalog.server.subscriber_email_channel.clone() else {
                            continue;
                        };
                        let Some(mail) = rules::announcement_mail(
                            catalog,
                            subscriber.language,
                            announcement,
                            incident,
                            &links,
                        ) else {
                            continue;
                        };
                        let thread = incident.map_or_else(
                            || format!("status-{}", announcement.components.join("-")),
                            |i| format!("status-{}", i.id),
                        );
                        let mail = finished_mail(&key, thread, subscriber, mail, &links, now);
                        (
                            channel,
                            Message::Email {
                                subscriber: subscriber.id.clone(),
                                needs_confirmed: true,
                                mail,
                            },
                        )
                    }
                    SubscriberKind::Webhook => {
                        let ctx = PayloadContext {
                            catalog,
                            view: &view,
                            links: &links,
                        };
                        let Some(payload) =
                            rules::payload(&ctx, subscriber.language, announcement, incident)
                        else {
                            continue;
                        };
                        (
                            WEBHOOK_CHANNEL.to_string(),
                            Message::Webhook {
                                subscriber: subscriber.id.clone(),
                                needs_confirmed: true,
                                url: subscriber.address.clone(),
                                body: serde_json::to_value(&payload)
                                    .unwrap_or(serde_json::Value::Null),
                                key: key.clone(),
                            },
                        )
                    }
                };
                let Ok(notice) = serde_json::to_value(&message) else {
                    continue;
                };
                let about = incident.map_or_else(
                    || format!("component:{}", announcement.components.join(",")),
                    |i| i.id.clone(),
                );
                items.push(OutboxItem::new(
                    key,
                    channel,
                    about,
                    announcement.news.event().into(),
                    Recipient::Subscriber(subscriber.id.clone()).to_string(),
                    notice,
                    now,
                ));
            }
        }
        items
    }
}

/// A subscriber's mail with its unsubscribe headers (RFC 2369 and RFC 8058 one-click).
fn finished_mail(
    key: &str,
    thread: String,
    subscriber: &Subscriber,
    mail: rules::Mail,
    links: &Links,
    now: i64,
) -> Mail {
    Mail {
        idempotency_key: key.to_string(),
        thread_key: thread,
        to: subscriber.address.clone(),
        subject: mail.subject,
        text: mail.text,
        language: subscriber.language,
        headers: vec![
            (
                "List-Unsubscribe".into(),
                format!("<{}>", links.unsubscribe),
            ),
            (
                "List-Unsubscribe-Post".into(),
                "List-Unsubscribe=One-Click".into(),
            ),
        ],
        at_ms: now,
    }
}

/// Sends a subscriber's item: not at all (and counted as done) when the subscriber is
/// no longer subscribed.
async fn send(
    shared: &Shared,
    deliver: &dyn Deliver,
    item: &OutboxItem,
) -> Result<Delivered, SendError> {
    let message: Message = serde_json::from_value(item.notice.clone()).map_err(|e| {
        failure(
            SendErrorKind::Permanent,
            format!("the stored message cannot be read: {e}"),
        )
    })?;
    let (subscriber, needs_confirmed) = match &message {
        Message::Email {
            subscriber,
            needs_confirmed,
            ..
        }
        | Message::Webhook {
            subscriber,
            needs_confirmed,
            ..
        } => (subscriber, *needs_confirmed),
    };
    if needs_confirmed
        && !lock(&shared.confirmed_subscribers)
            .iter()
            .any(|s| &s.id == subscriber)
    {
        return Ok(Delivered {
            detail: "not sent: no longer subscribed".into(),
        });
    }
    match &message {
        Message::Email { mail, .. } => deliver.deliver_mail(&item.channel, mail).await,
        Message::Webhook { url, body, key, .. } => {
            let allow_internal = lock(&shared.catalog).server.allow_private_webhooks;
            deliver
                .deliver_webhook(url, body, key, allow_internal)
                .await
        }
    }
}

/// After a subscriber's item was sent: a webhook's successful test delivery confirms it.
async fn delivered(sent: Sent<'_>) {
    let Some(Recipient::Subscriber(id)) = sent.recipient else {
        return;
    };
    if sent.item.event != "subscriber-test" || sent.result.is_err() {
        return;
    }
    let Some(store) = sent.store.subscriber_store() else {
        return;
    };
    match store.confirm_subscriber(id, sent.now_ms).await {
        Ok(true) => refresh(sent.shared, store).await,
        Ok(false) => {}
        Err(e) => tracing::warn!(subscriber = %id, error = %e, "cannot confirm a subscriber"),
    }
}

async fn refresh(shared: &Shared, store: &Store) {
    match store.subscribers(Some(SubscriberState::Confirmed)).await {
        Ok(list) => *lock(&shared.confirmed_subscribers) = list,
        Err(e) => tracing::warn!(error = %e, "cannot read the subscribers"),
    }
}

/// A new subscription, checked by the caller (the web layer validates the address and
/// makes the token).
#[derive(Clone, Debug)]
pub struct NewSubscriber {
    /// Email or webhook.
    pub kind: SubscriberKind,
    /// The checked address or URL.
    pub address: String,
    /// The checked components (empty: all).
    pub components: Vec<String>,
    /// The language of its messages.
    pub language: Lang,
    /// A fresh random id.
    pub id: String,
    /// A fresh random confirmation token (emails), sent in the link.
    pub token: String,
    /// Its SHA-256, which is all that is stored.
    pub token_hash: String,
}

/// Why a subscription request failed.
#[derive(Debug, thiserror::Error)]
pub enum SubscribeError {
    /// Email subscriptions are off (`[server] subscriber_email_channel` is not set).
    #[error("email subscriptions are not enabled on this status page")]
    EmailDisabled,
    /// Subscribers need the database.
    #[error("subscriptions are not available: there is no database")]
    NoStore,
    /// The store failed.
    #[error("store: {0}")]
    Store(String),
    /// No such subscriber.
    #[error("no subscriber with id `{0}`")]
    Unknown(String),
    /// Too many subscriptions wait for confirmation ([`MAX_PENDING_SUBSCRIBERS`]); worth
    /// asking again after `retry_after` (when the oldest of them expires, at most).
    #[error("too many subscriptions are waiting for confirmation; try again later")]
    TooManyPending {
        /// When asking again may succeed.
        retry_after: std::time::Duration,
    },
}

impl AlertHandle {
    fn subscriber_store(&self) -> Result<&Store, SubscribeError> {
        self.store.subscriber_store().ok_or(SubscribeError::NoStore)
    }

    /// A subscriber's unsubscribe link.
    pub fn unsubscribe_link(&self, subscriber: &str) -> String {
        format!(
            "{}/status/unsubscribe/{}",
            self.public_url,
            unsubscribe_token(&self.secret, subscriber)
        )
    }

    /// The subscriber an unsubscribe token names, if the token is ours.
    pub fn verify_unsubscribe(&self, token: &str) -> Option<String> {
        verify_unsubscribe(&self.secret, token)
    }

    /// Subscribes, or asks again to confirm a pending subscription. A confirmed address
    /// is left as it is and nothing is sent, so the answer never tells whether an address
    /// was subscribed already.
    pub async fn subscribe(&self, new: NewSubscriber) -> Result<(), SubscribeError> {
        let store = self.subscriber_store()?;
        let catalog = self.catalog();
        let channel = match new.kind {
            SubscriberKind::Email => {
                let channel = catalog
                    .server
                    .subscriber_email_channel
                    .clone()
                    .ok_or(SubscribeError::EmailDisabled)?;
                // A name that is no email channel would only fill the dead letter.
                if !catalog
                    .channels
                    .iter()
                    .any(|c| c.id.value == channel && c.kind == ChannelKind::Email)
                {
                    tracing::warn!(
                        channel = %channel,
                        "[server] subscriber_email_channel is not an email [[channel]]; email subscriptions are refused"
                    );
                    return Err(SubscribeError::EmailDisabled);
                }
                channel
            }
            SubscriberKind::Webhook => WEBHOOK_CHANNEL.to_string(),
        };
        let now = self.now_ms();
        // Subscriptions never confirmed expire with their links, and their queued
        // messages with them.
        let expired = store
            .expire_pending_subscribers(now.saturating_sub(CONFIRM_LINK_LIFETIME_MS))
            .await
            .map_err(|e| SubscribeError::Store(e.to_string()))?;
        if expired > 0 {
            tracing::info!(expired, "unconfirmed subscriptions expired");
        }
        let existing = store
            .subscriber_by_address(new.kind, &new.address)
            .await
            .map_err(|e| SubscribeError::Store(e.to_string()))?;
        if existing.is_none() {
            // A new pending subscriber: only while there is room for one.
            let (pending, oldest) = store
                .pending_subscribers()
                .await
                .map_err(|e| SubscribeError::Store(e.to_string()))?;
            if pending >= MAX_PENDING_SUBSCRIBERS {
                let frees_ms = oldest
                    .map_or(0, |t| t.saturating_add(CONFIRM_LINK_LIFETIME_MS))
                    .saturating_sub(now)
                    .max(60_000);
                tracing::warn!(
                    pending,
                    "a subscription was refused: too many wait for confirmation"
                );
                return Err(SubscribeError::TooManyPending {
                    retry_after: std::time::Duration::from_millis(
                        u64::try_from(frees_ms).unwrap_or(60_000),
                    ),
                });
            }
        }
        let subscriber = match existing {
            Some(s) if s.state == SubscriberState::Confirmed => return Ok(()),
            // Asked again within minutes: the first request is on its way. Without this
            // the public form could flood someone's inbox with confirmation requests.
            Some(s) if now - s.created_ms < RESEND_AFTER_MS => return Ok(()),
            Some(s) => Subscriber {
                components: new.components,
                language: new.language,
                created_ms: now,
                ..s
            },
            None => Subscriber {
                id: new.id,
                kind: new.kind,
                address: new.address,
                components: new.components,
                language: new.language,
                state: SubscriberState::Pending,
                created_ms: now,
                confirmed_ms: None,
            },
        };
        let links = links(self, &subscriber.id);
        // The token's hash makes each request's key distinct: asking again sends again.
        let key = format!(
            "sub/{}/confirm-{}",
            subscriber.id,
            new.token_hash.get(..16).unwrap_or(&new.token_hash)
        );
        let (event, message) = match subscriber.kind {
            SubscriberKind::Email => {
                let url = format!("{}/status/confirm/{}", self.public_url, new.token);
                let mail =
                    rules::confirmation_mail(&catalog.organization.name, subscriber.language, &url);
                let thread = format!("subscriber-{}", subscriber.id);
                (
                    "subscriber-confirm",
                    Message::Email {
                        subscriber: subscriber.id.clone(),
                        needs_confirmed: false,
                        mail: finished_mail(&key, thread, &subscriber, mail, &links, now),
                    },
                )
            }
            SubscriberKind::Webhook => {
                let statuses = statuses_now(&self.shared, &catalog, &[], now).unwrap_or_default();
                let view = public_view(&catalog, &statuses, &lock(&self.shared.incidents));
                let ctx = PayloadContext {
                    catalog: &catalog,
                    view: &view,
                    links: &links,
                };
                (
                    "subscriber-test",
                    Message::Webhook {
                        subscriber: subscriber.id.clone(),
                        needs_confirmed: false,
                        url: subscriber.address.clone(),
                        body: serde_json::to_value(rules::test_payload(&ctx))
                            .unwrap_or(serde_json::Value::Null),
                        key: key.clone(),
                    },
                )
            }
        };
        let notice = serde_json::to_value(&message)
            .map_err(|e| SubscribeError::Store(format!("cannot write the message: {e}")))?;
        let item = OutboxItem::new(
            key,
            channel,
            format!("subscriber:{}", subscriber.id),
            event.into(),
            Recipient::Subscriber(subscriber.id.clone()).to_string(),
            notice,
            now,
        );
        let token_hash = (subscriber.kind == SubscriberKind::Email).then_some(new.token_hash);
        store
            .put_subscriber(&subscriber, token_hash.as_deref(), &[item])
            .await
            .map_err(|e| SubscribeError::Store(e.to_string()))?;
        self.wake_dispatcher();
        Ok(())
    }

    /// The pending subscriber whose confirmation token has this SHA-256, while the link
    /// works.
    pub async fn pending_subscriber(
        &self,
        token_hash: &str,
    ) -> Result<Option<Subscriber>, SubscribeError> {
        let found = self
            .subscriber_store()?
            .subscriber_by_token(token_hash)
            .await
            .map_err(|e| SubscribeError::Store(e.to_string()))?;
        let now = self.now_ms();
        Ok(found.filter(|s| {
            s.state == SubscriberState::Pending && now - s.created_ms <= CONFIRM_LINK_LIFETIME_MS
        }))
    }

    /// Confirms the subscriber with this confirmation token hash; false when the link is
    /// unknown, used or expired.
    pub async fn confirm_by_token(&self, token_hash: &str) -> Result<bool, SubscribeError> {
        match self.pending_subscriber(token_hash).await? {
            Some(s) => self.confirm_subscriber(&s.id).await,
            None => Ok(false),
        }
    }

    /// Confirms a pending subscriber (its link, or an admin); false when not pending.
    pub async fn confirm_subscriber(&self, id: &str) -> Result<bool, SubscribeError> {
        let store = self.subscriber_store()?;
        let done = store
            .confirm_subscriber(id, self.now_ms())
            .await
            .map_err(|e| SubscribeError::Store(e.to_string()))?;
        refresh(&self.shared, store).await;
        Ok(done)
    }

    /// Unsubscribes (what is still queued for it is cancelled); false when it was not
    /// subscribed.
    pub async fn unsubscribe(&self, id: &str) -> Result<bool, SubscribeError> {
        let store = self.subscriber_store()?;
        let done = store
            .unsubscribe(id)
            .await
            .map_err(|e| SubscribeError::Store(e.to_string()))?;
        refresh(&self.shared, store).await;
        Ok(done)
    }

    /// Every subscriber (or those in a state), oldest first.
    pub async fn subscribers(
        &self,
        state: Option<SubscriberState>,
    ) -> Result<Vec<Subscriber>, SubscribeError> {
        self.subscriber_store()?
            .subscribers(state)
            .await
            .map_err(|e| SubscribeError::Store(e.to_string()))
    }

    /// Deletes a subscriber; what is still queued for it is cancelled with it.
    pub async fn delete_subscriber(&self, id: &str) -> Result<(), SubscribeError> {
        let store = self.subscriber_store()?;
        let done = store
            .delete_subscriber(id)
            .await
            .map_err(|e| SubscribeError::Store(e.to_string()))?;
        refresh(&self.shared, store).await;
        if done {
            Ok(())
        } else {
            Err(SubscribeError::Unknown(id.to_string()))
        }
    }
}
