//! What an account shows of itself and chooses for its posts: bio, profile fields, discovery
//! flags, whether its social graph is shown, and its posting defaults.
//!
//! Kept apart from [`crate::AccountRecord`], which every query about accounts loads: these
//! are read only where a profile is rendered or a post is composed.

use cohort_model::{Id, Visibility};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::row::{flag, parsed_opt};
use crate::{Store, StoreError, now_ms};

/// Most profile fields an account may have (Mastodon's default).
pub const MAX_PROFILE_FIELDS: usize = 4;

/// One name/value pair of a profile (Mastodon's `fields`, ActivityPub's `PropertyValue`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileField {
    /// The label, plain text.
    pub name: String,
    /// The value: plain text for local accounts, sanitized HTML for remote ones.
    pub value: String,
    /// When the link in the value was verified (rel=me), Unix ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_at: Option<i64>,
}

/// What a new post gets when the client does not say (Mastodon's `source` and
/// `/api/v1/preferences`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PostingDefaults {
    /// `None`: the server's choice (public, or private for a locked account).
    pub visibility: Option<Visibility>,
    /// Mark media sensitive by default.
    pub sensitive: bool,
    /// ISO 639 code.
    pub language: Option<String>,
}

/// The parts of a profile that only its page and the account's own settings need.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ProfileDetails {
    /// Bio: plain text for local accounts, sanitized HTML for remote ones.
    pub note: String,
    /// Profile fields, in order.
    pub fields: Vec<ProfileField>,
    /// Listed in the directory and suggestions.
    pub discoverable: bool,
    /// Its public posts may be found by full-text search (FEP-5feb).
    pub indexable: bool,
    /// Followers and follows are not shown to others.
    pub hide_collections: bool,
    /// Defaults for new posts.
    pub posting: PostingDefaults,
}

/// A change to the parts of [`ProfileDetails`] an account edits itself; `None` leaves a part
/// as it is.
#[derive(Clone, Debug, Default)]
pub struct ProfileDetailsUpdate {
    /// New profile fields (replacing all), at most [`MAX_PROFILE_FIELDS`].
    pub fields: Option<Vec<ProfileField>>,
    /// Listed in the directory.
    pub discoverable: Option<bool>,
    /// Searchable.
    pub indexable: Option<bool>,
    /// Hide followers and follows.
    pub hide_collections: Option<bool>,
    /// Default visibility of new posts.
    pub default_visibility: Option<Visibility>,
    /// Default sensitivity of new posts.
    pub default_sensitive: Option<bool>,
    /// Default language (`Some(None)` clears it).
    pub default_language: Option<Option<String>>,
}

/// What a remote actor document says of its profile, for [`Store::update_remote_profile`].
#[derive(Clone, Debug, Default)]
pub struct RemoteProfile {
    /// `summary`, already sanitized.
    pub note_html: String,
    /// `attachment` PropertyValues, values already sanitized.
    pub fields: Vec<ProfileField>,
    /// `manuallyApprovesFollowers`.
    pub locked: bool,
    /// `Service` or `Application` actor.
    pub bot: bool,
    /// `discoverable`.
    pub discoverable: bool,
    /// `indexable`.
    pub indexable: bool,
    /// The profile page (`url`).
    pub url: Option<String>,
}

pub(crate) fn fields_from_json(raw: &str) -> Result<Vec<ProfileField>, StoreError> {
    serde_json::from_str(raw).map_err(|e| StoreError::Corrupt {
        column: "accounts.fields_json",
        detail: e.to_string(),
    })
}

fn fields_to_json(fields: &[ProfileField]) -> Result<String, StoreError> {
    serde_json::to_string(fields).map_err(|e| StoreError::Corrupt {
        column: "accounts.fields_json",
        detail: e.to_string(),
    })
}

impl ProfileDetails {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self, StoreError> {
        let fields_json: String = row.try_get("fields_json")?;
        Ok(ProfileDetails {
            note: row.try_get("note")?,
            fields: fields_from_json(&fields_json)?,
            discoverable: flag(row, "discoverable")?,
            indexable: flag(row, "indexable")?,
            hide_collections: flag(row, "hide_collections")?,
            posting: PostingDefaults {
                visibility: parsed_opt(row, "default_visibility")?,
                sensitive: flag(row, "default_sensitive")?,
                language: row.try_get("default_language")?,
            },
        })
    }
}

impl Store {
    /// The account's profile details.
    pub async fn profile_details(&self, account: Id) -> Result<ProfileDetails, StoreError> {
        let row = sqlx::query(
            "SELECT note, fields_json, discoverable, indexable, hide_collections, \
             default_visibility, default_sensitive, default_language FROM accounts WHERE id = $1",
        )
        .bind(account.as_i64())
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::NotFound("account"))?;
        ProfileDetails::from_row(&row)
    }

    /// Records what a remote actor's document says of its profile (bio, fields, flags), each
    /// time the actor is fetched or updates itself. Local accounts are never touched.
    pub async fn update_remote_profile(
        &self,
        account: Id,
        profile: &RemoteProfile,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE accounts SET note = $1, fields_json = $2, locked = $3, bot = $4, \
             discoverable = $5, indexable = $6, url = COALESCE($7, url), updated_at = $8 \
             WHERE id = $9 AND domain IS NOT NULL",
        )
        .bind(&profile.note_html)
        .bind(fields_to_json(&profile.fields)?)
        .bind(profile.locked)
        .bind(profile.bot)
        .bind(profile.discoverable)
        .bind(profile.indexable)
        .bind(profile.url.as_deref())
        .bind(now_ms())
        .bind(account.as_i64())
        .execute(self.writer())
        .await?;
        Ok(())
    }
}

/// Writes an account's own change to its profile details over `current`, on `conn` (inside
/// the transaction of [`Store::update_profile`]).
pub(crate) async fn write_profile_details(
    conn: &mut sqlx::AnyConnection,
    account: Id,
    current: &ProfileDetails,
    update: &ProfileDetailsUpdate,
) -> Result<(), StoreError> {
    let fields = update.fields.as_ref().unwrap_or(&current.fields);
    let visibility = update
        .default_visibility
        .or(current.posting.visibility)
        .map(Visibility::as_str);
    let language = match &update.default_language {
        Some(l) => l.clone(),
        None => current.posting.language.clone(),
    };
    sqlx::query(
        "UPDATE accounts SET fields_json = $1, discoverable = $2, indexable = $3, \
         hide_collections = $4, default_visibility = $5, default_sensitive = $6, \
         default_language = $7 WHERE id = $8",
    )
    .bind(fields_to_json(fields)?)
    .bind(update.discoverable.unwrap_or(current.discoverable))
    .bind(update.indexable.unwrap_or(current.indexable))
    .bind(update.hide_collections.unwrap_or(current.hide_collections))
    .bind(visibility)
    .bind(
        update
            .default_sensitive
            .unwrap_or(current.posting.sensitive),
    )
    .bind(language)
    .bind(account.as_i64())
    .execute(conn)
    .await?;
    Ok(())
}
