//! Sharing: public links and signed download URLs as their owners see them; shares between
//! accounts.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A link as its owner sees it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LinkInfo {
    pub id: Uuid,
    /// The secret part of the URL (at least 128 random bits).
    pub token: String,
    /// `BASE/s/TOKEN`.
    pub url: String,
    pub node_id: Uuid,
    /// `view` or `upload`.
    #[schema(value_type = LinkPermissionName)]
    pub permission: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub max_downloads: Option<u64>,
    pub download_count: u64,
    pub max_upload_bytes: Option<u64>,
    pub disabled: bool,
    /// Whether visitors must send `X-Share-Password`.
    pub has_password: bool,
    /// The account that made the link: the node's owner, or an `edit` member of the shared folder
    /// holding it (the owner sees and manages members' links too).
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// A signed download URL, as its maker and the node's owner see it (without the URL itself: it is
/// shown once, when made).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DownloadUrlInfo {
    pub id: Uuid,
    pub node_id: Uuid,
    /// The version it serves: the current one when it was made.
    pub version: u64,
    /// The email of the account that made it.
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub state: DownloadUrlState,
}

/// Where a signed download URL stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DownloadUrlState {
    /// It downloads (while its maker still reaches the file).
    Active,
    /// Revoked by its maker or the file's owner.
    Revoked,
    /// The session that made it ended (logout, revocation).
    SessionEnded,
}

/// `POST /api/v1/links`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLink {
    /// A node id, or `root`.
    #[schema(value_type = crate::NodeRef)]
    pub node_id: String,
    /// `view` (default) or `upload` (folders only: visitors may add files, never list or read).
    #[schema(value_type = Option<LinkPermissionName>)]
    pub permission: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub password: Option<String>,
    #[serde(default, deserialize_with = "crate::requests::option_int64")]
    pub max_downloads: Option<u64>,
    /// Largest file an upload link accepts, in bytes.
    #[serde(default, deserialize_with = "crate::requests::option_int64")]
    pub max_upload_bytes: Option<u64>,
}

/// A folder shared between accounts, as the owner or a member sees it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ShareInfo {
    pub id: Uuid,
    /// The shared folder (the same id for the owner and every member).
    pub node_id: Uuid,
    pub owner_email: String,
    pub member_email: String,
    /// `view` or `edit`.
    #[schema(value_type = SharePermissionName)]
    pub permission: String,
    /// The folder's name in the member's root (the member may rename it for themselves).
    pub mount_name: String,
    pub created_at: DateTime<Utc>,
}

/// `POST /api/v1/shares`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateShare {
    pub node_id: Uuid,
    /// The member's account.
    pub email: String,
    /// `view` or `edit`.
    #[schema(value_type = SharePermissionName)]
    pub permission: String,
}

/// `PATCH /api/v1/shares/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateShare {
    #[schema(value_type = SharePermissionName)]
    pub permission: String,
}

/// What a public link lets visitors do: the values of a link's `permission`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LinkPermissionName {
    /// Download the file, or list and download the folder's contents.
    View,
    /// Add files to the folder, never list or read it.
    Upload,
}

/// What a member may do in a shared folder: the values of a share's `permission`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SharePermissionName {
    /// Read only (`403 read_only` on every change).
    View,
    /// Read and change.
    Edit,
}
