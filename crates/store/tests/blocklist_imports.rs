//! Blocklist imports on SQLite and PostgreSQL: a draft changes nothing until confirmed;
//! confirming applies every row in one transaction, once, and a suspension drops the
//! deliveries already queued to its domain.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use cohort_model::{AuthorKind, Domain, Id, Role, Username};
use cohort_store::testing::on_each_engine;
use cohort_store::{
    DomainBlockWrite, NewLocalAccount, NewOutboxEvent, OutboxKind, Store, StoreError,
};

async fn moderator(store: &Store) -> Id {
    let base = "https://cohort.example/users/mod";
    store
        .create_local_account(&NewLocalAccount {
            username: Username::parse("mod").unwrap(),
            email: "mod@example.org".to_owned(),
            role: Role::Moderator,
            author_kind: AuthorKind::Patient,
            password_hash: "x".to_owned(),
            approved: true,
            locked: false,
            actor_uri: base.to_owned(),
            inbox_uri: format!("{base}/inbox"),
            shared_inbox_uri: "https://cohort.example/inbox".to_owned(),
            followers_uri: format!("{base}/followers"),
            url: "https://cohort.example/@mod".to_owned(),
            key_id: format!("{base}#main-key"),
            public_key_pem: "PUBLIC".to_owned(),
            private_key_pem: "PRIVATE".to_owned(),
        })
        .await
        .unwrap()
        .id
}

fn block(severity: &str) -> DomainBlockWrite {
    DomainBlockWrite {
        severity: severity.to_owned(),
        reject_media: false,
        reject_reports: false,
        private_comment: "shared list".to_owned(),
        public_comment: String::new(),
        obfuscate: false,
    }
}

fn domain(name: &str) -> Domain {
    Domain::parse(name).unwrap()
}

#[tokio::test]
async fn a_confirmed_import_suspends_three_domains_and_drops_their_queued_deliveries() {
    on_each_engine(|store| async move {
        let moderator = moderator(&store).await;
        let event = store
            .enqueue_outbox_event(&NewOutboxEvent {
                kind: OutboxKind::UpdateActor,
                actor: moderator,
                status: None,
                target_account: None,
            })
            .await
            .unwrap();
        let queued: Vec<Domain> = ["a.example", "b.example", "c.example", "friendly.example"]
            .into_iter()
            .map(domain)
            .collect();
        store.enqueue_deliveries(event, &queued).await.unwrap();
        assert_eq!(store.delivery_queue_len().await.unwrap(), 4);

        let rows = vec![
            (domain("a.example"), block("suspend")),
            (domain("b.example"), block("suspend")),
            (domain("c.example"), block("suspend")),
            (domain("loud.example"), block("silence")),
        ];
        let errors = vec![(7, "\"ex**ple.com\" is obfuscated".to_owned())];
        let draft = store
            .save_block_import(moderator, "upload", &rows, &errors)
            .await
            .unwrap();
        // A draft changes nothing.
        assert!(store.domain_policies("block").await.unwrap().is_empty());
        assert_eq!(store.delivery_queue_len().await.unwrap(), 4);
        let saved = store.block_import(draft).await.unwrap();
        assert_eq!(saved.state, "draft");
        assert_eq!(saved.rows, rows);
        assert_eq!(saved.errors, errors);

        let applied = store.apply_block_import(draft, moderator).await.unwrap();
        assert_eq!(applied.blocks, 4);
        assert_eq!(applied.dropped_deliveries, 3);
        let blocked: Vec<String> = store
            .domain_policies("block")
            .await
            .unwrap()
            .into_iter()
            .map(|b| format!("{}:{}", b.domain.as_str(), b.severity))
            .collect();
        assert_eq!(
            blocked,
            vec![
                "a.example:suspend",
                "b.example:suspend",
                "c.example:suspend",
                "loud.example:silence"
            ]
        );
        assert_eq!(store.delivery_queue_len().await.unwrap(), 1);
        assert_eq!(
            store
                .scalar_i64_for_tests(
                    "SELECT COUNT(*) FROM delivery_queue WHERE domain = 'friendly.example'"
                )
                .await
                .unwrap(),
            1,
            "deliveries to other domains stay queued"
        );
        assert_eq!(store.block_import(draft).await.unwrap().state, "applied");
        let log = store.mod_log(10).await.unwrap();
        assert_eq!(
            log.iter()
                .filter(|l| l.action == "import_domain_block")
                .count(),
            4
        );

        // Applied once: a second confirmation (or a discard) is refused and changes nothing.
        assert!(matches!(
            store.apply_block_import(draft, moderator).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            store.discard_block_import(draft).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(store.mod_log(20).await.unwrap().len(), 4);
    })
    .await;
}

#[tokio::test]
async fn a_discarded_import_applies_nothing() {
    on_each_engine(|store| async move {
        let moderator = moderator(&store).await;
        let draft = store
            .save_block_import(
                moderator,
                "upload",
                &[(domain("a.example"), block("suspend"))],
                &[],
            )
            .await
            .unwrap();
        store.discard_block_import(draft).await.unwrap();
        assert!(matches!(
            store.apply_block_import(draft, moderator).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(store.domain_policies("block").await.unwrap().is_empty());
        assert!(matches!(
            store.block_import(Id::from_i64(12345).unwrap()).await,
            Err(StoreError::NotFound(_))
        ));
    })
    .await;
}
