//! Decodes `[[service]]`: a service with its dependencies, endpoints and status page component.

use super::*;

impl Decoder<'_> {
    pub(super) fn service(&mut self, value: &Value<'_>) -> Option<Service> {
        let f = self.open(
            "[[service]]",
            value,
            &[
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
            ],
        )?;
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
        let runbook = self.string(&f, "runbook").map(|r| r.value);
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
            status_page,
            incomplete,
            loc: table_loc,
        })
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
                    let Some(df) = self.open("a dependency", item, &["service", "kind"]) else {
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
        let f = self.open("[[service.endpoint]]", value, &["name", "url", "role"])?;
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
        let Some(f) = self.open("`status_page`", value, &["component", "group"]) else {
            return StatusPage::default();
        };
        StatusPage {
            component: self.string(&f, "component").map(|c| c.value),
            group: self.string(&f, "group").map(|g| g.value),
        }
    }
}
