//! The one page that lists every route, plus health, readiness, the OpenAPI document and its page.

pub mod client_addr;
pub mod extract;
pub mod openapi;

use axum::Json;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use satchel_proto::ProblemCode;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use self::openapi::ApiDoc;
use crate::error::ApiError;
use crate::state::AppState;
use crate::{accounts, files, sharing, storage, sync};

/// Every route of the API, and the OpenAPI document generated from their annotations.
fn api(state: &AppState) -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    let uploads = OpenApiRouter::new()
        .routes(routes!(files::content::put_by_name))
        .routes(routes!(files::content::put_by_id, files::content::download))
        .routes(routes!(files::content::post_multipart))
        .routes(routes!(files::uploads::put_chunk))
        .layer(DefaultBodyLimit::disable());
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(accounts::register))
        .routes(routes!(accounts::login))
        .routes(routes!(accounts::refresh))
        .routes(routes!(accounts::logout))
        .routes(routes!(accounts::me))
        .routes(routes!(accounts::list_sessions))
        .routes(routes!(accounts::revoke_session))
        .routes(routes!(accounts::change_password))
        .routes(routes!(
            accounts::admin::list_users,
            accounts::admin::create_user
        ))
        .routes(routes!(accounts::admin::patch_user))
        .routes(routes!(accounts::admin::reset_password))
        .routes(routes!(accounts::admin::stats))
        .routes(routes!(
            accounts::app_passwords::create_app_password,
            accounts::app_passwords::list_app_passwords
        ))
        .routes(routes!(accounts::app_passwords::revoke_app_password))
        .routes(routes!(accounts::browser::web_login))
        .routes(routes!(accounts::browser::web_refresh))
        .routes(routes!(accounts::browser::web_logout))
        .routes(routes!(accounts::browser::server_info))
        .routes(routes!(files::nodes::create_folder))
        .routes(routes!(files::nodes::children))
        .routes(routes!(files::nodes::node_by_path))
        .routes(routes!(
            files::nodes::get_node,
            files::nodes::patch_node,
            files::nodes::trash_node
        ))
        .routes(routes!(files::nodes::copy_node))
        .routes(routes!(files::nodes::restore_node))
        .routes(routes!(files::nodes::list_trash))
        .routes(routes!(files::nodes::purge_node))
        .routes(routes!(files::nodes::search))
        .routes(routes!(files::content::versions))
        .routes(routes!(files::content::restore_version))
        .routes(routes!(files::content::chunks))
        .routes(routes!(files::thumbnails::thumbnail))
        .routes(routes!(files::zip_urls::create_zip_url))
        .routes(routes!(files::zip_urls::zip_download))
        .routes(routes!(files::uploads::init))
        .routes(routes!(files::uploads::status, files::uploads::abort))
        .routes(routes!(files::uploads::commit))
        .routes(routes!(files::uploads::append))
        .routes(routes!(files::uploads::get_chunk))
        .routes(routes!(sync::changes))
        .routes(routes!(sync::latest))
        .routes(routes!(sync::notify::wait))
        .routes(routes!(sync::notify::notifications))
        .routes(routes!(
            sharing::links::create_link,
            sharing::links::list_links
        ))
        .routes(routes!(
            sharing::links::patch_link,
            sharing::links::delete_link
        ))
        .routes(routes!(sharing::links::link_accesses))
        .routes(routes!(
            sharing::shares::create_share,
            sharing::shares::list_shares
        ))
        .routes(routes!(
            sharing::shares::patch_share,
            sharing::shares::delete_share
        ))
        .routes(routes!(sharing::signed::download_url))
        .routes(routes!(sharing::signed::signed_download))
        .routes(routes!(sharing::signed::list_download_urls))
        .routes(routes!(sharing::signed::revoke_download_url))
        .routes(routes!(storage::log::storage_log))
        .layer(DefaultBodyLimit::max(state.config.max_json_bytes))
        .merge(uploads)
        .split_for_parts()
}

/// The whole HTTP application over `state`.
pub fn router(state: AppState) -> axum::Router {
    let (api, openapi) = api(&state);
    let openapi = openapi::complete(openapi);
    let openapi_json = serde_json::to_string(&openapi).unwrap_or_default();
    let front = state.front.clone().unwrap_or_default();
    api.route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route(
            "/api/v1/openapi.json",
            get(move || async move { ([("content-type", "application/json")], openapi_json.clone()) }),
        )
        .route("/api/docs", get(|| async { Html(DOCS_PAGE) }))
        .merge(public_links())
        .merge(files::tus::router())
        .merge(dav())
        .with_state(state)
        .merge(front)
        .fallback(|| async { ApiError::new(ProblemCode::NotFound, "no such route") })
        .method_not_allowed_fallback(|| async { ApiError::bare(ProblemCode::MethodNotAllowed) })
        .layer(TraceLayer::new_for_http())
}

/// `/s/{token}…`: what public links show visitors. Routed here by hand because `{*path}` takes
/// several segments; `openapi.rs` adds their annotations to the document.
fn public_links() -> axum::Router<AppState> {
    use sharing::public;
    axum::Router::new()
        .route(
            "/s/{token}",
            get(public::get_link).post(public::post_to_link),
        )
        .route(
            "/s/{token}/{*path}",
            get(public::get_in_link).put(public::put_to_link),
        )
        .layer(DefaultBodyLimit::disable())
}

/// `/dav/…`: WebDAV (outside the OpenAPI document: its methods and bodies are RFC 4918's).
fn dav() -> axum::Router<AppState> {
    use axum::routing::any;
    axum::Router::new()
        .route("/dav", any(crate::dav::handle))
        .route("/dav/", any(crate::dav::handle))
        .route("/dav/{*path}", any(crate::dav::handle))
        .layer(DefaultBodyLimit::disable())
}

/// Ready when the database answers and the chunk store takes writes.
async fn ready(State(state): State<AppState>) -> Response {
    if *state.draining.borrow() {
        let body = serde_json::json!({"status": "draining"});
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    }
    let database = state.store.ping().await;
    let blobs = state.blobs.check().await;
    match (database, blobs) {
        (Ok(()), Ok(())) => {
            (StatusCode::OK, Json(serde_json::json!({"status": "ready"}))).into_response()
        }
        (database, blobs) => {
            let body = serde_json::json!({
                "status": "unavailable",
                "database": database.err().map(|e| e.to_string()),
                "blobs": blobs.err().map(|e| e.to_string()),
            });
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
    }
}

/// A self-contained page that renders the OpenAPI document (no CDN: servers may be offline).
const DOCS_PAGE: &str = include_str!("docs.html");
