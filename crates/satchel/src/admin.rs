//! `satchel admin`: account management straight on the database, so an administrator can close
//! registration and still create accounts.

use std::io::Write;

use anyhow::{Context, bail};
use clap::Subcommand;
use satchel_meta::{Store, UserRecord};
use satchel_server::ServerConfig;

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Manage accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Collect garbage now: expire old upload sessions and remove chunks nothing references
    /// (after the grace period; `--grace-secs 0` only when no upload is in flight).
    Gc {
        #[arg(long)]
        grace_secs: Option<u64>,
        #[arg(long)]
        json: bool,
    },
    /// Logical bytes (what users see), stored bytes (distinct chunks) and the dedup ratio.
    Stats {
        #[arg(long)]
        json: bool,
    },
    /// Reconcile the metadata with the storage nodes: every referenced chunk has its copies
    /// (`--deep`: and each hashes right), the metadata is consistent; names files with lost data.
    /// Exit 0 healthy, 1 problems found, 2 could not run.
    Fsck {
        #[arg(long)]
        deep: bool,
        #[arg(long)]
        json: bool,
    },
    /// Bring every referenced chunk back to its copies from a good one. Exit 0 when nothing is
    /// left under-replicated.
    Repair {
        #[arg(long)]
        json: bool,
    },
    /// The storage nodes: reachable, objects, bytes, last scrubs; the repair queue.
    Storage {
        #[arg(long)]
        json: bool,
        #[command(subcommand)]
        command: Option<crate::admin_storage::StorageCommand>,
    },
    /// Where a chunk's copies are, when each was last verified, which files use it.
    Chunk {
        sha256: String,
        #[arg(long)]
        json: bool,
    },
}

impl AdminCommand {
    /// Whether this is one of the storage commands, whose exit codes are a contract.
    pub fn is_storage(&self) -> bool {
        matches!(
            self,
            AdminCommand::Fsck { .. }
                | AdminCommand::Repair { .. }
                | AdminCommand::Storage { .. }
                | AdminCommand::Chunk { .. }
        )
    }
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account (password from --password, $SATCHEL_PASSWORD, or a line on stdin).
    Add {
        email: String,
        #[arg(long, env = "SATCHEL_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// Quota in bytes [default: unlimited].
        #[arg(long)]
        quota: Option<u64>,
    },
    /// List accounts.
    List {
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Set an account's quota in bytes, or `unlimited`.
    SetQuota { email: String, quota: String },
    /// Disable an account (signing out its sessions); `--enable` undoes it.
    Disable {
        email: String,
        #[arg(long)]
        enable: bool,
    },
    /// Make an account an admin (it sees the admin page and may use `/api/v1/admin/`);
    /// `--revoke` makes it an ordinary account again.
    SetAdmin {
        email: String,
        #[arg(long)]
        revoke: bool,
    },
    /// Set a new password (signing out every session).
    ResetPassword {
        email: String,
        #[arg(long, env = "SATCHEL_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
}

pub async fn run(mut config: ServerConfig, command: AdminCommand) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data)?;
    use crate::admin_storage as storage;
    let command = match command {
        AdminCommand::Fsck { deep, json } => {
            return storage::fsck_command(config, deep, json).await;
        }
        AdminCommand::Repair { json } => return storage::repair_command(config, json).await,
        AdminCommand::Storage { json, command } => {
            return storage::storage_command(config, json, command).await;
        }
        AdminCommand::Chunk { sha256, json } => {
            return storage::chunk_command(config, sha256, json).await;
        }
        other => other,
    };
    if let AdminCommand::Gc { grace_secs, json } = command {
        if let Some(grace) = grace_secs {
            config.gc_grace_secs = grace;
        }
        let state = satchel_server::AppState::open(config)
            .await
            .context("opening the data")?;
        let report = satchel_server::jobs::gc::collect(&state)
            .await
            .map_err(|e| {
                anyhow::anyhow!("{}", e.detail.unwrap_or_else(|| e.code.title().to_owned()))
            })?;
        state.store.close().await;
        if json {
            println!("{}", serde_json::to_string(&report)?);
        } else {
            println!(
                "expired {} upload sessions; removed {} chunks ({} bytes) and {} orphaned chunks",
                report.expired_uploads,
                report.chunks_removed,
                report.bytes_freed,
                report.orphans_removed
            );
        }
        return Ok(());
    }
    let store = Store::open(&config.database_url(), 2)
        .await
        .context("opening the database")?;
    let result = match command {
        AdminCommand::User { command } => user(&store, command).await,
        AdminCommand::Stats { json } => stats(&store, json).await,
        AdminCommand::Gc { .. }
        | AdminCommand::Fsck { .. }
        | AdminCommand::Repair { .. }
        | AdminCommand::Storage { .. }
        | AdminCommand::Chunk { .. } => unreachable!("handled above"),
    };
    store.close().await;
    result
}

async fn find(store: &Store, email: &str) -> anyhow::Result<UserRecord> {
    match store.user_by_email(email).await? {
        Some(user) => Ok(user),
        None => bail!("no account has the email {email:?}"),
    }
}

fn password_from(given: Option<String>) -> anyhow::Result<String> {
    if let Some(password) = given {
        return Ok(password);
    }
    eprint!("password: ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

async fn user(store: &Store, command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add {
            email,
            password,
            quota,
        } => {
            let password = password_from(password)?;
            let new = satchel_server::accounts::new_user(&email, &password, quota)
                .await
                .map_err(|e| {
                    anyhow::anyhow!("{}", e.detail.unwrap_or_else(|| e.code.title().to_owned()))
                })?;
            let user = store.create_user(new).await?;
            println!("created {} ({})", user.email, user.id);
        }
        UserCommand::List { json } => {
            for user in store.list_users().await? {
                let quota = user
                    .quota_bytes
                    .map_or("unlimited".to_owned(), |q| q.to_string());
                let state = if user.disabled_at.is_some() {
                    "disabled"
                } else {
                    "active"
                };
                if json {
                    let line = serde_json::json!({
                        "id": user.id, "email": user.email, "quota_bytes": user.quota_bytes,
                        "used_bytes": user.used_bytes, "disabled": user.disabled_at.is_some(),
                        "is_admin": user.is_admin,
                        "created_at": user.created_at,
                    });
                    println!("{line}");
                } else {
                    let role = if user.is_admin { "admin" } else { "user" };
                    println!(
                        "{}\t{}\t{state}\t{role}\tused {}\tquota {quota}",
                        user.id, user.email, user.used_bytes
                    );
                }
            }
        }
        UserCommand::SetQuota { email, quota } => {
            let user = find(store, &email).await?;
            let quota = match quota.as_str() {
                "unlimited" | "none" => None,
                text => Some(
                    text.parse::<u64>()
                        .context("a quota is a number of bytes or `unlimited`")?,
                ),
            };
            store.set_quota(user.id, quota).await?;
            println!(
                "quota of {} set to {}",
                user.email,
                quota.map_or("unlimited".to_owned(), |q| q.to_string())
            );
        }
        UserCommand::Disable { email, enable } => {
            let user = find(store, &email).await?;
            store.set_disabled(user.id, !enable).await?;
            println!(
                "{} is {}",
                user.email,
                if enable { "enabled" } else { "disabled" }
            );
        }
        UserCommand::SetAdmin { email, revoke } => {
            let user = find(store, &email).await?;
            store.set_admin(user.id, !revoke).await?;
            println!(
                "{} is {}",
                user.email,
                if revoke {
                    "no longer an admin"
                } else {
                    "an admin"
                }
            );
        }
        UserCommand::ResetPassword { email, password } => {
            let user = find(store, &email).await?;
            let password = password_from(password)?;
            if satchel_server::accounts::password::is_weak(&password) {
                bail!("that password is too weak: use at least 8 characters, not all the same");
            }
            let hash = satchel_server::accounts::password::hash(password).await?;
            store.set_password_hash(user.id, &hash).await?;
            println!("password of {} reset; every session signed out", user.email);
        }
    }
    Ok(())
}

async fn stats(store: &Store, json: bool) -> anyhow::Result<()> {
    let stats = store.stats().await?;
    let ratio = if stats.stored_bytes == 0 {
        1.0
    } else {
        stats.logical_bytes as f64 / stats.stored_bytes as f64
    };
    if json {
        let line = serde_json::json!({
            "users": stats.users, "files": stats.files, "versions": stats.versions,
            "logical_bytes": stats.logical_bytes, "stored_bytes": stats.stored_bytes,
            "chunks": stats.chunks, "dedup_ratio": ratio,
        });
        println!("{line}");
    } else {
        println!(
            "users {}  files {}  versions {}",
            stats.users, stats.files, stats.versions
        );
        println!(
            "logical {}  stored {} in {} chunks  dedup ratio {ratio:.2}",
            satchel_client::sync::human(stats.logical_bytes),
            satchel_client::sync::human(stats.stored_bytes),
            stats.chunks
        );
    }
    Ok(())
}
