//! Refresh-token rotation: a live token is spent and replaced in one transaction; a spent token
//! coming back revokes its session (someone replayed a stolen token) — except within the grace.
//!
//! **The grace.** A client whose refresh answer was lost retries, and two requests of one client
//! may refresh at once; both present a token that was just spent. So a spent token remembers its
//! successor (`successor_hash`, and `successor_sealed`: the successor encrypted by the caller under
//! a key only a holder of the spent token can derive), and presenting it again within `grace` of
//! its spending, while that successor is itself unspent, answers the same successor (`Repeated`)
//! instead of revoking. After the grace, or once the successor has been used, a replay revokes the
//! session as always. The sealed successor is cleared when the successor is spent in turn.
//!
//! On PostgreSQL two concurrent rotations of one token meet at the conditional `UPDATE … WHERE
//! spent_at IS NULL`: the second waits for the first to commit, updates nothing, and then reads the
//! successor the first committed. On SQLite writers take turns, with the same result.

use chrono::{DateTime, Duration, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::accounts::{insert_refresh, parse_uuid};
use crate::db::{WriteTx, from_micros, micros};
use crate::{Result, Store, StoreError, UserRecord};

/// The token to issue in place of the one presented.
#[derive(Debug, Clone, Copy)]
pub struct NewRefresh<'a> {
    /// The new token's hash, as stored.
    pub hash: &'a str,
    /// The new token sealed for holders of the old one (opaque here).
    pub sealed: &'a str,
    /// When the session expires without further use.
    pub expires_at: DateTime<Utc>,
}

/// A session whose token was rotated.
#[derive(Debug)]
pub struct Rotation {
    pub user: Box<UserRecord>,
    pub session_id: uuid::Uuid,
    pub device: Option<String>,
    /// When the presented token was spent: the same for a repeat as for the first rotation.
    pub at: DateTime<Utc>,
}

/// The result of presenting a refresh token.
#[derive(Debug)]
pub enum RefreshOutcome {
    /// The token was live; it is now spent and the new one issued in its place.
    Rotated(Rotation),
    /// The token was spent within the grace and its successor is unused: that successor, sealed
    /// as the first rotation's caller sealed it, is the answer again.
    Repeated { rotation: Rotation, sealed: String },
    /// The token had been spent before: the whole session is now revoked.
    Reused,
    /// Unknown token, or its session is revoked or expired, or its user disabled.
    Invalid,
}

impl Store {
    /// Spends the refresh token `old_hash` and issues `new` in the same session; a token spent
    /// before revokes the session, unless it was spent less than `grace` ago and its successor is
    /// unused (then the successor is answered again).
    pub async fn rotate_refresh(
        &self,
        old_hash: &str,
        new: NewRefresh<'_>,
        grace: Duration,
    ) -> Result<RefreshOutcome> {
        let now = Utc::now();
        let mut tx = self.write().await?;
        let row = sqlx::query(
            "SELECT s.id, s.user_id, s.device_name, s.revoked_at, s.expires_at \
             FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id WHERE r.hash = $1",
        )
        .bind(old_hash)
        .fetch_optional(tx.conn())
        .await?;
        let Some(session) = row else {
            return Ok(RefreshOutcome::Invalid);
        };
        let live = session.try_get::<Option<i64>, _>("revoked_at")?.is_none()
            && session.try_get::<i64, _>("expires_at")? > micros(now);
        if !live {
            return Ok(RefreshOutcome::Invalid);
        }
        let session_id: String = session.try_get("id")?;
        let spent = sqlx::query(
            "UPDATE refresh_tokens SET spent_at = $2, successor_hash = $3, successor_sealed = $4 \
             WHERE hash = $1 AND spent_at IS NULL",
        )
        .bind(old_hash)
        .bind(micros(now))
        .bind(new.hash)
        .bind(new.sealed)
        .execute(tx.conn())
        .await?;
        if spent.rows_affected() == 0 {
            return self.spent_again(tx, old_hash, &session, now - grace).await;
        }
        insert_refresh(tx.conn(), new.hash, parse_uuid(&session_id)?).await?;
        // The token before this one is past any grace now that its successor is spent.
        sqlx::query(
            "UPDATE refresh_tokens SET successor_sealed = NULL \
             WHERE session_id = $1 AND successor_hash = $2",
        )
        .bind(&session_id)
        .bind(old_hash)
        .execute(tx.conn())
        .await?;
        sqlx::query("UPDATE sessions SET last_used_at = $2, expires_at = $3 WHERE id = $1")
            .bind(&session_id)
            .bind(micros(now))
            .bind(micros(new.expires_at))
            .execute(tx.conn())
            .await?;
        tx.commit().await?;
        Ok(match self.rotation(&session, now).await? {
            Some(rotation) => RefreshOutcome::Rotated(rotation),
            None => RefreshOutcome::Invalid,
        })
    }

    /// A token presented after it was spent: the same successor within the grace (spent after
    /// `since`, successor unused), else the session is revoked.
    async fn spent_again(
        &self,
        mut tx: WriteTx,
        old_hash: &str,
        session: &AnyRow,
        since: DateTime<Utc>,
    ) -> Result<RefreshOutcome> {
        let earlier = sqlx::query(
            "SELECT r.spent_at, r.successor_sealed, n.spent_at AS successor_spent_at \
             FROM refresh_tokens r JOIN refresh_tokens n ON n.hash = r.successor_hash \
             WHERE r.hash = $1",
        )
        .bind(old_hash)
        .fetch_optional(tx.conn())
        .await?;
        if let Some(earlier) = earlier {
            let spent_at = from_micros(earlier.try_get("spent_at")?);
            let sealed: Option<String> = earlier.try_get("successor_sealed")?;
            let unused = earlier
                .try_get::<Option<i64>, _>("successor_spent_at")?
                .is_none();
            if let Some(sealed) = sealed.filter(|_| unused && spent_at > since) {
                drop(tx);
                return Ok(match self.rotation(session, spent_at).await? {
                    Some(rotation) => RefreshOutcome::Repeated { rotation, sealed },
                    None => RefreshOutcome::Invalid,
                });
            }
        }
        sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE id = $1")
            .bind(session.try_get::<String, _>("id")?)
            .bind(micros(Utc::now()))
            .execute(tx.conn())
            .await?;
        tx.commit().await?;
        self.reach_changed();
        Ok(RefreshOutcome::Reused)
    }

    /// The rotation of `session` at `at`, or `None` when its user is disabled.
    async fn rotation(&self, session: &AnyRow, at: DateTime<Utc>) -> Result<Option<Rotation>> {
        let user_id = parse_uuid(&session.try_get::<String, _>("user_id")?)?;
        let user = self
            .user_by_id(user_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        if user.disabled_at.is_some() {
            return Ok(None);
        }
        Ok(Some(Rotation {
            user: Box::new(user),
            session_id: parse_uuid(&session.try_get::<String, _>("id")?)?,
            device: session.try_get("device_name")?,
            at,
        }))
    }
}
