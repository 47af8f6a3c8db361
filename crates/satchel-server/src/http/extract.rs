//! Extractors that turn requests into checked values, answering bad input with problem documents.

use axum::body::Bytes;
use axum::extract::path::ErrorKind;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Multipart, Path, Query, Request};
use axum::http::header;
use axum::http::request::Parts;
use percent_encoding::percent_decode_str;
use satchel_meta::Actor;
use satchel_proto::{DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, NameError, NodeRef, ProblemCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::accounts::tokens::TokenError;
use crate::error::{ApiError, ApiResult, body_error};
use crate::redis::Cached;
use crate::state::AppState;

/// The authenticated caller, from `Authorization: Bearer <access token>` of a live session.
pub struct Authed(pub Actor);

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let token = bearer(&parts.headers).ok_or_else(|| {
            ApiError::new(
                ProblemCode::Unauthorized,
                "send Authorization: Bearer <access_token>",
            )
        })?;
        Ok(Authed(authenticate(state, token).await?.0))
    }
}

/// The token of an `Authorization: Bearer …` header.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
        })
        .map(str::trim)
}

/// Checks an access token and that its session is live; returns the actor and the token's expiry
/// (Unix seconds).
pub async fn authenticate(state: &AppState, token: &str) -> ApiResult<(Actor, i64)> {
    let claims = state
        .tokens
        .verify(token, chrono::Utc::now().timestamp())
        .map_err(|e| match e {
            TokenError::Expired => ApiError::new(
                ProblemCode::TokenExpired,
                "refresh it at /api/v1/auth/refresh",
            ),
            TokenError::Malformed | TokenError::BadSignature => {
                ApiError::new(ProblemCode::Unauthorized, "the access token is not valid")
            }
        })?;
    let cached = match &state.actor_cache {
        Some(cache) => cache.lookup(claims.sid).await,
        None => None,
    };
    if let Some(Cached::Hit(actor)) = &cached
        && actor.user_id == claims.sub
    {
        return Ok((actor.clone(), claims.exp));
    }
    let actor = state
        .store
        .session_actor(claims.sub, claims.sid)
        .await?
        .ok_or_else(|| ApiError::new(ProblemCode::Unauthorized, "the session has ended"))?;
    if let (Some(cache), Some(Cached::Miss(generation))) = (&state.actor_cache, cached) {
        cache.store(claims.sid, generation, &actor).await;
    }
    Ok((actor, claims.exp))
}

/// A JSON body, which is always an object in this API (a JSON array would otherwise fill a
/// struct's fields by position): anything else, malformed JSON or a missing `application/json`
/// type is `400 malformed_json`, a bad name inside it `400 invalid_name`, a body over the limit
/// `413 payload_too_large`.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> ApiResult<Self> {
        if !is_json(request.headers()) {
            return Err(ApiError::new(
                ProblemCode::MalformedJson,
                "send Content-Type: application/json",
            ));
        }
        let bytes = match Bytes::from_request(request, state).await {
            Ok(bytes) => bytes,
            Err(rejection) if rejection.status().as_u16() == 413 => {
                return Err(ApiError::new(
                    ProblemCode::PayloadTooLarge,
                    rejection.body_text(),
                ));
            }
            Err(rejection) => return Err(body_error(rejection)),
        };
        json_object(&bytes).map(ApiJson)
    }
}

/// Whether the request says its body is JSON (`application/json` or `application/…+json`).
fn is_json(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    let essence = essence.to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses a request body that must be a JSON object.
pub fn json_object<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    let first = bytes.iter().find(|byte| !byte.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Err(ApiError::new(
            ProblemCode::MalformedJson,
            "the body must be a JSON object",
        ));
    }
    match axum::Json::<T>::from_bytes(bytes) {
        Ok(axum::Json(value)) => Ok(value),
        Err(rejection) => Err(json_problem(rejection)),
    }
}

/// Whether a rejection's text is a [`NameError`] (serde reports it inside its own message).
fn names_a_bad_name(text: &str) -> bool {
    NameError::ALL.iter().any(|e| text.contains(&e.to_string()))
}

fn json_problem(rejection: JsonRejection) -> ApiError {
    let text = rejection.body_text();
    if names_a_bad_name(&text) {
        return ApiError::new(ProblemCode::InvalidName, text);
    }
    ApiError::new(ProblemCode::MalformedJson, text)
}

/// Query parameters; a malformed query is `400 bad_request`. A parameter that is not UTF-8 once
/// percent-decoded is refused (`400 invalid_name` for the ones that carry names), never repaired:
/// the form decoder underneath would replace the bad bytes with U+FFFD.
pub struct ApiQuery<T>(pub T);

/// Query parameters whose values are names or paths of names.
const NAME_PARAMETERS: [&str; 2] = ["name", "path"];

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<Self> {
        check_query_utf8(parts.uri.query().unwrap_or_default())?;
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(query_problem(rejection)),
        }
    }
}

/// Refuses a query whose keys or values are not UTF-8 once percent-decoded.
fn check_query_utf8(query: &str) -> ApiResult<()> {
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = percent_decode_str(key).decode_utf8().map_err(|_| {
            ApiError::new(
                ProblemCode::BadRequest,
                "a query parameter's name is not UTF-8",
            )
        })?;
        if percent_decode_str(value).decode_utf8().is_err() {
            let code = if NAME_PARAMETERS.contains(&key.as_ref()) {
                ProblemCode::InvalidName
            } else {
                ProblemCode::BadRequest
            };
            return Err(ApiError::new(code, format!("`{key}` is not UTF-8")));
        }
    }
    Ok(())
}

fn query_problem(rejection: QueryRejection) -> ApiError {
    let text = rejection.body_text();
    if names_a_bad_name(&text) {
        return ApiError::new(ProblemCode::InvalidName, text);
    }
    if text.contains("UUID or `root`") {
        return ApiError::new(ProblemCode::InvalidId, text);
    }
    ApiError::new(ProblemCode::BadRequest, text)
}

/// `?limit=&cursor=` of every list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Entries per page (default 500); outside 1–2000 is `400 bad_request`.
    #[serde(default, deserialize_with = "page_limit")]
    #[param(minimum = 1, maximum = 2000)]
    pub limit: Option<u32>,
    /// Where to continue: the previous page's `next_cursor`.
    #[param(pattern = r"^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
}

impl PageParams {
    /// The page size to use (the query was checked against the contract's bounds on parsing).
    pub fn limit(&self) -> u32 {
        self.limit
            .unwrap_or(DEFAULT_PAGE_LIMIT)
            .clamp(1, MAX_PAGE_LIMIT)
    }
}

/// Parses `?limit=`, refusing what is outside 1 to [`MAX_PAGE_LIMIT`] (a query parameter that
/// fails to parse is `400 bad_request`), so a client learns its page size was not what it asked.
pub(crate) fn page_limit<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u32>, D::Error> {
    let text = Option::<String>::deserialize(deserializer)?;
    let Some(text) = text else { return Ok(None) };
    match text.parse::<u32>() {
        Ok(limit) if (1..=MAX_PAGE_LIMIT).contains(&limit) => Ok(Some(limit)),
        _ => Err(serde::de::Error::custom(format!(
            "`limit` is a whole number from 1 to {MAX_PAGE_LIMIT}, not {text:?}"
        ))),
    }
}

/// Parses a byte count of a query: a whole number from 0 to 2^63 - 1 (what the document's int64
/// says), else `400 bad_request`.
pub fn query_int64<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u64>, D::Error> {
    let Some(text) = Option::<String>::deserialize(deserializer)? else {
        return Ok(None);
    };
    match text.parse::<u64>() {
        Ok(value) if value <= i64::MAX as u64 => Ok(Some(value)),
        _ => Err(serde::de::Error::custom(format!(
            "{text:?} is not a whole number from 0 to 2^63 - 1"
        ))),
    }
}

/// Path segments that carry names (`/s/{token}/{name}`): a segment that is not UTF-8 once
/// percent-decoded is `400 invalid_name`, any other mismatch `400 bad_request`.
pub struct NamePath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for NamePath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<Self> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(NamePath(value)),
            Err(PathRejection::FailedToDeserializePathParams(error))
                if matches!(error.kind(), ErrorKind::InvalidUtf8InPathParam { .. }) =>
            {
                Err(ApiError::new(
                    ProblemCode::InvalidName,
                    NameError::NotUtf8.to_string(),
                ))
            }
            Err(rejection) => Err(ApiError::new(
                ProblemCode::BadRequest,
                rejection.body_text(),
            )),
        }
    }
}

/// Parses a node id from a path segment: a UUID or `root`.
pub fn node_ref(text: &str) -> ApiResult<NodeRef> {
    text.parse()
        .map_err(|_| ApiError::new(ProblemCode::InvalidId, format!("{text:?} is not a node id")))
}

/// `If-Match` (quoted or bare), if sent.
pub fn if_match(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get(header::IF_MATCH)
        .and_then(|value| value.to_str().ok())
        .map(|value| value.trim().trim_matches('"').to_owned())
}

/// A `multipart/form-data` body; a request that is not one (no boundary, another type) is
/// `400 bad_request`.
pub struct ApiMultipart(pub Multipart);

impl<S: Send + Sync> FromRequest<S> for ApiMultipart {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> ApiResult<Self> {
        Multipart::from_request(request, state)
            .await
            .map(ApiMultipart)
            .map_err(|rejection| ApiError::new(ProblemCode::BadRequest, rejection.body_text()))
    }
}

/// Path segments that carry ids (or tokens): one that does not decode (not UTF-8 once
/// percent-decoded) is `400 invalid_id`, like an id that does not parse.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<Self> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| ApiPath(value))
            .map_err(|rejection| ApiError::new(ProblemCode::InvalidId, rejection.body_text()))
    }
}
