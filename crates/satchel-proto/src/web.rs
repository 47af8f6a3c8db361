//! Bodies of the endpoints the web app uses: its cookie-held session and what it asks the server
//! before anyone signs in.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::UserInfo;

/// A browser session: the access token only. The refresh token travels in an `HttpOnly` cookie
/// that scripts cannot read.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WebSession {
    pub access_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    pub user: UserInfo,
}

/// What anyone may know about the server.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ServerInfo {
    /// Whether `POST /api/v1/auth/register` creates accounts.
    pub registration_open: bool,
    /// The server's version.
    pub version: String,
}
