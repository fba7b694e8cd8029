//! Turns one parsed TOML file into catalog items, reporting every problem it meets
//! instead of stopping at the first (which is what serde would do).
//!
//! Each catalog type has one decode function that names its known fields once: unknown
//! fields are reported with a suggestion, and each field is read with a typed getter that
//! reports a wrong type, a bad duration or an out-of-range value at the value's location.

use crate::catalog::*;
use crate::diag::{Diagnostic, Diagnostics, FileId, Loc};
use crate::duration::HumanDuration;
use crate::suggest::closest;
use crate::text::{Lang, Text};
use crate::tr;
use std::collections::BTreeMap;
use std::ops::{Range, RangeInclusive};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

type Value<'i> = Spanned<DeValue<'i>>;

// Sections with their own file; as children they reach the field getters, which are
// private to `decode`.
pub(crate) mod gateway;
mod status_page;

/// The items one file contributed, before they are merged and cross-checked.
#[derive(Default)]
pub(crate) struct FileItems {
    pub organization: Option<(Organization, Loc)>,
    pub server: Option<(Server, Loc)>,
    pub includes: Vec<Located<String>>,
    pub persons: Vec<Person>,
    pub teams: Vec<Team>,
    pub schedules: Vec<Schedule>,
    pub escalations: Vec<Escalation>,
    pub channels: Vec<Channel>,
    pub services: Vec<Service>,
    pub risks: Vec<Risk>,
    pub maintenances: Vec<Maintenance>,
    pub routes: Vec<Route>,
    pub response_plans: Vec<ResponsePlan>,
    pub gateways: Vec<crate::catalog::gateway::Gateway>,
    pub status_page: Option<(crate::catalog::status_page::StatusPageSettings, Loc)>,
}

/// Looks an environment variable up; injected so this crate never reads the environment.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

pub(crate) struct Decoder<'a> {
    file: FileId,
    diags: &'a mut Diagnostics,
    env: EnvLookup<'a>,
}

/// A table being decoded, with the name users know it by (`[[service]]`).
struct Fields<'t, 'i> {
    what: &'static str,
    table: &'t DeTable<'i>,
    span: Range<usize>,
}

impl<'t, 'i> Fields<'t, 'i> {
    fn get(&self, key: &str) -> Option<&'t Value<'i>> {
        self.table
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == key)
            .map(|(_, v)| v)
    }
}

fn type_name(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

fn type_name_nl(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "een tekst",
        DeValue::Integer(_) => "een geheel getal",
        DeValue::Float(_) => "een kommagetal",
        DeValue::Boolean(_) => "een boolean",
        DeValue::Datetime(_) => "een datum-tijd",
        DeValue::Array(_) => "een lijst",
        DeValue::Table(_) => "een tabel",
    }
}

/// Expected types, in English and Dutch, for type errors.
#[derive(Clone, Copy)]
enum Expected {
    String,
    Integer,
    Number,
    Boolean,
    Duration,
    StringList,
    StringMap,
    IntegerList,
    Table,
    TableList,
    Setting,
}

impl Expected {
    fn text(self) -> (&'static str, &'static str) {
        match self {
            Expected::String => ("a string", "een tekst"),
            Expected::Integer => ("an integer", "een geheel getal"),
            Expected::Number => ("a number", "een getal"),
            Expected::Duration => ("a duration such as \"15m\"", "een duur zoals \"15m\""),
            Expected::StringList => ("an array of strings", "een lijst van teksten"),
            Expected::StringMap => ("a table of strings", "een tabel van teksten"),
            Expected::IntegerList => ("an array of integers", "een lijst van gehele getallen"),
            Expected::Boolean => ("a boolean (true or false)", "een boolean (true of false)"),
            Expected::Table => ("a table", "een tabel"),
            Expected::TableList => ("an array of tables", "een lijst van tabellen"),
            Expected::Setting => (
                "a string, number, boolean, array of strings or table of strings",
                "een tekst, getal, boolean, lijst van teksten of tabel van teksten",
            ),
        }
    }
}

/// Whether `text` is a valid identifier: lowercase letters, digits, `-` and `_`, starting
/// with a letter or digit.
pub(crate) fn is_valid_id(text: &str) -> bool {
    let mut chars = text.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

impl<'a> Decoder<'a> {
    pub(crate) fn new(file: FileId, diags: &'a mut Diagnostics, env: EnvLookup<'a>) -> Self {
        Decoder { file, diags, env }
    }

    fn loc(&self, span: Range<usize>) -> Loc {
        Loc::new(self.file, span)
    }

    fn error(
        &mut self,
        code: &'static str,
        span: Range<usize>,
        message: Text,
        label: Text,
    ) -> &mut Diagnostic {
        let loc = self.loc(span);
        self.diags
            .push(Diagnostic::error(code, loc, message, label));
        self.diags.last_mut()
    }

    fn wrong_type(
        &mut self,
        fields: &Fields<'_, '_>,
        key: &str,
        value: &Value<'_>,
        expected: Expected,
    ) {
        let (en, nl) = expected.text();
        let found = type_name(value.get_ref());
        let found_nl = type_name_nl(value.get_ref());
        let what = fields.what;
        self.error(
            "wrong-type",
            value.span(),
            tr!(
                "`{key}` in {what} must be {en}, found {found}",
                "`{key}` in {what} moet {nl} zijn, maar is {found_nl}"
            ),
            tr!("expected {en}", "verwacht: {nl}"),
        );
    }

    /// Opens a table value, reporting unknown keys against `known`.
    fn open<'t, 'i>(
        &mut self,
        what: &'static str,
        value: &'t Value<'i>,
        known: &[&str],
    ) -> Option<Fields<'t, 'i>> {
        let DeValue::Table(table) = value.get_ref() else {
            let (en, nl) = Expected::Table.text();
            let found = type_name(value.get_ref());
            let found_nl = type_name_nl(value.get_ref());
            self.error(
                "wrong-type",
                value.span(),
                tr!(
                    "{what} must be {en}, found {found}",
                    "{what} moet {nl} zijn, maar is {found_nl}"
                ),
                tr!("expected {en}", "verwacht: {nl}"),
            );
            return None;
        };
        for (key, _) in table.iter() {
            let name = key.get_ref().as_ref();
            if known.contains(&name) {
                continue;
            }
            let help = match closest(name, known.iter().copied()) {
                Some(s) => tr!("did you mean `{s}`?", "bedoelde je `{s}`?"),
                None => {
                    let list = known.join("`, `");
                    tr!(
                        "known fields of {what}: `{list}`",
                        "bekende velden van {what}: `{list}`"
                    )
                }
            };
            self.error(
                "unknown-field",
                key.span(),
                tr!(
                    "unknown field `{name}` in {what}",
                    "onbekend veld `{name}` in {what}"
                ),
                tr!("unknown field", "onbekend veld"),
            )
            .help = Some(help);
        }
        Some(Fields {
            what,
            table,
            span: value.span(),
        })
    }

    fn missing(&mut self, fields: &Fields<'_, '_>, key: &str, example: &str) {
        let what = fields.what;
        self.error(
            "missing-field",
            fields.span.clone(),
            tr!(
                "missing field `{key}` in {what}",
                "veld `{key}` ontbreekt in {what}"
            ),
            tr!("`{key}` is required here", "`{key}` is hier verplicht"),
        )
        .help = Some(tr!(
            "add `{key} = {example}`",
            "voeg `{key} = {example}` toe"
        ));
    }

    /// Replaces `${VAR}` and `${VAR:-default}`; `$${` stays a literal `${`.
    fn interpolate(&mut self, raw: &str, span: Range<usize>) -> Option<String> {
        if !raw.contains('$') {
            return Some(raw.to_string());
        }
        let mut out = String::with_capacity(raw.len());
        let mut rest = raw;
        let mut ok = true;
        while let Some(pos) = rest.find('$') {
            out.push_str(&rest[..pos]);
            let after = &rest[pos..];
            if let Some(stripped) = after.strip_prefix("$${") {
                out.push_str("${");
                rest = stripped;
            } else if let Some(body) = after.strip_prefix("${") {
                let Some(end) = body.find('}') else {
                    self.error(
                        "bad-interpolation",
                        span.clone(),
                        tr!(
                            "`${{` is not closed with `}}`",
                            "`${{` wordt niet afgesloten met `}}`"
                        ),
                        tr!("unclosed `${{`", "niet afgesloten `${{`"),
                    )
                    .help = Some(tr!(
                        "write `${{NAME}}`, or `$${{` for a literal `${{`",
                        "schrijf `${{NAAM}}`, of `$${{` voor een letterlijke `${{`"
                    ));
                    return None;
                };
                let expr = &body[..end];
                let (name, default) = match expr.split_once(":-") {
                    Some((n, d)) => (n, Some(d)),
                    None => (expr, None),
                };
                let valid = !name.is_empty()
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && !name.starts_with(|c: char| c.is_ascii_digit());
                if !valid {
                    self.error(
                        "bad-interpolation",
                        span.clone(),
                        tr!(
                            "`${{{expr}}}` does not name an environment variable",
                            "`${{{expr}}}` is geen naam van een omgevingsvariabele"
                        ),
                        tr!("invalid variable name", "ongeldige naam"),
                    )
                    .help = Some(tr!(
                        "names use letters, digits and `_`, e.g. `${{SLACK_WEBHOOK_URL}}`",
                        "namen bestaan uit letters, cijfers en `_`, bijv. `${{SLACK_WEBHOOK_URL}}`"
                    ));
                    ok = false;
                } else {
                    match ((self.env)(name), default) {
                        (Some(value), _) => out.push_str(&value),
                        (None, Some(default)) => out.push_str(default),
                        (None, None) => {
                            self.error(
                                "missing-env",
                                span.clone(),
                                tr!(
                                    "environment variable `{name}` is not set",
                                    "omgevingsvariabele `{name}` is niet gezet"
                                ),
                                tr!("`{name}` is used here", "`{name}` wordt hier gebruikt"),
                            )
                            .help = Some(tr!(
                                "set `{name}` in Continuo's environment, or give a default: `${{{name}:-value}}`",
                                "zet `{name}` in de omgeving van Continuo, of geef een standaardwaarde: `${{{name}:-waarde}}`"
                            ));
                            ok = false;
                        }
                    }
                }
                rest = &body[end + 1..];
            } else {
                out.push('$');
                rest = &after[1..];
            }
        }
        out.push_str(rest);
        ok.then_some(out)
    }

    fn string(&mut self, fields: &Fields<'_, '_>, key: &str) -> Option<Located<String>> {
        let value = fields.get(key)?;
        match value.get_ref() {
            DeValue::String(s) => {
                let text = self.interpolate(s, value.span())?;
                Some(Located::new(text, self.loc(value.span())))
            }
            _ => {
                self.wrong_type(fields, key, value, Expected::String);
                None
            }
        }
    }

    /// Reports `listen` that is not an `ip:port` (`port` is the example's).
    fn listen_address(&mut self, listen: &Located<String>, port: u16) {
        let v = &listen.value;
        if v.parse::<std::net::SocketAddr>().is_ok() {
            return;
        }
        self.diags.push(
            Diagnostic::error(
                "bad-address",
                listen.loc.clone(),
                tr!(
                    "`{v}` is not an address to listen on",
                    "`{v}` is geen adres om op te luisteren"
                ),
                tr!("expected ip:port", "verwacht ip:poort"),
            )
            .with_help(tr!(
                "write an IP address and port, e.g. \"127.0.0.1:{port}\" or \"[::]:{port}\"",
                "schrijf een IP-adres en poort, bijv. \"127.0.0.1:{port}\" of \"[::]:{port}\""
            )),
        );
    }

    fn required_string(
        &mut self,
        fields: &Fields<'_, '_>,
        key: &str,
        example: &str,
    ) -> Option<Located<String>> {
        if fields.get(key).is_none() {
            self.missing(fields, key, example);
            return None;
        }
        self.string(fields, key)
    }

    /// Checks that an identifier or reference is well-formed.
    fn check_id(&mut self, id: &Located<String>) -> bool {
        if is_valid_id(&id.value) {
            return true;
        }
        let value = &id.value;
        self.diags.push(
            Diagnostic::error(
                "bad-id",
                id.loc.clone(),
                tr!(
                    "`{value}` is not a valid id",
                    "`{value}` is geen geldige id"
                ),
                tr!("invalid id", "ongeldige id"),
            )
            .with_help(tr!(
                "ids use lowercase letters, digits, `-` and `_`, e.g. `orders-db`",
                "id's bestaan uit kleine letters, cijfers, `-` en `_`, bijv. `orders-db`"
            )),
        );
        false
    }

    fn id(&mut self, fields: &Fields<'_, '_>) -> Option<Id> {
        let id = self.required_string(fields, "id", "\"my-id\"")?;
        self.check_id(&id).then_some(id)
    }

    fn reference(&mut self, fields: &Fields<'_, '_>, key: &str) -> Option<Id> {
        let id = self.string(fields, key)?;
        self.check_id(&id).then_some(id)
    }

    fn duration(&mut self, fields: &Fields<'_, '_>, key: &str) -> Option<Located<HumanDuration>> {
        let value = fields.get(key)?;
        let DeValue::String(raw) = value.get_ref() else {
            self.wrong_type(fields, key, value, Expected::Duration);
            return None;
        };
        match HumanDuration::parse(raw) {
            Ok(d) => Some(Located::new(d, self.loc(value.span()))),
            Err(e) => {
                let what = fields.what;
                let reason = e.text();
                let (en, nl) = (&reason.en, &reason.nl);
                self.error(
                    "bad-duration",
                    value.span(),
                    tr!(
                        "`{key}` in {what} is not a valid duration: {en}",
                        "`{key}` in {what} is geen geldige duur: {nl}"
                    ),
                    tr!("invalid duration", "ongeldige duur"),
                )
                .help = Some(tr!(
                    "write a number with a unit: ms, s, m, h, d or w, e.g. \"90s\", \"15m\", \"4h\", \"1h30m\"",
                    "schrijf een getal met een eenheid: ms, s, m, h, d of w, bijv. \"90s\", \"15m\", \"4h\", \"1h30m\""
                ));
                None
            }
        }
    }

    fn duration_or(
        &mut self,
        fields: &Fields<'_, '_>,
        key: &str,
        default: HumanDuration,
    ) -> HumanDuration {
        self.duration(fields, key).map_or(default, |d| d.value)
    }

    fn integer_in(
        &mut self,
        fields: &Fields<'_, '_>,
        key: &str,
        range: RangeInclusive<i64>,
    ) -> Option<Located<i64>> {
        let value = fields.get(key)?;
        let DeValue::Integer(raw) = value.get_ref() else {
            self.wrong_type(fields, key, value, Expected::Integer);
            return None;
        };
        let parsed = i64::from_str_radix(raw.as_str(), raw.radix()).ok();
        match parsed {
            Some(n) if range.contains(&n) => Some(Located::new(n, self.loc(value.span()))),
            _ => {
                let (lo, hi, what) = (range.start(), range.end(), fields.what);
                self.error(
                    "out-of-range",
                    value.span(),
                    tr!(
                        "`{key}` in {what} must be between {lo} and {hi}",
                        "`{key}` in {what} moet tussen {lo} en {hi} liggen"
                    ),
                    tr!("out of range", "buiten bereik"),
                )
                .help = Some(tr!(
                    "use a whole number from {lo} to {hi}",
                    "gebruik een geheel getal van {lo} tot en met {hi}"
                ));
                None
            }
        }
    }

    fn number(&mut self, fields: &Fields<'_, '_>, key: &str) -> Option<f64> {
        let value = fields.get(key)?;
        let n = match value.get_ref() {
            DeValue::Integer(raw) => i64::from_str_radix(raw.as_str(), raw.radix())
                .ok()
                .map(|n| n as f64),
            DeValue::Float(raw) => raw.as_str().parse::<f64>().ok(),
            _ => {
                self.wrong_type(fields, key, value, Expected::Number);
                return None;
            }
        };
        match n {
            Some(n) if n.is_finite() && n >= 0.0 => Some(n),
            _ => {
                let what = fields.what;
                self.error(
                    "out-of-range",
                    value.span(),
                    tr!(
                        "`{key}` in {what} must be a positive number",
                        "`{key}` in {what} moet een positief getal zijn"
                    ),
                    tr!("not a positive number", "geen positief getal"),
                );
                None
            }
        }
    }

    fn string_list(&mut self, fields: &Fields<'_, '_>, key: &str) -> Vec<Located<String>> {
        let Some(value) = fields.get(key) else {
            return Vec::new();
        };
        let DeValue::Array(items) = value.get_ref() else {
            self.wrong_type(fields, key, value, Expected::StringList);
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items.iter() {
            match item.get_ref() {
                DeValue::String(s) => {
                    if let Some(text) = self.interpolate(s, item.span()) {
                        out.push(Located::new(text, self.loc(item.span())));
                    }
                }
                _ => self.wrong_type(fields, key, item, Expected::StringList),
            }
        }
        out
    }

    fn references(&mut self, fields: &Fields<'_, '_>, key: &str) -> Vec<Id> {
        let list = self.string_list(fields, key);
        list.into_iter().filter(|id| self.check_id(id)).collect()
    }

    fn table_list<'t, 'i>(&mut self, fields: &Fields<'t, 'i>, key: &str) -> Vec<&'t Value<'i>> {
        let Some(value) = fields.get(key) else {
            return Vec::new();
        };
        match value.get_ref() {
            DeValue::Array(items) => items.iter().collect(),
            _ => {
                self.wrong_type(fields, key, value, Expected::TableList);
                Vec::new()
            }
        }
    }

    /// Parses a closed set of names (`kind = "http"`), suggesting the closest one.
    fn choice<T: Copy>(
        &mut self,
        fields: &Fields<'_, '_>,
        key: &str,
        options: &[(&'static str, T)],
    ) -> Option<Located<T>> {
        let text = self.string(fields, key)?;
        if let Some((_, v)) = options.iter().find(|(n, _)| *n == text.value) {
            return Some(Located::new(*v, text.loc));
        }
        let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
        let help = match closest(&text.value, names.iter().copied()) {
            Some(s) => tr!("did you mean `{s}`?", "bedoelde je `{s}`?"),
            None => {
                let list = names.join("`, `");
                tr!("use one of `{list}`", "gebruik een van `{list}`")
            }
        };
        let (value, what) = (&text.value, fields.what);
        self.diags.push(
            Diagnostic::error(
                "unknown-value",
                text.loc,
                tr!(
                    "`{value}` is not a valid `{key}` for {what}",
                    "`{value}` is geen geldige `{key}` voor {what}"
                ),
                tr!("unknown value", "onbekende waarde"),
            )
            .with_help(help),
        );
        None
    }

    fn lang(&mut self, value: &Located<String>) -> Option<Lang> {
        let lang = Lang::from_code(&value.value).filter(|l| l.code() == value.value);
        if lang.is_none() {
            let v = &value.value;
            self.diags.push(
                Diagnostic::error(
                    "unknown-value",
                    value.loc.clone(),
                    tr!(
                        "`{v}` is not a language Continuo speaks",
                        "`{v}` is geen taal die Continuo spreekt"
                    ),
                    tr!("unsupported language", "niet ondersteunde taal"),
                )
                .with_help(tr!("use \"en\" or \"nl\"", "gebruik \"en\" of \"nl\"")),
            );
        }
        lang
    }

    fn setting(
        &mut self,
        fields: &Fields<'_, '_>,
        key: &str,
        value: &Value<'_>,
    ) -> Option<SettingValue> {
        let bad = |this: &mut Self| {
            this.wrong_type(fields, key, value, Expected::Setting);
            None
        };
        match value.get_ref() {
            DeValue::String(s) => self.interpolate(s, value.span()).map(SettingValue::Text),
            DeValue::Integer(raw) => match i64::from_str_radix(raw.as_str(), raw.radix()) {
                Ok(n) => Some(SettingValue::Integer(n)),
                Err(_) => bad(self),
            },
            DeValue::Boolean(b) => Some(SettingValue::Bool(*b)),
            DeValue::Array(items) => {
                let mut list = Vec::new();
                for item in items.iter() {
                    let DeValue::String(s) = item.get_ref() else {
                        return bad(self);
                    };
                    list.push(self.interpolate(s, item.span())?);
                }
                Some(SettingValue::List(list))
            }
            DeValue::Table(table) => {
                let mut map = BTreeMap::new();
                for (k, v) in table.iter() {
                    match v.get_ref() {
                        DeValue::String(s) => {
                            map.insert(k.get_ref().to_string(), self.interpolate(s, v.span())?);
                        }
                        DeValue::Integer(raw) => {
                            map.insert(k.get_ref().to_string(), raw.as_str().to_string());
                        }
                        _ => return bad(self),
                    }
                }
                Some(SettingValue::Map(map))
            }
            _ => bad(self),
        }
    }

    fn settings(
        &mut self,
        fields: &Fields<'_, '_>,
        keys: &[&str],
    ) -> BTreeMap<String, Located<SettingValue>> {
        let mut out = BTreeMap::new();
        for key in keys {
            if let Some(value) = fields.get(key)
                && let Some(setting) = self.setting(fields, key, value)
            {
                out.insert(
                    (*key).to_string(),
                    Located::new(setting, self.loc(value.span())),
                );
            }
        }
        out
    }

    /// Decodes the root table of one file.
    pub(crate) fn file(&mut self, root: &Value<'_>) -> FileItems {
        let mut items = FileItems::default();
        let known = [
            "include",
            "organization",
            "server",
            "person",
            "team",
            "schedule",
            "escalation",
            "channel",
            "service",
            "risk",
            "maintenance",
            "route",
            "response_plan",
            "gateway",
            "status_page",
        ];
        let Some(fields) = self.open("the config file", root, &known) else {
            return items;
        };
        items.includes = self.string_list(&fields, "include");
        if let Some(value) = fields.get("organization") {
            let loc = self.loc(value.span());
            items.organization = self.organization(value).map(|o| (o, loc));
        }
        if let Some(value) = fields.get("server") {
            let loc = self.loc(value.span());
            items.server = self.server(value).map(|s| (s, loc));
        }
        for value in self.table_list(&fields, "person") {
            items.persons.extend(self.person(value));
        }
        for value in self.table_list(&fields, "team") {
            items.teams.extend(self.team(value));
        }
        for value in self.table_list(&fields, "schedule") {
            items.schedules.extend(self.schedule(value));
        }
        for value in self.table_list(&fields, "escalation") {
            items.escalations.extend(self.escalation(value));
        }
        for value in self.table_list(&fields, "channel") {
            items.channels.extend(self.channel(value));
        }
        for value in self.table_list(&fields, "service") {
            items.services.extend(self.service(value));
        }
        for value in self.table_list(&fields, "risk") {
            items.risks.extend(self.risk(value));
        }
        for value in self.table_list(&fields, "maintenance") {
            items.maintenances.extend(self.maintenance(value));
        }
        for value in self.table_list(&fields, "route") {
            items.routes.extend(self.route(value));
        }
        for value in self.table_list(&fields, "response_plan") {
            items.response_plans.extend(self.response_plan(value));
        }
        for value in self.table_list(&fields, "gateway") {
            items.gateways.extend(self.gateway(value));
        }
        if let Some(value) = fields.get("status_page") {
            items.status_page = self.status_page_settings(value);
        }
        items
    }

    fn organization(&mut self, value: &Value<'_>) -> Option<Organization> {
        let f = self.open(
            "[organization]",
            value,
            &["name", "timezone", "languages", "currency", "regulations"],
        )?;
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
        Some(Organization {
            regulations,
            name: name.map_or(defaults.name, |n| n.value),
            timezone: timezone.map_or(defaults.timezone, |t| t.value),
            languages,
            currency: currency.map_or(defaults.currency, |c| c.value),
        })
    }

    fn server(&mut self, value: &Value<'_>) -> Option<Server> {
        let f = self.open(
            "[server]",
            value,
            &[
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
            ],
        )?;
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
        Some(Server {
            listen: listen.map_or(defaults.listen, |v| v.value),
            database: database.map_or(defaults.database, |v| v.value),
            location: location.map_or(defaults.location, |v| v.value),
            public_url: self.string(&f, "public_url").map(|v| v.value),
            retention: self.duration_or(&f, "retention", defaults.retention),
            max_concurrent_probes: self
                .integer_in(&f, "max_concurrent_probes", 1..=100_000)
                .map_or(defaults.max_concurrent_probes, |v| v.value as u32),
            hooks_token: self.string(&f, "hooks_token").map(|v| v.value),
            secret: self.string(&f, "secret").map(|v| v.value),
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
    fn addresses(&mut self, fields: &Fields<'_, '_>, key: &str) -> Vec<std::net::IpAddr> {
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

    fn person(&mut self, value: &Value<'_>) -> Option<Person> {
        let f = self.open(
            "[[person]]",
            value,
            &["id", "name", "email", "phone", "language", "contact"],
        )?;
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

    fn team(&mut self, value: &Value<'_>) -> Option<Team> {
        let f = self.open("[[team]]", value, &["id", "name", "members", "escalation"])?;
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

    fn schedule(&mut self, value: &Value<'_>) -> Option<Schedule> {
        let f = self.open(
            "[[schedule]]",
            value,
            &["id", "name", "timezone", "layer", "override"],
        )?;
        let id = self.id(&f);
        let name = self.string(&f, "name");
        let timezone = self.string(&f, "timezone");
        let mut layers = Vec::new();
        for layer in self.table_list(&f, "layer") {
            let Some(lf) = self.open(
                "[[schedule.layer]]",
                layer,
                &["members", "rotation", "handoff", "start"],
            ) else {
                continue;
            };
            let members = self.references(&lf, "members");
            if members.is_empty() {
                self.missing(&lf, "members", "[\"alice\", \"bob\"]");
            }
            let rotation = self.duration_or(&lf, "rotation", HumanDuration::from_secs(7 * 86_400));
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
            let Some(of) = self.open("[[schedule.override]]", value, &["person", "from", "until"])
            else {
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

    fn target(&mut self, text: Located<String>) -> Option<Target> {
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

    fn escalation(&mut self, value: &Value<'_>) -> Option<Escalation> {
        let f = self.open(
            "[[escalation]]",
            value,
            &["id", "levels", "repeat", "reminder"],
        )?;
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
            let Some(lf) = self.open("an escalation level", level, &["after", "notify"]) else {
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

    fn channel(&mut self, value: &Value<'_>) -> Option<Channel> {
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
        let mut known = vec!["id", "kind", "language"];
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

    fn service(&mut self, value: &Value<'_>) -> Option<Service> {
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

    fn dependencies(&mut self, f: &Fields<'_, '_>) -> Vec<Dependency> {
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

    fn endpoint(&mut self, value: &Value<'_>) -> Option<Endpoint> {
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

    fn status_page(&mut self, value: &Value<'_>) -> StatusPage {
        let Some(f) = self.open("`status_page`", value, &["component", "group"]) else {
            return StatusPage::default();
        };
        StatusPage {
            component: self.string(&f, "component").map(|c| c.value),
            group: self.string(&f, "group").map(|g| g.value),
        }
    }

    /// Reads the `kind` of a table without reporting anything, to choose its fields.
    fn peek_kind<T: Copy>(value: &Value<'_>, options: &[(&'static str, T)]) -> Option<T> {
        let DeValue::Table(table) = value.get_ref() else {
            return None;
        };
        let name = table
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == "kind")
            .and_then(|(_, v)| v.get_ref().as_str())?;
        options.iter().find(|(n, _)| *n == name).map(|(_, k)| *k)
    }

    /// Opens a table whose known fields depend on its kind. With an unknown kind only the
    /// kind is reported, since every other field would look unknown.
    fn open_by_kind<'t, 'i>(
        &mut self,
        what: &'static str,
        value: &'t Value<'i>,
        known: Option<Vec<&str>>,
    ) -> Option<Fields<'t, 'i>> {
        match (known, value.get_ref()) {
            (Some(known), _) => self.open(what, value, &known),
            (None, DeValue::Table(table)) => Some(Fields {
                what,
                table,
                span: value.span(),
            }),
            (None, _) => self.open(what, value, &[]),
        }
    }

    fn boolean(&mut self, fields: &Fields<'_, '_>, key: &str) -> Option<bool> {
        let value = fields.get(key)?;
        match value.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            _ => {
                self.wrong_type(fields, key, value, Expected::Boolean);
                None
            }
        }
    }

    /// A table of strings, such as request headers.
    fn string_map(&mut self, fields: &Fields<'_, '_>, key: &str) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let Some(value) = fields.get(key) else {
            return out;
        };
        let DeValue::Table(table) = value.get_ref() else {
            self.wrong_type(fields, key, value, Expected::StringMap);
            return out;
        };
        for (k, v) in table.iter() {
            match v.get_ref() {
                DeValue::String(text) => {
                    if let Some(text) = self.interpolate(text, v.span()) {
                        out.insert(k.get_ref().to_string(), text);
                    }
                }
                _ => self.wrong_type(fields, key, v, Expected::StringMap),
            }
        }
        out
    }

    /// An array of integers within a range, such as HTTP status codes.
    fn integer_list(
        &mut self,
        fields: &Fields<'_, '_>,
        key: &str,
        range: RangeInclusive<i64>,
    ) -> Vec<i64> {
        let Some(value) = fields.get(key) else {
            return Vec::new();
        };
        let items: Vec<&Value<'_>> = match value.get_ref() {
            DeValue::Array(items) => items.iter().collect(),
            DeValue::Integer(_) => vec![value],
            _ => {
                self.wrong_type(fields, key, value, Expected::IntegerList);
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for item in items {
            let parsed = match item.get_ref() {
                DeValue::Integer(raw) => i64::from_str_radix(raw.as_str(), raw.radix()).ok(),
                _ => {
                    self.wrong_type(fields, key, item, Expected::IntegerList);
                    continue;
                }
            };
            match parsed {
                Some(n) if range.contains(&n) => out.push(n),
                _ => {
                    let (lo, hi, what) = (range.start(), range.end(), fields.what);
                    self.error(
                        "out-of-range",
                        item.span(),
                        tr!(
                            "`{key}` in {what} must hold numbers between {lo} and {hi}",
                            "`{key}` in {what} moet getallen tussen {lo} en {hi} bevatten"
                        ),
                        tr!("out of range", "buiten bereik"),
                    );
                }
            }
        }
        out
    }

    /// Requires a string field and checks it looks like `host:port`.
    fn host_port(&mut self, fields: &Fields<'_, '_>, key: &str) -> Option<Located<String>> {
        let target = self.required_string(fields, key, "\"127.0.0.1:5432\"")?;
        let ok = target.value.rsplit_once(':').is_some_and(|(host, port)| {
            !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
        });
        if !ok {
            let v = &target.value;
            self.diags.push(
                Diagnostic::error(
                    "bad-target",
                    target.loc.clone(),
                    tr!(
                        "`{v}` is not a host and port",
                        "`{v}` is geen host en poort"
                    ),
                    tr!("expected host:port", "verwacht host:poort"),
                )
                .with_help(tr!(
                    "write e.g. \"127.0.0.1:5432\" or \"db.internal:5432\"",
                    "schrijf bijv. \"127.0.0.1:5432\" of \"db.internal:5432\""
                )),
            );
            return None;
        }
        Some(target)
    }

    fn check(&mut self, value: &Value<'_>, service: &str, index: usize) -> Option<Check> {
        let kind = Self::peek_kind(value, &CheckKind::ALL);
        let specific: &[&str] = match kind {
            Some(CheckKind::Http) => &[
                "url",
                "method",
                "headers",
                "body",
                "follow_redirects",
                "ca_file",
                "tls_insecure_skip_verify",
                "expect",
            ],
            Some(CheckKind::Tcp) => &["target", "send", "expect_reply"],
            Some(CheckKind::Dns) => &["name", "record_type", "resolver", "expect"],
            Some(CheckKind::Tls) => &["target", "server_name", "ca_file", "cert_valid_for"],
            Some(CheckKind::Icmp) => &["host"],
            Some(CheckKind::Command) => &["command", "success_exit_codes", "max_output"],
            Some(CheckKind::Heartbeat) => &["uuid", "period", "schedule", "timezone", "grace"],
            None => &[],
        };
        let mut known = vec![
            "id",
            "kind",
            "interval",
            "timeout",
            "fail_threshold",
            "recover_threshold",
            "quorum",
            "locations",
        ];
        known.extend(specific);
        let f = self.open_by_kind("[[service.check]]", value, kind.map(|_| known))?;
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

    fn http_spec(&mut self, f: &Fields<'_, '_>) -> Option<HttpSpec> {
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

    fn http_expect(&mut self, value: &Value<'_>) -> Option<HttpExpect> {
        let f = self.open(
            "`expect`",
            value,
            &[
                "status",
                "body_contains",
                "body_regex",
                "json",
                "headers",
                "max_latency",
                "cert_valid_for",
            ],
        )?;
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

    fn heartbeat_spec(&mut self, f: &Fields<'_, '_>) -> Option<HeartbeatSpec> {
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

    /// Reports a cron expression that does not parse.
    fn check_cron(&mut self, s: &Located<String>) {
        let Err(e) = crate::cron::Cron::parse(&s.value) else {
            return;
        };
        let v = &s.value;
        let (en, nl) = (e.en, e.nl);
        self.diags.push(
            Diagnostic::error(
                "bad-cron",
                s.loc.clone(),
                tr!(
                    "`{v}` is not a cron schedule: {en}",
                    "`{v}` is geen cron-schema: {nl}"
                ),
                tr!("invalid cron expression", "ongeldige cron-expressie"),
            )
            .with_help(tr!(
                "five fields: minute hour day-of-month month day-of-week, e.g. \"0 2 * * *\" for every night at 02:00",
                "vijf velden: minuut uur dag-van-de-maand maand dag-van-de-week, bijv. \"0 2 * * *\" voor elke nacht om 02:00"
            )),
        );
    }

    /// Reports a time zone name that is not known.
    fn check_timezone(&mut self, tz: &Located<String>) {
        if jiff::tz::TimeZone::get(&tz.value).is_ok() {
            return;
        }
        let v = &tz.value;
        self.diags.push(Diagnostic::error(
            "bad-timezone",
            tz.loc.clone(),
            tr!(
                "`{v}` is not a known time zone",
                "`{v}` is geen bekende tijdzone"
            ),
            tr!("unknown time zone", "onbekende tijdzone"),
        ));
    }

    /// Reports a date-time that is neither RFC 3339 nor a local date-time.
    fn check_instant(&mut self, text: &Located<String>) {
        if crate::oncall::parse_instant(&text.value, &jiff::tz::TimeZone::UTC).is_some() {
            return;
        }
        let v = &text.value;
        self.diags.push(
            Diagnostic::error(
                "bad-date",
                text.loc.clone(),
                tr!(
                    "`{v}` is not a date and time",
                    "`{v}` is geen datum en tijd"
                ),
                tr!("expected a date and time", "verwacht een datum en tijd"),
            )
            .with_help(tr!(
                "write \"2026-12-24T18:00\" (local time) or \"2026-12-24T17:00:00Z\"",
                "schrijf \"2026-12-24T18:00\" (lokale tijd) of \"2026-12-24T17:00:00Z\""
            )),
        );
    }

    fn maintenance(&mut self, value: &Value<'_>) -> Option<Maintenance> {
        let f = self.open(
            "[[maintenance]]",
            value,
            &[
                "id", "title", "services", "from", "until", "schedule", "duration", "timezone",
            ],
        )?;
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

    fn route(&mut self, value: &Value<'_>) -> Option<Route> {
        let f = self.open("[[route]]", value, &["match", "service"])?;
        let matchers = self.string_map(&f, "match");
        if f.get("match").is_none() {
            self.missing(&f, "match", "{ alertname = \"DiskFull\" }");
        }
        if f.get("service").is_none() {
            self.missing(&f, "service", "\"erp\"");
        }
        let service = self.reference(&f, "service")?;
        Some(Route { matchers, service })
    }

    fn response_plan(&mut self, value: &Value<'_>) -> Option<ResponsePlan> {
        use crate::catalog::incident::{CrisisRole, Severity};
        let f = self.open(
            "[[response_plan]]",
            value,
            &[
                "id",
                "severity",
                "roles",
                "notify",
                "significant",
                "update_every",
            ],
        )?;
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

    fn risk(&mut self, value: &Value<'_>) -> Option<Risk> {
        let f = self.open(
            "[[risk]]",
            value,
            &[
                "id",
                "title",
                "description",
                "likelihood",
                "impact",
                "affects",
                "mitigations",
                "owner",
            ],
        )?;
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

/// `8-4-4-4-12` hexadecimal digits.
fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

fn is_time_of_day(text: &str) -> bool {
    let Some((h, m)) = text.split_once(':') else {
        return false;
    };
    h.len() == 2
        && m.len() == 2
        && h.parse::<u8>().is_ok_and(|h| h < 24)
        && m.parse::<u8>().is_ok_and(|m| m < 60)
}
