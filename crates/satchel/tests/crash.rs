//! `kill -9` in the middle of an upload: the restarted server shows no partial file and serves
//! everything committed before, byte for byte.

mod common;

use std::time::Duration;

use common::{Server, noise};

use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_an_upload_loses_nothing_committed() {
    let data = common::data_dir().await;
    let client = reqwest::Client::new();
    let committed = noise(3 * 1024 * 1024, 1);
    let first = Server::start(data.path());
    first.register("ana@example.org").await;
    let token = first.login("ana@example.org").await;
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
    let token = second.login("ana@example.org").await;
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
    if std::env::var("SATCHEL_TEST_BLOBS").is_err() {
        // On local disk (a bucket has no temporary files: a PUT is whole or absent).
        let leftovers = std::fs::read_dir(data.path().join("chunks").join("tmp"))
            .unwrap()
            .count();
        assert_eq!(
            leftovers, 0,
            "temporary files of the dead upload are cleared at start"
        );
    }
}
