//! What an account says of itself and chooses for its posts (issue 5): profile fields,
//! discovery flags, hidden follower lists and posting defaults, through
//! `update_credentials`, `verify_credentials`, `/api/v1/preferences` and new posts; and what
//! another instance learns of them from the actor document.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use cohort_model::Role;
use cohort_tests::harness::{Instance, engines, settle};

#[tokio::test]
async fn profile_fields_flags_and_posting_defaults_are_kept_and_used() {
    for engine in engines() {
        let mut alpha = Instance::start(engine, &[]).await;
        alpha.create_account("pat", Role::Member, false).await;
        alpha.create_account("kim", Role::Member, false).await;
        let pat = alpha.sign_in("pat", "read write follow").await;
        let kim = alpha.sign_in("kim", "read write follow").await;

        // Mastodon.py's spelling: indexed fields_attributes and source[...] in a form; the
        // empty rows a form sends are dropped.
        let (status, me) = alpha
            .patch(
                "/api/v1/accounts/update_credentials",
                Some(&pat),
                &[
                    ("fields_attributes[0][name]", "Pronouns"),
                    ("fields_attributes[0][value]", "they/them"),
                    ("fields_attributes[1][name]", "Blog"),
                    ("fields_attributes[1][value]", "https://pat.example/<b>"),
                    ("fields_attributes[2][name]", ""),
                    ("fields_attributes[2][value]", ""),
                    ("discoverable", "true"),
                    ("indexable", "true"),
                    ("hide_collections", "true"),
                    ("source[privacy]", "unlisted"),
                    ("source[sensitive]", "true"),
                    ("source[language]", "fr"),
                    ("note", "Living with <T1D>\n\nsince 2009"),
                ],
            )
            .await;
        assert_eq!(status, 200, "{me}");
        assert_eq!(me["discoverable"], true);
        assert_eq!(me["indexable"], true);
        assert_eq!(me["noindex"], false);
        assert_eq!(me["hide_collections"], true);
        assert_eq!(
            me["note"],
            "<p>Living with &lt;T1D&gt;</p><p>since 2009</p>"
        );
        let fields = me["fields"].as_array().unwrap();
        assert_eq!(fields.len(), 2, "{me}");
        assert_eq!(fields[0]["name"], "Pronouns");
        assert_eq!(fields[0]["value"], "they/them");
        let blog = fields[1]["value"].as_str().unwrap();
        assert!(blog.starts_with("<a href=\"https://pat.example/"), "{blog}");
        assert!(!blog.contains("<b>"), "field values are escaped: {blog}");
        assert_eq!(me["source"]["privacy"], "unlisted");
        assert_eq!(me["source"]["sensitive"], true);
        assert_eq!(me["source"]["language"], "fr");
        assert_eq!(
            me["source"]["fields"][1]["value"],
            "https://pat.example/<b>"
        );
        assert_eq!(me["source"]["note"], "Living with <T1D>\n\nsince 2009");

        let (_, verified) = alpha
            .get("/api/v1/accounts/verify_credentials", Some(&pat))
            .await;
        assert_eq!(verified["source"], me["source"]);
        let (status, preferences) = alpha.get("/api/v1/preferences", Some(&pat)).await;
        assert_eq!(status, 200);
        assert_eq!(preferences["posting:default:visibility"], "unlisted");
        assert_eq!(preferences["posting:default:sensitive"], true);
        assert_eq!(preferences["posting:default:language"], "fr");

        // A post that names nothing gets the defaults; one that names them keeps its own.
        let (status, post) = alpha
            .post("/api/v1/statuses", Some(&pat), &[("status", "bonjour")])
            .await;
        assert_eq!(status, 200, "{post}");
        assert_eq!(post["visibility"], "unlisted");
        assert_eq!(post["sensitive"], true);
        assert_eq!(post["language"], "fr");
        let (_, explicit) = alpha
            .post(
                "/api/v1/statuses",
                Some(&pat),
                &[
                    ("status", "hello"),
                    ("visibility", "public"),
                    ("language", "en"),
                    ("sensitive", "false"),
                ],
            )
            .await;
        assert_eq!(explicit["visibility"], "public");
        assert_eq!(explicit["language"], "en");
        assert_eq!(explicit["sensitive"], false);

        // Others see the profile, but not whom pat follows or who follows pat.
        let pat_id = me["id"].as_str().unwrap();
        let kim_id = alpha
            .get("/api/v1/accounts/verify_credentials", Some(&kim))
            .await
            .1["id"]
            .as_str()
            .unwrap()
            .to_owned();
        alpha
            .post(
                &format!("/api/v1/accounts/{pat_id}/follow"),
                Some(&kim),
                &[],
            )
            .await;
        let (_, seen_by_kim) = alpha
            .get(&format!("/api/v1/accounts/{pat_id}"), Some(&kim))
            .await;
        assert_eq!(seen_by_kim["fields"], me["fields"]);
        assert!(
            seen_by_kim.get("source").is_none(),
            "source is for the owner"
        );
        let (status, followers) = alpha
            .get(&format!("/api/v1/accounts/{pat_id}/followers"), Some(&kim))
            .await;
        assert_eq!(status, 200);
        assert_eq!(followers, serde_json::json!([]), "hidden from others");
        let (_, own_view) = alpha
            .get(&format!("/api/v1/accounts/{pat_id}/followers"), Some(&pat))
            .await;
        assert_eq!(own_view[0]["id"], kim_id.as_str(), "the owner sees them");

        // JSON clients nest the same parameters.
        let response = alpha
            .http
            .patch(alpha.url("/api/v1/accounts/update_credentials"))
            .bearer_auth(&pat)
            .json(&serde_json::json!({
                "source": {"privacy": "private", "language": ""},
                "fields_attributes": [{"name": "Clinic", "value": "North"}],
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["source"]["privacy"], "private");
        assert_eq!(body["source"]["language"], serde_json::Value::Null);
        assert_eq!(body["fields"].as_array().unwrap().len(), 1);
        alpha.stop().await;
    }
}

/// A form, the status it must get, and a word its error must contain.
type BadUpdate<'a> = (Vec<(&'a str, &'a str)>, u16, &'a str);

#[tokio::test]
async fn bad_profile_updates_are_refused_and_change_nothing() {
    for engine in engines() {
        let mut alpha = Instance::start(engine, &[]).await;
        alpha.create_account("pat", Role::Member, false).await;
        let pat = alpha.sign_in("pat", "read write").await;
        let (_, before) = alpha
            .get("/api/v1/accounts/verify_credentials", Some(&pat))
            .await;
        let long = "x".repeat(256);
        let cases: Vec<BadUpdate> = vec![
            (
                vec![
                    ("display_name", "Changed"),
                    ("fields_attributes[0][name]", "a"),
                    ("fields_attributes[1][name]", "b"),
                    ("fields_attributes[2][name]", "c"),
                    ("fields_attributes[3][name]", "d"),
                    ("fields_attributes[4][name]", "e"),
                ],
                422,
                "at most 4",
            ),
            (
                vec![
                    ("display_name", "Changed"),
                    ("fields_attributes[0][name]", "a"),
                    ("fields_attributes[0][value]", long.as_str()),
                ],
                422,
                "at most 255",
            ),
            (
                vec![("display_name", "Changed"), ("source[privacy]", "direct")],
                422,
                "source[privacy]",
            ),
            (
                vec![("display_name", "Changed"), ("source[language]", "english")],
                422,
                "source[language]",
            ),
            (
                vec![("display_name", "Changed"), ("source[sensitive]", "maybe")],
                400,
                "sensitive",
            ),
            (
                vec![("display_name", "Changed"), ("discoverable", "perhaps")],
                400,
                "discoverable",
            ),
        ];
        for (form, expected, needle) in cases {
            let (status, body) = alpha
                .patch("/api/v1/accounts/update_credentials", Some(&pat), &form)
                .await;
            assert_eq!(status, expected, "{form:?}: {body}");
            assert!(
                body["error"].as_str().unwrap().contains(needle),
                "{form:?}: {body}"
            );
            let (_, after) = alpha
                .get("/api/v1/accounts/verify_credentials", Some(&pat))
                .await;
            assert_eq!(after, before, "nothing changed after {form:?}");
        }
        // A token without write:accounts may not edit the profile.
        let reader = alpha.sign_in("pat", "read").await;
        let (status, body) = alpha
            .patch(
                "/api/v1/accounts/update_credentials",
                Some(&reader),
                &[("discoverable", "true")],
            )
            .await;
        assert_eq!(status, 403, "{body}");
        alpha.stop().await;
    }
}

#[tokio::test]
async fn another_instance_sees_the_bio_fields_and_flags_from_the_actor() {
    for engine in engines() {
        let mut alpha = Instance::start_named(engine, "alpha", &[]).await;
        let mut beta = Instance::start_named(engine, "beta", &[]).await;
        alpha.create_account("pat", Role::Member, false).await;
        beta.create_account("bob", Role::Member, false).await;
        let pat = alpha.sign_in("pat", "read write").await;
        let bob = beta.sign_in("bob", "read").await;
        let (status, _) = alpha
            .patch(
                "/api/v1/accounts/update_credentials",
                Some(&pat),
                &[
                    ("note", "Caregiver <3"),
                    ("fields_attributes[0][name]", "Site"),
                    ("fields_attributes[0][value]", "https://pat.example"),
                    ("discoverable", "true"),
                    ("locked", "true"),
                ],
            )
            .await;
        assert_eq!(status, 200);

        // The actor document carries them in Mastodon's shape.
        let actor: serde_json::Value = alpha
            .http
            .get(alpha.url("/users/pat"))
            .header("Accept", "application/activity+json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(actor["summary"], "<p>Caregiver &lt;3</p>");
        assert_eq!(actor["attachment"][0]["type"], "PropertyValue");
        assert_eq!(actor["attachment"][0]["name"], "Site");
        assert!(
            actor["attachment"][0]["value"]
                .as_str()
                .unwrap()
                .contains("rel=\"nofollow noopener noreferrer me\"")
        );
        assert_eq!(actor["discoverable"], true);
        assert_eq!(actor["manuallyApprovesFollowers"], true);

        // Beta resolves pat and shows the same profile to its users.
        let (status, remote) = beta
            .get(
                &format!("/api/v1/accounts/lookup?acct=pat@{}", alpha.domain),
                Some(&bob),
            )
            .await;
        assert_eq!(status, 200, "{remote}");
        settle(&[&alpha, &beta]).await;
        let (_, remote) = beta
            .get(
                &format!("/api/v1/accounts/{}", remote["id"].as_str().unwrap()),
                Some(&bob),
            )
            .await;
        assert_eq!(remote["note"], "<p>Caregiver &lt;3</p>");
        assert_eq!(remote["fields"][0]["name"], "Site");
        assert!(
            remote["fields"][0]["value"]
                .as_str()
                .unwrap()
                .contains("href=\"https://pat.example\"")
        );
        assert_eq!(remote["locked"], true);
        assert_eq!(remote["discoverable"], true);
        alpha.stop().await;
        beta.stop().await;
    }
}

#[tokio::test]
async fn follower_lists_page_by_follow_with_link_headers() {
    for engine in engines() {
        let mut alpha = Instance::start(engine, &[]).await;
        let pat_id = alpha.create_account("pat", Role::Member, false).await;
        let mut followers = Vec::new();
        for name in ["ann", "ben", "cid"] {
            let id = alpha.create_account(name, Role::Member, false).await;
            let token = alpha.sign_in(name, "read write follow").await;
            let (status, _) = alpha
                .post(
                    &format!("/api/v1/accounts/{pat_id}/follow"),
                    Some(&token),
                    &[],
                )
                .await;
            assert_eq!(status, 200);
            followers.push(id.to_string());
        }
        let get = |url: String| {
            let request = alpha.http.get(url);
            async move {
                let response = request.send().await.unwrap();
                let link = response
                    .headers()
                    .get("link")
                    .map(|v| v.to_str().unwrap().to_owned());
                let body: serde_json::Value = response.json().await.unwrap();
                let ids: Vec<String> = body
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a["id"].as_str().unwrap().to_owned())
                    .collect();
                (ids, link)
            }
        };
        let link_to = |link: &str, rel: &str| -> String {
            link.split(", ")
                .find(|part| part.ends_with(&format!("rel=\"{rel}\"")))
                .unwrap()
                .split(['<', '>'])
                .nth(1)
                .unwrap()
                .to_owned()
        };
        // Newest follow first: cid, ben, then ann on the next page.
        let (first, link) =
            get(alpha.url(&format!("/api/v1/accounts/{pat_id}/followers?limit=2"))).await;
        assert_eq!(first, vec![followers[2].clone(), followers[1].clone()]);
        let link = link.expect("a Link header");
        let (second, _) = get(link_to(&link, "next")).await;
        assert_eq!(second, vec![followers[0].clone()]);
        let (none_newer, _) = get(link_to(&link, "prev")).await;
        assert!(none_newer.is_empty(), "nothing above the newest follow");
        // The other direction, and a bad cursor.
        let (following, _) =
            get(alpha.url(&format!("/api/v1/accounts/{}/following", followers[0]))).await;
        assert_eq!(following, vec![pat_id.to_string()]);
        let (status, body) = alpha
            .get(
                &format!("/api/v1/accounts/{pat_id}/followers?max_id=abc"),
                None,
            )
            .await;
        assert_eq!(status, 400, "{body}");
        alpha.stop().await;
    }
}
