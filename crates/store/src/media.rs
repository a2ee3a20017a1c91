//! Media attachments: uploads (and their processing state), avatars and headers, and the
//! attachments of remote posts (kept by URL).
//!
//! An upload belongs to its account until a status takes it; taking it happens in the
//! status's own transaction ([`Store::create_status_with_media`]) and only for the author's
//! own, finished, unattached uploads, so a post never shows someone else's file.

use std::collections::HashMap;

use cohort_model::Id;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::row::{id, id_from};
use crate::sql::{IN_LIST_CHUNK, placeholders};
use crate::statuses::NewStatus;
use crate::{Store, StoreError, now_ms};

/// The failure recorded for an upload whose processing was interrupted.
pub const INTERRUPTED_UPLOAD: &str =
    "Processing was interrupted (the server restarted); upload the file again";

/// Most attachments of one status.
pub const MAX_ATTACHMENTS: usize = 4;

/// What a media row is for; it decides who may fetch its files.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MediaPurpose {
    /// A status attachment: its owner until attached, then whoever may see the status.
    Attachment,
    /// An account's (or community's) avatar: anyone.
    Avatar,
    /// An account's header or a community's banner: anyone.
    Header,
}

impl MediaPurpose {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaPurpose::Attachment => "attachment",
            MediaPurpose::Avatar => "avatar",
            MediaPurpose::Header => "header",
        }
    }

    fn parse(raw: &str) -> Result<Self, StoreError> {
        match raw {
            "attachment" => Ok(MediaPurpose::Attachment),
            "avatar" => Ok(MediaPurpose::Avatar),
            "header" => Ok(MediaPurpose::Header),
            other => Err(StoreError::Corrupt {
                column: "purpose",
                detail: other.to_owned(),
            }),
        }
    }
}

/// Where processing of an upload stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MediaState {
    /// Being processed; no files yet.
    Processing,
    /// Files stored (or, for remote media, the URL known).
    Ready,
    /// Processing refused the file (the reason, for the uploader); no files stored.
    Failed(String),
}

/// The files of a processed upload, already in media storage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaFiles {
    /// Storage key of the full image.
    pub original_key: String,
    /// Storage key of the thumbnail.
    pub small_key: String,
    /// Content type of both.
    pub content_type: String,
    /// Bytes of the full image.
    pub file_size: i64,
    /// Full image size.
    pub width: i64,
    /// See `width`.
    pub height: i64,
    /// Thumbnail size.
    pub small_width: i64,
    /// See `small_width`.
    pub small_height: i64,
    /// Placeholder hash.
    pub blurhash: String,
}

/// A media row.
#[derive(Clone, Debug, PartialEq)]
pub struct MediaRecord {
    /// Id.
    pub id: Id,
    /// Uploader (or, for remote media, the remote post's author).
    pub account: Id,
    /// The status that took it.
    pub status: Option<Id>,
    /// What it is for.
    pub purpose: MediaPurpose,
    /// Mastodon's `type`: `image`, or `unknown` for remote files of other kinds.
    pub kind: String,
    /// Processing state.
    pub state: MediaState,
    /// Files, once processed (local uploads).
    pub files: Option<MediaFiles>,
    /// Alt text.
    pub description: String,
    /// Focal point, each in -1..=1.
    pub focus: (f64, f64),
    /// For remote media: where the file is.
    pub remote_url: Option<String>,
    /// Content type announced by the remote server (remote media).
    pub remote_content_type: Option<String>,
    /// Created, Unix ms.
    pub created_at: i64,
}

/// An upload about to be stored.
#[derive(Clone, Debug)]
pub struct NewUpload {
    /// Pre-allocated id (file keys are built from it).
    pub id: Id,
    /// Uploader.
    pub account: Id,
    /// What it is for.
    pub purpose: MediaPurpose,
    /// Alt text.
    pub description: String,
    /// Focal point.
    pub focus: (f64, f64),
    /// The files when processed at once; `None` stores it as processing.
    pub files: Option<MediaFiles>,
}

/// An attachment of a remote post, kept by URL.
#[derive(Clone, Debug, PartialEq)]
pub struct NewRemoteMedia {
    /// Where the file is.
    pub url: String,
    /// `image`, `video`, `audio`, `gifv` or `unknown`.
    pub kind: String,
    /// Announced content type.
    pub content_type: Option<String>,
    /// Alt text (`name`).
    pub description: String,
    /// Announced blurhash.
    pub blurhash: Option<String>,
    /// Announced size.
    pub width: Option<i64>,
    /// See `width`.
    pub height: Option<i64>,
}

/// The media a new status takes: the author's uploads by id, or a remote post's attachments.
#[derive(Clone, Debug, Default)]
pub struct PostMedia {
    /// Uploads of the author, in order.
    pub uploaded: Vec<Id>,
    /// Remote attachments, in order.
    pub remote: Vec<NewRemoteMedia>,
}

const MEDIA_COLUMNS: &str = "id, account_id, status_id, purpose, kind, state, failure, original_key, \
     small_key, content_type, file_size, width, height, small_width, small_height, blurhash, \
     description, focus_x, focus_y, remote_url, created_at";

/// Reads a REAL / DOUBLE PRECISION column (an integer on SQLite when written as a default).
fn real(row: &AnyRow, column: &'static str) -> Result<f64, StoreError> {
    match row.try_get::<f64, _>(column) {
        Ok(v) => Ok(v),
        Err(_) => Ok(row.try_get::<i64, _>(column)? as f64),
    }
}

fn media_from_row(row: &AnyRow) -> Result<MediaRecord, StoreError> {
    let status: Option<i64> = row.try_get("status_id")?;
    let state: String = row.try_get("state")?;
    let state = match state.as_str() {
        "processing" => MediaState::Processing,
        "ready" => MediaState::Ready,
        _ => MediaState::Failed(
            row.try_get::<Option<String>, _>("failure")?
                .unwrap_or_default(),
        ),
    };
    let original_key: Option<String> = row.try_get("original_key")?;
    let small_key: Option<String> = row.try_get("small_key")?;
    let remote_url: Option<String> = row.try_get("remote_url")?;
    let content_type: Option<String> = row.try_get("content_type")?;
    let files = match (original_key, small_key) {
        (Some(original_key), Some(small_key)) => Some(MediaFiles {
            original_key,
            small_key,
            content_type: content_type.clone().unwrap_or_default(),
            file_size: row.try_get::<Option<i64>, _>("file_size")?.unwrap_or(0),
            width: row.try_get::<Option<i64>, _>("width")?.unwrap_or(0),
            height: row.try_get::<Option<i64>, _>("height")?.unwrap_or(0),
            small_width: row.try_get::<Option<i64>, _>("small_width")?.unwrap_or(0),
            small_height: row.try_get::<Option<i64>, _>("small_height")?.unwrap_or(0),
            blurhash: row
                .try_get::<Option<String>, _>("blurhash")?
                .unwrap_or_default(),
        }),
        _ => None,
    };
    let remote_content_type = if remote_url.is_some() {
        content_type
    } else {
        None
    };
    // Remote media keep their announced size and blurhash in the same columns.
    let remote_meta = files.is_none() && remote_url.is_some();
    let mut record = MediaRecord {
        id: id(row, "id")?,
        account: id(row, "account_id")?,
        status: status.map(|s| id_from(s, "status_id")).transpose()?,
        purpose: MediaPurpose::parse(&row.try_get::<String, _>("purpose")?)?,
        kind: row.try_get("kind")?,
        state,
        files,
        description: row.try_get("description")?,
        focus: (real(row, "focus_x")?, real(row, "focus_y")?),
        remote_url,
        remote_content_type,
        created_at: row.try_get("created_at")?,
    };
    if remote_meta {
        let width: Option<i64> = row.try_get("width")?;
        let height: Option<i64> = row.try_get("height")?;
        let blurhash: Option<String> = row.try_get("blurhash")?;
        if width.is_some() || blurhash.is_some() {
            record.files = Some(MediaFiles {
                original_key: String::new(),
                small_key: String::new(),
                content_type: record.remote_content_type.clone().unwrap_or_default(),
                file_size: 0,
                width: width.unwrap_or(0),
                height: height.unwrap_or(0),
                small_width: width.unwrap_or(0),
                small_height: height.unwrap_or(0),
                blurhash: blurhash.unwrap_or_default(),
            });
        }
    }
    Ok(record)
}

impl Store {
    /// Stores an upload: ready when `files` are given, processing otherwise.
    pub async fn create_upload(&self, new: &NewUpload) -> Result<MediaRecord, StoreError> {
        let files = new.files.as_ref();
        sqlx::query(
            "INSERT INTO media_attachments (id, account_id, purpose, kind, state, original_key, small_key, \
             content_type, file_size, width, height, small_width, small_height, blurhash, description, \
             focus_x, focus_y, created_at) \
             VALUES ($1, $2, $3, 'image', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        )
        .bind(new.id.as_i64())
        .bind(new.account.as_i64())
        .bind(new.purpose.as_str())
        .bind(if files.is_some() { "ready" } else { "processing" })
        .bind(files.map(|f| f.original_key.clone()))
        .bind(files.map(|f| f.small_key.clone()))
        .bind(files.map(|f| f.content_type.clone()))
        .bind(files.map(|f| f.file_size))
        .bind(files.map(|f| f.width))
        .bind(files.map(|f| f.height))
        .bind(files.map(|f| f.small_width))
        .bind(files.map(|f| f.small_height))
        .bind(files.map(|f| f.blurhash.clone()))
        .bind(&new.description)
        .bind(new.focus.0)
        .bind(new.focus.1)
        .bind(now_ms())
        .execute(self.writer())
        .await?;
        self.media(new.id).await
    }

    /// Records the files of an upload that was processing. `false` when it no longer was
    /// (given up as interrupted meanwhile): the caller removes the files it wrote.
    pub async fn finish_upload(&self, media: Id, files: &MediaFiles) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE media_attachments SET state = 'ready', original_key = $1, small_key = $2, \
             content_type = $3, file_size = $4, width = $5, height = $6, small_width = $7, \
             small_height = $8, blurhash = $9 WHERE id = $10 AND state = 'processing'",
        )
        .bind(&files.original_key)
        .bind(&files.small_key)
        .bind(&files.content_type)
        .bind(files.file_size)
        .bind(files.width)
        .bind(files.height)
        .bind(files.small_width)
        .bind(files.small_height)
        .bind(&files.blurhash)
        .bind(media.as_i64())
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives up uploads still processing that started before `started_before` (Unix ms):
    /// their process stopped (a crash or a restart) before it finished, and the bytes it was
    /// working on are gone. They become `failed`, so that the app polling them gets a clear
    /// error instead of waiting forever. Returns how many.
    pub async fn fail_interrupted_uploads(&self, started_before: i64) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE media_attachments SET state = 'failed', failure = $1 \
             WHERE state = 'processing' AND created_at < $2",
        )
        .bind(INTERRUPTED_UPLOAD)
        .bind(started_before)
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected())
    }

    /// Records that processing refused an upload.
    pub async fn fail_upload(&self, media: Id, reason: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE media_attachments SET state = 'failed', failure = $1 WHERE id = $2 AND state = 'processing'",
        )
        .bind(reason)
        .bind(media.as_i64())
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// One media row.
    pub async fn media(&self, media: Id) -> Result<MediaRecord, StoreError> {
        let sql = format!("SELECT {MEDIA_COLUMNS} FROM media_attachments WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(media.as_i64())
            .fetch_optional(self.reader())
            .await?
            .ok_or(StoreError::NotFound("media"))?;
        media_from_row(&row)
    }

    /// The attachments of each of `statuses`, in their order.
    pub async fn media_of_statuses(
        &self,
        statuses: &[Id],
    ) -> Result<HashMap<Id, Vec<MediaRecord>>, StoreError> {
        let mut out: HashMap<Id, Vec<MediaRecord>> = HashMap::new();
        for chunk in statuses.chunks(IN_LIST_CHUNK) {
            let sql = format!(
                "SELECT {MEDIA_COLUMNS} FROM media_attachments WHERE status_id IN ({}) \
                 ORDER BY status_id, position, id",
                placeholders(1, chunk.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(id.as_i64());
            }
            for row in query.fetch_all(self.reader()).await? {
                let record = media_from_row(&row)?;
                if let Some(status) = record.status {
                    out.entry(status).or_default().push(record);
                }
            }
        }
        Ok(out)
    }

    /// Removes a media row (its files are the caller's to delete).
    pub async fn delete_media(&self, media: Id) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM media_attachments WHERE id = $1")
            .bind(media.as_i64())
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Changes the alt text and focal point of the owner's media (`None` keeps a value).
    pub async fn update_media(
        &self,
        media: Id,
        owner: Id,
        description: Option<&str>,
        focus: Option<(f64, f64)>,
    ) -> Result<MediaRecord, StoreError> {
        let current = self.media(media).await?;
        if current.account != owner {
            return Err(StoreError::NotFound("media"));
        }
        let description = description.unwrap_or(&current.description);
        let focus = focus.unwrap_or(current.focus);
        sqlx::query(
            "UPDATE media_attachments SET description = $1, focus_x = $2, focus_y = $3 WHERE id = $4",
        )
        .bind(description)
        .bind(focus.0)
        .bind(focus.1)
        .bind(media.as_i64())
        .execute(self.writer())
        .await?;
        self.media(media).await
    }

    /// Makes a stored avatar or header upload the account's, in one transaction with
    /// forgetting the one it replaces. Returns the replaced rows' file keys, for the caller
    /// to delete from media storage.
    pub async fn set_account_image(
        &self,
        account: Id,
        purpose: MediaPurpose,
        media: Id,
        url_path: &str,
    ) -> Result<Vec<String>, StoreError> {
        let column_update = match purpose {
            MediaPurpose::Avatar => {
                "UPDATE accounts SET avatar_url = $1, updated_at = $2 WHERE id = $3"
            }
            MediaPurpose::Header => {
                "UPDATE accounts SET header_url = $1, updated_at = $2 WHERE id = $3"
            }
            MediaPurpose::Attachment => {
                return Err(StoreError::Refused(
                    "an attachment cannot be an avatar or header".into(),
                ));
            }
        };
        let mut tx = self.writer().begin().await?;
        let old = sqlx::query(
            "SELECT original_key, small_key FROM media_attachments \
             WHERE account_id = $1 AND purpose = $2 AND id <> $3",
        )
        .bind(account.as_i64())
        .bind(purpose.as_str())
        .bind(media.as_i64())
        .fetch_all(&mut *tx)
        .await?;
        let mut keys = Vec::new();
        for row in &old {
            for column in ["original_key", "small_key"] {
                if let Some(key) = row.try_get::<Option<String>, _>(column)? {
                    keys.push(key);
                }
            }
        }
        sqlx::query(
            "DELETE FROM media_attachments WHERE account_id = $1 AND purpose = $2 AND id <> $3",
        )
        .bind(account.as_i64())
        .bind(purpose.as_str())
        .bind(media.as_i64())
        .execute(&mut *tx)
        .await?;
        sqlx::query(sqlx::AssertSqlSafe(column_update))
            .bind(url_path)
            .bind(now_ms())
            .bind(account.as_i64())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(keys)
    }

    /// The avatar and header URLs of accounts (`None` when they have none): a path starting
    /// with `/` for files served here, an absolute URL for remote ones.
    pub async fn account_images(
        &self,
        accounts: &[Id],
    ) -> Result<HashMap<Id, (Option<String>, Option<String>)>, StoreError> {
        let mut out = HashMap::new();
        for chunk in accounts.chunks(IN_LIST_CHUNK) {
            let sql = format!(
                "SELECT id, avatar_url, header_url FROM accounts WHERE id IN ({}) \
                 AND (avatar_url IS NOT NULL OR header_url IS NOT NULL)",
                placeholders(1, chunk.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(id.as_i64());
            }
            for row in query.fetch_all(self.reader()).await? {
                out.insert(
                    id(&row, "id")?,
                    (row.try_get("avatar_url")?, row.try_get("header_url")?),
                );
            }
        }
        Ok(out)
    }

    /// Stores a post and takes its media in one transaction: the author's own finished,
    /// unattached uploads (refused otherwise, and then nothing is stored), or a remote
    /// post's attachments as remote media rows.
    pub async fn create_status_with_media(
        &self,
        new: &NewStatus,
        media: &PostMedia,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await?;
        self.insert_status_in(&mut tx, new).await?;
        self.attach_media_in(&mut tx, new, media).await?;
        tx.commit().await?;
        self.publish_created(new).await;
        Ok(())
    }

    /// Creates several posts with their media in **one** transaction, as
    /// [`Store::create_status_with_media`] does each (the inbox processor's group commit of
    /// the remote posts its lanes store together). Either all are created or none is (a
    /// `Conflict` for a post already stored fails the whole batch: the caller retries them
    /// one by one). Returns nothing: the caller knows the ids it allocated.
    pub async fn create_statuses_with_media(
        &self,
        posts: &[(NewStatus, PostMedia)],
    ) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await?;
        for (new, media) in posts {
            self.insert_status_in(&mut tx, new).await?;
            self.attach_media_in(&mut tx, new, media).await?;
        }
        tx.commit().await?;
        for (new, _) in posts {
            self.publish_created(new).await;
        }
        Ok(())
    }

    /// [`Store::create_status_with_media`] for a post in a community hosted here, with the
    /// Group's announcement and relay (see [`Store::create_community_post`]).
    pub async fn create_community_post_with_media(
        &self,
        post: &NewStatus,
        media: &PostMedia,
        announcement: Option<&NewStatus>,
        relay_by: Option<Id>,
    ) -> Result<crate::StatusRecord, StoreError> {
        let mut tx = self.writer().begin().await?;
        self.insert_status_in(&mut tx, post).await?;
        self.attach_media_in(&mut tx, post, media).await?;
        self.announce_and_relay_in(&mut tx, post.id, announcement, relay_by)
            .await?;
        tx.commit().await?;
        self.publish_created(post).await;
        if let Some(announcement) = announcement {
            self.publish_created(announcement).await;
        }
        self.status(post.id).await
    }

    /// Replaces the uploads of a local status being edited, inside the edit's transaction:
    /// uploads no longer listed are let go (they stay their owner's, unattached), new ones
    /// must be the author's own, finished and unattached.
    pub(crate) async fn replace_media_in(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        status: Id,
        author: Id,
        uploaded: &[Id],
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE media_attachments SET status_id = NULL WHERE status_id = $1")
            .bind(status.as_i64())
            .execute(&mut **tx)
            .await?;
        take_uploads_in(tx, status, author, uploaded).await
    }

    pub(crate) async fn attach_media_in(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        new: &NewStatus,
        media: &PostMedia,
    ) -> Result<(), StoreError> {
        take_uploads_in(tx, new.id, new.author, &media.uploaded).await?;
        for (position, remote) in media.remote.iter().take(MAX_ATTACHMENTS).enumerate() {
            sqlx::query(
                "INSERT INTO media_attachments (id, account_id, status_id, position, purpose, kind, state, \
                 content_type, width, height, blurhash, description, remote_url, created_at) \
                 VALUES ($1, $2, $3, $4, 'attachment', $5, 'ready', $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(self.next_id().as_i64())
            .bind(new.author.as_i64())
            .bind(new.id.as_i64())
            .bind(position as i64)
            .bind(&remote.kind)
            .bind(&remote.content_type)
            .bind(remote.width)
            .bind(remote.height)
            .bind(&remote.blurhash)
            .bind(&remote.description)
            .bind(&remote.url)
            .bind(now_ms())
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }
}

async fn take_uploads_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    status: Id,
    author: Id,
    uploaded: &[Id],
) -> Result<(), StoreError> {
    if uploaded.len() > MAX_ATTACHMENTS {
        return Err(StoreError::Refused(format!(
            "Validation failed: at most {MAX_ATTACHMENTS} media attachments"
        )));
    }
    for (position, media) in uploaded.iter().enumerate() {
        let taken = sqlx::query(
            "UPDATE media_attachments SET status_id = $1, position = $2 \
             WHERE id = $3 AND account_id = $4 AND status_id IS NULL \
             AND purpose = 'attachment' AND state = 'ready'",
        )
        .bind(status.as_i64())
        .bind(position as i64)
        .bind(media.as_i64())
        .bind(author.as_i64())
        .execute(&mut **tx)
        .await?;
        if taken.rows_affected() != 1 {
            return Err(StoreError::Refused(format!(
                "Validation failed: media {media} is not an unattached, processed upload of yours"
            )));
        }
    }
    Ok(())
}
