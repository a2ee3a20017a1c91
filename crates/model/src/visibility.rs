//! The audience model's visibilities (see `shared/DESIGN.md`, "Audience model").

use std::fmt;
use std::str::FromStr;

/// Who a post is meant for. Ordered from widest to narrowest where an order exists; the
/// audience engine (`cohort-policy`) is the only place that decides what each one allows.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Visibility {
    /// Everyone, listed on public timelines.
    Public,
    /// Everyone who has the link or follows the author; not on public timelines.
    Unlisted,
    /// The author's approved followers (Mastodon calls it "private").
    Followers,
    /// Only the accounts mentioned in the post.
    Direct,
    /// Members of one community only.
    Community,
    /// This instance only; never federated.
    Local,
}

/// A visibility name this server does not know.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown visibility {0:?}; expected public, unlisted, private, direct, community or local")]
pub struct VisibilityError(pub String);

impl Visibility {
    /// Every visibility, for exhaustive tests and listings.
    pub const ALL: [Visibility; 6] = [
        Visibility::Public,
        Visibility::Unlisted,
        Visibility::Followers,
        Visibility::Direct,
        Visibility::Community,
        Visibility::Local,
    ];

    /// The stable name stored in the database and used in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Unlisted => "unlisted",
            Visibility::Followers => "followers",
            Visibility::Direct => "direct",
            Visibility::Community => "community",
            Visibility::Local => "local",
        }
    }

    /// Whether anyone at all may read the post without being addressed (public and
    /// unlisted). Only such posts can be boosted.
    pub fn is_open(self) -> bool {
        matches!(self, Visibility::Public | Visibility::Unlisted)
    }
}

impl fmt::Display for Visibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Visibility {
    type Err = VisibilityError;

    /// Accepts the stored names and Mastodon's `private` for followers-only.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "public" => Ok(Visibility::Public),
            "unlisted" => Ok(Visibility::Unlisted),
            "followers" | "private" => Ok(Visibility::Followers),
            "direct" => Ok(Visibility::Direct),
            "community" => Ok(Visibility::Community),
            "local" => Ok(Visibility::Local),
            other => Err(VisibilityError(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_round_trip() {
        for v in Visibility::ALL {
            assert_eq!(v.as_str().parse::<Visibility>(), Ok(v));
        }
    }

    #[test]
    fn mastodon_private_means_followers() {
        assert_eq!("private".parse::<Visibility>(), Ok(Visibility::Followers));
    }

    #[test]
    fn unknown_names_are_rejected_with_the_name() {
        let err = "secret".parse::<Visibility>().unwrap_err();
        assert!(err.to_string().contains("secret"));
    }
}
