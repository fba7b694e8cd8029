//! Decodes `[[channel]]`: where notifications go, with each kind's settings.

use super::*;

/// The fields every `[[channel]]` has; the rest are its kind's settings
/// ([`ChannelKind::required_settings`] and [`ChannelKind::optional_settings`]).
pub(super) const CHANNEL: &[&str] = &["id", "kind", "language"];

impl Decoder<'_> {
    pub(super) fn channel(&mut self, value: &Value<'_>) -> Option<Channel> {
        // The kind decides which settings are known, so read it before opening the table.
        let DeValue::Table(table) = value.get_ref() else {
            self.open("[[channel]]", value, &[]);
            return None;
        };
        let kind_name = table
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == "kind")
            .and_then(|(_, v)| v.get_ref().as_str().map(str::to_string));
        let kind = kind_name.as_deref().and_then(|n| {
            ChannelKind::ALL
                .iter()
                .find(|(name, _)| *name == n)
                .map(|(_, k)| *k)
        });
        let mut known = CHANNEL.to_vec();
        if let Some(kind) = kind {
            known.extend(kind.required_settings());
            known.extend(kind.optional_settings());
        }
        let f = if kind.is_some() {
            self.open("[[channel]]", value, &known)?
        } else {
            // Without a known kind, every other field would look unknown: report the kind only.
            Fields {
                what: "[[channel]]",
                table,
                span: value.span(),
            }
        };
        let id = self.id(&f);
        if f.get("kind").is_none() {
            self.missing(&f, "kind", "\"slack\"");
        }
        let kind = self.choice(&f, "kind", &ChannelKind::ALL);
        let language = self.string(&f, "language").and_then(|l| self.lang(&l));
        let kind = kind?.value;
        for required in kind.required_settings() {
            if f.get(required).is_none() {
                self.missing(&f, required, "\"...\"");
            }
        }
        let keys: Vec<&str> = kind
            .required_settings()
            .iter()
            .chain(kind.optional_settings())
            .copied()
            .collect();
        let settings = self.settings(&f, &keys);
        Some(Channel {
            id: id?,
            kind,
            language,
            settings,
        })
    }
}
