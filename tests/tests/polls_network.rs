//! Polls across instances: a vote in a poll of another instance reaches the poll's origin,
//! which counts it, and the origin's new counts reach the instances that have the poll.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use cohort_model::Role;
use cohort_tests::harness::{Instance, engines, settle};
use serde_json::Value;

fn counts(poll: &Value) -> Vec<i64> {
    poll["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["votes_count"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_vote_in_a_remote_poll_is_counted_by_its_origin_and_the_counts_come_back() {
    for engine in engines() {
        let mut alpha = Instance::start_named(engine, "alpha", &[]).await;
        let mut beta = Instance::start_named(engine, "beta", &[]).await;
        alpha.create_account("pat", Role::Member, false).await;
        alpha.create_account("carol", Role::Member, false).await;
        beta.create_account("bob", Role::Member, false).await;
        let pat = alpha.sign_in("pat", "read write follow").await;
        let carol = alpha.sign_in("carol", "read write follow").await;
        let bob = beta.sign_in("bob", "read write follow").await;

        // Bob follows pat across instances, then pat asks.
        beta.follow_remote(&bob, &format!("pat@{}", alpha.domain))
            .await;
        settle(&[&alpha, &beta]).await;
        let (status, asked) = alpha
            .post(
                "/api/v1/statuses",
                Some(&pat),
                &[
                    ("status", "Which side effects bothered you most?"),
                    ("visibility", "public"),
                    ("poll[options][]", "Nausea"),
                    ("poll[options][]", "Fatigue"),
                    ("poll[options][]", "Headache"),
                    ("poll[multiple]", "true"),
                    ("poll[expires_in]", "86400"),
                ],
            )
            .await;
        assert_eq!(status, 200, "{asked}");
        let alpha_poll = asked["poll"]["id"].as_str().unwrap().to_owned();
        settle(&[&alpha, &beta]).await;

        // Beta has the poll (a Question) from its origin.
        let (_, home) = beta.get("/api/v1/timelines/home", Some(&bob)).await;
        let copy = home
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["poll"].is_object())
            .unwrap_or_else(|| panic!("the poll reached beta: {home}"))
            .clone();
        let beta_poll = copy["poll"]["id"].as_str().unwrap().to_owned();
        assert_eq!(counts(&copy["poll"]), vec![0, 0, 0]);

        // Bob votes for two options: counted on beta at once...
        let (status, voted) = beta
            .post(
                &format!("/api/v1/polls/{beta_poll}/votes"),
                Some(&bob),
                &[("choices[]", "0"), ("choices[]", "2")],
            )
            .await;
        assert_eq!(status, 200, "{voted}");
        assert_eq!(voted["voted"], true);
        assert_eq!(voted["own_votes"], serde_json::json!([0, 2]));
        assert_eq!(counts(&voted), vec![1, 0, 1]);
        // ...and by the origin once delivered, which is where it counts.
        settle(&[&alpha, &beta]).await;
        let (_, origin) = alpha
            .get(&format!("/api/v1/polls/{alpha_poll}"), Some(&pat))
            .await;
        assert_eq!(counts(&origin), vec![1, 0, 1], "{origin}");
        assert_eq!(origin["voters_count"], 1);

        // A second vote is refused on beta, and nothing more reaches alpha.
        let (status, refused) = beta
            .post(
                &format!("/api/v1/polls/{beta_poll}/votes"),
                Some(&bob),
                &[("choices[]", "1")],
            )
            .await;
        assert_eq!(status, 422, "{refused}");
        assert!(refused["error"].is_string());
        settle(&[&alpha, &beta]).await;
        let (_, origin) = alpha
            .get(&format!("/api/v1/polls/{alpha_poll}"), Some(&pat))
            .await;
        assert_eq!(counts(&origin), vec![1, 0, 1]);

        // Carol votes on alpha: the origin's new counts reach beta (Update of the Question).
        let (status, _) = alpha
            .post(
                &format!("/api/v1/polls/{alpha_poll}/votes"),
                Some(&carol),
                &[("choices[]", "1")],
            )
            .await;
        assert_eq!(status, 200);
        settle(&[&alpha, &beta]).await;
        let (_, copy) = beta
            .get(&format!("/api/v1/polls/{beta_poll}"), Some(&bob))
            .await;
        assert_eq!(counts(&copy), vec![1, 1, 1], "{copy}");
        assert_eq!(copy["voters_count"], 2);
        assert_eq!(copy["own_votes"], serde_json::json!([0, 2]));
    }
}
