//! Rules for writing: what audience a new post, reply or boost gets, and what may not be
//! written at all. The API calls these before storing anything, so a refused post leaves no
//! trace.

use cohort_model::{DirectMessagesFrom, Id, Visibility};

use crate::facts::{Audience, Facts, Party, PostFacts, Viewer};
use crate::read_gate::{blocks_deny_in_both_directions, decide_view};
use crate::rule::Rule;

/// Why a post, reply or boost cannot be written. Each maps to a 4xx in the API.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ComposeError {
    /// The parent of a reply is not visible to its would-be author.
    #[error("the post being replied to does not exist or is not visible to you")]
    ParentNotVisible,
    /// A mentioned account is blocked by, or blocks, the author.
    #[error("cannot mention an account you block or that blocks you")]
    MentionBlocked(Id),
    /// Community posts need a current membership.
    #[error("you are not a member of this community")]
    NotACommunityMember,
    /// `community` visibility without a community.
    #[error("a community post must name its community")]
    CommunityMissing,
    /// Only public and unlisted posts can be boosted.
    #[error("only public and unlisted posts can be boosted")]
    NotBoostable,
    /// The post to boost is not visible to the booster.
    #[error("the post to boost does not exist or is not visible to you")]
    BoostTargetNotVisible,
    /// A direct message to a clinician who accepts them from colleagues only.
    #[error(
        "this clinician accepts direct messages from colleagues only; please use the contact routes of their institution"
    )]
    OutsideProfessionalBoundary(Id),
    /// A direct message to a clinician who routes non-colleagues to the institution's
    /// contact channels (the API answers with the configured routes).
    #[error(
        "this clinician does not take direct messages from patients here; please use the contact routes of their institution"
    )]
    RoutedToContactChannel(Id),
}

/// Visibilities from widest to narrowest, for narrowing replies.
fn breadth(v: Visibility) -> u8 {
    match v {
        Visibility::Public => 0,
        Visibility::Unlisted => 1,
        Visibility::Local => 2,
        Visibility::Followers => 3,
        Visibility::Community => 3,
        Visibility::Direct => 4,
    }
}

/// Rule: a reply's audience never exceeds its parent's. The requested audience is narrowed
/// to the parent's: never wider visibility, local-only if the parent is, in the parent's
/// community if it has one.
pub fn audience_for_reply(requested: Audience, parent: &PostFacts) -> Audience {
    let parent_audience = parent.audience;
    let mut audience = requested;
    if parent_audience.visibility == Visibility::Community {
        if requested.visibility != Visibility::Direct {
            audience.visibility = Visibility::Community;
        }
    } else if breadth(parent_audience.visibility) > breadth(requested.visibility)
        // Equally narrow but different (followers vs community): neither contains the
        // other, so the parent's wins.
        || (breadth(parent_audience.visibility) == breadth(requested.visibility)
            && parent_audience.visibility != requested.visibility)
        || (parent_audience.visibility == Visibility::Local
            && matches!(
                requested.visibility,
                Visibility::Public | Visibility::Unlisted
            ))
    {
        audience.visibility = parent_audience.visibility;
    }
    audience.local_only |= parent_audience.local_only;
    if parent_audience.community.is_some() {
        audience.community = parent_audience.community;
    }
    audience
}

/// The checks a new post passes before it is stored, returning the audience it gets.
pub fn check_new_post(
    facts: &dyn Facts,
    author: &Party,
    requested: Audience,
    parent: Option<&PostFacts>,
    mentions: &[Party],
) -> Result<Audience, ComposeError> {
    let viewer = Viewer::Account(author.clone());
    let audience = match parent {
        Some(parent) => {
            if !decide_view(facts, &viewer, parent).allows() {
                return Err(ComposeError::ParentNotVisible);
            }
            audience_for_reply(requested, parent)
        }
        None => requested,
    };
    for mentioned in mentions {
        if blocks_deny_in_both_directions(facts, &Viewer::Account(mentioned.clone()), author)
            == Some(Rule::Blocked)
        {
            return Err(ComposeError::MentionBlocked(mentioned.id));
        }
    }
    if audience.visibility == Visibility::Community && audience.community.is_none() {
        return Err(ComposeError::CommunityMissing);
    }
    only_members_post_in_a_community(facts, author, &audience)?;
    Ok(audience)
}

/// Rule: a post in a community (a thread, or a reply anywhere below one) needs its author's
/// current membership, whatever the post's visibility: banned members, people who left and
/// people who never joined cannot write into it.
pub fn only_members_post_in_a_community(
    facts: &dyn Facts,
    author: &Party,
    audience: &Audience,
) -> Result<(), ComposeError> {
    match audience.community {
        Some(community) if !facts.is_member(community, author.id) => {
            Err(ComposeError::NotACommunityMember)
        }
        _ => Ok(()),
    }
}

/// Rule: non-public posts cannot be boosted; a boost carries the original's audience.
/// Returns the boost's audience.
pub fn check_boost(
    facts: &dyn Facts,
    booster: &Party,
    original: &PostFacts,
) -> Result<Audience, ComposeError> {
    if !decide_view(facts, &Viewer::Account(booster.clone()), original).allows() {
        return Err(ComposeError::BoostTargetNotVisible);
    }
    if !original.audience.visibility.is_open() || is_below_restricted_ancestor(original) {
        return Err(ComposeError::NotBoostable);
    }
    Ok(original.audience)
}

fn is_below_restricted_ancestor(post: &PostFacts) -> bool {
    let mut ancestor = post.parent.as_deref();
    while let Some(p) = ancestor {
        if !p.audience.visibility.is_open() {
            return true;
        }
        ancestor = p.parent.as_deref();
    }
    false
}

/// Rule (professional boundaries, after the AMA's guidance): a direct message reaches an
/// account that keeps direct messages to colleagues only (`colleagues`, or `route`: others
/// are sent to the institution's contact routes) when its author is a colleague (a verified
/// clinician, here or attested elsewhere, or staff of this instance). Other visibilities are
/// not direct conversations and pass; `recipients` are the addressed accounts with their
/// boundary. A reply to a post in which the clinician wrote to the sender passes too: the
/// clinician opened that conversation. The inbox applies the same rule to remote senders.
pub fn direct_messages_respect_professional_boundaries(
    audience: &Audience,
    sender: Id,
    sender_is_colleague: bool,
    parent: Option<&PostFacts>,
    recipients: &[(Id, DirectMessagesFrom)],
) -> Result<(), ComposeError> {
    if audience.visibility != Visibility::Direct || sender_is_colleague {
        return Ok(());
    }
    let opened_by = |recipient: Id| {
        parent.is_some_and(|p| p.author.id == recipient && p.addressed.contains(&sender))
    };
    match recipients.iter().find(|(recipient, boundary)| {
        *boundary != DirectMessagesFrom::Everyone && !opened_by(*recipient)
    }) {
        Some((recipient, DirectMessagesFrom::Route)) => {
            Err(ComposeError::RoutedToContactChannel(*recipient))
        }
        Some((recipient, _)) => Err(ComposeError::OutsideProfessionalBoundary(*recipient)),
        None => Ok(()),
    }
}
