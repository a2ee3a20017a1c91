//! `POST /api/v1/reports`: a member reports an account (and some of its posts) to the
//! moderators, and may forward the report to the account's instance.
//!
//! Everything is checked before anything is stored (one transaction in the store writes the
//! report and, when forwarded, the outbox event of its `Flag`). The comment passes the PHI
//! guard first: a comment that identifies a patient is kept as written for the local
//! moderators, and forwarded with the identifying spans redacted (docs/MODERATION.md says
//! why this rather than holding the report).

use axum::Json;
use axum::extract::State;
use cohort_model::{Domain, Id};
use cohort_moderation::{Category, check_comment};
use cohort_store::{NewReport, ReportRecord};
use serde_json::{Value, json};

use crate::auth::Authenticated;
use crate::entities::datetime;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::routes::shared::{account_json, visible_record};
use crate::state::ApiState;

fn invalid(why: impl std::fmt::Display) -> ApiError {
    ApiError::Unprocessable(format!("Validation failed: {why}"))
}

/// `POST /api/v1/reports` (scope `write:reports`).
pub async fn create(
    State(state): State<ApiState>,
    auth: Authenticated,
    params: Params,
) -> ApiResult<Json<Value>> {
    auth.require("write:reports")?;
    let raw_target = params
        .string("account_id")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid("account_id is missing"))?;
    let target_id: Id = raw_target.parse().map_err(|_| ApiError::NotFound)?;
    let target = state.store.account_by_id(target_id).await?;
    if target.id == auth.account.id {
        return Err(invalid("you cannot report yourself"));
    }

    let comment = params.string("comment").unwrap_or_default();
    check_comment(&comment).map_err(invalid)?;

    let rule_ids: Vec<String> = params
        .list("rule_ids")
        .into_iter()
        .filter(|r| !r.is_empty())
        .collect();
    let category = match params.string("category").filter(|c| !c.is_empty()) {
        Some(name) => name.parse::<Category>().map_err(invalid)?,
        None if !rule_ids.is_empty() => Category::Violation,
        None => Category::Other,
    };

    // Each reported status must exist, be visible to the reporter and be the target's.
    let mut status_ids: Vec<Id> = Vec::new();
    for raw in params.list("status_ids") {
        if raw.is_empty() {
            continue;
        }
        let id: Id = raw
            .parse()
            .map_err(|_| invalid(format!("status {raw} does not exist")))?;
        let record = match visible_record(&state, &auth.viewer(), id).await {
            Ok(r) => r,
            Err(ApiError::NotFound) => {
                return Err(invalid(format!("status {raw} does not exist")));
            }
            Err(e) => return Err(e),
        };
        if record.facts.author.id != target.id {
            return Err(invalid(format!(
                "status {raw} is not by the reported account"
            )));
        }
        if !status_ids.contains(&id) {
            status_ids.push(id);
        }
    }

    let forward = params.bool("forward")?.unwrap_or(false) && target.domain.is_some();
    let forward_domains =
        forward_to_domains(&state, &params, &target, &status_ids, forward).await?;

    // The PHI guard, before anything can leave.
    let (forward_comment, comment_phi_reason) = if forward {
        let (text, reason) = screened_for_forwarding(&state, &comment, &auth).await?;
        (Some(text), reason)
    } else {
        (Some(comment.clone()), None)
    };

    let id = state
        .store
        .create_report(&NewReport {
            reporter: Some(auth.account.id),
            target: target.id,
            status_ids,
            comment,
            category: category.as_str().to_owned(),
            priority: category.priority(),
            rule_ids,
            forward,
            forward_comment,
            forward_domains,
            comment_phi_reason,
            origin_domain: None,
            uri: None,
            origin_actor: None,
        })
        .await?;
    let report = state.store.report(id).await?;
    Ok(Json(report_json(&state, &report).await?))
}

/// Mastodon's `forward_to_domains`: further instances the `Flag` also goes to. Only
/// instances involved in the report may be named: the reported account's, those of the
/// accounts the reported posts answer or mention, and that of the community they are in
/// (anything else is refused, naming it). A forwarded report about a post in a community
/// hosted elsewhere goes to the community's instance in any case.
/// The reported account's own instance gets the Flag anyway and is left out of the list;
/// without `forward` nothing is forwarded and the list is ignored once checked.
async fn forward_to_domains(
    state: &ApiState,
    params: &Params,
    target: &cohort_store::AccountRecord,
    status_ids: &[Id],
    forward: bool,
) -> ApiResult<Vec<Domain>> {
    let mut asked: Vec<Domain> = Vec::new();
    for raw in params.list("forward_to_domains") {
        if raw.is_empty() {
            continue;
        }
        let domain =
            Domain::parse(&raw).map_err(|e| invalid(format!("forward_to_domains: {e}")))?;
        if !asked.contains(&domain) {
            asked.push(domain);
        }
    }
    // Content of a community hosted elsewhere: the community's instance (where its
    // moderators act) gets the Flag too, without being asked.
    let community_domain = match state.store.community_of_statuses(status_ids).await? {
        Some(c) => state.store.community(c).await?.account.domain,
        None => None,
    };
    if asked.is_empty() && community_domain.is_none() {
        return Ok(Vec::new());
    }
    let mut involved: Vec<Domain> = target.domain.iter().cloned().collect();
    involved.extend(community_domain.clone());
    for account in state.store.accounts_involved_in(status_ids).await? {
        match state.store.account_by_id(account).await {
            Ok(a) => involved.extend(a.domain),
            Err(cohort_store::StoreError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(stranger) = asked.iter().find(|d| !involved.contains(d)) {
        return Err(invalid(format!(
            "forward_to_domains: {stranger} is not involved in the reported posts"
        )));
    }
    if !forward {
        return Ok(Vec::new());
    }
    if let Some(domain) = community_domain
        && !asked.contains(&domain)
    {
        asked.push(domain);
    }
    asked.retain(|d| Some(d) != target.domain.as_ref());
    Ok(asked)
}

/// A report comment as it may leave this instance: when the PHI guard finds that it
/// identifies a patient, the identifying spans are replaced by `[redacted KIND]` and the
/// guard's reason is returned for the moderators. (Screened as written by `auth`, whose kind
/// of author decides what counts as self-disclosure.)
pub async fn screened_for_forwarding(
    state: &ApiState,
    comment: &str,
    auth: &Authenticated,
) -> ApiResult<(String, Option<String>)> {
    crate::routes::shared::redacted_for_publication(state, comment, auth.account.author_kind).await
}

/// Mastodon's Report entity (what the reporter sees), with Cohort's `priority` and, for a
/// forwarded report, `forwarded_comment`: the comment as the other instance received it.
pub async fn report_json(state: &ApiState, report: &ReportRecord) -> ApiResult<Value> {
    let target = match account_json(state, report.target).await {
        Ok(v) => v,
        Err(ApiError::NotFound) => Value::Null,
        Err(e) => return Err(e),
    };
    Ok(json!({
        "id": report.id.to_string(),
        "action_taken": report.action_taken_at.is_some(),
        "action_taken_at": report.action_taken_at.map(datetime),
        "category": report.category,
        "comment": report.comment,
        "forwarded": report.forwarded,
        "created_at": datetime(report.created_at),
        "status_ids": report.status_ids.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "rule_ids": report.rule_ids,
        "target_account": target,
        "priority": report.priority,
        "forwarded_comment": if report.forwarded { report.forward_comment.clone() } else { None },
        "resolution_note": report.resolution_note,
        "remote_resolution": remote_resolution_json(report),
    }))
}

/// What the instance a report was forwarded to said when it resolved it (Cohort's), or null.
pub fn remote_resolution_json(report: &ReportRecord) -> Value {
    match report.remote_resolved_at {
        Some(at) => json!({
            "resolved_at": datetime(at),
            "outcome": report.remote_resolution,
        }),
        None => Value::Null,
    }
}
