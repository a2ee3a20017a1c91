//! Urgent and sensitive questions (issue 10) through the real client API, on both engines: a
//! post to a clinician that reads as an emergency, a crisis or a sensitive question is
//! steered (422 with the contact routes, nothing stored, nothing queued) until its author
//! narrows it to a direct message or confirms it; a crisis is reported to the moderators
//! once; a clinician answering such a post in public is reminded; remote crisis posts are
//! reported and remote direct messages respect clinicians' boundaries.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use cohort_model::{Id, Role};
use cohort_tests::harness::{Instance, engines, settle};
use serde_json::Value;

const ADMIN_SCOPES: &str = "read write follow admin:read admin:write";

const ROUTES: [(&str, &str); 4] = [
    ("COHORT_CONTACT_PHONE", "+1 555 0100"),
    (
        "COHORT_CONTACT_SECURE_MESSAGING_URL",
        "https://portal.example.org/messages",
    ),
    ("COHORT_CONTACT_EMERGENCY_NUMBER", "911"),
    ("COHORT_CONTACT_CRISIS_LINE", "988"),
];

const EMERGENCY: &str =
    "@dana chest pressure for half an hour now and I'm sweating, it goes into my left arm";
const CRISIS: &str = "@dana I keep thinking about ending my life";
const SENSITIVE: &str = "@dana should I cut my bisoprolol to 2.5 mg? pulse is 52";

fn verification_form() -> Vec<(&'static str, &'static str)> {
    vec![
        ("profession", "Physician"),
        ("specialty", "Cardiology"),
        ("institution", "Alpha General Hospital"),
        ("license_number", "LIC-1"),
        ("jurisdiction", "US-CA"),
        ("expires_at", "2099-12-31"),
    ]
}

async fn verify(instance: &Instance, admin: &str, account: Id) {
    let path = format!("/api/v1/admin/cohort/clinicians/{account}/verification");
    let (status, body) = instance
        .post(&path, Some(admin), &verification_form())
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn count(instance: &Instance, sql: &str) -> i64 {
    // The store's test query takes a static string.
    let sql: &'static str = Box::leak(sql.to_owned().into_boxed_str());
    instance.store().scalar_i64_for_tests(sql).await.unwrap()
}

async fn statuses(instance: &Instance) -> i64 {
    count(instance, "SELECT COUNT(*) FROM statuses").await
}

async fn outbox(instance: &Instance) -> i64 {
    count(instance, "SELECT COUNT(*) FROM outbox_activities").await
}

async fn crisis_reports(instance: &Instance) -> i64 {
    count(
        instance,
        "SELECT COUNT(*) FROM reports WHERE category = 'self_harm' AND priority = 100",
    )
    .await
}

async fn put(instance: &Instance, path: &str, token: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let response = instance
        .http
        .put(instance.url(path))
        .bearer_auth(token)
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn route_kinds(body: &Value) -> Vec<String> {
    body["cohort_urgent"]["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap().to_owned())
        .collect()
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

/// An instance with contact routes, an admin, a verified clinician (dana) and two members.
async fn clinic(engine: cohort_tests::harness::Engine) -> (Instance, Id, Id) {
    let alpha = Instance::start(engine, &ROUTES).await;
    alpha.create_account("admin", Role::Admin, false).await;
    let dana = alpha.create_account("dana", Role::Member, false).await;
    let pat = alpha.create_account("pat", Role::Member, false).await;
    alpha.create_account("sam", Role::Member, false).await;
    (alpha, dana, pat)
}

#[tokio::test]
async fn urgent_questions_to_a_clinician_are_steered_to_the_contact_routes() {
    for engine in engines() {
        let (mut alpha, dana, _) = clinic(engine).await;
        let admin = alpha.sign_in("admin", ADMIN_SCOPES).await;
        let pat = alpha.sign_in("pat", "read write").await;
        let sam = alpha.sign_in("sam", "read write").await;
        let dana_token = alpha.sign_in("dana", "read write").await;

        // Before verification dana is no clinician: nothing is steered.
        let (status, body) = alpha
            .post(
                "/api/v1/statuses",
                Some(&pat),
                &[("status", SENSITIVE), ("visibility", "public")],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        verify(&alpha, &admin, dana).await;
        let before = (statuses(&alpha).await, outbox(&alpha).await);

        for (text, label, first) in [
            (EMERGENCY, "emergency", "emergency_number"),
            (CRISIS, "crisis", "crisis_line"),
            (SENSITIVE, "sensitive_care", "secure_messaging"),
        ] {
            let (status, body) = alpha
                .post(
                    "/api/v1/statuses",
                    Some(&pat),
                    &[("status", text), ("visibility", "public")],
                )
                .await;
            assert_eq!(status, 422, "{label}: {body}");
            let error = body["error"].as_str().unwrap();
            assert!(error.contains(&format!("({label})")), "{error}");
            assert!(error.contains("urgent_route=direct"), "{error}");
            assert!(error.contains("urgent_confirmed=true"), "{error}");
            assert_eq!(body["cohort_urgent"]["label"], label);
            assert_eq!(route_kinds(&body).len(), 4);
            assert_eq!(route_kinds(&body)[0], first, "{body}");
            assert_eq!(body["cohort_urgent"]["narrow_to"][0], "dana");
            assert_eq!(
                (statuses(&alpha).await, outbox(&alpha).await),
                before,
                "nothing stored, nothing queued"
            );
        }
        let (_, body) = alpha
            .post(
                "/api/v1/statuses",
                Some(&pat),
                &[("status", EMERGENCY), ("visibility", "unlisted")],
            )
            .await;
        let error = body["error"].as_str().unwrap();
        assert!(
            error.find("emergency number 911").unwrap() < error.find("crisis line 988").unwrap(),
            "{error}"
        );
        // The crisis reached the moderators once, with the explanation, not the text.
        assert_eq!(crisis_reports(&alpha).await, 1);
        let (_, reports) = alpha.get("/api/v1/admin/reports", Some(&admin)).await;
        let report = &reports[0];
        assert_eq!(report["category"], "self_harm");
        let comment = report["comment"].as_str().unwrap();
        assert!(comment.contains("crisis"), "{comment}");
        assert!(!comment.contains(CRISIS), "{comment}");

        // (a) Narrowed: a direct message to dana only.
        let (status, narrowed) = alpha
            .post(
                "/api/v1/statuses",
                Some(&pat),
                &[
                    ("status", CRISIS),
                    ("visibility", "public"),
                    ("urgent_route", "direct"),
                ],
            )
            .await;
        assert_eq!(status, 200, "{narrowed}");
        assert_eq!(narrowed["visibility"], "direct");
        let id = narrowed["id"].as_str().unwrap();
        let (status, _) = alpha
            .get(&format!("/api/v1/statuses/{id}"), Some(&dana_token))
            .await;
        assert_eq!(status, 200);
        let (status, _) = alpha
            .get(&format!("/api/v1/statuses/{id}"), Some(&sam))
            .await;
        assert_eq!(status, 404);
        let (_, public) = alpha.get("/api/v1/timelines/public", None).await;
        assert!(!ids(&public).contains(&id.to_owned()));
        // Still one report for this post, whatever the author chose.
        assert_eq!(crisis_reports(&alpha).await, 1);

        // (b) Confirmed: published as asked.
        let (status, confirmed) = alpha
            .post(
                "/api/v1/statuses",
                Some(&pat),
                &[
                    ("status", EMERGENCY),
                    ("visibility", "public"),
                    ("urgent_confirmed", "true"),
                ],
            )
            .await;
        assert_eq!(status, 200, "{confirmed}");
        assert_eq!(confirmed["visibility"], "public");
        let (_, public) = alpha.get("/api/v1/timelines/public", None).await;
        assert!(ids(&public).contains(&confirmed["id"].as_str().unwrap().to_owned()));

        // No clinician addressed: published normally, nothing reported.
        let (status, body) = alpha
            .post(
                "/api/v1/statuses",
                Some(&pat),
                &[
                    ("status", "@sam I keep thinking about ending my life"),
                    ("visibility", "public"),
                ],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["visibility"], "public");
        // A direct message to the clinician is where such a question belongs.
        let (status, body) = alpha
            .post(
                "/api/v1/statuses",
                Some(&pat),
                &[("status", SENSITIVE), ("visibility", "direct")],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(crisis_reports(&alpha).await, 1);

        // A scheduled post is steered when it is scheduled, while its author is there.
        let later = cohort_api::entities::datetime(cohort_store::now_ms() + 600_000);
        let (status, body) = alpha
            .post(
                "/api/v1/statuses",
                Some(&pat),
                &[
                    ("status", SENSITIVE),
                    ("visibility", "public"),
                    ("scheduled_at", later.as_str()),
                ],
            )
            .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["cohort_urgent"]["label"], "sensitive_care");
        assert_eq!(
            count(&alpha, "SELECT COUNT(*) FROM scheduled_statuses").await,
            0
        );

        // Bad input: an unknown route, both choices at once, a non-boolean (400, as for
        // every boolean parameter).
        let before = (statuses(&alpha).await, outbox(&alpha).await);
        for (extra, expected) in [
            (vec![("urgent_route", "public")], 422),
            (
                vec![("urgent_route", "direct"), ("urgent_confirmed", "true")],
                422,
            ),
            (vec![("urgent_confirmed", "perhaps")], 400),
        ] {
            let mut form = vec![("status", SENSITIVE), ("visibility", "public")];
            form.extend(extra);
            let (status, body) = alpha.post("/api/v1/statuses", Some(&pat), &form).await;
            assert_eq!(status, expected, "{body}");
            assert!(body["error"].is_string());
        }
        assert_eq!((statuses(&alpha).await, outbox(&alpha).await), before);
        alpha.stop().await;
    }
}

#[tokio::test]
async fn a_crisis_edit_is_steered_and_reported_once() {
    for engine in engines() {
        let (mut alpha, dana, _) = clinic(engine).await;
        let admin = alpha.sign_in("admin", ADMIN_SCOPES).await;
        let pat = alpha.sign_in("pat", "read write").await;
        verify(&alpha, &admin, dana).await;
        let (status, post) = alpha
            .post(
                "/api/v1/statuses",
                Some(&pat),
                &[
                    ("status", "@dana thanks for the talk"),
                    ("visibility", "public"),
                ],
            )
            .await;
        assert_eq!(status, 200, "{post}");
        let id = post["id"].as_str().unwrap().to_owned();
        let path = format!("/api/v1/statuses/{id}");
        let (status, body) = put(&alpha, &path, &pat, &[("status", CRISIS)]).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["cohort_urgent"]["label"], "crisis");
        let (_, source) = alpha.get(&format!("{path}/source"), Some(&pat)).await;
        assert_eq!(
            source["text"], "@dana thanks for the talk",
            "edit not saved"
        );
        let (status, body) = put(
            &alpha,
            &path,
            &pat,
            &[("status", CRISIS), ("urgent_route", "direct")],
        )
        .await;
        assert_eq!(status, 422, "an edit cannot narrow: {body}");
        let (status, body) = put(
            &alpha,
            &path,
            &pat,
            &[("status", CRISIS), ("urgent_confirmed", "true")],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(crisis_reports(&alpha).await, 1);
        let (_, reports) = alpha.get("/api/v1/admin/reports", Some(&admin)).await;
        assert_eq!(reports[0]["statuses"][0]["id"], id.as_str(), "{reports}");
        // Correcting a typo of a post that reads the same way is neither steered nor
        // reported again.
        let corrected = format!("{CRISIS}.");
        let (status, body) = put(&alpha, &path, &pat, &[("status", corrected.as_str())]).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(crisis_reports(&alpha).await, 1);
        alpha.stop().await;
    }
}

#[tokio::test]
async fn a_clinician_replying_in_public_to_a_flagged_post_is_reminded() {
    for engine in engines() {
        let (mut alpha, dana, _) = clinic(engine).await;
        let admin = alpha.sign_in("admin", ADMIN_SCOPES).await;
        let pat = alpha.sign_in("pat", "read write").await;
        let sam = alpha.sign_in("sam", "read write").await;
        let dana_token = alpha.sign_in("dana", "read write").await;
        verify(&alpha, &admin, dana).await;
        let (status, question) = alpha
            .post(
                "/api/v1/statuses",
                Some(&pat),
                &[
                    ("status", SENSITIVE),
                    ("visibility", "public"),
                    ("urgent_confirmed", "true"),
                ],
            )
            .await;
        assert_eq!(status, 200, "{question}");
        let parent = question["id"].as_str().unwrap().to_owned();
        let reply = |extra: Option<(&'static str, &'static str)>| {
            let mut form = vec![
                ("status", "@pat keep it at 5 mg for now"),
                ("visibility", "public"),
                ("in_reply_to_id", parent.as_str()),
            ];
            form.extend(extra);
            form
        };
        let before = (statuses(&alpha).await, outbox(&alpha).await);
        let (status, body) = alpha
            .post("/api/v1/statuses", Some(&dana_token), &reply(None))
            .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["cohort_urgent"]["reply_reminder"], true);
        assert_eq!(body["cohort_urgent"]["label"], "sensitive_care");
        assert_eq!(body["cohort_urgent"]["narrow_to"][0], "pat");
        assert!(
            body["error"].as_str().unwrap().contains("direct channel"),
            "{body}"
        );
        assert_eq!((statuses(&alpha).await, outbox(&alpha).await), before);

        // Narrowed: a direct message to the asker.
        let (status, body) = alpha
            .post(
                "/api/v1/statuses",
                Some(&dana_token),
                &reply(Some(("urgent_route", "direct"))),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["visibility"], "direct");
        let id = body["id"].as_str().unwrap();
        let (status, _) = alpha
            .get(&format!("/api/v1/statuses/{id}"), Some(&pat))
            .await;
        assert_eq!(status, 200);
        let (status, _) = alpha
            .get(&format!("/api/v1/statuses/{id}"), Some(&sam))
            .await;
        assert_eq!(status, 404);
        // Confirmed: in public, as asked.
        let (status, body) = alpha
            .post(
                "/api/v1/statuses",
                Some(&dana_token),
                &reply(Some(("urgent_confirmed", "true"))),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["visibility"], "public");
        // A member answering in public is not reminded.
        let (status, body) = alpha
            .post("/api/v1/statuses", Some(&sam), &reply(None))
            .await;
        assert_eq!(status, 200, "{body}");
        alpha.stop().await;
    }
}

#[tokio::test]
async fn contact_routes_are_shown_to_apps() {
    for engine in engines() {
        let alpha = Instance::start(engine, &ROUTES).await;
        let (status, routes) = alpha.get("/api/v1/cohort/contact_routes", None).await;
        assert_eq!(status, 200);
        assert_eq!(routes["crisis_line"], "988");
        assert_eq!(routes["emergency_number"], "911");
        assert_eq!(routes["phone"], "+1 555 0100");
        assert_eq!(
            routes["secure_messaging_url"],
            "https://portal.example.org/messages"
        );
        assert_eq!(routes["routes"].as_array().unwrap().len(), 4);
        let (_, instance) = alpha.get("/api/v2/instance", None).await;
        assert_eq!(
            instance["configuration"]["cohort"]["contact_routes"],
            routes
        );
        alpha.stop().await;
        let bare = Instance::start(engine, &[]).await;
        let (status, routes) = bare.get("/api/v1/cohort/contact_routes", None).await;
        assert_eq!(status, 200);
        assert_eq!(routes["crisis_line"], Value::Null);
        assert_eq!(routes["routes"], serde_json::json!([]));
        bare.stop().await;
    }
}

#[tokio::test]
async fn a_route_boundary_answers_non_colleagues_with_the_contact_routes() {
    for engine in engines() {
        let (mut alpha, dana, _) = clinic(engine).await;
        let admin = alpha.sign_in("admin", ADMIN_SCOPES).await;
        let pat = alpha.sign_in("pat", "read write").await;
        let dana_token = alpha.sign_in("dana", "read write").await;
        verify(&alpha, &admin, dana).await;
        let (status, me) = alpha
            .patch(
                "/api/v1/accounts/update_credentials",
                Some(&dana_token),
                &[("direct_messages_from", "route")],
            )
            .await;
        assert_eq!(status, 200, "{me}");
        assert_eq!(me["source"]["direct_messages_from"], "route");
        let before = statuses(&alpha).await;
        let (status, body) = alpha
            .post(
                "/api/v1/statuses",
                Some(&pat),
                &[("status", "@dana hello"), ("visibility", "direct")],
            )
            .await;
        assert_eq!(status, 422, "{body}");
        let error = body["error"].as_str().unwrap();
        assert!(error.contains("secure messaging https://portal.example.org/messages"));
        assert_eq!(
            body["cohort_contact_routes"][0]["kind"], "secure_messaging",
            "{body}"
        );
        // Steering never narrows to someone whose boundary refuses the author.
        let (status, body) = alpha
            .post(
                "/api/v1/statuses",
                Some(&pat),
                &[("status", SENSITIVE), ("visibility", "public")],
            )
            .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["cohort_urgent"]["narrow_to"], serde_json::json!([]));
        assert_eq!(body["cohort_urgent"]["choices"]["narrow"], Value::Null);
        let (status, body) = alpha
            .post(
                "/api/v1/statuses",
                Some(&pat),
                &[
                    ("status", SENSITIVE),
                    ("visibility", "public"),
                    ("urgent_route", "direct"),
                ],
            )
            .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(statuses(&alpha).await, before, "nothing stored");
        // Staff are colleagues.
        let (status, body) = alpha
            .post(
                "/api/v1/statuses",
                Some(&admin),
                &[("status", "@dana about the rota"), ("visibility", "direct")],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        alpha.stop().await;
    }
}

#[tokio::test]
async fn a_remote_crisis_post_to_a_local_clinician_is_reported_once() {
    for engine in engines() {
        let mut alpha = Instance::start_named(engine, "alpha", &ROUTES).await;
        let mut beta = Instance::start_named(engine, "beta", &[]).await;
        alpha.create_account("admin", Role::Admin, false).await;
        let dana = alpha.create_account("dana", Role::Member, false).await;
        beta.create_account("pat", Role::Member, false).await;
        let admin = alpha.sign_in("admin", ADMIN_SCOPES).await;
        let pat = beta.sign_in("pat", "read write follow").await;
        verify(&alpha, &admin, dana).await;
        let text = format!(
            "@dana@{} I keep thinking about ending my life",
            alpha.domain
        );
        // Beta checks dana's attestation and steers pat too; pat confirms.
        let (status, body) = beta
            .post(
                "/api/v1/statuses",
                Some(&pat),
                &[("status", text.as_str()), ("visibility", "public")],
            )
            .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(
            outbox(&beta).await,
            0,
            "nothing federates before the choice"
        );
        let (status, body) = beta
            .post(
                "/api/v1/statuses",
                Some(&pat),
                &[
                    ("status", text.as_str()),
                    ("visibility", "public"),
                    ("urgent_confirmed", "true"),
                ],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        settle(&[&alpha, &beta]).await;
        assert_eq!(
            crisis_reports(&alpha).await,
            1,
            "reported on the clinician's instance"
        );
        let (_, reports) = alpha.get("/api/v1/admin/reports", Some(&admin)).await;
        assert_eq!(reports[0]["statuses"].as_array().unwrap().len(), 1);
        assert_eq!(crisis_reports(&beta).await, 1, "and on the author's");
        alpha.stop().await;
        beta.stop().await;
    }
}

#[tokio::test]
async fn a_remote_direct_message_outside_a_clinicians_boundary_is_not_delivered() {
    for engine in engines() {
        let mut alpha = Instance::start_named(engine, "alpha", &ROUTES).await;
        let mut beta = Instance::start_named(engine, "beta", &[]).await;
        alpha.create_account("admin", Role::Admin, false).await;
        let dana = alpha.create_account("dana", Role::Member, false).await;
        let sam = alpha.create_account("sam", Role::Member, false).await;
        beta.create_account("pat", Role::Member, false).await;
        let admin = alpha.sign_in("admin", ADMIN_SCOPES).await;
        let dana_token = alpha.sign_in("dana", "read write").await;
        let sam_token = alpha.sign_in("sam", "read write").await;
        let pat = beta.sign_in("pat", "read write follow").await;
        verify(&alpha, &admin, dana).await;
        let (status, _) = alpha
            .patch(
                "/api/v1/accounts/update_credentials",
                Some(&dana_token),
                &[("direct_messages_from", "colleagues")],
            )
            .await;
        assert_eq!(status, 200);
        for name in ["dana", "sam"] {
            let text = format!("@{name}@{} hello, a quick question", alpha.domain);
            let (status, body) = beta
                .post(
                    "/api/v1/statuses",
                    Some(&pat),
                    &[("status", text.as_str()), ("visibility", "direct")],
                )
                .await;
            assert_eq!(status, 200, "{body}");
        }
        settle(&[&alpha, &beta]).await;
        // Sam, who keeps no boundary, has the message; dana has nothing, not even a
        // notification.
        let notified = |account: Id| {
            format!(
                "SELECT COUNT(*) FROM notifications WHERE account_id = {} AND kind = 'mention'",
                account.as_i64()
            )
        };
        assert_eq!(count(&alpha, &notified(sam)).await, 1);
        assert_eq!(count(&alpha, &notified(dana)).await, 0);
        let (_, sams) = alpha.get("/api/v1/conversations", Some(&sam_token)).await;
        assert_eq!(sams.as_array().unwrap().len(), 1, "{sams}");
        let (_, danas) = alpha.get("/api/v1/conversations", Some(&dana_token)).await;
        assert_eq!(danas, serde_json::json!([]));
        assert_eq!(statuses(&alpha).await, 1, "only sam's message was stored");
        alpha.stop().await;
        beta.stop().await;
    }
}
