//! Polls, scheduled statuses, search, conversations, tags, endorsements and user domain
//! blocks over real HTTP, on SQLite and PostgreSQL: what each shows through the read gate,
//! and every handled bad input (right status, Mastodon's error JSON, nothing written).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use cohort_model::Role;
use cohort_tests::harness::{Instance, engines};
use serde_json::{Value, json};

async fn post_json(instance: &Instance, path: &str, token: &str, body: &Value) -> (u16, Value) {
    let response = instance
        .http
        .post(instance.url(path))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
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

async fn delete_form(
    instance: &Instance,
    path: &str,
    token: &str,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let response = instance
        .http
        .delete(instance.url(path))
        .bearer_auth(token)
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn count(instance: &Instance, sql: &'static str) -> i64 {
    instance.store().scalar_i64_for_tests(sql).await.unwrap()
}

fn error_of(body: &Value) -> &str {
    body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no Mastodon error JSON: {body}"))
}

fn ids(items: &Value) -> Vec<String> {
    items
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {items}"))
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn post_status(instance: &Instance, token: &str, form: &[(&str, &str)]) -> Value {
    let (status, body) = instance.post("/api/v1/statuses", Some(token), form).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn follow(instance: &Instance, token: &str, target: &str) {
    let (status, body) = instance
        .post(
            &format!("/api/v1/accounts/{target}/follow"),
            Some(token),
            &[],
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_poll_is_created_with_its_status_and_voted_on_once_through_the_read_gate() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        instance.create_account("author", Role::Member, false).await;
        instance.create_account("voter", Role::Member, false).await;
        instance
            .create_account("stranger", Role::Member, false)
            .await;
        let author = instance.sign_in("author", "read write follow").await;
        let voter = instance.sign_in("voter", "read write follow").await;
        let stranger = instance.sign_in("stranger", "read write follow").await;

        let status = post_status(
            &instance,
            &author,
            &[
                ("status", "Which clinic?"),
                ("poll[options][]", "North"),
                ("poll[options][]", "South"),
                ("poll[expires_in]", "3600"),
            ],
        )
        .await;
        let poll = &status["poll"];
        assert_eq!(
            poll["options"],
            json!([{"title": "North", "votes_count": 0}, {"title": "South", "votes_count": 0}])
        );
        assert_eq!(poll["multiple"], false);
        assert_eq!(poll["expired"], false);
        assert_eq!(poll["voted"], true, "an author counts as having voted");
        let poll_id = poll["id"].as_str().unwrap().to_owned();

        let (code, shown) = instance
            .get(&format!("/api/v1/polls/{poll_id}"), Some(&voter))
            .await;
        assert_eq!(code, 200, "{shown}");
        assert_eq!(shown["voted"], false);
        assert_eq!(shown["own_votes"], json!([]));

        let votes = format!("/api/v1/polls/{poll_id}/votes");
        let (code, voted) = post_json(&instance, &votes, &voter, &json!({"choices": [1]})).await;
        assert_eq!(code, 200, "{voted}");
        assert_eq!(voted["own_votes"], json!([1]));
        assert_eq!(voted["votes_count"], 1);
        assert_eq!(voted["options"][1]["votes_count"], 1);

        // Refusals: a second vote, one's own poll, a missing option, several choices in a
        // single-choice poll, a choice that is no number. Nothing more is stored.
        for (token, body, code, message) in [
            (
                &voter,
                json!({"choices": [0]}),
                422,
                "You have already voted on this poll",
            ),
            (
                &author,
                json!({"choices": [0]}),
                422,
                "You cannot vote in your own poll",
            ),
            (
                &stranger,
                json!({"choices": [5]}),
                422,
                "The chosen vote option does not exist",
            ),
            (
                &stranger,
                json!({"choices": [0, 1]}),
                422,
                "You have already voted on this poll",
            ),
            (
                &stranger,
                json!({"choices": []}),
                422,
                "choices can't be blank",
            ),
            (
                &stranger,
                json!({"choices": ["x"]}),
                400,
                "choices must be integers",
            ),
        ] {
            let (got, body) = post_json(&instance, &votes, token, &body).await;
            assert_eq!(got, code, "{body}");
            assert!(error_of(&body).contains(message), "{body}");
        }
        assert_eq!(count(&instance, "SELECT COUNT(*) FROM poll_votes").await, 1);

        // A poll on a followers-only post is as hidden as its post.
        let private = post_status(
            &instance,
            &author,
            &[
                ("status", "Members only"),
                ("visibility", "private"),
                ("poll[options][]", "Yes"),
                ("poll[options][]", "No"),
            ],
        )
        .await;
        let private_poll = private["poll"]["id"].as_str().unwrap();
        let (code, body) = instance
            .get(&format!("/api/v1/polls/{private_poll}"), Some(&stranger))
            .await;
        assert_eq!(code, 404, "{body}");
        let (code, _) = post_json(
            &instance,
            &format!("/api/v1/polls/{private_poll}/votes"),
            &stranger,
            &json!({"choices": [0]}),
        )
        .await;
        assert_eq!(code, 404);
        let (code, _) = instance.get("/api/v1/polls/12345", Some(&voter)).await;
        assert_eq!(code, 404);
        assert_eq!(count(&instance, "SELECT COUNT(*) FROM poll_votes").await, 1);

        // JSON bodies carry polls too; an ended poll is announced to voters and author.
        let (code, json_status) = post_json(
            &instance,
            "/api/v1/statuses",
            &author,
            &json!({"status": "JSON poll", "poll": {"options": ["a", "b", "c"], "expires_in": 300, "multiple": true, "hide_totals": true}}),
        )
        .await;
        assert_eq!(code, 200, "{json_status}");
        assert_eq!(json_status["poll"]["multiple"], true);
        let json_poll = json_status["poll"]["id"].as_str().unwrap();
        let (_, voted) = post_json(
            &instance,
            &format!("/api/v1/polls/{json_poll}/votes"),
            &voter,
            &json!({"choices": [0, 2]}),
        )
        .await;
        assert_eq!(voted["own_votes"], json!([0, 2]));
        assert_eq!(voted["voters_count"], 1);
        assert_eq!(
            voted["options"][0]["votes_count"],
            Value::Null,
            "totals hidden"
        );
        // Two days on, all three polls have ended.
        let ended = instance
            .store()
            .end_due_polls(cohort_store::now_ms() + 2 * 86_400_000)
            .await
            .unwrap();
        assert_eq!(ended.len(), 3);
        let (_, notes) = instance
            .get("/api/v1/notifications?types[]=poll", Some(&voter))
            .await;
        assert_eq!(notes.as_array().unwrap().len(), 2, "{notes}");
        let (_, notes) = instance
            .get("/api/v1/notifications?types[]=poll", Some(&author))
            .await;
        assert_eq!(notes.as_array().unwrap().len(), 3, "{notes}");
        instance.stop().await;
    }
}

#[tokio::test]
async fn polls_outside_the_limits_are_refused_and_nothing_is_stored() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        instance.create_account("author", Role::Member, false).await;
        let author = instance.sign_in("author", "read write follow").await;
        for (form, message) in [
            (vec![("poll[options][]", "only")], "at least 2 options"),
            (
                vec![
                    ("poll[options][]", "a"),
                    ("poll[options][]", "b"),
                    ("poll[options][]", "c"),
                    ("poll[options][]", "d"),
                    ("poll[options][]", "e"),
                ],
                "more than 4",
            ),
            (
                vec![("poll[options][]", "a"), ("poll[options][]", "a")],
                "must be different",
            ),
            (
                vec![
                    ("poll[options][]", "a"),
                    ("poll[options][]", "b"),
                    ("poll[expires_in]", "60"),
                ],
                "too short",
            ),
            (
                vec![
                    ("poll[options][]", "a"),
                    ("poll[options][]", "b"),
                    ("media_ids[]", "1"),
                ],
                "both a poll and media",
            ),
        ] {
            let mut form = form.clone();
            form.push(("status", "a poll"));
            let (code, body) = instance
                .post("/api/v1/statuses", Some(&author), &form)
                .await;
            assert_eq!(code, 422, "{body}");
            assert!(error_of(&body).contains(message), "{body}");
        }
        let (code, body) = instance
            .post(
                "/api/v1/statuses",
                Some(&author),
                &[
                    ("status", "x"),
                    ("poll[options][]", "a"),
                    ("poll[options][]", "b"),
                    ("poll[multiple]", "perhaps"),
                ],
            )
            .await;
        assert_eq!(code, 400, "{body}");
        assert_eq!(error_of(&body), "multiple must be a boolean");
        assert_eq!(count(&instance, "SELECT COUNT(*) FROM statuses").await, 0);
        assert_eq!(count(&instance, "SELECT COUNT(*) FROM polls").await, 0);
        instance.stop().await;
    }
}

#[tokio::test]
async fn scheduled_statuses_are_published_through_the_create_path_when_due() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        instance.create_account("author", Role::Member, false).await;
        instance.create_account("other", Role::Member, false).await;
        let author = instance.sign_in("author", "read write follow").await;
        let other = instance.sign_in("other", "read write follow").await;
        let now = cohort_store::now_ms();
        let at = cohort_api::entities::datetime;

        // Bad times: nothing is stored.
        for (when, message) in [
            ("banana".to_owned(), "Record invalid"),
            (at(now + 60_000), "at least 5 minutes in the future"),
        ] {
            let (code, body) = instance
                .post(
                    "/api/v1/statuses",
                    Some(&author),
                    &[("status", "later"), ("scheduled_at", &when)],
                )
                .await;
            assert_eq!(code, 422, "{body}");
            assert!(error_of(&body).contains(message), "{body}");
        }
        let (code, body) = instance
            .post(
                "/api/v1/statuses",
                Some(&author),
                &[("status", " "), ("scheduled_at", &at(now + 600_000))],
            )
            .await;
        assert_eq!(code, 422, "{body}");
        assert_eq!(
            count(&instance, "SELECT COUNT(*) FROM scheduled_statuses").await,
            0
        );

        let (code, scheduled) = instance
            .post(
                "/api/v1/statuses",
                Some(&author),
                &[
                    ("status", "Clinic opens at nine"),
                    ("visibility", "unlisted"),
                    ("scheduled_at", &at(now + 600_000)),
                    ("poll[options][]", "Coming"),
                    ("poll[options][]", "Not coming"),
                ],
            )
            .await;
        assert_eq!(code, 200, "{scheduled}");
        assert_eq!(scheduled["params"]["text"], "Clinic opens at nine");
        assert_eq!(scheduled["params"]["visibility"], "unlisted");
        assert_eq!(
            scheduled["params"]["poll"]["options"],
            json!(["Coming", "Not coming"])
        );
        let id = scheduled["id"].as_str().unwrap().to_owned();
        assert_eq!(count(&instance, "SELECT COUNT(*) FROM statuses").await, 0);

        let (_, listed) = instance
            .get("/api/v1/scheduled_statuses", Some(&author))
            .await;
        assert_eq!(ids(&listed), vec![id.clone()]);
        let path = format!("/api/v1/scheduled_statuses/{id}");
        let (code, _) = instance.get(&path, Some(&other)).await;
        assert_eq!(code, 404, "another account's scheduled status is not found");
        let (code, _) = put(
            &instance,
            &path,
            &other,
            &[("scheduled_at", &at(now + 900_000))],
        )
        .await;
        assert_eq!(code, 404);
        let (code, body) = put(&instance, &path, &author, &[("scheduled_at", "soon")]).await;
        assert_eq!(code, 422, "{body}");
        let (code, moved) = put(
            &instance,
            &path,
            &author,
            &[("scheduled_at", &at(now + 900_000))],
        )
        .await;
        assert_eq!(code, 200, "{moved}");
        assert_eq!(
            moved["scheduled_at"],
            cohort_api::entities::datetime(now + 900_000)
        );

        // A second one, a reply to a post deleted before it is due: refused then, dropped.
        let parent = post_status(&instance, &author, &[("status", "parent")]).await;
        let parent_id = parent["id"].as_str().unwrap();
        let (code, _) = instance
            .post(
                "/api/v1/statuses",
                Some(&author),
                &[
                    ("status", "reply"),
                    ("in_reply_to_id", parent_id),
                    ("scheduled_at", &at(now + 700_000)),
                ],
            )
            .await;
        assert_eq!(code, 200);
        let (code, _) = instance
            .delete(&format!("/api/v1/statuses/{parent_id}"), Some(&author))
            .await;
        assert_eq!(code, 200);

        let api = &instance.server.api;
        let early = cohort_api::routes::scheduled::publish_due_scheduled(api, now + 650_000)
            .await
            .unwrap();
        assert!(early.published.is_empty());
        let done = cohort_api::routes::scheduled::publish_due_scheduled(api, now + 901_000)
            .await
            .unwrap();
        assert_eq!(done.published.len(), 1);
        assert_eq!(done.refused, 1);
        let published = done.published[0].to_string();
        let (code, status) = instance
            .get(&format!("/api/v1/statuses/{published}"), Some(&other))
            .await;
        assert_eq!(code, 200, "{status}");
        assert_eq!(status["visibility"], "unlisted");
        assert_eq!(status["poll"]["options"][0]["title"], "Coming");
        let (_, listed) = instance
            .get("/api/v1/scheduled_statuses", Some(&author))
            .await;
        assert_eq!(listed, json!([]));

        // Cancelling.
        let (_, third) = instance
            .post(
                "/api/v1/statuses",
                Some(&author),
                &[("status", "never"), ("scheduled_at", &at(now + 3_600_000))],
            )
            .await;
        let third = format!(
            "/api/v1/scheduled_statuses/{}",
            third["id"].as_str().unwrap()
        );
        let (code, _) = instance.delete(&third, Some(&other)).await;
        assert_eq!(code, 404);
        let (code, _) = instance.delete(&third, Some(&author)).await;
        assert_eq!(code, 200);
        assert_eq!(
            count(&instance, "SELECT COUNT(*) FROM scheduled_statuses").await,
            0
        );
        instance.stop().await;
    }
}

#[tokio::test]
async fn search_finds_accounts_hashtags_and_only_statuses_the_viewer_may_see() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        let author_id = instance.create_account("author", Role::Member, false).await;
        instance
            .create_account("follower", Role::Member, false)
            .await;
        instance
            .create_account("stranger", Role::Member, false)
            .await;
        instance.create_account("shy", Role::Member, false).await;
        let author = instance.sign_in("author", "read write follow").await;
        let follower = instance.sign_in("follower", "read write follow").await;
        let stranger = instance.sign_in("stranger", "read write follow").await;
        let shy = instance.sign_in("shy", "read write follow").await;
        follow(&instance, &follower, &author_id.to_string()).await;
        let (code, _) = instance
            .patch(
                "/api/v1/accounts/update_credentials",
                Some(&author),
                &[("indexable", "true")],
            )
            .await;
        assert_eq!(code, 200);

        let public = post_status(
            &instance,
            &author,
            &[("status", "Glucose sensor #diabetes")],
        )
        .await;
        let private = post_status(
            &instance,
            &author,
            &[("status", "glucose results"), ("visibility", "private")],
        )
        .await;
        let direct = post_status(
            &instance,
            &author,
            &[("status", "glucose for @shy"), ("visibility", "direct")],
        )
        .await;
        let unindexed = post_status(&instance, &shy, &[("status", "my glucose diary")]).await;
        let found = |body: &Value| ids(&body["statuses"]);

        let q = "/api/v2/search?q=glucose&type=statuses";
        let (code, body) = instance.get(q, Some(&stranger)).await;
        assert_eq!(code, 200, "{body}");
        assert_eq!(found(&body), vec![ids(&json!([public]))[0].clone()]);
        let (_, body) = instance.get(q, Some(&follower)).await;
        assert_eq!(
            found(&body),
            ids(&json!([private.clone(), public.clone()])),
            "a follower finds the followers-only post"
        );
        let (_, body) = instance.get(q, Some(&shy)).await;
        assert_eq!(
            found(&body),
            ids(&json!([unindexed.clone(), direct.clone(), public.clone()])),
            "own posts and posts addressed to the viewer"
        );
        let (_, body) = instance.get(q, Some(&author)).await;
        assert_eq!(
            found(&body),
            ids(&json!([direct.clone(), private.clone(), public.clone()])),
            "a post of an account that did not opt in is never found by others"
        );
        let (_, body) = instance.get(q, None).await;
        assert_eq!(
            body["statuses"],
            json!([]),
            "no full-text search without signing in"
        );
        let (_, body) = instance
            .get(
                &format!("{q}&account_id={author_id}&limit=1&offset=1"),
                Some(&follower),
            )
            .await;
        assert_eq!(found(&body), ids(&json!([public.clone()])));

        // Accounts by name prefix, exact first; hashtags by prefix; `#` looks for tags only.
        let (_, body) = instance.get("/api/v2/search?q=auth", Some(&stranger)).await;
        assert_eq!(body["accounts"][0]["username"], "author");
        let (_, body) = instance
            .get("/api/v2/search?q=%23diab", Some(&stranger))
            .await;
        assert_eq!(body["hashtags"][0]["name"], "diabetes");
        assert_eq!(body["hashtags"][0]["history"][0]["uses"], "1");
        assert_eq!(body["statuses"], json!([]));
        assert_eq!(body["accounts"], json!([]));

        for (query, code, message) in [
            ("/api/v2/search?q=x&type=people", 400, "type must be"),
            (
                "/api/v2/search?q=x&limit=many",
                400,
                "limit must be an integer",
            ),
            (
                "/api/v2/search?q=x&resolve=maybe",
                400,
                "resolve must be a boolean",
            ),
        ] {
            let (got, body) = instance.get(query, Some(&stranger)).await;
            assert_eq!(got, code, "{body}");
            assert!(error_of(&body).contains(message), "{body}");
        }
        instance.stop().await;
    }
}

#[tokio::test]
async fn conversations_list_direct_threads_and_are_marked_read_and_hidden() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        instance.create_account("alice", Role::Member, false).await;
        instance.create_account("bob", Role::Member, false).await;
        instance.create_account("carol", Role::Member, false).await;
        let alice = instance.sign_in("alice", "read write follow").await;
        let bob = instance.sign_in("bob", "read write follow").await;
        let carol = instance.sign_in("carol", "read write follow").await;
        let first = post_status(
            &instance,
            &alice,
            &[
                ("status", "@bob how was the appointment?"),
                ("visibility", "direct"),
            ],
        )
        .await;
        let root = first["id"].as_str().unwrap().to_owned();
        let reply = post_status(
            &instance,
            &bob,
            &[
                ("status", "@alice fine, thanks"),
                ("visibility", "direct"),
                ("in_reply_to_id", &root),
            ],
        )
        .await;

        let (code, list) = instance.get("/api/v1/conversations", Some(&alice)).await;
        assert_eq!(code, 200, "{list}");
        assert_eq!(ids(&list), vec![root.clone()]);
        assert_eq!(list[0]["unread"], true);
        assert_eq!(list[0]["last_status"]["id"], reply["id"]);
        assert_eq!(list[0]["accounts"][0]["username"], "bob");
        let (_, of_bob) = instance.get("/api/v1/conversations", Some(&bob)).await;
        assert_eq!(of_bob[0]["unread"], false, "bob wrote the last status");
        let (_, of_carol) = instance.get("/api/v1/conversations", Some(&carol)).await;
        assert_eq!(of_carol, json!([]));

        let read = format!("/api/v1/conversations/{root}/read");
        let (code, body) = instance.post(&read, Some(&carol), &[]).await;
        assert_eq!(code, 404, "{body}");
        assert_eq!(error_of(&body), "Record not found");
        let (code, marked) = instance.post(&read, Some(&alice), &[]).await;
        assert_eq!(code, 200, "{marked}");
        assert_eq!(marked["unread"], false);
        let (code, _) = instance
            .delete(&format!("/api/v1/conversations/{root}"), Some(&carol))
            .await;
        assert_eq!(code, 404);
        let (code, _) = instance
            .delete(&format!("/api/v1/conversations/{root}"), Some(&alice))
            .await;
        assert_eq!(code, 200);
        let (_, list) = instance.get("/api/v1/conversations", Some(&alice)).await;
        assert_eq!(list, json!([]));
        let (_, of_bob) = instance.get("/api/v1/conversations", Some(&bob)).await;
        assert_eq!(ids(&of_bob), vec![root.clone()], "hiding is per account");
        instance.stop().await;
    }
}

#[tokio::test]
async fn followed_tags_join_the_home_timeline_only_with_posts_the_viewer_may_see() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        instance.create_account("writer", Role::Member, false).await;
        instance.create_account("reader", Role::Member, false).await;
        let writer = instance.sign_in("writer", "read write follow").await;
        let reader = instance.sign_in("reader", "read write follow").await;

        let (code, tag) = instance
            .post("/api/v1/tags/Asthma/follow", Some(&reader), &[])
            .await;
        assert_eq!(code, 200, "{tag}");
        assert_eq!(tag["name"], "asthma");
        assert_eq!(tag["following"], true);
        let (code, body) = instance
            .post("/api/v1/tags/not-a-tag/follow", Some(&reader), &[])
            .await;
        assert_eq!(code, 422, "{body}");
        assert_eq!(error_of(&body), "Validation failed: Name is invalid");
        assert_eq!(
            count(&instance, "SELECT COUNT(*) FROM followed_tags").await,
            1
        );

        let open = post_status(&instance, &writer, &[("status", "inhaler tips #asthma")]).await;
        let closed = post_status(
            &instance,
            &writer,
            &[("status", "private #asthma"), ("visibility", "private")],
        )
        .await;
        let (_, home) = instance.get("/api/v1/timelines/home", Some(&reader)).await;
        assert_eq!(ids(&home), ids(&json!([open])));
        assert!(!ids(&home).contains(&closed["id"].as_str().unwrap().to_owned()));
        let (_, followed) = instance.get("/api/v1/followed_tags", Some(&reader)).await;
        assert_eq!(followed[0]["name"], "asthma");
        let (_, tag) = instance
            .post("/api/v1/tags/asthma/unfollow", Some(&reader), &[])
            .await;
        assert_eq!(tag["following"], false);
        let (_, home) = instance.get("/api/v1/timelines/home", Some(&reader)).await;
        assert_eq!(home, json!([]));
        instance.stop().await;
    }
}

#[tokio::test]
async fn featured_tags_and_endorsements_belong_to_their_account() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        let owner_id = instance.create_account("owner", Role::Member, false).await;
        let friend_id = instance.create_account("friend", Role::Member, false).await;
        let owner = instance.sign_in("owner", "read write follow").await;
        let friend = instance.sign_in("friend", "read write follow").await;
        post_status(&instance, &owner, &[("status", "#rarecare again")]).await;

        let (code, featured) = instance
            .post(
                "/api/v1/featured_tags",
                Some(&owner),
                &[("name", "#RareCare")],
            )
            .await;
        assert_eq!(code, 200, "{featured}");
        assert_eq!(featured["name"], "rarecare");
        assert_eq!(featured["statuses_count"], 1);
        let (code, body) = instance
            .post("/api/v1/featured_tags", Some(&owner), &[("name", "")])
            .await;
        assert_eq!(code, 422, "{body}");
        let (_, public) = instance
            .get(&format!("/api/v1/accounts/{owner_id}/featured_tags"), None)
            .await;
        assert_eq!(ids(&public), ids(&json!([featured.clone()])));
        let path = format!("/api/v1/featured_tags/{}", featured["id"].as_str().unwrap());
        let (code, _) = instance.delete(&path, Some(&friend)).await;
        assert_eq!(code, 404, "another account's featured tag");
        let (code, _) = instance.delete(&path, Some(&owner)).await;
        assert_eq!(code, 200);
        assert_eq!(
            count(&instance, "SELECT COUNT(*) FROM featured_tags").await,
            0
        );
        let (_, suggested) = instance
            .get("/api/v1/featured_tags/suggestions", Some(&owner))
            .await;
        assert_eq!(suggested[0]["name"], "rarecare");

        let pin = format!("/api/v1/accounts/{friend_id}/pin");
        let (code, body) = instance.post(&pin, Some(&owner), &[]).await;
        assert_eq!(code, 422, "{body}");
        assert!(error_of(&body).contains("must be following"));
        assert_eq!(
            count(&instance, "SELECT COUNT(*) FROM endorsements").await,
            0
        );
        follow(&instance, &owner, &friend_id.to_string()).await;
        let (code, relationship) = instance.post(&pin, Some(&owner), &[]).await;
        assert_eq!(code, 200, "{relationship}");
        assert_eq!(relationship["endorsed"], true);
        let (_, endorsed) = instance.get("/api/v1/endorsements", Some(&owner)).await;
        assert_eq!(endorsed[0]["username"], "friend");
        let (_, unpinned) = instance
            .post(
                &format!("/api/v1/accounts/{friend_id}/unpin"),
                Some(&owner),
                &[],
            )
            .await;
        assert_eq!(unpinned["endorsed"], false);
        instance.stop().await;
    }
}

#[tokio::test]
async fn user_domain_blocks_are_listed_removed_and_bad_domains_refused() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        instance.create_account("owner", Role::Member, false).await;
        let owner = instance.sign_in("owner", "read write follow").await;
        let (code, body) = instance
            .post(
                "/api/v1/domain_blocks",
                Some(&owner),
                &[("domain", "Spam.Example")],
            )
            .await;
        assert_eq!(code, 200, "{body}");
        let (_, listed) = instance.get("/api/v1/domain_blocks", Some(&owner)).await;
        assert_eq!(listed, json!(["spam.example"]));
        let own_domain = instance.domain.clone();
        for domain in ["", "not a domain", own_domain.as_str()] {
            let (code, body) = instance
                .post("/api/v1/domain_blocks", Some(&owner), &[("domain", domain)])
                .await;
            assert_eq!(code, 422, "{domain}: {body}");
            assert!(error_of(&body).starts_with("Validation failed"));
        }
        assert_eq!(
            count(&instance, "SELECT COUNT(*) FROM account_domain_blocks").await,
            1
        );
        let (code, _) = delete_form(
            &instance,
            "/api/v1/domain_blocks",
            &owner,
            &[("domain", "spam.example")],
        )
        .await;
        assert_eq!(code, 200);
        let (_, listed) = instance.get("/api/v1/domain_blocks", Some(&owner)).await;
        assert_eq!(listed, json!([]));
        instance.stop().await;
    }
}

#[tokio::test]
async fn polls_federate_as_questions_and_remote_votes_are_counted_through_the_read_gate() {
    for engine in engines() {
        let mut instance = Instance::start_named(engine, "alpha", &[]).await;
        instance.create_account("author", Role::Member, false).await;
        let author = instance.sign_in("author", "read write follow").await;
        let status = post_status(
            &instance,
            &author,
            &[
                ("status", "Which clinic?"),
                ("poll[options][]", "North"),
                ("poll[options][]", "South"),
            ],
        )
        .await;
        let private = post_status(
            &instance,
            &author,
            &[
                ("status", "Followers: which day?"),
                ("visibility", "private"),
                ("poll[options][]", "Monday"),
                ("poll[options][]", "Friday"),
            ],
        )
        .await;
        let fan = instance
            .store()
            .upsert_remote_account(&cohort_store::NewRemoteAccount {
                username: "fan".into(),
                domain: cohort_model::Domain::parse("remote.example").unwrap(),
                actor_uri: "https://remote.example/users/fan".into(),
                inbox_uri: "https://remote.example/users/fan/inbox".into(),
                shared_inbox_uri: None,
                followers_uri: None,
                display_name: "fan".into(),
                is_group: false,
            })
            .await
            .unwrap();
        let actor_uri = status["account"]["uri"].as_str().unwrap().to_owned();
        let vote = |n: u32, question: &str, name: &str| {
            json!({
                "id": format!("https://remote.example/votes/{n}/activity"),
                "type": "Create",
                "actor": "https://remote.example/users/fan",
                "to": [actor_uri],
                "object": {
                    "id": format!("https://remote.example/votes/{n}"),
                    "type": "Note",
                    "name": name,
                    "attributedTo": "https://remote.example/users/fan",
                    "inReplyTo": question,
                    "to": [actor_uri],
                },
            })
            .to_string()
        };
        let public_uri = status["uri"].as_str().unwrap();
        let private_uri = private["uri"].as_str().unwrap();
        // A vote, the same vote again, a second choice in a single-choice poll, an unknown
        // option, and a vote in a followers-only poll the voter may not see.
        for (n, question, name) in [
            (1, public_uri, "South"),
            (1, public_uri, "South"),
            (2, public_uri, "North"),
            (3, public_uri, "West"),
            (4, private_uri, "Monday"),
        ] {
            instance
                .store()
                .enqueue_inbox_activity(
                    &format!("https://remote.example/votes/{n}/activity"),
                    "https://remote.example/users/fan",
                    &vote(n, question, name),
                )
                .await
                .unwrap();
        }
        instance.drain_once().await;
        let poll_id = status["poll"]["id"].as_str().unwrap();
        let (_, poll) = instance
            .get(&format!("/api/v1/polls/{poll_id}"), Some(&author))
            .await;
        assert_eq!(poll["options"][0]["votes_count"], 0, "{poll}");
        assert_eq!(poll["options"][1]["votes_count"], 1, "{poll}");
        assert_eq!(poll["voters_count"], 1);
        assert_eq!(count(&instance, "SELECT COUNT(*) FROM poll_votes").await, 1);
        assert_eq!(
            count(&instance, "SELECT COUNT(*) FROM statuses").await,
            2,
            "votes are not posts"
        );
        let _ = fan;

        // A remote Question is stored with its poll and the origin's counts; Update(Question)
        // refreshes them; voting in it here is refused (the vote would not reach its origin).
        let question_json = |kind: &str, n: u32, south: i64| {
            json!({
                "id": format!("https://remote.example/questions/1/{kind}/{n}"),
                "type": kind,
                "actor": "https://remote.example/users/fan",
                "to": ["https://www.w3.org/ns/activitystreams#Public"],
                "cc": [actor_uri],
                "object": {
                    "id": "https://remote.example/questions/1",
                    "type": "Question",
                    "attributedTo": "https://remote.example/users/fan",
                    "content": "<p>@author East or West?</p>",
                    "to": ["https://www.w3.org/ns/activitystreams#Public"],
                    "cc": [actor_uri],
                    "tag": [{"type": "Mention", "href": actor_uri}],
                    "endTime": "2099-01-01T00:00:00Z",
                    "votersCount": 2 + south,
                    "oneOf": [
                        {"type": "Note", "name": "East", "replies": {"type": "Collection", "totalItems": 2}},
                        {"type": "Note", "name": "West", "replies": {"type": "Collection", "totalItems": south}},
                    ],
                },
            })
            .to_string()
        };
        for (kind, n, west) in [("Create", 1, 0), ("Update", 2, 5)] {
            instance
                .store()
                .enqueue_inbox_activity(
                    &format!("https://remote.example/questions/1/{kind}/{n}"),
                    "https://remote.example/users/fan",
                    &question_json(kind, n, west),
                )
                .await
                .unwrap();
            instance.drain_once().await;
        }
        let (_, notes) = instance.get("/api/v1/notifications", Some(&author)).await;
        let remote_status = notes
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["type"] == "mention")
            .map(|n| n["status"].clone())
            .unwrap_or_else(|| panic!("no mention of the Question: {notes}"));
        let remote_id = remote_status["id"].as_str().unwrap();
        let (_, remote_status) = instance
            .get(&format!("/api/v1/statuses/{remote_id}"), Some(&author))
            .await;
        let remote_poll = &remote_status["poll"];
        assert_eq!(
            remote_poll["options"],
            json!([{"title": "East", "votes_count": 2}, {"title": "West", "votes_count": 5}]),
            "{remote_status}"
        );
        assert_eq!(remote_poll["voters_count"], 7);
        let (code, body) = post_json(
            &instance,
            &format!(
                "/api/v1/polls/{}/votes",
                remote_poll["id"].as_str().unwrap()
            ),
            &author,
            &json!({"choices": [0]}),
        )
        .await;
        // A vote in a remote poll is counted here at once and queued for the poll's origin.
        assert_eq!(code, 200, "{body}");
        assert_eq!(body["voted"], true);
        assert_eq!(body["own_votes"], json!([0]));
        assert_eq!(
            body["options"],
            json!([{"title": "East", "votes_count": 3}, {"title": "West", "votes_count": 5}])
        );
        assert_eq!(body["voters_count"], 8);

        // The status as ActivityPub: a Question with the counts as replies.
        // Fetched signed by another instance (authorized fetch).
        let beta = Instance::start_named(engine, "beta", &[]).await;
        let question = beta
            .server
            .federation
            .fetcher()
            .fetch(public_uri)
            .await
            .unwrap();
        assert_eq!(question["type"], "Question", "{question}");
        assert_eq!(question["oneOf"][1]["name"], "South");
        assert_eq!(question["oneOf"][1]["replies"]["totalItems"], 1);
        assert_eq!(question["votersCount"], 1);
        assert!(question["endTime"].is_string());
        beta.stop().await;
        instance.stop().await;
    }
}

#[tokio::test]
async fn the_tag_timeline_combines_any_all_and_none() {
    for engine in engines() {
        let mut alpha = Instance::start(engine, &[]).await;
        alpha.create_account("pat", Role::Member, false).await;
        let pat = alpha.sign_in("pat", "read write").await;
        let mut ids = std::collections::HashMap::new();
        for (name, text) in [
            ("flu", "#flu season"),
            ("flu_covid", "#flu and #covid"),
            ("covid", "#covid only"),
            ("flu_rsv", "#flu with #rsv"),
            ("other", "#asthma"),
        ] {
            let status =
                post_status(&alpha, &pat, &[("status", text), ("visibility", "public")]).await;
            ids.insert(status["id"].as_str().unwrap().to_owned(), name);
        }
        let names = |body: &Value| -> Vec<&str> {
            body.as_array()
                .unwrap()
                .iter()
                .map(|s| ids[s["id"].as_str().unwrap()])
                .collect()
        };
        let (status, plain) = alpha.get("/api/v1/timelines/tag/flu", None).await;
        assert_eq!(status, 200);
        assert_eq!(names(&plain), vec!["flu_rsv", "flu_covid", "flu"]);
        let (_, any) = alpha
            .get("/api/v1/timelines/tag/flu?any[]=covid", None)
            .await;
        assert_eq!(names(&any), vec!["flu_rsv", "covid", "flu_covid", "flu"]);
        let (_, all) = alpha
            .get("/api/v1/timelines/tag/flu?all[]=covid", None)
            .await;
        assert_eq!(names(&all), vec!["flu_covid"]);
        let (_, none) = alpha
            .get("/api/v1/timelines/tag/flu?none[]=rsv&none[]=%23covid", None)
            .await;
        assert_eq!(names(&none), vec!["flu"]);
        let (status, body) = alpha
            .get(
                "/api/v1/timelines/tag/flu?any[]=a&any[]=b&any[]=c&any[]=d&any[]=e",
                None,
            )
            .await;
        assert_eq!(status, 422, "{body}");
        assert!(body["error"].as_str().unwrap().contains("at most 4"));
        alpha.stop().await;
    }
}
