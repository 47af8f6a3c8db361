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
    (
        "upload-engine.js",
        include_bytes!("../app/upload-engine.js"),
    ),
    (
        "upload-worker.js",
        include_bytes!("../app/upload-worker.js"),
    ),
    ("upload-drop.js", include_bytes!("../app/upload-drop.js")),
    ("upload-clash.js", include_bytes!("../app/upload-clash.js")),
    ("chunker.js", include_bytes!("../app/chunker.js")),
    ("resume-store.js", include_bytes!("../app/resume-store.js")),
    ("pages.js", include_bytes!("../app/pages.js")),
    ("dialogs.js", include_bytes!("../app/dialogs.js")),
    ("public.html", include_bytes!("../app/public.html")),
    ("public.js", include_bytes!("../app/public.js")),
    ("share.js", include_bytes!("../app/share.js")),
    ("links.js", include_bytes!("../app/links.js")),
    ("account.js", include_bytes!("../app/account.js")),
    ("admin.js", include_bytes!("../app/admin.js")),
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

/// The pages (not assets): their `%VERSION%` is replaced, and they are served at their routes only.
const PAGES: &[&str] = &["index.html", "public.html"];

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
    public: Vec<u8>,
}

static BUNDLE: LazyLock<Bundle> = LazyLock::new(|| {
    let mut hasher = Sha256::new();
    for (name, bytes) in EMBEDDED {
        hasher.update(name.as_bytes());
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    }
    let version = hex::encode(&hasher.finalize()[..6]);
    let page = |page: &str| {
        EMBEDDED
            .iter()
            .find(|(name, _)| *name == page)
            .map(|(_, bytes)| with_version(bytes, &version))
            .unwrap_or_default()
    };
    Bundle {
        index: page("index.html"),
        public: page("public.html"),
        version,
    }
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
    page(source, "index.html").await
}

/// A page (`index.html`, `public.html`), its asset URLs pointing at this build.
pub async fn page(source: &Source, name: &str) -> Option<Asset> {
    let bytes = match source {
        Source::Embedded if name == "public.html" => BUNDLE.public.clone(),
        Source::Embedded if name == "index.html" => BUNDLE.index.clone(),
        Source::Embedded => return None,
        Source::Dir(dir) => with_version(&tokio::fs::read(dir.join(name)).await.ok()?, "dev"),
    };
    Some(asset(name, bytes))
}

/// An asset by its path under `app/`.
pub async fn file(source: &Source, path: &str) -> Option<Asset> {
    match source {
        Source::Embedded => EMBEDDED
            .iter()
            .find(|(name, _)| *name == path && !PAGES.contains(name))
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

    /// A module loaded only later (the upload worker, say) fails in the built binary alone when
    /// it is missing from the table: every file of `app/` must be in it.
    #[test]
    fn every_file_of_the_app_is_embedded() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("app");
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.path().is_file() && !name.starts_with('.') {
                assert!(
                    EMBEDDED.iter().any(|(embedded, _)| *embedded == name),
                    "app/{name} is not in EMBEDDED"
                );
            }
        }
    }

    #[test]
    fn the_page_names_assets_of_its_own_build() {
        let page = String::from_utf8(BUNDLE.index.clone()).unwrap_or_default();
        assert!(page.contains(&format!("/app/{}/main.js", embedded_version())));
        assert!(!page.contains(PLACEHOLDER));
    }
}
