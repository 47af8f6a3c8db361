//! RFC 9457 problem documents and the stable codes clients switch on.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Every machine-readable error the API can answer with. The wire form is the snake_case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProblemCode {
    // 400
    BadRequest,
    InvalidName,
    InvalidId,
    MalformedJson,
    ChecksumMismatch,
    SizeMismatch,
    BadRange,
    BadBody,
    // 401
    Unauthorized,
    TokenExpired,
    BadCredentials,
    TokenReused,
    PasswordRequired,
    WrongPassword,
    // 403
    AccountDisabled,
    RegistrationClosed,
    ReadOnly,
    BadSignature,
    /// A request that reads the session cookie came without the app's CSRF header or from
    /// another origin.
    CrossSiteRequest,
    /// The caller is signed in but may not do this (the admin API for a non-admin).
    Forbidden,
    /// A password change named a current password that does not match.
    WrongCurrentPassword,
    // 404
    NotFound,
    // 405
    MethodNotAllowed,
    /// The file is of a type that has no thumbnail (only JPEG, PNG, WebP and GIF do), or is too
    /// large to make one.
    NoThumbnail,
    // 409
    NameConflict,
    EmailTaken,
    Cycle,
    NotAFolder,
    NotAFile,
    Trashed,
    NotTrashed,
    RootImmutable,
    Incomplete,
    UploadCommitted,
    ListClosed,
    /// tus: `Upload-Offset` is not where the upload stands.
    OffsetMismatch,
    SharedNesting,
    MountFixed,
    // 410
    CursorExpired,
    UploadExpired,
    LinkExpired,
    LinkDisabled,
    DownloadLimit,
    UrlExpired,
    UrlRevoked,
    // 408
    RequestTimeout,
    // 414
    UriTooLong,
    // 431
    HeadersTooLarge,
    // 412
    RevMismatch,
    /// tus: a `Tus-Resumable` version this server does not speak.
    UnsupportedVersion,
    // 413
    PayloadTooLarge,
    /// A request body of a media type the operation does not take.
    UnsupportedMediaType,
    /// tus `checksum` extension: the request's bytes do not match its `Upload-Checksum`.
    UploadChecksumMismatch,
    QuotaExceeded,
    // 416
    RangeNotSatisfiable,
    // 422
    WeakPassword,
    InvalidEmail,
    // 429
    TooManyRequests,
    // 5xx
    Internal,
    Unavailable,
    /// Fewer storage nodes than the configured number of copies could take the data: nothing was
    /// committed.
    StorageUnavailable,
}

impl ProblemCode {
    /// The HTTP status that goes with the code; one table for the whole API.
    pub fn status(self) -> u16 {
        use ProblemCode::*;
        match self {
            BadRequest | InvalidName | InvalidId | MalformedJson | ChecksumMismatch
            | SizeMismatch | BadRange | BadBody => 400,
            Unauthorized | TokenExpired | BadCredentials | TokenReused | PasswordRequired
            | WrongPassword => 401,
            AccountDisabled | RegistrationClosed | ReadOnly | BadSignature | CrossSiteRequest
            | Forbidden | WrongCurrentPassword => 403,
            NotFound | NoThumbnail => 404,
            MethodNotAllowed => 405,
            NameConflict | EmailTaken | Cycle | NotAFolder | NotAFile | Trashed | NotTrashed
            | RootImmutable | Incomplete | UploadCommitted | ListClosed | OffsetMismatch
            | SharedNesting | MountFixed => 409,
            CursorExpired | UploadExpired | LinkExpired | LinkDisabled | DownloadLimit
            | UrlExpired | UrlRevoked => 410,
            RequestTimeout => 408,
            UriTooLong => 414,
            HeadersTooLarge => 431,
            RevMismatch | UnsupportedVersion => 412,
            PayloadTooLarge | QuotaExceeded => 413,
            UnsupportedMediaType => 415,
            UploadChecksumMismatch => 460,
            RangeNotSatisfiable => 416,
            WeakPassword | InvalidEmail => 422,
            TooManyRequests => 429,
            Internal => 500,
            Unavailable | StorageUnavailable => 503,
        }
    }

    /// The snake_case wire form.
    pub fn as_str(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|value| value.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// A short human title.
    pub fn title(self) -> &'static str {
        use ProblemCode::*;
        match self {
            BadRequest => "Bad request",
            InvalidName => "Invalid name",
            InvalidId => "Invalid id",
            MalformedJson => "Malformed JSON body",
            ChecksumMismatch => "Content does not match its checksum or length",
            SizeMismatch => "Size mismatch",
            BadRange => "Bad range",
            BadBody => "The request body is malformed or broke off",
            RequestTimeout => "The request body stopped arriving",
            Unauthorized => "Authentication required",
            TokenExpired => "Token expired",
            BadCredentials => "Wrong email or password",
            TokenReused => "Refresh token reused; the session is revoked",
            PasswordRequired => "This link needs a password (send X-Share-Password)",
            WrongPassword => "Wrong password for this link",
            ReadOnly => "Read-only access",
            BadSignature => "The URL's signature does not match",
            CrossSiteRequest => {
                "Cross-site request refused (send X-Satchel-CSRF from the app's origin)"
            }
            LinkExpired => "The link has expired",
            LinkDisabled => "The link is disabled",
            DownloadLimit => "The link's download limit is reached",
            UrlExpired => "The signed URL has expired",
            UrlRevoked => "The signed URL was revoked, or the session that made it ended",
            AccountDisabled => "Account disabled",
            Forbidden => "Forbidden",
            WrongCurrentPassword => "The current password does not match",
            RegistrationClosed => "Registration is closed",
            NotFound => "Not found",
            MethodNotAllowed => "Method not allowed (the Allow header lists those that are)",
            UriTooLong => "The request's URI is too long",
            HeadersTooLarge => "The request's headers are too large",
            NoThumbnail => "This file has no thumbnail",
            NameConflict => "A node with this name already exists",
            EmailTaken => "Email already registered",
            Cycle => "A folder cannot move into itself",
            NotAFolder => "Not a folder",
            NotAFile => "Not a file",
            Trashed => "The node is in the trash",
            NotTrashed => "The node is not in the trash",
            RootImmutable => "The root folder cannot be renamed, moved, copied or trashed",
            CursorExpired => "Cursor expired",
            Incomplete => "Chunks are missing; upload them before committing",
            UploadCommitted => "The upload is already committed",
            ListClosed => "The chunk list of this upload is complete",
            OffsetMismatch => "The upload is not at that offset",
            SharedNesting => "A shared folder cannot contain, or be inside, another shared folder",
            MountFixed => {
                "A folder shared with you stays in your root: rename it, or leave the share"
            }
            UploadExpired => "The upload session has expired",
            RevMismatch => "The node has changed since that revision",
            UnsupportedVersion => "Unsupported protocol version",
            PayloadTooLarge => "Request body too large",
            UnsupportedMediaType => "Unsupported media type",
            UploadChecksumMismatch => "The bytes do not match their Upload-Checksum",
            QuotaExceeded => "Quota exceeded",
            RangeNotSatisfiable => "Range not satisfiable",
            WeakPassword => "Password too weak",
            InvalidEmail => "Invalid email address",
            TooManyRequests => "Too many requests",
            Internal => "Internal server error",
            Unavailable => "Service unavailable",
            StorageUnavailable => "Too few storage nodes are reachable to keep the data safe",
        }
    }
}

/// An RFC 9457 problem document (`application/problem+json`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub code: ProblemCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Problem {
    /// A problem for `code`, with an optional human detail.
    pub fn new(code: ProblemCode, detail: Option<String>) -> Self {
        Self {
            kind: format!("https://satchel.dev/problems/{}", code.as_str()),
            title: code.title().to_owned(),
            status: code.status(),
            code,
            detail,
        }
    }
}
