//! Thumbnails: `GET /api/v1/files/{id}/thumbnail?size=S` answers a JPEG no larger than S×S (S one
//! of [`SIZES`], a request rounded up to the next) of a JPEG, PNG, WebP or GIF file; any other file
//! (and a folder) is `404 no_thumbnail`.
//!
//! Invariants:
//! - Made once per content: thumbnails are cached in the metadata store by the SHA-256 of the
//!   content (so every copy, every user's, shares them) and all sizes come from one decode. Within
//!   a server, concurrent requests for the same content wait for one maker ([`Thumbnailer`]); the
//!   cache is looked at again once they get their turn, so the work is never done twice.
//! - Content that cannot be thumbnailed (undecodable, too large) is remembered as such.
//! - Bounded memory: the source must be at most [`MAX_SOURCE_BYTES`] and [`MAX_PIXELS`] (checked
//!   from the header before decoding, and again by the decoder's own limits), and at most
//!   [`DECODERS`] images are decoded at once, off the async threads.
//! - Access first: the file is loaded as the caller before the cache is consulted, so the cache
//!   never serves content the caller does not reach.

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use bytes::BytesMut;
use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage};
use satchel_meta::{CachedThumbnail, StoreError, VersionContent};
use satchel_proto::{Problem, ProblemCode, Sha256};
use serde::Deserialize;
use tokio::sync::Semaphore;

use super::content::{if_none_match, read_chunk};
use crate::error::{ApiError, ApiResult};
use crate::http::extract::{ApiQuery, Authed, node_ref};
use crate::state::AppState;

/// The sizes made (the bound of the longer side, in pixels).
pub const SIZES: [u32; 3] = [64, 256, 1024];
/// The size when a request names none.
const DEFAULT_SIZE: u32 = 256;
/// Largest source file thumbnailed: it is read into memory to be decoded.
pub const MAX_SOURCE_BYTES: u64 = 64 * 1024 * 1024;
/// Largest image (width × height) decoded: about 200 MB as RGBA.
pub const MAX_PIXELS: u64 = 50_000_000;
/// Images decoded at once (each may take a few hundred MB at the limits above).
const DECODERS: usize = 2;
const JPEG_QUALITY: u8 = 82;

/// Who is making which thumbnails right now.
pub struct Thumbnailer {
    making: Mutex<HashMap<Sha256, Arc<tokio::sync::Mutex<()>>>>,
    decoders: Semaphore,
    decoded: AtomicU64,
    decodes: Arc<AtomicU64>,
}

impl Default for Thumbnailer {
    fn default() -> Self {
        Self {
            making: Mutex::default(),
            decoders: Semaphore::new(DECODERS),
            decoded: AtomicU64::new(0),
            decodes: Arc::default(),
        }
    }
}

impl Thumbnailer {
    /// Sources this server has read to thumbnail (each content once, whatever the requests).
    pub fn decoded(&self) -> u64 {
        self.decoded.load(Ordering::Relaxed)
    }

    /// Images whose pixels this server began to decode (past the header checks).
    pub fn decodes(&self) -> u64 {
        self.decodes.load(Ordering::Relaxed)
    }

    /// The lock every maker of `sha256`'s thumbnails takes.
    fn lock_for(&self, sha256: Sha256) -> Arc<tokio::sync::Mutex<()>> {
        let mut making = self.making.lock().unwrap_or_else(|e| e.into_inner());
        making.entry(sha256).or_default().clone()
    }

    /// Forgets `sha256`'s lock once nobody else holds it.
    fn done(&self, sha256: Sha256, lock: Arc<tokio::sync::Mutex<()>>) {
        let mut making = self.making.lock().unwrap_or_else(|e| e.into_inner());
        // Two references: the map's and ours. Anyone else waiting keeps it in the map.
        if Arc::strong_count(&lock) <= 2 {
            making.remove(&sha256);
        }
    }
}

/// `?size=`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ThumbnailParams {
    /// The largest side wanted, in pixels (rounded up to 64, 256 or 1024; default 256).
    pub size: Option<u32>,
}

/// The size made for a request of `wanted`.
pub fn size_for(wanted: Option<u32>) -> u32 {
    let wanted = wanted.unwrap_or(DEFAULT_SIZE);
    SIZES
        .into_iter()
        .find(|size| *size >= wanted)
        .unwrap_or(SIZES[SIZES.len() - 1])
}

fn no_thumbnail() -> ApiError {
    ApiError::bare(ProblemCode::NoThumbnail)
}

/// The image format of a file that may have a thumbnail, by its type or, failing that, its name.
fn format_of(content: &VersionContent) -> Option<ImageFormat> {
    let by_mime = content
        .node
        .mime
        .as_deref()
        .and_then(ImageFormat::from_mime_type);
    let format = by_mime.or_else(|| ImageFormat::from_path(&content.node.name).ok())?;
    matches!(
        format,
        ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP | ImageFormat::Gif
    )
    .then_some(format)
}

/// A JPEG thumbnail of an image file (`size` the bound of its longer side).
#[utoipa::path(get, path = "/api/v1/files/{id}/thumbnail", tag = "content",
    params(("id" = satchel_proto::NodeRef, Path, description = "file id"), ThumbnailParams),
    responses((status = 200, content_type = "image/jpeg", body = Vec<u8>),
        (status = 304, description = "not modified"),
        (status = 404, description = "not_found, no_thumbnail", body = Problem)),
    security(("bearer" = [])))]
pub async fn thumbnail(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    ApiQuery(params): ApiQuery<ThumbnailParams>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let size = size_for(params.size);
    let content = match state
        .store
        .version_content(&actor, node_ref(&id)?, None)
        .await
    {
        Err(StoreError::NotAFile) => return Err(no_thumbnail()),
        other => other?,
    };
    if format_of(&content).is_none() || content.version.size > MAX_SOURCE_BYTES {
        return Err(no_thumbnail());
    }
    let sha256 = content.version.sha256;
    let etag = format!("\"{sha256}-{size}\"");
    if if_none_match(&headers, &etag) {
        return answer(StatusCode::NOT_MODIFIED, &etag, Vec::new());
    }
    let image = match state.store.thumbnail(&sha256, size).await? {
        CachedThumbnail::Image(bytes) => bytes,
        CachedThumbnail::Impossible => return Err(no_thumbnail()),
        CachedThumbnail::Unknown => make(&state, &content, size).await?,
    };
    answer(StatusCode::OK, &etag, image)
}

fn answer(status: StatusCode, etag: &str, bytes: Vec<u8>) -> ApiResult<Response> {
    let builder = Response::builder()
        .status(status)
        .header(header::ETAG, etag)
        .header(header::CACHE_CONTROL, "private, no-cache")
        .header(header::CONTENT_SECURITY_POLICY, "sandbox")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    let builder = if status == StatusCode::OK {
        builder.header(header::CONTENT_TYPE, "image/jpeg")
    } else {
        builder
    };
    builder.body(Body::from(bytes)).map_err(ApiError::internal)
}

/// Makes (once) every size of `content`'s thumbnail, keeps them, and returns the one of `size`.
async fn make(state: &AppState, content: &VersionContent, size: u32) -> ApiResult<Vec<u8>> {
    let sha256 = content.version.sha256;
    let lock = state.thumbnailer.lock_for(sha256);
    let made = {
        let _turn = lock.lock().await;
        // Someone may have made them while this request waited.
        match state.store.thumbnail(&sha256, size).await? {
            CachedThumbnail::Image(bytes) => Some(bytes),
            CachedThumbnail::Impossible => None,
            CachedThumbnail::Unknown => make_all(state, content, size).await?,
        }
    };
    state.thumbnailer.done(sha256, lock);
    made.ok_or_else(no_thumbnail)
}

/// Decodes `content` once, keeps every size (or that none can be made), and returns `size`'s.
async fn make_all(
    state: &AppState,
    content: &VersionContent,
    size: u32,
) -> ApiResult<Option<Vec<u8>>> {
    let _decoder = state
        .thumbnailer
        .decoders
        .acquire()
        .await
        .map_err(ApiError::internal)?;
    let mut source = BytesMut::with_capacity(content.version.size as usize);
    for chunk in &content.chunks {
        source.extend_from_slice(&read_chunk(state, chunk).await.map_err(ApiError::internal)?);
    }
    let source = source.freeze();
    state.thumbnailer.decoded.fetch_add(1, Ordering::Relaxed);
    let decodes = state.thumbnailer.decodes.clone();
    let made = tokio::task::spawn_blocking(move || thumbnails_of(&source, &decodes))
        .await
        .map_err(ApiError::internal)?;
    let sha256 = content.version.sha256;
    let rows: Vec<(u32, Option<Vec<u8>>)> = match made {
        Ok(images) => images.into_iter().map(|(s, b)| (s, Some(b))).collect(),
        Err(reason) => {
            tracing::info!(%sha256, %reason, "no thumbnail");
            SIZES.iter().map(|s| (*s, None)).collect()
        }
    };
    state.store.store_thumbnails(&sha256, &rows).await?;
    Ok(rows
        .into_iter()
        .find(|(s, _)| *s == size)
        .and_then(|(_, bytes)| bytes))
}

/// Every size of the thumbnail of the image in `source`, largest first; an error says why none.
/// `decodes` counts the images that pass the header checks.
pub fn thumbnails_of(source: &[u8], decodes: &AtomicU64) -> Result<Vec<(u32, Vec<u8>)>, String> {
    let probe = ImageReader::new(Cursor::new(source))
        .with_guessed_format()
        .map_err(|e| e.to_string())?;
    match probe.format() {
        Some(ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP | ImageFormat::Gif) => {}
        other => return Err(format!("not an image of a thumbnailed type ({other:?})")),
    }
    let (width, height) = probe.into_dimensions().map_err(|e| e.to_string())?;
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(format!("{width}×{height} is too large"));
    }
    let mut reader = ImageReader::new(Cursor::new(source))
        .with_guessed_format()
        .map_err(|e| e.to_string())?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    limits.max_alloc = Some(MAX_PIXELS * 4 + 64 * 1024 * 1024);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|e| e.to_string())?;
    let orientation = decoder.orientation().map_err(|e| e.to_string())?;
    decodes.fetch_add(1, Ordering::Relaxed);
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| e.to_string())?;
    image.apply_orientation(orientation);
    let mut made = Vec::with_capacity(SIZES.len());
    // Each size is cut from the next larger one: quicker than from the original every time.
    for size in SIZES.into_iter().rev() {
        if image.width() > size || image.height() > size {
            image = image.thumbnail(size, size);
        }
        made.push((size, jpeg(&image)?));
    }
    Ok(made)
}

/// `image` as a JPEG; transparent parts over white.
fn jpeg(image: &DynamicImage) -> Result<Vec<u8>, String> {
    let rgb: RgbImage = if image.color().has_alpha() {
        let rgba = image.to_rgba8();
        let mut rgb = RgbImage::new(rgba.width(), rgba.height());
        for (to, from) in rgb.pixels_mut().zip(rgba.pixels()) {
            let alpha = u16::from(from[3]);
            for c in 0..3 {
                to[c] = ((u16::from(from[c]) * alpha + 255 * (255 - alpha)) / 255) as u8;
            }
        }
        rgb
    } else {
        image.to_rgb8()
    };
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY)
        .encode_image(&rgb)
        .map_err(|e| e.to_string())?;
    Ok(out)
}
