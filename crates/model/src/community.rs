//! A community's settings: who may join ([`Membership`]), who may see it
//! ([`CommunityVisibility`]) and the part a member plays ([`CommunityRole`]).

use std::fmt;
use std::str::FromStr;

/// A community setting name this server does not know.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown {setting} {value:?}; expected {expected}")]
pub struct CommunitySettingError {
    /// Which setting.
    pub setting: &'static str,
    /// What was given.
    pub value: String,
    /// The accepted names.
    pub expected: &'static str,
}

/// Declares a closed set of named values with `as_str`, `Display` and `FromStr`, the three
/// things the store (column values) and the API (wire names) need.
macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident, $setting:literal, $expected:literal,
     { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable name, stored and sent on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = CommunitySettingError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| CommunitySettingError {
                        setting: $setting,
                        value: s.to_owned(),
                        expected: $expected,
                    })
            }
        }
    };
}

named_enum!(
    /// How people become members.
    Membership, "membership", "open, approval or invite", {
        /// Anyone may join at once (following the Group is joining).
        Open => "open",
        /// Moderators approve each join request (`manuallyApprovesFollowers`).
        Approval => "approval",
        /// Only with an invite code.
        Invite => "invite",
    }
);

named_enum!(
    /// Who may see a community and its threads.
    CommunityVisibility, "visibility", "public, unlisted, members or local", {
        /// Listed in the directory; threads are public.
        Public => "public",
        /// Not listed; threads are public but not in public timelines.
        Unlisted => "unlisted",
        /// Threads are for members only, authorised per member, never per instance.
        Members => "members",
        /// This instance only: never federated.
        Local => "local",
    }
);

named_enum!(
    /// The part a member plays in a community.
    CommunityRole, "community role", "member, moderator or owner", {
        /// Posts and reads.
        Member => "member",
        /// Also approves requests, removes posts, bans.
        Moderator => "moderator",
        /// Also manages moderators and settings.
        Owner => "owner",
    }
);

impl Membership {
    /// Whether joining needs a moderator's approval or an invite (the Group is `locked`).
    pub fn is_gated(self) -> bool {
        self != Membership::Open
    }
}

impl CommunityVisibility {
    /// Whether the community is listed in the directory and searchable by non-members.
    pub fn is_discoverable(self) -> bool {
        matches!(
            self,
            CommunityVisibility::Public | CommunityVisibility::Members
        )
    }

    /// Whether threads are for members only.
    pub fn is_members_only(self) -> bool {
        self == CommunityVisibility::Members
    }
}

impl CommunityRole {
    /// Whether the role carries the community's moderation powers.
    pub fn can_moderate(self) -> bool {
        matches!(self, CommunityRole::Moderator | CommunityRole::Owner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for m in Membership::ALL {
            assert_eq!(m.as_str().parse::<Membership>(), Ok(*m));
        }
        for v in CommunityVisibility::ALL {
            assert_eq!(v.as_str().parse::<CommunityVisibility>(), Ok(*v));
        }
        for r in CommunityRole::ALL {
            assert_eq!(r.as_str().parse::<CommunityRole>(), Ok(*r));
        }
    }

    #[test]
    fn unknown_names_say_what_is_accepted() {
        let err = "secret".parse::<CommunityVisibility>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown visibility \"secret\"; expected public, unlisted, members or local"
        );
    }

    #[test]
    fn only_open_membership_is_ungated() {
        assert!(!Membership::Open.is_gated());
        assert!(Membership::Approval.is_gated());
        assert!(Membership::Invite.is_gated());
    }
}
