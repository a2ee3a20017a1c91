//! OAuth 2 applications, authorization codes and access tokens. Secrets are stored only as
//! hashes (the API hashes them; the store never sees a usable secret).

use cohort_model::Id;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::row::{id, id_from};
use crate::{Store, StoreError, now_ms};

/// A registered client application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthApp {
    /// Id.
    pub id: Id,
    /// Shown name.
    pub name: String,
    /// Homepage.
    pub website: Option<String>,
    /// Allowed redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Space-separated scopes the app may ask for.
    pub scopes: String,
    /// Public client id.
    pub client_id: String,
    /// Hash of the client secret.
    pub client_secret_hash: String,
    /// Created, Unix ms.
    pub created_at: i64,
}

/// An authorization code, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizationCode {
    /// The app it was issued to.
    pub app_id: Id,
    /// The account that consented.
    pub account_id: Id,
    /// The redirect URI it must be redeemed with.
    pub redirect_uri: String,
    /// Granted scopes.
    pub scopes: String,
    /// PKCE challenge.
    pub code_challenge: Option<String>,
    /// PKCE method (`S256` or `plain`).
    pub code_challenge_method: Option<String>,
    /// Expiry, Unix ms.
    pub expires_at: i64,
}

/// An access token, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessToken {
    /// Id.
    pub id: Id,
    /// The app.
    pub app_id: Id,
    /// The account (None for client-credentials tokens).
    pub account_id: Option<Id>,
    /// Granted scopes, space-separated.
    pub scopes: String,
    /// Created, Unix ms.
    pub created_at: i64,
    /// Expiry, Unix ms (None: does not expire).
    pub expires_at: Option<i64>,
    /// Revoked, Unix ms.
    pub revoked_at: Option<i64>,
}

impl Store {
    /// Registers an application.
    pub async fn create_oauth_app(
        &self,
        name: &str,
        website: Option<&str>,
        redirect_uris: &[String],
        scopes: &str,
        client_id: &str,
        client_secret_hash: &str,
    ) -> Result<OAuthApp, StoreError> {
        let id = self.next_id();
        sqlx::query(
            "INSERT INTO oauth_apps (id, name, website, redirect_uris, scopes, client_id, client_secret_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id.as_i64())
        .bind(name)
        .bind(website)
        .bind(redirect_uris.join("\n"))
        .bind(scopes)
        .bind(client_id)
        .bind(client_secret_hash)
        .bind(now_ms())
        .execute(self.writer())
        .await?;
        self.oauth_app_by_client_id(client_id).await
    }

    /// An application by its client id.
    pub async fn oauth_app_by_client_id(&self, client_id: &str) -> Result<OAuthApp, StoreError> {
        let row = sqlx::query(
            "SELECT id, name, website, redirect_uris, scopes, client_id, client_secret_hash, created_at \
             FROM oauth_apps WHERE client_id = $1",
        )
        .bind(client_id)
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::NotFound("application"))?;
        app_from_row(&row)
    }

    /// An application by id.
    pub async fn oauth_app(&self, app: Id) -> Result<OAuthApp, StoreError> {
        let row = sqlx::query(
            "SELECT id, name, website, redirect_uris, scopes, client_id, client_secret_hash, created_at \
             FROM oauth_apps WHERE id = $1",
        )
        .bind(app.as_i64())
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::NotFound("application"))?;
        app_from_row(&row)
    }

    /// Stores an authorization code (by hash).
    pub async fn create_authorization_code(
        &self,
        code_hash: &str,
        code: &AuthorizationCode,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oauth_authorization_codes (code_hash, app_id, account_id, redirect_uri, scopes, \
             code_challenge, code_challenge_method, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(code_hash)
        .bind(code.app_id.as_i64())
        .bind(code.account_id.as_i64())
        .bind(&code.redirect_uri)
        .bind(&code.scopes)
        .bind(&code.code_challenge)
        .bind(&code.code_challenge_method)
        .bind(now_ms())
        .bind(code.expires_at)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Redeems a code exactly once: marks it used and returns it, or `NotFound` if it does
    /// not exist, was used already, or expired. A replayed code also revokes the tokens it
    /// produced (RFC 6749 section 4.1.2), which the caller does with `revoke_tokens_of_code`.
    pub async fn consume_authorization_code(
        &self,
        code_hash: &str,
    ) -> Result<Result<AuthorizationCode, CodeProblem>, StoreError> {
        let mut tx = self.writer().begin().await?;
        let row = sqlx::query(
            "SELECT app_id, account_id, redirect_uri, scopes, code_challenge, code_challenge_method, \
             expires_at, used_at FROM oauth_authorization_codes WHERE code_hash = $1",
        )
        .bind(code_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(Err(CodeProblem::Unknown));
        };
        let used_at: Option<i64> = row.try_get("used_at")?;
        let code = AuthorizationCode {
            app_id: id(&row, "app_id")?,
            account_id: id(&row, "account_id")?,
            redirect_uri: row.try_get("redirect_uri")?,
            scopes: row.try_get("scopes")?,
            code_challenge: row.try_get("code_challenge")?,
            code_challenge_method: row.try_get("code_challenge_method")?,
            expires_at: row.try_get("expires_at")?,
        };
        if used_at.is_some() {
            return Ok(Err(CodeProblem::Replayed(code)));
        }
        if code.expires_at < now_ms() {
            return Ok(Err(CodeProblem::Expired));
        }
        sqlx::query("UPDATE oauth_authorization_codes SET used_at = $1 WHERE code_hash = $2")
            .bind(now_ms())
            .bind(code_hash)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Ok(code))
    }

    /// Issues an access token (by hash).
    pub async fn create_access_token(
        &self,
        app: Id,
        account: Option<Id>,
        token_hash: &str,
        refresh_token_hash: Option<&str>,
        scopes: &str,
        expires_at: Option<i64>,
    ) -> Result<AccessToken, StoreError> {
        let id = self.next_id();
        sqlx::query(
            "INSERT INTO oauth_tokens (id, app_id, account_id, token_hash, refresh_token_hash, scopes, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id.as_i64())
        .bind(app.as_i64())
        .bind(account.map(Id::as_i64))
        .bind(token_hash)
        .bind(refresh_token_hash)
        .bind(scopes)
        .bind(now_ms())
        .bind(expires_at)
        .execute(self.writer())
        .await?;
        self.access_token_by_hash(token_hash).await
    }

    /// A token by hash, whatever its state (the caller checks revocation and expiry).
    pub async fn access_token_by_hash(&self, token_hash: &str) -> Result<AccessToken, StoreError> {
        let row = sqlx::query(
            "SELECT id, app_id, account_id, scopes, created_at, expires_at, revoked_at FROM oauth_tokens \
             WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::NotFound("token"))?;
        token_from_row(&row)
    }

    /// A live token by its refresh token's hash.
    pub async fn access_token_by_refresh_hash(
        &self,
        refresh_hash: &str,
    ) -> Result<AccessToken, StoreError> {
        let row = sqlx::query(
            "SELECT id, app_id, account_id, scopes, created_at, expires_at, revoked_at FROM oauth_tokens \
             WHERE refresh_token_hash = $1 AND revoked_at IS NULL",
        )
        .bind(refresh_hash)
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::NotFound("token"))?;
        token_from_row(&row)
    }

    /// Revokes a token by id.
    pub async fn revoke_access_token(&self, token: Id) -> Result<(), StoreError> {
        sqlx::query("UPDATE oauth_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now_ms())
            .bind(token.as_i64())
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Revokes every live token an account holds in an app (a replayed code's tokens).
    pub async fn revoke_tokens_of(&self, app: Id, account: Id) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE oauth_tokens SET revoked_at = $1 WHERE app_id = $2 AND account_id = $3 AND revoked_at IS NULL",
        )
        .bind(now_ms())
        .bind(app.as_i64())
        .bind(account.as_i64())
        .execute(self.writer())
        .await?;
        Ok(())
    }
}

/// Why a code cannot be redeemed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodeProblem {
    /// No such code.
    Unknown,
    /// Past its expiry.
    Expired,
    /// Redeemed before: the code leaked or is replayed.
    Replayed(AuthorizationCode),
}

fn app_from_row(row: &AnyRow) -> Result<OAuthApp, StoreError> {
    let uris: String = row.try_get("redirect_uris")?;
    Ok(OAuthApp {
        id: id(row, "id")?,
        name: row.try_get("name")?,
        website: row.try_get("website")?,
        redirect_uris: uris.lines().map(str::to_owned).collect(),
        scopes: row.try_get("scopes")?,
        client_id: row.try_get("client_id")?,
        client_secret_hash: row.try_get("client_secret_hash")?,
        created_at: row.try_get("created_at")?,
    })
}

fn token_from_row(row: &AnyRow) -> Result<AccessToken, StoreError> {
    let account: Option<i64> = row.try_get("account_id")?;
    Ok(AccessToken {
        id: id(row, "id")?,
        app_id: id(row, "app_id")?,
        account_id: account.map(|a| id_from(a, "account_id")).transpose()?,
        scopes: row.try_get("scopes")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}
