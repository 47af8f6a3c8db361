//! The thumbnail cache: small images keyed by the SHA-256 of the content they show and their size,
//! so content stored by many users (or many times) is thumbnailed once.
//!
//! The cache is not a way to read content: callers look a key up only after loading, as the actor,
//! a file whose current content has that hash. A row with no data records that the content cannot
//! be thumbnailed, so nothing tries again. Rows whose content no version holds any more are
//! forgotten by the collector.

use chrono::Utc;
use satchel_proto::Sha256;

use crate::db::micros;
use crate::{Result, Store};

/// What the cache knows of one thumbnail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CachedThumbnail {
    /// Never made.
    Unknown,
    /// The content cannot be thumbnailed.
    Impossible,
    /// The encoded image.
    Image(Vec<u8>),
}

impl Store {
    /// The cached thumbnail of `sha256` at `size`.
    pub async fn thumbnail(&self, sha256: &Sha256, size: u32) -> Result<CachedThumbnail> {
        let found: Option<Option<Vec<u8>>> =
            sqlx::query_scalar("SELECT data FROM thumbnails WHERE sha256 = $1 AND size = $2")
                .bind(sha256.to_hex())
                .bind(i64::from(size))
                .fetch_optional(&self.pool)
                .await?;
        Ok(match found {
            None => CachedThumbnail::Unknown,
            Some(None) => CachedThumbnail::Impossible,
            Some(Some(bytes)) => CachedThumbnail::Image(bytes),
        })
    }

    /// Keeps the thumbnails of `sha256` (`None`: cannot be made at that size); a key already
    /// stored (by another server meanwhile) stays as it is.
    pub async fn store_thumbnails(
        &self,
        sha256: &Sha256,
        made: &[(u32, Option<Vec<u8>>)],
    ) -> Result<()> {
        let mut w = self.write().await?;
        let now = micros(Utc::now());
        for (size, data) in made {
            sqlx::query(
                "INSERT INTO thumbnails (sha256, size, data, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (sha256, size) DO NOTHING",
            )
            .bind(sha256.to_hex())
            .bind(i64::from(*size))
            .bind(data.clone())
            .bind(now)
            .execute(w.conn())
            .await?;
        }
        w.commit().await
    }

    /// Forgets thumbnails of content no version holds any more; returns how many.
    pub async fn forget_orphan_thumbnails(&self) -> Result<u64> {
        let mut w = self.write().await?;
        let done = sqlx::query(
            "DELETE FROM thumbnails WHERE NOT EXISTS \
             (SELECT 1 FROM versions v WHERE v.sha256 = thumbnails.sha256)",
        )
        .execute(w.conn())
        .await?;
        w.commit().await?;
        Ok(done.rows_affected())
    }
}
