//! Bearer tokens and OAuth scopes.
//!
//! Tokens are random 256-bit values given to the client once and stored as SHA-256 hashes:
//! a database leak does not leak working tokens. Scopes follow Mastodon's: a parent scope
//! implies its children (`read` covers `read:statuses`; `admin:read` covers
//! `admin:read:accounts`), and the legacy `follow` scope covers the follow, block and mute
//! scopes.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cohort_policy::{Party, Viewer};
use cohort_store::{AccessToken, AccountRecord, StoreError, now_ms};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::state::ApiState;

/// Every scope name the server knows, for validating what apps ask for.
pub const KNOWN_SCOPES: &[&str] = &[
    "read",
    "write",
    "follow",
    "push",
    "profile",
    "admin:read",
    "admin:write",
    "read:accounts",
    "read:blocks",
    "read:bookmarks",
    "read:favourites",
    "read:filters",
    "read:follows",
    "read:lists",
    "read:mutes",
    "read:notifications",
    "read:search",
    "read:statuses",
    "write:accounts",
    "write:blocks",
    "write:bookmarks",
    "write:conversations",
    "write:favourites",
    "write:filters",
    "write:follows",
    "write:lists",
    "write:media",
    "write:mutes",
    "write:notifications",
    "write:reports",
    "write:statuses",
    "admin:read:accounts",
    "admin:read:reports",
    "admin:read:domain_allows",
    "admin:read:domain_blocks",
    "admin:write:accounts",
    "admin:write:reports",
    "admin:write:domain_allows",
    "admin:write:domain_blocks",
];

/// A fresh random secret (tokens, codes, client ids and secrets), URL-safe base64.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored form of a secret.
pub fn hash_secret(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether every requested scope name is known.
pub fn validate_scopes(scopes: &str) -> Result<String, ApiError> {
    let mut out = Vec::new();
    for scope in scopes
        .split(|c: char| c.is_whitespace() || c == '+')
        .filter(|s| !s.is_empty())
    {
        if !KNOWN_SCOPES.contains(&scope) {
            return Err(ApiError::OAuth {
                status: axum::http::StatusCode::BAD_REQUEST,
                code: "invalid_scope",
                description: format!(
                    "The requested scope is invalid, unknown, or malformed: {scope}"
                ),
            });
        }
        if !out.contains(&scope) {
            out.push(scope);
        }
    }
    if out.is_empty() {
        out.push("read");
    }
    Ok(out.join(" "))
}

/// Whether `granted` (space-separated) covers `required`.
pub fn scope_covers(granted: &str, required: &str) -> bool {
    granted.split_whitespace().any(|g| implies(g, required))
}

fn implies(granted: &str, required: &str) -> bool {
    if granted == required {
        return true;
    }
    if granted == "follow"
        && matches!(
            required,
            "read:follows"
                | "write:follows"
                | "read:blocks"
                | "write:blocks"
                | "read:mutes"
                | "write:mutes"
        )
    {
        return true;
    }
    // `read` implies `read:x`; `admin:read` implies `admin:read:x`.
    required
        .strip_prefix(granted)
        .is_some_and(|rest| rest.starts_with(':'))
}

/// A request made with a valid user token.
#[derive(Clone, Debug)]
pub struct Authenticated {
    /// The signed-in account.
    pub account: AccountRecord,
    /// The token used.
    pub token: AccessToken,
}

impl Authenticated {
    /// 403 unless the token's scopes cover `scope`.
    pub fn require(&self, scope: &str) -> Result<(), ApiError> {
        if scope_covers(&self.token.scopes, scope) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "This action is outside the authorized scopes".into(),
            ))
        }
    }

    /// The account as the audience engine sees it.
    pub fn viewer(&self) -> Viewer {
        Viewer::Account(self.party())
    }

    /// The account as a party to the rules.
    pub fn party(&self) -> Party {
        Party {
            id: self.account.id,
            domain: None,
            suspended: self.account.suspended_at.is_some(),
        }
    }
}

/// A request that may or may not carry a user token (public reads).
#[derive(Clone, Debug)]
pub struct MaybeAuthenticated(pub Option<Authenticated>);

impl MaybeAuthenticated {
    /// The viewer: the account, or anonymous.
    pub fn viewer(&self) -> Viewer {
        self.0
            .as_ref()
            .map_or(Viewer::Anonymous, Authenticated::viewer)
    }

    /// 403 if there is a token and it lacks `scope`.
    pub fn require_if_present(&self, scope: &str) -> Result<(), ApiError> {
        self.0.as_ref().map_or(Ok(()), |a| a.require(scope))
    }
}

/// The bearer token of a request: the `Authorization` header, or `access_token` in the query.
fn bearer_token(parts: &Parts) -> Option<String> {
    bearer_token_from(&parts.headers, &parts.uri)
}

/// The bearer token of a request's headers and URI.
pub(crate) fn bearer_token_from(
    headers: &axum::http::HeaderMap,
    uri: &axum::http::Uri,
) -> Option<String> {
    if let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let value = value.trim();
        if let Some(token) = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
        {
            return Some(token.trim().to_owned());
        }
    }
    uri.query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "access_token")
            .map(|(_, v)| v.into_owned())
    })
}

/// Looks up a token and its account; `Ok(None)` when the request carries no token.
pub async fn authenticate(
    state: &ApiState,
    parts: &Parts,
) -> Result<Option<Authenticated>, ApiError> {
    let Some(raw) = bearer_token(parts) else {
        return Ok(None);
    };
    authenticate_token(state, &raw).await.map(Some)
}

/// Looks up a raw token (a bearer token, or the moderator dashboard's session cookie, which
/// holds one) and its account, with every check a bearer token gets.
pub async fn authenticate_token(state: &ApiState, raw: &str) -> Result<Authenticated, ApiError> {
    let invalid = || ApiError::Unauthorized("The access token is invalid");
    let token = match state.store.access_token_by_hash(&hash_secret(raw)).await {
        Ok(token) => token,
        Err(StoreError::NotFound(_)) => return Err(invalid()),
        Err(other) => return Err(other.into()),
    };
    if token.revoked_at.is_some() {
        return Err(ApiError::Unauthorized("The access token was revoked"));
    }
    if token.expires_at.is_some_and(|t| t < now_ms()) {
        return Err(ApiError::Unauthorized("The access token expired"));
    }
    let Some(account_id) = token.account_id else {
        return Err(ApiError::Unprocessable(
            "This method requires an authenticated user".into(),
        ));
    };
    let account = state.store.account_by_id(account_id).await?;
    if account.suspended_at.is_some() {
        return Err(ApiError::Forbidden(
            "Your login is currently disabled".into(),
        ));
    }
    if !account.approved {
        return Err(ApiError::Forbidden(
            "Your login is currently pending approval".into(),
        ));
    }
    // Disabling revokes the account's tokens; this also covers a code exchanged after it.
    if state.store.login_disabled(account.id).await? {
        return Err(ApiError::Forbidden(
            "Your login is currently disabled".into(),
        ));
    }
    Ok(Authenticated { account, token })
}

impl FromRequestParts<ApiState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState,
    ) -> Result<Self, Self::Rejection> {
        authenticate(state, parts)
            .await?
            .ok_or(ApiError::Unauthorized("The access token is invalid"))
    }
}

impl FromRequestParts<ApiState> for MaybeAuthenticated {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState,
    ) -> Result<Self, Self::Rejection> {
        Ok(MaybeAuthenticated(authenticate(state, parts).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_scopes_imply_their_children() {
        assert!(scope_covers("read write", "read:statuses"));
        assert!(scope_covers("write", "write:statuses"));
        assert!(!scope_covers("read", "write:statuses"));
        assert!(scope_covers("follow", "write:follows"));
        assert!(scope_covers("admin:read", "admin:read:accounts"));
        assert!(!scope_covers("admin:read", "admin:write:accounts"));
        assert!(!scope_covers("read:statuses", "read"));
        assert!(
            !scope_covers("re", "read:statuses"),
            "prefixes must end at a colon"
        );
    }

    #[test]
    fn unknown_scopes_are_refused() {
        assert!(validate_scopes("read write nuke").is_err());
        assert_eq!(validate_scopes("read+write read").unwrap(), "read write");
        assert_eq!(validate_scopes("").unwrap(), "read");
    }

    #[test]
    fn secrets_are_random_and_hashed() {
        let a = random_secret();
        assert_ne!(a, random_secret());
        assert_eq!(hash_secret(&a).len(), 64);
        assert_eq!(hash_secret(&a), hash_secret(&a));
    }
}
