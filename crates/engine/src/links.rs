//! Signed links: the acknowledge links in pages and the unsubscribe links in status
//! page subscribers' messages. Both are an HMAC-SHA256 over what the link names, made
//! with the link secret, so they need nothing stored and cannot be guessed or altered.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// How long an acknowledge link works.
pub const ACK_LINK_LIFETIME_MS: i64 = 7 * 86_400_000;

/// Why an acknowledge token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AckTokenError {
    /// Not a token we made (or altered).
    #[error("this link is not valid")]
    Invalid,
    /// Too old.
    #[error("this link has expired")]
    Expired,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn mac(secret: &[u8], payload: &str) -> Vec<u8> {
    #[allow(clippy::expect_used)]
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(payload.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Makes a token `<alert>.<who>.<expires>.<mac>` (ids are URL-safe by construction).
pub fn sign_ack(secret: &[u8], alert: &str, who: &str, expires_ms: i64) -> String {
    let who = who.replace(':', "~");
    let payload = format!("{alert}.{who}.{expires_ms}");
    format!("{payload}.{}", hex(&mac(secret, &payload)))
}

/// Checks a token made by [`sign_ack`] at `now_ms`.
pub fn verify_ack(
    secret: &[u8],
    token: &str,
    now_ms: i64,
) -> Result<(String, String), AckTokenError> {
    let (payload, signature) = token.rsplit_once('.').ok_or(AckTokenError::Invalid)?;
    let expected = hex(&mac(secret, payload));
    if !continuo_core::hash::same_secret(expected.as_bytes(), signature.as_bytes()) {
        return Err(AckTokenError::Invalid);
    }
    let mut parts = payload.rsplitn(3, '.');
    let expires: i64 = parts
        .next()
        .and_then(|e| e.parse().ok())
        .ok_or(AckTokenError::Invalid)?;
    let who = parts
        .next()
        .ok_or(AckTokenError::Invalid)?
        .replace('~', ":");
    let alert = parts.next().ok_or(AckTokenError::Invalid)?.to_string();
    if now_ms > expires {
        return Err(AckTokenError::Expired);
    }
    Ok((alert, who))
}

/// `<id>.<hex HMAC-SHA256(secret, "unsubscribe.<id>")>`.
pub fn unsubscribe_token(secret: &[u8], subscriber: &str) -> String {
    let mac = mac(secret, &format!("unsubscribe.{subscriber}"));
    format!("{subscriber}.{}", hex(&mac))
}

/// The subscriber of a token made by [`unsubscribe_token`] with the same secret.
pub fn verify_unsubscribe(secret: &[u8], token: &str) -> Option<String> {
    let (id, _) = token.rsplit_once('.')?;
    let expected = unsubscribe_token(secret, id);
    continuo_core::hash::same_secret(expected.as_bytes(), token.as_bytes()).then(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ack_tokens_verify_expire_and_resist_tampering() {
        let secret = b"s3cret";
        let token = sign_ack(secret, "db-1000", "channel:ops", 5_000);
        assert_eq!(
            verify_ack(secret, &token, 4_000),
            Ok(("db-1000".into(), "channel:ops".into()))
        );
        assert_eq!(
            verify_ack(secret, &token, 5_001),
            Err(AckTokenError::Expired)
        );
        assert_eq!(
            verify_ack(b"other", &token, 4_000),
            Err(AckTokenError::Invalid)
        );
        let tampered = token.replace("5000", "9000");
        assert_eq!(
            verify_ack(secret, &tampered, 4_000),
            Err(AckTokenError::Invalid)
        );
        assert_eq!(
            verify_ack(secret, "garbage", 0),
            Err(AckTokenError::Invalid)
        );
    }

    #[test]
    fn unsubscribe_tokens_verify_and_resist_tampering() {
        let token = unsubscribe_token(b"s3cret", "abc123");
        assert_eq!(verify_unsubscribe(b"s3cret", &token), Some("abc123".into()));
        assert_eq!(verify_unsubscribe(b"other", &token), None);
        let forged = token.replacen("abc123", "abc124", 1);
        assert_eq!(verify_unsubscribe(b"s3cret", &forged), None);
        assert_eq!(verify_unsubscribe(b"s3cret", "garbage"), None);
    }
}
