//! Sessions for the web app, and what it may ask before anyone signs in.
//!
//! The app keeps its access token in memory only. The refresh token lives in a cookie scripts
//! cannot read (`HttpOnly`), sent only to these endpoints (`Path=/api/v1/auth/web`), never on a
//! request started by another site (`SameSite=Strict`), and `Secure` when the server's public URL
//! is `https://`. These endpoints are the only ones that read it, and each refuses (`403
//! cross_site_request`) a request without the `X-Satchel-CSRF: 1` header — which another site's
//! page cannot add without a CORS preflight this server never grants — or whose `Origin` or
//! `Sec-Fetch-Site` says it came from elsewhere. Behind them run the ordinary login, refresh
//! (rotation, reuse detection) and logout handlers: the JSON API is unchanged.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use satchel_proto::{
    LoginRequest, Problem, ProblemCode, RefreshRequest, ServerInfo, TokenPair, WebSession,
};

use crate::accounts::tokens::REFRESH_TTL_DAYS;
use crate::config::Registration;
use crate::error::{ApiError, ApiResult};
use crate::http::client_addr::ClientAddr;
use crate::http::extract::ApiJson;
use crate::state::AppState;

/// The cookie that holds a browser's refresh token.
pub const COOKIE: &str = "satchel_refresh";
/// The only path the cookie is sent to.
pub const COOKIE_PATH: &str = "/api/v1/auth/web";
/// The header the app adds to every request that reads the cookie.
pub const CSRF_HEADER: &str = "x-satchel-csrf";

/// Sign in from the web app: the access token in the body, the refresh token in the cookie.
#[utoipa::path(post, path = "/api/v1/auth/web/login", tag = "accounts", request_body = LoginRequest,
    params(("X-Satchel-CSRF" = String, Header, description = "`1`")),
    responses((status = 200, body = WebSession, description = "sets the `satchel_refresh` cookie"),
        (status = 401, description = "bad_credentials", body = Problem),
        (status = 403, description = "cross_site_request", body = Problem)))]
pub async fn web_login(
    State(state): State<AppState>,
    address: ClientAddr,
    headers: HeaderMap,
    request: ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    same_origin(&state, &headers)?;
    let Json(pair) = super::login(State(state.clone()), address, request).await?;
    Ok(session(&state, pair))
}

/// Trade the cookie's refresh token for a new access token; the cookie is rotated. A failure
/// clears the cookie.
#[utoipa::path(post, path = "/api/v1/auth/web/refresh", tag = "accounts",
    params(("X-Satchel-CSRF" = String, Header, description = "`1`")),
    responses((status = 200, body = WebSession, description = "rotates the `satchel_refresh` cookie"),
        (status = 401, description = "unauthorized, token_reused", body = Problem),
        (status = 403, description = "cross_site_request", body = Problem)))]
pub async fn web_refresh(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    same_origin(&state, &headers)?;
    let Some(refresh_token) = cookie(&headers) else {
        return Err(ApiError::new(ProblemCode::Unauthorized, "no session"));
    };
    let request = ApiJson(RefreshRequest { refresh_token });
    match super::refresh(State(state.clone()), request).await {
        Ok(Json(pair)) => Ok(session(&state, pair)),
        Err(error) => Ok(with_cookie(error.into_response(), &clear_cookie(&state))),
    }
}

/// End the cookie's session and clear the cookie.
#[utoipa::path(post, path = "/api/v1/auth/web/logout", tag = "accounts",
    params(("X-Satchel-CSRF" = String, Header, description = "`1`")),
    responses((status = 204, description = "clears the `satchel_refresh` cookie"),
        (status = 403, description = "cross_site_request", body = Problem)))]
pub async fn web_logout(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    same_origin(&state, &headers)?;
    if let Some(refresh_token) = cookie(&headers) {
        super::logout(
            State(state.clone()),
            ApiJson(RefreshRequest { refresh_token }),
        )
        .await?;
    }
    Ok(with_cookie(
        StatusCode::NO_CONTENT.into_response(),
        &clear_cookie(&state),
    ))
}

/// Whether anyone may sign up, and the server's version (public: the sign-in page asks).
#[utoipa::path(get, path = "/api/v1/server-info", tag = "accounts",
    responses((status = 200, body = ServerInfo)))]
pub async fn server_info(State(state): State<AppState>) -> Json<ServerInfo> {
    Json(ServerInfo {
        registration_open: state.config.registration == Registration::Open,
        version: env!("CARGO_PKG_VERSION").to_owned(),
    })
}

/// Refuses a request another site could have made: without the app's header, or with an
/// `Origin` or `Sec-Fetch-Site` naming another origin.
fn same_origin(state: &AppState, headers: &HeaderMap) -> ApiResult<()> {
    let refuse = |why: &str| Err(ApiError::new(ProblemCode::CrossSiteRequest, why.to_owned()));
    if header_text(headers, CSRF_HEADER) != Some("1") {
        return refuse("send X-Satchel-CSRF: 1");
    }
    if let Some(site) = header_text(headers, "sec-fetch-site")
        && site != "same-origin"
        && site != "none"
    {
        return refuse("the request came from another site");
    }
    if let Some(origin) = header_text(headers, header::ORIGIN.as_str())
        && !is_own_origin(state, headers, origin)
    {
        return refuse("the request came from another origin");
    }
    Ok(())
}

/// Whether `origin` is this server: the public URL's, or the `Host` the request was sent to.
fn is_own_origin(state: &AppState, headers: &HeaderMap, origin: &str) -> bool {
    if let Some(public) = &state.config.public_url {
        return origin == public.trim_end_matches('/');
    }
    let authority = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    authority.is_some() && authority == header_text(headers, header::HOST.as_str())
}

fn header_text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// The refresh token of the request's cookie.
fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
        .filter(|value| !value.is_empty())
}

/// The answer to a login or refresh: the pair without its refresh token, which goes to the cookie.
fn session(state: &AppState, pair: TokenPair) -> Response {
    let cookie = cookie_value(state, &pair.refresh_token, REFRESH_TTL_DAYS * 24 * 3600);
    let body = WebSession {
        access_token: pair.access_token,
        expires_in: pair.expires_in,
        user: pair.user,
    };
    let mut response = with_cookie(Json(body).into_response(), &cookie);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn clear_cookie(state: &AppState) -> String {
    cookie_value(state, "", 0)
}

fn cookie_value(state: &AppState, token: &str, max_age: i64) -> String {
    let secure = state
        .config
        .public_url
        .as_deref()
        .is_some_and(|url| url.starts_with("https://"));
    format!(
        "{COOKIE}={token}; Path={COOKIE_PATH}; Max-Age={max_age}; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}
