//! Inbound `Flag`s: reports from other instances, in the shapes Mastodon (instance actor,
//! `object`: account then statuses, `content`), GoToSocial (the same, an empty comment
//! allowed), Misskey (one account in `object`) and Lemmy (a post in `object`, the reason in
//! `summary`) send.
//!
//! Checked before the `202` ([`admit`]), so a refused Flag leaves nothing behind:
//! - the sender's domain rejects reports (`reject_reports`, or suspended) → **403**;
//! - more than `FLAGS_PER_DOMAIN_PER_WINDOW` reports from its domain within the hour → **429**;
//! - no local account named (directly, or as the author of a named local post), nor posts
//!   known here that are in a community hosted here or moderated by a local account, or
//!   that answer or mention a local account (a Flag forwarded to the instances of the
//!   people a post concerns, Mastodon's `forward_to_domains`) → **422**.
//!
//! Applied from the queue ([`apply`]) as a report with `origin_domain` set and no reporter.
//! A report about posts of a community is tied to it, so that the community's moderators
//! here see it: the community may be hosted here, or elsewhere with a local account among
//! its moderators (the hosting instance relays its reports to its remote moderators; see
//! `cohort_store::reports`). When the community is hosted here, the comment is screened by
//! the PHI guard now, and the relay carries the screened copy ([`relayed_comment`]).
//!
//! The loop closes with `Resolve` (Lemmy's report resolution): when a moderator resolves a
//! received report, the outcome goes back to the actor that sent the Flag; a `Resolve` of one
//! of our Flags is accepted only from the instance the report was sent to ([`resolution`]).

use axum::http::StatusCode;
use cohort_model::{AuthorKind, Domain, Id};
use cohort_moderation::{Category, FLAG_WINDOW_MS, FLAGS_PER_DOMAIN_PER_WINDOW, MAX_COMMENT_CHARS};
use cohort_store::{NewReport, StoreError, now_ms};

use super::activity::Object;
use super::process::ProcessError;
use super::sanitize::plain_summary;
use crate::http::{FederationState, Refusal, domain_of};

/// How many of a Flag's objects are looked at.
const MAX_FLAG_OBJECTS: usize = 50;

/// What a Flag names on this instance.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct FlagTargets {
    /// The reported account: local, or remote when the reported posts concern accounts here.
    pub(crate) account: Id,
    /// The named posts by that account.
    pub(crate) statuses: Vec<Id>,
}

/// The account and posts a Flag names; `None` if it names nothing of this instance. That is
/// a local account (or the author of a named local post), or the remote account whose named
/// posts are in a community hosted here or moderated by a local account (a report relayed
/// by the community's instance, or a Lemmy `Flag`), or answer or mention accounts of this
/// instance (a Flag forwarded with Mastodon's `forward_to_domains`).
pub(crate) async fn targets(
    state: &FederationState,
    activity: &Object,
) -> Result<Option<FlagTargets>, StoreError> {
    let store = state.store();
    let mut account: Option<Id> = None;
    let mut remote_account: Option<Id> = None;
    // (status, author, whether the author is local)
    let mut statuses: Vec<(Id, Id, bool)> = Vec::new();
    // A report names an account and a few posts; a Flag listing thousands is not read past
    // the first ones (each costs lookups before the 202).
    for object in activity.object.iter().take(MAX_FLAG_OBJECTS) {
        let Some(uri) = object.id() else { continue };
        if let Some(id) = store.account_id_by_actor_uri(uri).await? {
            if store.account_by_id(id).await?.domain.is_none() {
                account = account.or(Some(id));
            } else {
                remote_account = remote_account.or(Some(id));
            }
            continue;
        }
        if let Some(status) = store.status_id_by_uri(uri).await?
            && let Some(author) = store.status_author(status).await?
        {
            let local = store.account_by_id(author).await?.domain.is_none();
            statuses.push((status, author, local));
        }
    }
    // Lemmy names only the post: its author is the reported account.
    let local_author = statuses.iter().find(|s| s.2).map(|s| s.1);
    if let Some(account) = account.or(local_author) {
        return Ok(Some(FlagTargets {
            account,
            statuses: by_author(&statuses, account),
        }));
    }
    let Some(remote) = remote_account.or_else(|| statuses.first().map(|s| s.1)) else {
        return Ok(None);
    };
    let named = by_author(&statuses, remote);
    // A post in a community hosted here, or in one hosted elsewhere that a local account
    // moderates: the community's moderators are the ones to tell (Lemmy sends its Flag to
    // the community; the community's instance relays reports to its remote moderators).
    // The community is the one the post is in as known here, whatever the Flag's
    // `audience` says.
    if let Some(community) = store.community_of_statuses(&named).await?
        && (store.community(community).await?.is_local()
            || store.community_moderated_here(community).await?)
    {
        return Ok(Some(FlagTargets {
            account: remote,
            statuses: named,
        }));
    }
    for involved in store.accounts_involved_in(&named).await? {
        if store.account_by_id(involved).await?.domain.is_none() {
            return Ok(Some(FlagTargets {
                account: remote,
                statuses: named,
            }));
        }
    }
    Ok(None)
}

fn by_author(statuses: &[(Id, Id, bool)], author: Id) -> Vec<Id> {
    statuses
        .iter()
        .filter(|s| s.1 == author)
        .map(|s| s.0)
        .collect()
}

/// The checks made before a Flag is accepted (see the module documentation).
pub(crate) async fn admit(
    state: &FederationState,
    activity: &Object,
    domain: &Domain,
) -> Result<(), Refusal> {
    let store = state.store();
    if store.domain_rejects_reports(domain).await? {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "reports from this domain are not accepted",
        ));
    }
    let recent = store
        .reports_from_domain_since(domain, now_ms() - FLAG_WINDOW_MS)
        .await?;
    if recent >= FLAGS_PER_DOMAIN_PER_WINDOW {
        return Err(Refusal::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too many reports from this domain; try again later",
        ));
    }
    if targets(state, activity).await?.is_none() {
        return Err(Refusal::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "the Flag names no account of this instance nor a post of a community moderated here",
        ));
    }
    Ok(())
}

/// Stores a queued Flag as a report from its sender's domain.
pub(crate) async fn apply(
    state: &FederationState,
    activity: &Object,
    actor_uri: &str,
    actor: Id,
) -> Result<(), ProcessError> {
    let Some(domain) = domain_of(actor_uri) else {
        return Err(ProcessError::Permanent("actor is not a URL".into()));
    };
    // The domain's standing may have changed while the Flag waited in the queue, and a
    // burst accepted before any of it was stored must still stop at the limit.
    if state.store().domain_rejects_reports(&domain).await? {
        return Err(ProcessError::Permanent(
            "reports from this domain are not accepted".into(),
        ));
    }
    let recent = state
        .store()
        .reports_from_domain_since(&domain, now_ms() - FLAG_WINDOW_MS)
        .await?;
    if recent >= FLAGS_PER_DOMAIN_PER_WINDOW {
        return Err(ProcessError::Permanent(
            "too many reports from this domain".into(),
        ));
    }
    let Some(targets) = targets(state, activity).await? else {
        return Err(ProcessError::Permanent(
            "the Flag names no local account".into(),
        ));
    };
    // Mastodon, GoToSocial and Misskey put the comment in `content`, Lemmy its reason in
    // `summary`. Plain text, at most the local limit (a longer one is cut, not refused: the
    // sender's moderators already accepted it).
    let raw = activity
        .content
        .as_deref()
        .filter(|c| !c.trim().is_empty())
        .or(activity.summary.as_deref())
        .unwrap_or_default();
    let comment: String = plain_summary(raw).chars().take(MAX_COMMENT_CHARS).collect();
    let (forward_comment, comment_phi_reason) =
        relayed_comment(state, &targets.statuses, &comment).await?;
    let result = state
        .store()
        .create_report(&NewReport {
            reporter: None,
            target: targets.account,
            status_ids: targets.statuses,
            comment,
            category: Category::Other.as_str().to_owned(),
            priority: Category::Other.priority(),
            rule_ids: Vec::new(),
            forward: false,
            forward_comment,
            forward_domains: Vec::new(),
            comment_phi_reason,
            origin_domain: Some(domain),
            uri: activity.id.clone(),
            origin_actor: Some(actor),
        })
        .await;
    match result {
        Ok(_) | Err(StoreError::Conflict(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The comment a report received about `statuses` may carry further, with the PHI guard's
/// reason when it redacted it: only a report about a community hosted here goes further (to
/// the community's remote moderators), and only as this instance's guard let it through,
/// the identifying spans replaced as in a forwarded local report. The sender is not trusted
/// to have screened it. `(None, None)`: nothing goes further, or the guard is unavailable
/// (the relay then carries no comment).
async fn relayed_comment(
    state: &FederationState,
    statuses: &[Id],
    comment: &str,
) -> Result<(Option<String>, Option<String>), StoreError> {
    let store = state.store();
    let Some(community) = store.community_of_statuses(statuses).await? else {
        return Ok((None, None));
    };
    if !store.community(community).await?.is_local() {
        return Ok((None, None));
    }
    if comment.trim().is_empty() {
        return Ok((Some(String::new()), None));
    }
    // Built on first use off the async workers: an instance that never relays a report
    // never pays for its dictionaries.
    let guard = match state.phi_guard().get().await {
        Ok(guard) => guard,
        Err(e) => {
            tracing::error!(error = %e, "relaying a report comment without the PHI guard: no comment");
            return Ok((None, None));
        }
    };
    // Written by someone on another instance, about someone else: screened as a caregiver's
    // words (no patient self-disclosure, no institution's public contact details).
    let finding = guard.screen(comment, AuthorKind::Caregiver);
    if !finding.identifies_patient {
        return Ok((Some(comment.to_owned()), None));
    }
    let spans: Vec<(std::ops::Range<usize>, &str)> = finding
        .spans
        .iter()
        .map(|s| (s.start..s.end, s.kind.as_str()))
        .collect();
    Ok((
        Some(cohort_moderation::redact(comment, &spans)),
        Some(finding.reason),
    ))
}

/// A `Resolve` of one of our Flags: the other instance's outcome, recorded on the report and
/// told to the reporter. Only the instance the report went to can resolve it: a `Resolve`
/// from anywhere else (or of a Flag that is not ours) is dropped as forged.
pub(crate) async fn resolution(
    state: &FederationState,
    activity: &Object,
    actor_uri: &str,
) -> Result<(), ProcessError> {
    let Some(flag_id) = activity
        .first_object()
        .and_then(super::activity::Reference::id)
    else {
        return Err(ProcessError::Permanent("Resolve without object".into()));
    };
    let prefix = format!("{}/activities/", state.urls().base());
    let Some(event) = flag_id
        .strip_prefix(&prefix)
        .and_then(|n| n.parse::<Id>().ok())
    else {
        return Err(ProcessError::Permanent(
            "Resolve of a Flag that is not ours".into(),
        ));
    };
    let Some(report) = state.store().report_by_flag_event(event).await? else {
        return Err(ProcessError::Permanent(
            "Resolve of an unknown report".into(),
        ));
    };
    let target = state.store().account_by_id(report.target).await?;
    let sender = domain_of(actor_uri);
    let sent_there = target.domain.is_some() && target.domain == sender
        || sender
            .as_ref()
            .is_some_and(|d| report.forward_domains.contains(d));
    if !sent_there {
        return Err(ProcessError::Permanent(
            "Resolve from an instance the report was not sent to".into(),
        ));
    }
    let outcome: String = plain_summary(activity.content.as_deref().unwrap_or_default())
        .chars()
        .take(MAX_COMMENT_CHARS)
        .collect();
    let outcome = if outcome.is_empty() {
        "resolved".to_owned()
    } else {
        outcome
    };
    state
        .store()
        .record_remote_resolution(report.id, &outcome)
        .await?;
    Ok(())
}
