//! Email over SMTP (lettre, rustls with aws-lc-rs).
//!
//! Settings: `smtp_host` (required), `from` (required: `alerts@example.com` or
//! `Continuo <alerts@example.com>`), `to` (required: one address or a list; used when the
//! notice has no recipient with an email address), `tls` (`starttls`, the default: plain
//! connection upgraded with STARTTLS, which must succeed; `tls`: TLS from the first byte,
//! "implicit TLS"; `none`: no encryption, for a relay on the same host only),
//! `smtp_port` (default 587 for `starttls`, 465 for `tls`, 25 for `none`), `username`
//! and `password` (both or neither; never over `tls = "none"`), and the common `ca_file`
//! for a server whose certificate a private CA signed.
//!
//! Each notice is one `multipart/alternative` message with a `text/plain` and a
//! `text/html` part, in the notice's language. It goes to the notice's recipient when that
//! person has an email address, else to the channel's `to`. Headers:
//!
//! | header | value |
//! | --- | --- |
//! | `Message-ID` | `<n.<idempotency key>@<from's domain>>`: a resend has the same id, so mail systems and readers can drop duplicates |
//! | `References` | `<alert.<alert key>@<from's domain>>`: every message of one alert forms one thread |
//! | `Date` | the notice's `at` |
//! | `Auto-Submitted` | `auto-generated` (RFC 3834: no vacation replies) |
//! | `Content-Language` | `en` or `nl` |
//! | `X-Continuo-Event`, `X-Continuo-Alert` | the event and the alert key |
//!
//! Keys are written into the ids with every byte other than a letter, digit or `-`
//! replaced by `=XX` (its hex value), so any key gives a valid, distinct id.
//!
//! SMTP replies 4xx are retryable, 5xx permanent; connection problems and timeouts are
//! retryable. Every send opens its own connection: notifications are few, and a pooled
//! connection that the server closed in between would fail the next page.

use super::Common;
use crate::error::{Delivered, SendError};
use crate::http::error_chain;
use crate::notice::Notice;
use crate::settings::Settings;
use crate::template::Message;
use continuo_core::{Text, tr};
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::time::{Duration, SystemTime};

/// How the SMTP connection is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsMode {
    /// No encryption (`tls = "none"`).
    None,
    /// A plain connection upgraded with STARTTLS, which must succeed (`tls = "starttls"`).
    StartTls,
    /// TLS from the first byte (`tls = "tls"`).
    Implicit,
}

impl TlsMode {
    /// The usual port of this mode.
    pub fn default_port(self) -> u16 {
        match self {
            TlsMode::None => 25,
            TlsMode::StartTls => 587,
            TlsMode::Implicit => 465,
        }
    }
}

/// An email channel's settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// The SMTP server's host name or address.
    pub smtp_host: String,
    /// Its port.
    pub smtp_port: u16,
    /// Connection protection.
    pub tls: TlsMode,
    /// The sender.
    pub from: Mailbox,
    /// Who gets messages that have no recipient with an email address.
    pub to: Vec<Mailbox>,
    /// User name and password, when the server wants them.
    pub credentials: Option<(String, String)>,
}

impl Config {
    pub(crate) fn parse(s: &mut Settings<'_>) -> Option<Config> {
        let smtp_host = s.required_text("smtp_host");
        if let Some(host) = &smtp_host
            && (host.contains("://") || host.contains(['/', ' ', ':']) && !is_ipv6(host))
        {
            s.problem(
                "smtp_host",
                tr!(
                    "\"{host}\" is not a host name: write only the name or address (smtp.example.com), the port goes in smtp_port",
                    "\"{host}\" is geen hostnaam: schrijf alleen de naam of het adres (smtp.example.com), de poort hoort in smtp_port"
                ),
            );
        }
        let tls = match s.choice("tls", &["none", "starttls", "tls"]) {
            Some("none") => TlsMode::None,
            Some("tls") => TlsMode::Implicit,
            _ => TlsMode::StartTls,
        };
        let smtp_port = s
            .integer("smtp_port", 1, 65_535)
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(tls.default_port());
        let from = s.required_text("from").and_then(|text| {
            mailbox(&text)
                .map_err(|message| s.problem("from", message))
                .ok()
        });
        let mut to = Vec::new();
        for text in s.required_list("to").unwrap_or_default() {
            match mailbox(&text) {
                Ok(mailbox) => to.push(mailbox),
                Err(message) => s.problem("to", message),
            }
        }
        let username = s.text("username");
        let password = s.text("password");
        let credentials = match (username, password) {
            (Some(user), Some(password)) => Some((user, password)),
            (None, None) => None,
            (Some(_), None) => {
                s.problem(
                    "password",
                    tr!("is required with username", "is verplicht bij username"),
                );
                None
            }
            (None, Some(_)) => {
                s.problem(
                    "username",
                    tr!("is required with password", "is verplicht bij password"),
                );
                None
            }
        };
        if credentials.is_some() && tls == TlsMode::None {
            s.problem(
                "tls",
                tr!(
                    "\"none\" would send the password unencrypted; use \"starttls\" or \"tls\"",
                    "\"none\" zou het wachtwoord onversleuteld versturen; gebruik \"starttls\" of \"tls\""
                ),
            );
        }
        if !s.is_clean() {
            return None;
        }
        Some(Config {
            smtp_host: smtp_host?,
            smtp_port,
            tls,
            from: from?,
            to,
            credentials,
        })
    }
}

/// True for a bare IPv6 address (`::1`), which has colons but is a valid host.
fn is_ipv6(host: &str) -> bool {
    host.parse::<std::net::Ipv6Addr>().is_ok()
}

/// An address, with or without a display name.
fn mailbox(text: &str) -> Result<Mailbox, Text> {
    // lettre's own reasons ("Invalid input") say little; the expected form says more.
    text.trim().parse::<Mailbox>().map_err(|_| {
        tr!(
            "\"{text}\" is not an email address; write name@example.com or Name <name@example.com>",
            "\"{text}\" is geen e-mailadres; schrijf naam@example.com of Naam <naam@example.com>"
        )
    })
}

/// A ready email sender.
pub(crate) struct Email {
    config: Config,
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

/// A key as the local part of a message id: letters, digits and `-` as they are, every
/// other byte as `=XX`, so distinct keys stay distinct.
fn id_part(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for byte in key.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'-' {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("={byte:02X}"));
        }
    }
    out
}

/// The `Message-ID` of a notice: the same for every resend of it.
pub fn message_id(idempotency_key: &str, domain: &str) -> String {
    format!("<n.{}@{domain}>", id_part(idempotency_key))
}

/// The id every message of one alert refers to, so readers thread them.
pub fn thread_id(alert_key: &str, domain: &str) -> String {
    format!("<alert.{}@{domain}>", id_part(alert_key))
}

fn header(name: &'static str, value: String) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), value)
}

impl Email {
    pub(crate) fn build(
        config: Config,
        common: &Common,
    ) -> Result<Email, (Option<&'static str>, Text)> {
        let parameters = || -> Result<TlsParameters, (Option<&'static str>, Text)> {
            let mut builder = TlsParameters::builder(config.smtp_host.clone());
            for cert in &common.ca {
                let cert = Certificate::from_der(cert.to_vec()).map_err(|e| {
                    (
                        Some("ca_file"),
                        tr!(
                            "the CA certificate is not usable: {e}",
                            "het CA-certificaat is niet bruikbaar: {e}"
                        ),
                    )
                })?;
                builder = builder.add_root_certificate(cert);
            }
            builder.build_rustls().map_err(|e| {
                (
                    Some("smtp_host"),
                    tr!("TLS setup failed: {e}", "TLS-instelling mislukt: {e}"),
                )
            })
        };
        let tls = match config.tls {
            TlsMode::None => Tls::None,
            TlsMode::StartTls => Tls::Required(parameters()?),
            TlsMode::Implicit => Tls::Wrapper(parameters()?),
        };
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.smtp_host.clone())
                .port(config.smtp_port)
                .tls(tls)
                .timeout(Some(common.timeout));
        if let Some((user, password)) = &config.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Email {
            transport: builder.build(),
            config,
        })
    }

    /// The message for `notice`.
    fn message(&self, notice: &Notice, message: &Message) -> Result<lettre::Message, SendError> {
        let domain = self.config.from.email.domain().to_string();
        let mut builder = lettre::Message::builder()
            .from(self.config.from.clone())
            .subject(message.subject.clone())
            .message_id(Some(message_id(&notice.idempotency_key, &domain)))
            .references(thread_id(&notice.alert_key, &domain))
            .date(at(notice.at_ms))
            .raw_header(header("Auto-Submitted", "auto-generated".into()))
            .raw_header(header("Content-Language", notice.language.code().into()))
            .raw_header(header("X-Continuo-Event", notice.event.name().into()))
            .raw_header(header("X-Continuo-Alert", notice.alert_key.clone()));
        let person = notice
            .recipient
            .as_ref()
            .and_then(|r| r.email.as_ref().map(|email| (r, email)));
        match person {
            Some((recipient, email)) => {
                let address = email.trim().parse().map_err(|e| {
                    SendError::permanent(format!(
                        "{}'s email address \"{email}\" is not an address ({e})",
                        recipient.id
                    ))
                })?;
                builder = builder.to(Mailbox::new(Some(recipient.name.clone()), address));
            }
            None => {
                for to in &self.config.to {
                    builder = builder.to(to.clone());
                }
            }
        }
        builder
            .multipart(MultiPart::alternative_plain_html(
                message.text.clone(),
                message.html.clone(),
            ))
            .map_err(|e| SendError::permanent(format!("cannot build the message: {e}")))
    }

    pub(crate) async fn send(
        &self,
        notice: &Notice,
        message: &Message,
    ) -> Result<Delivered, SendError> {
        let email = self.message(notice, message)?;
        self.transmit(email).await
    }

    /// Sends a finished mail (a status page subscriber's) from this channel's sender.
    pub(crate) async fn send_mail(
        &self,
        mail: &crate::direct::Mail,
    ) -> Result<Delivered, SendError> {
        let domain = self.config.from.email.domain().to_string();
        let to: Mailbox = mail.to.trim().parse().map_err(|e| {
            SendError::permanent(format!("\"{}\" is not an email address ({e})", mail.to))
        })?;
        let mut builder = lettre::Message::builder()
            .from(self.config.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .message_id(Some(message_id(&mail.idempotency_key, &domain)))
            .references(thread_id(&mail.thread_key, &domain))
            .date(at(mail.at_ms))
            .raw_header(header("Auto-Submitted", "auto-generated".into()))
            .raw_header(header("Content-Language", mail.language.code().into()));
        for (name, value) in &mail.headers {
            let name = HeaderName::new_from_ascii(name.clone()).map_err(|e| {
                SendError::permanent(format!("\"{name}\" is not a header name ({e})"))
            })?;
            builder = builder.raw_header(HeaderValue::new(name, value.clone()));
        }
        let email = builder
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(mail.text.clone())
            .map_err(|e| SendError::permanent(format!("cannot build the message: {e}")))?;
        self.transmit(email).await
    }

    async fn transmit(&self, email: lettre::Message) -> Result<Delivered, SendError> {
        match self.transport.send(email).await {
            Ok(response) => {
                let mut detail = response.code().to_string();
                if let Some(line) = response.first_line() {
                    detail.push(' ');
                    detail.push_str(line);
                }
                Ok(Delivered { detail })
            }
            Err(e) => Err(smtp_error(&e)),
        }
    }
}

/// `ms` as a `SystemTime` (before 1970 counts as 1970).
fn at(ms: i64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// What an SMTP failure means: the server's 5xx is final, its 4xx and every connection
/// problem are worth another try.
fn smtp_error(e: &lettre::transport::smtp::Error) -> SendError {
    let detail = error_chain(e);
    if e.is_permanent() {
        SendError::permanent(format!("the SMTP server refused: {detail}"))
    } else if e.is_transient() {
        SendError::retryable(format!("the SMTP server deferred: {detail}"))
    } else if e.is_timeout() {
        SendError::retryable(format!("timed out: {detail}"))
    } else {
        SendError::retryable(detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_keep_keys_apart() {
        assert_eq!(message_id("n-42", "example.com"), "<n.n-42@example.com>");
        assert_eq!(
            message_id("a:b/c d", "example.com"),
            "<n.a=3Ab=2Fc=20d@example.com>"
        );
        assert_ne!(id_part("a:b"), id_part("a/b"));
        assert_ne!(id_part("a=3Ab"), id_part("a:b"));
        assert_eq!(thread_id("payments", "x.org"), "<alert.payments@x.org>");
    }
}
