//! The parameters an outbox event carries beside its columns, on SQLite and PostgreSQL.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cohort_model::{AuthorKind, Id, Role, Username};
use cohort_store::testing::on_each_engine;
use cohort_store::{NewLocalAccount, NewOutboxEvent, OutboxKind, Store};

fn new_account(name: &str) -> NewLocalAccount {
    let base = format!("https://cohort.example/users/{name}");
    NewLocalAccount {
        username: Username::parse(name).unwrap(),
        email: format!("{name}@example.org"),
        role: Role::Member,
        author_kind: AuthorKind::Patient,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
        approved: true,
        locked: true,
        actor_uri: base.clone(),
        inbox_uri: format!("{base}/inbox"),
        shared_inbox_uri: "https://cohort.example/inbox".to_owned(),
        followers_uri: format!("{base}/followers"),
        url: format!("https://cohort.example/@{name}"),
        key_id: format!("{base}#main-key"),
        public_key_pem: "PUBLIC".to_owned(),
        private_key_pem: "PRIVATE".to_owned(),
    }
}

fn event(kind: OutboxKind, actor: Id, target: Id) -> NewOutboxEvent {
    NewOutboxEvent {
        kind,
        actor,
        status: None,
        target_account: Some(target),
    }
}

async fn two_accounts(store: &Store) -> (Id, Id) {
    let pat = store
        .create_local_account(&new_account("pat"))
        .await
        .unwrap();
    let sam = store
        .create_local_account(&new_account("sam"))
        .await
        .unwrap();
    (pat.id, sam.id)
}

#[tokio::test]
async fn a_follow_answer_keeps_the_follow_id_it_answers() {
    on_each_engine(|store| async move {
        let (pat, sam) = two_accounts(&store).await;
        let follow = "https://lemmy.example/activities/follow/3f1c";
        let id = store
            .enqueue_follow_answer(&event(OutboxKind::RejectFollow, pat, sam), Some(follow))
            .await
            .unwrap();
        let read = store.outbox_event(id).await.unwrap().unwrap();
        assert_eq!(read.kind, OutboxKind::RejectFollow);
        assert_eq!(read.target_account, Some(sam));
        assert_eq!(read.follow_uri.as_deref(), Some(follow));

        // A Follow without an id: the answer carries none.
        let id = store
            .enqueue_follow_answer(&event(OutboxKind::AcceptFollow, pat, sam), None)
            .await
            .unwrap();
        let read = store.outbox_event(id).await.unwrap().unwrap();
        assert_eq!(read.target_account, Some(sam));
        assert_eq!(read.follow_uri, None);
    })
    .await;
}

#[tokio::test]
async fn events_without_a_follow_id_are_still_found_by_their_undo() {
    on_each_engine(|store| async move {
        let (pat, sam) = two_accounts(&store).await;
        let block = store
            .enqueue_outbox_event(&event(OutboxKind::Block, pat, sam))
            .await
            .unwrap();
        let read = store.outbox_event(block).await.unwrap().unwrap();
        assert_eq!(read.follow_uri, None);
        let undo = store
            .enqueue_outbox_event(&event(OutboxKind::UndoBlock, pat, sam))
            .await
            .unwrap();
        assert_eq!(
            store
                .previous_outbox_event(OutboxKind::Block, pat, None, Some(sam), undo)
                .await
                .unwrap(),
            Some(block)
        );
    })
    .await;
}
