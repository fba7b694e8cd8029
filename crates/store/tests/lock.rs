//! One `continuo serve` per SQLite database: the claim on `<database>.lock` (issue 17,
//! item 3). A second claim is refused while the first is held and succeeds once it is
//! released; what is not a SQLite file is not claimed.

use continuo_store::lock::{LockError, claim};

#[test]
fn a_second_claim_is_refused_until_the_first_is_released() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("state").join("continuo.db");
    let url = format!("sqlite://{}", file.display());

    let first = claim(&url)
        .expect("the first claim")
        .expect("a SQLite file is claimed");
    assert_eq!(
        first.path(),
        dir.path().join("state").join("continuo.db.lock")
    );
    match claim(&url) {
        Err(LockError::Held { database, lock }) => {
            assert_eq!(database, file);
            assert_eq!(lock, first.path());
        }
        other => panic!("a second claim while the first is held: {other:?}"),
    }
    let message = claim(&url).expect_err("still held").to_string();
    assert!(message.contains("another Continuo serves"), "{message}");
    assert!(message.contains(&file.display().to_string()), "{message}");

    drop(first);
    let again = claim(&url).expect("claimed again once released");
    assert!(again.is_some());
}

#[test]
fn what_is_not_a_sqlite_file_is_not_claimed() {
    for url in [
        "sqlite::memory:",
        "sqlite://file:shared?mode=memory",
        "postgres://continuo@localhost/continuo",
        "mysql://nope",
    ] {
        assert!(claim(url).expect(url).is_none(), "{url}");
    }
}
