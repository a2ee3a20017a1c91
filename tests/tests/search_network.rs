//! Search with `resolve=true` across instances: a status URL of another instance is fetched
//! (signed, by the instance actor) with the thread above it, and shown only as the read gate
//! allows; what the origin does not serve to this instance stays unknown.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use cohort_model::Role;
use cohort_tests::harness::{Instance, engines, settle};
use serde_json::Value;

fn encode(url: &str) -> String {
    url.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn post(instance: &Instance, token: &str, form: &[(&str, &str)]) -> Value {
    let (status, body) = instance.post("/api/v1/statuses", Some(token), form).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn search(instance: &Instance, token: &str, q: &str) -> Value {
    let (status, body) = instance
        .get(
            &format!("/api/v2/search?resolve=true&q={}", encode(q)),
            Some(token),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn a_remote_status_url_is_resolved_with_its_thread_and_only_as_the_gate_allows() {
    for engine in engines() {
        let mut alpha = Instance::start_named(engine, "alpha", &[]).await;
        let mut beta = Instance::start_named(engine, "beta", &[]).await;
        alpha.create_account("pat", Role::Member, false).await;
        alpha.create_account("carol", Role::Member, false).await;
        beta.create_account("bob", Role::Member, false).await;
        let pat = alpha.sign_in("pat", "read write follow").await;
        let carol = alpha.sign_in("carol", "read write follow").await;
        let bob = beta.sign_in("bob", "read write follow").await;

        // A thread of three public posts on alpha; nobody on beta follows anyone there.
        let top = post(
            &alpha,
            &pat,
            &[("status", "Starting a new biologic next week")],
        )
        .await;
        let middle = post(
            &alpha,
            &carol,
            &[
                ("status", "@pat I started it last spring, ask me anything"),
                ("in_reply_to_id", top["id"].as_str().unwrap()),
            ],
        )
        .await;
        let last = post(
            &alpha,
            &pat,
            &[
                ("status", "@carol did the injections get easier?"),
                ("in_reply_to_id", middle["id"].as_str().unwrap()),
            ],
        )
        .await;
        let hidden = post(
            &alpha,
            &pat,
            &[
                ("status", "Only for my followers"),
                ("visibility", "private"),
            ],
        )
        .await;
        settle(&[&alpha, &beta]).await;

        // Without resolve, beta knows nothing of it.
        let (_, unresolved) = beta
            .get(
                &format!("/api/v2/search?q={}", encode(last["uri"].as_str().unwrap())),
                Some(&bob),
            )
            .await;
        assert_eq!(unresolved["statuses"], serde_json::json!([]));

        // Resolved by its web address (the origin serves the object under its id).
        let found = search(&beta, &bob, last["url"].as_str().unwrap()).await;
        let statuses = found["statuses"].as_array().unwrap();
        assert_eq!(statuses.len(), 1, "{found}");
        assert_eq!(statuses[0]["uri"], last["uri"]);
        assert_eq!(
            statuses[0]["account"]["acct"],
            format!("pat@{}", alpha.domain)
        );
        // The thread above it came along.
        let local_id = statuses[0]["id"].as_str().unwrap();
        let (_, context) = beta
            .get(&format!("/api/v1/statuses/{local_id}/context"), Some(&bob))
            .await;
        let ancestors: Vec<&str> = context["ancestors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["uri"].as_str().unwrap())
            .collect();
        assert_eq!(
            ancestors,
            vec![
                top["uri"].as_str().unwrap(),
                middle["uri"].as_str().unwrap()
            ],
            "{context}"
        );
        // By its id, the same status, not a second copy.
        let again = search(&beta, &bob, last["uri"].as_str().unwrap()).await;
        assert_eq!(again["statuses"][0]["id"], statuses[0]["id"]);

        // A followers-only post is not served to beta's instance actor: nothing is stored.
        let refused = search(&beta, &bob, hidden["uri"].as_str().unwrap()).await;
        assert_eq!(refused["statuses"], serde_json::json!([]), "{refused}");
        assert!(
            beta.store()
                .status_id_by_uri(hidden["uri"].as_str().unwrap())
                .await
                .unwrap()
                .is_none()
        );

        // An actor URL resolves to the account.
        let actor = search(&beta, &bob, &format!("http://{}/users/carol", alpha.domain)).await;
        assert_eq!(
            actor["accounts"][0]["acct"],
            format!("carol@{}", alpha.domain),
            "{actor}"
        );

        // A URL that serves nothing: an empty result, not an error.
        let nothing = search(
            &beta,
            &bob,
            &format!("http://{}/users/pat/statuses/1", alpha.domain),
        )
        .await;
        assert_eq!(nothing["statuses"], serde_json::json!([]));
        assert_eq!(nothing["accounts"], serde_json::json!([]));
    }
}
