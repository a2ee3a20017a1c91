//! Urgent questions and professional boundaries for posts from other instances (issue 10).
//!
//! A remote post cannot be steered nor held (its author's server already published it), so:
//! - a remote *direct message* is not delivered to a local clinician whose boundary
//!   (`colleagues` or `route`) refuses its sender: the clinician is left out of its
//!   addressees, no notification, and the post is dropped when nobody here is left. A remote
//!   colleague is an account with a checked, unexpired clinician attestation;
//! - a remote post addressed to a local clinician or institution that the router labels
//!   `crisis` files the same automatic `self_harm` report as a local one, once per post.

use cohort_model::{AuthorKind, Id, Visibility};
use cohort_policy::{
    Audience, crisis_posts_reach_moderators_first, crisis_report_comment,
    direct_messages_respect_professional_boundaries,
};
use cohort_screening::urgent::UrgentRouter;
use cohort_store::now_ms;

use super::process::Result;
use crate::http::FederationState;

/// The local accounts among `addressed` that a direct message from the remote `sender`
/// must not reach: their boundary keeps direct messages to colleagues, `sender` holds no
/// valid attestation, and they did not open the conversation (`parent`).
pub(super) async fn refused_recipients(
    state: &FederationState,
    sender: Id,
    addressed: &[Id],
    parent: Option<Id>,
) -> Result<Vec<Id>> {
    let store = state.store();
    let now = now_ms();
    let boundaries = store
        .direct_message_boundaries(addressed, state.config().clinician_direct_messages, now)
        .await?;
    if boundaries
        .iter()
        .all(|(_, b)| *b == cohort_model::DirectMessagesFrom::Everyone)
    {
        return Ok(Vec::new());
    }
    let colleague = store.is_verified_clinician(sender, now).await?;
    let parent = match parent {
        Some(p) => Some(store.status(p).await?.facts),
        None => None,
    };
    let direct = Audience::new(Visibility::Direct);
    Ok(boundaries
        .iter()
        .filter(|boundary| {
            direct_messages_respect_professional_boundaries(
                &direct,
                sender,
                colleague,
                parent.as_ref(),
                std::slice::from_ref(*boundary),
            )
            .is_err()
        })
        .map(|(id, _)| *id)
        .collect())
}

/// Plain text of sanitised HTML, for the router: breaks as newlines, tags dropped, the
/// common entities decoded.
fn plain_text(html: &str) -> String {
    let spaced = html
        .replace("</p>", "\n")
        .replace("<br>", "\n")
        .replace("<br/>", "\n")
        .replace("<br />", "\n");
    ammonia::Builder::empty()
        .clean(&spaced)
        .to_string()
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

/// Files the automatic crisis report for a stored remote post, when it is addressed to a
/// local clinician or institution and reads as a crisis; once per post (by URI). Failures
/// are logged: the post is stored already, and a retry would find it known.
pub(super) async fn report_crisis(
    state: &FederationState,
    author: Id,
    status: Id,
    uri: &str,
    content_html: &str,
    visibility: Visibility,
    addressed: &[Id],
) {
    if let Err(e) = try_report_crisis(
        state,
        author,
        status,
        uri,
        content_html,
        visibility,
        addressed,
    )
    .await
    {
        tracing::error!(post = uri, error = ?e, "the automatic crisis report could not be filed");
    }
}

async fn try_report_crisis(
    state: &FederationState,
    author: Id,
    status: Id,
    uri: &str,
    content_html: &str,
    visibility: Visibility,
    addressed: &[Id],
) -> Result<()> {
    if addressed.is_empty() {
        return Ok(());
    }
    let store = state.store();
    let badges = store.clinician_badges(addressed, now_ms()).await?;
    let mut professional = false;
    for id in addressed {
        if badges.contains_key(id) {
            professional = true;
            break;
        }
        let account = store.account_by_id(*id).await?;
        if account.domain.is_none()
            && account.author_kind == AuthorKind::Organization
            && !account.is_group
        {
            professional = true;
            break;
        }
    }
    if !professional {
        return Ok(());
    }
    let text = plain_text(content_html);
    let router = tokio::task::spawn_blocking(UrgentRouter::shared)
        .await
        .map_err(|e| super::process::permanent(e.to_string()))?
        .map_err(|e| super::process::permanent(e.to_string()))?;
    let finding = router.classify(&text, true, AuthorKind::Patient);
    if !crisis_posts_reach_moderators_first(finding.label, true) {
        return Ok(());
    }
    let attach = visibility != Visibility::Direct;
    let report = cohort_moderation::automatic_report(
        cohort_moderation::Category::SelfHarm,
        author,
        if attach { vec![status] } else { Vec::new() },
        crisis_report_comment(
            &finding,
            if attach {
                "A post from another instance (attached)."
            } else {
                "A direct message from another instance to a clinician or institution here."
            },
        ),
    );
    store
        .create_urgent_report(author, &format!("uri:{uri}"), "crisis", &report)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::plain_text;

    #[test]
    fn the_router_reads_text_not_markup() {
        assert_eq!(
            plain_text("<p>I&#39;m <a href=\"x\">@dana</a></p><p>it&amp;s bad</p>"),
            "I'm @dana\nit&s bad\n"
        );
    }
}
