//! Request and response bodies of the accounts, files and journal endpoints.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::NodeName;

/// A node id as clients may write it: a UUID, or `root` for the caller's root folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeRef {
    Root,
    Id(Uuid),
}

/// What a [`NodeRef`] looks like on the wire: `root` or a hyphenated UUID.
pub const NODE_REF_PATTERN: &str =
    "^(root|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$";

/// The text was neither `root` nor a UUID.
#[derive(Debug, thiserror::Error)]
#[error("an id is a UUID or `root`")]
pub struct BadNodeRef;

impl FromStr for NodeRef {
    type Err = BadNodeRef;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == "root" {
            return Ok(NodeRef::Root);
        }
        Uuid::try_parse(text)
            .map(NodeRef::Id)
            .map_err(|_| BadNodeRef)
    }
}

impl fmt::Display for NodeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeRef::Root => f.write_str("root"),
            NodeRef::Id(id) => id.fmt(f),
        }
    }
}

impl Serialize for NodeRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for NodeRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for NodeRef {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("a node UUID, or `root`"))
            .pattern(Some(NODE_REF_PATTERN))
            .examples([serde_json::json!("root")])
            .into()
    }
}

impl utoipa::ToSchema for NodeRef {}

/// The values of an upload's `on_conflict`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WriteModeName {
    /// A new version of the file that has the name.
    Version,
    /// A free name: `name (1).ext`…
    Rename,
    /// `409 name_conflict`.
    Fail,
}

/// What to do when a name is taken in the target folder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnConflict {
    /// Answer `409 name_conflict`.
    #[default]
    Fail,
    /// Pick a free name: `name (1).ext`, `name (2).ext`, …
    Rename,
}

/// `POST /api/v1/auth/register`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RegisterRequest {
    /// Something, `@`, a domain with a dot; no spaces.
    #[schema(pattern = r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$", max_length = 254)]
    pub email: String,
    /// At least 8 characters, not all the same (else `422 weak_password`).
    #[schema(min_length = 8)]
    pub password: String,
}

/// An account as its owner sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UserInfo {
    pub id: Uuid,
    pub email: String,
    pub created_at: DateTime<Utc>,
    /// Whether the account may use the admin API (and sees the admin page).
    #[serde(default)]
    pub is_admin: bool,
}

/// `{user}`: the answer to register.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UserEnvelope {
    pub user: UserInfo,
}

/// `POST /api/v1/auth/login`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// Shown in the session list and recorded on the versions this device writes.
    #[serde(default)]
    pub device_name: Option<String>,
}

/// A fresh token pair.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    pub user: UserInfo,
}

/// `POST /api/v1/auth/refresh` and `/logout`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// `GET /api/v1/me`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Me {
    pub user: UserInfo,
    /// Null when unlimited.
    pub quota_bytes: Option<u64>,
    pub used_bytes: u64,
}

/// One signed-in device.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SessionInfo {
    pub id: Uuid,
    pub device_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The session the request was made with.
    pub current: bool,
}

/// `POST /api/v1/folders`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateFolder {
    pub parent_id: NodeRef,
    pub name: NodeName,
    #[serde(default)]
    pub on_conflict: OnConflict,
}

/// `PATCH /api/v1/nodes/{id}`: rename and/or move.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct PatchNode {
    #[serde(default)]
    pub name: Option<NodeName>,
    #[serde(default)]
    pub parent_id: Option<NodeRef>,
    /// Fail with `412 rev_mismatch` unless the node is still at this rev.
    #[serde(default)]
    pub base_rev: Option<String>,
    #[serde(default)]
    pub on_conflict: OnConflict,
}

/// `POST /api/v1/nodes/{id}/copy`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CopyNode {
    pub parent_id: NodeRef,
    #[serde(default)]
    pub name: Option<NodeName>,
    #[serde(default)]
    pub on_conflict: OnConflict,
}

/// `{cursor}`: the answer to `GET /api/v1/changes/latest`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CursorEnvelope {
    pub cursor: String,
}

/// One chunk of a file, as a client cut it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChunkSpec {
    pub sha256: crate::Sha256,
    #[serde(deserialize_with = "int64")]
    pub size: u64,
}

/// A byte count as the wire carries it: an int64 that is not negative (larger numbers are
/// refused, not wrapped or taken as a huge request).
/// [`int64`], when the field may be absent or null.
pub fn option_int64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    struct Wrapped(#[serde(deserialize_with = "int64")] u64);
    Ok(Option::<Wrapped>::deserialize(deserializer)?.map(|Wrapped(value)| value))
}

/// JSON's `864.0` is the integer 864, as JSON Schema reads it.
pub fn int64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    let number = serde_json::Number::deserialize(deserializer)?;
    let value = match (number.as_u64(), number.as_f64()) {
        (Some(value), _) => Some(value),
        (None, Some(value)) if value.fract() == 0.0 && (0.0..9.2e18).contains(&value) => {
            Some(value as u64)
        }
        _ => None,
    };
    match value {
        Some(value) if value <= i64::MAX as u64 => Ok(value),
        _ => Err(serde::de::Error::custom(format!(
            "{number} is not a byte count (a whole number from 0 to 2^63 - 1)"
        ))),
    }
}

/// `POST /api/v1/uploads`: open a chunked upload session.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InitUpload {
    pub parent_id: NodeRef,
    pub name: NodeName,
    /// Size of the whole file; the chunk sizes must add up to it.
    #[serde(deserialize_with = "int64")]
    pub size: u64,
    /// SHA-256 of the whole file — here, or in the commit (the server never reads the bytes back
    /// to compute it).
    #[serde(default)]
    pub sha256: Option<crate::Sha256>,
    /// The chunks, in file order (the first of them, with `more_chunks`).
    pub chunks: Vec<ChunkSpec>,
    /// More chunks follow through `POST /api/v1/uploads/{id}/chunks`: a client may start sending
    /// before it has cut the whole file.
    #[serde(default)]
    pub more_chunks: bool,
    /// Fail the commit with `412 rev_mismatch` unless the existing file is still at this rev.
    #[serde(default)]
    pub base_rev: Option<String>,
    /// When the name is taken: `version` (default), `rename` or `fail`.
    #[serde(default)]
    #[schema(value_type = Option<WriteModeName>)]
    pub on_conflict: Option<String>,
    /// Media type; guessed from the name when absent.
    #[serde(default)]
    pub mime: Option<String>,
}

/// The state of an upload session: what is still missing.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UploadSession {
    pub upload_id: Uuid,
    /// Indexes of the chunks the server still needs, ascending.
    pub missing: Vec<u64>,
    pub received_bytes: u64,
    pub expires_at: DateTime<Utc>,
    /// Largest chunk the server accepts, in bytes.
    pub max_chunk_size: u64,
    /// Presigned URLs per missing chunk when the blob store offers them (S3); absent on local disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk_urls: Option<std::collections::BTreeMap<String, serde_json::Value>>,
}

/// `POST /api/v1/uploads/{id}/chunks`: the next chunks of a list sent in pieces.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AppendChunks {
    pub chunks: Vec<ChunkSpec>,
    /// Whether still more will follow; the last piece says `false`.
    #[serde(default)]
    pub more_chunks: bool,
}

/// `POST /api/v1/uploads/{id}/commit` (the body may be empty).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct CommitUpload {
    /// The whole file's SHA-256, if the init did not carry it.
    #[serde(default)]
    pub sha256: Option<crate::Sha256>,
    /// The file's modification time on the writer's disk (kept as the node's `modified_at`, so
    /// downloads and sync clients can give it back); now when absent.
    #[serde(default)]
    pub modified_at: Option<DateTime<Utc>>,
}

/// What an app password may do: everything its account may (`full`), or only read (`read_only`:
/// every write through it answers `403 read_only`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppPasswordScope {
    #[default]
    Full,
    ReadOnly,
}

impl AppPasswordScope {
    /// The scope's name on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            AppPasswordScope::Full => "full",
            AppPasswordScope::ReadOnly => "read_only",
        }
    }
}

/// `POST /api/v1/app-passwords`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateAppPassword {
    /// 1 to 200 characters, no control characters.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[serde(default)]
    pub scope: Option<AppPasswordScope>,
}

/// An app password just made: the only answer that ever carries `password`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AppPasswordCreated {
    pub id: Uuid,
    pub name: String,
    pub password: String,
    pub scope: AppPasswordScope,
    pub created_at: DateTime<Utc>,
}

/// An app password as listed (never its secret).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AppPasswordInfo {
    pub id: Uuid,
    pub name: String,
    pub scope: AppPasswordScope,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// The client address of the last use.
    pub last_used_from: Option<String>,
}
