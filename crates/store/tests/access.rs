//! Users, API tokens, sessions and the audit log, on SQLite and on the local PostgreSQL
//! (`postgres://postgres@127.0.0.1:5432/test`, trust auth, which `.ci/run` starts). Each
//! PostgreSQL case gets its own schema, dropped when it passes (the shared harness in
//! `continuo_store::testing`). These cases take only the store: they never reach behind
//! its back.

use continuo_core::access::Role;
use continuo_store::Store;
use continuo_store::access::{ApiToken, AuditEntry, Session, User};
use continuo_store::backends;

const T0: i64 = 1_767_225_600_000;

backends!(
    users_are_added_once_listed_changed_and_removed,
    tokens_are_found_by_id_and_revoked_once,
    sessions_end_with_their_user_password_or_age,
    audit_log_is_newest_first_and_pages,
);

fn user(name: &str, role: Role) -> User {
    User {
        name: name.into(),
        role,
        password_hash: format!("$argon2id$v=19$fake${name}"),
        created_ms: T0,
        updated_ms: T0,
    }
}

fn session(id: &str, user: &str, at: i64) -> Session {
    Session {
        id_hash: id.into(),
        user_name: user.into(),
        created_ms: at,
        last_seen_ms: at,
        expires_ms: at + 12 * 3_600_000,
        address: "127.0.0.1".into(),
    }
}

async fn users_are_added_once_listed_changed_and_removed(store: Store) {
    assert!(
        store
            .add_user(&user("bram", Role::Viewer))
            .await
            .expect("add")
    );
    assert!(
        store
            .add_user(&user("anna", Role::Admin))
            .await
            .expect("add")
    );
    // A taken name changes nothing.
    assert!(
        !store
            .add_user(&user("anna", Role::Viewer))
            .await
            .expect("add again")
    );
    let all = store.users().await.expect("list");
    assert_eq!(
        all.iter()
            .map(|u| (u.name.as_str(), u.role))
            .collect::<Vec<_>>(),
        [("anna", Role::Admin), ("bram", Role::Viewer)]
    );
    assert_eq!(
        store.user("anna").await.expect("read"),
        Some(user("anna", Role::Admin))
    );
    assert_eq!(store.user("nobody").await.expect("read"), None);

    assert!(
        store
            .set_password("bram", "$argon2id$new", T0 + 5)
            .await
            .expect("passwd")
    );
    let bram = store.user("bram").await.expect("read").expect("bram");
    assert_eq!(
        (bram.password_hash.as_str(), bram.updated_ms),
        ("$argon2id$new", T0 + 5)
    );
    assert!(!store.set_password("nobody", "x", T0).await.expect("passwd"));
    assert!(
        store
            .set_role("bram", Role::Responder, T0 + 6)
            .await
            .expect("role")
    );
    assert_eq!(
        store.user("bram").await.expect("read").map(|u| u.role),
        Some(Role::Responder)
    );

    assert!(store.remove_user("bram").await.expect("remove"));
    assert!(!store.remove_user("bram").await.expect("remove again"));
    assert_eq!(store.users().await.expect("list").len(), 1);
}

async fn tokens_are_found_by_id_and_revoked_once(store: Store) {
    let token = ApiToken {
        id: "a1b2c3d4".into(),
        name: "deploy-bot".into(),
        role: Role::Responder,
        secret_hash: "ab".repeat(32),
        created_by: "cli:root".into(),
        created_ms: T0,
        last_used_ms: None,
        revoked_ms: None,
    };
    assert!(store.add_token(&token).await.expect("add"));
    // Names are unique.
    let same_name = ApiToken {
        id: "ffff0000".into(),
        ..token.clone()
    };
    assert!(!store.add_token(&same_name).await.expect("add again"));
    assert_eq!(
        store.token("a1b2c3d4").await.expect("read"),
        Some(token.clone())
    );
    assert_eq!(store.token("ffff0000").await.expect("read"), None);

    store.touch_token("a1b2c3d4", T0 + 9).await.expect("touch");
    assert!(
        store
            .revoke_token("deploy-bot", T0 + 10)
            .await
            .expect("revoke")
    );
    assert!(
        !store
            .revoke_token("a1b2c3d4", T0 + 11)
            .await
            .expect("revoke again")
    );
    assert!(
        !store
            .revoke_token("nope", T0 + 11)
            .await
            .expect("revoke unknown")
    );
    let listed = store.tokens().await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].last_used_ms, Some(T0 + 9));
    assert_eq!(listed[0].revoked_ms, Some(T0 + 10));
}

async fn sessions_end_with_their_user_password_or_age(store: Store) {
    store
        .add_user(&user("anna", Role::Responder))
        .await
        .expect("add");
    store
        .add_user(&user("bram", Role::Viewer))
        .await
        .expect("add");
    for (id, who) in [("s1", "anna"), ("s2", "anna"), ("s3", "bram")] {
        store.add_session(&session(id, who, T0)).await.expect("add");
    }
    assert_eq!(
        store.session("s1").await.expect("read"),
        Some(session("s1", "anna", T0))
    );
    store.touch_session("s1", T0 + 1_000).await.expect("touch");
    assert_eq!(
        store
            .session("s1")
            .await
            .expect("read")
            .map(|s| s.last_seen_ms),
        Some(T0 + 1_000)
    );
    // A new password signs the user out everywhere.
    store
        .set_password("anna", "$argon2id$new", T0 + 2_000)
        .await
        .expect("passwd");
    assert_eq!(store.session("s1").await.expect("read"), None);
    assert_eq!(store.session("s2").await.expect("read"), None);
    assert!(store.session("s3").await.expect("read").is_some());
    // Sign-out ends one session.
    assert!(store.remove_session("s3").await.expect("remove"));
    assert!(!store.remove_session("s3").await.expect("remove again"));
    // Removing a user ends their sessions.
    store
        .add_session(&session("s4", "bram", T0))
        .await
        .expect("add");
    store.remove_user("bram").await.expect("remove");
    assert_eq!(store.session("s4").await.expect("read"), None);
    // Pruning drops idle and expired sessions and keeps fresh ones.
    store
        .add_user(&user("chen", Role::Viewer))
        .await
        .expect("add");
    store
        .add_session(&session("idle", "chen", T0))
        .await
        .expect("add");
    store
        .add_session(&session("fresh", "chen", T0 + 3_600_000))
        .await
        .expect("add");
    let pruned = store
        .prune_sessions(T0 + 3_600_000 + 60_000, 3_600_000)
        .await
        .expect("prune");
    assert_eq!(pruned, 1);
    assert!(store.session("fresh").await.expect("read").is_some());
}

async fn audit_log_is_newest_first_and_pages(store: Store) {
    for i in 0..5 {
        store
            .audit(&AuditEntry {
                id: format!("e{i}"),
                at_ms: T0 + i,
                actor: "user:anna".into(),
                role: "responder".into(),
                action: "alert.acknowledge".into(),
                target: format!("alert-{i}"),
                address: "127.0.0.1".into(),
                outcome: 200,
            })
            .await
            .expect("audit");
    }
    let newest = store.audit_log(None, 2).await.expect("read");
    assert_eq!(
        newest.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        ["e4", "e3"]
    );
    let older = store.audit_log(Some(T0 + 3), 10).await.expect("read");
    assert_eq!(
        older.iter().map(|e| e.target.as_str()).collect::<Vec<_>>(),
        ["alert-2", "alert-1", "alert-0"]
    );
}
