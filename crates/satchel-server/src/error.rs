//! The one place where errors become HTTP answers: every failure is a [`ProblemCode`] with its
//! status from the wire crate's table, rendered as an RFC 9457 problem document.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use satchel_blob::BlobError;
use satchel_meta::StoreError;
use satchel_proto::{Problem, ProblemCode};

/// An API failure: a stable code, an optional human detail, and for `429` a retry hint.
#[derive(Debug)]
pub struct ApiError {
    pub code: ProblemCode,
    pub detail: Option<String>,
    pub retry_after: Option<u64>,
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// An error with a human detail.
    pub fn new(code: ProblemCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: Some(detail.into()),
            retry_after: None,
        }
    }

    /// An error with no detail beyond its title.
    pub fn bare(code: ProblemCode) -> Self {
        Self {
            code,
            detail: None,
            retry_after: None,
        }
    }

    /// An internal failure: logged with its cause, answered with a bare 500.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::bare(ProblemCode::Internal)
    }
}

/// A request body that could not be read: `408 request_timeout` when it stopped arriving (the
/// idle-body limit), `400 checksum_mismatch` when it ended before its `Content-Length`, else
/// `400 bad_body` (malformed chunked encoding, a connection that broke off).
pub fn body_error(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> ApiError {
    let error = error.into();
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error.as_ref());
    while let Some(current) = cause {
        if current.is::<tower_http::timeout::TimeoutError>() {
            return ApiError::new(
                ProblemCode::RequestTimeout,
                "no body bytes arrived for too long",
            );
        }
        let ended_early = current
            .downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_incomplete_message)
            || current
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::UnexpectedEof);
        if ended_early {
            // The contract: a body that disagrees with its Content-Length is checksum_mismatch.
            return ApiError::new(
                ProblemCode::ChecksumMismatch,
                format!("the body ended before its Content-Length: {error}"),
            );
        }
        cause = current.source();
    }
    ApiError::new(
        ProblemCode::BadBody,
        format!("the request body could not be read: {error}"),
    )
}

impl From<ProblemCode> for ApiError {
    fn from(code: ProblemCode) -> Self {
        Self::bare(code)
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        use ProblemCode as C;
        let code = match &error {
            StoreError::NotFound => C::NotFound,
            StoreError::NameConflict(_) => C::NameConflict,
            StoreError::EmailTaken => C::EmailTaken,
            StoreError::Cycle => C::Cycle,
            StoreError::NotAFolder => C::NotAFolder,
            StoreError::NotAFile => C::NotAFile,
            StoreError::Trashed => C::Trashed,
            StoreError::NotTrashed => C::NotTrashed,
            StoreError::RevMismatch { .. } => C::RevMismatch,
            StoreError::QuotaExceeded { .. } => C::QuotaExceeded,
            StoreError::CursorExpired => C::CursorExpired,
            StoreError::BadCursor => C::BadRequest,
            StoreError::RootImmutable => C::RootImmutable,
            StoreError::Incomplete(_) => C::Incomplete,
            StoreError::UploadExpired => C::UploadExpired,
            StoreError::UploadCommitted => C::UploadCommitted,
            StoreError::ListClosed => C::ListClosed,
            StoreError::OffsetMismatch => C::OffsetMismatch,
            StoreError::SizeMismatch(_) => C::SizeMismatch,
            StoreError::ReadOnly => C::ReadOnly,
            StoreError::SharedNesting => C::SharedNesting,
            StoreError::MountFixed => C::MountFixed,
            StoreError::InvalidShare(_) => C::BadRequest,
            StoreError::Database(_) if error.is_unavailable() => {
                tracing::warn!(%error, "database unavailable");
                return Self::new(C::Unavailable, "the database is unavailable; retry shortly");
            }
            StoreError::Database(_) | StoreError::Corrupt(_) | StoreError::CommitFailed(_) => {
                return Self::internal(&error);
            }
        };
        Self::new(code, error.to_string())
    }
}

impl From<BlobError> for ApiError {
    fn from(error: BlobError) -> Self {
        match error {
            BlobError::Unavailable(detail) => {
                tracing::warn!(%detail, "storage unavailable");
                Self::new(ProblemCode::StorageUnavailable, detail)
            }
            other => Self::internal(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = Problem::new(self.code, self.detail);
        let status =
            StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
