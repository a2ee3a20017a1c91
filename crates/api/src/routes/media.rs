//! Media: uploads (`POST /api/v1/media`, `/api/v2/media`), their alt text and focal point,
//! serving the files through the read gate, and the default avatar and header.
//!
//! An upload is checked (size, format, dimensions) before anything is stored, so a refused
//! file leaves no row and no file behind. Re-encoding (see `cohort_media::process`) strips
//! every metadata block. A file is served to whoever may see what it belongs to: the status
//! it is attached to (through the read gate), its owner while unattached, anyone for avatars
//! and headers.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use cohort_media::{MediaError, ProcessedImage, Shape};
use cohort_model::{Id, Visibility};
use cohort_policy::Viewer;
use cohort_store::{MediaFiles, MediaPurpose, MediaRecord, MediaState, NewUpload};
use serde_json::Value;

use crate::auth::{Authenticated, MaybeAuthenticated};
use crate::entities::render_media;
use crate::error::{ApiError, ApiResult};
use crate::params::{Params, ParamsWithFiles, UploadedFile};
use crate::routes::shared::{parse_id, visible_record};
use crate::state::ApiState;

/// How an upload is processed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Processing {
    /// Before answering.
    Now,
    /// In the background when the file is large (`POST /api/v2/media`).
    BackgroundIfLarge,
}

/// A refused upload as clients see it: 422 with the reason; a failure to encode is ours.
fn media_error(err: MediaError) -> ApiError {
    match err {
        MediaError::Encode(cause) => ApiError::Internal(cause),
        refused => ApiError::Unprocessable(format!("Validation failed: File {refused}")),
    }
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> ApiResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(ApiError::internal)
}

/// The focal point `x,y` (each -1..=1).
fn parse_focus(raw: &str) -> ApiResult<(f64, f64)> {
    let invalid = || {
        ApiError::Unprocessable(
            "Validation failed: focus must be x,y with each between -1 and 1".into(),
        )
    };
    let (x, y) = raw.split_once(',').ok_or_else(invalid)?;
    let x: f64 = x.trim().parse().map_err(|_| invalid())?;
    let y: f64 = y.trim().parse().map_err(|_| invalid())?;
    if !(-1.0..=1.0).contains(&x) || !(-1.0..=1.0).contains(&y) {
        return Err(invalid());
    }
    Ok((x, y))
}

fn description_of(params: &Params) -> ApiResult<String> {
    let description = params.string("description").unwrap_or_default();
    if description.chars().count() > 1500 {
        return Err(ApiError::Unprocessable(
            "Validation failed: Description is too long (maximum is 1500 characters)".into(),
        ));
    }
    Ok(description)
}

/// Writes the processed files; on a failure, removes what was written.
async fn put_files(
    state: &ApiState,
    id: Id,
    purpose: MediaPurpose,
    processed: ProcessedImage,
) -> ApiResult<MediaFiles> {
    let folder = match purpose {
        MediaPurpose::Attachment => "attachments",
        MediaPurpose::Avatar => "avatars",
        MediaPurpose::Header => "headers",
    };
    let original_key = format!("{folder}/{id}/original.{}", processed.original.extension);
    let small_key = format!("{folder}/{id}/small.{}", processed.small.extension);
    let files = MediaFiles {
        original_key: original_key.clone(),
        small_key: small_key.clone(),
        content_type: processed.original.content_type.to_owned(),
        file_size: i64::try_from(processed.original.bytes.len()).unwrap_or(i64::MAX),
        width: i64::from(processed.original.width),
        height: i64::from(processed.original.height),
        small_width: i64::from(processed.small.width),
        small_height: i64::from(processed.small.height),
        blurhash: processed.blurhash.clone(),
    };
    let storage = state.media.storage.clone();
    blocking(move || {
        let written = storage
            .put(&original_key, &processed.original.bytes)
            .and_then(|()| storage.put(&small_key, &processed.small.bytes));
        if written.is_err() {
            let _ = storage.delete(&original_key);
            let _ = storage.delete(&small_key);
        }
        written
    })
    .await?
    .map_err(ApiError::internal)?;
    Ok(files)
}

/// Removes stored files, logging (not failing on) what could not be removed.
pub(crate) async fn delete_files(state: &ApiState, keys: Vec<String>) {
    let storage = state.media.storage.clone();
    let removed = tokio::task::spawn_blocking(move || {
        for key in keys {
            if let Err(e) = storage.delete(&key) {
                tracing::warn!(error = %e, %key, "could not delete a media file");
            }
        }
    })
    .await;
    if let Err(e) = removed {
        tracing::warn!(error = %e, "media deletion task failed");
    }
}

/// Checks, processes and stores an upload. Returns the row; it is still processing when
/// `processing` allowed the background and the file is large.
pub(crate) async fn store_upload(
    state: &ApiState,
    account: Id,
    file: &UploadedFile,
    purpose: MediaPurpose,
    description: String,
    focus: (f64, f64),
    processing: Processing,
) -> ApiResult<MediaRecord> {
    let limits = state.media.limits;
    let shape = match purpose {
        MediaPurpose::Attachment => Shape::Attachment,
        MediaPurpose::Avatar => Shape::AVATAR,
        MediaPurpose::Header => Shape::HEADER,
    };
    let bytes: Bytes = file.bytes.clone();
    // What the header tells is checked before anything is stored, whatever happens next.
    {
        let bytes = bytes.clone();
        blocking(move || cohort_media::inspect(&bytes, &limits))
            .await?
            .map_err(media_error)?;
    }
    let id = state.store.next_id();
    let background =
        processing == Processing::BackgroundIfLarge && bytes.len() > state.media.async_above_bytes;
    if background {
        let record = state
            .store
            .create_upload(&NewUpload {
                id,
                account,
                purpose,
                description,
                focus,
                files: None,
            })
            .await?;
        let state = state.clone();
        tokio::spawn(async move {
            let outcome = match blocking(move || cohort_media::process(&bytes, &limits, shape))
                .await
            {
                Ok(Ok(processed)) => match put_files(&state, id, purpose, processed).await {
                    Ok(files) => match state.store.finish_upload(id, &files).await {
                        Ok(true) => Ok(()),
                        // Given up as interrupted meanwhile: the row says failed, so
                        // the files must not stay.
                        Ok(false) => {
                            delete_files(&state, vec![files.original_key, files.small_key]).await;
                            Ok(())
                        }
                        Err(e) => Err(e),
                    },
                    Err(e) => state.store.fail_upload(id, &e.to_string()).await,
                },
                Ok(Err(refused)) => state.store.fail_upload(id, &refused.to_string()).await,
                Err(e) => state.store.fail_upload(id, &e.to_string()).await,
            };
            if let Err(e) = outcome {
                tracing::error!(error = %e, media = %id, "could not record media processing");
            }
        });
        return Ok(record);
    }
    let processed = blocking(move || cohort_media::process(&bytes, &limits, shape))
        .await?
        .map_err(media_error)?;
    let files = put_files(state, id, purpose, processed).await?;
    let keys = vec![files.original_key.clone(), files.small_key.clone()];
    match state
        .store
        .create_upload(&NewUpload {
            id,
            account,
            purpose,
            description,
            focus,
            files: Some(files),
        })
        .await
    {
        Ok(record) => Ok(record),
        Err(e) => {
            delete_files(state, keys).await;
            Err(e.into())
        }
    }
}

async fn upload(
    state: &ApiState,
    auth: &Authenticated,
    form: ParamsWithFiles,
    processing: Processing,
) -> ApiResult<MediaRecord> {
    auth.require("write:media")?;
    let file = form
        .files
        .get("file")
        .ok_or_else(|| ApiError::Unprocessable("Validation failed: File can't be blank".into()))?;
    let description = description_of(&form.params)?;
    let focus = match form.params.string("focus").filter(|f| !f.is_empty()) {
        Some(raw) => parse_focus(&raw)?,
        None => (0.0, 0.0),
    };
    store_upload(
        state,
        auth.account.id,
        file,
        MediaPurpose::Attachment,
        description,
        focus,
        processing,
    )
    .await
}

/// `POST /api/v1/media`: processed before answering.
pub async fn upload_v1(
    State(state): State<ApiState>,
    auth: Authenticated,
    form: ParamsWithFiles,
) -> ApiResult<Json<Value>> {
    let record = upload(&state, &auth, form, Processing::Now).await?;
    Ok(Json(render_media(&state.settings.base_url, &record)))
}

/// `POST /api/v2/media`: `200` when processed at once, `202` with `url: null` while a
/// large file is processed in the background.
pub async fn upload_v2(
    State(state): State<ApiState>,
    auth: Authenticated,
    form: ParamsWithFiles,
) -> ApiResult<Response> {
    let record = upload(&state, &auth, form, Processing::BackgroundIfLarge).await?;
    let status = if record.state == MediaState::Processing {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(render_media(&state.settings.base_url, &record)),
    )
        .into_response())
}

/// The owner's media, or 404.
async fn own_media(state: &ApiState, auth: &Authenticated, raw: &str) -> ApiResult<MediaRecord> {
    let media = state.store.media(parse_id(raw)?).await?;
    if media.account != auth.account.id || media.remote_url.is_some() {
        return Err(ApiError::NotFound);
    }
    Ok(media)
}

/// `GET /api/v1/media/:id`: `200` when processed, `206` while processing (Mastodon's
/// answer), `422` when processing refused the file.
pub async fn show(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    // Mastodon asks for `write:media` here: only the uploader polls an upload.
    auth.require("write:media")?;
    let media = own_media(&state, &auth, &id).await?;
    match &media.state {
        MediaState::Failed(reason) => Err(ApiError::Unprocessable(format!(
            "Validation failed: File {reason}"
        ))),
        MediaState::Processing => Ok((
            StatusCode::PARTIAL_CONTENT,
            Json(render_media(&state.settings.base_url, &media)),
        )
            .into_response()),
        MediaState::Ready => {
            Ok(Json(render_media(&state.settings.base_url, &media)).into_response())
        }
    }
}

/// `PUT /api/v1/media/:id`: alt text (`description`) and focal point (`focus=x,y`).
pub async fn update(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    auth.require("write:media")?;
    let media = own_media(&state, &auth, &id).await?;
    let description = if params.has("description") {
        Some(description_of(&params)?)
    } else {
        None
    };
    let focus = match params.string("focus").filter(|f| !f.is_empty()) {
        Some(raw) => Some(parse_focus(&raw)?),
        None => None,
    };
    let updated = state
        .store
        .update_media(media.id, auth.account.id, description.as_deref(), focus)
        .await?;
    Ok(Json(render_media(&state.settings.base_url, &updated)))
}

/// `GET /media/:id/:file`: a stored file, to whoever may see what it belongs to; 404 to
/// everyone else (the same answer as for a missing file). The viewer is the signed-in
/// account, or, for another server fetching the media of a post it received, the instance
/// that signed the request (as for the post itself under authorized fetch). `:file` is
/// `remote` for the media of a remote post, fetched from its origin for the viewer.
pub async fn serve(
    State(state): State<ApiState>,
    auth: MaybeAuthenticated,
    headers: HeaderMap,
    uri: Uri,
    Path((id, file)): Path<(String, String)>,
) -> ApiResult<Response> {
    let viewer = match (&auth.0, state.federation.as_ref()) {
        (None, Some(federation)) if headers.contains_key("signature") => {
            let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
            let signed = federation
                .verify_signature(&Method::GET, path, &headers, None)
                .await
                .map_err(|_| ApiError::Unauthorized("Request not signed correctly"))?;
            federation.viewer_for(&signed).await?
        }
        _ => auth.viewer(),
    };
    let media = state.store.media(parse_id(&id)?).await?;
    if file == REMOTE_FILE {
        return serve_remote(&state, &viewer, &media).await;
    }
    let files = media
        .files
        .as_ref()
        .filter(|_| media.remote_url.is_none())
        .ok_or(ApiError::NotFound)?;
    let key = [&files.original_key, &files.small_key]
        .into_iter()
        .find(|key| key.rsplit('/').next() == Some(file.as_str()))
        .cloned()
        .ok_or(ApiError::NotFound)?;
    let public = match (media.purpose, media.status) {
        (MediaPurpose::Avatar | MediaPurpose::Header, _) => true,
        (MediaPurpose::Attachment, Some(status)) => {
            let record = visible_record(&state, &viewer, status).await?;
            is_public(&record)
        }
        (MediaPurpose::Attachment, None) => {
            let owner = auth.0.as_ref().map(|a| a.account.id);
            if owner != Some(media.account) {
                return Err(ApiError::NotFound);
            }
            false
        }
    };
    let storage = state.media.storage.clone();
    let bytes = blocking(move || storage.get(&key))
        .await?
        .map_err(ApiError::internal)?
        .ok_or(ApiError::NotFound)?;
    Ok(file_response(
        files.content_type.clone(),
        cache_control(public),
        bytes,
    ))
}

/// The file name under which a remote post's media is served here.
pub(crate) const REMOTE_FILE: &str = "remote";

/// The media of a remote post, fetched from its origin for a viewer the read gate lets see
/// the post here, signed as that viewer (so an origin that serves non-public media only to
/// those who may see the post answers: a follower for a followers-only post). Apps never contact the origin
/// themselves: the origin does not learn who looks, and media of followers-only posts
/// display. Nothing is kept (a cache is a later step).
async fn serve_remote(
    state: &ApiState,
    viewer: &Viewer,
    media: &MediaRecord,
) -> ApiResult<Response> {
    let (Some(remote), Some(status)) = (&media.remote_url, media.status) else {
        return Err(ApiError::NotFound);
    };
    if media.kind == "unknown" {
        // Not something apps show, or from a domain whose media are rejected: never fetched.
        return Err(ApiError::NotFound);
    }
    let record = visible_record(state, viewer, status).await?;
    let federation = state.federation.as_ref().ok_or(ApiError::NotFound)?;
    let fetched = federation
        .fetch_media_for(viewer, remote, state.media.limits.max_bytes)
        .await
        .map_err(|e| {
            tracing::debug!(media = %media.id, error = %e, "remote media could not be fetched");
            ApiError::NotFound
        })?;
    Ok(file_response(
        fetched.content_type,
        cache_control(is_public(&record)),
        fetched.bytes,
    ))
}

/// Whether a post's files may sit in shared caches: public or unlisted, federated, outside
/// communities.
fn is_public(record: &cohort_store::StatusRecord) -> bool {
    matches!(
        record.facts.audience.visibility,
        Visibility::Public | Visibility::Unlisted
    ) && !record.facts.audience.local_only
        && record.facts.audience.community.is_none()
}

/// Files never change under a URL; only public ones may sit in shared caches.
fn cache_control(public: bool) -> &'static str {
    if public {
        "public, max-age=31536000, immutable"
    } else {
        "private, max-age=3600"
    }
}

fn file_response(content_type: String, cache: &'static str, bytes: Vec<u8>) -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CACHE_CONTROL, cache)
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .body(Body::from(bytes))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// `GET /avatars/original/missing.png`: the avatar of accounts that have none.
pub async fn default_avatar() -> Response {
    file_response(
        "image/png".to_owned(),
        "public, max-age=86400",
        cohort_media::default_avatar_png().to_vec(),
    )
}

/// `GET /headers/original/missing.png`: the header of accounts that have none.
pub async fn default_header() -> Response {
    file_response(
        "image/png".to_owned(),
        "public, max-age=86400",
        cohort_media::default_header_png().to_vec(),
    )
}

/// Stores `avatar` and `header` files of a form as `account`'s images (an account's own, or
/// a community's Group), replacing the old ones. Every file is checked first: a refused
/// file changes nothing.
pub(crate) async fn set_account_images(
    state: &ApiState,
    account: Id,
    files: &std::collections::HashMap<String, UploadedFile>,
    names: [(&str, MediaPurpose); 2],
) -> ApiResult<()> {
    let mut stored: Vec<(MediaPurpose, MediaRecord)> = Vec::new();
    for (name, purpose) in names {
        let Some(file) = files.get(name) else {
            continue;
        };
        match store_upload(
            state,
            account,
            file,
            purpose,
            String::new(),
            (0.0, 0.0),
            Processing::Now,
        )
        .await
        {
            Ok(record) => stored.push((purpose, record)),
            Err(e) => {
                // Undo the images of this request already stored.
                for (_, record) in stored {
                    if let Some(files) = record.files {
                        delete_files(state, vec![files.original_key, files.small_key]).await;
                    }
                    state.store.delete_media(record.id).await?;
                }
                return Err(e);
            }
        }
    }
    for (purpose, record) in stored {
        let Some(files) = &record.files else { continue };
        let path = crate::entities::media_path(record.id, &files.original_key);
        let replaced = state
            .store
            .set_account_image(account, purpose, record.id, &path)
            .await?;
        delete_files(state, replaced).await;
    }
    Ok(())
}
