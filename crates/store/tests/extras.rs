//! Polls, scheduled statuses, tags, endorsements, conversations, user domain blocks and
//! full-text search as stored, on SQLite and PostgreSQL.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cohort_model::{Domain, Id, Role, Visibility};
use cohort_policy::Audience;
use cohort_store::testing::on_each_engine;
use cohort_store::{
    FollowState, NewPoll, NewRemoteAccount, NewStatus, Page, StatusSearch, Store, StoreError,
    VoteError, search_words,
};

async fn local(store: &Store, name: &str) -> Id {
    store
        .create_local_account(&cohort_store::testing::local_account(name, Role::Member))
        .await
        .unwrap()
        .id
}

async fn post_with(
    store: &Store,
    author: Id,
    visibility: Visibility,
    text: &str,
    parent: Option<Id>,
    addressed: Vec<Id>,
) -> Id {
    let id = store.next_id();
    let record = store
        .create_status(&NewStatus {
            id,
            author,
            uri: format!("https://cohort.example/statuses/{id}"),
            url: None,
            local: true,
            audience: Audience::new(visibility),
            text_source: text.into(),
            content_html: format!("<p>{text}</p>"),
            spoiler_text: String::new(),
            sensitive: false,
            language: Some("en".into()),
            in_reply_to: parent,
            reblog_of: None,
            addressed: addressed.clone(),
            held_reason: None,
            expires_at: None,
        })
        .await
        .unwrap();
    record.facts.id
}

async fn post(store: &Store, author: Id, text: &str) -> Id {
    post_with(store, author, Visibility::Public, text, None, Vec::new()).await
}

fn page() -> Page {
    Page {
        limit: 20,
        ..Page::default()
    }
}

fn words(text: &str) -> StatusSearch {
    StatusSearch {
        words: search_words(text),
        author: None,
        limit: 20,
        offset: 0,
    }
}

#[tokio::test]
async fn poll_votes_are_counted_once_per_account() {
    on_each_engine(|store| async move {
        let author = local(&store, "author").await;
        let voter = local(&store, "voter").await;
        let other = local(&store, "other").await;
        let status = post(&store, author, "which one?").await;
        let poll = store
            .create_poll(&NewPoll {
                status,
                options: vec!["a".into(), "b".into(), "c".into()],
                multiple: false,
                hide_totals: false,
                expires_at: Some(cohort_store::now_ms() + 3_600_000),
            })
            .await
            .unwrap();
        store.vote_in_poll(poll, voter, &[1], None).await.unwrap();
        assert!(matches!(
            store.vote_in_poll(poll, voter, &[0], None).await,
            Err(VoteError::AlreadyVoted)
        ));
        assert!(matches!(
            store.vote_in_poll(poll, other, &[0, 2], None).await,
            Err(VoteError::NotMultiple)
        ));
        assert!(matches!(
            store.vote_in_poll(poll, other, &[3], None).await,
            Err(VoteError::NoSuchOption)
        ));
        assert!(matches!(
            store.vote_in_poll(poll, other, &[], None).await,
            Err(VoteError::NoChoice)
        ));
        let record = store.poll(poll).await.unwrap();
        assert_eq!(record.votes, vec![0, 1, 0]);
        assert_eq!(record.voters_count, 1);
        assert_eq!(
            store.own_votes(voter, &[poll]).await.unwrap()[&poll],
            vec![1]
        );
        assert!(store.own_votes(other, &[poll]).await.unwrap().is_empty());
        assert_eq!(store.polls_of(&[status]).await.unwrap()[&status].id, poll);
    })
    .await;
}

#[tokio::test]
async fn a_multiple_choice_poll_counts_voters_and_votes_apart() {
    on_each_engine(|store| async move {
        let author = local(&store, "author").await;
        let voter = local(&store, "voter").await;
        let status = post(&store, author, "which ones?").await;
        let poll = store
            .create_poll(&NewPoll {
                status,
                options: vec!["a".into(), "b".into()],
                multiple: true,
                hide_totals: false,
                expires_at: None,
            })
            .await
            .unwrap();
        store
            .vote_in_poll(poll, voter, &[0, 1], None)
            .await
            .unwrap();
        let record = store.poll(poll).await.unwrap();
        assert_eq!(record.votes, vec![1, 1]);
        assert_eq!(record.votes_count(), 2);
        assert_eq!(record.voters_count, 1);
    })
    .await;
}

#[tokio::test]
async fn an_ended_poll_is_announced_once_to_voters_and_author() {
    on_each_engine(|store| async move {
        let author = local(&store, "author").await;
        let voter = local(&store, "voter").await;
        let status = post(&store, author, "quick").await;
        let now = cohort_store::now_ms();
        let poll = store
            .create_poll(&NewPoll {
                status,
                options: vec!["a".into(), "b".into()],
                multiple: false,
                hide_totals: false,
                expires_at: Some(now + 1000),
            })
            .await
            .unwrap();
        store.vote_in_poll(poll, voter, &[0], None).await.unwrap();
        assert!(store.end_due_polls(now).await.unwrap().is_empty());
        let ended = store.end_due_polls(now + 2000).await.unwrap();
        assert_eq!(ended.len(), 1);
        assert_eq!(ended[0].voters, vec![voter]);
        assert!(store.end_due_polls(now + 3000).await.unwrap().is_empty());
        for account in [author, voter] {
            let notes = store.notifications(account, page()).await.unwrap();
            assert_eq!(
                notes.iter().filter(|n| n.kind == "poll").count(),
                1,
                "one poll notification"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn scheduled_statuses_are_the_owners_and_are_claimed_once_when_due() {
    on_each_engine(|store| async move {
        let owner = local(&store, "owner").await;
        let other = local(&store, "other").await;
        let now = cohort_store::now_ms();
        let due = store
            .create_scheduled_status(owner, now + 60_000, r#"{"status":"later"}"#)
            .await
            .unwrap();
        store
            .create_scheduled_status(owner, now + 3_600_000, r#"{"status":"much later"}"#)
            .await
            .unwrap();
        assert_eq!(
            store
                .scheduled_statuses_of(owner, page())
                .await
                .unwrap()
                .len(),
            2
        );
        assert!(matches!(
            store.scheduled_status(other, due.id).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            store.delete_scheduled_status(other, due.id).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(
            store
                .claim_due_scheduled_statuses(now, 60_000)
                .await
                .unwrap()
                .is_empty()
        );
        let claimed = store
            .claim_due_scheduled_statuses(now + 61_000, 60_000)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].params_json, r#"{"status":"later"}"#);
        // A second process finds it claimed; after the lease lapses it is claimed again.
        assert!(
            store
                .claim_due_scheduled_statuses(now + 62_000, 60_000)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            store
                .claim_due_scheduled_statuses(now + 122_000, 60_000)
                .await
                .unwrap()
                .len(),
            1
        );
        store.finish_scheduled_status(due.id).await.unwrap();
        assert_eq!(
            store
                .scheduled_statuses_of(owner, page())
                .await
                .unwrap()
                .len(),
            1
        );
    })
    .await;
}

#[tokio::test]
async fn followed_tags_bring_their_posts_to_the_home_timeline() {
    on_each_engine(|store| async move {
        let reader = local(&store, "reader").await;
        let writer = local(&store, "writer").await;
        let tagged = post(&store, writer, "#insulin pumps").await;
        store
            .index_status_tags(tagged, &["insulin".into()])
            .await
            .unwrap();
        let untagged = post(&store, writer, "nothing").await;
        assert!(
            store
                .home_timeline_ids(reader, page())
                .await
                .unwrap()
                .is_empty()
        );
        store.follow_tag(reader, "Insulin").await.unwrap();
        store.follow_tag(reader, "insulin").await.unwrap();
        let followed = store.followed_tags(reader, page()).await.unwrap();
        assert_eq!(followed.len(), 1);
        assert_eq!(followed[0].tag, "insulin");
        assert_eq!(
            store.home_timeline_ids(reader, page()).await.unwrap(),
            vec![tagged]
        );
        assert!(
            !store
                .home_timeline_ids(reader, page())
                .await
                .unwrap()
                .contains(&untagged)
        );
        store.unfollow_tag(reader, "insulin").await.unwrap();
        assert!(
            store
                .home_timeline_ids(reader, page())
                .await
                .unwrap()
                .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn tag_search_and_history_count_only_open_posts() {
    on_each_engine(|store| async move {
        let writer = local(&store, "writer").await;
        let open = post(&store, writer, "#hashtag_x").await;
        store
            .index_status_tags(open, &["hashtag_x".into()])
            .await
            .unwrap();
        let private = post_with(
            &store,
            writer,
            Visibility::Followers,
            "#hashtag_secret",
            None,
            vec![],
        )
        .await;
        store
            .index_status_tags(private, &["hashtag_secret".into()])
            .await
            .unwrap();
        assert_eq!(
            store.search_tags(None, "HashTag", 20, 0).await.unwrap(),
            vec!["hashtag_x".to_owned()]
        );
        // `_` in the prefix is a character, not a LIKE wildcard.
        assert!(
            store
                .search_tags(None, "hashtag_y", 20, 0)
                .await
                .unwrap()
                .is_empty()
        );
        let history = store.tag_history("hashtag_x", 7).await.unwrap();
        assert_eq!(history.len(), 7);
        assert_eq!(history[0].uses, 1);
        assert_eq!(history[0].accounts, 1);
        assert_eq!(
            store.tag_history("hashtag_secret", 7).await.unwrap()[0].uses,
            0
        );
    })
    .await;
}

#[tokio::test]
async fn featured_tags_and_endorsements_belong_to_their_account() {
    on_each_engine(|store| async move {
        let owner = local(&store, "owner").await;
        let other = local(&store, "other").await;
        let tagged = post(&store, owner, "#rare").await;
        store
            .index_status_tags(tagged, &["rare".into()])
            .await
            .unwrap();
        let featured = store.feature_tag(owner, "Rare").await.unwrap();
        assert_eq!(featured.statuses_count, 1);
        assert!(featured.last_status_at.is_some());
        assert_eq!(
            store.feature_tag(owner, "rare").await.unwrap().id,
            featured.id
        );
        assert!(matches!(
            store.unfeature_tag(other, featured.id).await,
            Err(StoreError::NotFound(_))
        ));
        store.unfeature_tag(owner, featured.id).await.unwrap();
        assert!(store.featured_tags(owner).await.unwrap().is_empty());

        store.endorse(owner, other).await.unwrap();
        store.endorse(owner, other).await.unwrap();
        assert!(store.endorses(owner, other).await.unwrap());
        assert!(!store.endorses(other, owner).await.unwrap());
        let endorsed = store.endorsed_accounts(owner, page()).await.unwrap();
        assert_eq!(
            endorsed.iter().map(|(_, a)| *a).collect::<Vec<_>>(),
            vec![other]
        );
        store.unendorse(owner, other).await.unwrap();
        assert!(
            store
                .endorsed_accounts(owner, page())
                .await
                .unwrap()
                .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn conversations_group_direct_threads_and_remember_read_and_hidden() {
    on_each_engine(|store| async move {
        let alice = local(&store, "alice").await;
        let bob = local(&store, "bob").await;
        let carol = local(&store, "carol").await;
        let first = post_with(&store, alice, Visibility::Direct, "hi bob", None, vec![bob]).await;
        let reply = post_with(
            &store,
            bob,
            Visibility::Direct,
            "hi alice",
            Some(first),
            vec![alice],
        )
        .await;
        post(&store, alice, "a public post").await;

        let of_alice = store.conversations_of(alice, page()).await.unwrap();
        assert_eq!(of_alice.len(), 1);
        assert_eq!(of_alice[0].root, first);
        assert_eq!(of_alice[0].last_status, reply);
        assert!(of_alice[0].unread);
        assert_eq!(
            store.conversation_participants(alice, first).await.unwrap(),
            vec![bob]
        );
        // Bob wrote the last status: not unread for him.
        assert!(!store.conversations_of(bob, page()).await.unwrap()[0].unread);
        assert!(
            store
                .conversations_of(carol, page())
                .await
                .unwrap()
                .is_empty()
        );
        assert!(matches!(
            store.mark_conversation_read(carol, first).await,
            Err(StoreError::NotFound(_))
        ));

        store.mark_conversation_read(alice, first).await.unwrap();
        assert!(!store.conversations_of(alice, page()).await.unwrap()[0].unread);
        store.hide_conversation(alice, first).await.unwrap();
        assert!(
            store
                .conversations_of(alice, page())
                .await
                .unwrap()
                .is_empty()
        );
        // A newer status brings it back, unread.
        let again = post_with(
            &store,
            bob,
            Visibility::Direct,
            "still there?",
            Some(reply),
            vec![alice],
        )
        .await;
        let back = store.conversations_of(alice, page()).await.unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].last_status, again);
        assert!(back[0].unread);
    })
    .await;
}

#[tokio::test]
async fn a_user_domain_block_drops_followers_from_that_domain() {
    on_each_engine(|store| async move {
        let owner = local(&store, "owner").await;
        let neighbour = local(&store, "neighbour").await;
        let remote = store
            .upsert_remote_account(&NewRemoteAccount {
                username: "fan".to_owned(),
                domain: Domain::parse("remote.example").unwrap(),
                actor_uri: "https://remote.example/users/fan".to_owned(),
                inbox_uri: "https://remote.example/users/fan/inbox".to_owned(),
                shared_inbox_uri: None,
                followers_uri: None,
                display_name: "fan".to_owned(),
                is_group: false,
            })
            .await
            .unwrap();
        store
            .set_follow(remote, owner, FollowState::Accepted)
            .await
            .unwrap();
        store
            .set_follow(neighbour, owner, FollowState::Accepted)
            .await
            .unwrap();
        let domain = Domain::parse("remote.example").unwrap();
        let removed = store
            .block_domain_and_drop_followers(owner, &domain)
            .await
            .unwrap();
        assert_eq!(removed, vec![remote]);
        assert!(!store.relationship(remote, owner).await.unwrap().following);
        assert!(
            store
                .relationship(neighbour, owner)
                .await
                .unwrap()
                .following
        );
        assert!(store.blocks_domain(owner, &domain).await.unwrap());
        assert_eq!(
            store.domains_blocked_by(owner, 10, 0).await.unwrap(),
            vec![domain.clone()]
        );
        store
            .unblock_domain_for_account(owner, &domain)
            .await
            .unwrap();
        assert!(!store.blocks_domain(owner, &domain).await.unwrap());
    })
    .await;
}

#[tokio::test]
async fn full_text_search_finds_words_only_in_opted_in_or_own_posts() {
    on_each_engine(|store| async move {
        let searcher = local(&store, "searcher").await;
        let open = local(&store, "open").await;
        let shy = local(&store, "shy").await;
        // Opting in is part of the profile (update_credentials' `indexable`).
        store
            .update_profile(
                open,
                &cohort_store::ProfileUpdate {
                    display_name: None,
                    note: None,
                    locked: None,
                    bot: None,
                    default_status_lifetime_secs: None,
                    details: cohort_store::ProfileDetailsUpdate {
                        indexable: Some(true),
                        ..Default::default()
                    },
                },
            )
            .await
            .unwrap();
        let found = post(&store, open, "Insulin pump tips").await;
        let hidden = post(&store, shy, "insulin pump troubles").await;
        let own = post(&store, searcher, "my insulin pump").await;
        post(&store, open, "something else").await;

        let results = store
            .search_status_ids(searcher, &words("insulin PUMP"))
            .await
            .unwrap();
        assert_eq!(results, vec![own, found]);
        assert!(!results.contains(&hidden));
        // The author finds their own post even without opting in.
        assert_eq!(
            store
                .search_status_ids(shy, &words("troubles"))
                .await
                .unwrap(),
            vec![hidden]
        );
        // Query syntax is taken as words, never as operators.
        assert!(
            store
                .search_status_ids(searcher, &words("\"insulin\" OR NEAR(x"))
                .await
                .unwrap()
                .is_empty()
        );
        // Edits are reindexed; deleted posts are not found.
        store.mark_status_deleted(found).await.unwrap();
        assert_eq!(
            store
                .search_status_ids(searcher, &words("insulin"))
                .await
                .unwrap(),
            vec![own]
        );
    })
    .await;
}

#[tokio::test]
async fn account_search_matches_name_prefixes_exact_first() {
    on_each_engine(|store| async move {
        let ann = local(&store, "ann").await;
        let anna = local(&store, "anna").await;
        local(&store, "bob").await;
        assert_eq!(
            store.search_account_ids("ann", None, 10, 0).await.unwrap(),
            vec![ann, anna]
        );
        assert_eq!(
            store.search_account_ids("ANNA", None, 10, 0).await.unwrap(),
            vec![anna]
        );
        assert!(
            store
                .search_account_ids("a%", None, 10, 0)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            store
                .search_account_ids("ann", Some(ann), 10, 0)
                .await
                .unwrap()
                .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn an_upload_left_processing_by_a_stopped_process_is_given_up_and_cannot_finish_later() {
    use cohort_store::{INTERRUPTED_UPLOAD, MediaFiles, MediaPurpose, MediaState, NewUpload};
    on_each_engine(|store| async move {
        let owner = local(&store, "ann").await;
        let upload = |id| NewUpload {
            id,
            account: owner,
            purpose: MediaPurpose::Attachment,
            description: String::new(),
            focus: (0.0, 0.0),
            files: None,
        };
        let stale = store.create_upload(&upload(store.next_id())).await.unwrap();
        let cutoff = stale.created_at + 1;
        // Uploads started at or after the cutoff are some live process's: left alone.
        assert_eq!(
            store
                .fail_interrupted_uploads(stale.created_at)
                .await
                .unwrap(),
            0
        );
        assert_eq!(store.fail_interrupted_uploads(cutoff).await.unwrap(), 1);
        let given_up = store.media(stale.id).await.unwrap();
        assert_eq!(
            given_up.state,
            MediaState::Failed(INTERRUPTED_UPLOAD.into())
        );
        // The process, if it was only slow, cannot turn it back to ready.
        let files = MediaFiles {
            original_key: "k/original.png".into(),
            small_key: "k/small.png".into(),
            content_type: "image/png".into(),
            file_size: 1,
            width: 1,
            height: 1,
            small_width: 1,
            small_height: 1,
            blurhash: "L".into(),
        };
        assert!(!store.finish_upload(stale.id, &files).await.unwrap());
        assert!(matches!(
            store.media(stale.id).await.unwrap().state,
            MediaState::Failed(_)
        ));
        // A second pass finds nothing more to do.
        assert_eq!(store.fail_interrupted_uploads(cutoff).await.unwrap(), 0);
    })
    .await;
}
