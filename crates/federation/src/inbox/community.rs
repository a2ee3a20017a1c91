//! Communities over ActivityPub (FEP-1b12, Lemmy's way): following a Group is joining it,
//! a post addressed to or mentioning a Group (or naming it as its `audience`) is a post in
//! its community, and the Group relays what happens in the community with `Announce`.
//!
//! For communities hosted here, this module enforces what the host must: only members post,
//! only the community's moderators remove, and a `local` community takes nothing from
//! outside. For communities hosted elsewhere it only attributes posts to the community and
//! applies the Group's relayed removals, and only for posts that belong to that Group.

use cohort_model::{CommunityVisibility, Id};
use cohort_store::{CommunityRecord, JoinOutcome, NewOutboxEvent, OutboxKind};

use super::activity::{Object, Reference};
use super::process::{Result, permanent};
use crate::http::FederationState;

/// A remote `Follow` of a local Group: a join, answered as the membership mode says
/// (Accept at once, a pending request that a moderator decides, or Reject).
pub(super) async fn follow_group(
    state: &FederationState,
    activity: &Object,
    follower: Id,
    community: &CommunityRecord,
) -> Result<()> {
    let store = state.store();
    let group = community.account.id;
    if community.visibility == CommunityVisibility::Local {
        return reply(state, activity, OutboxKind::RejectFollow, group, follower).await;
    }
    let outcome = store.join_community(community, follower, None).await?;
    match outcome {
        JoinOutcome::Joined | JoinOutcome::Requested => {
            if let Some(id) = &activity.id {
                store.set_follow_uri(follower, group, id).await?;
            }
            if outcome == JoinOutcome::Joined {
                reply(state, activity, OutboxKind::AcceptFollow, group, follower).await
            } else {
                for moderator in store.community_moderators(community.id).await? {
                    store
                        .notify(moderator.account, follower, "follow_request", None)
                        .await?;
                }
                Ok(())
            }
        }
        JoinOutcome::Banned
        | JoinOutcome::InviteRequired
        | JoinOutcome::InviteInvalid
        | JoinOutcome::TooManyRequests => {
            reply(state, activity, OutboxKind::RejectFollow, group, follower).await
        }
    }
}

/// The Group's `Accept` or `Reject` of a `Follow`, naming the Follow by its id (Lemmy
/// requires it).
async fn reply(
    state: &FederationState,
    follow: &Object,
    kind: OutboxKind,
    group: Id,
    to: Id,
) -> Result<()> {
    state
        .store()
        .enqueue_follow_answer(
            &NewOutboxEvent {
                kind,
                actor: group,
                status: None,
                target_account: Some(to),
            },
            follow.id.as_deref(),
        )
        .await?;
    Ok(())
}

/// The community an incoming post belongs to: the Group that relayed it, else a Group it
/// addresses or mentions (local ones are among `addressed`), else the Group named as its
/// `audience`, else its parent's community.
pub(super) async fn community_of_post(
    state: &FederationState,
    object: &Object,
    addressed: &[Id],
    parent: Option<Id>,
    relayed_by: Option<Id>,
) -> Result<Option<CommunityRecord>> {
    let store = state.store();
    if let Some(group) = relayed_by
        && let Some(community) = store.community_of_group(group).await?
    {
        return Ok(Some(community));
    }
    for account in addressed {
        if let Some(community) = store.community_of_group(*account).await? {
            return Ok(Some(community));
        }
    }
    for audience in object.audience.iter().filter_map(Reference::id) {
        if let Some(account) = store.account_id_by_actor_uri(audience).await?
            && let Some(community) = store.community_of_group(account).await?
        {
            return Ok(Some(community));
        }
    }
    match parent {
        Some(parent) => match store.status(parent).await?.facts.audience.community {
            Some(id) => Ok(Some(store.community(id).await?)),
            None => Ok(None),
        },
        None => Ok(None),
    }
}

/// Refuses a post into a community hosted here unless its author is a current member and
/// the community takes posts from outside (a `local` one does not). Nothing is stored then.
pub(super) async fn admit(
    state: &FederationState,
    community: &CommunityRecord,
    author: Id,
) -> Result<()> {
    if community.visibility == CommunityVisibility::Local {
        return Err(permanent("post to a local-only community from outside"));
    }
    let member = state.store().membership(community.id, author).await?;
    if member
        .as_ref()
        .is_some_and(cohort_store::MemberRecord::is_member)
    {
        Ok(())
    } else {
        Err(permanent("author is not a member of the community"))
    }
}

/// A `Delete` of a post by someone other than its author: allowed only as a moderator's
/// removal from a community hosted here, which the Group then relays. Returns whether it
/// applied.
pub(super) async fn moderator_removal(
    state: &FederationState,
    activity: &Object,
    moderator: Id,
    status: Id,
) -> Result<bool> {
    let store = state.store();
    let Some(community) = store.status(status).await?.facts.audience.community else {
        return Ok(false);
    };
    let community = store.community(community).await?;
    if !community.is_local() {
        return Ok(false);
    }
    let member = store.membership(community.id, moderator).await?;
    if !member
        .as_ref()
        .is_some_and(cohort_store::MemberRecord::can_moderate)
    {
        return Err(permanent(
            "removal by an account that does not moderate the community",
        ));
    }
    let reason = activity.summary.clone().unwrap_or_default();
    store
        .remove_from_community(
            community.id,
            status,
            moderator,
            &reason,
            cohort_store::RemovalNotice::RelayFromGroup(community.account.id),
        )
        .await?;
    Ok(true)
}

/// What a Group relays: `Announce(Delete)` removes the post here, but only a post of that
/// Group's own community (a Group cannot remove what is not in it).
pub(super) async fn relayed_removal(
    state: &FederationState,
    group: Id,
    inner: &Object,
) -> Result<()> {
    let store = state.store();
    let Some(object_id) = inner.first_object().and_then(Reference::id) else {
        return Err(permanent("relayed Delete without object"));
    };
    let Some(status) = store.status_id_by_uri(object_id).await? else {
        return Ok(());
    };
    let Some(community) = store.community_of_group(group).await? else {
        return Err(permanent(
            "Announce(Delete) from an account that is no Group",
        ));
    };
    let record = store.status(status).await?;
    let in_community = record.facts.audience.community == Some(community.id);
    if !in_community {
        return Err(permanent(
            "Group relayed the removal of a post outside its community",
        ));
    }
    let reason = inner.summary.clone().unwrap_or_default();
    store
        .remove_from_community(
            community.id,
            status,
            group,
            &reason,
            cohort_store::RemovalNotice::Received,
        )
        .await?;
    Ok(())
}

/// Whether a Group's announced activity is a moderation of its community: a ban (`Block`
/// with a `target`) or its `Undo`, or an `Add`/`Remove` with a `target` collection (the
/// moderators, or `featured`).
pub(super) fn is_moderation(inner: &Object) -> bool {
    let targeted = |o: &Object| o.target.is_some();
    match inner.kind() {
        "Block" | "Add" | "Remove" => targeted(inner),
        "Undo" => inner
            .first_object()
            .and_then(Reference::object)
            .is_some_and(|o| o.is("Block") && targeted(o)),
        _ => false,
    }
}

/// A moderation announced by the Group of a community hosted elsewhere (FEP-1b12, Lemmy's
/// shapes): a ban or its lifting, a moderator added or removed, a thread featured or not.
/// It applies only when the inner activity's actor is the Group itself or one of the
/// moderators its moderators collection lists (fetched now), and only to that community's
/// own members, moderators and threads; anything else is refused and nothing is stored.
pub(super) async fn relayed_moderation(
    state: &FederationState,
    group: Id,
    group_uri: &str,
    inner: &Object,
) -> Result<()> {
    let store = state.store();
    let Some(community) = store.community_of_group(group).await? else {
        return Err(permanent(
            "moderation announced by an account that is no Group",
        ));
    };
    if community.is_local() {
        return Err(permanent(
            "moderation of a community hosted here from outside",
        ));
    }
    let moderator_uri = inner
        .actor_id()
        .ok_or_else(|| permanent("announced moderation without actor"))?;
    if moderator_uri != group_uri {
        let moderators = state.remote_moderators(group_uri).await?;
        if !moderators.iter().any(|m| m == moderator_uri) {
            return Err(permanent(
                "moderation by an actor the Group does not list as a moderator",
            ));
        }
    }
    let moderator = if moderator_uri == group_uri {
        group
    } else {
        state.resolve_actor(moderator_uri).await?
    };
    let (activity, undo) = match inner.kind() {
        "Undo" => (
            inner
                .first_object()
                .and_then(Reference::object)
                .ok_or_else(|| permanent("Undo without the undone activity"))?,
            true,
        ),
        _ => (inner, false),
    };
    let target = activity
        .target
        .as_ref()
        .and_then(Reference::id)
        .ok_or_else(|| permanent("announced moderation without target"))?;
    let object = activity
        .first_object()
        .and_then(Reference::id)
        .ok_or_else(|| permanent("announced moderation without object"))?;
    let moderators_collection = format!("{group_uri}/moderators");
    match activity.kind() {
        "Block" => {
            if target != group_uri {
                return Err(permanent("ban from another community"));
            }
            let Some(account) = store.account_id_by_actor_uri(object).await? else {
                // Nobody here knows the account: nothing to apply.
                return Ok(());
            };
            if undo {
                store
                    .unban_from_community(community.id, moderator, account)
                    .await?;
            } else {
                let reason = activity.summary.clone().unwrap_or_default();
                store
                    .ban_from_community(&community, moderator, account, &reason, None)
                    .await?;
            }
            Ok(())
        }
        "Add" | "Remove"
            if target == moderators_collection
                || is_moderators_of(state, group_uri, target).await? =>
        {
            let Some(account) = store.account_id_by_actor_uri(object).await? else {
                return Ok(());
            };
            // Only accounts known here as members are listed (the rest are not stored).
            store
                .set_community_moderator(community.id, account, activity.is("Add"))
                .await?;
            Ok(())
        }
        "Add" | "Remove" => {
            if crate::http::domain_of(target) != crate::http::domain_of(group_uri) {
                return Err(permanent("collection on another host"));
            }
            let Some(status) = store.status_id_by_uri(object).await? else {
                return Ok(());
            };
            // Only a thread of this community can be featured in it.
            if !store
                .set_community_pin(community.id, status, activity.is("Add"))
                .await?
            {
                return Err(permanent("featured a post outside the community"));
            }
            Ok(())
        }
        _ => Err(permanent("unknown moderation")),
    }
}

/// Whether `collection` is the moderators collection the Group names (its `attributedTo`),
/// for Groups whose collection is not at Cohort's and Lemmy's `/moderators` path.
async fn is_moderators_of(
    state: &FederationState,
    group_uri: &str,
    collection: &str,
) -> Result<bool> {
    if crate::http::domain_of(collection) != crate::http::domain_of(group_uri) {
        return Ok(false);
    }
    let document = state.fetcher().fetch(group_uri).await?;
    let group = Object::from_value(document).map_err(|e| permanent(e.to_string()))?;
    Ok(group
        .attributed_to
        .iter()
        .filter_map(Reference::id)
        .any(|c| c == collection))
}

/// The author deleted a post of a community hosted here: the Group relays the deletion
/// to the instances it relayed the post to (the author's own instance cannot know them).
pub(super) async fn relay_author_deletion(state: &FederationState, status: Id) -> Result<()> {
    let store = state.store();
    let Some(community) = store.status(status).await?.facts.audience.community else {
        return Ok(());
    };
    let community = store.community(community).await?;
    if community.is_local() {
        store
            .enqueue_outbox_event(&NewOutboxEvent {
                kind: OutboxKind::GroupRemove,
                actor: community.account.id,
                status: Some(status),
                target_account: None,
            })
            .await?;
    }
    Ok(())
}
