//! Who an outbox item goes to, typed. The outbox keeps it as text (`person:<id>`,
//! `channel:<id>`, `subscriber:<id>`), the form saved databases already hold: it is
//! formatted when an item is written and parsed when it is sent, nowhere else.

use std::fmt;

/// The receiver of one outbox item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recipient {
    /// A person of the catalog, reached through one of their channels.
    Person(String),
    /// A channel of the catalog (chat room, webhook, mailbox).
    Channel(String),
    /// A status page subscriber (by id), reached by mail or at their own webhook.
    Subscriber(String),
}

impl Recipient {
    /// Reads the stored form; `None` for text no version of Continuo wrote.
    pub fn parse(text: &str) -> Option<Recipient> {
        let (kind, id) = text.split_once(':')?;
        let id = id.to_string();
        match kind {
            "person" => Some(Recipient::Person(id)),
            "channel" => Some(Recipient::Channel(id)),
            "subscriber" => Some(Recipient::Subscriber(id)),
            _ => None,
        }
    }

    /// Whether it is a status page subscriber.
    pub fn is_subscriber(&self) -> bool {
        matches!(self, Recipient::Subscriber(_))
    }
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Recipient::Person(id) => write!(f, "person:{id}"),
            Recipient::Channel(id) => write!(f, "channel:{id}"),
            Recipient::Subscriber(id) => write!(f, "subscriber:{id}"),
        }
    }
}

impl From<&continuo_core::alerting::Recipient> for Recipient {
    fn from(recipient: &continuo_core::alerting::Recipient) -> Recipient {
        match recipient {
            continuo_core::alerting::Recipient::Person(id) => Recipient::Person(id.clone()),
            continuo_core::alerting::Recipient::Channel(id) => Recipient::Channel(id.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_form_round_trips_and_matches_what_pages_wrote() {
        for text in [
            "person:anna",
            "channel:ops",
            "subscriber:ab12",
            "channel:a:b",
        ] {
            let parsed = Recipient::parse(text);
            assert_eq!(parsed.map(|r| r.to_string()).as_deref(), Some(text));
        }
        let paged = continuo_core::alerting::Recipient::Person("anna".into());
        assert_eq!(Recipient::from(&paged).to_string(), paged.to_string());
        let paged = continuo_core::alerting::Recipient::Channel("ops".into());
        assert_eq!(Recipient::from(&paged).to_string(), paged.to_string());
        assert_eq!(Recipient::parse("nobody"), None);
        assert_eq!(Recipient::parse("robot:x"), None);
    }
}
