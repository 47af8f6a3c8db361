//! What the public link pages (`/s/{token}…`) take and answer: their query, listings, upload
//! receipts. Listings carry no ids and nothing of the owner's tree around the shared node.

use chrono::{DateTime, Utc};
use satchel_proto::NodeKind;
use serde::{Deserialize, Serialize};

/// `?download=zip` for a folder as one archive, and listing pages.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PublicParams {
    /// `zip`: a folder as one archive; `1`: the bytes themselves (a browser would otherwise get
    /// the link's page).
    #[serde(default, deserialize_with = "zip_only")]
    #[param(value_type = Option<ZipDownload>)]
    pub download: Option<String>,
    /// Where to continue a folder's listing: the previous page's `next_cursor`.
    #[serde(default, deserialize_with = "cursor_text")]
    #[param(pattern = r"^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
    /// Present: what the link reaches (name, kind, size, whether it is upload-only), never
    /// counted as a download; with the right password it also carries a `grant`.
    pub info: Option<String>,
    /// A grant from `?info` standing in for `X-Share-Password` (images, players and download
    /// links cannot send headers).
    pub grant: Option<String>,
}

/// `?download=` is `zip`, `1` or absent, whatever the link shows (a file ignores `zip`, but is not
/// sent nonsense quietly).
fn zip_only<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    match Option::<String>::deserialize(deserializer)? {
        Some(text) if text != "zip" && text != "1" => Err(serde::de::Error::custom(format!(
            "`download` is `zip` or `1`, not {text:?}"
        ))),
        value => Ok(value),
    }
}

/// `?cursor=` is what the server hands out: URL-safe base64, also where a file ignores it.
fn cursor_text<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    match Option::<String>::deserialize(deserializer)? {
        Some(text)
            if text.is_empty()
                || !text
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') =>
        {
            Err(serde::de::Error::custom("malformed cursor"))
        }
        value => Ok(value),
    }
}

/// The form of an upload through a link (for the document; the handler reads it as a stream).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct LinkUploadForm {
    /// The file; its filename is the name it is stored under.
    #[schema(format = Binary, value_type = String)]
    file: Vec<u8>,
}

/// The values of `?download=`.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ZipDownload {
    Zip,
    #[serde(rename = "1")]
    Bytes,
}

/// What an upload-only link shows: the folder's name, never its contents.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UploadLinkInfo {
    pub name: String,
    /// Always `true`.
    pub upload_only: bool,
}

/// The receipt of an upload through a link: the name it was stored under, and its size.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UploadReceipt {
    pub name: String,
    pub size: Option<u64>,
}

/// The JSON a link's own page answers: a folder's listing, or what an upload link is (for the
/// document; the handlers answer one or the other).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum PublicPage {
    Folder(PublicFolder),
    UploadLink(UploadLinkInfo),
}

/// A folder as a link shows it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PublicFolder {
    pub name: String,
    pub entries: Vec<PublicEntry>,
    pub next_cursor: Option<String>,
}

/// One entry of a shared folder: no ids, nothing of the owner's tree around it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PublicEntry {
    pub name: String,
    pub kind: NodeKind,
    pub size: Option<u64>,
    pub modified_at: DateTime<Utc>,
}
