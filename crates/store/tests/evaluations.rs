//! Evaluations as stored, on SQLite and PostgreSQL: round trips, duplicates, who may read
//! an individual evaluation, and aggregates that stay k-anonymous when someone adds one
//! patient and compares, or compares one community with another.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use cohort_health::{EvaluationDraft, EvaluationVisibility, SideEffectDraft};
use cohort_model::{AuthorKind, CommunityVisibility, Id, Membership, Role, Username};
use cohort_store::testing::on_each_engine;
use cohort_store::{
    CommunityRecord, EvaluationFilter, EvaluationPlacement, NewLocalAccount, NewLocalCommunity,
    Page, Store, StoreError,
};
use time::macros::date;

const BASE: &str = "https://cohort.example";
const K: u64 = 3;

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

async fn community(store: &Store, name: &str, owner: Id) -> CommunityRecord {
    let base = format!("{BASE}/users/{name}");
    store
        .create_local_community(&NewLocalCommunity {
            name: Username::parse(name).unwrap(),
            title: name.into(),
            description: String::new(),
            membership: Membership::Open,
            visibility: CommunityVisibility::Public,
            rules: Vec::new(),
            tags: Vec::new(),
            language: None,
            owner,
            actor_uri: base.clone(),
            inbox_uri: format!("{base}/inbox"),
            shared_inbox_uri: format!("{BASE}/inbox"),
            followers_uri: format!("{base}/followers"),
            url: format!("{BASE}/@{name}"),
            key_id: format!("{base}#main-key"),
            public_key_pem: "P".into(),
            private_key_pem: "K".into(),
        })
        .await
        .unwrap()
}

/// A member of `group` (joined) named `name`.
async fn member(store: &Store, group: &CommunityRecord, name: &str) -> Id {
    let id = person(store, name).await;
    store.join_community(group, id, None).await.unwrap();
    id
}

fn draft(treatment: &str, effectiveness: &str) -> EvaluationDraft {
    EvaluationDraft {
        condition: "E11".into(),
        treatment_kind: "medication".into(),
        treatment: treatment.into(),
        started_on: "2025-01-10".into(),
        effectiveness: effectiveness.into(),
        side_effects: vec![SideEffectDraft {
            name: "nausea".into(),
            severity: "mild".into(),
        }],
        ..EvaluationDraft::default()
    }
}

fn filed(community: Option<Id>, visibility: EvaluationVisibility) -> EvaluationPlacement {
    EvaluationPlacement {
        community,
        visibility,
    }
}

async fn evaluate(
    store: &Store,
    author: Id,
    group: Id,
    treatment: &str,
    effectiveness: &str,
) -> Id {
    let evaluation = draft(treatment, effectiveness)
        .validate(date!(2026 - 01 - 01))
        .unwrap();
    store
        .create_evaluation(
            author,
            filed(Some(group), EvaluationVisibility::Private),
            &evaluation,
        )
        .await
        .unwrap()
        .id
}

async fn count(store: &Store, sql: &'static str) -> i64 {
    store.scalar_i64_for_tests(sql).await.unwrap()
}

fn page() -> Page {
    Page {
        limit: 40,
        ..Page::default()
    }
}

#[tokio::test]
async fn an_evaluation_round_trips_with_its_side_effects() {
    on_each_engine(|store| async move {
        let pat = person(&store, "pat").await;
        let mut d = draft("metformin", "moderate");
        d.stopped_on = Some("2025-06-01".into());
        d.stop_reason = Some("side_effects".into());
        d.adherence = Some(4);
        d.monthly_cost = Some(12);
        d.currency = Some("eur".into());
        d.side_effects.push(SideEffectDraft {
            name: "Diarrhea".into(),
            severity: "severe".into(),
        });
        let evaluation = d.validate(date!(2026 - 01 - 01)).unwrap();
        let created = store
            .create_evaluation(pat, filed(None, EvaluationVisibility::Public), &evaluation)
            .await
            .unwrap();
        let read = store.evaluation_for(None, created.id).await.unwrap();
        assert_eq!(read, created);
        assert_eq!(read.evaluation.side_effects.len(), 2);
        assert_eq!(read.evaluation.treatment.reference, "rxnorm:metformin");
    })
    .await;
}

#[tokio::test]
async fn the_same_course_reported_twice_is_a_conflict_and_writes_nothing() {
    on_each_engine(|store| async move {
        let pat = person(&store, "pat").await;
        let evaluation = draft("metformin", "major")
            .validate(date!(2026 - 01 - 01))
            .unwrap();
        let first = store
            .create_evaluation(pat, filed(None, EvaluationVisibility::Private), &evaluation)
            .await
            .unwrap();
        let mut again = evaluation.clone();
        again.effectiveness = cohort_health::Effectiveness::None;
        let err = store
            .create_evaluation(pat, filed(None, EvaluationVisibility::Private), &again)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict("evaluation")), "{err}");
        assert_eq!(
            store.duplicate_of(pat, &again).await.unwrap(),
            Some(first.id)
        );
        assert_eq!(count(&store, "SELECT COUNT(*) FROM evaluations").await, 1);
        assert_eq!(
            count(&store, "SELECT COUNT(*) FROM evaluation_side_effects").await,
            1
        );
        // Another start date is another course.
        let mut later = evaluation.clone();
        later.started_on = date!(2025 - 09 - 01);
        store
            .create_evaluation(pat, filed(None, EvaluationVisibility::Private), &later)
            .await
            .unwrap();
        // Moving the later course onto the first's start date collides too, and changes nothing.
        let second = store.duplicate_of(pat, &later).await.unwrap().unwrap();
        let err = store
            .update_evaluation(
                pat,
                second,
                filed(None, EvaluationVisibility::Private),
                &evaluation,
            )
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict("evaluation")), "{err}");
        assert_eq!(
            store
                .own_evaluation(pat, second)
                .await
                .unwrap()
                .evaluation
                .started_on,
            date!(2025 - 09 - 01)
        );
    })
    .await;
}

#[tokio::test]
async fn each_visibility_is_read_by_exactly_its_audience() {
    on_each_engine(|store| async move {
        let owner = person(&store, "owner").await;
        let group = community(&store, "diabetes", owner).await;
        let author = member(&store, &group, "author").await;
        let fellow = member(&store, &group, "fellow").await;
        let outsider = person(&store, "outsider").await;
        let evaluation = draft("metformin", "major")
            .validate(date!(2026 - 01 - 01))
            .unwrap();
        let mut ids = Vec::new();
        for (i, visibility) in [
            EvaluationVisibility::Private,
            EvaluationVisibility::Community,
            EvaluationVisibility::Public,
        ]
        .into_iter()
        .enumerate()
        {
            let mut e = evaluation.clone();
            e.started_on = e
                .started_on
                .replace_day(u8::try_from(i + 1).unwrap())
                .unwrap();
            ids.push(
                store
                    .create_evaluation(author, filed(Some(group.id), visibility), &e)
                    .await
                    .unwrap()
                    .id,
            );
        }
        let readable = |viewer: Option<Id>| {
            let store = store.clone();
            let ids = ids.clone();
            async move {
                let mut seen = Vec::new();
                for (i, id) in ids.iter().enumerate() {
                    match store.evaluation_for(viewer, *id).await {
                        Ok(_) => seen.push(["private", "community", "public"][i]),
                        Err(StoreError::NotFound(_)) => {}
                        Err(e) => panic!("{e}"),
                    }
                }
                let listed = store
                    .evaluations_for(viewer, EvaluationFilter::default(), page())
                    .await
                    .unwrap()
                    .len();
                assert_eq!(listed, seen.len(), "listing and reading agree");
                seen
            }
        };
        assert_eq!(
            readable(Some(author)).await,
            ["private", "community", "public"]
        );
        assert_eq!(readable(Some(fellow)).await, ["community", "public"]);
        assert_eq!(readable(Some(outsider)).await, ["public"]);
        assert_eq!(readable(None).await, ["public"]);
        // Leaving ends access to community evaluations at once.
        store.leave_community(&group, fellow).await.unwrap();
        assert_eq!(readable(Some(fellow)).await, ["public"]);
        // Only the author changes or deletes.
        let err = store.delete_evaluation(outsider, ids[2]).await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound(_)));
        store.delete_evaluation(author, ids[2]).await.unwrap();
        assert_eq!(readable(None).await, Vec::<&str>::new());
    })
    .await;
}

#[tokio::test]
async fn aggregates_count_each_current_member_once_and_leave_free_text_out() {
    on_each_engine(|store| async move {
        let owner = person(&store, "owner").await;
        let group = community(&store, "diabetes", owner).await;
        let mut patients = Vec::new();
        for n in 0..4 {
            let p = member(&store, &group, &format!("p{n}")).await;
            evaluate(&store, p, group.id, "metformin", "major").await;
            patients.push(p);
        }
        // Free text never counts; an outsider's evaluation filed in the community does not either.
        evaluate(&store, patients[0], group.id, "Glucophage", "major").await;
        let outsider = person(&store, "outsider").await;
        evaluate(&store, outsider, group.id, "metformin", "none").await;
        let aggregates = store
            .community_aggregates(group.id, "cohort.example", K)
            .await
            .unwrap();
        assert_eq!(aggregates.cells.len(), 1);
        let cell = &aggregates.cells[0];
        assert_eq!(cell.treatment, "rxnorm:metformin");
        assert_eq!(cell.patients, 4);
        assert_eq!(
            cell.effectiveness.as_ref().map(|d| d.counts.clone()),
            Some(vec![0, 0, 0, 4, 0])
        );
        assert_eq!(cell.side_effects[0].name, "nausea");
        assert_eq!(aggregates.instances, ["cohort.example"]);
    })
    .await;
}

#[tokio::test]
async fn a_cell_under_k_is_never_published() {
    on_each_engine(|store| async move {
        let owner = person(&store, "owner").await;
        let group = community(&store, "diabetes", owner).await;
        for n in 0..K - 1 {
            let p = member(&store, &group, &format!("p{n}")).await;
            evaluate(&store, p, group.id, "metformin", "major").await;
        }
        let aggregates = store
            .community_aggregates(group.id, "cohort.example", K)
            .await
            .unwrap();
        assert!(aggregates.cells.is_empty());
        assert_eq!(
            count(&store, "SELECT COUNT(*) FROM evaluation_snapshots").await,
            0
        );
    })
    .await;
}

#[tokio::test]
async fn adding_one_patient_and_comparing_shows_no_change() {
    on_each_engine(|store| async move {
        let owner = person(&store, "owner").await;
        let group = community(&store, "diabetes", owner).await;
        for n in 0..K {
            let p = member(&store, &group, &format!("p{n}")).await;
            evaluate(&store, p, group.id, "metformin", "major").await;
        }
        let before = store
            .community_aggregates(group.id, "cohort.example", K)
            .await
            .unwrap();
        assert_eq!(before.cells[0].patients, K);
        // The target joins and reports "none": the published cell stays as it was.
        let target = member(&store, &group, "target").await;
        evaluate(&store, target, group.id, "metformin", "none").await;
        let after = store
            .community_aggregates(group.id, "cohort.example", K)
            .await
            .unwrap();
        assert_eq!(after, before);
        // So does the target editing their answer, or leaving.
        store.leave_community(&group, target).await.unwrap();
        assert_eq!(
            store
                .community_aggregates(group.id, "cohort.example", K)
                .await
                .unwrap(),
            before
        );
        // K new patients since the snapshot: a new one.
        for n in 0..K {
            let p = member(&store, &group, &format!("q{n}")).await;
            evaluate(&store, p, group.id, "metformin", "moderate").await;
        }
        let later = store
            .community_aggregates(group.id, "cohort.example", K)
            .await
            .unwrap();
        assert_eq!(later.cells[0].patients, 2 * K);
        assert_eq!(
            count(&store, "SELECT COUNT(*) FROM evaluation_snapshots").await,
            2
        );
    })
    .await;
}

#[tokio::test]
async fn evaluations_filed_in_one_community_never_count_in_another() {
    on_each_engine(|store| async move {
        let owner = person(&store, "owner").await;
        let first = community(&store, "diabetes", owner).await;
        let second = community(&store, "diabetes2", owner).await;
        // The same people belong to both; a reader who compared the two communities'
        // cells would learn about whoever differs. Each evaluation counts only where it is
        // filed, so the second community has nothing.
        for n in 0..K + 1 {
            let p = member(&store, &first, &format!("p{n}")).await;
            store.join_community(&second, p, None).await.unwrap();
            evaluate(&store, p, first.id, "metformin", "major").await;
        }
        assert_eq!(
            store
                .community_aggregates(first.id, "cohort.example", K)
                .await
                .unwrap()
                .cells[0]
                .patients,
            K + 1
        );
        assert!(
            store
                .community_aggregates(second.id, "cohort.example", K)
                .await
                .unwrap()
                .cells
                .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn contributions_of_other_instances_are_added_per_treatment() {
    on_each_engine(|store| async move {
        let owner = person(&store, "owner").await;
        let group = community(&store, "diabetes", owner).await;
        for n in 0..K {
            let p = member(&store, &group, &format!("p{n}")).await;
            evaluate(&store, p, group.id, "metformin", "major").await;
        }
        let local = store
            .community_aggregates(group.id, "cohort.example", K)
            .await
            .unwrap();
        let mut remote = local.cells[0].clone();
        remote.patients = 5;
        remote.effectiveness = Some(cohort_health::Distribution {
            level: 0,
            counts: vec![0, 0, 5, 0, 0],
        });
        remote.side_effects.clear();
        remote.duration = None;
        store
            .record_contribution(group.id, "peer.example", &[remote.clone()])
            .await
            .unwrap();
        let combined = store
            .community_aggregates(group.id, "cohort.example", K)
            .await
            .unwrap();
        assert_eq!(combined.cells[0].patients, K + 5);
        assert_eq!(
            combined.cells[0]
                .effectiveness
                .as_ref()
                .map(|d| d.counts.clone()),
            Some(vec![0, 0, 5, K, 0])
        );
        assert_eq!(combined.instances, ["cohort.example", "peer.example"]);
        // A new contribution replaces the old one.
        store
            .record_contribution(group.id, "peer.example", &[])
            .await
            .unwrap();
        let again = store
            .community_aggregates(group.id, "cohort.example", K)
            .await
            .unwrap();
        assert_eq!(again.cells[0].patients, K);
    })
    .await;
}

/// The request path re-aggregates only when the version the triggers keep (migration 0022)
/// moved: every kind of change aggregation reads must move it, or a request would keep
/// showing a cell that the rules say must change.
#[tokio::test]
async fn every_change_aggregation_reads_is_seen_by_the_next_request() {
    on_each_engine(|store| async move {
        let owner = person(&store, "owner").await;
        let group = community(&store, "diabetes", owner).await;
        let shown = |store: Store| async move {
            store
                .community_aggregates(group.id, "cohort.example", K)
                .await
                .unwrap()
                .cells
                .iter()
                .map(|c| c.patients)
                .sum::<u64>()
        };
        let mut first = Vec::new();
        for n in 0..K {
            let p = member(&store, &group, &format!("p{n}")).await;
            first.push((p, evaluate(&store, p, group.id, "metformin", "major").await));
        }
        assert_eq!(shown(store.clone()).await, K);
        // Nothing changed: no refresh writes anything.
        assert_eq!(
            store
                .refresh_aggregates_if_changed(group.id, K)
                .await
                .unwrap(),
            0
        );
        // Memberships: k members leave, and the cell is withdrawn at the next request.
        for (p, _) in &first {
            assert!(store.leave_community(&group, *p).await.unwrap());
        }
        assert_eq!(shown(store.clone()).await, 0);
        // Deletions: k new patients publish again, then delete their evaluations.
        for n in 0..K {
            let p = member(&store, &group, &format!("q{n}")).await;
            let evaluation = evaluate(&store, p, group.id, "metformin", "none").await;
            first.push((p, evaluation));
        }
        assert_eq!(shown(store.clone()).await, K);
        for (p, evaluation) in &first[K as usize..] {
            store.delete_evaluation(*p, *evaluation).await.unwrap();
        }
        assert_eq!(shown(store.clone()).await, 0);
        // Suspensions: k others publish, then are suspended.
        let mut third = Vec::new();
        for n in 0..K {
            let p = member(&store, &group, &format!("r{n}")).await;
            evaluate(&store, p, group.id, "metformin", "slight").await;
            third.push(p);
        }
        assert_eq!(shown(store.clone()).await, K);
        for p in &third {
            store.set_suspended(*p, true).await.unwrap();
        }
        assert_eq!(shown(store.clone()).await, 0);
    })
    .await;
}
