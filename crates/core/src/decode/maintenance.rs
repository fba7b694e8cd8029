//! Decodes `[[maintenance]]`: one-off and recurring maintenance windows.

use super::*;

/// The fields of `[[maintenance]]`.
pub(super) const MAINTENANCE: &[&str] = &[
    "id", "title", "services", "from", "until", "schedule", "duration", "timezone",
];

impl Decoder<'_> {
    pub(super) fn maintenance(&mut self, value: &Value<'_>) -> Option<Maintenance> {
        let f = self.open("[[maintenance]]", value, MAINTENANCE)?;
        let id = self.id(&f);
        let title = self.string(&f, "title");
        let services = self.references(&f, "services");
        if f.get("services").is_none() {
            self.missing(&f, "services", "[\"erp\"]");
        }
        let from = self.string(&f, "from");
        let until = self.string(&f, "until");
        let schedule = self.string(&f, "schedule");
        let duration = self.duration(&f, "duration");
        let timezone = self.string(&f, "timezone");
        for t in [&from, &until].into_iter().flatten() {
            self.check_instant(t);
        }
        if let Some(s) = &schedule {
            self.check_cron(s);
        }
        if let Some(tz) = &timezone {
            self.check_timezone(tz);
        }
        match (&from, &until, &schedule, &duration) {
            (Some(_), Some(_), None, None) | (None, None, Some(_), Some(_)) => {}
            (_, _, Some(s), _) if from.is_some() || until.is_some() => {
                self.diags.push(
                    Diagnostic::error(
                        "conflicting-fields",
                        s.loc.clone(),
                        tr!(
                            "a maintenance window is one-off (`from`, `until`) or recurring (`schedule`, `duration`), not both",
                            "een onderhoudsvenster is eenmalig (`from`, `until`) of terugkerend (`schedule`, `duration`), niet allebei"
                        ),
                        tr!("conflicts with `from`/`until`", "botst met `from`/`until`"),
                    )
                    .with_help(tr!("remove one of the two", "verwijder een van beide")),
                );
            }
            (_, _, Some(_), None) => self.missing(&f, "duration", "\"2h\""),
            (Some(_), None, _, _) => self.missing(&f, "until", "\"2026-12-24T06:00\""),
            (None, Some(_), _, _) => self.missing(&f, "from", "\"2026-12-24T02:00\""),
            _ => self.missing(
                &f,
                "from",
                "\"2026-12-24T02:00\" (or `schedule` and `duration`)",
            ),
        }
        let id = id?;
        Some(Maintenance {
            title: title.map_or_else(|| id.value.clone(), |t| t.value),
            id,
            services,
            from: from.map(|v| v.value),
            until: until.map(|v| v.value),
            schedule,
            duration: duration.map(|d| d.value),
            timezone: timezone.map(|t| t.value),
        })
    }
}
