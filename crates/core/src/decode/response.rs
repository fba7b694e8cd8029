//! Decodes `[[route]]` and `[[response_plan]]`: where inbound alerts go and who responds at which severity.

use super::*;

/// The fields of `[[route]]`.
pub(super) const ROUTE: &[&str] = &["match", "service"];
/// The fields of `[[response_plan]]`; its `roles` table takes the crisis roles' names.
pub(super) const RESPONSE_PLAN: &[&str] = &[
    "id",
    "severity",
    "roles",
    "notify",
    "significant",
    "update_every",
];

impl Decoder<'_> {
    pub(super) fn route(&mut self, value: &Value<'_>) -> Option<Route> {
        let f = self.open("[[route]]", value, ROUTE)?;
        // Without `match` (or with an empty one) it is the default route.
        let matchers = self.string_map(&f, "match");
        if f.get("service").is_none() {
            self.missing(&f, "service", "\"erp\"");
        }
        let service = self.reference(&f, "service")?;
        let loc = self.loc(f.span.clone());
        Some(Route {
            matchers,
            service,
            loc,
        })
    }

    pub(super) fn response_plan(&mut self, value: &Value<'_>) -> Option<ResponsePlan> {
        use crate::catalog::incident::{CrisisRole, Severity};
        let f = self.open("[[response_plan]]", value, RESPONSE_PLAN)?;
        let id = self.id(&f);
        let mut severities = Vec::new();
        for s in self.string_list(&f, "severity") {
            match Severity::parse(&s.value) {
                Some(sev) => severities.push(Located::new(sev, s.loc.clone())),
                None => {
                    let v = &s.value;
                    self.diags.push(
                        Diagnostic::error(
                            "bad-severity",
                            s.loc.clone(),
                            tr!("`{v}` is not a severity", "`{v}` is geen ernst"),
                            tr!("unknown severity", "onbekende ernst"),
                        )
                        .with_help(tr!(
                            "use \"SEV1\" (worst) to \"SEV4\"",
                            "gebruik \"SEV1\" (ernstigst) tot \"SEV4\""
                        )),
                    );
                }
            }
        }
        if f.get("severity").is_none() {
            self.missing(&f, "severity", "[\"SEV1\", \"SEV2\"]");
        }
        let mut roles = Vec::new();
        if let Some(value) = f.get("roles") {
            let names: Vec<&str> = CrisisRole::ALL.iter().map(|r| r.name()).collect();
            if let Some(rf) = self.open("roles", value, &names) {
                for role in CrisisRole::ALL {
                    if let Some(text) = self.string(&rf, role.name())
                        && let Some(target) = self.target(text)
                    {
                        roles.push((role, target));
                    }
                }
            }
        }
        let notify = self
            .string_list(&f, "notify")
            .into_iter()
            .filter_map(|t| self.target(t))
            .collect();
        let significant = self.boolean(&f, "significant").unwrap_or(false);
        let update_every = self.duration(&f, "update_every").map(|d| d.value);
        Some(ResponsePlan {
            id: id?,
            severities,
            roles,
            notify,
            significant,
            update_every,
        })
    }
}
