//! Decodes `[[service.check]]`: how a service is probed (HTTP, TCP, heartbeat and the other kinds).

use super::*;

/// The fields every `[[service.check]]` has, whatever its kind.
pub(super) const CHECK: &[&str] = &[
    "id",
    "kind",
    "interval",
    "timeout",
    "fail_threshold",
    "recover_threshold",
    "quorum",
    "locations",
];

/// The fields of an HTTP check's `expect` table.
pub(super) const HTTP_EXPECT: &[&str] = &[
    "status",
    "body_contains",
    "body_regex",
    "json",
    "headers",
    "max_latency",
    "cert_valid_for",
];

/// The fields a check of `kind` has besides [`CHECK`].
pub(super) fn check_kind_fields(kind: CheckKind) -> &'static [&'static str] {
    match kind {
        CheckKind::Http => &[
            "url",
            "method",
            "headers",
            "body",
            "follow_redirects",
            "ca_file",
            "tls_insecure_skip_verify",
            "expect",
        ],
        CheckKind::Tcp => &["target", "send", "expect_reply"],
        CheckKind::Dns => &["name", "record_type", "resolver", "expect"],
        CheckKind::Tls => &["target", "server_name", "ca_file", "cert_valid_for"],
        CheckKind::Icmp => &["host"],
        CheckKind::Command => &["command", "success_exit_codes", "max_output"],
        CheckKind::Heartbeat => &["uuid", "period", "schedule", "timezone", "grace"],
    }
}

impl Decoder<'_> {
    pub(super) fn check(
        &mut self,
        value: &Value<'_>,
        service: &str,
        index: usize,
    ) -> Option<Check> {
        let kind = Self::peek_kind(value, &CheckKind::ALL);
        let known = kind.map(|k| CHECK.iter().chain(check_kind_fields(k)).copied().collect());
        let f = self.open_by_kind("[[service.check]]", value, known)?;
        if f.get("kind").is_none() {
            self.missing(&f, "kind", "\"http\"");
        }
        let kind = self.choice(&f, "kind", &CheckKind::ALL)?.value;
        let id = match f.get("id") {
            Some(_) => self.reference(&f, "id"),
            None => {
                let suffix = if index == 0 {
                    String::new()
                } else {
                    format!("-{}", index + 1)
                };
                Some(Located::new(
                    format!("{service}-{}{suffix}", kind.name()),
                    self.loc(f.span.clone()),
                ))
            }
        };
        let interval = self.duration_or(&f, "interval", HumanDuration::from_secs(60));
        let timeout = match self.duration(&f, "timeout") {
            Some(t) => {
                if t.value > interval && kind != CheckKind::Heartbeat {
                    let i = interval;
                    let tv = t.value;
                    self.diags.push(
                        Diagnostic::error(
                            "timeout-exceeds-interval",
                            t.loc.clone(),
                            tr!("the timeout ({tv}) is longer than the interval ({i})", "de time-out ({tv}) is langer dan het interval ({i})"),
                            tr!("longer than the interval", "langer dan het interval"),
                        )
                        .with_help(tr!(
                            "a check never has two runs in flight: make the timeout at most the interval",
                            "een check heeft nooit twee lopende probes: maak de time-out hoogstens het interval"
                        )),
                    );
                }
                t.value
            }
            None => HumanDuration::from_secs(10).min(interval),
        };
        let fail_threshold = self
            .integer_in(&f, "fail_threshold", 1..=100)
            .map_or(2, |v| v.value as u32);
        let recover_threshold = self
            .integer_in(&f, "recover_threshold", 1..=100)
            .map_or(2, |v| v.value as u32);
        let quorum = self
            .integer_in(&f, "quorum", 1..=100)
            .map_or(1, |v| v.value as u32);
        let locations = self
            .references(&f, "locations")
            .into_iter()
            .map(|l| l.value)
            .collect();
        let spec = match kind {
            CheckKind::Http => CheckSpec::Http(Box::new(self.http_spec(&f)?)),
            CheckKind::Tcp => CheckSpec::Tcp(TcpSpec {
                target: self.host_port(&f, "target")?,
                send: self.string(&f, "send").map(|s| s.value),
                expect_reply: self.string(&f, "expect_reply").map(|s| s.value),
            }),
            CheckKind::Dns => {
                let name = self.required_string(&f, "name", "\"shop.example.com\"");
                let record_type = self
                    .choice(&f, "record_type", &RecordType::ALL)
                    .map_or(RecordType::A, |r| r.value);
                let resolver = if f.get("resolver").is_some() {
                    self.host_port(&f, "resolver")
                } else {
                    None
                };
                let expect = self
                    .string_list(&f, "expect")
                    .into_iter()
                    .map(|e| e.value)
                    .collect();
                CheckSpec::Dns(Box::new(DnsSpec {
                    name: name?,
                    record_type,
                    resolver,
                    expect,
                }))
            }
            CheckKind::Tls => CheckSpec::Tls(Box::new(TlsSpec {
                target: self.host_port(&f, "target")?,
                server_name: self.string(&f, "server_name").map(|s| s.value),
                ca_file: self.string(&f, "ca_file"),
                cert_valid_for: self.duration_or(
                    &f,
                    "cert_valid_for",
                    HumanDuration::from_secs(14 * 86_400),
                ),
            })),
            CheckKind::Icmp => CheckSpec::Icmp(IcmpSpec {
                host: self.required_string(&f, "host", "\"127.0.0.1\"")?,
            }),
            CheckKind::Command => {
                let command: Vec<String> = match f.get("command") {
                    Some(v) if v.get_ref().is_str() => self
                        .string(&f, "command")
                        .map(|c| vec![c.value])
                        .unwrap_or_default(),
                    Some(_) => self
                        .string_list(&f, "command")
                        .into_iter()
                        .map(|c| c.value)
                        .collect(),
                    None => {
                        self.missing(
                            &f,
                            "command",
                            "[\"/usr/local/bin/check-backup\", \"--quiet\"]",
                        );
                        return None;
                    }
                };
                let mut success_exit_codes: Vec<i32> = self
                    .integer_list(&f, "success_exit_codes", 0..=255)
                    .into_iter()
                    .map(|c| c as i32)
                    .collect();
                if success_exit_codes.is_empty() {
                    success_exit_codes.push(0);
                }
                let max_output = self
                    .integer_in(&f, "max_output", 0..=1_048_576)
                    .map_or(4096, |m| m.value as usize);
                CheckSpec::Command(CommandSpec {
                    command,
                    success_exit_codes,
                    max_output,
                })
            }
            CheckKind::Heartbeat => CheckSpec::Heartbeat(Box::new(self.heartbeat_spec(&f)?)),
        };
        Some(Check {
            id: id?,
            spec,
            interval,
            timeout,
            fail_threshold,
            recover_threshold,
            quorum,
            locations,
        })
    }

    pub(super) fn http_spec(&mut self, f: &Fields<'_, '_>) -> Option<HttpSpec> {
        let url = self.required_string(f, "url", "\"https://shop.example.com/health\"");
        if let Some(u) = &url
            && !(u.value.starts_with("http://") || u.value.starts_with("https://"))
        {
            let v = &u.value;
            self.diags.push(
                Diagnostic::error(
                    "bad-url",
                    u.loc.clone(),
                    tr!(
                        "`{v}` is not an http:// or https:// URL",
                        "`{v}` is geen http://- of https://-URL"
                    ),
                    tr!("not an HTTP URL", "geen HTTP-URL"),
                )
                .with_help(tr!(
                    "write the full URL, e.g. \"https://shop.example.com/health\"",
                    "schrijf de volledige URL, bijv. \"https://shop.example.com/health\""
                )),
            );
        }
        let method = self
            .string(f, "method")
            .map_or_else(|| "GET".to_string(), |m| m.value.to_ascii_uppercase());
        let headers = self.string_map(f, "headers");
        let body = self.string(f, "body").map(|b| b.value);
        let follow_redirects = match f.get("follow_redirects").map(|v| v.get_ref().is_bool()) {
            Some(true) => self
                .boolean(f, "follow_redirects")
                .map_or(0, |b| if b { 10 } else { 0 }),
            Some(false) => self
                .integer_in(f, "follow_redirects", 0..=30)
                .map_or(0, |n| n.value as u32),
            None => 0,
        };
        let ca_file = self.string(f, "ca_file");
        let tls_insecure_skip_verify = self.boolean(f, "tls_insecure_skip_verify").unwrap_or(false);
        let expect = match f.get("expect") {
            Some(value) => self.http_expect(value)?,
            None => HttpExpect::default(),
        };
        Some(HttpSpec {
            url: url?,
            method,
            headers,
            body,
            follow_redirects,
            ca_file,
            tls_insecure_skip_verify,
            expect,
        })
    }

    pub(super) fn http_expect(&mut self, value: &Value<'_>) -> Option<HttpExpect> {
        let f = self.open("`expect`", value, HTTP_EXPECT)?;
        Some(HttpExpect {
            status: self
                .integer_list(&f, "status", 100..=599)
                .into_iter()
                .map(|s| s as u16)
                .collect(),
            body_contains: self.string(&f, "body_contains").map(|b| b.value),
            body_regex: self.string(&f, "body_regex"),
            json: self.string_map(&f, "json"),
            headers: self.string_map(&f, "headers"),
            max_latency: self.duration(&f, "max_latency").map(|d| d.value),
            cert_valid_for: self.duration(&f, "cert_valid_for").map(|d| d.value),
        })
    }

    pub(super) fn heartbeat_spec(&mut self, f: &Fields<'_, '_>) -> Option<HeartbeatSpec> {
        let uuid = self.required_string(f, "uuid", "\"0f8d4c2e-6a1b-4b7e-9d3c-2a5e8f1b7c40\"");
        if let Some(u) = &uuid
            && !is_uuid(&u.value)
        {
            let v = &u.value;
            self.diags.push(
                Diagnostic::error(
                    "bad-uuid",
                    u.loc.clone(),
                    tr!("`{v}` is not a UUID", "`{v}` is geen UUID"),
                    tr!("expected a UUID", "verwacht een UUID"),
                )
                .with_help(tr!(
                    "the uuid is the secret part of the ping URL; generate one with `uuidgen`",
                    "de uuid is het geheime deel van de ping-URL; maak er een met `uuidgen`"
                )),
            );
        }
        let period = self.duration(f, "period");
        let schedule = self.string(f, "schedule");
        match (&period, &schedule) {
            (Some(_), Some(s)) => {
                self.diags.push(
                    Diagnostic::error(
                        "conflicting-fields",
                        s.loc.clone(),
                        tr!(
                            "a heartbeat has either a `period` or a `schedule`, not both",
                            "een heartbeat heeft een `period` of een `schedule`, niet allebei"
                        ),
                        tr!("conflicts with `period`", "botst met `period`"),
                    )
                    .with_help(tr!("remove one of the two", "verwijder een van beide")),
                );
            }
            (None, None) if f.get("period").is_none() && f.get("schedule").is_none() => {
                self.missing(f, "period", "\"1h\" (or `schedule = \"0 2 * * *\"`)");
            }
            _ => {}
        }
        if let Some(s) = &schedule {
            self.check_cron(s);
        }
        let timezone = self.string(f, "timezone");
        if let Some(tz) = &timezone {
            self.check_timezone(tz);
        }
        let grace = self.duration_or(f, "grace", HumanDuration::from_secs(300));
        Some(HeartbeatSpec {
            uuid: uuid?,
            period: period.map(|p| p.value),
            schedule,
            timezone,
            grace,
        })
    }
}
