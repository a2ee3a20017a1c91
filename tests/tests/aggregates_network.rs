//! Evaluation aggregates across real instances (`alpha` hosts the community, `beta` and
//! `gamma` have members or not), over real HTTP with real signatures, on SQLite and
//! PostgreSQL (docs/EVALUATIONS.md "Across instances"): a member instance contributes its
//! own k-anonymous cells and nothing under k, the community's instance combines them, the
//! combined view is fetched and shown by the member instance, a forged contribution is
//! refused with nothing stored, the summary Note reaches followers as a plain Note, and one
//! more patient on a member instance changes nothing anyone can see.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::SystemTime;

use cohort_federation::delivery::sign::{Signer, sign_post};
use cohort_model::Role;
use cohort_tests::harness::{Instance, engines, settle};
use serde_json::{Value, json};

const SCOPES: &str = "read write follow";
/// k on every instance of these tests.
const K: u64 = 3;
const K_SETTING: (&str, &str) = ("COHORT_AGGREGATE_MIN_PATIENTS", "3");

fn evaluation(community: &str, effectiveness: &str) -> Value {
    json!({
        "condition": "E11",
        "treatment_kind": "medication",
        "treatment": "metformin",
        "started_on": "2025-01-10",
        "effectiveness": effectiveness,
        "side_effects": [{"name": "Nausea", "severity": "mild"}],
        "community_id": community,
    })
}

async fn file(instance: &Instance, token: &str, community: &str, effectiveness: &str) {
    let response = reqwest::Client::new()
        .post(instance.url("/api/v1/cohort/evaluations"))
        .bearer_auth(token)
        .json(&evaluation(community, effectiveness))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 201, "{body}");
}

/// A new signed-in member of `community` on `instance` (joined through the communities API).
async fn member(instance: &mut Instance, name: &str, community: &str) -> String {
    instance.create_account(name, Role::Member, false).await;
    let token = instance.sign_in(name, SCOPES).await;
    if community.contains('@') {
        // A community hosted elsewhere is found through WebFinger first.
        instance.join_remote_community(&token, community).await;
    } else {
        let (status, body) = instance
            .post(
                &format!("/api/v1/communities/{community}/join"),
                Some(&token),
                &[],
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    token
}

async fn count(instance: &Instance, sql: &'static str) -> i64 {
    instance.store().scalar_i64_for_tests(sql).await.unwrap()
}

async fn contributions(instance: &Instance) -> i64 {
    count(instance, "SELECT COUNT(*) FROM evaluation_contributions").await
}

async fn contribution_events(instance: &Instance) -> i64 {
    count(
        instance,
        "SELECT COUNT(*) FROM outbox_activities WHERE kind = 'evaluation_contribution'",
    )
    .await
}

/// POSTs `body` to `to`'s shared inbox, signed by `from`'s instance actor (or unsigned).
async fn post_to_inbox(from: Option<&Instance>, to: &Instance, body: &Value) -> u16 {
    let body = body.to_string();
    let host = to.domain.split(':').next().unwrap().to_owned();
    let client = reqwest::Client::builder()
        .resolve(&host, to.server.addr)
        .build()
        .unwrap();
    let mut request = client
        .post(format!("http://{}/inbox", to.domain))
        .header("content-type", "application/activity+json");
    if let Some(from) = from {
        let (_, private_pem) = from.store().instance_actor_keys().await.unwrap().unwrap();
        let actor = format!("http://{}/actor", from.domain);
        let signer = Signer::from_pem(&format!("{actor}#main-key"), &private_pem).unwrap();
        let signed = sign_post(
            &signer,
            &to.domain,
            "/inbox",
            body.as_bytes(),
            SystemTime::now(),
        )
        .unwrap();
        request = request
            .header("date", signed.date)
            .header("digest", signed.digest)
            .header("signature", signed.signature);
    }
    request.body(body).send().await.unwrap().status().as_u16()
}

fn contribution(from: &Instance, id: &str, group: &str, cells: Value) -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/activitystreams", {"cohort": "https://cohort.example/ns#", "EvaluationContribution": "cohort:EvaluationContribution", "cells": {"@id": "cohort:cells", "@type": "@json"}}],
        "id": format!("http://{}/activities/{id}", from.domain),
        "type": "EvaluationContribution",
        "actor": format!("http://{}/actor", from.domain),
        "object": group,
        "to": [group],
        "cells": cells,
    })
}

fn cell(patients: u64, effectiveness: Value) -> Value {
    json!({
        "treatment": "rxnorm:metformin",
        "patients": patients,
        "effectiveness": effectiveness,
        "duration": null,
        "side_effects": [],
    })
}

#[tokio::test]
async fn member_instances_contribute_k_anonymous_cells_and_the_combined_view_federates() {
    for engine in engines() {
        let mut alpha = Instance::start_named(engine, "alpha", &[K_SETTING]).await;
        let mut beta = Instance::start_named(engine, "beta", &[K_SETTING]).await;
        alpha.create_account("olga", Role::Admin, false).await;
        let olga = alpha.sign_in("olga", SCOPES).await;
        let (status, created) = alpha
            .post(
                "/api/v1/communities",
                Some(&olga),
                &[("name", "diabetes"), ("title", "Type 2 diabetes")],
            )
            .await;
        assert_eq!(status, 201, "{created}");
        let remote = format!("diabetes@{}", alpha.domain);

        // Beta's members join first (they follow the Group, so they get its summary Note).
        let mut on_beta = Vec::new();
        for n in 0..K + 1 {
            on_beta.push(member(&mut beta, &format!("b{n}"), &remote).await);
        }
        settle(&[&alpha, &beta]).await;
        // Alpha's own k patients publish the cell.
        for n in 0..K {
            let token = member(&mut alpha, &format!("a{n}"), "diabetes").await;
            file(&alpha, &token, "diabetes", "major").await;
        }
        // k - 1 on beta: under k, nothing is sent and nothing counted.
        for token in &on_beta[..(K - 1) as usize] {
            file(&beta, token, &remote, "none").await;
        }
        settle(&[&alpha, &beta]).await;
        assert_eq!(contribution_events(&beta).await, 0);
        assert_eq!(contributions(&alpha).await, 0);
        let (status, view) = alpha
            .get("/api/v1/communities/diabetes/aggregates", None)
            .await;
        assert_eq!(status, 200, "{view}");
        assert_eq!(view["cells"][0]["patients"], K, "{view}");
        assert_eq!(view["instances"], json!([alpha.domain]));

        // The k-th on beta: beta publishes its cell and contributes it; alpha adds it.
        file(&beta, &on_beta[(K - 1) as usize], &remote, "none").await;
        settle(&[&alpha, &beta]).await;
        assert_eq!(contribution_events(&beta).await, 1);
        assert_eq!(contributions(&alpha).await, 1);
        let (_, combined) = alpha
            .get("/api/v1/communities/diabetes/aggregates", None)
            .await;
        assert_eq!(combined["cells"][0]["patients"], 2 * K, "{combined}");
        assert_eq!(
            combined["cells"][0]["effectiveness"][0],
            json!({"value": "none", "patients": K})
        );
        assert_eq!(
            combined["instances"],
            json!([alpha.domain, beta.domain]),
            "{combined}"
        );

        // Differencing across instances: one more patient on beta changes no snapshot
        // there, so nothing is sent and alpha's combined view does not move.
        file(&beta, &on_beta[K as usize], &remote, "major").await;
        settle(&[&alpha, &beta]).await;
        assert_eq!(contribution_events(&beta).await, 1);
        let (_, after) = alpha
            .get("/api/v1/communities/diabetes/aggregates", None)
            .await;
        assert_eq!(after["cells"], combined["cells"]);

        // Beta shows the combined view of alpha's community, fetched from alpha.
        let (status, shown) = beta
            .get(
                &format!("/api/v1/communities/{remote}/aggregates"),
                Some(&on_beta[0]),
            )
            .await;
        assert_eq!(status, 200, "{shown}");
        assert_eq!(shown["cells"], combined["cells"], "{shown}");
        assert_eq!(shown["instances"], json!([alpha.domain, beta.domain]));
        assert_eq!(
            count(&beta, "SELECT COUNT(*) FROM remote_evaluation_aggregates").await,
            1
        );

        // The summary Note: alpha's Group posted it when its cell was first published; it
        // reached beta's followers as a plain Note by the Group, in words.
        let (_, home) = beta.get("/api/v1/timelines/home", Some(&on_beta[0])).await;
        let note = home
            .as_array()
            .unwrap()
            .iter()
            .find(|s| {
                s["content"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("Treatment evaluations in")
            })
            .unwrap_or_else(|| panic!("the summary Note reached beta: {home}"));
        assert!(note["reblog"].is_null(), "{note}");
        assert_eq!(note["account"]["acct"], remote, "{note}");
        let content = note["content"].as_str().unwrap();
        assert!(content.contains("metformin: 3 patients"), "{content}");
        assert!(content.contains("major 3"), "{content}");
        // At most one a day: the later publication on alpha posted no second one.
        assert_eq!(
            count(
                &alpha,
                "SELECT COUNT(*) FROM statuses s JOIN communities c ON c.account_id = s.account_id"
            )
            .await,
            1
        );
        alpha.stop().await;
        beta.stop().await;
    }
}

#[tokio::test]
async fn forged_contributions_are_refused_and_nothing_is_stored() {
    for engine in engines() {
        let mut alpha = Instance::start_named(engine, "alpha", &[K_SETTING]).await;
        let mut beta = Instance::start_named(engine, "beta", &[K_SETTING]).await;
        let gamma = Instance::start_named(engine, "gamma", &[K_SETTING]).await;
        alpha.create_account("olga", Role::Admin, false).await;
        let olga = alpha.sign_in("olga", SCOPES).await;
        let (status, _) = alpha
            .post(
                "/api/v1/communities",
                Some(&olga),
                &[("name", "diabetes"), ("title", "Type 2 diabetes")],
            )
            .await;
        assert_eq!(status, 201);
        let remote = format!("diabetes@{}", alpha.domain);
        member(&mut beta, "pat", &remote).await;
        settle(&[&alpha, &beta]).await;
        let group = format!("http://{}/users/diabetes", alpha.domain);
        let fine = json!({"level": 0, "counts": [0, 0, 0, K, 0]});

        let refused = [
            // Under k.
            (
                Some(&beta),
                contribution(
                    &beta,
                    "1",
                    &group,
                    json!([cell(
                        K - 1,
                        json!({"level": 0, "counts": [0, 0, 0, K - 1, 0]})
                    )]),
                ),
                422,
            ),
            // A bucket of 1 in a cell of k + 1: the one differs from the rest.
            (
                Some(&beta),
                contribution(
                    &beta,
                    "2",
                    &group,
                    json!([cell(K + 1, json!({"level": 0, "counts": [1, 0, 0, K, 0]}))]),
                ),
                422,
            ),
            // Counts that do not add up to the cell.
            (
                Some(&beta),
                contribution(
                    &beta,
                    "3",
                    &group,
                    json!([cell(K, json!({"level": 0, "counts": [0, 0, 0, 2 * K, 0]}))]),
                ),
                422,
            ),
            // Free text.
            (
                Some(&beta),
                contribution(
                    &beta,
                    "4",
                    &group,
                    json!([{"treatment": "text:my pills", "patients": K, "effectiveness": null, "duration": null, "side_effects": []}]),
                ),
                422,
            ),
            // No community here.
            (
                Some(&beta),
                contribution(
                    &beta,
                    "5",
                    &format!("http://{}/users/nosuch", alpha.domain),
                    json!([cell(K, fine.clone())]),
                ),
                422,
            ),
            // From an instance with no member of the community.
            (
                Some(&gamma),
                contribution(&gamma, "6", &group, json!([cell(K, fine.clone())])),
                403,
            ),
            // Unsigned.
            (
                None,
                contribution(&beta, "7", &group, json!([cell(K, fine.clone())])),
                401,
            ),
        ];
        for (from, body, expected) in refused {
            let status = post_to_inbox(from, &alpha, &body).await;
            assert_eq!(status, expected, "{body}");
            settle(&[&alpha, &beta, &gamma]).await;
            assert_eq!(contributions(&alpha).await, 0, "{body}");
            assert_eq!(
                count(&alpha, "SELECT COUNT(*) FROM inbox_queue").await,
                0,
                "{body}"
            );
        }
        // The same, well formed, from beta: accepted and counted.
        let status = post_to_inbox(
            Some(&beta),
            &alpha,
            &contribution(&beta, "8", &group, json!([cell(K, fine)])),
        )
        .await;
        assert_eq!(status, 202);
        settle(&[&alpha, &beta, &gamma]).await;
        assert_eq!(contributions(&alpha).await, 1);
        let (_, view) = alpha
            .get("/api/v1/communities/diabetes/aggregates", None)
            .await;
        assert_eq!(view["cells"][0]["patients"], K, "{view}");
        alpha.stop().await;
        beta.stop().await;
        gamma.stop().await;
    }
}

/// GETs `path` on `to`, signed by `from`'s instance actor (a signed fetch).
async fn signed_get(from: &Instance, to: &Instance, path: &str) -> u16 {
    let (_, private_pem) = from.store().instance_actor_keys().await.unwrap().unwrap();
    let actor = format!("http://{}/actor", from.domain);
    let signer = Signer::from_pem(&format!("{actor}#main-key"), &private_pem).unwrap();
    let (date, signature) =
        cohort_federation::http::fetch::sign_get(&signer, &to.domain, path, SystemTime::now())
            .unwrap();
    let host = to.domain.split(':').next().unwrap().to_owned();
    let client = reqwest::Client::builder()
        .resolve(&host, to.server.addr)
        .build()
        .unwrap();
    client
        .get(format!("http://{}{path}", to.domain))
        .header("accept", "application/activity+json")
        .header("date", date)
        .header("signature", signature)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_members_only_communitys_view_goes_only_to_its_members_instances_and_no_note() {
    for engine in engines() {
        let mut alpha = Instance::start_named(engine, "alpha", &[K_SETTING]).await;
        let mut beta = Instance::start_named(engine, "beta", &[K_SETTING]).await;
        let gamma = Instance::start_named(engine, "gamma", &[K_SETTING]).await;
        alpha.create_account("olga", Role::Admin, false).await;
        let olga = alpha.sign_in("olga", SCOPES).await;
        let (status, created) = alpha
            .post(
                "/api/v1/communities",
                Some(&olga),
                &[
                    ("name", "diabetes"),
                    ("title", "Type 2 diabetes"),
                    ("visibility", "members"),
                ],
            )
            .await;
        assert_eq!(status, 201, "{created}");
        let remote = format!("diabetes@{}", alpha.domain);
        let pat = member(&mut beta, "pat", &remote).await;
        settle(&[&alpha, &beta, &gamma]).await;
        for n in 0..K {
            let token = member(&mut alpha, &format!("a{n}"), "diabetes").await;
            file(&alpha, &token, "diabetes", "major").await;
        }
        settle(&[&alpha, &beta, &gamma]).await;
        // Published, but no public Note from the Group.
        let (_, view) = alpha
            .get("/api/v1/communities/diabetes/aggregates", Some(&olga))
            .await;
        assert_eq!(view["cells"][0]["patients"], K, "{view}");
        assert_eq!(
            count(
                &alpha,
                "SELECT COUNT(*) FROM statuses s JOIN communities c ON c.account_id = s.account_id"
            )
            .await,
            0
        );
        // The object: to beta (it has a member), not to gamma (none), not unsigned.
        let path = "/users/diabetes/aggregates";
        assert_eq!(signed_get(&beta, &alpha, path).await, 200);
        assert_eq!(signed_get(&gamma, &alpha, path).await, 404);
        let unsigned = reqwest::Client::new()
            .get(alpha.url(path))
            .header("accept", "application/activity+json")
            .send()
            .await
            .unwrap();
        assert_eq!(unsigned.status().as_u16(), 404);
        // Beta's member sees the view through beta.
        let (status, shown) = beta
            .get(
                &format!("/api/v1/communities/{remote}/aggregates"),
                Some(&pat),
            )
            .await;
        assert_eq!(status, 200, "{shown}");
        assert_eq!(shown["cells"][0]["patients"], K, "{shown}");
        alpha.stop().await;
        beta.stop().await;
        gamma.stop().await;
    }
}
