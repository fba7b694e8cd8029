//! Decodes `[[service]]`: a service with its dependencies, endpoints and status page component.

use super::*;

/// The fields of `[[service]]`.
pub(super) const SERVICE: &[&str] = &[
    "id",
    "name",
    "description",
    "tier",
    "owner",
    "rto",
    "rpo",
    "mtpd",
    "cost_per_hour",
    "depends_on",
    "endpoint",
    "check",
    "runbook",
    "status_page",
    "slo",
    "slo_window",
    "integration_key",
];
/// The fields of a dependency written as a table (`{ service, kind }`).
pub(super) const DEPENDENCY: &[&str] = &["service", "kind"];
/// The fields of a runbook written as a table.
pub(super) const RUNBOOK: &[&str] = &["path", "review_every", "reviewed"];
/// The fields of a service's `status_page`.
pub(super) const SERVICE_STATUS_PAGE: &[&str] = &["component", "group"];
/// The fields of `[[service.endpoint]]`.
pub(super) const ENDPOINT: &[&str] = &["name", "url", "role"];

impl Decoder<'_> {
    pub(super) fn service(&mut self, value: &Value<'_>) -> Option<Service> {
        let f = self.open("[[service]]", value, SERVICE)?;
        let id = self.id(&f);
        let name = self.string(&f, "name");
        let description = self.string(&f, "description").map(|d| d.value);
        if f.get("tier").is_none() {
            self.missing(&f, "tier", "2");
        }
        let tier = self.integer_in(&f, "tier", 1..=4);
        if f.get("owner").is_none() {
            self.missing(&f, "owner", "\"platform\"");
        }
        let owner = self.reference(&f, "owner");
        if f.get("rto").is_none() {
            self.missing(&f, "rto", "\"4h\"");
        }
        let rto = self.duration(&f, "rto");
        let rpo = self.duration(&f, "rpo");
        let mtpd = self.duration(&f, "mtpd");
        let cost_per_hour = self.number(&f, "cost_per_hour");
        let depends_on = self.dependencies(&f);
        let mut endpoints = Vec::new();
        for value in self.table_list(&f, "endpoint") {
            endpoints.extend(self.endpoint(value));
        }
        let (runbook, runbook_review) = self.runbook(&f);
        let slo = self.slo(&f);
        let slo_window = self.duration_or(&f, "slo_window", DEFAULT_SLO_WINDOW);
        let integration_key = self.string(&f, "integration_key");
        let status_page = match f.get("status_page") {
            Some(value) => self.status_page(value),
            None => StatusPage::default(),
        };
        let id = id?;
        let mut checks = Vec::new();
        for (index, value) in self.table_list(&f, "check").into_iter().enumerate() {
            checks.extend(self.check(value, &id.value, index).map(std::sync::Arc::new));
        }
        // A service whose tier or RTO could not be read is kept (so references to it
        // resolve and cycles through it are still found) but marked incomplete, so no
        // warning is derived from a value the user did not write.
        let incomplete = tier.is_none() || rto.is_none() || owner.is_none();
        let table_loc = self.loc(f.span.clone());
        Some(Service {
            name: name.map_or_else(|| id.value.clone(), |n| n.value),
            owner: owner.unwrap_or_else(|| Located::new(String::new(), id.loc.clone())),
            id,
            description,
            tier: tier.map_or_else(
                || Located::new(Tier(4), table_loc.clone()),
                |t| Located::new(Tier(t.value as u8), t.loc),
            ),
            rto: rto.unwrap_or_else(|| Located::new(HumanDuration::default(), table_loc.clone())),
            rpo,
            mtpd,
            cost_per_hour,
            depends_on,
            endpoints,
            checks,
            runbook,
            runbook_file: None,
            runbook_review,
            slo,
            slo_window,
            status_page,
            integration_key,
            incomplete,
            loc: table_loc,
        })
    }

    /// `runbook = "path"`, or `runbook = { path = "..", review_every = "180d", reviewed =
    /// "2026-09-01" }` for a runbook whose review is tracked.
    fn runbook(&mut self, f: &Fields<'_, '_>) -> (Option<String>, Review) {
        let Some(value) = f.get("runbook") else {
            return (None, Review::default());
        };
        if let DeValue::Table(_) = value.get_ref() {
            let Some(rf) = self.open("the runbook", value, RUNBOOK) else {
                return (None, Review::default());
            };
            let path = self.required_string(&rf, "path", "\"runbooks/web.md\"");
            let review = self.review(&rf);
            return (path.map(|p| p.value), review);
        }
        (
            self.string(f, "runbook").map(|r| r.value),
            Review::default(),
        )
    }

    /// `review_every` (a duration) and `reviewed` (a date) in a runbook or
    /// `[organization]`.
    pub(super) fn review(&mut self, f: &Fields<'_, '_>) -> Review {
        let every = self.duration(f, "review_every").map(|d| d.value);
        let reviewed = self.string(f, "reviewed");
        if let Some(r) = &reviewed
            && r.value.parse::<jiff::civil::Date>().is_err()
        {
            let v = &r.value;
            self.diags.push(Diagnostic::error(
                "bad-date",
                r.loc.clone(),
                tr!("`{v}` is not a date", "`{v}` is geen datum"),
                tr!("expected YYYY-MM-DD", "verwacht JJJJ-MM-DD"),
            ));
            return Review {
                every,
                reviewed: None,
            };
        }
        Review {
            every,
            reviewed: reviewed.map(|r| r.value),
        }
    }

    /// `slo = "99.9%"` (or the number `99.9`): a percentage above 0 and at most 100,
    /// kept as a fraction.
    fn slo(&mut self, f: &Fields<'_, '_>) -> Option<Located<f64>> {
        let value = f.get("slo")?;
        let loc = self.loc(value.span());
        let percent = match value.get_ref() {
            DeValue::String(raw) => raw.trim().trim_end_matches('%').trim().parse::<f64>().ok(),
            DeValue::Float(raw) => raw.as_str().parse::<f64>().ok(),
            DeValue::Integer(raw) => raw.as_str().parse::<f64>().ok(),
            _ => None,
        };
        match percent {
            Some(p) if p.is_finite() && p > 0.0 && p <= 100.0 => Some(Located::new(p / 100.0, loc)),
            _ => {
                let what = f.what;
                self.error(
                    "bad-slo",
                    value.span(),
                    tr!(
                        "`slo` in {what} is not a percentage above 0 and at most 100",
                        "`slo` in {what} is geen percentage boven 0 en hoogstens 100"
                    ),
                    tr!("invalid SLO", "ongeldige SLO"),
                )
                .help = Some(tr!(
                    "write the share of time it must be up, e.g. slo = \"99.9%\"",
                    "schrijf het deel van de tijd dat de dienst moet werken, bijv. slo = \"99.9%\""
                ));
                None
            }
        }
    }

    pub(super) fn dependencies(&mut self, f: &Fields<'_, '_>) -> Vec<Dependency> {
        let Some(value) = f.get("depends_on") else {
            return Vec::new();
        };
        let DeValue::Array(items) = value.get_ref() else {
            self.wrong_type(f, "depends_on", value, Expected::StringList);
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items.iter() {
            match item.get_ref() {
                DeValue::String(s) => {
                    let id = Located::new(s.to_string(), self.loc(item.span()));
                    if self.check_id(&id) {
                        out.push(Dependency {
                            service: id,
                            kind: DependencyKind::Hard,
                        });
                    }
                }
                DeValue::Table(_) => {
                    let Some(df) = self.open("a dependency", item, DEPENDENCY) else {
                        continue;
                    };
                    if df.get("service").is_none() {
                        self.missing(&df, "service", "\"payments\"");
                    }
                    let service = self.reference(&df, "service");
                    let kind = self
                        .choice(
                            &df,
                            "kind",
                            &[
                                ("hard", DependencyKind::Hard),
                                ("soft", DependencyKind::Soft),
                            ],
                        )
                        .map_or(DependencyKind::Hard, |k| k.value);
                    if let Some(service) = service {
                        out.push(Dependency { service, kind });
                    }
                }
                _ => self.wrong_type(f, "depends_on", item, Expected::StringList),
            }
        }
        out
    }

    pub(super) fn endpoint(&mut self, value: &Value<'_>) -> Option<Endpoint> {
        let f = self.open("[[service.endpoint]]", value, ENDPOINT)?;
        let url = self.required_string(&f, "url", "\"http://10.0.1.10:8080\"");
        let role = self
            .choice(
                &f,
                "role",
                &[("primary", Role::Primary), ("backup", Role::Backup)],
            )
            .map_or(Role::Primary, |r| r.value);
        Some(Endpoint {
            name: self.string(&f, "name").map(|n| n.value),
            url: url?.value,
            role,
        })
    }

    pub(super) fn status_page(&mut self, value: &Value<'_>) -> StatusPage {
        let Some(f) = self.open("`status_page`", value, SERVICE_STATUS_PAGE) else {
            return StatusPage::default();
        };
        StatusPage {
            component: self.string(&f, "component").map(|c| c.value),
            group: self.string(&f, "group").map(|g| g.value),
        }
    }
}
