//! The OpenAPI document: the annotations on each handler, plus one pass over the whole document
//! ([`complete`]) that declares the errors every operation shares, so the document cannot forget
//! an answer the server gives.
//!
//! Invariants the pass keeps:
//! - every error answer is `application/problem+json` with the `Problem` schema (annotations that
//!   name `Problem` are moved there; an error status without a body gets it);
//! - an operation with parameters or a body declares `400` (`bad_request`, `invalid_id`,
//!   `invalid_name`, `malformed_json`…), and `404` (an id or a name that the caller cannot see);
//! - an operation with a bearer token declares `401` (`unauthorized`, `token_expired`), and
//!   one that changes something also `403 read_only` (a folder shared with `view` access);
//! - an operation with a body declares `408 request_timeout` and `413 payload_too_large`;
//! - an operation that changes something, or names a node in its path, declares `409` (the
//!   node's state: `name_conflict`, `not_a_file`, `trashed`, `root_immutable`…);
//! - every operation declares `500 internal` and `503 unavailable`.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr};
use utoipa::{Modify, OpenApi as _};

use crate::sharing::public;

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Satchel API", version = "1", description = "A self-hosted Dropbox: files, versions, sync."),
    modifiers(&BearerAuth),
    components(schemas(
        satchel_proto::Problem,
        satchel_proto::ProblemCode,
        crate::sharing::shares::DirectionName,
        satchel_proto::WriteModeName
    ))
)]
pub struct ApiDoc;

/// The public link pages, routed by hand (their `{*path}` takes several segments).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        public::get_link,
        public::post_to_link,
        public::get_in_link,
        public::put_to_link
    ),
    components(schemas(crate::sharing::public_wire::ZipDownload))
)]
struct PublicDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

const PROBLEM_JSON: &str = "application/problem+json";

/// The shared error answers: `(status, name in components.responses, description)`.
const SHARED: [(&str, &str, &str); 9] = [
    (
        "400",
        "BadRequest",
        "bad_request, invalid_id, invalid_name, malformed_json (or a code of the operation)",
    ),
    ("401", "Unauthorized", "unauthorized, token_expired"),
    (
        "403",
        "ReadOnly",
        "read_only: the node is in a folder shared with view access",
    ),
    (
        "404",
        "NotFound",
        "not_found: no such node, or not one the caller can see",
    ),
    (
        "409",
        "Conflict",
        "name_conflict, not_a_file, not_a_folder, trashed, root_immutable, cycle… (the node's state \
         does not allow it)",
    ),
    (
        "408",
        "RequestTimeout",
        "request_timeout: the body stopped arriving",
    ),
    (
        "413",
        "PayloadTooLarge",
        "payload_too_large (or quota_exceeded)",
    ),
    ("500", "Internal", "internal"),
    ("503", "Unavailable", "unavailable: retry shortly"),
];

/// A response whose body is a problem document.
fn problem(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(PROBLEM_JSON, Content::new(Some(problem_schema())))
        .build()
}

fn problem_schema() -> Ref {
    Ref::from_schema_name("Problem")
}

/// The whole document: `api` (generated from the routes) with the public pages and the shared
/// error answers declared on every operation.
pub fn complete(mut api: OpenApi) -> OpenApi {
    api.merge(PublicDoc::openapi());
    let components = api.components.get_or_insert_with(Default::default);
    for (_, name, description) in SHARED {
        components
            .responses
            .insert(name.to_owned(), RefOr::T(problem(description)));
    }
    for (_, item) in api.paths.paths.iter_mut() {
        let operations = [
            (&mut item.get, false),
            (&mut item.head, false),
            (&mut item.put, true),
            (&mut item.post, true),
            (&mut item.patch, true),
            (&mut item.delete, true),
        ];
        for (operation, changes) in operations {
            if let Some(operation) = operation {
                declare_errors(operation, changes);
            }
        }
    }
    api
}

fn declare_errors(operation: &mut Operation, changes: bool) {
    let parameters = operation.parameters.as_deref().unwrap_or_default();
    let has_input = !parameters.is_empty() || operation.request_body.is_some();
    let has_body = operation.request_body.is_some();
    let in_path = parameters
        .iter()
        .any(|parameter| matches!(parameter.parameter_in, ParameterIn::Path));
    let secured = operation
        .security
        .as_ref()
        .is_some_and(|security| !security.is_empty());
    // Errors the annotations give: always problem documents.
    for (status, response) in operation.responses.responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        if let Some(content) = response.content.shift_remove("application/json") {
            let names_problem = matches!(&content.schema, Some(RefOr::Ref(r)) if r.ref_location.ends_with("/Problem"));
            let key = if names_problem {
                PROBLEM_JSON
            } else {
                "application/json"
            };
            response.content.insert(key.to_owned(), content);
        }
        if status.starts_with(['4', '5']) && response.content.is_empty() {
            response.content.insert(
                PROBLEM_JSON.to_owned(),
                Content::new(Some(problem_schema())),
            );
        }
    }
    for (status, name, _) in SHARED {
        let applies = match status {
            "400" => has_input,
            "401" => secured,
            "403" => secured && changes,
            "404" => has_input || in_path,
            "409" => has_input && (changes || in_path),
            "408" | "413" => has_body,
            _ => true,
        };
        if applies && !operation.responses.responses.contains_key(status) {
            operation.responses.responses.insert(
                status.to_owned(),
                RefOr::Ref(Ref::new(format!("#/components/responses/{name}"))),
            );
        }
    }
}
