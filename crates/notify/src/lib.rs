//! Continuo's notification channels: turn a [`Notice`] into a message and deliver it.
//!
//! One module per channel kind under [`channels`]; each is a component with the same
//! life: its settings are read from a [`Channel`](continuo_core::model::Channel) into a typed configuration (every
//! problem named with the channel, the setting and the place in the configuration),
//! [`validate`] reports those problems for `continuo check`, [`Notifier::build`] makes
//! the ready sender once (HTTP client, SMTP transport, compiled templates) and
//! [`Notifier::send`] delivers one notice.
//!
//! Message texts come from [`Templates`]: built-in minijinja templates in English and
//! Dutch (subject, plain text, HTML), each of which operators can replace with a file.
//!
//! **Invariant:** this crate decides nothing about whom to page or when. It never
//! retries either: a failed send is a [`SendError`] that says whether trying again can
//! help ([`SendErrorKind::Retryable`], with the receiver's `Retry-After` when it gave
//! one) and the outbox's dispatcher decides. A resend of the same notice carries the
//! same idempotency key (`Idempotency-Key` header, webhook payload, email Message-ID), so
//! receivers can deduplicate.
//!
//! **Invariant:** every TLS connection uses rustls with the aws-lc-rs provider, chosen
//! explicitly; no dependency brings in `ring`.

// Libraries speak through `tracing` events (or return errors); only the binary prints.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod channels;
pub mod direct;
mod error;
mod http;
mod notice;
mod notifier;
mod settings;
mod template;
mod text;

pub use error::{ConfigError, ConfigProblem, Delivered, SendError, SendErrorKind};
pub use http::read_ca_file;
pub use notice::{Notice, NoticeEvent, NoticeService, Recipient};
pub use notifier::{Notifier, validate};
pub use template::{Message, TemplateError, Templates};

/// An outgoing HTTP client as the channels use it (rustls with aws-lc-rs, the system's
/// root certificates, no redirects, `timeout` per request), for other senders of
/// webhooks (the gateway's failover actions).
pub fn http_client(timeout: std::time::Duration) -> Result<reqwest::Client, continuo_core::Text> {
    http::client(timeout, &[])
}

/// Makes rustls with aws-lc-rs the process's default crypto provider; binaries call it
/// once at start.
///
/// Why: this crate turns on reqwest's rustls support without a provider (so `ring` stays
/// out), and features are shared by the whole build, so every reqwest client in the
/// process uses rustls: one built with reqwest's defaults (`reqwest::Client::new()`,
/// as `continuo status` does) panics with "No provider set" unless a default is
/// installed. Calling it again, or after another default was installed, changes nothing.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dispatcher shares notifiers and templates between tasks and spawns sends.
    #[test]
    fn shared_between_tasks() {
        fn shareable<T: Send + Sync>() {}
        fn spawnable<T: Send>(_: &T) {}
        shareable::<Notifier>();
        shareable::<Templates>();
        shareable::<Notice>();
        let check = |notifier: &'static Notifier, notice: &'static Notice| {
            spawnable(&notifier.send(notice));
        };
        let _ = check;
    }
}
