//! A templated HTTP request, for SMS gateways and anything else with an HTTP API.
//!
//! Settings: `url` (required), `body` (required), `method` (`POST`, the default, `PUT`,
//! `PATCH` or `GET`), `headers` (a table), `content_type` (default `application/json`).
//! The URL, the body and every header value are minijinja templates, rendered per notice
//! with the same values the message templates see (`service.name`, `summary`, `event`,
//! `ack_url`, `recipient.phone`, `recipient.name`, `started`, `duration`, ...) plus
//! `subject` and `text`, the rendered subject and plain text in the notice's language.
//! Nothing is escaped automatically: use `|tojson` in JSON bodies and `|urlencode` in
//! URLs and form bodies. For example, an SMS gateway taking JSON:
//!
//! ```toml
//! [[channel]]
//! id = "sms"
//! kind = "http_template"
//! url = "https://sms.example.com/api/messages"
//! headers = { Authorization = "Bearer ${SMS_TOKEN}" }
//! body = '{"to": {{ recipient.phone|tojson }}, "text": {{ subject|tojson }}}'
//! ```
//!
//! Templates are compiled when the channel is built and rendered once against example
//! notices, so a syntax error or a template that cannot render is a configuration problem
//! naming the setting and the template's line, found by `continuo check`. A body that
//! renders empty is not sent (useful with `GET`).

use super::request;
use crate::error::{Delivered, SendError};
use crate::http;
use crate::notice::{Notice, NoticeEvent};
use crate::settings::{Settings, parse_http_url};
use crate::template::{self, Message};
use continuo_core::catalog::SettingValue;
use continuo_core::{Lang, Text, tr};
use minijinja::{Environment, Value};
use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderName, HeaderValue};

/// An http_template channel's settings, with its templates compiled.
pub struct Config {
    /// `POST`, `PUT`, `PATCH` or `GET`.
    pub method: Method,
    /// The `Content-Type` of the body.
    pub content_type: HeaderValue,
    /// Header names, in order; their value templates are compiled in `templates`.
    pub header_names: Vec<HeaderName>,
    /// The `url`, `body` and `header.<name>` templates.
    templates: Environment<'static>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("method", &self.method)
            .field("content_type", &self.content_type)
            .field("header_names", &self.header_names)
            .finish_non_exhaustive()
    }
}

/// The template name of a header's value.
fn header_template(name: &HeaderName) -> String {
    format!("header.{name}")
}

impl Config {
    pub(crate) fn parse(s: &mut Settings<'_>) -> Option<Config> {
        let mut templates = template::environment();
        let method = match s.choice("method", &["post", "put", "patch", "get"]) {
            Some("put") => Method::PUT,
            Some("patch") => Method::PATCH,
            Some("get") => Method::GET,
            _ => Method::POST,
        };
        let content_type = match s.text("content_type") {
            None => Some(HeaderValue::from_static("application/json")),
            Some(text) => match HeaderValue::from_str(&text) {
                Ok(value) => Some(value),
                Err(_) => {
                    s.problem(
                        "content_type",
                        tr!("not a valid header value", "geen geldige headerwaarde"),
                    );
                    None
                }
            },
        };
        let mut add = |s: &mut Settings<'_>, setting: &str, name: String, source: String| {
            if let Err(e) = templates.add_template_owned(name, source) {
                s.problem(setting, template_problem(&e));
            }
        };
        if let Some(url) = s.required_text("url") {
            if !url.contains("{{")
                && !url.contains("{%")
                && let Err(message) = parse_http_url(&url)
            {
                s.problem("url", message);
            }
            add(s, "url", "url".into(), url);
        }
        if let Some(SettingValue::Text(body)) = s.value("body") {
            add(s, "body", "body".into(), body.clone());
        } else {
            // Absent or not a string: let the reader say which.
            let _ = s.required_text("body");
        }
        let mut header_names = Vec::new();
        for (name, value) in s.map("headers") {
            match HeaderName::from_bytes(name.as_bytes()) {
                Ok(header) => {
                    add(s, "headers", header_template(&header), value);
                    header_names.push(header);
                }
                Err(_) => s.problem(
                    "headers",
                    tr!(
                        "`{name}` is not a valid header name",
                        "`{name}` is geen geldige headernaam"
                    ),
                ),
            }
        }
        if !s.is_clean() {
            return None;
        }
        let config = Config {
            method,
            content_type: content_type?,
            header_names,
            templates,
        };
        // Render once per event, with and without a recipient, so that templates that
        // parse but cannot render (an unknown filter, a URL that comes out wrong) are
        // reported now.
        for event in NoticeEvent::ALL {
            let mut notice = Notice::example(event, Lang::En);
            for _ in 0..2 {
                let message = Message {
                    subject: "[FIRING] Payments API is down".into(),
                    text: "Payments API is down: connection refused".into(),
                    html: String::new(),
                };
                if let Err((setting, e)) = config.render(&notice, &message) {
                    s.problem(setting, e);
                    return None;
                }
                notice.recipient = None;
                notice.ack_url = None;
            }
        }
        Some(config)
    }

    /// Renders one template.
    fn render_one(&self, name: &str, context: &Value) -> Result<String, minijinja::Error> {
        self.templates.get_template(name)?.render(context)
    }

    /// The request parts for `notice`: URL, headers and body, or the setting whose
    /// template failed and why.
    fn render(&self, notice: &Notice, message: &Message) -> Result<Rendered, (&'static str, Text)> {
        let context = template::context(notice, Some(message));
        let url_text = self
            .render_one("url", &context)
            .map_err(|e| ("url", template_problem(&e)))?;
        let url = parse_http_url(&url_text).map_err(|message| {
            let shown = url_text.trim();
            (
                "url",
                Text::new(
                    format!("the template renders `{shown}`: {}", message.en),
                    format!("het sjabloon wordt `{shown}`: {}", message.nl),
                ),
            )
        })?;
        let mut headers = Vec::new();
        for name in &self.header_names {
            let value = self
                .render_one(&header_template(name), &context)
                .map_err(|e| ("headers", template_problem(&e)))?;
            let value = HeaderValue::from_str(value.trim()).map_err(|_| {
                (
                    "headers",
                    tr!(
                        "header `{name}` renders a value a header cannot carry (line breaks, control characters or non-ASCII)",
                        "header `{name}` wordt een waarde die een header niet kan dragen (regeleinden, stuurtekens of niet-ASCII)"
                    ),
                )
            })?;
            headers.push((name.clone(), value));
        }
        let body = self
            .render_one("body", &context)
            .map_err(|e| ("body", template_problem(&e)))?;
        Ok(Rendered { url, headers, body })
    }
}

/// A minijinja error as a problem with a setting's template.
fn template_problem(e: &minijinja::Error) -> Text {
    let detail = template::describe(e);
    match e.line() {
        Some(line) => tr!(
            "template error on line {line}: {detail}",
            "sjabloonfout op regel {line}: {detail}"
        ),
        None => tr!("template error: {detail}", "sjabloonfout: {detail}"),
    }
}

/// One rendered request.
struct Rendered {
    url: url::Url,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: String,
}

/// A ready http_template sender.
pub(crate) struct HttpTemplate {
    config: Config,
    client: reqwest::Client,
}

impl HttpTemplate {
    pub(crate) fn build(config: Config, client: reqwest::Client) -> HttpTemplate {
        HttpTemplate { config, client }
    }

    pub(crate) async fn send(
        &self,
        notice: &Notice,
        message: &Message,
    ) -> Result<Delivered, SendError> {
        let rendered = self
            .config
            .render(notice, message)
            .map_err(|(setting, e)| SendError::permanent(format!("setting \"{setting}\": {e}")))?;
        let mut req = request(
            &self.client,
            self.config.method.clone(),
            rendered.url,
            notice,
        );
        for (name, value) in rendered.headers {
            req = req.header(name, value);
        }
        if !rendered.body.trim().is_empty() {
            req = req
                .header(CONTENT_TYPE, self.config.content_type.clone())
                .body(rendered.body);
        }
        http::deliver(req).await
    }
}
