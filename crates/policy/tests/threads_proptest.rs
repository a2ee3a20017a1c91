//! Random threads: replies up to depth 6, mentions and boosts, with random visibilities and
//! random follow, membership and block facts. Whatever the engine lets through must lie
//! inside the audience of the post, of every ancestor and of the thread's root, as computed
//! by an oracle written here independently of the engine; and `audience_for_reply` never
//! yields an audience wider than its parent's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;

use cohort_model::{Domain, Id, Visibility};
use cohort_policy::{
    Audience, CommunityFacts, FactSet, Party, PostFacts, Recipient, Rule, Subject, Viewer,
    audience_for_reply, decide_view, plan_delivery,
};
use proptest::prelude::*;

const LOCALS: usize = 4;
/// Remote accounts and their domains (delta.example has no shared inbox).
const REMOTES: [&str; 6] = [
    "beta.example",
    "beta.example",
    "beta.example",
    "gamma.example",
    "gamma.example",
    "delta.example",
];
const ACCOUNTS: usize = LOCALS + REMOTES.len();
const DOMAINS: [&str; 3] = ["beta.example", "gamma.example", "delta.example"];
const COMMUNITY: i64 = 100;
const MAX_DEPTH: usize = 6;

fn id(n: i64) -> Id {
    Id::from_i64(n).unwrap()
}

fn party(i: usize) -> Party {
    let n = i as i64 + 1;
    if i < LOCALS {
        Party::local(id(n))
    } else {
        Party::remote(id(n), Domain::parse(REMOTES[i - LOCALS]).unwrap())
    }
}

fn recipient(i: usize) -> Recipient {
    let p = party(i);
    let d = p.domain.clone().unwrap();
    let actor = format!("https://{d}/users/{}", p.id);
    Recipient {
        party: p,
        inbox: format!("{actor}/inbox"),
        actor_uri: actor,
        shared_inbox: (d.as_str() != "delta.example").then(|| format!("https://{d}/inbox")),
    }
}

fn visibility(n: u8) -> Visibility {
    Visibility::ALL[usize::from(n) % Visibility::ALL.len()]
}

#[derive(Clone, Debug)]
struct PostSpec {
    parent: usize,
    author: usize,
    visibility: u8,
    local_only: bool,
    in_community: bool,
    addressed: u16,
}

#[derive(Clone, Debug)]
struct Spec {
    follows: Vec<(usize, usize)>,
    blocks: Vec<(usize, usize)>,
    members: u16,
    silence_gamma: bool,
    community_lists_gamma_only: bool,
    posts: Vec<PostSpec>,
    boosts: Vec<(usize, usize, u8)>,
}

fn spec() -> impl Strategy<Value = Spec> {
    let post = (
        any::<usize>(),
        0..ACCOUNTS,
        0u8..6,
        any::<bool>(),
        any::<bool>(),
        any::<u16>(),
    )
        .prop_map(
            |(parent, author, visibility, local_only, in_community, addressed)| PostSpec {
                parent,
                author,
                visibility,
                local_only,
                in_community,
                addressed,
            },
        );
    (
        prop::collection::vec((0..ACCOUNTS, 0..ACCOUNTS), 0..30),
        prop::collection::vec((0..ACCOUNTS, 0..ACCOUNTS), 0..3),
        any::<u16>(),
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(post, 1..12),
        prop::collection::vec((any::<usize>(), 0..ACCOUNTS, 0u8..6), 0..4),
    )
        .prop_map(
            |(
                follows,
                blocks,
                members,
                silence_gamma,
                community_lists_gamma_only,
                posts,
                boosts,
            )| {
                Spec {
                    follows,
                    blocks,
                    members,
                    silence_gamma,
                    community_lists_gamma_only,
                    posts,
                    boosts,
                }
            },
        )
}

fn facts(spec: &Spec) -> FactSet {
    let mut f = FactSet::default();
    for &(a, b) in &spec.follows {
        if a != b {
            f.follows.insert((party(a).id, party(b).id));
        }
    }
    for &(a, b) in &spec.blocks {
        if a != b {
            f.blocks.insert((party(a).id, party(b).id));
        }
    }
    let c = id(COMMUNITY);
    for i in 0..ACCOUNTS {
        if spec.members & (1 << i) != 0 {
            f.add_member(c, &party(i));
        }
    }
    if spec.silence_gamma {
        f.blocked_domains
            .insert(Domain::parse("gamma.example").unwrap(), false);
    }
    f.communities.insert(
        c,
        CommunityFacts {
            federates_with: spec
                .community_lists_gamma_only
                .then(|| [Domain::parse("gamma.example").unwrap()].into()),
            local_only: false,
        },
    );
    f
}

fn audience_of(p: &PostSpec) -> Audience {
    let v = visibility(p.visibility);
    let mut a = Audience::new(v);
    if p.local_only {
        a = a.local_only();
    }
    if p.in_community || v == Visibility::Community {
        a = a.in_community(id(COMMUNITY));
    }
    a
}

/// The thread: each post carries its full chain of ancestors.
fn thread(spec: &Spec) -> Vec<PostFacts> {
    let mut posts: Vec<PostFacts> = Vec::new();
    let mut depth: Vec<usize> = Vec::new();
    let mut parent_of: Vec<Option<usize>> = Vec::new();
    for (i, p) in spec.posts.iter().enumerate() {
        let mut parent = (i > 0).then(|| p.parent % i);
        while let Some(q) = parent {
            if depth[q] < MAX_DEPTH {
                break;
            }
            parent = parent_of[q];
        }
        let mut post = PostFacts::new(id(1000 + i as i64), party(p.author), audience_of(p));
        post.addressed = (0..ACCOUNTS)
            .filter(|a| p.addressed & (1 << a) != 0)
            .map(|a| party(a).id)
            .collect();
        post.parent = parent.map(|q| Box::new(posts[q].clone()));
        depth.push(parent.map_or(0, |q| depth[q] + 1));
        parent_of.push(parent);
        posts.push(post);
    }
    posts
}

fn boosts(spec: &Spec, posts: &[PostFacts]) -> Vec<PostFacts> {
    spec.boosts
        .iter()
        .enumerate()
        .map(|(n, &(target, booster, vis))| {
            let original = &posts[target % posts.len()];
            // The boost's own audience is whatever a remote Announce claims.
            let mut boost = PostFacts::new(
                id(5000 + n as i64),
                party(booster),
                Audience::new(visibility(vis)),
            );
            boost.reblog_of = Some(Box::new(original.clone()));
            boost
        })
        .collect()
}

fn viewers() -> Vec<Viewer> {
    let mut v: Vec<Viewer> = (0..ACCOUNTS).map(|i| Viewer::Account(party(i))).collect();
    v.push(Viewer::Anonymous);
    v.extend(
        DOMAINS
            .iter()
            .map(|d| Viewer::Instance(Domain::parse(d).unwrap())),
    );
    v
}

/// The oracle: is `viewer` inside `post`'s own audience? Written from DESIGN.md, not from
/// the engine; it ignores blocks, suspensions and domain policy (which only ever take away),
/// so it is an upper bound on what the engine may allow.
fn oracle_admits(f: &FactSet, viewer: &Viewer, post: &PostFacts) -> bool {
    let account = match viewer {
        Viewer::Account(p) => Some(p),
        _ => None,
    };
    if account.is_some_and(|p| p.id == post.author.id) {
        return true;
    }
    let a = &post.audience;
    let stays_home = a.local_only || a.visibility == Visibility::Local;
    let is_local_account = account.is_some_and(|p| p.domain.is_none());
    if stays_home && !is_local_account {
        return false;
    }
    let viewer_domain = match viewer {
        Viewer::Account(p) => p.domain.clone(),
        Viewer::Instance(d) => Some(d.clone()),
        Viewer::Anonymous => None,
    };
    if let (Some(c), Some(d)) = (a.community, &viewer_domain)
        && let Some(listed) = f
            .communities
            .get(&c)
            .and_then(|c| c.federates_with.as_ref())
        && !listed.contains(d)
    {
        return false;
    }
    // DESIGN.md and the client notes: a reply reaches the author it answers (who is inside
    // the parent's audience, which the chain check verifies separately).
    let answers_viewer = post
        .parent
        .as_deref()
        .is_some_and(|parent| account.is_some_and(|p| p.id == parent.author.id));
    if answers_viewer {
        return true;
    }
    let addressed = account.is_some_and(|p| post.addressed.contains(&p.id));
    match a.visibility {
        Visibility::Public | Visibility::Unlisted | Visibility::Local => true,
        Visibility::Followers => match account {
            Some(p) => {
                f.follows.contains(&(p.id, post.author.id))
                    || (addressed && post.author.domain.is_some())
            }
            None => false,
        },
        Visibility::Direct => addressed,
        Visibility::Community => match (a.community, viewer) {
            (Some(c), Viewer::Account(p)) => f.memberships.contains(&(c, p.id)),
            // Issue 8: an instance hosting a current member may fetch (the oracle ignores
            // blocks, which only ever take away).
            (Some(c), Viewer::Instance(d)) => f.members_by_domain.contains_key(&(c, d.clone())),
            _ => false,
        },
    }
}

/// The post and all its ancestors, the root last.
fn chain(post: &PostFacts) -> Vec<&PostFacts> {
    let mut out = vec![post];
    let mut p = post.parent.as_deref();
    while let Some(q) = p {
        out.push(q);
        p = q.parent.as_deref();
    }
    out
}

/// Whether every post of the chain is open (public or unlisted, not local-only).
fn oracle_open(post: &PostFacts) -> bool {
    chain(post).iter().all(|p| {
        matches!(
            p.audience.visibility,
            Visibility::Public | Visibility::Unlisted
        ) && !p.audience.local_only
    })
}

/// The subject whose audience governs: the original of a boost, else the post.
fn governing(post: &PostFacts) -> &PostFacts {
    post.reblog_of.as_deref().unwrap_or(post)
}

fn check_read(f: &FactSet, post: &PostFacts) -> Result<(), TestCaseError> {
    for viewer in viewers() {
        let rule = decide_view(f, &viewer, post);
        // An author always sees their own words (they could not have replied to a parent
        // they cannot see: `check_new_post` refuses it); everyone else must be inside.
        if !rule.allows() || rule == Rule::AuthorSeesOwn {
            continue;
        }
        for (level, a) in chain(governing(post)).into_iter().enumerate() {
            prop_assert!(
                oracle_admits(f, &viewer, a),
                "{viewer:?} allowed ({rule}) post {} but is outside the audience of its \
                 ancestor at level {level} ({:?} by {:?})",
                post.id,
                a.audience,
                a.author
            );
        }
    }
    Ok(())
}

fn check_delivery(f: &FactSet, post: &PostFacts) -> Result<(), TestCaseError> {
    let candidates: Vec<Recipient> = (LOCALS..ACCOUNTS).map(recipient).collect();
    let plan = plan_delivery(
        f,
        &Subject::Post {
            post,
            candidates: &candidates,
        },
    );
    let subject = governing(post);
    let open = oracle_open(subject);
    let shared: HashSet<&str> = candidates
        .iter()
        .filter_map(|r| r.shared_inbox.as_deref())
        .collect();
    for permit in &plan.permits {
        if shared.contains(permit.inbox()) {
            prop_assert!(open, "restricted post {} sent to a shared inbox", post.id);
        }
    }
    for r in &candidates {
        let named = plan.permits.iter().any(|p| {
            p.inbox() == r.inbox
                || p.addressing().to.contains(&r.actor_uri)
                || p.addressing().cc.contains(&r.actor_uri)
        });
        // As on the read side, an author may be sent their own post.
        if !named || r.party.id == subject.author.id {
            continue;
        }
        let viewer = Viewer::Account(r.party.clone());
        for (level, a) in chain(subject).into_iter().enumerate() {
            prop_assert!(
                oracle_admits(f, &viewer, a),
                "{} received post {} but is outside the audience at level {level} ({:?})",
                r.actor_uri,
                post.id,
                a.audience
            );
        }
    }
    Ok(())
}

/// Whether `result` is no wider than `parent` by the audience labels: never a wider
/// visibility, local-only if the parent is, in the parent's community if it has one.
fn no_wider(result: Audience, parent: Audience) -> bool {
    use Visibility::*;
    let visibility_ok = match parent.visibility {
        Public => true,
        Unlisted => result.visibility != Public,
        Local => !matches!(result.visibility, Public | Unlisted),
        Followers => matches!(result.visibility, Followers | Direct),
        Community => matches!(result.visibility, Community | Direct),
        Direct => result.visibility == Direct,
    };
    let local_ok = !parent.local_only || result.local_only;
    let local_vis_ok = result.visibility != Local || result.local_only;
    let community_ok = parent.community.is_none() || result.community == parent.community;
    visibility_ok && local_ok && local_vis_ok && community_ok
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 300,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn nothing_reaches_outside_the_roots_audience(spec in spec()) {
        let f = facts(&spec);
        let posts = thread(&spec);
        for post in posts.iter().chain(boosts(&spec, &posts).iter()) {
            check_read(&f, post)?;
            check_delivery(&f, post)?;
        }
    }

    #[test]
    fn reply_audiences_never_widen(spec in spec()) {
        let posts = thread(&spec);
        for (post, p) in posts.iter().zip(&spec.posts) {
            let Some(parent) = post.parent.as_deref() else { continue };
            let requested = audience_of(p);
            let got = audience_for_reply(requested, parent);
            prop_assert!(
                no_wider(got, parent.audience),
                "requested {requested:?} under {:?} gave {got:?}",
                parent.audience
            );
        }
    }

    /// A thread whose replies were composed through `audience_for_reply` (as the API does)
    /// still never reaches past its root.
    #[test]
    fn composed_threads_stay_inside_the_root(spec in spec()) {
        let f = facts(&spec);
        let mut posts: Vec<PostFacts> = thread(&spec);
        for i in 0..posts.len() {
            if let Some(parent) = posts[i].parent.clone() {
                // re-link to the recomposed parent
                let parent_index = posts.iter().position(|q| q.id == parent.id).unwrap();
                let new_parent = posts[parent_index].clone();
                let requested = posts[i].audience;
                posts[i].audience = audience_for_reply(requested, &new_parent);
                posts[i].parent = Some(Box::new(new_parent));
            }
        }
        for post in &posts {
            check_read(&f, post)?;
            check_delivery(&f, post)?;
            if let Some(parent) = post.parent.as_deref() {
                // Composed audiences are already narrowed: narrowing again changes nothing.
                prop_assert_eq!(audience_for_reply(post.audience, parent), post.audience);
            }
        }
    }
}
