//! The transfer memory budget: with a budget far smaller than what many concurrent transfers would
//! hold on their own, they all complete with the right bytes (nobody waits forever), and the bytes
//! leased at once never exceed the budget.

use std::time::Duration;

use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, expect_json, id_of, noise, sha256_hex};

const MIB: usize = 1024 * 1024;

#[tokio::test]
async fn many_transfers_share_a_small_budget() {
    let app = TestApp::spawn_with(|config| {
        // Raised to the largest single lease: a streamed upload's buffer and one chunk (8 MiB).
        config.transfer_memory_mib = 1;
        config.max_chunk_bytes = 4 * MIB as u64;
    })
    .await;
    let budget = app.state.transfers.clone();
    assert_eq!(budget.limit(), 8 * MIB);
    let ana = app.user("ana@example.org").await;

    // 12 large uploads streamed without a length, 12 small ones with: ~70 MiB at once unbounded.
    let files: Vec<(String, Vec<u8>)> = (0..24)
        .map(|i| {
            let size = if i % 2 == 0 {
                5 * MIB + 123
            } else {
                300 * 1024
            };
            (format!("f{i}.bin"), noise(size, i as u64 + 1))
        })
        .collect();
    let uploads = files.iter().enumerate().map(|(i, (name, bytes))| {
        let request = app
            .request(&ana, Method::PUT, "/api/v1/files/content")
            .query(&[("parent_id", "root"), ("name", name.as_str())]);
        let request = if i % 2 == 0 {
            let pieces: Vec<Result<Vec<u8>, std::io::Error>> =
                bytes.chunks(64 * 1024).map(|p| Ok(p.to_vec())).collect();
            request.body(reqwest::Body::wrap_stream(futures_util::stream::iter(
                pieces,
            )))
        } else {
            request.body(bytes.clone())
        };
        async move { expect_json(request.send().await.unwrap(), StatusCode::CREATED).await }
    });
    let nodes = tokio::time::timeout(Duration::from_secs(120), join_all(uploads))
        .await
        .expect("every upload finishes");

    // A chunked upload whose chunks all arrive at once, and every file downloaded at once.
    let big = noise(6 * 3 * MIB, 99);
    let pieces: Vec<&[u8]> = big.chunks(3 * MIB).collect();
    let session = expect_json(
        app.post(
            &ana,
            "/api/v1/uploads",
            json!({"parent_id": "root", "name": "chunked.bin", "size": big.len(),
                "chunks": pieces.iter().map(|c| json!({"sha256": sha256_hex(c), "size": c.len()})).collect::<Vec<_>>()}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let upload = session["upload_id"].as_str().unwrap().to_owned();
    let sends = pieces.iter().enumerate().map(|(i, piece)| {
        app.request(
            &ana,
            Method::PUT,
            &format!("/api/v1/uploads/{upload}/chunks/{i}"),
        )
        .body(piece.to_vec())
        .send()
    });
    let ids: Vec<String> = nodes.iter().map(id_of).collect();
    let downloads = ids.iter().map(|id| app.download(&ana, id));
    let (sent, downloaded) = tokio::time::timeout(
        Duration::from_secs(120),
        futures_util::future::join(join_all(sends), join_all(downloads)),
    )
    .await
    .expect("every transfer finishes");
    for response in sent {
        assert_eq!(response.unwrap().status(), StatusCode::NO_CONTENT);
    }
    for ((name, bytes), got) in files.iter().zip(&downloaded) {
        assert!(got == bytes, "{name} came back different");
    }
    let node = expect_json(
        app.post(&ana, &format!("/api/v1/uploads/{upload}/commit"), json!({}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(node["sha256"], sha256_hex(&big));
    assert!(app.download(&ana, &id_of(&node)).await == big);

    assert!(
        budget.peak() <= budget.limit(),
        "{} bytes leased at once, over the budget of {}",
        budget.peak(),
        budget.limit()
    );
    assert!(budget.peak() >= 4 * MIB, "the transfers leased their room");
    // Everything is given back once the last response has been written.
    for _ in 0..100 {
        if budget.held() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(budget.held(), 0);
}
