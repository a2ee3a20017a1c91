//! Treatment evaluations (`/api/v1/cohort/evaluations`) and the vocabularies they are
//! coded with (`/api/v1/cohort/vocabularies/:name`), Cohort's additions (docs/API.md,
//! docs/EVALUATIONS.md).
//!
//! Handlers parse, validate through `cohort_health`, and call the store, whose reads take
//! the viewer and apply the evaluation's visibility; a hidden evaluation answers 404 like a
//! missing one. A second report of the same course (same condition, treatment and start
//! date) is `409` naming the existing one: a duplicate is never a second vote.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use cohort_health::evaluation::format_date;
use cohort_health::{
    EvaluationDraft, EvaluationVisibility, SideEffectDraft, Vocabulary, VocabularyKind,
};
use cohort_model::Id;
use cohort_store::{EvaluationFilter, EvaluationPlacement, EvaluationRecord, StoreError};
use serde_json::{Value, json};

use crate::auth::{Authenticated, MaybeAuthenticated};
use crate::entities::datetime;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::routes::communities::find_community;
use crate::routes::shared::{link_header, page, parse_id};
use crate::state::ApiState;

/// A coded entry as JSON: its reference, the vocabulary's code and name, and whether it
/// matched a vocabulary at all.
fn coded_json(coded: &cohort_health::Coded) -> Value {
    let code = coded.reference.strip_prefix("icd10cm:").map(str::to_owned);
    json!({
        "reference": coded.is_coded().then_some(coded.reference.as_str()),
        "code": code,
        "name": coded.text,
        "coded": coded.is_coded(),
    })
}

/// The Evaluation JSON (docs/API.md).
pub fn evaluation_json(record: &EvaluationRecord) -> Value {
    let e = &record.evaluation;
    json!({
        "id": record.id.to_string(),
        "account_id": record.author.to_string(),
        "community_id": record.community.map(|c| c.to_string()),
        "visibility": record.visibility.as_str(),
        "condition": coded_json(&e.condition),
        "treatment": {
            "kind": e.treatment_kind.as_str(),
            "reference": e.treatment.is_coded().then_some(e.treatment.reference.as_str()),
            "name": e.treatment.text,
            "coded": e.treatment.is_coded(),
            "dose": e.dose,
            "frequency": e.frequency,
        },
        "started_on": format_date(e.started_on),
        "stopped_on": e.stopped_on.map(format_date),
        "stop_reason": e.stop_reason.map(|r| r.as_str()),
        "effectiveness": e.effectiveness.as_str(),
        "side_effects": e.side_effects.iter().map(|s| json!({
            "name": s.name, "severity": s.severity.as_str(),
        })).collect::<Vec<_>>(),
        "adherence": e.adherence,
        "burden": e.burden,
        "monthly_cost": e.monthly_cost,
        "currency": e.currency,
        "tips": e.tips,
        "flags": e.flags(),
        "created_at": datetime(record.created_at),
        "updated_at": datetime(record.updated_at),
    })
}

fn validation(message: impl std::fmt::Display) -> ApiError {
    ApiError::Unprocessable(format!("Validation failed: {message}"))
}

/// `side_effects` as clients send it: a JSON array of `{name, severity}`, or form fields
/// `side_effects[0][name]=...&side_effects[0][severity]=...` (an object keyed by index).
fn side_effects_param(params: &Params) -> ApiResult<Vec<SideEffectDraft>> {
    let items: Vec<Value> = match params.0.get("side_effects") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(Value::Object(by_index)) => {
            let mut keyed: Vec<(u32, Value)> = by_index
                .iter()
                .map(|(k, v)| {
                    k.parse::<u32>().map(|i| (i, v.clone())).map_err(|_| {
                        ApiError::BadRequest(
                            "side_effects must be a list of {name, severity}".into(),
                        )
                    })
                })
                .collect::<ApiResult<_>>()?;
            keyed.sort_by_key(|(i, _)| *i);
            keyed.into_iter().map(|(_, v)| v).collect()
        }
        Some(Value::String(s)) if s.is_empty() => Vec::new(),
        Some(_) => {
            return Err(ApiError::BadRequest(
                "side_effects must be a list of {name, severity}".into(),
            ));
        }
    };
    items
        .into_iter()
        .map(|item| match item {
            Value::Object(fields) => {
                let text = |key: &str| {
                    fields
                        .get(key)
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned()
                };
                Ok(SideEffectDraft {
                    name: text("name"),
                    severity: text("severity"),
                })
            }
            _ => Err(ApiError::BadRequest(
                "side_effects must be a list of {name, severity}".into(),
            )),
        })
        .collect()
}

/// Applies the parameters given to `draft` (all of them on creation; on an update, those
/// present replace, and an empty value clears an optional field).
fn apply_params(draft: &mut EvaluationDraft, params: &Params) -> ApiResult<()> {
    let optional = |key: &str| params.string(key).filter(|s| !s.trim().is_empty());
    for (key, slot) in [
        ("condition", &mut draft.condition),
        ("treatment_kind", &mut draft.treatment_kind),
        ("treatment", &mut draft.treatment),
        ("started_on", &mut draft.started_on),
        ("effectiveness", &mut draft.effectiveness),
    ] {
        if params.has(key) {
            *slot = params.string(key).unwrap_or_default();
        }
    }
    for (key, slot) in [
        ("dose", &mut draft.dose),
        ("frequency", &mut draft.frequency),
        ("stopped_on", &mut draft.stopped_on),
        ("stop_reason", &mut draft.stop_reason),
        ("currency", &mut draft.currency),
        ("tips", &mut draft.tips),
    ] {
        if params.has(key) {
            *slot = optional(key);
        }
    }
    for (key, slot) in [
        ("adherence", &mut draft.adherence),
        ("burden", &mut draft.burden),
        ("monthly_cost", &mut draft.monthly_cost),
    ] {
        if params.has(key) {
            *slot = params.int(key)?;
        }
    }
    if params.has("side_effects") {
        draft.side_effects = side_effects_param(params)?;
    }
    Ok(())
}

/// Where the evaluation is filed and who may read it, from `community_id` and
/// `visibility` (absent ones keep `current`'s; `private` and no community by default).
async fn placement(
    state: &ApiState,
    auth: &Authenticated,
    params: &Params,
    current: Option<EvaluationPlacement>,
) -> ApiResult<EvaluationPlacement> {
    let community = match params.string("community_id") {
        Some(raw) if !raw.trim().is_empty() => {
            let community = match find_community(state, raw.trim()).await {
                Ok(c) => c,
                Err(ApiError::NotFound) => {
                    return Err(validation(format!(
                        "community_id {raw:?} is not a community"
                    )));
                }
                Err(e) => return Err(e),
            };
            let member = state
                .store
                .membership(community.id, auth.account.id)
                .await?
                .is_some_and(|m| m.is_member());
            if !member {
                return Err(validation(
                    "only members of a community can file evaluations in it",
                ));
            }
            Some(community.id)
        }
        Some(_) => None,
        None => current.and_then(|p| p.community),
    };
    let visibility = match params.string("visibility") {
        Some(raw) if !raw.trim().is_empty() => raw
            .parse::<EvaluationVisibility>()
            .map_err(|detail| validation(format!("visibility {detail}")))?,
        _ => current.map_or(EvaluationVisibility::Private, |p| p.visibility),
    };
    if visibility == EvaluationVisibility::Community && community.is_none() {
        return Err(validation("visibility community needs a community_id"));
    }
    Ok(EvaluationPlacement {
        community,
        visibility,
    })
}

fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

/// The 409 for a course already reported.
async fn duplicate(
    state: &ApiState,
    author: Id,
    evaluation: &cohort_health::Evaluation,
) -> ApiError {
    match state.store.duplicate_of(author, evaluation).await {
        Ok(Some(existing)) => ApiError::Conflict(format!(
            "You already reported this course (same condition, treatment and start date): evaluation {existing}"
        )),
        Ok(None) => ApiError::Conflict("You already reported this course".into()),
        Err(e) => e.into(),
    }
}

/// `POST /api/v1/cohort/evaluations`.
pub async fn create(
    State(state): State<ApiState>,
    auth: Authenticated,
    params: Params,
) -> ApiResult<(StatusCode, Json<Value>)> {
    auth.require("write:statuses")?;
    let mut draft = EvaluationDraft::default();
    apply_params(&mut draft, &params)?;
    let evaluation = draft.validate(today()).map_err(validation)?;
    let placement = placement(&state, &auth, &params, None).await?;
    match state
        .store
        .create_evaluation(auth.account.id, placement, &evaluation)
        .await
    {
        Ok(record) => Ok((StatusCode::CREATED, Json(evaluation_json(&record)))),
        Err(StoreError::Conflict(_)) => Err(duplicate(&state, auth.account.id, &evaluation).await),
        Err(e) => Err(e.into()),
    }
}

/// `GET /api/v1/cohort/evaluations` (`account_id`, `community_id`, paging): the ones the
/// viewer may read, newest first.
pub async fn index(
    State(state): State<ApiState>,
    auth: MaybeAuthenticated,
    params: Params,
) -> ApiResult<(HeaderMap, Json<Value>)> {
    auth.require_if_present("read:statuses")?;
    let viewer = auth.0.as_ref().map(|a| a.account.id);
    let author = match params.string("account_id") {
        Some(raw) if !raw.is_empty() => Some(parse_id(&raw)?),
        _ => None,
    };
    let community = match params.string("community_id") {
        Some(raw) if !raw.is_empty() => Some(find_community(&state, &raw).await?.id),
        _ => None,
    };
    let records = state
        .store
        .evaluations_for(
            viewer,
            EvaluationFilter { author, community },
            page(&params, 80)?,
        )
        .await?;
    let items: Vec<Value> = records.iter().map(evaluation_json).collect();
    let mut extra = Vec::new();
    if let Some(a) = author {
        extra.push(format!("account_id={a}"));
    }
    if let Some(c) = community {
        extra.push(format!("community_id={c}"));
    }
    let headers = link_header(
        &state,
        "/api/v1/cohort/evaluations",
        &extra.join("&"),
        &items,
    );
    Ok((headers, Json(Value::Array(items))))
}

/// `GET /api/v1/cohort/evaluations/:id`.
pub async fn show(
    State(state): State<ApiState>,
    auth: MaybeAuthenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require_if_present("read:statuses")?;
    let viewer = auth.0.as_ref().map(|a| a.account.id);
    let record = state.store.evaluation_for(viewer, parse_id(&id)?).await?;
    Ok(Json(evaluation_json(&record)))
}

/// `PATCH /api/v1/cohort/evaluations/:id`: the author changes any field.
pub async fn update(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    auth.require("write:statuses")?;
    let current = state
        .store
        .own_evaluation(auth.account.id, parse_id(&id)?)
        .await?;
    let mut draft = current.evaluation.to_draft();
    apply_params(&mut draft, &params)?;
    let evaluation = draft.validate(today()).map_err(validation)?;
    let current_placement = EvaluationPlacement {
        community: current.community,
        visibility: current.visibility,
    };
    let placement = placement(&state, &auth, &params, Some(current_placement)).await?;
    match state
        .store
        .update_evaluation(auth.account.id, current.id, placement, &evaluation)
        .await
    {
        Ok(record) => Ok(Json(evaluation_json(&record))),
        Err(StoreError::Conflict(_)) => Err(duplicate(&state, auth.account.id, &evaluation).await),
        Err(e) => Err(e.into()),
    }
}

/// `DELETE /api/v1/cohort/evaluations/:id`.
pub async fn delete(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("write:statuses")?;
    state
        .store
        .delete_evaluation(auth.account.id, parse_id(&id)?)
        .await?;
    Ok(Json(json!({})))
}

/// `GET /api/v1/cohort/vocabularies/:name` (`q`, `limit`): terms to code conditions
/// (`conditions`), medications (`medications`) and other therapies (`therapies`) with.
pub async fn vocabulary(Path(name): Path<String>, params: Params) -> ApiResult<Json<Value>> {
    let kind = VocabularyKind::parse(&name).ok_or(ApiError::NotFound)?;
    let limit = usize::try_from(params.int("limit")?.unwrap_or(20).clamp(1, 200)).unwrap_or(20);
    let vocabulary = Vocabulary::of(kind);
    let query = params.string("q").unwrap_or_default();
    let terms: Vec<&cohort_health::Term> = if query.trim().is_empty() {
        vocabulary.terms().iter().take(limit).collect()
    } else {
        vocabulary.search(&query, limit)
    };
    Ok(Json(Value::Array(
        terms
            .iter()
            .map(|t| {
                json!({
                    "reference": t.key,
                    "code": t.code,
                    "name": t.name,
                    "source": t.kind.source(),
                })
            })
            .collect(),
    )))
}
