//! The delivery gate: [`plan_delivery`] decides, for every candidate recipient, whether an
//! activity may be sent there, and issues the only values that let anything leave this
//! instance: [`DeliveryPermit`]s.
//!
//! A permit has private fields and no `Clone`, `Default`, `Deserialize` or `From`: outside
//! this crate it can be read and consumed, never made or copied (`tests/ui` proves it). It
//! carries the addressing the policy computed, so no caller can widen `to`/`cc`.
//!
//! How a post is addressed follows from its audience:
//! - **Open** posts (public, unlisted) go once to each instance (its shared inbox when it
//!   has one), addressed as Mastodon expects (`Public` in `to` or `cc`, the author's
//!   followers collection, and the mentioned accounts).
//! - **Restricted** posts (followers-only, direct, community, and any reply below a
//!   restricted ancestor) go to each permitted recipient's own inbox, addressed to exactly
//!   the permitted recipients of that instance, never to a followers collection or a shared
//!   inbox. The receiving server then has nothing to widen: Cohort enforces the audience at
//!   the sender, and federation is publication to the recipient, never delegated access
//!   control.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use cohort_model::{Domain, Id};

use crate::facts::{Facts, Party, PostFacts, Viewer};
use crate::read_gate::{
    decide_view, domain_policy_denies_both_directions, suspended_accounts_neither_see_nor_are_seen,
};
use crate::rule::Rule;

/// A remote account that might receive an activity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipient {
    /// The account, as the rules see it (must be remote).
    pub party: Party,
    /// Its ActivityPub id.
    pub actor_uri: String,
    /// Its personal inbox.
    pub inbox: String,
    /// Its instance's shared inbox, if the instance has one (GoToSocial does not).
    pub shared_inbox: Option<String>,
}

/// An inbox that received a post, from the delivery record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedInbox {
    /// The inbox.
    pub inbox: String,
    /// Its instance.
    pub domain: Domain,
}

/// What is to be delivered.
#[derive(Debug)]
pub enum Subject<'a> {
    /// A post's `Create` or `Update`, or a boost's `Announce` (a `PostFacts` with
    /// `reblog_of`), to the candidates the caller gathered: the author's followers, the
    /// addressed accounts, the parent's author, community members.
    Post {
        /// The post.
        post: &'a PostFacts,
        /// Candidate recipients; remote accounts only.
        candidates: &'a [Recipient],
    },
    /// A `Delete` of a post, to every inbox that ever received it. A retraction only removes
    /// information, so it reaches every recorded inbox, whatever changed since.
    Retraction {
        /// The deleted post.
        post: Id,
        /// Every inbox that received it.
        recorded: &'a [RecordedInbox],
    },
    /// A `Delete` of a local actor (its account was purged), to every inbox that received
    /// one of its posts or holds one of its followers. Like a post's retraction it only
    /// removes information, so it reaches every such inbox.
    ActorDeletion {
        /// The deleted account.
        actor: Id,
        /// Every inbox that must hear of it.
        recorded: &'a [RecordedInbox],
    },
    /// A relationship activity (Follow, Accept, Reject, Undo, Block) from a local account to
    /// the one remote actor concerned.
    Relationship {
        /// The local account acting.
        from: &'a Party,
        /// The remote actor.
        to: &'a Recipient,
    },
}

/// Where a permit's `to`/`cc` put a collection.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Slot {
    /// In `to`.
    To,
    /// In `cc`.
    Cc,
}

/// The addressing the policy computed. `cohort-federation` renders it into `to`/`cc`
/// (the ActivityStreams spelling of "Public" and of collections is its business).
#[derive(Debug, PartialEq, Eq)]
pub struct Addressing {
    /// Where the Public collection goes, if anywhere.
    pub public: Option<Slot>,
    /// Where the author's followers collection goes, if anywhere.
    pub author_followers: Option<Slot>,
    /// Actor ids in `to`. Shared between the permits of one instance (a restricted post to
    /// n followers on one instance makes n permits with the same list: sharing keeps
    /// planning linear).
    pub to: Arc<[String]>,
    /// Actor ids in `cc`, shared likewise.
    pub cc: Arc<[String]>,
}

/// Permission to send one activity to one inbox. Only this crate can make one.
#[derive(Debug)]
pub struct DeliveryPermit {
    inbox: String,
    domain: Domain,
    addressing: Addressing,
    rule: Rule,
}

impl DeliveryPermit {
    /// The inbox to POST to.
    pub fn inbox(&self) -> &str {
        &self.inbox
    }

    /// The receiving instance.
    pub fn domain(&self) -> &Domain {
        &self.domain
    }

    /// The `to`/`cc` the activity must carry.
    pub fn addressing(&self) -> &Addressing {
        &self.addressing
    }

    /// The rule that allowed it.
    pub fn rule(&self) -> Rule {
        self.rule
    }
}

/// One denied candidate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denial {
    /// The account refused.
    pub account: Id,
    /// Its instance.
    pub domain: Domain,
    /// Why.
    pub rule: Rule,
}

/// The decision for one instance, as the decision log keeps it: one row per post and
/// domain, not per follower.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainDecision {
    /// The instance.
    pub domain: Domain,
    /// Whether anything is delivered there.
    pub allowed: bool,
    /// The rule: the first allowing rule if allowed, else the first denying one.
    pub rule: Rule,
}

/// The outcome of [`plan_delivery`].
#[derive(Debug, Default)]
pub struct DeliveryPlan {
    /// What may be sent, one per inbox.
    pub permits: Vec<DeliveryPermit>,
    /// Who was refused and why.
    pub denials: Vec<Denial>,
    /// One line per instance for the decision log.
    pub decisions: Vec<DomainDecision>,
}

/// Decides every candidate and issues permits.
pub fn plan_delivery(facts: &dyn Facts, subject: &Subject<'_>) -> DeliveryPlan {
    match subject {
        Subject::Post { post, candidates } => plan_post(facts, post, candidates),
        Subject::Retraction { recorded, .. } | Subject::ActorDeletion { recorded, .. } => {
            plan_retraction(recorded)
        }
        Subject::Relationship { from, to } => plan_relationship(facts, from, to),
    }
}

fn plan_post(facts: &dyn Facts, post: &PostFacts, candidates: &[Recipient]) -> DeliveryPlan {
    let mut plan = DeliveryPlan::default();
    let mut log = DecisionLog::default();
    let mut allowed: Vec<(&Recipient, Rule)> = Vec::with_capacity(candidates.len());
    let mut seen = std::collections::HashSet::with_capacity(candidates.len());

    for candidate in candidates {
        let Some(domain) = candidate.party.domain.as_ref() else {
            // Local accounts are never delivered to over HTTP.
            continue;
        };
        // A post's own author never receives it.
        if candidate.party.id == post.author.id || !seen.insert(candidate.party.id) {
            continue;
        }
        let rule = decide_view(facts, &Viewer::Account(candidate.party.clone()), post);
        log.record(domain, rule);
        if rule.allows() {
            allowed.push((candidate, rule));
        } else {
            plan.denials.push(Denial {
                account: candidate.party.id,
                domain: domain.clone(),
                rule,
            });
        }
    }

    if is_open(post) {
        plan.permits = open_permits(post, &allowed);
    } else {
        plan.permits = restricted_permits(&allowed);
    }
    plan.decisions = log.finish();
    plan
}

/// Open: public or unlisted, not local-only, and every ancestor (and a boost's original)
/// open too.
fn is_open(post: &PostFacts) -> bool {
    let subject = post.reblog_of.as_deref().unwrap_or(post);
    let mut current = Some(subject);
    while let Some(p) = current {
        if !p.audience.is_open() {
            return false;
        }
        current = p.parent.as_deref();
    }
    true
}

fn open_permits(post: &PostFacts, allowed: &[(&Recipient, Rule)]) -> Vec<DeliveryPermit> {
    let subject = post.reblog_of.as_deref().unwrap_or(post);
    let public_slot = match subject.audience.visibility {
        cohort_model::Visibility::Public => Slot::To,
        _ => Slot::Cc,
    };
    let followers_slot = match public_slot {
        Slot::To => Slot::Cc,
        Slot::Cc => Slot::To,
    };
    // Mentioned recipients that passed the gate, in candidate order.
    let mentioned: Arc<[String]> = allowed
        .iter()
        .filter(|(r, _)| post.addressed.contains(&r.party.id))
        .map(|(r, _)| r.actor_uri.clone())
        .collect();
    // One delivery per shared inbox (or personal inbox where the instance has none).
    let mut by_inbox: BTreeMap<&str, (&Domain, Rule)> = BTreeMap::new();
    for (recipient, rule) in allowed {
        let inbox = recipient
            .shared_inbox
            .as_deref()
            .unwrap_or(&recipient.inbox);
        if let Some(domain) = recipient.party.domain.as_ref() {
            by_inbox.entry(inbox).or_insert((domain, *rule));
        }
    }
    by_inbox
        .into_iter()
        .map(|(inbox, (domain, rule))| DeliveryPermit {
            inbox: inbox.to_owned(),
            domain: domain.clone(),
            addressing: Addressing {
                public: Some(public_slot),
                author_followers: Some(followers_slot),
                to: Arc::from([]),
                cc: Arc::clone(&mentioned),
            },
            rule,
        })
        .collect()
}

fn restricted_permits(allowed: &[(&Recipient, Rule)]) -> Vec<DeliveryPermit> {
    // Each instance learns only its own permitted recipients.
    let mut lists: HashMap<&Domain, Vec<String>> = HashMap::new();
    for (recipient, _) in allowed {
        if let Some(domain) = recipient.party.domain.as_ref() {
            lists
                .entry(domain)
                .or_default()
                .push(recipient.actor_uri.clone());
        }
    }
    let per_domain: HashMap<&Domain, Arc<[String]>> = lists
        .into_iter()
        .map(|(domain, list)| (domain, Arc::from(list)))
        .collect();
    allowed
        .iter()
        .filter_map(|(recipient, rule)| {
            let domain = recipient.party.domain.as_ref()?;
            Some(DeliveryPermit {
                inbox: recipient.inbox.clone(),
                domain: domain.clone(),
                addressing: Addressing {
                    public: None,
                    author_followers: None,
                    to: per_domain
                        .get(domain)
                        .cloned()
                        .unwrap_or_else(|| Arc::from([])),
                    cc: Arc::from([]),
                },
                rule: *rule,
            })
        })
        .collect()
}

fn plan_retraction(recorded: &[RecordedInbox]) -> DeliveryPlan {
    let mut plan = DeliveryPlan::default();
    let mut log = DecisionLog::default();
    let mut seen = std::collections::HashSet::new();
    for entry in recorded {
        if !seen.insert(entry.inbox.as_str()) {
            continue;
        }
        log.record(&entry.domain, Rule::RetractionReachesRecipients);
        plan.permits.push(DeliveryPermit {
            inbox: entry.inbox.clone(),
            domain: entry.domain.clone(),
            addressing: Addressing {
                public: Some(Slot::To),
                author_followers: None,
                to: Arc::from([]),
                cc: Arc::from([]),
            },
            rule: Rule::RetractionReachesRecipients,
        });
    }
    plan.decisions = log.finish();
    plan
}

fn plan_relationship(facts: &dyn Facts, from: &Party, to: &Recipient) -> DeliveryPlan {
    let mut plan = DeliveryPlan::default();
    let Some(domain) = to.party.domain.as_ref() else {
        return plan;
    };
    // Blocks between the two do not stop the Block activity itself, or its Undo; only
    // suspensions and domain policy do.
    let viewer = Viewer::Account(to.party.clone());
    let rule = suspended_accounts_neither_see_nor_are_seen(&viewer, from)
        .or_else(|| domain_policy_denies_both_directions(facts, &viewer, from))
        .unwrap_or(Rule::RelationshipCounterpart);
    plan.decisions.push(DomainDecision {
        domain: domain.clone(),
        allowed: rule.allows(),
        rule,
    });
    if rule.allows() {
        plan.permits.push(DeliveryPermit {
            inbox: to.inbox.clone(),
            domain: domain.clone(),
            addressing: Addressing {
                public: None,
                author_followers: None,
                to: Arc::from([to.actor_uri.clone()]),
                cc: Arc::from([]),
            },
            rule,
        });
    } else {
        plan.denials.push(Denial {
            account: to.party.id,
            domain: domain.clone(),
            rule,
        });
    }
    plan
}

/// Folds per-recipient decisions into one per domain.
#[derive(Default)]
struct DecisionLog {
    by_domain: BTreeMap<Domain, (Option<Rule>, Option<Rule>)>,
}

impl DecisionLog {
    fn record(&mut self, domain: &Domain, rule: Rule) {
        let entry = self.by_domain.entry(domain.clone()).or_default();
        let slot = if rule.allows() {
            &mut entry.0
        } else {
            &mut entry.1
        };
        slot.get_or_insert(rule);
    }

    fn finish(self) -> Vec<DomainDecision> {
        self.by_domain
            .into_iter()
            .filter_map(|(domain, (allow, deny))| {
                let rule = allow.or(deny)?;
                Some(DomainDecision {
                    domain,
                    allowed: allow.is_some(),
                    rule,
                })
            })
            .collect()
    }
}
