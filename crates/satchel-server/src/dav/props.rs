//! Properties beyond the DAV: namespace the protocol handler computes itself.
//!
//! - ownCloud/Nextcloud live properties, computed from the node: `oc:fileid`, `oc:id`, `oc:size`,
//!   `oc:permissions`, `oc:checksums` (SHA256) and `nc:has-preview`;
//! - dead properties (anything else a client sets with PROPPATCH, Windows' Win32 times included),
//!   stored per node in the metadata database, so they follow a MOVE, are copied by COPY and
//!   survive restarts.
//!
//! XML is built with `xmltree` (the handler's own XML library), never by formatting strings.

use std::io::Cursor;

use axum::http::StatusCode;
use dav_server::fs::{DavProp, FsError, FsResult};
use satchel_meta::{Access, Actor, Store};
use satchel_proto::{AppPasswordScope, Node, NodeKind};
use uuid::Uuid;
use xmltree::{Element, XMLNode};

use super::fs::fs_error;

const DAV: &str = "DAV:";
const OWNCLOUD: &str = "http://owncloud.org/ns";
const NEXTCLOUD: &str = "http://nextcloud.org/ns";

/// An element `prefix:name` in `namespace`, declaring it, with `children`.
fn element(prefix: &str, namespace: &str, name: &str, children: Vec<XMLNode>) -> Element {
    let mut element = Element::new(name);
    element.prefix = Some(prefix.to_owned());
    element.namespace = Some(namespace.to_owned());
    let mut namespaces = xmltree::Namespace::empty();
    namespaces.put(prefix, namespace);
    element.namespaces = Some(namespaces);
    element.children = children;
    element
}

fn text(value: impl Into<String>) -> Vec<XMLNode> {
    vec![XMLNode::Text(value.into())]
}

fn to_bytes(element: &Element) -> Vec<u8> {
    let mut out = Vec::new();
    let config = xmltree::EmitterConfig::new().write_document_declaration(false);
    // Writing to memory cannot fail.
    let _ = element.write_with_config(&mut out, config);
    out
}

/// The body of an RFC 4918 precondition failure: `<D:error><D:CONDITION/></D:error>`.
pub fn error_body(condition: &str) -> Vec<u8> {
    let mut error = element("D", DAV, "error", Vec::new());
    let mut inner = Element::new(condition);
    inner.prefix = Some("D".to_owned());
    inner.namespace = Some(DAV.to_owned());
    error.children.push(XMLNode::Element(inner));
    let mut out = Vec::new();
    let _ = error.write(&mut out);
    out
}

/// Whether the actor may change what lies at `tree_path`: not under a folder shared with them for
/// viewing only.
pub fn may_write(actor: &Actor, tree_path: &str) -> bool {
    let top = tree_path
        .split('/')
        .find(|part| !part.is_empty())
        .map(satchel_proto::name_key);
    let Some(top) = top else { return true };
    !actor.spaces.iter().any(|space| {
        space.access == Access::View
            && space
                .mount
                .as_ref()
                .is_some_and(|mount| satchel_proto::name_key(&mount.name) == top)
    })
}

/// Whether the tree path lies in a folder shared with the actor.
fn in_share(actor: &Actor, tree_path: &str) -> bool {
    let top = tree_path
        .split('/')
        .find(|part| !part.is_empty())
        .map(satchel_proto::name_key);
    top.is_some_and(|top| {
        actor.spaces.iter().any(|space| {
            space
                .mount
                .as_ref()
                .is_some_and(|mount| satchel_proto::name_key(&mount.name) == top)
        })
    })
}

/// An ownCloud/Nextcloud property of `node`, if `prop` names one.
pub fn computed(
    actor: &Actor,
    scope: AppPasswordScope,
    tree_path: &str,
    node: &Node,
    prop: &DavProp,
) -> Option<Vec<u8>> {
    let namespace = prop.namespace.as_deref()?;
    let name = prop.name.as_str();
    let element = match (namespace, name) {
        (OWNCLOUD, "fileid" | "id") => element("oc", OWNCLOUD, name, text(node.id.to_string())),
        (OWNCLOUD, "size") => element(
            "oc",
            OWNCLOUD,
            name,
            text(node.size.unwrap_or(0).to_string()),
        ),
        (OWNCLOUD, "permissions") => {
            let writable = scope == AppPasswordScope::Full && may_write(actor, tree_path);
            let mut letters = String::new();
            if in_share(actor, tree_path) {
                letters.push('S');
            }
            letters.push('G');
            if writable {
                letters.push_str("DNV");
                letters.push_str(if node.kind == NodeKind::Folder {
                    "CK"
                } else {
                    "W"
                });
            }
            element("oc", OWNCLOUD, name, text(letters))
        }
        (OWNCLOUD, "checksums") => {
            let mut checksums = element("oc", OWNCLOUD, name, Vec::new());
            if let Some(sha256) = &node.sha256 {
                let mut one = Element::new("checksum");
                one.prefix = Some("oc".to_owned());
                one.namespace = Some(OWNCLOUD.to_owned());
                one.children = text(format!("SHA256:{}", sha256.to_hex()));
                checksums.children.push(XMLNode::Element(one));
            }
            checksums
        }
        (NEXTCLOUD, "has-preview") => element("nc", NEXTCLOUD, name, text("false")),
        _ => return None,
    };
    Some(to_bytes(&element))
}

/// Applies a PROPPATCH's dead-property changes, all or nothing.
pub async fn patch(
    store: &Store,
    node: Uuid,
    writable: bool,
    patch: Vec<(bool, DavProp)>,
) -> FsResult<Vec<(StatusCode, DavProp)>> {
    if !writable {
        return Ok(patch
            .into_iter()
            .map(|(_, prop)| (StatusCode::FORBIDDEN, bare(prop)))
            .collect());
    }
    let mut changes = Vec::with_capacity(patch.len());
    for (set, prop) in &patch {
        let xml = match (set, &prop.xml) {
            (true, Some(xml)) => {
                Some(String::from_utf8(xml.clone()).map_err(|_| FsError::GeneralFailure)?)
            }
            (true, None) => return Err(FsError::GeneralFailure),
            (false, _) => None,
        };
        changes.push((
            prop.namespace.clone().unwrap_or_default(),
            prop.name.clone(),
            xml,
        ));
    }
    store
        .patch_dead_props(node, &changes)
        .await
        .map_err(fs_error)?;
    Ok(patch
        .into_iter()
        .map(|(_, prop)| (StatusCode::OK, bare(prop)))
        .collect())
}

/// A property's name without its value (how a PROPPATCH answer names it).
fn bare(prop: DavProp) -> DavProp {
    DavProp { xml: None, ..prop }
}

/// Every dead property of `node` (with values unless only names were asked for).
pub async fn dead(store: &Store, node: Uuid, with_values: bool) -> FsResult<Vec<DavProp>> {
    let props = store.dead_props(node).await.map_err(fs_error)?;
    Ok(props
        .into_iter()
        .map(|prop| DavProp {
            name: prop.name,
            prefix: None,
            namespace: (!prop.namespace.is_empty()).then_some(prop.namespace),
            xml: with_values.then(|| prop.xml.into_bytes()),
        })
        .collect())
}

/// One dead property's XML, or `NotFound`.
pub async fn one_dead(store: &Store, node: Uuid, prop: &DavProp) -> FsResult<Vec<u8>> {
    let namespace = prop.namespace.as_deref().unwrap_or_default();
    let xml = store
        .dead_prop(node, namespace, &prop.name)
        .await
        .map_err(fs_error)?
        .ok_or(FsError::NotFound)?;
    // A stored value that no longer parses is not served.
    Element::parse(Cursor::new(xml.as_bytes())).map_err(|_| FsError::NotFound)?;
    Ok(xml.into_bytes())
}
