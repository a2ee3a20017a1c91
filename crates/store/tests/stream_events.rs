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
