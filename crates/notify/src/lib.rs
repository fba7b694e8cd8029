//! Continuo's notification channels: turn a [`Notice`] into a message and deliver it.
//!
//! One module per channel kind under [`channels`]; each is a component with the same
//! life: its settings are read from a [`Channel`](continuo_core::catalog::Channel) into a typed configuration (every
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
pub use notice::{Notice, NoticeEvent, NoticeService, Recipient};
pub use notifier::{Notifier, validate};
pub use template::{Message, TemplateError, Templates};

/// Makes rustls with aws-lc-rs the process's default crypto provider; binaries call it
/// once at start. (It is `continuo_net::tls::install_default_provider`, which says why.)
pub fn install_crypto_provider() {
    continuo_net::tls::install_default_provider();
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
