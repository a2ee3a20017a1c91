//! One test per rule of the audience engine, named after it (DESIGN.md, "Audience model").
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use cohort_model::Visibility;
use cohort_policy::{
    Audience, CommunityFacts, ComposeError, Party, PostFacts, RecordedInbox, Rule, Slot, Subject,
    Viewer, audience_for_reply, check_boost, decide_view, plan_delivery,
};
use support::{
    BETA, ComposeRow, DELTA, DeliveryRow, EVIL, GAMMA, OUTSIDE, QUIET, ReplyRow, ViewRow, World,
    actor_uri, check_compose, check_delivery, check_reply_audience, check_view, domain, id,
    inboxes, plan_post, recipient,
};

fn acct(p: &Party) -> Viewer {
    Viewer::Account(p.clone())
}

fn inst(d: &str) -> Viewer {
    Viewer::Instance(domain(d))
}

fn row<'a>(name: &'a str, viewer: Viewer, post: &'a PostFacts, expect: Rule) -> ViewRow<'a> {
    ViewRow {
        name,
        viewer,
        post,
        expect,
    }
}

fn delivery<'a>(
    name: &'a str,
    post: &'a PostFacts,
    candidates: &[&Party],
    expect_reached: Vec<&'a Party>,
) -> DeliveryRow<'a> {
    DeliveryRow {
        name,
        post,
        candidates: candidates.iter().map(|p| recipient(p)).collect(),
        expect_reached,
    }
}

#[test]
fn deleted_posts_are_seen_by_nobody() {
    let mut w = World::new();
    let mut post = w.public();
    post.deleted = true;
    let boost = w.boost(&post, &w.local_follower.clone());
    check_view(
        &w.facts,
        &[
            row("author", acct(&w.author), &post, Rule::Deleted),
            row("follower", acct(&w.local_follower), &post, Rule::Deleted),
            row("anonymous", Viewer::Anonymous, &post, Rule::Deleted),
            row("instance", inst(BETA), &post, Rule::Deleted),
            row(
                "boost of it",
                acct(&w.local_stranger),
                &boost,
                Rule::Deleted,
            ),
            row("booster", acct(&w.local_follower), &boost, Rule::Deleted),
        ],
    );
    let candidates = w.remote_recipients();
    check_delivery(
        &w.facts,
        &[DeliveryRow {
            name: "deleted post",
            post: &post,
            candidates,
            expect_reached: vec![],
        }],
    );
}

#[test]
fn held_posts_are_seen_only_by_their_author() {
    let mut w = World::new();
    let mut post = w.public();
    post.held = true;
    check_view(
        &w.facts,
        &[
            row("author", acct(&w.author), &post, Rule::AuthorSeesOwn),
            row(
                "follower",
                acct(&w.local_follower),
                &post,
                Rule::HeldForReview,
            ),
            row("anonymous", Viewer::Anonymous, &post, Rule::HeldForReview),
            row("instance", inst(BETA), &post, Rule::HeldForReview),
        ],
    );
    let plan = plan_post(&w.facts, &post, &w.remote_recipients());
    assert!(plan.permits.is_empty());
    assert!(
        plan.denials
            .iter()
            .filter(|d| d.domain.as_str() != EVIL && d.domain.as_str() != OUTSIDE)
            .all(|d| d.rule == Rule::HeldForReview),
        "{:?}",
        plan.denials
    );
}

#[test]
fn suspended_accounts_neither_see_nor_are_seen() {
    let mut w = World::new();
    let post = w.public();
    let suspended_author = w.suspended_local.clone();
    let by_suspended = w.post_by(&suspended_author, Audience::new(Visibility::Public));
    let mut suspended_remote = w.remote_follower.clone();
    suspended_remote.suspended = true;
    check_view(
        &w.facts,
        &[
            row(
                "suspended viewer",
                acct(&w.suspended_local),
                &post,
                Rule::ViewerSuspended,
            ),
            row(
                "suspended remote viewer",
                acct(&suspended_remote),
                &post,
                Rule::ViewerSuspended,
            ),
            row(
                "suspended author, follower",
                acct(&w.local_follower),
                &by_suspended,
                Rule::AuthorSuspended,
            ),
            row(
                "suspended author, anonymous",
                Viewer::Anonymous,
                &by_suspended,
                Rule::AuthorSuspended,
            ),
            row(
                "suspended author, instance",
                inst(BETA),
                &by_suspended,
                Rule::AuthorSuspended,
            ),
        ],
    );
    check_delivery(
        &w.facts,
        &[
            delivery("suspended recipient", &post, &[&suspended_remote], vec![]),
            delivery(
                "suspended author",
                &by_suspended,
                &[&w.remote_follower, &w.remote_stranger],
                vec![],
            ),
        ],
    );
}

#[test]
fn domain_policy_denies_both_directions() {
    let mut w = World::new();
    let post = w.public();
    let evil = w.blocked_domain_user.clone();
    let by_evil = w.post_by(&evil, Audience::new(Visibility::Public));
    check_view(
        &w.facts,
        &[
            row(
                "viewer on suspended domain",
                acct(&w.blocked_domain_user),
                &post,
                Rule::DomainBlocked,
            ),
            row(
                "suspended instance fetches",
                inst(EVIL),
                &post,
                Rule::DomainBlocked,
            ),
            row(
                "local reads author on suspended domain",
                acct(&w.local_follower),
                &by_evil,
                Rule::DomainBlocked,
            ),
            row(
                "anonymous reads author on suspended domain",
                Viewer::Anonymous,
                &by_evil,
                Rule::DomainBlocked,
            ),
        ],
    );
    let plan = plan_post(&w.facts, &post, &[recipient(&w.blocked_domain_user)]);
    assert!(plan.permits.is_empty());
    assert_eq!(plan.denials.len(), 1);
    assert_eq!(plan.denials[0].rule, Rule::DomainBlocked);
}

#[test]
fn allowlist_mode_admits_only_listed_domains() {
    let mut w = World::allowlist();
    let post = w.followers();
    let outsider = w.unlisted_domain_user.clone();
    let by_outsider = w.post_by(&outsider, Audience::new(Visibility::Public));
    check_view(
        &w.facts,
        &[
            row(
                "listed follower",
                acct(&w.remote_follower),
                &post,
                Rule::Follower,
            ),
            row(
                "unlisted follower",
                acct(&w.unlisted_domain_user),
                &post,
                Rule::NotAllowlisted,
            ),
            row(
                "unlisted instance",
                inst(OUTSIDE),
                &post,
                Rule::NotAllowlisted,
            ),
            row(
                "local reads unlisted author",
                acct(&w.local_follower),
                &by_outsider,
                Rule::NotAllowlisted,
            ),
            row(
                "listed but suspended",
                acct(&w.blocked_domain_user),
                &post,
                Rule::DomainBlocked,
            ),
        ],
    );
    check_delivery(
        &w.facts,
        &[delivery(
            "followers post in allowlist mode",
            &post,
            &[
                &w.remote_follower,
                &w.unlisted_domain_user,
                &w.silenced_domain_user,
            ],
            vec![&w.remote_follower, &w.silenced_domain_user],
        )],
    );
}

#[test]
fn silenced_domains_still_receive_followers_posts() {
    let mut w = World::new();
    let followers = w.followers();
    let public = w.public();
    let quiet = w.silenced_domain_user.clone();
    let by_quiet = w.post_by(&quiet, Audience::new(Visibility::Followers));
    let local_follower = w.local_follower.clone();
    w.follow(&local_follower, &quiet);
    check_view(
        &w.facts,
        &[
            row(
                "silenced follower, followers post",
                acct(&w.silenced_domain_user),
                &followers,
                Rule::Follower,
            ),
            row(
                "silenced follower, public post",
                acct(&w.silenced_domain_user),
                &public,
                Rule::OpenAudience,
            ),
            row(
                "local follower of silenced author",
                acct(&w.local_follower),
                &by_quiet,
                Rule::Follower,
            ),
            row(
                "silenced instance, followers post",
                inst(QUIET),
                &followers,
                Rule::NotAFollower,
            ),
        ],
    );
    check_delivery(
        &w.facts,
        &[
            delivery(
                "followers post",
                &followers,
                &[&w.silenced_domain_user],
                vec![&w.silenced_domain_user],
            ),
            delivery(
                "public post",
                &public,
                &[&w.silenced_domain_user],
                vec![&w.silenced_domain_user],
            ),
        ],
    );
    let plan = plan_post(&w.facts, &followers, &[recipient(&w.silenced_domain_user)]);
    assert_eq!(
        inboxes(&plan),
        vec![recipient(&w.silenced_domain_user).inbox]
    );
}

#[test]
fn blocks_deny_in_both_directions() {
    let mut w = World::new();
    let public = w.public();
    let community = w.community_post();
    // local_stranger blocks the author: the author's posts are hidden from them.
    w.facts.blocks.insert((w.local_stranger.id, w.author.id));
    // The author blocks gamma.example at account level; local_follower blocks beta.example.
    w.facts
        .account_domain_blocks
        .insert((w.author.id, domain(GAMMA)));
    w.facts
        .account_domain_blocks
        .insert((w.local_follower.id, domain(BETA)));
    let beta_author = w.remote_stranger.clone();
    let by_beta = w.post_by(&beta_author, Audience::new(Visibility::Public));
    let by_blocked = w.post_by(&w.blocked_local.clone(), Audience::new(Visibility::Public));
    check_view(
        &w.facts,
        &[
            row(
                "author blocked the viewer (local)",
                acct(&w.blocked_local),
                &public,
                Rule::Blocked,
            ),
            row(
                "author blocked the viewer (remote)",
                acct(&w.blocked_remote),
                &public,
                Rule::Blocked,
            ),
            row(
                "viewer blocked the author",
                acct(&w.local_stranger),
                &public,
                Rule::Blocked,
            ),
            row(
                "author reads the account they blocked",
                acct(&w.author),
                &by_blocked,
                Rule::Blocked,
            ),
            row(
                "author blocked the viewer's domain",
                acct(&w.remote_member),
                &community,
                Rule::AccountDomainBlock,
            ),
            row(
                "author blocked the fetching instance",
                inst(GAMMA),
                &public,
                Rule::AccountDomainBlock,
            ),
            row(
                "viewer blocked the author's domain",
                acct(&w.local_follower),
                &by_beta,
                Rule::AccountDomainBlock,
            ),
            row(
                "unrelated local still reads the beta post",
                acct(&w.local_member),
                &by_beta,
                Rule::OpenAudience,
            ),
        ],
    );
    check_delivery(
        &w.facts,
        &[delivery(
            "public post",
            &public,
            &[&w.blocked_remote, &w.remote_member, &w.remote_follower],
            vec![&w.remote_follower],
        )],
    );
}

#[test]
fn local_posts_never_leave_the_instance() {
    let mut w = World::new();
    let local = w.local();
    let followers_local = w.followers_local_only();
    let local_follower = w.local_follower.clone();
    let reply_audience = audience_for_reply(Audience::new(Visibility::Public), &local);
    assert_eq!(reply_audience.visibility, Visibility::Local);
    assert!(reply_audience.local_only);
    let reply = w.reply(&local, &local_follower, reply_audience);
    // A hand-built reply that claims to be public is still held in by its parent.
    let loud_reply = w.reply(&local, &local_follower, Audience::new(Visibility::Public));
    // A public post in a community that is itself local-only.
    let local_community = id(101);
    w.facts.communities.insert(
        local_community,
        CommunityFacts {
            federates_with: None,
            local_only: true,
        },
    );
    let in_local_community = w.post_by(
        &local_follower,
        Audience::new(Visibility::Public).in_community(local_community),
    );
    check_view(
        &w.facts,
        &[
            row(
                "local stranger",
                acct(&w.local_stranger),
                &local,
                Rule::LocalViewer,
            ),
            row(
                "remote follower",
                acct(&w.remote_follower),
                &local,
                Rule::LocalNeverLeaves,
            ),
            row("instance", inst(BETA), &local, Rule::LocalNeverLeaves),
            row(
                "anonymous",
                Viewer::Anonymous,
                &local,
                Rule::LocalNeverLeaves,
            ),
            row(
                "followers+local, local follower",
                acct(&w.local_follower),
                &followers_local,
                Rule::Follower,
            ),
            row(
                "followers+local, remote follower",
                acct(&w.remote_follower),
                &followers_local,
                Rule::LocalNeverLeaves,
            ),
            row(
                "reply, remote follower",
                acct(&w.remote_follower),
                &reply,
                Rule::LocalNeverLeaves,
            ),
            row(
                "reply, local stranger",
                acct(&w.local_stranger),
                &reply,
                Rule::LocalViewer,
            ),
            row(
                "public reply under a local post, remote",
                acct(&w.remote_follower),
                &loud_reply,
                Rule::ReplyExceedsParent,
            ),
            row(
                "public reply under a local post, anonymous",
                Viewer::Anonymous,
                &loud_reply,
                Rule::ReplyExceedsParent,
            ),
            row(
                "local-only community, remote",
                acct(&w.remote_follower),
                &in_local_community,
                Rule::LocalNeverLeaves,
            ),
            row(
                "local-only community, local",
                acct(&w.local_stranger),
                &in_local_community,
                Rule::OpenAudience,
            ),
        ],
    );
    let all = w.remote_recipients();
    let rows: Vec<DeliveryRow<'_>> = [
        ("local post", &local),
        ("followers+local_only", &followers_local),
        ("narrowed reply", &reply),
        ("public reply under local", &loud_reply),
        ("local-only community", &in_local_community),
    ]
    .into_iter()
    .map(|(name, post)| DeliveryRow {
        name,
        post,
        candidates: all.clone(),
        expect_reached: vec![],
    })
    .collect();
    check_delivery(&w.facts, &rows);
}

/// `Audience`'s fields are public and its doc says `Visibility::Local` always implies
/// `local_only`; the rule must not depend on every caller keeping that promise (the store
/// builds audiences from two columns).
#[test]
fn local_visibility_never_leaves_even_without_the_flag() {
    let mut w = World::new();
    let author = w.author.clone();
    let post = w.post_by(
        &author,
        Audience {
            visibility: Visibility::Local,
            local_only: false,
            community: None,
        },
    );
    check_view(
        &w.facts,
        &[
            row(
                "remote follower",
                acct(&w.remote_follower),
                &post,
                Rule::LocalNeverLeaves,
            ),
            row(
                "anonymous",
                Viewer::Anonymous,
                &post,
                Rule::LocalNeverLeaves,
            ),
        ],
    );
    let plan = plan_post(&w.facts, &post, &w.remote_recipients());
    assert!(plan.permits.is_empty(), "{:?}", inboxes(&plan));
}

#[test]
fn community_federation_is_restricted_to_listed_instances() {
    let mut w = World::new();
    let restricted = id(101);
    w.facts.communities.insert(
        restricted,
        CommunityFacts {
            federates_with: Some([domain(GAMMA)].into_iter().collect()),
            local_only: false,
        },
    );
    for m in [
        w.author.clone(),
        w.remote_member.clone(),
        w.remote_follower.clone(),
        w.local_member.clone(),
    ] {
        w.add_member(restricted, &m);
    }
    let author = w.author.clone();
    let members_only = w.post_by(
        &author,
        Audience::new(Visibility::Community).in_community(restricted),
    );
    let public_in_it = w.post_by(
        &author,
        Audience::new(Visibility::Public).in_community(restricted),
    );
    check_view(
        &w.facts,
        &[
            row(
                "member on listed instance",
                acct(&w.remote_member),
                &members_only,
                Rule::CommunityMember,
            ),
            row(
                "member on unlisted instance",
                acct(&w.remote_follower),
                &members_only,
                Rule::CommunityFederationRestricted,
            ),
            row(
                "unlisted instance",
                inst(BETA),
                &members_only,
                Rule::CommunityFederationRestricted,
            ),
            row(
                "local member",
                acct(&w.local_member),
                &members_only,
                Rule::CommunityMember,
            ),
            row(
                "public post, unlisted instance's user",
                acct(&w.remote_stranger),
                &public_in_it,
                Rule::CommunityFederationRestricted,
            ),
            row(
                "public post, listed instance's user",
                acct(&w.remote_nonmember),
                &public_in_it,
                Rule::OpenAudience,
            ),
        ],
    );
    check_delivery(
        &w.facts,
        &[
            delivery(
                "members-only post",
                &members_only,
                &[&w.remote_member, &w.remote_follower, &w.remote_nonmember],
                vec![&w.remote_member],
            ),
            delivery(
                "public post",
                &public_in_it,
                &[&w.remote_member, &w.remote_follower],
                vec![&w.remote_member],
            ),
        ],
    );
}

#[test]
fn followers_only_posts_reach_followers() {
    let mut w = World::new();
    let post = w.followers();
    check_view(
        &w.facts,
        &[
            row(
                "local follower",
                acct(&w.local_follower),
                &post,
                Rule::Follower,
            ),
            row(
                "remote follower",
                acct(&w.remote_follower),
                &post,
                Rule::Follower,
            ),
            row(
                "local stranger",
                acct(&w.local_stranger),
                &post,
                Rule::NotAFollower,
            ),
            row(
                "remote stranger",
                acct(&w.remote_stranger),
                &post,
                Rule::NotAFollower,
            ),
            row("anonymous", Viewer::Anonymous, &post, Rule::NotAFollower),
            row("follower's instance", inst(BETA), &post, Rule::NotAFollower),
        ],
    );
    let candidates = w.remote_recipients();
    check_delivery(
        &w.facts,
        &[DeliveryRow {
            name: "followers post to every remote account",
            post: &post,
            candidates,
            expect_reached: vec![
                &w.remote_follower,
                &w.silenced_domain_user,
                &w.unlisted_domain_user,
            ],
        }],
    );
}

#[test]
fn mentions_never_widen_a_restricted_post() {
    let mut w = World::new();
    let followers = w.followers();
    let community = w.community_post();
    let local = w.local();
    check_view(
        &w.facts,
        &[
            row(
                "followers, mentioned local",
                acct(&w.mentioned_local),
                &followers,
                Rule::MentionDoesNotWiden,
            ),
            row(
                "followers, mentioned remote",
                acct(&w.mentioned_remote),
                &followers,
                Rule::MentionDoesNotWiden,
            ),
            row(
                "community, mentioned local",
                acct(&w.mentioned_local),
                &community,
                Rule::NotACommunityMember,
            ),
            row(
                "local, mentioned remote",
                acct(&w.mentioned_remote),
                &local,
                Rule::LocalNeverLeaves,
            ),
        ],
    );
    check_delivery(
        &w.facts,
        &[
            delivery(
                "followers",
                &followers,
                &[&w.mentioned_remote, &w.remote_follower],
                vec![&w.remote_follower],
            ),
            delivery(
                "community",
                &community,
                &[&w.mentioned_remote, &w.remote_member],
                vec![&w.remote_member],
            ),
        ],
    );
}

#[test]
fn remote_senders_addressing_is_honoured() {
    let mut w = World::new();
    let sender = w.remote_stranger.clone();
    let mut post = PostFacts::new(
        w.next_id(),
        sender.clone(),
        Audience::new(Visibility::Followers),
    );
    post.addressed = vec![w.mentioned_local.id];
    let local_member = w.local_member.clone();
    w.follow(&local_member, &sender);
    check_view(
        &w.facts,
        &[
            row(
                "addressed local",
                acct(&w.mentioned_local),
                &post,
                Rule::Addressed,
            ),
            row(
                "local follower of the sender",
                acct(&w.local_member),
                &post,
                Rule::Follower,
            ),
            row(
                "other local",
                acct(&w.local_stranger),
                &post,
                Rule::NotAFollower,
            ),
            row("anonymous", Viewer::Anonymous, &post, Rule::NotAFollower),
        ],
    );
}

#[test]
fn direct_posts_reach_only_the_addressed() {
    let mut w = World::new();
    let mut post = w.direct();
    post.addressed.push(w.remote_stranger.id);
    check_view(
        &w.facts,
        &[
            row(
                "mentioned local",
                acct(&w.mentioned_local),
                &post,
                Rule::Addressed,
            ),
            row(
                "mentioned remote",
                acct(&w.mentioned_remote),
                &post,
                Rule::Addressed,
            ),
            row(
                "follower",
                acct(&w.local_follower),
                &post,
                Rule::NotAddressed,
            ),
            row(
                "addressed but blocked",
                acct(&w.blocked_local),
                &post,
                Rule::Blocked,
            ),
            row(
                "the addressed account's instance",
                inst(DELTA),
                &post,
                Rule::NotAddressed,
            ),
            row("anonymous", Viewer::Anonymous, &post, Rule::NotAddressed),
        ],
    );
    let candidates = w.remote_recipients();
    check_delivery(
        &w.facts,
        &[DeliveryRow {
            name: "direct",
            post: &post,
            candidates,
            expect_reached: vec![&w.mentioned_remote, &w.remote_stranger],
        }],
    );
    // The beta.example permit goes to the addressed account's own inbox and names only it,
    // although remote_follower and blocked_remote share its instance and shared inbox.
    let plan = plan_post(
        &w.facts,
        &post,
        &[
            recipient(&w.remote_follower),
            recipient(&w.remote_stranger),
            recipient(&w.blocked_remote),
        ],
    );
    assert_eq!(plan.permits.len(), 1);
    assert_eq!(plan.permits[0].inbox(), recipient(&w.remote_stranger).inbox);
    assert_eq!(
        plan.permits[0].addressing().to.to_vec(),
        vec![actor_uri(&w.remote_stranger)]
    );
}

#[test]
fn community_posts_reach_only_members() {
    let mut w = World::new();
    let post = w.community_post();
    let author = w.author.clone();
    let without_community = w.post_by(&author, Audience::new(Visibility::Community));
    check_view(
        &w.facts,
        &[
            row(
                "local member",
                acct(&w.local_member),
                &post,
                Rule::CommunityMember,
            ),
            row(
                "remote member",
                acct(&w.remote_member),
                &post,
                Rule::CommunityMember,
            ),
            row(
                "non-member on the member's instance",
                acct(&w.remote_nonmember),
                &post,
                Rule::NotACommunityMember,
            ),
            row(
                "local non-member follower",
                acct(&w.local_follower),
                &post,
                Rule::NotACommunityMember,
            ),
            row(
                "anonymous",
                Viewer::Anonymous,
                &post,
                Rule::NotACommunityMember,
            ),
            row(
                "instance without members",
                inst(DELTA),
                &post,
                Rule::NotACommunityMember,
            ),
            row(
                "no community: member",
                acct(&w.local_member),
                &without_community,
                Rule::NotACommunityMember,
            ),
            row(
                "no community: author",
                acct(&w.author),
                &without_community,
                Rule::AuthorSeesOwn,
            ),
        ],
    );
    let candidates = w.remote_recipients();
    check_delivery(
        &w.facts,
        &[DeliveryRow {
            name: "community post",
            post: &post,
            candidates,
            expect_reached: vec![&w.remote_member],
        }],
    );
    let plan = plan_post(
        &w.facts,
        &post,
        &[recipient(&w.remote_member), recipient(&w.remote_nonmember)],
    );
    assert_eq!(inboxes(&plan), vec![recipient(&w.remote_member).inbox]);
    assert_eq!(
        plan.permits[0].addressing().to.to_vec(),
        vec![actor_uri(&w.remote_member)]
    );
}

/// Issue 8: members-only content is "fetched only with a signature of a member or of the
/// instance of a member whose membership is current". The instance's member must also be in
/// good standing with the author: beta.example's only member is blocked by the author, so
/// beta's instance actor gets nothing.
#[test]
fn instances_fetch_community_posts_only_through_a_member_in_good_standing() {
    let mut w = World::new();
    let post = w.community_post();
    check_view(
        &w.facts,
        &[
            row(
                "signed fetch by the instance of a current member",
                inst(GAMMA),
                &post,
                Rule::InstanceOfMember,
            ),
            row(
                "signed fetch by the instance whose only member is blocked",
                inst(BETA),
                &post,
                Rule::NotACommunityMember,
            ),
        ],
    );
}

#[test]
fn a_reply_never_exceeds_its_parent() {
    let mut w = World::new();
    let root = w.followers();
    let local_follower = w.local_follower.clone();
    let remote_follower = w.remote_follower.clone();
    // Hand-built replies that claim more than their parents allow, three levels deep.
    let r1 = w.reply(&root, &local_follower, Audience::new(Visibility::Public));
    let r2 = w.reply(&r1, &remote_follower, Audience::new(Visibility::Public));
    let r3 = w.reply(&r2, &local_follower, Audience::new(Visibility::Unlisted));
    // A direct thread: a reply cannot add people the parent did not address.
    let mut dm = w.direct();
    dm.addressed = vec![w.local_follower.id];
    let mut dm_reply = w.reply(&dm, &local_follower, Audience::new(Visibility::Direct));
    dm_reply.addressed = vec![w.author.id, w.local_stranger.id, w.remote_stranger.id];
    // A community thread: a follower-only reply below a community post.
    let community = w.community_post();
    let local_member = w.local_member.clone();
    let c_reply = w.reply(&community, &local_member, Audience::new(Visibility::Public));
    w.follow(&w.remote_nonmember.clone(), &local_member);
    check_view(
        &w.facts,
        &[
            row(
                "level 3, local stranger",
                acct(&w.local_stranger),
                &r3,
                Rule::ReplyExceedsParent,
            ),
            row(
                "level 3, remote stranger",
                acct(&w.remote_stranger),
                &r3,
                Rule::ReplyExceedsParent,
            ),
            row(
                "level 3, anonymous",
                Viewer::Anonymous,
                &r3,
                Rule::ReplyExceedsParent,
            ),
            row(
                "level 3, instance",
                inst(BETA),
                &r3,
                Rule::ReplyExceedsParent,
            ),
            row(
                "level 2, local stranger",
                acct(&w.local_stranger),
                &r2,
                Rule::ReplyExceedsParent,
            ),
            row(
                "level 3, root's follower",
                acct(&w.remote_follower),
                &r3,
                Rule::RepliedTo,
            ),
            row(
                "level 3, root's author",
                acct(&w.author),
                &r3,
                Rule::OpenAudience,
            ),
            row(
                "dm reply, parent's author",
                acct(&w.author),
                &dm_reply,
                Rule::RepliedTo,
            ),
            row(
                "dm reply, newly added local",
                acct(&w.local_stranger),
                &dm_reply,
                Rule::ReplyExceedsParent,
            ),
            row(
                "community reply, follower of replier, non-member",
                acct(&w.remote_nonmember),
                &c_reply,
                Rule::ReplyExceedsParent,
            ),
            row(
                "community reply, member",
                acct(&w.remote_member),
                &c_reply,
                Rule::OpenAudience,
            ),
        ],
    );
    let strangers_and_followers = [
        &w.remote_follower,
        &w.remote_stranger,
        &w.mentioned_remote,
        &w.remote_member,
        &w.remote_nonmember,
    ];
    check_delivery(
        &w.facts,
        &[
            delivery(
                "level 3",
                &r3,
                &strangers_and_followers,
                vec![&w.remote_follower],
            ),
            delivery(
                "level 1",
                &r1,
                &strangers_and_followers,
                vec![&w.remote_follower],
            ),
            delivery("dm reply", &dm_reply, &strangers_and_followers, vec![]),
            delivery(
                "community reply",
                &c_reply,
                &strangers_and_followers,
                vec![&w.remote_member],
            ),
        ],
    );
    // Below a restricted root, even "public" replies are delivered as restricted posts.
    let plan = plan_post(&w.facts, &r3, &[recipient(&w.remote_follower)]);
    assert_eq!(plan.permits.len(), 1);
    assert_eq!(plan.permits[0].addressing().public, None);
    assert_eq!(plan.permits[0].inbox(), recipient(&w.remote_follower).inbox);
}

#[test]
fn audience_for_reply_narrows_to_the_parent() {
    use Visibility::*;
    let w = World::new();
    let c = w.community;
    let other = id(555);
    let a = Audience::new;
    let rows = [
        ReplyRow {
            name: "public under public",
            parent: a(Public),
            requested: a(Public),
            expect: a(Public),
        },
        ReplyRow {
            name: "direct under public",
            parent: a(Public),
            requested: a(Direct),
            expect: a(Direct),
        },
        ReplyRow {
            name: "public under unlisted",
            parent: a(Unlisted),
            requested: a(Public),
            expect: a(Unlisted),
        },
        ReplyRow {
            name: "local under unlisted",
            parent: a(Unlisted),
            requested: a(Local),
            expect: a(Local),
        },
        ReplyRow {
            name: "public under followers",
            parent: a(Followers),
            requested: a(Public),
            expect: a(Followers),
        },
        ReplyRow {
            name: "unlisted under followers",
            parent: a(Followers),
            requested: a(Unlisted),
            expect: a(Followers),
        },
        ReplyRow {
            name: "direct under followers",
            parent: a(Followers),
            requested: a(Direct),
            expect: a(Direct),
        },
        ReplyRow {
            name: "local under followers",
            parent: a(Followers),
            requested: a(Local),
            expect: a(Followers).local_only(),
        },
        ReplyRow {
            name: "public under direct",
            parent: a(Direct),
            requested: a(Public),
            expect: a(Direct),
        },
        ReplyRow {
            name: "followers under direct",
            parent: a(Direct),
            requested: a(Followers),
            expect: a(Direct),
        },
        ReplyRow {
            name: "community under direct",
            parent: a(Direct),
            requested: a(Community).in_community(other),
            expect: a(Direct).in_community(other),
        },
        ReplyRow {
            name: "public under local",
            parent: a(Local),
            requested: a(Public),
            expect: a(Local),
        },
        ReplyRow {
            name: "followers under local",
            parent: a(Local),
            requested: a(Followers),
            expect: a(Followers).local_only(),
        },
        ReplyRow {
            name: "public under followers+local_only",
            parent: a(Followers).local_only(),
            requested: a(Public),
            expect: a(Followers).local_only(),
        },
        ReplyRow {
            name: "unlisted under public+local_only",
            parent: a(Public).local_only(),
            requested: a(Unlisted),
            expect: a(Unlisted).local_only(),
        },
        ReplyRow {
            name: "public under community",
            parent: a(Community).in_community(c),
            requested: a(Public),
            expect: a(Community).in_community(c),
        },
        ReplyRow {
            name: "followers under community",
            parent: a(Community).in_community(c),
            requested: a(Followers),
            expect: a(Community).in_community(c),
        },
        ReplyRow {
            name: "direct under community",
            parent: a(Community).in_community(c),
            requested: a(Direct),
            expect: a(Direct).in_community(c),
        },
        ReplyRow {
            name: "another community under community",
            parent: a(Community).in_community(c),
            requested: a(Community).in_community(other),
            expect: a(Community).in_community(c),
        },
        ReplyRow {
            name: "public under a community thread's public post",
            parent: a(Public).in_community(c),
            requested: a(Public),
            expect: a(Public).in_community(c),
        },
        ReplyRow {
            name: "local under community",
            parent: a(Community).in_community(c),
            requested: a(Local),
            expect: a(Community).in_community(c).local_only(),
        },
    ];
    check_reply_audience(&w.author, &rows);
}

/// Followers-only and community audiences are incomparable (the replier's community is not
/// inside the parent author's followers), so a community reply below a followers-only post
/// must not keep `Community`: the parent's visibility (or a narrower one) should win, as it
/// does for every other tie.
#[test]
fn audience_for_reply_does_not_trade_followers_for_a_community() {
    let w = World::new();
    let parent = PostFacts::new(
        id(777),
        w.author.clone(),
        Audience::new(Visibility::Followers),
    );
    let got = audience_for_reply(
        Audience::new(Visibility::Community).in_community(w.community),
        &parent,
    );
    assert!(
        matches!(got.visibility, Visibility::Followers | Visibility::Direct),
        "{got:?}"
    );
}

#[test]
fn non_public_posts_cannot_be_boosted() {
    let mut w = World::new();
    let public = w.public();
    let unlisted = w.unlisted();
    let followers = w.followers();
    let direct = w.direct();
    let community = w.community_post();
    let local = w.local();
    let local_follower = w.local_follower.clone();
    let public_below_followers = w.reply(
        &followers,
        &local_follower,
        Audience::new(Visibility::Public),
    );
    let cases: [(&str, &Party, &PostFacts, Result<Audience, ComposeError>); 10] = [
        ("public", &w.local_stranger, &public, Ok(public.audience)),
        (
            "unlisted",
            &w.local_stranger,
            &unlisted,
            Ok(unlisted.audience),
        ),
        (
            "followers, by a follower",
            &w.local_follower,
            &followers,
            Err(ComposeError::NotBoostable),
        ),
        (
            "direct, by the addressed",
            &w.mentioned_local,
            &direct,
            Err(ComposeError::NotBoostable),
        ),
        (
            "community, by a member",
            &w.local_member,
            &community,
            Err(ComposeError::NotBoostable),
        ),
        (
            "local, by a local",
            &w.local_stranger,
            &local,
            Err(ComposeError::NotBoostable),
        ),
        (
            "public reply below a followers-only post",
            &w.local_follower,
            &public_below_followers,
            Err(ComposeError::NotBoostable),
        ),
        (
            "followers, by a stranger",
            &w.local_stranger,
            &followers,
            Err(ComposeError::BoostTargetNotVisible),
        ),
        (
            "public, by a blocked account",
            &w.blocked_local,
            &public,
            Err(ComposeError::BoostTargetNotVisible),
        ),
        (
            "public, by a remote (suspended domain)",
            &w.blocked_domain_user,
            &public,
            Err(ComposeError::BoostTargetNotVisible),
        ),
    ];
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(name, booster, post, expect)| {
            let got = check_boost(&w.facts, booster, post);
            (&got != expect).then(|| format!("{name}: expected {expect:?}, got {got:?}"))
        })
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn a_boost_carries_the_original_audience() {
    let mut w = World::new();
    let public = w.public();
    let followers = w.followers();
    let local = w.local();
    let local_follower = w.local_follower.clone();
    let local_stranger = w.local_stranger.clone();
    let boost_public = w.boost(&public, &local_follower);
    // A boost of a followers-only post, as a remote server might send; it must not widen.
    let mut boost_followers = w.boost(&followers, &local_follower);
    boost_followers.audience = Audience::new(Visibility::Public);
    let boost_local = w.boost(&local, &local_stranger);
    w.facts
        .blocks
        .insert((w.local_member.id, local_follower.id));
    check_view(
        &w.facts,
        &[
            row(
                "boost of public, anonymous",
                Viewer::Anonymous,
                &boost_public,
                Rule::OpenAudience,
            ),
            row(
                "boost of public, viewer blocks booster",
                acct(&w.local_member),
                &boost_public,
                Rule::Blocked,
            ),
            row(
                "boost of public, viewer blocked by original author",
                acct(&w.blocked_local),
                &boost_public,
                Rule::BoostOfHiddenPost,
            ),
            row(
                "boost of followers, stranger",
                acct(&w.local_stranger),
                &boost_followers,
                Rule::BoostOfHiddenPost,
            ),
            row(
                "boost of followers, anonymous",
                Viewer::Anonymous,
                &boost_followers,
                Rule::BoostOfHiddenPost,
            ),
            row(
                "boost of followers, original's follower",
                acct(&w.remote_follower),
                &boost_followers,
                Rule::Follower,
            ),
            row(
                "boost of local, remote",
                acct(&w.remote_follower),
                &boost_local,
                Rule::BoostOfHiddenPost,
            ),
        ],
    );
    let candidates = w.remote_recipients();
    check_delivery(
        &w.facts,
        &[
            DeliveryRow {
                name: "boost of followers-only",
                post: &boost_followers,
                candidates: candidates.clone(),
                expect_reached: vec![
                    &w.remote_follower,
                    &w.silenced_domain_user,
                    &w.unlisted_domain_user,
                ],
            },
            DeliveryRow {
                name: "boost of local",
                post: &boost_local,
                candidates: candidates.clone(),
                expect_reached: vec![],
            },
            DeliveryRow {
                name: "boost of public",
                post: &boost_public,
                candidates: vec![recipient(&w.remote_stranger), recipient(&w.blocked_remote)],
                expect_reached: vec![&w.remote_stranger],
            },
        ],
    );
    let plan = plan_post(&w.facts, &boost_followers, &candidates);
    assert!(
        plan.permits
            .iter()
            .all(|p| p.addressing().public.is_none() && p.addressing().author_followers.is_none())
    );
}

#[test]
fn deletion_reaches_every_recorded_inbox() {
    let recorded: Vec<RecordedInbox> = [
        ("https://beta.example/inbox", BETA),
        ("https://gamma.example/users/12/inbox", GAMMA),
        ("https://beta.example/inbox", BETA),
        ("https://evil.example/inbox", EVIL), // suspended since: a retraction still goes
        ("https://gamma.example/users/13/inbox", GAMMA),
    ]
    .into_iter()
    .map(|(inbox, d)| RecordedInbox {
        inbox: inbox.to_owned(),
        domain: domain(d),
    })
    .collect();
    let w = World::new();
    let plan = plan_delivery(
        &w.facts,
        &Subject::Retraction {
            post: id(4242),
            recorded: &recorded,
        },
    );
    assert_eq!(
        inboxes(&plan),
        vec![
            "https://beta.example/inbox",
            "https://evil.example/inbox",
            "https://gamma.example/users/12/inbox",
            "https://gamma.example/users/13/inbox",
        ]
    );
    assert!(
        plan.permits
            .iter()
            .all(|p| p.rule() == Rule::RetractionReachesRecipients)
    );
    assert!(plan.denials.is_empty());
    let domains: Vec<&str> = plan.decisions.iter().map(|d| d.domain.as_str()).collect();
    assert_eq!(domains, vec![BETA, EVIL, GAMMA]);
    assert!(plan.decisions.iter().all(|d| d.allowed));
}

#[test]
fn relationship_activities_reach_only_their_counterpart() {
    let w = World::new();
    let allow = World::allowlist();
    let relate = |facts: &cohort_policy::FactSet, from: &Party, to: &Party| {
        let to = recipient(to);
        plan_delivery(facts, &Subject::Relationship { from, to: &to })
    };
    // A follow goes to the followed account's own inbox, addressed to it alone.
    let plan = relate(&w.facts, &w.local_follower, &w.remote_stranger);
    assert_eq!(inboxes(&plan), vec![recipient(&w.remote_stranger).inbox]);
    let a = plan.permits[0].addressing();
    assert_eq!(a.to.to_vec(), vec![actor_uri(&w.remote_stranger)]);
    assert!(a.cc.is_empty() && a.public.is_none() && a.author_followers.is_none());
    assert_eq!(plan.permits[0].rule(), Rule::RelationshipCounterpart);
    // The Block itself reaches the blocked account.
    let plan = relate(&w.facts, &w.author, &w.blocked_remote);
    assert_eq!(inboxes(&plan), vec![recipient(&w.blocked_remote).inbox]);
    // Domain policy and suspensions stop them.
    let cases: [(&str, &cohort_policy::FactSet, &Party, &Party, Rule); 4] = [
        (
            "suspended domain",
            &w.facts,
            &w.author,
            &w.blocked_domain_user,
            Rule::DomainBlocked,
        ),
        (
            "outside the allowlist",
            &allow.facts,
            &allow.author,
            &allow.unlisted_domain_user,
            Rule::NotAllowlisted,
        ),
        (
            "suspended local sender",
            &w.facts,
            &w.suspended_local,
            &w.remote_stranger,
            Rule::AuthorSuspended,
        ),
        (
            "silenced domain is not stopped",
            &w.facts,
            &w.author,
            &w.silenced_domain_user,
            Rule::RelationshipCounterpart,
        ),
    ];
    for (name, facts, from, to, rule) in cases {
        let plan = relate(facts, from, to);
        assert_eq!(plan.decisions.len(), 1, "{name}");
        assert_eq!(plan.decisions[0].rule, rule, "{name}");
        assert_eq!(plan.permits.len(), usize::from(rule.allows()), "{name}");
    }
    // A local counterpart is never delivered to over HTTP.
    let mut local_as_recipient = recipient(&w.remote_stranger);
    local_as_recipient.party = w.local_stranger.clone();
    let plan = plan_delivery(
        &w.facts,
        &Subject::Relationship {
            from: &w.author,
            to: &local_as_recipient,
        },
    );
    assert!(plan.permits.is_empty() && plan.decisions.is_empty());
}

#[test]
fn open_posts_go_once_per_shared_inbox() {
    let mut w = World::new();
    let beta_followers: Vec<Party> = (0..10)
        .map(|n| Party::remote(id(2000 + n), domain(BETA)))
        .collect();
    let delta_followers: Vec<Party> = (0..3)
        .map(|n| Party::remote(id(3000 + n), domain(DELTA)))
        .collect();
    let author = w.author.clone();
    for p in beta_followers.iter().chain(&delta_followers) {
        w.follow(p, &author);
    }
    let mut candidates: Vec<_> = beta_followers
        .iter()
        .chain(&delta_followers)
        .map(recipient)
        .collect();
    candidates.push(recipient(&w.mentioned_remote));
    for (post, public_slot, followers_slot) in [
        (w.public(), Slot::To, Slot::Cc),
        (w.unlisted(), Slot::Cc, Slot::To),
    ] {
        let plan = plan_post(&w.facts, &post, &candidates);
        let mut expected = vec!["https://beta.example/inbox".to_owned()];
        expected.extend(
            delta_followers
                .iter()
                .chain([&w.mentioned_remote])
                .map(|p| recipient(p).inbox),
        );
        expected.sort();
        assert_eq!(inboxes(&plan), expected);
        for permit in &plan.permits {
            let a = permit.addressing();
            assert_eq!(a.public, Some(public_slot));
            assert_eq!(a.author_followers, Some(followers_slot));
            assert_eq!(a.cc.to_vec(), vec![actor_uri(&w.mentioned_remote)]);
            assert!(a.to.is_empty());
            assert_eq!(permit.rule(), Rule::OpenAudience);
        }
    }
}

#[test]
fn restricted_posts_go_to_personal_inboxes_addressed_per_instance() {
    let mut w = World::new();
    let beta: Vec<Party> = (0..3)
        .map(|n| Party::remote(id(2000 + n), domain(BETA)))
        .collect();
    let gamma: Vec<Party> = (0..2)
        .map(|n| Party::remote(id(3000 + n), domain(GAMMA)))
        .collect();
    let author = w.author.clone();
    for p in beta.iter().chain(&gamma) {
        w.follow(p, &author);
    }
    let post = w.followers();
    let mut candidates: Vec<_> = beta.iter().chain(&gamma).map(recipient).collect();
    candidates.push(recipient(&w.remote_stranger)); // beta, not a follower
    let plan = plan_post(&w.facts, &post, &candidates);
    let mut expected: Vec<String> = beta
        .iter()
        .chain(&gamma)
        .map(|p| recipient(p).inbox)
        .collect();
    expected.sort();
    assert_eq!(inboxes(&plan), expected);
    let actors = |ps: &[Party]| {
        let mut v: Vec<String> = ps.iter().map(actor_uri).collect();
        v.sort();
        v
    };
    for permit in &plan.permits {
        let a = permit.addressing();
        assert_eq!(a.public, None);
        assert_eq!(a.author_followers, None);
        assert!(a.cc.is_empty());
        let mut to = a.to.to_vec();
        to.sort();
        let want = if permit.domain().as_str() == BETA {
            actors(&beta)
        } else {
            actors(&gamma)
        };
        assert_eq!(to, want, "permit to {}", permit.inbox());
    }
}

#[test]
fn the_decision_log_has_one_row_per_domain() {
    let mut w = World::new();
    let post = w.followers();
    let plan = plan_post(&w.facts, &post, &w.remote_recipients());
    let log: Vec<(&str, bool, Rule)> = plan
        .decisions
        .iter()
        .map(|d| (d.domain.as_str(), d.allowed, d.rule))
        .collect();
    assert_eq!(
        log,
        vec![
            (BETA, true, Rule::Follower),
            (DELTA, false, Rule::MentionDoesNotWiden),
            (EVIL, false, Rule::DomainBlocked),
            (GAMMA, false, Rule::NotAFollower),
            (OUTSIDE, true, Rule::Follower),
            (QUIET, true, Rule::Follower),
        ]
    );
    // Denials stay per account: beta.example's two refusals are both listed.
    let beta_denials: Vec<Rule> = plan
        .denials
        .iter()
        .filter(|d| d.domain.as_str() == BETA)
        .map(|d| d.rule)
        .collect();
    assert_eq!(beta_denials, vec![Rule::NotAFollower, Rule::Blocked]);
    // A candidate listed twice is decided once.
    let mut twice = w.remote_recipients();
    twice.extend(w.remote_recipients());
    let again = plan_post(&w.facts, &post, &twice);
    assert_eq!(again.permits.len(), plan.permits.len());
    assert_eq!(again.denials.len(), plan.denials.len());
}

#[test]
fn check_new_post_refuses_bad_input() {
    let mut w = World::new();
    let followers = w.followers();
    let community = w.community_post();
    let mut deleted = w.public();
    deleted.deleted = true;
    w.facts.blocks.insert((w.remote_stranger.id, w.author.id));
    let a = Audience::new;
    let rows = [
        ComposeRow {
            name: "plain public post",
            author: &w.author,
            requested: a(Visibility::Public),
            parent: None,
            mentions: vec![w.mentioned_remote.clone()],
            expect: Ok(a(Visibility::Public)),
        },
        ComposeRow {
            name: "reply to an invisible parent",
            author: &w.local_stranger,
            requested: a(Visibility::Public),
            parent: Some(&followers),
            mentions: vec![],
            expect: Err(ComposeError::ParentNotVisible),
        },
        ComposeRow {
            name: "reply to a deleted parent",
            author: &w.local_follower,
            requested: a(Visibility::Public),
            parent: Some(&deleted),
            mentions: vec![],
            expect: Err(ComposeError::ParentNotVisible),
        },
        ComposeRow {
            name: "reply to a community post by a non-member",
            author: &w.local_follower,
            requested: a(Visibility::Public),
            parent: Some(&community),
            mentions: vec![],
            expect: Err(ComposeError::ParentNotVisible),
        },
        ComposeRow {
            name: "reply narrowed to the parent",
            author: &w.local_follower,
            requested: a(Visibility::Public),
            parent: Some(&followers),
            mentions: vec![],
            expect: Ok(a(Visibility::Followers)),
        },
        ComposeRow {
            name: "member's reply to a community post",
            author: &w.local_member,
            requested: a(Visibility::Public),
            parent: Some(&community),
            mentions: vec![],
            expect: Ok(a(Visibility::Community).in_community(w.community)),
        },
        ComposeRow {
            name: "mention of an account the author blocks",
            author: &w.author,
            requested: a(Visibility::Public),
            parent: None,
            mentions: vec![w.mentioned_local.clone(), w.blocked_remote.clone()],
            expect: Err(ComposeError::MentionBlocked(w.blocked_remote.id)),
        },
        ComposeRow {
            name: "mention of an account that blocks the author",
            author: &w.author,
            requested: a(Visibility::Direct),
            parent: None,
            mentions: vec![w.remote_stranger.clone()],
            expect: Err(ComposeError::MentionBlocked(w.remote_stranger.id)),
        },
        ComposeRow {
            name: "community post by a non-member",
            author: &w.local_stranger,
            requested: a(Visibility::Community).in_community(w.community),
            parent: None,
            mentions: vec![],
            expect: Err(ComposeError::NotACommunityMember),
        },
        ComposeRow {
            name: "community post without a community",
            author: &w.local_member,
            requested: a(Visibility::Community),
            parent: None,
            mentions: vec![],
            expect: Err(ComposeError::CommunityMissing),
        },
        // only_members_post_in_a_community: public threads in a community need membership too.
        ComposeRow {
            name: "public thread in a community by a non-member",
            author: &w.local_stranger,
            requested: a(Visibility::Public).in_community(w.community),
            parent: None,
            mentions: vec![],
            expect: Err(ComposeError::NotACommunityMember),
        },
        ComposeRow {
            name: "public thread in a community by a member",
            author: &w.local_member,
            requested: a(Visibility::Public).in_community(w.community),
            parent: None,
            mentions: vec![],
            expect: Ok(a(Visibility::Public).in_community(w.community)),
        },
        ComposeRow {
            name: "community post by a member",
            author: &w.local_member,
            requested: a(Visibility::Community).in_community(w.community),
            parent: None,
            mentions: vec![],
            expect: Ok(a(Visibility::Community).in_community(w.community)),
        },
    ];
    check_compose(&w.facts, &rows);
}

/// Every allowing rule used by the read gate is reachable from the named world, and each
/// `decide_view` answer agrees with `can_see` (checked inside `check_view`); a smoke test that
/// the rig itself is wired as its doc says.
#[test]
fn the_rig_is_wired_as_documented() {
    let mut w = World::new();
    let followers = w.followers();
    for (name, party) in w.accounts() {
        let rule = decide_view(&w.facts, &Viewer::Account(party.clone()), &followers);
        let expect = match name {
            "author" => Rule::AuthorSeesOwn,
            "local_follower"
            | "remote_follower"
            | "silenced_domain_user"
            | "unlisted_domain_user" => Rule::Follower,
            "blocked_local" | "blocked_remote" => Rule::Blocked,
            "suspended_local" => Rule::ViewerSuspended,
            "blocked_domain_user" => Rule::DomainBlocked,
            "mentioned_local" | "mentioned_remote" => Rule::MentionDoesNotWiden,
            _ => Rule::NotAFollower,
        };
        assert_eq!(rule, expect, "{name}");
    }
}

/// A followers-only reply reaches the author of the post it answers, even when that author
/// does not follow the replier: they are inside the parent's audience by definition. It
/// reaches nobody else outside the replier's followers, and never past the root.
#[test]
fn a_reply_reaches_the_author_it_answers() {
    let mut w = World::new();
    let root = w.followers();
    let local_follower = w.local_follower.clone();
    let author = w.author.clone();
    let stranger = w.local_stranger.clone();
    let reply = w.reply(&root, &local_follower, Audience::new(Visibility::Followers));
    check_view(
        &w.facts,
        &[
            row(
                "the author it answers",
                acct(&author),
                &reply,
                Rule::RepliedTo,
            ),
            row("a stranger", acct(&stranger), &reply, Rule::NotAFollower),
        ],
    );
}

#[test]
fn direct_messages_respect_professional_boundaries() {
    use cohort_model::{DirectMessagesFrom, Id};
    use cohort_policy::{ComposeError, direct_messages_respect_professional_boundaries};
    let clinician = Id::from_i64(1 << 20).unwrap();
    let patient = Id::from_i64(2 << 20).unwrap();
    let direct = cohort_policy::Audience {
        visibility: Visibility::Direct,
        local_only: false,
        community: None,
    };
    let public = cohort_policy::Audience {
        visibility: Visibility::Public,
        ..direct
    };
    let recipients = [
        (patient, DirectMessagesFrom::Everyone),
        (clinician, DirectMessagesFrom::Colleagues),
    ];
    assert_eq!(
        direct_messages_respect_professional_boundaries(&direct, patient, false, None, &recipients),
        Err(ComposeError::OutsideProfessionalBoundary(clinician))
    );
    assert_eq!(
        direct_messages_respect_professional_boundaries(&direct, patient, true, None, &recipients),
        Ok(())
    );
    assert_eq!(
        direct_messages_respect_professional_boundaries(&public, patient, false, None, &recipients),
        Ok(())
    );
    assert_eq!(
        direct_messages_respect_professional_boundaries(
            &direct,
            patient,
            false,
            None,
            &recipients[..1]
        ),
        Ok(())
    );
    // The clinician wrote to the patient first: the patient may answer.
    let mut opened = cohort_policy::PostFacts::new(
        Id::from_i64(3 << 20).unwrap(),
        cohort_policy::Party {
            id: clinician,
            domain: None,
            suspended: false,
        },
        direct,
    );
    opened.addressed.push(patient);
    assert_eq!(
        direct_messages_respect_professional_boundaries(
            &direct,
            patient,
            false,
            Some(&opened),
            &recipients
        ),
        Ok(())
    );
    // `route`: refused the same way, named so the API can give the contact routes.
    let routed = [(clinician, DirectMessagesFrom::Route)];
    assert_eq!(
        direct_messages_respect_professional_boundaries(&direct, patient, false, None, &routed),
        Err(ComposeError::RoutedToContactChannel(clinician))
    );
    assert_eq!(
        direct_messages_respect_professional_boundaries(&direct, patient, true, None, &routed),
        Ok(())
    );
    assert_eq!(
        direct_messages_respect_professional_boundaries(
            &direct,
            patient,
            false,
            Some(&opened),
            &routed
        ),
        Ok(())
    );
}

#[test]
fn limited_accounts_reach_only_their_followers() {
    let mut w = World::new();
    let public = w.public();
    let followers = w.followers();
    w.facts.limited.insert(w.author.id);
    let moderator = w.local_member.clone();
    w.facts.moderators.insert(moderator.id);
    // A limited account's boost of someone else's public post is hidden the same way.
    let other = w.local_stranger.clone();
    let by_other = w.post_by(&other, Audience::new(Visibility::Public));
    let author = w.author.clone();
    let boost = w.boost(&by_other, &author);
    // A reply by the limited account reaches the author it answers.
    let root = w.post_by(&other, Audience::new(Visibility::Public));
    let reply = w.reply(&root, &author, Audience::new(Visibility::Public));
    // An account of a silenced instance is limited for local viewers.
    let quiet = w.silenced_domain_user.clone();
    let by_quiet = w.post_by(&quiet, Audience::new(Visibility::Public));
    let local_follower = w.local_follower.clone();
    w.follow(&local_follower, &quiet);
    check_view(
        &w.facts,
        &[
            row("the author", acct(&author), &public, Rule::AuthorSeesOwn),
            row(
                "a local follower",
                acct(&w.local_follower),
                &public,
                Rule::OpenAudience,
            ),
            row(
                "a remote follower",
                acct(&w.remote_follower),
                &followers,
                Rule::Follower,
            ),
            row(
                "a mentioned account",
                acct(&w.mentioned_local),
                &public,
                Rule::OpenAudience,
            ),
            row("a moderator", acct(&moderator), &public, Rule::OpenAudience),
            row(
                "a local stranger",
                acct(&w.local_stranger),
                &public,
                Rule::AuthorLimited,
            ),
            row(
                "a remote stranger",
                acct(&w.remote_stranger),
                &public,
                Rule::AuthorLimited,
            ),
            row("anonymous", Viewer::Anonymous, &public, Rule::AuthorLimited),
            row("another instance", inst(BETA), &public, Rule::OpenAudience),
            row(
                "the limited account's boost, a stranger",
                acct(&w.remote_stranger),
                &boost,
                Rule::AuthorLimited,
            ),
            row(
                "the limited account's boost, a follower",
                acct(&w.local_follower),
                &boost,
                Rule::OpenAudience,
            ),
            row(
                "a reply, the author it answers",
                acct(&other),
                &reply,
                Rule::RepliedTo,
            ),
            row(
                "a reply, a stranger",
                acct(&w.remote_stranger),
                &reply,
                Rule::AuthorLimited,
            ),
            row(
                "silenced instance's account, a local follower",
                acct(&w.local_follower),
                &by_quiet,
                Rule::OpenAudience,
            ),
            row(
                "silenced instance's account, a local stranger",
                acct(&w.local_stranger),
                &by_quiet,
                Rule::AuthorLimited,
            ),
            row(
                "silenced instance's account, anonymous",
                Viewer::Anonymous,
                &by_quiet,
                Rule::AuthorLimited,
            ),
        ],
    );
}
