//! What kind of person or body writes a post, as far as privacy rules care.

use std::fmt;
use std::str::FromStr;

/// The kind of author. Independent of [`crate::Role`] (duties on the instance): a moderator
/// may be a patient, an admin may be a clinician. The PHI guard and the urgent-question
/// router pick their defaults by it (a clinician's post about a patient is held; a
/// caregiver's is warned about).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum AuthorKind {
    /// A health professional writing in that capacity.
    Clinician,
    /// A person writing about their own health.
    Patient,
    /// A relative or carer writing about someone they look after.
    Caregiver,
    /// A hospital, clinic, charity or other institution's account.
    Organization,
}

/// An author kind name this server does not know.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown author kind {0:?}; expected clinician, patient, caregiver or organization")]
pub struct AuthorKindError(pub String);

impl AuthorKind {
    /// Every kind.
    pub const ALL: [AuthorKind; 4] = [
        AuthorKind::Clinician,
        AuthorKind::Patient,
        AuthorKind::Caregiver,
        AuthorKind::Organization,
    ];

    /// The stable name used in storage, configuration and the evaluation corpora.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthorKind::Clinician => "clinician",
            AuthorKind::Patient => "patient",
            AuthorKind::Caregiver => "caregiver",
            AuthorKind::Organization => "organization",
        }
    }
}

impl fmt::Display for AuthorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AuthorKind {
    type Err = AuthorKindError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AuthorKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| AuthorKindError(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_is_rejected() {
        for k in AuthorKind::ALL {
            assert_eq!(k.as_str().parse::<AuthorKind>(), Ok(k));
        }
        assert!("robot".parse::<AuthorKind>().is_err());
    }
}
