//! The Mastodon client API over real HTTP, on SQLite and PostgreSQL: sign-in, posting,
//! reading, and every handled bad input (right status, Mastodon's error JSON, nothing
//! written).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use cohort_model::{Domain, Role};
use cohort_store::{FollowState, NewRemoteAccount, OutboxKind};
use cohort_tests::harness::{Instance, PASSWORD, engines};
use serde_json::Value;

async fn status_count(instance: &Instance) -> i64 {
    instance
        .store()
        .scalar_i64_for_tests("SELECT COUNT(*) FROM statuses")
        .await
        .unwrap()
}

/// A refused status: (case name, form, expected status).
type BadStatus<'a> = (&'a str, Vec<(&'a str, &'a str)>, u16);

fn error_of(body: &Value) -> &str {
    body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no Mastodon error JSON: {body}"))
}

#[tokio::test]
async fn the_authorization_code_flow_works_like_a_browser_and_refuses_what_it_must() {
    for engine in engines() {
        let instance = Instance::start(engine, &[]).await;
        instance.create_account("pat", Role::Member, false).await;
        let redirect = "cohortapp://oauth";
        let (status, app) = instance
            .post(
                "/api/v1/apps",
                None,
                &[
                    ("client_name", "Test app"),
                    ("redirect_uris", redirect),
                    ("scopes", "read write follow"),
                ],
            )
            .await;
        assert_eq!(status, 200, "{app}");
        let client_id = app["client_id"].as_str().unwrap().to_owned();
        let client_secret = app["client_secret"].as_str().unwrap().to_owned();
        assert_eq!(app["redirect_uri"], redirect);

        // The form renders without JavaScript.
        let page = instance
            .http
            .get(instance.url(&format!(
                "/oauth/authorize/?response_type=code&client_id={client_id}&redirect_uri={redirect}&scope=read+write&state=xyz"
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(
            html.contains("<form method=\"post\" action=\"/oauth/authorize\">"),
            "{html}"
        );

        // An unregistered redirect URI is refused on the page, never redirected to.
        let evil = instance
            .http
            .get(instance.url(&format!(
                "/oauth/authorize?response_type=code&client_id={client_id}&redirect_uri=https://evil.example/cb"
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(evil.status(), 400);
        assert!(evil.headers().get("location").is_none());

        // PKCE S256: verifier "abc...", challenge = BASE64URL(SHA256(verifier)).
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        let submit = |password: &'static str| {
            instance
                .http
                .post(instance.url("/oauth/authorize"))
                .form(&[
                    ("client_id", client_id.as_str()),
                    ("redirect_uri", redirect),
                    ("scope", "read write"),
                    ("state", "xyz"),
                    ("response_type", "code"),
                    ("code_challenge", challenge),
                    ("code_challenge_method", "S256"),
                    ("username", "pat@example.org"),
                    ("password", password),
                ])
                .send()
        };
        let wrong = submit("wrong password").await.unwrap();
        assert_eq!(wrong.status(), 422);
        assert!(
            wrong
                .text()
                .await
                .unwrap()
                .contains("Invalid email, username or password")
        );

        let ok = submit(PASSWORD).await.unwrap();
        assert_eq!(ok.status(), 303, "a redirect to the app");
        let location = url::Url::parse(ok.headers()["location"].to_str().unwrap()).unwrap();
        assert_eq!(location.scheme(), "cohortapp");
        let params: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
        assert_eq!(params["state"], "xyz");
        let code = params["code"].clone();

        let exchange = |verifier: &'static str| {
            instance
                .http
                .post(instance.url("/oauth/token"))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("client_id", client_id.as_str()),
                    ("client_secret", client_secret.as_str()),
                    ("redirect_uri", redirect),
                    ("code_verifier", verifier),
                ])
                .send()
        };
        // A PKCE mismatch fails without burning the code... (the code is single-use: the
        // first redemption attempt consumes it; a mismatch therefore ends the code, as RFC
        // 7636 allows).
        let mismatch = exchange("not-the-verifier-not-the-verifier-not-the-v")
            .await
            .unwrap();
        assert_eq!(mismatch.status(), 400);
        let body: Value = mismatch.json().await.unwrap();
        assert_eq!(body["error"], "invalid_grant");

        // A fresh code, redeemed correctly.
        let ok = submit(PASSWORD).await.unwrap();
        let location = url::Url::parse(ok.headers()["location"].to_str().unwrap()).unwrap();
        let code2 = location
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned();
        let redeem = || {
            instance
                .http
                .post(instance.url("/oauth/token"))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", code2.as_str()),
                    ("client_id", client_id.as_str()),
                    ("client_secret", client_secret.as_str()),
                    ("redirect_uri", redirect),
                    ("code_verifier", verifier),
                ])
                .send()
        };
        let token: Value = redeem().await.unwrap().json().await.unwrap();
        let access = token["access_token"].as_str().unwrap().to_owned();
        assert_eq!(token["scope"], "read write");
        assert!(token["created_at"].is_i64());
        let (status, me) = instance
            .get("/api/v1/accounts/verify_credentials", Some(&access))
            .await;
        assert_eq!(status, 200, "{me}");
        assert_eq!(me["username"], "pat");
        assert!(me["source"].is_object() && me["role"].is_object());

        // A replayed code fails and revokes what it produced.
        let replay = redeem().await.unwrap();
        assert_eq!(replay.status(), 400);
        let (status, body) = instance
            .get("/api/v1/accounts/verify_credentials", Some(&access))
            .await;
        assert_eq!(status, 401, "{body}");

        // Wrong client secret.
        let (status, body) = instance
            .post(
                "/oauth/token",
                None,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", &client_id),
                    ("client_secret", "nope"),
                ],
            )
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client"))
        );
        // The password grant is off unless configured.
        let (status, body) = instance
            .post(
                "/oauth/token",
                None,
                &[
                    ("grant_type", "password"),
                    ("client_id", &client_id),
                    ("client_secret", &client_secret),
                    ("username", "pat"),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("unsupported_grant_type"))
        );
        instance.stop().await;
    }
}

#[tokio::test]
async fn tokens_are_checked_for_presence_revocation_and_scope() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        instance.create_account("pat", Role::Member, false).await;
        let (status, body) = instance.get("/api/v1/timelines/home", None).await;
        assert_eq!(status, 401);
        error_of(&body);
        let (status, _) = instance
            .get("/api/v1/timelines/home", Some("made-up-token"))
            .await;
        assert_eq!(status, 401);

        let read_only = instance.sign_in("pat", "read").await;
        let before = status_count(&instance).await;
        let (status, body) = instance
            .post("/api/v1/statuses", Some(&read_only), &[("status", "hi")])
            .await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(
            error_of(&body),
            "This action is outside the authorized scopes"
        );
        assert_eq!(status_count(&instance).await, before, "nothing written");

        // Revocation.
        let (status, _) = instance
            .get("/api/v1/timelines/home", Some(&read_only))
            .await;
        assert_eq!(status, 200);
        instance.stop().await;
    }
}

#[tokio::test]
async fn bad_statuses_are_refused_and_nothing_is_stored() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[("COHORT_MAX_STATUS_CHARS", "100")]).await;
        instance.create_account("pat", Role::Member, false).await;
        instance.create_account("sam", Role::Member, false).await;
        let pat = instance.sign_in("pat", "read write follow").await;
        let sam = instance.sign_in("sam", "read write follow").await;
        let (_, secret) = instance
            .post(
                "/api/v1/statuses",
                Some(&sam),
                &[("status", "only my followers"), ("visibility", "private")],
            )
            .await;
        let secret_id = secret["id"].as_str().unwrap().to_owned();
        let before = status_count(&instance).await;

        let long = "x".repeat(101);
        let cases: Vec<BadStatus> = vec![
            ("empty text", vec![("status", "  ")], 422),
            ("over the limit", vec![("status", long.as_str())], 422),
            (
                "unknown visibility",
                vec![("status", "hi"), ("visibility", "secret")],
                422,
            ),
            ("unknown mention", vec![("status", "hi @nobody")], 422),
            (
                "unknown remote mention",
                vec![("status", "hi @bob@elsewhere.example")],
                422,
            ),
            (
                "reply to an invisible post",
                vec![("status", "hi"), ("in_reply_to_id", secret_id.as_str())],
                404,
            ),
            (
                "reply to a missing post",
                vec![("status", "hi"), ("in_reply_to_id", "12345")],
                404,
            ),
            (
                "malformed boolean",
                vec![("status", "hi"), ("sensitive", "perhaps")],
                400,
            ),
            (
                "unknown community",
                vec![
                    ("status", "hi"),
                    ("visibility", "community"),
                    ("community_id", "99"),
                ],
                422,
            ),
        ];
        for (name, form, expected) in cases {
            let (status, body) = instance.post("/api/v1/statuses", Some(&pat), &form).await;
            assert_eq!(status, expected, "{name}: {body}");
            error_of(&body);
        }
        // Malformed JSON.
        let response = instance
            .http
            .post(instance.url("/api/v1/statuses"))
            .bearer_auth(&pat)
            .header("content-type", "application/json")
            .body("{\"status\": ")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        assert!(response.json::<Value>().await.unwrap()["error"].is_string());
        assert_eq!(status_count(&instance).await, before, "nothing was stored");

        // Unknown ids are 404 with the error JSON.
        for path in [
            "/api/v1/statuses/999",
            "/api/v1/statuses/abc",
            "/api/v1/accounts/999",
        ] {
            let (status, body) = instance.get(path, Some(&pat)).await;
            assert_eq!(status, 404, "{path}");
            assert_eq!(error_of(&body), "Record not found");
        }
        instance.stop().await;
    }
}

#[tokio::test]
async fn idempotency_keys_return_the_first_status() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        instance.create_account("pat", Role::Member, false).await;
        let pat = instance.sign_in("pat", "read write").await;
        let post = || {
            instance
                .http
                .post(instance.url("/api/v1/statuses"))
                .bearer_auth(&pat)
                .header("Idempotency-Key", "same-key")
                .json(&serde_json::json!({"status": "once", "visibility": "unlisted"}))
                .send()
        };
        let first: Value = post().await.unwrap().json().await.unwrap();
        let second: Value = post().await.unwrap().json().await.unwrap();
        assert_eq!(first["id"], second["id"]);
        assert_eq!(first["visibility"], "unlisted");
        assert_eq!(status_count(&instance).await, 1);
        instance.stop().await;
    }
}

/// Who sees what through each client read path. Expectations are written by hand from the
/// audience rules (DESIGN.md), one row per (visibility, viewer); every path must agree.
#[tokio::test]
async fn leak_matrix_over_the_client_api_read_paths() {
    #[rustfmt::skip]
    const EXPECTED: &[(&str, &str, bool)] = &[
        // (visibility, viewer, sees)
        ("public", "author", true), ("public", "follower", true), ("public", "stranger", true),
        ("public", "mentioned", true), ("public", "blocked", false), ("public", "anonymous", true),
        ("unlisted", "author", true), ("unlisted", "follower", true), ("unlisted", "stranger", true),
        ("unlisted", "mentioned", true), ("unlisted", "blocked", false), ("unlisted", "anonymous", true),
        ("private", "author", true), ("private", "follower", true), ("private", "stranger", false),
        ("private", "mentioned", false), ("private", "blocked", false), ("private", "anonymous", false),
        ("direct", "author", true), ("direct", "follower", false), ("direct", "stranger", false),
        ("direct", "mentioned", true), ("direct", "blocked", false), ("direct", "anonymous", false),
        ("local", "author", true), ("local", "follower", true), ("local", "stranger", true),
        ("local", "mentioned", true), ("local", "blocked", false), ("local", "anonymous", false),
    ];
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        let author_id = instance.create_account("author", Role::Member, false).await;
        let follower_id = instance
            .create_account("follower", Role::Member, false)
            .await;
        instance
            .create_account("stranger", Role::Member, false)
            .await;
        instance
            .create_account("mentioned", Role::Member, false)
            .await;
        let blocked_id = instance
            .create_account("blocked", Role::Member, false)
            .await;
        let author = instance.sign_in("author", "read write follow").await;
        let follower = instance.sign_in("follower", "read write follow").await;
        let (status, _) = instance
            .post(
                &format!("/api/v1/accounts/{author_id}/follow"),
                Some(&follower),
                &[],
            )
            .await;
        assert_eq!(status, 200);
        let blocked = instance.sign_in("blocked", "read write follow").await;
        instance
            .post(
                &format!("/api/v1/accounts/{author_id}/follow"),
                Some(&blocked),
                &[],
            )
            .await;
        instance
            .post(
                &format!("/api/v1/accounts/{blocked_id}/block"),
                Some(&author),
                &[],
            )
            .await;

        let mut tokens = std::collections::HashMap::new();
        for name in ["author", "follower", "stranger", "mentioned", "blocked"] {
            tokens.insert(name, instance.sign_in(name, "read write follow").await);
        }
        // The author opts in to search and every viewer follows the posts' tag, so search
        // and followed tags propose every post to everyone: only the read gate may refuse.
        let (status, _) = instance
            .patch(
                "/api/v1/accounts/update_credentials",
                Some(&author),
                &[("indexable", "true")],
            )
            .await;
        assert_eq!(status, 200);
        for token in tokens.values() {
            let (status, _) = instance
                .post("/api/v1/tags/matrix/follow", Some(token), &[])
                .await;
            assert_eq!(status, 200);
        }
        let mut ids = std::collections::HashMap::new();
        for visibility in ["public", "unlisted", "private", "direct", "local"] {
            let (status, body) = instance
                .post(
                    "/api/v1/statuses",
                    Some(&author),
                    &[
                        (
                            "status",
                            &format!("{visibility} post for @mentioned #matrix"),
                        ),
                        ("visibility", visibility),
                    ],
                )
                .await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["visibility"], visibility);
            ids.insert(visibility, body["id"].as_str().unwrap().to_owned());
        }

        let mut failures = Vec::new();
        for (visibility, viewer, sees) in EXPECTED {
            let token = tokens.get(viewer).map(String::as_str);
            let id = &ids[visibility];
            // Path 1: the status itself.
            let (status, _) = instance.get(&format!("/api/v1/statuses/{id}"), token).await;
            if (status == 200) != *sees {
                failures.push(format!("{visibility}/{viewer}/status: {status}"));
            }
            // Path 2: its context (404 when hidden).
            let (status, _) = instance
                .get(&format!("/api/v1/statuses/{id}/context"), token)
                .await;
            if (status == 200) != *sees {
                failures.push(format!("{visibility}/{viewer}/context: {status}"));
            }
            // Path 3: the author's statuses.
            let (_, list) = instance
                .get(
                    &format!("/api/v1/accounts/{author_id}/statuses?limit=40"),
                    token,
                )
                .await;
            let listed = list
                .as_array()
                .is_some_and(|l| l.iter().any(|s| s["id"] == id.as_str()));
            if listed != *sees {
                failures.push(format!("{visibility}/{viewer}/account_statuses: {listed}"));
            }
            // Path 4: the home timeline (only where a home exists).
            if let Some(token) = token {
                let (_, home) = instance
                    .get("/api/v1/timelines/home?limit=40", Some(token))
                    .await;
                let in_home = home
                    .as_array()
                    .is_some_and(|l| l.iter().any(|s| s["id"] == id.as_str()));
                // Every viewer follows #matrix, so home proposes every post to everyone:
                // it must show exactly the posts the viewer may see.
                if in_home != *sees {
                    failures.push(format!("{visibility}/{viewer}/home: {in_home}"));
                }
            }
            // Path 6: full-text search (signed-in viewers only: anonymous search finds no
            // statuses).
            let (_, found) = instance
                .get(
                    &format!("/api/v2/search?q={visibility}+post&type=statuses"),
                    token,
                )
                .await;
            let in_search = found["statuses"]
                .as_array()
                .is_some_and(|l| l.iter().any(|s| s["id"] == id.as_str()));
            if in_search != (*sees && token.is_some()) {
                failures.push(format!("{visibility}/{viewer}/search: {in_search}"));
            }
            // Path 5: the public timeline (public posts and local-only public posts only).
            let (_, public) = instance
                .get("/api/v1/timelines/public?limit=40", token)
                .await;
            let in_public = public
                .as_array()
                .is_some_and(|l| l.iter().any(|s| s["id"] == id.as_str()));
            let expected_public = *sees && matches!(*visibility, "public" | "local");
            if in_public != expected_public {
                failures.push(format!(
                    "{visibility}/{viewer}/public_timeline: {in_public}"
                ));
            }
        }
        assert!(failures.is_empty(), "{engine:?}: {failures:#?}");
        let _ = follower_id;
        instance.stop().await;
    }
}

#[tokio::test]
async fn a_followers_only_thread_stays_inside_its_root_and_replies_are_narrowed() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        let author_id = instance.create_account("author", Role::Member, false).await;
        instance
            .create_account("follower", Role::Member, false)
            .await;
        instance
            .create_account("stranger", Role::Member, false)
            .await;
        let author = instance.sign_in("author", "read write follow").await;
        let follower = instance.sign_in("follower", "read write follow").await;
        let stranger = instance.sign_in("stranger", "read write follow").await;
        instance
            .post(
                &format!("/api/v1/accounts/{author_id}/follow"),
                Some(&follower),
                &[],
            )
            .await;
        let (_, root) = instance
            .post(
                "/api/v1/statuses",
                Some(&author),
                &[("status", "how are you all"), ("visibility", "private")],
            )
            .await;
        let root_id = root["id"].as_str().unwrap();
        let (status, reply) = instance
            .post(
                "/api/v1/statuses",
                Some(&follower),
                &[
                    ("status", "fine, thanks"),
                    ("visibility", "public"),
                    ("in_reply_to_id", root_id),
                ],
            )
            .await;
        assert_eq!(status, 200, "{reply}");
        assert_eq!(
            reply["visibility"], "private",
            "a reply's audience never exceeds its parent's"
        );
        let reply_id = reply["id"].as_str().unwrap();
        let (status, _) = instance
            .get(&format!("/api/v1/statuses/{reply_id}"), Some(&stranger))
            .await;
        assert_eq!(status, 404);
        let (status, context) = instance
            .get(
                &format!("/api/v1/statuses/{root_id}/context"),
                Some(&author),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(context["descendants"][0]["id"], reply_id);
        let (_, context) = instance
            .get(
                &format!("/api/v1/statuses/{reply_id}/context"),
                Some(&follower),
            )
            .await;
        assert_eq!(context["ancestors"][0]["id"], root_id);
        instance.stop().await;
    }
}

#[tokio::test]
async fn deleting_hides_the_post_even_from_its_author() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        instance.create_account("pat", Role::Member, false).await;
        instance.create_account("sam", Role::Member, false).await;
        let pat = instance.sign_in("pat", "read write").await;
        let sam = instance.sign_in("sam", "read write").await;
        let (_, post) = instance
            .post("/api/v1/statuses", Some(&pat), &[("status", "oops")])
            .await;
        let id = post["id"].as_str().unwrap();
        let (status, _) = instance
            .delete(&format!("/api/v1/statuses/{id}"), Some(&sam))
            .await;
        assert_eq!(status, 404, "others cannot delete");
        let (status, deleted) = instance
            .delete(&format!("/api/v1/statuses/{id}"), Some(&pat))
            .await;
        assert_eq!(status, 200);
        assert_eq!(
            deleted["text"], "oops",
            "delete-and-redraft gets the source"
        );
        let (status, _) = instance
            .get(&format!("/api/v1/statuses/{id}"), Some(&pat))
            .await;
        assert_eq!(status, 404);
        instance.stop().await;
    }
}

#[tokio::test]
async fn timelines_page_with_link_headers() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        instance.create_account("pat", Role::Member, false).await;
        let pat = instance.sign_in("pat", "read write").await;
        let mut ids = Vec::new();
        for i in 0..5 {
            let (_, post) = instance
                .post(
                    "/api/v1/statuses",
                    Some(&pat),
                    &[("status", &format!("post {i}"))],
                )
                .await;
            ids.push(post["id"].as_str().unwrap().to_owned());
        }
        let response = instance
            .http
            .get(instance.url("/api/v1/timelines/home?limit=2"))
            .bearer_auth(&pat)
            .send()
            .await
            .unwrap();
        let link = response.headers()["link"].to_str().unwrap().to_owned();
        let page: Vec<Value> = response.json().await.unwrap();
        assert_eq!(
            page.iter()
                .map(|s| s["id"].as_str().unwrap())
                .collect::<Vec<_>>(),
            vec![ids[4].as_str(), ids[3].as_str()]
        );
        assert!(
            link.contains(&format!("max_id={}>; rel=\"next\"", ids[3])),
            "{link}"
        );
        let next = link.split('<').nth(1).unwrap().split('>').next().unwrap();
        let next_path = next.trim_start_matches(&instance.base).to_owned();
        let next_path = next_path
            .split_once("/api")
            .map(|(_, p)| format!("/api{p}"))
            .unwrap();
        let (_, page2) = instance
            .get(&format!("{next_path}&limit=2"), Some(&pat))
            .await;
        let page2: Vec<&str> = page2
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap())
            .collect();
        assert_eq!(page2, vec![ids[2].as_str(), ids[1].as_str()]);
        // min_id pages forward from the oldest.
        let (_, newer) = instance
            .get(
                &format!("/api/v1/timelines/home?min_id={}&limit=2", ids[0]),
                Some(&pat),
            )
            .await;
        let newer: Vec<&str> = newer
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap())
            .collect();
        assert_eq!(newer, vec![ids[2].as_str(), ids[1].as_str()]);
        // A limit over the maximum is clamped, not refused.
        let (status, _) = instance
            .get("/api/v1/timelines/home?limit=1000", Some(&pat))
            .await;
        assert_eq!(status, 200);
        instance.stop().await;
    }
}

#[tokio::test]
async fn registration_follows_the_instance_mode() {
    for (mode, expected_status, usable) in [
        ("open", 200, true),
        ("approval", 200, false),
        ("closed", 403, false),
    ] {
        let instance = Instance::start(
            cohort_tests::harness::Engine::Sqlite,
            &[("COHORT_REGISTRATIONS", mode)],
        )
        .await;
        let (_, app) = instance
            .post(
                "/api/v1/apps",
                None,
                &[("client_name", "signup"), ("scopes", "read write follow")],
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
        let token = app_token["access_token"].as_str().unwrap();
        let (status, body) = instance
            .post(
                "/api/v1/accounts",
                Some(token),
                &[
                    ("username", "newbie"),
                    ("email", "newbie@example.org"),
                    ("password", "long enough pw"),
                    ("agreement", "true"),
                ],
            )
            .await;
        assert_eq!(status, expected_status, "{mode}: {body}");
        if status == 200 {
            let user_token = body["access_token"].as_str().unwrap();
            assert!(body["scope"].as_str().unwrap().contains("write"));
            let (status, _) = instance
                .get("/api/v1/accounts/verify_credentials", Some(user_token))
                .await;
            assert_eq!(status == 200, usable, "{mode}");
            if !usable {
                // `cohort admin approve-account` (or the admin API) lets the account in.
                let newbie = instance
                    .store()
                    .local_account_by_username("newbie")
                    .await
                    .unwrap();
                assert!(instance.store().approve_account(newbie.id).await.unwrap());
                let (status, _) = instance
                    .get("/api/v1/accounts/verify_credentials", Some(user_token))
                    .await;
                assert_eq!(status, 200, "usable once approved");
            }
        }
        // Bad sign-ups are refused with the error JSON.
        for (form, what) in [
            (
                vec![
                    ("username", "bad name"),
                    ("email", "a@example.org"),
                    ("password", "long enough pw"),
                    ("agreement", "true"),
                ],
                "username",
            ),
            (
                vec![
                    ("username", "okname"),
                    ("email", "nope"),
                    ("password", "long enough pw"),
                    ("agreement", "true"),
                ],
                "email",
            ),
            (
                vec![
                    ("username", "okname"),
                    ("email", "a@example.org"),
                    ("password", "short"),
                    ("agreement", "true"),
                ],
                "password",
            ),
            (
                vec![
                    ("username", "okname"),
                    ("email", "a@example.org"),
                    ("password", "long enough pw"),
                ],
                "agreement",
            ),
        ] {
            let (status, body) = instance.post("/api/v1/accounts", Some(token), &form).await;
            if mode != "closed" {
                assert_eq!(status, 422, "{what}: {body}");
            }
            error_of(&body);
        }
        instance.stop().await;
    }
}

#[tokio::test]
async fn favourites_boosts_notifications_and_follow_requests() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        let pat_id = instance.create_account("pat", Role::Member, false).await;
        let locked_id = instance.create_account("locked", Role::Member, true).await;
        instance.create_account("sam", Role::Member, false).await;
        let pat = instance.sign_in("pat", "read write follow").await;
        let sam = instance.sign_in("sam", "read write follow").await;
        let locked = instance.sign_in("locked", "read write follow").await;

        let (_, post) = instance
            .post(
                "/api/v1/statuses",
                Some(&pat),
                &[("status", "hello @sam, see #CareTips")],
            )
            .await;
        let id = post["id"].as_str().unwrap().to_owned();
        assert_eq!(post["mentions"][0]["username"], "sam");

        let (status, faved) = instance
            .post(&format!("/api/v1/statuses/{id}/favourite"), Some(&sam), &[])
            .await;
        assert_eq!(status, 200);
        assert_eq!(
            (
                faved["favourited"].as_bool(),
                faved["favourites_count"].as_i64()
            ),
            (Some(true), Some(1))
        );
        let (status, boost) = instance
            .post(&format!("/api/v1/statuses/{id}/reblog"), Some(&sam), &[])
            .await;
        assert_eq!(status, 200, "{boost}");
        assert_eq!(boost["reblog"]["id"], id.as_str());
        let (_, by) = instance
            .get(&format!("/api/v1/statuses/{id}/favourited_by"), None)
            .await;
        assert_eq!(by[0]["username"], "sam");
        let (_, by) = instance
            .get(&format!("/api/v1/statuses/{id}/reblogged_by"), None)
            .await;
        assert_eq!(by[0]["username"], "sam");

        // A followers-only post cannot be boosted.
        let (_, private) = instance
            .post(
                "/api/v1/statuses",
                Some(&pat),
                &[("status", "just friends"), ("visibility", "private")],
            )
            .await;
        let private_id = private["id"].as_str().unwrap();
        instance
            .post(
                &format!("/api/v1/accounts/{pat_id}/follow"),
                Some(&sam),
                &[],
            )
            .await;
        let (status, body) = instance
            .post(
                &format!("/api/v1/statuses/{private_id}/reblog"),
                Some(&sam),
                &[],
            )
            .await;
        assert_eq!(status, 422, "{body}");

        // Notifications: mention, favourite, reblog, follow; filtered by type.
        let (_, notes) = instance.get("/api/v1/notifications", Some(&pat)).await;
        let kinds: Vec<&str> = notes
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["type"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, vec!["follow", "reblog", "favourite"], "newest first");
        let (_, mentions) = instance
            .get("/api/v1/notifications?types[]=mention", Some(&sam))
            .await;
        assert_eq!(mentions[0]["status"]["id"], id.as_str());
        let (_, excluded) = instance
            .get("/api/v1/notifications?exclude_types[]=follow", Some(&pat))
            .await;
        assert_eq!(excluded.as_array().unwrap().len(), 2);
        let (status, _) = instance
            .get("/api/v1/notifications?types[]=bogus", Some(&pat))
            .await;
        assert_eq!(status, 422);
        let first = notes[0]["id"].as_str().unwrap();
        let (status, _) = instance
            .post(
                &format!("/api/v1/notifications/{first}/dismiss"),
                Some(&pat),
                &[],
            )
            .await;
        assert_eq!(status, 200);
        let (_, after) = instance.get("/api/v1/notifications", Some(&pat)).await;
        assert_eq!(after.as_array().unwrap().len(), 2);
        instance
            .post("/api/v1/notifications/clear", Some(&pat), &[])
            .await;
        let (_, cleared) = instance.get("/api/v1/notifications", Some(&pat)).await;
        assert!(cleared.as_array().unwrap().is_empty());

        // Hashtag timeline.
        let (_, tagged) = instance.get("/api/v1/timelines/tag/caretips", None).await;
        assert_eq!(tagged[0]["id"], id.as_str());

        // A locked account's follow request.
        let (_, rel) = instance
            .post(
                &format!("/api/v1/accounts/{locked_id}/follow"),
                Some(&pat),
                &[],
            )
            .await;
        assert_eq!(
            (rel["following"].as_bool(), rel["requested"].as_bool()),
            (Some(false), Some(true))
        );
        let (_, requests) = instance.get("/api/v1/follow_requests", Some(&locked)).await;
        assert_eq!(requests[0]["id"], pat_id.to_string());
        let (status, _) = instance
            .post("/api/v1/follow_requests/999/authorize", Some(&locked), &[])
            .await;
        assert_eq!(status, 404);
        let (_, rel) = instance
            .post(
                &format!("/api/v1/follow_requests/{pat_id}/authorize"),
                Some(&locked),
                &[],
            )
            .await;
        assert_eq!(rel["followed_by"], true);
        let (_, rel) = instance
            .get(
                &format!("/api/v1/accounts/relationships?id[]={locked_id}"),
                Some(&pat),
            )
            .await;
        assert_eq!(rel[0]["following"], true);

        // Undo.
        let (_, unfaved) = instance
            .post(
                &format!("/api/v1/statuses/{id}/unfavourite"),
                Some(&sam),
                &[],
            )
            .await;
        assert_eq!(unfaved["favourited"], false);
        let (_, unboosted) = instance
            .post(&format!("/api/v1/statuses/{id}/unreblog"), Some(&sam), &[])
            .await;
        assert_eq!(
            (unboosted["id"].as_str(), unboosted["reblogged"].as_bool()),
            (Some(id.as_str()), Some(false))
        );
        instance.stop().await;
    }
}

#[tokio::test]
async fn expiring_posts_are_deleted_and_retracted_when_due() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        instance.create_account("pat", Role::Member, false).await;
        let pat = instance.sign_in("pat", "read write").await;
        let (status, body) = instance
            .post(
                "/api/v1/statuses",
                Some(&pat),
                &[("status", "gone soon"), ("expires_in", "10")],
            )
            .await;
        assert_eq!(status, 422, "below the minimum: {body}");
        let (_, own) = instance
            .post(
                "/api/v1/statuses",
                Some(&pat),
                &[("status", "gone in a minute"), ("expires_in", "60")],
            )
            .await;
        // The account default applies to posts without their own lifetime.
        let (status, me) = instance
            .http
            .patch(instance.url("/api/v1/accounts/update_credentials"))
            .bearer_auth(&pat)
            .form(&[("default_status_lifetime", "3600"), ("display_name", "Pat")])
            .send()
            .await
            .map(|r| (r.status().as_u16(), r))
            .unwrap();
        assert_eq!(status, 200);
        assert_eq!(
            me.json::<serde_json::Value>().await.unwrap()["display_name"],
            "Pat"
        );
        let (_, defaulted) = instance
            .post("/api/v1/statuses", Some(&pat), &[("status", "an hour")])
            .await;
        let (_, kept) = instance
            .post(
                "/api/v1/statuses",
                Some(&pat),
                &[("status", "for a year"), ("expires_in", "31536000")],
            )
            .await;

        let now = cohort_store::now_ms();
        let expired =
            cohort_federation::delivery::expire_due_statuses(instance.store(), now + 61_000)
                .await
                .unwrap();
        assert_eq!(expired, 1);
        let (status, _) = instance
            .get(
                &format!("/api/v1/statuses/{}", own["id"].as_str().unwrap()),
                Some(&pat),
            )
            .await;
        assert_eq!(status, 404);
        let expired =
            cohort_federation::delivery::expire_due_statuses(instance.store(), now + 3_601_000)
                .await
                .unwrap();
        assert_eq!(expired, 1);
        for (post, alive) in [(&defaulted, false), (&kept, true)] {
            let (status, _) = instance
                .get(
                    &format!("/api/v1/statuses/{}", post["id"].as_str().unwrap()),
                    Some(&pat),
                )
                .await;
            assert_eq!(status == 200, alive);
        }
        let events = instance.store().outbox_events_after(0, 100).await.unwrap();
        let deletes = events
            .iter()
            .filter(|e| e.kind == cohort_store::OutboxKind::DeleteStatus)
            .count();
        assert_eq!(
            deletes, 2,
            "each expiry records the Delete that reaches every recorded inbox"
        );
        instance.stop().await;
    }
}

#[tokio::test]
async fn browser_pages_show_only_what_anyone_may_see() {
    let mut instance = Instance::start(cohort_tests::harness::Engine::Sqlite, &[]).await;
    instance.create_account("pat", Role::Member, false).await;
    let pat = instance.sign_in("pat", "read write").await;
    let (_, public) = instance
        .post(
            "/api/v1/statuses",
            Some(&pat),
            &[("status", "hello <world>")],
        )
        .await;
    let (_, private) = instance
        .post(
            "/api/v1/statuses",
            Some(&pat),
            &[("status", "friends only"), ("visibility", "private")],
        )
        .await;
    let text = |path: String| {
        let http = instance.http.clone();
        let url = instance.url(&path);
        async move {
            let r = http.get(url).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (status, profile) = text("/@pat".into()).await;
    assert_eq!(status, 200);
    assert!(profile.contains("hello &lt;world&gt;"), "{profile}");
    assert!(!profile.contains("friends only"));
    let (status, page) = text(format!("/@pat/{}", public["id"].as_str().unwrap())).await;
    assert_eq!(status, 200);
    assert!(page.contains("hello &lt;world&gt;"));
    let (status, _) = text(format!("/@pat/{}", private["id"].as_str().unwrap())).await;
    assert_eq!(status, 404);
    let (status, _) = text(format!("/@someone_else/{}", public["id"].as_str().unwrap())).await;
    assert_eq!(status, 404);
    let (status, _) = text("/@nobody".into()).await;
    assert_eq!(status, 404);
    let (status, about) = text("/about".into()).await;
    assert_eq!(status, 200);
    assert!(about.contains("Cohort"));
    instance.stop().await;
}

#[tokio::test]
async fn rate_limits_answer_429_with_mastodons_headers() {
    let mut instance = Instance::start(
        cohort_tests::harness::Engine::Sqlite,
        &[("COHORT_RATE_LIMIT", "3")],
    )
    .await;
    instance.create_account("pat", Role::Member, false).await;
    let pat = instance.sign_in("pat", "read").await;
    let mut seen = Vec::new();
    for _ in 0..4 {
        let response = instance
            .http
            .get(instance.url("/api/v1/timelines/home"))
            .bearer_auth(&pat)
            .send()
            .await
            .unwrap();
        let headers = response.headers().clone();
        seen.push((
            response.status().as_u16(),
            headers["x-ratelimit-limit"].to_str().unwrap().to_owned(),
            headers["x-ratelimit-remaining"]
                .to_str()
                .unwrap()
                .to_owned(),
        ));
        assert!(
            headers["x-ratelimit-reset"]
                .to_str()
                .unwrap()
                .ends_with('Z')
        );
        if response.status() == 429 {
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"], "Too many requests");
        }
    }
    let expected: Vec<(u16, String, String)> = vec![
        (200, "3".into(), "2".into()),
        (200, "3".into(), "1".into()),
        (200, "3".into(), "0".into()),
        (429, "3".into(), "0".into()),
    ];
    assert_eq!(seen, expected);
    // Anonymous requests and other tokens are not counted against it.
    let (status, _) = instance.get("/api/v1/timelines/public", None).await;
    assert_eq!(status, 200);
    instance.stop().await;
}

#[tokio::test]
async fn pins_mutes_and_markers() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        let pat_id = instance.create_account("pat", Role::Member, false).await;
        let sam_id = instance.create_account("sam", Role::Member, false).await;
        let pat = instance.sign_in("pat", "read write follow").await;
        let sam = instance.sign_in("sam", "read write follow").await;

        // Pins: own posts only, not direct messages, at most five.
        let (_, post) = instance
            .post("/api/v1/statuses", Some(&pat), &[("status", "pin me")])
            .await;
        let id = post["id"].as_str().unwrap().to_owned();
        let (status, pinned) = instance
            .post(&format!("/api/v1/statuses/{id}/pin"), Some(&pat), &[])
            .await;
        assert_eq!((status, pinned["pinned"].as_bool()), (200, Some(true)));
        let (status, _) = instance
            .post(&format!("/api/v1/statuses/{id}/pin"), Some(&sam), &[])
            .await;
        assert_eq!(status, 422, "not one's own post");
        let (_, dm) = instance
            .post(
                "/api/v1/statuses",
                Some(&pat),
                &[("status", "@sam psst"), ("visibility", "direct")],
            )
            .await;
        let (status, _) = instance
            .post(
                &format!("/api/v1/statuses/{}/pin", dm["id"].as_str().unwrap()),
                Some(&pat),
                &[],
            )
            .await;
        assert_eq!(status, 422, "direct messages are not pinned");
        let (_, pins) = instance
            .get(
                &format!("/api/v1/accounts/{pat_id}/statuses?pinned=true"),
                None,
            )
            .await;
        assert_eq!(pins[0]["id"], id.as_str());
        let (_, unpinned) = instance
            .post(&format!("/api/v1/statuses/{id}/unpin"), Some(&pat), &[])
            .await;
        assert_eq!(unpinned["pinned"], false);

        // Mutes hide the muted account from home and its notifications, nothing else.
        instance
            .post(
                &format!("/api/v1/accounts/{pat_id}/follow"),
                Some(&sam),
                &[],
            )
            .await;
        let (_, rel) = instance
            .post(&format!("/api/v1/accounts/{pat_id}/mute"), Some(&sam), &[])
            .await;
        assert_eq!(
            (
                rel["muting"].as_bool(),
                rel["muting_notifications"].as_bool()
            ),
            (Some(true), Some(true))
        );
        let (_, home) = instance.get("/api/v1/timelines/home", Some(&sam)).await;
        assert!(
            home.as_array()
                .unwrap()
                .iter()
                .all(|s| s["account"]["id"] != pat_id.to_string().as_str())
        );
        let (_, notes) = instance.get("/api/v1/notifications", Some(&sam)).await;
        assert!(
            notes.as_array().unwrap().is_empty(),
            "the mention by a muted account is hidden: {notes}"
        );
        let (status, _) = instance
            .get(&format!("/api/v1/statuses/{id}"), Some(&sam))
            .await;
        assert_eq!(status, 200, "a mute is not a block");
        let (_, rel) = instance
            .post(
                &format!("/api/v1/accounts/{pat_id}/unmute"),
                Some(&sam),
                &[],
            )
            .await;
        assert_eq!(rel["muting"], false);
        let (_, home) = instance.get("/api/v1/timelines/home", Some(&sam)).await;
        assert!(
            home.as_array()
                .unwrap()
                .iter()
                .any(|s| s["account"]["id"] == pat_id.to_string().as_str())
        );
        let (status, _) = instance
            .post(&format!("/api/v1/accounts/{sam_id}/mute"), Some(&sam), &[])
            .await;
        assert_eq!(status, 422, "no muting oneself");

        // Markers.
        let (status, saved) = instance
            .post(
                "/api/v1/markers",
                Some(&sam),
                &[("home[last_read_id]", id.as_str())],
            )
            .await;
        assert_eq!(status, 200, "{saved}");
        assert_eq!(saved["home"]["last_read_id"], id.as_str());
        instance
            .post(
                "/api/v1/markers",
                Some(&sam),
                &[("home[last_read_id]", id.as_str())],
            )
            .await;
        let (_, markers) = instance
            .get("/api/v1/markers?timeline[]=home", Some(&sam))
            .await;
        assert_eq!(markers["home"]["version"], 2);
        let (status, _) = instance
            .post(
                "/api/v1/markers",
                Some(&sam),
                &[("home[last_read_id]", "x")],
            )
            .await;
        assert_eq!(status, 400);
        let (status, _) = instance.post("/api/v1/markers", Some(&sam), &[]).await;
        assert_eq!(status, 400);
        instance.stop().await;
    }
}

/// Answering a remote account's follow request: the Accept or Reject recorded for delivery
/// keeps the id of the Follow it answers, although a rejection deletes the request row that
/// held it (Lemmy and other activitypub_federation servers find their Follow by that id).
#[tokio::test]
async fn answers_to_remote_follow_requests_keep_the_follow_id() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        let lee = instance.create_account("lee", Role::Member, true).await;
        let token = instance.sign_in("lee", "read write follow").await;
        let store = instance.store().clone();
        let domain = Domain::parse("lemmy.example").unwrap();
        let mut requesters = Vec::new();
        for name in ["ana", "ben"] {
            let actor_uri = format!("https://lemmy.example/u/{name}");
            let remote = store
                .upsert_remote_account(&NewRemoteAccount {
                    username: name.to_owned(),
                    domain: domain.clone(),
                    inbox_uri: format!("{actor_uri}/inbox"),
                    actor_uri,
                    shared_inbox_uri: None,
                    followers_uri: None,
                    display_name: name.to_owned(),
                    is_group: false,
                })
                .await
                .unwrap();
            let follow = format!("https://lemmy.example/activities/follow/{name}");
            store
                .set_follow(remote, lee, FollowState::Requested)
                .await
                .unwrap();
            store.set_follow_uri(remote, lee, &follow).await.unwrap();
            requesters.push((remote, follow));
        }
        let (rejected, reject_follow) = &requesters[0];
        let (accepted, accept_follow) = &requesters[1];
        let (status, rel) = instance
            .post(
                &format!("/api/v1/follow_requests/{rejected}/reject"),
                Some(&token),
                &[],
            )
            .await;
        assert_eq!((status, &rel["followed_by"]), (200, &Value::Bool(false)));
        assert_eq!(store.follow_uri(*rejected, lee).await.unwrap(), None);
        let (status, rel) = instance
            .post(
                &format!("/api/v1/follow_requests/{accepted}/authorize"),
                Some(&token),
                &[],
            )
            .await;
        assert_eq!((status, &rel["followed_by"]), (200, &Value::Bool(true)));

        let events = store.outbox_events_after(0, 100).await.unwrap();
        let answer = |kind: OutboxKind| {
            events
                .iter()
                .find(|e| e.kind == kind)
                .unwrap_or_else(|| panic!("no {kind:?} recorded: {events:?}"))
        };
        let reject = answer(OutboxKind::RejectFollow);
        assert_eq!(
            (reject.actor, reject.target_account),
            (Some(lee), Some(*rejected))
        );
        assert_eq!(reject.follow_uri.as_deref(), Some(reject_follow.as_str()));
        let accept = answer(OutboxKind::AcceptFollow);
        assert_eq!(accept.target_account, Some(*accepted));
        assert_eq!(accept.follow_uri.as_deref(), Some(accept_follow.as_str()));
        instance.stop().await;
    }
}

#[tokio::test]
async fn mutes_and_blocks_are_listed_to_their_owner_only() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        instance.create_account("pat", Role::Member, false).await;
        let a = instance.create_account("a1", Role::Member, false).await;
        let b = instance.create_account("b1", Role::Member, false).await;
        let c = instance.create_account("c1", Role::Member, false).await;
        let pat = instance.sign_in("pat", "read write follow").await;
        for id in [a, b] {
            let (status, _) = instance
                .post(&format!("/api/v1/accounts/{id}/mute"), Some(&pat), &[])
                .await;
            assert_eq!(status, 200);
        }
        let (status, _) = instance
            .post(&format!("/api/v1/accounts/{c}/block"), Some(&pat), &[])
            .await;
        assert_eq!(status, 200);
        let ids = |list: &Value| -> Vec<String> {
            list.as_array()
                .unwrap()
                .iter()
                .map(|a| a["id"].as_str().unwrap().to_owned())
                .collect()
        };
        let (status, mutes) = instance.get("/api/v1/mutes", Some(&pat)).await;
        assert_eq!(status, 200);
        assert_eq!(ids(&mutes), vec![b.to_string(), a.to_string()]);
        let (_, first) = instance.get("/api/v1/mutes?limit=1", Some(&pat)).await;
        assert_eq!(ids(&first), vec![b.to_string()]);
        let (_, next) = instance
            .get(&format!("/api/v1/mutes?limit=1&max_id={b}"), Some(&pat))
            .await;
        assert_eq!(ids(&next), vec![a.to_string()]);
        let (status, blocks) = instance.get("/api/v1/blocks", Some(&pat)).await;
        assert_eq!(status, 200);
        assert_eq!(ids(&blocks), vec![c.to_string()]);
        // Someone else's lists are theirs: empty for a new user; a token without the scope
        // or no token at all is refused.
        let other = instance.sign_in("a1", "read write follow").await;
        let (_, theirs) = instance.get("/api/v1/blocks", Some(&other)).await;
        assert!(ids(&theirs).is_empty());
        let narrow = instance.sign_in("pat", "read:statuses").await;
        let (status, _) = instance.get("/api/v1/mutes", Some(&narrow)).await;
        assert_eq!(status, 403);
        let (status, _) = instance.get("/api/v1/blocks", None).await;
        assert_eq!(status, 401);
        instance.stop().await;
    }
}
