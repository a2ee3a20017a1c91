//! Polls: created with a status (`poll[...]` parameters), read and voted on through the read
//! gate on their status, and rendered into the Status entity.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use cohort_model::Id;
use cohort_policy::Viewer;
use cohort_store::{MAX_POLL_OPTION_CHARS, MAX_POLL_OPTIONS, NewPoll, PollRecord, VoteError};
use serde_json::{Value, json};

use crate::auth::{Authenticated, MaybeAuthenticated};
use crate::entities::datetime;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::routes::shared::{parse_id, visible_record};
use crate::state::ApiState;

/// Shortest poll (Mastodon's limit): five minutes.
const MIN_POLL_SECS: i64 = 300;
/// Longest poll (Mastodon's limit): about a month.
const MAX_POLL_SECS: i64 = 2_629_746;
/// A poll's lifetime when the client names none.
const DEFAULT_POLL_SECS: i64 = 86_400;

/// A poll asked for in a create request, validated, not stored yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PollDraft {
    options: Vec<String>,
    multiple: bool,
    hide_totals: bool,
    expires_in: i64,
}

fn invalid(message: &str) -> ApiError {
    ApiError::Unprocessable(format!("Validation failed: {message}"))
}

/// Reads `poll[options][]`, `poll[expires_in]`, `poll[multiple]`, `poll[hide_totals]` (form,
/// JSON and multipart alike); `None` when the request has no poll.
pub fn requested_poll(params: &Params) -> ApiResult<Option<PollDraft>> {
    let poll = match params.0.get("poll") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(map)) => Params(map.clone()),
        Some(_) => return Err(invalid("poll must have options")),
    };
    let options: Vec<String> = poll
        .list("options")
        .into_iter()
        .map(|o| o.trim().to_owned())
        .collect();
    if options.is_empty() && !poll.has("expires_in") {
        return Ok(None);
    }
    if options.len() < 2 {
        return Err(invalid("Poll must have at least 2 options"));
    }
    if options.len() > MAX_POLL_OPTIONS {
        return Err(invalid(&format!(
            "Poll can't contain more than {MAX_POLL_OPTIONS} items"
        )));
    }
    if options.iter().any(String::is_empty) {
        return Err(invalid("Poll options can't be blank"));
    }
    if options
        .iter()
        .any(|o| o.chars().count() > MAX_POLL_OPTION_CHARS)
    {
        return Err(invalid(&format!(
            "Poll options can't be longer than {MAX_POLL_OPTION_CHARS} characters"
        )));
    }
    let mut distinct = options.clone();
    distinct.sort();
    distinct.dedup();
    if distinct.len() != options.len() {
        return Err(invalid("Poll options must be different"));
    }
    let expires_in = poll.int("expires_in")?.unwrap_or(DEFAULT_POLL_SECS);
    if expires_in < MIN_POLL_SECS {
        return Err(invalid("Poll duration is too short"));
    }
    if expires_in > MAX_POLL_SECS {
        return Err(invalid("Poll duration is too long"));
    }
    Ok(Some(PollDraft {
        options,
        multiple: poll.bool("multiple")?.unwrap_or(false),
        hide_totals: poll.bool("hide_totals")?.unwrap_or(false),
        expires_in,
    }))
}

/// Stores a validated poll for a status just created.
pub async fn attach_poll(state: &ApiState, status: Id, draft: PollDraft) -> ApiResult<Id> {
    Ok(state
        .store
        .create_poll(&NewPoll {
            status,
            options: draft.options,
            multiple: draft.multiple,
            hide_totals: draft.hide_totals,
            expires_at: Some(cohort_store::now_ms() + draft.expires_in * 1000),
        })
        .await?)
}

/// The Poll entity. Totals stay hidden (`null`) while a `hide_totals` poll runs, from its
/// author too; an author counts as having voted in their own poll, as on Mastodon.
pub fn render_poll(poll: &PollRecord, author: Id, viewer: &Viewer, own_votes: &[i64]) -> Value {
    let now = cohort_store::now_ms();
    let expired = poll.expired_at(now);
    let viewer_id = match viewer {
        Viewer::Account(p) => Some(p.id),
        _ => None,
    };
    let show_totals = !poll.hide_totals || expired;
    let options: Vec<Value> = poll
        .options
        .iter()
        .zip(poll.votes.iter())
        .map(|(title, votes)| {
            json!({"title": title, "votes_count": if show_totals { json!(votes) } else { Value::Null }})
        })
        .collect();
    json!({
        "id": poll.id.to_string(),
        "expires_at": poll.expires_at.map(datetime),
        "expired": expired,
        "multiple": poll.multiple,
        "votes_count": poll.votes_count(),
        "voters_count": poll.voters_count,
        "options": options,
        "emojis": [],
        "voted": viewer_id.is_some_and(|v| v == author || !own_votes.is_empty()),
        "own_votes": own_votes,
    })
}

/// Rendered polls of statuses the read gate already let through, by status id.
pub async fn polls_for_statuses(
    state: &ApiState,
    viewer: &Viewer,
    shown: &[(Id, Id)],
) -> ApiResult<HashMap<Id, Value>> {
    let ids: Vec<Id> = shown.iter().map(|(status, _)| *status).collect();
    let polls = state.store.polls_of(&ids).await?;
    if polls.is_empty() {
        return Ok(HashMap::new());
    }
    let own = match viewer {
        Viewer::Account(p) => {
            let poll_ids: Vec<Id> = polls.values().map(|p| p.id).collect();
            state.store.own_votes(p.id, &poll_ids).await?
        }
        _ => HashMap::new(),
    };
    Ok(shown
        .iter()
        .filter_map(|(status, author)| {
            let poll = polls.get(status)?;
            let votes = own.get(&poll.id).map(Vec::as_slice).unwrap_or_default();
            Some((*status, render_poll(poll, *author, viewer, votes)))
        })
        .collect())
}

/// A poll and its status's author, if the viewer may see its status (else 404).
async fn visible_poll(
    state: &ApiState,
    viewer: &Viewer,
    raw_id: &str,
) -> ApiResult<(PollRecord, Id)> {
    let poll = state.store.poll(parse_id(raw_id)?).await?;
    let status = visible_record(state, viewer, poll.status_id).await?;
    Ok((poll, status.facts.author.id))
}

/// `GET /api/v1/polls/:id`.
pub async fn show(
    State(state): State<ApiState>,
    auth: MaybeAuthenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require_if_present("read:statuses")?;
    let viewer = auth.viewer();
    let (poll, author) = visible_poll(&state, &viewer, &id).await?;
    let own = match &viewer {
        Viewer::Account(p) => state
            .store
            .own_votes(p.id, &[poll.id])
            .await?
            .remove(&poll.id)
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    Ok(Json(render_poll(&poll, author, &viewer, &own)))
}

/// `POST /api/v1/polls/:id/votes` with `choices[]`: once per poll, before it ends, never in
/// one's own poll. A vote in a poll of another instance is counted here at once and sent to
/// the poll's origin, which counts the votes and sends the new figures back.
pub async fn vote(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    auth.require("write:statuses")?;
    let viewer = auth.viewer();
    let (poll, author) = visible_poll(&state, &viewer, &id).await?;
    if author == auth.account.id {
        return Err(invalid("You cannot vote in your own poll"));
    }
    let choices = params
        .list("choices")
        .iter()
        .map(|c| c.trim().parse::<i64>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| ApiError::BadRequest("choices must be integers".into()))?;
    match state
        .store
        .vote_in_poll(poll.id, auth.account.id, &choices, None)
        .await
    {
        Ok(()) => {}
        Err(VoteError::Store(e)) => return Err(e.into()),
        Err(refused) => {
            return Err(invalid(
                &refused.to_string().replace("Validation failed: ", ""),
            ));
        }
    }
    let poll = state.store.poll(poll.id).await?;
    let own = state
        .store
        .own_votes(auth.account.id, &[poll.id])
        .await?
        .remove(&poll.id)
        .unwrap_or_default();
    Ok(Json(render_poll(&poll, author, &viewer, &own)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(raw: &str) -> Params {
        let mut p = Params::default();
        p.merge_urlencoded(raw.as_bytes());
        p
    }

    #[test]
    fn a_poll_is_read_from_nested_form_keys() {
        let draft = requested_poll(&params(
            "poll[options][]=a&poll[options][]=b&poll[expires_in]=600&poll[multiple]=true",
        ))
        .unwrap()
        .unwrap();
        assert_eq!(draft.options, vec!["a", "b"]);
        assert_eq!(draft.expires_in, 600);
        assert!(draft.multiple);
        assert!(!draft.hide_totals);
    }

    #[test]
    fn a_request_without_poll_keys_has_no_poll() {
        assert_eq!(requested_poll(&params("status=hi")).unwrap(), None);
    }

    #[test]
    fn polls_outside_the_limits_are_refused() {
        for raw in [
            "poll[options][]=a&poll[expires_in]=600",
            "poll[options][]=a&poll[options][]=b&poll[options][]=c&poll[options][]=d&poll[options][]=e",
            "poll[options][]=a&poll[options][]=a",
            "poll[options][]=a&poll[options][]=",
            "poll[options][]=a&poll[options][]=b&poll[expires_in]=10",
            "poll[options][]=a&poll[options][]=b&poll[expires_in]=99999999",
        ] {
            assert!(
                matches!(
                    requested_poll(&params(raw)),
                    Err(ApiError::Unprocessable(_))
                ),
                "{raw}"
            );
        }
    }
}
