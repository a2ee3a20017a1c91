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
