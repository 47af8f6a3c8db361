//! Accepting connections, with the limits a server facing the internet needs: a cap on open
//! connections (one permit each, taken before `accept`, so past the cap new clients wait in the
//! kernel's backlog instead of exhausting file descriptors), a time limit on reading a request's
//! headers (a client that never finishes them is dropped), and `TCP_NODELAY`. The idle-body limit
//! is a layer on the router (`http/mod.rs`): it only runs while a handler waits for body bytes, so
//! slow uploads that keep moving, long polls and quiet WebSockets are never cut. Requests hyper
//! cannot parse (`400`, `414`, `431`) are answered with problem documents (`parse_errors.rs`).
//!
//! Shutdown: stop accepting, let the caller's drain signal end sockets and long polls, then wait
//! for the connections still serving requests.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::Service;
use tower_http::timeout::TimeoutBody;

use crate::parse_errors::ProblemAnswers;

/// The most a connection buffers of what it reads (headers must fit in it).
const READ_BUFFER: usize = 64 * 1024;

/// How connections are accepted and limited.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    /// How long a request body may go without a byte while a handler waits for one.
    pub body_idle_timeout: Duration,
}

/// Serves `app` on `listener` until `shutdown` resolves, then waits for open connections.
pub async fn run(
    listener: TcpListener,
    app: axum::Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let max = limits.max_connections.max(1);
    let permits = Arc::new(Semaphore::new(max));
    let (closing, _) = tokio::sync::watch::channel(false);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        // hyper's read buffer grows to ~400 KiB per connection by default; 64 KiB keeps two
        // hundred busy connections to ~13 MiB and still reads an upload in large pieces.
        .max_buf_size(READ_BUFFER)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = permits.clone().acquire_owned() => permit.map_err(std::io::Error::other)?,
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors or a connection reset before accept: not fatal.
                    tracing::warn!("accept: {error}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // Responses often go out in more than one write (headers, then a streamed body): without
        // TCP_NODELAY, Nagle's algorithm holds the second until the client's delayed ACK.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!("TCP_NODELAY: {error}");
        }
        let idle = limits.body_idle_timeout;
        let app = app.clone();
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            let mut request = request.map(|body| TimeoutBody::new(idle, body));
            request
                .extensions_mut()
                .insert(ConnectInfo::<SocketAddr>(peer));
            let mut app = app.clone();
            async move { app.call(request).await }
        });
        let connection = http
            .serve_connection(TokioIo::new(ProblemAnswers::new(stream)), service)
            .with_upgrades();
        let mut closing = closing.subscribe();
        tokio::spawn(async move {
            tokio::pin!(connection);
            let result = tokio::select! {
                result = &mut connection => result,
                _ = async { closing.wait_for(|closing| *closing).await.is_ok() } => {
                    // Finish the request in flight (if any), then close.
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(error) = result {
                tracing::debug!("connection from {peer}: {error}");
            }
            drop(permit);
        });
    }
    drop(listener);
    closing.send_replace(true);
    // Every connection gives its permit back when it ends.
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    let _ = permits.acquire_many(all).await;
    Ok(())
}

/// A cap on connections that leaves room under the process's open-file limit for the database,
/// chunk files and the listener (Linux: read from `/proc/self/limits`; 1,024 elsewhere).
pub fn default_max_connections() -> usize {
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            limits
                .lines()
                .find(|line| line.starts_with("Max open files"))
                .and_then(|line| line.split_whitespace().nth(3)?.parse::<usize>().ok())
        })
        .unwrap_or(1024);
    soft.saturating_sub(256).max(64)
}
