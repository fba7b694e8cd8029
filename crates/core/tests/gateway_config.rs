//! `[[gateway]]` decoding and cross-checks: every problem named with file:line:column,
//! in English and Dutch, and a valid table decoded with its defaults.

use continuo_core::catalog::gateway::{
    ActionKind, ActionTrigger, Balance, EndpointTarget, Failback, GatewayMode, HaproxyState,
    endpoint_address, endpoint_target,
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
fn https_endpoints_are_accepted_and_other_schemes_refused_for_http_gateways() {
    let gateway = "[[gateway]]\nid = \"gw\"\nlisten = \"127.0.0.1:9000\"\nservice = \"shop\"\n";
    let https = SERVICE.replace("http://127.0.0.1:18081", "https://127.0.0.1:18081");
    let outcome = load(
        Path::new("c.toml"),
        &One(format!("{https}\n{gateway}")),
        &|_| None,
    );
    assert_eq!(outcome.diagnostics.iter().count(), 0);
    let ftp = SERVICE.replace("http://127.0.0.1:18081", "ftp://127.0.0.1:18081");
    let outcome = load(
        Path::new("c.toml"),
        &One(format!("{ftp}\n{gateway}")),
        &|_| None,
    );
    let messages: Vec<String> = outcome
        .diagnostics
        .iter()
        .map(|d| {
            let at = outcome.sources.position(d.loc.as_ref().expect("located"));
            format!("{at} {} / {}", d.message.en, d.message.nl)
        })
        .collect();
    assert_eq!(
        messages,
        [
            "c.toml:23:11 endpoint `ftp://127.0.0.1:18081` uses `ftp://`; an HTTP gateway connects to endpoints over http:// or https:// / \
             endpoint `ftp://127.0.0.1:18081` gebruikt `ftp://`; een HTTP-gateway verbindt met endpoints via http:// of https://"
        ]
    );
}

/// Files in memory, by path; any other path cannot be read.
struct Files(Vec<(&'static str, String)>);

impl SourceProvider for Files {
    fn read(&self, path: &Path) -> Result<String, String> {
        self.0
            .iter()
            .find(|(p, _)| Path::new(p) == path)
            .map(|(_, text)| text.clone())
            .ok_or_else(|| "No such file or directory".to_string())
    }
    fn glob(&self, _: &Path) -> Result<Vec<PathBuf>, String> {
        Ok(Vec::new())
    }
    fn exists(&self, path: &Path) -> bool {
        self.0.iter().any(|(p, _)| Path::new(p) == path)
    }
}

const PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

/// Every diagnostic of `conf/c.toml` (the service, then `gateway`) with the files
/// `others`, as `severity code path:line:column en / nl`.
fn tls_diagnostics(gateway: &str, others: &[(&'static str, &str)]) -> Vec<String> {
    let mut files = vec![("conf/c.toml", format!("{SERVICE}\n{gateway}"))];
    files.extend(others.iter().map(|(p, t)| (*p, t.to_string())));
    let outcome = load(Path::new("conf/c.toml"), &Files(files), &|_| None);
    outcome
        .diagnostics
        .sorted()
        .into_iter()
        .map(|d| {
            let at = outcome.sources.position(d.loc.as_ref().expect("located"));
            let severity = format!("{:?}", d.severity).to_lowercase();
            format!(
                "{severity} {} {at} {} / {}",
                d.code, d.message.en, d.message.nl
            )
        })
        .collect()
}

const GW: &str = "[[gateway]]\nid = \"gw\"\nlisten = \"127.0.0.1:9000\"\nservice = \"shop\"\n";

#[test]
fn ca_file_is_read_relative_to_the_declaring_file() {
    let text = format!("{SERVICE}\n{GW}ca_file = \"certs/ca.pem\"\n");
    let files = Files(vec![
        ("conf/c.toml", text),
        ("conf/certs/ca.pem", PEM.to_string()),
    ]);
    let outcome = load(Path::new("conf/c.toml"), &files, &|_| None);
    assert_eq!(outcome.diagnostics.iter().count(), 0);
    let catalog = outcome.catalog.expect("catalog");
    let gw = &catalog.gateways[0];
    assert_eq!(
        gw.ca_file.as_ref().map(|c| c.value.as_str()),
        Some("certs/ca.pem")
    );
    assert_eq!(gw.ca_file_path.as_deref(), Some("conf/certs/ca.pem"));
    assert!(!gw.tls_skip_verify);
}

#[test]
fn bad_ca_files_are_located() {
    let check = |ca_file: &str, others: &[(&'static str, &str)], expected: &str| {
        let found = tls_diagnostics(&format!("{GW}ca_file = \"{ca_file}\"\n"), others);
        assert_eq!(found, [expected], "\nfound:\n{}\n", found.join("\n"));
    };
    check(
        "missing.pem",
        &[],
        "error bad-ca-file conf/c.toml:24:11 `ca_file` `missing.pem` cannot be read: No such file or directory / \
         `ca_file` `missing.pem` kan niet gelezen worden: No such file or directory",
    );
    check(
        "empty.pem",
        &[("conf/empty.pem", " \n")],
        "error bad-ca-file conf/c.toml:24:11 `ca_file` `empty.pem` is empty / `ca_file` `empty.pem` is leeg",
    );
    check(
        "key.pem",
        &[(
            "conf/key.pem",
            "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n",
        )],
        "error bad-ca-file conf/c.toml:24:11 `ca_file` `key.pem` holds no PEM certificate / \
         `ca_file` `key.pem` bevat geen PEM-certificaat",
    );
    check(
        "",
        &[],
        "error bad-ca-file conf/c.toml:24:11 `ca_file` is empty / `ca_file` is leeg",
    );
    // Regression (issue 16, failure 8): `ca_file = "/dev/zero"` was read without end.
    let huge = format!("{PEM}{}", "#".repeat(4 * 1024 * 1024));
    check(
        "huge.pem",
        &[("conf/huge.pem", &huge)],
        "error bad-ca-file conf/c.toml:24:11 `ca_file` `huge.pem` is larger than 4 MiB, too large for a CA bundle / \
         `ca_file` `huge.pem` is groter dan 4 MiB, te groot voor een CA-bundel",
    );
}

#[test]
fn tls_skip_verify_is_accepted_with_a_warning() {
    let found = tls_diagnostics(&format!("{GW}tls_skip_verify = true\n"), &[]);
    assert_eq!(
        found,
        [
            "warning tls-skip-verify conf/c.toml:24:19 certificates of https:// endpoints are not verified: \
             anyone between the gateway and an endpoint can read and change its traffic / \
             certificaten van https://-endpoints worden niet gecontroleerd: iedereen tussen de gateway \
             en een endpoint kan het verkeer lezen en wijzigen"
        ]
    );
    let text = format!("{SERVICE}\n{GW}tls_skip_verify = true\n");
    let catalog = continuo_core::load_text(&text).expect("a warning is no error");
    assert!(catalog.gateways[0].tls_skip_verify);
    assert!(tls_diagnostics(&format!("{GW}tls_skip_verify = false\n"), &[]).is_empty());
}

#[test]
fn ca_file_and_tls_skip_verify_together_are_refused() {
    let found = tls_diagnostics(
        &format!("{GW}ca_file = \"ca.pem\"\ntls_skip_verify = true\n"),
        &[("conf/ca.pem", PEM)],
    );
    assert_eq!(
        found,
        [
            "error tls-conflict conf/c.toml:25:19 `tls_skip_verify = true` contradicts `ca_file = \"ca.pem\"`: \
             certificates would not be checked against it / `tls_skip_verify = true` spreekt \
             `ca_file = \"ca.pem\"` tegen: certificaten zouden er niet tegen gecontroleerd worden"
        ]
    );
    // Either one alone is fine (skip-verify with its warning).
    assert!(
        tls_diagnostics(
            &format!("{GW}ca_file = \"ca.pem\"\n"),
            &[("conf/ca.pem", PEM)]
        )
        .is_empty()
    );
}

#[test]
fn tls_settings_are_refused_in_tcp_mode() {
    let found = tls_diagnostics(
        &format!("{GW}mode = \"tcp\"\nca_file = \"ca.pem\"\ntls_skip_verify = true\n"),
        &[("conf/ca.pem", PEM)],
    );
    assert_eq!(
        found,
        [
            "error tls-in-tcp-mode conf/c.toml:25:11 `ca_file` has no effect in a TCP gateway: it splices bytes and never speaks TLS to endpoints / \
             `ca_file` heeft geen effect in een TCP-gateway: die kopieert bytes en spreekt zelf nooit TLS met endpoints",
            "error tls-in-tcp-mode conf/c.toml:26:19 `tls_skip_verify` has no effect in a TCP gateway: it splices bytes and never speaks TLS to endpoints / \
             `tls_skip_verify` heeft geen effect in een TCP-gateway: die kopieert bytes en spreekt zelf nooit TLS met endpoints",
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
    assert_eq!(
        ok("https://shop.example.com/x", GatewayMode::Http),
        Ok("shop.example.com:443".into())
    );
    assert_eq!(
        ok("https://[::1]:8443", GatewayMode::Tcp),
        Ok("[::1]:8443".into())
    );
    assert!(ok("tcp://db", GatewayMode::Tcp).is_err());
    assert!(ok("", GatewayMode::Tcp).is_err());
    assert!(ok(":80", GatewayMode::Tcp).is_err());
}

#[test]
fn https_endpoints_speak_tls_only_in_http_mode() {
    let target = |url: &str, mode| endpoint_target(url, mode).map_err(|e| e.en);
    assert_eq!(
        target("https://[::1]/health", GatewayMode::Http),
        Ok(EndpointTarget {
            address: "[::1]:443".into(),
            tls: true
        })
    );
    assert_eq!(
        target("https://Shop.example.com:8443", GatewayMode::Tcp),
        Ok(EndpointTarget {
            address: "Shop.example.com:8443".into(),
            tls: false
        })
    );
    assert_eq!(
        target("http://10.0.0.1", GatewayMode::Http).map(|t| t.tls),
        Ok(false)
    );
}

#[test]
fn endpoints_a_gateway_cannot_use_are_located() {
    let bare = "[[service]]\nid = \"bare\"\ntier = 3\nowner = \"ops\"\nrto = \"1h\"\n";
    check(
        &format!(
            "{bare}[[gateway]]\nid = \"g\"\nlisten = \"127.0.0.1:18080\"\nservice = \"bare\"\ncheck_path = \"health\"\n"
        ),
        &[
            "gateway-without-endpoints c.toml:28:11 service `bare` has no endpoints for this gateway to send traffic to",
            "bad-path c.toml:29:14 `check_path` must start with `/`, found `health`",
        ],
    );
    let backups = "[[service]]\nid = \"backups\"\ntier = 3\nowner = \"ops\"\nrto = \"1h\"\n\
        [[service.endpoint]]\nname = \"x\"\nurl = \"http://127.0.0.1:18083\"\nrole = \"backup\"\n\
        [[service.endpoint]]\nname = \"x\"\nurl = \"ftp://127.0.0.1:18084\"\nrole = \"backup\"\n";
    check(
        &format!(
            "{backups}[[gateway]]\nid = \"g\"\nlisten = \"127.0.0.1:18080\"\nservice = \"backups\"\n"
        ),
        &[
            "gateway-without-primary c.toml:36:11 service `backups` has no primary endpoint",
            "bad-endpoint c.toml:36:11 endpoint `ftp://127.0.0.1:18084` uses `ftp://`; an HTTP gateway connects to endpoints over http:// or https://",
            "duplicate-endpoint c.toml:36:11 two endpoints of this service are both called `x`",
        ],
    );
}
