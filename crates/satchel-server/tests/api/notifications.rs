//! Change notifications: the long poll and the WebSocket.

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::helpers::{TestApp, User, expect_json, expect_problem};

async fn latest(app: &TestApp, user: &User) -> String {
    let body = expect_json(
        app.get(user, "/api/v1/changes/latest").await,
        StatusCode::OK,
    )
    .await;
    body["cursor"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_poll_wakes_on_the_users_own_changes_only() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let bob = app.user("bob@example.org").await;
    let cursor = latest(&app, &ana).await;
    // Nothing happens: the wait times out.
    let idle = app
        .get(
            &ana,
            &format!("/api/v1/changes/wait?cursor={cursor}&timeout=1"),
        )
        .await;
    assert_eq!(expect_json(idle, StatusCode::OK).await["changed"], false);
    // Another user's change does not wake Ana; her own does.
    let waiting = {
        let client = app.client.clone();
        let url = app.url(&format!("/api/v1/changes/wait?cursor={cursor}&timeout=60"));
        let token = ana.token.clone();
        tokio::spawn(async move {
            client
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        })
    };
    app.mkdir(&bob, "root", "bobs").await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(
        !waiting.is_finished(),
        "another user's change woke the wait"
    );
    app.mkdir(&ana, "root", "hers").await;
    assert_eq!(waiting.await.unwrap()["changed"], true);
    // A cursor that is already behind answers at once.
    let behind = app
        .get(
            &ana,
            &format!("/api/v1/changes/wait?cursor={cursor}&timeout=60"),
        )
        .await;
    assert_eq!(expect_json(behind, StatusCode::OK).await["changed"], true);
    let bad = app.get(&ana, "/api/v1/changes/wait?cursor=nonsense").await;
    expect_problem(bad, StatusCode::BAD_REQUEST, "bad_request").await;
}

async fn connect(
    app: &TestApp,
    query_token: Option<&str>,
    header_token: Option<&str>,
) -> Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    tokio_tungstenite::tungstenite::Error,
> {
    let mut url = format!("ws://{}/api/v1/notifications", app.address);
    if let Some(token) = query_token {
        url.push_str(&format!("?access_token={token}"));
    }
    let mut request = url.into_client_request().unwrap();
    if let Some(token) = header_token {
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(socket, _)| socket)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_pushes_each_commit_with_a_cursor() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let bob = app.user("bob@example.org").await;
    let mut by_header = connect(&app, None, Some(&ana.token)).await.unwrap();
    let mut by_query = connect(&app, Some(&ana.token), None).await.unwrap();
    app.mkdir(&bob, "root", "not for ana").await;
    app.mkdir(&ana, "root", "for ana").await;
    for socket in [&mut by_header, &mut by_query] {
        let message = loop {
            match socket.next().await.unwrap().unwrap() {
                Message::Text(text) => break serde_json::from_str::<Value>(&text).unwrap(),
                _ => continue,
            }
        };
        assert_eq!(message["type"], "changed");
        // The cursor in the message is Ana's newest position: nothing after it is left to read.
        assert_eq!(
            message["cursor"].as_str().unwrap(),
            latest(&app, &ana).await
        );
    }
    let refused = connect(&app, Some("not-a-token"), None).await;
    assert!(refused.is_err(), "a bad token is refused at the handshake");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutting_down_ends_sockets_with_a_reconnect_hint_and_answers_long_polls() {
    let mut app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let cursor = latest(&app, &ana).await;
    let url = format!(
        "ws://{}/api/v1/notifications?access_token={}",
        app.address, ana.token
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let poll = tokio::spawn({
        let request = app.request(
            &ana,
            reqwest::Method::GET,
            &format!("/api/v1/changes/wait?cursor={cursor}&timeout=60"),
        );
        async move { request.send().await.unwrap() }
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    app.shut_down();
    let closed = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while let Some(message) = socket.next().await {
            if let Ok(Message::Close(Some(frame))) = message {
                return Some(u16::from(frame.code));
            }
        }
        None
    })
    .await
    .expect("the socket is closed promptly");
    assert_eq!(closed, Some(1012));
    let answered = tokio::time::timeout(std::time::Duration::from_secs(5), poll)
        .await
        .expect("the long poll answers promptly")
        .unwrap();
    let body = expect_json(answered, StatusCode::OK).await;
    assert_eq!(body["changed"], false);
}
