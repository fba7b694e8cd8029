//! `[[gateway]]` decoding and cross-checks: every problem named with file:line:column,
//! in English and Dutch, and a valid table decoded with its defaults.

use continuo_core::gateway::{
    ActionKind, ActionTrigger, Balance, Failback, GatewayMode, HaproxyState, endpoint_address,
};
use continuo_core::{Lang, SourceProvider, load};
use std::path::{Path, PathBuf};

struct One(String);

impl SourceProvider for One {
    fn read(&self, _: &Path) -> Result<String, String> {
        Ok(self.0.clone())
    }
    fn glob(&self, _: &Path) -> Result<Vec<PathBuf>, String> {
        Ok(Vec::new())
    }
    fn exists(&self, _: &Path) -> bool {
        false
    }
}

const SERVICE: &str = r#"[[team]]
id = "ops"

[[service]]
id = "shop"
tier = 3
owner = "ops"
rto = "1h"

  [[service.endpoint]]
  name = "a"
  url = "http://127.0.0.1:18081"
  role = "primary"

  [[service.endpoint]]
  name = "b"
  url = "127.0.0.1:18082"
  role = "backup"
"#;

/// `code path:line:column message` of every error, in `lang`.
fn errors(gateway: &str, lang: Lang) -> Vec<String> {
    let text = format!("{SERVICE}\n{gateway}");
    let outcome = load(Path::new("c.toml"), &One(text), &|_| None);
    outcome
        .diagnostics
        .sorted()
        .into_iter()
        .filter(|d| d.severity == continuo_core::Severity::Error)
        .map(|d| {
            let at = d
                .loc
                .as_ref()
                .map(|l| outcome.sources.position(l).to_string())
                .unwrap_or_default();
            format!("{} {at} {}", d.code, d.message.get(lang))
        })
        .collect()
}

fn check(gateway: &str, expected: &[&str]) {
    let found = errors(gateway, Lang::En);
    assert_eq!(found, expected, "\nfound:\n{}\n", found.join("\n"));
}

#[test]
fn a_valid_gateway_decodes_with_its_defaults() {
    let text = format!(
        "{SERVICE}\n[[gateway]]\nid = \"shop-gw\"\nlisten = \"127.0.0.1:9000\"\nservice = \"shop\"\n\
         [[gateway.action]]\nkind = \"haproxy\"\nsocket = \"127.0.0.1:9999\"\nbackend = \"app\"\nserver = \"a\"\nstate = \"maint\"\n\
         [[gateway.action]]\nkind = \"command\"\non = \"failback\"\ncommand = [\"/bin/true\"]\ntimeout = \"2s\"\n"
    );
    let catalog = continuo_core::load_text(&text).expect("valid");
    let gw = &catalog.gateways[0];
    assert_eq!(gw.id.value, "shop-gw");
    assert_eq!(gw.mode, GatewayMode::Http);
    assert_eq!(gw.balance, Balance::RoundRobin);
    assert_eq!(gw.failback, Failback::Auto);
    assert_eq!(gw.failback_after.as_secs(), 30);
    assert_eq!(gw.eject_after, 3);
    assert_eq!(gw.retry_body_limit, 64 * 1024);
    assert_eq!(gw.actions.len(), 2);
    assert_eq!(
        gw.actions[0].kind,
        ActionKind::Haproxy {
            socket: "127.0.0.1:9999".into(),
            backend: "app".into(),
            server: "a".into(),
            state: HaproxyState::Maint
        }
    );
    assert_eq!(gw.actions[1].on, ActionTrigger::Failback);
    assert_eq!(gw.actions[1].timeout.as_secs(), 2);
}

#[test]
fn unknown_field_and_bad_values_are_located() {
    check(
        "[[gateway]]\nid = \"gw\"\nlisten = \"localhost\"\nservice = \"shop\"\nmode = \"udp\"\nfailbak = \"manual\"\neject_after = 0\nfailback_after = \"soon\"\n",
        &[
            "bad-address c.toml:22:10 `localhost` is not an address to listen on",
            "unknown-value c.toml:24:8 `udp` is not a valid `mode` for [[gateway]]",
            "unknown-field c.toml:25:1 unknown field `failbak` in [[gateway]]",
            "out-of-range c.toml:26:15 `eject_after` in [[gateway]] must be between 1 and 1000",
            "bad-duration c.toml:27:18 `failback_after` in [[gateway]] is not a valid duration: expected a number at `soon`",
        ],
    );
}

#[test]
fn unknown_service_suggests_the_closest() {
    check(
        "[[gateway]]\nid = \"gw\"\nlisten = \"127.0.0.1:9000\"\nservice = \"shpo\"\n",
        &["dangling-reference c.toml:23:11 `service` refers to unknown service `shpo`"],
    );
}

#[test]
fn missing_fields_and_broken_actions_are_reported() {
    check(
        "[[gateway]]\nid = \"gw\"\n[[gateway.action]]\nkind = \"haproxy\"\nsocket = \"/run/haproxy.sock\"\n[[gateway.action]]\nkind = \"webhook\"\nurl = \"ftp://x\"\n",
        &[
            "missing-field c.toml:20:1 missing field `listen` in [[gateway]]",
            "missing-field c.toml:20:1 missing field `service` in [[gateway]]",
            "missing-field c.toml:22:1 missing field `backend` in [[gateway.action]]",
            "missing-field c.toml:22:1 missing field `server` in [[gateway.action]]",
            "missing-field c.toml:22:1 missing field `state` in [[gateway.action]]",
            "bad-url c.toml:27:7 `ftp://x` is not an http(s) URL",
        ],
    );
}

#[test]
fn duplicate_ids_and_listen_addresses() {
    check(
        "[[gateway]]\nid = \"gw\"\nlisten = \"127.0.0.1:9000\"\nservice = \"shop\"\n\
         [[gateway]]\nid = \"gw\"\nlisten = \"127.0.0.1:9000\"\nservice = \"shop\"\n",
        &[
            "duplicate-id c.toml:25:6 gateway id `gw` is used twice",
            "duplicate-listen c.toml:26:10 two gateways listen on `127.0.0.1:9000`",
        ],
    );
}

#[test]
fn errors_are_in_dutch_too() {
    let found = errors(
        "[[gateway]]\nid = \"gw\"\nlisten = \"127.0.0.1:9000\"\nservice = \"nope\"\nbalance = \"random\"\n",
        Lang::Nl,
    );
    assert_eq!(
        found,
        [
            "dangling-reference c.toml:23:11 `service` verwijst naar onbekende service `nope`",
            "unknown-value c.toml:24:11 `random` is geen geldige `balance` voor [[gateway]]",
        ]
    );
}

#[test]
fn https_endpoints_are_refused_for_http_gateways() {
    let text = SERVICE.replace("http://127.0.0.1:18081", "https://127.0.0.1:18081");
    let outcome = load(
        Path::new("c.toml"),
        &One(format!(
            "{text}\n[[gateway]]\nid = \"gw\"\nlisten = \"127.0.0.1:9000\"\nservice = \"shop\"\n"
        )),
        &|_| None,
    );
    let messages: Vec<String> = outcome
        .diagnostics
        .iter()
        .map(|d| {
            let at = outcome.sources.position(d.loc.as_ref().expect("located"));
            format!("{at} {}", d.message.en)
        })
        .collect();
    assert_eq!(
        messages,
        [
            "c.toml:23:11 endpoint `https://127.0.0.1:18081` uses `https://`; an HTTP gateway connects to endpoints over plain http://"
        ]
    );
}

#[test]
fn endpoint_addresses() {
    let ok = |url: &str, mode| endpoint_address(url, mode).map_err(|e| e.en);
    assert_eq!(
        ok("http://10.0.0.1", GatewayMode::Http),
        Ok("10.0.0.1:80".into())
    );
    assert_eq!(
        ok("http://h:8080/x?y", GatewayMode::Http),
        Ok("h:8080".into())
    );
    assert_eq!(ok("db:5432", GatewayMode::Tcp), Ok("db:5432".into()));
    assert_eq!(
        ok("postgres://u@db:5432/x", GatewayMode::Tcp),
        Ok("db:5432".into())
    );
    assert_eq!(ok("[::1]:80", GatewayMode::Http), Ok("[::1]:80".into()));
    assert!(ok("tcp://db", GatewayMode::Tcp).is_err());
    assert!(ok("", GatewayMode::Tcp).is_err());
    assert!(ok(":80", GatewayMode::Tcp).is_err());
}
