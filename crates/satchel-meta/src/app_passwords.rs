//! App passwords: per-account credentials for third-party clients (WebDAV, tus).
//!
//! The secret is never stored: a row keeps a `lookup` prefix (to find the row with one index probe)
//! and an argon2 hash of the whole password, computed by the caller. Revoking deletes the row, so a
//! revoked password stops working at the next request on every server.

use chrono::{DateTime, Utc};
use satchel_proto::AppPasswordScope;
use sqlx::Row;
use sqlx::any::AnyRow;
use uuid::Uuid;

use crate::accounts::{actor_from_row, parse_uuid};
use crate::db::{from_micros, micros};
use crate::{Actor, Result, Store, StoreError};

/// An app password as stored.
#[derive(Debug, Clone)]
pub struct AppPasswordRecord {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub scope: AppPasswordScope,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub last_used_from: Option<String>,
}

/// What a new app password is made of (the hash computed by the caller).
#[derive(Debug, Clone)]
pub struct NewAppPassword<'a> {
    pub user_id: Uuid,
    pub name: &'a str,
    pub scope: AppPasswordScope,
    pub lookup: &'a str,
    pub password_hash: &'a str,
}

const COLUMNS: &str =
    "id, user_id, name, scope, password_hash, created_at, last_used_at, last_used_from";

fn record(row: &AnyRow) -> Result<AppPasswordRecord> {
    let scope = match row.try_get::<String, _>("scope")?.as_str() {
        "read_only" => AppPasswordScope::ReadOnly,
        _ => AppPasswordScope::Full,
    };
    Ok(AppPasswordRecord {
        id: parse_uuid(&row.try_get::<String, _>("id")?)?,
        user_id: parse_uuid(&row.try_get::<String, _>("user_id")?)?,
        name: row.try_get("name")?,
        scope,
        password_hash: row.try_get("password_hash")?,
        created_at: from_micros(row.try_get("created_at")?),
        last_used_at: row
            .try_get::<Option<i64>, _>("last_used_at")?
            .map(from_micros),
        last_used_from: row.try_get("last_used_from")?,
    })
}

impl Store {
    /// Records a new app password.
    pub async fn create_app_password(&self, new: NewAppPassword<'_>) -> Result<AppPasswordRecord> {
        let id = Uuid::now_v7();
        let now = Utc::now();
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO app_passwords (id, user_id, name, scope, lookup, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id.to_string())
        .bind(new.user_id.to_string())
        .bind(new.name)
        .bind(new.scope.as_str())
        .bind(new.lookup)
        .bind(new.password_hash)
        .bind(micros(now))
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        Ok(AppPasswordRecord {
            id,
            user_id: new.user_id,
            name: new.name.to_owned(),
            scope: new.scope,
            password_hash: new.password_hash.to_owned(),
            created_at: from_micros(micros(now)),
            last_used_at: None,
            last_used_from: None,
        })
    }

    /// The user's app passwords, newest first.
    pub async fn list_app_passwords(&self, user_id: Uuid) -> Result<Vec<AppPasswordRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM app_passwords WHERE user_id = $1 ORDER BY created_at DESC, id"
        );
        let rows = sqlx::query(&sql)
            .bind(user_id.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(record).collect()
    }

    /// Revokes one of the user's app passwords; another user's id is `NotFound`.
    pub async fn revoke_app_password(&self, user_id: Uuid, id: Uuid) -> Result<()> {
        let mut tx = self.write().await?;
        let done = sqlx::query("DELETE FROM app_passwords WHERE id = $1 AND user_id = $2")
            .bind(id.to_string())
            .bind(user_id.to_string())
            .execute(tx.conn())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await
    }

    /// The app password whose lookup prefix is `lookup`, if any.
    pub async fn app_password_by_lookup(&self, lookup: &str) -> Result<Option<AppPasswordRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM app_passwords WHERE lookup = $1");
        let row = sqlx::query(&sql)
            .bind(lookup)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(record).transpose()
    }

    /// Whether the app password `id` still exists (it has not been revoked).
    pub async fn app_password_exists(&self, id: Uuid) -> Result<bool> {
        let row = sqlx::query("SELECT id FROM app_passwords WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// Notes a use of the app password `id` from `from`.
    pub async fn touch_app_password(&self, id: Uuid, from: &str) -> Result<()> {
        let mut tx = self.write().await?;
        sqlx::query(
            "UPDATE app_passwords SET last_used_at = $2, last_used_from = $3 WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(micros(Utc::now()))
        .bind(from)
        .execute(tx.conn())
        .await?;
        tx.commit().await
    }

    /// The actor of an enabled account signing in without a session (HTTP Basic), or `None`.
    pub async fn account_actor(&self, user_id: Uuid) -> Result<Option<Actor>> {
        let mut conn = self.pool.acquire().await?;
        let row = sqlx::query(
            "SELECT ns_id, root_id, quota_bytes, used_bytes FROM users \
             WHERE id = $1 AND disabled_at IS NULL",
        )
        .bind(user_id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else { return Ok(None) };
        actor_from_row(&mut conn, &row, user_id, None, None)
            .await
            .map(Some)
    }
}
