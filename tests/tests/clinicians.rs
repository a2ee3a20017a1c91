//! Verified clinicians (issue 10): an admin verifies a local clinician; Mastodon apps see a
//! `roles` badge and a `verified_at` field; the licence number is never shown nor federated;
//! revocation and expiry take effect at once; another instance shows "verified by DOMAIN"
//! only after checking the signed attestation on the clinician's own instance, refuses forged
//! and stale attestations, and follows a revocation through the actor `Update`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use cohort_federation::attestation::AttestationError;
use cohort_federation::inbox::activity::Object;
use cohort_model::{Id, Role};
use cohort_store::{NewVerification, now_ms};
use cohort_tests::harness::{Instance, engines, settle};
use serde_json::{Value, json};

const ADMIN_SCOPES: &str = "read write follow admin:read admin:write";
const LICENCE: &str = "LIC-98765-SECRET";

fn verification_form() -> Vec<(&'static str, &'static str)> {
    vec![
        ("profession", "Physician"),
        ("specialty", "Cardiology"),
        ("institution", "Beta General Hospital"),
        ("license_number", LICENCE),
        ("jurisdiction", "US-CA"),
        ("expires_at", "2099-12-31"),
    ]
}

fn badge_name(account: &Value) -> Option<String> {
    account["roles"]
        .as_array()?
        .iter()
        .find(|r| r["id"] == "cohort-verified-clinician")
        .and_then(|r| r["name"].as_str())
        .map(str::to_owned)
}

fn verified_field(account: &Value) -> Option<Value> {
    account["fields"]
        .as_array()?
        .iter()
        .find(|f| f["name"] == "Verified clinician")
        .cloned()
}

#[tokio::test]
async fn an_admin_verifies_a_clinician_and_apps_see_the_badge_but_never_the_licence() {
    for engine in engines() {
        let mut alpha = Instance::start(engine, &[]).await;
        alpha.create_account("admin", Role::Admin, false).await;
        alpha
            .create_account("moderator", Role::Moderator, false)
            .await;
        let dana = alpha.create_account("dana", Role::Member, false).await;
        let admin = alpha.sign_in("admin", ADMIN_SCOPES).await;
        let path = format!("/api/v1/admin/cohort/clinicians/{dana}/verification");

        let (status, body) = alpha.post(&path, Some(&admin), &verification_form()).await;
        assert_eq!(status, 200, "{body}");
        assert!(!body.to_string().contains(LICENCE), "{body}");
        assert_eq!(body["license_number_on_file"], true);
        assert_eq!(body["valid"], true);
        assert_eq!(
            body["account"]["locked"], true,
            "clinicians default to locked"
        );

        // Anyone sees the badge and the verified field; nobody sees the licence.
        let (status, account) = alpha.get(&format!("/api/v1/accounts/{dana}"), None).await;
        assert_eq!(status, 200);
        assert_eq!(badge_name(&account).as_deref(), Some("Verified clinician"));
        let field = verified_field(&account).unwrap();
        assert_eq!(
            field["value"],
            "Physician (Cardiology), Beta General Hospital"
        );
        assert!(field["verified_at"].is_string());
        assert!(!account.to_string().contains(LICENCE));
        let (_, shown) = alpha.get(&path, Some(&admin)).await;
        assert!(!shown.to_string().contains(LICENCE), "{shown}");

        // The actor document carries the claim and the attestation link, not the licence.
        let actor: Value = alpha
            .http
            .get(alpha.url("/users/dana"))
            .header("accept", "application/activity+json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(actor["attachment"][0]["type"], "PropertyValue");
        assert_eq!(
            actor["attachment"][0]["value"],
            "Physician, Beta General Hospital"
        );
        assert!(
            actor["clinicianAttestation"]
                .as_str()
                .unwrap()
                .ends_with("/users/dana/attestation")
        );
        assert!(!actor.to_string().contains(LICENCE));
        let attestation: Value = alpha
            .http
            .get(alpha.url("/users/dana/attestation"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(attestation["type"], "ClinicianAttestation");
        assert_eq!(attestation["subject"], actor["id"]);
        assert!(attestation["signature"]["signatureValue"].is_string());
        assert!(!attestation.to_string().contains(LICENCE));

        // Revocation is immediate, and the actor drops the claim.
        let (status, account) = alpha.delete(&path, Some(&admin)).await;
        assert_eq!(status, 200, "{account}");
        assert_eq!(badge_name(&account), None);
        assert_eq!(verified_field(&account), None);
        let (_, account) = alpha.get(&format!("/api/v1/accounts/{dana}"), None).await;
        assert_eq!(badge_name(&account), None);
        let (status, body) = alpha.delete(&path, Some(&admin)).await;
        assert_eq!((status, body["error"].is_string()), (404, true));
        let response = alpha
            .http
            .get(alpha.url("/users/dana/attestation"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 404);
        alpha.stop().await;
    }
}

#[tokio::test]
async fn an_expired_verification_shows_no_badge_at_once() {
    for engine in engines() {
        let alpha = Instance::start(engine, &[]).await;
        let admin = alpha.create_account("admin", Role::Admin, false).await;
        let dana = alpha.create_account("dana", Role::Member, false).await;
        alpha
            .store()
            .verify_clinician(&NewVerification {
                account: dana,
                profession: "Nurse".into(),
                specialty: None,
                institution: "Alpha Clinic".into(),
                license_number: LICENCE.into(),
                jurisdiction: "UK".into(),
                verified_by: admin,
                expires_at: now_ms() - 1,
            })
            .await
            .unwrap();
        let (_, account) = alpha.get(&format!("/api/v1/accounts/{dana}"), None).await;
        assert_eq!(badge_name(&account), None, "{account}");
        assert_eq!(verified_field(&account), None);
        alpha.stop().await;
    }
}

#[tokio::test]
async fn verification_by_a_non_admin_or_with_bad_input_is_refused_and_stores_nothing() {
    for engine in engines() {
        let mut alpha = Instance::start(engine, &[]).await;
        alpha.create_account("admin", Role::Admin, false).await;
        alpha
            .create_account("moderator", Role::Moderator, false)
            .await;
        let dana = alpha.create_account("dana", Role::Member, false).await;
        let admin = alpha.sign_in("admin", ADMIN_SCOPES).await;
        let moderator = alpha.sign_in("moderator", ADMIN_SCOPES).await;
        let member = alpha.sign_in("dana", "read write").await;
        let path = format!("/api/v1/admin/cohort/clinicians/{dana}/verification");

        for token in [&moderator, &member] {
            let (status, body) = alpha.post(&path, Some(token), &verification_form()).await;
            assert_eq!(status, 403, "{body}");
            assert!(body["error"].is_string(), "{body}");
        }
        let (status, _) = alpha.post(&path, None, &verification_form()).await;
        assert_eq!(status, 401);

        let mut missing = verification_form();
        missing.retain(|(k, _)| *k != "license_number");
        let mut past = verification_form();
        past.retain(|(k, _)| *k != "expires_at");
        past.push(("expires_at", "2001-01-01"));
        let mut garbled = verification_form();
        garbled.retain(|(k, _)| *k != "expires_at");
        garbled.push(("expires_at", "soon"));
        for form in [missing, past, garbled] {
            let (status, body) = alpha.post(&path, Some(&admin), &form).await;
            assert_eq!(status, 422, "{body}");
            assert!(
                body["error"]
                    .as_str()
                    .unwrap()
                    .starts_with("Validation failed"),
                "{body}"
            );
        }
        let (status, body) = alpha
            .post(
                "/api/v1/admin/cohort/clinicians/999999/verification",
                Some(&admin),
                &verification_form(),
            )
            .await;
        assert_eq!((status, body["error"].is_string()), (404, true));

        assert_eq!(
            alpha.store().clinician_verification(dana).await.unwrap(),
            None
        );
        let (_, account) = alpha.get(&format!("/api/v1/accounts/{dana}"), None).await;
        assert_eq!(badge_name(&account), None);
        assert_eq!(account["locked"], false);
        alpha.stop().await;
    }
}

/// The actor document `alpha` would see for `actor_uri`, with `link` as its attestation.
fn actor_object(actor_uri: &str, link: &str) -> Object {
    Object::from_value(json!({
        "id": actor_uri,
        "type": "Person",
        "preferredUsername": actor_uri.rsplit('/').next().unwrap(),
        "inbox": format!("{actor_uri}/inbox"),
        "clinicianAttestation": link,
    }))
    .unwrap()
}

async fn account_on(instance: &Instance, token: &str, acct: &str) -> Id {
    let (status, account) = instance
        .get(&format!("/api/v1/accounts/lookup?acct={acct}"), Some(token))
        .await;
    assert_eq!(status, 200, "{account}");
    account["id"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_remote_instance_shows_verified_by_only_after_checking_and_follows_revocation() {
    for engine in engines() {
        let mut alpha = Instance::start_named(engine, "alpha", &[]).await;
        let mut beta = Instance::start_named(engine, "beta", &[]).await;
        alpha.create_account("pat", Role::Member, false).await;
        beta.create_account("admin", Role::Admin, false).await;
        let dana = beta.create_account("dana", Role::Member, false).await;
        let mallory = beta.create_account("mallory", Role::Member, false).await;
        let pat = alpha.sign_in("pat", "read write follow").await;
        let admin = beta.sign_in("admin", ADMIN_SCOPES).await;

        // Pat follows dana before she is verified (she is not locked yet).
        let dana_here = account_on(&alpha, &pat, &format!("dana@{}", beta.domain)).await;
        let (status, _) = alpha
            .post(
                &format!("/api/v1/accounts/{dana_here}/follow"),
                Some(&pat),
                &[],
            )
            .await;
        assert_eq!(status, 200);
        settle(&[&alpha, &beta]).await;
        let (_, account) = alpha
            .get(&format!("/api/v1/accounts/{dana_here}"), Some(&pat))
            .await;
        assert_eq!(badge_name(&account), None, "not verified yet: {account}");

        // Beta verifies dana; the actor Update reaches alpha, which checks the attestation.
        let path = format!("/api/v1/admin/cohort/clinicians/{dana}/verification");
        let (status, body) = beta.post(&path, Some(&admin), &verification_form()).await;
        assert_eq!(status, 200, "{body}");
        settle(&[&alpha, &beta]).await;
        let (_, account) = alpha
            .get(&format!("/api/v1/accounts/{dana_here}"), Some(&pat))
            .await;
        let expected = format!("Verified clinician (verified by {})", beta.domain);
        assert_eq!(
            badge_name(&account).as_deref(),
            Some(expected.as_str()),
            "{account}"
        );
        let field = verified_field(&account).unwrap();
        assert!(field["verified_at"].is_string());
        assert!(!account.to_string().contains(LICENCE));
        let cached = alpha
            .store()
            .remote_attestation(dana_here)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(cached.attesting_domain.as_str(), beta.domain);

        // Forged: mallory's actor links to an attestation on another origin, or to dana's.
        let mallory_here = account_on(&alpha, &pat, &format!("mallory@{}", beta.domain)).await;
        let mallory_uri = format!("http://{}/users/mallory", beta.domain);
        let dana_attestation = format!("http://{}/users/dana/attestation", beta.domain);
        let federation = &alpha.server.federation;
        let foreign = format!("http://{}/users/pat/attestation", alpha.domain);
        let refused = federation
            .check_attestation(mallory_here, &actor_object(&mallory_uri, &foreign), true)
            .await;
        assert!(
            matches!(refused, Err(AttestationError::ForeignOrigin)),
            "{refused:?}"
        );
        let refused = federation
            .check_attestation(
                mallory_here,
                &actor_object(&mallory_uri, &dana_attestation),
                true,
            )
            .await;
        assert!(
            matches!(refused, Err(AttestationError::WrongSubject)),
            "{refused:?}"
        );
        assert_eq!(
            alpha
                .store()
                .remote_attestation(mallory_here)
                .await
                .unwrap(),
            None
        );
        let (_, account) = alpha
            .get(&format!("/api/v1/accounts/{mallory_here}"), Some(&pat))
            .await;
        assert_eq!(badge_name(&account), None);
        let _ = mallory;

        // Stale: beta's verification lapsed; its attestation says so and alpha refuses it.
        let beta_admin = beta
            .store()
            .account_id_by_actor_uri(&format!("http://{}/users/admin", beta.domain))
            .await
            .unwrap()
            .unwrap();
        beta.store()
            .verify_clinician(&NewVerification {
                account: dana,
                profession: "Physician".into(),
                specialty: None,
                institution: "Beta General Hospital".into(),
                license_number: LICENCE.into(),
                jurisdiction: "US-CA".into(),
                verified_by: beta_admin,
                expires_at: now_ms() - 1000,
            })
            .await
            .unwrap();
        let dana_uri = format!("http://{}/users/dana", beta.domain);
        let refused = federation
            .check_attestation(dana_here, &actor_object(&dana_uri, &dana_attestation), true)
            .await;
        assert!(
            matches!(refused, Err(AttestationError::Expired)),
            "{refused:?}"
        );
        let (_, account) = alpha
            .get(&format!("/api/v1/accounts/{dana_here}"), Some(&pat))
            .await;
        assert_eq!(badge_name(&account), None, "{account}");

        // Re-verified, then revoked: the revocation reaches alpha as an actor Update.
        let (status, _) = beta.post(&path, Some(&admin), &verification_form()).await;
        assert_eq!(status, 200);
        settle(&[&alpha, &beta]).await;
        let (_, account) = alpha
            .get(&format!("/api/v1/accounts/{dana_here}"), Some(&pat))
            .await;
        assert!(badge_name(&account).is_some(), "{account}");
        let (status, _) = beta.delete(&path, Some(&admin)).await;
        assert_eq!(status, 200);
        settle(&[&alpha, &beta]).await;
        let (_, account) = alpha
            .get(&format!("/api/v1/accounts/{dana_here}"), Some(&pat))
            .await;
        assert_eq!(badge_name(&account), None, "revoked: {account}");
        assert_eq!(
            alpha.store().remote_attestation(dana_here).await.unwrap(),
            None
        );
        alpha.stop().await;
        beta.stop().await;
    }
}

#[tokio::test]
async fn verifications_from_untrusted_domains_show_no_badge() {
    for engine in engines() {
        let mut alpha = Instance::start_named(
            engine,
            "alpha",
            &[("COHORT_TRUSTED_VERIFIERS", "trusted.example")],
        )
        .await;
        let mut beta = Instance::start_named(engine, "beta", &[]).await;
        alpha.create_account("pat", Role::Member, false).await;
        beta.create_account("admin", Role::Admin, false).await;
        let dana = beta.create_account("dana", Role::Member, false).await;
        let pat = alpha.sign_in("pat", "read write follow").await;
        let admin = beta.sign_in("admin", ADMIN_SCOPES).await;
        let path = format!("/api/v1/admin/cohort/clinicians/{dana}/verification");
        let (status, _) = beta.post(&path, Some(&admin), &verification_form()).await;
        assert_eq!(status, 200);
        // First seen already verified: the lookup fetches the actor and checks its link.
        let dana_here = account_on(&alpha, &pat, &format!("dana@{}", beta.domain)).await;
        let (_, account) = alpha
            .get(&format!("/api/v1/accounts/{dana_here}"), Some(&pat))
            .await;
        assert_eq!(badge_name(&account), None, "{account}");
        assert_eq!(
            alpha.store().remote_attestation(dana_here).await.unwrap(),
            None
        );
        alpha.stop().await;
        beta.stop().await;
    }
}

async fn impersonation_reports(instance: &Instance, admin: &str, target: Id) -> usize {
    let (status, reports) = instance.get("/api/v1/admin/reports", Some(admin)).await;
    assert_eq!(status, 200, "{reports}");
    reports
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["category"] == "clinician_impersonation"
                && r["target_account"]["id"] == target.to_string()
        })
        .count()
}

#[tokio::test]
async fn an_unverified_account_claiming_a_clinical_title_is_reported_once_and_shown_without_badge()
{
    for engine in engines() {
        let mut alpha = Instance::start(engine, &[]).await;
        alpha.create_account("admin", Role::Admin, false).await;
        let mallory = alpha.create_account("mallory", Role::Member, false).await;
        let dana = alpha.create_account("dana", Role::Member, false).await;
        let admin = alpha.sign_in("admin", ADMIN_SCOPES).await;
        let mallory_token = alpha.sign_in("mallory", "read write").await;
        let dana_token = alpha.sign_in("dana", "read write").await;

        let (status, account) = alpha
            .patch(
                "/api/v1/accounts/update_credentials",
                Some(&mallory_token),
                &[("display_name", "Dr. Mallory Quinn"), ("note", "ICU nurse")],
            )
            .await;
        assert_eq!(status, 200, "{account}");
        assert_eq!(badge_name(&account), None);
        // One report per claimed title: "Dr." and "nurse".
        assert_eq!(impersonation_reports(&alpha, &admin, mallory).await, 2);
        // Saving the same claims again reports nothing new.
        let (status, _) = alpha
            .patch(
                "/api/v1/accounts/update_credentials",
                Some(&mallory_token),
                &[("display_name", "Dr. Mallory Quinn, MD")],
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(impersonation_reports(&alpha, &admin, mallory).await, 3);

        // A verified clinician's title is no impersonation; a plain bio is not either.
        let path = format!("/api/v1/admin/cohort/clinicians/{dana}/verification");
        let (status, _) = alpha.post(&path, Some(&admin), &verification_form()).await;
        assert_eq!(status, 200);
        let (status, account) = alpha
            .patch(
                "/api/v1/accounts/update_credentials",
                Some(&dana_token),
                &[
                    ("display_name", "Dr. Dana Scully"),
                    ("note", "Dr. Pepper fan"),
                ],
            )
            .await;
        assert_eq!(status, 200);
        assert!(badge_name(&account).is_some());
        assert_eq!(impersonation_reports(&alpha, &admin, dana).await, 0);
        alpha.stop().await;
    }
}

async fn statuses_count(instance: &Instance) -> i64 {
    instance
        .store()
        .scalar_i64_for_tests("SELECT COUNT(*) FROM statuses")
        .await
        .unwrap()
}

#[tokio::test]
async fn direct_messages_respect_professional_boundaries() {
    for engine in engines() {
        // The clinician's own choice.
        let mut alpha = Instance::start(engine, &[]).await;
        alpha.create_account("admin", Role::Admin, false).await;
        let dana = alpha.create_account("dana", Role::Member, false).await;
        let eli = alpha.create_account("eli", Role::Member, false).await;
        alpha.create_account("pat", Role::Member, false).await;
        let admin = alpha.sign_in("admin", ADMIN_SCOPES).await;
        let dana_token = alpha.sign_in("dana", "read write").await;
        let eli_token = alpha.sign_in("eli", "read write").await;
        let pat = alpha.sign_in("pat", "read write").await;
        for clinician in [dana, eli] {
            let path = format!("/api/v1/admin/cohort/clinicians/{clinician}/verification");
            let (status, _) = alpha.post(&path, Some(&admin), &verification_form()).await;
            assert_eq!(status, 200);
        }
        let (status, body) = alpha
            .patch(
                "/api/v1/accounts/update_credentials",
                Some(&dana_token),
                &[("direct_messages_from", "nobody")],
            )
            .await;
        assert_eq!(status, 422, "{body}");
        assert!(body["error"].is_string());
        let (status, me) = alpha
            .patch(
                "/api/v1/accounts/update_credentials",
                Some(&dana_token),
                &[("direct_messages_from", "colleagues")],
            )
            .await;
        assert_eq!(status, 200, "{me}");
        assert_eq!(me["source"]["direct_messages_from"], "colleagues");

        let dm = [
            ("status", "@dana can I double my dose?"),
            ("visibility", "direct"),
        ];
        let (status, body) = alpha.post("/api/v1/statuses", Some(&pat), &dm).await;
        assert_eq!(status, 422, "{body}");
        assert!(
            body["error"].as_str().unwrap().contains("colleagues only"),
            "{body}"
        );
        assert_eq!(statuses_count(&alpha).await, 0, "nothing stored");
        // A public mention is not a direct conversation; colleagues and staff may write.
        let (status, _) = alpha
            .post(
                "/api/v1/statuses",
                Some(&pat),
                &[
                    ("status", "thanks @dana for the talk"),
                    ("visibility", "public"),
                ],
            )
            .await;
        assert_eq!(status, 200);
        // Dana writes to pat first: pat may answer in that conversation.
        let (status, opened) = alpha
            .post(
                "/api/v1/statuses",
                Some(&dana_token),
                &[
                    ("status", "@pat your results are in"),
                    ("visibility", "direct"),
                ],
            )
            .await;
        assert_eq!(status, 200, "{opened}");
        let opened_id = opened["id"].as_str().unwrap().to_owned();
        let (status, body) = alpha
            .post(
                "/api/v1/statuses",
                Some(&pat),
                &[
                    ("status", "@dana thank you"),
                    ("visibility", "direct"),
                    ("in_reply_to_id", &opened_id),
                ],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        for token in [&eli_token, &admin] {
            let (status, body) = alpha
                .post(
                    "/api/v1/statuses",
                    Some(token),
                    &[("status", "@dana about the rota"), ("visibility", "direct")],
                )
                .await;
            assert_eq!(status, 200, "{body}");
        }
        alpha.stop().await;

        // The instance default, for verified clinicians who did not choose.
        let mut beta = Instance::start(
            engine,
            &[("COHORT_CLINICIAN_DIRECT_MESSAGES", "colleagues")],
        )
        .await;
        beta.create_account("admin", Role::Admin, false).await;
        let dana = beta.create_account("dana", Role::Member, false).await;
        beta.create_account("pat", Role::Member, false).await;
        beta.create_account("sam", Role::Member, false).await;
        let admin = beta.sign_in("admin", ADMIN_SCOPES).await;
        let pat = beta.sign_in("pat", "read write").await;
        let dm = [("status", "@sam hi"), ("visibility", "direct")];
        let (status, _) = beta.post("/api/v1/statuses", Some(&pat), &dm).await;
        assert_eq!(
            status, 200,
            "members are not clinicians: the default does not apply"
        );
        let path = format!("/api/v1/admin/cohort/clinicians/{dana}/verification");
        let (status, _) = beta.post(&path, Some(&admin), &verification_form()).await;
        assert_eq!(status, 200);
        let dm = [("status", "@dana hi"), ("visibility", "direct")];
        let (status, body) = beta.post("/api/v1/statuses", Some(&pat), &dm).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(statuses_count(&beta).await, 1);
        beta.stop().await;
    }
}
