//! The URLs of local actors and objects.
//!
//! One place decides their shape, so that ids stored at account creation, ids served by the
//! actor endpoints and ids matched in the inbox can never disagree.

use cohort_model::{Domain, Username};

/// Builds local URLs for one instance.
#[derive(Clone, Debug)]
pub struct LocalUrls {
    base: String,
}

impl LocalUrls {
    /// `https://DOMAIN`, or `http://DOMAIN` when loopback federation (plain HTTP on a test
    /// network) is enabled.
    pub fn new(domain: &Domain, plain_http: bool) -> Self {
        let scheme = if plain_http { "http" } else { "https" };
        LocalUrls {
            base: format!("{scheme}://{domain}"),
        }
    }

    /// Where a stored media file is served: `BASE/media/ID/original.jpg`, the file name
    /// being the last part of its storage key.
    pub fn media_file(&self, media: cohort_model::Id, key: &str) -> String {
        let file = key.rsplit('/').next().unwrap_or(key);
        format!("{}/media/{media}/{file}", self.base)
    }

    /// The instance's base URL, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// A person's actor id.
    pub fn actor(&self, username: &Username) -> String {
        format!("{}/users/{}", self.base, username)
    }

    /// A person's inbox.
    pub fn inbox(&self, username: &Username) -> String {
        format!("{}/users/{}/inbox", self.base, username)
    }

    /// A person's followers collection.
    pub fn followers(&self, username: &Username) -> String {
        format!("{}/users/{}/followers", self.base, username)
    }

    /// The id of a person's public key (with a fragment, like Mastodon's).
    pub fn key_id(&self, username: &Username) -> String {
        format!("{}/users/{}#main-key", self.base, username)
    }

    /// The profile page.
    pub fn profile_page(&self, username: &Username) -> String {
        format!("{}/@{}", self.base, username)
    }

    /// The instance's shared inbox.
    pub fn shared_inbox(&self) -> String {
        format!("{}/inbox", self.base)
    }

    /// A status's ActivityPub id (Mastodon's shape).
    pub fn status(&self, username: &str, status: cohort_model::Id) -> String {
        format!("{}/users/{}/statuses/{}", self.base, username, status)
    }

    /// A status's web page.
    pub fn status_page(&self, username: &str, status: cohort_model::Id) -> String {
        format!("{}/@{}/{}", self.base, username, status)
    }

    /// The stable id of an activity rendered from an outbox event.
    pub fn activity(&self, event: cohort_model::Id) -> String {
        format!("{}/activities/{}", self.base, event)
    }

    /// The instance actor (signs fetches; `acct:DOMAIN@DOMAIN` in WebFinger).
    pub fn instance_actor(&self) -> String {
        format!("{}/actor", self.base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_use_the_domain_and_port() {
        let urls = LocalUrls::new(&Domain::parse("alpha.localhost:18081").unwrap(), true);
        let pat = Username::parse("pat").unwrap();
        assert_eq!(urls.actor(&pat), "http://alpha.localhost:18081/users/pat");
        assert_eq!(
            urls.key_id(&pat),
            "http://alpha.localhost:18081/users/pat#main-key"
        );
        assert_eq!(urls.shared_inbox(), "http://alpha.localhost:18081/inbox");
        let prod = LocalUrls::new(&Domain::parse("cohort.example").unwrap(), false);
        assert_eq!(prod.profile_page(&pat), "https://cohort.example/@pat");
    }
}
