//! Hashtags and profile features: the Tag entity (with its last week of use), followed tags
//! (`/api/v1/followed_tags`, `/api/v1/tags/:name/follow`; their posts join the home
//! timeline), featured tags (`/api/v1/featured_tags`) and endorsed accounts
//! (`/api/v1/endorsements`, `POST /api/v1/accounts/:id/pin`).

use axum::Json;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use cohort_model::Id;
use cohort_store::FeaturedTagRecord;
use serde_json::{Value, json};

use crate::auth::{Authenticated, MaybeAuthenticated};
use crate::entities::date;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::routes::accounts::relationship_json;
use crate::routes::shared::{accounts_json, link_header, page, parse_id};
use crate::state::ApiState;

/// How many tags an account may feature (Mastodon's limit).
const MAX_FEATURED_TAGS: i64 = 10;

/// A tag name as typed (`#` allowed in front), checked: letters, digits and `_`.
fn tag_name(raw: &str) -> ApiResult<String> {
    let name = raw.trim().trim_start_matches('#');
    if name.is_empty()
        || name.chars().count() > 100
        || !name.chars().all(|c| c.is_alphanumeric() || c == '_')
        || name.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return Err(ApiError::Unprocessable(
            "Validation failed: Name is invalid".into(),
        ));
    }
    Ok(name.to_lowercase())
}

/// Tag entities for names, with history and, for a signed-in viewer, `following`.
pub async fn render_tags(
    state: &ApiState,
    viewer: Option<Id>,
    names: &[String],
) -> ApiResult<Vec<Value>> {
    let followed = match viewer {
        Some(v) => state.store.following_tags(v, names).await?,
        None => Default::default(),
    };
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let history: Vec<Value> = state
            .store
            .tag_history(name, 7)
            .await?
            .into_iter()
            .map(|d| {
                json!({
                    "day": (d.day / 1000).to_string(),
                    "uses": d.uses.to_string(),
                    "accounts": d.accounts.to_string(),
                })
            })
            .collect();
        let mut tag = json!({
            "id": name,
            "name": name,
            "url": format!("{}/tags/{name}", state.settings.base_url),
            "history": history,
        });
        if viewer.is_some() {
            tag["following"] = json!(followed.contains(name));
        }
        out.push(tag);
    }
    Ok(out)
}

async fn one_tag(state: &ApiState, viewer: Option<Id>, name: &str) -> ApiResult<Value> {
    render_tags(state, viewer, &[name.to_owned()])
        .await?
        .into_iter()
        .next()
        .ok_or(ApiError::NotFound)
}

/// `GET /api/v1/tags/:name`.
pub async fn show(
    State(state): State<ApiState>,
    auth: MaybeAuthenticated,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require_if_present("read:statuses")?;
    let name = tag_name(&name).map_err(|_| ApiError::NotFound)?;
    let viewer = auth.0.as_ref().map(|a| a.account.id);
    Ok(Json(one_tag(&state, viewer, &name).await?))
}

/// `POST /api/v1/tags/:name/follow`.
pub async fn follow(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("write:follows")?;
    let name = tag_name(&name)?;
    state.store.follow_tag(auth.account.id, &name).await?;
    Ok(Json(one_tag(&state, Some(auth.account.id), &name).await?))
}

/// `POST /api/v1/tags/:name/unfollow`.
pub async fn unfollow(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("write:follows")?;
    let name = tag_name(&name)?;
    state.store.unfollow_tag(auth.account.id, &name).await?;
    Ok(Json(one_tag(&state, Some(auth.account.id), &name).await?))
}

/// `GET /api/v1/followed_tags`, newest follow first, `Link` paged.
pub async fn followed(
    State(state): State<ApiState>,
    auth: Authenticated,
    params: Params,
) -> ApiResult<impl IntoResponse> {
    auth.require("read:follows")?;
    let page = page(&params, 200)?;
    let followed = state.store.followed_tags(auth.account.id, page).await?;
    let names: Vec<String> = followed.iter().map(|f| f.tag.clone()).collect();
    let tags = render_tags(&state, Some(auth.account.id), &names).await?;
    // Paged by the follows' ids, which the Tag entity does not carry.
    let cursors: Vec<Value> = followed
        .iter()
        .map(|f| json!({"id": f.id.to_string()}))
        .collect();
    let headers = link_header(&state, "/api/v1/followed_tags", "", &cursors);
    Ok((headers, Json(Value::Array(tags))))
}

fn render_featured(state: &ApiState, tag: &FeaturedTagRecord) -> Value {
    json!({
        "id": tag.id.to_string(),
        "name": tag.tag,
        "url": format!("{}/tags/{}", state.settings.base_url, tag.tag),
        "statuses_count": tag.statuses_count,
        "last_status_at": tag.last_status_at.map(date),
    })
}

/// `GET /api/v1/featured_tags`: the signed-in account's.
pub async fn featured(
    State(state): State<ApiState>,
    auth: Authenticated,
) -> ApiResult<Json<Value>> {
    auth.require("read:accounts")?;
    let tags = state.store.featured_tags(auth.account.id).await?;
    Ok(Json(Value::Array(
        tags.iter().map(|t| render_featured(&state, t)).collect(),
    )))
}

/// `GET /api/v1/accounts/:id/featured_tags`: anyone's, public like the profile.
pub async fn featured_of_account(
    State(state): State<ApiState>,
    auth: MaybeAuthenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require_if_present("read:accounts")?;
    let account = state.store.account_by_id(parse_id(&id)?).await?;
    if account.suspended_at.is_some() {
        return Ok(Json(json!([])));
    }
    let tags = state.store.featured_tags(account.id).await?;
    Ok(Json(Value::Array(
        tags.iter().map(|t| render_featured(&state, t)).collect(),
    )))
}

/// `POST /api/v1/featured_tags` with `name`.
pub async fn feature(
    State(state): State<ApiState>,
    auth: Authenticated,
    params: Params,
) -> ApiResult<Json<Value>> {
    auth.require("write:accounts")?;
    let name = tag_name(&params.string("name").unwrap_or_default())?;
    let existing = state.store.featured_tags(auth.account.id).await?;
    if !existing.iter().any(|t| t.tag == name)
        && state.store.featured_tag_count(auth.account.id).await? >= MAX_FEATURED_TAGS
    {
        return Err(ApiError::Unprocessable(format!(
            "Validation failed: You cannot feature more than {MAX_FEATURED_TAGS} hashtags"
        )));
    }
    let tag = state.store.feature_tag(auth.account.id, &name).await?;
    Ok(Json(render_featured(&state, &tag)))
}

/// `DELETE /api/v1/featured_tags/:id`.
pub async fn unfeature(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("write:accounts")?;
    state
        .store
        .unfeature_tag(auth.account.id, parse_id(&id)?)
        .await?;
    Ok(Json(json!({})))
}

/// `GET /api/v1/featured_tags/suggestions`: the account's most used tags not featured yet.
pub async fn suggestions(
    State(state): State<ApiState>,
    auth: Authenticated,
) -> ApiResult<Json<Value>> {
    auth.require("read:accounts")?;
    let names = state
        .store
        .featured_tag_suggestions(auth.account.id, 10)
        .await?;
    Ok(Json(Value::Array(
        render_tags(&state, Some(auth.account.id), &names).await?,
    )))
}

/// `GET /api/v1/endorsements`: accounts the signed-in account features, `Link` paged.
pub async fn endorsements(
    State(state): State<ApiState>,
    auth: Authenticated,
    params: Params,
) -> ApiResult<impl IntoResponse> {
    auth.require("read:accounts")?;
    let page = page(&params, 80)?;
    let endorsed = state.store.endorsed_accounts(auth.account.id, page).await?;
    let ids: Vec<Id> = endorsed.iter().map(|(_, account)| *account).collect();
    let accounts = accounts_json(&state, &ids).await?;
    let cursors: Vec<Value> = endorsed
        .iter()
        .map(|(e, _)| json!({"id": e.to_string()}))
        .collect();
    let headers = link_header(&state, "/api/v1/endorsements", "", &cursors);
    Ok((headers, Json(Value::Array(accounts))))
}

/// `GET /api/v1/accounts/:id/endorsements`: the accounts another account features.
pub async fn endorsements_of_account(
    State(state): State<ApiState>,
    auth: MaybeAuthenticated,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    auth.require_if_present("read:accounts")?;
    let account = state.store.account_by_id(parse_id(&id)?).await?;
    let page = page(&params, 80)?;
    let endorsed = state.store.endorsed_accounts(account.id, page).await?;
    let ids: Vec<Id> = endorsed.iter().map(|(_, a)| *a).collect();
    Ok(Json(Value::Array(accounts_json(&state, &ids).await?)))
}

/// `POST /api/v1/accounts/:id/pin`: endorses an account the signed-in account follows.
pub async fn endorse(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("write:accounts")?;
    let target = parse_id(&id)?;
    state.store.account_by_id(target).await?;
    let relationship = state.store.relationship(auth.account.id, target).await?;
    if !relationship.following {
        return Err(ApiError::Unprocessable(
            "Validation failed: You must be following the person you want to endorse".into(),
        ));
    }
    state.store.endorse(auth.account.id, target).await?;
    Ok(Json(
        relationship_json(&state, auth.account.id, target).await?,
    ))
}

/// `POST /api/v1/accounts/:id/unpin`.
pub async fn unendorse(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("write:accounts")?;
    let target = parse_id(&id)?;
    state.store.account_by_id(target).await?;
    state.store.unendorse(auth.account.id, target).await?;
    Ok(Json(
        relationship_json(&state, auth.account.id, target).await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_names_are_letters_digits_and_underscores() {
        assert_eq!(tag_name("#Diabetes_T1").unwrap(), "diabetes_t1");
        assert_eq!(tag_name("café").unwrap(), "café");
        for bad in ["", "#", "a b", "a-b", "123", "<script>"] {
            assert!(tag_name(bad).is_err(), "{bad}");
        }
    }
}
