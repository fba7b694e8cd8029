//! Secrets and their hashes: argon2id password hashes (PHC strings), API tokens
//! (random 256-bit secrets kept as SHA-256), session ids, and the CSRF token derived
//! from a session. Shared by the web layer and the `continuo user` / `token` commands.
//!
//! **Invariant:** nothing here stores or logs a secret; callers keep only the hashes.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use sha2::{Digest, Sha256};

/// What can go wrong making a credential.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// The operating system gave no random bytes.
    #[error("the system's random number generator failed: {0}")]
    Random(String),
    /// Argon2 refused (it does not for passwords within the length limit).
    #[error("hashing the password failed: {0}")]
    Hash(String),
}

/// `n` random bytes from the operating system, as lowercase hex.
pub fn random_hex(n: usize) -> Result<String, CredentialError> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(|e| CredentialError::Random(e.to_string()))?;
    Ok(hex(&bytes))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// SHA-256 of `data`, lowercase hex.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// An argon2id hash (PHC string, `$argon2id$v=19$...`) of `password` with a random salt
/// and the library's recommended cost.
pub fn hash_password(password: &str) -> Result<String, CredentialError> {
    let hash: PasswordHash = Argon2::default()
        .hash_password(password.as_bytes())
        .map_err(|e| CredentialError::Hash(e.to_string()))?;
    Ok(hash.to_string())
}

/// Whether `password` matches the PHC string `stored` (parameters are read from it, so
/// hashes made with older costs keep working). A malformed `stored` matches nothing.
pub fn verify_password(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash nobody's password matches, verified against when a user does not exist, so
/// that a wrong user name takes as long as a wrong password.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        hash_password("decoy password that no user has")
            .unwrap_or_else(|_| "$argon2id$v=19$m=19456,t=2,p=1$invalid".into())
    })
}

/// Prefix of every API token, so secret scanners and people recognise one.
pub const TOKEN_PREFIX: &str = "continuo_";

/// A new API token: what to show once, and what to keep.
#[derive(Debug)]
pub struct NewToken {
    /// Public id (16 hex digits), stored and listed.
    pub id: String,
    /// The whole token, `continuo_<id>_<secret>`: shown once, never stored.
    pub token: String,
    /// SHA-256 of the secret part, hex: stored.
    pub secret_hash: String,
}

/// Makes an API token with a 256-bit random secret.
pub fn new_api_token() -> Result<NewToken, CredentialError> {
    let id = random_hex(8)?;
    let secret = random_hex(32)?;
    Ok(NewToken {
        token: format!("{TOKEN_PREFIX}{id}_{secret}"),
        secret_hash: sha256_hex(secret.as_bytes()),
        id,
    })
}

/// Splits a presented API token into its id and secret, if it has the right shape.
pub fn split_api_token(token: &str) -> Option<(&str, &str)> {
    let rest = token.strip_prefix(TOKEN_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hex(id, 16) && hex(secret, 64)).then_some((id, secret))
}

/// Whether a presented secret matches a stored SHA-256 hash, compared in constant time.
pub fn secret_matches(secret: &str, stored_hash: &str) -> bool {
    continuo_core::hash::same_secret(
        sha256_hex(secret.as_bytes()).as_bytes(),
        stored_hash.as_bytes(),
    )
}

/// The CSRF token of a session: derived from the session cookie, so it is tied to the
/// session, needs no storage, and reveals nothing about the cookie.
pub fn csrf_token(session_cookie: &str) -> String {
    sha256_hex(format!("continuo-csrf\0{session_cookie}").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_themselves() {
        let stored = hash_password("correct horse battery").expect("hash");
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert!(verify_password("correct horse battery", &stored));
        assert!(!verify_password("correct horse batterY", &stored));
        assert!(!verify_password("correct horse battery", "not a hash"));
        assert!(!verify_password("decoy", decoy_hash()));
        // Salted: the same password hashes differently each time.
        assert_ne!(
            stored,
            hash_password("correct horse battery").expect("hash")
        );
    }

    #[test]
    fn api_tokens_split_and_match() {
        let made = new_api_token().expect("token");
        let (id, secret) = split_api_token(&made.token).expect("shape");
        assert_eq!(id, made.id);
        assert_eq!(secret.len(), 64, "256 bits in hex");
        assert!(secret_matches(secret, &made.secret_hash));
        assert!(
            !secret_matches(&secret.replace('a', "b"), &made.secret_hash) || !secret.contains('a')
        );
        for bad in [
            "",
            "continuo_",
            "continuo_abc_def",
            &made.token[..made.token.len() - 1],
            &made.token.replace(TOKEN_PREFIX, "other_"),
        ] {
            assert_eq!(split_api_token(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn csrf_tokens_differ_per_session() {
        assert_eq!(csrf_token("a"), csrf_token("a"));
        assert_ne!(csrf_token("a"), csrf_token("b"));
        assert_eq!(csrf_token("a").len(), 64);
    }
}
