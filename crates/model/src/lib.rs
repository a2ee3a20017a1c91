//! Cohort's domain types.
//!
//! Everything the other crates agree on lives here: time-ordered ids, the audience model's
//! [`Visibility`], account [`Role`]s, and names that can only exist once parsed
//! ([`Username`], [`Domain`]). This crate does no IO and knows no wire format: the Mastodon
//! spelling of a visibility belongs to `cohort-api`, the ActivityStreams addressing to
//! `cohort-federation`. Keeping it that way lets every crate depend on it cheaply.

mod author_kind;
mod boundaries;
mod community;
mod id;
mod names;
mod role;
mod visibility;

pub use author_kind::{AuthorKind, AuthorKindError};
pub use boundaries::{DirectMessagesFrom, DirectMessagesFromError};
pub use community::{CommunityRole, CommunitySettingError, CommunityVisibility, Membership};
pub use id::{Id, IdError, SnowflakeClock};
pub use names::{Domain, NameError, Username};
pub use role::{Role, RoleError};
pub use visibility::{Visibility, VisibilityError};
