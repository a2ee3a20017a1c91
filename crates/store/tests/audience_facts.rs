//! The audience engine's facts as the store loads them, on both engines: the gates decide
//! the same way over stored facts as over hand-built ones.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cohort_model::{Domain, Id, Role, Visibility};
use cohort_policy::{
    Audience, FederationMode, Party, Rule, Subject, Viewer, can_see, plan_delivery,
};
use cohort_store::testing::on_each_engine;
use cohort_store::{DomainPolicy, FollowState, NewRemoteAccount, NewStatus, Store};

async fn local(store: &Store, name: &str) -> Id {
    store
        .create_local_account(&cohort_store::testing::local_account(name, Role::Member))
        .await
        .unwrap()
        .id
}

async fn remote(store: &Store, name: &str, domain: &str, shared: bool) -> Id {
    store
        .upsert_remote_account(&NewRemoteAccount {
            username: name.into(),
            domain: Domain::parse(domain).unwrap(),
            actor_uri: format!("https://{domain}/users/{name}"),
            inbox_uri: format!("https://{domain}/users/{name}/inbox"),
            shared_inbox_uri: shared.then(|| format!("https://{domain}/inbox")),
            followers_uri: None,
            display_name: name.into(),
            is_group: false,
        })
        .await
        .unwrap()
}

async fn post(
    store: &Store,
    author: Id,
    visibility: Visibility,
    parent: Option<Id>,
    addressed: Vec<Id>,
) -> Id {
    let id = store.next_id();
    store
        .create_status(&NewStatus {
            id,
            author,
            uri: format!("https://cohort.example/statuses/{id}"),
            url: None,
            local: true,
            audience: Audience::new(visibility),
            text_source: "hello".into(),
            content_html: "<p>hello</p>".into(),
            spoiler_text: String::new(),
            sensitive: false,
            language: Some("en".into()),
            in_reply_to: parent,
            reblog_of: None,
            addressed,
            held_reason: None,
            expires_at: None,
        })
        .await
        .unwrap()
        .facts
        .id
}

async fn sees(store: &Store, viewer: &Viewer, status: Id) -> Result<Rule, Rule> {
    let record = store.status(status).await.unwrap();
    let facts = store
        .facts_for_viewer(viewer, &[&record.facts])
        .await
        .unwrap();
    can_see(&facts, viewer, &record)
        .map(|v| v.rule())
        .map_err(|h| h.0)
}

async fn party(store: &Store, id: Id) -> Party {
    let a = store.account_by_id(id).await.unwrap();
    Party {
        id,
        domain: a.domain,
        suspended: a.suspended_at.is_some(),
    }
}

#[tokio::test]
async fn stored_followers_posts_reach_followers_only() {
    on_each_engine(|store| async move {
        let pat = local(&store, "pat").await;
        let sam = local(&store, "sam").await;
        let stranger = local(&store, "stranger").await;
        let bob = remote(&store, "bob", "beta.example", true).await;
        let carol = remote(&store, "carol", "beta.example", true).await;
        store
            .set_follow(sam, pat, FollowState::Accepted)
            .await
            .unwrap();
        store
            .set_follow(bob, pat, FollowState::Accepted)
            .await
            .unwrap();
        store
            .set_follow(carol, pat, FollowState::Requested)
            .await
            .unwrap();
        let status = post(&store, pat, Visibility::Followers, None, vec![stranger]).await;

        assert_eq!(
            sees(&store, &Viewer::Account(party(&store, sam).await), status).await,
            Ok(Rule::Follower)
        );
        assert_eq!(
            sees(
                &store,
                &Viewer::Account(party(&store, stranger).await),
                status
            )
            .await,
            Err(Rule::MentionDoesNotWiden)
        );
        assert_eq!(
            sees(&store, &Viewer::Anonymous, status).await,
            Err(Rule::NotAFollower)
        );

        let record = store.status(status).await.unwrap();
        let (facts, candidates) = store.delivery_candidates(&record.facts).await.unwrap();
        let plan = plan_delivery(
            &facts,
            &Subject::Post {
                post: &record.facts,
                candidates: &candidates,
            },
        );
        let inboxes: Vec<&str> = plan.permits.iter().map(|p| p.inbox()).collect();
        assert_eq!(
            inboxes,
            vec!["https://beta.example/users/bob/inbox"],
            "a pending request gets nothing"
        );
        assert_eq!(
            plan.permits[0].addressing().to.to_vec(),
            vec!["https://beta.example/users/bob".to_owned()]
        );
    })
    .await;
}

#[tokio::test]
async fn a_block_added_after_enqueueing_stops_the_delivery_when_replanned() {
    on_each_engine(|store| async move {
        let pat = local(&store, "pat").await;
        let bob = remote(&store, "bob", "beta.example", true).await;
        let dan = remote(&store, "dan", "gamma.example", false).await;
        store
            .set_follow(bob, pat, FollowState::Accepted)
            .await
            .unwrap();
        store
            .set_follow(dan, pat, FollowState::Accepted)
            .await
            .unwrap();
        let status = post(&store, pat, Visibility::Public, None, vec![]).await;
        let record = store.status(status).await.unwrap();

        let (facts, candidates) = store.delivery_candidates(&record.facts).await.unwrap();
        let before = plan_delivery(
            &facts,
            &Subject::Post {
                post: &record.facts,
                candidates: &candidates,
            },
        );
        let mut inboxes: Vec<&str> = before.permits.iter().map(|p| p.inbox()).collect();
        inboxes.sort_unstable();
        assert_eq!(
            inboxes,
            vec![
                "https://beta.example/inbox",
                "https://gamma.example/users/dan/inbox"
            ],
            "shared inbox where there is one, personal inbox where not"
        );

        // The domain is suspended and the user blocked after the activity was queued: the
        // worker re-plans at send time with fresh facts.
        store
            .set_domain_policy(
                &Domain::parse("gamma.example").unwrap(),
                DomainPolicy::Block { suspend: true },
            )
            .await
            .unwrap();
        store.block(pat, bob).await.unwrap();
        let (facts, candidates) = store.delivery_candidates(&record.facts).await.unwrap();
        let after = plan_delivery(
            &facts,
            &Subject::Post {
                post: &record.facts,
                candidates: &candidates,
            },
        );
        assert!(after.permits.is_empty(), "{:?}", after.permits);
        let rules: Vec<Rule> = after.decisions.iter().map(|d| d.rule).collect();
        assert!(rules.contains(&Rule::DomainBlocked), "{rules:?}");
    })
    .await;
}

#[tokio::test]
async fn allowlist_mode_is_read_from_the_store() {
    on_each_engine(|store| async move {
        let pat = local(&store, "pat").await;
        let bob = remote(&store, "bob", "beta.example", true).await;
        let eve = remote(&store, "eve", "elsewhere.example", true).await;
        store
            .set_follow(bob, pat, FollowState::Accepted)
            .await
            .unwrap();
        store
            .set_follow(eve, pat, FollowState::Accepted)
            .await
            .unwrap();
        store
            .set_federation_mode(FederationMode::Allowlist)
            .await
            .unwrap();
        store
            .set_domain_policy(&Domain::parse("beta.example").unwrap(), DomainPolicy::Allow)
            .await
            .unwrap();
        let status = post(&store, pat, Visibility::Public, None, vec![]).await;
        let record = store.status(status).await.unwrap();
        let (facts, candidates) = store.delivery_candidates(&record.facts).await.unwrap();
        let plan = plan_delivery(
            &facts,
            &Subject::Post {
                post: &record.facts,
                candidates: &candidates,
            },
        );
        let domains: Vec<&str> = plan.permits.iter().map(|p| p.domain().as_str()).collect();
        assert_eq!(domains, vec!["beta.example"]);
        assert_eq!(
            sees(&store, &Viewer::Account(party(&store, eve).await), status).await,
            Err(Rule::NotAllowlisted)
        );
    })
    .await;
}

#[tokio::test]
async fn replies_load_their_ancestors_and_never_exceed_them() {
    on_each_engine(|store| async move {
        let pat = local(&store, "pat").await;
        let sam = local(&store, "sam").await;
        let bob = remote(&store, "bob", "beta.example", true).await;
        store
            .set_follow(sam, pat, FollowState::Accepted)
            .await
            .unwrap();
        store
            .set_follow(bob, sam, FollowState::Accepted)
            .await
            .unwrap();
        let root = post(&store, pat, Visibility::Followers, None, vec![]).await;
        // Sam replies publicly (a client that does not narrow); the stored audience says
        // public, but the ancestor's audience still governs.
        let reply = post(&store, sam, Visibility::Public, Some(root), vec![]).await;
        let record = store.status(reply).await.unwrap();
        assert_eq!(record.facts.parent.as_ref().map(|p| p.id), Some(root));

        let bob_view = Viewer::Account(party(&store, bob).await);
        assert_eq!(
            sees(&store, &bob_view, reply).await,
            Err(Rule::ReplyExceedsParent)
        );
        let (facts, candidates) = store.delivery_candidates(&record.facts).await.unwrap();
        let plan = plan_delivery(
            &facts,
            &Subject::Post {
                post: &record.facts,
                candidates: &candidates,
            },
        );
        assert!(
            plan.permits.is_empty(),
            "bob follows sam but not pat: {:?}",
            plan.permits
        );
    })
    .await;
}

#[tokio::test]
async fn the_decision_log_keeps_one_row_per_post_and_domain() {
    on_each_engine(|store| async move {
        let pat = local(&store, "pat").await;
        for (name, domain) in [
            ("b1", "beta.example"),
            ("b2", "beta.example"),
            ("g1", "gamma.example"),
        ] {
            let id = remote(&store, name, domain, true).await;
            store
                .set_follow(id, pat, FollowState::Accepted)
                .await
                .unwrap();
        }
        let status = post(&store, pat, Visibility::Public, None, vec![]).await;
        let record = store.status(status).await.unwrap();
        let (facts, candidates) = store.delivery_candidates(&record.facts).await.unwrap();
        let plan = plan_delivery(
            &facts,
            &Subject::Post {
                post: &record.facts,
                candidates: &candidates,
            },
        );
        store
            .record_audience_decisions(status, &plan.decisions)
            .await
            .unwrap();
        store
            .record_audience_decisions(status, &plan.decisions)
            .await
            .unwrap();
        let log = store.audience_decisions_for_status(status).await.unwrap();
        let rows: Vec<(&str, bool, &str)> = log
            .iter()
            .map(|d| (d.domain.as_str(), d.allowed, d.rule.as_str()))
            .collect();
        assert_eq!(
            rows,
            vec![
                ("beta.example", true, "open_audience"),
                ("gamma.example", true, "open_audience")
            ]
        );
        let by_domain = store
            .audience_decisions_for_domain(&Domain::parse("gamma.example").unwrap(), 10)
            .await
            .unwrap();
        assert_eq!(by_domain.len(), 1);
        assert_eq!(by_domain[0].status_id, status);
    })
    .await;
}

#[tokio::test]
async fn deletion_reaches_every_recorded_inbox() {
    on_each_engine(|store| async move {
        let pat = local(&store, "pat").await;
        let status = post(&store, pat, Visibility::Public, None, vec![]).await;
        let beta = Domain::parse("beta.example").unwrap();
        let gamma = Domain::parse("gamma.example").unwrap();
        store
            .record_status_delivery(status, "https://beta.example/inbox", &beta)
            .await
            .unwrap();
        store
            .record_status_delivery(status, "https://beta.example/inbox", &beta)
            .await
            .unwrap();
        store
            .record_status_delivery(status, "https://gamma.example/users/dan/inbox", &gamma)
            .await
            .unwrap();
        // Even a domain suspended since still gets the retraction.
        store
            .set_domain_policy(&gamma, DomainPolicy::Block { suspend: true })
            .await
            .unwrap();
        store.mark_status_deleted(status).await.unwrap();
        assert_eq!(
            sees(&store, &Viewer::Account(party(&store, pat).await), status).await,
            Err(Rule::Deleted)
        );

        let recorded = store.recorded_inboxes(status).await.unwrap();
        let plan = plan_delivery(
            &cohort_policy::FactSet::default(),
            &Subject::Retraction {
                post: status,
                recorded: &recorded,
            },
        );
        let inboxes: Vec<&str> = plan.permits.iter().map(|p| p.inbox()).collect();
        assert_eq!(
            inboxes,
            vec![
                "https://beta.example/inbox",
                "https://gamma.example/users/dan/inbox"
            ]
        );
        assert!(
            store.mark_status_deleted(status).await.is_err(),
            "deleting twice is NotFound"
        );
    })
    .await;
}

#[tokio::test]
async fn members_only_community_posts_reach_members_not_their_neighbours() {
    on_each_engine(|store| async move {
        let group = remote(&store, "group_placeholder", "cohort.example", false).await;
        let community = store
            .create_community(&cohort_store::NewCommunity {
                account_id: group,
                visibility: "members".into(),
                membership: "approval".into(),
                federates_with: None,
            })
            .await
            .unwrap();
        let pat = local(&store, "pat").await;
        let member = remote(&store, "m", "beta.example", true).await;
        let neighbour = remote(&store, "n", "beta.example", true).await;
        store.add_community_member(community, pat).await.unwrap();
        store.add_community_member(community, member).await.unwrap();
        // The neighbour follows the author: following is not membership.
        store
            .set_follow(neighbour, pat, FollowState::Accepted)
            .await
            .unwrap();

        let id = store.next_id();
        store
            .create_status(&NewStatus {
                id,
                author: pat,
                uri: format!("https://cohort.example/statuses/{id}"),
                url: None,
                local: true,
                audience: Audience::new(Visibility::Community).in_community(community),
                text_source: "members only".into(),
                content_html: "<p>members only</p>".into(),
                spoiler_text: String::new(),
                sensitive: false,
                language: None,
                in_reply_to: None,
                reblog_of: None,
                addressed: vec![],
                held_reason: None,
                expires_at: None,
            })
            .await
            .unwrap();
        let record = store.status(id).await.unwrap();
        let (facts, candidates) = store.delivery_candidates(&record.facts).await.unwrap();
        let plan = plan_delivery(
            &facts,
            &Subject::Post {
                post: &record.facts,
                candidates: &candidates,
            },
        );
        let inboxes: Vec<&str> = plan.permits.iter().map(|p| p.inbox()).collect();
        assert_eq!(
            inboxes,
            vec!["https://beta.example/users/m/inbox"],
            "personal inbox, never the shared one"
        );

        let beta = Domain::parse("beta.example").unwrap();
        assert_eq!(
            sees(&store, &Viewer::Instance(beta.clone()), id).await,
            Ok(Rule::InstanceOfMember)
        );
        store.ban_community_member(community, member).await.unwrap();
        assert_eq!(
            sees(&store, &Viewer::Instance(beta), id).await,
            Err(Rule::NotACommunityMember)
        );
        assert_eq!(
            sees(&store, &Viewer::Account(party(&store, member).await), id).await,
            Err(Rule::NotACommunityMember),
            "a banned member stops seeing at once"
        );
    })
    .await;
}

#[tokio::test]
async fn local_writes_and_their_outbox_events_commit_together() {
    on_each_engine(|store| async move {
        let pat = local(&store, "pat").await;
        let bob = remote(&store, "bob", "beta.example", true).await;
        let status = post(&store, pat, Visibility::Public, None, vec![]).await;
        store.mark_status_deleted(status).await.unwrap();
        // A remote status records nothing to send.
        let id = store.next_id();
        store
            .create_status(&NewStatus {
                id,
                author: bob,
                uri: "https://beta.example/statuses/1".into(),
                url: None,
                local: false,
                audience: Audience::new(Visibility::Public),
                text_source: String::new(),
                content_html: "<p>hi</p>".into(),
                spoiler_text: String::new(),
                sensitive: false,
                language: None,
                in_reply_to: None,
                reblog_of: None,
                addressed: vec![],
                held_reason: None,
                expires_at: None,
            })
            .await
            .unwrap();
        let events = store.outbox_events_after(0, 100).await.unwrap();
        let kinds: Vec<(cohort_store::OutboxKind, Option<Id>)> =
            events.iter().map(|e| (e.kind, e.status)).collect();
        assert_eq!(
            kinds,
            vec![
                (cohort_store::OutboxKind::CreateStatus, Some(status)),
                (cohort_store::OutboxKind::DeleteStatus, Some(status)),
            ]
        );
        assert!(events.iter().all(|e| e.actor == Some(pat)));
    })
    .await;
}
