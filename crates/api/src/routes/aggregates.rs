//! A community's k-anonymous evaluation aggregates: `GET /api/v1/communities/:id/aggregates`
//! and the web page `/communities/:name/aggregates` with a server-rendered SVG chart.
//!
//! Both show only what `Store::community_aggregates` publishes: fixed cells (community x
//! coded treatment) of at least k patients, snapshots that change only when k patients'
//! contributions changed. The only parameter is `treatment` (one cell of that fixed
//! partition); any other filter is refused, because a filtered cell and its complement are
//! the classic way to isolate one patient.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use cohort_health::scale::median_duration;
use cohort_health::{
    CellView, DURATION, Distribution, EFFECTIVENESS, SEVERITY, Scale, Term, Vocabulary,
    VocabularyKind,
};
use cohort_model::CommunityVisibility;
use cohort_policy::Viewer;
use cohort_store::{CommunityAggregates, CommunityRecord};
use serde_json::{Value, json};

use crate::auth::MaybeAuthenticated;
use crate::entities::datetime;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::routes::communities::visible_community;
use crate::state::ApiState;
use crate::text::escape;

/// The vocabulary term of a treatment reference.
fn treatment_term(reference: &str) -> Option<&'static Term> {
    [VocabularyKind::Medications, VocabularyKind::Therapies]
        .into_iter()
        .find_map(|kind| Vocabulary::of(kind).by_key(reference))
}

fn treatment_json(reference: &str) -> Value {
    let term = treatment_term(reference);
    json!({
        "reference": reference,
        "name": term.map_or(reference, |t| t.name.as_str()),
        "kind": term.map(|t| match t.kind {
            VocabularyKind::Medications => "medication",
            _ => "therapy",
        }),
    })
}

fn distribution_json(scale: &Scale, distribution: Option<&Distribution>) -> Value {
    distribution.map_or(Value::Null, |d| {
        Value::Array(
            scale
                .labeled(d)
                .into_iter()
                .map(|(label, patients)| json!({"value": label, "patients": patients}))
                .collect(),
        )
    })
}

/// One published cell as JSON (docs/API.md).
pub fn cell_json(cell: &CellView) -> Value {
    json!({
        "treatment": treatment_json(&cell.treatment),
        "suppressed": false,
        "patients": cell.patients,
        "effectiveness": distribution_json(&EFFECTIVENESS, cell.effectiveness.as_ref()),
        "duration": distribution_json(&DURATION, cell.duration.as_ref()),
        "median_duration": cell.duration.as_ref().and_then(median_duration),
        "side_effects": cell.side_effects.iter().map(|e| json!({
            "name": e.name,
            "patients": e.patients,
            "severity": distribution_json(&SEVERITY, e.severity.as_ref()),
        })).collect::<Vec<_>>(),
    })
}

/// Whether the viewer may read the community's aggregates: those who may see the
/// community, and for a members-only one its members and the instance's moderators.
async fn entitled(
    state: &ApiState,
    auth: &MaybeAuthenticated,
    community: &CommunityRecord,
) -> ApiResult<()> {
    if !community.visibility.is_members_only() {
        return Ok(());
    }
    let allowed = match &auth.0 {
        Some(a) if a.account.role.can_moderate() => true,
        Some(a) => state
            .store
            .membership(community.id, a.account.id)
            .await?
            .is_some_and(|m| m.is_member()),
        None => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "Only members see this community's aggregates".into(),
        ))
    }
}

/// What the community publishes: for one hosted here, its own combined view; for one hosted
/// elsewhere, the combined view its instance serves (fetched signed, checked against this
/// instance's k, cached; nothing when it cannot be fetched and nothing is cached).
async fn published(
    state: &ApiState,
    community: &CommunityRecord,
) -> ApiResult<CommunityAggregates> {
    if !community.is_local() {
        let Some(federation) = &state.federation else {
            return Ok(CommunityAggregates {
                cells: Vec::new(),
                published_at: None,
                instances: Vec::new(),
            });
        };
        return match cohort_federation::aggregates::remote_aggregates(federation, community).await {
            Ok(view) => Ok(view),
            Err(e) => {
                tracing::info!(community = %community.id, error = %e, "remote aggregates unavailable");
                Ok(CommunityAggregates {
                    cells: Vec::new(),
                    published_at: None,
                    instances: Vec::new(),
                })
            }
        };
    }
    Ok(state
        .store
        .community_aggregates(
            community.id,
            state.settings.domain.as_str(),
            state.settings.aggregate_min_patients,
        )
        .await?)
}

/// `GET /api/v1/communities/:id/aggregates` (`treatment` optional).
pub async fn show(
    State(state): State<ApiState>,
    auth: MaybeAuthenticated,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    auth.require_if_present("read:statuses")?;
    if let Some(other) = params.0.keys().find(|k| k.as_str() != "treatment") {
        return Err(ApiError::Unprocessable(format!(
            "Validation failed: aggregates take no filter but treatment (got {other}); \
             cells are fixed so that no two can be subtracted"
        )));
    }
    let community = visible_community(&state, &id, &auth.viewer()).await?;
    entitled(&state, &auth, &community).await?;
    let k = state.settings.aggregate_min_patients;
    let wanted = match params.string("treatment").filter(|t| !t.trim().is_empty()) {
        None => None,
        Some(raw) => {
            let term = treatment_term(raw.trim())
                .or_else(|| Vocabulary::of(VocabularyKind::Medications).resolve(&raw))
                .or_else(|| Vocabulary::of(VocabularyKind::Therapies).resolve(&raw))
                .ok_or_else(|| {
                    ApiError::Unprocessable(format!(
                        "Validation failed: treatment {raw:?} is in no vocabulary; free-text \
                         treatments are never aggregated"
                    ))
                })?;
            Some(term.key.clone())
        }
    };
    let aggregates = published(&state, &community).await?;
    let cells: Vec<Value> = match &wanted {
        None => aggregates.cells.iter().map(cell_json).collect(),
        Some(reference) => vec![
            aggregates
                .cells
                .iter()
                .find(|c| &c.treatment == reference)
                .map_or_else(
                    || json!({"treatment": treatment_json(reference), "suppressed": true}),
                    cell_json,
                ),
        ],
    };
    Ok(Json(json!({
        "community_id": community.id.to_string(),
        "min_patients": k,
        "published_at": aggregates.published_at.map(datetime),
        "instances": aggregates.instances,
        "cells": cells,
    })))
}

/// Horizontal bars, one per bucket, as an inline SVG (no script, no external resource).
fn bar_chart(title: &str, scale: &Scale, distribution: &Distribution) -> String {
    const WIDTH: u64 = 260;
    const ROW: u64 = 22;
    let rows = scale.labeled(distribution);
    let max = rows.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let height = ROW * rows.len() as u64 + 4;
    let bars: String = rows
        .iter()
        .enumerate()
        .map(|(i, (label, n))| {
            let y = ROW * i as u64;
            let length = WIDTH * n / max;
            format!(
                "<text x=\"0\" y=\"{ty}\" font-size=\"12\">{label}</text>\
                 <rect x=\"140\" y=\"{y}\" width=\"{length}\" height=\"16\" fill=\"#3b6ea5\"/>\
                 <text x=\"{tx}\" y=\"{ty}\" font-size=\"12\">{n}</text>",
                ty = y + 13,
                label = escape(&label.replace('_', " ")),
                tx = 145 + length,
            )
        })
        .collect();
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"{w}\" height=\"{height}\" \
         aria-label=\"{title}\"><title>{title}</title>{bars}</svg>",
        w = 140 + WIDTH + 50,
        title = escape(title),
    )
}

fn cell_html(cell: &CellView) -> String {
    let name = treatment_term(&cell.treatment).map_or(cell.treatment.as_str(), |t| t.name.as_str());
    let chart = cell.effectiveness.as_ref().map_or_else(
        || "<p class=\"meta\">Effectiveness: too few answers in each group to show.</p>".to_owned(),
        |d| bar_chart(&format!("Effectiveness of {name}"), &EFFECTIVENESS, d),
    );
    let median = cell
        .duration
        .as_ref()
        .and_then(median_duration)
        .map(|m| {
            format!(
                "<p>Median duration of stopped courses: {}</p>",
                escape(&m.replace('_', " "))
            )
        })
        .unwrap_or_default();
    let effects: String = cell
        .side_effects
        .iter()
        .map(|e| format!("<li>{} ({} patients)</li>", escape(&e.name), e.patients))
        .collect();
    let effects = if effects.is_empty() {
        String::new()
    } else {
        format!("<p>Most reported side effects:</p><ul>{effects}</ul>")
    };
    format!(
        "<article><h2>{}</h2><p class=\"meta\">{} patients</p>{chart}{median}{effects}</article>",
        escape(name),
        cell.patients
    )
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Html("<!doctype html><title>Not found</title><h1>Not found</h1>".to_owned()),
    )
        .into_response()
}

/// `GET /communities/:name/aggregates`: the page for browsers (anonymous: public and
/// unlisted communities only).
pub async fn page(State(state): State<ApiState>, Path(name): Path<String>) -> Response {
    let community = match visible_community(&state, &name, &Viewer::Anonymous).await {
        Ok(c)
            if c.is_local()
                && matches!(
                    c.visibility,
                    CommunityVisibility::Public | CommunityVisibility::Unlisted
                ) =>
        {
            c
        }
        Ok(_) | Err(ApiError::NotFound) => return not_found(),
        Err(e) => return e.into_response(),
    };
    let aggregates = match published(&state, &community).await {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let title = format!("{}: treatment evaluations", community.account.display_name);
    let cells: String = aggregates.cells.iter().map(cell_html).collect();
    let body = format!(
        "<h1>{}</h1><p>What members reported about their treatments. A treatment appears \
         once at least {} patients evaluated it; numbers change only when at least that many \
         patients' reports have changed, so that no one's answer can be singled out.</p>{}",
        escape(&title),
        state.settings.aggregate_min_patients,
        if cells.is_empty() {
            "<p>No treatment has enough evaluations yet.</p>".to_owned()
        } else {
            cells
        }
    );
    Html(crate::routes::pages::page(&title, &body)).into_response()
}
