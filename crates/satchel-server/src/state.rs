//! What every request can reach: the stores, the token keys and the configuration.

use std::sync::Arc;

use satchel_blob::{BlobStore, ReplicatedStore};
use satchel_meta::Store;

use crate::accounts::limiter::RateLimiter;
use crate::accounts::throttle::LoginThrottle;
use crate::accounts::tokens::TokenKeys;
use crate::config::ServerConfig;

/// Shared state of a running server. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// The chunk store every request uses: [`AppState::storage`], seen through the trait.
    pub blobs: Arc<dyn BlobStore>,
    /// The storage nodes and their placement (repair, scrub and the admin commands need them).
    pub storage: Arc<ReplicatedStore>,
    pub tokens: Arc<TokenKeys>,
    pub config: Arc<ServerConfig>,
    /// Failed logins per account and address, account, and address (see `accounts/throttle.rs`).
    pub login_throttle: Arc<LoginThrottle>,
    /// A hash checked when a login names an unknown email, so that answering costs the same time
    /// as for a wrong password and does not reveal which emails have accounts.
    pub decoy_hash: Arc<String>,
    /// Wrong link passwords, per link and address and per link.
    pub link_limiter: Arc<RateLimiter>,
    /// The keys that sign download URLs, by key id; the first signs.
    pub url_keys: Arc<Vec<(String, Vec<u8>)>>,
    /// Turns `true` when the server begins shutting down: `/readyz` answers 503, notification
    /// sockets close with "reconnect", long polls return.
    pub draining: Arc<tokio::sync::watch::Sender<bool>>,
    /// With Redis: actors cached there (see `redis.rs`).
    pub actor_cache: Option<Arc<crate::redis::ActorCache>>,
    /// The memory budget of transfers in flight (see `budget.rs`).
    pub transfers: crate::budget::TransferBudget,
    /// Running whole-file hashes of chunked uploads (see `files/verify.rs`).
    pub verifier: Arc<crate::files::verify::Verifier>,
    /// Running whole-file hashes of tus uploads (see `files/tus.rs`).
    pub tus_hashes: Arc<crate::files::tus::TusHashes>,
    /// HTTP Basic credentials verified lately (see `accounts/app_passwords.rs`).
    pub basic_cache: Arc<crate::accounts::app_passwords::BasicCache>,
    /// Thumbnails being made, so each is made once (see `files/thumbnails.rs`).
    pub thumbnailer: Arc<crate::files::thumbnails::Thumbnailer>,
    /// Routes served beside the API (the web app, mounted by the binary); `None` serves the API
    /// alone.
    pub front: Option<axum::Router>,
}

/// The key under which the generated token-signing secret is kept in the database.
const JWT_SECRET_SETTING: &str = "jwt_secret";

impl AppState {
    /// Resolves once the server starts shutting down.
    pub async fn drained(&self) {
        let mut draining = self.draining.subscribe();
        loop {
            if *draining.borrow_and_update() {
                return;
            }
            if draining.changed().await.is_err() {
                return std::future::pending().await;
            }
        }
    }

    /// Opens the stores named by `config` (running migrations) and loads or creates the signing key.
    pub async fn open(config: ServerConfig) -> anyhow::Result<AppState> {
        std::fs::create_dir_all(&config.data)?;
        let store = Store::open(&config.database_url(), config.db_max_connections).await?;
        let blobs = config.open_blobs()?;
        Self::with_stores(config, store, blobs).await
    }

    /// Builds the state over stores opened elsewhere (tests, admin commands).
    pub async fn with_stores(
        config: ServerConfig,
        store: Store,
        storage: Arc<ReplicatedStore>,
    ) -> anyhow::Result<AppState> {
        storage.set_ledger(Arc::new(crate::storage::ledger::StoreLedger::new(
            store.clone(),
        )));
        let blobs: Arc<dyn BlobStore> = storage.clone();
        let secret = match &config.jwt_secret {
            Some(secret) => secret.0.clone(),
            None => {
                store
                    .setting_or_init(JWT_SECRET_SETTING, &crate::accounts::tokens::random_token())
                    .await?
            }
        };
        let mut login_limiter = RateLimiter::new(config.login_window_secs);
        let decoy_hash =
            crate::accounts::password::hash(crate::accounts::tokens::random_token()).await?;
        let mut link_limiter = RateLimiter::new(config.login_window_secs);
        let mut actor_cache = None;
        if let Some(url) = &config.redis {
            // Redis makes the service better, never correct: without it, each server counts and
            // announces on its own (and through PostgreSQL).
            match crate::redis::Redis::connect(url, &config.redis_prefix).await {
                Ok(redis) => {
                    redis.fan_out(&store);
                    actor_cache = Some(crate::redis::ActorCache::start(redis.clone(), &store));
                    login_limiter = login_limiter.shared(redis.clone(), "login");
                    link_limiter = link_limiter.shared(redis, "link");
                }
                Err(error) => {
                    tracing::warn!("Redis at {url} is unreachable ({error}); going on without it")
                }
            }
        }
        let login_throttle = LoginThrottle::new(&config, login_limiter);
        let url_keys = vec![crate::sharing::signed::url_key(secret.as_bytes())];
        let transfers = crate::budget::TransferBudget::new(
            config.transfer_memory_bytes(),
            config.largest_transfer_lease(),
        );
        if transfers.limit() > config.transfer_memory_bytes() {
            tracing::warn!(
                "transfer_memory_mib raised to {} MiB: one chunk of max_chunk_bytes must fit",
                transfers.limit().div_ceil(1 << 20)
            );
        }
        Ok(AppState {
            store,
            blobs,
            storage,
            tokens: Arc::new(TokenKeys::new(secret.as_bytes())),
            config: Arc::new(config),
            login_throttle: Arc::new(login_throttle),
            decoy_hash: Arc::new(decoy_hash),
            link_limiter: Arc::new(link_limiter),
            url_keys: Arc::new(url_keys),
            draining: Arc::new(tokio::sync::watch::Sender::new(false)),
            actor_cache,
            transfers,
            verifier: Arc::default(),
            tus_hashes: Arc::default(),
            basic_cache: Arc::default(),
            thumbnailer: Arc::default(),
            front: None,
        })
    }
}
