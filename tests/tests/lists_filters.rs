//! Lists and filters over real HTTP, on SQLite and PostgreSQL: what each view shows, and
//! every handled bad input (right status, Mastodon's error JSON, nothing written).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use cohort_model::Role;
use cohort_store::{FilterAction, FilterContext, FilterFields, NewKeyword};
use cohort_tests::harness::{Instance, engines};
use serde_json::{Value, json};

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

async fn post_status(instance: &Instance, token: &str, text: &str) -> String {
    let (status, body) = instance
        .post("/api/v1/statuses", Some(token), &[("status", text)])
        .await;
    assert_eq!(status, 200, "{body}");
    body["id"].as_str().unwrap().to_owned()
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
    assert_eq!(body["following"], true, "{body}");
}

#[tokio::test]
async fn lists_hold_followed_accounts_and_show_their_posts() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        instance.create_account("pat", Role::Member, false).await;
        let sam_id = instance
            .create_account("sam", Role::Member, false)
            .await
            .to_string();
        let kim_id = instance
            .create_account("kim", Role::Member, false)
            .await
            .to_string();
        let pat = instance.sign_in("pat", "read write follow").await;
        let sam = instance.sign_in("sam", "read write follow").await;
        let kim = instance.sign_in("kim", "read write follow").await;
        follow(&instance, &pat, &sam_id).await;
        follow(&instance, &pat, &kim_id).await;

        let (status, list) = instance
            .post("/api/v1/lists", Some(&pat), &[("title", "Care team")])
            .await;
        assert_eq!(status, 200, "{list}");
        assert_eq!(list["title"], "Care team");
        assert_eq!(list["replies_policy"], "list");
        assert_eq!(list["exclusive"], false);
        let list_id = list["id"].as_str().unwrap().to_owned();
        let (status, all) = instance.get("/api/v1/lists", Some(&pat)).await;
        assert_eq!(status, 200);
        assert_eq!(all, json!([list]));

        let members = format!("/api/v1/lists/{list_id}/accounts");
        let (status, body) = instance
            .post(&members, Some(&pat), &[("account_ids[]", sam_id.as_str())])
            .await;
        assert_eq!(status, 200, "{body}");
        let (_, listed) = instance.get(&members, Some(&pat)).await;
        assert_eq!(ids(&listed), vec![sam_id.clone()]);
        let (_, of_sam) = instance
            .get(&format!("/api/v1/accounts/{sam_id}/lists"), Some(&pat))
            .await;
        assert_eq!(ids(&of_sam), vec![list_id.clone()]);
        let (_, of_kim) = instance
            .get(&format!("/api/v1/accounts/{kim_id}/lists"), Some(&pat))
            .await;
        assert_eq!(of_kim, json!([]));

        let by_sam = post_status(&instance, &sam, "from sam").await;
        let by_kim = post_status(&instance, &kim, "from kim").await;
        // The read gate still decides: a member's direct message to someone else stays out.
        let (status, dm) = instance
            .post(
                "/api/v1/statuses",
                Some(&sam),
                &[("status", "@kim just for you"), ("visibility", "direct")],
            )
            .await;
        assert_eq!(status, 200, "{dm}");
        let timeline = format!("/api/v1/timelines/list/{list_id}");
        let (status, items) = instance.get(&timeline, Some(&pat)).await;
        assert_eq!(status, 200, "{items}");
        assert_eq!(ids(&items), vec![by_sam.clone()]);
        let (_, home) = instance.get("/api/v1/timelines/home", Some(&pat)).await;
        assert_eq!(ids(&home), vec![by_kim.clone(), by_sam.clone()]);

        // Exclusive: sam's posts are read in the list only.
        let (status, updated) = put(
            &instance,
            &format!("/api/v1/lists/{list_id}"),
            &pat,
            &[("exclusive", "true"), ("replies_policy", "none")],
        )
        .await;
        assert_eq!(status, 200, "{updated}");
        assert_eq!(updated["title"], "Care team");
        assert_eq!(updated["exclusive"], true);
        assert_eq!(updated["replies_policy"], "none");
        let (_, home) = instance.get("/api/v1/timelines/home", Some(&pat)).await;
        assert_eq!(ids(&home), vec![by_kim.clone()]);
        let (_, items) = instance.get(&timeline, Some(&pat)).await;
        assert_eq!(ids(&items), vec![by_sam.clone()]);

        // Link pagination over the list timeline.
        let second = post_status(&instance, &sam, "again from sam").await;
        let response = instance
            .http
            .get(instance.url(&format!("{timeline}?limit=1")))
            .bearer_auth(&pat)
            .send()
            .await
            .unwrap();
        let link = response.headers()["link"].to_str().unwrap().to_owned();
        assert!(link.contains(&format!("max_id={second}")), "{link}");
        let page: Value = response.json().await.unwrap();
        assert_eq!(ids(&page), vec![second]);

        // Unfollowing takes sam out of the list (and back into nothing).
        let (status, _) = instance
            .post(
                &format!("/api/v1/accounts/{sam_id}/unfollow"),
                Some(&pat),
                &[],
            )
            .await;
        assert_eq!(status, 200);
        let (_, listed) = instance.get(&members, Some(&pat)).await;
        assert_eq!(listed, json!([]));

        // Removing and deleting.
        follow(&instance, &pat, &sam_id).await;
        instance
            .post(&members, Some(&pat), &[("account_ids[]", sam_id.as_str())])
            .await;
        let response = instance
            .http
            .delete(instance.url(&members))
            .bearer_auth(&pat)
            .form(&[("account_ids[]", sam_id.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let (_, listed) = instance.get(&members, Some(&pat)).await;
        assert_eq!(listed, json!([]));
        let (status, _) = instance
            .delete(&format!("/api/v1/lists/{list_id}"), Some(&pat))
            .await;
        assert_eq!(status, 200);
        let (status, _) = instance
            .get(&format!("/api/v1/lists/{list_id}"), Some(&pat))
            .await;
        assert_eq!(status, 404);
        instance.stop().await;
    }
}

#[tokio::test]
async fn bad_list_requests_are_refused_and_nothing_is_written() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        instance.create_account("pat", Role::Member, false).await;
        instance.create_account("sam", Role::Member, false).await;
        let kim_id = instance
            .create_account("kim", Role::Member, false)
            .await
            .to_string();
        let pat = instance.sign_in("pat", "read write follow").await;
        let sam = instance.sign_in("sam", "read write follow").await;
        let pat_read_only = instance.sign_in("pat", "read").await;
        let pat_statuses_only = instance.sign_in("pat", "read:statuses").await;
        let (_, list) = instance
            .post("/api/v1/lists", Some(&pat), &[("title", "Mine")])
            .await;
        let list_id = list["id"].as_str().unwrap().to_owned();
        let lists_before = count(&instance, "SELECT COUNT(*) FROM lists").await;

        for (case, form) in [
            ("missing title", vec![]),
            ("blank title", vec![("title", "  ")]),
            (
                "unknown replies_policy",
                vec![("title", "x"), ("replies_policy", "everyone")],
            ),
        ] {
            let (status, body) = instance.post("/api/v1/lists", Some(&pat), &form).await;
            assert_eq!(status, 422, "{case}: {body}");
            error_of(&body);
        }
        let (status, body) = instance
            .post(
                "/api/v1/lists",
                Some(&pat),
                &[("title", "x"), ("exclusive", "perhaps")],
            )
            .await;
        assert_eq!(status, 400, "malformed boolean: {body}");
        assert_eq!(
            count(&instance, "SELECT COUNT(*) FROM lists").await,
            lists_before
        );

        // Unknown ids and other accounts' lists are 404, the same answer.
        for who in [&pat, &sam] {
            let target = if who == &pat {
                "12345"
            } else {
                list_id.as_str()
            };
            for path in [
                format!("/api/v1/lists/{target}"),
                format!("/api/v1/lists/{target}/accounts"),
                format!("/api/v1/timelines/list/{target}"),
            ] {
                let (status, body) = instance.get(&path, Some(who)).await;
                assert_eq!(status, 404, "{path}: {body}");
                assert_eq!(error_of(&body), "Record not found");
            }
            let (status, _) = put(
                &instance,
                &format!("/api/v1/lists/{target}"),
                who,
                &[("title", "stolen")],
            )
            .await;
            assert_eq!(status, 404);
            let (status, _) = instance
                .delete(&format!("/api/v1/lists/{target}"), Some(who))
                .await;
            assert_eq!(status, 404);
        }
        let (status, _) = instance.get("/api/v1/lists/not-an-id", Some(&pat)).await;
        assert_eq!(status, 404);
        let (_, still) = instance
            .get(&format!("/api/v1/lists/{list_id}"), Some(&pat))
            .await;
        assert_eq!(still["title"], "Mine");

        // Members: only followed accounts, unknown accounts 404, none given 422.
        let members = format!("/api/v1/lists/{list_id}/accounts");
        let (status, body) = instance
            .post(&members, Some(&pat), &[("account_ids[]", kim_id.as_str())])
            .await;
        assert_eq!(status, 422, "an unfollowed account: {body}");
        error_of(&body);
        let (status, _) = instance
            .post(&members, Some(&pat), &[("account_ids[]", "999999")])
            .await;
        assert_eq!(status, 404, "an unknown account");
        let (status, _) = instance.post(&members, Some(&pat), &[]).await;
        assert_eq!(status, 422, "no account_ids");
        let (status, _) = instance
            .get("/api/v1/accounts/999999/lists", Some(&pat))
            .await;
        assert_eq!(status, 404);
        assert_eq!(
            count(&instance, "SELECT COUNT(*) FROM list_accounts").await,
            0
        );

        // Scopes: read:lists to read, write:lists to change.
        let (status, body) = instance
            .post("/api/v1/lists", Some(&pat_read_only), &[("title", "x")])
            .await;
        assert_eq!(status, 403, "{body}");
        error_of(&body);
        let (status, _) = instance
            .get("/api/v1/lists", Some(&pat_statuses_only))
            .await;
        assert_eq!(status, 403);
        let (status, _) = instance
            .get(
                &format!("/api/v1/timelines/list/{list_id}"),
                Some(&pat_statuses_only),
            )
            .await;
        assert_eq!(status, 403);
        let (status, _) = instance.get("/api/v1/lists", None).await;
        assert_eq!(status, 401);
        instance.stop().await;
    }
}

#[tokio::test]
async fn filters_hide_and_warn_in_every_view() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        let pat_id = instance.create_account("pat", Role::Member, false).await;
        let sam_id = instance
            .create_account("sam", Role::Member, false)
            .await
            .to_string();
        let pat = instance.sign_in("pat", "read write follow").await;
        let sam = instance.sign_in("sam", "read write follow").await;
        follow(&instance, &pat, &sam_id).await;

        // A hide filter through JSON, a warn filter through a Rails-style form.
        let (status, hide) = post_json(
            &instance,
            "/api/v2/filters",
            &pat,
            &json!({
                "title": "Spoilers",
                "context": ["home", "public", "thread", "account", "notifications"],
                "filter_action": "hide",
                "keywords_attributes": [{"keyword": "spoiler", "whole_word": true}],
            }),
        )
        .await;
        assert_eq!(status, 200, "{hide}");
        assert_eq!(hide["filter_action"], "hide");
        assert_eq!(hide["keywords"][0]["keyword"], "spoiler");
        let (status, warn) = instance
            .post(
                "/api/v2/filters",
                Some(&pat),
                &[
                    ("title", "Food"),
                    ("context[]", "home"),
                    ("context[]", "public"),
                    ("context[]", "account"),
                    ("keywords_attributes[][keyword]", "pizza"),
                    ("keywords_attributes[][whole_word]", "true"),
                    ("keywords_attributes[][keyword]", "movie"),
                    ("keywords_attributes[][whole_word]", "false"),
                ],
            )
            .await;
        assert_eq!(status, 200, "{warn}");
        assert_eq!(warn["filter_action"], "warn");
        assert_eq!(warn["context"], json!(["home", "public", "account"]));
        assert_eq!(warn["keywords"].as_array().unwrap().len(), 2);
        assert_eq!(warn["keywords"][1]["whole_word"], false);
        // An expired filter does nothing.
        instance
            .store()
            .create_filter(
                pat_id,
                &FilterFields {
                    title: "Old".into(),
                    contexts: FilterContext::ALL.to_vec(),
                    action: FilterAction::Hide,
                    expires_at: Some(1),
                },
                &[NewKeyword {
                    keyword: "plain".into(),
                    whole_word: true,
                }],
            )
            .await
            .unwrap();

        let hidden = post_status(&instance, &sam, "a big SPOILER here").await;
        let warned = post_status(&instance, &sam, "we ate pizza").await;
        let partial = post_status(&instance, &sam, "two pizzas").await;
        let plain = post_status(&instance, &sam, "a plain post").await;
        let own = post_status(&instance, &pat, "my own spoiler").await;

        let expected = vec![own.clone(), plain.clone(), partial.clone(), warned.clone()];
        let (_, home) = instance.get("/api/v1/timelines/home", Some(&pat)).await;
        assert_eq!(ids(&home), expected, "home");
        let warned_json = &home[3];
        assert_eq!(warned_json["filtered"][0]["filter"]["title"], "Food");
        assert_eq!(
            warned_json["filtered"][0]["keyword_matches"],
            json!(["pizza"])
        );
        assert_eq!(warned_json["filtered"][0]["status_matches"], Value::Null);
        assert_eq!(
            home[2]["filtered"],
            json!([]),
            "pizzas is not the word pizza"
        );
        let (_, public) = instance.get("/api/v1/timelines/public", Some(&pat)).await;
        assert_eq!(ids(&public), expected, "public");
        let (_, by_sam) = instance
            .get(&format!("/api/v1/accounts/{sam_id}/statuses"), Some(&pat))
            .await;
        assert_eq!(ids(&by_sam), expected[1..].to_vec(), "account");
        // Others see everything.
        let (_, for_sam) = instance.get("/api/v1/timelines/public", Some(&sam)).await;
        assert!(ids(&for_sam).contains(&hidden));

        // Thread: a hidden reply leaves the context.
        let (_, reply) = instance
            .post(
                "/api/v1/statuses",
                Some(&sam),
                &[
                    ("status", "spoiler reply"),
                    ("in_reply_to_id", plain.as_str()),
                ],
            )
            .await;
        let (_, context) = instance
            .get(&format!("/api/v1/statuses/{plain}/context"), Some(&pat))
            .await;
        assert_eq!(context["descendants"], json!([]), "{reply}");

        // Notifications: a mention that matches the hide filter is left out.
        post_status(&instance, &sam, "@pat about the spoiler").await;
        let mention = post_status(&instance, &sam, "@pat hello").await;
        let (_, notifications) = instance.get("/api/v1/notifications", Some(&pat)).await;
        let statuses: Vec<&str> = notifications
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|n| n["status"]["id"].as_str())
            .collect();
        assert_eq!(statuses, vec![mention.as_str()]);

        // A filtered status: the warn filter names `plain` individually.
        let warn_id = warn["id"].as_str().unwrap();
        let (status, row) = instance
            .post(
                &format!("/api/v2/filters/{warn_id}/statuses"),
                Some(&pat),
                &[("status_id", plain.as_str())],
            )
            .await;
        assert_eq!(status, 200, "{row}");
        assert_eq!(row["status_id"], plain.as_str());
        let (_, home) = instance.get("/api/v1/timelines/home", Some(&pat)).await;
        let plain_json = home
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == plain.as_str())
            .unwrap();
        assert_eq!(
            plain_json["filtered"][0]["status_matches"],
            json!([plain.clone()])
        );

        // Destroying the hide keyword through the v2 update shows the post again.
        let hide_id = hide["id"].as_str().unwrap();
        let keyword_id = hide["keywords"][0]["id"].as_str().unwrap();
        let (status, updated) = put(
            &instance,
            &format!("/api/v2/filters/{hide_id}"),
            &pat,
            &[
                ("keywords_attributes[][id]", keyword_id),
                ("keywords_attributes[][_destroy]", "true"),
            ],
        )
        .await;
        assert_eq!(status, 200, "{updated}");
        assert_eq!(updated["keywords"], json!([]));
        assert_eq!(updated["title"], "Spoilers");
        let (_, home) = instance.get("/api/v1/timelines/home", Some(&pat)).await;
        assert!(ids(&home).contains(&hidden));

        // v1: an irreversible phrase hides; v1 lists keywords as filters.
        let (status, v1) = instance
            .post(
                "/api/v1/filters",
                Some(&pat),
                &[
                    ("phrase", "plain"),
                    ("context[]", "home"),
                    ("irreversible", "true"),
                ],
            )
            .await;
        assert_eq!(status, 200, "{v1}");
        assert_eq!(v1["irreversible"], true);
        assert_eq!(v1["whole_word"], true);
        let (_, home) = instance.get("/api/v1/timelines/home", Some(&pat)).await;
        assert!(!ids(&home).contains(&plain));
        let (_, all_v1) = instance.get("/api/v1/filters", Some(&pat)).await;
        let phrases: Vec<&str> = all_v1
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["phrase"].as_str().unwrap())
            .collect();
        assert_eq!(phrases, vec!["pizza", "movie", "plain", "plain"]);
        let v1_id = v1["id"].as_str().unwrap();
        let (status, changed) = put(
            &instance,
            &format!("/api/v1/filters/{v1_id}"),
            &pat,
            &[("phrase", "plain post"), ("irreversible", "false")],
        )
        .await;
        assert_eq!(status, 200, "{changed}");
        assert_eq!(changed["phrase"], "plain post");
        assert_eq!(changed["irreversible"], false);
        let (status, _) = instance
            .delete(&format!("/api/v1/filters/{v1_id}"), Some(&pat))
            .await;
        assert_eq!(status, 200);
        let (status, _) = instance
            .get(&format!("/api/v1/filters/{v1_id}"), Some(&pat))
            .await;
        assert_eq!(status, 404);
        instance.stop().await;
    }
}

#[tokio::test]
async fn bad_filter_requests_are_refused_and_nothing_is_written() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        instance.create_account("pat", Role::Member, false).await;
        instance.create_account("sam", Role::Member, false).await;
        let pat = instance.sign_in("pat", "read write follow").await;
        let sam = instance.sign_in("sam", "read write follow").await;
        let pat_read_only = instance.sign_in("pat", "read").await;
        let (_, filter) = instance
            .post(
                "/api/v2/filters",
                Some(&pat),
                &[
                    ("title", "Mine"),
                    ("context[]", "home"),
                    ("keywords_attributes[][keyword]", "word"),
                ],
            )
            .await;
        let filter_id = filter["id"].as_str().unwrap().to_owned();
        let keyword_id = filter["keywords"][0]["id"].as_str().unwrap().to_owned();
        let filters_before = count(&instance, "SELECT COUNT(*) FROM filters").await;
        let keywords_before = count(&instance, "SELECT COUNT(*) FROM filter_keywords").await;

        for (case, form) in [
            ("missing title", vec![("context[]", "home")]),
            ("missing context", vec![("title", "x")]),
            (
                "unknown context",
                vec![("title", "x"), ("context[]", "everywhere")],
            ),
            (
                "unknown action",
                vec![
                    ("title", "x"),
                    ("context[]", "home"),
                    ("filter_action", "delete"),
                ],
            ),
            (
                "negative expiry",
                vec![("title", "x"), ("context[]", "home"), ("expires_in", "-5")],
            ),
            (
                "blank keyword",
                vec![
                    ("title", "x"),
                    ("context[]", "home"),
                    ("keywords_attributes[][keyword]", " "),
                ],
            ),
        ] {
            let (status, body) = instance.post("/api/v2/filters", Some(&pat), &form).await;
            assert_eq!(status, 422, "{case}: {body}");
            error_of(&body);
        }
        let (status, body) = instance
            .post("/api/v1/filters", Some(&pat), &[("context[]", "home")])
            .await;
        assert_eq!(status, 422, "v1 without phrase: {body}");
        let (status, _) = instance
            .post(
                "/api/v1/filters",
                Some(&pat),
                &[("phrase", "x"), ("context[]", "nowhere")],
            )
            .await;
        assert_eq!(status, 422, "v1 with a bad context");
        // An update that fails half-way keeps the filter as it was.
        let (status, _) = put(
            &instance,
            &format!("/api/v2/filters/{filter_id}"),
            &pat,
            &[
                ("title", "Renamed"),
                ("keywords_attributes[][keyword]", "added"),
                ("keywords_attributes[][id]", "12345"),
            ],
        )
        .await;
        assert_eq!(status, 404, "a keyword of no filter");
        assert_eq!(
            count(&instance, "SELECT COUNT(*) FROM filters").await,
            filters_before
        );
        assert_eq!(
            count(&instance, "SELECT COUNT(*) FROM filter_keywords").await,
            keywords_before
        );
        let (_, same) = instance
            .get(&format!("/api/v2/filters/{filter_id}"), Some(&pat))
            .await;
        assert_eq!(same, filter);

        // Unknown ids and other accounts' filters are 404.
        for path in [
            format!("/api/v2/filters/{filter_id}"),
            format!("/api/v2/filters/{filter_id}/keywords"),
            format!("/api/v2/filters/{filter_id}/statuses"),
            format!("/api/v2/filters/keywords/{keyword_id}"),
            format!("/api/v2/filter_keywords/{keyword_id}"),
            format!("/api/v1/filters/{keyword_id}"),
        ] {
            let (status, body) = instance.get(&path, Some(&sam)).await;
            assert_eq!(status, 404, "{path}: {body}");
            let (status, _) = instance.delete(&path, Some(&sam)).await;
            assert!(status == 404 || status == 405, "{path}: {status}");
        }
        for path in [
            "/api/v2/filters/12345",
            "/api/v2/filters/statuses/12345",
            "/api/v2/filters/keywords/12345",
        ] {
            let (status, _) = instance.get(path, Some(&pat)).await;
            assert_eq!(status, 404, "{path}");
        }
        // A status the owner may not see cannot be filtered (404, like a missing one).
        let (_, secret) = instance
            .post(
                "/api/v1/statuses",
                Some(&sam),
                &[("status", "followers only"), ("visibility", "private")],
            )
            .await;
        let (status, _) = instance
            .post(
                &format!("/api/v2/filters/{filter_id}/statuses"),
                Some(&pat),
                &[("status_id", secret["id"].as_str().unwrap())],
            )
            .await;
        assert_eq!(status, 404);
        assert_eq!(
            count(&instance, "SELECT COUNT(*) FROM filter_statuses").await,
            0
        );
        assert_eq!(
            count(&instance, "SELECT COUNT(*) FROM filters").await,
            filters_before
        );

        // Scopes.
        let (status, body) = instance
            .post(
                "/api/v2/filters",
                Some(&pat_read_only),
                &[("title", "x"), ("context[]", "home")],
            )
            .await;
        assert_eq!(status, 403, "{body}");
        error_of(&body);
        let (status, _) = instance.get("/api/v2/filters", None).await;
        assert_eq!(status, 401);
        instance.stop().await;
    }
}
