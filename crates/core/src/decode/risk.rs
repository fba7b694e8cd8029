//! Decodes `[[risk]]`: the risk register.

use super::*;

/// The fields of `[[risk]]`.
pub(super) const RISK: &[&str] = &[
    "id",
    "title",
    "description",
    "likelihood",
    "impact",
    "affects",
    "mitigations",
    "owner",
];

impl Decoder<'_> {
    pub(super) fn risk(&mut self, value: &Value<'_>) -> Option<Risk> {
        let f = self.open("[[risk]]", value, RISK)?;
        let id = self.id(&f);
        let title = self.required_string(&f, "title", "\"Ransomware encrypts production data\"");
        let description = self.string(&f, "description").map(|d| d.value);
        if f.get("likelihood").is_none() {
            self.missing(&f, "likelihood", "3");
        }
        let likelihood = self.integer_in(&f, "likelihood", 1..=5);
        if f.get("impact").is_none() {
            self.missing(&f, "impact", "4");
        }
        let impact = self.integer_in(&f, "impact", 1..=5);
        let affects = self.references(&f, "affects");
        let mitigations = self
            .string_list(&f, "mitigations")
            .into_iter()
            .map(|m| m.value)
            .collect();
        let owner = self.reference(&f, "owner");
        let id = id?;
        let table_loc = self.loc(f.span.clone());
        Some(Risk {
            title: title.map_or_else(|| id.value.clone(), |t| t.value),
            id,
            description,
            likelihood: likelihood.map_or_else(
                || Located::new(1, table_loc.clone()),
                |l| Located::new(l.value as u8, l.loc),
            ),
            impact: impact.map_or_else(
                || Located::new(1, table_loc.clone()),
                |i| Located::new(i.value as u8, i.loc),
            ),
            affects,
            mitigations,
            owner,
            loc: table_loc,
        })
    }
}
