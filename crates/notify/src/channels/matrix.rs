//! A Matrix room, through the client-server API with an access token.
//!
//! Settings: `homeserver` (required: the base URL, `https://matrix.example.org`),
//! `access_token` (required: the token of the account that posts, which must have joined
//! the room; give it as `"${MATRIX_TOKEN}"`), `room` (required: a room id
//! `!abc:example.org` or an alias `#ops:example.org`).
//!
//! Request: `PUT <homeserver>/_matrix/client/v3/rooms/<room id>/send/m.room.message/<txn>`
//! with `Authorization: Bearer <token>` and
//!
//! ```json
//! { "msgtype": "m.text",
//!   "body": "[FIRING] Payments API is down\n\nPayments API is down: …",
//!   "format": "org.matrix.custom.html",
//!   "formatted_body": "<strong>[FIRING] Payments API is down</strong><br><br>Payments API is down: …",
//!   "m.mentions": {} }
//! ```
//!
//! - The transaction id is derived from the notice's idempotency key (and the room), so
//!   a resend after a lost answer is the same transaction, which the homeserver
//!   deduplicates for the same access token: one event, not two.
//! - An alias is resolved once with `GET /_matrix/client/v3/directory/room/<alias>` and
//!   the room id kept for the life of the sender (a reload builds a new one).
//! - `m.mentions` present and empty: nothing in the text (`@room`, a user id) notifies
//!   anyone beyond the room's own notification settings.
//! - A posture notice pages nobody: it is an `m.notice`, which clients by default show
//!   without notifying.
//! - Every `&`, `<` and `>` of the notice is escaped in the HTML.
//! - A 429 carries how long to wait as `retry_after_ms` in its body (older servers) or
//!   `Retry-After`; both are honoured, the header first. Homeservers set their own rate
//!   limits, so no spacing is fixed here.
//! - The token is never part of an error message.

use super::{request, truncate};
use crate::error::{Delivered, SendError};
use crate::http;
use crate::notice::{Notice, NoticeEvent};
use crate::settings::Settings;
use crate::template::Message;
use continuo_core::tr;
use reqwest::Method;
use reqwest::header::AUTHORIZATION;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;
use std::time::Duration;
use url::Url;

/// A Matrix channel's settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// The homeserver's base URL.
    pub homeserver: Url,
    /// The access token of the posting account.
    pub access_token: String,
    /// The room, by id (`!…`) or alias (`#…:server`).
    pub room: String,
}

impl Config {
    pub(crate) fn parse(s: &mut Settings<'_>) -> Option<Config> {
        let homeserver = s.url("homeserver", true);
        if let Some(url) = &homeserver
            && url.path().contains("/_matrix")
        {
            let base = format!("{}://{}", url.scheme(), url.authority());
            s.problem(
                "homeserver",
                tr!(
                    "give the homeserver's base URL ({base}), without /_matrix/…",
                    "geef de basis-URL van de homeserver ({base}), zonder /_matrix/…"
                ),
            );
        }
        let access_token = s.required_text("access_token");
        if let Some(token) = &access_token {
            if token.to_ascii_lowercase().starts_with("bearer ") {
                s.problem(
                    "access_token",
                    tr!(
                        "write the token alone, without `Bearer`",
                        "schrijf alleen het token, zonder `Bearer`"
                    ),
                );
            } else if !token.bytes().all(|b| b.is_ascii_graphic()) {
                s.problem(
                    "access_token",
                    tr!(
                        "an access token holds no spaces, line breaks or characters outside ASCII",
                        "een toegangstoken bevat geen spaties, regeleinden of tekens buiten ASCII"
                    ),
                );
            }
        }
        let room = s.required_text("room");
        if let Some(room) = &room
            && !is_room(room)
        {
            s.problem(
                "room",
                tr!(
                    "\"{room}\" is neither a room id (!abc123:example.org) nor a room alias (#ops:example.org)",
                    "\"{room}\" is geen kamer-id (!abc123:example.org) en geen kameralias (#ops:example.org)"
                ),
            );
        }
        if !s.is_clean() {
            return None;
        }
        Some(Config {
            homeserver: homeserver?,
            access_token: access_token?,
            room: room?,
        })
    }
}

/// A room id (`!opaque`, with `:server` before room version 12) or an alias
/// (`#name:server`).
fn is_room(room: &str) -> bool {
    let clean = |s: &str| !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c == '/');
    if let Some(id) = room.strip_prefix('!') {
        return clean(id);
    }
    if let Some(alias) = room.strip_prefix('#') {
        return alias
            .split_once(':')
            .is_some_and(|(name, server)| clean(name) && clean(server));
    }
    false
}

/// A ready Matrix sender.
pub(crate) struct Matrix {
    config: Config,
    client: reqwest::Client,
    /// The room id, once known (at once for an id, after the first lookup for an alias).
    room_id: OnceLock<String>,
}

/// `<homeserver>/_matrix/client/v3/` followed by `segments`, each percent-encoded as one
/// path segment (room ids and aliases hold `!`, `#` and `:`).
fn client_url(homeserver: &Url, segments: &[&str]) -> Url {
    let mut url = homeserver.clone();
    url.set_query(None);
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty()
            .extend(["_matrix", "client", "v3"])
            .extend(segments);
    }
    url
}

/// The transaction id of `notice` in `room`: the same on every resend.
pub(crate) fn transaction_id(notice: &Notice, room: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(room.as_bytes());
    hash.update([0]);
    hash.update(notice.idempotency_key.as_bytes());
    let digest = hash.finalize();
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("continuo-{hex}")
}

/// Escapes the characters HTML gives a meaning to.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The event content for `notice`.
pub(crate) fn content(notice: &Notice, message: &Message) -> Value {
    let subject = truncate(&message.subject, 300);
    let body = truncate(&message.text, 20_000);
    let html_body = escape(&body).replace('\n', "<br>");
    let msgtype = match notice.event {
        NoticeEvent::Posture => "m.notice",
        _ => "m.text",
    };
    json!({
        "msgtype": msgtype,
        "body": format!("{subject}\n\n{body}"),
        "format": "org.matrix.custom.html",
        "formatted_body": format!("<strong>{}</strong><br><br>{html_body}", escape(&subject)),
        "m.mentions": {},
    })
}

/// Matrix's `retry_after_ms` in an error body.
fn hinted_wait(body: &Value) -> Option<Duration> {
    body["retry_after_ms"].as_u64().map(Duration::from_millis)
}

impl Matrix {
    pub(crate) fn build(config: Config, client: reqwest::Client) -> Matrix {
        let room_id = OnceLock::new();
        if config.room.starts_with('!') {
            let _ = room_id.set(config.room.clone());
        }
        Matrix {
            config,
            client,
            room_id,
        }
    }

    fn authorized(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        req.header(
            AUTHORIZATION,
            format!("Bearer {}", self.config.access_token),
        )
    }

    /// The room's id, looking the alias up the first time.
    async fn room_id(&self, notice: &Notice) -> Result<String, SendError> {
        if let Some(id) = self.room_id.get() {
            return Ok(id.clone());
        }
        let alias = &self.config.room;
        let url = client_url(&self.config.homeserver, &["directory", "room", alias]);
        let in_alias = |mut e: SendError| {
            e.message = format!("cannot resolve the room alias {alias}: {}", e.message);
            e
        };
        let req = self.authorized(request(&self.client, Method::GET, url, notice));
        let reply = http::exchange(req).await.map_err(in_alias)?;
        let found = reply
            .status
            .is_success()
            .then(|| serde_json::from_str::<Value>(&reply.body).ok())
            .flatten()
            .and_then(|v| v["room_id"].as_str().map(str::to_string));
        if let Some(id) = found {
            let _ = self.room_id.set(id.clone());
            return Ok(id);
        }
        match http::classify_hinted(reply, hinted_wait) {
            // A success without a room id: a homeserver that does not speak this API.
            Ok(delivered) => Err(SendError::permanent(format!(
                "cannot resolve the room alias {alias}: {} without a room_id",
                delivered.detail
            ))),
            Err(e) => Err(in_alias(e)),
        }
    }

    pub(crate) async fn send(
        &self,
        notice: &Notice,
        message: &Message,
    ) -> Result<Delivered, SendError> {
        let room_id = self.room_id(notice).await?;
        let txn = transaction_id(notice, &room_id);
        let url = client_url(
            &self.config.homeserver,
            &["rooms", &room_id, "send", "m.room.message", &txn],
        );
        let req = self
            .authorized(request(&self.client, Method::PUT, url, notice))
            .json(&content(notice, message));
        let reply = http::exchange(req).await?;
        let event_id = serde_json::from_str::<Value>(&reply.body)
            .ok()
            .and_then(|v| v["event_id"].as_str().map(str::to_string));
        let mut delivered = http::classify_hinted(reply, hinted_wait)?;
        if let Some(event_id) = event_id {
            delivered.detail = format!("{} (event {event_id})", delivered.detail);
        }
        Ok(delivered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms() {
        assert!(is_room("!abc123:example.org"));
        assert!(is_room("!abcdefghijklmnop"));
        assert!(is_room("#ops:example.org"));
        assert!(!is_room("#ops"));
        assert!(!is_room("ops:example.org"));
        assert!(!is_room("!"));
        assert!(!is_room("#o ps:example.org"));
    }

    #[test]
    fn paths_encode_room_ids_and_aliases() {
        let base = Url::parse("https://matrix.example.org/").expect("url");
        assert_eq!(
            client_url(&base, &["directory", "room", "#ops:example.org"]).as_str(),
            "https://matrix.example.org/_matrix/client/v3/directory/room/%23ops:example.org"
        );
        let prefixed = Url::parse("https://example.org/matrix").expect("url");
        assert_eq!(
            client_url(&prefixed, &["rooms", "!a:b", "send"]).as_str(),
            "https://example.org/matrix/_matrix/client/v3/rooms/!a:b/send"
        );
    }
}
