//! The PHI guard through the real client API, on both engines: a clinician's post that
//! identifies a patient is held (seen by its author only, on no timeline) until released;
//! a patient's gets a warning first.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use cohort_model::Role;
use cohort_tests::harness::{Instance, engines};
use serde_json::Value;

/// A post that names a patient, their bed and their care.
const IDENTIFYING: &str = "Discharged Mrs. Eleanor Whitfield from bed 12B this morning, her heart failure is finally under control.";
const HARMLESS: &str = "Reminder: flu shots are available at the clinic all week.";

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_clinicians_identifying_post_is_held_until_released() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        let doctor_id = instance
            .create_account("dr_lee", Role::Clinician, false)
            .await;
        instance
            .create_account("follower", Role::Member, false)
            .await;
        let doctor = instance.sign_in("dr_lee", "read write follow").await;
        let follower = instance.sign_in("follower", "read write follow").await;
        instance
            .post(
                &format!("/api/v1/accounts/{doctor_id}/follow"),
                Some(&follower),
                &[],
            )
            .await;

        let (status, held) = instance
            .post(
                "/api/v1/statuses",
                Some(&doctor),
                &[("status", IDENTIFYING), ("visibility", "public")],
            )
            .await;
        assert_eq!(status, 200, "{held}");
        assert_eq!(held["held_for_review"], true);
        assert_eq!(held["visibility"], "public", "visibility unchanged");
        assert!(
            held["hold_reason"].as_str().unwrap().contains("Whitfield"),
            "{held}"
        );
        assert_eq!(held["filtered"][0]["filter"]["filter_action"], "warn");
        let id = held["id"].as_str().unwrap().to_owned();
        let (_, fine) = instance
            .post("/api/v1/statuses", Some(&doctor), &[("status", HARMLESS)])
            .await;
        assert_eq!(fine["held_for_review"], false);

        // Nobody but the author sees it, through any path.
        let (status, _) = instance
            .get(&format!("/api/v1/statuses/{id}"), Some(&follower))
            .await;
        assert_eq!(status, 404);
        let (status, _) = instance.get(&format!("/api/v1/statuses/{id}"), None).await;
        assert_eq!(status, 404);
        let (_, home) = instance
            .get("/api/v1/timelines/home", Some(&follower))
            .await;
        assert!(!ids(&home).contains(&id));
        let (_, public) = instance.get("/api/v1/timelines/public", None).await;
        assert!(!ids(&public).contains(&id));
        let (_, theirs) = instance
            .get(
                &format!("/api/v1/accounts/{doctor_id}/statuses"),
                Some(&follower),
            )
            .await;
        assert!(!ids(&theirs).contains(&id));
        // Not on any timeline, the author's own home included; the author finds it in the list.
        let (_, own_home) = instance.get("/api/v1/timelines/home", Some(&doctor)).await;
        assert!(!ids(&own_home).contains(&id));
        let (status, own) = instance
            .get(&format!("/api/v1/statuses/{id}"), Some(&doctor))
            .await;
        assert_eq!(
            (status, own["held_for_review"].as_bool()),
            (200, Some(true))
        );
        let (_, list) = instance
            .get("/api/v1/cohort/held_statuses", Some(&doctor))
            .await;
        assert_eq!(ids(&list), vec![id.clone()]);

        // Others cannot release it; releasing records who and why, then it is published.
        let (status, _) = instance
            .post(
                &format!("/api/v1/statuses/{id}/release"),
                Some(&follower),
                &[],
            )
            .await;
        assert_eq!(status, 404);
        let (status, bad) = instance
            .post(
                &format!("/api/v1/statuses/{id}/release"),
                Some(&doctor),
                &[("visibility", "public")],
            )
            .await;
        assert_eq!(status, 422, "{bad}");
        let (status, released) = instance
            .post(
                &format!("/api/v1/statuses/{id}/release"),
                Some(&doctor),
                &[],
            )
            .await;
        assert_eq!(status, 200, "{released}");
        assert_eq!(released["held_for_review"], false);
        let release = instance
            .store()
            .status_release(id.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(release.0, doctor_id);
        assert!(
            release.2.contains("Whitfield"),
            "the guard's reason is kept: {}",
            release.2
        );
        let (status, _) = instance
            .get(&format!("/api/v1/statuses/{id}"), Some(&follower))
            .await;
        assert_eq!(status, 200);
        let (status, _) = instance
            .post(
                &format!("/api/v1/statuses/{id}/release"),
                Some(&doctor),
                &[],
            )
            .await;
        assert_eq!(status, 422, "releasing twice is refused");
        instance.stop().await;
    }
}

#[tokio::test]
async fn a_held_post_can_be_narrowed_instead_of_released() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        instance
            .create_account("dr_lee", Role::Clinician, false)
            .await;
        let doctor = instance.sign_in("dr_lee", "read write").await;
        let (_, held) = instance
            .post(
                "/api/v1/statuses",
                Some(&doctor),
                &[("status", IDENTIFYING)],
            )
            .await;
        let id = held["id"].as_str().unwrap();
        let (status, narrowed) = instance
            .post(
                &format!("/api/v1/statuses/{id}/release"),
                Some(&doctor),
                &[("visibility", "local")],
            )
            .await;
        assert_eq!(status, 200, "{narrowed}");
        assert_eq!(narrowed["local_only"], true);
        let (status, _) = instance.get(&format!("/api/v1/statuses/{id}"), None).await;
        assert_eq!(
            status, 404,
            "local-only posts are not shown to anonymous readers"
        );
        instance.stop().await;
    }
}

#[tokio::test]
async fn a_patients_identifying_post_needs_confirmation_and_direct_messages_are_not_screened() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        instance.create_account("carer", Role::Member, false).await;
        instance
            .create_account("dr_lee", Role::Clinician, false)
            .await;
        let carer = instance.sign_in("carer", "read write").await;
        let doctor = instance.sign_in("dr_lee", "read write").await;
        let before = instance
            .store()
            .scalar_i64_for_tests("SELECT COUNT(*) FROM statuses")
            .await
            .unwrap();
        let (status, warned) = instance
            .post("/api/v1/statuses", Some(&carer), &[("status", IDENTIFYING)])
            .await;
        assert_eq!(status, 422, "{warned}");
        assert!(
            warned["error"].as_str().unwrap().contains("phi_confirmed"),
            "{warned}"
        );
        let after = instance
            .store()
            .scalar_i64_for_tests("SELECT COUNT(*) FROM statuses")
            .await
            .unwrap();
        assert_eq!(before, after, "nothing stored on a warning");
        let (status, posted) = instance
            .post(
                "/api/v1/statuses",
                Some(&carer),
                &[("status", IDENTIFYING), ("phi_confirmed", "true")],
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(posted["held_for_review"], false);
        // A direct message is where such a message belongs: not screened.
        let (status, dm) = instance
            .post(
                "/api/v1/statuses",
                Some(&doctor),
                &[
                    ("status", &format!("@carer {IDENTIFYING}")),
                    ("visibility", "direct"),
                ],
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(dm["held_for_review"], false);
        instance.stop().await;
    }
}

#[tokio::test]
async fn the_instance_can_narrow_instead_of_holding() {
    let mut instance = Instance::start(
        cohort_tests::harness::Engine::Sqlite,
        &[("COHORT_PHI_PROFESSIONAL_ACTION", "narrow")],
    )
    .await;
    instance
        .create_account("dr_lee", Role::Clinician, false)
        .await;
    let doctor = instance.sign_in("dr_lee", "read write").await;
    let (status, posted) = instance
        .post(
            "/api/v1/statuses",
            Some(&doctor),
            &[("status", IDENTIFYING)],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            posted["held_for_review"].as_bool(),
            posted["local_only"].as_bool()
        ),
        (Some(false), Some(true))
    );
    instance.stop().await;
}

#[tokio::test]
async fn edits_are_screened_too_and_an_edit_that_passes_releases_the_hold() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        let doctor_id = instance
            .create_account("dr_lee", Role::Clinician, false)
            .await;
        instance
            .create_account("follower", Role::Member, false)
            .await;
        let doctor = instance.sign_in("dr_lee", "read write").await;
        let follower = instance.sign_in("follower", "read write follow").await;
        instance
            .post(
                &format!("/api/v1/accounts/{doctor_id}/follow"),
                Some(&follower),
                &[],
            )
            .await;

        // A harmless post edited to identify a patient is put on hold.
        let (_, post) = instance
            .post("/api/v1/statuses", Some(&doctor), &[("status", HARMLESS)])
            .await;
        let id = post["id"].as_str().unwrap().to_owned();
        let edit = |text: &'static str| {
            instance
                .http
                .put(instance.url(&format!("/api/v1/statuses/{id}")))
                .bearer_auth(&doctor)
                .form(&[("status", text)])
                .send()
        };
        let held: Value = edit(IDENTIFYING).await.unwrap().json().await.unwrap();
        assert_eq!(held["held_for_review"], true, "{held}");
        assert!(held["edited_at"].is_string());
        let (status, _) = instance
            .get(&format!("/api/v1/statuses/{id}"), Some(&follower))
            .await;
        assert_eq!(status, 404, "hidden from the follower while held");

        // Editing the identifiers out releases it.
        let fixed: Value = edit(
            "Discharged a patient this morning; their heart failure is finally under control.",
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        assert_eq!(fixed["held_for_review"], false, "{fixed}");
        let (status, _) = instance
            .get(&format!("/api/v1/statuses/{id}"), Some(&follower))
            .await;
        assert_eq!(status, 200);

        // History keeps every version; the source is the author's.
        let (_, history) = instance
            .get(&format!("/api/v1/statuses/{id}/history"), Some(&doctor))
            .await;
        assert_eq!(history.as_array().unwrap().len(), 3);
        let (_, source) = instance
            .get(&format!("/api/v1/statuses/{id}/source"), Some(&doctor))
            .await;
        assert!(
            source["text"]
                .as_str()
                .unwrap()
                .starts_with("Discharged a patient")
        );
        let (status, _) = instance
            .get(&format!("/api/v1/statuses/{id}/source"), Some(&follower))
            .await;
        assert_eq!(status, 404, "only the author reads the source");
        let response = instance
            .http
            .put(instance.url(&format!("/api/v1/statuses/{id}")))
            .bearer_auth(&follower)
            .form(&[("status", "not mine")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "only the author edits");
        instance.stop().await;
    }
}

#[tokio::test]
async fn the_client_api_and_the_inbox_share_one_guard_built_on_first_use() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        instance.create_account("pat", Role::Member, false).await;
        let pat = instance.sign_in("pat", "read write follow").await;
        let guard = instance.server.federation.phi_guard();
        assert!(!guard.is_built(), "nothing screened yet, nothing built");
        let (status, posted) = instance
            .post("/api/v1/statuses", Some(&pat), &[("status", HARMLESS)])
            .await;
        assert_eq!(status, 200, "{posted}");
        // The post was screened by the client API: the guard the inbox holds is that one.
        assert!(guard.is_built());
        instance.stop().await;
    }
}
