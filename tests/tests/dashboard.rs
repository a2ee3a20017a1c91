//! The moderator dashboard over real HTTP (the browser test is tests/dashboard/run.sh):
//! sign-in for moderators only, a session cookie that is an access token, forms refused
//! without the session's CSRF token (nothing done), and a report resolved with an action.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use cohort_model::Role;
use cohort_tests::harness::{Instance, PASSWORD, engines};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

const ADMIN_SCOPES: &str = "read write admin:read admin:write";

async fn count(instance: &Instance, sql: &'static str) -> i64 {
    instance.store().scalar_i64_for_tests(sql).await.unwrap()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Signs in through the form; returns the cookie (`name=value`) or the refusal page.
async fn sign_in(
    instance: &Instance,
    username: &str,
    password: &str,
) -> Result<String, (u16, String)> {
    let response = client()
        .post(instance.url("/admin/login"))
        .form(&[("username", username), ("password", password)])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    if status != 303 {
        return Err((status, response.text().await.unwrap()));
    }
    assert_eq!(response.headers()[LOCATION], "/admin/reports");
    let set = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/admin"),
        "{set}"
    );
    Ok(set.split(';').next().unwrap().to_owned())
}

async fn page(instance: &Instance, cookie: &str, path: &str) -> (u16, String) {
    let response = client()
        .get(instance.url(path))
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn submit(
    instance: &Instance,
    cookie: &str,
    path: &str,
    form: &[(&str, &str)],
) -> (u16, String) {
    let response = client()
        .post(instance.url(path))
        .header(COOKIE, cookie)
        .form(form)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn csrf_of(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token");
    let rest = &html[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

#[tokio::test]
async fn only_moderators_sign_in_to_the_dashboard() {
    for engine in engines() {
        let instance = Instance::start(engine, &[]).await;
        instance.create_account("member", Role::Member, false).await;
        instance
            .create_account("moderator", Role::Moderator, false)
            .await;
        let (status, _) = page(&instance, "", "/admin/reports").await;
        assert_eq!(status, 303, "no session: to the sign-in page");
        let (status, _) = page(&instance, "cohort_dashboard=forged", "/admin/reports").await;
        assert_eq!(status, 303, "an unknown session: to the sign-in page");
        let tokens = count(&instance, "SELECT COUNT(*) FROM oauth_tokens").await;

        let (status, body) = sign_in(&instance, "member", PASSWORD).await.unwrap_err();
        assert_eq!(status, 422);
        assert!(body.contains("not a moderator"), "{body}");
        let (status, body) = sign_in(&instance, "moderator", "wrong").await.unwrap_err();
        assert_eq!(status, 422);
        assert!(
            body.contains("Invalid email, username or password"),
            "{body}"
        );
        assert_eq!(
            count(&instance, "SELECT COUNT(*) FROM oauth_tokens").await,
            tokens,
            "no session was made"
        );

        let cookie = sign_in(&instance, "moderator", PASSWORD).await.unwrap();
        let (status, body) = page(&instance, &cookie, "/admin/reports").await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("No report matches."), "{body}");

        // Signing out needs the form's token, and ends the session.
        let (status, _) = submit(&instance, &cookie, "/admin/logout", &[]).await;
        assert_eq!(status, 403);
        let (_, body) = page(&instance, &cookie, "/admin/reports").await;
        let csrf = csrf_of(&body);
        let (status, _) = submit(
            &instance,
            &cookie,
            "/admin/logout",
            &[("csrf", csrf.as_str())],
        )
        .await;
        assert_eq!(status, 303);
        let (status, _) = page(&instance, &cookie, "/admin/reports").await;
        assert_eq!(status, 303, "the session's token is revoked");
        instance.stop().await;
    }
}

#[tokio::test]
async fn a_moderator_resolves_a_report_on_the_dashboard_and_forms_need_the_session_token() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        let alice = instance.create_account("alice", Role::Member, false).await;
        instance.create_account("bob", Role::Member, false).await;
        instance
            .create_account("moderator", Role::Moderator, false)
            .await;
        let alice_token = instance.sign_in("alice", "read write").await;
        let bob_token = instance.sign_in("bob", "read write").await;
        let (_, post) = instance
            .post(
                "/api/v1/statuses",
                Some(&alice_token),
                &[
                    ("status", "Stop your insulin, try my tea"),
                    ("visibility", "public"),
                ],
            )
            .await;
        let alice_id = alice.to_string();
        let (status, report) = instance
            .post(
                "/api/v1/reports",
                Some(&bob_token),
                &[
                    ("account_id", alice_id.as_str()),
                    ("status_ids[]", post["id"].as_str().unwrap()),
                    ("category", "misinformation"),
                ],
            )
            .await;
        assert_eq!(status, 200, "{report}");
        let report_id = report["id"].as_str().unwrap().to_owned();

        let cookie = sign_in(&instance, "moderator", PASSWORD).await.unwrap();
        let (_, queue) = page(
            &instance,
            &cookie,
            "/admin/reports?category=misinformation&origin=local",
        )
        .await;
        assert!(
            queue.contains(&format!("id=\"report-{report_id}\"")),
            "{queue}"
        );
        let (_, other) = page(&instance, &cookie, "/admin/reports?category=spam").await;
        assert!(
            !other.contains(&format!("report-{report_id}")),
            "filtered out"
        );
        let (status, detail) =
            page(&instance, &cookie, &format!("/admin/reports/{report_id}")).await;
        assert_eq!(status, 200, "{detail}");
        assert!(detail.contains("Stop your insulin"), "{detail}");
        let csrf = csrf_of(&detail);

        // Without the session's token (a forged cross-site form): refused, nothing done.
        let action = format!("/admin/reports/{report_id}/action");
        for forged in ["", "0000"] {
            let (status, _) = submit(
                &instance,
                &cookie,
                &action,
                &[("csrf", forged), ("type", "suspend")],
            )
            .await;
            assert_eq!(status, 403);
        }
        assert_eq!(
            count(&instance, "SELECT COUNT(*) FROM account_strikes").await,
            0
        );
        assert_eq!(
            count(
                &instance,
                "SELECT COUNT(*) FROM accounts WHERE suspended_at IS NOT NULL"
            )
            .await,
            0
        );
        // An unknown action is the API's refusal, shown as a page; nothing done.
        let (status, body) = submit(
            &instance,
            &cookie,
            &action,
            &[("csrf", csrf.as_str()), ("type", "ban")],
        )
        .await;
        assert_eq!(status, 422);
        assert!(body.contains("unknown action type"), "{body}");
        assert_eq!(
            count(&instance, "SELECT COUNT(*) FROM account_strikes").await,
            0
        );

        let (status, _) = submit(
            &instance,
            &cookie,
            &action,
            &[
                ("csrf", csrf.as_str()),
                ("type", "silence"),
                ("warning_text", "Please do not advise stopping medication."),
                ("resolution_note", "Thank you."),
            ],
        )
        .await;
        assert_eq!(status, 303);
        let (_, detail) = page(&instance, &cookie, &format!("/admin/reports/{report_id}")).await;
        assert!(detail.contains("id=\"report-state\">resolved<"), "{detail}");
        let moderator = instance.sign_in("moderator", ADMIN_SCOPES).await;
        let (_, shown) = instance
            .get(
                &format!("/api/v1/admin/accounts/{alice_id}"),
                Some(&moderator),
            )
            .await;
        assert_eq!(shown["silenced"], true);
        let (_, strikes) = instance
            .get("/api/v1/cohort/strikes", Some(&alice_token))
            .await;
        assert_eq!(strikes[0]["action"], "silence");

        // A blocklist draft is applied from its page.
        let (_, draft) = instance
            .post(
                "/api/v1/admin/cohort/domain_blocks/imports",
                Some(&moderator),
                &[("data", "a.example\nb.example\nnot a domain\n")],
            )
            .await;
        let import = format!(
            "/admin/domain_blocks/imports/{}",
            draft["id"].as_str().unwrap()
        );
        let (status, review) = page(&instance, &cookie, &import).await;
        assert_eq!(status, 200);
        assert!(
            review.contains("2 row(s) will apply") && review.contains("1 line(s) cannot apply"),
            "{review}"
        );
        let (status, _) = submit(
            &instance,
            &cookie,
            &format!("{import}/confirm"),
            &[("csrf", csrf.as_str())],
        )
        .await;
        assert_eq!(status, 303);
        assert_eq!(
            count(&instance, "SELECT COUNT(*) FROM domain_policies").await,
            2
        );
        let (_, blocks) = page(&instance, &cookie, "/admin/domain_blocks").await;
        assert!(
            blocks.contains("a.example") && blocks.contains("b.example"),
            "{blocks}"
        );
        let (_, log) = page(&instance, &cookie, "/admin/mod_log").await;
        assert!(
            log.contains("import_domain_block") && log.contains("silence"),
            "{log}"
        );
        instance.stop().await;
    }
}
