//! The read gate: one decision, [`can_see`], for every read path.
//!
//! Timelines, a single status, its context, account statuses, search, notifications,
//! boosts, streaming and ActivityPub GETs all ask this one function. What it returns on
//! success is a [`Visible`] value, which nothing outside this crate can construct: the API
//! renders statuses only from `Visible`, so forgetting the check does not compile.
//!
//! Each rule is its own function, checked in this order (the first that decides wins):
//! deletion, suspensions, the PHI hold, the author's own view, instance-level domain
//! policy, blocks, limits (of the account or of its instance), local-only, community federation, the post's own audience, and finally
//! every known ancestor's audience (a reply never reaches further than its parent).

use cohort_model::{Domain, Visibility};

use crate::facts::{Audience, DomainStanding, Facts, Party, PostFacts, Viewer};
use crate::rule::Rule;

/// A value the read gate let through for one viewer. Only this crate can make one.
#[derive(Debug)]
pub struct Visible<T> {
    item: T,
    rule: Rule,
}

impl<T> Visible<T> {
    /// The checked item.
    pub fn get(&self) -> &T {
        &self.item
    }

    /// The checked item, by value.
    pub fn into_inner(self) -> T {
        self.item
    }

    /// The rule that allowed it.
    pub fn rule(&self) -> Rule {
        self.rule
    }
}

/// The read gate said no, and which rule decided.
#[derive(Copy, Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not visible to this viewer ({0})")]
pub struct Hidden(pub Rule);

/// Anything the read gate can be asked about: a stored status record that can describe
/// itself as [`PostFacts`].
pub trait AsPostFacts {
    /// The facts of the post.
    fn post_facts(&self) -> &PostFacts;
}

impl AsPostFacts for PostFacts {
    fn post_facts(&self) -> &PostFacts {
        self
    }
}

/// The read gate. `Ok` carries the item, wrapped so that renderers can demand proof.
pub fn can_see<T: AsPostFacts>(
    facts: &dyn Facts,
    viewer: &Viewer,
    item: T,
) -> Result<Visible<T>, Hidden> {
    let rule = decide_view(facts, viewer, item.post_facts());
    if rule.allows() {
        Ok(Visible { item, rule })
    } else {
        Err(Hidden(rule))
    }
}

/// The rule that decides whether `viewer` may see `post`.
pub fn decide_view(facts: &dyn Facts, viewer: &Viewer, post: &PostFacts) -> Rule {
    if let Some(original) = &post.reblog_of {
        return decide_boost_view(facts, viewer, post, original);
    }
    if let Some(rule) = deleted_posts_are_seen_by_nobody(post) {
        return rule;
    }
    if let Some(rule) = suspended_accounts_neither_see_nor_are_seen(viewer, &post.author) {
        return rule;
    }
    if let Some(rule) = held_posts_are_seen_only_by_their_author(viewer, post) {
        return rule;
    }
    if is_author(viewer, post) {
        return Rule::AuthorSeesOwn;
    }
    if let Some(rule) = relationship_rules(facts, viewer, &post.author) {
        return rule;
    }
    if let Some(rule) = limited_accounts_reach_only_their_followers(facts, viewer, post) {
        return rule;
    }
    let own = audience_admits(facts, viewer, post);
    if !own.allows() {
        return own;
    }
    if let Some(rule) = a_reply_never_exceeds_its_parent(facts, viewer, post) {
        return rule;
    }
    own
}

/// Rules that only depend on who the two parties are, not on the post: suspensions,
/// instance-level domain policy and blocks, in both directions. Also used for relationship
/// activities.
pub(crate) fn relationship_rules(
    facts: &dyn Facts,
    viewer: &Viewer,
    author: &Party,
) -> Option<Rule> {
    suspended_accounts_neither_see_nor_are_seen(viewer, author)
        .or_else(|| domain_policy_denies_both_directions(facts, viewer, author))
        .or_else(|| blocks_deny_in_both_directions(facts, viewer, author))
}

/// A boost is seen only if its booster is not excluded and the original is visible: the
/// boost carries the original's audience, never a wider one.
fn decide_boost_view(
    facts: &dyn Facts,
    viewer: &Viewer,
    boost: &PostFacts,
    original: &PostFacts,
) -> Rule {
    if let Some(rule) = deleted_posts_are_seen_by_nobody(boost) {
        return rule;
    }
    if !is_author(viewer, boost)
        && let Some(rule) = relationship_rules(facts, viewer, &boost.author)
            .or_else(|| limited_accounts_reach_only_their_followers(facts, viewer, boost))
    {
        return rule;
    }
    let original_rule = decide_view(facts, viewer, original);
    if original_rule.allows() {
        original_rule
    } else if matches!(original_rule, Rule::Deleted) {
        Rule::Deleted
    } else {
        Rule::BoostOfHiddenPost
    }
}

fn is_author(viewer: &Viewer, post: &PostFacts) -> bool {
    matches!(viewer, Viewer::Account(p) if p.id == post.author.id)
}

fn viewer_domain(viewer: &Viewer) -> Option<&Domain> {
    match viewer {
        Viewer::Anonymous => None,
        Viewer::Account(p) => p.domain.as_ref(),
        Viewer::Instance(d) => Some(d),
    }
}

fn viewer_is_local_account(viewer: &Viewer) -> bool {
    matches!(viewer, Viewer::Account(p) if p.is_local())
}

/// Rule: deleted (and expired) posts are seen by nobody, not even their author.
pub fn deleted_posts_are_seen_by_nobody(post: &PostFacts) -> Option<Rule> {
    post.deleted.then_some(Rule::Deleted)
}

/// Rule: a post held by the PHI guard is seen only by its author until released.
pub fn held_posts_are_seen_only_by_their_author(viewer: &Viewer, post: &PostFacts) -> Option<Rule> {
    if !post.held {
        return None;
    }
    Some(if is_author(viewer, post) {
        Rule::AuthorSeesOwn
    } else {
        Rule::HeldForReview
    })
}

/// Rule: suspended accounts neither see nor are seen.
pub fn suspended_accounts_neither_see_nor_are_seen(
    viewer: &Viewer,
    author: &Party,
) -> Option<Rule> {
    if author.suspended {
        return Some(Rule::AuthorSuspended);
    }
    match viewer {
        Viewer::Account(p) if p.suspended => Some(Rule::ViewerSuspended),
        _ => None,
    }
}

/// Rule: an instance this instance suspended (or, in allowlist mode, did not list) neither
/// sees our posts nor has its posts seen. A silenced instance still federates.
pub fn domain_policy_denies_both_directions(
    facts: &dyn Facts,
    viewer: &Viewer,
    author: &Party,
) -> Option<Rule> {
    let standing_rule = |domain: &Domain| match facts.domain_standing(domain) {
        DomainStanding::Suspended => Some(Rule::DomainBlocked),
        DomainStanding::NotAllowlisted => Some(Rule::NotAllowlisted),
        DomainStanding::Allowed | DomainStanding::Silenced => None,
    };
    viewer_domain(viewer)
        .and_then(standing_rule)
        .or_else(|| author.domain.as_ref().and_then(standing_rule))
}

/// Rule: a limited account (a moderator's `silence`), and any account of an instance this
/// instance silenced, reaches only its followers, as on Mastodon: its posts (and boosts) are
/// seen by itself, its accepted followers, the accounts a post addresses (mentions) or
/// answers, and this instance's moderators; every other account and anonymous readers see
/// nothing of it, on every read path. The post's own audience still applies to those it
/// reaches. Other instances (a signed fetch by an instance actor) are not concerned: a limit
/// is this instance's view, and deliveries to followers go on.
pub fn limited_accounts_reach_only_their_followers(
    facts: &dyn Facts,
    viewer: &Viewer,
    post: &PostFacts,
) -> Option<Rule> {
    let author = &post.author;
    let limited = facts.is_limited(author.id)
        || author
            .domain
            .as_ref()
            .is_some_and(|d| facts.domain_standing(d) == DomainStanding::Silenced);
    if !limited {
        return None;
    }
    match viewer {
        Viewer::Instance(_) => None,
        Viewer::Anonymous => Some(Rule::AuthorLimited),
        Viewer::Account(v) => {
            let reached = v.id == author.id
                || facts.follows(v.id, author.id)
                || post.addressed.contains(&v.id)
                || post.parent.as_deref().is_some_and(|p| p.author.id == v.id)
                || (v.is_local() && facts.is_moderator(v.id));
            (!reached).then_some(Rule::AuthorLimited)
        }
    }
}

/// Rule: blocks deny in both directions, for account blocks and for an account's block of
/// a whole domain.
pub fn blocks_deny_in_both_directions(
    facts: &dyn Facts,
    viewer: &Viewer,
    author: &Party,
) -> Option<Rule> {
    match viewer {
        Viewer::Account(v) => {
            if facts.blocked_either_way(v.id, author.id) {
                return Some(Rule::Blocked);
            }
            let viewer_blocks_author_domain = author
                .domain
                .as_ref()
                .is_some_and(|d| facts.account_blocks_domain(v.id, d));
            let author_blocks_viewer_domain = v
                .domain
                .as_ref()
                .is_some_and(|d| facts.account_blocks_domain(author.id, d));
            (viewer_blocks_author_domain || author_blocks_viewer_domain)
                .then_some(Rule::AccountDomainBlock)
        }
        Viewer::Instance(domain) => facts
            .account_blocks_domain(author.id, domain)
            .then_some(Rule::AccountDomainBlock),
        Viewer::Anonymous => None,
    }
}

/// Whether `viewer` is inside `post`'s audience (local-only, community federation and the
/// visibility itself), ignoring deletion, holds and blocks. Used for the post itself and,
/// through [`a_reply_never_exceeds_its_parent`], for each of its ancestors.
pub fn audience_admits(facts: &dyn Facts, viewer: &Viewer, post: &PostFacts) -> Rule {
    if is_author(viewer, post) {
        return Rule::AuthorSeesOwn;
    }
    if let Some(rule) = local_posts_never_leave_the_instance(facts, viewer, &post.audience) {
        return rule;
    }
    if let Some(rule) =
        community_federation_is_restricted_to_listed_instances(facts, viewer, &post.audience)
    {
        return rule;
    }
    if let Some(rule) = a_reply_reaches_the_author_it_answers(viewer, post) {
        return rule;
    }
    match post.audience.visibility {
        Visibility::Public | Visibility::Unlisted => Rule::OpenAudience,
        Visibility::Local => Rule::LocalViewer,
        Visibility::Followers => followers_only_posts_reach_followers(facts, viewer, post),
        Visibility::Direct => direct_posts_reach_only_the_addressed(viewer, post),
        Visibility::Community => community_posts_reach_only_members(facts, viewer, post),
    }
}

/// Rule: a reply reaches the author of the post it answers. That author is inside the
/// parent's audience by definition, so admitting them never widens the thread (the
/// ancestor check still applies); without it a followers-only reply would be hidden from
/// the very person it answers.
pub fn a_reply_reaches_the_author_it_answers(viewer: &Viewer, post: &PostFacts) -> Option<Rule> {
    let parent = post.parent.as_deref()?;
    matches!(viewer, Viewer::Account(v) if v.id == parent.author.id).then_some(Rule::RepliedTo)
}

/// Rule: local-only posts (and their replies) are seen only by signed-in accounts of this
/// instance: never by remote accounts, other instances or anonymous readers.
pub fn local_posts_never_leave_the_instance(
    facts: &dyn Facts,
    viewer: &Viewer,
    audience: &Audience,
) -> Option<Rule> {
    let community_is_local = audience
        .community
        .and_then(|c| facts.community(c))
        .is_some_and(|c| c.local_only);
    let local_only = audience.local_only || audience.visibility == Visibility::Local;
    if (local_only || community_is_local) && !viewer_is_local_account(viewer) {
        Some(Rule::LocalNeverLeaves)
    } else {
        None
    }
}

/// Rule: a community that federates only with listed instances is not seen from others.
pub fn community_federation_is_restricted_to_listed_instances(
    facts: &dyn Facts,
    viewer: &Viewer,
    audience: &Audience,
) -> Option<Rule> {
    let community = audience.community.and_then(|c| facts.community(c))?;
    let listed = community.federates_with.as_ref()?;
    let domain = viewer_domain(viewer)?;
    (!listed.contains(domain)).then_some(Rule::CommunityFederationRestricted)
}

/// Rule: a followers-only post is seen by the author's accepted followers. For a local post a
/// mention does not widen it; for a remote post the sender's addressing is honoured (the
/// sender decided to deliver it to the accounts it addressed).
pub fn followers_only_posts_reach_followers(
    facts: &dyn Facts,
    viewer: &Viewer,
    post: &PostFacts,
) -> Rule {
    let Viewer::Account(v) = viewer else {
        return Rule::NotAFollower;
    };
    if facts.follows(v.id, post.author.id) {
        return Rule::Follower;
    }
    if post.addressed.contains(&v.id) {
        return if post.is_local() {
            Rule::MentionDoesNotWiden
        } else {
            Rule::Addressed
        };
    }
    Rule::NotAFollower
}

/// Rule: a direct post is seen only by the accounts it addresses.
pub fn direct_posts_reach_only_the_addressed(viewer: &Viewer, post: &PostFacts) -> Rule {
    match viewer {
        Viewer::Account(v) if post.addressed.contains(&v.id) => Rule::Addressed,
        _ => Rule::NotAddressed,
    }
}

/// Rule: a community post is seen by the community's current members (each member, not
/// each instance: it is delivered to members' own inboxes). A signed fetch by an instance
/// actor (how Mastodon-like servers fetch) is answered only while that instance hosts a
/// current member in good standing with the author (not blocked either way): an instance
/// whose only member the author blocked gets nothing.
pub fn community_posts_reach_only_members(
    facts: &dyn Facts,
    viewer: &Viewer,
    post: &PostFacts,
) -> Rule {
    let Some(community) = post.audience.community else {
        // A community post without a community cannot be checked: nobody but the author.
        return Rule::NotACommunityMember;
    };
    match viewer {
        Viewer::Account(v) if facts.is_member(community, v.id) => Rule::CommunityMember,
        Viewer::Instance(domain)
            if facts
                .members_on(community, domain)
                .iter()
                .any(|m| !facts.blocked_either_way(*m, post.author.id)) =>
        {
            Rule::InstanceOfMember
        }
        _ => Rule::NotACommunityMember,
    }
}

/// Rule: a reply's audience never exceeds its parent's: the viewer must be inside the
/// audience of every known ancestor too.
pub fn a_reply_never_exceeds_its_parent(
    facts: &dyn Facts,
    viewer: &Viewer,
    post: &PostFacts,
) -> Option<Rule> {
    let mut ancestor = post.parent.as_deref();
    while let Some(parent) = ancestor {
        if !audience_admits(facts, viewer, parent).allows() {
            return Some(Rule::ReplyExceedsParent);
        }
        ancestor = parent.parent.as_deref();
    }
    None
}
