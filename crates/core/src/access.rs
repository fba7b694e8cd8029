//! Who may do what: the roles (viewer < responder < admin) and the rules for user names,
//! token names and passwords. Pure values and checks; hashing, storage and sessions live
//! in the store and web crates.

use crate::text::Text;
use crate::tr;
use serde::Serialize;

/// What someone signed in (or holding an API token) may do. Roles are ordered: each one
/// may do everything the roles below it may.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads private data: services, checks, alerts, on-call, maintenance.
    Viewer,
    /// Acts on incidents: acknowledges and resolves alerts, creates and ends
    /// maintenance windows.
    Responder,
    /// Everything: configuration reloads, the outbox, the audit log.
    Admin,
}

impl Role {
    /// Every role, lowest first.
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Responder, Role::Admin];

    /// The stored and typed name (`viewer`, `responder`, `admin`).
    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Responder => "responder",
            Role::Admin => "admin",
        }
    }

    /// The role with this name (case-insensitive).
    pub fn from_name(name: &str) -> Option<Role> {
        Role::ALL
            .into_iter()
            .find(|r| r.name().eq_ignore_ascii_case(name.trim()))
    }

    /// The role's name for people, in both languages.
    pub fn label(self) -> Text {
        match self {
            Role::Viewer => Text::new("viewer", "kijker"),
            Role::Responder => Text::new("responder", "hulpverlener"),
            Role::Admin => Text::new("admin", "beheerder"),
        }
    }
}

/// Fewest characters a password may have.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Most bytes a password may have (hashing cost grows with it; nobody types more).
pub const MAX_PASSWORD_BYTES: usize = 1_024;
/// Most characters a user or token name may have.
pub const MAX_NAME_CHARS: usize = 64;

/// Checks a user name and returns it in its stored form (lowercase): letters, digits and
/// `. _ - @`, 1 to 64 characters, starting with a letter or digit.
pub fn user_name(name: &str) -> Result<String, Text> {
    identifier(name, tr!("user name", "gebruikersnaam"))
}

/// Checks an API token name (same rules as a user name) and returns its stored form.
pub fn token_name(name: &str) -> Result<String, Text> {
    identifier(name, tr!("token name", "tokennaam"))
}

fn identifier(name: &str, what: Text) -> Result<String, Text> {
    let (en, nl) = (&what.en, &what.nl);
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err(tr!("the {en} is empty", "de {nl} is leeg"));
    }
    let chars = trimmed.chars().count();
    if chars > MAX_NAME_CHARS {
        return Err(tr!(
            "the {en} is {chars} characters long; at most {MAX_NAME_CHARS} are allowed",
            "de {nl} is {chars} tekens lang; er mogen er hoogstens {MAX_NAME_CHARS} zijn"
        ));
    }
    if let Some(bad) = trimmed
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@')))
    {
        return Err(tr!(
            "the {en} `{trimmed}` holds `{bad}`; use letters, digits and . _ - @ only",
            "de {nl} `{trimmed}` bevat `{bad}`; gebruik alleen letters, cijfers en . _ - @"
        ));
    }
    if !trimmed.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(tr!(
            "the {en} `{trimmed}` must start with a letter or digit",
            "de {nl} `{trimmed}` moet met een letter of cijfer beginnen"
        ));
    }
    Ok(trimmed.to_ascii_lowercase())
}

/// Checks a new password: at least [`MIN_PASSWORD_CHARS`] characters, at most
/// [`MAX_PASSWORD_BYTES`] bytes, not only spaces, and not the user's own name.
pub fn new_password(password: &str, user: &str) -> Result<(), Text> {
    let chars = password.chars().count();
    if password.trim().is_empty() {
        return Err(tr!("the password is empty", "het wachtwoord is leeg"));
    }
    if chars < MIN_PASSWORD_CHARS {
        return Err(tr!(
            "the password has {chars} characters; it needs at least {MIN_PASSWORD_CHARS}",
            "het wachtwoord heeft {chars} tekens; er zijn er minstens {MIN_PASSWORD_CHARS} nodig"
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(tr!(
            "the password is longer than {MAX_PASSWORD_BYTES} bytes",
            "het wachtwoord is langer dan {MAX_PASSWORD_BYTES} bytes"
        ));
    }
    if password.trim().eq_ignore_ascii_case(user.trim()) {
        return Err(tr!(
            "the password must not be the user name",
            "het wachtwoord mag niet de gebruikersnaam zijn"
        ));
    }
    Ok(())
}
