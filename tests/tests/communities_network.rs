//! Communities across three real instances (`alpha`, `beta`, `gamma` on loopback), over
//! real HTTP with real signatures, on SQLite and PostgreSQL: members on other instances
//! join a community hosted on alpha, post and reply through it (FEP-1b12), a moderator on
//! another instance removes a post everywhere, and a banned member stops receiving.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use cohort_model::Role;
use cohort_tests::harness::{Instance, engines, settle};
use serde_json::Value;

const SCOPES: &str = "read write follow";

fn contents(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|s| {
            let s = if s["reblog"].is_object() {
                &s["reblog"]
            } else {
                s
            };
            s["content"].as_str().unwrap_or_default().to_owned()
        })
        .collect()
}

fn find<'a>(list: &'a Value, needle: &str) -> Option<&'a Value> {
    list.as_array()?
        .iter()
        .map(|s| {
            if s["reblog"].is_object() {
                &s["reblog"]
            } else {
                s
            }
        })
        .find(|s| s["content"].as_str().unwrap_or_default().contains(needle))
}

/// The id of `acct` as `instance` knows it (resolved through WebFinger when remote).
async fn account_id(instance: &Instance, token: &str, acct: &str) -> String {
    let (status, account) = instance
        .get(&format!("/api/v1/accounts/lookup?acct={acct}"), Some(token))
        .await;
    assert_eq!(status, 200, "lookup {acct}: {account}");
    account["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn members_on_three_instances_post_reply_and_moderate_a_community() {
    for engine in engines() {
        let mut alpha = Instance::start_named(engine, "alpha", &[]).await;
        let mut beta = Instance::start_named(engine, "beta", &[]).await;
        let mut gamma = Instance::start_named(engine, "gamma", &[]).await;
        alpha.create_account("olga", Role::Admin, false).await;
        beta.create_account("pat", Role::Member, false).await;
        beta.create_account("mo", Role::Member, false).await;
        gamma.create_account("gus", Role::Member, false).await;
        let olga = alpha.sign_in("olga", SCOPES).await;
        let pat = beta.sign_in("pat", SCOPES).await;
        let mo = beta.sign_in("mo", SCOPES).await;
        let gus = gamma.sign_in("gus", SCOPES).await;
        let all = [&alpha, &beta, &gamma];
        let (status, _) = alpha
            .post(
                "/api/v1/communities",
                Some(&olga),
                &[("name", "diabetes"), ("title", "Type 1 diabetes")],
            )
            .await;
        assert_eq!(status, 201);
        let community = format!("diabetes@{}", alpha.domain);

        // Pat joins from beta the Mastodon way: look the Group up and follow it.
        let group_on_beta = account_id(&beta, &pat, &community).await;
        let (status, rel) = beta
            .post(
                &format!("/api/v1/accounts/{group_on_beta}/follow"),
                Some(&pat),
                &[],
            )
            .await;
        assert_eq!(status, 200, "{rel}");
        // Mo (beta) and Gus (gamma) join through the communities API.
        account_id(&gamma, &gus, &community).await;
        for (instance, token) in [(&beta, &mo), (&gamma, &gus)] {
            let (status, body) = instance
                .post(
                    &format!("/api/v1/communities/{community}/join"),
                    Some(token),
                    &[],
                )
                .await;
            assert_eq!(status, 200, "{body}");
        }
        settle(&all).await;
        let (_, on_alpha) = alpha.get("/api/v1/communities/diabetes", None).await;
        assert_eq!(on_alpha["members_count"], 4, "{on_alpha}");
        let (_, on_beta) = beta
            .get(&format!("/api/v1/communities/{community}"), Some(&pat))
            .await;
        assert_eq!(on_beta["relationship"]["member"], true, "{on_beta}");
        assert_eq!(on_beta["account"]["group"], true);

        // Pat posts a thread from beta by mentioning the community.
        let (status, thread) = beta
            .post(
                "/api/v1/statuses",
                Some(&pat),
                &[(
                    "status",
                    &format!("@{community} how do you handle night lows?"),
                )],
            )
            .await;
        assert_eq!(status, 200, "{thread}");
        settle(&all).await;
        let (_, threads) = alpha
            .get("/api/v1/communities/diabetes/statuses", None)
            .await;
        assert!(
            contents(&threads)[0].contains("night lows"),
            "alpha has the thread: {threads}"
        );
        // Gus on gamma sees it in his home timeline, announced by the Group.
        let (_, home) = gamma.get("/api/v1/timelines/home", Some(&gus)).await;
        let on_gamma = find(&home, "night lows")
            .unwrap_or_else(|| panic!("gamma's member got the thread: {home}"))
            .clone();
        let thread_on_gamma = on_gamma["id"].as_str().unwrap().to_owned();

        // Gus replies on gamma; the Group relays the reply, so beta has it too.
        let (status, reply) = gamma
            .post(
                "/api/v1/statuses",
                Some(&gus),
                &[
                    ("status", "Glucose tabs by the bed."),
                    ("in_reply_to_id", &thread_on_gamma),
                ],
            )
            .await;
        assert_eq!(status, 200, "{reply}");
        let reply_on_gamma = reply["id"].as_str().unwrap().to_owned();
        settle(&all).await;
        let thread_on_beta = thread["id"].as_str().unwrap();
        let (_, context) = beta
            .get(
                &format!("/api/v1/statuses/{thread_on_beta}/context"),
                Some(&pat),
            )
            .await;
        let reply_on_beta = find(&context["descendants"], "Glucose tabs")
            .unwrap_or_else(|| panic!("beta got the relayed reply: {context}"))["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (_, threads) = alpha
            .get("/api/v1/communities/diabetes/statuses", None)
            .await;
        let thread_on_alpha = threads[0]["id"].as_str().unwrap().to_owned();
        let (_, context) = alpha
            .get(
                &format!("/api/v1/statuses/{thread_on_alpha}/context"),
                Some(&olga),
            )
            .await;
        let reply_on_alpha = find(&context["descendants"], "Glucose tabs")
            .unwrap_or_else(|| panic!("alpha has the reply: {context}"))["id"]
            .as_str()
            .unwrap()
            .to_owned();

        // Pat is no moderator: her removal is refused and changes nothing.
        let (status, _) = beta
            .delete(
                &format!("/api/v1/communities/{community}/statuses/{reply_on_beta}"),
                Some(&pat),
            )
            .await;
        assert_eq!(status, 403);
        // Olga makes Mo (on beta) a moderator; Mo removes the reply from beta.
        let mo_on_alpha = account_id(&alpha, &olga, &format!("mo@{}", beta.domain)).await;
        let (status, body) = alpha
            .post(
                "/api/v1/communities/diabetes/moderators",
                Some(&olga),
                &[("account_id", &mo_on_alpha)],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = beta
            .delete(
                &format!("/api/v1/communities/{community}/statuses/{reply_on_beta}"),
                Some(&mo),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        settle(&all).await;
        for (instance, token, id) in [
            (&alpha, &olga, &reply_on_alpha),
            (&beta, &pat, &reply_on_beta),
            (&gamma, &gus, &reply_on_gamma),
        ] {
            let (status, _) = instance
                .get(&format!("/api/v1/statuses/{id}"), Some(token))
                .await;
            assert_eq!(
                status, 404,
                "the removed reply is gone on {}",
                instance.domain
            );
        }

        // Olga bans Gus: the next thread no longer reaches him.
        let gus_on_alpha = account_id(&alpha, &olga, &format!("gus@{}", gamma.domain)).await;
        let (status, body) = alpha
            .post(
                "/api/v1/communities/diabetes/bans",
                Some(&olga),
                &[("account_id", &gus_on_alpha), ("reason", "spam")],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let (status, _) = beta
            .post(
                "/api/v1/statuses",
                Some(&pat),
                &[("status", &format!("@{community} new pump, any tips?"))],
            )
            .await;
        assert_eq!(status, 200);
        settle(&all).await;
        let (_, threads) = alpha
            .get("/api/v1/communities/diabetes/statuses", None)
            .await;
        assert!(contents(&threads)[0].contains("new pump"));
        let (_, home) = gamma.get("/api/v1/timelines/home", Some(&gus)).await;
        assert!(
            find(&home, "new pump").is_none(),
            "a banned member receives nothing new: {home}"
        );
        // And his posts to the community are refused by alpha: nothing stored there.
        let before = alpha
            .store()
            .scalar_i64_for_tests("SELECT COUNT(*) FROM statuses")
            .await
            .unwrap();
        gamma
            .post(
                "/api/v1/statuses",
                Some(&gus),
                &[("status", &format!("@{community} let me back in"))],
            )
            .await;
        settle(&all).await;
        let after = alpha
            .store()
            .scalar_i64_for_tests("SELECT COUNT(*) FROM statuses")
            .await
            .unwrap();
        assert_eq!(before, after, "alpha stores nothing from a banned member");

        // Mo leaves through the communities API of beta: alpha learns of it.
        let (_, on_alpha) = alpha.get("/api/v1/communities/diabetes", None).await;
        let members_before = on_alpha["members_count"].as_i64().unwrap();
        let (status, left) = beta
            .post(
                &format!("/api/v1/communities/{community}/leave"),
                Some(&mo),
                &[],
            )
            .await;
        assert_eq!(status, 200, "{left}");
        assert_eq!(left["relationship"]["member"], false);
        settle(&all).await;
        let (_, on_alpha) = alpha.get("/api/v1/communities/diabetes", None).await;
        assert_eq!(
            on_alpha["members_count"].as_i64().unwrap(),
            members_before - 1,
            "the Undo(Follow) reached alpha: {on_alpha}"
        );

        for instance in [alpha, beta, gamma] {
            instance.stop().await;
        }
    }
}

#[tokio::test]
async fn an_approval_members_only_community_reaches_its_members_and_nobody_else() {
    for engine in engines() {
        let mut alpha = Instance::start_named(engine, "alpha", &[]).await;
        let mut beta = Instance::start_named(engine, "beta", &[]).await;
        alpha.create_account("olga", Role::Admin, false).await;
        beta.create_account("pat", Role::Member, false).await;
        beta.create_account("sam", Role::Member, false).await;
        let olga = alpha.sign_in("olga", SCOPES).await;
        let pat = beta.sign_in("pat", SCOPES).await;
        let sam = beta.sign_in("sam", SCOPES).await;
        let all = [&alpha, &beta];
        let (status, _) = alpha
            .post(
                "/api/v1/communities",
                Some(&olga),
                &[
                    ("name", "oncology"),
                    ("membership", "approval"),
                    ("visibility", "members"),
                ],
            )
            .await;
        assert_eq!(status, 201);
        let community = format!("oncology@{}", alpha.domain);

        // Pat asks to join from beta; nothing is hers until Olga approves.
        account_id(&beta, &pat, &community).await;
        let (status, joined) = beta
            .post(
                &format!("/api/v1/communities/{community}/join"),
                Some(&pat),
                &[],
            )
            .await;
        assert_eq!(status, 200, "{joined}");
        assert_eq!(joined["relationship"]["requested"], true);
        settle(&all).await;
        let (_, waiting) = alpha
            .get("/api/v1/communities/oncology/join_requests", Some(&olga))
            .await;
        assert_eq!(waiting[0]["acct"], format!("pat@{}", beta.domain));
        let (_, early) = alpha
            .post(
                "/api/v1/statuses",
                Some(&olga),
                &[("status", "@oncology before you joined")],
            )
            .await;
        assert_eq!(early["visibility"], "community");
        settle(&all).await;
        let (_, home) = beta.get("/api/v1/timelines/home", Some(&pat)).await;
        assert!(
            find(&home, "before you joined").is_none(),
            "nothing reaches a pending request: {home}"
        );
        let pat_on_alpha = waiting[0]["id"].as_str().unwrap();
        let (status, _) = alpha
            .post(
                &format!("/api/v1/communities/oncology/join_requests/{pat_on_alpha}/authorize"),
                Some(&olga),
                &[],
            )
            .await;
        assert_eq!(status, 200);
        settle(&all).await;
        let (_, on_beta) = beta
            .get(&format!("/api/v1/communities/{community}"), Some(&pat))
            .await;
        assert_eq!(on_beta["relationship"]["member"], true, "{on_beta}");

        // A members-only post reaches Pat, through her own inbox only.
        let (status, post) = alpha
            .post(
                "/api/v1/statuses",
                Some(&olga),
                &[("status", "@oncology scan day tips")],
            )
            .await;
        assert_eq!(status, 200, "{post}");
        settle(&all).await;
        let (_, home) = beta.get("/api/v1/timelines/home", Some(&pat)).await;
        let on_beta = find(&home, "scan day tips")
            .unwrap_or_else(|| panic!("the member got it: {home}"))
            .clone();
        let shared_inbox_deliveries = alpha
            .store()
            .scalar_i64_for_tests(
                "SELECT COUNT(*) FROM status_deliveries WHERE inbox_uri NOT LIKE '%/users/%'",
            )
            .await
            .unwrap();
        assert_eq!(
            shared_inbox_deliveries, 0,
            "members-only content never goes to a shared inbox"
        );
        let personal_deliveries = alpha
            .store()
            .scalar_i64_for_tests(
                "SELECT COUNT(*) FROM status_deliveries WHERE inbox_uri LIKE '%/users/pat/inbox'",
            )
            .await
            .unwrap();
        assert!(personal_deliveries > 0, "it went to Pat's own inbox");

        // Sam, on the same instance as a member, sees it through no path.
        let id_on_beta = on_beta["id"].as_str().unwrap();
        for path in [
            format!("/api/v1/statuses/{id_on_beta}"),
            format!("/api/v1/statuses/{id_on_beta}/context"),
        ] {
            let (status, _) = beta.get(&path, Some(&sam)).await;
            assert_eq!(status, 404, "{path}");
        }
        for path in [
            "/api/v1/timelines/home",
            "/api/v1/timelines/public",
            "/api/v1/timelines/public?remote=true",
        ] {
            let (_, list) = beta.get(path, Some(&sam)).await;
            assert!(find(&list, "scan day").is_none(), "{path}: {list}");
        }
        let (_, list) = beta
            .get(
                &format!("/api/v1/communities/{community}/statuses"),
                Some(&sam),
            )
            .await;
        assert!(find(&list, "scan day").is_none(), "{list}");

        // Pat leaves: what is posted afterwards does not reach beta.
        let group_on_beta = on_beta_group(&beta, &pat, &community).await;
        beta.post(
            &format!("/api/v1/accounts/{group_on_beta}/unfollow"),
            Some(&pat),
            &[],
        )
        .await;
        settle(&all).await;
        let before = beta
            .store()
            .scalar_i64_for_tests("SELECT COUNT(*) FROM statuses")
            .await
            .unwrap();
        alpha
            .post(
                "/api/v1/statuses",
                Some(&olga),
                &[("status", "@oncology after you left")],
            )
            .await;
        settle(&all).await;
        let after = beta
            .store()
            .scalar_i64_for_tests("SELECT COUNT(*) FROM statuses")
            .await
            .unwrap();
        assert_eq!(before, after, "nothing reaches beta once its member left");
        alpha.stop().await;
        beta.stop().await;
    }
}

async fn on_beta_group(beta: &Instance, token: &str, community: &str) -> String {
    account_id(beta, token, community).await
}
