//! Decodes `[[gateway]]` (with located errors like every other table) and cross-checks
//! it against the catalog: the service exists and has endpoints the gateway can reach.

use super::{Decoder, Value};
use crate::catalog::gateway::*;
use crate::catalog::{Catalog, Id, Located, Role};
use crate::diag::{Diagnostic, Diagnostics};
use crate::duration::HumanDuration;
use crate::suggest::closest;
use crate::tr;
use std::collections::HashMap;
use std::time::Duration;

/// The fields of `[[gateway]]`.
pub(super) const GATEWAY: &[&str] = &[
    "id",
    "listen",
    "service",
    "mode",
    "balance",
    "failback",
    "failback_after",
    "eject_after",
    "recover_after",
    "check_interval",
    "check_fast_interval",
    "check_path",
    "connect_timeout",
    "try_timeout",
    "request_timeout",
    "retry_body_limit",
    "max_tries",
    "dry_run",
    "action",
    "ca_file",
    "tls_skip_verify",
];
/// The fields of `[[gateway.action]]` (which apply depends on its `kind`).
pub(super) const GATEWAY_ACTION: &[&str] = &[
    "kind", "on", "timeout", "command", "url", "headers", "socket", "backend", "server", "state",
];

impl Decoder<'_> {
    /// Decodes one `[[gateway]]` table.
    pub(crate) fn gateway(&mut self, value: &Value<'_>) -> Option<Gateway> {
        let f = self.open("[[gateway]]", value, GATEWAY)?;
        let id = self.id(&f);
        let listen = self.required_string(&f, "listen", "\"127.0.0.1:8443\"");
        if let Some(l) = &listen {
            self.listen_address(l, 8443);
        }
        if f.get("service").is_none() {
            self.missing(&f, "service", "\"checkout\"");
        }
        let service = self.reference(&f, "service");
        let mode = self
            .choice(
                &f,
                "mode",
                &[("http", GatewayMode::Http), ("tcp", GatewayMode::Tcp)],
            )
            .map_or(GatewayMode::Http, |m| m.value);
        let balance = self
            .choice(
                &f,
                "balance",
                &[
                    ("round_robin", Balance::RoundRobin),
                    ("least_outstanding", Balance::LeastOutstanding),
                ],
            )
            .map_or(Balance::RoundRobin, |b| b.value);
        let failback = self
            .choice(
                &f,
                "failback",
                &[("auto", Failback::Auto), ("manual", Failback::Manual)],
            )
            .map_or(Failback::Auto, |b| b.value);
        let failback_after = self.duration_or(
            &f,
            "failback_after",
            HumanDuration(Gateway::DEFAULT_FAILBACK_AFTER),
        );
        let eject_after = self
            .integer_in(&f, "eject_after", 1..=1_000)
            .map_or(Gateway::DEFAULT_EJECT_AFTER, |n| n.value as u32);
        let recover_after = self
            .integer_in(&f, "recover_after", 1..=1_000)
            .map_or(Gateway::DEFAULT_RECOVER_AFTER, |n| n.value as u32);
        let check_interval = self.positive_duration(&f, "check_interval", 2_000);
        let check_fast_interval = self.positive_duration(&f, "check_fast_interval", 250);
        let check_path = self.string(&f, "check_path");
        if let Some(p) = &check_path
            && !p.value.starts_with('/')
        {
            let v = &p.value;
            self.diags.push(Diagnostic::error(
                "bad-path",
                p.loc.clone(),
                tr!(
                    "`check_path` must start with `/`, found `{v}`",
                    "`check_path` moet met `/` beginnen, maar is `{v}`"
                ),
                tr!(
                    "expected a path such as \"/health\"",
                    "verwacht een pad zoals \"/health\""
                ),
            ));
        }
        let connect_timeout = self.positive_duration(&f, "connect_timeout", 1_000);
        let try_timeout = self.positive_duration(&f, "try_timeout", 10_000);
        let request_timeout = self.positive_duration(&f, "request_timeout", 30_000);
        let retry_body_limit = self
            .integer_in(&f, "retry_body_limit", 0..=64 * 1024 * 1024)
            .map_or(Gateway::DEFAULT_RETRY_BODY_LIMIT, |n| n.value as u64);
        let max_tries = self
            .integer_in(&f, "max_tries", 1..=10)
            .map_or(3, |n| n.value as u32);
        let dry_run = self.boolean(&f, "dry_run").unwrap_or(false);
        let ca_file = self.string(&f, "ca_file");
        let tls_skip_verify = self.boolean(&f, "tls_skip_verify").unwrap_or(false);
        self.gateway_tls(&f, mode, ca_file.as_ref(), tls_skip_verify);
        let mut actions = Vec::new();
        for value in self.table_list(&f, "action") {
            actions.extend(self.failover_action(value));
        }
        let (id, listen, service) = (id?, listen?, service?);
        Some(Gateway {
            id,
            listen,
            service,
            mode,
            balance,
            failback,
            failback_after,
            eject_after,
            recover_after,
            check_interval,
            check_fast_interval,
            check_path: check_path.map_or_else(|| "/".into(), |p| p.value),
            connect_timeout,
            try_timeout,
            request_timeout,
            retry_body_limit,
            max_tries,
            dry_run,
            actions,
            ca_file,
            ca_file_path: None,
            tls_skip_verify,
            loc: self.loc(f.span.clone()),
        })
    }

    /// `ca_file` and `tls_skip_verify`: TLS to endpoints exists only in HTTP mode (a TCP
    /// gateway splices bytes, the client's TLS goes through untouched), so there they are
    /// errors rather than silently ignored; skipping verification is warned about.
    fn gateway_tls(
        &mut self,
        f: &super::Fields<'_, '_>,
        mode: GatewayMode,
        ca_file: Option<&Located<String>>,
        skip_verify: bool,
    ) {
        if mode == GatewayMode::Tcp {
            for key in ["ca_file", "tls_skip_verify"] {
                let Some(value) = f.get(key) else { continue };
                let loc = self.loc(value.span());
                self.diags.push(
                    Diagnostic::error(
                        "tls-in-tcp-mode",
                        loc,
                        tr!(
                            "`{key}` has no effect in a TCP gateway: it splices bytes and never speaks TLS to endpoints",
                            "`{key}` heeft geen effect in een TCP-gateway: die kopieert bytes en spreekt zelf nooit TLS met endpoints"
                        ),
                        tr!("only for mode = \"http\"", "alleen voor mode = \"http\""),
                    )
                    .with_help(tr!(
                        "remove it, or use mode = \"http\" with https:// endpoints",
                        "haal het weg, of gebruik mode = \"http\" met https://-endpoints"
                    )),
                );
            }
            return;
        }
        if let Some(ca) = ca_file
            && ca.value.trim().is_empty()
        {
            self.diags.push(Diagnostic::error(
                "bad-ca-file",
                ca.loc.clone(),
                tr!("`ca_file` is empty", "`ca_file` is leeg"),
                tr!(
                    "expected a path to a PEM file",
                    "verwacht een pad naar een PEM-bestand"
                ),
            ));
        }
        if skip_verify && let (Some(ca), Some(value)) = (ca_file, f.get("tls_skip_verify")) {
            // One says whom to trust, the other to trust anyone: which was meant?
            let loc = self.loc(value.span());
            let path = &ca.value;
            self.diags.push(
                Diagnostic::error(
                    "tls-conflict",
                    loc,
                    tr!(
                        "`tls_skip_verify = true` contradicts `ca_file = \"{path}\"`: certificates would not be checked against it",
                        "`tls_skip_verify = true` spreekt `ca_file = \"{path}\"` tegen: certificaten zouden er niet tegen gecontroleerd worden"
                    ),
                    tr!("both set", "allebei gezet"),
                )
                .with_help(tr!(
                    "keep ca_file and remove tls_skip_verify",
                    "houd ca_file en haal tls_skip_verify weg"
                )),
            );
            return;
        }
        if skip_verify && let Some(value) = f.get("tls_skip_verify") {
            let loc = self.loc(value.span());
            self.diags.push(
                Diagnostic::warning(
                    "tls-skip-verify",
                    loc,
                    tr!(
                        "certificates of https:// endpoints are not verified: anyone between the gateway and an endpoint can read and change its traffic",
                        "certificaten van https://-endpoints worden niet gecontroleerd: iedereen tussen de gateway en een endpoint kan het verkeer lezen en wijzigen"
                    ),
                    tr!("verification off", "controle uit"),
                )
                .with_help(tr!(
                    "trust the endpoints' certificate authority with ca_file = \"ca.pem\" instead",
                    "vertrouw liever de certificaatautoriteit van de endpoints met ca_file = \"ca.pem\""
                )),
            );
        }
    }

    /// A duration that must not be zero; `default_ms` when absent or invalid.
    fn positive_duration(
        &mut self,
        f: &super::Fields<'_, '_>,
        key: &str,
        default_ms: u64,
    ) -> HumanDuration {
        let default = HumanDuration(Duration::from_millis(default_ms));
        match self.duration(f, key) {
            Some(d) if d.value.get().is_zero() => {
                let what = f.what;
                self.diags.push(Diagnostic::error(
                    "out-of-range",
                    d.loc,
                    tr!(
                        "`{key}` in {what} must be longer than zero",
                        "`{key}` in {what} moet langer dan nul zijn"
                    ),
                    tr!("zero duration", "duur van nul"),
                ));
                default
            }
            Some(d) => d.value,
            None => default,
        }
    }

    fn failover_action(&mut self, value: &Value<'_>) -> Option<FailoverAction> {
        let f = self.open("[[gateway.action]]", value, GATEWAY_ACTION)?;
        if f.get("kind").is_none() {
            self.missing(&f, "kind", "\"command\"");
        }
        let kind = self.choice(
            &f,
            "kind",
            &[("command", 0u8), ("webhook", 1), ("haproxy", 2)],
        );
        let on = self
            .choice(
                &f,
                "on",
                &[
                    ("failover", ActionTrigger::Failover),
                    ("failback", ActionTrigger::Failback),
                ],
            )
            .map_or(ActionTrigger::Failover, |o| o.value);
        let timeout = self.positive_duration(&f, "timeout", 10_000);
        let kind = match kind?.value {
            0 => {
                let command: Vec<String> = self
                    .string_list(&f, "command")
                    .into_iter()
                    .map(|c| c.value)
                    .collect();
                if command.is_empty() {
                    self.missing(
                        &f,
                        "command",
                        "[\"/usr/local/bin/switch-dns\", \"--to\", \"backup\"]",
                    );
                    return None;
                }
                ActionKind::Command { command }
            }
            1 => {
                let url = self.required_string(&f, "url", "\"https://ops.example.com/hook\"")?;
                if !(url.value.starts_with("http://") || url.value.starts_with("https://")) {
                    let v = &url.value;
                    self.diags.push(Diagnostic::error(
                        "bad-url",
                        url.loc.clone(),
                        tr!("`{v}` is not an http(s) URL", "`{v}` is geen http(s)-URL"),
                        tr!(
                            "expected http:// or https://",
                            "verwacht http:// of https://"
                        ),
                    ));
                    return None;
                }
                ActionKind::Webhook {
                    url: url.value,
                    headers: self.string_map(&f, "headers"),
                }
            }
            _ => {
                let socket = self.required_string(&f, "socket", "\"/run/haproxy/admin.sock\"");
                let backend = self.required_string(&f, "backend", "\"app\"");
                let server = self.required_string(&f, "server", "\"primary\"");
                if f.get("state").is_none() {
                    self.missing(&f, "state", "\"maint\"");
                }
                let state = self.choice(
                    &f,
                    "state",
                    &[
                        ("ready", HaproxyState::Ready),
                        ("drain", HaproxyState::Drain),
                        ("maint", HaproxyState::Maint),
                    ],
                );
                ActionKind::Haproxy {
                    socket: socket?.value,
                    backend: backend?.value,
                    server: server?.value,
                    state: state?.value,
                }
            }
        };
        Some(FailoverAction { on, timeout, kind })
    }
}

/// Cross-checks of `[[gateway]]` tables against the catalog: unique ids and listen
/// addresses, the service exists and has endpoints this gateway can connect to.
pub(crate) fn validate(catalog: &Catalog, diags: &mut Diagnostics) {
    let mut ids: HashMap<&str, &Id> = HashMap::new();
    let mut listens: HashMap<&str, &Located<String>> = HashMap::new();
    for gateway in &catalog.gateways {
        if let Some(first) = ids.insert(&gateway.id.value, &gateway.id) {
            let v = &gateway.id.value;
            diags.push(
                Diagnostic::error(
                    "duplicate-id",
                    gateway.id.loc.clone(),
                    tr!(
                        "gateway id `{v}` is used twice",
                        "gateway-id `{v}` wordt twee keer gebruikt"
                    ),
                    tr!("duplicate id", "dubbele id"),
                )
                .with_related(
                    first.loc.clone(),
                    tr!("first used here", "eerst hier gebruikt"),
                ),
            );
        }
        if let Some(first) = listens.insert(&gateway.listen.value, &gateway.listen) {
            let v = &gateway.listen.value;
            diags.push(
                Diagnostic::error(
                    "duplicate-listen",
                    gateway.listen.loc.clone(),
                    tr!(
                        "two gateways listen on `{v}`",
                        "twee gateways luisteren op `{v}`"
                    ),
                    tr!("address already used", "adres al in gebruik"),
                )
                .with_related(
                    first.loc.clone(),
                    tr!("first used here", "eerst hier gebruikt"),
                ),
            );
        }
        let Some(service) = catalog.service(&gateway.service.value) else {
            let v = &gateway.service.value;
            let help = match closest(v, catalog.services.iter().map(|s| s.id.value.as_str())) {
                Some(s) => tr!("did you mean `{s}`?", "bedoelde je `{s}`?"),
                None => tr!(
                    "declare a [[service]] with id = \"{v}\"",
                    "declareer een [[service]] met id = \"{v}\""
                ),
            };
            diags.push(
                Diagnostic::error(
                    "dangling-reference",
                    gateway.service.loc.clone(),
                    tr!(
                        "`service` refers to unknown service `{v}`",
                        "`service` verwijst naar onbekende service `{v}`"
                    ),
                    tr!("no service with this id", "geen service met deze id"),
                )
                .with_help(help),
            );
            continue;
        };
        if service.endpoints.is_empty() {
            let v = &gateway.service.value;
            diags.push(
                Diagnostic::error(
                    "gateway-without-endpoints",
                    gateway.service.loc.clone(),
                    tr!(
                        "service `{v}` has no endpoints for this gateway to send traffic to",
                        "service `{v}` heeft geen endpoints waar deze gateway verkeer naartoe kan sturen"
                    ),
                    tr!("no [[service.endpoint]]", "geen [[service.endpoint]]"),
                )
                .with_help(tr!(
                    "add [[service.endpoint]] tables with url and role = \"primary\" or \"backup\"",
                    "voeg [[service.endpoint]]-tabellen toe met url en role = \"primary\" of \"backup\""
                )),
            );
            continue;
        }
        if !service.endpoints.iter().any(|e| e.role == Role::Primary) {
            let v = &gateway.service.value;
            diags.push(Diagnostic::error(
                "gateway-without-primary",
                gateway.service.loc.clone(),
                tr!(
                    "service `{v}` has no primary endpoint",
                    "service `{v}` heeft geen primair endpoint"
                ),
                tr!("only backups", "alleen back-ups"),
            ));
        }
        let mut names: HashMap<&str, ()> = HashMap::new();
        for endpoint in &service.endpoints {
            if let Err(problem) = endpoint_address(&endpoint.url, gateway.mode) {
                diags.push(Diagnostic::error(
                    "bad-endpoint",
                    gateway.service.loc.clone(),
                    problem,
                    tr!("endpoint of this service", "endpoint van deze service"),
                ));
            }
            let name = endpoint_name(endpoint);
            if names.insert(name, ()).is_some() {
                diags.push(Diagnostic::error(
                    "duplicate-endpoint",
                    gateway.service.loc.clone(),
                    tr!(
                        "two endpoints of this service are both called `{name}`",
                        "twee endpoints van deze service heten allebei `{name}`"
                    ),
                    tr!(
                        "endpoint names must differ",
                        "endpointnamen moeten verschillen"
                    ),
                ));
            }
        }
    }
}

/// Why a `ca_file` could not be read (the loader's read error, told in the words this
/// check needs, so decoding does not depend on loading).
pub(crate) enum CaFileUnread {
    /// Larger than this many bytes.
    TooLarge(u64),
    /// Anything else, as the system says it.
    Failed(String),
}

/// Checks a gateway's `ca_file` as read from disk (`load` reads it relative to the file
/// that declares the gateway): it must be readable text with at least one PEM
/// certificate. The gateway parses the certificates themselves when it starts.
pub(crate) fn check_ca_file(
    ca_file: &Located<String>,
    contents: Result<String, CaFileUnread>,
    diags: &mut Diagnostics,
) {
    let v = &ca_file.value;
    let problem = match contents {
        Err(CaFileUnread::TooLarge(limit)) => {
            let mib = limit / (1024 * 1024);
            Some((
                tr!(
                    "`ca_file` `{v}` is larger than {mib} MiB, too large for a CA bundle",
                    "`ca_file` `{v}` is groter dan {mib} MiB, te groot voor een CA-bundel"
                ),
                tr!("too large", "te groot"),
            ))
        }
        Err(CaFileUnread::Failed(why)) => Some((
            tr!(
                "`ca_file` `{v}` cannot be read: {why}",
                "`ca_file` `{v}` kan niet gelezen worden: {why}"
            ),
            tr!("unreadable file", "onleesbaar bestand"),
        )),
        Ok(text) if text.trim().is_empty() => Some((
            tr!("`ca_file` `{v}` is empty", "`ca_file` `{v}` is leeg"),
            tr!("empty file", "leeg bestand"),
        )),
        Ok(text) if !text.contains("-----BEGIN CERTIFICATE-----") => Some((
            tr!(
                "`ca_file` `{v}` holds no PEM certificate",
                "`ca_file` `{v}` bevat geen PEM-certificaat"
            ),
            tr!("no certificates", "geen certificaten"),
        )),
        Ok(_) => None,
    };
    if let Some((message, label)) = problem {
        diags.push(
            Diagnostic::error("bad-ca-file", ca_file.loc.clone(), message, label).with_help(tr!(
                "point ca_file at a PEM bundle of CA certificates (-----BEGIN CERTIFICATE-----), relative to this file",
                "laat ca_file wijzen naar een PEM-bundel met CA-certificaten (-----BEGIN CERTIFICATE-----), relatief aan dit bestand"
            )),
        );
    }
}
