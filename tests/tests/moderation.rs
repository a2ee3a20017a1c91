//! Moderation across the test network: reports filed through the client API and forwarded
//! as `Flag`s from the instance actor, received by the reported account's instance, handled
//! there through Mastodon's admin API; account actions that take effect; bad input refused
//! with nothing stored; a Mastodon-shaped Flag fixture arriving signed over real HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::SystemTime;

use cohort_federation::delivery::sign::{Signer, sign_post};
use cohort_model::{Id, Role};
use cohort_tests::harness::{Instance, engines, settle};
use serde_json::Value;

const IDENTIFYING: &str = "She posted that Mrs. Eleanor Whitfield was discharged from bed 12B this morning after her heart failure admission.";
const ADMIN_SCOPES: &str = "read write admin:read admin:write";

/// A form body.
type Form<'a> = Vec<(&'a str, &'a str)>;

async fn count(instance: &Instance, sql: &'static str) -> i64 {
    instance.store().scalar_i64_for_tests(sql).await.unwrap()
}

/// Mallory on beta, followed by Alice on alpha, posts twice; returns Mallory's id on alpha
/// and on beta, and the ids of her two posts as alpha knows them.
async fn mallory_posts_twice(
    alpha: &mut Instance,
    beta: &mut Instance,
) -> (String, Id, Vec<String>) {
    let mallory = beta.create_account("mallory", Role::Member, false).await;
    let mallory_token = beta.sign_in("mallory", "read write").await;
    let alice = alpha.sign_in("alice", "read write follow").await;
    let (status, found) = alpha
        .get(
            &format!("/api/v1/accounts/lookup?acct=mallory@{}", beta.domain),
            Some(&alice),
        )
        .await;
    assert_eq!(status, 200, "{found}");
    let on_alpha = found["id"].as_str().unwrap().to_owned();
    alpha
        .post(
            &format!("/api/v1/accounts/{on_alpha}/follow"),
            Some(&alice),
            &[],
        )
        .await;
    settle(&[alpha, beta]).await;
    for text in [
        "Miracle cure, DM me for the supplement link",
        "Stop your insulin, try my tea",
    ] {
        let (status, posted) = beta
            .post(
                "/api/v1/statuses",
                Some(&mallory_token),
                &[("status", text), ("visibility", "public")],
            )
            .await;
        assert_eq!(status, 200, "{posted}");
    }
    settle(&[alpha, beta]).await;
    let (_, statuses) = alpha
        .get(
            &format!("/api/v1/accounts/{on_alpha}/statuses"),
            Some(&alice),
        )
        .await;
    let ids: Vec<String> = statuses
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 2, "alpha received both posts: {statuses}");
    (on_alpha, mallory, ids)
}

#[tokio::test]
async fn alice_on_alpha_reports_mallory_on_beta_whose_moderator_suspends_her() {
    for engine in engines() {
        let mut alpha = Instance::start_named(engine, "alpha", &[]).await;
        let mut beta = Instance::start_named(engine, "beta", &[]).await;
        alpha.create_account("alice", Role::Member, false).await;
        beta.create_account("beta_mod", Role::Moderator, false)
            .await;
        let (mallory_on_alpha, mallory, statuses) =
            mallory_posts_twice(&mut alpha, &mut beta).await;
        let alice = alpha.sign_in("alice", "read write follow").await;

        let mut form = vec![
            ("account_id", mallory_on_alpha.as_str()),
            ("comment", "Selling fake cures to caregivers"),
            ("category", "misinformation"),
            ("forward", "true"),
        ];
        for id in &statuses {
            form.push(("status_ids[]", id.as_str()));
        }
        let (status, report) = alpha.post("/api/v1/reports", Some(&alice), &form).await;
        assert_eq!(status, 200, "{report}");
        assert_eq!(report["forwarded"], true);
        assert_eq!(report["category"], "misinformation");
        assert_eq!(report["action_taken"], false);
        assert_eq!(report["target_account"]["id"], mallory_on_alpha.as_str());
        assert_eq!(report["status_ids"].as_array().unwrap().len(), 2);
        let filed_id = report["id"].as_str().unwrap().to_owned();
        settle(&[&alpha, &beta]).await;

        // Beta's moderator sees the report: Mallory, her two posts, and no reporter.
        let moderator = beta.sign_in("beta_mod", ADMIN_SCOPES).await;
        let (status, reports) = beta.get("/api/v1/admin/reports", Some(&moderator)).await;
        assert_eq!(status, 200, "{reports}");
        let reports = reports.as_array().unwrap();
        assert_eq!(reports.len(), 1, "{reports:?}");
        let received = &reports[0];
        assert_eq!(
            received["account"],
            Value::Null,
            "the reporter is anonymous"
        );
        assert_eq!(received["target_account"]["username"], "mallory");
        assert_eq!(received["target_account"]["account"]["acct"], "mallory");
        assert_eq!(received["comment"], "Selling fake cures to caregivers");
        assert_eq!(received["origin_domain"], alpha.domain.as_str());
        let shown: Vec<&str> = received["statuses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["content"].as_str().unwrap())
            .collect();
        assert_eq!(shown.len(), 2, "{received}");
        assert!(shown.iter().any(|c| c.contains("insulin")), "{shown:?}");
        let nothing_about_alice = received.to_string();
        assert!(!nothing_about_alice.contains("alice"), "{received}");
        // Beta's moderators were notified of it (Mastodon's admin.report).
        let (_, told) = beta
            .get(
                "/api/v1/notifications?types[]=admin.report",
                Some(&moderator),
            )
            .await;
        assert_eq!(told.as_array().unwrap().len(), 1, "{told}");
        assert_eq!(told[0]["report"]["id"], received["id"]);
        assert_eq!(
            told[0]["report"]["category"], "other",
            "Flags carry no category"
        );

        // Mallory is suspended, resolving the report.
        let report_id = received["id"].as_str().unwrap().to_owned();
        let mallory_token = beta.sign_in("mallory", "read write").await;
        let (_, mallory_posts) = beta
            .get(
                &format!("/api/v1/accounts/{mallory}/statuses"),
                Some(&mallory_token),
            )
            .await;
        let a_post = mallory_posts[0]["id"].as_str().unwrap().to_owned();
        let (status, done) = beta
            .post(
                &format!("/api/v1/admin/accounts/{mallory}/action"),
                Some(&moderator),
                &[
                    ("type", "suspend"),
                    ("report_id", report_id.as_str()),
                    ("text", "Dangerous medical advice"),
                    ("resolution_note", "Thank you for the report."),
                ],
            )
            .await;
        assert_eq!(status, 200, "{done}");
        let (_, report) = beta
            .get(
                &format!("/api/v1/admin/reports/{report_id}"),
                Some(&moderator),
            )
            .await;
        assert_eq!(report["action_taken"], true, "{report}");
        assert_eq!(report["action_taken_by_account"]["username"], "beta_mod");
        assert_eq!(report["target_account"]["suspended"], true);

        // The suspension takes effect: no sign-in, no posts, off the timelines.
        let (status, _) = beta
            .get("/api/v1/accounts/verify_credentials", Some(&mallory_token))
            .await;
        assert_eq!(status, 401, "her tokens were revoked");
        let (status, _) = beta.get(&format!("/api/v1/statuses/{a_post}"), None).await;
        assert_eq!(status, 404);
        let (_, public) = beta.get("/api/v1/timelines/public", None).await;
        assert!(public.as_array().unwrap().is_empty(), "{public}");

        // Recorded in the mod log, with the reason.
        let (_, log) = beta
            .get("/api/v1/admin/cohort/mod_log", Some(&moderator))
            .await;
        assert_eq!(log[0]["action"], "suspend", "{log}");
        assert_eq!(log[0]["target_id"], mallory.to_string());
        assert_eq!(log[0]["reason"], "Dangerous medical advice");

        // Resolved reports leave the default (open) list and show with resolved=true.
        let (_, open) = beta.get("/api/v1/admin/reports", Some(&moderator)).await;
        assert!(open.as_array().unwrap().is_empty());
        let (_, resolved) = beta
            .get("/api/v1/admin/reports?resolved=true", Some(&moderator))
            .await;
        assert_eq!(resolved.as_array().unwrap().len(), 1);

        // The loop closes: the outcome goes back to alpha, whose report shows it, and Alice
        // is told (but not the private reason given on beta).
        settle(&[&alpha, &beta]).await;
        alpha
            .create_account("alpha_mod", Role::Moderator, false)
            .await;
        let alpha_mod = alpha.sign_in("alpha_mod", ADMIN_SCOPES).await;
        let (_, on_alpha) = alpha.get("/api/v1/admin/reports", Some(&alpha_mod)).await;
        let outcome = &on_alpha[0]["remote_resolution"];
        assert_eq!(
            outcome["outcome"], "Resolved; action taken: suspend. Thank you for the report.",
            "{on_alpha}"
        );
        assert!(outcome["resolved_at"].is_string());
        let (_, told) = alpha
            .get(
                "/api/v1/notifications?types[]=moderation_warning",
                Some(&alice),
            )
            .await;
        assert_eq!(told.as_array().unwrap().len(), 1, "{told}");
        assert!(
            told[0]["moderation_warning"]["text"]
                .as_str()
                .unwrap()
                .contains("suspend"),
            "{told}"
        );
        assert_eq!(told[0]["report"]["id"], filed_id.as_str());
        assert!(!told.to_string().contains("Dangerous medical advice"));
        alpha.stop().await;
        beta.stop().await;
    }
}

#[tokio::test]
async fn a_suspended_remote_account_disappears_here_and_its_activities_are_refused() {
    for engine in engines() {
        let mut alpha = Instance::start_named(engine, "alpha", &[]).await;
        let mut beta = Instance::start_named(engine, "beta", &[]).await;
        alpha.create_account("alice", Role::Member, false).await;
        alpha
            .create_account("alpha_mod", Role::Moderator, false)
            .await;
        let (mallory_on_alpha, _, statuses) = mallory_posts_twice(&mut alpha, &mut beta).await;
        let alice = alpha.sign_in("alice", "read write follow").await;
        let moderator = alpha.sign_in("alpha_mod", ADMIN_SCOPES).await;
        let (status, _) = alpha
            .post(
                &format!("/api/v1/admin/accounts/{mallory_on_alpha}/action"),
                Some(&moderator),
                &[("type", "suspend"), ("text", "known spam network")],
            )
            .await;
        assert_eq!(status, 200);
        // Her posts are gone from alpha: home, the post itself, her profile's posts.
        let (_, home) = alpha.get("/api/v1/timelines/home", Some(&alice)).await;
        assert!(home.as_array().unwrap().is_empty(), "{home}");
        let (status, _) = alpha
            .get(&format!("/api/v1/statuses/{}", statuses[0]), Some(&alice))
            .await;
        assert_eq!(status, 404);
        // What she sends next is refused.
        let before = count(&alpha, "SELECT COUNT(*) FROM statuses").await;
        let mallory = beta.sign_in("mallory", "read write").await;
        beta.post(
            "/api/v1/statuses",
            Some(&mallory),
            &[("status", "still here"), ("visibility", "public")],
        )
        .await;
        settle(&[&alpha, &beta]).await;
        assert_eq!(count(&alpha, "SELECT COUNT(*) FROM statuses").await, before);
        // Lifting the suspension brings the stored posts back.
        alpha
            .post(
                &format!("/api/v1/admin/accounts/{mallory_on_alpha}/unsuspend"),
                Some(&moderator),
                &[],
            )
            .await;
        let (status, _) = alpha
            .get(&format!("/api/v1/statuses/{}", statuses[0]), Some(&alice))
            .await;
        assert_eq!(status, 200);
        alpha.stop().await;
        beta.stop().await;
    }
}

#[tokio::test]
async fn a_moderator_forwards_a_report_its_reporter_did_not() {
    for engine in engines() {
        let mut alpha = Instance::start_named(engine, "alpha", &[]).await;
        let mut beta = Instance::start_named(engine, "beta", &[]).await;
        alpha.create_account("alice", Role::Member, false).await;
        let bob = alpha.create_account("bob", Role::Member, false).await;
        alpha
            .create_account("alpha_mod", Role::Moderator, false)
            .await;
        beta.create_account("beta_mod", Role::Moderator, false)
            .await;
        let (mallory_on_alpha, _, statuses) = mallory_posts_twice(&mut alpha, &mut beta).await;
        let alice = alpha.sign_in("alice", "read write follow").await;
        let (_, report) = alpha
            .post(
                "/api/v1/reports",
                Some(&alice),
                &[
                    ("account_id", mallory_on_alpha.as_str()),
                    ("status_ids[]", statuses[1].as_str()),
                    ("comment", "Telling diabetics to stop insulin"),
                    ("category", "misinformation"),
                ],
            )
            .await;
        assert_eq!(report["forwarded"], false);
        settle(&[&alpha, &beta]).await;
        assert_eq!(count(&beta, "SELECT COUNT(*) FROM reports").await, 0);

        let moderator = alpha.sign_in("alpha_mod", ADMIN_SCOPES).await;
        let path = format!(
            "/api/v1/admin/cohort/reports/{}/forward",
            report["id"].as_str().unwrap()
        );
        let (status, forwarded) = alpha.post(&path, Some(&moderator), &[]).await;
        assert_eq!(status, 200, "{forwarded}");
        assert_eq!(forwarded["forwarded"], true);
        let (status, _) = alpha.post(&path, Some(&moderator), &[]).await;
        assert_eq!(status, 422, "forwarded once");
        // A report about a local account has nowhere to go.
        let (_, local) = alpha
            .post(
                "/api/v1/reports",
                Some(&alice),
                &[("account_id", bob.to_string().as_str())],
            )
            .await;
        let (status, _) = alpha
            .post(
                &format!(
                    "/api/v1/admin/cohort/reports/{}/forward",
                    local["id"].as_str().unwrap()
                ),
                Some(&moderator),
                &[],
            )
            .await;
        assert_eq!(status, 422);

        settle(&[&alpha, &beta]).await;
        let beta_mod = beta.sign_in("beta_mod", ADMIN_SCOPES).await;
        let (_, received) = beta.get("/api/v1/admin/reports", Some(&beta_mod)).await;
        assert_eq!(received.as_array().unwrap().len(), 1, "{received}");
        assert_eq!(received[0]["comment"], "Telling diabetics to stop insulin");
        assert_eq!(received[0]["statuses"].as_array().unwrap().len(), 1);
        assert_eq!(received[0]["account"], Value::Null);
        let (_, log) = alpha
            .get("/api/v1/admin/cohort/mod_log", Some(&moderator))
            .await;
        assert_eq!(log[0]["action"], "forward_report");
        alpha.stop().await;
        beta.stop().await;
    }
}

#[tokio::test]
async fn a_comment_that_identifies_a_patient_is_kept_locally_and_forwarded_redacted() {
    for engine in engines() {
        let mut alpha = Instance::start_named(engine, "alpha", &[]).await;
        let mut beta = Instance::start_named(engine, "beta", &[]).await;
        alpha.create_account("alice", Role::Clinician, false).await;
        alpha
            .create_account("alpha_mod", Role::Moderator, false)
            .await;
        beta.create_account("beta_mod", Role::Moderator, false)
            .await;
        let (mallory_on_alpha, _, statuses) = mallory_posts_twice(&mut alpha, &mut beta).await;
        let alice = alpha.sign_in("alice", "read write follow").await;
        let (status, report) = alpha
            .post(
                "/api/v1/reports",
                Some(&alice),
                &[
                    ("account_id", mallory_on_alpha.as_str()),
                    ("status_ids[]", statuses[0].as_str()),
                    ("comment", IDENTIFYING),
                    ("category", "patient_privacy"),
                    ("forward", "true"),
                ],
            )
            .await;
        assert_eq!(status, 200, "{report}");
        assert_eq!(report["comment"], IDENTIFYING, "kept as written here");
        let forwarded = report["forwarded_comment"].as_str().unwrap();
        assert!(!forwarded.contains("Whitfield"), "{forwarded}");
        assert!(forwarded.contains("[redacted"), "{forwarded}");
        assert_eq!(report["priority"], 50, "patient privacy comes early");

        // Alpha's moderators see the original and why it was redacted.
        let alpha_mod = alpha.sign_in("alpha_mod", ADMIN_SCOPES).await;
        let (_, local) = alpha.get("/api/v1/admin/reports", Some(&alpha_mod)).await;
        assert_eq!(local[0]["comment"], IDENTIFYING);
        assert!(local[0]["comment_phi_reason"].is_string(), "{local}");
        assert_eq!(local[0]["account"]["username"], "alice");

        settle(&[&alpha, &beta]).await;
        let moderator = beta.sign_in("beta_mod", ADMIN_SCOPES).await;
        let (_, received) = beta.get("/api/v1/admin/reports", Some(&moderator)).await;
        let comment = received[0]["comment"].as_str().unwrap();
        assert_eq!(comment, forwarded, "beta got the redacted comment only");
        assert!(!received.to_string().contains("Whitfield"));
        alpha.stop().await;
        beta.stop().await;
    }
}

#[tokio::test]
async fn bad_reports_are_refused_and_nothing_is_stored() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        let alice = instance.create_account("alice", Role::Member, false).await;
        let mallory = instance
            .create_account("mallory", Role::Member, false)
            .await;
        instance.create_account("bob", Role::Member, false).await;
        let alice_token = instance.sign_in("alice", "read write").await;
        let bob_token = instance.sign_in("bob", "read write").await;
        let (_, bobs) = instance
            .post(
                "/api/v1/statuses",
                Some(&bob_token),
                &[("status", "hello from bob")],
            )
            .await;
        let bobs_post = bobs["id"].as_str().unwrap().to_owned();
        let mallory = mallory.to_string();
        let alice = alice.to_string();
        let long = "x".repeat(1001);
        let cases: Vec<(Form, u16, &str)> = vec![
            (
                vec![("account_id", "4242424242")],
                404,
                "nonexistent account",
            ),
            (vec![("account_id", alice.as_str())], 422, "own account"),
            (
                vec![
                    ("account_id", mallory.as_str()),
                    ("status_ids[]", bobs_post.as_str()),
                ],
                422,
                "a status not by the reported account",
            ),
            (
                vec![
                    ("account_id", mallory.as_str()),
                    ("status_ids[]", "999999999999"),
                ],
                422,
                "a status that does not exist",
            ),
            (
                vec![("account_id", mallory.as_str()), ("comment", long.as_str())],
                422,
                "a comment over 1000 characters",
            ),
            (
                vec![("account_id", mallory.as_str()), ("category", "gossip")],
                422,
                "an unknown category",
            ),
            (vec![("comment", "who?")], 422, "no account"),
        ];
        for (form, expected, what) in cases {
            let (status, body) = instance
                .post("/api/v1/reports", Some(&alice_token), &form)
                .await;
            assert_eq!(status, expected, "{what}: {body}");
            assert!(body["error"].is_string(), "{what}: {body}");
        }
        let read_only = instance.sign_in("alice", "read").await;
        let (status, _) = instance
            .post(
                "/api/v1/reports",
                Some(&read_only),
                &[("account_id", mallory.as_str())],
            )
            .await;
        assert_eq!(status, 403, "write:reports is needed");
        assert_eq!(count(&instance, "SELECT COUNT(*) FROM reports").await, 0);
        assert_eq!(
            count(&instance, "SELECT COUNT(*) FROM outbox_activities").await,
            1,
            "only bob's post"
        );

        // A good one, for contrast: rule ids make it a violation by default.
        let (status, report) = instance
            .post(
                "/api/v1/reports",
                Some(&alice_token),
                &[("account_id", mallory.as_str()), ("rule_ids[]", "2")],
            )
            .await;
        assert_eq!(status, 200, "{report}");
        assert_eq!(report["category"], "violation");
        assert_eq!(
            report["forwarded"], false,
            "a local account is not forwarded"
        );
        instance.stop().await;
    }
}

#[tokio::test]
async fn the_admin_api_needs_a_moderator_with_admin_scopes() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        instance.create_account("alice", Role::Member, false).await;
        instance
            .create_account("moder", Role::Moderator, false)
            .await;
        let member = instance.sign_in("alice", ADMIN_SCOPES).await;
        let no_scope = instance.sign_in("moder", "read write").await;
        let reports_only = instance.sign_in("moder", "admin:read:reports").await;
        for path in [
            "/api/v1/admin/reports",
            "/api/v1/admin/accounts",
            "/api/v2/admin/accounts",
            "/api/v1/admin/domain_blocks",
            "/api/v1/admin/domain_allows",
        ] {
            let (status, _) = instance.get(path, Some(&member)).await;
            assert_eq!(status, 403, "a member: {path}");
            let (status, _) = instance.get(path, Some(&no_scope)).await;
            assert_eq!(status, 403, "no admin scope: {path}");
            let (status, _) = instance.get(path, None).await;
            assert_eq!(status, 401, "no token: {path}");
        }
        let (status, _) = instance
            .get("/api/v1/admin/reports", Some(&reports_only))
            .await;
        assert_eq!(status, 200, "a child scope is enough for its area");
        let (status, _) = instance
            .get("/api/v1/admin/reports?order=priority", Some(&reports_only))
            .await;
        assert_eq!(status, 200);
        let (status, body) = instance
            .get("/api/v1/admin/reports?order=sideways", Some(&reports_only))
            .await;
        assert_eq!(status, 422, "{body}");
        let (status, _) = instance
            .get("/api/v1/admin/accounts", Some(&reports_only))
            .await;
        assert_eq!(status, 403, "but not for another");
        instance.stop().await;
    }
}

#[tokio::test]
async fn account_actions_take_effect_and_are_reversible() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        let moderator = instance
            .create_account("moder", Role::Moderator, false)
            .await;
        instance.create_account("admin", Role::Admin, false).await;
        let loud = instance.create_account("loud", Role::Member, false).await;
        instance.create_account("fan", Role::Member, false).await;
        let admin_id = instance
            .store()
            .local_account_by_username("admin")
            .await
            .unwrap()
            .id;
        let token = instance.sign_in("moder", ADMIN_SCOPES).await;
        let loud_token = instance.sign_in("loud", "read write follow").await;
        let fan_token = instance.sign_in("fan", "read write follow").await;
        instance
            .post(
                &format!("/api/v1/accounts/{loud}/follow"),
                Some(&fan_token),
                &[],
            )
            .await;
        let (_, post) = instance
            .post(
                "/api/v1/statuses",
                Some(&loud_token),
                &[("status", "LOUD #opinions"), ("visibility", "public")],
            )
            .await;
        let post_id = post["id"].as_str().unwrap().to_owned();
        let action = |kind: &'static str| vec![("type", kind)];

        // Silence (limit): off the public timeline; followers still see it at home.
        let (status, _) = instance
            .post(
                &format!("/api/v1/admin/accounts/{loud}/action"),
                Some(&token),
                &action("silence"),
            )
            .await;
        assert_eq!(status, 200);
        let (_, public) = instance.get("/api/v1/timelines/public", None).await;
        assert!(public.as_array().unwrap().is_empty(), "{public}");
        let (_, tagged) = instance.get("/api/v1/timelines/tag/opinions", None).await;
        assert!(tagged.as_array().unwrap().is_empty(), "{tagged}");
        let (_, home) = instance
            .get("/api/v1/timelines/home", Some(&fan_token))
            .await;
        assert_eq!(home[0]["id"], post_id.as_str());
        let (_, shown) = instance
            .get(&format!("/api/v1/admin/accounts/{loud}"), Some(&token))
            .await;
        assert_eq!(shown["silenced"], true);
        let (_, silenced) = instance
            .get("/api/v2/admin/accounts?status=silenced", Some(&token))
            .await;
        assert_eq!(silenced.as_array().unwrap().len(), 1);
        let (status, shown) = instance
            .post(
                &format!("/api/v1/admin/accounts/{loud}/unsilence"),
                Some(&token),
                &[],
            )
            .await;
        assert_eq!(
            (status, shown["silenced"].clone()),
            (200, Value::Bool(false))
        );
        let (_, public) = instance.get("/api/v1/timelines/public", None).await;
        assert_eq!(public.as_array().unwrap().len(), 1);
        let (_, tagged) = instance.get("/api/v1/timelines/tag/opinions", None).await;
        assert_eq!(tagged.as_array().unwrap().len(), 1);

        // Disable: the account keeps its posts but cannot use the API or sign in.
        instance
            .post(
                &format!("/api/v1/admin/accounts/{loud}/action"),
                Some(&token),
                &action("disable"),
            )
            .await;
        let (status, _) = instance
            .get("/api/v1/accounts/verify_credentials", Some(&loud_token))
            .await;
        assert_eq!(status, 401);
        let (status, _) = instance
            .get(&format!("/api/v1/statuses/{post_id}"), None)
            .await;
        assert_eq!(status, 200, "a disabled account's posts stay");
        instance
            .post(
                &format!("/api/v1/admin/accounts/{loud}/enable"),
                Some(&token),
                &[],
            )
            .await;
        let fresh = instance.sign_in("loud", "read").await;
        let (status, _) = instance
            .get("/api/v1/accounts/verify_credentials", Some(&fresh))
            .await;
        assert_eq!(status, 200, "enabled again");

        // Sensitive and back.
        instance
            .post(
                &format!("/api/v1/admin/accounts/{loud}/action"),
                Some(&token),
                &action("sensitive"),
            )
            .await;
        let (_, shown) = instance
            .get(&format!("/api/v1/admin/accounts/{loud}"), Some(&token))
            .await;
        assert_eq!(shown["sensitized"], true);
        instance
            .post(
                &format!("/api/v1/admin/accounts/{loud}/unsensitive"),
                Some(&token),
                &[],
            )
            .await;

        // Bad actions: unknown type, a report about someone else, oneself, an admin.
        let (status, body) = instance
            .post(
                &format!("/api/v1/admin/accounts/{loud}/action"),
                Some(&token),
                &action("obliterate"),
            )
            .await;
        assert_eq!(status, 422, "{body}");
        let (status, _) = instance
            .post(
                &format!("/api/v1/admin/accounts/{loud}/action"),
                Some(&token),
                &[("type", "suspend"), ("report_id", "12345")],
            )
            .await;
        assert_eq!(status, 422, "a report_id that names no report");
        let (status, _) = instance
            .post(
                &format!("/api/v1/admin/accounts/{moderator}/action"),
                Some(&token),
                &action("suspend"),
            )
            .await;
        assert_eq!(status, 403, "not oneself");
        let (status, _) = instance
            .post(
                &format!("/api/v1/admin/accounts/{admin_id}/action"),
                Some(&token),
                &action("suspend"),
            )
            .await;
        assert_eq!(status, 403, "a moderator cannot suspend an admin");
        let (status, _) = instance
            .post(
                "/api/v1/admin/accounts/4242/action",
                Some(&token),
                &action("none"),
            )
            .await;
        assert_eq!(status, 404);
        let (_, shown) = instance
            .get(&format!("/api/v1/admin/accounts/{loud}"), Some(&token))
            .await;
        assert_eq!(shown["suspended"], false, "nothing applied");

        let (_, log) = instance
            .get("/api/v1/admin/cohort/mod_log?limit=10", Some(&token))
            .await;
        let actions: Vec<&str> = log
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(
            actions,
            [
                "unsensitive",
                "sensitive",
                "enable",
                "disable",
                "unsilence",
                "silence"
            ]
        );
        instance.stop().await;
    }
}

#[tokio::test]
async fn a_pending_sign_up_is_approved_or_rejected_through_the_admin_api() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[("COHORT_REGISTRATIONS", "approval")]).await;
        instance
            .create_account("moder", Role::Moderator, false)
            .await;
        let token = instance.sign_in("moder", ADMIN_SCOPES).await;
        // Two sign-ups through the API (the instance approves sign-ups by default).
        let (_, app) = instance
            .post(
                "/api/v1/apps",
                None,
                &[("client_name", "signup"), ("scopes", "read write")],
            )
            .await;
        let (_, app_token) = instance
            .post(
                "/oauth/token",
                None,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", app["client_id"].as_str().unwrap()),
                    ("client_secret", app["client_secret"].as_str().unwrap()),
                ],
            )
            .await;
        let app_token = app_token["access_token"].as_str().unwrap().to_owned();
        let mut pending = Vec::new();
        for name in ["newbie", "spammer"] {
            let email = format!("{name}@example.org");
            let (status, body) = instance
                .post(
                    "/api/v1/accounts",
                    Some(&app_token),
                    &[
                        ("username", name),
                        ("email", email.as_str()),
                        ("password", "long enough pw"),
                        ("agreement", "true"),
                    ],
                )
                .await;
            assert_eq!(status, 200, "{body}");
            let id = instance
                .store()
                .local_account_by_username(name)
                .await
                .unwrap()
                .id;
            pending.push(id);
        }
        let (_, waiting) = instance
            .get("/api/v1/admin/accounts?pending=true", Some(&token))
            .await;
        assert_eq!(waiting.as_array().unwrap().len(), 2, "{waiting}");
        let (status, approved) = instance
            .post(
                &format!("/api/v1/admin/accounts/{}/approve", pending[0]),
                Some(&token),
                &[],
            )
            .await;
        assert_eq!(status, 200, "{approved}");
        assert_eq!(approved["approved"], true);
        let (status, _) = instance
            .post(
                &format!("/api/v1/admin/accounts/{}/approve", pending[0]),
                Some(&token),
                &[],
            )
            .await;
        assert_eq!(status, 422, "already approved");
        let (_, rejected) = instance
            .post(
                &format!("/api/v1/admin/accounts/{}/reject", pending[1]),
                Some(&token),
                &[],
            )
            .await;
        assert_eq!(rejected["suspended"], true);
        let (_, waiting) = instance
            .get("/api/v2/admin/accounts?status=pending", Some(&token))
            .await;
        assert!(waiting.as_array().unwrap().is_empty(), "{waiting}");
        instance.stop().await;
    }
}

#[tokio::test]
async fn domain_blocks_and_allows_through_the_admin_api() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        instance
            .create_account("moder", Role::Moderator, false)
            .await;
        let token = instance.sign_in("moder", ADMIN_SCOPES).await;
        let (status, block) = instance
            .post(
                "/api/v1/admin/domain_blocks",
                Some(&token),
                &[
                    ("domain", "spam.example"),
                    ("severity", "suspend"),
                    ("reject_reports", "true"),
                    ("private_comment", "seen in three reports"),
                    ("public_comment", "spam"),
                ],
            )
            .await;
        assert_eq!(status, 200, "{block}");
        assert_eq!(block["id"], "spam.example");
        assert_eq!(block["severity"], "suspend");
        assert_eq!(block["reject_reports"], true);
        assert_eq!(block["reject_media"], false);

        for (form, what) in [
            (vec![("domain", "spam.example")], "already blocked"),
            (
                vec![("domain", "other.example"), ("severity", "annihilate")],
                "unknown severity",
            ),
            (vec![("domain", "not a domain")], "malformed domain"),
            (vec![("severity", "silence")], "no domain"),
        ] {
            let (status, body) = instance
                .post("/api/v1/admin/domain_blocks", Some(&token), &form)
                .await;
            assert_eq!(status, 422, "{what}: {body}");
        }

        // Update with PUT: only the given fields change.
        let response = instance
            .http
            .put(instance.url("/api/v1/admin/domain_blocks/spam.example"))
            .bearer_auth(&token)
            .form(&[("severity", "silence"), ("obfuscate", "true")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let updated: Value = response.json().await.unwrap();
        assert_eq!(updated["severity"], "silence");
        assert_eq!(updated["obfuscate"], true);
        assert_eq!(updated["reject_reports"], true, "kept");
        assert_eq!(updated["private_comment"], "seen in three reports");

        let (_, list) = instance
            .get("/api/v1/admin/domain_blocks", Some(&token))
            .await;
        assert_eq!(list.as_array().unwrap().len(), 1);
        let (status, _) = instance
            .get("/api/v1/admin/domain_blocks/unknown.example", Some(&token))
            .await;
        assert_eq!(status, 404);

        // Allows: a blocked domain cannot be allowed.
        let (status, _) = instance
            .post(
                "/api/v1/admin/domain_allows",
                Some(&token),
                &[("domain", "spam.example")],
            )
            .await;
        assert_eq!(status, 422);
        let (status, allow) = instance
            .post(
                "/api/v1/admin/domain_allows",
                Some(&token),
                &[("domain", "friends.example")],
            )
            .await;
        assert_eq!(status, 200, "{allow}");
        let (_, allows) = instance
            .get("/api/v1/admin/domain_allows", Some(&token))
            .await;
        assert_eq!(allows[0]["domain"], "friends.example");
        let (status, _) = instance
            .delete("/api/v1/admin/domain_allows/friends.example", Some(&token))
            .await;
        assert_eq!(status, 200);
        let (status, _) = instance
            .delete("/api/v1/admin/domain_blocks/spam.example", Some(&token))
            .await;
        assert_eq!(status, 200);
        let (status, _) = instance
            .delete("/api/v1/admin/domain_blocks/spam.example", Some(&token))
            .await;
        assert_eq!(status, 404);
        let (_, log) = instance
            .get("/api/v1/admin/cohort/mod_log", Some(&token))
            .await;
        let actions: Vec<&str> = log
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(
            actions,
            [
                "unblock_domain",
                "unallow_domain",
                "allow_domain",
                "update_domain_block",
                "block_domain"
            ]
        );
        instance.stop().await;
    }
}

fn fixture(path: &str) -> Option<String> {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/activitypub")
        .join(path);
    match std::fs::read_to_string(&file) {
        Ok(text) => Some(text),
        Err(_) => {
            eprintln!("skipping: fixture {} not found", file.display());
            None
        }
    }
}

/// POSTs `body` to `to`'s shared inbox, signed by `from`'s instance actor.
async fn post_as_instance(from: &Instance, to: &Instance, body: &str) -> u16 {
    let (_, private_pem) = from.store().instance_actor_keys().await.unwrap().unwrap();
    let actor = format!("http://{}/actor", from.domain);
    let signer = Signer::from_pem(&format!("{actor}#main-key"), &private_pem).unwrap();
    let signed = sign_post(
        &signer,
        &to.domain,
        "/inbox",
        body.as_bytes(),
        SystemTime::now(),
    )
    .unwrap();
    let host = to.domain.split(':').next().unwrap().to_owned();
    let client = reqwest::Client::builder()
        .resolve(&host, to.server.addr)
        .build()
        .unwrap();
    client
        .post(format!("http://{}/inbox", to.domain))
        .header("content-type", "application/activity+json")
        .header("date", signed.date)
        .header("digest", signed.digest)
        .header("signature", signed.signature)
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_mastodon_shaped_flag_arrives_and_becomes_a_report() {
    let Some(template) = fixture("mastodon/flag.json") else {
        return;
    };
    for engine in engines() {
        let alpha = Instance::start_named(engine, "alpha", &[]).await;
        let mut beta = Instance::start_named(engine, "beta", &[]).await;
        let quickcure = beta.create_account("quickcure", Role::Member, false).await;
        beta.create_account("beta_mod", Role::Moderator, false)
            .await;
        let author = beta.sign_in("quickcure", "read write").await;
        let mut uris = Vec::new();
        for text in ["Buy my supplement", "Really, buy it"] {
            let (_, posted) = beta
                .post("/api/v1/statuses", Some(&author), &[("status", text)])
                .await;
            uris.push(posted["uri"].as_str().unwrap().to_owned());
        }
        // The fixture, addressed to this network: alpha's instance actor reports quickcure.
        let body = template
            .replace(
                "https://mastodon.example/actor",
                &format!("http://{}/actor", alpha.domain),
            )
            .replace(
                "https://mastodon.example/",
                &format!("http://{}/", alpha.domain),
            )
            .replace(
                "https://cohort.example/users/quickcure/statuses/112",
                &uris[0],
            )
            .replace(
                "https://cohort.example/users/quickcure/statuses/113",
                &uris[1],
            )
            .replace(
                "https://cohort.example/users/quickcure",
                &format!("http://{}/users/quickcure", beta.domain),
            );
        assert_eq!(post_as_instance(&alpha, &beta, &body).await, 202);
        settle(&[&alpha, &beta]).await;
        let moderator = beta.sign_in("beta_mod", ADMIN_SCOPES).await;
        let (_, reports) = beta.get("/api/v1/admin/reports", Some(&moderator)).await;
        let report = &reports[0];
        assert_eq!(report["target_account"]["id"], quickcure.to_string());
        assert_eq!(
            report["comment"],
            "Unsolicited advertising for supplements in a caregivers' thread."
        );
        assert_eq!(report["statuses"].as_array().unwrap().len(), 2);
        assert_eq!(report["account"], Value::Null);
        assert_eq!(report["origin_domain"], alpha.domain.as_str());
        alpha.stop().await;
        beta.stop().await;
    }
}

#[tokio::test]
async fn a_purged_local_account_is_deleted_on_every_instance_that_knew_it() {
    for engine in engines() {
        let mut alpha = Instance::start_named(engine, "alpha", &[]).await;
        let mut beta = Instance::start_named(engine, "beta", &[]).await;
        alpha.create_account("alice", Role::Member, false).await;
        beta.create_account("beta_mod", Role::Moderator, false)
            .await;
        let (mallory_on_alpha, mallory, _) = mallory_posts_twice(&mut alpha, &mut beta).await;
        let moderator = beta.sign_in("beta_mod", ADMIN_SCOPES).await;
        let (status, body) = beta
            .post(
                &format!("/api/v1/admin/accounts/{mallory}/action"),
                Some(&moderator),
                &[("type", "suspend")],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        settle(&[&alpha, &beta]).await;
        // As on Mastodon, a suspension sends nothing: it can still be lifted.
        let alive = "SELECT COUNT(*) FROM statuses WHERE deleted_at IS NULL";
        assert_eq!(count(&alpha, alive).await, 2, "nothing sent at suspension");
        assert_eq!(
            count(
                &beta,
                "SELECT COUNT(*) FROM outbox_activities WHERE kind = 'delete_actor'"
            )
            .await,
            0
        );
        let suspended_at = beta
            .store()
            .moderation_state(mallory)
            .await
            .unwrap()
            .suspended_at
            .unwrap();
        let purged = beta
            .store()
            .purge_suspended_accounts(suspended_at + cohort_store::SUSPENSION_GRACE_MS)
            .await
            .unwrap();
        assert_eq!(purged, vec![mallory]);
        assert_eq!(
            count(
                &beta,
                "SELECT COUNT(*) FROM outbox_activities WHERE kind = 'delete_actor'"
            )
            .await,
            1,
            "the actor's Delete is recorded with the purge"
        );
        settle(&[&alpha, &beta]).await;
        // Alpha received `Delete(Person)` signed by Mallory's key and removed her.
        assert_eq!(
            count(&alpha, alive).await,
            0,
            "her posts are gone from alpha"
        );
        assert_eq!(
            count(
                &alpha,
                "SELECT COUNT(*) FROM accounts WHERE username = 'mallory' AND suspended_at IS NOT NULL"
            )
            .await,
            1,
            "her account is removed on alpha"
        );
        assert_eq!(
            count(&alpha, "SELECT COUNT(*) FROM follows").await,
            0,
            "and Alice's follow with it"
        );
        let alice = alpha.sign_in("alice", "read").await;
        let (status, _) = alpha
            .get(
                &format!("/api/v1/accounts/{mallory_on_alpha}"),
                Some(&alice),
            )
            .await;
        assert_eq!(status, 404);
        alpha.stop().await;
        beta.stop().await;
    }
}

/// Whether `list` (a JSON array of statuses, or null) holds the status `id`.
fn lists(list: &Value, id: &str) -> bool {
    list.as_array()
        .is_some_and(|l| l.iter().any(|s| s["id"] == id))
}

#[tokio::test]
async fn limited_accounts_reach_only_their_followers_on_every_read_path() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        let mallory = instance
            .create_account("mallory", Role::Member, false)
            .await;
        instance.create_account("alice", Role::Member, false).await;
        instance.create_account("bob", Role::Member, false).await;
        instance
            .create_account("moderator", Role::Moderator, false)
            .await;
        let mallory_token = instance.sign_in("mallory", "read write").await;
        let alice = instance.sign_in("alice", "read write follow").await;
        let bob = instance.sign_in("bob", "read write follow").await;
        let moderator = instance.sign_in("moderator", ADMIN_SCOPES).await;
        let (status, _) = instance
            .post(
                &format!("/api/v1/accounts/{mallory}/follow"),
                Some(&alice),
                &[],
            )
            .await;
        assert_eq!(status, 200);
        let (status, _) = instance
            .patch(
                "/api/v1/accounts/update_credentials",
                Some(&mallory_token),
                &[("indexable", "true")],
            )
            .await;
        assert_eq!(status, 200);
        let (status, posted) = instance
            .post(
                "/api/v1/statuses",
                Some(&mallory_token),
                &[
                    ("status", "Stop your insulin, try my herbal tea"),
                    ("visibility", "public"),
                ],
            )
            .await;
        assert_eq!(status, 200, "{posted}");
        let id = posted["id"].as_str().unwrap().to_owned();
        assert_eq!(posted["sensitive"], false);
        for action in ["silence", "sensitive"] {
            let (status, body) = instance
                .post(
                    &format!("/api/v1/admin/accounts/{mallory}/action"),
                    Some(&moderator),
                    &[("type", action)],
                )
                .await;
            assert_eq!(status, 200, "{body}");
        }
        let mut failures = Vec::new();
        for (viewer, token, sees) in [
            ("mallory", Some(mallory_token.as_str()), true),
            ("follower", Some(alice.as_str()), true),
            ("moderator", Some(moderator.as_str()), true),
            ("stranger", Some(bob.as_str()), false),
            ("anonymous", None, false),
        ] {
            let (status, body) = instance.get(&format!("/api/v1/statuses/{id}"), token).await;
            if (status == 200) != sees {
                failures.push(format!("{viewer}/status: {status}"));
            }
            if status == 200 && body["sensitive"] != true {
                failures.push(format!("{viewer}/sensitive: {}", body["sensitive"]));
            }
            let (_, list) = instance
                .get(&format!("/api/v1/accounts/{mallory}/statuses"), token)
                .await;
            if lists(&list, &id) != sees {
                failures.push(format!("{viewer}/account_statuses"));
            }
            let (_, found) = instance
                .get("/api/v2/search?q=insulin&type=statuses", token)
                .await;
            if lists(&found["statuses"], &id) != (sees && token.is_some()) {
                failures.push(format!("{viewer}/search"));
            }
            // A limited account is off the public timelines for everyone.
            let (_, public) = instance.get("/api/v1/timelines/public", token).await;
            if lists(&public, &id) {
                failures.push(format!("{viewer}/public_timeline"));
            }
            let (status, _) = instance.get(&format!("/@mallory/{id}"), token).await;
            if token.is_none() && status == 200 {
                failures.push(format!("{viewer}/web_page: {status}"));
            }
        }
        assert!(failures.is_empty(), "{engine:?}: {failures:#?}");
        // Lifting the limit lets everyone see the post again.
        let (status, _) = instance
            .post(
                &format!("/api/v1/admin/accounts/{mallory}/unsilence"),
                Some(&moderator),
                &[],
            )
            .await;
        assert_eq!(status, 200);
        let (status, _) = instance
            .get(&format!("/api/v1/statuses/{id}"), Some(&bob))
            .await;
        assert_eq!(status, 200);
        instance.stop().await;
    }
}

#[tokio::test]
async fn accounts_of_a_silenced_domain_reach_only_their_local_followers() {
    for engine in engines() {
        let mut alpha = Instance::start_named(engine, "alpha", &[]).await;
        let mut beta = Instance::start_named(engine, "beta", &[]).await;
        alpha.create_account("alice", Role::Member, false).await;
        alpha.create_account("bob", Role::Member, false).await;
        alpha
            .create_account("alpha_admin", Role::Admin, false)
            .await;
        let (_, _, statuses) = mallory_posts_twice(&mut alpha, &mut beta).await;
        let admin = alpha.sign_in("alpha_admin", ADMIN_SCOPES).await;
        let domain = beta.domain.clone();
        let (status, body) = alpha
            .post(
                "/api/v1/admin/domain_blocks",
                Some(&admin),
                &[("domain", domain.as_str()), ("severity", "silence")],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let alice = alpha.sign_in("alice", "read").await;
        let bob = alpha.sign_in("bob", "read").await;
        for (viewer, token, expected) in [
            ("follower", Some(alice.as_str()), 200),
            ("stranger", Some(bob.as_str()), 404),
            ("anonymous", None, 404),
        ] {
            let (status, _) = alpha
                .get(&format!("/api/v1/statuses/{}", statuses[0]), token)
                .await;
            assert_eq!(status, expected, "{engine:?} {viewer}");
        }
        alpha.stop().await;
        beta.stop().await;
    }
}

/// `who` on `on` looks up `acct` and follows it; returns its id there.
async fn follow(on: &Instance, token: &str, acct: &str) -> String {
    let (status, found) = on
        .get(&format!("/api/v1/accounts/lookup?acct={acct}"), Some(token))
        .await;
    assert_eq!(status, 200, "{found}");
    let id = found["id"].as_str().unwrap().to_owned();
    let (status, body) = on
        .post(&format!("/api/v1/accounts/{id}/follow"), Some(token), &[])
        .await;
    assert_eq!(status, 200, "{body}");
    id
}

#[tokio::test]
async fn a_report_is_forwarded_to_the_instances_of_the_people_a_reported_post_answers() {
    for engine in engines() {
        let mut alpha = Instance::start_named(engine, "alpha", &[]).await;
        let mut beta = Instance::start_named(engine, "beta", &[]).await;
        let mut gamma = Instance::start_named(engine, "gamma", &[]).await;
        alpha.create_account("alice", Role::Member, false).await;
        beta.create_account("mallory", Role::Member, false).await;
        gamma.create_account("carol", Role::Member, false).await;
        gamma
            .create_account("gamma_mod", Role::Moderator, false)
            .await;
        let alice = alpha.sign_in("alice", "read write follow").await;
        let mallory = beta.sign_in("mallory", "read write follow").await;
        let carol = gamma.sign_in("carol", "read write").await;
        let mallory_on_alpha = follow(&alpha, &alice, &format!("mallory@{}", beta.domain)).await;
        follow(&alpha, &alice, &format!("carol@{}", gamma.domain)).await;
        follow(&beta, &mallory, &format!("carol@{}", gamma.domain)).await;
        settle(&[&alpha, &beta, &gamma]).await;
        let (status, asked) = gamma
            .post(
                "/api/v1/statuses",
                Some(&carol),
                &[
                    ("status", "Day 3 after my bypass"),
                    ("visibility", "public"),
                ],
            )
            .await;
        assert_eq!(status, 200, "{asked}");
        settle(&[&alpha, &beta, &gamma]).await;
        let (_, home) = beta.get("/api/v1/timelines/home", Some(&mallory)).await;
        let on_beta = home[0]["id"].as_str().unwrap().to_owned();
        let (status, reply) = beta
            .post(
                "/api/v1/statuses",
                Some(&mallory),
                &[
                    ("status", "Stop your statins, buy my tea"),
                    ("visibility", "public"),
                    ("in_reply_to_id", on_beta.as_str()),
                ],
            )
            .await;
        assert_eq!(status, 200, "{reply}");
        settle(&[&alpha, &beta, &gamma]).await;
        let (_, posts) = alpha
            .get(
                &format!("/api/v1/accounts/{mallory_on_alpha}/statuses"),
                Some(&alice),
            )
            .await;
        let reply_on_alpha = posts[0]["id"].as_str().unwrap().to_owned();

        // A domain that the report does not involve is refused, naming it; nothing stored.
        let gamma_domain = gamma.domain.clone();
        let mut form = vec![
            ("account_id", mallory_on_alpha.as_str()),
            ("status_ids[]", reply_on_alpha.as_str()),
            ("comment", "Preying on a heart patient"),
            ("forward", "true"),
            ("forward_to_domains[]", gamma_domain.as_str()),
        ];
        let mut bad = form.clone();
        bad.push(("forward_to_domains[]", "uninvolved.example"));
        let (status, body) = alpha.post("/api/v1/reports", Some(&alice), &bad).await;
        assert_eq!(status, 422, "{body}");
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("uninvolved.example"),
            "{body}"
        );
        assert_eq!(count(&alpha, "SELECT COUNT(*) FROM reports").await, 0);
        assert_eq!(
            count(
                &alpha,
                "SELECT COUNT(*) FROM outbox_activities WHERE kind = 'flag'"
            )
            .await,
            0
        );

        // Beta's own domain may be named too: it gets the Flag once.
        let beta_domain = beta.domain.clone();
        form.push(("forward_to_domains[]", beta_domain.as_str()));
        let (status, report) = alpha.post("/api/v1/reports", Some(&alice), &form).await;
        assert_eq!(status, 200, "{report}");
        assert_eq!(report["forwarded"], true);
        settle(&[&alpha, &beta, &gamma]).await;
        for (instance, name) in [(&beta, "beta"), (&gamma, "gamma")] {
            assert_eq!(
                count(
                    instance,
                    "SELECT COUNT(*) FROM reports WHERE origin_domain IS NOT NULL"
                )
                .await,
                1,
                "{engine:?}: {name} received the Flag once"
            );
        }
        // Gamma's moderator sees it: about Mallory (of beta), her reply to Carol, no reporter.
        let moderator = gamma.sign_in("gamma_mod", ADMIN_SCOPES).await;
        let (_, reports) = gamma.get("/api/v1/admin/reports", Some(&moderator)).await;
        let received = &reports[0];
        assert_eq!(received["account"], Value::Null);
        assert_eq!(received["target_account"]["username"], "mallory");
        assert_eq!(received["comment"], "Preying on a heart patient");
        assert_eq!(
            received["statuses"].as_array().unwrap().len(),
            1,
            "{received}"
        );
        alpha.stop().await;
        beta.stop().await;
        gamma.stop().await;
    }
}

#[tokio::test]
async fn a_lemmy_shaped_flag_about_a_community_post_reaches_the_community_moderators() {
    let Some(template) = fixture("lemmy/flag.json") else {
        return;
    };
    for engine in engines() {
        let alpha = Instance::start_named(engine, "alpha", &[]).await;
        let mut beta =
            Instance::start_named(engine, "beta", &[("COHORT_USER_COMMUNITIES", "true")]).await;
        // Olga (a member, no instance role) runs the community; Pat posts in it.
        beta.create_account("olga", Role::Member, false).await;
        beta.create_account("pat", Role::Member, false).await;
        beta.create_account("quickcure", Role::Member, false).await;
        let olga = beta.sign_in("olga", "read write follow").await;
        let pat = beta.sign_in("pat", "read write follow").await;
        let quickcure = beta.sign_in("quickcure", "read write follow").await;
        let (status, created) = beta
            .post(
                "/api/v1/communities",
                Some(&olga),
                &[("name", "caregivers")],
            )
            .await;
        assert_eq!(status, 201, "{created}");
        let community = created["id"].as_str().unwrap().to_owned();
        for token in [&pat, &quickcure] {
            let (status, _) = beta
                .post("/api/v1/communities/caregivers/join", Some(token), &[])
                .await;
            assert_eq!(status, 200);
        }
        let (status, post) = beta
            .post(
                "/api/v1/statuses",
                Some(&quickcure),
                &[
                    ("status", "@caregivers my tea cures dementia, DM me"),
                    ("visibility", "public"),
                ],
            )
            .await;
        assert_eq!(status, 200, "{post}");
        let post_uri = post["uri"].as_str().unwrap().to_owned();
        // Lemmy's shape: to the community, the post alone as object, the reason in summary.
        let body = template
            .replace(
                "https://lemmy.example/u/carol",
                &format!("http://{}/actor", alpha.domain),
            )
            .replace(
                "https://lemmy.example/",
                &format!("http://{}/", alpha.domain),
            )
            .replace("https://cohort.example/post/77", &post_uri)
            .replace(
                "https://cohort.example/c/caregivers",
                &format!("http://{}/users/caregivers", beta.domain),
            );
        assert_eq!(post_as_instance(&alpha, &beta, &body).await, 202);
        settle(&[&alpha, &beta]).await;

        // A member who is no moderator may not see the community's reports.
        let path = format!("/api/v1/communities/{community}/reports");
        let (status, body) = beta.get(&path, Some(&pat)).await;
        assert_eq!(status, 403, "{body}");
        // The community's moderator sees it, without a reporter, and was notified.
        let (status, reports) = beta.get(&path, Some(&olga)).await;
        assert_eq!(status, 200, "{reports}");
        let reports = reports.as_array().unwrap();
        assert_eq!(reports.len(), 1, "{engine:?}: {reports:?}");
        let report = &reports[0];
        assert_eq!(report["comment"], "Selling unproven treatments to members");
        assert_eq!(report["origin_domain"], alpha.domain.as_str());
        assert_eq!(report["target_account"]["username"], "quickcure");
        assert_eq!(report["statuses"].as_array().unwrap().len(), 1);
        assert!(report.get("account").is_none(), "{report}");
        let (_, told) = beta.get("/api/v1/notifications", Some(&olga)).await;
        assert!(
            told.as_array()
                .unwrap()
                .iter()
                .any(|n| n["type"] == "admin.report"),
            "{told}"
        );
        // Resolving it here resolves the report and sends the outcome back.
        let report_id = report["id"].as_str().unwrap().to_owned();
        let resolve = format!("{path}/{report_id}/resolve");
        let (status, _) = beta
            .post(&resolve, Some(&pat), &[("resolution_note", "mine")])
            .await;
        assert_eq!(status, 403);
        let (status, done) = beta
            .post(
                &resolve,
                Some(&olga),
                &[("resolution_note", "Removed and the member warned")],
            )
            .await;
        assert_eq!(status, 200, "{done}");
        assert_eq!(done["action_taken"], true);
        let (status, _) = beta
            .post(&resolve, Some(&olga), &[("resolution_note", "again")])
            .await;
        assert_eq!(status, 422, "resolved once");
        assert_eq!(
            count(
                &beta,
                "SELECT COUNT(*) FROM outbox_activities WHERE kind = 'resolve_report'"
            )
            .await,
            1
        );
        let (_, open) = beta.get(&path, Some(&olga)).await;
        assert!(open.as_array().unwrap().is_empty(), "{open}");
        // A report not about this community is not resolved through it.
        let (status, _) = beta
            .post(
                &format!("/api/v1/communities/{community}/reports/12345/resolve"),
                Some(&olga),
                &[],
            )
            .await;
        assert_eq!(status, 404);
        alpha.stop().await;
        beta.stop().await;
    }
}

#[tokio::test]
async fn a_forwarded_report_about_a_post_in_a_remote_community_reaches_its_moderators() {
    for engine in engines() {
        let mut alpha = Instance::start_named(engine, "alpha", &[]).await;
        let mut beta = Instance::start_named(engine, "beta", &[]).await;
        let mut gamma =
            Instance::start_named(engine, "gamma", &[("COHORT_USER_COMMUNITIES", "true")]).await;
        alpha.create_account("alice", Role::Member, false).await;
        beta.create_account("mallory", Role::Member, false).await;
        gamma.create_account("olga", Role::Member, false).await;
        let alice = alpha.sign_in("alice", "read write follow").await;
        let mallory = beta.sign_in("mallory", "read write follow").await;
        let olga = gamma.sign_in("olga", "read write follow").await;
        let all = [&alpha, &beta, &gamma];
        let (community, created) = gamma
            .community_with_remote_members(
                &olga,
                &[("name", "caregivers")],
                &[(&alpha, &alice), (&beta, &mallory)],
                &all,
            )
            .await;
        let community_id = created["id"].as_str().unwrap().to_owned();
        let (status, post) = beta
            .post(
                "/api/v1/statuses",
                Some(&mallory),
                &[(
                    "status",
                    &format!("@{community} my tea cures dementia, DM me"),
                )],
            )
            .await;
        assert_eq!(status, 200, "{post}");
        settle(&all).await;
        let (_, home) = alpha.get("/api/v1/timelines/home", Some(&alice)).await;
        // The Group announces the post to its members.
        let seen = home
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                if s["reblog"].is_object() {
                    &s["reblog"]
                } else {
                    s
                }
            })
            .find(|s| {
                s["content"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("dementia")
            })
            .unwrap_or_else(|| panic!("alice got the post through the Group: {home}"))
            .clone();
        let post_on_alpha = seen["id"].as_str().unwrap().to_owned();
        let mallory_on_alpha = seen["account"]["id"].as_str().unwrap().to_owned();
        let (status, report) = alpha
            .post(
                "/api/v1/reports",
                Some(&alice),
                &[
                    ("account_id", mallory_on_alpha.as_str()),
                    ("status_ids[]", post_on_alpha.as_str()),
                    ("comment", "Preying on caregivers"),
                    ("forward", "true"),
                ],
            )
            .await;
        assert_eq!(status, 200, "{report}");
        settle(&all).await;
        // Beta (Mallory's instance) and gamma (the community's) each received the Flag.
        for (instance, name) in [(&beta, "beta"), (&gamma, "gamma")] {
            assert_eq!(
                count(
                    instance,
                    "SELECT COUNT(*) FROM reports WHERE origin_domain IS NOT NULL"
                )
                .await,
                1,
                "{engine:?}: {name}"
            );
        }
        // On gamma, the community's moderator (no instance role) sees and resolves it.
        let path = format!("/api/v1/communities/{community_id}/reports");
        let (status, reports) = gamma.get(&path, Some(&olga)).await;
        assert_eq!(status, 200, "{reports}");
        let reports = reports.as_array().unwrap();
        assert_eq!(reports.len(), 1, "{engine:?}: {reports:?}");
        assert_eq!(reports[0]["comment"], "Preying on caregivers");
        assert_eq!(reports[0]["target_account"]["username"], "mallory");
        assert_eq!(reports[0]["statuses"].as_array().unwrap().len(), 1);
        alpha.stop().await;
        beta.stop().await;
        gamma.stop().await;
    }
}
