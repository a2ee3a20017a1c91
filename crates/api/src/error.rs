//! The API's one error type, mapped to HTTP in one place with Mastodon's error JSON:
//! `{"error": "...", "error_description": "..."}`. The message is safe for clients; an
//! internal cause is logged, never sent.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cohort_store::StoreError;
use serde_json::json;

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no valid token (or bad client credentials).
    #[error("{0}")]
    Unauthorized(&'static str),
    /// 403: authenticated but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such thing, or not visible to this viewer (the same answer, so that a
    /// hidden post cannot be told from a missing one).
    #[error("Record not found")]
    NotFound,
    /// 409: the same thing was already submitted.
    #[error("{0}")]
    Conflict(String),
    /// 422: well-formed but refused by a rule.
    #[error("{0}")]
    Unprocessable(String),
    /// 422 with a machine-readable extension beside `error` (`{"error": ..., key: detail}`),
    /// such as `cohort_urgent` for a post steered to the contact routes.
    #[error("{message}")]
    UnprocessableWith {
        /// The human message (`error`).
        message: String,
        /// The extension's key.
        key: &'static str,
        /// The extension.
        detail: serde_json::Value,
    },
    /// 413: the body is larger than the route accepts.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 429: too many of something in too short a time.
    #[error("{0}")]
    TooManyRequests(String),
    /// OAuth's own error shape: `{"error": code, "error_description": text}`.
    #[error("{code}: {description}")]
    OAuth {
        /// HTTP status.
        status: StatusCode,
        /// RFC 6749 error code (`invalid_grant`, `invalid_client`...).
        code: &'static str,
        /// Human description.
        description: String,
    },
    /// 500: logged with its cause; the client sees a generic message.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// An internal error from any displayable cause.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError::Internal(cause.to_string())
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unprocessable(_) | ApiError::UnprocessableWith { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::OAuth { status, .. } => *status,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound(_) => ApiError::NotFound,
            StoreError::Conflict(what) => ApiError::Unprocessable(format!("{what} already exists")),
            StoreError::Refused(why) => ApiError::Unprocessable(why),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = match &self {
            ApiError::OAuth {
                code, description, ..
            } => json!({ "error": code, "error_description": description }),
            ApiError::UnprocessableWith {
                message,
                key,
                detail,
            } => {
                let mut body = serde_json::Map::new();
                body.insert("error".into(), json!(message));
                body.insert((*key).into(), detail.clone());
                serde_json::Value::Object(body)
            }
            ApiError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                json!({ "error": "Internal server error" })
            }
            other => json!({ "error": other.to_string() }),
        };
        (status, Json(body)).into_response()
    }
}

/// Handler results.
pub type ApiResult<T> = Result<T, ApiError>;
