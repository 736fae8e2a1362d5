//! Email addresses as this service handles them: parsed once at the edge, compared
//! case-insensitively on the domain (RFC 5321 §2.4 leaves the local part case-sensitive,
//! but no mail provider we know treats it so; we keep it as given and compare lowercase).
//! An address is accepted only if the mailer can address a message to it, so nothing is
//! written for an address no link could ever reach.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

/// The address is refused; it is the caller's input and is not repeated back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an email address mail can be delivered to")]
pub struct InvalidEmail;

impl Email {
    pub fn parse(value: &str) -> Result<Self, InvalidEmail> {
        let bad = || InvalidEmail;
        let value = value.trim();
        if value.len() > 254
            || value
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
        {
            return Err(bad());
        }
        let (local, domain) = value.rsplit_once('@').ok_or_else(bad)?;
        let domain_ok = !domain.is_empty()
            && domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            });
        if local.is_empty() || local.len() > 64 || local.contains('@') || !domain_ok {
            return Err(bad());
        }
        let address = format!("{local}@{}", domain.to_lowercase());
        if !deliverable(&address) {
            return Err(bad());
        }
        Ok(Self(address))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form used to compare and index addresses.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

/// What the mailer will do with it: lettre's address rules (the envelope) and its RFC 5322
/// mailbox parser (the `To:` header) must both take it whole, as a bare address.
fn deliverable(address: &str) -> bool {
    let envelope = address.parse::<lettre::Address>();
    let header = address.parse::<lettre::message::Mailbox>();
    match (envelope, header) {
        (Ok(envelope), Ok(mailbox)) => mailbox.name.is_none() && mailbox.email == envelope,
        _ => false,
    }
}

impl PartialEq for Email {
    fn eq(&self, other: &Self) -> bool {
        self.normalized() == other.normalized()
    }
}

impl Eq for Email {}

impl TryFrom<String> for Email {
    type Error = InvalidEmail;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(email: Email) -> Self {
        email.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses_and_lowercases_the_domain() {
        for good in [
            "a@example.com",
            "o'brien@example.ie",
            "x_y-z!#$%&*=?^`{|}~@sub.example.org",
        ] {
            Email::parse(good).expect(good);
        }
        let email = Email::parse(" Ada.Lovelace+agents@Example.COM ").expect("valid");
        assert_eq!(email.as_str(), "Ada.Lovelace+agents@example.com");
        assert_eq!(email, Email::parse("ada.lovelace+agents@example.com").expect("valid"));
    }

    #[test]
    fn rejects_what_is_not_an_address() {
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@localhost",
            "a b@example.com",
            "a@exa mple.com",
            "a@-example.com",
            "a@example..com",
            "<a@example.com>",
            "a@example.com\r\nBcc: x@y.z",
            // Refused by the mailer before: the agent got 503 and retried forever.
            "quo\"te@example.com",
            "a..b@example.com",
            "a;b@example.com",
            ".a@example.com",
            "a.@example.com",
            "a,b@example.com",
            "a(b)@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }
}
