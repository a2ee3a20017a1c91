//! Evaluation aggregates across instances (docs/EVALUATIONS.md "Across instances").
//!
//! - **Contributions.** A member instance sends the community's instance its own published,
//!   k-anonymous cells of that community: `EvaluationContribution` (a Cohort term) from its
//!   instance actor, `object` the community's Group, `cells` the cells. Recorded in the
//!   store's transaction as an outbox event (`OutboxKind::EvaluationContribution`) whenever
//!   a refresh writes snapshots of a community hosted elsewhere, and rendered at send time
//!   from the snapshots then current. The community's instance checks it before the `202`
//!   ([`admit`]): signed by the sender's instance actor (**403** otherwise), the community is
//!   local (**422**), every cell is coded and k-anonymous under this instance's k (**422**),
//!   the sender's instance has at least one current member of it (**403**; an empty list,
//!   which only withdraws, needs none); then it replaces that instance's previous
//!   contribution ([`apply`]). Refused, nothing is stored.
//! - **The combined view.** `GET /users/NAME/aggregates` (a community's Group) serves
//!   `EvaluationAggregates`: this instance's cells plus every contribution, combined. Public
//!   and unlisted communities: to any signed fetch (any GET without authorized fetch);
//!   members-only ones: only to instances with members. Other Cohort instances fetch it
//!   ([`remote_aggregates`]) and show it for the remote community, cached.
//! - **The summary Note.** When a refresh publishes new snapshots of a public or unlisted
//!   local community, its Group posts a plain `Note` with the cells in words (at most one a
//!   day per community): what Mastodon users following the Group read ([`refresh_and_publish`]).

use std::collections::BTreeSet;

use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use cohort_health::aggregate::is_k_anonymous;
use cohort_health::scale::median_duration;
use cohort_health::{
    CellView, DURATION, Distribution, EFFECTIVENESS, Scale, Vocabulary, VocabularyKind,
};
use cohort_model::{CommunityVisibility, Id, Visibility};
use cohort_policy::{Audience, Viewer};
use cohort_store::{CommunityAggregates, CommunityRecord, NewStatus, Store, StoreError, now_ms};
use serde_json::{Value, json};

use crate::attestation::COHORT_NAMESPACE;
use crate::http::{FederationState, Refusal, ResolveError, domain_of};
use crate::inbox::ProcessError;
use crate::inbox::activity::{Object, Reference};
use crate::render::AS_CONTEXT;
use crate::urls::LocalUrls;

/// The activity type of a contribution (`cohort:EvaluationContribution`).
pub const CONTRIBUTION: &str = "EvaluationContribution";
/// The object type of a combined view (`cohort:EvaluationAggregates`).
pub const AGGREGATES: &str = "EvaluationAggregates";
/// The most cells one contribution or view may carry (one per coded treatment).
pub const MAX_CELLS: usize = 1000;
/// How often a community's Group posts its summary Note at most.
pub const SUMMARY_INTERVAL_MS: i64 = 24 * 3600 * 1000;
/// How long a fetched combined view of a remote community is shown before it is refetched.
pub const REMOTE_CACHE_MS: i64 = 10 * 60 * 1000;

/// The `@context` of contributions and combined views: ActivityStreams and Cohort's terms.
pub fn context() -> Value {
    json!([
        AS_CONTEXT,
        {
            "cohort": COHORT_NAMESPACE,
            "EvaluationContribution": "cohort:EvaluationContribution",
            "EvaluationAggregates": "cohort:EvaluationAggregates",
            "cells": {"@id": "cohort:cells", "@type": "@json"},
            "minPatients": "cohort:minPatients",
            "instances": {"@id": "cohort:instances", "@type": "@json"}
        }
    ])
}

/// The id of a community's combined view, from its Group's actor id.
pub fn aggregates_id(group_uri: &str) -> String {
    format!("{group_uri}/aggregates")
}

fn distribution_ok(scale: &Scale, distribution: Option<&Distribution>) -> bool {
    distribution.is_none_or(|d| {
        scale
            .buckets(d.level)
            .is_some_and(|b| b.len() == d.counts.len())
    })
}

/// Reads received cells, refusing the whole list if any cell is malformed, free text,
/// repeated, or not k-anonymous under `k`.
pub fn checked_cells(value: Option<&Value>, k: u64) -> Result<Vec<CellView>, String> {
    let Some(Value::Array(items)) = value else {
        return Err("cells must be an array".into());
    };
    if items.len() > MAX_CELLS {
        return Err(format!("more than {MAX_CELLS} cells"));
    }
    let mut seen = BTreeSet::new();
    let mut cells = Vec::with_capacity(items.len());
    for item in items {
        let cell: CellView = serde_json::from_value(item.clone())
            .map_err(|e| format!("a cell is not readable: {e}"))?;
        if cell.treatment.is_empty() || cell.treatment.starts_with("text:") {
            return Err("free-text treatments are never aggregated".into());
        }
        if !seen.insert(cell.treatment.clone()) {
            return Err(format!("cell {} given twice", cell.treatment));
        }
        if !distribution_ok(&EFFECTIVENESS, cell.effectiveness.as_ref())
            || !distribution_ok(&DURATION, cell.duration.as_ref())
            || !cell
                .side_effects
                .iter()
                .all(|e| distribution_ok(&cohort_health::SEVERITY, e.severity.as_ref()))
        {
            return Err(format!(
                "cell {} has a distribution of no known level",
                cell.treatment
            ));
        }
        if !is_k_anonymous(&cell, k) {
            return Err(format!(
                "cell {} is not k-anonymous (every count must be 0 or at least {k})",
                cell.treatment
            ));
        }
        cells.push(cell);
    }
    Ok(cells)
}

/// What a contribution names: the local community.
async fn contributed_community(
    state: &FederationState,
    activity: &Object,
) -> Result<Option<CommunityRecord>, StoreError> {
    let Some(group) = activity.first_object().and_then(Reference::id) else {
        return Ok(None);
    };
    let Some(name) = state.local_username_of(group) else {
        return Ok(None);
    };
    match state.store().local_community_by_name(&name).await {
        Ok(c) => Ok(Some(c)),
        Err(StoreError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The checks made before a contribution is accepted (see the module documentation).
pub(crate) async fn admit(
    state: &FederationState,
    activity: &Object,
    body: &[u8],
    signed_by_instance: bool,
    domain: &cohort_model::Domain,
) -> Result<(), Refusal> {
    if !signed_by_instance {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "a contribution must be signed by the sending instance's actor",
        ));
    }
    let Some(community) = contributed_community(state, activity).await? else {
        return Err(Refusal::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "the contribution names no community of this instance",
        ));
    };
    if community.visibility == CommunityVisibility::Local {
        return Err(Refusal::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "the contribution names no community of this instance",
        ));
    }
    let raw: Value = serde_json::from_slice(body)
        .map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, format!("not JSON: {e}")))?;
    let cells = checked_cells(raw.get("cells"), state.config().aggregate_min_patients)
        .map_err(|why| Refusal::new(StatusCode::UNPROCESSABLE_ENTITY, why))?;
    // An empty contribution only withdraws what the instance sent before (its last members
    // may have left): accepted without members.
    if !cells.is_empty()
        && state
            .store()
            .community_members_on_domain(community.id, domain.as_str())
            .await?
            == 0
    {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "the sending instance has no member of this community",
        ));
    }
    Ok(())
}

/// Records a queued contribution (checked again: the sender's members may have left, or k
/// changed, while it waited), replacing what its instance contributed before.
pub(crate) async fn apply(
    state: &FederationState,
    activity: &Object,
    activity_json: &str,
    actor_uri: &str,
) -> Result<(), ProcessError> {
    let permanent = |why: &str| ProcessError::Permanent(why.to_owned());
    let domain = domain_of(actor_uri).ok_or_else(|| permanent("actor is not a URL"))?;
    let Some(community) = contributed_community(state, activity).await? else {
        return Err(permanent("contribution to no local community"));
    };
    let raw: Value = serde_json::from_str(activity_json).map_err(|e| permanent(&e.to_string()))?;
    let cells = checked_cells(raw.get("cells"), state.config().aggregate_min_patients)
        .map_err(|why| permanent(&why))?;
    if !cells.is_empty()
        && state
            .store()
            .community_members_on_domain(community.id, domain.as_str())
            .await?
            == 0
    {
        return Err(permanent("contribution from an instance with no member"));
    }
    state
        .store()
        .record_contribution(community.id, domain.as_str(), &cells)
        .await?;
    Ok(())
}

/// The combined view as an ActivityStreams object.
pub fn aggregates_document(
    community: &CommunityRecord,
    aggregates: &CommunityAggregates,
    k: u64,
) -> Value {
    let group = &community.account.actor_uri;
    let mut body = json!({
        "@context": context(),
        "id": aggregates_id(group),
        "type": AGGREGATES,
        "attributedTo": group,
        "name": format!("Treatment evaluations in {}", display_name(community)),
        "summary": summary_text(community, &aggregates.cells),
        "minPatients": k,
        "instances": aggregates.instances,
        "cells": aggregates.cells,
    });
    if let Some(at) = aggregates.published_at {
        body["published"] = json!(crate::render::timestamp(at));
    }
    body
}

fn display_name(community: &CommunityRecord) -> String {
    if community.account.display_name.is_empty() {
        community.account.username.clone()
    } else {
        community.account.display_name.clone()
    }
}

/// `GET /users/{name}/aggregates`: a local community's combined view.
pub(crate) async fn serve(
    State(state): State<FederationState>,
    Path(name): Path<String>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let not_found = || Refusal::new(StatusCode::NOT_FOUND, "not found");
    let community = match state.store().local_community_by_name(&name).await {
        Ok(c) => c,
        Err(StoreError::NotFound(_)) => return Err(not_found()),
        Err(e) => return Err(e.into()),
    };
    if community.visibility == CommunityVisibility::Local
        || community.account.suspended_at.is_some()
    {
        return Err(not_found());
    }
    let viewer = crate::http::objects::viewer_of(&state, &method, &uri, &headers).await?;
    if community.visibility.is_members_only() {
        let domain = match &viewer {
            Some(Viewer::Instance(d)) => Some(d.clone()),
            Some(Viewer::Account(p)) => p.domain.clone(),
            _ => None,
        };
        let Some(domain) = domain else {
            return Err(not_found());
        };
        if state
            .store()
            .community_members_on_domain(community.id, domain.as_str())
            .await?
            == 0
        {
            return Err(not_found());
        }
    } else if viewer.is_none() && state.config().authorized_fetch {
        return Err(Refusal::new(StatusCode::UNAUTHORIZED, "signature required"));
    }
    let k = state.config().aggregate_min_patients;
    let aggregates = state
        .store()
        .community_aggregates(community.id, state.config().domain.as_str(), k)
        .await?;
    Ok(crate::http::objects::activity_json(aggregates_document(
        &community,
        &aggregates,
        k,
    )))
}

/// The combined view of a community hosted elsewhere: the cached one while fresh, else
/// fetched (signed by the instance actor) from `GROUP/aggregates`, checked and cached. Cells
/// that are not k-anonymous under this instance's k are left out. When the fetch fails, the
/// last cached view is shown, if any.
pub async fn remote_aggregates(
    state: &FederationState,
    community: &CommunityRecord,
) -> Result<CommunityAggregates, ResolveError> {
    let store = state.store();
    let cached = store.remote_aggregates(community.id).await?;
    if let Some((view, fetched_at)) = &cached
        && now_ms() - fetched_at < REMOTE_CACHE_MS
    {
        return Ok(view.clone());
    }
    match fetch_remote(state, community).await {
        Ok(view) => {
            store.save_remote_aggregates(community.id, &view).await?;
            Ok(view)
        }
        Err(e) => match cached {
            Some((view, _)) => {
                tracing::info!(community = %community.id, error = %e, "refetching remote aggregates failed; showing the cached view");
                Ok(view)
            }
            None => Err(e),
        },
    }
}

async fn fetch_remote(
    state: &FederationState,
    community: &CommunityRecord,
) -> Result<CommunityAggregates, ResolveError> {
    let group = &community.account.actor_uri;
    let url = aggregates_id(group);
    let document = state.fetcher().fetch(&url).await?;
    let object =
        Object::from_value(document.clone()).map_err(|e| ResolveError::Invalid(e.to_string()))?;
    if !object.is(AGGREGATES) || object.id.as_deref() != Some(url.as_str()) {
        return Err(ResolveError::Invalid(
            "not the community's aggregates".into(),
        ));
    }
    if object.attributed_to_id() != Some(group.as_str()) {
        return Err(ResolveError::Invalid("aggregates of another actor".into()));
    }
    let k = state.config().aggregate_min_patients;
    let Some(Value::Array(items)) = document.get("cells") else {
        return Err(ResolveError::Invalid("no cells".into()));
    };
    let mut cells: Vec<CellView> = items
        .iter()
        .take(MAX_CELLS)
        .filter_map(|item| serde_json::from_value::<CellView>(item.clone()).ok())
        .filter(|cell| checked_cells(Some(&json!([cell])), k).is_ok())
        .collect();
    cells.sort_by(|a, b| {
        b.patients
            .cmp(&a.patients)
            .then(a.treatment.cmp(&b.treatment))
    });
    cells.dedup_by(|a, b| a.treatment == b.treatment);
    let instances: Vec<String> = document
        .get("instances")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .filter(|d| cohort_model::Domain::parse(d).is_ok())
                .take(1000)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let published_at = object
        .published
        .as_deref()
        .and_then(|p| {
            time::OffsetDateTime::parse(p, &time::format_description::well_known::Rfc3339).ok()
        })
        .map(|t| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(0));
    Ok(CommunityAggregates {
        cells,
        published_at,
        instances,
    })
}

fn treatment_name(reference: &str) -> String {
    [VocabularyKind::Medications, VocabularyKind::Therapies]
        .into_iter()
        .find_map(|kind| Vocabulary::of(kind).by_key(reference))
        .map_or_else(|| reference.to_owned(), |t| t.name.clone())
}

fn labeled(scale: &Scale, distribution: Option<&Distribution>) -> Option<String> {
    let d = distribution?;
    Some(
        scale
            .labeled(d)
            .into_iter()
            .map(|(label, n)| format!("{label} {n}"))
            .collect::<Vec<_>>()
            .join(", "),
    )
}

/// The combined view in words, one paragraph per treatment (plain text): what the summary
/// Note says and what Mastodon users read.
pub fn summary_text(community: &CommunityRecord, cells: &[CellView]) -> String {
    let mut out = format!(
        "Treatment evaluations in {} (only groups of at least k patients are counted):",
        display_name(community)
    );
    if cells.is_empty() {
        out.push_str("\n\nNo treatment has enough patients to be shown yet.");
    }
    for cell in cells {
        out.push_str(&format!(
            "\n\n{}: {} patients.",
            treatment_name(&cell.treatment),
            cell.patients
        ));
        if let Some(e) = labeled(&EFFECTIVENESS, cell.effectiveness.as_ref()) {
            out.push_str(&format!(" How well it worked: {e}."));
        }
        if let Some(median) = cell.duration.as_ref().and_then(median_duration) {
            out.push_str(&format!(" Median time on it before stopping: {median}."));
        }
        let effects: Vec<String> = cell
            .side_effects
            .iter()
            .take(3)
            .map(|e| format!("{} ({})", e.name, e.patients))
            .collect();
        if !effects.is_empty() {
            out.push_str(&format!(
                " Most reported side effects: {}.",
                effects.join(", ")
            ));
        }
    }
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The summary as HTML paragraphs (a Note's `content`).
pub fn summary_html(text: &str) -> String {
    text.split("\n\n")
        .map(|p| format!("<p>{}</p>", escape(p)))
        .collect()
}

/// What the background work does: refreshes every community whose inputs changed (new
/// snapshots of a community hosted elsewhere record its contribution in the same
/// transaction), and lets each public or unlisted local community that published new
/// snapshots since its last summary post its summary Note (at most once a day). Returns how
/// many communities got new snapshots.
pub async fn refresh_and_publish(
    store: &Store,
    urls: &LocalUrls,
    local_domain: &str,
    k: u64,
) -> Result<usize, StoreError> {
    let refreshed = store.refresh_changed_aggregates(k).await?;
    for community in store
        .communities_due_for_summary(now_ms(), SUMMARY_INTERVAL_MS)
        .await?
    {
        let community = &community;
        let record = store.community(*community).await?;
        if !record.is_local() || record.account.suspended_at.is_some() {
            continue;
        }
        let visibility = match record.visibility {
            CommunityVisibility::Public => Visibility::Public,
            CommunityVisibility::Unlisted => Visibility::Unlisted,
            _ => continue,
        };
        let aggregates = store
            .community_aggregates(*community, local_domain, k)
            .await?;
        if aggregates.cells.is_empty() {
            continue;
        }
        if !store
            .claim_aggregate_summary(*community, now_ms(), SUMMARY_INTERVAL_MS)
            .await?
        {
            continue;
        }
        post_summary(store, urls, &record, visibility, &aggregates).await?;
    }
    Ok(refreshed.len())
}

async fn post_summary(
    store: &Store,
    urls: &LocalUrls,
    community: &CommunityRecord,
    visibility: Visibility,
    aggregates: &CommunityAggregates,
) -> Result<Id, StoreError> {
    let text = summary_text(community, &aggregates.cells);
    let id = store.next_id();
    let username = &community.account.username;
    let new = NewStatus {
        id,
        author: community.account.id,
        uri: urls.status(username, id),
        url: Some(urls.status_page(username, id)),
        local: true,
        audience: Audience::new(visibility),
        content_html: summary_html(&text),
        text_source: text,
        spoiler_text: String::new(),
        sensitive: false,
        language: community.language.clone(),
        in_reply_to: None,
        reblog_of: None,
        addressed: Vec::new(),
        held_reason: None,
        expires_at: None,
    };
    store.create_status(&new).await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn cell(patients: u64, effectiveness: Value) -> Value {
        json!({"treatment": "rxnorm:metformin", "patients": patients,
               "effectiveness": effectiveness, "duration": null, "side_effects": []})
    }

    #[test]
    fn received_cells_must_be_coded_unique_known_and_k_anonymous() {
        let fine = json!({"level": 0, "counts": [0, 0, 0, 3, 0]});
        assert_eq!(
            checked_cells(Some(&json!([cell(3, fine.clone())])), 3)
                .unwrap()
                .len(),
            1
        );
        for bad in [
            json!([cell(2, json!({"level": 0, "counts": [0, 0, 0, 2, 0]}))]),
            json!([cell(4, json!({"level": 0, "counts": [1, 0, 0, 3, 0]}))]),
            json!([cell(3, json!({"level": 0, "counts": [0, 0, 0, 6, 0]}))]),
            json!([cell(3, json!({"level": 7, "counts": [3]}))]),
            json!([cell(3, json!({"level": 0, "counts": [3]}))]),
            json!([cell(3, fine.clone()), cell(3, fine.clone())]),
            json!([{"treatment": "text:pills", "patients": 3, "effectiveness": null,
                    "duration": null, "side_effects": []}]),
            json!([{"treatment": "rxnorm:metformin", "patients": 4, "effectiveness": null,
                    "duration": null, "side_effects": [{"name": "nausea", "patients": 3, "severity": null}]}]),
            json!({"not": "a list"}),
        ] {
            assert!(checked_cells(Some(&bad), 3).is_err(), "{bad}");
        }
        assert!(checked_cells(None, 3).is_err());
    }

    #[test]
    fn the_summary_is_plain_words_escaped_as_html() {
        let text = "Treatment <evaluations>\n\nmetformin: 3 patients & more";
        assert_eq!(
            summary_html(text),
            "<p>Treatment &lt;evaluations&gt;</p><p>metformin: 3 patients &amp; more</p>"
        );
    }
}
