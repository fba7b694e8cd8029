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
