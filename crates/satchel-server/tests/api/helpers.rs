//! `TestApp`: a running server and a client for it.

use std::net::SocketAddr;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use satchel_meta::Store;
use satchel_server::{AppState, ServerConfig};
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// A server started for one test.
pub struct TestApp {
    pub address: SocketAddr,
    pub client: reqwest::Client,
    pub state: AppState,
    _data: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
}

/// A signed-in user of a [`TestApp`].
#[derive(Clone)]
pub struct User {
    pub token: String,
    pub refresh: String,
}

/// The database URL for a new test: a fresh PostgreSQL database, or SQLite under `dir`.
async fn database_url(dir: &std::path::Path) -> String {
    match std::env::var("SATCHEL_TEST_DATABASE_URL") {
        Ok(server) if server.starts_with("postgres") => {
            let server = server.trim_end_matches('/');
            let server = server.rsplit_once('/').map_or(server, |(s, _)| s);
            let url = format!("{server}/satchel_t_{}", uuid::Uuid::now_v7().simple());
            satchel_meta::create_postgres_database(&url)
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL at {server} must be reachable: {e}"));
            url
        }
        _ => format!("sqlite://{}", dir.join("satchel.db").display()),
    }
}

/// With `SATCHEL_TEST_BLOBS=s3://BUCKET?endpoint=…` set, chunks go to that bucket, under a prefix of
/// this test's own; otherwise to the test's data folder.
pub fn test_blobs() -> Option<String> {
    let url = std::env::var("SATCHEL_TEST_BLOBS").ok()?;
    let (place, query) = url.split_once('?').unwrap_or((&url, ""));
    let place = place.trim_end_matches('/');
    Some(format!(
        "{place}/t-{}?{query}",
        uuid::Uuid::now_v7().simple()
    ))
}

impl TestApp {
    /// Starts a server with the default configuration.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Starts a server after `adjust` has changed its configuration.
    pub async fn spawn_with(adjust: impl FnOnce(&mut ServerConfig)) -> TestApp {
        Self::spawn_with_state(adjust, |_| {}).await
    }

    /// Starts a server after `adjust` has changed its configuration and `adjust_state` its state
    /// (to mount the web app, as the binary does).
    pub async fn spawn_with_state(
        adjust: impl FnOnce(&mut ServerConfig),
        adjust_state: impl FnOnce(&mut AppState),
    ) -> TestApp {
        Self::spawn_full(adjust, adjust_state, None).await
    }

    /// Starts a server whose chunks go to `storage` (storage nodes a test controls).
    pub async fn spawn_on(
        adjust: impl FnOnce(&mut ServerConfig),
        storage: std::sync::Arc<satchel_blob::ReplicatedStore>,
    ) -> TestApp {
        Self::spawn_full(adjust, |_| {}, Some(storage)).await
    }

    async fn spawn_full(
        adjust: impl FnOnce(&mut ServerConfig),
        adjust_state: impl FnOnce(&mut AppState),
        storage: Option<std::sync::Arc<satchel_blob::ReplicatedStore>>,
    ) -> TestApp {
        let data = tempfile::tempdir().expect("a temporary folder");
        let mut config = ServerConfig {
            data: data.path().to_path_buf(),
            ..ServerConfig::default()
        };
        config.database = Some(database_url(data.path()).await);
        config.blobs = test_blobs();
        adjust(&mut config);
        let store = Store::open(&config.database_url(), 8)
            .await
            .expect("the database opens");
        let blobs = match storage {
            Some(storage) => storage,
            None => config.open_blobs().expect("the chunk store opens"),
        };
        let mut state = AppState::with_stores(config, store, blobs)
            .await
            .expect("state");
        adjust_state(&mut state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let (stop, stopped) = oneshot::channel::<()>();
        let served = state.clone();
        tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
            };
            satchel_server::serve(served, listener, shutdown)
                .await
                .expect("serve");
        });
        TestApp {
            address,
            client: reqwest::Client::new(),
            state,
            _data: data,
            stop: Some(stop),
        }
    }

    /// Begins the server's graceful shutdown (as Ctrl-C would).
    pub fn shut_down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// A request with `user`'s access token.
    pub fn request(&self, user: &User, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(&user.token)
    }

    pub async fn get(&self, user: &User, path: &str) -> Response {
        self.request(user, Method::GET, path)
            .send()
            .await
            .expect("request")
    }

    pub async fn post(&self, user: &User, path: &str, body: Value) -> Response {
        self.request(user, Method::POST, path)
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    pub async fn patch(&self, user: &User, path: &str, body: Value) -> Response {
        self.request(user, Method::PATCH, path)
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    pub async fn delete(&self, user: &User, path: &str) -> Response {
        self.request(user, Method::DELETE, path)
            .send()
            .await
            .expect("request")
    }

    /// A request without credentials.
    pub async fn post_anonymous(&self, path: &str, body: Value) -> Response {
        self.client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    /// A sign-in attempt that a proxy forwarded for `client` (`X-Forwarded-For`).
    pub async fn login_from(&self, client: &str, email: &str, password: &str) -> Response {
        self.client
            .post(self.url("/api/v1/auth/login"))
            .header("x-forwarded-for", client)
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .expect("request")
    }

    /// Registers `email` and signs in.
    pub async fn user(&self, email: &str) -> User {
        let password = "correct horse battery";
        let body = json!({"email": email, "password": password});
        let response = self
            .post_anonymous("/api/v1/auth/register", body.clone())
            .await;
        assert_eq!(response.status(), StatusCode::CREATED, "register {email}");
        self.login(email, password).await
    }

    /// Signs in as an existing account.
    pub async fn login(&self, email: &str, password: &str) -> User {
        let response = self
            .post_anonymous(
                "/api/v1/auth/login",
                json!({"email": email, "password": password, "device_name": "test"}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK, "login {email}");
        let pair: Value = response.json().await.expect("json");
        User {
            token: pair["access_token"]
                .as_str()
                .expect("access token")
                .to_owned(),
            refresh: pair["refresh_token"]
                .as_str()
                .expect("refresh token")
                .to_owned(),
        }
    }

    /// Creates a folder, expecting success.
    pub async fn mkdir(&self, user: &User, parent: &str, name: &str) -> Value {
        let response = self
            .post(
                user,
                "/api/v1/folders",
                json!({"parent_id": parent, "name": name}),
            )
            .await;
        expect_json(response, StatusCode::CREATED).await
    }

    /// Uploads `bytes` as `parent/name`, expecting success.
    pub async fn upload(&self, user: &User, parent: &str, name: &str, bytes: Vec<u8>) -> Value {
        let response = self.put_content(user, parent, name, bytes).await;
        let status = response.status();
        assert!(
            status == StatusCode::CREATED || status == StatusCode::OK,
            "upload {name}: {status}"
        );
        response.json().await.expect("json")
    }

    /// `PUT /api/v1/files/content` with `bytes`.
    pub async fn put_content(
        &self,
        user: &User,
        parent: &str,
        name: &str,
        bytes: Vec<u8>,
    ) -> Response {
        self.request(user, Method::PUT, "/api/v1/files/content")
            .query(&[("parent_id", parent), ("name", name)])
            .body(bytes)
            .send()
            .await
            .expect("request")
    }

    /// Downloads a file's current content.
    pub async fn download(&self, user: &User, id: &str) -> Vec<u8> {
        let response = self.get(user, &format!("/api/v1/files/{id}/content")).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.bytes().await.expect("body").to_vec()
    }

    /// The names in a folder, in listing order.
    pub async fn names(&self, user: &User, folder: &str) -> Vec<String> {
        let response = self
            .get(user, &format!("/api/v1/folders/{folder}/children"))
            .await;
        let page = expect_json(response, StatusCode::OK).await;
        page["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .map(|e| e["name"].as_str().expect("name").to_owned())
            .collect()
    }
}

/// Asserts the status and returns the JSON body.
pub async fn expect_json(response: Response, status: StatusCode) -> Value {
    let actual = response.status();
    let body = response.text().await.expect("body");
    assert_eq!(actual, status, "unexpected status; body: {body}");
    serde_json::from_str(&body).unwrap_or(Value::Null)
}

/// Asserts a problem document with `status` and `code`.
pub async fn expect_problem(response: Response, status: StatusCode, code: &str) -> Value {
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = expect_json(response, status).await;
    assert_eq!(content_type, "application/problem+json");
    assert_eq!(body["code"], code, "problem: {body}");
    assert_eq!(body["status"], status.as_u16());
    body
}

/// Asserts `429 too_many_requests` whose `Retry-After` states the seconds its detail states;
/// returns them.
pub async fn expect_retry_after(response: Response) -> u64 {
    let header: u64 = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After header in seconds");
    let body = expect_problem(response, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
    let detail = body["detail"].as_str().expect("a detail");
    assert!(
        detail.contains(&format!(" {header} s")),
        "Retry-After: {header}, detail: {detail:?}"
    );
    header
}

/// Deterministic bytes that do not compress or repeat.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// The hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

pub fn id_of(node: &Value) -> String {
    node["id"].as_str().expect("id").to_owned()
}
