//! The client's address: the one answer to "who is asking" for rate limits, link access logs and
//! anything else that cares where a request came from.
//!
//! It is the connection's peer unless the peer is one of the configured `trusted_proxies`; then it
//! is the right-most address of the forwarding chain that is not a trusted proxy (each proxy appends
//! the address it heard from, so everything left of the first untrusted hop may be made up by the
//! client). The chain is `X-Forwarded-For`, or `Forwarded: for=` (RFC 7239). A request carrying both
//! is ambiguous — a proxy maintains one of them and the client may have written the other — so it
//! is taken as coming from the peer itself: that way no header a client writes can choose the
//! address its requests count against. An entry that is not an address (`unknown`, an obfuscated
//! name, garbage) ends the walk at the last hop that was one.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;

use crate::config::IpRange;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The client's address (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let ConnectInfo(peer) = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .copied()
            .ok_or_else(|| ApiError::internal("served without the peer's address"))?;
        Ok(ClientAddr(client_ip(
            peer.ip(),
            &parts.headers,
            &state.config.trusted_proxies,
        )))
    }
}

/// The client behind a request from `peer` with `headers`, believing forwarding headers only from
/// `trusted` proxies.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpRange]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|range| range.contains(ip));
    let mut client = peer.to_canonical();
    if !is_trusted(client) {
        return client;
    }
    let Some(chain) = forwarding_chain(headers) else {
        return client;
    };
    for hop in chain.iter().rev() {
        let Some(hop) = hop else { break };
        client = *hop;
        if !is_trusted(client) {
            break;
        }
    }
    client
}

/// The hops a request passed, the original client first (`None` for an entry that is no
/// address); `None` when there is no chain, or two that disagree in kind.
fn forwarding_chain(headers: &HeaderMap) -> Option<Vec<Option<IpAddr>>> {
    let values = |name: &str| -> Vec<&str> {
        headers
            .get_all(name)
            .iter()
            .map(|value| value.to_str().unwrap_or("garbage"))
            .collect()
    };
    let (forwarded_for, forwarded) = (values("x-forwarded-for"), values("forwarded"));
    match (forwarded_for.is_empty(), forwarded.is_empty()) {
        (false, true) => Some(
            forwarded_for
                .iter()
                .flat_map(|value| value.split(','))
                .map(node_address)
                .collect(),
        ),
        (true, false) => Some(
            forwarded
                .iter()
                .flat_map(|value| value.split(','))
                .map(forwarded_for_of)
                .collect(),
        ),
        _ => None,
    }
}

/// The `for=` of one `Forwarded` element (`for=192.0.2.60;proto=http;by=203.0.113.43`).
fn forwarded_for_of(element: &str) -> Option<IpAddr> {
    element
        .split(';')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| key.trim().eq_ignore_ascii_case("for"))
        .and_then(|(_, value)| node_address(value))
}

/// An address from a forwarding entry: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`,
/// `"[2001:db8::1]:4711"`.
fn node_address(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_matches('"');
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    let host = match text.strip_prefix('[') {
        Some(rest) => rest.split_once(']')?.0,
        None => text.split_once(':')?.0,
    };
    host.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    fn trusted(ranges: &[&str]) -> Vec<IpRange> {
        ranges.iter().map(|r| r.parse().unwrap()).collect()
    }

    #[test]
    fn headers_count_only_from_trusted_proxies() {
        let spoofed = headers(&[("x-forwarded-for", "198.51.100.1")]);
        assert_eq!(
            client_ip(ip("203.0.113.5"), &spoofed, &[]),
            ip("203.0.113.5")
        );
        let proxies = trusted(&["10.0.0.0/8"]);
        assert_eq!(
            client_ip(ip("203.0.113.5"), &spoofed, &proxies),
            ip("203.0.113.5")
        );
        assert_eq!(
            client_ip(ip("10.0.0.2"), &spoofed, &proxies),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let proxies = trusted(&["10.0.0.0/8", "fd00::/8"]);
        let chain = headers(&[
            ("x-forwarded-for", "1.1.1.1, 198.51.100.7"),
            ("x-forwarded-for", "10.0.0.9"),
        ]);
        assert_eq!(
            client_ip(ip("10.0.0.2"), &chain, &proxies),
            ip("198.51.100.7")
        );
        let all_trusted = headers(&[("x-forwarded-for", "10.1.1.1, 10.0.0.9")]);
        assert_eq!(
            client_ip(ip("10.0.0.2"), &all_trusted, &proxies),
            ip("10.1.1.1")
        );
        let garbage = headers(&[("x-forwarded-for", "198.51.100.7, unknown, 10.0.0.9")]);
        assert_eq!(
            client_ip(ip("10.0.0.2"), &garbage, &proxies),
            ip("10.0.0.9")
        );
        let mapped = headers(&[("x-forwarded-for", "::ffff:198.51.100.8")]);
        assert_eq!(
            client_ip(ip("fd00::1"), &mapped, &proxies),
            ip("198.51.100.8")
        );
    }

    #[test]
    fn forwarded_is_read_and_ambiguity_falls_back_to_the_peer() {
        let proxies = trusted(&["10.0.0.0/8"]);
        let forwarded = headers(&[(
            "forwarded",
            r#"for=192.0.2.43, for="[2001:db8:cafe::17]:4711";proto=https, for=10.0.0.3:80"#,
        )]);
        assert_eq!(
            client_ip(ip("10.0.0.2"), &forwarded, &proxies),
            ip("2001:db8:cafe::17")
        );
        let both = headers(&[
            ("forwarded", "for=192.0.2.43"),
            ("x-forwarded-for", "198.51.100.7"),
        ]);
        assert_eq!(client_ip(ip("10.0.0.2"), &both, &proxies), ip("10.0.0.2"));
    }
}
