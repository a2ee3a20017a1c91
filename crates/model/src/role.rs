//! Account roles.

use std::fmt;
use std::str::FromStr;

/// What an account may do on its instance. Roles are about duties, not audiences: the
/// audience engine asks for facts such as "is a moderator", never for a role name.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Runs the instance: settings, verification, every moderation power.
    Admin,
    /// Handles reports and moderation actions.
    Moderator,
    /// A health professional. Their posts get the strictest PHI guard defaults.
    Clinician,
    /// Everyone else: patients, caregivers, supporters.
    Member,
}

/// A role name this server does not know.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown role {0:?}; expected admin, moderator, clinician or member")]
pub struct RoleError(pub String);

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [Role::Admin, Role::Moderator, Role::Clinician, Role::Member];

    /// The stable name stored in the database and accepted on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Moderator => "moderator",
            Role::Clinician => "clinician",
            Role::Member => "member",
        }
    }

    /// Whether the role carries moderation powers.
    pub fn can_moderate(self) -> bool {
        matches!(self, Role::Admin | Role::Moderator)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = RoleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| RoleError(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_is_rejected() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        assert!("root".parse::<Role>().is_err());
    }
}
