//! Communities as the store keeps them, on both engines: creation, joining in each
//! membership mode, requests, invites, bans, moderators, removals and featured threads.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cohort_model::{
    AuthorKind, CommunityRole, CommunityVisibility, Id, Membership, Role, Username, Visibility,
};
use cohort_policy::Audience;
use cohort_store::testing::on_each_engine;
use cohort_store::{
    CommunityRecord, CommunityUpdate, JoinOutcome, MemberState, NewLocalAccount, NewLocalCommunity,
    NewStatus, OutboxKind, Page, RemovalNotice, Store, StoreError,
};

const BASE: &str = "https://cohort.example";

async fn person(store: &Store, name: &str) -> Id {
    let base = format!("{BASE}/users/{name}");
    store
        .create_local_account(&NewLocalAccount {
            username: Username::parse(name).unwrap(),
            email: format!("{name}@example.org"),
            role: Role::Member,
            author_kind: AuthorKind::Patient,
            password_hash: "x".into(),
            approved: true,
            locked: false,
            actor_uri: base.clone(),
            inbox_uri: format!("{base}/inbox"),
            shared_inbox_uri: format!("{BASE}/inbox"),
            followers_uri: format!("{base}/followers"),
            url: base.clone(),
            key_id: format!("{base}#main-key"),
            public_key_pem: "P".into(),
            private_key_pem: "K".into(),
        })
        .await
        .unwrap()
        .id
}

fn new_community(
    name: &str,
    owner: Id,
    membership: Membership,
    visibility: CommunityVisibility,
) -> NewLocalCommunity {
    let base = format!("{BASE}/users/{name}");
    NewLocalCommunity {
        name: Username::parse(name).unwrap(),
        title: format!("The {name} community"),
        description: "<p>Peer support.</p>".into(),
        membership,
        visibility,
        rules: vec!["Be kind".into(), "No patient details".into()],
        tags: vec!["diabetes".into()],
        language: Some("en".into()),
        owner,
        actor_uri: base.clone(),
        inbox_uri: format!("{base}/inbox"),
        shared_inbox_uri: format!("{BASE}/inbox"),
        followers_uri: format!("{base}/followers"),
        url: format!("{BASE}/@{name}"),
        key_id: format!("{base}#main-key"),
        public_key_pem: "P".into(),
        private_key_pem: "K".into(),
    }
}

async fn community(
    store: &Store,
    name: &str,
    owner: Id,
    membership: Membership,
    visibility: CommunityVisibility,
) -> CommunityRecord {
    store
        .create_local_community(&new_community(name, owner, membership, visibility))
        .await
        .unwrap()
}

/// The follow row `follower` -> `followed`: "accepted", "requested" or none.
async fn follows(store: &Store, follower: Id, followed: Id) -> Option<&'static str> {
    let r = store.relationship(follower, followed).await.unwrap();
    match (r.following, r.requested) {
        (true, _) => Some("accepted"),
        (false, true) => Some("requested"),
        _ => None,
    }
}

fn status(store: &Store, author: Id, community: Id, reply_to: Option<Id>) -> NewStatus {
    let id = store.next_id();
    NewStatus {
        id,
        author,
        uri: format!("{BASE}/statuses/{id}"),
        url: None,
        local: true,
        audience: Audience::new(Visibility::Public).in_community(community),
        text_source: "hello".into(),
        content_html: "<p>hello</p>".into(),
        spoiler_text: String::new(),
        sensitive: false,
        language: None,
        in_reply_to: reply_to,
        reblog_of: None,
        addressed: Vec::new(),
        held_reason: None,
        expires_at: None,
    }
}

#[tokio::test]
async fn creating_a_community_makes_a_group_account_owned_by_its_creator() {
    on_each_engine(|store| async move {
        let owner = person(&store, "olga").await;
        let c = community(
            &store,
            "diabetes",
            owner,
            Membership::Open,
            CommunityVisibility::Public,
        )
        .await;
        assert!(c.account.is_group);
        assert!(!c.account.locked, "open communities are not locked");
        assert_eq!(c.account.display_name, "The diabetes community");
        assert_eq!(c.rules, vec!["Be kind", "No patient details"]);
        assert_eq!(c.members_count, 1);
        let owner_membership = store.membership(c.id, owner).await.unwrap().unwrap();
        assert_eq!(owner_membership.role, CommunityRole::Owner);
        assert!(owner_membership.can_moderate());
        assert_eq!(follows(&store, owner, c.account.id).await, Some("accepted"));
        assert_eq!(
            store.local_community_by_name("DIABETES").await.unwrap().id,
            c.id
        );
        assert_eq!(
            store
                .community_of_group(c.account.id)
                .await
                .unwrap()
                .map(|c| c.id),
            Some(c.id)
        );
        // The name is taken, for communities and people alike.
        let again = store
            .create_local_community(&new_community(
                "olga",
                owner,
                Membership::Open,
                CommunityVisibility::Public,
            ))
            .await;
        assert!(matches!(again, Err(StoreError::Conflict("name"))));
        let approval = store
            .create_local_community(&new_community(
                "approval",
                owner,
                Membership::Approval,
                CommunityVisibility::Public,
            ))
            .await
            .unwrap();
        assert!(approval.account.locked, "gated communities are locked");
    })
    .await;
}

#[tokio::test]
async fn joining_follows_the_membership_mode() {
    on_each_engine(|store| async move {
        let owner = person(&store, "olga").await;
        let pat = person(&store, "pat").await;
        let open = community(
            &store,
            "open",
            owner,
            Membership::Open,
            CommunityVisibility::Public,
        )
        .await;
        assert_eq!(
            store.join_community(&open, pat, None).await.unwrap(),
            JoinOutcome::Joined
        );
        assert_eq!(store.community(open.id).await.unwrap().members_count, 2);
        assert_eq!(
            follows(&store, pat, open.account.id).await,
            Some("accepted")
        );

        let gated = community(
            &store,
            "gated",
            owner,
            Membership::Approval,
            CommunityVisibility::Members,
        )
        .await;
        assert_eq!(
            store.join_community(&gated, pat, None).await.unwrap(),
            JoinOutcome::Requested
        );
        assert_eq!(
            store.join_community(&gated, pat, None).await.unwrap(),
            JoinOutcome::Requested,
            "asking twice is still one request"
        );
        assert_eq!(store.join_requests(gated.id).await.unwrap(), vec![pat]);
        assert_eq!(
            follows(&store, pat, gated.account.id).await,
            Some("requested")
        );
        assert!(store.decide_join_request(&gated, pat, true).await.unwrap());
        assert!(
            !store.decide_join_request(&gated, pat, true).await.unwrap(),
            "no request is left to decide"
        );
        assert!(
            store
                .membership(gated.id, pat)
                .await
                .unwrap()
                .unwrap()
                .is_member()
        );
        assert_eq!(
            follows(&store, pat, gated.account.id).await,
            Some("accepted")
        );

        // A rejected request leaves nothing behind.
        let sam = person(&store, "sam").await;
        store.join_community(&gated, sam, None).await.unwrap();
        assert!(store.decide_join_request(&gated, sam, false).await.unwrap());
        assert_eq!(store.membership(gated.id, sam).await.unwrap(), None);
        assert_eq!(follows(&store, sam, gated.account.id).await, None);
    })
    .await;
}

#[tokio::test]
async fn invite_codes_admit_up_to_their_limit() {
    on_each_engine(|store| async move {
        let owner = person(&store, "olga").await;
        let c = community(
            &store,
            "clinic",
            owner,
            Membership::Invite,
            CommunityVisibility::Members,
        )
        .await;
        let a = person(&store, "amy").await;
        let b = person(&store, "bob").await;
        assert_eq!(
            store.join_community(&c, a, None).await.unwrap(),
            JoinOutcome::InviteRequired
        );
        assert_eq!(
            store.join_community(&c, a, Some("nope")).await.unwrap(),
            JoinOutcome::InviteInvalid
        );
        assert_eq!(store.membership(c.id, a).await.unwrap(), None);
        let invite = store
            .create_invite(c.id, owner, Some(1), None)
            .await
            .unwrap();
        assert_eq!(invite.code.len(), 16);
        assert_eq!(
            store
                .join_community(&c, a, Some(&invite.code))
                .await
                .unwrap(),
            JoinOutcome::Joined
        );
        assert_eq!(
            store
                .join_community(&c, b, Some(&invite.code))
                .await
                .unwrap(),
            JoinOutcome::InviteInvalid,
            "a one-use code is used up"
        );
        let expired = store
            .create_invite(c.id, owner, None, Some(cohort_store::now_ms() - 1))
            .await
            .unwrap();
        assert_eq!(
            store
                .join_community(&c, b, Some(&expired.code))
                .await
                .unwrap(),
            JoinOutcome::InviteInvalid
        );
    })
    .await;
}

#[tokio::test]
async fn a_ban_removes_membership_and_refuses_rejoining() {
    on_each_engine(|store| async move {
        let owner = person(&store, "olga").await;
        let pat = person(&store, "pat").await;
        let c = community(
            &store,
            "open",
            owner,
            Membership::Open,
            CommunityVisibility::Public,
        )
        .await;
        store.join_community(&c, pat, None).await.unwrap();
        assert!(
            store
                .ban_from_community(&c, owner, pat, "spam", None)
                .await
                .unwrap()
        );
        let m = store.membership(c.id, pat).await.unwrap().unwrap();
        assert_eq!(m.state, MemberState::Banned);
        assert_eq!(m.ban_reason.as_deref(), Some("spam"));
        assert_eq!(follows(&store, pat, c.account.id).await, None);
        assert_eq!(
            store.join_community(&c, pat, None).await.unwrap(),
            JoinOutcome::Banned
        );
        assert!(
            !store.leave_community(&c, pat).await.unwrap(),
            "leaving is no way around a ban"
        );
        assert!(
            !store
                .ban_from_community(&c, owner, owner, "", None)
                .await
                .unwrap(),
            "the owner cannot be banned"
        );
        // An expired ban no longer holds.
        assert!(
            store
                .ban_from_community(&c, owner, pat, "cool off", Some(cohort_store::now_ms() - 1))
                .await
                .unwrap()
        );
        assert_eq!(
            store.join_community(&c, pat, None).await.unwrap(),
            JoinOutcome::Joined
        );
        assert!(
            store
                .ban_from_community(&c, owner, pat, "again", None)
                .await
                .unwrap()
        );
        assert!(store.unban_from_community(c.id, owner, pat).await.unwrap());
        assert_eq!(store.membership(c.id, pat).await.unwrap(), None);
    })
    .await;
}

#[tokio::test]
async fn moderators_are_members_and_the_owner_stays_owner() {
    on_each_engine(|store| async move {
        let owner = person(&store, "olga").await;
        let pat = person(&store, "pat").await;
        let sam = person(&store, "sam").await;
        let c = community(
            &store,
            "open",
            owner,
            Membership::Open,
            CommunityVisibility::Public,
        )
        .await;
        store.join_community(&c, pat, None).await.unwrap();
        assert!(
            !store
                .set_community_moderator(c.id, sam, true)
                .await
                .unwrap(),
            "only members can moderate"
        );
        assert!(
            store
                .set_community_moderator(c.id, pat, true)
                .await
                .unwrap()
        );
        let mods: Vec<Id> = store
            .community_moderators(c.id)
            .await
            .unwrap()
            .iter()
            .map(|m| m.account)
            .collect();
        assert_eq!(mods, vec![owner, pat]);
        assert!(
            !store
                .set_community_moderator(c.id, owner, false)
                .await
                .unwrap()
        );
        assert!(
            store
                .set_community_moderator(c.id, pat, false)
                .await
                .unwrap()
        );
        assert_eq!(store.community_moderators(c.id).await.unwrap().len(), 1);
        assert!(!store.leave_community(&c, owner).await.unwrap());
        assert!(store.leave_community(&c, pat).await.unwrap());
    })
    .await;
}

#[tokio::test]
async fn threads_are_announced_listed_pinned_and_removed() {
    on_each_engine(|store| async move {
        let owner = person(&store, "olga").await;
        let pat = person(&store, "pat").await;
        let c = community(
            &store,
            "open",
            owner,
            Membership::Open,
            CommunityVisibility::Public,
        )
        .await;
        store.join_community(&c, pat, None).await.unwrap();
        let thread = status(&store, pat, c.id, None);
        let mut announcement = status(&store, c.account.id, c.id, None);
        announcement.reblog_of = Some(thread.id);
        announcement.text_source = String::new();
        store
            .create_community_post(&thread, Some(&announcement), Some(c.account.id))
            .await
            .unwrap();
        let reply = status(&store, owner, c.id, Some(thread.id));
        store.create_status(&reply).await.unwrap();

        assert_eq!(
            store
                .community_announcement_of(c.account.id, thread.id)
                .await
                .unwrap(),
            Some(announcement.id)
        );
        let page = Page {
            limit: 20,
            ..Page::default()
        };
        assert_eq!(
            store.community_thread_ids(c.id, page).await.unwrap(),
            vec![thread.id],
            "replies and announcements are not threads"
        );
        assert!(!store.set_community_pin(c.id, reply.id, true).await.unwrap());
        assert!(
            store
                .set_community_pin(c.id, thread.id, true)
                .await
                .unwrap()
        );
        assert_eq!(store.community_pins(c.id).await.unwrap(), vec![thread.id]);

        assert!(
            store
                .remove_from_community(
                    c.id,
                    thread.id,
                    owner,
                    "off topic",
                    RemovalNotice::RelayFromGroup(c.account.id)
                )
                .await
                .unwrap()
        );
        assert!(
            !store
                .remove_from_community(
                    c.id,
                    thread.id,
                    owner,
                    "again",
                    RemovalNotice::RelayFromGroup(c.account.id)
                )
                .await
                .unwrap()
        );
        assert!(
            store
                .community_thread_ids(c.id, page)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(store.community_pins(c.id).await.unwrap().is_empty());
        let gone = store.status(announcement.id).await.unwrap();
        assert!(
            gone.facts.deleted,
            "the Group's announcement goes with the thread"
        );
        // The removal is in the mod log, publicly: the community is public.
        let log = store.public_mod_log(None, 10).await.unwrap();
        assert_eq!(log[0].action, "remove_status");
        assert_eq!(log[0].reason, "off topic");
        assert_eq!(log[0].community, Some(c.id));
        assert_eq!(log[0].moderator, Some(owner));

        // In a members-only community the same actions stay out of the public log.
        let private = community(
            &store,
            "private",
            owner,
            Membership::Open,
            CommunityVisibility::Members,
        )
        .await;
        store.join_community(&private, pat, None).await.unwrap();
        assert!(
            store
                .ban_from_community(&private, owner, pat, "spam", None)
                .await
                .unwrap()
        );
        let public_log = store.public_mod_log(None, 10).await.unwrap();
        assert!(public_log.iter().all(|e| e.community != Some(private.id)));
        let full_log = store.mod_log(10).await.unwrap();
        assert_eq!(full_log[0].action, "ban");
        assert_eq!(full_log[0].community, Some(private.id));
    })
    .await;
}

#[tokio::test]
async fn the_directory_lists_discoverable_communities_matching_the_query() {
    on_each_engine(|store| async move {
        let owner = person(&store, "olga").await;
        community(
            &store,
            "diabetes",
            owner,
            Membership::Open,
            CommunityVisibility::Public,
        )
        .await;
        community(
            &store,
            "hidden",
            owner,
            Membership::Open,
            CommunityVisibility::Unlisted,
        )
        .await;
        community(
            &store,
            "ward",
            owner,
            Membership::Open,
            CommunityVisibility::Local,
        )
        .await;
        let gated = community(
            &store,
            "lupus",
            owner,
            Membership::Approval,
            CommunityVisibility::Members,
        )
        .await;
        store
            .update_community(
                &gated,
                &CommunityUpdate {
                    title: Some("Lupus peers".into()),
                    tags: Some(vec!["sle".into()]),
                    ..CommunityUpdate::default()
                },
            )
            .await
            .unwrap();
        let page = Page {
            limit: 40,
            ..Page::default()
        };
        let names = |list: Vec<CommunityRecord>| {
            list.into_iter()
                .map(|c| c.account.username)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(
                store
                    .list_communities(None, false, false, page)
                    .await
                    .unwrap()
            ),
            vec!["lupus", "diabetes"]
        );
        assert_eq!(
            names(
                store
                    .list_communities(None, true, true, page)
                    .await
                    .unwrap()
            ),
            vec!["lupus", "ward", "diabetes"]
        );
        assert_eq!(
            names(
                store
                    .list_communities(Some("SLE"), false, false, page)
                    .await
                    .unwrap()
            ),
            vec!["lupus"]
        );
        assert_eq!(
            names(
                store
                    .list_communities(Some("peers"), false, false, page)
                    .await
                    .unwrap()
            ),
            vec!["lupus"]
        );
    })
    .await;
}

/// The kinds of the outbox events recorded so far, oldest first.
async fn outbox_kinds(store: &Store) -> Vec<OutboxKind> {
    store
        .outbox_events_after(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

#[tokio::test]
async fn a_federated_communitys_moderation_is_announced_and_a_local_ones_is_not() {
    use OutboxKind as K;
    on_each_engine(|store| async move {
        let owner = person(&store, "olga").await;
        let mo = person(&store, "mo").await;
        let gus = person(&store, "gus").await;
        for (name, visibility, announced) in [
            ("diabetes", CommunityVisibility::Public, true),
            ("ward", CommunityVisibility::Local, false),
        ] {
            let c = community(&store, name, owner, Membership::Open, visibility).await;
            for account in [mo, gus] {
                store.join_community(&c, account, None).await.unwrap();
            }
            let thread = store
                .create_status(&status(&store, mo, c.id, None))
                .await
                .unwrap()
                .facts
                .id;
            let before = outbox_kinds(&store).await.len();
            assert!(store.set_community_moderator(c.id, mo, true).await.unwrap());
            // Already a moderator: nothing changes, nothing more is announced.
            assert!(store.set_community_moderator(c.id, mo, true).await.unwrap());
            assert!(
                store
                    .set_community_moderator(c.id, mo, false)
                    .await
                    .unwrap()
            );
            assert!(store.set_community_pin(c.id, thread, true).await.unwrap());
            assert!(store.set_community_pin(c.id, thread, false).await.unwrap());
            assert!(
                store
                    .ban_from_community(&c, owner, gus, "spam", None)
                    .await
                    .unwrap()
            );
            assert!(store.unban_from_community(c.id, owner, gus).await.unwrap());
            let kinds = outbox_kinds(&store).await[before..].to_vec();
            let expected = if announced {
                vec![
                    K::GroupAddModerator,
                    K::GroupRemoveModerator,
                    K::GroupFeature,
                    K::GroupUnfeature,
                    K::GroupBan,
                    K::GroupUnban,
                ]
            } else {
                Vec::new()
            };
            assert_eq!(kinds, expected, "{name}");
            let events = store.outbox_events_after(0, 1000).await.unwrap();
            for event in events[before..]
                .iter()
                .filter(|e| e.kind.is_group_moderation())
            {
                assert_eq!(event.actor, Some(c.account.id), "the Group announces");
            }
        }
    })
    .await;
}

#[tokio::test]
async fn a_removal_and_the_notice_it_sends_are_written_together() {
    on_each_engine(|store| async move {
        let owner = person(&store, "olga").await;
        let pat = person(&store, "pat").await;
        let c = community(
            &store,
            "open",
            owner,
            Membership::Open,
            CommunityVisibility::Public,
        )
        .await;
        store.join_community(&c, pat, None).await.unwrap();
        let removed_here = status(&store, pat, c.id, None);
        store.create_status(&removed_here).await.unwrap();
        let relayed = status(&store, pat, c.id, None);
        store.create_status(&relayed).await.unwrap();
        let notices = |store: Store| async move {
            store
                .unplanned_outbox_events(100)
                .await
                .unwrap()
                .into_iter()
                .filter(|e| {
                    matches!(
                        e.kind,
                        OutboxKind::ModeratorDelete | OutboxKind::GroupRemove
                    )
                })
                .map(|e| (e.kind, e.actor, e.status, e.target_account))
                .collect::<Vec<_>>()
        };

        // A moderator here removing from a community hosted elsewhere: their Delete to the
        // community's Group is queued with the removal.
        assert!(
            store
                .remove_from_community(
                    c.id,
                    removed_here.id,
                    owner,
                    "names a patient",
                    RemovalNotice::ToRemoteGroup(c.account.id)
                )
                .await
                .unwrap()
        );
        let expected = vec![(
            OutboxKind::ModeratorDelete,
            Some(owner),
            Some(removed_here.id),
            Some(c.account.id),
        )];
        assert_eq!(notices(store.clone()).await, expected);
        assert!(store.status(removed_here.id).await.unwrap().facts.deleted);

        // Nothing removed, nothing sent.
        assert!(
            !store
                .remove_from_community(
                    c.id,
                    removed_here.id,
                    owner,
                    "again",
                    RemovalNotice::ToRemoteGroup(c.account.id)
                )
                .await
                .unwrap()
        );
        // A removal received from the Group sends nothing back.
        assert!(
            store
                .remove_from_community(c.id, relayed.id, c.account.id, "", RemovalNotice::Received)
                .await
                .unwrap()
        );
        assert_eq!(notices(store.clone()).await, expected);
    })
    .await;
}
