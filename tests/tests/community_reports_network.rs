//! Issue 9: reports about a community's content reach the community's moderators on other
//! instances. Three real instances, on SQLite and PostgreSQL: `alpha` hosts the community
//! (Olga owns it, Mallory posts in it), `beta` has a member (Bea), `gamma` has a member Olga
//! made a moderator (Gus). A report filed on beta and forwarded to alpha is relayed by alpha,
//! as a `Flag` from its instance actor, to gamma (never back to beta); Gus sees it in the
//! community's reports and resolves it, and the outcome comes back to alpha. A Lemmy-shaped
//! `Flag` about the post, sent to alpha or straight to gamma, reaches Gus too, its comment
//! screened by the PHI guard before alpha relays it; a report filed on alpha by someone who
//! did not forward it is relayed without its comment. A `Flag` about the post sent to beta,
//! where nobody moderates the community, is refused with 422 and nothing is stored.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::SystemTime;

use cohort_federation::delivery::sign::{Signer, sign_post};
use cohort_model::{Id, Role};
use cohort_tests::harness::{Engine, Instance, engines, settle};
use serde_json::Value;

const SCOPES: &str = "read write follow";
const IDENTIFYING: &str = "She posted that Mrs. Eleanor Whitfield was discharged from bed 12B this morning after her heart failure admission.";

async fn count(instance: &Instance, sql: &'static str) -> i64 {
    instance
        .store()
        .scalar_i64_for_tests(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Reports received from another instance.
const RECEIVED: &str = "SELECT COUNT(*) FROM reports WHERE origin_domain IS NOT NULL";
/// Flags an instance sent (forwarded or relayed reports).
const SENT_FLAGS: &str = "SELECT COUNT(*) FROM outbox_activities WHERE kind = 'flag'";

/// The test network: the community `caregivers` on alpha with Gus (gamma) as a moderator,
/// Bea (beta) and Alice (alpha) as members, and Mallory's post in it, received by beta and
/// gamma through the Group.
struct Network {
    alpha: Instance,
    beta: Instance,
    gamma: Instance,
    olga: String,
    alice: String,
    bea: String,
    gus: String,
    carol: Id,
    /// `caregivers@alpha...`, as beta and gamma name the community.
    community: String,
    post_uri: String,
}

impl Network {
    async fn start(engine: Engine) -> Network {
        let mut alpha =
            Instance::start_named(engine, "alpha", &[("COHORT_USER_COMMUNITIES", "true")]).await;
        let mut beta = Instance::start_named(engine, "beta", &[]).await;
        let mut gamma = Instance::start_named(engine, "gamma", &[]).await;
        for name in ["olga", "mallory", "alice"] {
            alpha.create_account(name, Role::Member, false).await;
        }
        beta.create_account("bea", Role::Member, false).await;
        let carol = beta.create_account("carol", Role::Member, false).await;
        gamma.create_account("gus", Role::Member, false).await;
        let olga = alpha.sign_in("olga", SCOPES).await;
        let mallory = alpha.sign_in("mallory", SCOPES).await;
        let alice = alpha.sign_in("alice", SCOPES).await;
        let bea = beta.sign_in("bea", SCOPES).await;
        let gus = gamma.sign_in("gus", SCOPES).await;
        let (community, _) = alpha
            .community_with_remote_members(
                &olga,
                &[("name", "caregivers")],
                &[(&beta, &bea), (&gamma, &gus)],
                &[&alpha, &beta, &gamma],
            )
            .await;
        for token in [&mallory, &alice] {
            let (status, body) = alpha
                .post("/api/v1/communities/caregivers/join", Some(token), &[])
                .await;
            assert_eq!(status, 200, "{body}");
        }
        let (status, gus_on_alpha) = alpha
            .get(
                &format!("/api/v1/accounts/lookup?acct=gus@{}", gamma.domain),
                Some(&olga),
            )
            .await;
        assert_eq!(status, 200, "{gus_on_alpha}");
        let (status, body) = alpha
            .post(
                "/api/v1/communities/caregivers/moderators",
                Some(&olga),
                &[("account_id", gus_on_alpha["id"].as_str().unwrap())],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let (status, post) = alpha
            .post(
                "/api/v1/statuses",
                Some(&mallory),
                &[
                    ("status", "@caregivers my tea cures dementia, DM me"),
                    ("visibility", "public"),
                ],
            )
            .await;
        assert_eq!(status, 200, "{post}");
        let post_uri = post["uri"].as_str().unwrap().to_owned();
        settle(&[&alpha, &beta, &gamma]).await;
        let (status, seen) = gamma
            .get(&format!("/api/v1/communities/{community}"), Some(&gus))
            .await;
        assert_eq!(status, 200, "{seen}");
        assert_eq!(
            seen["relationship"]["moderator"], true,
            "gamma knows Gus moderates the community: {seen}"
        );
        Network {
            alpha,
            beta,
            gamma,
            olga,
            alice,
            bea,
            gus,
            carol,
            community,
            post_uri,
        }
    }

    fn all(&self) -> [&Instance; 3] {
        [&self.alpha, &self.beta, &self.gamma]
    }

    /// The community's open reports as `token`'s account sees them on `instance`.
    async fn reports(&self, instance: &Instance, token: &str, community: &str) -> Vec<Value> {
        let (status, reports) = instance
            .get(
                &format!("/api/v1/communities/{community}/reports"),
                Some(token),
            )
            .await;
        assert_eq!(status, 200, "{reports}");
        reports.as_array().unwrap().clone()
    }

    /// Mallory's post as `instance` knows it (the community's threads there): its id and
    /// Mallory's account id there.
    async fn post_on(&self, instance: &Instance, token: &str, community: &str) -> (String, String) {
        self.thread_on(instance, token, community, &self.post_uri)
            .await
    }

    /// A thread of the community as `instance` knows it: its id and its author's id there.
    async fn thread_on(
        &self,
        instance: &Instance,
        token: &str,
        community: &str,
        uri: &str,
    ) -> (String, String) {
        let (status, threads) = instance
            .get(
                &format!("/api/v1/communities/{community}/statuses"),
                Some(token),
            )
            .await;
        assert_eq!(status, 200, "{threads}");
        let post = threads
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["uri"] == uri)
            .unwrap_or_else(|| panic!("the post is known there: {threads}"));
        (
            post["id"].as_str().unwrap().to_owned(),
            post["account"]["id"].as_str().unwrap().to_owned(),
        )
    }

    async fn stop(self) {
        self.alpha.stop().await;
        self.beta.stop().await;
        self.gamma.stop().await;
    }
}

fn fixture(path: &str) -> Option<String> {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/activitypub")
        .join(path);
    match std::fs::read_to_string(&file) {
        Ok(text) => Some(text),
        Err(_) => {
            eprintln!("skipping: fixture {} not found", file.display());
            None
        }
    }
}

/// POSTs `body` to `to`'s shared inbox, signed with `key_id` and `private_pem`.
async fn post_signed(key_id: &str, private_pem: &str, to: &Instance, body: &str) -> u16 {
    let signer = Signer::from_pem(key_id, private_pem).unwrap();
    let signed = sign_post(
        &signer,
        &to.domain,
        "/inbox",
        body.as_bytes(),
        SystemTime::now(),
    )
    .unwrap();
    to.http
        .post(to.url("/inbox"))
        .header("host", to.domain.as_str())
        .header("content-type", "application/activity+json")
        .header("date", signed.date)
        .header("digest", signed.digest)
        .header("signature", signed.signature)
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// POSTs `body` signed by the account `account` of `from` (a person, as Lemmy signs).
async fn post_as_account(from: &Instance, account: Id, to: &Instance, body: &str) -> u16 {
    let actor = from.store().delivery_actor(account).await.unwrap();
    post_signed(
        actor.key_id.as_deref().unwrap(),
        actor.private_key_pem.as_deref().unwrap(),
        to,
        body,
    )
    .await
}

/// POSTs `body` signed by `from`'s instance actor.
async fn post_as_instance(from: &Instance, to: &Instance, body: &str) -> u16 {
    let (_, private_pem) = from.store().instance_actor_keys().await.unwrap().unwrap();
    let key_id = format!("http://{}/actor#main-key", from.domain);
    post_signed(&key_id, &private_pem, to, body).await
}

/// Lemmy's report (the fixture) as Carol on beta sends it: from her, about Mallory's post,
/// to the community on alpha, with `summary` as the reason and `n` making its id unique.
fn lemmy_flag(template: &str, net: &Network, summary: &str, n: u32) -> String {
    let beta = &net.beta.domain;
    template
        .replace(
            "https://lemmy.example/u/carol",
            &format!("http://{beta}/users/carol"),
        )
        .replace(
            "https://lemmy.example/activities/flag/a1840acf",
            &format!("http://{beta}/activities/flag/{n}-a1840acf"),
        )
        .replace("https://cohort.example/post/77", &net.post_uri)
        .replace(
            "https://cohort.example/c/caregivers",
            &format!("http://{}/users/caregivers", net.alpha.domain),
        )
        .replace("Selling unproven treatments to members", summary)
}

#[tokio::test]
async fn a_forwarded_report_reaches_the_communitys_moderator_on_another_instance_and_the_outcome_comes_back()
 {
    for engine in engines() {
        let mut net = Network::start(engine).await;
        let (post_on_beta, mallory_on_beta) =
            net.post_on(&net.beta, &net.bea, &net.community).await;
        let (status, filed) = net
            .beta
            .post(
                "/api/v1/reports",
                Some(&net.bea),
                &[
                    ("account_id", mallory_on_beta.as_str()),
                    ("status_ids[]", post_on_beta.as_str()),
                    ("comment", "Preying on caregivers"),
                    ("forward", "true"),
                ],
            )
            .await;
        assert_eq!(status, 200, "{filed}");
        settle(&net.all()).await;

        // Alpha (Mallory's instance and the community's) received it, and relayed it once,
        // from its instance actor, to gamma only: never back to beta.
        assert_eq!(count(&net.alpha, RECEIVED).await, 1, "{engine:?}");
        assert_eq!(count(&net.alpha, SENT_FLAGS).await, 1, "{engine:?}");
        assert_eq!(
            count(&net.beta, RECEIVED).await,
            0,
            "{engine:?}: not back to beta"
        );
        let on_alpha = net.reports(&net.alpha, &net.olga, "caregivers").await;
        assert_eq!(on_alpha.len(), 1, "{engine:?}: {on_alpha:?}");
        assert_eq!(on_alpha[0]["origin_domain"], net.beta.domain.as_str());

        // Gus sees it in the community's reports on gamma, anonymous, and was told.
        let on_gamma = net.reports(&net.gamma, &net.gus, &net.community).await;
        assert_eq!(on_gamma.len(), 1, "{engine:?}: {on_gamma:?}");
        let report = &on_gamma[0];
        assert_eq!(report["comment"], "Preying on caregivers");
        assert_eq!(report["origin_domain"], net.alpha.domain.as_str());
        assert_eq!(
            count(
                &net.gamma,
                "SELECT COUNT(*) FROM reports WHERE uri LIKE 'http://alpha.localhost:%/activities/%'"
            )
            .await,
            1,
            "{engine:?}: the Flag is alpha's own activity (its instance actor's relay)"
        );
        assert_eq!(report["target_account"]["username"], "mallory");
        assert_eq!(report["statuses"].as_array().unwrap().len(), 1, "{report}");
        assert!(report.get("account").is_none(), "{report}");
        let (_, told) = net.gamma.get("/api/v1/notifications", Some(&net.gus)).await;
        assert!(
            told.as_array()
                .unwrap()
                .iter()
                .any(|n| n["type"] == "admin.report"),
            "{told}"
        );
        // Bea, a plain member, sees no reports of the community.
        let (status, _) = net
            .beta
            .get(
                &format!("/api/v1/communities/{}/reports", net.community),
                Some(&net.bea),
            )
            .await;
        assert_eq!(status, 403);

        // Gus resolves it; the outcome goes back to alpha, shown on alpha's report.
        let (status, done) = net
            .gamma
            .post(
                &format!(
                    "/api/v1/communities/{}/reports/{}/resolve",
                    net.community,
                    report["id"].as_str().unwrap()
                ),
                Some(&net.gus),
                &[("resolution_note", "Post removed, member warned")],
            )
            .await;
        assert_eq!(status, 200, "{done}");
        assert_eq!(done["action_taken"], true);
        settle(&net.all()).await;
        assert_eq!(
            count(
                &net.alpha,
                "SELECT COUNT(*) FROM reports WHERE remote_resolution = 'Post removed, member warned' \
                 AND remote_resolved_at IS NOT NULL"
            )
            .await,
            1,
            "{engine:?}: alpha recorded gamma's outcome"
        );

        // A report filed on alpha without forwarding (Mallory is local there) reaches Gus
        // too, without the reporter's words, which were not screened for leaving.
        let (post_on_alpha, mallory_on_alpha) =
            net.post_on(&net.alpha, &net.alice, "caregivers").await;
        let (status, filed) = net
            .alpha
            .post(
                "/api/v1/reports",
                Some(&net.alice),
                &[
                    ("account_id", mallory_on_alpha.as_str()),
                    ("status_ids[]", post_on_alpha.as_str()),
                    (
                        "comment",
                        "My neighbour Mrs. Eleanor Whitfield believed her",
                    ),
                ],
            )
            .await;
        assert_eq!(status, 200, "{filed}");
        assert_eq!(filed["forwarded"], false);
        settle(&net.all()).await;
        let on_gamma = net.reports(&net.gamma, &net.gus, &net.community).await;
        assert_eq!(on_gamma.len(), 1, "{engine:?}: {on_gamma:?}");
        assert_eq!(on_gamma[0]["comment"], "", "{engine:?}");
        assert_eq!(on_gamma[0]["target_account"]["username"], "mallory");
        assert_eq!(count(&net.beta, RECEIVED).await, 0, "{engine:?}");

        // Carol (beta) posts in the community and Alice reports her with forward: one Flag
        // goes to beta (Carol's instance) and, naming the community, to gamma.
        let carol = net.beta.sign_in("carol", SCOPES).await;
        let (status, body) = net
            .beta
            .post(
                &format!("/api/v1/communities/{}/join", net.community),
                Some(&carol),
                &[],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        settle(&net.all()).await;
        let (status, post) = net
            .beta
            .post(
                "/api/v1/statuses",
                Some(&carol),
                &[(
                    "status",
                    &format!("@{} cinnamon instead of insulin", net.community),
                )],
            )
            .await;
        assert_eq!(status, 200, "{post}");
        settle(&net.all()).await;
        let (post_on_alpha, carol_on_alpha) = net
            .thread_on(
                &net.alpha,
                &net.alice,
                "caregivers",
                post["uri"].as_str().unwrap(),
            )
            .await;
        let (status, filed) = net
            .alpha
            .post(
                "/api/v1/reports",
                Some(&net.alice),
                &[
                    ("account_id", carol_on_alpha.as_str()),
                    ("status_ids[]", post_on_alpha.as_str()),
                    ("comment", "Dangerous advice"),
                    ("forward", "true"),
                ],
            )
            .await;
        assert_eq!(status, 200, "{filed}");
        settle(&net.all()).await;
        assert_eq!(count(&net.beta, RECEIVED).await, 1, "{engine:?}");
        let on_gamma = net.reports(&net.gamma, &net.gus, &net.community).await;
        assert_eq!(on_gamma.len(), 2, "{engine:?}: {on_gamma:?}");
        assert!(
            on_gamma.iter().any(|r| r["comment"] == "Dangerous advice"
                && r["target_account"]["username"] == "carol"),
            "{engine:?}: {on_gamma:?}"
        );
        assert_eq!(count(&net.gamma, RECEIVED).await, 3, "{engine:?}");

        // Gus reports the post from gamma, forwarded to alpha: alpha does not relay it back
        // to gamma, the only instance of the community's remote moderators.
        let flags_before = count(&net.alpha, SENT_FLAGS).await;
        let (post_on_gamma, mallory_on_gamma) =
            net.post_on(&net.gamma, &net.gus, &net.community).await;
        let (status, filed) = net
            .gamma
            .post(
                "/api/v1/reports",
                Some(&net.gus),
                &[
                    ("account_id", mallory_on_gamma.as_str()),
                    ("status_ids[]", post_on_gamma.as_str()),
                    ("comment", "Still there"),
                    ("forward", "true"),
                ],
            )
            .await;
        assert_eq!(status, 200, "{filed}");
        settle(&net.all()).await;
        assert_eq!(count(&net.alpha, RECEIVED).await, 2, "{engine:?}");
        assert_eq!(count(&net.alpha, SENT_FLAGS).await, flags_before);
        assert_eq!(
            count(&net.gamma, RECEIVED).await,
            3,
            "{engine:?}: not relayed back"
        );
        net.stop().await;
    }
}

#[tokio::test]
async fn a_lemmy_shaped_flag_about_a_community_post_reaches_its_moderator_on_another_instance() {
    let Some(template) = fixture("lemmy/flag.json") else {
        return;
    };
    for engine in engines() {
        let net = Network::start(engine).await;

        // Carol's Flag to the community's instance, naming a patient: alpha keeps it as
        // written, and relays it to gamma with the identifiers redacted.
        let body = lemmy_flag(&template, &net, IDENTIFYING, 1);
        assert_eq!(
            post_as_account(&net.beta, net.carol, &net.alpha, &body).await,
            202
        );
        settle(&net.all()).await;
        let on_alpha = net.reports(&net.alpha, &net.olga, "caregivers").await;
        assert_eq!(on_alpha.len(), 1, "{engine:?}: {on_alpha:?}");
        assert_eq!(on_alpha[0]["comment"], IDENTIFYING);
        let on_gamma = net.reports(&net.gamma, &net.gus, &net.community).await;
        assert_eq!(on_gamma.len(), 1, "{engine:?}: {on_gamma:?}");
        let relayed = on_gamma[0]["comment"].as_str().unwrap();
        assert!(
            relayed.contains("[redacted") && !relayed.contains("Whitfield"),
            "{engine:?}: {relayed}"
        );
        assert!(relayed.contains("heart failure admission"), "{relayed}");
        assert_eq!(on_gamma[0]["origin_domain"], net.alpha.domain.as_str());
        assert_eq!(on_gamma[0]["target_account"]["username"], "mallory");
        assert_eq!(count(&net.beta, RECEIVED).await, 0, "{engine:?}");

        // The same shape sent straight to gamma, where a local account moderates the
        // community: a report tied to the community there.
        let body = lemmy_flag(&template, &net, "Selling unproven treatments to members", 2);
        assert_eq!(
            post_as_account(&net.beta, net.carol, &net.gamma, &body).await,
            202
        );
        settle(&net.all()).await;
        let on_gamma = net.reports(&net.gamma, &net.gus, &net.community).await;
        assert_eq!(on_gamma.len(), 2, "{engine:?}: {on_gamma:?}");
        let direct = on_gamma
            .iter()
            .find(|r| r["origin_domain"] == net.beta.domain.as_str())
            .unwrap_or_else(|| panic!("{engine:?}: {on_gamma:?}"));
        assert_eq!(direct["comment"], "Selling unproven treatments to members");
        assert_eq!(direct["statuses"].as_array().unwrap().len(), 1);
        // Resolving it sends the outcome back to Carol, who sent it.
        let (status, _) = net
            .gamma
            .post(
                &format!(
                    "/api/v1/communities/{}/reports/{}/resolve",
                    net.community,
                    direct["id"].as_str().unwrap()
                ),
                Some(&net.gus),
                &[("resolution_note", "Removed")],
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(
            count(
                &net.gamma,
                "SELECT COUNT(*) FROM outbox_activities WHERE kind = 'resolve_report'"
            )
            .await,
            1,
            "{engine:?}"
        );
        net.stop().await;
    }
}

#[tokio::test]
async fn a_flag_about_a_community_nobody_here_moderates_is_refused_and_nothing_is_stored() {
    let Some(template) = fixture("lemmy/flag.json") else {
        return;
    };
    for engine in engines() {
        let net = Network::start(engine).await;
        // Beta knows the post (Bea is a member) but moderates nothing of the community, and
        // the post concerns nobody there.
        net.post_on(&net.beta, &net.bea, &net.community).await;
        let body = lemmy_flag(&template, &net, "Selling unproven treatments to members", 3)
            .replace(
                &format!("http://{}/users/carol", net.beta.domain),
                &format!("http://{}/actor", net.gamma.domain),
            )
            .replace(
                &format!("http://{}/activities/", net.beta.domain),
                &format!("http://{}/activities/", net.gamma.domain),
            );
        assert_eq!(post_as_instance(&net.gamma, &net.beta, &body).await, 422);
        settle(&net.all()).await;
        assert_eq!(
            count(&net.beta, "SELECT COUNT(*) FROM reports").await,
            0,
            "{engine:?}"
        );
        assert_eq!(
            count(
                &net.beta,
                "SELECT COUNT(*) FROM notifications WHERE kind = 'admin.report'"
            )
            .await,
            0,
            "{engine:?}"
        );
        net.stop().await;
    }
}
