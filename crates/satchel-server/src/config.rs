//! The server's configuration: one typed struct, defaults in [`ServerConfig::default`] and nowhere
//! else. The binary layers a TOML file, `SATCHEL_*` variables and flags over these defaults.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

/// Whether anyone may create an account through the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Registration {
    Open,
    Closed,
}

impl std::str::FromStr for Registration {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "open" => Ok(Registration::Open),
            "closed" => Ok(Registration::Closed),
            other => Err(format!("registration is `open` or `closed`, not {other:?}")),
        }
    }
}

/// A secret that never shows in logs or `Debug` output.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Everything `satchel serve` can be told.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Directory for the embedded database, chunks and temporary files.
    pub data: PathBuf,
    /// `sqlite://PATH` or `postgres://…`; defaults to `sqlite://DATA/satchel.db`.
    pub database: Option<String>,
    /// Where chunks go: a folder, or `s3://BUCKET/PREFIX?endpoint=URL&region=R&path_style=true`;
    /// defaults to `DATA/chunks`.
    pub blobs: Option<String>,
    /// S3 access key; the standard `AWS_*` environment variables apply when unset.
    pub s3_access_key_id: Option<String>,
    /// S3 secret key; the standard `AWS_*` environment variables apply when unset.
    pub s3_secret_access_key: Option<Secret>,
    /// Whether `POST /api/v1/auth/register` creates accounts.
    pub registration: Registration,
    /// Quota of new accounts in bytes; `None` is unlimited.
    pub default_quota: Option<u64>,
    /// Key that signs access tokens; generated and kept in the database when unset.
    pub jwt_secret: Option<Secret>,
    /// Largest JSON request body, in bytes.
    pub max_json_bytes: usize,
    /// Database connections in the pool.
    pub db_max_connections: u32,
    /// Failed logins per account, and per client address (×3), allowed in a `login_window_secs`.
    pub login_failures_allowed: u32,
    /// Length of the login rate-limit window, in seconds.
    pub login_window_secs: u64,
    /// Largest chunk a chunked upload may send, in bytes (advertised in the init response).
    pub max_chunk_bytes: u64,
    /// How long an upload session lives without being committed, in seconds.
    pub upload_ttl_secs: u64,
    /// How long an unreferenced chunk is kept after it was last stored, in seconds (an upload in
    /// flight must commit within this time).
    pub gc_grace_secs: u64,
    /// How often the garbage collector runs, in seconds.
    pub gc_interval_secs: u64,
    /// How long journal entries are kept, in days; a client whose cursor is older gets
    /// `410 cursor_expired` and rescans. 0 keeps them forever.
    pub journal_retention_days: u64,
    /// The server's address as the world sees it (`https://files.example.org`), for the URLs of
    /// links and signed downloads; taken from each request's `Host` when unset.
    pub public_url: Option<String>,
    /// Wrong passwords per link and client address allowed in a `login_window_secs`.
    pub link_password_failures_allowed: u32,
    /// `redis://HOST:PORT/DB`: change announcements between servers and shared rate limits.
    pub redis: Option<String>,
    /// Prefix of Satchel's keys and channels in Redis (servers of one deployment share it).
    pub redis_prefix: String,
    /// Serve the web app from this folder instead of the copy built into the binary
    /// (development: edits show on reload).
    pub web_dir: Option<PathBuf>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data: PathBuf::from("satchel-data"),
            database: None,
            blobs: None,
            s3_access_key_id: None,
            s3_secret_access_key: None,
            registration: Registration::Open,
            default_quota: None,
            jwt_secret: None,
            max_json_bytes: 1024 * 1024,
            db_max_connections: 16,
            login_failures_allowed: 10,
            login_window_secs: 15 * 60,
            max_chunk_bytes: 16 * 1024 * 1024,
            upload_ttl_secs: 7 * 24 * 3600,
            gc_grace_secs: 24 * 3600,
            gc_interval_secs: 3600,
            journal_retention_days: 90,
            public_url: None,
            link_password_failures_allowed: 10,
            redis: None,
            redis_prefix: "satchel".to_owned(),
            web_dir: None,
        }
    }
}

impl ServerConfig {
    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        match &self.database {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data.join("satchel.db").display()),
        }
    }

    /// Where local chunks live (when they are not in a bucket).
    pub fn chunk_dir(&self) -> PathBuf {
        match &self.blobs {
            Some(dir) if !dir.starts_with("s3://") => PathBuf::from(dir),
            _ => self.data.join("chunks"),
        }
    }

    /// Opens the chunk store this configuration names.
    pub fn open_blobs(&self) -> anyhow::Result<std::sync::Arc<dyn satchel_blob::BlobStore>> {
        use satchel_blob::{LocalBlobStore, S3BlobStore, S3Credentials, S3Location};
        match self.blobs.as_deref().and_then(S3Location::parse) {
            Some(location) => {
                let location = location.map_err(anyhow::Error::msg)?;
                let credentials = S3Credentials {
                    access_key_id: self.s3_access_key_id.clone(),
                    secret_access_key: self.s3_secret_access_key.as_ref().map(|s| s.0.clone()),
                };
                Ok(std::sync::Arc::new(S3BlobStore::open(
                    &location,
                    &credentials,
                )?))
            }
            None => Ok(std::sync::Arc::new(LocalBlobStore::open(self.chunk_dir())?)),
        }
    }
}
