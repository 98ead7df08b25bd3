//! Accounts: who may log in, in which role, and what counts as a valid
//! email, password and name at registration.

use serde::{Deserialize, Serialize};

use crate::Invalid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Customer,
    Organizer,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Organizer => "organizer",
            Role::Admin => "admin",
        }
    }
}

/// The public face of an account (never carries the password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
}

/// Lower-cases and checks an email address. Deliberately simple: one `@`,
/// a dot in the domain, no spaces; the real check is the mail arriving.
pub fn normalize_email(raw: &str) -> Result<String, Invalid> {
    let email = raw.trim().to_ascii_lowercase();
    let bad = || Invalid::new("email", "is not a valid email address");
    if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let (local, domain) = email.split_once('@').ok_or_else(bad)?;
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !domain.contains("..");
    if local.is_empty() || local.len() > 64 || !domain_ok {
        return Err(bad());
    }
    Ok(email)
}

/// How long a password reset link works (and its email is worth sending).
pub const RESET_LINK_SECS: i64 = 30 * 60;

pub const MIN_PASSWORD_CHARS: usize = 8;
/// Argon2 work grows with input; cap it so a login cannot be made costly.
pub const MAX_PASSWORD_BYTES: usize = 128;

pub fn validate_password(password: &str, email: &str) -> Result<(), Invalid> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Invalid::new("password", "must be at least 8 characters"));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(Invalid::new("password", "must be at most 128 bytes"));
    }
    if password.eq_ignore_ascii_case(email)
        || password
            .chars()
            .all(|c| c == password.chars().next().unwrap_or(' '))
    {
        return Err(Invalid::new("password", "is too easy to guess"));
    }
    Ok(())
}

pub fn normalize_name(raw: &str) -> Result<String, Invalid> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(Invalid::new(
            "name",
            "must be 1 to 100 printable characters",
        ));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lowercased_and_checked() {
        assert_eq!(
            normalize_email(" User1@Example.COM ").as_deref(),
            Ok("user1@example.com")
        );
        for bad in [
            "",
            "nobody",
            "a@b",
            "a@.com",
            "a b@c.com",
            "@c.com",
            "a@c..com",
            "a@b@c.com",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn weak_passwords_are_refused() {
        assert!(validate_password("short", "a@b.co").is_err());
        assert!(validate_password("aaaaaaaaaaaa", "a@b.co").is_err());
        assert!(validate_password("a@b.co.uk", "a@b.co.uk").is_err());
        assert!(validate_password(&"x".repeat(64).replace('x', "xy"), "a@b.co").is_ok());
        assert!(validate_password(&"xy".repeat(65), "a@b.co").is_err());
        assert!(validate_password("evently-demo", "user1@example.com").is_ok());
    }
}
