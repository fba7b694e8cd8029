//! Status page subscribers on SQLite and on the local PostgreSQL
//! (`postgres://postgres@127.0.0.1:5432/test`, trust auth, which `.ci/run` starts). Each
//! PostgreSQL case gets its own schema, dropped when it passes (the shared harness in
//! `continuo_store::testing`).

// In tests an unwrap is an assertion.
#![allow(clippy::unwrap_used)]

use continuo_core::Lang;
use continuo_core::subscribers::{Subscriber, SubscriberKind, SubscriberState};
use continuo_store::backends;
use continuo_store::{OutboxItem, OutboxState, Store};
use serde_json::json;

const T0: i64 = 1_767_225_600_000;

backends!(
    a_subscription_and_its_confirmation_mail_are_written_together,
    confirming_and_unsubscribing_walk_the_states,
    listing_filters_by_state_and_delete_removes,
    deleting_or_unsubscribing_cancels_pending_items,
    unconfirmed_subscribers_expire_with_their_items,
    operator_items_are_due_before_subscriber_items,
);

fn subscriber(id: &str, kind: SubscriberKind, address: &str) -> Subscriber {
    Subscriber {
        id: id.into(),
        kind,
        address: address.into(),
        components: vec!["shop".into(), "api".into()],
        language: Lang::Nl,
        state: SubscriberState::Pending,
        created_ms: T0,
        confirmed_ms: None,
    }
}

fn item(key: &str) -> OutboxItem {
    OutboxItem::new(
        key.into(),
        "mail".into(),
        "subscriber:s1".into(),
        "subscriber-confirm".into(),
        "subscriber:s1".into(),
        json!({"to": "anna@example.com"}),
        T0,
    )
}

async fn a_subscription_and_its_confirmation_mail_are_written_together(store: Store) {
    let s = subscriber("s1", SubscriberKind::Email, "anna@example.com");
    store
        .put_subscriber(&s, Some("hash-1"), &[item("sub/s1/confirm")])
        .await
        .unwrap();
    assert_eq!(store.subscriber("s1").await.unwrap(), Some(s.clone()));
    assert_eq!(
        store.subscriber_by_token("hash-1").await.unwrap(),
        Some(s.clone())
    );
    assert_eq!(store.subscriber_by_token("hash-2").await.unwrap(), None);
    assert_eq!(
        store
            .subscriber_by_address(SubscriberKind::Email, "anna@example.com")
            .await
            .unwrap(),
        Some(s.clone())
    );
    assert_eq!(
        store
            .subscriber_by_address(SubscriberKind::Webhook, "anna@example.com")
            .await
            .unwrap(),
        None
    );
    let pending = store.outbox(Some(OutboxState::Pending), 10).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].key, "sub/s1/confirm");
    // Subscribing again replaces the token; the same item key is not written twice.
    store
        .put_subscriber(&s, Some("hash-2"), &[item("sub/s1/confirm")])
        .await
        .unwrap();
    assert_eq!(store.subscriber_by_token("hash-1").await.unwrap(), None);
    assert!(store.subscriber_by_token("hash-2").await.unwrap().is_some());
    assert_eq!(store.outbox(None, 10).await.unwrap().len(), 1);
}

async fn confirming_and_unsubscribing_walk_the_states(store: Store) {
    let s = subscriber("s1", SubscriberKind::Email, "anna@example.com");
    store.put_subscriber(&s, Some("hash-1"), &[]).await.unwrap();
    assert!(store.confirm_subscriber("s1", T0 + 5).await.unwrap());
    assert!(
        !store.confirm_subscriber("s1", T0 + 6).await.unwrap(),
        "only once"
    );
    let confirmed = store.subscriber("s1").await.unwrap().unwrap();
    assert_eq!(confirmed.state, SubscriberState::Confirmed);
    assert_eq!(confirmed.confirmed_ms, Some(T0 + 5));
    assert_eq!(
        store.subscriber_by_token("hash-1").await.unwrap(),
        None,
        "a used token is gone"
    );
    assert!(store.unsubscribe("s1").await.unwrap());
    assert!(!store.unsubscribe("s1").await.unwrap());
    assert_eq!(
        store.subscriber("s1").await.unwrap().unwrap().state,
        SubscriberState::Unsubscribed
    );
    assert_eq!(
        store
            .subscriber_by_address(SubscriberKind::Email, "anna@example.com")
            .await
            .unwrap(),
        None,
        "an unsubscribed address can subscribe anew"
    );
    assert!(!store.confirm_subscriber("s1", T0 + 7).await.unwrap());
}

async fn listing_filters_by_state_and_delete_removes(store: Store) {
    let a = subscriber("a", SubscriberKind::Email, "a@example.com");
    let mut b = subscriber("b", SubscriberKind::Webhook, "https://hooks.example.com/x");
    b.created_ms += 1;
    store.put_subscriber(&a, None, &[]).await.unwrap();
    store.put_subscriber(&b, None, &[]).await.unwrap();
    store.confirm_subscriber("b", T0 + 9).await.unwrap();
    let all: Vec<String> = store
        .subscribers(None)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(all, ["a", "b"]);
    let confirmed = store
        .subscribers(Some(SubscriberState::Confirmed))
        .await
        .unwrap();
    assert_eq!(confirmed.len(), 1);
    assert_eq!(confirmed[0].kind, SubscriberKind::Webhook);
    assert_eq!(confirmed[0].components, ["shop", "api"]);
    assert!(store.delete_subscriber("a").await.unwrap());
    assert!(!store.delete_subscriber("a").await.unwrap());
    assert_eq!(store.subscribers(None).await.unwrap().len(), 1);
}

/// A pending item for subscriber `id` (or any other recipient), keyed `key`.
fn item_for(key: &str, recipient: &str, at_ms: i64) -> OutboxItem {
    OutboxItem::new(
        key.into(),
        "subscriber-webhook".into(),
        format!("a-{key}"),
        "subscriber-test".into(),
        recipient.into(),
        json!({"kind": "webhook"}),
        at_ms,
    )
}

async fn state_of(store: &Store, key: &str) -> OutboxState {
    store
        .outbox(None, 100)
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.key == key)
        .unwrap_or_else(|| panic!("no item {key}"))
        .state
}

/// Issue 16: deleting a subscriber (pending or confirmed) or unsubscribing cancels what
/// is still queued for it, nothing else, and a cancelled item stays cancelled when its
/// in-flight send is recorded as failed.
async fn deleting_or_unsubscribing_cancels_pending_items(store: Store) {
    let a = subscriber("a", SubscriberKind::Webhook, "https://nowhere.invalid/a");
    let b = subscriber("b", SubscriberKind::Webhook, "https://nowhere.invalid/b");
    let c = subscriber("c", SubscriberKind::Email, "c@example.com");
    store
        .put_subscriber(&a, None, &[item_for("a1", "subscriber:a", T0)])
        .await
        .unwrap();
    store
        .put_subscriber(&b, None, &[item_for("b1", "subscriber:b", T0)])
        .await
        .unwrap();
    store
        .put_subscriber(&c, None, &[item_for("c1", "subscriber:c", T0)])
        .await
        .unwrap();
    store
        .outbox_add(&[
            item_for("a2", "subscriber:a", T0 + 1),
            item_for("page", "person:anna", T0),
        ])
        .await
        .unwrap();
    store
        .outbox_sent("a2", T0 + 2, "HTTP 200 OK")
        .await
        .unwrap();

    assert!(store.delete_subscriber("a").await.unwrap());
    assert_eq!(state_of(&store, "a1").await, OutboxState::Cancelled);
    assert_eq!(
        state_of(&store, "a2").await,
        OutboxState::Sent,
        "what was sent stays sent"
    );
    assert_eq!(state_of(&store, "b1").await, OutboxState::Pending);
    assert_eq!(state_of(&store, "page").await, OutboxState::Pending);
    let due: Vec<String> = store
        .outbox_due(T0 + 10, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.key)
        .collect();
    assert_eq!(due, ["page", "b1", "c1"], "a cancelled item is never due");

    assert!(store.unsubscribe("b").await.unwrap());
    assert_eq!(state_of(&store, "b1").await, OutboxState::Cancelled);
    // A send in flight when its subscriber went away: recording its failure does not
    // put it back in the queue.
    store
        .outbox_failed("b1", Some(T0 + 60_000), "timed out")
        .await
        .unwrap();
    assert_eq!(state_of(&store, "b1").await, OutboxState::Cancelled);
    let counts = store.outbox_counts().await.unwrap();
    assert_eq!((counts.pending, counts.sent, counts.cancelled), (2, 1, 2));
}

/// Issue 16: subscribers never confirmed expire after the confirmation link's lifetime,
/// with their queued items; confirmed and newer pending ones stay.
async fn unconfirmed_subscribers_expire_with_their_items(store: Store) {
    let old = subscriber("old", SubscriberKind::Webhook, "https://nowhere.invalid/1");
    let mut new = subscriber("new", SubscriberKind::Webhook, "https://nowhere.invalid/2");
    new.created_ms = T0 + 5_000;
    let mut kept = subscriber("kept", SubscriberKind::Email, "kept@example.com");
    kept.created_ms = T0 - 1;
    store
        .put_subscriber(&old, None, &[item_for("old1", "subscriber:old", T0)])
        .await
        .unwrap();
    store
        .put_subscriber(
            &new,
            None,
            &[item_for("new1", "subscriber:new", T0 + 5_000)],
        )
        .await
        .unwrap();
    store
        .put_subscriber(&kept, None, &[item_for("kept1", "subscriber:kept", T0)])
        .await
        .unwrap();
    assert!(store.confirm_subscriber("kept", T0 + 1).await.unwrap());
    assert_eq!(store.pending_subscribers().await.unwrap(), (2, Some(T0)));

    assert_eq!(
        store.expire_pending_subscribers(T0 + 1_000).await.unwrap(),
        1
    );
    assert_eq!(store.subscriber("old").await.unwrap(), None);
    assert!(store.subscriber("new").await.unwrap().is_some());
    assert!(
        store.subscriber("kept").await.unwrap().is_some(),
        "confirmed stays"
    );
    assert_eq!(state_of(&store, "old1").await, OutboxState::Cancelled);
    assert_eq!(state_of(&store, "new1").await, OutboxState::Pending);
    assert_eq!(state_of(&store, "kept1").await, OutboxState::Pending);
    assert_eq!(
        store.pending_subscribers().await.unwrap(),
        (1, Some(T0 + 5_000))
    );
    assert_eq!(
        store.expire_pending_subscribers(T0 + 1_000).await.unwrap(),
        0,
        "nothing more"
    );
}

/// Issue 16: however many subscriber items are due, and however much older, operators'
/// items are read first.
async fn operator_items_are_due_before_subscriber_items(store: Store) {
    let many: Vec<OutboxItem> = (0..50)
        .map(|n| item_for(&format!("s{n:02}"), &format!("subscriber:x{n}"), T0 + n))
        .collect();
    store.outbox_add(&many).await.unwrap();
    store
        .outbox_add(&[
            item_for("page", "person:anna", T0 + 1_000),
            item_for("room", "channel:ops", T0 + 2_000),
        ])
        .await
        .unwrap();
    let due: Vec<String> = store
        .outbox_due(T0 + 5_000, 3)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.key)
        .collect();
    assert_eq!(due, ["page", "room", "s00"]);
}
