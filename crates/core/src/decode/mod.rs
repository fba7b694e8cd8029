//! Turns one parsed TOML file into catalog items, reporting every problem it meets
//! instead of stopping at the first (which is what serde would do).
//!
//! Each catalog type has one decode function that names its known fields once: unknown
//! fields are reported with a suggestion, and each field is read with a typed getter that
//! reports a wrong type, a bad duration or an out-of-range value at the value's location.
//!
//! This file holds the getters and the dispatch over a file's top-level keys; each
//! section's decoding is a child module (`organization`, `on_call`, `channel`, `service`,
//! `check`, `maintenance`, `response`, `risk`, `gateway`, `status_page`), which as a child
//! uses the getters without them being visible to the rest of the crate.

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

// One child per section; as children they reach the field getters, which stay private
// to `decode`.
mod channel;
mod check;
pub(crate) mod gateway;
mod maintenance;
mod on_call;
mod organization;
mod response;
mod risk;
pub mod schema;
mod service;
mod status_page;

/// The top-level keys of a configuration file: its sections.
const TOP_LEVEL: &[&str] = &[
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
        let Some(fields) = self.open("the config file", root, TOP_LEVEL) else {
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
