//! A small named-fixture world for the audience engine's tests, in the spirit of GoToSocial's
//! test rig: every account has a name that says what it is, and the facts are set up so that
//! each account is denied (or allowed) for exactly one reason.
//!
//! - `author` (local) writes the posts. Followers: `local_follower`, `remote_follower`, and,
//!   to prove that the follow is not what lets them in, `blocked_local`, `blocked_remote`,
//!   `suspended_local`, `blocked_domain_user`, `silenced_domain_user` and
//!   `unlisted_domain_user`.
//! - The community (`w.community`) has members `author`, `local_member`, `remote_member`, and
//!   the excluded `blocked_local`, `blocked_remote`, `suspended_local`, `blocked_domain_user`.
//!   `remote_nonmember` shares `remote_member`'s instance (gamma.example) but is not a member.
//! - Every post addresses `mentioned_local` and `mentioned_remote`, and also the blocked
//!   accounts (who must still get nothing).
//! - Domains: beta.example and gamma.example have shared inboxes, delta.example (where
//!   `mentioned_remote` lives) has none, evil.example is suspended, quiet.example is silenced,
//!   outside.example is left off the allowlist in [`World::allowlist`].
//!
//! Expectations are data: each gate has one `check_*` helper that runs a table of rows and
//! reports every failing row by name.

#![allow(dead_code)] // each test binary uses a different part of the rig

use std::collections::HashSet;
use std::fmt::Write as _;

use cohort_model::{Domain, Id, Visibility};
use cohort_policy::{
    Audience, CommunityFacts, ComposeError, DeliveryPlan, FactSet, FederationMode, Party,
    PostFacts, Recipient, Rule, Subject, Viewer, decide_view, plan_delivery,
};

/// An id from a small number.
pub fn id(n: i64) -> Id {
    Id::from_i64(n).expect("positive id")
}

/// A domain from a literal.
pub fn domain(name: &str) -> Domain {
    Domain::parse(name).expect("valid domain")
}

pub const BETA: &str = "beta.example";
pub const GAMMA: &str = "gamma.example";
pub const DELTA: &str = "delta.example";
pub const EVIL: &str = "evil.example";
pub const QUIET: &str = "quiet.example";
pub const OUTSIDE: &str = "outside.example";

/// Domains whose instances have no shared inbox (GoToSocial-like).
const NO_SHARED_INBOX: [&str; 1] = [DELTA];

/// The named world: facts plus every named account.
#[derive(Clone, Debug)]
pub struct World {
    pub facts: FactSet,
    pub community: Id,
    pub author: Party,
    pub local_follower: Party,
    pub local_stranger: Party,
    pub local_member: Party,
    pub mentioned_local: Party,
    pub blocked_local: Party,
    pub suspended_local: Party,
    pub remote_follower: Party,
    pub remote_stranger: Party,
    pub remote_member: Party,
    pub remote_nonmember: Party,
    pub mentioned_remote: Party,
    pub blocked_remote: Party,
    pub blocked_domain_user: Party,
    pub silenced_domain_user: Party,
    pub unlisted_domain_user: Party,
    next_post: i64,
}

impl World {
    /// The world with an open (blocklist) federation mode.
    pub fn new() -> Self {
        let remote = |n, d: &str| Party::remote(id(n), domain(d));
        let mut suspended_local = Party::local(id(7));
        suspended_local.suspended = true;
        let mut w = World {
            facts: FactSet::default(),
            community: id(100),
            author: Party::local(id(1)),
            local_follower: Party::local(id(2)),
            local_stranger: Party::local(id(3)),
            local_member: Party::local(id(4)),
            mentioned_local: Party::local(id(5)),
            blocked_local: Party::local(id(6)),
            suspended_local,
            remote_follower: remote(10, BETA),
            remote_stranger: remote(11, BETA),
            remote_member: remote(12, GAMMA),
            remote_nonmember: remote(13, GAMMA),
            mentioned_remote: remote(14, DELTA),
            blocked_remote: remote(15, BETA),
            blocked_domain_user: remote(16, EVIL),
            silenced_domain_user: remote(17, QUIET),
            unlisted_domain_user: remote(18, OUTSIDE),
            next_post: 1000,
        };
        let author = w.author.id;
        for follower in [
            &w.local_follower,
            &w.remote_follower,
            &w.blocked_local,
            &w.blocked_remote,
            &w.suspended_local,
            &w.blocked_domain_user,
            &w.silenced_domain_user,
            &w.unlisted_domain_user,
        ] {
            w.facts.follows.insert((follower.id, author));
        }
        w.facts.blocks.insert((author, w.blocked_local.id));
        w.facts.blocks.insert((author, w.blocked_remote.id));
        w.facts.blocked_domains.insert(domain(EVIL), true);
        w.facts.blocked_domains.insert(domain(QUIET), false);
        let members = [
            w.author.clone(),
            w.local_member.clone(),
            w.remote_member.clone(),
            w.blocked_local.clone(),
            w.blocked_remote.clone(),
            w.suspended_local.clone(),
            w.blocked_domain_user.clone(),
        ];
        for m in &members {
            w.add_member(w.community, m);
        }
        w.facts
            .communities
            .insert(w.community, CommunityFacts::default());
        w
    }

    /// The same world on an instance that federates only with listed domains: every named
    /// domain but outside.example is listed (evil.example stays suspended).
    pub fn allowlist() -> Self {
        let mut w = World::new();
        w.facts.mode = FederationMode::Allowlist;
        w.facts.allowed_domains = [BETA, GAMMA, DELTA, QUIET, EVIL]
            .into_iter()
            .map(domain)
            .collect();
        w
    }

    /// Makes `who` a member of `community` (and indexes it by domain).
    pub fn add_member(&mut self, community: Id, who: &Party) {
        self.facts.add_member(community, who);
    }

    /// Makes `follower` follow `followed`.
    pub fn follow(&mut self, follower: &Party, followed: &Party) {
        self.facts.follows.insert((follower.id, followed.id));
    }

    /// Every named account, by name.
    pub fn accounts(&self) -> Vec<(&'static str, &Party)> {
        vec![
            ("author", &self.author),
            ("local_follower", &self.local_follower),
            ("local_stranger", &self.local_stranger),
            ("local_member", &self.local_member),
            ("mentioned_local", &self.mentioned_local),
            ("blocked_local", &self.blocked_local),
            ("suspended_local", &self.suspended_local),
            ("remote_follower", &self.remote_follower),
            ("remote_stranger", &self.remote_stranger),
            ("remote_member", &self.remote_member),
            ("remote_nonmember", &self.remote_nonmember),
            ("mentioned_remote", &self.mentioned_remote),
            ("blocked_remote", &self.blocked_remote),
            ("blocked_domain_user", &self.blocked_domain_user),
            ("silenced_domain_user", &self.silenced_domain_user),
            ("unlisted_domain_user", &self.unlisted_domain_user),
        ]
    }

    /// A named account.
    pub fn named(&self, name: &str) -> &Party {
        self.accounts()
            .into_iter()
            .find(|(n, _)| *n == name)
            .map(|(_, p)| p)
            .unwrap_or_else(|| panic!("no account named {name}"))
    }

    /// Every remote named account, as delivery candidates.
    pub fn remote_recipients(&self) -> Vec<Recipient> {
        self.accounts()
            .into_iter()
            .filter(|(_, p)| !p.is_local())
            .map(|(_, p)| recipient(p))
            .collect()
    }

    /// A fresh post id.
    pub fn next_id(&mut self) -> Id {
        self.next_post += 1;
        id(self.next_post)
    }

    /// A post by `author` with `audience`, addressing the mentioned and the blocked accounts.
    pub fn post_by(&mut self, author: &Party, audience: Audience) -> PostFacts {
        let mut post = PostFacts::new(self.next_id(), author.clone(), audience);
        post.addressed = vec![
            self.mentioned_local.id,
            self.mentioned_remote.id,
            self.blocked_local.id,
            self.blocked_remote.id,
        ];
        post
    }

    /// A post by `author` of a visibility (community posts go to the world's community).
    pub fn post(&mut self, visibility: Visibility) -> PostFacts {
        let author = self.author.clone();
        let audience = self.audience(visibility);
        self.post_by(&author, audience)
    }

    /// The audience for a visibility (community visibility in the world's community).
    pub fn audience(&self, visibility: Visibility) -> Audience {
        let audience = Audience::new(visibility);
        if visibility == Visibility::Community {
            audience.in_community(self.community)
        } else {
            audience
        }
    }

    pub fn public(&mut self) -> PostFacts {
        self.post(Visibility::Public)
    }

    pub fn unlisted(&mut self) -> PostFacts {
        self.post(Visibility::Unlisted)
    }

    pub fn followers(&mut self) -> PostFacts {
        self.post(Visibility::Followers)
    }

    pub fn direct(&mut self) -> PostFacts {
        self.post(Visibility::Direct)
    }

    pub fn community_post(&mut self) -> PostFacts {
        self.post(Visibility::Community)
    }

    pub fn local(&mut self) -> PostFacts {
        self.post(Visibility::Local)
    }

    /// Followers-only and local-only (GoToSocial's `local_only` with `private`).
    pub fn followers_local_only(&mut self) -> PostFacts {
        let author = self.author.clone();
        self.post_by(&author, Audience::new(Visibility::Followers).local_only())
    }

    /// The matrix's posts, by name.
    pub fn posts_by_kind(&mut self) -> Vec<(&'static str, PostFacts)> {
        vec![
            ("public", self.public()),
            ("unlisted", self.unlisted()),
            ("followers", self.followers()),
            ("direct", self.direct()),
            ("community", self.community_post()),
            ("local", self.local()),
            ("followers_local_only", self.followers_local_only()),
        ]
    }

    /// A reply by `author` to `parent` with `audience`, addressing nobody.
    pub fn reply(&mut self, parent: &PostFacts, author: &Party, audience: Audience) -> PostFacts {
        let mut post = PostFacts::new(self.next_id(), author.clone(), audience);
        post.parent = Some(Box::new(parent.clone()));
        post
    }

    /// A boost of `original` by `booster`; the boost's own audience is the original's.
    pub fn boost(&mut self, original: &PostFacts, booster: &Party) -> PostFacts {
        let mut post = PostFacts::new(self.next_id(), booster.clone(), original.audience);
        post.reblog_of = Some(Box::new(original.clone()));
        post
    }
}

impl Default for World {
    fn default() -> Self {
        World::new()
    }
}

/// A remote account's actor URI.
pub fn actor_uri(p: &Party) -> String {
    let d = p.domain.as_ref().map_or("local.example", |d| d.as_str());
    format!("https://{d}/users/{}", p.id)
}

/// A remote account as a delivery candidate, with its inbox and its instance's shared inbox.
pub fn recipient(p: &Party) -> Recipient {
    let d = p
        .domain
        .as_ref()
        .expect("only remote accounts are delivery candidates");
    Recipient {
        party: p.clone(),
        actor_uri: actor_uri(p),
        inbox: format!("{}/inbox", actor_uri(p)),
        shared_inbox: (!NO_SHARED_INBOX.contains(&d.as_str()))
            .then(|| format!("https://{}/inbox", d.as_str())),
    }
}

/// Whether a plan delivers to `r` at all: a permit to its personal or shared inbox, or
/// addressing that names it.
pub fn reaches(plan: &DeliveryPlan, r: &Recipient) -> bool {
    plan.permits.iter().any(|p| {
        p.inbox() == r.inbox
            || Some(p.inbox()) == r.shared_inbox.as_deref()
            || names(p.addressing(), &r.actor_uri)
    })
}

/// Whether `r` receives the activity in a plan with several candidates: its personal inbox
/// has a permit, or a permit's addressing names it, or (open posts only, where the receiving
/// instance distributes to its followers) its shared inbox has a permit and `r` itself was
/// not denied.
pub fn received(plan: &DeliveryPlan, r: &Recipient) -> bool {
    let denied = plan.denials.iter().any(|d| d.account == r.party.id);
    plan.permits.iter().any(|p| {
        p.inbox() == r.inbox
            || names(p.addressing(), &r.actor_uri)
            || (!denied
                && p.addressing().public.is_some()
                && Some(p.inbox()) == r.shared_inbox.as_deref())
    })
}

/// Whether a permit's addressing names an actor.
pub fn names(a: &cohort_policy::Addressing, actor: &str) -> bool {
    a.to.iter().chain(a.cc.iter()).any(|x| x == actor)
}

/// A set of inboxes of a plan's permits.
pub fn inboxes(plan: &DeliveryPlan) -> Vec<String> {
    let mut v: Vec<String> = plan.permits.iter().map(|p| p.inbox().to_owned()).collect();
    v.sort();
    v
}

/// Plans delivery of a post to candidates.
pub fn plan_post(facts: &FactSet, post: &PostFacts, candidates: &[Recipient]) -> DeliveryPlan {
    plan_delivery(facts, &Subject::Post { post, candidates })
}

fn finish(gate: &str, failures: Vec<String>, total: usize) {
    if !failures.is_empty() {
        let mut msg = format!("{} of {total} {gate} rows failed:\n", failures.len());
        for f in failures {
            let _ = writeln!(msg, "  {f}");
        }
        panic!("{msg}");
    }
}

/// A read-gate row: `viewer` looking at `post` is decided by `expect`.
pub struct ViewRow<'a> {
    pub name: &'a str,
    pub viewer: Viewer,
    pub post: &'a PostFacts,
    pub expect: Rule,
}

/// The read gate's check: runs every row, then reports every failing row by name.
pub fn check_view(facts: &FactSet, rows: &[ViewRow<'_>]) {
    let mut failures = Vec::new();
    for row in rows {
        let got = decide_view(facts, &row.viewer, row.post);
        let via_can_see = cohort_policy::can_see(facts, &row.viewer, row.post.clone());
        let consistent = match &via_can_see {
            Ok(v) => v.rule() == got && got.allows(),
            Err(h) => h.0 == got && !got.allows(),
        };
        if got != row.expect || !consistent {
            failures.push(format!(
                "{}: expected {}, got {} (can_see consistent: {consistent})",
                row.name, row.expect, got
            ));
        }
    }
    finish("read-gate", failures, rows.len());
}

/// A delivery-gate row: planning `post` to `candidates` reaches exactly `expect_reached`
/// (by actor URI), and every permit passes the structural checks below.
pub struct DeliveryRow<'a> {
    pub name: &'a str,
    pub post: &'a PostFacts,
    pub candidates: Vec<Recipient>,
    pub expect_reached: Vec<&'a Party>,
}

/// The delivery gate's check. For every row: the recipients reached (see [`received`]) are
/// exactly the expected ones; restricted posts have no Public, no followers collection and no
/// shared inbox; every permit's addressing names only reached recipients of its own instance
/// (restricted) or of the expected set (open).
pub fn check_delivery(facts: &FactSet, rows: &[DeliveryRow<'_>]) {
    let mut failures = Vec::new();
    for row in rows {
        let plan = plan_post(facts, row.post, &row.candidates);
        let expected: HashSet<String> = row.expect_reached.iter().map(|p| actor_uri(p)).collect();
        let mut reached: Vec<String> = row
            .candidates
            .iter()
            .filter(|r| received(&plan, r))
            .map(|r| r.actor_uri.clone())
            .collect();
        reached.sort();
        reached.dedup();
        let reached_set: HashSet<String> = reached.iter().cloned().collect();
        let extra: Vec<&String> = reached.iter().filter(|a| !expected.contains(*a)).collect();
        let mut missing: Vec<&String> = expected
            .iter()
            .filter(|a| !reached_set.contains(*a))
            .collect();
        missing.sort();
        if !extra.is_empty() || !missing.is_empty() {
            failures.push(format!(
                "{}: reached {reached:?}; unexpected {extra:?}; missing {missing:?}",
                row.name
            ));
        }
        for permit in &plan.permits {
            let a = permit.addressing();
            if a.public.is_none() {
                if a.author_followers.is_some() {
                    failures.push(format!(
                        "{}: restricted permit to {} names the followers collection",
                        row.name,
                        permit.inbox()
                    ));
                }
                if row
                    .candidates
                    .iter()
                    .any(|r| r.shared_inbox.as_deref() == Some(permit.inbox()))
                {
                    failures.push(format!(
                        "{}: restricted permit goes to shared inbox {}",
                        row.name,
                        permit.inbox()
                    ));
                }
                for named in a.to.iter().chain(a.cc.iter()) {
                    let on_same_instance = row.candidates.iter().any(|r| {
                        &r.actor_uri == named && r.party.domain.as_ref() == Some(permit.domain())
                    });
                    if !on_same_instance || !expected.contains(named) {
                        failures.push(format!(
                            "{}: permit to {} names {named}, not a permitted recipient of {}",
                            row.name,
                            permit.inbox(),
                            permit.domain()
                        ));
                    }
                }
            } else {
                for named in a.to.iter().chain(a.cc.iter()) {
                    if !expected.contains(named) {
                        failures.push(format!(
                            "{}: open permit to {} names {named}, who is not permitted",
                            row.name,
                            permit.inbox()
                        ));
                    }
                }
            }
        }
    }
    finish("delivery", failures, rows.len());
}

/// A compose row: `check_new_post` for these inputs gives `expect`.
pub struct ComposeRow<'a> {
    pub name: &'a str,
    pub author: &'a Party,
    pub requested: Audience,
    pub parent: Option<&'a PostFacts>,
    pub mentions: Vec<Party>,
    pub expect: Result<Audience, ComposeError>,
}

/// The compose gate's check.
pub fn check_compose(facts: &FactSet, rows: &[ComposeRow<'_>]) {
    let mut failures = Vec::new();
    for row in rows {
        let got = cohort_policy::check_new_post(
            facts,
            row.author,
            row.requested,
            row.parent,
            &row.mentions,
        );
        if got != row.expect {
            failures.push(format!(
                "{}: expected {:?}, got {got:?}",
                row.name, row.expect
            ));
        }
    }
    finish("compose", failures, rows.len());
}

/// A reply-narrowing row: `audience_for_reply(requested, parent)` gives `expect`.
pub struct ReplyRow {
    pub name: &'static str,
    pub parent: Audience,
    pub requested: Audience,
    pub expect: Audience,
}

/// The reply-narrowing check.
pub fn check_reply_audience(author: &Party, rows: &[ReplyRow]) {
    let mut failures = Vec::new();
    for (n, row) in rows.iter().enumerate() {
        let parent = PostFacts::new(id(90_000 + n as i64), author.clone(), row.parent);
        let got = cohort_policy::audience_for_reply(row.requested, &parent);
        if got != row.expect {
            failures.push(format!(
                "{}: expected {:?}, got {got:?}",
                row.name, row.expect
            ));
        }
    }
    finish("reply-audience", failures, rows.len());
}
