//! Users, sessions and refresh tokens (their rotation: `refresh.rs`).

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::db::{from_micros, micros};
use crate::spaces::{Space, load_spaces};
use crate::{Result, Store, StoreError};

/// Who is acting: the user, the namespace of their tree and its root folder, and the device.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Actor {
    pub user_id: Uuid,
    pub session_id: Option<Uuid>,
    pub ns_id: Uuid,
    pub root_id: Uuid,
    /// The session's device name, recorded on the versions it writes.
    pub device: Option<String>,
    /// The user's quota (`None`: unlimited) and usage when the request began: enough for early
    /// refusals; the write transaction checks the quota again, authoritatively.
    pub quota_bytes: Option<u64>,
    pub used_bytes: u64,
    /// Every namespace the actor reaches, their own first (see `spaces.rs`).
    pub spaces: Vec<Space>,
}

/// An account as stored.
#[derive(Debug, Clone)]
pub struct UserRecord {
    pub id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub ns_id: Uuid,
    pub root_id: Uuid,
    pub quota_bytes: Option<u64>,
    pub used_bytes: u64,
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// May use the admin API. The first account created is an admin.
    pub is_admin: bool,
}

/// What a new account starts with.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub password_hash: String,
    pub quota_bytes: Option<u64>,
}

const USER_COLUMNS: &str = "id, email, password_hash, ns_id, root_id, quota_bytes, used_bytes, \
                            disabled_at, created_at, is_admin";

fn user_from_row(row: &AnyRow) -> Result<UserRecord> {
    Ok(UserRecord {
        id: parse_uuid(&row.try_get::<String, _>("id")?)?,
        email: row.try_get("email")?,
        password_hash: row.try_get("password_hash")?,
        ns_id: parse_uuid(&row.try_get::<String, _>("ns_id")?)?,
        root_id: parse_uuid(&row.try_get::<String, _>("root_id")?)?,
        quota_bytes: row.try_get::<Option<i64>, _>("quota_bytes")?.map(to_u64),
        used_bytes: to_u64(row.try_get("used_bytes")?),
        disabled_at: row
            .try_get::<Option<i64>, _>("disabled_at")?
            .map(from_micros),
        created_at: from_micros(row.try_get("created_at")?),
        is_admin: row.try_get::<i64, _>("is_admin")? != 0,
    })
}

/// The actor `user_id` from a row holding its user's `ns_id, root_id, quota_bytes, used_bytes`,
/// with the namespaces the user reaches.
pub(crate) async fn actor_from_row(
    conn: &mut AnyConnection,
    row: &AnyRow,
    user_id: Uuid,
    session_id: Option<Uuid>,
    device: Option<String>,
) -> Result<Actor> {
    let ns_id = parse_uuid(&row.try_get::<String, _>("ns_id")?)?;
    Ok(Actor {
        user_id,
        session_id,
        ns_id,
        root_id: parse_uuid(&row.try_get::<String, _>("root_id")?)?,
        device,
        quota_bytes: row.try_get::<Option<i64>, _>("quota_bytes")?.map(to_u64),
        used_bytes: to_u64(row.try_get("used_bytes")?),
        spaces: load_spaces(conn, user_id, ns_id).await?,
    })
}

pub(crate) fn parse_uuid(text: &str) -> Result<Uuid> {
    Uuid::try_parse(text).map_err(|_| StoreError::Corrupt(format!("bad uuid {text:?}")))
}

pub(crate) fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

pub(crate) fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The folded form under which emails are unique.
pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

impl Store {
    /// Creates an account with its namespace and empty root folder.
    pub async fn create_user(&self, new: NewUser) -> Result<UserRecord> {
        let now = Utc::now();
        let (id, ns_id, root_id) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO namespaces (id, owner_id, root_id, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(ns_id.to_string())
        .bind(id.to_string())
        .bind(root_id.to_string())
        .bind(micros(now))
        .execute(tx.conn())
        .await?;
        sqlx::query(
            "INSERT INTO nodes (id, ns_id, owner_id, parent_id, kind, name, name_key, rev, \
             created_at, modified_at) VALUES ($1, $2, $3, NULL, 'folder', '', '', 0, $4, $4)",
        )
        .bind(root_id.to_string())
        .bind(ns_id.to_string())
        .bind(id.to_string())
        .bind(micros(now))
        .execute(tx.conn())
        .await?;
        let inserted = sqlx::query(
            "INSERT INTO users (id, email, email_key, password_hash, ns_id, root_id, quota_bytes, \
             created_at, is_admin) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
             CASE WHEN EXISTS (SELECT 1 FROM users) THEN 0 ELSE 1 END)",
        )
        .bind(id.to_string())
        .bind(new.email.trim())
        .bind(email_key(&new.email))
        .bind(&new.password_hash)
        .bind(ns_id.to_string())
        .bind(root_id.to_string())
        .bind(new.quota_bytes.map(to_i64))
        .bind(micros(now))
        .execute(tx.conn())
        .await;
        match inserted {
            Err(error) if StoreError::is_unique_violation(&error) => {
                return Err(StoreError::EmailTaken);
            }
            other => other?,
        };
        tx.commit().await?;
        self.user_by_id(id).await?.ok_or(StoreError::NotFound)
    }

    /// Looks an account up by email, case-insensitively.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email_key = $1");
        let row = sqlx::query(&sql)
            .bind(email_key(email))
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// Looks an account up by id.
    pub async fn user_by_id(&self, id: Uuid) -> Result<Option<UserRecord>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// Every account, oldest first.
    pub async fn list_users(&self) -> Result<Vec<UserRecord>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY created_at, id");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(user_from_row).collect()
    }

    /// Sets (or with `None` lifts) an account's quota.
    pub async fn set_quota(&self, user_id: Uuid, quota_bytes: Option<u64>) -> Result<()> {
        self.update_user(user_id, "quota_bytes = $2", quota_bytes.map(to_i64))
            .await
    }

    /// Disables an account (revoking its sessions) or enables it again.
    pub async fn set_disabled(&self, user_id: Uuid, disabled: bool) -> Result<()> {
        let at = disabled.then(|| micros(Utc::now()));
        self.update_user(user_id, "disabled_at = $2", at).await?;
        if disabled {
            self.revoke_all_sessions(user_id).await?;
        }
        Ok(())
    }

    /// Makes an account an admin, or an ordinary account again.
    pub async fn set_admin(&self, user_id: Uuid, admin: bool) -> Result<()> {
        self.update_user(user_id, "is_admin = $2", Some(i64::from(admin)))
            .await
    }

    /// Replaces an account's password hash and signs out all its sessions.
    pub async fn set_password_hash(&self, user_id: Uuid, password_hash: &str) -> Result<()> {
        self.change_password_hash(user_id, password_hash, None)
            .await
    }

    /// Replaces an account's password hash and signs out every session but `keep` (the one that
    /// asked for the change, so the person changing it stays signed in where they are).
    pub async fn change_password_hash(
        &self,
        user_id: Uuid,
        password_hash: &str,
        keep: Option<Uuid>,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        let done = sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
            .bind(user_id.to_string())
            .bind(password_hash)
            .execute(tx.conn())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        self.revoke_sessions_but(user_id, keep).await
    }

    async fn update_user(&self, user_id: Uuid, set: &str, value: Option<i64>) -> Result<()> {
        let sql = format!("UPDATE users SET {set} WHERE id = $1");
        let mut tx = self.write().await?;
        let done = sqlx::query(&sql)
            .bind(user_id.to_string())
            .bind(value)
            .execute(tx.conn())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        self.reach_changed();
        Ok(())
    }

    /// Opens a session whose first refresh token hashes to `refresh_hash`.
    pub async fn create_session(
        &self,
        user_id: Uuid,
        device_name: Option<&str>,
        refresh_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<Uuid> {
        let id = Uuid::now_v7();
        let now = micros(Utc::now());
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO sessions (id, user_id, device_name, created_at, last_used_at, expires_at) \
             VALUES ($1, $2, $3, $4, $4, $5)",
        )
        .bind(id.to_string())
        .bind(user_id.to_string())
        .bind(device_name)
        .bind(now)
        .bind(micros(expires_at))
        .execute(tx.conn())
        .await?;
        insert_refresh(tx.conn(), refresh_hash, id).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Ends the session that `refresh_hash` belongs to. Unknown tokens are ignored.
    pub async fn revoke_by_refresh(&self, refresh_hash: &str) -> Result<()> {
        let mut tx = self.write().await?;
        sqlx::query(
            "UPDATE sessions SET revoked_at = $2 WHERE revoked_at IS NULL AND id = \
             (SELECT session_id FROM refresh_tokens WHERE hash = $1)",
        )
        .bind(refresh_hash)
        .bind(micros(Utc::now()))
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        self.reach_changed();
        Ok(())
    }

    /// The actor behind a live session of an enabled user, or `None`.
    pub async fn session_actor(&self, user_id: Uuid, session_id: Uuid) -> Result<Option<Actor>> {
        let mut conn = self.pool.acquire().await?;
        let row = sqlx::query(
            "SELECT u.ns_id, u.root_id, u.quota_bytes, u.used_bytes, s.device_name \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL AND s.expires_at > $3 \
             AND u.disabled_at IS NULL",
        )
        .bind(session_id.to_string())
        .bind(user_id.to_string())
        .bind(micros(Utc::now()))
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let device = row.try_get("device_name")?;
        actor_from_row(&mut conn, &row, user_id, Some(session_id), device)
            .await
            .map(Some)
    }

    /// The user's live sessions, newest first: `(id, device, created, last used, expires)`.
    pub async fn list_sessions(&self, user_id: Uuid) -> Result<Vec<SessionRecord>> {
        let rows = sqlx::query(
            "SELECT id, device_name, created_at, last_used_at, expires_at FROM sessions \
             WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 ORDER BY created_at DESC",
        )
        .bind(user_id.to_string())
        .bind(micros(Utc::now()))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(SessionRecord {
                    id: parse_uuid(&row.try_get::<String, _>("id")?)?,
                    device_name: row.try_get("device_name")?,
                    created_at: from_micros(row.try_get("created_at")?),
                    last_used_at: from_micros(row.try_get("last_used_at")?),
                    expires_at: from_micros(row.try_get("expires_at")?),
                })
            })
            .collect()
    }

    /// Revokes one of the user's sessions; another user's session id is `NotFound`.
    pub async fn revoke_session(&self, user_id: Uuid, session_id: Uuid) -> Result<()> {
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = $3 WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
        )
        .bind(session_id.to_string())
        .bind(user_id.to_string())
        .bind(micros(Utc::now()))
        .execute(tx.conn())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        self.reach_changed();
        Ok(())
    }

    async fn revoke_all_sessions(&self, user_id: Uuid) -> Result<()> {
        self.revoke_sessions_but(user_id, None).await
    }

    async fn revoke_sessions_but(&self, user_id: Uuid, keep: Option<Uuid>) -> Result<()> {
        let mut tx = self.write().await?;
        sqlx::query(
            "UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL \
             AND id <> $3",
        )
        .bind(user_id.to_string())
        .bind(micros(Utc::now()))
        .bind(keep.map_or_else(String::new, |id| id.to_string()))
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        self.reach_changed();
        Ok(())
    }
}

/// A session as stored.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub id: Uuid,
    pub device_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub(crate) async fn insert_refresh(
    conn: &mut sqlx::AnyConnection,
    refresh_hash: &str,
    session_id: Uuid,
) -> Result<()> {
    sqlx::query("INSERT INTO refresh_tokens (hash, session_id) VALUES ($1, $2)")
        .bind(refresh_hash)
        .bind(session_id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}
