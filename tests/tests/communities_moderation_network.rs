//! Issue 8: moderation of a community announced by its Group (FEP-1b12, Lemmy's shapes),
//! across three real instances (`alpha` hosts the community, members on `beta` and `gamma`),
//! on SQLite and PostgreSQL. A moderator's actions on alpha (moderators added and removed,
//! threads featured and unfeatured, members banned and unbanned) reach the members'
//! instances; announcements whose inner actor the Group does not list as a moderator, or
//! that ban from another community, change nothing (and the same announcement made by the
//! Group itself applies).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::SystemTime;

use cohort_federation::delivery::sign::{Signer, sign_post};
use cohort_model::Role;
use cohort_tests::harness::{Instance, engines, settle};
use serde_json::{Value, json};

const SCOPES: &str = "read write follow";

async fn account_id(instance: &Instance, token: &str, acct: &str) -> String {
    let (status, account) = instance
        .get(&format!("/api/v1/accounts/lookup?acct={acct}"), Some(token))
        .await;
    assert_eq!(status, 200, "lookup {acct}: {account}");
    account["id"].as_str().unwrap().to_owned()
}

fn accts(list: &Value) -> Vec<String> {
    let mut out: Vec<String> = list
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|a| a["acct"].as_str().unwrap_or_default().to_owned())
        .collect();
    out.sort();
    out
}

fn contents(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|s| s["content"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The community as `instance` shows it to `token`'s account.
async fn relationship(instance: &Instance, token: &str, community: &str) -> Value {
    let (status, body) = instance
        .get(&format!("/api/v1/communities/{community}"), Some(token))
        .await;
    assert_eq!(status, 200, "{body}");
    body["relationship"].clone()
}

async fn moderators(instance: &Instance, token: &str, community: &str) -> Vec<String> {
    let (status, list) = instance
        .get(
            &format!("/api/v1/communities/{community}/moderators"),
            Some(token),
        )
        .await;
    assert_eq!(status, 200, "{list}");
    accts(&list)
}

async fn featured_on(instance: &Instance, token: &str, community: &str) -> Vec<String> {
    let (status, list) = instance
        .get(
            &format!("/api/v1/communities/{community}/statuses?pinned=true"),
            Some(token),
        )
        .await;
    assert_eq!(status, 200, "{list}");
    contents(&list)
}

/// POSTs `activity` to `to`'s shared inbox, signed with the key of `signer_account` on
/// `from` (the Group's own key: what a forged or mistaken announcement by the Group's
/// instance would carry).
async fn post_as(from: &Instance, signer_account: &str, to: &Instance, activity: &Value) -> u16 {
    let actor = from
        .store()
        .delivery_actor(signer_account.parse().unwrap())
        .await
        .unwrap();
    let signer = Signer::from_pem(
        actor.key_id.as_deref().unwrap(),
        actor.private_key_pem.as_deref().unwrap(),
    )
    .unwrap();
    let body = serde_json::to_vec(activity).unwrap();
    let signed = sign_post(&signer, &to.domain, "/inbox", &body, SystemTime::now()).unwrap();
    to.http
        .post(to.url("/inbox"))
        .header("host", to.domain.as_str())
        .header("content-type", "application/activity+json")
        .header("date", signed.date)
        .header("digest", signed.digest)
        .header("signature", signed.signature)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_groups_moderation_reaches_its_members_instances() {
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
        let (community, _) = alpha
            .community_with_remote_members(
                &olga,
                &[("name", "diabetes"), ("title", "Type 1 diabetes")],
                &[(&beta, &pat), (&beta, &mo), (&gamma, &gus)],
                &all,
            )
            .await;
        let (status, thread) = beta
            .post(
                "/api/v1/statuses",
                Some(&pat),
                &[(
                    "status",
                    &format!("@{community} sensor on the arm or belly?"),
                )],
            )
            .await;
        assert_eq!(status, 200, "{thread}");
        settle(&all).await;
        let mo_acct = format!("mo@{}", beta.domain);
        assert_eq!(
            moderators(&beta, &pat, &community).await,
            Vec::<String>::new()
        );

        // Moderators: Olga makes Mo a moderator; beta, where Mo is a member, lists him.
        let mo_on_alpha = account_id(&alpha, &olga, &mo_acct).await;
        let (status, body) = alpha
            .post(
                "/api/v1/communities/diabetes/moderators",
                Some(&olga),
                &[("account_id", &mo_on_alpha)],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        settle(&all).await;
        assert_eq!(
            moderators(&beta, &pat, &community).await,
            vec!["mo".to_owned()]
        );
        assert_eq!(
            relationship(&beta, &mo, &community).await["moderator"],
            true
        );
        let (status, _) = alpha
            .delete(
                &format!("/api/v1/communities/diabetes/moderators/{mo_on_alpha}"),
                Some(&olga),
            )
            .await;
        assert_eq!(status, 200);
        settle(&all).await;
        assert_eq!(
            moderators(&beta, &pat, &community).await,
            Vec::<String>::new()
        );
        assert_eq!(
            relationship(&beta, &mo, &community).await["moderator"],
            false
        );

        // Featured threads: Olga pins Pat's thread; gamma shows it featured, then not.
        let (_, threads) = alpha
            .get("/api/v1/communities/diabetes/statuses", None)
            .await;
        let thread_on_alpha = threads[0]["id"].as_str().unwrap().to_owned();
        let (status, body) = alpha
            .post(
                &format!("/api/v1/communities/diabetes/statuses/{thread_on_alpha}/pin"),
                Some(&olga),
                &[],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        settle(&all).await;
        let pinned = featured_on(&gamma, &gus, &community).await;
        assert!(
            pinned.len() == 1 && pinned[0].contains("sensor"),
            "gamma shows the thread featured: {pinned:?}"
        );
        let (status, _) = alpha
            .post(
                &format!("/api/v1/communities/diabetes/statuses/{thread_on_alpha}/unpin"),
                Some(&olga),
                &[],
            )
            .await;
        assert_eq!(status, 200);
        settle(&all).await;
        assert!(featured_on(&gamma, &gus, &community).await.is_empty());

        // Bans: Olga bans Gus; gamma learns it (the Announce reaches the banned account's
        // instance though Gus no longer follows the Group), then the unban.
        let gus_on_alpha = account_id(&alpha, &olga, &format!("gus@{}", gamma.domain)).await;
        let (status, body) = alpha
            .post(
                "/api/v1/communities/diabetes/bans",
                Some(&olga),
                &[("account_id", &gus_on_alpha), ("reason", "spam")],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        settle(&all).await;
        let on_gamma = relationship(&gamma, &gus, &community).await;
        assert_eq!(on_gamma["banned"], true, "{on_gamma}");
        assert_eq!(on_gamma["member"], false, "{on_gamma}");
        let (status, _) = alpha
            .delete(
                &format!("/api/v1/communities/diabetes/bans/{gus_on_alpha}"),
                Some(&olga),
            )
            .await;
        assert_eq!(status, 200);
        settle(&all).await;
        assert_eq!(
            relationship(&gamma, &gus, &community).await["banned"],
            false
        );

        for instance in [alpha, beta, gamma] {
            instance.stop().await;
        }
    }
}

#[tokio::test]
async fn announced_moderation_by_a_non_moderator_or_of_another_community_changes_nothing() {
    for engine in engines() {
        let mut alpha = Instance::start_named(engine, "alpha", &[]).await;
        let mut beta = Instance::start_named(engine, "beta", &[]).await;
        alpha.create_account("olga", Role::Admin, false).await;
        beta.create_account("pat", Role::Member, false).await;
        let olga = alpha.sign_in("olga", SCOPES).await;
        let pat = beta.sign_in("pat", SCOPES).await;
        let all = [&alpha, &beta];
        let (community, created) = alpha
            .community_with_remote_members(&olga, &[("name", "diabetes")], &[(&beta, &pat)], &all)
            .await;
        let group_id = created["account"]["id"].as_str().unwrap().to_owned();
        let group_uri = format!("http://{}/users/diabetes", alpha.domain);
        let pat_uri = format!("http://{}/users/pat", beta.domain);
        let members_before = beta
            .store()
            .scalar_i64_for_tests("SELECT COUNT(*) FROM community_members")
            .await
            .unwrap();

        // Pat (no moderator) "adds herself" to the moderators, announced by the Group.
        let by_a_member = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{group_uri}/forged/1"),
            "type": "Announce",
            "actor": group_uri,
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "object": {
                "id": format!("{group_uri}/forged/1/add"),
                "type": "Add",
                "actor": pat_uri,
                "object": pat_uri,
                "target": format!("{group_uri}/moderators"),
            }
        });
        // A ban whose target is another community than the announcing Group.
        let elsewhere = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{group_uri}/forged/2"),
            "type": "Announce",
            "actor": group_uri,
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "object": {
                "id": format!("{group_uri}/forged/2/block"),
                "type": "Block",
                "actor": group_uri,
                "object": pat_uri,
                "target": format!("http://{}/users/another", alpha.domain),
            }
        });
        // Featuring a post that is not in the community (Pat's own post on beta).
        let (status, outside) = beta
            .post(
                "/api/v1/statuses",
                Some(&pat),
                &[("status", "not in any community")],
            )
            .await;
        assert_eq!(status, 200, "{outside}");
        let outside_uri = outside["uri"].as_str().unwrap().to_owned();
        let not_in_it = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{group_uri}/forged/4"),
            "type": "Announce",
            "actor": group_uri,
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "object": {
                "id": format!("{group_uri}/forged/4/add"),
                "type": "Add",
                "actor": group_uri,
                "object": outside_uri,
                "target": format!("{group_uri}/collections/featured"),
            }
        });
        for activity in [&by_a_member, &elsewhere, &not_in_it] {
            assert_eq!(post_as(&alpha, &group_id, &beta, activity).await, 202);
        }
        // The same Add announced by a Person (Olga), not the Group: no Group, no moderation.
        let olga_id = account_id(&alpha, &olga, "olga").await;
        let olga_uri = format!("http://{}/users/olga", alpha.domain);
        let by_a_person = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{olga_uri}/forged/5"),
            "type": "Announce",
            "actor": olga_uri,
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "object": {
                "id": format!("{olga_uri}/forged/5/add"),
                "type": "Add",
                "actor": olga_uri,
                "object": pat_uri,
                "target": format!("{group_uri}/moderators"),
            }
        });
        assert_eq!(post_as(&alpha, &olga_id, &beta, &by_a_person).await, 202);
        settle(&all).await;
        assert!(
            featured_on(&beta, &pat, &community).await.is_empty(),
            "nothing featured"
        );
        let standing = relationship(&beta, &pat, &community).await;
        assert_eq!(standing["moderator"], false, "{standing}");
        assert_eq!(standing["banned"], false, "{standing}");
        assert_eq!(standing["member"], true, "{standing}");
        assert!(moderators(&beta, &pat, &community).await.is_empty());
        let members_after = beta
            .store()
            .scalar_i64_for_tests("SELECT COUNT(*) FROM community_members")
            .await
            .unwrap();
        assert_eq!(members_before, members_after, "nothing stored");

        // The same Add from the Group itself (which speaks for its collections) applies.
        let by_the_group = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{group_uri}/announced/3"),
            "type": "Announce",
            "actor": group_uri,
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "object": {
                "id": format!("{group_uri}/announced/3/add"),
                "type": "Add",
                "actor": group_uri,
                "object": pat_uri,
                "target": format!("{group_uri}/moderators"),
            }
        });
        assert_eq!(post_as(&alpha, &group_id, &beta, &by_the_group).await, 202);
        settle(&all).await;
        assert_eq!(
            relationship(&beta, &pat, &community).await["moderator"],
            true
        );
        alpha.stop().await;
        beta.stop().await;
    }
}
