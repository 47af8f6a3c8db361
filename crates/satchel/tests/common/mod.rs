//! A `satchel serve` process for tests that need the real binary.

#![allow(
    dead_code,
    reason = "each test file uses a different part of this module"
)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A `satchel serve` process on a free port over `data`.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    pub fn start(data: &std::path::Path) -> Server {
        Server::start_at(data, "127.0.0.1:0")
    }

    /// A server on a given address (to restart one where its clients expect it).
    pub fn start_at(data: &std::path::Path, listen: &str) -> Server {
        Server::start_with(data, listen, &[])
    }

    /// A server with more flags (`--blob-node …`).
    pub fn start_with(data: &std::path::Path, listen: &str, extra: &[String]) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_satchel"));
        command
            .args(["serve", "--listen", listen, "--data"])
            .arg(data)
            .args(extra);
        if let Ok(url) = std::fs::read_to_string(data.join("test-db-url")) {
            command.args(["--database", url.trim()]);
        }
        if let Ok(url) = std::fs::read_to_string(data.join("test-blobs-url"))
            && !extra.iter().any(|arg| arg == "--blob-node")
        {
            command.args(["--blobs", url.trim()]);
        }
        let mut child = command
            .env("SATCHEL_LOG", "info")
            .env("NO_COLOR", "1")
            .stderr(Stdio::piped())
            .spawn()
            .expect("satchel starts");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let address = loop {
            let line = lines
                .next()
                .expect("the server logs its address")
                .expect("a log line");
            if let Some(rest) = line.split("address=").nth(1) {
                break rest
                    .split_whitespace()
                    .next()
                    .expect("an address")
                    .to_owned();
            }
        };
        // Keep draining the log so the server never blocks on a full pipe; errors are shown with
        // the test's output.
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if line.contains("ERROR") {
                    eprintln!("server: {line}");
                }
            }
        });
        Server {
            child,
            base: format!("http://{address}"),
        }
    }
}

/// The password of every test account.
pub const PASSWORD: &str = "correct horse battery";

impl Server {
    /// Creates the account `email` (password [`PASSWORD`]).
    pub async fn register(&self, email: &str) {
        let response = reqwest::Client::new()
            .post(format!("{}/api/v1/auth/register", self.base))
            .json(&serde_json::json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .expect("the server answers");
        assert_eq!(response.status(), 201, "registering {email}");
    }

    /// Signs `email` in and returns an access token.
    pub async fn login(&self, email: &str) -> String {
        let pair: serde_json::Value = reqwest::Client::new()
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&serde_json::json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .expect("the server answers")
            .json()
            .await
            .expect("a token pair");
        pair["access_token"]
            .as_str()
            .expect("an access token")
            .to_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A data folder for one test; with `SATCHEL_TEST_DATABASE_URL` set, also a fresh PostgreSQL
/// database that every server started on this folder uses.
pub async fn data_dir() -> tempfile::TempDir {
    let data = tempfile::tempdir().expect("a temporary folder");
    if let Ok(server) = std::env::var("SATCHEL_TEST_DATABASE_URL") {
        let server = server
            .rsplit_once('/')
            .map_or(server.as_str(), |(s, _)| s)
            .to_owned();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("time")
            .as_nanos();
        let url = format!("{server}/satchel_t_bin_{}_{nanos}", std::process::id());
        satchel_meta::create_postgres_database(&url)
            .await
            .expect("PostgreSQL is reachable");
        std::fs::write(data.path().join("test-db-url"), &url).expect("write");
    }
    // With `SATCHEL_TEST_BLOBS=s3://BUCKET?endpoint=…`, chunks go to that bucket under a prefix of
    // this test's own.
    if let Ok(url) = std::env::var("SATCHEL_TEST_BLOBS") {
        let (place, query) = url.split_once('?').unwrap_or((&url, ""));
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("time")
            .as_nanos();
        let prefixed = format!(
            "{}/t-{}-{nanos}?{query}",
            place.trim_end_matches('/'),
            std::process::id()
        );
        std::fs::write(data.path().join("test-blobs-url"), prefixed).expect("write");
    }
    data
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
