//! Accounts: local people and institutions, and cached remote actors.

use cohort_model::{AuthorKind, Domain, Id, Role, Username};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::ProfileDetails;
use crate::row::{flag, id, parsed};
use crate::{Store, StoreError, now_ms};

/// Everything needed to create a local account. The URLs come from the federation layer
/// (which alone knows their shape); the password hash from the API layer (which alone knows
/// argon2). The store only keeps them.
#[derive(Clone, Debug)]
pub struct NewLocalAccount {
    /// The `@name` part.
    pub username: Username,
    /// Sign-in address; unique on the instance.
    pub email: String,
    /// Duties on the instance.
    pub role: Role,
    /// Kind of author, for the privacy rules' defaults.
    pub author_kind: AuthorKind,
    /// An argon2id PHC string.
    pub password_hash: String,
    /// Whether the account may sign in (false while waiting for approval).
    pub approved: bool,
    /// Whether follows need the account's approval.
    pub locked: bool,
    /// The actor's ActivityPub id.
    pub actor_uri: String,
    /// The actor's inbox.
    pub inbox_uri: String,
    /// The instance's shared inbox.
    pub shared_inbox_uri: String,
    /// The actor's followers collection.
    pub followers_uri: String,
    /// The profile page.
    pub url: String,
    /// The id of the actor's public key (`publicKey.id`).
    pub key_id: String,
    /// PEM of the public key.
    pub public_key_pem: String,
    /// PEM of the private key; never leaves this instance.
    pub private_key_pem: String,
}

/// An account as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountRecord {
    /// Time-ordered id.
    pub id: Id,
    /// The `@name` part, case as registered.
    pub username: String,
    /// `None` for local accounts.
    pub domain: Option<Domain>,
    /// Shown name.
    pub display_name: String,
    /// Duties on the instance.
    pub role: Role,
    /// Kind of author.
    pub author_kind: AuthorKind,
    /// Sign-in address (local accounts).
    pub email: Option<String>,
    /// Follows need approval.
    pub locked: bool,
    /// Automated account.
    pub bot: bool,
    /// A community's Group actor.
    pub is_group: bool,
    /// May sign in.
    pub approved: bool,
    /// ActivityPub id.
    pub actor_uri: String,
    /// When created, Unix ms.
    pub created_at: i64,
    /// When suspended, Unix ms.
    pub suspended_at: Option<i64>,
    /// Avatar: a path (`/media/...`) for files served here, an absolute URL for remote
    /// ones, `None` for the default image.
    pub avatar_url: Option<String>,
    /// Header (a community's banner), like `avatar_url`.
    pub header_url: Option<String>,
}

impl AccountRecord {
    /// `name` for local accounts, `name@domain` for remote ones (Mastodon's `acct`).
    pub fn acct(&self) -> String {
        match &self.domain {
            None => self.username.clone(),
            Some(d) => format!("{}@{}", self.username, d),
        }
    }

    pub(crate) fn from_row(row: &AnyRow) -> Result<Self, StoreError> {
        let domain: Option<String> = row.try_get("domain")?;
        let domain = domain
            .map(|d| {
                Domain::parse(&d).map_err(|e| StoreError::Corrupt {
                    column: "domain",
                    detail: e.to_string(),
                })
            })
            .transpose()?;
        Ok(AccountRecord {
            id: id(row, "id")?,
            username: row.try_get("username")?,
            domain,
            display_name: row.try_get("display_name")?,
            role: parsed(row, "role")?,
            author_kind: parsed(row, "author_kind")?,
            email: row.try_get("email")?,
            locked: flag(row, "locked")?,
            bot: flag(row, "bot")?,
            is_group: flag(row, "is_group")?,
            approved: flag(row, "approved")?,
            actor_uri: row.try_get("actor_uri")?,
            created_at: row.try_get("created_at")?,
            suspended_at: row.try_get("suspended_at")?,
            // Read leniently: a query that does not select them renders the default images.
            avatar_url: row.try_get("avatar_url").ok().flatten(),
            header_url: row.try_get("header_url").ok().flatten(),
        })
    }
}

/// `SELECT <the columns AccountRecord reads> FROM accounts <rest>`, as one static string
/// (sqlx only takes literal SQL, which keeps injection out by construction).
macro_rules! select_accounts {
    ($rest:literal) => {
        concat!(
            "SELECT id, username, domain, display_name, role, author_kind, email, locked, bot, ",
            "is_group, approved, actor_uri, created_at, suspended_at, avatar_url, header_url FROM accounts ",
            $rest
        )
    };
}

/// [`select_accounts`] plus the password hash, for sign-in only.
macro_rules! select_accounts_with_hash {
    ($rest:literal) => {
        concat!(
            "SELECT id, username, domain, display_name, role, author_kind, email, locked, bot, ",
            "is_group, approved, actor_uri, created_at, suspended_at, avatar_url, header_url, password_hash FROM accounts ",
            $rest
        )
    };
}

impl Store {
    /// Creates a local account and its key pair in one transaction. Refuses a username or
    /// email already in use (case-insensitively) with [`StoreError::Conflict`], writing nothing.
    pub async fn create_local_account(
        &self,
        new: &NewLocalAccount,
    ) -> Result<AccountRecord, StoreError> {
        let id = self.next_id();
        let now = now_ms();
        let username_lower = new.username.as_str().to_ascii_lowercase();
        let email = new.email.trim().to_lowercase();
        let mut tx = self.writer().begin().await?;

        let taken: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM accounts WHERE domain IS NULL AND username_lower = $1",
        )
        .bind(&username_lower)
        .fetch_one(&mut *tx)
        .await?;
        if taken > 0 {
            return Err(StoreError::Conflict("username"));
        }
        let email_taken: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts WHERE email = $1")
            .bind(&email)
            .fetch_one(&mut *tx)
            .await?;
        if email_taken > 0 {
            return Err(StoreError::Conflict("email"));
        }

        let inserted = sqlx::query(
            "INSERT INTO accounts (id, username, username_lower, domain, role, author_kind, email, \
             password_hash, locked, approved, actor_uri, inbox_uri, shared_inbox_uri, \
             followers_uri, url, created_at, updated_at) \
             VALUES ($1, $2, $3, NULL, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)",
        )
        .bind(id.as_i64())
        .bind(new.username.as_str())
        .bind(&username_lower)
        .bind(new.role.as_str())
        .bind(new.author_kind.as_str())
        .bind(&email)
        .bind(&new.password_hash)
        .bind(new.locked)
        .bind(new.approved)
        .bind(&new.actor_uri)
        .bind(&new.inbox_uri)
        .bind(&new.shared_inbox_uri)
        .bind(&new.followers_uri)
        .bind(&new.url)
        .bind(now)
        .execute(&mut *tx)
        .await;
        if let Err(err) = inserted {
            return Err(if StoreError::is_unique_violation(&err) {
                StoreError::Conflict("account")
            } else {
                err.into()
            });
        }

        sqlx::query(
            "INSERT INTO actor_keys (account_id, key_id, public_key_pem, private_key_pem, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id.as_i64())
        .bind(&new.key_id)
        .bind(&new.public_key_pem)
        .bind(&new.private_key_pem)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;

        self.account_by_id(id).await
    }

    /// One account by id.
    pub async fn account_by_id(&self, account_id: Id) -> Result<AccountRecord, StoreError> {
        let row = sqlx::query(select_accounts!("WHERE id = $1"))
            .bind(account_id.as_i64())
            .fetch_optional(self.reader())
            .await?
            .ok_or(StoreError::NotFound("account"))?;
        AccountRecord::from_row(&row)
    }

    /// A local account by username, case-insensitively.
    pub async fn local_account_by_username(
        &self,
        username: &str,
    ) -> Result<AccountRecord, StoreError> {
        let row = sqlx::query(select_accounts!(
            "WHERE domain IS NULL AND username_lower = $1"
        ))
        .bind(username.to_ascii_lowercase())
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::NotFound("account"))?;
        AccountRecord::from_row(&row)
    }

    /// Local accounts, oldest first.
    pub async fn list_local_accounts(&self) -> Result<Vec<AccountRecord>, StoreError> {
        let rows = sqlx::query(select_accounts!("WHERE domain IS NULL ORDER BY id"))
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(AccountRecord::from_row).collect()
    }

    /// How many local accounts exist.
    pub async fn count_local_accounts(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM accounts WHERE domain IS NULL")
                .fetch_one(self.reader())
                .await?,
        )
    }
}

impl Store {
    /// The local account a sign-in form names (by email or username, case-insensitively),
    /// with its password hash.
    pub async fn account_for_login(
        &self,
        identifier: &str,
    ) -> Result<(AccountRecord, String), StoreError> {
        let identifier = identifier.trim().to_lowercase();
        let row = sqlx::query(select_accounts_with_hash!(
            "WHERE domain IS NULL AND (email = $1 OR username_lower = $1)"
        ))
        .bind(&identifier)
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::NotFound("account"))?;
        let hash: Option<String> = row.try_get("password_hash")?;
        Ok((AccountRecord::from_row(&row)?, hash.unwrap_or_default()))
    }

    /// Profile numbers Mastodon's Account entity shows.
    pub async fn account_counts(&self, account: Id) -> Result<AccountCounts, StoreError> {
        let row = sqlx::query(
            "SELECT \
             (SELECT COUNT(*) FROM follows WHERE target_account_id = $1 AND state = 'accepted') AS followers, \
             (SELECT COUNT(*) FROM follows WHERE account_id = $1 AND state = 'accepted') AS following, \
             (SELECT COUNT(*) FROM statuses WHERE account_id = $1 AND deleted_at IS NULL) AS statuses, \
             (SELECT MAX(created_at) FROM statuses WHERE account_id = $1 AND deleted_at IS NULL) AS last_status_at",
        )
        .bind(account.as_i64())
        .fetch_one(self.reader())
        .await?;
        Ok(AccountCounts {
            followers: row.try_get("followers")?,
            following: row.try_get("following")?,
            statuses: row.try_get("statuses")?,
            last_status_at: row.try_get("last_status_at")?,
        })
    }
}

/// Followers, following and statuses of an account.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub struct AccountCounts {
    /// Accepted followers.
    pub followers: i64,
    /// Accepted follows.
    pub following: i64,
    /// Statuses not deleted.
    pub statuses: i64,
    /// Newest status, Unix ms.
    pub last_status_at: Option<i64>,
}

/// Profile changes a local account makes (`update_credentials`); `None` leaves a field as
/// it is.
#[derive(Clone, Debug, Default)]
pub struct ProfileUpdate {
    /// Shown name.
    pub display_name: Option<String>,
    /// Bio (plain text; the API renders it).
    pub note: Option<String>,
    /// Follows need approval.
    pub locked: Option<bool>,
    /// Automated account.
    pub bot: Option<bool>,
    /// Default lifetime of new posts, seconds (`Some(None)` clears it).
    pub default_status_lifetime_secs: Option<Option<i64>>,
    /// Fields, discovery flags and posting defaults.
    pub details: crate::ProfileDetailsUpdate,
}

impl Store {
    /// Applies a profile update in one transaction: all of it or nothing.
    pub async fn update_profile(
        &self,
        account: Id,
        update: &ProfileUpdate,
    ) -> Result<(), StoreError> {
        let current = self.account_by_id(account).await?;
        let lifetime = match update.default_status_lifetime_secs {
            Some(v) => v,
            None => self.default_status_lifetime(account).await?,
        };
        let details = self.profile_details(account).await?;
        let mut tx = self.writer().begin().await?;
        sqlx::query(
            "UPDATE accounts SET display_name = $1, note = COALESCE($2, note), locked = $3, bot = $4, \
             default_status_lifetime_secs = $5, updated_at = $6 WHERE id = $7",
        )
        .bind(update.display_name.clone().unwrap_or(current.display_name))
        .bind(update.note.clone())
        .bind(update.locked.unwrap_or(current.locked))
        .bind(update.bot.unwrap_or(current.bot))
        .bind(lifetime)
        .bind(now_ms())
        .bind(account.as_i64())
        .execute(&mut *tx)
        .await?;
        crate::profiles::write_profile_details(&mut tx, account, &details, &update.details).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The account's default post lifetime, seconds.
    pub async fn default_status_lifetime(&self, account: Id) -> Result<Option<i64>, StoreError> {
        let v: Option<Option<i64>> =
            sqlx::query_scalar("SELECT default_status_lifetime_secs FROM accounts WHERE id = $1")
                .bind(account.as_i64())
                .fetch_optional(self.reader())
                .await?;
        Ok(v.flatten())
    }

    /// The community's default post lifetime, seconds.
    pub async fn community_status_lifetime(
        &self,
        community: Id,
    ) -> Result<Option<i64>, StoreError> {
        let v: Option<Option<i64>> = sqlx::query_scalar(
            "SELECT default_status_lifetime_secs FROM communities WHERE id = $1",
        )
        .bind(community.as_i64())
        .fetch_optional(self.reader())
        .await?;
        Ok(v.flatten())
    }
}

impl Store {
    /// A known remote account by `username@domain` (case-insensitive), if any.
    pub async fn remote_account_by_acct(
        &self,
        username: &str,
        domain: &str,
    ) -> Result<Option<Id>, StoreError> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT id FROM accounts WHERE domain = $1 AND username_lower = $2")
                .bind(domain.to_ascii_lowercase())
                .bind(username.to_lowercase())
                .fetch_optional(self.reader())
                .await?;
        found
            .map(|f| crate::row::id_from(f, "accounts.id"))
            .transpose()
    }
}

impl Store {
    /// Approves a local account waiting for approval; `false` if it was approved already.
    pub async fn approve_account(&self, account: Id) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE accounts SET approved = TRUE, updated_at = $1 WHERE id = $2 AND domain IS NULL AND approved = FALSE",
        )
        .bind(now_ms())
        .bind(account.as_i64())
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() > 0)
    }
}

impl Store {
    /// Everything the Account entity shows (record, counts, bio) for many accounts in one
    /// query, whatever their number: a page of statuses renders up to 40 authors, and three
    /// queries each made the rendering, not the timeline query, most of a home request's
    /// time (see scripts/bench-home-timeline; on SQLite each query also costs two thread
    /// switches). The counts are index-only (`statuses_account_live`, `follows_target`).
    /// Unknown ids are left out.
    pub async fn accounts_for_rendering(
        &self,
        ids: &[Id],
    ) -> Result<Vec<(AccountRecord, AccountCounts, ProfileDetails)>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(crate::sql::IN_LIST_CHUNK) {
            let sql = format!(
                "SELECT a.id, a.username, a.domain, a.display_name, a.role, a.author_kind, a.email, \
                 a.locked, a.bot, a.is_group, a.approved, a.actor_uri, a.created_at, a.suspended_at, \
                 a.note, a.fields_json, a.discoverable, a.indexable, a.hide_collections, \
                 a.default_visibility, a.default_sensitive, a.default_language, \
                 a.avatar_url, a.header_url, \
                 (SELECT COUNT(*) FROM follows f WHERE f.target_account_id = a.id AND f.state = 'accepted') AS followers, \
                 (SELECT COUNT(*) FROM follows f WHERE f.account_id = a.id AND f.state = 'accepted') AS following, \
                 (SELECT COUNT(*) FROM statuses s WHERE s.account_id = a.id AND s.deleted_at IS NULL) AS statuses, \
                 (SELECT MAX(s.created_at) FROM statuses s WHERE s.account_id = a.id AND s.deleted_at IS NULL) AS last_status_at \
                 FROM accounts a WHERE a.id IN ({})",
                crate::sql::placeholders(1, chunk.len())
            );
            // Built from numbers only (placeholders).
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(id.as_i64());
            }
            for row in query.fetch_all(self.reader()).await? {
                let counts = AccountCounts {
                    followers: row.try_get("followers")?,
                    following: row.try_get("following")?,
                    statuses: row.try_get("statuses")?,
                    last_status_at: row.try_get("last_status_at")?,
                };
                let profile = ProfileDetails::from_row(&row)?;
                out.push((AccountRecord::from_row(&row)?, counts, profile));
            }
        }
        Ok(out)
    }
}
