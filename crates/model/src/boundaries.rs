//! Professional boundaries (issue 10): who may send a clinician a direct message.

use std::fmt;
use std::str::FromStr;

/// Who may open a direct conversation with an account. Following the AMA's guidance on
/// professional boundaries, a clinician (or their instance, as a default) can keep direct
/// messages to colleagues: verified clinicians and this instance's staff.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub enum DirectMessagesFrom {
    /// Anyone the other rules allow.
    #[default]
    Everyone,
    /// Verified clinicians (here or attested by another instance) and local staff only.
    Colleagues,
    /// Colleagues as for `Colleagues`; anyone else is routed to the instance's configured
    /// contact channels (a local sender is answered with them; a remote one's message is
    /// not delivered).
    Route,
}

/// A value other than `everyone` or `colleagues`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown direct_messages_from {0:?}; expected everyone, colleagues or route")]
pub struct DirectMessagesFromError(pub String);

impl DirectMessagesFrom {
    /// The stable name stored and accepted by the API and settings.
    pub fn as_str(self) -> &'static str {
        match self {
            DirectMessagesFrom::Everyone => "everyone",
            DirectMessagesFrom::Colleagues => "colleagues",
            DirectMessagesFrom::Route => "route",
        }
    }
}

impl fmt::Display for DirectMessagesFrom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DirectMessagesFrom {
    type Err = DirectMessagesFromError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "everyone" => Ok(DirectMessagesFrom::Everyone),
            "colleagues" => Ok(DirectMessagesFrom::Colleagues),
            "route" => Ok(DirectMessagesFrom::Route),
            other => Err(DirectMessagesFromError(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_is_rejected() {
        for v in [
            DirectMessagesFrom::Everyone,
            DirectMessagesFrom::Colleagues,
            DirectMessagesFrom::Route,
        ] {
            assert_eq!(v.as_str().parse::<DirectMessagesFrom>(), Ok(v));
        }
        assert!("nobody".parse::<DirectMessagesFrom>().is_err());
    }
}
