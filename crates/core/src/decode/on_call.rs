//! Decodes `[[person]]`, `[[team]]`, `[[schedule]]` and `[[escalation]]`: who is paged, when, and the notify targets they name.

use super::*;

/// The fields of `[[person]]`.
pub(super) const PERSON: &[&str] = &["id", "name", "email", "phone", "language", "contact"];
/// The fields of `[[team]]`.
pub(super) const TEAM: &[&str] = &["id", "name", "members", "escalation"];
/// The fields of `[[schedule]]`.
pub(super) const SCHEDULE: &[&str] = &["id", "name", "timezone", "layer", "override"];
/// The fields of `[[schedule.layer]]`.
pub(super) const SCHEDULE_LAYER: &[&str] = &["members", "rotation", "handoff", "start"];
/// The fields of `[[schedule.override]]`.
pub(super) const SCHEDULE_OVERRIDE: &[&str] = &["person", "from", "until"];
/// The fields of `[[escalation]]`.
pub(super) const ESCALATION: &[&str] = &["id", "levels", "repeat", "reminder"];
/// The fields of one of an escalation's `levels`.
pub(super) const ESCALATION_LEVEL: &[&str] = &["after", "notify"];

/// The longest rotation a schedule layer may have, in days.
const MAX_ROTATION_DAYS: u64 = 366;

impl Decoder<'_> {
    pub(super) fn person(&mut self, value: &Value<'_>) -> Option<Person> {
        let f = self.open("[[person]]", value, PERSON)?;
        let id = self.id(&f);
        let name = self.required_string(&f, "name", "\"Alice de Vries\"");
        let email = self.string(&f, "email");
        if let Some(e) = &email
            && !e.value.contains('@')
        {
            let v = &e.value;
            self.diags.push(Diagnostic::error(
                "bad-email",
                e.loc.clone(),
                tr!("`{v}` is not an email address", "`{v}` is geen e-mailadres"),
                tr!("missing `@`", "`@` ontbreekt"),
            ));
        }
        let language = self.string(&f, "language").and_then(|l| self.lang(&l));
        let id = id?;
        Some(Person {
            name: name.map_or_else(|| id.value.clone(), |n| n.value),
            id,
            email: email.map(|e| e.value),
            phone: self.string(&f, "phone").map(|p| p.value),
            language,
            contact: self.references(&f, "contact"),
        })
    }

    pub(super) fn team(&mut self, value: &Value<'_>) -> Option<Team> {
        let f = self.open("[[team]]", value, TEAM)?;
        let id = self.id(&f);
        let name = self.string(&f, "name");
        let members = self.references(&f, "members");
        let escalation = self.reference(&f, "escalation");
        let id = id?;
        Some(Team {
            name: name.map_or_else(|| id.value.clone(), |n| n.value),
            id,
            members,
            escalation,
        })
    }

    pub(super) fn schedule(&mut self, value: &Value<'_>) -> Option<Schedule> {
        let f = self.open("[[schedule]]", value, SCHEDULE)?;
        let id = self.id(&f);
        let name = self.string(&f, "name");
        let timezone = self.string(&f, "timezone");
        let mut layers = Vec::new();
        for layer in self.table_list(&f, "layer") {
            let Some(lf) = self.open("[[schedule.layer]]", layer, SCHEDULE_LAYER) else {
                continue;
            };
            let members = self.references(&lf, "members");
            if members.is_empty() {
                self.missing(&lf, "members", "[\"alice\", \"bob\"]");
            }
            let located = self.duration(&lf, "rotation");
            // A rotation runs on the calendar: beyond a year it is a typo, and far beyond
            // it the time library cannot count the shifts (issue 16).
            if let Some(r) = &located
                && r.value.get() > std::time::Duration::from_secs(MAX_ROTATION_DAYS * 86_400)
            {
                let v = r.value;
                self.diags.push(
                    Diagnostic::error(
                        "bad-rotation",
                        r.loc.clone(),
                        tr!(
                            "a rotation of {v} is longer than a year",
                            "een rotatie van {v} is langer dan een jaar"
                        ),
                        tr!("too long", "te lang"),
                    )
                    .with_help(tr!(
                        "hand over at least once a year, e.g. rotation = \"1w\"",
                        "wissel minstens eens per jaar, bijv. rotation = \"1w\""
                    )),
                );
            }
            let rotation = located.map_or(HumanDuration::from_secs(7 * 86_400), |d| d.value);
            let handoff = self.string(&lf, "handoff");
            if let Some(h) = &handoff
                && !is_time_of_day(&h.value)
            {
                let v = &h.value;
                self.diags.push(Diagnostic::error(
                    "bad-time",
                    h.loc.clone(),
                    tr!("`{v}` is not a time of day", "`{v}` is geen tijdstip"),
                    tr!("expected HH:MM", "verwacht UU:MM"),
                ));
            }
            let start = self.string(&lf, "start");
            if let Some(s) = &start
                && s.value.parse::<jiff::civil::Date>().is_err()
            {
                let v = &s.value;
                self.diags.push(Diagnostic::error(
                    "bad-date",
                    s.loc.clone(),
                    tr!("`{v}` is not a date", "`{v}` is geen datum"),
                    tr!("expected YYYY-MM-DD", "verwacht JJJJ-MM-DD"),
                ));
            }
            layers.push(Layer {
                members,
                rotation,
                handoff: handoff.map_or_else(|| "09:00".into(), |h| h.value),
                start: start.map_or_else(|| "2026-01-05".into(), |s| s.value),
            });
        }
        let mut overrides = Vec::new();
        for value in self.table_list(&f, "override") {
            let Some(of) = self.open("[[schedule.override]]", value, SCHEDULE_OVERRIDE) else {
                continue;
            };
            let person = self.reference(&of, "person");
            if of.get("person").is_none() {
                self.missing(&of, "person", "\"alice\"");
            }
            let from = self.required_string(&of, "from", "\"2026-12-24T18:00\"");
            let until = self.required_string(&of, "until", "\"2026-12-27T09:00\"");
            for t in [&from, &until].into_iter().flatten() {
                self.check_instant(t);
            }
            if let (Some(person), Some(from), Some(until)) = (person, from, until) {
                overrides.push(Override {
                    person,
                    from: from.value,
                    until: until.value,
                });
            }
        }
        let id = id?;
        Some(Schedule {
            name: name.map_or_else(|| id.value.clone(), |n| n.value),
            id,
            timezone: timezone.map(|t| t.value),
            layers,
            overrides,
        })
    }

    pub(super) fn target(&mut self, text: Located<String>) -> Option<Target> {
        let value = &text.value;
        let Some((prefix, id)) = value.split_once(':') else {
            self.diags.push(
                Diagnostic::error(
                    "bad-target",
                    text.loc.clone(),
                    tr!("notify target `{value}` has no kind", "meldingsdoel `{value}` heeft geen soort"),
                    tr!("missing kind prefix", "soort ontbreekt"),
                )
                .with_help(tr!(
                    "write `person:{value}`, `team:{value}`, `schedule:{value}` or `channel:{value}`",
                    "schrijf `person:{value}`, `team:{value}`, `schedule:{value}` of `channel:{value}`"
                )),
            );
            return None;
        };
        let Some(kind) = TargetKind::ALL.into_iter().find(|k| k.prefix() == prefix) else {
            let names = TargetKind::ALL.map(TargetKind::prefix);
            let help = match closest(prefix, names) {
                Some(s) => tr!("did you mean `{s}:{id}`?", "bedoelde je `{s}:{id}`?"),
                None => tr!(
                    "use person:, team:, schedule: or channel:",
                    "gebruik person:, team:, schedule: of channel:"
                ),
            };
            self.diags.push(
                Diagnostic::error(
                    "bad-target",
                    text.loc.clone(),
                    tr!(
                        "`{prefix}` is not a kind of notify target",
                        "`{prefix}` is geen soort meldingsdoel"
                    ),
                    tr!("unknown kind", "onbekende soort"),
                )
                .with_help(help),
            );
            return None;
        };
        let id = Located::new(id.to_string(), text.loc.clone());
        self.check_id(&id).then_some(Target { kind, id })
    }

    pub(super) fn escalation(&mut self, value: &Value<'_>) -> Option<Escalation> {
        let f = self.open("[[escalation]]", value, ESCALATION)?;
        let id = self.id(&f);
        let mut levels = Vec::new();
        let level_values = self.table_list(&f, "levels");
        if f.get("levels").is_some() && level_values.is_empty() || f.get("levels").is_none() {
            self.missing(
                &f,
                "levels",
                "[{ after = \"0m\", notify = [\"team:platform\"] }]",
            );
        }
        for level in level_values {
            let Some(lf) = self.open("an escalation level", level, ESCALATION_LEVEL) else {
                continue;
            };
            let after = self.duration_or(&lf, "after", HumanDuration::default());
            let targets = self.string_list(&lf, "notify");
            if targets.is_empty() {
                self.missing(&lf, "notify", "[\"schedule:platform-primary\"]");
            }
            let notify = targets.into_iter().filter_map(|t| self.target(t)).collect();
            levels.push(EscalationLevel { after, notify });
        }
        let repeat = self
            .integer_in(&f, "repeat", 0..=100)
            .map_or(0, |r| r.value as u32);
        let reminder = self.duration(&f, "reminder").map(|r| r.value);
        Some(Escalation {
            id: id?,
            levels,
            repeat,
            reminder,
        })
    }
}
