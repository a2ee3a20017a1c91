//! Blocklist CSV import and export over real HTTP: an upload becomes a draft that lists each
//! bad line and changes nothing; confirming applies every valid row at once; the export is
//! Mastodon's format. Bad input is refused with nothing stored or applied.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use cohort_model::Role;
use cohort_tests::harness::{Instance, engines};

const ADMIN_SCOPES: &str = "read write admin:read admin:write";

async fn count(instance: &Instance, sql: &'static str) -> i64 {
    instance.store().scalar_i64_for_tests(sql).await.unwrap()
}

const IMPORTS: &str = "/api/v1/admin/cohort/domain_blocks/imports";

#[tokio::test]
async fn an_uploaded_blocklist_is_a_draft_listing_bad_lines_and_applies_only_when_confirmed() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        instance
            .create_account("moderator", Role::Moderator, false)
            .await;
        let moderator = instance.sign_in("moderator", ADMIN_SCOPES).await;
        let own = instance.domain.clone();
        let csv = format!(
            "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n\
             spam-one.example,suspend,true,true,\"Spam, harassment\",false\n\
             spam-two.example,suspend,false,false,,false\n\
             ex**ple.com,suspend,false,false,,false\n\
             spam-three.example,suspend,false,true,,true\n\
             {own},suspend,false,false,,false\n\
             loud.example,shout,false,false,,false\n"
        );
        let (status, draft) = instance
            .post(IMPORTS, Some(&moderator), &[("data", csv.as_str())])
            .await;
        assert_eq!(status, 200, "{draft}");
        assert_eq!(draft["state"], "draft");
        let domains: Vec<&str> = draft["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["domain"].as_str().unwrap())
            .collect();
        assert_eq!(
            domains,
            vec!["spam-one.example", "spam-two.example", "spam-three.example"]
        );
        let errors = draft["errors"].as_array().unwrap();
        let lines: Vec<u64> = errors.iter().map(|e| e["line"].as_u64().unwrap()).collect();
        assert_eq!(lines, vec![4, 6, 7], "{draft}");
        assert!(errors[1]["message"].as_str().unwrap().contains("itself"));
        assert!(
            errors[2]["message"]
                .as_str()
                .unwrap()
                .contains("unknown severity")
        );
        // Nothing applied yet.
        let (_, blocks) = instance
            .get("/api/v1/admin/domain_blocks", Some(&moderator))
            .await;
        assert_eq!(blocks.as_array().unwrap().len(), 0, "{blocks}");

        let id = draft["id"].as_str().unwrap().to_owned();
        let (status, applied) = instance
            .post(&format!("{IMPORTS}/{id}/confirm"), Some(&moderator), &[])
            .await;
        assert_eq!(status, 200, "{applied}");
        assert_eq!(applied["state"], "applied");
        assert_eq!(applied["applied"]["blocks"], 3);
        let (_, blocks) = instance
            .get("/api/v1/admin/domain_blocks", Some(&moderator))
            .await;
        let blocks = blocks.as_array().unwrap();
        assert_eq!(blocks.len(), 3, "{blocks:?}");
        assert!(blocks.iter().all(|b| b["severity"] == "suspend"));
        let one = blocks
            .iter()
            .find(|b| b["domain"] == "spam-one.example")
            .unwrap();
        assert_eq!(one["public_comment"], "Spam, harassment");
        assert_eq!(one["reject_media"], true);

        // Applied once.
        let logged = count(&instance, "SELECT COUNT(*) FROM mod_log").await;
        let (status, body) = instance
            .post(&format!("{IMPORTS}/{id}/confirm"), Some(&moderator), &[])
            .await;
        assert_eq!(status, 422, "{body}");
        assert!(body["error"].as_str().unwrap().contains("decided already"));
        assert_eq!(
            count(&instance, "SELECT COUNT(*) FROM mod_log").await,
            logged
        );

        // The export is Mastodon's format and reads back as the same blocks.
        let response = reqwest::Client::new()
            .get(instance.url("/api/v1/admin/cohort/domain_blocks/export"))
            .bearer_auth(&moderator)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/csv")
        );
        let exported = response.text().await.unwrap();
        assert!(
            exported.starts_with(
                "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n"
            ),
            "{exported}"
        );
        assert!(exported.contains("spam-one.example,suspend,true,true,\"Spam, harassment\",false"));
        assert_eq!(exported.lines().count(), 4, "{exported}");
        instance.stop().await;
    }
}

#[tokio::test]
async fn bad_blocklist_uploads_are_refused_and_nothing_is_applied() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        instance
            .create_account("moderator", Role::Moderator, false)
            .await;
        instance.create_account("member", Role::Member, false).await;
        let moderator = instance.sign_in("moderator", ADMIN_SCOPES).await;

        let (status, body) = instance.post(IMPORTS, Some(&moderator), &[]).await;
        assert_eq!(status, 422, "{body}");
        assert!(body["error"].as_str().unwrap().contains("data is missing"));
        let long = "c".repeat(1001);
        let (status, body) = instance
            .post(
                IMPORTS,
                Some(&moderator),
                &[("data", "a.example\n"), ("private_comment", long.as_str())],
            )
            .await;
        assert_eq!(status, 422, "{body}");
        assert!(body["error"].as_str().unwrap().contains("private_comment"));
        assert_eq!(
            count(&instance, "SELECT COUNT(*) FROM domain_block_imports").await,
            0
        );

        // A list with only bad lines is a draft to read, but there is nothing to confirm.
        let (status, draft) = instance
            .post(
                IMPORTS,
                Some(&moderator),
                &[(
                    "data",
                    "#domain,#severity\nnot a domain,suspend\n*.example,suspend\n",
                )],
            )
            .await;
        assert_eq!(status, 200, "{draft}");
        assert_eq!(draft["rows"].as_array().unwrap().len(), 0);
        assert_eq!(draft["errors"].as_array().unwrap().len(), 2);
        let id = draft["id"].as_str().unwrap().to_owned();
        let (status, body) = instance
            .post(&format!("{IMPORTS}/{id}/confirm"), Some(&moderator), &[])
            .await;
        assert_eq!(status, 422, "{body}");
        assert!(body["error"].as_str().unwrap().contains("no valid row"));
        let (status, body) = instance
            .post(&format!("{IMPORTS}/12345/confirm"), Some(&moderator), &[])
            .await;
        assert_eq!(status, 404, "{body}");
        assert_eq!(body["error"], "Record not found");

        // Members cannot import.
        let member = instance.sign_in("member", ADMIN_SCOPES).await;
        let (status, _) = instance
            .post(IMPORTS, Some(&member), &[("data", "a.example\n")])
            .await;
        assert_eq!(status, 403);
        assert_eq!(
            count(&instance, "SELECT COUNT(*) FROM domain_policies").await,
            0
        );
        assert_eq!(
            count(&instance, "SELECT COUNT(*) FROM domain_block_imports").await,
            1
        );
        instance.stop().await;
    }
}

const SUBSCRIPTIONS: &str = "/api/v1/admin/blocklist_subscriptions";

/// A tiny web server publishing a blocklist that the test can change; returns its URL.
async fn serve_list(list: std::sync::Arc<std::sync::Mutex<String>>) -> String {
    let app = axum::Router::new().route(
        "/blocklist.csv",
        axum::routing::get(move || {
            let list = list.clone();
            async move { list.lock().unwrap().clone() }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    format!("http://lists.localhost:{port}/blocklist.csv")
}

fn domains_of(list: &serde_json::Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().or_else(|| r["domain"].as_str()).unwrap())
        .collect()
}

const HEADER: &str = "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n";

#[tokio::test]
async fn a_subscribed_blocklist_is_fetched_into_drafts_with_excludes_and_retractions() {
    for engine in engines() {
        let mut instance = Instance::start_named(engine, "alpha", &[]).await;
        instance
            .create_account("moderator", Role::Moderator, false)
            .await;
        let moderator = instance.sign_in("moderator", ADMIN_SCOPES).await;
        // A block made by hand, which no subscription may replace or lift.
        let (status, body) = instance
            .post(
                "/api/v1/admin/domain_blocks",
                Some(&moderator),
                &[("domain", "handmade.example"), ("severity", "suspend")],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let list = std::sync::Arc::new(std::sync::Mutex::new(format!(
            "{HEADER}spam-one.example,suspend,false,false,,false\n\
             spam-two.example,suspend,false,false,,false\n\
             excluded.example,suspend,false,false,,false\n\
             handmade.example,silence,false,false,,false\n"
        )));
        let url = serve_list(list.clone()).await;

        // Bad input: refused, nothing stored.
        for (name, form) in [
            (
                "not https",
                vec![("url", "ftp://lists.example/blocklist.csv")],
            ),
            (
                "an IP literal",
                vec![("url", "http://127.0.0.1:9/blocklist.csv")],
            ),
            ("nothing", vec![]),
            (
                "both",
                vec![("url", url.as_str()), ("data", "spam.example\n")],
            ),
            (
                "a bad exclude",
                vec![("url", url.as_str()), ("excludes[]", "not a domain")],
            ),
        ] {
            let (status, body) = instance.post(SUBSCRIPTIONS, Some(&moderator), &form).await;
            assert_eq!(status, 422, "{name}: {body}");
        }
        assert_eq!(
            count(&instance, "SELECT COUNT(*) FROM blocklist_subscriptions").await,
            0
        );

        // Subscribing fetches the list at once into a draft; nothing applies yet.
        let (status, sub) = instance
            .post(
                SUBSCRIPTIONS,
                Some(&moderator),
                &[
                    ("url", url.as_str()),
                    ("excludes[]", "excluded.example"),
                    ("private_comment", "the shared health-fediverse list"),
                ],
            )
            .await;
        assert_eq!(status, 200, "{sub}");
        assert_eq!(sub["last_error"], serde_json::Value::Null, "{sub}");
        assert_eq!(
            domains_of(&sub["draft"]["rows"]),
            vec!["spam-one.example", "spam-two.example"],
            "{engine:?}: excluded and hand-made domains are left out"
        );
        assert_eq!(
            count(&instance, "SELECT COUNT(*) FROM domain_policies").await,
            1
        );
        let draft = sub["draft"]["id"].as_str().unwrap().to_owned();
        let (status, applied) = instance
            .post(&format!("{IMPORTS}/{draft}/confirm"), Some(&moderator), &[])
            .await;
        assert_eq!(status, 200, "{applied}");
        assert_eq!(applied["applied"]["blocks"], 2);

        // The list changes: spam-two and the hand-made domain disappear, spam-three appears.
        *list.lock().unwrap() = format!(
            "{HEADER}spam-one.example,suspend,false,false,,false\n\
             spam-three.example,silence,false,false,,false\n"
        );
        let id = sub["id"].as_str().unwrap().to_owned();
        let (status, again) = instance
            .post(
                &format!("{SUBSCRIPTIONS}/{id}/refresh"),
                Some(&moderator),
                &[],
            )
            .await;
        assert_eq!(status, 200, "{again}");
        assert_eq!(
            domains_of(&again["draft"]["rows"]),
            vec!["spam-three.example"]
        );
        assert_eq!(
            domains_of(&again["draft"]["removals"]),
            vec!["spam-two.example"],
            "{engine:?}: only what came from the subscription is retracted"
        );
        let draft = again["draft"]["id"].as_str().unwrap().to_owned();
        let (status, applied) = instance
            .post(&format!("{IMPORTS}/{draft}/confirm"), Some(&moderator), &[])
            .await;
        assert_eq!(status, 200, "{applied}");
        assert_eq!(applied["applied"]["removed"], 1);
        let (_, blocks) = instance
            .get("/api/v1/admin/domain_blocks", Some(&moderator))
            .await;
        let mut blocked: Vec<&str> = blocks
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["domain"].as_str().unwrap())
            .collect();
        blocked.sort_unstable();
        assert_eq!(
            blocked,
            vec!["handmade.example", "spam-one.example", "spam-three.example"]
        );
        // Nothing changed since: no draft.
        let (_, same) = instance
            .post(
                &format!("{SUBSCRIPTIONS}/{id}/refresh"),
                Some(&moderator),
                &[],
            )
            .await;
        assert_eq!(same["draft"], serde_json::Value::Null, "{same}");

        // An uploaded list with auto_apply applies at once.
        let data = format!("{HEADER}auto.example,suspend,false,false,,false\n");
        let (status, auto) = instance
            .post(
                SUBSCRIPTIONS,
                Some(&moderator),
                &[("data", data.as_str()), ("auto_apply", "true")],
            )
            .await;
        assert_eq!(status, 200, "{auto}");
        assert_eq!(auto["applied"]["blocks"], 1, "{auto}");
        assert_eq!(auto["draft"]["state"], "applied");
        let (_, subs) = instance.get(SUBSCRIPTIONS, Some(&moderator)).await;
        assert_eq!(subs.as_array().unwrap().len(), 2);

        // Ending a subscription keeps its blocks.
        let (status, _) = instance
            .delete(&format!("{SUBSCRIPTIONS}/{id}"), Some(&moderator))
            .await;
        assert_eq!(status, 200);
        let (status, _) = instance
            .get(&format!("{SUBSCRIPTIONS}/{id}"), Some(&moderator))
            .await;
        assert_eq!(status, 404);
        assert_eq!(
            count(&instance, "SELECT COUNT(*) FROM domain_policies").await,
            4
        );
        instance.stop().await;
    }
}
