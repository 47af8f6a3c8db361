//! The server's configuration: one typed struct, defaults in [`ServerConfig::default`] and nowhere
//! else. The binary layers a TOML file, `SATCHEL_*` variables and flags over these defaults.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
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

/// An address or a CIDR range (`10.0.0.0/8`, `fd00::/8`, `192.0.2.7`): a trusted proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange {
    /// The range's first address (bits past the prefix are zero).
    network: IpAddr,
    prefix: u8,
}

impl IpRange {
    /// Whether `address` is inside the range (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, address: IpAddr) -> bool {
        match (self.network, address.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                mask(u128::from(u32::from(ip)), self.prefix, 32) == u128::from(u32::from(net))
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                mask(u128::from(ip), self.prefix, 128) == u128::from(net)
            }
            _ => false,
        }
    }
}

/// `bits` (an address of `width` bits) with everything past the first `prefix` bits cleared.
fn mask(bits: u128, prefix: u8, width: u8) -> u128 {
    let host_bits = u32::from(width - prefix.min(width));
    bits.checked_shr(host_bits)
        .and_then(|kept| kept.checked_shl(host_bits))
        .unwrap_or(0)
}

impl std::str::FromStr for IpRange {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{text:?} is not an IP address or CIDR range (10.0.0.0/8, fd00::/8)");
        let (address, prefix) = match text.trim().split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text.trim(), None),
        };
        let address: IpAddr = address.parse().map_err(|_| bad())?;
        let address = address.to_canonical();
        let width = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= width)
                .ok_or_else(bad)?,
            None => width,
        };
        let network = match address {
            IpAddr::V4(ip) => IpAddr::from(std::net::Ipv4Addr::from(
                u32::try_from(mask(u128::from(u32::from(ip)), prefix, 32)).map_err(|_| bad())?,
            )),
            IpAddr::V6(ip) => {
                IpAddr::from(std::net::Ipv6Addr::from(mask(u128::from(ip), prefix, 128)))
            }
        };
        Ok(IpRange { network, prefix })
    }
}

impl<'de> Deserialize<'de> for IpRange {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for IpRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// One storage node: `[[blob_nodes]]` in the config file, or `--blob-node NAME=URL`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlobNodeConfig {
    /// What the metadata records copies under: keep it when the node moves.
    pub name: String,
    /// A folder, or `s3://BUCKET/PREFIX?endpoint=URL&region=R&path_style=true`.
    pub url: String,
    /// Nodes in one zone share a failure (a building, a region): copies go to distinct zones first.
    #[serde(default)]
    pub zone: Option<String>,
}

impl std::str::FromStr for BlobNodeConfig {
    type Err = String;

    /// `NAME=URL`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (name, url) = text
            .split_once('=')
            .ok_or_else(|| format!("a storage node is NAME=URL, not {text:?}"))?;
        let node = BlobNodeConfig {
            name: name.trim().to_owned(),
            url: url.trim().to_owned(),
            zone: None,
        };
        node.check()?;
        Ok(node)
    }
}

impl BlobNodeConfig {
    fn check(&self) -> Result<(), String> {
        let good = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.';
        if self.name.is_empty() || self.name.len() > 64 || !self.name.chars().all(good) {
            return Err(format!(
                "a storage node's name is 1 to 64 letters, digits, '-', '_' or '.', not {:?}",
                self.name
            ));
        }
        if self.url.is_empty() {
            return Err(format!("storage node {:?} has no URL", self.name));
        }
        Ok(())
    }
}

/// The name of the one node that `--blobs` (or the data folder) makes.
pub const DEFAULT_NODE: &str = "default";

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
    /// Storage nodes, each chunk kept on `copies` of them; replaces `blobs` when given.
    pub blob_nodes: Vec<BlobNodeConfig>,
    /// Copies of each chunk: 2 by default with two or more nodes, else 1.
    pub copies: Option<usize>,
    /// How often the repair worker looks at its queue, in seconds.
    pub repair_interval_secs: u64,
    /// How often the presence pass lists every node against the database, in seconds.
    pub presence_interval_secs: u64,
    /// Days in which the deep scrub reads and hashes every copy once (it goes a slice at a time).
    pub scrub_interval_days: u64,
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
    /// Open connections at most; past it new clients wait to be accepted. Default: the process's
    /// open-file limit less 256 (for the database and chunk files).
    pub max_connections: Option<usize>,
    /// Seconds a client has to send a request's headers before its connection is closed.
    pub header_timeout_secs: u64,
    /// Seconds a request body may go without a byte arriving (while the server waits for it)
    /// before the request fails with `408 request_timeout`. Uploads that keep moving never hit it.
    pub body_idle_timeout_secs: u64,
    /// Database connections in the pool.
    pub db_max_connections: u32,
    /// Memory, in MiB, that uploads and downloads in flight may hold for file bytes, all together;
    /// past it, transfers wait for room (see `budget.rs`). Raised to fit one `max_chunk_bytes`
    /// chunk if smaller.
    pub transfer_memory_mib: u64,
    /// Failed logins per account and client address in a `login_window_secs` before that address
    /// backs off for that account: 15 s after the next failure, doubling with each one after
    /// (capped at the window). See `accounts/throttle.rs`.
    pub login_failures_allowed: u32,
    /// Failed logins on one account, from all addresses, in a `login_window_secs` after which the
    /// account counts as under attack: an address that has failed on it in the window waits for its
    /// window to end, while an address without a failure of its own may still sign in. This only
    /// slows guessing: it never refuses the right password from an address without failures.
    pub login_account_failures_allowed: u32,
    /// Failed logins from one client address, over all accounts, in a `login_window_secs` after
    /// which that address may not sign in until its window ends (high enough for an office behind
    /// one NAT).
    pub login_address_failures_allowed: u32,
    /// Length of the login and link-password rate-limit windows, in seconds.
    pub login_window_secs: u64,
    /// Reverse proxies (addresses or CIDR ranges) whose `X-Forwarded-For` / `Forwarded` headers
    /// name the client; empty (the default) believes no such header. See `http/client_addr.rs`.
    pub trusted_proxies: Vec<IpRange>,
    /// How long, in seconds, a refresh token just rotated may be presented again and get the same
    /// new pair (a retried or concurrent refresh); after that a replay revokes the session.
    pub refresh_grace_secs: u64,
    /// Largest chunk a chunked upload may send, in bytes (advertised in the init response).
    pub max_chunk_bytes: u64,
    /// How long an upload session lives without being committed, in seconds.
    pub upload_ttl_secs: u64,
    /// How long an unreferenced chunk is kept after it was last stored, in seconds (an upload in
    /// flight must commit within this time).
    pub gc_grace_secs: u64,
    /// How often the garbage collector runs, in seconds.
    pub gc_interval_secs: u64,
    /// How often, in seconds, the tables that changed a lot since their last analysis get fresh
    /// planner statistics (see `jobs/stats.rs`).
    pub analyze_interval_secs: u64,
    /// How long journal entries are kept, in days; a client whose cursor is older gets
    /// `410 cursor_expired` and rescans. 0 keeps them forever.
    pub journal_retention_days: u64,
    /// The server's address as the world sees it (`https://files.example.org`), for the URLs of
    /// links and signed downloads; taken from each request's `Host` when unset.
    pub public_url: Option<String>,
    /// Wrong passwords per link and client address allowed in a `login_window_secs`.
    pub link_password_failures_allowed: u32,
    /// Wrong passwords per link, from all addresses, allowed in a `login_window_secs`; after that
    /// the link refuses every password until the window ends.
    pub link_password_failures_per_link: u32,
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
            blob_nodes: Vec::new(),
            copies: None,
            repair_interval_secs: 60,
            presence_interval_secs: 3600,
            scrub_interval_days: 30,
            s3_access_key_id: None,
            s3_secret_access_key: None,
            registration: Registration::Open,
            default_quota: None,
            jwt_secret: None,
            max_json_bytes: 1024 * 1024,
            max_connections: None,
            header_timeout_secs: 30,
            body_idle_timeout_secs: 60,
            db_max_connections: 16,
            transfer_memory_mib: 64,
            login_failures_allowed: 5,
            login_account_failures_allowed: 20,
            login_address_failures_allowed: 100,
            login_window_secs: 15 * 60,
            trusted_proxies: Vec::new(),
            refresh_grace_secs: 5,
            max_chunk_bytes: 16 * 1024 * 1024,
            upload_ttl_secs: 7 * 24 * 3600,
            gc_grace_secs: 24 * 3600,
            gc_interval_secs: 3600,
            analyze_interval_secs: 60,
            journal_retention_days: 90,
            public_url: None,
            link_password_failures_allowed: 10,
            link_password_failures_per_link: 30,
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

    /// The transfer memory budget in bytes.
    pub fn transfer_memory_bytes(&self) -> usize {
        usize::try_from(self.transfer_memory_mib.saturating_mul(1 << 20)).unwrap_or(usize::MAX)
    }

    /// The most one request leases at once: a chunk of a chunked upload, or a simple upload's
    /// buffer and the chunk it writes meanwhile.
    pub fn largest_transfer_lease(&self) -> usize {
        usize::try_from(self.max_chunk_bytes)
            .unwrap_or(usize::MAX)
            .max(2 * satchel_blob::MAX_CHUNK)
    }

    /// Where local chunks live (when they are not in a bucket).
    pub fn chunk_dir(&self) -> PathBuf {
        match &self.blobs {
            Some(dir) if !dir.starts_with("s3://") => PathBuf::from(dir),
            _ => self.data.join("chunks"),
        }
    }

    /// The storage nodes in effect: `blob_nodes`, else one node from `blobs` (or the data folder)
    /// named [`DEFAULT_NODE`].
    pub fn storage_nodes(&self) -> anyhow::Result<Vec<BlobNodeConfig>> {
        if self.blob_nodes.is_empty() {
            let url = match &self.blobs {
                Some(url) => url.clone(),
                None => self.chunk_dir().display().to_string(),
            };
            return Ok(vec![BlobNodeConfig {
                name: DEFAULT_NODE.to_owned(),
                url,
                zone: None,
            }]);
        }
        if self.blobs.is_some() {
            anyhow::bail!("give either blobs or blob_nodes, not both");
        }
        for node in &self.blob_nodes {
            node.check().map_err(anyhow::Error::msg)?;
        }
        Ok(self.blob_nodes.clone())
    }

    /// Copies of each chunk in effect.
    pub fn copies_in_effect(&self, nodes: usize) -> usize {
        self.copies.unwrap_or(if nodes >= 2 { 2 } else { 1 })
    }

    /// Opens the chunk store this configuration names: its nodes, replicated.
    pub fn open_blobs(&self) -> anyhow::Result<std::sync::Arc<satchel_blob::ReplicatedStore>> {
        let configured = self.storage_nodes()?;
        let mut nodes = Vec::with_capacity(configured.len());
        for node in &configured {
            nodes.push(satchel_blob::StorageNode {
                name: node.name.clone(),
                zone: node.zone.clone(),
                store: self.open_node(&node.url)?,
            });
        }
        let copies = self.copies_in_effect(nodes.len());
        let store =
            satchel_blob::ReplicatedStore::new(nodes, copies).map_err(anyhow::Error::msg)?;
        Ok(std::sync::Arc::new(store))
    }

    /// Opens one node's store: a bucket for an `s3://` URL, else a folder.
    fn open_node(&self, url: &str) -> anyhow::Result<std::sync::Arc<dyn satchel_blob::BlobStore>> {
        use satchel_blob::{LocalBlobStore, S3BlobStore, S3Credentials, S3Location};
        match S3Location::parse(url) {
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
            None => Ok(std::sync::Arc::new(LocalBlobStore::open(url)?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn ranges_parse_and_contain() {
        let private: IpRange = "10.0.0.0/8".parse().unwrap();
        assert!(private.contains(ip("10.200.3.4")));
        assert!(!private.contains(ip("11.0.0.1")));
        assert!(private.contains(ip("::ffff:10.1.2.3")));
        let one: IpRange = "192.0.2.7".parse().unwrap();
        assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
        let v6: IpRange = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        assert!(!v6.contains(ip("10.0.0.1")));
        let everything: IpRange = "0.0.0.0/0".parse().unwrap();
        assert!(everything.contains(ip("203.0.113.9")));
        assert_eq!(
            "10.1.2.3/8".parse::<IpRange>().unwrap().to_string(),
            "10.0.0.0/8"
        );
        for bad in ["10.0.0.0/33", "nope", "10.0.0/8", "::/129", "1.2.3.4/"] {
            assert!(bad.parse::<IpRange>().is_err(), "{bad}");
        }
    }
}
