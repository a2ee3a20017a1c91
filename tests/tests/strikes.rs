//! Strikes and appeals over real HTTP: a moderator's action on a local account is a strike
//! its owner sees and may appeal once; the decision reaches them as a notification; deleting
//! reported posts as an action; the purge of accounts suspended for 30 days (time passed as
//! a parameter, never slept). Bad input is refused with nothing stored.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use cohort_model::{Id, Role};
use cohort_tests::harness::{Instance, engines};
use serde_json::Value;

const ADMIN_SCOPES: &str = "read write admin:read admin:write";

async fn count(instance: &Instance, sql: &'static str) -> i64 {
    instance.store().scalar_i64_for_tests(sql).await.unwrap()
}

/// Alice posts; Bob reports the post. Returns Alice's id, her post's id and the report's id.
async fn bob_reports_alices_post(instance: &mut Instance) -> (Id, String, String) {
    let alice = instance.create_account("alice", Role::Member, false).await;
    instance.create_account("bob", Role::Member, false).await;
    instance
        .create_account("moderator", Role::Moderator, false)
        .await;
    let alice_token = instance.sign_in("alice", "read write").await;
    let bob_token = instance.sign_in("bob", "read write").await;
    let (status, post) = instance
        .post(
            "/api/v1/statuses",
            Some(&alice_token),
            &[
                ("status", "Stop your insulin, try my tea"),
                ("visibility", "public"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{post}");
    let post_id = post["id"].as_str().unwrap().to_owned();
    let alice_id = alice.to_string();
    let (status, report) = instance
        .post(
            "/api/v1/reports",
            Some(&bob_token),
            &[
                ("account_id", alice_id.as_str()),
                ("status_ids[]", post_id.as_str()),
                ("category", "misinformation"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{report}");
    (alice, post_id, report["id"].as_str().unwrap().to_owned())
}

fn strike_notifications(notifications: &Value) -> Vec<&Value> {
    notifications
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["type"] == "moderation_warning")
        .collect()
}

#[tokio::test]
async fn a_warning_is_a_strike_its_owner_sees_appeals_once_and_is_told_the_decision() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        let (alice, post_id, report_id) = bob_reports_alices_post(&mut instance).await;
        let moderator = instance.sign_in("moderator", ADMIN_SCOPES).await;
        let (status, done) = instance
            .post(
                &format!("/api/v1/admin/accounts/{alice}/action"),
                Some(&moderator),
                &[
                    ("type", "none"),
                    ("report_id", report_id.as_str()),
                    ("text", "private: second time this month"),
                    ("warning_text", "Please do not advise stopping medication."),
                ],
            )
            .await;
        assert_eq!(status, 200, "{done}");

        // Alice sees the strike, without the moderator's private reason or name.
        let alice_token = instance.sign_in("alice", "read write").await;
        let (status, strikes) = instance
            .get("/api/v1/cohort/strikes", Some(&alice_token))
            .await;
        assert_eq!(status, 200, "{strikes}");
        let strikes = strikes.as_array().unwrap().clone();
        assert_eq!(strikes.len(), 1, "{strikes:?}");
        let strike = &strikes[0];
        assert_eq!(strike["action"], "none");
        assert_eq!(strike["text"], "Please do not advise stopping medication.");
        assert_eq!(strike["status_ids"][0], post_id.as_str());
        assert_eq!(strike["appeal"], Value::Null);
        assert!(!strike.to_string().contains("second time"), "{strike}");
        assert!(!strike.to_string().contains("moderator"), "{strike}");
        let strike_id = strike["id"].as_str().unwrap().to_owned();

        // ...and was notified of it in Mastodon's moderation_warning shape.
        let (_, notifications) = instance
            .get("/api/v1/notifications", Some(&alice_token))
            .await;
        let told = strike_notifications(&notifications);
        assert_eq!(told.len(), 1, "{notifications}");
        assert_eq!(told[0]["moderation_warning"]["id"], strike_id.as_str());
        assert_eq!(told[0]["moderation_warning"]["action"], "none");

        // Bad appeals: empty, too long, someone else's strike. Nothing is stored.
        let appeal_path = format!("/api/v1/cohort/strikes/{strike_id}/appeal");
        let (status, body) = instance
            .post(&appeal_path, Some(&alice_token), &[("text", "   ")])
            .await;
        assert_eq!(status, 422, "{body}");
        assert!(
            body["error"].as_str().unwrap().contains("text is missing"),
            "{body}"
        );
        let long = "a".repeat(2001);
        let (status, body) = instance
            .post(&appeal_path, Some(&alice_token), &[("text", long.as_str())])
            .await;
        assert_eq!(status, 422, "{body}");
        assert!(
            body["error"].as_str().unwrap().contains("too long"),
            "{body}"
        );
        let bob_token = instance.sign_in("bob", "read write").await;
        let (status, body) = instance
            .post(&appeal_path, Some(&bob_token), &[("text", "not mine")])
            .await;
        assert_eq!(status, 404, "{body}");
        assert_eq!(body["error"], "Record not found");
        let (status, _) = instance
            .get(
                &format!("/api/v1/cohort/strikes/{strike_id}"),
                Some(&bob_token),
            )
            .await;
        assert_eq!(status, 404, "another member's strike is not shown");
        assert_eq!(
            count(&instance, "SELECT COUNT(*) FROM strike_appeals").await,
            0
        );

        // Alice appeals once; a second appeal is refused and changes nothing.
        let (status, appealed) = instance
            .post(
                &appeal_path,
                Some(&alice_token),
                &[("text", "I quoted the advice to warn against it.")],
            )
            .await;
        assert_eq!(status, 200, "{appealed}");
        assert_eq!(appealed["appeal"]["state"], "pending");
        let (status, body) = instance
            .post(&appeal_path, Some(&alice_token), &[("text", "again")])
            .await;
        assert_eq!(status, 422, "{body}");
        assert!(
            body["error"].as_str().unwrap().contains("appealed already"),
            "{body}"
        );
        assert_eq!(
            count(&instance, "SELECT COUNT(*) FROM strike_appeals").await,
            1
        );

        // The moderator sees it in the queue and rejects it; Alice is told.
        let (status, queue) = instance
            .get("/api/v1/admin/cohort/appeals", Some(&moderator))
            .await;
        assert_eq!(status, 200, "{queue}");
        assert_eq!(queue.as_array().unwrap().len(), 1, "{queue}");
        assert_eq!(queue[0]["text"], "I quoted the advice to warn against it.");
        assert_eq!(queue[0]["account"]["username"], "alice");
        let appeal_id = queue[0]["id"].as_str().unwrap().to_owned();
        let (status, body) = instance
            .get("/api/v1/admin/cohort/appeals", Some(&alice_token))
            .await;
        assert_eq!(status, 403, "members do not see the queue: {body}");
        let (status, decided) = instance
            .post(
                &format!("/api/v1/admin/cohort/appeals/{appeal_id}/reject"),
                Some(&moderator),
                &[],
            )
            .await;
        assert_eq!(status, 200, "{decided}");
        assert_eq!(decided["state"], "rejected");
        let (status, body) = instance
            .post(
                &format!("/api/v1/admin/cohort/appeals/{appeal_id}/approve"),
                Some(&moderator),
                &[],
            )
            .await;
        assert_eq!(status, 422, "decided once: {body}");
        let (_, notifications) = instance
            .get("/api/v1/notifications", Some(&alice_token))
            .await;
        let told = strike_notifications(&notifications);
        assert_eq!(told.len(), 2, "{notifications}");
        assert_eq!(told[0]["moderation_warning"]["appeal"]["state"], "rejected");
        let (_, log) = instance
            .get("/api/v1/admin/cohort/mod_log", Some(&moderator))
            .await;
        assert_eq!(log[0]["action"], "reject_appeal", "{log}");
        instance.stop().await;
    }
}

#[tokio::test]
async fn approving_an_appeal_of_a_limit_lifts_the_limit_and_overrules_the_strike() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        let (alice, _, report_id) = bob_reports_alices_post(&mut instance).await;
        let moderator = instance.sign_in("moderator", ADMIN_SCOPES).await;
        let (status, body) = instance
            .post(
                &format!("/api/v1/admin/accounts/{alice}/action"),
                Some(&moderator),
                &[("type", "silence"), ("report_id", report_id.as_str())],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let alice_token = instance.sign_in("alice", "read write").await;
        let (_, strikes) = instance
            .get("/api/v1/cohort/strikes", Some(&alice_token))
            .await;
        assert_eq!(strikes[0]["action"], "silence");
        let strike_id = strikes[0]["id"].as_str().unwrap().to_owned();
        let (status, body) = instance
            .post(
                &format!("/api/v1/cohort/strikes/{strike_id}/appeal"),
                Some(&alice_token),
                &[("text", "The post was a quote.")],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let (_, queue) = instance
            .get("/api/v1/admin/cohort/appeals", Some(&moderator))
            .await;
        let appeal_id = queue[0]["id"].as_str().unwrap().to_owned();
        let (status, decided) = instance
            .post(
                &format!("/api/v1/admin/cohort/appeals/{appeal_id}/approve"),
                Some(&moderator),
                &[],
            )
            .await;
        assert_eq!(status, 200, "{decided}");
        assert_eq!(decided["state"], "approved");
        assert!(decided["strike"]["overruled_at"].is_string(), "{decided}");
        assert_eq!(decided["account"]["silenced"], false, "{decided}");
        let (_, pending) = instance
            .get("/api/v1/admin/cohort/appeals", Some(&moderator))
            .await;
        assert_eq!(pending.as_array().unwrap().len(), 0, "{pending}");
        instance.stop().await;
    }
}

#[tokio::test]
async fn delete_statuses_removes_the_reported_posts_and_names_them_in_the_strike() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        let (alice, post_id, report_id) = bob_reports_alices_post(&mut instance).await;
        let moderator = instance.sign_in("moderator", ADMIN_SCOPES).await;
        let path = format!("/api/v1/admin/accounts/{alice}/action");

        // Without a report naming posts there is nothing to delete: refused, nothing stored.
        let (status, body) = instance
            .post(&path, Some(&moderator), &[("type", "delete_statuses")])
            .await;
        assert_eq!(status, 422, "{body}");
        assert!(
            body["error"].as_str().unwrap().contains("report_id"),
            "{body}"
        );
        let too_long = "a".repeat(1001);
        let (status, body) = instance
            .post(
                &path,
                Some(&moderator),
                &[
                    ("type", "delete_statuses"),
                    ("report_id", report_id.as_str()),
                    ("warning_text", too_long.as_str()),
                ],
            )
            .await;
        assert_eq!(status, 422, "{body}");
        assert!(
            body["error"].as_str().unwrap().contains("warning_text"),
            "{body}"
        );
        assert_eq!(
            count(&instance, "SELECT COUNT(*) FROM account_strikes").await,
            0
        );
        assert_eq!(
            count(
                &instance,
                "SELECT COUNT(*) FROM statuses WHERE deleted_at IS NOT NULL"
            )
            .await,
            0
        );

        let (status, body) = instance
            .post(
                &path,
                Some(&moderator),
                &[
                    ("type", "delete_statuses"),
                    ("report_id", report_id.as_str()),
                    ("warning_text", "Removed: dangerous advice."),
                ],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let bob_token = instance.sign_in("bob", "read write").await;
        let (status, _) = instance
            .get(&format!("/api/v1/statuses/{post_id}"), Some(&bob_token))
            .await;
        assert_eq!(status, 404, "the reported post is gone");
        let (_, report) = instance
            .get(
                &format!("/api/v1/admin/reports/{report_id}"),
                Some(&moderator),
            )
            .await;
        assert_eq!(report["action_taken"], true, "{report}");
        let alice_token = instance.sign_in("alice", "read write").await;
        let (_, strikes) = instance
            .get("/api/v1/cohort/strikes", Some(&alice_token))
            .await;
        assert_eq!(strikes[0]["action"], "delete_statuses");
        assert_eq!(strikes[0]["status_ids"][0], post_id.as_str());
        instance.stop().await;
    }
}

#[tokio::test]
async fn a_local_account_suspended_for_thirty_days_is_purged_and_cannot_be_restored() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        let (alice, _, _) = bob_reports_alices_post(&mut instance).await;
        let moderator = instance.sign_in("moderator", ADMIN_SCOPES).await;
        let (status, body) = instance
            .post(
                &format!("/api/v1/admin/accounts/{alice}/action"),
                Some(&moderator),
                &[("type", "suspend")],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let suspended_at = instance
            .store()
            .moderation_state(alice)
            .await
            .unwrap()
            .suspended_at
            .unwrap();

        // A day short of thirty: nothing is purged (and it could still be undone).
        let day = 24 * 3_600_000;
        let early = suspended_at + cohort_store::SUSPENSION_GRACE_MS - day;
        let purged = instance
            .store()
            .purge_suspended_accounts(early)
            .await
            .unwrap();
        assert!(purged.is_empty());
        assert_eq!(
            count(
                &instance,
                "SELECT COUNT(*) FROM statuses WHERE deleted_at IS NOT NULL"
            )
            .await,
            0
        );

        let due = suspended_at + cohort_store::SUSPENSION_GRACE_MS;
        let purged = instance
            .store()
            .purge_suspended_accounts(due)
            .await
            .unwrap();
        assert_eq!(purged, vec![alice]);
        assert_eq!(
            count(
                &instance,
                "SELECT COUNT(*) FROM statuses WHERE deleted_at IS NULL"
            )
            .await,
            0,
            "her post is deleted"
        );
        assert_eq!(
            count(
                &instance,
                "SELECT COUNT(*) FROM outbox_activities WHERE kind = 'delete_status'"
            )
            .await,
            1,
            "and its Delete recorded for every inbox it reached"
        );
        let again = instance
            .store()
            .purge_suspended_accounts(due)
            .await
            .unwrap();
        assert!(again.is_empty(), "purged once");

        let (status, body) = instance
            .post(
                &format!("/api/v1/admin/accounts/{alice}/unsuspend"),
                Some(&moderator),
                &[],
            )
            .await;
        assert_eq!(status, 422, "{body}");
        assert!(body["error"].as_str().unwrap().contains("purged"), "{body}");
        let (_, shown) = instance
            .get(&format!("/api/v1/admin/accounts/{alice}"), Some(&moderator))
            .await;
        assert_eq!(shown["suspended"], true, "{shown}");
        instance.stop().await;
    }
}
