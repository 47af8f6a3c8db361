//! Sharing: folders shared between accounts (`shares`); with people who have no account, public
//! links (`links` for their owners, `public` for visitors) and signed download URLs (`signed`).

pub mod links;
pub mod public;
pub mod public_page;
pub mod public_wire;
pub mod shares;
pub mod signed;
pub mod zip;

use axum::http::{HeaderMap, header};

use crate::state::AppState;

/// The server's address as clients reach it: the configured `public_url`, else the request's
/// `Host` (with `X-Forwarded-Proto` when a proxy sets it).
pub fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.config.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .map_or_else(|| state.config.listen.to_string(), str::to_owned);
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .filter(|proto| *proto == "https")
        .unwrap_or("http");
    format!("{scheme}://{host}")
}
