//! Verified clinicians in the store (issue 10), on SQLite and PostgreSQL alike.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use cohort_model::{AuthorKind, Domain, Id, Role, Username};
use cohort_store::testing::on_each_engine;
use cohort_store::{
    NewLocalAccount, NewRemoteAccount, NewVerification, OutboxKind, RemoteAttestation, Store,
    StoreError, now_ms,
};

async fn local(store: &Store, name: &str, role: Role) -> Id {
    let base = format!("https://cohort.example/users/{name}");
    store
        .create_local_account(&NewLocalAccount {
            username: Username::parse(name).unwrap(),
            email: format!("{name}@example.org"),
            role,
            author_kind: AuthorKind::Patient,
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
            approved: true,
            locked: false,
            actor_uri: base.clone(),
            inbox_uri: format!("{base}/inbox"),
            shared_inbox_uri: "https://cohort.example/inbox".to_owned(),
            followers_uri: format!("{base}/followers"),
            url: format!("https://cohort.example/@{name}"),
            key_id: format!("{base}#main-key"),
            public_key_pem: "PUBLIC".to_owned(),
            private_key_pem: "PRIVATE".to_owned(),
        })
        .await
        .unwrap()
        .id
}

async fn remote(store: &Store, name: &str, domain: &str) -> Id {
    store
        .upsert_remote_account(&NewRemoteAccount {
            username: name.to_owned(),
            domain: Domain::parse(domain).unwrap(),
            actor_uri: format!("https://{domain}/users/{name}"),
            inbox_uri: format!("https://{domain}/users/{name}/inbox"),
            shared_inbox_uri: None,
            followers_uri: None,
            display_name: String::new(),
            is_group: false,
        })
        .await
        .unwrap()
}

fn verification(account: Id, by: Id, expires_at: i64) -> NewVerification {
    NewVerification {
        account,
        profession: "Physician".into(),
        specialty: Some("Cardiology".into()),
        institution: "Cohort General".into(),
        license_number: "LIC-1".into(),
        jurisdiction: "US-CA".into(),
        verified_by: by,
        expires_at,
    }
}

async fn actor_updates(store: &Store, account: Id) -> usize {
    store
        .unplanned_outbox_events(100)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.kind == OutboxKind::UpdateActor && e.actor == Some(account))
        .count()
}

#[tokio::test]
async fn a_verification_locks_the_account_counts_until_expiry_and_tells_followers_instances() {
    on_each_engine(|store| async move {
        let admin = local(&store, "admin", Role::Admin).await;
        let dana = local(&store, "dana", Role::Member).await;
        let now = now_ms();
        let v = store
            .verify_clinician(&verification(dana, admin, now + 60_000))
            .await
            .unwrap();
        assert!(v.is_valid_at(now));
        assert!(!v.is_valid_at(now + 60_000));
        let account = store.account_by_id(dana).await.unwrap();
        assert!(account.locked);
        assert_eq!(account.role, Role::Clinician);
        assert_eq!(actor_updates(&store, dana).await, 1);
        let badges = store.clinician_badges(&[dana, admin], now).await.unwrap();
        assert_eq!(badges.len(), 1);
        assert_eq!(badges[&dana].institution, "Cohort General");
        assert_eq!(badges[&dana].verified_by_domain, None);
        // Expiry is a read-time decision.
        assert!(
            store
                .clinician_badges(&[dana], now + 60_000)
                .await
                .unwrap()
                .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn revocation_is_immediate_and_revoking_nothing_is_not_found() {
    on_each_engine(|store| async move {
        let admin = local(&store, "admin", Role::Admin).await;
        let dana = local(&store, "dana", Role::Member).await;
        let now = now_ms();
        store
            .verify_clinician(&verification(dana, admin, now + 60_000))
            .await
            .unwrap();
        // Re-verifying replaces the current verification.
        store
            .verify_clinician(&verification(dana, admin, now + 120_000))
            .await
            .unwrap();
        assert_eq!(
            store
                .clinician_verification(dana)
                .await
                .unwrap()
                .unwrap()
                .expires_at,
            now + 120_000
        );
        store
            .revoke_clinician_verification(dana, admin)
            .await
            .unwrap();
        assert_eq!(store.clinician_verification(dana).await.unwrap(), None);
        assert!(!store.is_verified_clinician(dana, now).await.unwrap());
        assert_eq!(actor_updates(&store, dana).await, 3);
        assert!(matches!(
            store.revoke_clinician_verification(dana, admin).await,
            Err(StoreError::NotFound(_))
        ));
    })
    .await;
}

#[tokio::test]
async fn a_remote_account_cannot_be_verified_here_and_its_attestation_counts_until_expiry() {
    on_each_engine(|store| async move {
        let admin = local(&store, "admin", Role::Admin).await;
        let far = remote(&store, "far", "beta.example").await;
        let now = now_ms();
        assert!(matches!(
            store
                .verify_clinician(&verification(far, admin, now + 60_000))
                .await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(store.clinician_verification(far).await.unwrap(), None);
        let attestation = RemoteAttestation {
            account: far,
            attestation_uri: "https://beta.example/users/far/attestation".into(),
            attesting_domain: Domain::parse("beta.example").unwrap(),
            profession: "Nurse".into(),
            specialty: None,
            institution: "Beta Clinic".into(),
            jurisdiction: "UK".into(),
            issued_at: now - 1000,
            expires_at: now + 60_000,
            checked_at: now,
        };
        store.save_remote_attestation(&attestation).await.unwrap();
        store.save_remote_attestation(&attestation).await.unwrap();
        assert_eq!(
            store.remote_attestation(far).await.unwrap(),
            Some(attestation)
        );
        let badges = store.clinician_badges(&[far], now).await.unwrap();
        assert_eq!(
            badges[&far].verified_by_domain.as_ref().map(Domain::as_str),
            Some("beta.example")
        );
        assert!(
            store
                .clinician_badges(&[far], now + 60_000)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(store.forget_remote_attestation(far).await.unwrap());
        assert!(!store.forget_remote_attestation(far).await.unwrap());
    })
    .await;
}

#[tokio::test]
async fn a_claimed_title_is_recorded_once_per_account() {
    on_each_engine(|store| async move {
        let mallory = local(&store, "mallory", Role::Member).await;
        assert!(!store.title_flagged(mallory, "dr").await.unwrap());
        assert!(store.record_title_flag(mallory, "dr", None).await.unwrap());
        assert!(!store.record_title_flag(mallory, "dr", None).await.unwrap());
        assert!(store.title_flagged(mallory, "dr").await.unwrap());
        assert!(store.record_title_flag(mallory, "rn", None).await.unwrap());
    })
    .await;
}
