//! Names that can only exist once parsed: local usernames and instance domains.

use std::fmt;

/// Why a username or domain was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NameError {
    /// Usernames are 1 to 30 characters.
    #[error("username must be 1 to 30 characters long")]
    UsernameLength,
    /// Usernames use ASCII letters, digits and underscores, like Mastodon's, so that
    /// `@name@domain` is unambiguous in every client and WebFinger query.
    #[error("username may contain only letters, digits and underscores")]
    UsernameCharacters,
    /// A domain is a host name with an optional port.
    #[error("invalid domain {0:?}: expected a host name such as cohort.example or localhost:8080")]
    Domain(String),
}

/// A local account's username, as it appears in `@username@domain`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Username(String);

impl Username {
    /// Checks the characters and length. Case is kept for display; comparisons in storage
    /// are case-insensitive (see the `username_lower` columns).
    pub fn parse(raw: &str) -> Result<Self, NameError> {
        if raw.is_empty() || raw.chars().count() > 30 {
            return Err(NameError::UsernameLength);
        }
        if !raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(NameError::UsernameCharacters);
        }
        Ok(Username(raw.to_owned()))
    }

    /// The name as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An instance's domain: a lowercase host name, optionally with a port
/// (`alpha.localhost:18081` on a test network). IP literals are refused because
/// ActivityPub ids need a name (peers refuse IP-literal hosts).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Domain(String);

impl Domain {
    /// Lowercases and validates a host with an optional port.
    pub fn parse(raw: &str) -> Result<Self, NameError> {
        let lower = raw.trim().to_ascii_lowercase();
        let invalid = || NameError::Domain(raw.to_owned());
        let (host, port) = match lower.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (lower.as_str(), None),
        };
        if let Some(port) = port {
            match port.parse::<u16>() {
                Ok(p) if p > 0 => {}
                _ => return Err(invalid()),
            }
        }
        if host.is_empty() || host.len() > 253 || host.starts_with('.') || host.ends_with('.') {
            return Err(invalid());
        }
        let labels_ok = host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
        let all_numeric = host
            .split('.')
            .all(|l| l.chars().all(|c| c.is_ascii_digit()));
        if !labels_ok || all_numeric {
            return Err(invalid());
        }
        Ok(Domain(lower))
    }

    /// The domain with its port, as used in ids and `acct` strings.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The host without the port.
    pub fn host(&self) -> &str {
        self.0.rsplit_once(':').map_or(self.0.as_str(), |(h, _)| h)
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_mastodon_rules() {
        assert!(Username::parse("pat_01").is_ok());
        assert_eq!(Username::parse(""), Err(NameError::UsernameLength));
        assert_eq!(
            Username::parse(&"a".repeat(31)),
            Err(NameError::UsernameLength)
        );
        assert_eq!(Username::parse("pat.s"), Err(NameError::UsernameCharacters));
        assert_eq!(Username::parse("pät"), Err(NameError::UsernameCharacters));
    }

    #[test]
    fn domains_are_lowercased_and_may_carry_a_port() {
        let d = Domain::parse("Alpha.Localhost:18081").unwrap();
        assert_eq!(d.as_str(), "alpha.localhost:18081");
        assert_eq!(d.host(), "alpha.localhost");
        assert!(Domain::parse("localhost:8080").is_ok());
    }

    #[test]
    fn bad_domains_are_refused() {
        for bad in [
            "",
            "127.0.0.1",
            "a..b",
            "-a.example",
            "host:0",
            "host:99999",
            "ex ample.org",
            "x:",
        ] {
            assert!(Domain::parse(bad).is_err(), "{bad} should be refused");
        }
    }
}
