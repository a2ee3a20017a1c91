//! Live events for the streaming API: on PostgreSQL they travel by NOTIFY/LISTEN, so that a
//! client connected to any `cohort` process sharing the database receives what any process
//! wrote, and the writing process receives each event once.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use cohort_model::Id;
use cohort_store::testing::{TestDatabase, on_each_engine};
use cohort_store::{DatabaseSettings, Store, StreamEvent};
use tokio::sync::broadcast;

/// A safety net for a broken listener, not a timing assertion.
const PATIENCE: Duration = Duration::from_secs(20);

async fn next(events: &mut broadcast::Receiver<StreamEvent>) -> StreamEvent {
    tokio::time::timeout(PATIENCE, events.recv())
        .await
        .expect("no event in time")
        .expect("bus closed")
}

fn id(n: i64) -> Id {
    Id::from_i64(n).unwrap()
}

#[tokio::test]
async fn events_written_by_one_process_reach_every_process_once_on_postgres() {
    let Some(db) = TestDatabase::postgres(true).await.unwrap() else {
        return;
    };
    let other = Store::open(&DatabaseSettings::new(db.url.clone()))
        .await
        .unwrap();
    let mut here = db.store.subscribe_stream();
    let mut there = other.subscribe_stream();
    db.store.stream_ready().await;
    other.stream_ready().await;
    // Unmuting publishes "this account's preferences changed", rows or not.
    db.store.unmute(id(1), id(2)).await.unwrap();
    other.unmute(id(3), id(4)).await.unwrap();
    for events in [&mut here, &mut there] {
        assert_eq!(next(events).await, StreamEvent::viewer_changed(id(1)));
        assert_eq!(
            next(events).await,
            StreamEvent::viewer_changed(id(3)),
            "each event arrives once, in the writer's process too"
        );
    }
    other.close().await;
    db.finish().await.unwrap();
}

#[tokio::test]
async fn a_process_receives_its_own_events_on_both_engines() {
    on_each_engine(|store| async move {
        let mut events = store.subscribe_stream();
        store.stream_ready().await;
        store.unmute(id(5), id(6)).await.unwrap();
        assert_eq!(next(&mut events).await, StreamEvent::viewer_changed(id(5)));
        assert!(matches!(
            events.try_recv(),
            Err(broadcast::error::TryRecvError::Empty)
        ));
    })
    .await;
}

async fn account(store: &Store, name: &str, role: cohort_model::Role) -> cohort_policy::Party {
    let id = store
        .create_local_account(&cohort_store::testing::local_account(name, role))
        .await
        .unwrap()
        .id;
    cohort_policy::Party {
        id,
        domain: None,
        suspended: false,
    }
}

async fn post(store: &Store, author: Id, visibility: cohort_model::Visibility) -> Id {
    let id = store.next_id();
    store
        .create_status(&cohort_store::testing::local_status(
            id,
            author,
            format!("https://cohort.example/statuses/{id}"),
            visibility,
            "hello",
        ))
        .await
        .unwrap();
    id
}

/// The streaming hub decides a live event for every connected viewer from one batch of
/// facts, loaded in one statement; each viewer's decision must be the one its own facts
/// give (a block or a follow seen by the batch exactly as by the viewer's own read).
#[tokio::test]
async fn the_batch_of_facts_for_connected_viewers_decides_as_each_viewers_own_facts() {
    use cohort_model::{Domain, Role, Visibility};
    use cohort_policy::{FederationMode, Viewer, decide_view};
    on_each_engine(|store| async move {
        let author = account(&store, "author", Role::Member).await;
        let follower = account(&store, "follower", Role::Member).await;
        let blocker = account(&store, "blocker", Role::Member).await;
        let blocked = account(&store, "blocked", Role::Member).await;
        let stranger = account(&store, "stranger", Role::Member).await;
        let moderator = account(&store, "moderator", Role::Moderator).await;
        store
            .set_follow(follower.id, author.id, cohort_store::FollowState::Accepted)
            .await
            .unwrap();
        store.block(blocker.id, author.id).await.unwrap();
        store.block(author.id, blocked.id).await.unwrap();
        let elsewhere = Domain::parse("elsewhere.example").unwrap();
        store
            .block_domain_and_drop_followers(stranger.id, &elsewhere)
            .await
            .unwrap();
        store
            .set_federation_mode(FederationMode::Allowlist)
            .await
            .unwrap();
        let viewers = vec![
            follower.clone(),
            blocker.clone(),
            blocked.clone(),
            stranger.clone(),
            moderator.clone(),
        ];
        let public = store
            .status(post(&store, author.id, Visibility::Public).await)
            .await
            .unwrap();
        let private = store
            .status(post(&store, author.id, Visibility::Followers).await)
            .await
            .unwrap();
        let batch = store
            .facts_for_local_viewers(&viewers, &[&public.facts, &private.facts])
            .await
            .unwrap();
        assert!(batch.follows.contains(&(follower.id, author.id)));
        assert!(batch.blocks.contains(&(blocker.id, author.id)));
        assert!(batch.blocks.contains(&(author.id, blocked.id)));
        assert!(
            batch
                .account_domain_blocks
                .contains(&(stranger.id, elsewhere.clone()))
        );
        assert!(batch.moderators.contains(&moderator.id));
        assert!(!batch.moderators.contains(&follower.id));
        assert_eq!(batch.mode, FederationMode::Allowlist);

        let mut seen = Vec::new();
        for viewer in &viewers {
            let as_viewer = Viewer::Account(viewer.clone());
            for post in [&public, &private] {
                let own = store
                    .facts_for_viewer(&as_viewer, &[&post.facts])
                    .await
                    .unwrap();
                let from_batch = decide_view(&batch, &as_viewer, &post.facts).allows();
                assert_eq!(
                    from_batch,
                    decide_view(&own, &as_viewer, &post.facts).allows(),
                    "viewer {} on a {:?} post",
                    viewer.id,
                    post.facts.audience.visibility
                );
                seen.push((viewer.id, post.facts.audience.visibility, from_batch));
            }
        }
        // And the outcomes themselves: the follower sees both, the blocks hide the author
        // both ways, a stranger sees only the public post.
        for (viewer, visibility, allowed) in seen {
            let expected = match visibility {
                Visibility::Public => viewer != blocker.id && viewer != blocked.id,
                _ => viewer == follower.id,
            };
            assert_eq!(
                allowed, expected,
                "viewer {viewer} on a {visibility:?} post"
            );
        }
    })
    .await;
}
