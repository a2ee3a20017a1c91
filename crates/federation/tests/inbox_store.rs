#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The inbox's store module on both engines: dedup, claims with leases, retries, the key
//! cache and the instance actor's key pair.

use cohort_model::Domain;
use cohort_store::testing::on_each_engine;
use cohort_store::{INBOX_MAX_ATTEMPTS, NewRemoteAccount, RemoteKey, now_ms};

#[tokio::test]
async fn a_replayed_activity_id_is_queued_once() {
    on_each_engine(|store| async move {
        assert!(
            store
                .enqueue_inbox_activity("https://p.example/a/1", "https://p.example/u/a", "{}")
                .await
                .unwrap()
        );
        assert!(
            !store
                .enqueue_inbox_activity("https://p.example/a/1", "https://p.example/u/a", "{}")
                .await
                .unwrap()
        );
        assert!(
            store
                .activity_received("https://p.example/a/1")
                .await
                .unwrap()
        );
        assert_eq!(store.inbox_queue_len().await.unwrap(), 1);
    })
    .await;
}

#[tokio::test]
async fn claimed_items_are_leased_and_failures_back_off_then_drop() {
    on_each_engine(|store| async move {
        for n in 0..3 {
            store
                .enqueue_inbox_activity(
                    &format!("https://p.example/a/{n}"),
                    "https://p.example/u/a",
                    "{}",
                )
                .await
                .unwrap();
        }
        let first = store.claim_inbox_items(2, 60_000).await.unwrap();
        assert_eq!(first.len(), 2);
        assert_eq!(first[0].activity_uri, "https://p.example/a/0");
        // Leased items are not claimed twice.
        let second = store.claim_inbox_items(10, 60_000).await.unwrap();
        assert_eq!(second.len(), 1);
        assert!(
            store
                .claim_inbox_items(10, 60_000)
                .await
                .unwrap()
                .is_empty()
        );
        store.finish_inbox_item(first[0].id).await.unwrap();
        // A transient failure reschedules (not due yet)...
        assert!(
            store
                .retry_inbox_item(first[1].id, "boom", 60_000)
                .await
                .unwrap()
        );
        assert_eq!(store.inbox_items_due().await.unwrap(), 0);
        // ...and after too many attempts the item is dropped.
        let mut kept = true;
        for _ in 0..INBOX_MAX_ATTEMPTS {
            kept = store
                .retry_inbox_item(second[0].id, "boom", 0)
                .await
                .unwrap();
            if !kept {
                break;
            }
        }
        assert!(!kept);
        assert_eq!(store.inbox_queue_len().await.unwrap(), 1);
    })
    .await;
}

#[tokio::test]
async fn remote_keys_are_cached_by_exact_key_id_and_replaced_on_rotation() {
    on_each_engine(|store| async move {
        let account = store
            .upsert_remote_account(&NewRemoteAccount {
                username: "dana".into(),
                domain: Domain::parse("gts.example").unwrap(),
                actor_uri: "https://gts.example/users/dana".into(),
                inbox_uri: "https://gts.example/users/dana/inbox".into(),
                shared_inbox_uri: None,
                followers_uri: None,
                display_name: String::new(),
                is_group: false,
            })
            .await
            .unwrap();
        let key = RemoteKey {
            key_id: "https://gts.example/users/dana/main-key".into(),
            actor_uri: "https://gts.example/users/dana".into(),
            account_id: Some(account),
            actor_type: "Person".into(),
            is_instance: false,
            public_key_pem: "PEM1".into(),
            fetched_at: now_ms(),
        };
        store.save_remote_key(&key).await.unwrap();
        assert_eq!(
            store.remote_key(&key.key_id).await.unwrap(),
            Some(key.clone())
        );
        assert_eq!(
            store
                .remote_key("https://gts.example/users/dana")
                .await
                .unwrap(),
            None
        );
        let rotated = RemoteKey {
            key_id: "https://gts.example/users/dana/main-key-2".into(),
            public_key_pem: "PEM2".into(),
            ..key.clone()
        };
        store.save_remote_key(&rotated).await.unwrap();
        assert_eq!(store.remote_key(&key.key_id).await.unwrap(), None);
        assert_eq!(
            store
                .remote_key(&rotated.key_id)
                .await
                .unwrap()
                .unwrap()
                .public_key_pem,
            "PEM2"
        );
        // The instance actor's key pair: the first stored wins.
        let first = store
            .ensure_instance_actor_keys("pub1", "priv1")
            .await
            .unwrap();
        let second = store
            .ensure_instance_actor_keys("pub2", "priv2")
            .await
            .unwrap();
        assert_eq!(first, second);
        assert_eq!(first.0, "pub1");
    })
    .await;
}
