//! Chunks in an S3-compatible bucket (AWS S3, MinIO, Garage, Ceph, R2): `PREFIX/ab/cd/<sha256>`,
//! through `object_store`.
//!
//! A PUT that S3 acknowledged is durable, so [`BlobStore::put`] returns after it, as the local store
//! returns after its fsyncs. Every PUT carries the chunk's SHA-256 (`x-amz-checksum-sha256`), so the
//! store itself refuses bytes damaged on the way. A chunk already in the bucket is not sent again.
//!
//! Collection: S3 has no atomic move, so the local store's way of judging a chunk safely against a
//! concurrent upload (move it aside, look at its time, put it back) does not carry over, and an
//! unconditional DELETE can race with an upload that is about to reference the chunk. Until the
//! metadata store takes that part over, [`S3BlobStore::delete_if_stale`] keeps every chunk: garbage
//! costs space on S3, never data.

use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use futures_util::TryStreamExt;
use http::{HeaderName, Method};
use object_store::aws::{AmazonS3, AmazonS3Builder, Checksum};
use object_store::path::Path;
use object_store::signer::{SignedUrlOptions, Signer};
use object_store::{HeaderValue, ObjectStore, ObjectStoreExt, PutPayload};
use satchel_proto::Sha256;

use crate::{BlobError, BlobStore, BoxFuture, PresignedPut, Result};

/// Where and how to reach the bucket: parsed from
/// `s3://BUCKET/PREFIX?endpoint=URL&region=R&path_style=true`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    /// Key prefix inside the bucket (no leading or trailing `/`; may be empty).
    pub prefix: String,
    /// `http(s)://host:port` of an S3-compatible server; AWS when absent.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`), as MinIO and most self-hosted servers need.
    pub path_style: bool,
}

impl S3Location {
    /// Parses an `s3://` URL; `None` for any other scheme.
    pub fn parse(url: &str) -> Option<std::result::Result<S3Location, String>> {
        let rest = url.strip_prefix("s3://")?;
        let (place, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (bucket, prefix) = place.split_once('/').unwrap_or((place, ""));
        if bucket.is_empty() {
            return Some(Err(format!("{url}: no bucket name after s3://")));
        }
        let mut location = S3Location {
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
            endpoint: None,
            region: None,
            path_style: false,
        };
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "endpoint" => location.endpoint = Some(value.to_owned()),
                "region" => location.region = Some(value.to_owned()),
                "path_style" => location.path_style = value != "false",
                other => {
                    return Some(Err(format!(
                        "{url}: unknown setting {other:?} (endpoint, region, path_style)"
                    )));
                }
            }
        }
        Some(Ok(location))
    }
}

/// Credentials given in the configuration; when absent, the standard AWS environment variables
/// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, …) apply.
#[derive(Clone, Default)]
pub struct S3Credentials {
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
}

/// A chunk store in an S3-compatible bucket.
#[derive(Debug, Clone)]
pub struct S3BlobStore {
    store: std::sync::Arc<AmazonS3>,
    prefix: String,
}

impl S3BlobStore {
    /// Connects to the bucket (nothing is sent until the first call; [`BlobStore::check`] tries it).
    pub fn open(location: &S3Location, credentials: &S3Credentials) -> Result<Self> {
        // The TLS library's process-wide default; set once, kept if something set it first.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&location.bucket)
            .with_checksum_algorithm(Checksum::SHA256)
            .with_virtual_hosted_style_request(!location.path_style);
        if let Some(endpoint) = &location.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        if let Some(region) = &location.region {
            builder = builder.with_region(region);
        }
        if let Some(key) = &credentials.access_key_id {
            builder = builder.with_access_key_id(key);
        }
        if let Some(secret) = &credentials.secret_access_key {
            builder = builder.with_secret_access_key(secret);
        }
        let store = builder.build().map_err(s3_error)?;
        Ok(S3BlobStore {
            store: std::sync::Arc::new(store),
            prefix: location.prefix.clone(),
        })
    }

    /// The key of the chunk `hash`.
    fn key(&self, hash: &Sha256) -> Path {
        let hex = hash.to_hex();
        let key = format!("{}/{}/{hex}", &hex[0..2], &hex[2..4]);
        if self.prefix.is_empty() {
            Path::from(key)
        } else {
            Path::from(format!("{}/{key}", self.prefix))
        }
    }

    fn root(&self) -> Option<Path> {
        (!self.prefix.is_empty()).then(|| Path::from(self.prefix.as_str()))
    }

    async fn exists(&self, hash: Sha256) -> Result<bool> {
        Ok(self.size_of(hash).await?.is_some())
    }

    async fn size_of(&self, hash: Sha256) -> Result<Option<u64>> {
        match self.store.head(&self.key(&hash)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(s3_error(error)),
        }
    }
}

fn s3_error(error: object_store::Error) -> BlobError {
    s3_error_text(error.to_string())
}

fn s3_error_text(text: String) -> BlobError {
    BlobError::Io(std::io::Error::other(text))
}

impl BlobStore for S3BlobStore {
    fn put(&self, hash: Sha256, bytes: Bytes) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            if self.exists(hash).await? {
                return Ok(());
            }
            self.store
                .put(&self.key(&hash), PutPayload::from(bytes))
                .await
                .map_err(s3_error)?;
            Ok(())
        })
    }

    fn refresh(&self, hash: Sha256) -> BoxFuture<'_, Result<bool>> {
        // Nothing is collected from a bucket (see the module notes): being there is enough.
        Box::pin(self.exists(hash))
    }

    fn get(&self, hash: Sha256) -> BoxFuture<'_, Result<Bytes>> {
        Box::pin(async move {
            match self.store.get(&self.key(&hash)).await {
                Ok(found) => found.bytes().await.map_err(s3_error),
                Err(object_store::Error::NotFound { .. }) => Err(BlobError::Missing(hash)),
                Err(error) => Err(s3_error(error)),
            }
        })
    }

    fn contains(&self, hash: Sha256) -> BoxFuture<'_, Result<bool>> {
        Box::pin(self.exists(hash))
    }

    fn stored_size(&self, hash: Sha256) -> BoxFuture<'_, Result<Option<u64>>> {
        Box::pin(self.size_of(hash))
    }

    fn presign_put(
        &self,
        hash: Sha256,
        _size: u64,
        valid_for: Duration,
    ) -> BoxFuture<'_, Result<Option<PresignedPut>>> {
        Box::pin(async move {
            // The checksum header is signed: the client must send it, and the store checks the
            // bytes against it, so nothing but this chunk can land under its key.
            let checksum = BASE64.encode(hash.as_bytes());
            let value =
                HeaderValue::from_str(&checksum).map_err(|e| s3_error_text(e.to_string()))?;
            let options = SignedUrlOptions::new()
                .with_signed_header(HeaderName::from_static("x-amz-checksum-sha256"), value);
            let url = self
                .store
                .signed_url_opts(Method::PUT, &self.key(&hash), valid_for, &options)
                .await
                .map_err(s3_error)?;
            let headers = vec![("x-amz-checksum-sha256".to_owned(), checksum)];
            Ok(Some(PresignedPut {
                url: url.to_string(),
                headers,
            }))
        })
    }

    fn delete(&self, hash: Sha256) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            match self.store.delete(&self.key(&hash)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(error) => Err(s3_error(error)),
            }
        })
    }

    fn delete_if_stale(&self, hash: Sha256, _cutoff: SystemTime) -> BoxFuture<'_, Result<bool>> {
        tracing::debug!(%hash, "kept: chunks are not collected from S3 yet");
        Box::pin(async { Ok(false) })
    }

    fn collects(&self) -> bool {
        false
    }

    fn presigns(&self) -> bool {
        true
    }

    fn read_ahead(&self) -> usize {
        // Measured with bench/s3.sh: 2 → 8 took downloads from s3s-fs from 54 to 166 MB/s.
        8
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<Sha256>>> {
        Box::pin(async move {
            let root = self.root();
            let found: Vec<_> = self
                .store
                .list(root.as_ref())
                .try_collect()
                .await
                .map_err(s3_error)?;
            Ok(found
                .iter()
                .filter_map(|meta| meta.location.filename()?.parse().ok())
                .collect())
        })
    }

    fn inventory(&self) -> BoxFuture<'_, Result<Vec<(Sha256, u64)>>> {
        Box::pin(async move {
            let root = self.root();
            let found: Vec<_> = self
                .store
                .list(root.as_ref())
                .try_collect()
                .await
                .map_err(s3_error)?;
            Ok(found
                .iter()
                .filter(|meta| !meta.location.as_ref().contains("/quarantine/"))
                .filter_map(|meta| Some((meta.location.filename()?.parse().ok()?, meta.size)))
                .collect())
        })
    }

    fn quarantine(&self, hash: Sha256) -> BoxFuture<'_, Result<bool>> {
        Box::pin(async move {
            let stamp = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default()
                .as_micros();
            let name = format!("quarantine/{}.{stamp}", hash.to_hex());
            let aside = if self.prefix.is_empty() {
                Path::from(name)
            } else {
                Path::from(format!("{}/{name}", self.prefix))
            };
            // A server-side copy, then the delete: the damaged bytes are kept for the operator.
            match self.store.rename(&self.key(&hash), &aside).await {
                Ok(()) => Ok(true),
                Err(object_store::Error::NotFound { .. }) => Ok(false),
                Err(error) => Err(s3_error(error)),
            }
        })
    }

    fn check(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let probe = if self.prefix.is_empty() {
                Path::from("readyz")
            } else {
                Path::from(format!("{}/readyz", self.prefix))
            };
            self.store
                .put(&probe, PutPayload::from_static(b"ok"))
                .await
                .map_err(s3_error)?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse() {
        let parsed = S3Location::parse(
            "s3://chunks/satchel/prod?endpoint=http://127.0.0.1:9000&region=eu-west-1&path_style=true",
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            parsed,
            S3Location {
                bucket: "chunks".into(),
                prefix: "satchel/prod".into(),
                endpoint: Some("http://127.0.0.1:9000".into()),
                region: Some("eu-west-1".into()),
                path_style: true,
            }
        );
        assert!(S3Location::parse("/var/lib/satchel").is_none());
        assert!(S3Location::parse("s3://").unwrap().is_err());
        assert!(S3Location::parse("s3://b?colour=red").unwrap().is_err());
    }
}
