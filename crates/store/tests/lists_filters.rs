//! Lists and filters as stored, on SQLite and PostgreSQL: ownership, membership rules,
//! list timelines, exclusive lists and home, and filters with their keywords.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cohort_model::{Id, Role, Visibility};
use cohort_policy::Audience;
use cohort_store::testing::on_each_engine;
use cohort_store::{
    FilterAction, FilterContext, FilterFields, FollowState, KeywordChanges, ListFields,
    ListMemberError, NewKeyword, NewStatus, Page, RepliesPolicy, Store, StoreError,
};

async fn local(store: &Store, name: &str) -> Id {
    store
        .create_local_account(&cohort_store::testing::local_account(name, Role::Member))
        .await
        .unwrap()
        .id
}

async fn post(store: &Store, author: Id, parent: Option<Id>) -> Id {
    let id = store.next_id();
    store
        .create_status(&NewStatus {
            id,
            author,
            uri: format!("https://cohort.example/statuses/{id}"),
            url: None,
            local: true,
            audience: Audience::new(Visibility::Public),
            text_source: "hello".into(),
            content_html: "<p>hello</p>".into(),
            spoiler_text: String::new(),
            sensitive: false,
            language: Some("en".into()),
            in_reply_to: parent,
            reblog_of: None,
            addressed: Vec::new(),
            held_reason: None,
            expires_at: None,
        })
        .await
        .unwrap()
        .facts
        .id
}

async fn follow(store: &Store, follower: Id, followed: Id) {
    store
        .set_follow(follower, followed, FollowState::Accepted)
        .await
        .unwrap();
}

fn fields(title: &str) -> ListFields {
    ListFields {
        title: title.into(),
        replies_policy: RepliesPolicy::List,
        exclusive: false,
    }
}

fn page() -> Page {
    Page {
        limit: 20,
        ..Page::default()
    }
}

#[tokio::test]
async fn lists_belong_to_their_owner() {
    on_each_engine(|store| async move {
        let pat = local(&store, "pat").await;
        let sam = local(&store, "sam").await;
        let list = store.create_list(pat, &fields("Care team")).await.unwrap();
        assert_eq!(store.lists_of(pat).await.unwrap(), vec![list.clone()]);
        assert!(store.lists_of(sam).await.unwrap().is_empty());
        assert!(matches!(
            store.list(sam, list.id).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            store.delete_list(sam, list.id).await,
            Err(StoreError::NotFound(_))
        ));
        let changed = ListFields {
            title: "Nurses".into(),
            replies_policy: RepliesPolicy::None,
            exclusive: true,
        };
        assert!(matches!(
            store.update_list(sam, list.id, &changed).await,
            Err(StoreError::NotFound(_))
        ));
        let updated = store.update_list(pat, list.id, &changed).await.unwrap();
        assert_eq!(updated.title, "Nurses");
        assert_eq!(updated.replies_policy, RepliesPolicy::None);
        assert!(updated.exclusive);
        store.delete_list(pat, list.id).await.unwrap();
        assert!(store.lists_of(pat).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn only_followed_accounts_join_a_list_and_nothing_is_half_added() {
    on_each_engine(|store| async move {
        let pat = local(&store, "pat").await;
        let sam = local(&store, "sam").await;
        let kim = local(&store, "kim").await;
        follow(&store, pat, sam).await;
        store
            .set_follow(pat, kim, FollowState::Requested)
            .await
            .unwrap();
        let list = store.create_list(pat, &fields("Team")).await.unwrap();
        let refused = store.add_list_members(pat, list.id, &[sam, kim]).await;
        assert!(matches!(refused, Err(ListMemberError::NotFollowed(who)) if who == kim));
        assert!(
            store
                .list_member_ids(pat, list.id, page())
                .await
                .unwrap()
                .is_empty()
        );
        // Another account cannot add to pat's list.
        follow(&store, kim, sam).await;
        assert!(matches!(
            store.add_list_members(kim, list.id, &[sam]).await,
            Err(ListMemberError::Store(StoreError::NotFound(_)))
        ));
        store.add_list_members(pat, list.id, &[sam]).await.unwrap();
        store.add_list_members(pat, list.id, &[sam]).await.unwrap();
        assert_eq!(
            store.list_member_ids(pat, list.id, page()).await.unwrap(),
            vec![sam]
        );
        assert_eq!(
            store.lists_containing(pat, sam).await.unwrap(),
            vec![list.clone()]
        );
        store
            .remove_list_members(pat, list.id, &[sam])
            .await
            .unwrap();
        assert!(store.lists_containing(pat, sam).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn unfollowing_or_blocking_removes_the_account_from_lists() {
    on_each_engine(|store| async move {
        let pat = local(&store, "pat").await;
        let sam = local(&store, "sam").await;
        let kim = local(&store, "kim").await;
        follow(&store, pat, sam).await;
        follow(&store, pat, kim).await;
        let list = store.create_list(pat, &fields("Team")).await.unwrap();
        store
            .add_list_members(pat, list.id, &[sam, kim])
            .await
            .unwrap();
        store.remove_follow(pat, sam).await.unwrap();
        store.block(kim, pat).await.unwrap();
        assert!(
            store
                .list_member_ids(pat, list.id, page())
                .await
                .unwrap()
                .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn list_timeline_shows_members_posts_and_replies_by_policy() {
    on_each_engine(|store| async move {
        let pat = local(&store, "pat").await;
        let sam = local(&store, "sam").await;
        let kim = local(&store, "kim").await;
        let lee = local(&store, "lee").await;
        let ann = local(&store, "ann").await;
        for target in [sam, kim, lee] {
            follow(&store, pat, target).await;
        }
        let mut list = store.create_list(pat, &fields("Team")).await.unwrap();
        store
            .add_list_members(pat, list.id, &[sam, kim])
            .await
            .unwrap();
        let by_sam = post(&store, sam, None).await;
        let _by_lee = post(&store, lee, None).await;
        let self_reply = post(&store, sam, Some(by_sam)).await;
        let by_kim = post(&store, kim, None).await;
        let to_member = post(&store, sam, Some(by_kim)).await;
        let by_lee = post(&store, lee, None).await;
        let to_followed = post(&store, sam, Some(by_lee)).await;
        let by_ann = post(&store, ann, None).await;
        let _to_stranger = post(&store, sam, Some(by_ann)).await;

        let ids = store.list_timeline_ids(&list, page()).await.unwrap();
        assert_eq!(
            ids,
            vec![to_member, by_kim, self_reply, by_sam],
            "replies_policy list"
        );
        list.replies_policy = RepliesPolicy::Followed;
        let ids = store.list_timeline_ids(&list, page()).await.unwrap();
        assert_eq!(
            ids,
            vec![to_followed, to_member, by_kim, self_reply, by_sam],
            "replies_policy followed"
        );
        list.replies_policy = RepliesPolicy::None;
        let ids = store.list_timeline_ids(&list, page()).await.unwrap();
        assert_eq!(ids, vec![by_kim, self_reply, by_sam], "replies_policy none");
    })
    .await;
}

#[tokio::test]
async fn exclusive_lists_take_their_members_out_of_home() {
    on_each_engine(|store| async move {
        let pat = local(&store, "pat").await;
        let sam = local(&store, "sam").await;
        let kim = local(&store, "kim").await;
        follow(&store, pat, sam).await;
        follow(&store, pat, kim).await;
        let by_sam = post(&store, sam, None).await;
        let by_kim = post(&store, kim, None).await;
        let list = store.create_list(pat, &fields("Team")).await.unwrap();
        store.add_list_members(pat, list.id, &[sam]).await.unwrap();
        assert_eq!(
            store.home_timeline_ids(pat, page()).await.unwrap(),
            vec![by_kim, by_sam],
            "an ordinary list leaves home alone"
        );
        let exclusive = ListFields {
            exclusive: true,
            ..fields("Team")
        };
        store.update_list(pat, list.id, &exclusive).await.unwrap();
        assert_eq!(
            store.home_timeline_ids(pat, page()).await.unwrap(),
            vec![by_kim]
        );
        assert_eq!(
            store
                .list_timeline_ids(&store.list(pat, list.id).await.unwrap(), page())
                .await
                .unwrap(),
            vec![by_sam]
        );
    })
    .await;
}

fn filter_fields(title: &str) -> FilterFields {
    FilterFields {
        title: title.into(),
        contexts: vec![FilterContext::Home, FilterContext::Public],
        action: FilterAction::Hide,
        expires_at: None,
    }
}

fn keyword(text: &str) -> NewKeyword {
    NewKeyword {
        keyword: text.into(),
        whole_word: true,
    }
}

#[tokio::test]
async fn filters_keep_their_keywords_and_statuses_and_belong_to_their_owner() {
    on_each_engine(|store| async move {
        let pat = local(&store, "pat").await;
        let sam = local(&store, "sam").await;
        let status = post(&store, sam, None).await;
        let filter = store
            .create_filter(
                pat,
                &filter_fields("Spoilers"),
                &[keyword("finale"), keyword("ending")],
            )
            .await
            .unwrap();
        assert_eq!(
            filter.contexts,
            vec![FilterContext::Home, FilterContext::Public]
        );
        assert_eq!(filter.action, FilterAction::Hide);
        assert_eq!(filter.keywords.len(), 2);
        assert!(store.filters_of(sam).await.unwrap().is_empty());
        assert!(matches!(
            store.filter(sam, filter.id).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            store.filter_keyword(sam, filter.keywords[0].id).await,
            Err(StoreError::NotFound(_))
        ));

        let added = store
            .add_filter_status(pat, filter.id, status)
            .await
            .unwrap();
        assert!(matches!(
            store.add_filter_status(pat, filter.id, status).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            store.add_filter_status(sam, filter.id, status).await,
            Err(StoreError::NotFound(_))
        ));

        let changes = KeywordChanges {
            add: vec![keyword("season")],
            change: vec![(filter.keywords[0].id, keyword("FINALE"))],
            remove: vec![filter.keywords[1].id],
        };
        let updated = store
            .update_filter(pat, filter.id, &filter_fields("Shows"), &changes)
            .await
            .unwrap();
        let words: Vec<&str> = updated
            .keywords
            .iter()
            .map(|k| k.keyword.as_str())
            .collect();
        assert_eq!(words, vec!["FINALE", "season"]);
        assert_eq!(updated.title, "Shows");
        assert_eq!(updated.statuses, vec![added.clone()]);

        // A keyword of another filter is refused, and nothing of the update is kept.
        let other = store
            .create_filter(pat, &filter_fields("Other"), &[keyword("x")])
            .await
            .unwrap();
        let bad = KeywordChanges {
            add: vec![keyword("never")],
            remove: vec![other.keywords[0].id],
            ..KeywordChanges::default()
        };
        assert!(matches!(
            store
                .update_filter(pat, filter.id, &filter_fields("Renamed"), &bad)
                .await,
            Err(StoreError::NotFound(_))
        ));
        let unchanged = store.filter(pat, filter.id).await.unwrap();
        assert_eq!(unchanged, updated);

        store.delete_filter_status(pat, added.id).await.unwrap();
        store.delete_filter(pat, filter.id).await.unwrap();
        assert!(matches!(
            store.filter_keyword(pat, updated.keywords[0].id).await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(store.filters_of(pat).await.unwrap(), vec![other]);
    })
    .await;
}

#[tokio::test]
async fn expired_filters_are_not_active() {
    on_each_engine(|store| async move {
        let pat = local(&store, "pat").await;
        let expired = FilterFields {
            expires_at: Some(1),
            ..filter_fields("Old")
        };
        store
            .create_filter(pat, &expired, &[keyword("a")])
            .await
            .unwrap();
        let live = store
            .create_filter(pat, &filter_fields("New"), &[keyword("b")])
            .await
            .unwrap();
        assert_eq!(store.filters_of(pat).await.unwrap().len(), 2);
        assert_eq!(store.active_filters(pat).await.unwrap(), vec![live]);
    })
    .await;
}

/// The batched account reads of the timeline renderer (written for the home-timeline
/// benchmark) agree with the one-by-one reads.
#[tokio::test]
async fn accounts_for_rendering_match_the_one_by_one_reads() {
    on_each_engine(|store| async move {
        let pat = local(&store, "pat").await;
        let sam = local(&store, "sam").await;
        let kim = local(&store, "kim").await;
        follow(&store, pat, sam).await;
        follow(&store, kim, sam).await;
        post(&store, sam, None).await;
        post(&store, sam, None).await;
        post(&store, pat, None).await;
        let unknown = store.next_id();
        let batch = store
            .accounts_for_rendering(&[pat, sam, kim, unknown])
            .await
            .unwrap();
        assert_eq!(batch.len(), 3);
        for (record, counts, profile) in batch {
            assert_eq!(record, store.account_by_id(record.id).await.unwrap());
            assert_eq!(counts, store.account_counts(record.id).await.unwrap());
            assert_eq!(profile, store.profile_details(record.id).await.unwrap());
        }
    })
    .await;
}
