//! `kill -9` in the middle of an upload: the restarted server shows no partial file and serves
//! everything committed before, byte for byte.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

/// A `satchel serve` process on a free port over `data`.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(data: &std::path::Path) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_satchel"));
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data);
        if let Ok(url) = std::env::var("SATCHEL_TEST_DATABASE_URL") {
            let url = std::fs::read_to_string(data.join("test-db-url")).unwrap_or(url);
            command.args(["--database", url.trim()]);
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
        // Keep draining the log so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Server {
            child,
            base: format!("http://{address}"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn login(client: &reqwest::Client, base: &str, register: bool) -> String {
    let body = json!({"email": "ana@example.org", "password": "correct horse battery"});
    if register {
        let response = client
            .post(format!("{base}/api/v1/auth/register"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    }
    let pair: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    pair["access_token"].as_str().unwrap().to_owned()
}

fn noise(len: usize, seed: u64) -> Vec<u8> {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_an_upload_loses_nothing_committed() {
    let data = tempfile::tempdir().unwrap();
    if let Ok(server) = std::env::var("SATCHEL_TEST_DATABASE_URL") {
        // One fresh PostgreSQL database shared by both server runs.
        let server = server
            .rsplit_once('/')
            .map_or(server.as_str(), |(s, _)| s)
            .to_owned();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let url = format!("{server}/satchel_t_crash_{}_{nanos}", std::process::id());
        satchel_meta::create_postgres_database(&url).await.unwrap();
        std::fs::write(data.path().join("test-db-url"), &url).unwrap();
    }
    let client = reqwest::Client::new();
    let committed = noise(3 * 1024 * 1024, 1);
    let first = Server::start(data.path());
    let token = login(&client, &first.base, true).await;
    let put = |name: &str| {
        client
            .put(format!(
                "{}/api/v1/files/content?parent_id=root&name={name}",
                first.base
            ))
            .bearer_auth(&token)
    };
    let response = put("kept.bin")
        .body(committed.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);

    // A 64 MiB upload that trickles in; the server dies after about 12 MiB arrived.
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    let upload = tokio::spawn(
        put("partial.bin")
            .header("content-length", (64 * 1024 * 1024).to_string())
            .body(reqwest::Body::wrap_stream(futures_util::stream::unfold(
                receiver,
                |mut r| async { r.recv().await.map(|item| (item, r)) },
            )))
            .send(),
    );
    for i in 0..12 {
        sender.send(Ok(noise(1024 * 1024, 100 + i))).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut first = first;
    first.child.kill().unwrap(); // SIGKILL
    first.child.wait().unwrap();
    drop(sender);
    let _ = upload.await; // the client sees the connection drop; its result does not matter here

    let second = Server::start(data.path());
    let token = login(&client, &second.base, false).await;
    let listing: Value = client
        .get(format!("{}/api/v1/folders/root/children", second.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = listing["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["kept.bin"], "no partial file is visible");
    let id = listing["entries"][0]["id"].as_str().unwrap();
    let bytes = client
        .get(format!("{}/api/v1/files/{id}/content", second.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(bytes == committed, "the committed file is served intact");
    let leftovers = std::fs::read_dir(data.path().join("chunks").join("tmp"))
        .unwrap()
        .count();
    assert_eq!(
        leftovers, 0,
        "temporary files of the dead upload are cleared at start"
    );
}
