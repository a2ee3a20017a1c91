//! Two real instances federating over real HTTP with real signatures, on loopback
//! (`alpha.localhost:PORT`, `beta.localhost:PORT`), drained with `settle()` instead of
//! sleeping. The audience rules hold across the network: a followers-only post reaches the
//! followers on the other instance and nobody else there.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use cohort_model::Role;
use cohort_tests::harness::{Instance, engines, settle};
use serde_json::Value;

fn contents(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|l| {
            l.iter()
                .map(|s| s["content"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_cross_instance_follow_then_posts_reach_exactly_their_audience() {
    for engine in engines() {
        let mut alpha = Instance::start_named(engine, "alpha", &[]).await;
        let mut beta = Instance::start_named(engine, "beta", &[]).await;
        alpha.create_account("pat", Role::Member, false).await;
        alpha.create_account("stranger", Role::Member, false).await;
        beta.create_account("bob", Role::Member, false).await;
        let pat = alpha.sign_in("pat", "read write follow").await;
        let stranger = alpha.sign_in("stranger", "read write follow").await;
        let bob = beta.sign_in("bob", "read write follow").await;

        // Pat finds bob@beta through WebFinger and follows; beta accepts (bob is unlocked).
        let (status, remote_bob) = alpha
            .get(
                &format!("/api/v1/accounts/lookup?acct=bob@{}", beta.domain),
                Some(&pat),
            )
            .await;
        assert_eq!(status, 200, "{remote_bob}");
        assert_eq!(remote_bob["acct"], format!("bob@{}", beta.domain));
        let bob_on_alpha = remote_bob["id"].as_str().unwrap().to_owned();
        let (status, rel) = alpha
            .post(
                &format!("/api/v1/accounts/{bob_on_alpha}/follow"),
                Some(&pat),
                &[],
            )
            .await;
        assert_eq!(status, 200, "{rel}");
        assert_eq!(rel["requested"], true, "pending until beta accepts");
        // The Follow waits in alpha's outbox (what /metrics reports) until delivered.
        alpha.server.delivery.plan_pending().await.unwrap();
        let depth = alpha.store().outbox_depth().await.unwrap();
        assert_eq!((depth.queued_deliveries, depth.domains), (1, 1));
        settle(&[&alpha, &beta]).await;
        assert_eq!(
            alpha
                .store()
                .outbox_depth()
                .await
                .unwrap()
                .queued_deliveries,
            0
        );
        let (_, rel) = alpha
            .get(
                &format!("/api/v1/accounts/relationships?id[]={bob_on_alpha}"),
                Some(&pat),
            )
            .await;
        assert_eq!(rel[0]["following"], true, "beta's Accept arrived: {rel}");
        let (_, followers) = beta
            .get("/api/v1/notifications?types[]=follow", Some(&bob))
            .await;
        assert_eq!(
            followers[0]["account"]["acct"],
            format!("pat@{}", alpha.domain)
        );

        // Bob posts with each visibility.
        let mut posted = Vec::new();
        for visibility in ["public", "unlisted", "private", "direct", "local"] {
            let (status, body) = beta
                .post(
                    "/api/v1/statuses",
                    Some(&bob),
                    &[
                        ("status", &format!("bob's {visibility} post")),
                        ("visibility", visibility),
                    ],
                )
                .await;
            assert_eq!(status, 200, "{body}");
            posted.push(visibility);
        }
        settle(&[&alpha, &beta]).await;

        let (_, home) = alpha
            .get("/api/v1/timelines/home?limit=40", Some(&pat))
            .await;
        let seen = contents(&home);
        for (visibility, expected) in [
            ("public", true),
            ("unlisted", true),
            ("private", true),
            ("direct", false),
            ("local", false),
        ] {
            let found = seen.iter().any(|c| {
                c.contains(&format!("bob&#39;s {visibility} post"))
                    || c.contains(&format!("bob's {visibility} post"))
            });
            assert_eq!(
                found, expected,
                "{engine:?}: pat's home and bob's {visibility} post: {seen:?}"
            );
        }
        // The follower's neighbour on alpha sees only what is public or unlisted.
        let (_, theirs) = alpha
            .get(
                &format!("/api/v1/accounts/{bob_on_alpha}/statuses?limit=40"),
                Some(&stranger),
            )
            .await;
        let theirs = contents(&theirs);
        assert!(
            theirs
                .iter()
                .all(|c| !c.contains("private") && !c.contains("direct") && !c.contains("local")),
            "{theirs:?}"
        );
        let (_, public) = alpha
            .get("/api/v1/timelines/public?remote=true", None)
            .await;
        assert!(contents(&public).iter().any(|c| c.contains("public post")));

        // Where did it go? One line per domain, with the rule.
        let (_, beta_statuses) = beta
            .get("/api/v1/timelines/home?limit=40", Some(&bob))
            .await;
        let private_id = beta_statuses
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["visibility"] == "private")
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .unwrap();
        let (_, audience) = beta
            .get(
                &format!("/api/v1/statuses/{private_id}/audience"),
                Some(&bob),
            )
            .await;
        assert_eq!(
            audience["domains"][0]["domain"],
            alpha.domain.as_str(),
            "{audience}"
        );
        assert_eq!(audience["domains"][0]["delivered"], true);
        assert_eq!(audience["domains"][0]["rule"], "follower");

        // Bob deletes the followers-only post: the Delete reaches alpha.
        let (status, _) = beta
            .delete(&format!("/api/v1/statuses/{private_id}"), Some(&bob))
            .await;
        assert_eq!(status, 200);
        settle(&[&alpha, &beta]).await;
        let (_, home) = alpha
            .get("/api/v1/timelines/home?limit=40", Some(&pat))
            .await;
        assert!(
            !contents(&home).iter().any(|c| c.contains("private post")),
            "deleted everywhere"
        );

        alpha.stop().await;
        beta.stop().await;
    }
}

/// A clinician's post that identifies a patient is held: it reaches no other instance until
/// its author releases it, then it does.
#[tokio::test]
async fn held_posts_do_not_federate_until_released() {
    for engine in engines() {
        let mut alpha = Instance::start_named(engine, "alpha", &[]).await;
        let mut beta = Instance::start_named(engine, "beta", &[]).await;
        alpha.create_account("pat", Role::Member, false).await;
        beta.create_account("dr_lee", Role::Clinician, true).await;
        beta.create_account("admin", Role::Admin, false).await;
        let pat = alpha.sign_in("pat", "read write follow").await;
        let doctor = beta.sign_in("dr_lee", "read write follow").await;
        let (_, remote) = alpha
            .get(
                &format!("/api/v1/accounts/lookup?acct=dr_lee@{}", beta.domain),
                Some(&pat),
            )
            .await;
        let doctor_on_alpha = remote["id"].as_str().unwrap().to_owned();
        alpha
            .post(
                &format!("/api/v1/accounts/{doctor_on_alpha}/follow"),
                Some(&pat),
                &[],
            )
            .await;
        settle(&[&alpha, &beta]).await;
        // Clinicians are locked by default: the doctor approves pat.
        let (_, requests) = beta.get("/api/v1/follow_requests", Some(&doctor)).await;
        let pat_on_beta = requests[0]["id"].as_str().unwrap().to_owned();
        beta.post(
            &format!("/api/v1/follow_requests/{pat_on_beta}/authorize"),
            Some(&doctor),
            &[],
        )
        .await;
        settle(&[&alpha, &beta]).await;

        let (_, held) = beta
            .post(
                "/api/v1/statuses",
                Some(&doctor),
                &[("status", "Discharged Mrs. Eleanor Whitfield from bed 12B this morning, her heart failure is finally under control.")],
            )
            .await;
        assert_eq!(held["held_for_review"], true, "{held}");
        let held_id = held["id"].as_str().unwrap().to_owned();
        settle(&[&alpha, &beta]).await;
        let (_, home) = alpha.get("/api/v1/timelines/home", Some(&pat)).await;
        assert!(
            !contents(&home).iter().any(|c| c.contains("Whitfield")),
            "held: nothing federated"
        );
        let (_, audience) = beta
            .get(
                &format!("/api/v1/statuses/{held_id}/audience"),
                Some(&doctor),
            )
            .await;
        assert_eq!(
            audience["domains"][0]["rule"], "held_for_review",
            "{audience}"
        );
        assert_eq!(audience["domains"][0]["delivered"], false);

        // An admin can see the decisions about alpha.
        let admin = beta.sign_in("admin", "read admin:read").await;
        let (status, by_domain) = beta
            .get(
                &format!(
                    "/api/v1/admin/cohort/audience_decisions?domain={}",
                    alpha.domain
                ),
                Some(&admin),
            )
            .await;
        assert_eq!(status, 200);
        assert!(
            by_domain
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["status_id"] == held_id.as_str())
        );
        let (status, _) = beta
            .get(
                &format!(
                    "/api/v1/admin/cohort/audience_decisions?domain={}",
                    alpha.domain
                ),
                Some(&doctor),
            )
            .await;
        assert_eq!(status, 403, "not for members");

        let (status, _) = beta
            .post(
                &format!("/api/v1/statuses/{held_id}/release"),
                Some(&doctor),
                &[],
            )
            .await;
        assert_eq!(status, 200);
        settle(&[&alpha, &beta]).await;
        let (_, home) = alpha.get("/api/v1/timelines/home", Some(&pat)).await;
        assert!(
            contents(&home).iter().any(|c| c.contains("Whitfield")),
            "released: delivered"
        );
        alpha.stop().await;
        beta.stop().await;
    }
}
