//! What both the client API and the inbox need to act for a community hosted here.

use cohort_model::Id;
use cohort_policy::Audience;
use cohort_store::{CommunityRecord, NewStatus, StatusRecord};

use crate::urls::LocalUrls;

/// The Group's announcement (a boost) of a new thread in a community hosted here: what
/// Mastodon followers of the Group understand (FEP-1b12's plain `Announce`). It carries the
/// thread's audience, so a members-only thread's announcement reaches members only.
pub fn group_announcement(
    urls: &LocalUrls,
    id: Id,
    community: &CommunityRecord,
    thread: &NewStatus,
) -> NewStatus {
    announcement(
        urls,
        id,
        community,
        Thread {
            id: thread.id,
            url: thread.url.clone(),
            audience: thread.audience,
            expires_at: thread.expires_at,
        },
    )
}

/// [`group_announcement`] of a stored thread (one the PHI guard held until now).
pub fn group_announcement_of(
    urls: &LocalUrls,
    id: Id,
    community: &CommunityRecord,
    thread: &StatusRecord,
) -> NewStatus {
    announcement(
        urls,
        id,
        community,
        Thread {
            id: thread.facts.id,
            url: thread.url.clone(),
            audience: thread.facts.audience,
            expires_at: None,
        },
    )
}

/// What an announcement takes from its thread.
struct Thread {
    id: Id,
    url: Option<String>,
    audience: Audience,
    expires_at: Option<i64>,
}

fn announcement(
    urls: &LocalUrls,
    id: Id,
    community: &CommunityRecord,
    thread: Thread,
) -> NewStatus {
    NewStatus {
        id,
        author: community.account.id,
        uri: format!("{}/activity", urls.status(&community.account.username, id)),
        url: thread.url,
        local: true,
        audience: thread.audience,
        text_source: String::new(),
        content_html: String::new(),
        spoiler_text: String::new(),
        sensitive: false,
        language: None,
        in_reply_to: None,
        reblog_of: Some(thread.id),
        addressed: Vec::new(),
        held_reason: None,
        expires_at: thread.expires_at,
    }
}
