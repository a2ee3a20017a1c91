//! Communities on one instance, over real HTTP, on SQLite and PostgreSQL: the communities
//! API of `shared/notes/communities-api.md`, the Mastodon way in (follow the Group, mention
//! it), members-only content that nobody else sees through any read path, and every
//! handled bad input (right status, Mastodon's error JSON, nothing written).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use cohort_model::Role;
use cohort_tests::harness::{Instance, engines};
use serde_json::Value;

const SCOPES: &str = "read write follow";

/// A refused creation: (case, token, form, expected status).
type BadCreate<'a> = (&'a str, Option<&'a str>, Vec<(&'a str, &'a str)>, u16);

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Ids of the statuses in a timeline, boosts replaced by what they boost.
fn shown(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|v| {
            if v["reblog"].is_object() {
                v["reblog"]["id"].as_str().unwrap().to_owned()
            } else {
                v["id"].as_str().unwrap().to_owned()
            }
        })
        .collect()
}

async fn count(instance: &Instance, sql: &'static str) -> i64 {
    instance.store().scalar_i64_for_tests(sql).await.unwrap()
}

#[tokio::test]
async fn a_mastodon_app_joins_by_following_and_posts_by_mentioning() {
    for engine in engines() {
        let mut alpha = Instance::start(engine, &[]).await;
        alpha.create_account("admin", Role::Admin, false).await;
        alpha.create_account("pat", Role::Member, false).await;
        alpha.create_account("sam", Role::Member, false).await;
        let admin = alpha.sign_in("admin", SCOPES).await;
        let pat = alpha.sign_in("pat", SCOPES).await;
        let sam = alpha.sign_in("sam", SCOPES).await;

        let (status, created) = alpha
            .post(
                "/api/v1/communities",
                Some(&admin),
                &[
                    ("name", "diabetes"),
                    ("title", "Type 1 diabetes"),
                    ("description", "Peer support for #T1D"),
                    ("rules[]", "Be kind"),
                    ("rules[]", "No patient details"),
                ],
            )
            .await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["name"], "diabetes");
        assert_eq!(created["acct"], "diabetes");
        assert_eq!(created["membership"], "open");
        assert_eq!(created["visibility"], "public");
        assert_eq!(created["members_count"], 1);
        assert_eq!(created["rules"][1]["text"], "No patient details");
        assert_eq!(created["account"]["group"], true);
        assert_eq!(created["account"]["locked"], false);
        assert_eq!(created["relationship"]["owner"], true);
        let group = created["account"]["id"].as_str().unwrap().to_owned();

        // The Group is an account a Mastodon app can look up and follow.
        let (status, looked_up) = alpha
            .get("/api/v1/accounts/lookup?acct=diabetes", Some(&pat))
            .await;
        assert_eq!(status, 200);
        assert_eq!(looked_up["group"], true);
        let (status, rel) = alpha
            .post(&format!("/api/v1/accounts/{group}/follow"), Some(&pat), &[])
            .await;
        assert_eq!(status, 200, "{rel}");
        assert_eq!(rel["following"], true);
        let (_, community) = alpha.get("/api/v1/communities/diabetes", Some(&pat)).await;
        assert_eq!(community["members_count"], 2);
        assert_eq!(community["relationship"]["member"], true);

        // Posting = mentioning the Group.
        let (status, thread) = alpha
            .post(
                "/api/v1/statuses",
                Some(&pat),
                &[("status", "@diabetes how do you handle night lows?")],
            )
            .await;
        assert_eq!(status, 200, "{thread}");
        let thread_id = thread["id"].as_str().unwrap().to_owned();
        let (_, threads) = alpha
            .get("/api/v1/communities/diabetes/statuses", None)
            .await;
        assert_eq!(ids(&threads), vec![thread_id.clone()]);
        // The Group announces it: its account timeline shows the thread as a boost, and so
        // does a member's home timeline.
        let (_, group_statuses) = alpha
            .get(&format!("/api/v1/accounts/{group}/statuses"), None)
            .await;
        assert_eq!(shown(&group_statuses), vec![thread_id.clone()]);
        let (_, home) = alpha.get("/api/v1/timelines/home", Some(&admin)).await;
        assert!(shown(&home).contains(&thread_id), "{home}");

        // A reply by the owner stays in the community, and is no thread of its own.
        let (status, reply) = alpha
            .post(
                "/api/v1/statuses",
                Some(&admin),
                &[
                    ("status", "Glucose tabs by the bed."),
                    ("in_reply_to_id", &thread_id),
                ],
            )
            .await;
        assert_eq!(status, 200, "{reply}");
        let (_, threads) = alpha
            .get("/api/v1/communities/diabetes/statuses", None)
            .await;
        assert_eq!(ids(&threads), vec![thread_id.clone()]);

        // Sam is no member: posting to the community is refused, nothing stored.
        let before = count(&alpha, "SELECT COUNT(*) FROM statuses").await;
        let (status, body) = alpha
            .post(
                "/api/v1/statuses",
                Some(&sam),
                &[("status", "@diabetes hello")],
            )
            .await;
        assert_eq!(status, 403, "{body}");
        assert!(body["error"].as_str().unwrap().contains("not a member"));
        let (status, _) = alpha
            .post(
                "/api/v1/statuses",
                Some(&sam),
                &[("status", "me too"), ("in_reply_to_id", &thread_id)],
            )
            .await;
        assert_eq!(status, 403);
        assert_eq!(count(&alpha, "SELECT COUNT(*) FROM statuses").await, before);

        // Unfollowing the Group is leaving.
        let (_, rel) = alpha
            .post(
                &format!("/api/v1/accounts/{group}/unfollow"),
                Some(&pat),
                &[],
            )
            .await;
        assert_eq!(rel["following"], false);
        let (_, community) = alpha.get("/api/v1/communities/diabetes", Some(&pat)).await;
        assert_eq!(community["members_count"], 1);
        alpha.stop().await;
    }
}

#[tokio::test]
async fn members_only_communities_show_nothing_to_non_members_through_any_path() {
    for engine in engines() {
        let mut alpha = Instance::start(engine, &[]).await;
        alpha.create_account("admin", Role::Admin, false).await;
        alpha.create_account("pat", Role::Member, false).await;
        alpha.create_account("sam", Role::Member, false).await;
        let admin = alpha.sign_in("admin", SCOPES).await;
        let pat = alpha.sign_in("pat", SCOPES).await;
        let sam = alpha.sign_in("sam", SCOPES).await;
        let (status, created) = alpha
            .post(
                "/api/v1/communities",
                Some(&admin),
                &[
                    ("name", "oncology"),
                    ("membership", "approval"),
                    ("visibility", "members"),
                ],
            )
            .await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["account"]["locked"], true);
        let community = created["id"].as_str().unwrap().to_owned();
        let group = created["account"]["id"].as_str().unwrap().to_owned();
        let pat_id = alpha
            .get("/api/v1/accounts/verify_credentials", Some(&pat))
            .await
            .1["id"]
            .as_str()
            .unwrap()
            .to_owned();

        // Request, then approval, then content.
        let (status, joined) = alpha
            .post(
                &format!("/api/v1/communities/{community}/join"),
                Some(&pat),
                &[],
            )
            .await;
        assert_eq!(status, 200, "{joined}");
        assert_eq!(joined["relationship"]["requested"], true);
        assert_eq!(joined["relationship"]["member"], false);
        let (status, _) = alpha
            .get(
                &format!("/api/v1/communities/{community}/join_requests"),
                Some(&pat),
            )
            .await;
        assert_eq!(status, 403, "only moderators see requests");
        let (_, waiting) = alpha
            .get(
                &format!("/api/v1/communities/{community}/join_requests"),
                Some(&admin),
            )
            .await;
        assert_eq!(ids(&waiting), vec![pat_id.clone()]);
        let (status, _) = alpha
            .post(
                &format!("/api/v1/communities/{community}/join_requests/{pat_id}/authorize"),
                Some(&admin),
                &[],
            )
            .await;
        assert_eq!(status, 200);
        let (status, _) = alpha
            .post(
                &format!("/api/v1/communities/{community}/join_requests/{pat_id}/authorize"),
                Some(&admin),
                &[],
            )
            .await;
        assert_eq!(status, 404, "no request is left");

        let (status, post) = alpha
            .post(
                "/api/v1/statuses",
                Some(&pat),
                &[("status", "@oncology scan results are in, nervous")],
            )
            .await;
        assert_eq!(status, 200, "{post}");
        assert_eq!(post["visibility"], "community");
        let post_id = post["id"].as_str().unwrap().to_owned();

        // A member sees it; Sam (same instance, no member) sees it nowhere.
        let (status, _) = alpha
            .get(&format!("/api/v1/statuses/{post_id}"), Some(&admin))
            .await;
        assert_eq!(status, 200);
        let (_, admin_home) = alpha.get("/api/v1/timelines/home", Some(&admin)).await;
        assert!(shown(&admin_home).contains(&post_id));
        let paths = [
            format!("/api/v1/statuses/{post_id}"),
            format!("/api/v1/statuses/{post_id}/context"),
        ];
        for path in &paths {
            let (status, _) = alpha.get(path, Some(&sam)).await;
            assert_eq!(status, 404, "{path}");
            let (status, _) = alpha.get(path, None).await;
            assert_eq!(status, 404, "{path} anonymously");
        }
        let lists = [
            format!("/api/v1/communities/{community}/statuses"),
            format!("/api/v1/accounts/{group}/statuses"),
            "/api/v1/timelines/home".to_owned(),
            "/api/v1/timelines/public".to_owned(),
            "/api/v1/timelines/public?local=true".to_owned(),
        ];
        for path in &lists {
            let (status, list) = alpha.get(path, Some(&sam)).await;
            assert_eq!(status, 200, "{path}");
            assert!(!shown(&list).contains(&post_id), "{path} leaked: {list}");
        }
        let (status, _) = alpha
            .get(
                &format!("/api/v1/communities/{community}/members"),
                Some(&sam),
            )
            .await;
        assert_eq!(status, 403, "non-members do not see who belongs");
        // Members-only posts cannot be boosted.
        let (status, _) = alpha
            .post(
                &format!("/api/v1/statuses/{post_id}/reblog"),
                Some(&admin),
                &[],
            )
            .await;
        assert_eq!(status, 422);

        // Banned: Pat stops seeing the community's posts at once, and cannot rejoin.
        let (status, body) = alpha
            .post(
                &format!("/api/v1/communities/{community}/bans"),
                Some(&admin),
                &[("account_id", &pat_id), ("reason", "spam")],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let (_, admin_post) = alpha
            .post(
                "/api/v1/statuses",
                Some(&admin),
                &[("status", "@oncology welcome, everyone")],
            )
            .await;
        let admin_post = admin_post["id"].as_str().unwrap().to_owned();
        let (status, _) = alpha
            .get(&format!("/api/v1/statuses/{admin_post}"), Some(&pat))
            .await;
        assert_eq!(status, 404);
        let (status, _) = alpha
            .post(
                &format!("/api/v1/communities/{community}/join"),
                Some(&pat),
                &[],
            )
            .await;
        assert_eq!(status, 403);
        alpha.stop().await;
    }
}

#[tokio::test]
async fn moderators_remove_pin_and_invite() {
    for engine in engines() {
        let mut alpha = Instance::start(engine, &[("COHORT_USER_COMMUNITIES", "true")]).await;
        alpha.create_account("olga", Role::Member, false).await;
        alpha.create_account("pat", Role::Member, false).await;
        alpha.create_account("sam", Role::Member, false).await;
        let olga = alpha.sign_in("olga", SCOPES).await;
        let pat = alpha.sign_in("pat", SCOPES).await;
        let sam = alpha.sign_in("sam", SCOPES).await;
        let (status, created) = alpha
            .post(
                "/api/v1/communities",
                Some(&olga),
                &[("name", "clinic"), ("membership", "invite")],
            )
            .await;
        assert_eq!(status, 201, "users may create communities here: {created}");
        let (status, _) = alpha
            .post("/api/v1/communities/clinic/join", Some(&pat), &[])
            .await;
        assert_eq!(status, 403, "an invite community needs a code");
        let (status, _) = alpha
            .post(
                "/api/v1/communities/clinic/join",
                Some(&pat),
                &[("code", "made-up")],
            )
            .await;
        assert_eq!(status, 422);
        let (status, invite) = alpha
            .post(
                "/api/v1/communities/clinic/invites",
                Some(&olga),
                &[("max_uses", "1")],
            )
            .await;
        assert_eq!(status, 200, "{invite}");
        let code = invite["code"].as_str().unwrap().to_owned();
        assert!(invite["url"].as_str().unwrap().contains(&code));
        let (status, joined) = alpha
            .post(
                "/api/v1/communities/clinic/join",
                Some(&pat),
                &[("code", &code)],
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(joined["relationship"]["member"], true);
        let (status, _) = alpha
            .post(
                "/api/v1/communities/clinic/join",
                Some(&sam),
                &[("code", &code)],
            )
            .await;
        assert_eq!(status, 422, "the code is used up");

        let (_, thread) = alpha
            .post(
                "/api/v1/statuses",
                Some(&pat),
                &[("status", "@clinic opening hours over the holidays?")],
            )
            .await;
        let thread_id = thread["id"].as_str().unwrap().to_owned();

        // Pat is no moderator: cannot pin, remove, ban or update.
        let (status, _) = alpha
            .post(
                &format!("/api/v1/communities/clinic/statuses/{thread_id}/pin"),
                Some(&pat),
                &[],
            )
            .await;
        assert_eq!(status, 403);
        let (status, _) = alpha
            .patch(
                "/api/v1/communities/clinic",
                Some(&pat),
                &[("title", "Mine now")],
            )
            .await;
        assert_eq!(status, 403);

        // Olga makes Pat a moderator; the moderator list says so.
        let pat_id = alpha
            .get("/api/v1/accounts/verify_credentials", Some(&pat))
            .await
            .1["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (status, mods) = alpha
            .post(
                "/api/v1/communities/clinic/moderators",
                Some(&olga),
                &[("account_id", &pat_id)],
            )
            .await;
        assert_eq!(status, 200, "{mods}");
        assert!(ids(&mods).contains(&pat_id));
        let (status, pinned) = alpha
            .post(
                &format!("/api/v1/communities/clinic/statuses/{thread_id}/pin"),
                Some(&pat),
                &[],
            )
            .await;
        assert_eq!(status, 200, "{pinned}");
        let (_, pins) = alpha
            .get(
                "/api/v1/communities/clinic/statuses?pinned=true",
                Some(&olga),
            )
            .await;
        assert_eq!(ids(&pins), vec![thread_id.clone()]);
        let (status, updated) = alpha
            .patch(
                "/api/v1/communities/clinic",
                Some(&pat),
                &[("title", "Clinic patients"), ("visibility", "unlisted")],
            )
            .await;
        assert_eq!(status, 200, "{updated}");
        assert_eq!(updated["title"], "Clinic patients");
        assert_eq!(updated["visibility"], "unlisted");

        // Removal: the thread disappears for everyone, and a second removal is a 404.
        let (status, _) = alpha
            .delete(
                &format!("/api/v1/communities/clinic/statuses/{thread_id}"),
                Some(&olga),
            )
            .await;
        assert_eq!(status, 200);
        let (status, _) = alpha
            .get(&format!("/api/v1/statuses/{thread_id}"), Some(&pat))
            .await;
        assert_eq!(status, 404);
        let (_, threads) = alpha
            .get("/api/v1/communities/clinic/statuses", Some(&pat))
            .await;
        assert!(ids(&threads).is_empty());
        let (status, _) = alpha
            .delete(
                &format!("/api/v1/communities/clinic/statuses/{thread_id}"),
                Some(&olga),
            )
            .await;
        assert_eq!(status, 404);
        alpha.stop().await;
    }
}

#[tokio::test]
async fn the_directory_lists_discoverable_communities() {
    for engine in engines() {
        let mut alpha = Instance::start(engine, &[]).await;
        alpha.create_account("admin", Role::Admin, false).await;
        let admin = alpha.sign_in("admin", SCOPES).await;
        for (name, visibility) in [
            ("diabetes", "public"),
            ("lupus", "members"),
            ("quiet", "unlisted"),
            ("ward", "local"),
        ] {
            let (status, _) = alpha
                .post(
                    "/api/v1/communities",
                    Some(&admin),
                    &[
                        ("name", name),
                        ("visibility", visibility),
                        ("tags[]", "chronic"),
                    ],
                )
                .await;
            assert_eq!(status, 201);
        }
        let names = |list: &Value| -> Vec<String> {
            list.as_array()
                .unwrap()
                .iter()
                .map(|c| c["name"].as_str().unwrap().to_owned())
                .collect()
        };
        let (_, anonymous) = alpha.get("/api/v1/communities", None).await;
        assert_eq!(names(&anonymous), vec!["lupus", "diabetes"]);
        let (_, signed_in) = alpha.get("/api/v1/communities", Some(&admin)).await;
        assert_eq!(names(&signed_in), vec!["ward", "lupus", "diabetes"]);
        let (_, searched) = alpha.get("/api/v1/communities?q=DIAB", None).await;
        assert_eq!(names(&searched), vec!["diabetes"]);
        let (_, paged) = alpha.get("/api/v1/communities?limit=1", None).await;
        assert_eq!(names(&paged), vec!["lupus"]);
        let (status, _) = alpha.get("/api/v1/communities/ward", None).await;
        assert_eq!(
            status, 404,
            "local communities are not shown to the outside"
        );
        let (status, quiet) = alpha.get("/api/v1/communities/quiet", None).await;
        assert_eq!(status, 200, "unlisted ones can still be opened: {quiet}");

        // Mastodon's profile directory lists the discoverable communities (with their member
        // counts as followers) and nobody who did not opt in.
        let (status, directory) = alpha
            .get("/api/v1/directory?local=true&order=new", None)
            .await;
        assert_eq!(status, 200, "{directory}");
        let accts: Vec<&str> = directory
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["acct"].as_str().unwrap())
            .collect();
        assert_eq!(accts, vec!["lupus", "diabetes"]);
        assert_eq!(directory[1]["group"], true);
        assert_eq!(
            directory[1]["followers_count"], 1,
            "the owner is its member"
        );
        let (status, body) = alpha.get("/api/v1/directory?order=loud", None).await;
        assert_eq!(status, 422, "{body}");
        alpha.stop().await;
    }
}

#[tokio::test]
async fn bad_community_input_is_refused_and_nothing_is_written() {
    for engine in engines() {
        let mut alpha = Instance::start(engine, &[]).await;
        alpha.create_account("admin", Role::Admin, false).await;
        alpha.create_account("pat", Role::Member, false).await;
        let admin = alpha.sign_in("admin", SCOPES).await;
        let pat = alpha.sign_in("pat", SCOPES).await;
        let reader = alpha.sign_in("pat", "read").await;
        let long_title = "x".repeat(101);
        let cases: Vec<BadCreate> = vec![
            ("no token", None, vec![("name", "a1")], 401),
            ("read-only token", Some(&reader), vec![("name", "a1")], 403),
            ("not an admin", Some(&pat), vec![("name", "a1")], 403),
            ("no name", Some(&admin), vec![], 422),
            ("bad name", Some(&admin), vec![("name", "not a name!")], 422),
            (
                "taken by a person",
                Some(&admin),
                vec![("name", "pat")],
                422,
            ),
            (
                "unknown membership",
                Some(&admin),
                vec![("name", "a1"), ("membership", "secret")],
                422,
            ),
            (
                "unknown visibility",
                Some(&admin),
                vec![("name", "a1"), ("visibility", "hidden")],
                422,
            ),
            (
                "title too long",
                Some(&admin),
                vec![("name", "a1"), ("title", &long_title)],
                422,
            ),
        ];
        for (case, token, form, expected) in cases {
            let (status, body) = alpha.post("/api/v1/communities", token, &form).await;
            assert_eq!(status, expected, "{case}: {body}");
            assert!(body["error"].is_string(), "{case}: Mastodon error JSON");
        }
        assert_eq!(count(&alpha, "SELECT COUNT(*) FROM communities").await, 0);
        assert_eq!(
            count(
                &alpha,
                "SELECT COUNT(*) FROM accounts WHERE is_group = TRUE"
            )
            .await,
            0
        );

        let (_, created) = alpha
            .post("/api/v1/communities", Some(&admin), &[("name", "open1")])
            .await;
        let group = created["account"]["id"].as_str().unwrap().to_owned();
        for path in [
            "/api/v1/communities/nosuch",
            "/api/v1/communities/nosuch@elsewhere.example",
            "/api/v1/communities/12345/statuses",
        ] {
            let (status, body) = alpha.get(path, Some(&pat)).await;
            assert_eq!(status, 404, "{path}: {body}");
        }
        // The Group's account id reaches the community too.
        let (status, _) = alpha
            .get(&format!("/api/v1/communities/{group}"), Some(&pat))
            .await;
        assert_eq!(status, 200);
        let (status, _) = alpha
            .post(
                "/api/v1/communities/open1/bans",
                Some(&admin),
                &[("account_id", "999999")],
            )
            .await;
        assert_eq!(status, 404, "banning an unknown account");
        let (status, _) = alpha
            .post("/api/v1/communities/open1/moderators", Some(&admin), &[])
            .await;
        assert_eq!(status, 422, "no account_id");
        let (status, _) = alpha
            .post("/api/v1/communities/open1/leave", Some(&admin), &[])
            .await;
        assert_eq!(status, 422, "the owner cannot leave");
        let (status, _) = alpha
            .post(
                "/api/v1/statuses",
                Some(&pat),
                &[("status", "hi"), ("community_id", "12345")],
            )
            .await;
        assert_eq!(status, 422, "unknown community_id");
        assert_eq!(count(&alpha, "SELECT COUNT(*) FROM statuses").await, 0);

        // Join requests flooding: past the hourly limit, 429 and no request is written.
        let limit = cohort_store::JOIN_REQUESTS_PER_HOUR;
        for i in 0..=limit {
            let name = format!("gated{i}");
            let (status, _) = alpha
                .post(
                    "/api/v1/communities",
                    Some(&admin),
                    &[("name", &name), ("membership", "approval")],
                )
                .await;
            assert_eq!(status, 201);
            let (status, body) = alpha
                .post(&format!("/api/v1/communities/{name}/join"), Some(&pat), &[])
                .await;
            let expected = if i < limit { 200 } else { 429 };
            assert_eq!(status, expected, "request {i}: {body}");
        }
        assert_eq!(
            count(
                &alpha,
                "SELECT COUNT(*) FROM community_members WHERE state = 'requested'"
            )
            .await,
            limit
        );
        alpha.stop().await;
    }
}

/// A community post the PHI guard holds is neither announced nor relayed by the Group;
/// released as it was, it gets both, as if it had just been written.
#[tokio::test]
async fn a_held_thread_is_announced_only_once_released() {
    const IDENTIFYING: &str = "@wards Mrs. Eleanor Whitfield, 67, admitted 12/03/2024 \
        with NSTEMI, MRN 4471902, is doing better today.";
    for engine in engines() {
        let mut alpha = Instance::start(engine, &[]).await;
        alpha.create_account("admin", Role::Admin, false).await;
        alpha.create_account("dr_lee", Role::Clinician, false).await;
        let admin = alpha.sign_in("admin", SCOPES).await;
        let doctor = alpha.sign_in("dr_lee", SCOPES).await;
        let (_, created) = alpha
            .post("/api/v1/communities", Some(&admin), &[("name", "wards")])
            .await;
        let group = created["account"]["id"].as_str().unwrap().to_owned();
        alpha
            .post("/api/v1/communities/wards/join", Some(&doctor), &[])
            .await;
        let (status, held) = alpha
            .post(
                "/api/v1/statuses",
                Some(&doctor),
                &[("status", IDENTIFYING)],
            )
            .await;
        assert_eq!(status, 200, "{held}");
        assert_eq!(held["held_for_review"], true, "{held}");
        let id = held["id"].as_str().unwrap().to_owned();
        let announced = |list: &Value| shown(list).contains(&id);
        let (_, boosts) = alpha
            .get(&format!("/api/v1/accounts/{group}/statuses"), Some(&admin))
            .await;
        assert!(!announced(&boosts), "held: not announced");
        assert_eq!(
            count(
                &alpha,
                "SELECT COUNT(*) FROM outbox_activities WHERE kind = 'group_forward'"
            )
            .await,
            0,
            "held: not relayed"
        );
        let (status, body) = alpha
            .post(
                &format!("/api/v1/statuses/{id}/release"),
                Some(&doctor),
                &[],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let (_, boosts) = alpha
            .get(&format!("/api/v1/accounts/{group}/statuses"), Some(&admin))
            .await;
        assert!(announced(&boosts), "released: announced {boosts}");
        assert_eq!(
            count(
                &alpha,
                "SELECT COUNT(*) FROM outbox_activities WHERE kind = 'group_forward'"
            )
            .await,
            1,
            "released: relayed once"
        );
        alpha.stop().await;
    }
}

/// The leak matrix for community posts: a thread in a community of each visibility, and who
/// sees it through each client read path. Expectations are written by hand from the rules
/// (docs/COMMUNITIES.md): members-only threads reach members only (not the author's
/// followers, not banned members, not anonymous readers); `local` ones signed-in local
/// accounts only; public and unlisted ones everyone, public ones in the public timeline.
#[tokio::test]
async fn leak_matrix_over_community_visibilities() {
    #[rustfmt::skip]
    const EXPECTED: &[(&str, &str, bool)] = &[
        // (community visibility, viewer, sees)
        ("public", "author", true), ("public", "member", true), ("public", "follower", true),
        ("public", "banned", true), ("public", "anonymous", true),
        ("unlisted", "author", true), ("unlisted", "member", true), ("unlisted", "follower", true),
        ("unlisted", "banned", true), ("unlisted", "anonymous", true),
        ("members", "author", true), ("members", "member", true), ("members", "follower", false),
        ("members", "banned", false), ("members", "anonymous", false),
        ("local", "author", true), ("local", "member", true), ("local", "follower", true),
        ("local", "banned", true), ("local", "anonymous", false),
    ];
    for engine in engines() {
        let mut alpha = Instance::start(engine, &[]).await;
        alpha.create_account("admin", Role::Admin, false).await;
        let author_id = alpha.create_account("author", Role::Member, false).await;
        alpha.create_account("member", Role::Member, false).await;
        alpha.create_account("follower", Role::Member, false).await;
        let banned_id = alpha.create_account("banned", Role::Member, false).await;
        let admin = alpha.sign_in("admin", SCOPES).await;
        let mut tokens = std::collections::HashMap::new();
        for name in ["author", "member", "follower", "banned"] {
            tokens.insert(name, alpha.sign_in(name, SCOPES).await);
        }
        alpha
            .post(
                &format!("/api/v1/accounts/{author_id}/follow"),
                Some(&tokens["follower"]),
                &[],
            )
            .await;
        let mut threads = std::collections::HashMap::new();
        let mut groups = std::collections::HashMap::new();
        for visibility in ["public", "unlisted", "members", "local"] {
            let name = format!("c{visibility}");
            let (status, created) = alpha
                .post(
                    "/api/v1/communities",
                    Some(&admin),
                    &[("name", &name), ("visibility", visibility)],
                )
                .await;
            assert_eq!(status, 201, "{created}");
            groups.insert(
                visibility,
                created["account"]["id"].as_str().unwrap().to_owned(),
            );
            for who in ["author", "member", "banned"] {
                let (status, _) = alpha
                    .post(
                        &format!("/api/v1/communities/{name}/join"),
                        Some(&tokens[who]),
                        &[],
                    )
                    .await;
                assert_eq!(status, 200);
            }
            let banned = banned_id.to_string();
            alpha
                .post(
                    &format!("/api/v1/communities/{name}/bans"),
                    Some(&admin),
                    &[("account_id", &banned)],
                )
                .await;
            let (status, thread) = alpha
                .post(
                    "/api/v1/statuses",
                    Some(&tokens["author"]),
                    &[("status", &format!("@{name} a {visibility} thread"))],
                )
                .await;
            assert_eq!(status, 200, "{thread}");
            threads.insert(visibility, thread["id"].as_str().unwrap().to_owned());
        }

        let mut failures = Vec::new();
        for (visibility, viewer, sees) in EXPECTED {
            let token = tokens.get(viewer).map(String::as_str);
            let id = &threads[visibility];
            let name = format!("c{visibility}");
            for path in [
                format!("/api/v1/statuses/{id}"),
                format!("/api/v1/statuses/{id}/context"),
            ] {
                let (status, _) = alpha.get(&path, token).await;
                if (status == 200) != *sees {
                    failures.push(format!("{visibility}/{viewer}/{path}: {status}"));
                }
            }
            for path in [
                format!("/api/v1/accounts/{author_id}/statuses?limit=40"),
                format!("/api/v1/accounts/{}/statuses?limit=40", groups[visibility]),
                format!("/api/v1/communities/{name}/statuses"),
            ] {
                let (_, list) = alpha.get(&path, token).await;
                let listed = list.is_array() && shown(&list).contains(id);
                // A `local` community does not exist for anonymous readers (404), which
                // lists nothing either.
                if listed != *sees {
                    failures.push(format!("{visibility}/{viewer}/{path}: listed={listed}"));
                }
            }
            if let Some(token) = token {
                let (_, home) = alpha
                    .get("/api/v1/timelines/home?limit=40", Some(token))
                    .await;
                if shown(&home).contains(id) && !sees {
                    failures.push(format!("{visibility}/{viewer}/home: leaked"));
                }
            }
            let (_, public) = alpha.get("/api/v1/timelines/public?limit=40", token).await;
            let in_public = ids(&public).contains(id);
            let expected_public = *sees && matches!(*visibility, "public" | "local");
            if in_public != expected_public {
                failures.push(format!(
                    "{visibility}/{viewer}/public_timeline: {in_public}"
                ));
            }
        }
        assert!(failures.is_empty(), "{engine:?}: {failures:#?}");
        alpha.stop().await;
    }
}

/// The public mod log: community moderators' actions are in it with their reasons passed
/// through the PHI guard, the moderator named (or not, as the instance chooses); actions in
/// members-only communities are not; and without the setting there is no public log.
#[tokio::test]
async fn the_public_mod_log_redacts_patients_and_keeps_members_only_communities_private() {
    for engine in engines() {
        for setting in ["on", "anonymous", "off"] {
            let mut alpha = Instance::start(engine, &[("COHORT_PUBLIC_MOD_LOG", setting)]).await;
            alpha.create_account("admin", Role::Admin, false).await;
            let pat_id = alpha.create_account("pat", Role::Member, false).await;
            let admin = alpha.sign_in("admin", SCOPES).await;
            let pat = alpha.sign_in("pat", SCOPES).await;
            for (name, visibility) in [("open1", "public"), ("closed1", "members")] {
                alpha
                    .post(
                        "/api/v1/communities",
                        Some(&admin),
                        &[("name", name), ("visibility", visibility)],
                    )
                    .await;
                alpha
                    .post(&format!("/api/v1/communities/{name}/join"), Some(&pat), &[])
                    .await;
            }
            let (_, thread) = alpha
                .post(
                    "/api/v1/statuses",
                    Some(&pat),
                    &[("status", "@open1 hello")],
                )
                .await;
            let thread = thread["id"].as_str().unwrap().to_owned();
            let (status, _) = alpha
                .delete(
                    &format!(
                        "/api/v1/communities/open1/statuses/{thread}?reason=It%20named%20Mrs.%20Eleanor%20Whitfield%2C%20MRN%204471902"
                    ),
                    Some(&admin),
                )
                .await;
            assert_eq!(status, 200);
            let pat_id = pat_id.to_string();
            let (status, _) = alpha
                .post(
                    "/api/v1/communities/closed1/bans",
                    Some(&admin),
                    &[("account_id", &pat_id), ("reason", "private matter")],
                )
                .await;
            assert_eq!(status, 200);

            let (status, log) = alpha.get("/api/v1/cohort/mod_log", None).await;
            if setting == "off" {
                assert_eq!(status, 404, "no public mod log unless the instance says so");
                alpha.stop().await;
                continue;
            }
            assert_eq!(status, 200, "{log}");
            let entries = log.as_array().unwrap();
            assert_eq!(entries.len(), 1, "only the public community's entry: {log}");
            let entry = &entries[0];
            assert_eq!(entry["action"], "remove_status");
            assert_eq!(entry["community"]["name"], "open1");
            let reason = entry["reason"].as_str().unwrap();
            assert!(!reason.contains("Whitfield"), "{reason}");
            assert!(!reason.contains("4471902"), "{reason}");
            assert!(reason.contains("[redacted"), "{reason}");
            if setting == "on" {
                assert_eq!(entry["moderator"]["acct"], "admin");
            } else {
                assert!(entry["moderator"].is_null(), "{entry}");
            }
            // Moderators still read everything through the admin API.
            let admin_reader = alpha.sign_in("admin", "admin:read").await;
            let (status, full) = alpha
                .get("/api/v1/admin/cohort/mod_log", Some(&admin_reader))
                .await;
            assert_eq!(status, 200, "{full}");
            assert!(full.to_string().contains("private matter"));
            alpha.stop().await;
        }
    }
}
