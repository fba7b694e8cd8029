//! Decodes `[organization]` and `[server]`: who this is for and how this node runs.

use super::*;

/// The fields of `[organization]`.
pub(super) const ORGANIZATION: &[&str] = &[
    "name",
    "timezone",
    "languages",
    "currency",
    "regulations",
    "review_every",
    "reviewed",
    "posture_channels",
];

/// The fields of `[server]`.
pub(super) const SERVER: &[&str] = &[
    "listen",
    "database",
    "location",
    "public_url",
    "retention",
    "max_concurrent_probes",
    "hooks_token",
    "secret",
    "templates",
    "trusted_proxies",
    "secure_cookies",
    "session_lifetime",
    "session_idle",
    "public_rate_limit",
    "subscriber_email_channel",
    "allow_private_webhooks",
];

impl Decoder<'_> {
    pub(super) fn organization(&mut self, value: &Value<'_>) -> Option<Organization> {
        let f = self.open("[organization]", value, ORGANIZATION)?;
        let defaults = Organization::default();
        let name = self.required_string(&f, "name", "\"Acme Retail\"");
        let timezone = self.string(&f, "timezone");
        if let Some(tz) = &timezone
            && jiff::tz::TimeZone::get(&tz.value).is_err()
        {
            let v = &tz.value;
            self.diags.push(
                Diagnostic::error(
                    "bad-timezone",
                    tz.loc.clone(),
                    tr!(
                        "`{v}` is not a known time zone",
                        "`{v}` is geen bekende tijdzone"
                    ),
                    tr!("unknown time zone", "onbekende tijdzone"),
                )
                .with_help(tr!(
                    "use an IANA time zone name such as \"Europe/Amsterdam\" or \"UTC\"",
                    "gebruik een IANA-tijdzonenaam zoals \"Europe/Amsterdam\" of \"UTC\""
                )),
            );
        }
        let mut languages = Vec::new();
        for lang in self.string_list(&f, "languages") {
            if let Some(l) = self.lang(&lang) {
                languages.push(l);
            }
        }
        if languages.is_empty() {
            languages = defaults.languages.clone();
        }
        let currency = self.string(&f, "currency");
        if let Some(c) = &currency
            && !(c.value.len() == 3 && c.value.chars().all(|ch| ch.is_ascii_uppercase()))
        {
            let v = &c.value;
            self.diags.push(
                Diagnostic::error(
                    "bad-currency",
                    c.loc.clone(),
                    tr!(
                        "`{v}` is not an ISO 4217 currency code",
                        "`{v}` is geen ISO 4217-valutacode"
                    ),
                    tr!("invalid currency", "ongeldige valuta"),
                )
                .with_help(tr!(
                    "use three capital letters, e.g. \"EUR\"",
                    "gebruik drie hoofdletters, bijv. \"EUR\""
                )),
            );
        }
        let mut regulations = Vec::new();
        for r in self.string_list(&f, "regulations") {
            let regime = match r.value.to_ascii_lowercase().as_str() {
                "nis2" => crate::catalog::incident::Regime::Nis2,
                "dora" => crate::catalog::incident::Regime::Dora,
                _ => {
                    let v = &r.value;
                    self.diags.push(
                        Diagnostic::error(
                            "bad-regulation",
                            r.loc.clone(),
                            tr!(
                                "`{v}` is not a reporting regime Continuo knows",
                                "`{v}` is geen meldregime dat Continuo kent"
                            ),
                            tr!("unknown regime", "onbekend regime"),
                        )
                        .with_help(tr!(
                            "use \"nis2\" or \"dora\"",
                            "gebruik \"nis2\" of \"dora\""
                        )),
                    );
                    continue;
                }
            };
            if !regulations.contains(&regime) {
                regulations.push(regime);
            }
        }
        let plan_review = self.review(&f);
        let posture_channels = f
            .get("posture_channels")
            .is_some()
            .then(|| self.references(&f, "posture_channels"));
        Some(Organization {
            posture_channels,
            regulations,
            plan_review,
            name: name.map_or(defaults.name, |n| n.value),
            timezone: timezone.map_or(defaults.timezone, |t| t.value),
            languages,
            currency: currency.map_or(defaults.currency, |c| c.value),
        })
    }

    pub(super) fn server(&mut self, value: &Value<'_>) -> Option<Server> {
        let f = self.open("[server]", value, SERVER)?;
        let defaults = Server::default();
        let listen = self.string(&f, "listen");
        if let Some(l) = &listen {
            self.listen_address(l, 8080);
        }
        let database = self.string(&f, "database");
        if let Some(d) = &database
            && !(d.value.starts_with("sqlite:")
                || d.value.starts_with("postgres://")
                || d.value.starts_with("postgresql://"))
        {
            let v = &d.value;
            self.diags.push(
                Diagnostic::error(
                    "bad-database",
                    d.loc.clone(),
                    tr!(
                        "`{v}` is not a database Continuo supports",
                        "`{v}` is geen database die Continuo ondersteunt"
                    ),
                    tr!("unsupported database URL", "niet ondersteunde database-URL"),
                )
                .with_help(tr!(
                    "use \"sqlite://continuo.db\" or \"postgres://user@host/db\"",
                    "gebruik \"sqlite://continuo.db\" of \"postgres://gebruiker@host/db\""
                )),
            );
        }
        let location = self.string(&f, "location");
        if let Some(l) = &location {
            self.check_id(l);
        }
        let secret = self.string(&f, "secret").map(|v| v.value);
        if secret.is_none() {
            // Located at the `[server]` table: the key that is missing has no place.
            self.diags.push(
                Diagnostic::warning(
                    "no-link-secret",
                    self.loc(value.span()),
                    tr!(
                        "[server] secret is not set: the key that signs acknowledge links is generated and kept only in the database",
                        "[server] secret is niet ingesteld: de sleutel die bevestigingslinks ondertekent wordt gegenereerd en alleen in de database bewaard"
                    ),
                    tr!("no `secret` here", "geen `secret` hier"),
                )
                .with_help(tr!(
                    "anyone who can read the database (or a backup of it) can forge acknowledge links; set `secret` (at least 16 characters) and keep the database private",
                    "wie de database (of een back-up ervan) kan lezen, kan bevestigingslinks vervalsen; stel `secret` in (minstens 16 tekens) en houd de database privé"
                )),
            );
        }
        Some(Server {
            listen: listen.map_or(defaults.listen, |v| v.value),
            database: database.map_or(defaults.database, |v| v.value),
            location: location.map_or(defaults.location, |v| v.value),
            public_url: self.string(&f, "public_url").map(|v| v.value),
            retention: self.duration_or(&f, "retention", defaults.retention),
            max_concurrent_probes: self
                .integer_in(&f, "max_concurrent_probes", 1..=100_000)
                .map_or(defaults.max_concurrent_probes, |v| v.value as u32),
            hooks_token: self.string(&f, "hooks_token"),
            secret,
            templates: self.string(&f, "templates").map(|v| v.value),
            trusted_proxies: self.addresses(&f, "trusted_proxies"),
            secure_cookies: self
                .boolean(&f, "secure_cookies")
                .unwrap_or(defaults.secure_cookies),
            session_lifetime: self.duration_or(&f, "session_lifetime", defaults.session_lifetime),
            session_idle: self.duration_or(&f, "session_idle", defaults.session_idle),
            public_rate_limit: self
                .integer_in(&f, "public_rate_limit", 0..=1_000_000)
                .map_or(defaults.public_rate_limit, |v| v.value as u32),
            subscriber_email_channel: self.string(&f, "subscriber_email_channel").map(|v| v.value),
            allow_private_webhooks: self
                .boolean(&f, "allow_private_webhooks")
                .unwrap_or(defaults.allow_private_webhooks),
        })
    }

    /// A list of IP addresses (no ports, no names: they are compared with peers).
    pub(super) fn addresses(
        &mut self,
        fields: &Fields<'_, '_>,
        key: &str,
    ) -> Vec<std::net::IpAddr> {
        let mut out = Vec::new();
        for item in self.string_list(fields, key) {
            match item.value.parse() {
                Ok(ip) => out.push(ip),
                Err(_) => {
                    let v = &item.value;
                    self.diags.push(
                        Diagnostic::error(
                            "bad-address",
                            item.loc.clone(),
                            tr!("`{v}` is not an IP address", "`{v}` is geen IP-adres"),
                            tr!("expected an IP address", "verwacht een IP-adres"),
                        )
                        .with_help(tr!(
                            "write the proxy's address without a port, e.g. \"127.0.0.1\" or \"::1\"",
                            "schrijf het adres van de proxy zonder poort, bijv. \"127.0.0.1\" of \"::1\""
                        )),
                    );
                }
            }
        }
        out
    }
}
