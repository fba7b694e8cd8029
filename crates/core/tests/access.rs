//! Roles, names and passwords (`continuo_core::access`), and the `[server]` settings that
//! sign-in depends on. Data-driven: input in, expected value out.

use continuo_core::access::{self, Role};
use continuo_core::load_text;

#[test]
fn roles_are_ordered_and_parse_by_name() {
    assert!(Role::Viewer < Role::Responder && Role::Responder < Role::Admin);
    for (text, expected) in [
        ("viewer", Some(Role::Viewer)),
        ("Responder", Some(Role::Responder)),
        (" ADMIN ", Some(Role::Admin)),
        ("root", None),
        ("", None),
    ] {
        assert_eq!(Role::from_name(text), expected, "{text:?}");
    }
    for role in Role::ALL {
        assert_eq!(Role::from_name(role.name()), Some(role));
        assert_ne!(role.label().en, "");
        assert_ne!(role.label().nl, "");
    }
}

#[test]
fn user_names_are_checked_and_lowercased() {
    let check = |name: &str, expected: Result<&str, &str>| {
        let got = access::user_name(name);
        match (got, expected) {
            (Ok(g), Ok(e)) => assert_eq!(g, e, "{name:?}"),
            (Err(g), Err(e)) => {
                assert!(g.en.contains(e), "{name:?}: {g:?} should say {e:?}");
                assert!(!g.nl.is_empty());
            }
            (g, e) => panic!("{name:?}: got {g:?}, expected {e:?}"),
        }
    };
    check("anna", Ok("anna"));
    check(" Anna.de-Vries ", Ok("anna.de-vries"));
    check("ops@acme.example", Ok("ops@acme.example"));
    check("", Err("is empty"));
    check("   ", Err("is empty"));
    check("anna bram", Err("holds ` `"));
    check("anna;drop", Err("holds `;`"));
    check("-anna", Err("must start with a letter or digit"));
    check(&"a".repeat(65), Err("65 characters long"));
    check(&"a".repeat(64), Ok(&"a".repeat(64)));
    assert!(
        access::token_name("deploy bot")
            .expect_err("a space")
            .en
            .contains("token name")
    );
}

#[test]
fn new_passwords_are_checked() {
    let check = |password: &str, expected: Option<&str>| match (
        access::new_password(password, "anna"),
        expected,
    ) {
        (Ok(()), None) => {}
        (Err(g), Some(e)) => assert!(g.en.contains(e), "{password:?}: {g:?}"),
        (g, e) => panic!("{password:?}: got {g:?}, expected {e:?}"),
    };
    check("correct horse battery", None);
    check("", Some("is empty"));
    check("            ", Some("is empty"));
    check("short", Some("has 5 characters; it needs at least 12"));
    // Characters, not bytes: twelve accented letters are enough.
    check("éééééééééééé", None);
    check(&"x".repeat(1_025), Some("longer than 1024 bytes"));
    check("ANNAANNAANNA", None);
    assert!(access::new_password("anna.de.vries", "anna.de.vries").is_err());
}

#[test]
fn server_sign_in_settings_have_defaults_and_are_validated() {
    let catalog = load_text("[server]\n").expect("valid");
    assert!(catalog.server.trusted_proxies.is_empty());
    assert!(!catalog.server.secure_cookies);
    assert_eq!(catalog.server.session_lifetime.get().as_secs(), 12 * 3_600);
    assert_eq!(catalog.server.session_idle.get().as_secs(), 3_600);
    assert_eq!(catalog.server.public_rate_limit, 20);

    let catalog = load_text(
        "[server]\ntrusted_proxies = [\"127.0.0.1\", \"::1\"]\nsecure_cookies = true\n\
         session_lifetime = \"8h\"\nsession_idle = \"15m\"\npublic_rate_limit = 0\n",
    )
    .expect("valid");
    assert_eq!(catalog.server.trusted_proxies.len(), 2);
    assert!(catalog.server.secure_cookies);
    assert_eq!(catalog.server.session_idle.get().as_secs(), 900);
    assert_eq!(catalog.server.public_rate_limit, 0);

    let errors = load_text("[server]\ntrusted_proxies = [\"10.0.0.1:80\"]\n").expect_err("port");
    assert!(
        errors
            .iter()
            .any(|e| e.contains("`10.0.0.1:80` is not an IP address")),
        "{errors:?}"
    );
}
