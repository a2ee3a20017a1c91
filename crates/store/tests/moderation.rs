//! Reports, account actions, domain blocks and the mod log, on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use cohort_model::{AuthorKind, Domain, Id, Role, Username};
use cohort_store::testing::on_each_engine;
use cohort_store::{
    AccountModeration, AccountState, AdminAccountFilter, DomainBlockWrite, NewLocalAccount,
    NewRemoteAccount, NewReport, OutboxKind, ReportFilter, Store, StoreError,
};

async fn local(store: &Store, name: &str, role: Role) -> Id {
    let base = format!("https://cohort.example/users/{name}");
    store
        .create_local_account(&NewLocalAccount {
            username: Username::parse(name).unwrap(),
            email: format!("{name}@example.org"),
            role,
            author_kind: AuthorKind::Patient,
            password_hash: "x".to_owned(),
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
            shared_inbox_uri: Some(format!("https://{domain}/inbox")),
            followers_uri: None,
            display_name: name.to_owned(),
            is_group: false,
        })
        .await
        .unwrap()
}

fn report(reporter: Option<Id>, target: Id) -> NewReport {
    NewReport {
        reporter,
        target,
        status_ids: Vec::new(),
        comment: "spam".to_owned(),
        category: "spam".to_owned(),
        priority: 0,
        rule_ids: vec!["1".to_owned()],
        forward: false,
        forward_comment: None,
        forward_domains: Vec::new(),
        comment_phi_reason: None,
        origin_domain: None,
        uri: None,
        origin_actor: None,
    }
}

fn open_reports() -> ReportFilter {
    ReportFilter {
        resolved: Some(false),
        limit: 50,
        ..ReportFilter::default()
    }
}

#[tokio::test]
async fn the_queue_by_priority_puts_self_harm_first() {
    on_each_engine(|store| async move {
        let alice = local(&store, "alice", Role::Member).await;
        let bob = local(&store, "bob", Role::Member).await;
        let mut ids = Vec::new();
        for (category, priority) in [("self_harm", 100), ("spam", 0), ("patient_privacy", 50)] {
            let mut new = report(Some(alice), bob);
            new.category = category.to_owned();
            new.priority = priority;
            ids.push(store.create_report(&new).await.unwrap());
        }
        let by_priority = ReportFilter {
            by_priority: true,
            ..open_reports()
        };
        let order: Vec<Id> = store
            .reports(&by_priority)
            .await
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(order, [ids[0], ids[2], ids[1]]);
        let newest: Vec<Id> = store
            .reports(&open_reports())
            .await
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(newest, [ids[2], ids[1], ids[0]]);
    })
    .await;
}

#[tokio::test]
async fn an_urgent_report_is_filed_once_per_post() {
    on_each_engine(|store| async move {
        let alice = local(&store, "alice", Role::Member).await;
        let bob = local(&store, "bob", Role::Member).await;
        let mut new = report(None, alice);
        new.category = "self_harm".to_owned();
        new.priority = 100;
        let first = store
            .create_urgent_report(alice, "text:abc", "crisis", &new)
            .await
            .unwrap();
        assert!(first.is_some());
        // The same post again (the author chose after being steered): nothing more.
        let again = store
            .create_urgent_report(alice, "text:abc", "crisis", &new)
            .await
            .unwrap();
        assert_eq!(again, None);
        // Another post, or another author's post with the same fingerprint, is reported.
        assert!(
            store
                .create_urgent_report(alice, "text:def", "crisis", &new)
                .await
                .unwrap()
                .is_some()
        );
        let mut bobs = report(None, bob);
        bobs.category = "self_harm".to_owned();
        assert!(
            store
                .create_urgent_report(bob, "text:abc", "crisis", &bobs)
                .await
                .unwrap()
                .is_some()
        );
        let reports = store.reports(&open_reports()).await.unwrap();
        assert_eq!(reports.len(), 3);
        assert_eq!(
            reports.iter().filter(|r| r.target == alice).count(),
            2,
            "{reports:?}"
        );
        assert!(reports.iter().all(|r| r.reporter.is_none()));
    })
    .await;
}

#[tokio::test]
async fn a_forwarded_report_and_its_flag_event_are_written_together() {
    on_each_engine(|store| async move {
        let alice = local(&store, "alice", Role::Member).await;
        let mallory = remote(&store, "mallory", "beta.example").await;
        let mut new = report(Some(alice), mallory);
        new.forward = true;
        new.forward_comment = Some("[redacted name] again".to_owned());
        let id = store.create_report(&new).await.unwrap();
        let stored = store.report(id).await.unwrap();
        assert!(stored.forwarded);
        assert_eq!(stored.rule_ids, vec!["1".to_owned()]);
        let event = stored.flag_event.expect("a Flag event");
        let outbox = store.outbox_event(event).await.unwrap().unwrap();
        assert_eq!(outbox.kind, OutboxKind::Flag);
        assert_eq!(outbox.target_account, Some(mallory));
        assert_eq!(
            store.report_by_flag_event(event).await.unwrap().unwrap().id,
            id
        );
        assert_eq!(
            stored.forward_comment.as_deref(),
            Some("[redacted name] again")
        );
    })
    .await;
}

#[tokio::test]
async fn a_report_that_is_not_forwarded_has_no_flag_event() {
    on_each_engine(|store| async move {
        let alice = local(&store, "alice", Role::Member).await;
        let mallory = remote(&store, "mallory", "beta.example").await;
        let id = store
            .create_report(&report(Some(alice), mallory))
            .await
            .unwrap();
        let stored = store.report(id).await.unwrap();
        assert!(!stored.forwarded);
        assert_eq!(stored.flag_event, None);
        assert_eq!(stored.forward_comment, None);
    })
    .await;
}

#[tokio::test]
async fn a_received_flag_is_stored_once_and_counted_per_origin() {
    on_each_engine(|store| async move {
        let quickcure = local(&store, "quickcure", Role::Member).await;
        let domain = Domain::parse("mastodon.example").unwrap();
        let mut new = report(None, quickcure);
        new.origin_domain = Some(domain.clone());
        new.uri = Some("https://mastodon.example/flag/1".to_owned());
        store.create_report(&new).await.unwrap();
        assert!(matches!(
            store.create_report(&new).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(
            store.reports_from_domain_since(&domain, 0).await.unwrap(),
            1
        );
        let other = Domain::parse("other.example").unwrap();
        assert_eq!(store.reports_from_domain_since(&other, 0).await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn reports_are_filtered_assigned_resolved_and_reopened_with_a_mod_log_line_each() {
    on_each_engine(|store| async move {
        let alice = local(&store, "alice", Role::Member).await;
        let bob = local(&store, "bob", Role::Member).await;
        let moderator = local(&store, "mod", Role::Moderator).await;
        let mallory = remote(&store, "mallory", "beta.example").await;
        let first = store
            .create_report(&report(Some(alice), mallory))
            .await
            .unwrap();
        let second = store
            .create_report(&report(Some(bob), alice))
            .await
            .unwrap();

        let about_mallory = ReportFilter {
            target: Some(mallory),
            ..open_reports()
        };
        let listed = store.reports(&about_mallory).await.unwrap();
        assert_eq!(listed.iter().map(|r| r.id).collect::<Vec<_>>(), [first]);
        let by_bob = ReportFilter {
            reporter: Some(bob),
            ..open_reports()
        };
        assert_eq!(store.reports(&by_bob).await.unwrap()[0].id, second);

        store
            .assign_report(first, moderator, Some(moderator))
            .await
            .unwrap();
        assert_eq!(store.report(first).await.unwrap().assigned, Some(moderator));
        store.assign_report(first, moderator, None).await.unwrap();
        assert_eq!(store.report(first).await.unwrap().assigned, None);

        store
            .set_report_resolved(first, moderator, true, Some("handled"))
            .await
            .unwrap();
        let resolved = store.report(first).await.unwrap();
        assert!(resolved.action_taken_at.is_some());
        assert_eq!(resolved.action_taken_by, Some(moderator));
        let open: Vec<Id> = store
            .reports(&open_reports())
            .await
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(open, [second]);
        let done = ReportFilter {
            resolved: Some(true),
            ..open_reports()
        };
        assert_eq!(store.reports(&done).await.unwrap()[0].id, first);

        store
            .set_report_resolved(first, moderator, false, None)
            .await
            .unwrap();
        assert_eq!(store.report(first).await.unwrap().action_taken_at, None);

        let log: Vec<String> = store
            .mod_log(10)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(
            log,
            [
                "reopen_report",
                "resolve_report",
                "unassign_report",
                "assign_report"
            ]
        );
        assert!(matches!(
            store
                .set_report_resolved(Id::from_i64(42).unwrap(), moderator, true, None)
                .await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(store.mod_log(10).await.unwrap().len(), 4, "nothing logged");
    })
    .await;
}

#[tokio::test]
async fn a_suspension_resolves_its_report_is_logged_and_can_be_lifted() {
    on_each_engine(|store| async move {
        let alice = local(&store, "alice", Role::Member).await;
        let moderator = local(&store, "mod", Role::Moderator).await;
        let mallory = local(&store, "mallory", Role::Member).await;
        let report_id = store
            .create_report(&report(Some(alice), mallory))
            .await
            .unwrap();
        store
            .moderate_account(&AccountModeration {
                moderator,
                target: mallory,
                change: Some((AccountState::Suspended, true)),
                approval: None,
                resolves_report: Some(report_id),
                resolution_note: Some("suspended".to_owned()),
                log_action: "suspend".to_owned(),
                reason: "spam ring".to_owned(),
            })
            .await
            .unwrap();
        let state = store.moderation_state(mallory).await.unwrap();
        assert!(state.suspended_at.is_some());
        assert!(
            store
                .account_by_id(mallory)
                .await
                .unwrap()
                .suspended_at
                .is_some(),
            "the same fact the read gate reads"
        );
        assert!(
            store
                .report(report_id)
                .await
                .unwrap()
                .action_taken_at
                .is_some()
        );
        let entry = &store.mod_log(1).await.unwrap()[0];
        assert_eq!(
            (entry.action.as_str(), entry.target_kind.as_str()),
            ("suspend", "account")
        );
        assert_eq!(entry.target_id, mallory.to_string());
        assert_eq!(entry.reason, "spam ring");
        assert_eq!(entry.moderator, Some(moderator));

        // Lifting it.
        store
            .moderate_account(&AccountModeration {
                moderator,
                target: mallory,
                change: Some((AccountState::Suspended, false)),
                approval: None,
                resolves_report: None,
                resolution_note: None,
                log_action: "unsuspend".to_owned(),
                reason: String::new(),
            })
            .await
            .unwrap();
        assert_eq!(
            store.moderation_state(mallory).await.unwrap().suspended_at,
            None
        );
    })
    .await;
}

#[tokio::test]
async fn an_action_on_a_missing_account_or_report_changes_nothing() {
    on_each_engine(|store| async move {
        let moderator = local(&store, "mod", Role::Moderator).await;
        let mallory = local(&store, "mallory", Role::Member).await;
        let missing = Id::from_i64(7).unwrap();
        let action = |target: Id, report: Option<Id>| AccountModeration {
            moderator,
            target,
            change: Some((AccountState::Silenced, true)),
            approval: None,
            resolves_report: report,
            resolution_note: None,
            log_action: "silence".to_owned(),
            reason: String::new(),
        };
        assert!(matches!(
            store.moderate_account(&action(missing, None)).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            store
                .moderate_account(&action(mallory, Some(missing)))
                .await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(
            store.moderation_state(mallory).await.unwrap().silenced_at,
            None,
            "rolled back with the failed report resolution"
        );
        assert!(store.mod_log(10).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn admin_account_filters_select_by_origin_state_and_name() {
    on_each_engine(|store| async move {
        let moderator = local(&store, "mod", Role::Moderator).await;
        let alice = local(&store, "alice_b", Role::Member).await;
        let mallory = remote(&store, "mallory", "beta.example").await;
        store
            .moderate_account(&AccountModeration {
                moderator,
                target: mallory,
                change: Some((AccountState::Silenced, true)),
                approval: None,
                resolves_report: None,
                resolution_note: None,
                log_action: "silence".to_owned(),
                reason: String::new(),
            })
            .await
            .unwrap();
        let all = AdminAccountFilter {
            limit: 50,
            ..AdminAccountFilter::default()
        };
        let ids = |f: AdminAccountFilter| {
            let store = store.clone();
            async move { store.admin_account_ids(&f).await.unwrap() }
        };
        assert_eq!(ids(all.clone()).await, [mallory, alice, moderator]);
        assert_eq!(
            ids(AdminAccountFilter {
                local: Some(false),
                ..all.clone()
            })
            .await,
            [mallory]
        );
        assert_eq!(
            ids(AdminAccountFilter {
                status: Some("silenced".into()),
                ..all.clone()
            })
            .await,
            [mallory]
        );
        assert_eq!(
            ids(AdminAccountFilter {
                staff: true,
                ..all.clone()
            })
            .await,
            [moderator]
        );
        // `_` is a literal underscore, not LIKE's wildcard.
        assert_eq!(
            ids(AdminAccountFilter {
                username: Some("e_b".into()),
                ..all.clone()
            })
            .await,
            [alice]
        );
        assert!(
            ids(AdminAccountFilter {
                username: Some("a_i".into()),
                ..all.clone()
            })
            .await
            .is_empty()
        );
        assert_eq!(
            ids(AdminAccountFilter {
                domain: Some("beta.example".into()),
                ..all
            })
            .await,
            [mallory]
        );
    })
    .await;
}

#[tokio::test]
async fn domain_blocks_carry_their_flags_and_noop_blocks_do_not_suspend() {
    on_each_engine(|store| async move {
        let moderator = local(&store, "mod", Role::Moderator).await;
        let spam = Domain::parse("spam.example").unwrap();
        let quiet = Domain::parse("quiet.example").unwrap();
        let write = |severity: &str, reject_reports: bool| DomainBlockWrite {
            severity: severity.to_owned(),
            reject_media: true,
            reject_reports,
            private_comment: "seen in a blocklist".to_owned(),
            public_comment: "spam".to_owned(),
            obfuscate: true,
        };
        store
            .put_domain_block(moderator, &spam, &write("suspend", false), "block_domain")
            .await
            .unwrap();
        store
            .put_domain_block(moderator, &quiet, &write("noop", true), "block_domain")
            .await
            .unwrap();
        let blocks = store.domain_policies("block").await.unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].domain, quiet);
        assert!(blocks[0].reject_reports && blocks[0].obfuscate && blocks[0].reject_media);

        // A suspension and a reject_reports flag both refuse reports.
        assert!(store.domain_rejects_reports(&spam).await.unwrap());
        assert!(store.domain_rejects_reports(&quiet).await.unwrap());
        let other = Domain::parse("fine.example").unwrap();
        assert!(!store.domain_rejects_reports(&other).await.unwrap());

        // The audience engine sees the suspension, and nothing for the noop block.
        let facts = store
            .domain_facts(&[spam.clone(), quiet.clone()])
            .await
            .unwrap();
        assert_eq!(facts.blocked_domains.get(&spam), Some(&true));
        assert_eq!(facts.blocked_domains.get(&quiet), None);

        // Allows and blocks exclude each other.
        assert!(matches!(
            store.put_domain_allow(moderator, &spam).await,
            Err(StoreError::Conflict(_))
        ));
        store.put_domain_allow(moderator, &other).await.unwrap();
        assert_eq!(store.domain_policies("allow").await.unwrap().len(), 1);

        store
            .remove_domain_policy(moderator, &spam, "block")
            .await
            .unwrap();
        assert!(matches!(
            store.remove_domain_policy(moderator, &spam, "block").await,
            Err(StoreError::NotFound(_))
        ));
        let actions: Vec<String> = store
            .mod_log(10)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(
            actions,
            [
                "unblock_domain",
                "allow_domain",
                "block_domain",
                "block_domain"
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn resolving_closes_the_loop_to_the_reporter_and_to_the_sending_instance() {
    on_each_engine(|store| async move {
        let alice = local(&store, "alice", Role::Member).await;
        let moderator = local(&store, "mod", Role::Moderator).await;
        let quickcure = local(&store, "quickcure", Role::Member).await;
        let sender = remote(&store, "actor", "mastodon.example").await;
        let page = cohort_store::Page {
            max_id: None,
            since_id: None,
            min_id: None,
            limit: 10,
        };

        // A local report: its reporter is told, with the report named.
        let local_report = store
            .create_report(&report(Some(alice), quickcure))
            .await
            .unwrap();
        store
            .set_report_resolved(local_report, moderator, true, Some("No action taken."))
            .await
            .unwrap();
        let told = store.notifications(alice, page).await.unwrap();
        assert_eq!(told.len(), 1);
        assert_eq!(told[0].kind, "moderation_warning");
        assert_eq!(told[0].report, Some(local_report));
        assert_eq!(
            store
                .report(local_report)
                .await
                .unwrap()
                .resolution_note
                .as_deref(),
            Some("No action taken.")
        );

        // A received report: the outcome goes back to the actor that sent the Flag.
        let mut received = report(None, quickcure);
        received.origin_domain = Some(Domain::parse("mastodon.example").unwrap());
        received.uri = Some("https://mastodon.example/flags/1".to_owned());
        received.origin_actor = Some(sender);
        let received = store.create_report(&received).await.unwrap();
        store
            .set_report_resolved(
                received,
                moderator,
                true,
                Some("Resolved; action taken: suspend."),
            )
            .await
            .unwrap();
        let event = store
            .report(received)
            .await
            .unwrap()
            .resolution_event
            .expect("an outcome to send back");
        let outbox = store.outbox_event(event).await.unwrap().unwrap();
        assert_eq!(outbox.kind, OutboxKind::ResolveReport);
        assert_eq!(outbox.target_account, Some(sender));
        assert_eq!(
            store
                .report_by_resolution_event(event)
                .await
                .unwrap()
                .unwrap()
                .id,
            received
        );

        // On the sending side: the other instance's outcome is recorded and the reporter told.
        let mallory = remote(&store, "mallory", "beta.example").await;
        let mut forwarded = report(Some(alice), mallory);
        forwarded.forward = true;
        let forwarded = store.create_report(&forwarded).await.unwrap();
        store
            .record_remote_resolution(forwarded, "Resolved; action taken: suspend.")
            .await
            .unwrap();
        let stored = store.report(forwarded).await.unwrap();
        assert!(stored.remote_resolved_at.is_some());
        assert_eq!(
            stored.remote_resolution.as_deref(),
            Some("Resolved; action taken: suspend.")
        );
        let told = store.notifications(alice, page).await.unwrap();
        assert_eq!(told.len(), 2);
        assert_eq!(told[0].report, Some(forwarded));
    })
    .await;
}
