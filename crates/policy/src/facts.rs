//! What the engine knows about the world when it decides.
//!
//! The engine is pure: it never queries anything. Callers gather the facts a decision needs
//! into a [`FactSet`] (the store does it in a few bulk queries per timeline page or per post
//! to deliver) and ask. Tests build the same `FactSet` by hand. The [`Facts`] trait is the
//! engine's only window onto them, so a faster or lazier source can replace `FactSet`
//! without touching a rule.

use std::collections::{HashMap, HashSet};

use cohort_model::{Domain, Id, Visibility};

/// An account as the rules see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Party {
    /// The account's id.
    pub id: Id,
    /// `None` for accounts of this instance.
    pub domain: Option<Domain>,
    /// Suspended accounts neither see nor are seen.
    pub suspended: bool,
}

impl Party {
    /// An account of this instance.
    pub fn local(id: Id) -> Self {
        Party {
            id,
            domain: None,
            suspended: false,
        }
    }

    /// An account of another instance.
    pub fn remote(id: Id, domain: Domain) -> Self {
        Party {
            id,
            domain: Some(domain),
            suspended: false,
        }
    }

    /// Whether the account belongs to this instance.
    pub fn is_local(&self) -> bool {
        self.domain.is_none()
    }
}

/// Who is looking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Viewer {
    /// Nobody signed in, or an unsigned ActivityPub GET.
    Anonymous,
    /// A signed-in local account, or a remote account identified by its signature.
    Account(Party),
    /// Another instance, identified by its instance actor's signature (signed fetch).
    Instance(Domain),
}

/// Who a post is meant for: its visibility, and whether it may leave this instance.
///
/// `local_only` is separate from [`Visibility::Local`] because clients express it both ways:
/// Akkoma's `visibility: "local"` is public-on-this-instance, GoToSocial's `local_only: true`
/// can be combined with followers-only. `Visibility::Local` always implies `local_only`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Audience {
    /// The visibility.
    pub visibility: Visibility,
    /// Never delivered or shown off this instance.
    pub local_only: bool,
    /// The community a `Community` post belongs to (and a thread's community for others).
    pub community: Option<Id>,
}

impl Audience {
    /// An audience from a visibility, with `local_only` implied by `Local`.
    pub fn new(visibility: Visibility) -> Self {
        Audience {
            visibility,
            local_only: visibility == Visibility::Local,
            community: None,
        }
    }

    /// The same audience, restricted to this instance.
    pub fn local_only(mut self) -> Self {
        self.local_only = true;
        self
    }

    /// The same audience, in a community.
    pub fn in_community(mut self, community: Id) -> Self {
        self.community = Some(community);
        self
    }

    /// Whether anyone (subject to blocks) may read it: public or unlisted, on any instance.
    pub fn is_open(&self) -> bool {
        self.visibility.is_open() && !self.local_only
    }
}

/// A post as the rules see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostFacts {
    /// The post's id.
    pub id: Id,
    /// Its author.
    pub author: Party,
    /// Who it is meant for.
    pub audience: Audience,
    /// Accounts this post addresses: mentions of a local post; for a remote post, the local
    /// accounts its sender addressed (`to`/`cc` or Mention tags).
    pub addressed: Vec<Id>,
    /// Its parent, for replies whose parent is known. A reply's audience never exceeds its
    /// parent's, so every rule is checked against every known ancestor.
    pub parent: Option<Box<PostFacts>>,
    /// For a boost: the boosted post. A boost carries the original's audience.
    pub reblog_of: Option<Box<PostFacts>>,
    /// Deleted (or expired) posts are seen by nobody.
    pub deleted: bool,
    /// Held by the PHI guard: seen only by its author until released.
    pub held: bool,
}

impl PostFacts {
    /// A post with no parent, mentions or special state.
    pub fn new(id: Id, author: Party, audience: Audience) -> Self {
        PostFacts {
            id,
            author,
            audience,
            addressed: Vec::new(),
            parent: None,
            reblog_of: None,
            deleted: false,
            held: false,
        }
    }

    /// Whether the post was written on this instance.
    pub fn is_local(&self) -> bool {
        self.author.is_local()
    }
}

/// What this instance has decided about another instance.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DomainStanding {
    /// Federates normally.
    Allowed,
    /// Blocked with severity `silence`: content is hidden from public timelines but follows
    /// still work; deliveries to followers go through.
    Silenced,
    /// Blocked with severity `suspend` (or rejected): nothing in, nothing out.
    Suspended,
    /// The instance runs allowlist-only and this domain is not on the list.
    NotAllowlisted,
}

/// How this instance federates.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum FederationMode {
    /// Everyone but blocked domains.
    #[default]
    Open,
    /// Only listed domains.
    Allowlist,
}

/// What the rules need to know of a community.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CommunityFacts {
    /// If set, the community federates only with these instances.
    pub federates_with: Option<HashSet<Domain>>,
    /// The community is `local`: never federated.
    pub local_only: bool,
}

/// The engine's window onto the facts.
pub trait Facts {
    /// This instance's federation mode and the standing of `domain` under it.
    fn domain_standing(&self, domain: &Domain) -> DomainStanding;
    /// Whether `follower` follows `followed` (an accepted follow, not a pending request).
    fn follows(&self, follower: Id, followed: Id) -> bool;
    /// Whether either account blocks the other.
    fn blocked_either_way(&self, a: Id, b: Id) -> bool;
    /// Whether `account` has blocked the whole `domain` (a user-level domain block).
    fn account_blocks_domain(&self, account: Id, domain: &Domain) -> bool;
    /// Whether `account` is a current member (or moderator) of `community`.
    fn is_member(&self, community: Id, account: Id) -> bool;
    /// The current members of `community` whose accounts are on `domain`.
    fn members_on(&self, community: Id, domain: &Domain) -> Vec<Id>;
    /// The community's federation facts, if known.
    fn community(&self, community: Id) -> Option<&CommunityFacts>;
    /// Whether a moderator limited (silenced) `account`: its posts reach only its followers
    /// and the accounts they address.
    fn is_limited(&self, account: Id) -> bool;
    /// Whether `account` is a moderator or an admin of this instance (who see what a limit
    /// hides from others).
    fn is_moderator(&self, account: Id) -> bool;
}

/// A concrete, in-memory set of facts. The store fills one per decision batch; tests build
/// them by hand.
#[derive(Clone, Debug, Default)]
pub struct FactSet {
    /// Open or allowlist.
    pub mode: FederationMode,
    /// Domains on the allowlist (allowlist mode).
    pub allowed_domains: HashSet<Domain>,
    /// Blocked domains and whether the block is a suspension (true) or a silence (false).
    pub blocked_domains: HashMap<Domain, bool>,
    /// Accepted follows, (follower, followed).
    pub follows: HashSet<(Id, Id)>,
    /// Blocks, (blocker, blocked).
    pub blocks: HashSet<(Id, Id)>,
    /// User-level domain blocks, (account, domain).
    pub account_domain_blocks: HashSet<(Id, Domain)>,
    /// Current memberships, (community, account).
    pub memberships: HashSet<(Id, Id)>,
    /// Each community's current members, by the domain of their account (remote members).
    pub members_by_domain: HashMap<(Id, Domain), Vec<Id>>,
    /// Communities.
    pub communities: HashMap<Id, CommunityFacts>,
    /// Limited (silenced) accounts.
    pub limited: HashSet<Id>,
    /// Moderators and admins of this instance.
    pub moderators: HashSet<Id>,
}

impl FactSet {
    /// Records a current membership, keeping the per-domain index in step.
    pub fn add_member(&mut self, community: Id, member: &Party) {
        self.memberships.insert((community, member.id));
        if let Some(domain) = &member.domain {
            let members = self
                .members_by_domain
                .entry((community, domain.clone()))
                .or_default();
            if !members.contains(&member.id) {
                members.push(member.id);
            }
        }
    }
}

impl Facts for FactSet {
    fn domain_standing(&self, domain: &Domain) -> DomainStanding {
        match self.blocked_domains.get(domain) {
            Some(true) => return DomainStanding::Suspended,
            Some(false) => return DomainStanding::Silenced,
            None => {}
        }
        if self.mode == FederationMode::Allowlist && !self.allowed_domains.contains(domain) {
            return DomainStanding::NotAllowlisted;
        }
        DomainStanding::Allowed
    }

    fn follows(&self, follower: Id, followed: Id) -> bool {
        self.follows.contains(&(follower, followed))
    }

    fn blocked_either_way(&self, a: Id, b: Id) -> bool {
        self.blocks.contains(&(a, b)) || self.blocks.contains(&(b, a))
    }

    fn account_blocks_domain(&self, account: Id, domain: &Domain) -> bool {
        self.account_domain_blocks
            .contains(&(account, domain.clone()))
    }

    fn is_member(&self, community: Id, account: Id) -> bool {
        self.memberships.contains(&(community, account))
    }

    fn members_on(&self, community: Id, domain: &Domain) -> Vec<Id> {
        self.members_by_domain
            .get(&(community, domain.clone()))
            .cloned()
            .unwrap_or_default()
    }

    fn community(&self, community: Id) -> Option<&CommunityFacts> {
        self.communities.get(&community)
    }

    fn is_limited(&self, account: Id) -> bool {
        self.limited.contains(&account)
    }

    fn is_moderator(&self, account: Id) -> bool {
        self.moderators.contains(&account)
    }
}
