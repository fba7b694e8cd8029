//! The SQLite files are private: the database holds sessions, token hashes and the
//! generated link secret, so no other local user may read it (issue 16, failure 7).

#![cfg(unix)]

use continuo_store::Store;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

async fn write_something(store: &Store) {
    store
        .set_setting("link_secret", &serde_json::json!("0123456789abcdef"))
        .await
        .expect("write");
}

#[tokio::test]
async fn a_new_database_and_its_folder_are_private() {
    let dir = tempfile::tempdir().expect("tempdir");
    let folder = dir.path().join("data");
    let file = folder.join("continuo.db");
    let store = Store::open(&format!("sqlite://{}", file.display()))
        .await
        .expect("open");
    write_something(&store).await;
    assert_eq!(mode(&folder), 0o700, "the folder it created");
    assert_eq!(mode(&file), 0o600, "the database file");
    for suffix in ["-wal", "-shm"] {
        let side = folder.join(format!("continuo.db{suffix}"));
        assert!(side.exists(), "{} exists while open", side.display());
        assert_eq!(mode(&side), 0o600, "{}", side.display());
    }
    store.close().await;
}

#[tokio::test]
async fn an_existing_readable_database_is_made_private() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("old.db");
    let url = format!("sqlite://{}", file.display());
    let store = Store::open(&url).await.expect("create");
    write_something(&store).await;
    store.close().await;
    // As an older release left it.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let store = Store::open(&url).await.expect("reopen");
    write_something(&store).await;
    assert_eq!(mode(&file), 0o600);
    store.close().await;
}
