//! Benchmarks of the two gates, and the bound they must stay well under: the RSA signature
//! every delivered activity needs anyway (draft-cavage HTTP signatures, RSA-2048 PKCS#1 v1.5
//! SHA-256, as Mastodon uses).
//!
//! Run: `cargo bench -p cohort-policy --bench gates -- --warm-up-time 1 --measurement-time 3`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use cohort_model::{Domain, Id, Visibility};
use cohort_policy::{
    AsPostFacts, Audience, FactSet, Party, PostFacts, Recipient, Subject, Viewer, can_see,
    plan_delivery,
};
use criterion::{Criterion, criterion_group, criterion_main};
use rsa::pkcs8::EncodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer};

const FOLLOWERS: usize = 10_000;
const INSTANCES: usize = 500;

fn id(n: i64) -> Id {
    Id::from_i64(n).unwrap()
}

struct Big {
    facts: FactSet,
    author: Party,
    candidates: Vec<Recipient>,
}

/// An author with 10,000 remote followers spread over 500 instances (20 each), every
/// instance with a shared inbox.
fn big_world() -> Big {
    world(FOLLOWERS, INSTANCES)
}

fn world(followers: usize, instances: usize) -> Big {
    let author = Party::local(id(1));
    let mut facts = FactSet::default();
    let mut candidates = Vec::with_capacity(followers);
    for n in 0..followers {
        let domain = Domain::parse(&format!("i{}.example", n % instances)).unwrap();
        let party = Party::remote(id(10_000 + n as i64), domain.clone());
        facts.follows.insert((party.id, author.id));
        let actor = format!("https://{domain}/users/{}", party.id);
        candidates.push(Recipient {
            party,
            inbox: format!("{actor}/inbox"),
            actor_uri: actor,
            shared_inbox: Some(format!("https://{domain}/inbox")),
        });
    }
    // A few blocked domains and blocks, as a real instance has (not in the one-instance case).
    for n in (0..5).filter(|_| instances > 5) {
        facts
            .blocked_domains
            .insert(Domain::parse(&format!("i{n}.example")).unwrap(), n % 2 == 0);
    }
    for n in 0..20 {
        facts.blocks.insert((author.id, id(10_000 + n * 37)));
    }
    Big {
        facts,
        author,
        candidates,
    }
}

fn plan_benches(c: &mut Criterion) {
    let big = big_world();
    let public = PostFacts::new(
        id(500_000),
        big.author.clone(),
        Audience::new(Visibility::Public),
    );
    let followers = PostFacts::new(
        id(500_001),
        big.author.clone(),
        Audience::new(Visibility::Followers),
    );
    for (name, post) in [("public", &public), ("followers", &followers)] {
        let subject = Subject::Post {
            post,
            candidates: &big.candidates,
        };
        let plan = plan_delivery(&big.facts, &subject);
        eprintln!(
            "plan_delivery/{name}: {} permits, {} denials, {} decision rows",
            plan.permits.len(),
            plan.denials.len(),
            plan.decisions.len()
        );
        c.bench_function(
            &format!("plan_delivery/{name}/10k_followers_500_instances"),
            |b| b.iter(|| plan_delivery(black_box(&big.facts), black_box(&subject))),
        );
    }
}

/// A borrowed post, so the timeline bench measures the decision, not a clone.
struct Row<'a>(&'a PostFacts);

impl AsPostFacts for Row<'_> {
    fn post_facts(&self) -> &PostFacts {
        self.0
    }
}

/// A 40-status home-timeline page: mixed visibilities, a third of them replies (some two
/// levels deep), a few boosts, authors local and remote.
fn timeline() -> (FactSet, Viewer, Vec<PostFacts>) {
    let viewer = Party::local(id(2));
    let mut facts = FactSet::default();
    let community = id(77);
    facts.memberships.insert((community, viewer.id));
    let authors: Vec<Party> = (0..10)
        .map(|n| {
            if n % 2 == 0 {
                Party::local(id(100 + n))
            } else {
                Party::remote(
                    id(100 + n),
                    Domain::parse(&format!("r{n}.example")).unwrap(),
                )
            }
        })
        .collect();
    for a in &authors {
        facts.follows.insert((viewer.id, a.id));
    }
    let visibilities = [
        Visibility::Public,
        Visibility::Unlisted,
        Visibility::Followers,
        Visibility::Public,
        Visibility::Direct,
        Visibility::Community,
        Visibility::Local,
        Visibility::Followers,
    ];
    let mut posts: Vec<PostFacts> = Vec::with_capacity(40);
    for n in 0..40usize {
        let author = authors[n % authors.len()].clone();
        let v = visibilities[n % visibilities.len()];
        let mut audience = Audience::new(v);
        if v == Visibility::Community {
            audience = audience.in_community(community);
        }
        let mut post = PostFacts::new(id(1_000 + n as i64), author, audience);
        post.addressed = vec![viewer.id, id(999)];
        if n % 3 == 1 {
            post.parent = Some(Box::new(posts[n - 1].clone()));
        }
        if n % 13 == 12 {
            let mut boost = PostFacts::new(
                id(2_000 + n as i64),
                authors[(n + 1) % authors.len()].clone(),
                posts[n - 2].audience,
            );
            boost.reblog_of = Some(Box::new(posts[n - 2].clone()));
            post = boost;
        }
        posts.push(post);
    }
    (facts, Viewer::Account(viewer), posts)
}

fn timeline_bench(c: &mut Criterion) {
    let (facts, viewer, posts) = timeline();
    let visible = posts
        .iter()
        .filter(|p| can_see(&facts, &viewer, Row(p)).is_ok())
        .count();
    eprintln!("can_see/timeline: {visible} of {} visible", posts.len());
    c.bench_function("can_see/timeline_page_40", |b| {
        b.iter(|| {
            posts
                .iter()
                .filter(|p| can_see(black_box(&facts), black_box(&viewer), Row(p)).is_ok())
                .count()
        })
    });
}

/// What Mastodon signs for a POST to an inbox (draft-cavage).
const SIGNING_STRING: &str = "(request-target): post /users/12345/inbox\n\
host: beta.example\n\
date: Tue, 07 Jun 2026 20:51:35 GMT\n\
digest: SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=\n\
content-type: application/activity+json";

fn signature_benches(c: &mut Criterion) {
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
    let der = key.to_pkcs8_der().unwrap();
    let signing_key = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key);
    c.bench_function("sign/rsa_crate/rsa2048_pkcs1v15_sha256", |b| {
        b.iter(|| {
            signing_key
                .sign(black_box(SIGNING_STRING.as_bytes()))
                .to_bytes()
        })
    });

    let ring_key = ring::signature::RsaKeyPair::from_pkcs8(der.as_bytes()).unwrap();
    let rng = ring::rand::SystemRandom::new();
    let mut sig = vec![0u8; ring_key.public().modulus_len()];
    c.bench_function("sign/ring/rsa2048_pkcs1v15_sha256", |b| {
        b.iter(|| {
            ring_key
                .sign(
                    &ring::signature::RSA_PKCS1_SHA256,
                    &rng,
                    black_box(SIGNING_STRING.as_bytes()),
                    &mut sig,
                )
                .unwrap();
            sig[0]
        })
    });
}

/// Restricted permits each carry every permitted recipient of their instance, so the work
/// (and memory) grows with the square of the followers one instance hosts.
fn crowded_instance_bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("plan_delivery/followers/one_instance");
    for n in [500usize, 1_000, 2_000] {
        let crowded = world(n, 1);
        let post = PostFacts::new(
            id(500_002),
            crowded.author.clone(),
            Audience::new(Visibility::Followers),
        );
        let subject = Subject::Post {
            post: &post,
            candidates: &crowded.candidates,
        };
        let plan = plan_delivery(&crowded.facts, &subject);
        let names: usize = plan.permits.iter().map(|p| p.addressing().to.len()).sum();
        eprintln!(
            "one instance, {n} followers: {} permits naming {names} actors in all",
            plan.permits.len()
        );
        group.bench_function(format!("{n}"), |b| {
            b.iter(|| plan_delivery(black_box(&crowded.facts), black_box(&subject)))
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    plan_benches,
    timeline_bench,
    signature_benches,
    crowded_instance_bench
);
criterion_main!(benches);
