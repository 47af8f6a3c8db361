//! Several `satchel serve` processes on one PostgreSQL database and one chunk store behave as one
//! service. Runs when `SATCHEL_TEST_DATABASE_URL` names a PostgreSQL server (as `.ci/run` does);
//! on the embedded default there is nothing to share.

mod common;

use std::time::Duration;

use common::{Server, noise};
use futures_util::StreamExt;
use serde_json::{Value, json};
use sha2::Digest;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_database_notify_and_resume_each_others_work() {
    if !std::env::var("SATCHEL_TEST_DATABASE_URL").is_ok_and(|url| url.starts_with("postgres")) {
        eprintln!("skipped: set SATCHEL_TEST_DATABASE_URL to a PostgreSQL server");
        return;
    }
    let data = common::data_dir().await;
    let one = Server::start(data.path());
    let two = Server::start(data.path());
    let http = reqwest::Client::new();
    one.register("ana@example.org").await;
    // A token from one server works on the other (the signing key lives in the database).
    let token = one.login("ana@example.org").await;

    // A client listening on server 1 hears a change made through server 2. Only a message that
    // carries a cursor past `before` counts: server 1 can only have learnt of that change from
    // server 2's announcement (whatever else a socket may receive, such as an announcement of the
    // registration arriving late, carries `before` or earlier).
    let latest = |server: &Server| {
        let request = http
            .get(format!("{}/api/v1/changes/latest", server.base))
            .bearer_auth(&token);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap()["cursor"].clone() }
    };
    let before = latest(&one).await;
    let url = format!(
        "{}/api/v1/notifications?access_token={token}",
        one.base.replacen("http", "ws", 1)
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let made = http
        .post(format!("{}/api/v1/folders", two.base))
        .bearer_auth(&token)
        .json(&json!({"parent_id": "root", "name": "made on two"}))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201);
    let after = latest(&two).await;
    assert_ne!(before, after, "the folder moved the journal on");
    let heard = tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(message) = socket.next().await {
            if let Message::Text(text) = message.unwrap() {
                let message: Value = serde_json::from_str(&text).unwrap();
                if message["type"] == "changed" && message["cursor"] == after {
                    return true;
                }
            }
        }
        false
    })
    .await;
    assert_eq!(
        heard,
        Ok(true),
        "server 1 sent no notification carrying the commit made on server 2 within 2 s"
    );

    // An upload begun on server 1 is finished and committed on server 2 after server 1 dies.
    let bytes = noise(3 << 20, 5);
    let halves = [&bytes[..1 << 20], &bytes[1 << 20..]];
    let sha = |b: &[u8]| hex_of(&sha2::Sha256::digest(b));
    let init: Value = http
        .post(format!("{}/api/v1/uploads", one.base))
        .bearer_auth(&token)
        .json(&json!({
            "parent_id": "root", "name": "both.bin", "size": bytes.len(), "sha256": sha(&bytes),
            "chunks": halves.iter().map(|h| json!({"sha256": sha(h), "size": h.len()})).collect::<Vec<_>>(),
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let upload = init["upload_id"].as_str().unwrap().to_owned();
    for (index, (server, half)) in [(&one, halves[0]), (&two, halves[1])]
        .into_iter()
        .enumerate()
    {
        if index == 1 {
            // Server 1 is killed (SIGKILL) between the two chunks.
            std::process::Command::new("kill")
                .args(["-9", &one.child.id().to_string()])
                .status()
                .unwrap();
        }
        let sent = http
            .put(format!(
                "{}/api/v1/uploads/{upload}/chunks/{index}",
                server.base
            ))
            .bearer_auth(&token)
            .body(half.to_vec())
            .send()
            .await
            .unwrap();
        assert!(
            sent.status().is_success(),
            "chunk {index}: {}",
            sent.status()
        );
    }
    let status: Value = http
        .get(format!("{}/api/v1/uploads/{upload}", two.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["missing"], json!([]), "{status}");
    let committed = http
        .post(format!("{}/api/v1/uploads/{upload}/commit", two.base))
        .bearer_auth(&token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(committed.status(), 201);
    let node: Value = committed.json().await.unwrap();
    let fetched = http
        .get(format!(
            "{}/api/v1/files/{}/content",
            two.base,
            node["id"].as_str().unwrap()
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(fetched.as_ref() == bytes.as_slice());
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
