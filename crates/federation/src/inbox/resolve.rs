//! Resolving a post by its URL (`/api/v2/search?resolve=true` with a status URL): fetched
//! from its origin with a signed GET, checked like a post that arrives in the inbox, and
//! stored with as much of the thread above it as the limit allows.

use cohort_model::Id;
use cohort_policy::Viewer;

use super::activity::{Object, POST_TYPES, Reference};
use super::process::{ProcessError, store_post};
use crate::delivery::sign::Signer;
use crate::http::fetch::FetchedMedia;
use crate::http::{FederationState, ResolveError, domain_of};

/// How many ancestors of a resolved post are fetched at most: a reply chain longer than
/// this (or one that loops) is cut there, and the topmost fetched post is stored without
/// its parent.
pub const MAX_FETCHED_ANCESTORS: usize = 16;

/// What a URL turned out to be.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Resolved {
    /// An actor, stored as this account.
    Account(Id),
    /// A post, stored as this status.
    Post(Id),
}

/// Actor types (an account or a community's Group).
const ACTOR_TYPES: &[&str] = &["Person", "Group", "Service", "Application", "Organization"];

impl FederationState {
    /// A remote post's media file for `viewer`, who may see the post here: fetched signed
    /// by the viewer's own account when it is a local one (the origin's read gate then
    /// decides as for that account, which is how a followers-only post's media reaches
    /// a follower), else by the instance actor.
    pub async fn fetch_media_for(
        &self,
        viewer: &Viewer,
        url: &str,
        max_bytes: usize,
    ) -> Result<FetchedMedia, ResolveError> {
        let signer = match viewer {
            Viewer::Account(party) if party.domain.is_none() => {
                let actor = self.store().delivery_actor(party.id).await?;
                match (&actor.key_id, &actor.private_key_pem) {
                    (Some(key_id), Some(pem)) => Some(
                        Signer::from_pem(key_id, pem)
                            .map_err(|e| ResolveError::Invalid(e.to_string()))?,
                    ),
                    _ => None,
                }
            }
            _ => None,
        };
        Ok(self
            .fetcher()
            .fetch_media(url, max_bytes, signer.as_ref())
            .await?)
    }

    /// An actor or a post by URL, whichever the document is: known ones are read from the
    /// store, others fetched once (signed) and stored.
    pub async fn resolve_url(&self, url: &str) -> Result<Resolved, ResolveError> {
        if let Some(account) = self.store().account_id_by_actor_uri(url).await? {
            return Ok(Resolved::Account(account));
        }
        if let Some(post) = self.store().status_id_by_uri(url).await? {
            return Ok(Resolved::Post(post));
        }
        let document = self.fetcher().fetch(url).await?;
        let object =
            Object::from_value(document).map_err(|e| ResolveError::Invalid(e.to_string()))?;
        if ACTOR_TYPES.contains(&object.kind()) {
            return self.resolve_actor(url).await.map(Resolved::Account);
        }
        let post = self.checked_post(url, object).await?;
        self.store_with_ancestors(post).await.map(Resolved::Post)
    }

    /// The post at `url`, fetched and stored if it is not known yet; its ancestors are
    /// fetched too, up to [`MAX_FETCHED_ANCESTORS`]. Refused: documents that are not posts,
    /// whose `id` is on another host than the URL they were fetched from, or whose author
    /// is on another host than the post.
    pub async fn resolve_post(&self, url: &str) -> Result<Id, ResolveError> {
        if let Some(known) = self.store().status_id_by_uri(url).await? {
            return Ok(known);
        }
        let post = self.fetch_post(url).await?;
        self.store_with_ancestors(post).await
    }

    /// Stores a checked post, after as many of its unknown ancestors as the limit allows.
    async fn store_with_ancestors(&self, post: Object) -> Result<Id, ResolveError> {
        let id = post.id.clone().unwrap_or_default();
        if let Some(known) = self.store().status_id_by_uri(&id).await? {
            return Ok(known);
        }
        // Walk up the thread until a known post, the top, a failure or the limit.
        let mut chain = vec![post];
        let mut seen = vec![id];
        while chain.len() <= MAX_FETCHED_ANCESTORS {
            let Some(parent) = chain
                .last()
                .and_then(|p| p.in_reply_to.as_ref())
                .and_then(Reference::id)
                .map(str::to_owned)
            else {
                break;
            };
            if seen.contains(&parent) || self.store().status_id_by_uri(&parent).await?.is_some() {
                break;
            }
            match self.fetch_post(&parent).await {
                Ok(fetched) => {
                    seen.push(parent);
                    chain.push(fetched);
                }
                Err(e) => {
                    tracing::debug!(%parent, error = %e, "an ancestor could not be fetched; the thread stops here");
                    break;
                }
            }
        }
        // Store from the top down, so that each reply finds its parent.
        let mut stored = None;
        for post in chain.iter().rev() {
            stored = Some(self.store_fetched_post(post).await?);
        }
        stored.ok_or_else(|| ResolveError::Invalid("nothing to store".into()))
    }

    /// Fetches a post and checks that it comes from its own origin.
    async fn fetch_post(&self, url: &str) -> Result<Object, ResolveError> {
        let document = self.fetcher().fetch(url).await?;
        let post =
            Object::from_value(document).map_err(|e| ResolveError::Invalid(e.to_string()))?;
        self.checked_post(url, post).await
    }

    /// A document fetched from `url`, if it is a post served by its own origin.
    async fn checked_post(&self, url: &str, post: Object) -> Result<Object, ResolveError> {
        if !POST_TYPES.contains(&post.kind()) {
            return Err(ResolveError::Invalid(format!(
                "not a post: {}",
                post.kind()
            )));
        }
        let Some(id) = post.id.as_deref() else {
            return Err(ResolveError::Invalid("post without id".into()));
        };
        if domain_of(id).is_none() || domain_of(id) != domain_of(url) {
            return Err(ResolveError::Invalid(
                "the post's id is on another host than its URL".into(),
            ));
        }
        if id == url {
            return Ok(post);
        }
        // Fetched by another URL of the same host (its web page, say): the object is only
        // trusted as served under its own id.
        let document = self.fetcher().fetch(id).await?;
        let post =
            Object::from_value(document).map_err(|e| ResolveError::Invalid(e.to_string()))?;
        if post.id.as_deref() != Some(id) || !POST_TYPES.contains(&post.kind()) {
            return Err(ResolveError::Invalid(
                "the post's id does not serve the post".into(),
            ));
        }
        Ok(post)
    }

    /// Stores a fetched post through the inbox's own path (sanitising, addressing,
    /// communities, polls, media), without the relevance test: someone asked for it.
    async fn store_fetched_post(&self, post: &Object) -> Result<Id, ResolveError> {
        let author_uri = post
            .attributed_to_id()
            .ok_or_else(|| ResolveError::Invalid("post without author".into()))?
            .to_owned();
        let author = self.resolve_actor(&author_uri).await?;
        match store_post(self, post, &author_uri, author, false, None).await {
            Ok(Some(id)) => Ok(id),
            Ok(None) => Err(ResolveError::Invalid("not a post".into())),
            Err(ProcessError::Transient(why) | ProcessError::Permanent(why)) => {
                Err(ResolveError::Invalid(why))
            }
        }
    }
}
