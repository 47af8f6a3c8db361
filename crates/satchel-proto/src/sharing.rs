//! Sharing: public links as their owners see them.

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
    pub permission: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub max_downloads: Option<u64>,
    pub download_count: u64,
    pub max_upload_bytes: Option<u64>,
    pub disabled: bool,
    /// Whether visitors must send `X-Share-Password`.
    pub has_password: bool,
    pub created_at: DateTime<Utc>,
}

/// `POST /api/v1/links`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLink {
    /// A node id, or `root`.
    #[schema(value_type = String)]
    pub node_id: String,
    /// `view` (default) or `upload` (folders only: visitors may add files, never list or read).
    pub permission: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub password: Option<String>,
    pub max_downloads: Option<u64>,
    /// Largest file an upload link accepts, in bytes.
    pub max_upload_bytes: Option<u64>,
}
