//! The app's files: the embedded table (with its version and ETags, computed once) and the
//! development folder (read on each request).
//!
//! `index.html` names its assets as `/app/%VERSION%/…`; the placeholder is replaced here, so the
//! page and the files it loads always come from the same build.

use std::sync::LazyLock;

use sha2::{Digest, Sha256};

use crate::Source;

/// Every file of the app, by its path under `app/`. Add new files here.
const EMBEDDED: &[(&str, &[u8])] = &[
    ("index.html", include_bytes!("../app/index.html")),
    ("app.css", include_bytes!("../app/app.css")),
    ("icon.svg", include_bytes!("../app/icon.svg")),
    ("main.js", include_bytes!("../app/main.js")),
    ("api.js", include_bytes!("../app/api.js")),
    ("dom.js", include_bytes!("../app/dom.js")),
    ("i18n.js", include_bytes!("../app/i18n.js")),
    ("session.js", include_bytes!("../app/session.js")),
    ("browse.js", include_bytes!("../app/browse.js")),
    ("filelist.js", include_bytes!("../app/filelist.js")),
    ("uploads.js", include_bytes!("../app/uploads.js")),
    ("pages.js", include_bytes!("../app/pages.js")),
    ("dialogs.js", include_bytes!("../app/dialogs.js")),
    // The file manager's actions; picker, versions, preview, markdown and editor load on first use.
    ("fileapi.js", include_bytes!("../app/fileapi.js")),
    ("manage.js", include_bytes!("../app/manage.js")),
    ("thumbs.js", include_bytes!("../app/thumbs.js")),
    ("modal.js", include_bytes!("../app/modal.js")),
    ("shortcuts.js", include_bytes!("../app/shortcuts.js")),
    ("trashtools.js", include_bytes!("../app/trashtools.js")),
    ("picker.js", include_bytes!("../app/picker.js")),
    ("versions.js", include_bytes!("../app/versions.js")),
    ("preview.js", include_bytes!("../app/preview.js")),
    ("markdown.js", include_bytes!("../app/markdown.js")),
    ("editor.js", include_bytes!("../app/editor.js")),
];

const PLACEHOLDER: &str = "%VERSION%";

/// One file ready to send.
pub struct Asset {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
    pub etag: String,
}

struct Bundle {
    version: String,
    index: Vec<u8>,
}

static BUNDLE: LazyLock<Bundle> = LazyLock::new(|| {
    let mut hasher = Sha256::new();
    for (name, bytes) in EMBEDDED {
        hasher.update(name.as_bytes());
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    }
    let version = hex::encode(&hasher.finalize()[..6]);
    let index = EMBEDDED
        .iter()
        .find(|(name, _)| *name == "index.html")
        .map(|(_, bytes)| with_version(bytes, &version))
        .unwrap_or_default();
    Bundle { version, index }
});

/// The version in the URLs of the embedded assets (a hash of all of them).
pub fn embedded_version() -> &'static str {
    &BUNDLE.version
}

fn with_version(page: &[u8], version: &str) -> Vec<u8> {
    String::from_utf8_lossy(page)
        .replace(PLACEHOLDER, version)
        .into_bytes()
}

fn etag(bytes: &[u8]) -> String {
    hex::encode(&Sha256::digest(bytes)[..12])
}

/// `index.html`, its asset URLs pointing at this build.
pub async fn index(source: &Source) -> Option<Asset> {
    let bytes = match source {
        Source::Embedded => BUNDLE.index.clone(),
        Source::Dir(dir) => {
            with_version(&tokio::fs::read(dir.join("index.html")).await.ok()?, "dev")
        }
    };
    Some(asset("index.html", bytes))
}

/// An asset by its path under `app/`.
pub async fn file(source: &Source, path: &str) -> Option<Asset> {
    match source {
        Source::Embedded => EMBEDDED
            .iter()
            .find(|(name, _)| *name == path && *name != "index.html")
            .map(|(name, bytes)| asset(name, bytes.to_vec())),
        Source::Dir(dir) => {
            if !is_plain_path(path) {
                return None;
            }
            let bytes = tokio::fs::read(dir.join(path)).await.ok()?;
            Some(asset(path, bytes))
        }
    }
}

fn asset(name: &str, bytes: Vec<u8>) -> Asset {
    Asset {
        content_type: content_type(name),
        etag: etag(&bytes),
        bytes,
    }
}

/// A relative path with no way out of the folder: plain segments of `[A-Za-z0-9._-]`, none `..`.
fn is_plain_path(path: &str) -> bool {
    !path.is_empty()
        && path.split('/').all(|segment| {
            !segment.is_empty()
                && !segment.starts_with('.')
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        })
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("json") => "application/json",
        Some("png") => "image/png",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn development_paths_stay_inside_the_folder() {
        assert!(is_plain_path("main.js"));
        assert!(is_plain_path("icons/file.svg"));
        assert!(!is_plain_path("../secret"));
        assert!(!is_plain_path("a/../../b"));
        assert!(!is_plain_path("/etc/passwd"));
        assert!(!is_plain_path(".hidden"));
        assert!(!is_plain_path(""));
    }

    #[test]
    fn the_page_names_assets_of_its_own_build() {
        let page = String::from_utf8(BUNDLE.index.clone()).unwrap_or_default();
        assert!(page.contains(&format!("/app/{}/main.js", embedded_version())));
        assert!(!page.contains(PLACEHOLDER));
    }
}
