//! The names of the rules, as recorded in the decision log and shown to authors.

use std::fmt;

/// The rule that decided. The names are stable: they are stored in the decision log and
/// shown by `GET /api/v1/statuses/:id/audience`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    // Rules that allow.
    /// The author always sees their own post (unless it was deleted).
    AuthorSeesOwn,
    /// Public and unlisted posts are for everyone not otherwise excluded.
    OpenAudience,
    /// A local-only post, seen by an account of this instance.
    LocalViewer,
    /// Followers-only post, seen by an accepted follower.
    Follower,
    /// The post addresses (mentions) the viewer.
    Addressed,
    /// The viewer wrote the post this one replies to: a reply reaches the author it answers
    /// (who is inside the parent's audience by definition, so the thread is not widened).
    RepliedTo,
    /// Community post, seen by a current member.
    CommunityMember,
    /// Community post fetched by an instance that hosts a current member.
    InstanceOfMember,
    /// A deletion goes to every inbox that received the post.
    RetractionReachesRecipients,
    /// Relationship activities (follow, accept, block...) go to the one actor concerned.
    RelationshipCounterpart,

    // Rules that deny.
    /// Deleted or expired.
    Deleted,
    /// Held by the PHI guard until the author reviews it.
    HeldForReview,
    /// The author is suspended.
    AuthorSuspended,
    /// The author is limited (silenced), or on an instance this one silenced, and the viewer
    /// is not among those it still reaches (itself, its followers, the accounts its post
    /// addresses or answers, moderators).
    AuthorLimited,
    /// The viewer or recipient is suspended.
    ViewerSuspended,
    /// The viewer's or the author's instance is suspended by this instance.
    DomainBlocked,
    /// This instance runs allowlist-only and the domain is not listed.
    NotAllowlisted,
    /// One of the two accounts blocks the other.
    Blocked,
    /// One of the two accounts blocks the other's whole domain.
    AccountDomainBlock,
    /// Local-only posts never leave this instance.
    LocalNeverLeaves,
    /// The community federates only with listed instances.
    CommunityFederationRestricted,
    /// Followers-only post and the viewer does not follow the author.
    NotAFollower,
    /// A mention does not widen a restricted local post to the mentioned account.
    MentionDoesNotWiden,
    /// Direct post that does not address the viewer.
    NotAddressed,
    /// Community post and the viewer is not a member.
    NotACommunityMember,
    /// The viewer is outside the audience of an ancestor of this reply.
    ReplyExceedsParent,
    /// A boost of a post the viewer may not see.
    BoostOfHiddenPost,
}

impl Rule {
    /// Whether the rule allows.
    pub fn allows(self) -> bool {
        matches!(
            self,
            Rule::AuthorSeesOwn
                | Rule::OpenAudience
                | Rule::LocalViewer
                | Rule::Follower
                | Rule::Addressed
                | Rule::RepliedTo
                | Rule::CommunityMember
                | Rule::InstanceOfMember
                | Rule::RetractionReachesRecipients
                | Rule::RelationshipCounterpart
        )
    }

    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::AuthorSeesOwn => "author_sees_own",
            Rule::OpenAudience => "open_audience",
            Rule::LocalViewer => "local_viewer",
            Rule::Follower => "follower",
            Rule::Addressed => "addressed",
            Rule::RepliedTo => "replied_to",
            Rule::CommunityMember => "community_member",
            Rule::InstanceOfMember => "instance_of_member",
            Rule::RetractionReachesRecipients => "retraction_reaches_recipients",
            Rule::RelationshipCounterpart => "relationship_counterpart",
            Rule::Deleted => "deleted",
            Rule::HeldForReview => "held_for_review",
            Rule::AuthorSuspended => "author_suspended",
            Rule::AuthorLimited => "author_limited",
            Rule::ViewerSuspended => "viewer_suspended",
            Rule::DomainBlocked => "domain_blocked",
            Rule::NotAllowlisted => "not_allowlisted",
            Rule::Blocked => "blocked",
            Rule::AccountDomainBlock => "account_domain_block",
            Rule::LocalNeverLeaves => "local_never_leaves",
            Rule::CommunityFederationRestricted => "community_federation_restricted",
            Rule::NotAFollower => "not_a_follower",
            Rule::MentionDoesNotWiden => "mention_does_not_widen",
            Rule::NotAddressed => "not_addressed",
            Rule::NotACommunityMember => "not_a_community_member",
            Rule::ReplyExceedsParent => "reply_exceeds_parent",
            Rule::BoostOfHiddenPost => "boost_of_hidden_post",
        }
    }

    /// Every rule, for exhaustive tests and documentation.
    pub const ALL: [Rule; 27] = [
        Rule::AuthorSeesOwn,
        Rule::OpenAudience,
        Rule::LocalViewer,
        Rule::Follower,
        Rule::Addressed,
        Rule::RepliedTo,
        Rule::CommunityMember,
        Rule::InstanceOfMember,
        Rule::RetractionReachesRecipients,
        Rule::RelationshipCounterpart,
        Rule::Deleted,
        Rule::HeldForReview,
        Rule::AuthorSuspended,
        Rule::AuthorLimited,
        Rule::ViewerSuspended,
        Rule::DomainBlocked,
        Rule::NotAllowlisted,
        Rule::Blocked,
        Rule::AccountDomainBlock,
        Rule::LocalNeverLeaves,
        Rule::CommunityFederationRestricted,
        Rule::NotAFollower,
        Rule::MentionDoesNotWiden,
        Rule::NotAddressed,
        Rule::NotACommunityMember,
        Rule::ReplyExceedsParent,
        Rule::BoostOfHiddenPost,
    ];

    /// Parses a stored name.
    pub fn from_name(name: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_names_are_unique_and_round_trip() {
        let mut names: Vec<_> = Rule::ALL.iter().map(|r| r.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Rule::ALL.len());
        for r in Rule::ALL {
            assert_eq!(Rule::from_name(r.as_str()), Some(r));
        }
    }
}
