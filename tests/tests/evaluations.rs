//! Treatment evaluations and community aggregates over real HTTP, on SQLite and PostgreSQL:
//! the evaluations API, who may read an evaluation, every handled bad input (status, error
//! JSON, nothing stored), and aggregates that show no cell under k and do not move when
//! one patient is added (docs/EVALUATIONS.md).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use cohort_model::Role;
use cohort_tests::harness::{Engine, Instance, engines};
use serde_json::{Value, json};

const SCOPES: &str = "read write follow";
/// k for these tests: small, so a handful of accounts make a cell.
const K: usize = 3;

async fn send_json(
    instance: &Instance,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: &Value,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method, instance.url(path))
        .json(body);
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn post_json(
    instance: &Instance,
    path: &str,
    token: Option<&str>,
    body: &Value,
) -> (u16, Value) {
    send_json(instance, reqwest::Method::POST, path, token, body).await
}

fn evaluation(treatment: &str, effectiveness: &str) -> Value {
    json!({
        "condition": "E11",
        "treatment_kind": "medication",
        "treatment": treatment,
        "dose": "500 mg",
        "frequency": "twice a day",
        "started_on": "2025-01-10",
        "effectiveness": effectiveness,
        "side_effects": [{"name": "Nausea", "severity": "mild"}],
        "adherence": 4,
        "burden": 2,
    })
}

fn with(mut base: Value, key: &str, value: Value) -> Value {
    base[key] = value;
    base
}

async fn evaluations_stored(instance: &Instance) -> i64 {
    instance
        .store()
        .scalar_i64_for_tests("SELECT COUNT(*) FROM evaluations")
        .await
        .unwrap()
}

/// An instance with k = 3, an admin-made open community `diabetes`, and `patients` signed-in
/// members.
async fn community_with_members(engine: Engine, patients: usize) -> (Instance, Vec<String>) {
    let mut alpha = Instance::start(engine, &[("COHORT_AGGREGATE_MIN_PATIENTS", "3")]).await;
    alpha.create_account("admin", Role::Admin, false).await;
    let admin = alpha.sign_in("admin", SCOPES).await;
    let (status, created) = alpha
        .post(
            "/api/v1/communities",
            Some(&admin),
            &[("name", "diabetes"), ("title", "Type 2 diabetes")],
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let mut tokens = Vec::new();
    for n in 0..patients {
        let name = format!("patient{n}");
        alpha.create_account(&name, Role::Member, false).await;
        let token = alpha.sign_in(&name, SCOPES).await;
        let (status, joined) = alpha
            .post("/api/v1/communities/diabetes/join", Some(&token), &[])
            .await;
        assert_eq!(status, 200, "{joined}");
        tokens.push(token);
    }
    (alpha, tokens)
}

#[tokio::test]
async fn a_patient_records_reads_changes_and_deletes_an_evaluation() {
    for engine in engines() {
        let (alpha, tokens) = community_with_members(engine, 1).await;
        let pat = &tokens[0];
        let body = with(
            evaluation("Metformin", "moderate"),
            "community_id",
            json!("diabetes"),
        );
        let (status, created) =
            post_json(&alpha, "/api/v1/cohort/evaluations", Some(pat), &body).await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["condition"]["code"], "E11");
        assert_eq!(created["condition"]["name"], "Type 2 diabetes mellitus");
        assert_eq!(created["treatment"]["reference"], "rxnorm:metformin");
        assert_eq!(created["treatment"]["dose"], "500 mg");
        assert_eq!(
            created["side_effects"],
            json!([{"name": "nausea", "severity": "mild"}])
        );
        assert_eq!(created["visibility"], "private");
        assert_eq!(created["flags"], json!([]));
        let id = created["id"].as_str().unwrap().to_owned();

        let (status, read) = alpha
            .get(&format!("/api/v1/cohort/evaluations/{id}"), Some(pat))
            .await;
        assert_eq!(status, 200);
        assert_eq!(read, created);

        // A form PATCH changes what it names and keeps the rest.
        let (status, changed) = alpha
            .patch(
                &format!("/api/v1/cohort/evaluations/{id}"),
                Some(pat),
                &[
                    ("effectiveness", "major"),
                    ("stopped_on", "2025-08-01"),
                    ("stop_reason", "resolved"),
                    ("side_effects[0][name]", "headache"),
                    ("side_effects[0][severity]", "severe"),
                ],
            )
            .await;
        assert_eq!(status, 200, "{changed}");
        assert_eq!(changed["effectiveness"], "major");
        assert_eq!(changed["stopped_on"], "2025-08-01");
        assert_eq!(changed["dose"], Value::Null, "dose lives under treatment");
        assert_eq!(changed["treatment"]["dose"], "500 mg");
        assert_eq!(
            changed["side_effects"],
            json!([{"name": "headache", "severity": "severe"}])
        );

        let (status, listed) = alpha.get("/api/v1/cohort/evaluations", Some(pat)).await;
        assert_eq!(status, 200);
        assert_eq!(listed.as_array().unwrap().len(), 1);

        let (status, _) = alpha
            .delete(&format!("/api/v1/cohort/evaluations/{id}"), Some(pat))
            .await;
        assert_eq!(status, 200);
        let (status, gone) = alpha
            .get(&format!("/api/v1/cohort/evaluations/{id}"), Some(pat))
            .await;
        assert_eq!(status, 404);
        assert_eq!(gone["error"], "Record not found");
        assert_eq!(evaluations_stored(&alpha).await, 0);
        alpha.stop().await;
    }
}

#[tokio::test]
async fn bad_evaluations_are_refused_and_nothing_is_stored() {
    for engine in engines() {
        let (mut alpha, tokens) = community_with_members(engine, 1).await;
        let pat = &tokens[0];
        alpha.create_account("outsider", Role::Member, false).await;
        let outsider = alpha.sign_in("outsider", SCOPES).await;
        let good = evaluation("metformin", "moderate");
        let cases: Vec<(&str, &str, Value, u16, &str)> = vec![
            (
                "impossible date",
                pat,
                with(good.clone(), "started_on", json!("2025-02-30")),
                422,
                "started_on is not a date",
            ),
            (
                "future start",
                pat,
                with(good.clone(), "started_on", json!("2999-01-01")),
                422,
                "started_on is in the future",
            ),
            (
                "stopped before started",
                pat,
                with(good.clone(), "stopped_on", json!("2024-12-01")),
                422,
                "stopped_on is before started_on",
            ),
            (
                "reason without stop",
                pat,
                with(good.clone(), "stop_reason", json!("cost")),
                422,
                "stop_reason needs stopped_on",
            ),
            (
                "adherence out of range",
                pat,
                with(good.clone(), "adherence", json!(9)),
                422,
                "adherence must be between 1 and 5",
            ),
            (
                "burden out of range",
                pat,
                with(good.clone(), "burden", json!(0)),
                422,
                "burden must be between 1 and 5",
            ),
            (
                "adherence not a number",
                pat,
                with(good.clone(), "adherence", json!("lots")),
                400,
                "adherence must be an integer",
            ),
            (
                "negative cost",
                pat,
                with(good.clone(), "monthly_cost", json!(-5)),
                422,
                "monthly_cost must be between",
            ),
            (
                "unknown effectiveness",
                pat,
                with(good.clone(), "effectiveness", json!("great")),
                422,
                "effectiveness must be one of",
            ),
            (
                "unknown severity",
                pat,
                with(
                    good.clone(),
                    "side_effects",
                    json!([{"name": "rash", "severity": "awful"}]),
                ),
                422,
                "side_effects.severity must be one of",
            ),
            (
                "same side effect twice",
                pat,
                with(
                    good.clone(),
                    "side_effects",
                    json!([{"name": "rash", "severity": "mild"}, {"name": "Rash", "severity": "severe"}]),
                ),
                422,
                "listed twice",
            ),
            (
                "blank condition",
                pat,
                with(good.clone(), "condition", json!("")),
                422,
                "condition can't be blank",
            ),
            (
                "unknown treatment kind",
                pat,
                with(good.clone(), "treatment_kind", json!("herb")),
                422,
                "treatment_kind must be one of",
            ),
            (
                "community visibility without community",
                pat,
                with(good.clone(), "visibility", json!("community")),
                422,
                "needs a community_id",
            ),
            (
                "unknown visibility",
                pat,
                with(good.clone(), "visibility", json!("friends")),
                422,
                "visibility must be one of",
            ),
            (
                "unknown community",
                pat,
                with(good.clone(), "community_id", json!("nosuch")),
                422,
                "is not a community",
            ),
            (
                "not a member",
                &outsider,
                with(good.clone(), "community_id", json!("diabetes")),
                422,
                "only members",
            ),
            (
                "side effects not a list",
                pat,
                with(good.clone(), "side_effects", json!(7)),
                400,
                "side_effects must be a list",
            ),
        ];
        for (case, token, body, expected, message) in cases {
            let (status, error) =
                post_json(&alpha, "/api/v1/cohort/evaluations", Some(token), &body).await;
            assert_eq!(status, expected, "{case}: {error}");
            let text = error["error"]
                .as_str()
                .unwrap_or_else(|| panic!("{case}: {error}"));
            assert!(text.contains(message), "{case}: {text}");
            assert_eq!(
                evaluations_stored(&alpha).await,
                0,
                "{case} stored something"
            );
        }
        let (status, _) = post_json(&alpha, "/api/v1/cohort/evaluations", None, &good).await;
        assert_eq!(status, 401);
        assert_eq!(evaluations_stored(&alpha).await, 0);

        // Unknown vocabulary entries are stored as free text, and flagged.
        let free = with(
            with(good.clone(), "condition", json!("sugar trouble")),
            "treatment",
            json!("Glucophage XR"),
        );
        let (status, created) =
            post_json(&alpha, "/api/v1/cohort/evaluations", Some(pat), &free).await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["condition"]["coded"], false);
        assert_eq!(created["condition"]["name"], "sugar trouble");
        assert_eq!(
            created["flags"],
            json!(["condition_not_in_vocabulary", "treatment_not_in_vocabulary"])
        );

        // The same course again is a duplicate: 409 naming the first, nothing stored.
        let (status, first) =
            post_json(&alpha, "/api/v1/cohort/evaluations", Some(pat), &good).await;
        assert_eq!(status, 201, "{first}");
        let again = with(good.clone(), "effectiveness", json!("none"));
        let (status, error) =
            post_json(&alpha, "/api/v1/cohort/evaluations", Some(pat), &again).await;
        assert_eq!(status, 409, "{error}");
        assert!(
            error["error"]
                .as_str()
                .unwrap()
                .contains(first["id"].as_str().unwrap())
        );
        assert_eq!(evaluations_stored(&alpha).await, 2);

        // A bad change leaves the evaluation as it was.
        let path = format!(
            "/api/v1/cohort/evaluations/{}",
            first["id"].as_str().unwrap()
        );
        let (status, error) = alpha
            .patch(&path, Some(pat), &[("started_on", "2025-13-01")])
            .await;
        assert_eq!(status, 422, "{error}");
        let (_, unchanged) = alpha.get(&path, Some(pat)).await;
        assert_eq!(unchanged["started_on"], "2025-01-10");
        // Someone else's evaluation cannot be changed or deleted (404, as if missing).
        let (status, _) = alpha
            .patch(&path, Some(&outsider), &[("effectiveness", "none")])
            .await;
        assert_eq!(status, 404);
        let (status, _) = alpha.delete(&path, Some(&outsider)).await;
        assert_eq!(status, 404);
        assert_eq!(evaluations_stored(&alpha).await, 2);
        alpha.stop().await;
    }
}

#[tokio::test]
async fn an_evaluation_is_read_only_by_the_audience_its_author_chose() {
    for engine in engines() {
        let (mut alpha, tokens) = community_with_members(engine, 2).await;
        let (author, fellow) = (&tokens[0], &tokens[1]);
        alpha.create_account("outsider", Role::Member, false).await;
        let outsider = alpha.sign_in("outsider", SCOPES).await;
        let mut ids = Vec::new();
        for (day, visibility) in [("01", "private"), ("02", "community"), ("03", "public")] {
            let body = with(
                with(
                    with(
                        evaluation("metformin", "major"),
                        "visibility",
                        json!(visibility),
                    ),
                    "community_id",
                    json!("diabetes"),
                ),
                "started_on",
                json!(format!("2025-01-{day}")),
            );
            let (status, created) =
                post_json(&alpha, "/api/v1/cohort/evaluations", Some(author), &body).await;
            assert_eq!(status, 201, "{created}");
            ids.push((visibility, created["id"].as_str().unwrap().to_owned()));
        }
        for (viewer, token, expected) in [
            (
                "author",
                Some(author.as_str()),
                vec!["private", "community", "public"],
            ),
            (
                "fellow member",
                Some(fellow.as_str()),
                vec!["community", "public"],
            ),
            ("outsider", Some(outsider.as_str()), vec!["public"]),
            ("anonymous", None, vec!["public"]),
        ] {
            let mut seen = Vec::new();
            for (visibility, id) in &ids {
                let (status, _) = alpha
                    .get(&format!("/api/v1/cohort/evaluations/{id}"), token)
                    .await;
                match status {
                    200 => seen.push(*visibility),
                    404 => {}
                    other => panic!("{viewer}: {other}"),
                }
            }
            assert_eq!(seen, expected, "{viewer}");
            let (status, listed) = alpha
                .get("/api/v1/cohort/evaluations?community_id=diabetes", token)
                .await;
            assert_eq!(status, 200);
            assert_eq!(
                listed.as_array().unwrap().len(),
                expected.len(),
                "{viewer} listing"
            );
        }
        alpha.stop().await;
    }
}

#[tokio::test]
async fn aggregates_show_no_cell_under_k_and_do_not_move_for_one_more_patient() {
    for engine in engines() {
        let (alpha, tokens) = community_with_members(engine, 2 * K + 1).await;
        let path = "/api/v1/communities/diabetes/aggregates";
        for token in &tokens[..K - 1] {
            let body = with(
                evaluation("metformin", "major"),
                "community_id",
                json!("diabetes"),
            );
            let (status, created) =
                post_json(&alpha, "/api/v1/cohort/evaluations", Some(token), &body).await;
            assert_eq!(status, 201, "{created}");
        }
        // Under k: no cell, and asking for it by name gives a suppressed cell.
        let (status, empty) = alpha.get(path, None).await;
        assert_eq!(status, 200, "{empty}");
        assert_eq!(empty["min_patients"], K);
        assert_eq!(empty["cells"], json!([]));
        let (status, one) = alpha
            .get(&format!("{path}?treatment=metformin"), None)
            .await;
        assert_eq!(status, 200);
        assert_eq!(
            one["cells"],
            json!([{"treatment": {"reference": "rxnorm:metformin", "name": "metformin", "kind": "medication"}, "suppressed": true}])
        );
        // Filters beyond the fixed cells are refused; so is a treatment no vocabulary has.
        for (query, message) in [
            ("since=2025-01-01", "no filter but treatment"),
            ("instance=beta.example", "no filter but treatment"),
            ("treatment=glucophage", "never aggregated"),
        ] {
            let (status, error) = alpha.get(&format!("{path}?{query}"), None).await;
            assert_eq!(status, 422, "{query}: {error}");
            assert!(
                error["error"].as_str().unwrap().contains(message),
                "{error}"
            );
        }

        // The k-th patient: the cell appears.
        let body = with(
            evaluation("metformin", "major"),
            "community_id",
            json!("diabetes"),
        );
        post_json(
            &alpha,
            "/api/v1/cohort/evaluations",
            Some(&tokens[K - 1]),
            &body,
        )
        .await;
        let (_, shown) = alpha.get(path, None).await;
        assert_eq!(shown["cells"][0]["patients"], K, "{shown}");
        assert_eq!(
            shown["cells"][0]["effectiveness"][3],
            json!({"value": "major", "patients": K})
        );
        assert_eq!(shown["cells"][0]["side_effects"][0]["name"], "nausea");

        // One more patient with a different answer: nothing moves, so comparing the two
        // answers reveals nothing about them.
        let body = with(
            evaluation("metformin", "none"),
            "community_id",
            json!("diabetes"),
        );
        post_json(
            &alpha,
            "/api/v1/cohort/evaluations",
            Some(&tokens[K]),
            &body,
        )
        .await;
        let (_, after) = alpha.get(path, None).await;
        assert_eq!(after["cells"], shown["cells"]);
        assert_eq!(after["published_at"], shown["published_at"]);
        // k more: a new snapshot covering them all.
        for token in &tokens[K + 1..] {
            let body = with(
                evaluation("metformin", "none"),
                "community_id",
                json!("diabetes"),
            );
            post_json(&alpha, "/api/v1/cohort/evaluations", Some(token), &body).await;
        }
        let (_, later) = alpha.get(path, None).await;
        assert_eq!(later["cells"][0]["patients"], 2 * K + 1, "{later}");

        // The web page shows the chart.
        let page = reqwest::get(alpha.url("/communities/diabetes/aggregates"))
            .await
            .unwrap();
        assert_eq!(page.status().as_u16(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("<svg"), "{html}");
        assert!(html.contains("metformin"));
        let missing = reqwest::get(alpha.url("/communities/nosuch/aggregates"))
            .await
            .unwrap();
        assert_eq!(missing.status().as_u16(), 404);
        alpha.stop().await;
    }
}

#[tokio::test]
async fn vocabularies_are_searchable() {
    for engine in engines().into_iter().take(1) {
        let alpha = Instance::start(engine, &[]).await;
        let (status, found) = alpha
            .get("/api/v1/cohort/vocabularies/medications?q=insulin", None)
            .await;
        assert_eq!(status, 200);
        assert_eq!(found.as_array().unwrap().len(), 4);
        assert_eq!(found[0]["source"], "RxNorm");
        let (status, found) = alpha
            .get("/api/v1/cohort/vocabularies/conditions?q=E11", None)
            .await;
        assert_eq!(status, 200);
        assert_eq!(found[0]["reference"], "icd10cm:E11");
        let (status, error) = alpha.get("/api/v1/cohort/vocabularies/brands", None).await;
        assert_eq!(status, 404);
        assert_eq!(error["error"], "Record not found");
        alpha.stop().await;
    }
}
