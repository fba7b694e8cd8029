//! Schema versions of the JSON bodies the store keeps for other crates: the alert book,
//! each incident and each evidence record. The store does not know their types (they are `core`'s), but it
//! does know which version of them it wrote, so a database saved by a newer Continuo is
//! refused with a clear error instead of being misread or silently reset.
//!
//! A body is saved as the envelope `{"version": N, "body": ...}`. A value that is not
//! exactly such an envelope was saved before versions existed: it reads as version 0,
//! whose shape is that of version 1. When a type's stored shape changes, raise its
//! version here and teach [`open`] to upgrade the older shapes; the golden fixtures in
//! `tests/fixtures` fail first if a change of a core type alters the shape unnoticed.

use super::StoreError;
use serde_json::{Map, Value};

/// The schema version of the alert book (`continuo_core::alerting::AlertBook`) this
/// store writes, and the newest it reads. Version 2 keeps the book's alerts out of it,
/// one row each in `alerts` (so a decision writes only the alerts it changed); versions
/// 0 and 1 held them inline, and are moved to rows when first read.
pub const ALERT_BOOK_VERSION: u64 = 2;

/// The schema version of one alert (`continuo_core::alerting::Alert`) this store writes,
/// and the newest it reads.
pub const ALERT_VERSION: u64 = 1;

/// The schema version of an incident (`continuo_core::incident::Incident`) this store
/// writes, and the newest it reads.
pub const INCIDENT_VERSION: u64 = 1;

/// The schema version of an evidence record (`continuo_core::evidence::Evidence`) this
/// store writes, and the newest it reads.
pub const EVIDENCE_VERSION: u64 = 1;

/// One kind of versioned body: where it is kept and its current version.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Kind {
    /// The table the body is kept in, for errors.
    pub(crate) table: &'static str,
    /// The version written, and the newest one read.
    pub(crate) version: u64,
}

/// The alert book, kept in `settings`.
pub(crate) const ALERT_BOOK: Kind = Kind {
    table: "settings",
    version: ALERT_BOOK_VERSION,
};

/// One alert of the book, kept in `alerts`.
pub(crate) const ALERT: Kind = Kind {
    table: "alerts",
    version: ALERT_VERSION,
};

/// An incident, kept in `incidents`.
pub(crate) const INCIDENT: Kind = Kind {
    table: "incidents",
    version: INCIDENT_VERSION,
};

/// An evidence record, kept in `evidence`.
pub(crate) const EVIDENCE: Kind = Kind {
    table: "evidence",
    version: EVIDENCE_VERSION,
};

const VERSION: &str = "version";
const BODY: &str = "body";

/// The stored text of `body`: the envelope with the kind's current version.
pub(crate) fn seal(kind: Kind, body: &Value) -> String {
    let mut envelope = Map::new();
    envelope.insert(VERSION.to_string(), Value::from(kind.version));
    envelope.insert(BODY.to_string(), body.clone());
    Value::Object(envelope).to_string()
}

/// The body in the stored text of row `id`, in the current version's shape.
pub(crate) fn open(kind: Kind, id: &str, text: &str) -> Result<Value, StoreError> {
    let value: Value = serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        table: kind.table,
        reason: format!("{id}: {e}"),
    })?;
    let (version, body) = split(value);
    if version > kind.version {
        return Err(StoreError::NewerVersion {
            table: kind.table,
            id: id.to_string(),
            found: version,
            newest: kind.version,
        });
    }
    // Versions 0 (saved before versions existed) and 1 share one shape. The alert
    // book's version 2 differs only in where its alerts are: the store moves inline
    // alerts to their rows when it reads such a book (`Store::alert_book`). A later
    // version adds its upgrade of older bodies here.
    Ok(body)
}

/// The version and body of a stored value: an envelope, or a bare body of version 0.
fn split(value: Value) -> (u64, Value) {
    match value {
        Value::Object(mut map)
            if map.len() == 2
                && map.contains_key(BODY)
                && map.get(VERSION).is_some_and(Value::is_u64) =>
        {
            let version = map.get(VERSION).and_then(Value::as_u64).unwrap_or(0);
            let body = map.remove(BODY).unwrap_or(Value::Null);
            (version, body)
        }
        bare => (0, bare),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_sealed_body_opens_to_itself() {
        let body = json!({"alerts": {}, "quiet": ["db"]});
        let text = seal(ALERT_BOOK, &body);
        let stored: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(stored, json!({"version": ALERT_BOOK_VERSION, "body": body}));
        assert_eq!(open(ALERT_BOOK, "alert_book", &text).expect("open"), body);
    }

    #[test]
    fn a_body_saved_before_versions_opens_as_version_0() {
        for bare in [
            json!({"alerts": {}, "health": {}}),
            json!({"version": 1, "body": "x", "more": true}),
            json!({"version": "1", "body": {}}),
            Value::Null,
        ] {
            let opened = open(INCIDENT, "INC-1", &bare.to_string()).expect("open");
            assert_eq!(opened, bare);
        }
    }

    #[test]
    fn a_newer_version_is_refused_by_name() {
        let text = json!({"version": 2, "body": {}}).to_string();
        let error = open(INCIDENT, "INC-7", &text).expect_err("newer");
        assert!(
            matches!(
                &error,
                StoreError::NewerVersion { table: "incidents", id, found: 2, newest: 1 } if id == "INC-7"
            ),
            "{error:?}"
        );
        assert!(error.to_string().contains("INC-7"), "{error}");
    }

    #[test]
    fn text_that_is_not_json_is_corrupt() {
        let error = open(ALERT_BOOK, "alert_book", "{").expect_err("corrupt");
        assert!(matches!(
            error,
            StoreError::Corrupt {
                table: "settings",
                ..
            }
        ));
    }
}
